/*
 * cmd_token — `thingca token new`: a fresh client token, printed once, and
 * the "clients" entry holding only its SHA-256 to paste into the
 * configuration. The token itself is never stored by thingca.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli.h"
#include "util.h"

/* 32 random bytes: 256 bits, beyond guessing; base64url makes 43 chars. */
#define TOKEN_BYTES 32

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: thingca token new --name NAME --role "
		   "station|auditor|admin [--out FILE]\n"
		   "  prints a new client token once and its \"clients\" entry "
		   "(the token's SHA-256)\n"
		   "  --out FILE  write the token to FILE (created, mode 0600) "
		   "instead; stdout then\n"
		   "              holds only the clients entry\n");
	return rc;
}

/* The token into a new file (never an existing one), mode 0600: CLI_OK, or
 * CLI_FAIL after saying why. */
static int write_token(const char *path, const char *token)
{
	size_t len = strlen(token);
	int fd, rc = CLI_FAIL;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "thingca: cannot create %s: %s%s\n", path,
			strerror(errno),
			errno == EEXIST ? " (a token is never overwritten: "
					  "remove it first)"
					: "");
		return CLI_FAIL;
	}
	if (write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
	    fsync(fd) == 0)
		rc = CLI_OK;
	else
		fprintf(stderr, "thingca: writing %s: %s\n", path,
			strerror(errno));
	if (close(fd) != 0 && rc == CLI_OK) {
		fprintf(stderr, "thingca: writing %s: %s\n", path,
			strerror(errno));
		rc = CLI_FAIL;
	}
	if (rc != CLI_OK)
		unlink(path);
	return rc;
}

int cmd_token(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *role = NULL, *out = NULL;
	unsigned char raw[TOKEN_BYTES], hash[32];
	char token[TOKEN_BYTES * 2 + 8], hex[65];
	int opt, n, i, rc = CLI_OK;

	(void)g;
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout, CLI_OK);
	if (argc < 2 || strcmp(argv[1], "new") != 0) {
		if (argc >= 2)
			fprintf(stderr,
				"thingca: token: unknown subcommand '%s'\n",
				argv[1]);
		return usage(stderr, CLI_USAGE);
	}
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "n:r:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			return usage(stdout, CLI_OK);
		default:
			return usage(stderr, CLI_USAGE);
		}
	}
	if (!name || !role || optind != argc)
		return usage(stderr, CLI_USAGE);
	if (!role_parse(role)) {
		fprintf(stderr, "thingca: --role must be station, auditor or "
				"admin\n");
		return CLI_USAGE;
	}
	if (!client_name_valid(name)) {
		fprintf(stderr,
			"thingca: --name may hold 1 to %d letters, digits, "
			". _ and - only\n",
			CLIENT_NAME_MAX);
		return CLI_USAGE;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, "thingca: no randomness available\n");
		return CLI_FAIL;
	}
	n = EVP_EncodeBlock((unsigned char *)token, raw, sizeof(raw));
	/* base64url without padding (RFC 4648 section 5): safe in headers,
	 * URLs and station settings files. */
	for (i = 0; i < n; i++) {
		if (token[i] == '+')
			token[i] = '-';
		else if (token[i] == '/')
			token[i] = '_';
		else if (token[i] == '=')
			token[i] = '\0';
	}
	sha256(token, strlen(token), hash);
	hex_encode(hash, 32, hex);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (out) {
		rc = write_token(out, token);
		if (rc != CLI_OK)
			goto out;
		fprintf(stderr,
			"thingca: wrote the token for %s to %s (mode 0600); "
			"give it to the client,\nadd the entry below to "
			"\"clients\" and reload thingcad\n",
			name, out);
	} else {
		printf("token (shown once; give it to %s, thingca keeps only "
		       "its hash):\n%s\n\n",
		       name, token);
		printf("add to \"clients\" in the configuration, then reload "
		       "thingcad (systemctl reload thingcad):\n");
	}
	printf("{\"name\": \"%s\", \"role\": \"%s\", \"token_sha256\": "
	       "\"%s\"}\n",
	       name, role, hex);
out:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}
