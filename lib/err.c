/*
 * err — lookups in the one error table (lib/err.h) and the detail struct a
 * failing function fills for a person. The table itself is the X-macro in
 * err.h, so the enum, the API strings and the HTTP statuses cannot drift.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "err.h"

struct err_entry {
	const char *str;
	int status;
};

static const struct err_entry err_table[ERR_COUNT] = {[ERR_NONE] = {"ok", 200},
#define X(name, s, st) [ERR_##name] = {s, st},
						      TCA_ERRORS(X)
#undef X
};

/* Maps rc (negative or positive) to a table index, or -1 when unknown. */
static int err_index(int rc)
{
	int code;

	/* -INT_MIN overflows; it is no table entry anyway. */
	if (rc == INT_MIN)
		return -1;
	code = rc < 0 ? -rc : rc;
	if (code <= ERR_NONE || code >= ERR_COUNT)
		return -1;
	return code;
}

/* Stable API string of rc; "internal_error" for anything unknown. */
const char *err_str(int rc)
{
	int i = err_index(rc);

	return i < 0 ? err_table[ERR_INTERNAL].str : err_table[i].str;
}

/* HTTP status of rc; 500 for anything unknown. */
int err_http_status(int rc)
{
	int i = err_index(rc);

	return i < 0 ? 500 : err_table[i].status;
}

/* Fills d (when not NULL) and returns -code. */
int err_set(struct errd *d, int code, const char *fmt, ...)
{
	va_list ap;

	if (code < 0)
		code = -code;
	if (d != NULL) {
		d->code = code;
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

/* Clears d (when not NULL). */
void err_clear(struct errd *d)
{
	if (d == NULL)
		return;
	d->code = 0;
	d->msg[0] = '\0';
}

/* Appends the earliest queued OpenSSL error (the root cause; later entries
 * are usually callers reporting the same failure) to d->msg, then clears
 * the queue. */
void err_add_openssl(struct errd *d)
{
	unsigned long ec;
	char buf[256];
	size_t len;

	ec = ERR_peek_error();
	if (d != NULL && ec != 0) {
		ERR_error_string_n(ec, buf, sizeof(buf));
		len = strnlen(d->msg, sizeof(d->msg));
		snprintf(d->msg + len, sizeof(d->msg) - len, "%s%s",
			 len > 0 ? ": " : "", buf);
	}
	ERR_clear_error();
}
