/*
 * cmd_ledger — the ledger seen from the command line: `thingca ledger
 * list|show|export|verify|head|backup` for auditors (always read-only, safe
 * while thingcad writes), `thingca serials import` to fill the allowlist and
 * `thingca revoke` to revoke a certificate (both write through the ledger's
 * writer, so they are safe beside a running daemon too).
 */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "entry.h"
#include "issue.h"
#include "ledger.h"
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

/* ---- shared helpers --------------------------------------------------- */

/* Each ledger subcommand's arguments, for its --help and thingca(1). */
static const struct {
	const char *sub, *args;
} ledger_subs[] = {
    {"list", "[filters] [--after SEQ] [--limit N] [--ledger DB]"},
    {"show", "SEQ|CERT_ID [--pem] [--ledger DB]"},
    {"export", "[--format json|csv] [filters] [--ledger DB]"},
    {"verify", "[--head SEQ:HASH] [--ledger DB]"},
    {"head", "[--json] [--ledger DB]"},
    {"backup", "--to FILE [--force] [--ledger DB]"},
    {"copy", "--from LEDGER --to LEDGER"},
};

/* Usage of one subcommand (sub), or of all (sub NULL or unknown). */
static int ledger_usage(FILE *f, int rc, const char *sub)
{
	size_t i, n = sizeof(ledger_subs) / sizeof(ledger_subs[0]), shown = 0;
	int filters = 0, limit = 0;

	for (i = 0; i < n; i++) {
		if (sub && strcmp(sub, ledger_subs[i].sub) != 0)
			continue;
		fprintf(f, "%s thingca [-c FILE] ledger %s %s\n",
			shown ? "      " : "usage:", ledger_subs[i].sub,
			ledger_subs[i].args);
		filters |= strstr(ledger_subs[i].args, "filters") != NULL;
		limit |= strstr(ledger_subs[i].args, "--limit") != NULL;
		shown++;
	}
	if (shown == 0)
		return ledger_usage(f, rc, NULL);
	if (filters)
		fprintf(f, "filters: --serial S --thing-name T --station N "
			   "--event E\n"
			   "         --certificate-id ID --since TIME --until "
			   "TIME (RFC 3339)\n");
	if (limit)
		fprintf(f, "--limit N: 1 to 1000 entries (default 100); "
			   "--after SEQ for the next page\n");
	fprintf(f, "--ledger DB: the ledger (default: the configuration's "
		   "\"ledger\"); read-only\n");
	return rc;
}

/* The client name recorded for CLI writes: "cli:<user>". */
static void cli_client(char *out, size_t n)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		snprintf(out, n, "cli:%s", pw->pw_name);
	else
		snprintf(out, n, "cli");
}

static int open_ledger(const struct cli *g, const char *opt, int flags,
		       struct ledger **l)
{
	struct config *cfg = NULL;
	struct errd e = {0};
	const char *path;
	int rc = CLI_FAIL;

	path = cli_ledger_path(g, opt, &cfg);
	if (path == NULL)
		goto out;
	/* cli_ledger_path checked read access; a write needs more */
	if (!(flags & LEDGER_RDONLY) && cli_ledger_access(path, 1) != CLI_OK)
		goto out;
	/* a write stamps the configuration's node, or (with --ledger and no
	 * configuration read) the host name */
	if (ledger_open(path, flags, l, &e) < 0 ||
	    (cfg && ledger_set_node(*l, cfg->node, &e) < 0)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		ledger_close(*l);
		*l = NULL;
		goto out;
	}
	rc = CLI_OK;
out:
	config_free(cfg);
	return rc;
}

static void print_json(json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* Filter options shared by list and export. */
enum {
	OPT_SERIAL = 256,
	OPT_THING,
	OPT_STATION,
	OPT_EVENT,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_AFTER,
	OPT_LIMIT,
	OPT_LEDGER,
	OPT_FORMAT,
	OPT_CERT,
	OPT_HEAD,
	OPT_JSON,
	OPT_TO,
	OPT_FORCE,
	OPT_PEM,
	OPT_BATCH,
	OPT_REASON,
	OPT_REISSUE,
};

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

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

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
			if (parse_i64(optarg, &v) < 0) {
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
				return ledger_usage(stderr, CLI_USAGE, argv[0]);
			}
			*format = optarg;
			break;
		case 'h':
			ledger_usage(stdout, CLI_OK, argv[0]);
			return -1;
		default:
			return ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc)
		return ledger_usage(stderr, CLI_USAGE, argv[0]);
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

static int ledger_list_cmd(const struct cli *g, int argc, char **argv)
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
	rc = open_ledger(g, lopt, LEDGER_RDONLY, &l);
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

static int ledger_export_cmd(const struct cli *g, int argc, char **argv)
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
	rc = open_ledger(g, lopt, LEDGER_RDONLY, &l);
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

