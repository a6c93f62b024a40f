/*
 * cli — what every `thingca` command shares: loading the configuration (or
 * the built-in defaults) and finding the ledger file.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

struct config *cli_load_config(const struct cli *g)
{
	struct config *c = NULL;
	struct errd e = {0};

	if (config_load(g->config_path, &c, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		if (!g->config_given)
			fprintf(stderr,
				"thingca: give the configuration with -c FILE "
				"(default %s)\n",
				CONFIG_DEFAULT_PATH);
		return NULL;
	}
	return c;
}

int cli_key_type(const char *cmd, const char *name, unsigned *type)
{
	*type = key_type_parse(name);
	if (*type)
		return CLI_OK;
	fprintf(stderr,
		"thingca %s: --key-type '%s': use ec:P-256, ec:P-384, "
		"rsa:2048, rsa:3072 or rsa:4096\n",
		cmd, name);
	return CLI_USAGE;
}

int cli_no_clobber(const char *cmd, const char *key_path, const char *cert_path,
		   int force, const char *why)
{
	const char *found = NULL;

	if (force)
		return CLI_OK;
	if (key_path && access(key_path, F_OK) == 0)
		found = key_path;
	else if (access(cert_path, F_OK) == 0)
		found = cert_path;
	if (!found)
		return CLI_OK;
	fprintf(stderr, "thingca %s: %s exists%s (use --force to overwrite)\n",
		cmd, found, why);
	return CLI_FAIL;
}

struct config *cli_config_or_defaults(const struct cli *g, int note)
{
	const char *path =
	    g->config_path ? g->config_path : CONFIG_DEFAULT_PATH;
	struct config *cfg = NULL;
	struct errd e = {0};

	if (g->config_given || access(path, F_OK) == 0)
		return cli_load_config(g);
	if (config_parse("{}", 2, NULL, &cfg, &e)) {
		fprintf(stderr, "thingca: built-in defaults: %s\n", e.msg);
		return NULL;
	}
	if (note)
		fprintf(stderr,
			"thingca: note: no %s, using the built-in "
			"default profile (give -c FILE for yours)\n",
			path);
	return cfg;
}

const char *cli_ledger_path(const struct cli *g, const char *ledger_opt,
			    struct config **cfg_out)
{
	struct config *c;

	if (cfg_out)
		*cfg_out = NULL;
	if (ledger_opt)
		return ledger_opt;
	c = cli_load_config(g);
	if (!c) {
		fprintf(stderr, "thingca: or name the database with --ledger "
				"FILE\n");
		return NULL;
	}
	if (cfg_out) {
		*cfg_out = c;
		return c->ledger;
	}
	/* Without cfg_out the caller cannot free c: keep it for the process's
	 * life (commands are short-lived). */
	return c->ledger;
}
