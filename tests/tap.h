/*
 * tap.h — a small TAP producer for the C unit tests (run with prove).
 * ok(cond, fmt...) prints "ok N - name" or "not ok N - name"; is_int / is_str
 * also print expected vs got. done_testing() prints the plan and returns the
 * exit status.
 */
#ifndef THINGCA_TAP_H
#define THINGCA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static int ok(int cond,
						      const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                 \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (!ok(g_ == w_, __VA_ARGS__))                                \
			printf("#   expected %lld, got %lld\n", w_, g_);       \
	} while (0)

#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_,             \
			__VA_ARGS__))                                          \
			printf("#   expected '%s', got '%s'\n",                \
			       w_ ? w_ : "(null)", g_ ? g_ : "(null)");        \
	} while (0)

__attribute__((format(printf, 1, 2))) static inline void diag(const char *fmt,
							      ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
