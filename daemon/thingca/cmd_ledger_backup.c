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
	struct config *cfg = NULL;
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL, *to = NULL, *path;
	int force = 0, rc = CLI_FAIL;
	struct cli_opt opts[] = {
	    {"to", &to, NULL},
	    {"force", NULL, &force},
	    {"ledger", &lopt, NULL},
	    {NULL, NULL, NULL},
	};

	rc = cli_parse(argc, argv, opts, 0, cmd_ledger_usage_fn, argv[0]);
	if (rc != CLI_OK)
		return rc == CLI_HELP ? CLI_OK : rc;
	if (to == NULL)
		return cmd_ledger_usage(stderr, CLI_USAGE, argv[0]);
	rc = CLI_FAIL;
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
