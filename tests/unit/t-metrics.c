/*
 * t-metrics — the expensive gauges are computed by the background thread,
 * once, however often they are asked for within METRICS_GAUGES_MAX_AGE_S,
 * and rendered from the cache.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

static atomic_int calls;

static void fake_gauges(void *arg, struct metrics_gauges *g)
{
	(void)arg;
	atomic_fetch_add(&calls, 1);
	g->ledger_entries = 41 + atomic_load(&calls);
	g->allowlisted_unissued = 7;
	g->ready = 1;
}

int main(void)
{
	struct metrics *m = metrics_new();
	struct metrics_gauges g = {0};
	char *out = NULL;
	size_t len = 0;
	int i, same = 0;

	ok(m != NULL, "metrics_new");
	if (!m)
		return done_testing();
	metrics_gauges_get(m, fake_gauges, NULL, &g);
	is_int(g.have, 1, "the first call waits for the first computation");
	is_int(g.computations, 1, "... one computation");
	is_int(g.ledger_entries, 42, "... whose values are returned");
	for (i = 0; i < 1000; i++) {
		struct metrics_gauges h = {0};

		metrics_gauges_get(m, fake_gauges, NULL, &h);
		same += h.computations == 1 && h.ledger_entries == 42 &&
			h.computed_at == g.computed_at;
	}
	is_int(same, 1000, "1000 more calls return the cached values");
	is_int(atomic_load(&calls), 1, "... and computed nothing");
	g.ca_days_left = 99;
	ok(metrics_render(m, &g, &out, &len) == 0, "render");
	ok(out && strstr(out, "\nthingca_ledger_entries 42\n") &&
	       strstr(out, "\nthingca_serials_unissued 7\n") &&
	       strstr(out, "\nthingca_ready 1\n") &&
	       strstr(out, "\nthingca_gauges_computations_total 1\n") &&
	       strstr(out, "\nthingca_ca_days_to_expiry 99\n"),
	   "the rendering shows the cached gauges");
	free(out);
	memset(&g, 0, sizeof(g));
	ok(metrics_render(m, &g, &out, &len) == 0 &&
	       strstr(out, "thingca_ledger_entries") == NULL &&
	       strstr(out, "thingca_ready") == NULL,
	   "without a computation the gauges are left out, not shown as 0");
	free(out);
	metrics_free(m);
	ok(1, "metrics_free joins the thread");
	return done_testing();
}
