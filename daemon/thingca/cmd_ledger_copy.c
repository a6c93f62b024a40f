/*
 * cmd_ledger_copy — `thingca ledger copy --from A --to B` (DESIGN.md
 * "Command line"): a whole ledger, entries exactly as stored and the
 * serial allowlist, into an empty database or a new SQLite file; both
 * sides verified to the same head, which it prints. A and B are SQLite
 * paths or postgresql:// URIs (the password from a passfile, never on the
 * command line). The work is lib/ledger_copy.c's.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "ledger_copy.h"

enum { OPT_FROM = 256, OPT_TO };

static int copy_usage(FILE *f, int rc)
{
	fprintf(f, "usage: thingca ledger copy --from LEDGER --to LEDGER\n"
		   "LEDGER is an SQLite file or a postgresql:// URI; --to must "
		   "be a new file or an\nempty database. The password of a URI "
		   "comes from PGPASSFILE, ~/.pgpass or a\nservice file, never "
		   "from the URI.\n");
	return rc;
}

/* See cli.h. argv[0] is "copy". */
int cmd_ledger_copy(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, OPT_FROM},
	    {"to", required_argument, NULL, OPT_TO},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ledger_copy_result res;
	struct errd e = {0};
	const char *from = NULL, *to = NULL;
	int opt;

	(void)g;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case 'h':
			return copy_usage(stdout, CLI_OK);
		default:
			return copy_usage(stderr, CLI_USAGE);
		}
	}
	if (optind != argc || from == NULL || to == NULL)
		return copy_usage(stderr, CLI_USAGE);
	/* the messages name the locations as the backends describe them
	 * (a URI's host and database, never its password) */
	if (ledger_copy(from, to, &res, &e) < 0) {
		fprintf(stderr, "thingca ledger copy: %s\n", e.msg);
		return CLI_FAIL;
	}
	printf("copied %lld entries and %lld serials; both ledgers verify "
	       "to head %lld:%s (ledger verify --head)\n",
	       (long long)res.entries, (long long)res.serials,
	       (long long)res.head_seq, res.head_hash);
	return CLI_OK;
}
