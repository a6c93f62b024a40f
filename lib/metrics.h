/*
 * metrics — counters for /metrics (Prometheus text format 0.0.4) and the
 * STATUS= line: certificates issued, answers refused by error code, and a
 * request latency histogram. Lock-free (atomics): every request updates them.
 * Gauges that cost a ledger walk are cached and refreshed in the background.
 */
#ifndef THINGCA_METRICS_H
#define THINGCA_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* NULL on out-of-memory. metrics_free stops and joins the gauge thread:
 * call it before freeing what its fn reads (the ledger). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* A certificate issued (201), or re-sent to a retrying station (200). */
void metrics_issued(struct metrics *m, int first_time);
/* A request refused with error code rc (negative ERR_*). */
void metrics_refused(struct metrics *m, int rc);
/* A request of any route that took seconds (the one latency histogram). */
void metrics_observe(struct metrics *m, double seconds);

uint64_t metrics_issued_total(const struct metrics *m);
uint64_t metrics_refused_total(const struct metrics *m);

/* Gauges read from elsewhere (ledger, CA). The expensive ones (ledger
 * counts walk the allowlist; readiness writes a probe to the ledger and
 * signs with the CA key) are computed by a background thread, never in a
 * scrape: see metrics_gauges_get. */
struct metrics_gauges {
	int64_t ledger_entries;
	int64_t allowlisted_unissued;
	int ready;
	long ca_days_left; /* cheap: filled by the caller at each scrape */
	/* Set by metrics_gauges_get: whether the fields above hold a
	 * computation (0 before the first one finished), when it finished
	 * (Unix time), and how many have run since start. */
	int have;
	int64_t computed_at;
	uint64_t computations;
};

/* Computes the expensive gauges into g (ledger_entries,
 * allowlisted_unissued, ready); runs on the background thread. */
typedef void (*metrics_gauges_fn)(void *arg, struct metrics_gauges *g);

/* Gauges older than this are recomputed when next scraped: bounds what
 * unauthenticated scrapers can make the ledger do to one count per 30 s,
 * however many poll (24 scrapers running the count per scrape pushed
 * issuance from 1 ms to 1.5 s at a million serials). */
#define METRICS_GAUGES_MAX_AGE_S 30

/* Copies the cached gauges into *g. When they are older than
 * METRICS_GAUGES_MAX_AGE_S (or there are none) and no computation is
 * running, wakes the background thread to run fn(arg) (the thread is
 * started on the first call; fn and arg must outlive m). Waits only for the
 * very first computation, and then at most METRICS_FIRST_WAIT_MS; every
 * later call returns at once with the cached values. */
void metrics_gauges_get(struct metrics *m, metrics_gauges_fn fn, void *arg,
			struct metrics_gauges *g);

/* How long the first scrape waits for the first computation: a million
 * serials take about a second to count. */
#define METRICS_FIRST_WAIT_MS 3000

/* Renders the exposition text; malloc'd into *out. 0 or -ERR_NOMEM. */
int metrics_render(const struct metrics *m, const struct metrics_gauges *g,
		   char **out, size_t *len);

#endif
