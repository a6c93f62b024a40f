/*
 * cmd_ledger_list — `thingca ledger list`, `export` and `show`: the ledger
 * read a page, all of it, or one entry, with the filters of GET /v1/ledger.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_ledger.h"
#include "entry.h"
#include "issue.h"
#include "util.h"

static const struct option query_opts[] = {
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"thing-name", required_argument, NULL, OPT_THING},
    {"station", required_argument, NULL, OPT_STATION},
    {"event", required_argument, NULL, OPT_EVENT},
    {"certificate-id", required_argument, NULL, OPT_CERT},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"after", required_argument, NULL, OPT_AFTER},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"ledger", required_argument, NULL, OPT_LEDGER},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Parses list/export options into q; 0, or CLI_USAGE after a message. */
static int parse_query(int argc, char **argv, struct ledger_query *q,
		       const char **ledger_opt, const char **format)
{
	/* q points here: one query per run of thingca. */
	static char since[21], until[21];
	struct errd e = {0};
	int64_t v;
	int opt;

	memset(q, 0, sizeof(*q));
	while ((opt = getopt_long(argc, argv, "h", query_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SERIAL:
			q->serial = optarg;
			break;
		case OPT_THING:
			q->thing_name = optarg;
			break;
		case OPT_STATION:
			q->station = optarg;
			break;
		case OPT_CERT:
			q->certificate_id = optarg;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (time_parse_filter(
				optarg,
				opt == OPT_SINCE ? "--since" : "--until",
				opt == OPT_SINCE ? since : until, &e) < 0) {
				fprintf(stderr, "thingca: %s\n", e.msg);
				return CLI_USAGE;
			}
			if (opt == OPT_SINCE)
				q->since = since;
			else
				q->until = until;
			break;
		case OPT_LEDGER:
			*ledger_opt = optarg;
			break;
		case OPT_EVENT:
			q->event = ledger_event_parse(optarg);
			if (q->event == 0) {
				fprintf(stderr,
					"thingca: --event is issued, "
					"revoked or serials_imported\n");
				return CLI_USAGE;
			}
			break;
		case OPT_AFTER:
		case OPT_LIMIT:
			if (cmd_parse_i64(optarg, &v) < 0) {
				fprintf(stderr,
					"thingca: --%s needs a number\n",
					opt == OPT_AFTER ? "after" : "limit");
				return CLI_USAGE;
			}
			if (opt == OPT_AFTER) {
				q->after = v;
			} else if (v < 1 || v > LEDGER_PAGE_MAX) {
				fprintf(stderr,
					"thingca: --limit is 1 to %d (one "
					"page; --after SEQ gives the next, "
					"ledger export gives all)\n",
					LEDGER_PAGE_MAX);
				return CLI_USAGE;
			} else {
				q->limit = (int)v;
			}
			break;
		case OPT_FORMAT:
			if (format == NULL) {
				fprintf(stderr, "thingca: --format is for "
						"ledger export\n");
				return cmd_ledger_usage(stderr, CLI_USAGE,
							argv[0]);
			}
			*format = optarg;
			break;
		case 'h':
			cmd_ledger_usage(stdout, CLI_OK, argv[0]);
			return -1;
		default:
			return cmd_ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc)
		return cmd_ledger_usage(stderr, CLI_USAGE, argv[0]);
	return 0;
}

/* ---- ledger list / export --------------------------------------------- */

/* The DETAIL column: what an entry without a certificate ID says (an
 * import's batch and counts), or a revocation's reason. */
static void list_detail(const struct ledger_entry *en, char *out, size_t n)
{
	const char *r = en->reason, *sha;

	out[0] = '\0';
	if (r == NULL)
		return;
	/* "batch=B added=N present=M sha256=H": the hash is for
	 * `ledger show`; the table keeps the batch and the counts. */
	sha =
	    en->event == LEDGER_SERIALS_IMPORTED ? strstr(r, " sha256=") : NULL;
	if (en->event == LEDGER_REVOKED)
		snprintf(out, n, "reason=%s%s", r,
			 en->reissue == 1 ? " reissue" : "");
	else
		snprintf(out, n, "%.*s", sha ? (int)(sha - r) : (int)strlen(r),
			 r);
}

static int list_row(void *arg, const struct ledger_entry *en)
{
	char detail[512];

	(void)arg;
	list_detail(en, detail, sizeof(detail));
	printf("%-7lld %-20s %-16s %-16s %-20s %-20s %-64s %s\n",
	       (long long)en->seq, en->time ? en->time : "-",
	       ledger_event_name(en->event), en->client ? en->client : "-",
	       en->serial ? en->serial : "-",
	       en->thing_name ? en->thing_name : "-",
	       en->certificate_id ? en->certificate_id : "-",
	       detail[0] ? detail : "-");
	return 0;
}

int cmd_ledger_list(const struct cli *g, int argc, char **argv)
{
	struct ledger_query q;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL;
	int64_t next = 0;
	int rc;

	rc = parse_query(argc, argv, &q, &lopt, NULL);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	rc = cmd_ledger_open(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	printf("%-7s %-20s %-16s %-16s %-20s %-20s %-64s %s\n", "SEQ", "TIME",
	       "EVENT", "CLIENT", "SERIAL", "THING_NAME", "CERTIFICATE_ID",
	       "DETAIL");
	if (ledger_list(l, &q, list_row, NULL, &next, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		rc = CLI_FAIL;
		goto out;
	}
	if (next)
		fprintf(stderr, "(more: add --after %lld)\n", (long long)next);
out:
	ledger_close(l);
	return rc;
}

struct export_state {
	int csv;
	int64_t n;
};

static int export_row(void *arg, const struct ledger_entry *en)
{
	struct export_state *x = arg;
	json_t *j;
	char *s;

	if (x->csv)
		return entry_csv_row(stdout, en) < 0 ? -ERR_IO : 0;
	j = entry_json(en);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return -ERR_NOMEM;
	printf("%s\n  %s", x->n ? "," : "", s);
	free(s);
	x->n++;
	return 0;
}

int cmd_ledger_export(const struct cli *g, int argc, char **argv)
{
	struct export_state x = {0};
	struct ledger_query q;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *format = "json";
	int64_t next = 0;
	int rc;

	rc = parse_query(argc, argv, &q, &lopt, &format);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		fprintf(stderr, "thingca: --format is json or csv\n");
		return CLI_USAGE;
	}
	x.csv = strcmp(format, "csv") == 0;
	rc = cmd_ledger_open(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	q.limit = LEDGER_PAGE_MAX;
	fputs(x.csv ? entry_csv_header() : "[", stdout);
	do {
		if (ledger_list(l, &q, export_row, &x, &next, &e) != 0) {
			fprintf(stderr, "thingca: export: %s\n",
				e.msg[0] ? e.msg : "write failed");
			rc = CLI_FAIL;
			goto out;
		}
		q.after = next;
	} while (next);
	if (!x.csv)
		printf("%s]\n", x.n ? "\n" : "");
	if (fflush(stdout) != 0) {
		fprintf(stderr, "thingca: export: write failed\n");
		rc = CLI_FAIL;
	}
out:
	ledger_close(l);
	return rc;
}

/* ---- ledger show ------------------------------------------------------ */

static int grab_entry(void *arg, const struct ledger_entry *en)
{
	struct ledger_entry *out = arg;

	/* the list clears its entry after the callback: keep a copy */
	if (ledger_entry_dup(out, en, NULL) < 0)
		return -ERR_NOMEM;
	return 1; /* one is enough */
}

int cmd_ledger_show(const struct cli *g, int argc, char **argv)
{
	struct ledger_entry en = {.reissue = -1}, rev = {.reissue = -1};
	struct ledger_query q = {0};
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *key;
	json_t *j = NULL;
	int64_t seq = 0, next;
	int pem = 0, rc;
	char id[65], *text = NULL;
	size_t i;
	struct cli_opt opts[] = {
	    {"pem", NULL, &pem},
	    {"ledger", &lopt, NULL},
	    {NULL, NULL, NULL},
	};

	rc = cli_parse(argc, argv, opts, 1, cmd_ledger_usage_fn, argv[0]);
	if (rc != CLI_OK)
		return rc == CLI_HELP ? CLI_OK : rc;
	key = argv[optind];
	rc = cmd_ledger_open(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (strlen(key) < 20 && cmd_parse_i64(key, &seq) == 0 && seq > 0) {
		q.after = seq - 1;
		q.limit = 1;
		q.with_der = 1;
		if (ledger_list(l, &q, grab_entry, &en, &next, &e) < 0) {
			fprintf(stderr, "thingca: %s\n", e.msg);
			goto out;
		}
		if (en.seq != seq) {
			fprintf(stderr, "thingca: no ledger entry %lld\n",
				(long long)seq);
			goto out;
		}
	} else {
		for (i = 0; i < 64 && key[i]; i++)
			id[i] = (char)tolower((unsigned char)key[i]);
		id[i] = '\0';
		if (ledger_get_certificate(l, id, &en, &rev, &e) < 0) {
			fprintf(stderr, "thingca: %s\n", e.msg);
			goto out;
		}
	}
	j = entry_json(&en);
	if (j && rev.seq)
		json_object_set_new(j, "revocation", entry_json(&rev));
	if (j == NULL) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	cmd_print_json(j, JSON_INDENT(2));
	if (pem && en.der) {
		text = issue_der_to_pem(en.der, en.der_len);
		if (text == NULL) {
			fprintf(stderr, "thingca: out of memory\n");
			goto out;
		}
		fputs(text, stdout);
	} else if (pem)
		fprintf(stderr, "thingca: entry %lld has no certificate\n",
			(long long)en.seq);
	rc = CLI_OK;
out:
	free(text);
	json_decref(j);
	ledger_entry_clear(&en);
	ledger_entry_clear(&rev);
	ledger_close(l);
	return rc;
}
