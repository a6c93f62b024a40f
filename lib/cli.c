/*
 * cli — what every `thingca` command shares: loading the configuration and
 * finding the ledger file.
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
