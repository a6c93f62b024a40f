/*
 * cmd_servercert — `thingca ca server-cert`: the TLS certificate of
 * thingcad's own HTTPS listener (listen[].tls), so a line server is set up
 * without other tools. Signed by a CA of the user's choice: --ca-cert and
 * --ca-key, or the configuration's "ca" (the device CA) when they are left
 * out; either way through ca_open, so a pkcs11: key works too and the CA is
 * checked as thingcad checks it. The certificate carries serverAuth and the
 * DNS names and IP addresses clients connect to (RFC 6125: clients match
 * SANs, not the CN).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "util.h"
#include "x509.h"

/* --days: 825 days is the longest TLS server lifetime browsers ever
 * accepted; a line server renews it with one command. */
#define SC_DAYS_DEFAULT 825L
#define SC_DAYS_MAX 36500L
/* --dns/--ip given at most this often: a server has a few names. */
#define SC_NAMES_MAX 16
/* RFC 1035 2.3.4: a domain name is at most 253 characters as text. */
#define SC_DNS_MAX 253

static void usage(FILE *f)
{
	fprintf(f,
		"usage: thingca [-c FILE] ca server-cert (--dns NAME | --ip "
		"ADDR)...\n"
		"         [--ca-cert FILE --ca-key FILE] [--key-type TYPE] "
		"[--cn NAME]\n"
		"         [--days N] [--out-cert FILE] [--out-key FILE] "
		"[--force]\n"
		"\n"
		"Issues thingcad's TLS server certificate (serverAuth, SANs) "
		"for listen[].tls.\n"
		"\n"
		"  --dns NAME       DNS name clients connect to (repeatable)\n"
		"  --ip ADDR        IPv4 or IPv6 address (repeatable)\n"
		"  --ca-cert FILE   signing CA certificate (default: the "
		"configuration's ca)\n"
		"  --ca-key FILE    its key, a file or pkcs11: URI (with "
		"--ca-cert)\n"
		"  --key-type TYPE  ec:P-256 (default), ec:P-384, rsa:2048, "
		"rsa:3072, rsa:4096\n"
		"  --cn NAME        subject CN (default: the first --dns or "
		"--ip)\n"
		"  --days N         validity in days (default %ld, never past "
		"the CA's)\n"
		"  --out-cert FILE  certificate (+ issuing CA when it is not a "
		"root) (default server.pem)\n"
		"  --out-key FILE   private key, mode 0600 (default "
		"server.key)\n"
		"  --force          overwrite existing files\n",
		SC_DAYS_DEFAULT);
}

/* A DNS name: labels of [A-Za-z0-9-] (a leading "*." allowed), so it
 * cannot smuggle ',' into OpenSSL's SAN syntax. */
static int dns_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > SC_DNS_MAX)
		return 0;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      (s[i] == '.' && i > 0 && s[i - 1] != '.')))
			return 0;
	return s[0] != '\0' && s[0] != '.';
}

