/*
 * metrics — atomics behind metrics.h, rendered on demand; the expensive
 * gauges cached, computed by one background thread woken by scrapes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "metrics.h"

/* Latency bucket upper bounds in seconds: an issuance costs ~0.1–2 ms of
 * crypto plus a group commit; the tail buckets catch a wedged disk or token. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
				 0.025,	 0.05,	0.1,	0.25,  0.5,
				 1,	 2.5,	5,	10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	atomic_uint_fast64_t issued;
	atomic_uint_fast64_t reissued;
	atomic_uint_fast64_t refused[ERR_COUNT];
	atomic_uint_fast64_t bucket[NBUCKETS + 1];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
	/* The gauge cache, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t wake_cv, done_cv;
	pthread_t thread;
	int started, stopping, want, busy;
	metrics_gauges_fn fn;
	void *fn_arg;
	struct metrics_gauges cache;
	struct timespec computed_mono; /* when the cache was last filled */
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(struct metrics));
	pthread_condattr_t ca;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->wake_cv, NULL);
	/* The first scrape's bounded wait is measured on CLOCK_MONOTONIC. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_cond_signal(&m->wake_cv);
	pthread_mutex_unlock(&m->mu);
	if (m->started)
		pthread_join(m->thread, NULL);
	pthread_cond_destroy(&m->wake_cv);
	pthread_cond_destroy(&m->done_cv);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The background thread: one computation each time a scrape asks. */
static void *gauges_main(void *arg)
{
	struct metrics *m = arg;
	struct metrics_gauges g;

	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (!m->want && !m->stopping)
			pthread_cond_wait(&m->wake_cv, &m->mu);
		if (m->stopping)
			break;
		m->want = 0;
		m->busy = 1;
		pthread_mutex_unlock(&m->mu);
		memset(&g, 0, sizeof(g));
		m->fn(m->fn_arg, &g);
		pthread_mutex_lock(&m->mu);
		g.have = 1;
		g.computed_at = (int64_t)time(NULL);
		g.computations = m->cache.computations + 1;
		m->cache = g;
		clock_gettime(CLOCK_MONOTONIC, &m->computed_mono);
		m->busy = 0;
		pthread_cond_broadcast(&m->done_cv);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* Called with mu held: whether the cache is due for a computation. */
static int gauges_stale(const struct metrics *m)
{
	struct timespec now;

	if (!m->cache.have)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - m->computed_mono.tv_sec >= METRICS_GAUGES_MAX_AGE_S;
}

void metrics_gauges_get(struct metrics *m, metrics_gauges_fn fn, void *arg,
			struct metrics_gauges *g)
{
	struct timespec until;

	pthread_mutex_lock(&m->mu);
	if (!m->started && !m->stopping) {
		m->fn = fn;
		m->fn_arg = arg;
		m->started =
		    pthread_create(&m->thread, NULL, gauges_main, m) == 0;
	}
	if (m->started && !m->busy && !m->want && gauges_stale(m)) {
		m->want = 1;
		pthread_cond_signal(&m->wake_cv);
	}
	if (m->started && !m->cache.have) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += METRICS_FIRST_WAIT_MS / 1000;
		until.tv_nsec += (METRICS_FIRST_WAIT_MS % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!m->cache.have &&
		       pthread_cond_timedwait(&m->done_cv, &m->mu, &until) !=
			   ETIMEDOUT)
			;
	}
	*g = m->cache;
	pthread_mutex_unlock(&m->mu);
}

void metrics_issued(struct metrics *m, int first_time)
{
	atomic_fetch_add(first_time ? &m->issued : &m->reissued, 1);
}

void metrics_refused(struct metrics *m, int rc)
{
	int c = rc < 0 ? -rc : rc;

	if (c <= 0 || c >= ERR_COUNT)
		c = ERR_INTERNAL;
	atomic_fetch_add(&m->refused[c], 1);
}

void metrics_observe(struct metrics *m, double seconds)
{
	size_t i;

	for (i = 0; i < NBUCKETS && seconds > buckets[i]; i++)
		;
	atomic_fetch_add(&m->bucket[i], 1);
	atomic_fetch_add(&m->count, 1);
	atomic_fetch_add(&m->sum_us, (uint_fast64_t)(seconds * 1e6));
}

