/*
 * metrics — counters for /metrics (Prometheus text format 0.0.4) and the
 * STATUS= line: certificates issued, answers refused by error code, and a
 * request latency histogram. Lock-free (atomics): every request updates them.
 */
#ifndef THINGCA_METRICS_H
#define THINGCA_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* NULL on out-of-memory. */
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

/* Gauges the caller reads elsewhere (ledger, CA) at render time. */
struct metrics_gauges {
	int64_t ledger_entries;
	int64_t allowlisted_unissued;
	long ca_days_left;
	int ready;
};

/* Renders the exposition text; malloc'd into *out. 0 or -ERR_NOMEM. */
int metrics_render(const struct metrics *m, const struct metrics_gauges *g,
		   char **out, size_t *len);

#endif