static int ip_ok(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* The server certificate for k, signed by ca. */
static int build(struct ca *ca, EVP_PKEY *k, const char *cn, const char *san,
		 long days, X509 **out, struct errd *e)
{
	X509 *issuer = ca_get0_cert(ca), *x = NULL;
	X509_NAME *name = NULL;
	time_t now = time(NULL), na = now + (time_t)days * 86400, ca_na;
	int rsa = EVP_PKEY_base_id(k) == EVP_PKEY_RSA, rc = 0;

	*out = NULL;
	if (x509_time_to_time_t(X509_get0_notAfter(issuer), &ca_na) == 0 &&
	    ca_na < na)
		na = ca_na;
	name = X509_NAME_new();
	if (!name) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = x509_name_add(name, "CN", cn, e);
	/* A minute back for clocks a little behind ours. */
	if (rc == 0)
		rc = x509_new_cert(name, X509_get_subject_name(issuer), k,
				   now - 60, na, &x, e);
	if (rc == 0)
		rc = x509_add_ext(x, issuer, NID_basic_constraints,
				  "critical,CA:FALSE", e);
	if (rc == 0)
		rc = x509_add_ext(x, issuer, NID_key_usage,
				  rsa ? "critical,digitalSignature,"
					"keyEncipherment"
				      : "critical,digitalSignature",
				  e);
	if (rc == 0)
		rc =
		    x509_add_ext(x, issuer, NID_ext_key_usage, "serverAuth", e);
	if (rc == 0)
		rc = x509_add_ext(x, issuer, NID_subject_alt_name, san, e);
	if (rc == 0)
		rc = x509_add_ext(x, issuer, NID_subject_key_identifier, "hash",
				  e);
	if (rc == 0)
		rc = x509_add_ext(x, issuer, NID_authority_key_identifier,
				  "keyid:always", e);
	if (rc == 0)
		rc = ca_sign_cert(ca, x, e);
	if (rc == 0) {
		*out = x;
		x = NULL;
	}
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

/* Appends "DNS:x" / "IP:x" to san (size SC_NAMES_MAX * 270). */
static void san_add(char *san, size_t size, const char *type, const char *v)
{
	size_t n = strlen(san);

	snprintf(san + n, size - n, "%s%s:%s", n ? "," : "", type, v);
}

int cmd_ca_server_cert(const struct cli *g, int argc, char **argv)
{
	enum {
		O_DNS = 256,
		O_IP,
		O_CA_CERT,
		O_CA_KEY,
		O_KEY_TYPE,
		O_CN,
		O_DAYS,
		O_OUT_CERT,
		O_OUT_KEY,
		O_FORCE
	};
	static const struct option opts[] = {
	    {"dns", required_argument, NULL, O_DNS},
	    {"ip", required_argument, NULL, O_IP},
	    {"ca-cert", required_argument, NULL, O_CA_CERT},
	    {"ca-key", required_argument, NULL, O_CA_KEY},
	    {"key-type", required_argument, NULL, O_KEY_TYPE},
	    {"cn", required_argument, NULL, O_CN},
	    {"days", required_argument, NULL, O_DAYS},
	    {"out-cert", required_argument, NULL, O_OUT_CERT},
	    {"out-key", required_argument, NULL, O_OUT_KEY},
	    {"force", no_argument, NULL, O_FORCE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca_cert = NULL, *ca_key = NULL, *cn = NULL;
	const char *key_type = "ec:P-256";
	const char *out_cert = "server.pem", *out_key = "server.key";
	char san[SC_NAMES_MAX * 270] = "", id[65], until[21];
	struct config *cfg = NULL;
	struct ca_cfg cc = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	long days = SC_DAYS_DEFAULT;
	int c, force = 0, names = 0, status = CLI_OK;
	unsigned type;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_DNS:
		case O_IP:
			if (c == O_DNS ? !dns_ok(optarg) : !ip_ok(optarg)) {
				fprintf(stderr,
					"thingca ca server-cert: --%s '%s': "
					"not a%s\n",
					c == O_DNS ? "dns" : "ip", optarg,
					c == O_DNS ? " DNS name ([A-Za-z0-9-] "
						     "labels)"
						   : "n IPv4 or IPv6 address");
				status = CLI_USAGE;
				goto out;
			}
			if (++names > SC_NAMES_MAX) {
				fprintf(stderr,
					"thingca ca server-cert: at most %d "
					"names\n",
					SC_NAMES_MAX);
				status = CLI_USAGE;
				goto out;
			}
			san_add(san, sizeof(san), c == O_DNS ? "DNS" : "IP",
				optarg);
			if (!cn)
				cn = optarg;
			break;
		case O_CA_CERT:
			ca_cert = optarg;
			break;
		case O_CA_KEY:
			ca_key = optarg;
			break;
		case O_KEY_TYPE:
			key_type = optarg;
			break;
		case O_CN:
			cn = optarg;
			break;
		case O_DAYS:
			if (cli_days("ca server-cert", optarg, SC_DAYS_MAX,
				     &days) != CLI_OK) {
				status = CLI_USAGE;
				goto out;
			}
			break;
		case O_OUT_CERT:
			out_cert = optarg;
			break;
		case O_OUT_KEY:
			out_key = optarg;
			break;
		case O_FORCE:
			force = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			usage(stderr);
			status = CLI_USAGE;
			goto out;
		}
	}
	if (optind < argc || names == 0 || (!ca_cert != !ca_key)) {
		if (optind < argc)
			fprintf(stderr,
				"thingca ca server-cert: unexpected argument "
				"'%s'\n",
				argv[optind]);
		else if (names == 0)
			fprintf(stderr, "thingca ca server-cert: give at least "
					"one --dns or --ip\n");
		else
			fprintf(stderr, "thingca ca server-cert: give "
					"--ca-cert and --ca-key together\n");
		usage(stderr);
		status = CLI_USAGE;
		goto out;
	}
	status = cli_key_type("ca server-cert", key_type, &type);
	if (status == CLI_OK)
		status = cli_no_clobber("ca server-cert", out_key, out_cert,
					force, "");
	if (status != CLI_OK)
		goto out;
	if (ca_cert) {
		cc.certificate = (char *)ca_cert;
		cc.key = (char *)ca_key;
	} else {
		cfg = cli_load_config(g);
		if (!cfg) {
			fprintf(stderr,
				"thingca ca server-cert: give --ca-cert "
				"and --ca-key, or -c a configuration "
				"whose ca signs\n");
			status = CLI_FAIL;
			goto out;
		}
		cc = cfg->ca;
	}
	if (ca_open(&cc, &ca, &e) < 0) {
		fprintf(stderr, "thingca ca server-cert: CA: %s\n", e.msg);
		status = CLI_FAIL;
		goto out;
	}
	k = key_generate(type);
	if (!k) {
		err_set(&e, ERR_INTERNAL, "key generation failed");
		err_add_openssl(&e);
		fprintf(stderr, "thingca ca server-cert: %s\n", e.msg);
		status = CLI_FAIL;
		goto out;
	}
	if (build(ca, k, cn, san, days, &x, &e) < 0 ||
	    x509_write_key(out_key, k, force, &e) < 0 ||
	    x509_write_cert(out_cert, x, ca_get0_chain(ca), force, &e) < 0) {
		fprintf(stderr, "thingca ca server-cert: %s\n", e.msg);
		status = CLI_FAIL;
		goto out;
	}
	if (x509_certificate_id(x, id) < 0)
		snprintf(id, sizeof(id), "?");
	x509_not_after_text(x, until);
	printf("wrote %s (%s private key, PKCS#8, mode 0600)\n", out_key,
	       key_type_name(type));
	printf("wrote %s (CN %s, %s, serverAuth, valid until %s)\n", out_cert,
	       cn, san, until);
	printf("certificate SHA-256: %s\n", id);
	printf("next: \"listen\": [{\"address\": \"0.0.0.0:8443\", \"tls\": "
	       "{\"certificate\": \"%s\", \"key\": \"%s\"}}]\n",
	       out_cert, out_key);
out:
	X509_free(x);
	EVP_PKEY_free(k);
	ca_free(ca);
	config_free(cfg);
	return status;
}
