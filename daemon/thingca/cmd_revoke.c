/*
 * cmd_revoke — `thingca revoke CERT_ID [--reason R] [--reissue]`: a
 * revocation appended through the ledger's writer.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_ledger.h"
#include "entry.h"
#include "profile.h"
#include "util.h"

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
	rc = cmd_ledger_open(g, lopt, 0, &l);
	if (rc != CLI_OK)
		goto out;
	cmd_ledger_client(client, sizeof(client));
	if (ledger_revoke(l, id, client, reason, reissue, &en, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		rc = CLI_FAIL;
		goto out;
	}
	j = entry_json(&en);
	cmd_print_json(j, JSON_INDENT(2));
	json_decref(j);
	printf("aws iot update-certificate --certificate-id %s --new-status "
	       "REVOKED\n",
	       id);
out:
	ledger_entry_clear(&en);
	ledger_close(l);
	return rc;
}
