/*
 * cli — what every `thingca` command shares: loading the configuration (or
 * the built-in defaults) and finding the ledger file.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

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

int cli_usage_text(FILE *f, int rc, const void *ctx)
{
	fputs(ctx, f);
	return rc;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, int npos,
	      cli_usage_fn usage, const void *ctx)
{
	struct option lo[CLI_OPTS_MAX + 2];
	size_t i;
	int opt;

	for (i = 0; i < CLI_OPTS_MAX && opts[i].name; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].value ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
	}
	lo[i] = (struct option){"help", no_argument, NULL, 'h'};
	lo[i + 1] = (struct option){NULL, 0, NULL, 0};
	optind = 0; /* GNU getopt: restart scanning on this argv */
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout, CLI_OK, ctx);
			return CLI_HELP;
		}
		if (opt < 256 || (size_t)(opt - 256) >= i)
			return usage(stderr, CLI_USAGE, ctx);
		if (opts[opt - 256].value)
			*opts[opt - 256].value = optarg;
		else
			*opts[opt - 256].flag = 1;
	}
	if (argc - optind != npos)
		return usage(stderr, CLI_USAGE, ctx);
	return CLI_OK;
}

int cli_days(const char *cmd, const char *arg, long max, long *days)
{
	char *end;
	long v = arg ? strtol(arg, &end, 10) : 0;

	if (!arg || !arg[0] || *end || v < 1 || v > max) {
		fprintf(stderr,
			"thingca %s: --days: expected 1 to %ld, got '%s'\n",
			cmd, max, arg ? arg : "");
		return CLI_USAGE;
	}
	*days = v;
	return CLI_OK;
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

	if (g->config_given || access(path, F_OK) == 0) {
		cfg = cli_load_config(g);
		if (cfg && note && !cfg->profile.subject_given)
			fprintf(stderr,
				"thingca: note: %s has no profile.subject: "
				"the built-in DEMO subject (C=JP, ST=Tokyo, "
				"L=Tokyo, O=MyOrg, OU=device) is used\n",
				path);
		return cfg;
	}
	if (config_parse("{}", 2, NULL, &cfg, &e)) {
		fprintf(stderr, "thingca: built-in defaults: %s\n", e.msg);
		return NULL;
	}
	if (note)
		fprintf(stderr,
			"thingca: note: no %s, using the built-in "
			"default profile, whose subject is a DEMO value "
			"(give -c FILE for yours)\n",
			path);
	return cfg;
}

/* The owner's name of st, or its number. */
static const char *owner_name(const struct stat *st, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(st->st_uid);

	if (pw && pw->pw_name)
		return pw->pw_name;
	snprintf(buf, n, "%u", (unsigned)st->st_uid);
	return buf;
}

/* See cli.h. A WAL reader also needs the -shm file: readable when thingcad
 * runs (it exists then), or, when it does not exist, a directory it may be
 * created in (docs/ledger.md "Who may read the ledger"). */
int cli_ledger_access(const char *path, int write)
{
	static const char hint[] = "thingca: run it as the ledger's owner "
				   "(sudo -u %s thingca ...)%s\n";
	const char *alt = write ? "" : ", or audit a backup copy";
	char shm[4096], who[32];
	struct stat st, dst;
	char *dir;
	int rc = CLI_OK;

	if (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0)
		return CLI_OK;
	if (stat(path, &st) != 0) {
		if (errno != EACCES)
			return CLI_OK;
		fprintf(stderr,
			"thingca: cannot reach the ledger %s: permission "
			"denied (a directory on the way is not searchable "
			"for you)\n",
			path);
		fprintf(stderr, hint, "thingca", alt);
		return CLI_FAIL;
	}
	if (access(path, write ? R_OK | W_OK : R_OK) != 0 && errno == EACCES) {
		fprintf(stderr,
			"thingca: cannot %s the ledger %s: permission denied "
			"(owner %s, mode %04o)\n",
			write ? "write" : "read", path,
			owner_name(&st, who, sizeof(who)),
			(unsigned)(st.st_mode & 07777));
		fprintf(stderr, hint, owner_name(&st, who, sizeof(who)), alt);
		return CLI_FAIL;
	}
	if (write ||
	    snprintf(shm, sizeof(shm), "%s-shm", path) >= (int)sizeof(shm))
		return CLI_OK;
	if (stat(shm, &dst) == 0) {
		if (access(shm, R_OK) != 0 && errno == EACCES) {
			fprintf(stderr,
				"thingca: cannot read %s: permission denied "
				"(owner %s, mode %04o): a reader of a WAL "
				"ledger needs it too\n",
				shm, owner_name(&dst, who, sizeof(who)),
				(unsigned)(dst.st_mode & 07777));
			fprintf(stderr, hint, owner_name(&st, who, sizeof(who)),
				alt);
			rc = CLI_FAIL;
		}
		return rc;
	}
	dir = path_dir(path);
	if (dir == NULL)
		return CLI_OK;
	if (access(dir, W_OK) != 0 && errno == EACCES) {
		fprintf(stderr,
			"thingca: cannot read the ledger %s while thingcad is "
			"stopped: permission denied creating %s (SQLite's WAL "
			"index) in %s\n",
			path, shm, dir);
		fprintf(stderr, hint, owner_name(&st, who, sizeof(who)), alt);
		rc = CLI_FAIL;
	}
	free(dir);
	return rc;
}

const char *cli_ledger_path(const struct cli *g, const char *ledger_opt,
			    struct config **cfg_out)
{
	struct config *c;

	if (cfg_out)
		*cfg_out = NULL;
	if (ledger_opt)
		return cli_ledger_access(ledger_opt, 0) == CLI_OK ? ledger_opt
								  : NULL;
	c = cli_load_config(g);
	if (!c) {
		fprintf(stderr, "thingca: or name the database with --ledger "
				"FILE\n");
		return NULL;
	}
	if (cli_ledger_access(c->ledger, 0) != CLI_OK) {
		config_free(c);
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
