/*
 * cmd_ca — `thingca ca init`: a new CA key and its self-signed certificate,
 * step 1 of the seed workflow (DESIGN.md) done right: an EC P-256 key by
 * default, written 0600 as PKCS#8, and a v3 CA certificate with a random
 * positive serial and the extensions AWS IoT's register-ca-certificate and
 * RFC 5280 expect. With --key pkcs11:URI the key is one already in a token:
 * the certificate is self-signed there and no key file is written (the one
 * place besides ca.c that opens a signer, signer.h). The dispatcher for `ca`
 * subcommands is daemon/thingca.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "config.h"
#include "csr.h"
#include "err.h"
#include "signer.h"
#include "util.h"
#include "x509.h"

/* ca init --days bounds: at least a day; 100 years keeps days * 86400 far
 * from time_t limits and is already longer than any device lives. */
#define CA_INIT_DAYS_MAX 36500L
#define CA_INIT_DAYS_DEFAULT 3650L

static void ca_init_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: thingca ca init [--key-type TYPE] [--subject DN] "
	    "[--days N]\n"
	    "                       [--out-cert FILE] [--out-key FILE] "
	    "[--force]\n"
	    "       thingca [-c FILE] ca init --key pkcs11:URI "
	    "[--pkcs11-module M] [--pin-file F]\n"
	    "                       [--subject DN] [--days N] "
	    "[--out-cert FILE] [--force]\n"
	    "\n"
	    "Creates a CA key and its self-signed certificate for AWS IoT "
	    "JITP.\n"
	    "\n"
	    "  --key-type TYPE  ec:P-256 (default), ec:P-384, rsa:2048, "
	    "rsa:3072, rsa:4096\n"
	    "  --key URI        an RFC 7512 pkcs11: URI of a key already in "
	    "a token\n"
	    "                   (pkcs11-tool --keypairgen); it never leaves "
	    "the token\n"
	    "  --pkcs11-module M  the token's PKCS#11 module (default: "
	    "ca.pkcs11_module of -c FILE)\n"
	    "  --pin-file F     file (mode 0600) holding the token PIN "
	    "(default: ca.key_pin_file\n"
	    "                   of -c FILE, or pin-source=file: in the "
	    "URI)\n"
	    "  --subject DN     e.g. \"/C=JP/O=MyOrg/CN=thingca Root CA\"\n"
	    "                   (default \"/CN=thingca device CA\")\n"
	    "  --days N         validity in days (default %ld)\n"
	    "  --out-cert FILE  certificate to write (default ca.pem)\n"
	    "  --out-key FILE   private key to write, mode 0600 (default "
	    "ca.key)\n"
	    "  --force          overwrite existing files\n",
	    CA_INIT_DAYS_DEFAULT);
}

/* The self-signed CA certificate: v3, random positive serial, subject =
 * issuer = name, now .. now + days, basicConstraints critical CA:TRUE,
 * keyUsage critical keyCertSign, cRLSign, digitalSignature, SKI and AKI. */
static int ca_init_cert(EVP_PKEY *k, X509_NAME *name, long days, X509 **out,
			struct errd *e)
{
	time_t now = time(NULL);
	X509 *x = NULL;
	int rc = 0;