static int ledger_show_cmd(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pem", no_argument, NULL, OPT_PEM},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ledger_entry en = {.reissue = -1}, rev = {.reissue = -1};
	struct ledger_query q = {0};
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *key;
	json_t *j = NULL;
	int64_t seq = 0, next;
	int opt, pem = 0, rc;
	char id[65], *text = NULL;
	size_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PEM:
			pem = 1;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			return ledger_usage(stdout, CLI_OK, argv[0]);
		default:
			return ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind + 1 != argc)
		return ledger_usage(stderr, CLI_USAGE, argv[0]);
	key = argv[optind];
	rc = open_ledger(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	rc = CLI_FAIL;
	if (strlen(key) < 20 && parse_i64(key, &seq) == 0 && seq > 0) {
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
	print_json(j, JSON_INDENT(2));
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

/* ---- ledger verify / head / backup ------------------------------------ */

/* Prints the verification result of l; CLI_OK or CLI_FAIL. */
static int verify_print(struct ledger *l, int64_t aseq, const char *ahash,
			const char *what)
{
	struct errd e = {0};
	int64_t n = 0, bad = 0;
	char hash[65], prefix[48];
	const char *why;

	if (ledger_verify_head(l, aseq, ahash, &n, &bad, hash, &e) < 0) {
		why = e.msg;
		snprintf(prefix, sizeof(prefix),
			 "entry %lld: ", (long long)bad);
		if (strncmp(why, prefix, strlen(prefix)) == 0)
			why += strlen(prefix);
		if (bad)
			fprintf(stderr,
				"%s verification FAILED at entry %lld: "
				"%s\n",
				what, (long long)bad, why);
		else
			fprintf(stderr, "%s verification FAILED: %s\n", what,
				why);
		return CLI_FAIL;
	}
	/* the head the walk verified (seq n: seq runs 1..n), not one read
	 * afterwards, which the daemon may have appended since */
	printf("%s OK: %lld %s, head %lld:%s\n", what, (long long)n,
	       n == 1 ? "entry" : "entries", (long long)n, hash);
	return CLI_OK;
}

static int ledger_verify_cmd(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"head", required_argument, NULL, OPT_HEAD},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ledger *l = NULL;
	const char *lopt = NULL, *head = NULL, *colon;
	char seqs[24];
	int64_t aseq = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_HEAD:
			head = optarg;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			return ledger_usage(stdout, CLI_OK, argv[0]);
		default:
			return ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc)
		return ledger_usage(stderr, CLI_USAGE, argv[0]);
	if (head) {
		colon = strchr(head, ':');
		if (colon == NULL || colon - head >= (long)sizeof(seqs) ||
		    strlen(colon + 1) != 64) {
			fprintf(stderr,
				"thingca: --head is SEQ:HASH (64 hex digits), "
				"as `thingca ledger head` prints it and "
				"thingcad logs it\n");
			return CLI_USAGE;
		}
		snprintf(seqs, sizeof(seqs), "%.*s", (int)(colon - head), head);
		if (parse_i64(seqs, &aseq) < 0 || aseq == 0) {
			fprintf(stderr,
				"thingca: --head SEQ must be a positive "
				"number\n");
			return CLI_USAGE;
		}
		head = colon + 1;
	}
	rc = open_ledger(g, lopt, LEDGER_RDONLY, &l);
	if (rc == CLI_OK)
		rc = verify_print(l, aseq, head, "ledger");
	ledger_close(l);
	return rc;
}

