/*
 * cli — the subcommands of `thingca`. daemon/thingca.c parses the global
 * options and dispatches; each command parses its own options (getopt_long,
 * optind reset by the dispatcher), prints results on stdout and messages on
 * stderr, and returns the exit status: 0 done, 1 refused or failed (stderr
 * says why and what to do), 2 usage.
 */
#ifndef THINGCA_CLI_H
#define THINGCA_CLI_H

#include <stdio.h>

#include "client.h"
#include "config.h"
#include "key.h"

/* Global options given before the command. */
struct cli {
	const char *config_path; /* -c FILE, default CONFIG_DEFAULT_PATH */
	int config_given;	 /* -c was given */
};

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* A long option for cli_parse: "--name VALUE" stores VALUE in *value;
 * with value NULL, "--name" sets *flag to 1. A NULL name ends a table. */
struct cli_opt {
	const char *name;
	const char **value;
	int *flag;
};

/* Prints a command's usage on f and returns rc; ctx is the command's
 * (e.g. the subcommand's name). */
typedef int (*cli_usage_fn)(FILE *f, int rc, const void *ctx);

/* A cli_usage_fn for a command whose usage is the text ctx. */
int cli_usage_text(FILE *f, int rc, const void *ctx);

/* Most options of one command cli_parse takes. */
#define CLI_OPTS_MAX 16
/* cli_parse's answer to --help: usage is printed; exit 0. */
#define CLI_HELP (-1)

/* The option prologue of a command: getopt_long over argv (argv[0] the
 * command's name; options and arguments in any order, "--" ends options)
 * with opts and --help/-h. CLI_OK when every option is known and exactly
 * npos arguments remain, at argv[optind]; CLI_HELP after usage(stdout,
 * CLI_OK, ctx) for --help; else what usage(stderr, CLI_USAGE, ctx)
 * returns (getopt has named an unknown option or a missing value). */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, int npos,
	      cli_usage_fn usage, const void *ctx);

/* Loads g->config_path; on failure prints the reason on stderr and returns
 * NULL. */
struct config *cli_load_config(const struct cli *g);

/* --key-type name of command cmd ("ca init") into *type (enum key_type
 * bit): CLI_OK, or CLI_USAGE after saying on stderr which names work. */
int cli_key_type(const char *cmd, const char *name, unsigned *type);

/* --days arg of command cmd ("ca init"): 1 to max days into *days,
 * CLI_OK; or CLI_USAGE after saying on stderr what is expected. */
int cli_days(const char *cmd, const char *arg, long max, long *days);

/* Before a command writes a key (key_path, may be NULL) and a certificate:
 * CLI_OK when force or neither exists, else CLI_FAIL after saying on stderr
 * which one exists, why ("" or e.g. "; refusing to replace a CA") and that
 * --force overwrites. */
int cli_no_clobber(const char *cmd, const char *key_path, const char *cert_path,
		   int force, const char *why);

/* The configuration of -c FILE or of the default path, or — when -c was
 * not given and the default path does not exist — the built-in defaults
 * (those of an empty file), saying so on stderr when note. Prints why and
 * returns NULL on failure; the caller frees. */
struct config *cli_config_or_defaults(const struct cli *g, int note);

/* Before opening an SQLite ledger file for reading (write 0) or writing:
 * says "permission denied", with the file's owner and mode and what to do,
 * when that is why it cannot be opened, rather than letting SQLite's
 * "unable to open" or "no ledger at" stand for it. CLI_OK (also for a
 * PostgreSQL URI, and for a path that does not exist: opening says so),
 * or CLI_FAIL after the message. */
int cli_ledger_access(const char *path, int write);

/* The ledger path a read command uses: --ledger when given, else the
 * configuration's "ledger", checked with cli_ledger_access for reading.
 * Prints why and returns NULL when neither works; *cfg_out (may be NULL)
 * receives the loaded configuration to free. */
const char *cli_ledger_path(const struct cli *g, const char *ledger_opt,
			    struct config **cfg_out);

/* Prints the `aws iot register-ca-certificate` lines for the CA
 * certificate at ca_path whose AWS certificate ID is id: SNI_ONLY mode
 * first (no verification certificate; the device must send SNI naming the
 * account's full ATS endpoint), then DEFAULT mode with the verification
 * certificate verif_path (NULL: the command that makes one), then
 * update-ca-certificate for a CA registered earlier. */
void cli_print_registration(const char *ca_path, const char *id,
			    const char *verif_path);

/* Each takes argv[0] = its own name ("ca", "ledger", ...). */
int cmd_ca(
    const struct cli *g, int argc,
    char **argv); /* init, csr, sign, crl, verification-cert, server-cert */
int cmd_ca_init(const struct cli *g, int argc, char **argv);
int cmd_ca_verification_cert(const struct cli *g, int argc, char **argv);
int cmd_ca_server_cert(const struct cli *g, int argc, char **argv);
int cmd_ca_csr(const struct cli *g, int argc, char **argv);
int cmd_ca_sign(const struct cli *g, int argc, char **argv);
int cmd_ca_crl(const struct cli *g, int argc, char **argv);
int cmd_jitp(const struct cli *g, int argc,
	     char **argv); /* template, policy, simulate */
int cmd_serials(const struct cli *g, int argc, char **argv); /* import */
int cmd_ledger(const struct cli *g, int argc,
	       char **argv); /* list, show, verify, export, head, backup */
/* `thingca ledger copy` (cmd_ledger_copy.c); argv[0] = "copy". */
int cmd_ledger_copy(const struct cli *g, int argc, char **argv);
int cmd_revoke(const struct cli *g, int argc, char **argv);
int cmd_token(const struct cli *g, int argc, char **argv); /* new */
int cmd_enroll(const struct cli *g, int argc, char **argv);

#endif
