/*
 * cmd_serials — `thingca serials import [--batch B] FILE`: one serial a
 * line, or CSV, every serial checked against the profile, all imported in
 * one ledger transaction or none.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_ledger.h"
#include "profile.h"
#include "util.h"

/* Longest line of a serials file: a serial is at most 64 characters, so
 * anything near this is not a serials file. */
#define SERIALS_LINE_MAX 4096
/* Columns of a serials CSV we look at: plenty for an export of a factory
 * database, bounded so one hostile line cannot make us allocate much. */
#define SERIALS_CSV_COLS 64
/* Serials per import: one transaction holds them all (all or none); ten
 * million 64-character serials stay below a gigabyte of memory. */
#define SERIALS_IMPORT_MAX 10000000

static char *trim(char *s)
{
	char *end;

	while (*s && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Splits one simple CSV line in place: commas, optional double quotes
 * ("" inside quotes is a quote). Returns the cell count, -1 on an
 * unterminated quote or too many cells. */
static int csv_split(char *line, char **cells, int max)
{
	char *r = line, *w = line;
	int n = 0, quoted;

	for (;;) {
		if (n == max)
			return -1;
		while (*r == ' ' || *r == '\t')
			r++;
		cells[n++] = w;
		quoted = *r == '"';
		if (quoted)
			r++;
		for (;;) {
			if (*r == '\0') {
				if (quoted)
					return -1;
				break;
			}
			if (quoted && *r == '"') {
				if (r[1] == '"') {
					*w++ = '"';
					r += 2;
					continue;
				}
				quoted = 0;
				r++;
				continue;
			}
			if (!quoted && *r == ',')
				break;
			*w++ = *r++;
		}
		if (*r == '\0') {
			*w = '\0';
			return n;
		}
		*w++ = '\0';
		r++;
		/* w never passes r: both move together or w lags */
	}
}

static void free_serials(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Reads FILE into *out (every serial checked); CLI_OK or CLI_FAIL after
 * printing "FILE:LINE: reason". */
static int read_serials(const char *file, const struct profile *prof,
			char ***out, size_t *count)
{
	char *line = NULL, *cells[SERIALS_CSV_COLS], *s, **v = NULL, **nv;
	char thing[THING_NAME_MAX + 1];
	struct errd e = {0};
	size_t cap = 0, n = 0, lcap = 0;
	long lineno = 0;
	int col = -1, mode = 0, nc, i, rc = CLI_FAIL; /* mode 0: undecided,
							 1 plain, 2 CSV */
	ssize_t len;
	FILE *f;

	f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (f == NULL) {
		fprintf(stderr, "thingca: cannot read %s: %m\n", file);
		return CLI_FAIL;
	}
	while ((len = getline(&line, &lcap, f)) != -1) {
		lineno++;
		if (len > SERIALS_LINE_MAX) {
			fprintf(stderr, "%s:%ld: line longer than %d bytes\n",
				file, lineno, SERIALS_LINE_MAX);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (mode == 0 || mode == 2) {
			nc = csv_split(s, cells, SERIALS_CSV_COLS);
			if (nc < 0) {
				fprintf(stderr,
					"%s:%ld: unterminated quote or "
					"more than %d columns\n",
					file, lineno, SERIALS_CSV_COLS);
				goto out;
			}
			if (mode == 0) {
				for (i = 0; i < nc && col < 0; i++)
					if (strcasecmp(trim(cells[i]),
						       "serial") == 0)
						col = i;
				if (col >= 0) {
					mode = 2;
					continue; /* the header row */
				}
				if (nc > 1) {
					fprintf(stderr,
						"%s:%ld: CSV needs a header "
						"row with a column named "
						"serial\n",
						file, lineno);
					goto out;
				}
				mode = 1;
			} else {
				if (col >= nc) {
					fprintf(stderr,
						"%s:%ld: no serial "
						"column on this row\n",
						file, lineno);
					goto out;
				}
				s = trim(cells[col]);
			}
		}
		if (profile_check_serial(prof, s, thing, &e) < 0) {
			fprintf(stderr, "%s:%ld: %s\n", file, lineno, e.msg);
			goto out;
		}
		if (n == SERIALS_IMPORT_MAX) {
			fprintf(stderr,
				"%s:%ld: more than %d serials: split "
				"the file\n",
				file, lineno, SERIALS_IMPORT_MAX);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				goto oom;
			v = nv;
		}
		v[n] = strdup(s);
		if (v[n] == NULL)
			goto oom;
		n++;
	}
	if (ferror(f)) {
		fprintf(stderr, "thingca: reading %s failed\n", file);
		goto out;
	}
	rc = CLI_OK;
	*out = v;
	*count = n;
	v = NULL;
	goto out;
oom:
	fprintf(stderr, "thingca: out of memory\n");
out:
	free_serials(v, n);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* `thingca serials import [--batch B] [--ledger DB] FILE`. */
int cmd_serials(const struct cli *g, int argc, char **argv)
{
	static const char usage[] =
	    "usage: thingca [-c FILE] serials import [--batch B] [--ledger DB] "
	    "FILE\n"
	    "FILE (\"-\" = stdin): one serial a line, or CSV with a "
	    "header row naming a \"serial\" column\n";
	struct ledger_entry en = {.reissue = -1};
	struct config *cfg = NULL;
	struct profile *prof = NULL;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *batch = NULL, *file, *base;
	char client[96], defbatch[512], day[21];
	char **serials = NULL;
	size_t n = 0, added = 0, present = 0;
	int rc = CLI_FAIL;
	struct cli_opt opts[] = {
	    {"batch", &batch, NULL},
	    {"ledger", &lopt, NULL},
	    {NULL, NULL, NULL},
	};

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0
				 ? stdout
				 : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CLI_OK
								   : CLI_USAGE;
	}
	argc--;
	argv++;
	rc = cli_parse(argc, argv, opts, 1, cli_usage_text, usage);
	if (rc != CLI_OK)
		return rc == CLI_HELP ? CLI_OK : rc;
	rc = CLI_FAIL;
	file = argv[optind];
	/* the profile decides which serials are valid: the configuration is
	 * needed even with --ledger */
	cfg = cli_load_config(g);
	if (cfg == NULL)
		goto out;
	if (profile_new(&cfg->profile, &prof, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	if (read_serials(file, prof, &serials, &n) != CLI_OK) {
		fprintf(stderr, "thingca: nothing was imported\n");
		goto out;
	}
	if (batch == NULL) {
		base = strcmp(file, "-") == 0 ? "stdin" : strrchr(file, '/');
		base = base == NULL ? file : base[0] == '/' ? base + 1 : base;
		time_rfc3339(time(NULL), day);
		snprintf(defbatch, sizeof(defbatch), "%s-%.10s", base, day);
		batch = defbatch;
	}
	if (cli_ledger_access(lopt ? lopt : cfg->ledger, 1) != CLI_OK)
		goto out;
	if (ledger_open(lopt ? lopt : cfg->ledger, 0, &l, &e) < 0 ||
	    ledger_set_node(l, cfg->node, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	cmd_ledger_client(client, sizeof(client));
	if (ledger_import_serials(l, batch, client, serials, n, &added,
				  &present, &en, &e) < 0) {
		fprintf(stderr, "thingca: %s\nthingca: nothing was imported\n",
			e.msg);
		goto out;
	}
	printf("imported %zu serial%s (%zu already present) as batch %s; "
	       "ledger entry %lld\n",
	       added, added == 1 ? "" : "s", present, batch, (long long)en.seq);
	rc = CLI_OK;
out:
	ledger_entry_clear(&en);
	ledger_close(l);
	free_serials(serials, n);
	profile_free(prof);
	config_free(cfg);
	return rc;
}