static int ledger_head_cmd(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL;
	char hash[65];
	int64_t seq;
	int opt, json = 0, rc;
	json_t *j;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			json = 1;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			return ledger_usage(stdout, CLI_OK, argv[0]);
		default:
			return ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc)
		return ledger_usage(stderr, CLI_USAGE, argv[0]);
	rc = open_ledger(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	if (ledger_head(l, &seq, hash, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		rc = CLI_FAIL;
		goto out;
	}
	if (json) {
		j = json_pack("{sIss}", "seq", (json_int_t)seq, "hash", hash);
		print_json(j, JSON_COMPACT);
		json_decref(j);
	} else {
		/* SEQ:HASH, the one form of a head: ledger verify --head
		 * takes it, thingcad logs it */
		printf("%lld:%s\n", (long long)seq, hash);
	}
out:
	ledger_close(l);
	return rc;
}

static int ledger_backup_cmd(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, OPT_TO},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct config *cfg = NULL;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *to = NULL, *path;
	int opt, force = 0, rc = CLI_FAIL;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TO:
			to = optarg;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			return ledger_usage(stdout, CLI_OK, argv[0]);
		default:
			return ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc || to == NULL)
		return ledger_usage(stderr, CLI_USAGE, argv[0]);
	path = cli_ledger_path(g, lopt, &cfg);
	if (path == NULL)
		goto out;
	if (ledger_location_is_uri(path)) {
		fprintf(stderr,
			"thingca: ledger backup copies SQLite files; back a "
			"PostgreSQL ledger up with pg_dump or pg_basebackup "
			"(docs/deployment.md), or copy it into one file with "
			"`thingca ledger copy --from URI --to %s`\n",
			to);
		goto out;
	}
	if (ledger_backup(path, to, force, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	if (ledger_open(to, LEDGER_RDONLY, &l, &e) < 0) {
		fprintf(stderr, "thingca: the copy does not open: %s\n", e.msg);
	} else {
		rc = verify_print(l, 0, NULL, to);
		ledger_close(l);
	}
	if (rc != CLI_OK) {
		unlink(to);
		fprintf(stderr,
			"thingca: removed %s; the source ledger may be "
			"damaged: run `thingca ledger verify`\n",
			to);
	}
out:
	config_free(cfg);
	return rc;
}

/* `thingca ledger SUBCOMMAND ...`: argv[0] is "ledger". */
int cmd_ledger(const struct cli *g, int argc, char **argv)
{
	const char *sub;

	if (argc < 2)
		return ledger_usage(stderr, CLI_USAGE, NULL);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "list") == 0)
		return ledger_list_cmd(g, argc, argv);
	if (strcmp(sub, "show") == 0)
		return ledger_show_cmd(g, argc, argv);
	if (strcmp(sub, "export") == 0)
		return ledger_export_cmd(g, argc, argv);
	if (strcmp(sub, "verify") == 0)
		return ledger_verify_cmd(g, argc, argv);
	if (strcmp(sub, "head") == 0)
		return ledger_head_cmd(g, argc, argv);
	if (strcmp(sub, "backup") == 0)
		return ledger_backup_cmd(g, argc, argv);
	if (strcmp(sub, "copy") == 0)
		return cmd_ledger_copy(g, argc, argv);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return ledger_usage(stdout, CLI_OK, NULL);
	fprintf(stderr, "thingca: ledger: unknown subcommand '%s'\n", sub);
	return ledger_usage(stderr, CLI_USAGE, NULL);
}

/* ---- serials import --------------------------------------------------- */

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
	static const struct option opts[] = {
	    {"batch", required_argument, NULL, OPT_BATCH},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
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
	int opt, rc = CLI_FAIL;

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		fputs(usage, argc >= 2 && strcmp(argv[1], "--help") == 0
				 ? stdout
				 : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? CLI_OK
								   : CLI_USAGE;
	}
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_BATCH:
			batch = optarg;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
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
	cli_client(client, sizeof(client));
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

/* ---- revoke ----------------------------------------------------------- */

/* `thingca revoke CERT_ID [--reason R] [--reissue] [--ledger DB]`. */
int cmd_revoke(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, OPT_REASON},
	    {"reissue", no_argument, NULL, OPT_REISSUE},
	    {"ledger", required_argument, NULL, OPT_LEDGER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char usage[] =
	    "usage: thingca [-c FILE] revoke CERT_ID [--reason R] [--reissue] "
	    "[--ledger DB]\n"
	    "--reissue: the serial may be issued once more, with a new key "
	    "(a reworked board);\nwithout it the serial stays blocked "
	    "(scrapped or stolen device)\n";
	struct ledger_entry en = {.reissue = -1};
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *reason = "unspecified";
	char client[96], id[65];
	int opt, reissue = 0, rc;
	json_t *j;
	size_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_REASON:
			/* RFC 5280 5.3.1 names, stored canonically. */
			if (revocation_reason(optarg, &reason, &e) < 0) {
				fprintf(stderr, "thingca: --reason: %s\n",
					e.msg);
				return CLI_USAGE;
			}
			break;
		case OPT_REISSUE:
			reissue = 1;
			break;
		case OPT_LEDGER:
			lopt = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	/* AWS prints certificate IDs in lowercase hex: accept either case */
	for (i = 0; argv[optind][i] && i < 64; i++)
		id[i] = (char)tolower((unsigned char)argv[optind][i]);
	id[i] = '\0';
	if (strlen(argv[optind]) != 64 ||
	    strspn(id, "0123456789abcdef") != 64) {
		fprintf(stderr, "thingca: CERT_ID is the 64 hex digits of the "
				"AWS IoT certificate ID\n");
		return CLI_USAGE;
	}
	rc = open_ledger(g, lopt, 0, &l);
	if (rc != CLI_OK)
		goto out;
	cli_client(client, sizeof(client));
	if (ledger_revoke(l, id, client, reason, reissue, &en, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		rc = CLI_FAIL;
		goto out;
	}
	j = entry_json(&en);
	print_json(j, JSON_INDENT(2));
	json_decref(j);
	printf("aws iot update-certificate --certificate-id %s --new-status "
	       "REVOKED\n",
	       id);
out:
	ledger_entry_clear(&en);
	ledger_close(l);
	return rc;
}
