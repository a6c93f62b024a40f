/*
 * cmd_ledger — `thingca ledger SUBCOMMAND`: the dispatch and what the
 * ledger commands share (cmd_ledger.h). The subcommands, for auditors
 * always read-only and safe while thingcad writes: list, show and export
 * (cmd_ledger_list.c), verify and head (cmd_ledger_verify.c), backup
 * (cmd_ledger_backup.c), copy (cmd_ledger_copy.c). `thingca serials
 * import` and `thingca revoke` write through the ledger's writer
 * (cmd_serials.c, cmd_revoke.c).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_ledger.h"
#include "profile.h"

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
int cmd_ledger_usage(FILE *f, int rc, const char *sub)
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
		return cmd_ledger_usage(f, rc, NULL);
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

/* See cmd_ledger.h. */
int cmd_ledger_usage_fn(FILE *f, int rc, const void *sub)
{
	return cmd_ledger_usage(f, rc, sub);
}

/* The client name recorded for CLI writes: "cli:<user>". */
void cmd_ledger_client(char *out, size_t n)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw && pw->pw_name)
		snprintf(out, n, "cli:%s", pw->pw_name);
	else
		snprintf(out, n, "cli");
}

int cmd_ledger_open(const struct cli *g, const char *opt, int flags,
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

void cmd_print_json(json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags);

	if (s)
		printf("%s\n", s);
	free(s);
}

int cmd_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	v = strtoll(s, &end, 10);
	if (!*s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* `thingca ledger SUBCOMMAND ...`: argv[0] is "ledger". */
int cmd_ledger(const struct cli *g, int argc, char **argv)
{
	const char *sub;

	if (argc < 2)
		return cmd_ledger_usage(stderr, CLI_USAGE, NULL);
	sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "list") == 0)
		return cmd_ledger_list(g, argc, argv);
	if (strcmp(sub, "show") == 0)
		return cmd_ledger_show(g, argc, argv);
	if (strcmp(sub, "export") == 0)
		return cmd_ledger_export(g, argc, argv);
	if (strcmp(sub, "verify") == 0)
		return cmd_ledger_verify(g, argc, argv);
	if (strcmp(sub, "head") == 0)
		return cmd_ledger_head(g, argc, argv);
	if (strcmp(sub, "backup") == 0)
		return cmd_ledger_backup(g, argc, argv);
	if (strcmp(sub, "copy") == 0)
		return cmd_ledger_copy(g, argc, argv);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return cmd_ledger_usage(stdout, CLI_OK, NULL);
	fprintf(stderr, "thingca: ledger: unknown subcommand '%s'\n", sub);
	return cmd_ledger_usage(stderr, CLI_USAGE, NULL);
}
