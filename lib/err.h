/*
 * err — the one error table of thingca.
 *
 * A lib/ function that can fail returns 0 (or a count) or a negative ERR_*
 * code from this table; constructors return NULL on out-of-memory. The
 * X-macro gives the enum, the stable `error` string the HTTP API answers with
 * (DESIGN.md "HTTP API") and its HTTP status. A failure a user caused also
 * fills an optional struct errd (last argument) saying *what* was wrong, so
 * the caller can log it once or send it in the error's "message".
 */
#ifndef THINGCA_ERR_H
#define THINGCA_ERR_H

#include <stddef.h>

#define TCA_ERRORS(X)                                                          \
	X(UNAUTHORIZED, "unauthorized", 401)                                   \
	X(FORBIDDEN, "forbidden", 403)                                         \
	X(PAYLOAD_TOO_LARGE, "payload_too_large", 413)                         \
	X(MALFORMED_REQUEST, "malformed_request", 400)                         \
	X(SERIAL_INVALID, "serial_invalid", 400)                               \
	X(SERIAL_UNKNOWN, "serial_unknown", 404)                               \
	X(SERIAL_REVOKED, "serial_revoked", 409)                               \
	X(MALFORMED_CSR, "malformed_csr", 400)                                 \
	X(CSR_SIGNATURE_INVALID, "csr_signature_invalid", 400)                 \
	X(KEY_TYPE_NOT_ALLOWED, "key_type_not_allowed", 422)                   \
	X(PUBLIC_KEY_REUSED, "public_key_reused", 409)                         \
	X(SERIAL_ALREADY_ISSUED, "serial_already_issued", 409)                 \
	X(LEDGER_UNAVAILABLE, "ledger_unavailable", 503)                       \
	X(SIGNER_UNAVAILABLE, "signer_unavailable", 503)                       \
	X(NOT_FOUND, "not_found", 404)                                         \
	X(METHOD_NOT_ALLOWED, "method_not_allowed", 405)                       \
	X(ALREADY_REVOKED, "already_revoked", 409)                             \
	X(UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 415)               \
	X(SHUTTING_DOWN, "shutting_down", 503)                                 \
	X(CONFIG_INVALID, "config_invalid", 500)                               \
	X(CA_INVALID, "ca_invalid", 500)                                       \
	X(LEDGER_CORRUPT, "ledger_corrupt", 500)                               \
	X(IO, "io_error", 500)                                                 \
	X(NOMEM, "out_of_memory", 500)                                         \
	X(INTERNAL, "internal_error", 500)

enum err_code {
	ERR_NONE = 0,
#define X(name, str, status) ERR_##name,
	TCA_ERRORS(X)
#undef X
	    ERR_COUNT
};

/* What went wrong, for a person: filled by the function that failed. */
struct errd {
	int code;      /* positive ERR_*, or 0 */
	char msg[512]; /* sentence for a person; may cite an RFC clause */
};

/* Stable API string of rc (negative ERR_* or positive), "internal_error" for
 * anything unknown. Never NULL. */
const char *err_str(int rc);

/* HTTP status of rc (negative or positive ERR_*); 500 for unknown. */
int err_http_status(int rc);

/* Fills d (when not NULL) with code and the printf-formatted message, and
 * returns -code so a caller can write `return err_set(e, ERR_X, "...")`. */
int err_set(struct errd *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears d (when not NULL). */
void err_clear(struct errd *d);

/* Appends OpenSSL's queued error text to d->msg ("...: <openssl reason>"),
 * then clears OpenSSL's error queue. Safe with d NULL (queue still cleared). */
void err_add_openssl(struct errd *d);

#endif
