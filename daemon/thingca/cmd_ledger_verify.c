/*
 * cmd_ledger_verify — `thingca ledger verify` (the hash chain recomputed,
 * optionally against a head written down earlier) and `ledger head`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_ledger.h"
#include "profile.h"

/* ---- ledger verify / head / backup ------------------------------------ */

/* See cmd_ledger.h. */
int cmd_ledger_verify_print(struct ledger *l, int64_t aseq, const char *ahash,
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

int cmd_ledger_verify(const struct cli *g, int argc, char **argv)
{
	struct ledger *l = NULL;
	const char *lopt = NULL, *head = NULL, *colon;
	char seqs[24];
	int64_t aseq = 0;
	int rc;
	struct cli_opt opts[] = {
	    {"head", &head, NULL},
	    {"ledger", &lopt, NULL},
	    {NULL, NULL, NULL},
	};

	rc = cli_parse(argc, argv, opts, 0, cmd_ledger_usage_fn, argv[0]);
	if (rc != CLI_OK)
		return rc == CLI_HELP ? CLI_OK : rc;
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
		if (cmd_parse_i64(seqs, &aseq) < 0 || aseq == 0) {
			fprintf(stderr,
				"thingca: --head SEQ must be a positive "
				"number\n");
			return CLI_USAGE;
		}
		head = colon + 1;
	}
	rc = cmd_ledger_open(g, lopt, LEDGER_RDONLY, &l);
	if (rc == CLI_OK)
		rc = cmd_ledger_verify_print(l, aseq, head, "ledger");
	ledger_close(l);
	return rc;
}

int cmd_ledger_head(const struct cli *g, int argc, char **argv)
{
	struct ledger *l = NULL;
	struct errd e = {0};
	const char *lopt = NULL;
	char hash[65];
	int64_t seq;
	int json = 0, rc;
	json_t *j;
	struct cli_opt opts[] = {
	    {"json", NULL, &json},
	    {"ledger", &lopt, NULL},
	    {NULL, NULL, NULL},
	};

	rc = cli_parse(argc, argv, opts, 0, cmd_ledger_usage_fn, argv[0]);
	if (rc != CLI_OK)
		return rc == CLI_HELP ? CLI_OK : rc;
	rc = cmd_ledger_open(g, lopt, LEDGER_RDONLY, &l);
	if (rc != CLI_OK)
		goto out;
	if (ledger_head(l, &seq, hash, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		rc = CLI_FAIL;
		goto out;
	}
	if (json) {
		j = json_pack("{sIss}", "seq", (json_int_t)seq, "hash", hash);
		cmd_print_json(j, JSON_COMPACT);
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
