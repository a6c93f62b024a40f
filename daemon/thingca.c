/*
 * thingca — the admin, audit and station command. Parses the global options
 * and hands over to the command's function in daemon/thingca/ (cli.h), whose
 * return value is the exit status: 0 done, 1 refused or failed, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The top-level help: every command on its own line, as thingca(1) lists
 * them (tests/integration/t-manpages.sh runs `COMMAND --help` for each). */
static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: thingca [-c FILE] COMMAND [ARGS]\n"
	    "\n"
	    "CA and AWS IoT registration:\n"
	    "  ca init [--key-type T] [--subject DN] [--days N]  new CA key "
	    "and certificate\n"
	    "                                          (the offline root of a "
	    "hierarchy)\n"
	    "  ca csr --subject DN [--key-type T | --key pkcs11:URI] "
	    "--out-key F --out-csr F\n"
	    "                                          an issuing CA's key and "
	    "CSR\n"
	    "  ca sign --root-cert R --root-key K --csr C [--days N] "
	    "--out-cert F\n"
	    "                                          the issuing CA "
	    "certificate\n"
	    "  ca crl --ca-cert F --ca-key K [--ledger DB]  a CA's CRL (e.g. a "
	    "previous one's)\n"
	    "  ca verification-cert --code CODE        AWS registration "
	    "verification certificate\n"
	    "  ca server-cert (--dns NAME | --ip ADDR)...  thingcad's TLS "
	    "server certificate\n"
	    "  jitp template --role-arn ARN [...]      JITP registration "
	    "config\n"
	    "  jitp policy --region R --account A      IoT policy\n"
	    "  jitp simulate --template F (--cert B | --ledger DB)  what AWS "
	    "IoT would do\n"
	    "Ledger and serials (read-only unless noted):\n"
	    "  serials import [--batch B] FILE         add allowed serials "
	    "(writes)\n"
	    "  ledger list [filters] [--limit N]       list entries\n"
	    "  ledger show SEQ|CERT_ID [--pem]         one entry\n"
	    "  ledger export [--format json|csv]       every entry\n"
	    "  ledger verify [--head SEQ:HASH]         recompute the hash "
	    "chain\n"
	    "  ledger head [--json]                    the newest SEQ:HASH, "
	    "to write down\n"
	    "  ledger backup --to FILE [--force]       online copy, "
	    "verified\n"
	    "  ledger copy --from L --to L             into a new file or an "
	    "empty database\n"
	    "  revoke CERT_ID [--reason R] [--reissue] revoke a certificate "
	    "(writes)\n"
	    "Clients and stations:\n"
	    "  token new --name N --role R [--out F]   a new client token\n"
	    "  enroll --url U (--token T | --token-file F) --serial S --out "
	    "DIR\n"
	    "                                          enrol a device from a "
	    "station\n"
	    "\n"
	    "  -c, --config FILE  configuration (default %s); may also "
	    "follow COMMAND\n"
	    "  -h, --help         this help; COMMAND --help for a "
	    "command's options\n"
	    "  -V, --version      print the version\n"
	    "See thingca(1) and docs/configuration.md.\n",
	    CONFIG_DEFAULT_PATH);
}

struct command {
	const char *name;
	const char *sub; /* NULL: any */
	int (*fn)(const struct cli *, int, char **);
	int shift; /* pass argv from the subcommand on */
};

static const struct command commands[] = {
    {"ca", "init", cmd_ca_init, 1},
    {"ca", "csr", cmd_ca_csr, 1},
    {"ca", "sign", cmd_ca_sign, 1},
    {"ca", "crl", cmd_ca_crl, 1},
    {"ca", "verification-cert", cmd_ca_verification_cert, 1},
    {"ca", "server-cert", cmd_ca_server_cert, 1},
    {"jitp", NULL, cmd_jitp, 0},
    {"serials", NULL, cmd_serials, 0},
    {"ledger", NULL, cmd_ledger, 0},
    {"revoke", NULL, cmd_revoke, 0},
    {"token", NULL, cmd_token, 0},
    {"enroll", NULL, cmd_enroll, 0},
};

/* `thingca ca` alone, `ca --help` or an unknown subcommand: the ca
 * subcommands of the table. */
static int ca_usage(FILE *f, int rc, const char *sub)
{
	size_t i;

	if (sub)
		fprintf(stderr, "thingca: ca: unknown subcommand '%s'\n", sub);
	fprintf(f, "usage: thingca [-c FILE] ca SUBCOMMAND [OPTIONS]\n"
		   "subcommands:");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, "ca") == 0 && commands[i].sub)
			fprintf(f, " %s", commands[i].sub);
	fprintf(f, "\nthingca ca SUBCOMMAND --help for its options\n");
	return rc;
}

/* Global options may also follow the command (`thingca ledger list -c
 * FILE`): takes -c FILE, -cFILE, --config FILE and --config=FILE out of
 * argv[1..] (up to a "--") into g. No command has a -c of its own. Returns
 * 0, or -1 when -c lacks its value. */
static int take_config(int *argc, char **argv, struct cli *g)
{
	int i, o, n = *argc;

	for (i = 1, o = 1; i < n; i++) {
		const char *a = argv[i], *v = NULL;

		if (strcmp(a, "--") == 0) {
			while (i < n)
				argv[o++] = argv[i++];
			break;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= n)
				return -1;
			v = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			v = a + 9;
		} else if (strncmp(a, "-c", 2) == 0) {
			v = a + 2;
		}
		if (v) {
			g->config_path = v;
			g->config_given = 1;
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	*argc = o;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct cli g = {CONFIG_DEFAULT_PATH, 0};
	size_t i;
	int opt;

	/* "+": stop at the command name; its options are its own. */
	while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			g.config_path = optarg;
			g.config_given = 1;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("thingca %s\n", THINGCA_VERSION);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (take_config(&argc, argv, &g) < 0) {
		fprintf(stderr, "thingca: -c needs a FILE\n");
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "ca") == 0 &&
	    (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	     strcmp(argv[1], "-h") == 0))
		return argc < 2 ? ca_usage(stderr, CLI_USAGE, NULL)
				: ca_usage(stdout, CLI_OK, NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->name) != 0)
			continue;
		if (c->sub && (argc < 2 || strcmp(argv[1], c->sub) != 0))
			continue;
		/* Each command parses with getopt_long from a fresh state. */
		optind = 0;
		if (c->shift)
			return c->fn(&g, argc - 1, argv + 1);
		return c->fn(&g, argc, argv);
	}
	if (strcmp(argv[0], "ca") == 0)
		return ca_usage(stderr, CLI_USAGE, argv[1]);
	fprintf(stderr, "thingca: unknown command '%s'; see thingca --help\n",
		argv[0]);
	return CLI_USAGE;
}
