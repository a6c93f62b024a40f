/*
 * t-err — the error table: every code has its API string and HTTP status
 * (DESIGN.md "HTTP API"), unknown codes fall back to internal_error/500,
 * err_set returns -code and tolerates a NULL detail struct.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "err.h"
#include "tap.h"

struct want {
	int code;
	const char *str;
	int status;
};

int main(void)
{
	/* Written out by hand from DESIGN.md, not generated from the table,
	 * so a change to err.h that breaks the API is caught here. */
	static const struct want want[] = {
	    {ERR_UNAUTHORIZED, "unauthorized", 401},
	    {ERR_FORBIDDEN, "forbidden", 403},
	    {ERR_PAYLOAD_TOO_LARGE, "payload_too_large", 413},
	    {ERR_MALFORMED_REQUEST, "malformed_request", 400},
	    {ERR_SERIAL_INVALID, "serial_invalid", 400},
	    {ERR_SERIAL_UNKNOWN, "serial_unknown", 404},
	    {ERR_SERIAL_REVOKED, "serial_revoked", 409},
	    {ERR_MALFORMED_CSR, "malformed_csr", 400},
	    {ERR_CSR_SIGNATURE_INVALID, "csr_signature_invalid", 400},
	    {ERR_KEY_TYPE_NOT_ALLOWED, "key_type_not_allowed", 422},
	    {ERR_PUBLIC_KEY_REUSED, "public_key_reused", 409},
	    {ERR_SERIAL_ALREADY_ISSUED, "serial_already_issued", 409},
	    {ERR_LEDGER_UNAVAILABLE, "ledger_unavailable", 503},
	    {ERR_SIGNER_UNAVAILABLE, "signer_unavailable", 503},
	    {ERR_NOT_FOUND, "not_found", 404},
	    {ERR_METHOD_NOT_ALLOWED, "method_not_allowed", 405},
	    {ERR_ALREADY_REVOKED, "already_revoked", 409},
	    {ERR_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", 415},
	    {ERR_SHUTTING_DOWN, "shutting_down", 503},
	    {ERR_CONFIG_INVALID, "config_invalid", 500},
	    {ERR_CA_INVALID, "ca_invalid", 500},
	    {ERR_LEDGER_CORRUPT, "ledger_corrupt", 500},
	    {ERR_IO, "io_error", 500},
	    {ERR_NOMEM, "out_of_memory", 500},
	    {ERR_INTERNAL, "internal_error", 500},
	};
	size_t i, n = sizeof(want) / sizeof(want[0]);
	struct errd d;
	int rc, code, dup = 0;

	is_int(n, ERR_COUNT - 1, "every table entry is checked");
	for (i = 0; i < n; i++) {
		is_str(err_str(-want[i].code), want[i].str, "err_str(-%s)",
		       want[i].str);
		is_str(err_str(want[i].code), want[i].str, "err_str(+%s)",
		       want[i].str);
		is_int(err_http_status(-want[i].code), want[i].status,
		       "status of %s", want[i].str);
	}
	/* No two codes share a string: the API tells them apart. */
	for (code = 1; code < ERR_COUNT; code++)
		for (rc = code + 1; rc < ERR_COUNT; rc++)
			if (strcmp(err_str(code), err_str(rc)) == 0)
				dup++;
	is_int(dup, 0, "error strings are unique");

	is_str(err_str(-ERR_COUNT), "internal_error", "unknown code string");
	is_int(err_http_status(-ERR_COUNT), 500, "unknown code status");
	is_str(err_str(-1000000), "internal_error", "far-off code string");
	is_int(err_http_status(-2147483647 - 1), 500, "INT_MIN status");

	rc = err_set(&d, ERR_SERIAL_UNKNOWN, "serial %s not imported", "A-1");
	is_int(rc, -ERR_SERIAL_UNKNOWN, "err_set returns -code");
	is_int(d.code, ERR_SERIAL_UNKNOWN, "err_set fills code");
	is_str(d.msg, "serial A-1 not imported", "err_set formats message");
	is_int(err_set(NULL, ERR_IO, "x %d", 1), -ERR_IO,
	       "err_set with NULL returns -code");
	err_clear(&d);
	is_int(d.code, 0, "err_clear code");
	is_str(d.msg, "", "err_clear message");
	err_clear(NULL);
	ok(1, "err_clear(NULL) is a no-op");

	/* A message longer than msg is truncated, not overflowed. */
	{
		char big[1024];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		err_set(&d, ERR_INTERNAL, "%s", big);
		is_int(strlen(d.msg), sizeof(d.msg) - 1,
		       "long message truncated");
	}

	/* err_add_openssl appends the queued reason and clears the queue. */
	err_set(&d, ERR_CA_INVALID, "loading key");
	ok(EVP_get_digestbyname("no-such-digest") == NULL, "provoke lookup");
	ERR_raise_data(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM, "test");
	err_add_openssl(&d);
	ok(strncmp(d.msg, "loading key: ", 13) == 0 && strlen(d.msg) > 13,
	   "openssl reason appended (got '%s')", d.msg);
	is_int(ERR_peek_error(), 0, "openssl queue cleared");
	ERR_raise(ERR_LIB_EVP, EVP_R_UNSUPPORTED_ALGORITHM);
	err_add_openssl(NULL);
	is_int(ERR_peek_error(), 0, "queue cleared with NULL detail");
	err_set(&d, ERR_CA_INVALID, "nothing queued");
	err_add_openssl(&d);
	is_str(d.msg, "nothing queued", "empty queue leaves message alone");

	return done_testing();
}