	*out = NULL;
	rc = x509_new_cert(name, NULL, k, now, now + (time_t)days * 86400, &x,
			   e);
	if (rc == 0)
		rc = x509_add_ext(x, NULL, NID_basic_constraints,
				  "critical,CA:TRUE", e);
	if (rc == 0)
		rc = x509_add_ext(
		    x, NULL, NID_key_usage,
		    "critical,keyCertSign,cRLSign,digitalSignature", e);
	if (rc == 0)
		rc = x509_add_ext(x, NULL, NID_subject_key_identifier, "hash",
				  e);
	if (rc == 0)
		rc = x509_add_ext(x, NULL, NID_authority_key_identifier,
				  "keyid:always", e);
	if (rc < 0)
		goto out;
	if (X509_sign(x, k, key_md(k)) <= 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot sign the certificate");
		err_add_openssl(e);
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_free(x);
	return rc;
}

/* Prints what ca init made and what to do next. */
static void ca_init_report(X509 *x, const char *out_cert, const char *subject)
{
	char id[65], until[21];

	x509_certificate_id(x, id);
	x509_not_after_text(x, until);
	printf("wrote %s (subject %s, valid until %s)\n", out_cert, subject,
	       until);
	printf("certificate id (SHA-256): %s\n", id);
}

/* The registration lines for the new CA (cli_print_registration). */
static void ca_init_report_registration(X509 *x, const char *out_cert)
{
	char id[65];

	if (x509_certificate_id(x, id) < 0)
		snprintf(id, sizeof(id), "<CA certificate ID>");
	cli_print_registration(out_cert, id, NULL);
}

/* ca init --key pkcs11:URI: the self-signed certificate of a token key. The
 * module and PIN file come from the options, else from -c FILE's ca.*. */
static int ca_init_token(const struct cli *g, const char *uri,
			 const char *module, const char *pin_file,
			 X509_NAME *name, const char *subject, long days,
			 const char *out_cert, int force)
{
	struct config *cfg = NULL;
	struct ca_cfg cc;
	struct signer sig;
	struct errd e = {0, {0}};
	X509 *x = NULL;
	unsigned type;
	int status = CLI_FAIL;

	memset(&cc, 0, sizeof(cc));
	memset(&sig, 0, sizeof(sig));
	if (g->config_given) {
		cfg = cli_load_config(g);
		if (!cfg)
			goto out;
		cc = cfg->ca;
	}
	cc.key = (char *)uri;
	if (module)
		cc.pkcs11_module = (char *)module;
	if (pin_file)
		cc.key_pin_file = (char *)pin_file;
	if (cli_no_clobber("ca init", NULL, out_cert, force,
			   "; refusing to replace a CA") != CLI_OK)
		goto out;
	if (p11_signer_open(&cc, &sig, &e) < 0) {
		fprintf(stderr, "thingca ca init: %s\n", e.msg);
		goto out;
	}
	type = key_type_of(sig.key);
	if (!type) {
		fprintf(stderr,
			"thingca ca init: the key at %s is not one AWS IoT "
			"registers as a CA (RSA 2048/3072/4096, EC "
			"P-256/P-384)\n",
			uri);
		goto out;
	}
	if (ca_init_cert(sig.key, name, days, &x, &e) < 0) {
		fprintf(stderr, "thingca ca init: %s\n", e.msg);
		goto out;
	}
	/* The token signed: prove it before anyone registers the result. */
	if (X509_verify(x, X509_get0_pubkey(x)) != 1) {
		fprintf(stderr, "thingca ca init: the token's signature does "
				"not verify with its public key\n");
		goto out;
	}
	if (x509_write_cert(out_cert, x, NULL, force, &e) < 0) {
		fprintf(stderr, "thingca ca init: %s\n", e.msg);
		goto out;
	}
	printf("key stays in the token: %s (%s)\n", uri, key_type_name(type));
	ca_init_report(x, out_cert, subject);
	printf(
	    "next: set \"ca\": {\"certificate\": \"%s\", \"key\": "
	    "\"%s\",\n"
	    "      \"pkcs11_module\": \"%s\", \"key_pin_file\": \"%s\"} "
	    "in thingca.json,\n"
	    "      or keep it as the offline root of a hierarchy (thingca ca "
	    "sign --root-key %s);\n"
	    "      a CA that signs devices itself is registered thus:\n",
	    out_cert, uri, cc.pkcs11_module ? cc.pkcs11_module : "",
	    cc.key_pin_file ? cc.key_pin_file : "", uri);
	ca_init_report_registration(x, out_cert);
	status = CLI_OK;
out:
	if (sig.close)
		sig.close(&sig);
	else
		EVP_PKEY_free(sig.key);
	X509_free(x);
	config_free(cfg);
	return status;
}

int cmd_ca_init(const struct cli *g, int argc, char **argv)
{
	enum {
		O_KEY_TYPE = 256,
		O_KEY,
		O_SUBJECT,
		O_DAYS,
		O_OUT_CERT,
		O_OUT_KEY,
		O_FORCE,
		O_PKCS11_MODULE,
		O_PIN_FILE
	};
	static const struct option opts[] = {
	    {"key-type", required_argument, NULL, O_KEY_TYPE},
	    {"key", required_argument, NULL, O_KEY},
	    {"subject", required_argument, NULL, O_SUBJECT},
	    {"days", required_argument, NULL, O_DAYS},
	    {"out-cert", required_argument, NULL, O_OUT_CERT},
	    {"out-key", required_argument, NULL, O_OUT_KEY},
	    {"force", no_argument, NULL, O_FORCE},
	    {"pkcs11-module", required_argument, NULL, O_PKCS11_MODULE},
	    {"pin-file", required_argument, NULL, O_PIN_FILE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_type = "ec:P-256", *key_uri = NULL;
	const char *module = NULL, *pin_file = NULL;
	const char *subject = "/CN=thingca device CA";
	const char *out_cert = "ca.pem", *out_key = "ca.key";
	struct errd e = {0, {0}};
	X509_NAME *name = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	unsigned type;
	long days = CA_INIT_DAYS_DEFAULT;
	int c, force = 0, status = CLI_OK;

	optind = 0; /* GNU getopt: restart scanning on this argv */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_KEY_TYPE:
			key_type = optarg;
			break;
		case O_KEY:
			key_uri = optarg;
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_DAYS:
			if (cli_days("ca init", optarg, CA_INIT_DAYS_MAX,
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
		case O_PKCS11_MODULE:
			module = optarg;
			break;
		case O_PIN_FILE:
			pin_file = optarg;
			break;
		case 'h':
			ca_init_usage(stdout);
			goto out;
		default:
			ca_init_usage(stderr);
			status = CLI_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "thingca ca init: unexpected argument '%s'\n",
			argv[optind]);
		ca_init_usage(stderr);
		status = CLI_USAGE;
		goto out;
	}
	if (!out_key || !out_cert || !subject || !key_type) {
		ca_init_usage(stderr); /* getopt never leaves these NULL */
		status = CLI_USAGE;
		goto out;
	}
	if (key_uri && strncmp(key_uri, "pkcs11:", 7) == 0) {
		if (x509_name_parse(subject, &name, &e) < 0) {
			fprintf(stderr, "thingca ca init: --subject: %s\n",
				e.msg);
			status = CLI_USAGE;
			goto out;
		}
		status = ca_init_token(g, key_uri, module, pin_file, name,
				       subject, days, out_cert, force);
		goto out;
	} else if (key_uri || module || pin_file) {
		fprintf(stderr, "thingca ca init: --key takes a pkcs11: URI "
				"(--pkcs11-module and --pin-file go with it); "
				"use --out-key FILE for a key file\n");
		status = CLI_USAGE;
		goto out;
	}
	status = cli_key_type("ca init", key_type, &type);
	if (status != CLI_OK)
		goto out;
	if (x509_name_parse(subject, &name, &e) < 0) {
		fprintf(stderr, "thingca ca init: --subject: %s\n", e.msg);
		status = CLI_USAGE;
		goto out;
	}
	status = cli_no_clobber("ca init", out_key, out_cert, force,
				"; refusing to replace a CA");
	if (status != CLI_OK)
		goto out;
	k = key_generate(type);
	if (!k) {
		err_set(&e, ERR_INTERNAL, "key generation failed");
		err_add_openssl(&e);
		fprintf(stderr, "thingca ca init: %s\n", e.msg);
		status = CLI_FAIL;
		goto out;
	}
	if (ca_init_cert(k, name, days, &x, &e) < 0 ||
	    x509_write_key(out_key, k, force, &e) < 0 ||
	    x509_write_cert(out_cert, x, NULL, force, &e) < 0) {
		fprintf(stderr, "thingca ca init: %s\n", e.msg);
		status = CLI_FAIL;
		goto out;
	}
	printf("wrote %s (%s private key, PKCS#8, mode 0600)\n", out_key,
	       key_type_name(type));
	ca_init_report(x, out_cert, subject);
	printf("next: set \"ca\": {\"certificate\": \"%s\", \"key\": "
	       "\"%s\"} in thingca.json,\n"
	       "      or keep it offline as the root of a hierarchy and give "
	       "each line an issuing CA:\n"
	       "      thingca ca csr on the line host, then thingca ca sign "
	       "--root-cert %s --root-key %s\n"
	       "      (docs/jitp.md, \"A CA hierarchy\"); a CA that signs "
	       "devices itself is registered thus:\n",
	       out_cert, out_key, out_cert, out_key);
	ca_init_report_registration(x, out_cert);
out:
	X509_free(x);
	EVP_PKEY_free(k);
	X509_NAME_free(name);
	return status;
}
