/*
 * t-fuzz-regress — replays every file of the fuzz seed corpora
 * (tests/fuzz/corpus-NAME/) through the fuzz targets' own functions, built
 * here without libFuzzer: the seeds (good and hostile CSRs, JSON edge cases,
 * configurations, JITP templates) and every crash a fuzz run found, added
 * as a corpus file once fixed. Under make check SAN=1 a regression is an
 * ASan or UBSan report; without sanitizers, a crash. One test per file.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REGRESS 1
#include "fuzz/fz-config.c"
#include "fuzz/fz-csr-der.c"
#include "fuzz/fz-jitp.c"
#include "fuzz/fz-request.c"

#include "tap.h"
#include "util.h"

/* Corpus files are small seeds and minimised crashes; anything bigger is a
 * mistake (a run's whole working corpus copied in). */
#define REGRESS_FILE_MAX ((size_t)1024 * 1024)

struct target {
	const char *corpus;
	int (*init)(void);
	int (*one)(const uint8_t *data, size_t size);
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A corpus file with the library's file_read; NULL (and *len 0) for one
 * that cannot be read or is over REGRESS_FILE_MAX. */
static unsigned char *slurp(const char *path, size_t *len)
{
	char *b = NULL;

	*len = 0;
	if (file_read(path, REGRESS_FILE_MAX, &b, len, NULL) < 0)
		*len = 0;
	return (unsigned char *)b;
}

/* Replays every regular file of dir, in name order. */
static void replay(const char *src, const struct target *t)
{
	char dir[1024], path[1280];
	char **names = NULL;
	size_t n = 0, cap = 0, i, len;
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", src, t->corpus);
	dp = opendir(dir);
	if (!ok(dp != NULL, "%s: corpus directory opens", t->corpus)) {
		diag("cannot open %s", dir);
		return;
	}
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? 2 * cap : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(d->d_name);
		if (names[n])
			n++;
	}
	closedir(dp);
	ok(n > 0, "%s: %zu corpus files", t->corpus, n);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	if (!ok(t->init() == 0, "%s: target set-up", t->corpus))
		n = 0;
	for (i = 0; i < n; i++) {
		unsigned char *b;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		b = slurp(path, &len);
		if (ok(b != NULL, "%s/%s: replayed", t->corpus, names[i]))
			t->one(b, len);
		else
			diag("cannot read %s (or over %zu bytes)", path,
			     REGRESS_FILE_MAX);
		free(b);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int main(void)
{
	static const struct target targets[] = {
	    {"corpus-request", fz_request_init, fz_request_one},
	    {"corpus-config", fz_config_init, fz_config_one},
	    {"corpus-jitp", fz_jitp_init, fz_jitp_one},
	    {"corpus-csr_der", fz_csr_der_init, fz_csr_der_one},
	};
	const char *src = getenv("THINGCA_SRC");
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		replay(src ? src : ".", &targets[i]);
	fz_request_done();
	fz_jitp_done();
	return done_testing();
}
