/*
 * cmd_ledger.h — what the `thingca ledger` commands (cmd_ledger*.c,
 * cmd_serials.c, cmd_revoke.c) share: usage, opening the ledger, the option
 * numbers, printing JSON. Private to daemon/thingca/.
 */
#ifndef THINGCA_CMD_LEDGER_H
#define THINGCA_CMD_LEDGER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "ledger.h"

/* Long option numbers of the ledger commands (getopt_long). */
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

/* Usage of one ledger subcommand (sub), or of all (sub NULL or unknown),
 * on f; returns rc. */
int cmd_ledger_usage(FILE *f, int rc, const char *sub);

/* cmd_ledger_usage as a cli_usage_fn (ctx: the subcommand's name). */
int cmd_ledger_usage_fn(FILE *f, int rc, const void *sub);

/* The client name recorded for CLI writes, "cli:<user>", into out[n]. */
void cmd_ledger_client(char *out, size_t n);

/* Opens the ledger of --ledger opt (NULL: the configuration's) with
 * ledger_open flags into *l; CLI_OK, or CLI_FAIL after saying why. */
int cmd_ledger_open(const struct cli *g, const char *opt, int flags,
		    struct ledger **l);

/* j dumped with json_dumps flags and a newline on stdout. */
void cmd_print_json(json_t *j, size_t flags);

/* A non-negative decimal integer s into *out: 0, or -1 when it is not one. */
int cmd_parse_i64(const char *s, int64_t *out);

/* Verifies l's hash chain (against aseq:ahash when aseq > 0) and prints
 * the result, as `ledger verify` and `ledger backup` do; CLI_OK or
 * CLI_FAIL. */
int cmd_ledger_verify_print(struct ledger *l, int64_t aseq, const char *ahash,
			    const char *what);

/* The subcommands; argv[0] is the subcommand's name. */
int cmd_ledger_list(const struct cli *g, int argc, char **argv);
int cmd_ledger_export(const struct cli *g, int argc, char **argv);
int cmd_ledger_show(const struct cli *g, int argc, char **argv);
int cmd_ledger_verify(const struct cli *g, int argc, char **argv);
int cmd_ledger_head(const struct cli *g, int argc, char **argv);
int cmd_ledger_backup(const struct cli *g, int argc, char **argv);

#endif
