/*
 * util — small helpers every module shares: hex, SHA-256, RFC 3339 time,
 * secret files (refused when group/other can read them), constant-time
 * comparison.
 */
#ifndef THINGCA_UTIL_H
#define THINGCA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* Value of the hex digit c (0-9, a-f, A-F), -1 when c is none. */
int hex_digit(int c);
/* Parses exactly 2n lowercase/uppercase hex chars into out; 0 or
 * -ERR_MALFORMED_REQUEST. */
int hex_decode(const char *in, unsigned char *out, size_t n);

/* SHA-256 of data into out[32]. */
void sha256(const void *data, size_t len, unsigned char out[32]);
/* Lowercase hex SHA-256 into hex[65]. */
void sha256_hex(const void *data, size_t len, char hex[65]);

/* RFC 3339 UTC "2036-11-28T14:00:00Z" into out[21]. */
void time_rfc3339(time_t t, char out[21]);
/* Parses RFC 3339 (Z or +hh:mm offsets, optional fraction) to time_t;
 * 0 or -ERR_MALFORMED_REQUEST. */
int time_parse_rfc3339(const char *s, time_t *out);

/* A time bound of a ledger filter (since, until): RFC 3339 as
 * time_parse_rfc3339, no earlier than 1970-01-01T00:00:00Z (no ledger entry
 * is older, and the stored form orders by text only for four-digit years:
 * year 999 would compare after 2026), into norm[21] in the stored form.
 * 0, or -ERR_MALFORMED_REQUEST with e saying why (what names the filter). */
int time_parse_filter(const char *s, const char *what, char norm[21],
		      struct errd *e);

/* RFC 5280 5.3.1 CRLReason of a revocation: name, case-insensitively, as
 * one of unspecified, keyCompromise, cACompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn, aACompromise.
 * Returns the reasonCode (>= 0) with *canonical its RFC spelling (static),
 * or -ERR_MALFORMED_REQUEST with e listing the names. certificateHold and
 * removeFromCRL are refused: a ledger revocation is final, and
 * removeFromCRL exists only in delta CRLs. */
int revocation_reason(const char *name, const char **canonical, struct errd *e);
/* The reasonCode of any RFC 5280 5.3.1 name, certificateHold included
 * (case-insensitive), or -1: for entries already in a ledger. */
int crl_reason_code(const char *name);

/* Copies s into out[n] (truncated, NUL-terminated) with every byte outside
 * printable ASCII 0x20-0x7e replaced by '?': for text from the network
 * printed on a terminal, which would run its escape sequences. Returns
 * out. */
char *str_printable(const char *s, char *out, size_t n);

/* Characters (not bytes) of s[0..len) when it is valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) without a NUL;
 * -1 otherwise. */
long utf8_chars(const char *s, size_t len);

/* The directory part of path, malloc'd: "." for a bare name, "/" for a file
 * in the root; NULL on out-of-memory only. */
char *path_dir(const char *path);

/* The same directory into out[n] (truncated to fit), for a caller with a
 * PATH_MAX buffer at hand. */
void path_dir_into(const char *path, char *out, size_t n);

/* Grows the malloc'd buffer *p of *cap bytes to hold at least need bytes:
 * capacity doubles from 1024, so appending n bytes at a time costs O(n)
 * overall. 0, or -ERR_NOMEM with *p and *cap unchanged (still the
 * caller's to free). Not for secrets: realloc may leave a copy behind. */
int buf_reserve(char **p, size_t *cap, size_t need);

/* Reads a whole file (max max_len bytes) into a NUL-terminated malloc'd
 * buffer. 0, -ERR_IO (missing/unreadable, message names the path) or
 * -ERR_NOMEM. */
int file_read(const char *path, size_t max_len, char **out, size_t *len,
	      struct errd *e);
/* As file_read, but refuses (-ERR_CA_INVALID, message says chmod 600) a file
 * that group or others can read: for keys, PINs and passphrases. */
int file_read_secret(const char *path, size_t max_len, char **out, size_t *len,
		     struct errd *e);
/* Writes data to path atomically (tmp + fsync + rename) with the given mode;
 * with excl, refuses an existing path (-ERR_IO). */
int file_write(const char *path, const void *data, size_t len, unsigned mode,
	       int excl, struct errd *e);

/* Constant-time equality of two n-byte buffers: 1 equal, 0 not. */
int ct_equal(const void *a, const void *b, size_t n);

/* Zeroes and frees a secret buffer of len bytes (NULL is a no-op). */
void secret_free(char *p, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Writes s[0..n) at out as a JSON string, quotes included, escaped
 * exactly as `jq -c` prints it: \" \\ \b \f \n \r \t, other bytes below
 * 0x20 and 0x7f as \u00xx in lowercase hex, everything else (UTF-8) as is.
 * out needs json_quoted_max(n) bytes. Returns out past the closing quote,
 * or NULL when s is not UTF-8 (RFC 3629). The ledger's canonical encoding
 * and the issuance answer both use it. */
char *json_quote(char *out, const char *s, size_t n);

/* The first key of JSON object obj (jansson's json_t) that is not in the
 * NULL-terminated list known, lent from obj; NULL when every key is known
 * (or obj is no object). The one "only these keys" rule of the HTTP API
 * and the configuration. */
struct json_t;
const char *json_unknown_key(struct json_t *obj, const char *const *known);
#define json_quoted_max(n) (6 * (n) + 2)

#endif