uint64_t metrics_issued_total(const struct metrics *m)
{
	return atomic_load(&((struct metrics *)m)->issued);
}

uint64_t metrics_refused_total(const struct metrics *m)
{
	uint64_t n = 0;
	int i;

	for (i = 1; i < ERR_COUNT; i++)
		n += atomic_load(&((struct metrics *)m)->refused[i]);
	return n;
}

int metrics_render(const struct metrics *cm, const struct metrics_gauges *g,
		   char **out, size_t *len)
{
	struct metrics *m = (struct metrics *)cm;
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	uint64_t cum = 0;
	size_t i;
	int c;

	if (!f)
		return -ERR_NOMEM;
	fprintf(f,
		"# HELP thingca_issued_total Device certificates issued.\n"
		"# TYPE thingca_issued_total counter\n"
		"thingca_issued_total %llu\n",
		(unsigned long long)atomic_load(&m->issued));
	fprintf(f,
		"# HELP thingca_reissued_total Certificates sent again to a "
		"station retrying the same serial and key.\n"
		"# TYPE thingca_reissued_total counter\n"
		"thingca_reissued_total %llu\n",
		(unsigned long long)atomic_load(&m->reissued));
	fprintf(f, "# HELP thingca_refused_total Requests refused, by error "
		   "code.\n# TYPE thingca_refused_total counter\n");
	for (c = 1; c < ERR_COUNT; c++)
		fprintf(f, "thingca_refused_total{code=\"%s\"} %llu\n",
			err_str(-c),
			(unsigned long long)atomic_load(&m->refused[c]));
	fprintf(f, "# HELP thingca_request_duration_seconds HTTP request "
		   "latency.\n# TYPE thingca_request_duration_seconds "
		   "histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&m->bucket[i]);
		fprintf(f,
			"thingca_request_duration_seconds_bucket{le=\"%g\"} "
			"%llu\n",
			buckets[i], (unsigned long long)cum);
	}
	cum += atomic_load(&m->bucket[NBUCKETS]);
	fprintf(f,
		"thingca_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"thingca_request_duration_seconds_sum %.6f\n"
		"thingca_request_duration_seconds_count %llu\n",
		(unsigned long long)cum, (double)atomic_load(&m->sum_us) / 1e6,
		(unsigned long long)atomic_load(&m->count));
	fprintf(f,
		"# HELP thingca_ca_days_to_expiry Days until the issuing CA "
		"expires.\n# TYPE thingca_ca_days_to_expiry gauge\n"
		"thingca_ca_days_to_expiry %ld\n",
		g->ca_days_left);
	fprintf(f,
		"# HELP thingca_gauges_computations_total Computations of the "
		"ledger and readiness gauges (at most one per %d s, when "
		"scraped).\n"
		"# TYPE thingca_gauges_computations_total counter\n"
		"thingca_gauges_computations_total %llu\n",
		METRICS_GAUGES_MAX_AGE_S, (unsigned long long)g->computations);
	if (g->have)
		fprintf(f,
			"# HELP thingca_gauges_computed_timestamp_seconds When "
			"the ledger and readiness gauges were computed.\n"
			"# TYPE thingca_gauges_computed_timestamp_seconds "
			"gauge\n"
			"thingca_gauges_computed_timestamp_seconds %lld\n"
			"# HELP thingca_ledger_entries Entries in the ledger.\n"
			"# TYPE thingca_ledger_entries gauge\n"
			"thingca_ledger_entries %lld\n"
			"# HELP thingca_serials_unissued Allowlisted serials "
			"with no certificate yet.\n"
			"# TYPE thingca_serials_unissued gauge\n"
			"thingca_serials_unissued %lld\n"
			"# HELP thingca_ready 1 when /readyz answers 200.\n"
			"# TYPE thingca_ready gauge\nthingca_ready %d\n",
			(long long)g->computed_at, (long long)g->ledger_entries,
			(long long)g->allowlisted_unissued, g->ready);
	if (fclose(f) != 0) {
		free(buf);
		return -ERR_NOMEM;
	}
	*out = buf;
	*len = sz;
	return 0;
}
