/*
 * cmd_ledger_backup — `thingca ledger backup --to FILE`: a consistent copy
 * of an SQLite ledger while thingcad writes it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_ledger.h"

int cmd_ledger_backup(const struct cli *g, int argc, char **argv)
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
			return cmd_ledger_usage(stdout, CLI_OK, argv[0]);
		default:
			return cmd_ledger_usage(stderr, CLI_USAGE, argv[0]);
		}
	}
	if (optind != argc || to == NULL)
		return cmd_ledger_usage(stderr, CLI_USAGE, argv[0]);
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
		rc = cmd_ledger_verify_print(l, 0, NULL, to);
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
