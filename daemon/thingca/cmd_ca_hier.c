/*
 * cmd_ca_hier — the CA hierarchy AWS's manufacturing guidance recommends
 * (DESIGN.md "Command line"): an offline root (`thingca ca init`), one
 * issuing CA per line or contract manufacturer, each revocable on its own.
 *
 *   ca csr   on the line host: the issuing CA's key (a 0600 file, or a key
 *            already in a PKCS#11 token) and its CSR;
 *   ca sign  where the root key lives: the issuing CA certificate
 *            (ca_sign_issuing in lib/ca.c decides its whole content);
 *   ca crl   a CRL signed by any CA of the hierarchy from the ledger's
 *            revocations: after a rotation, thingcad serves the current
 *            issuing CA's at GET /v1/crl and this keeps the old one's
 *            available (docs/jitp.md "Rotation").
 *
 * The keys are reached only through ca.c (ca_open) and, for a token key
 * without a certificate yet (`ca csr --key pkcs11:`), p11.c's signer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "cli.h"
#include "config.h"
#include "crl.h"
#include "csr.h"
#include "err.h"
#include "ledger.h"
#include "signer.h"
#include "util.h"
#include "x509.h"

/* A CSR or certificate file: a few KiB; 1 MiB is the wrong file. */
#define HIER_PEM_MAX ((size_t)1024 * 1024)
/* AWS IoT RegisterCACertificate: "You can register up to 10 CA
 * certificates with the same CA subject field per AWS account." */
#define AWS_CA_SAME_SUBJECT_MAX 10
/* --previous given at most this often (argv bounds it anyway). */
#define HIER_PREVIOUS_MAX 64

#define CSR_KEY_DEFAULT "issuing-ca.key"
#define CSR_OUT_DEFAULT "issuing-ca.csr"
#define SIGN_OUT_DEFAULT "issuing-ca.pem"

/* ---- ca csr ----------------------------------------------------------- */

static void csr_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: thingca ca csr --subject DN [--key-type TYPE] "
	    "[--out-key FILE] [--out-csr FILE] [--force]\n"
	    "       thingca [-c FILE] ca csr --subject DN --key pkcs11:URI "
	    "[--pkcs11-module M]\n"
	    "                [--pin-file F] [--out-csr FILE] [--force]\n"
	    "\n"
	    "Makes an issuing CA's key and its CSR, for `thingca ca sign` "
	    "where the root key lives.\n"
	    "\n"
	    "  --subject DN     the issuing CA's name, e.g. \"/C=JP/O=MyOrg/"
	    "CN=MyOrg line 1 CA 2027\"\n"
	    "                   (one of its own: AWS IoT registers at most "
	    "10 CAs with one subject)\n"
	    "  --key-type TYPE  ec:P-256 (default), ec:P-384, rsa:2048, "
	    "rsa:3072, rsa:4096\n"
	    "  --key URI        an RFC 7512 pkcs11: URI of a key already in "
	    "a token; it stays there\n"
	    "  --pkcs11-module M  the token's PKCS#11 module (default: "
	    "ca.pkcs11_module of -c FILE)\n"
	    "  --pin-file F     file (mode 0600) with the token PIN "
	    "(default: ca.key_pin_file)\n"
	    "  --out-key FILE   private key, mode 0600 (default %s)\n"
	    "  --out-csr FILE   CSR (default %s)\n"
	    "  --force          overwrite existing files\n",
	    CSR_KEY_DEFAULT, CSR_OUT_DEFAULT);
}

/* Opens the token key uri with the module and PIN of the options, else of
 * -c FILE's "ca". CLI_OK with *sig filled (the caller closes it). */
static int open_token(const struct cli *g, const char *cmd, const char *uri,
		      const char *module, const char *pin_file,
		      struct signer *sig, char **module_out)
{
	struct config *cfg = NULL;
	struct ca_cfg cc;
	struct errd e = {0, {0}};
	int status = CLI_FAIL;

	memset(&cc, 0, sizeof(cc));
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
	if (p11_signer_open(&cc, sig, &e) < 0) {
		fprintf(stderr, "thingca %s: %s\n", cmd, e.msg);
		goto out;
	}
	*module_out = cc.pkcs11_module ? strdup(cc.pkcs11_module) : NULL;
	status = CLI_OK;
out:
	config_free(cfg);
	return status;
}

int cmd_ca_csr(const struct cli *g, int argc, char **argv)
{
	enum {
		O_KEY_TYPE = 256,
		O_KEY,
		O_SUBJECT,
		O_OUT_CSR,
		O_OUT_KEY,
		O_FORCE,
		O_PKCS11_MODULE,
		O_PIN_FILE
	};
	static const struct option opts[] = {
	    {"key-type", required_argument, NULL, O_KEY_TYPE},
	    {"key", required_argument, NULL, O_KEY},
	    {"subject", required_argument, NULL, O_SUBJECT},
	    {"out-csr", required_argument, NULL, O_OUT_CSR},
	    {"out-key", required_argument, NULL, O_OUT_KEY},
	    {"force", no_argument, NULL, O_FORCE},
	    {"pkcs11-module", required_argument, NULL, O_PKCS11_MODULE},
	    {"pin-file", required_argument, NULL, O_PIN_FILE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_type = NULL, *uri = NULL, *module = NULL;
	const char *pin_file = NULL, *subject = NULL, *out_key = NULL;
	const char *out_csr = CSR_OUT_DEFAULT;
	struct signer sig;
	struct errd e = {0, {0}};
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *k = NULL, *use;
	char *used_module = NULL;
	unsigned type = KEY_EC_P256;
	int c, force = 0, status = CLI_USAGE;

	memset(&sig, 0, sizeof(sig));
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_KEY_TYPE:
			key_type = optarg;
			break;
		case O_KEY:
			uri = optarg;
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_OUT_CSR:
			out_csr = optarg;
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
			csr_usage(stdout);
			status = CLI_OK;
			goto out;
		default:
			csr_usage(stderr);
			goto out;
		}
	}
	if (optind < argc || !subject) {
		fprintf(stderr, "thingca ca csr: %s\n",
			optind < argc ? "unexpected argument"
				      : "--subject is required (the issuing "
					"CA's own name)");
		csr_usage(stderr);
		goto out;
	}
	if (uri && (strncmp(uri, "pkcs11:", 7) != 0 || key_type || out_key)) {
		fprintf(stderr,
			"thingca ca csr: --key takes a pkcs11: URI of a key in "
			"a token, without --key-type or --out-key (the key "
			"stays in the token)\n");
		goto out;
	}
	if (!uri && (module || pin_file)) {
		fprintf(stderr, "thingca ca csr: --pkcs11-module and "
				"--pin-file go with --key pkcs11:URI\n");
		goto out;
	}
	if (key_type && cli_key_type("ca csr", key_type, &type) != CLI_OK)
		goto out;
	if (x509_name_parse(subject, &name, &e) < 0) {
		fprintf(stderr, "thingca ca csr: --subject: %s\n", e.msg);
		goto out;
	}
	if (!uri && !out_key)
		out_key = CSR_KEY_DEFAULT;
	status = cli_no_clobber("ca csr", out_key, out_csr, force, "");
	if (status != CLI_OK)
		goto out;
	status = CLI_FAIL;
	if (uri) {
		if (open_token(g, "ca csr", uri, module, pin_file, &sig,
			       &used_module) != CLI_OK)
			goto out;
		type = key_type_of(sig.key);
		if (!type) {
			fprintf(stderr,
				"thingca ca csr: the key at %s is not one AWS "
				"IoT registers as a CA (RSA 2048/3072/4096, "
				"EC P-256/P-384)\n",
				uri);
			goto out;
		}
		use = sig.key;
	} else {
		k = key_generate(type);
		if (!k) {
			fprintf(stderr, "thingca ca csr: key generation "
					"failed\n");
			goto out;
		}
		use = k;
	}
	if (x509_make_ca_csr(use, name, &req, &e) < 0 ||
	    (k && x509_write_key(out_key, k, force, &e) < 0) ||
	    x509_write_csr(out_csr, req, force, &e) < 0) {
		fprintf(stderr, "thingca ca csr: %s\n", e.msg);
		goto out;
	}
	if (k)
		printf("wrote %s (%s private key, PKCS#8, mode 0600)\n",
		       out_key, key_type_name(type));
	else
		printf("key stays in the token: %s (%s)\n", uri,
		       key_type_name(type));
	printf("wrote %s (CSR of %s, asking for CA:TRUE pathLen 0)\n"
	       "next, where the root key lives:\n"
	       "  thingca ca sign --root-cert root.pem --root-key root.key "
	       "--csr %s --out-cert issuing-ca.pem\n",
	       out_csr, subject, out_csr);
	if (k)
		printf("then thingcad: \"ca\": {\"certificate\": "
		       "\"issuing-ca.pem\", \"key\": \"%s\", \"chain\": "
		       "\"root.pem\"}\n",
		       out_key);
	else
		printf(
		    "then thingcad: \"ca\": {\"certificate\": "
		    "\"issuing-ca.pem\", \"key\": \"%s\", \"pkcs11_module\": "
		    "\"%s\", \"chain\": \"root.pem\"}\n",
		    uri, used_module ? used_module : "");
	status = CLI_OK;
out:
	if (sig.close)
		sig.close(&sig);
	else
		EVP_PKEY_free(sig.key);
	free(used_module);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	X509_NAME_free(name);
	return status;
}

/* ---- ca sign ---------------------------------------------------------- */

static void sign_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: thingca [-c FILE] ca sign --root-cert FILE --root-key "
	    "FILE|pkcs11:URI --csr FILE\n"
	    "                [--subject DN] [--days N] [--out-cert FILE] "
	    "[--previous FILE]... [--force]\n"
	    "                [--pkcs11-module M] [--pin-file F]\n"
	    "\n"
	    "Run where the root key lives: turns an issuing CA's CSR (thingca "
	    "ca csr) into its\n"
	    "certificate: CA:TRUE pathLen 0, keyUsage keyCertSign cRLSign, "
	    "SKI, "
	    "AKI = the root's\n"
	    "SKI, inside the root's validity. Nothing of the CSR but its key "
	    "and subject is used.\n"
	    "\n"
	    "  --root-cert FILE  the root (thingca ca init)\n"
	    "  --root-key K      its key: a file (mode 0600) or a pkcs11: URI\n"
	    "  --pkcs11-module M, --pin-file F  for a token root key (default: "
	    "ca.* of -c FILE)\n"
	    "  --csr FILE        the issuing CA's CSR; it must ask for a CA "
	    "(basicConstraints CA:TRUE)\n"
	    "  --subject DN      the issuing CA's subject instead of the "
	    "CSR's\n"
	    "  --days N          validity in days (default: up to the root's "
	    "notAfter; never past it)\n"
	    "  --out-cert FILE   certificate to write (default %s)\n"
	    "  --previous FILE   issuing CA certificates registered already "
	    "(repeatable): warns when\n"
	    "                    the new one reuses a subject (AWS IoT takes "
	    "at most %d with one\n"
	    "                    subject per account) or a key\n"
	    "  --force           overwrite an existing --out-cert\n",
	    SIGN_OUT_DEFAULT, AWS_CA_SAME_SUBJECT_MAX);
}

/* The first CSR of a PEM file into *out. */
static int read_csr(const char *path, X509_REQ **out)
{
	struct errd e = {0, {0}};
	char *text = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int status = CLI_FAIL;

	*out = NULL;
	if (file_read(path, HIER_PEM_MAX, &text, &len, &e) < 0) {
		fprintf(stderr, "thingca ca sign: --csr: %s\n", e.msg);
		goto out;
	}
	b = BIO_new_mem_buf(text, (int)len);
	if (b)
		*out = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	if (!*out) {
		fprintf(stderr,
			"thingca ca sign: --csr %s: no PEM CSR (BEGIN "
			"CERTIFICATE REQUEST) found\n",
			path);
		goto out;
	}
	status = CLI_OK;
out:
	ERR_clear_error();
	BIO_free(b);
	free(text);
	return status;
}

/* Warns about what AWS IoT limits across registered CAs: the issuing CAs
 * of the --previous files that share x's subject (at most
 * AWS_CA_SAME_SUBJECT_MAX per account) or its key. CLI_FAIL when a file
 * does not read. */
static int lint_previous(X509 *x, const char *const *files, size_t n)
{
	struct errd e = {0, {0}};
	char *text = NULL;
	size_t len = 0, i;
	BIO *b = NULL;
	X509 *p = NULL;
	long same = 0, certs;
	int status = CLI_OK;

	for (i = 0; i < n; i++) {
		if (file_read(files[i], HIER_PEM_MAX, &text, &len, &e) < 0) {
			fprintf(stderr, "thingca ca sign: --previous: %s\n",
				e.msg);
			status = CLI_FAIL;
			goto out;
		}
		b = BIO_new_mem_buf(text, (int)len);
		certs = 0;
		while (b && (p = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
			certs++;
			if (X509_NAME_cmp(X509_get_subject_name(p),
					  X509_get_subject_name(x)) == 0)
				same++;
			if (EVP_PKEY_eq(X509_get0_pubkey(p),
					X509_get0_pubkey(x)) == 1)
				fprintf(stderr,
					"thingca ca sign: warning: the new "
					"issuing CA has the key of a "
					"certificate in %s: a rotation needs "
					"a new key (thingca ca csr)\n",
					files[i]);
			X509_free(p);
		}
		ERR_clear_error();
		BIO_free(b);
		b = NULL;
		free(text);
		text = NULL;
		if (certs == 0) {
			fprintf(stderr,
				"thingca ca sign: --previous %s: no PEM "
				"certificate found\n",
				files[i]);
			status = CLI_FAIL;
			goto out;
		}
	}
	if (same)
		fprintf(stderr,
			"thingca ca sign: warning: %ld issuing CA "
			"certificate%s given with --previous already ha%s "
			"this subject; AWS IoT registers at most %d CA "
			"certificates with the same subject per account%s. "
			"Give each issuing CA a subject of its own (e.g. a "
			"generation in its CN, --subject)\n",
			same, same == 1 ? "" : "s", same == 1 ? "s" : "ve",
			AWS_CA_SAME_SUBJECT_MAX,
			same + 1 > AWS_CA_SAME_SUBJECT_MAX
			    ? ": registering this one would be refused"
			    : "");
out:
	BIO_free(b);
	free(text);
	return status;
}

/* What ca sign made, and what to do with it. */
static void sign_report(X509 *x, struct ca *root, const char *out_cert,
			const char *root_cert, long days)
{
	char id[65], until[21], *subj, *iss;

	x509_certificate_id(x, id);
	x509_not_after_text(x, until);
	subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	iss = X509_NAME_oneline(X509_get_subject_name(ca_get0_cert(root)), NULL,
				0);
	printf("wrote %s (issuing CA %s, signed by %s, valid until %s%s)\n",
	       out_cert, subj ? subj : "?", iss ? iss : "?", until,
	       days ? "" : ", the root's end");
	printf("certificate id (SHA-256): %s\n", id);
	printf("next, on the line host: \"ca\": {\"certificate\": \"%s\", "
	       "\"key\": <the key of ca csr>, \"chain\": \"%s\"}\n"
	       "      in thingca.json (devices then get device, issuing CA, "
	       "root);\n"
	       "      AWS IoT registers this issuing CA, not the root:\n",
	       out_cert, root_cert);
	cli_print_registration(out_cert, id, NULL);
	OPENSSL_free(subj);
	OPENSSL_free(iss);
}

int cmd_ca_sign(const struct cli *g, int argc, char **argv)
{
	enum {
		O_ROOT_CERT = 256,
		O_ROOT_KEY,
		O_CSR,
		O_SUBJECT,
		O_DAYS,
		O_OUT_CERT,
		O_PREVIOUS,
		O_FORCE,
		O_PKCS11_MODULE,
		O_PIN_FILE
	};
	static const struct option opts[] = {
	    {"root-cert", required_argument, NULL, O_ROOT_CERT},
	    {"root-key", required_argument, NULL, O_ROOT_KEY},
	    {"csr", required_argument, NULL, O_CSR},
	    {"subject", required_argument, NULL, O_SUBJECT},
	    {"days", required_argument, NULL, O_DAYS},
	    {"out-cert", required_argument, NULL, O_OUT_CERT},
	    {"previous", required_argument, NULL, O_PREVIOUS},
	    {"force", no_argument, NULL, O_FORCE},
	    {"pkcs11-module", required_argument, NULL, O_PKCS11_MODULE},
	    {"pin-file", required_argument, NULL, O_PIN_FILE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *root_cert = NULL, *root_key = NULL, *csr_path = NULL;
	const char *subject = NULL, *out_cert = SIGN_OUT_DEFAULT;
	const char *module = NULL, *pin_file = NULL;
	const char *previous[HIER_PREVIOUS_MAX];
	struct config *cfg = NULL;
	struct ca_cfg cc;
	struct ca *root = NULL;
	struct errd e = {0, {0}};
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	X509 *x = NULL;
	size_t n_prev = 0;
	long days = 0;
	int c, force = 0, status = CLI_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_ROOT_CERT:
			root_cert = optarg;
			break;
		case O_ROOT_KEY:
			root_key = optarg;
			break;
		case O_CSR:
			csr_path = optarg;
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_DAYS:
			if (cli_days("ca sign", optarg, CA_ISSUING_DAYS_MAX,
				     &days) != CLI_OK)
				goto out;
			break;
		case O_OUT_CERT:
			out_cert = optarg;
			break;
		case O_PREVIOUS:
			if (n_prev == HIER_PREVIOUS_MAX) {
				fprintf(stderr,
					"thingca ca sign: at most %d "
					"--previous files (a file may hold "
					"several certificates)\n",
					HIER_PREVIOUS_MAX);
				goto out;
			}
			previous[n_prev++] = optarg;
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
			sign_usage(stdout);
			status = CLI_OK;
			goto out;
		default:
			sign_usage(stderr);
			goto out;
		}
	}
	if (optind < argc || !root_cert || !root_key || !csr_path) {
		fprintf(stderr, "thingca ca sign: %s\n",
			optind < argc ? "unexpected argument"
				      : "--root-cert, --root-key and --csr "
					"are required");
		sign_usage(stderr);
		goto out;
	}
	if (subject && x509_name_parse(subject, &name, &e) < 0) {
		fprintf(stderr, "thingca ca sign: --subject: %s\n", e.msg);
		goto out;
	}
	status = cli_no_clobber("ca sign", NULL, out_cert, force, "");
	if (status != CLI_OK)
		goto out;
	status = read_csr(csr_path, &req);
	if (status != CLI_OK)
		goto out;
	status = CLI_FAIL;
	memset(&cc, 0, sizeof(cc));
	if (g->config_given) {
		cfg = cli_load_config(g);
		if (!cfg)
			goto out;
		cc.pkcs11_module = cfg->ca.pkcs11_module;
		cc.key_pin_file = cfg->ca.key_pin_file;
	}
	cc.certificate = (char *)root_cert;
	cc.key = (char *)root_key;
	if (module)
		cc.pkcs11_module = (char *)module;
	if (pin_file)
		cc.key_pin_file = (char *)pin_file;
	/* The root as thingcad would check a CA: the key matches the
	 * certificate, which is a CA, valid now, and the key signs. */
	if (ca_open(&cc, &root, &e) < 0) {
		fprintf(stderr,
			"thingca ca sign: root (--root-cert/--root-key): "
			"%s\n",
			e.msg);
		goto out;
	}
	if (ca_sign_issuing(root, req, name, days, &x, &e) < 0) {
		fprintf(stderr, "thingca ca sign: %s: %s\n", csr_path, e.msg);
		goto out;
	}
	if (lint_previous(x, previous, n_prev) != CLI_OK)
		goto out;
	if (x509_write_cert(out_cert, x, NULL, force, &e) < 0) {
		fprintf(stderr, "thingca ca sign: %s\n", e.msg);
		goto out;
	}
	sign_report(x, root, out_cert, root_cert, days);
	status = CLI_OK;
out:
	X509_free(x);
	X509_REQ_free(req);
	X509_NAME_free(name);
	ca_free(root);
	config_free(cfg);
	return status;
}

/* ---- ca crl ----------------------------------------------------------- */

static void crl_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: thingca [-c FILE] ca crl --ca-cert FILE --ca-key "
	    "FILE|pkcs11:URI [--ledger DB]\n"
	    "                [--der] [--out FILE] [--pkcs11-module M] "
	    "[--pin-file F]\n"
	    "\n"
	    "Signs a CRL with the given CA from the ledger's revocations "
	    "(read-only, safe while\n"
	    "thingcad runs), e.g. the previous issuing CA's after a "
	    "rotation: thingcad's\n"
	    "GET /v1/crl serves only the current CA's. Every revoked serial "
	    "of the ledger is\n"
	    "listed (serials are random, 126 bits: no two CAs share one).\n"
	    "\n"
	    "  --ca-cert FILE   the CA whose CRL it is\n"
	    "  --ca-key K       its key: a file (mode 0600) or a pkcs11: "
	    "URI\n"
	    "  --ledger DB      the ledger (default: \"ledger\" of -c FILE)\n"
	    "  --der            DER instead of PEM\n"
	    "  --out FILE       write there (mode 0644, replaced) instead of "
	    "stdout\n");
}

int cmd_ca_crl(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ca-cert", required_argument, NULL, 'c'},
	    {"ca-key", required_argument, NULL, 'k'},
	    {"ledger", required_argument, NULL, 'l'},
	    {"der", no_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},
	    {"pkcs11-module", required_argument, NULL, 'M'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *ca_cert = NULL, *ca_key = NULL, *ledger_opt = NULL;
	const char *out_path = NULL, *module = NULL, *pin_file = NULL;
	const char *path;
	struct config *cfg = NULL;
	struct crl_cache *cache = NULL;
	struct ledger *l = NULL;
	struct ca *ca = NULL;
	struct ca_cfg cc;
	struct errd e = {0, {0}};
	unsigned char *crl = NULL;
	size_t len = 0;
	long hours = 168;
	int c, der = 0, status = CLI_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca_cert = optarg;
			break;
		case 'k':
			ca_key = optarg;
			break;
		case 'l':
			ledger_opt = optarg;
			break;
		case 'd':
			der = 1;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'M':
			module = optarg;
			break;
		case 'P':
			pin_file = optarg;
			break;
		case 'h':
			crl_usage(stdout);
			status = CLI_OK;
			goto out;
		default:
			crl_usage(stderr);
			goto out;
		}
	}
	if (optind < argc || !ca_cert || !ca_key) {
		fprintf(stderr, "thingca ca crl: --ca-cert and --ca-key are "
				"required\n");
		crl_usage(stderr);
		goto out;
	}
	status = CLI_FAIL;
	path = cli_ledger_path(g, ledger_opt, &cfg);
	if (!path)
		goto out;
	memset(&cc, 0, sizeof(cc));
	if (cfg) {
		cc.pkcs11_module = cfg->ca.pkcs11_module;
		cc.key_pin_file = cfg->ca.key_pin_file;
		hours = cfg->crl.next_update_hours;
	}
	cc.certificate = (char *)ca_cert;
	cc.key = (char *)ca_key;
	if (module)
		cc.pkcs11_module = (char *)module;
	if (pin_file)
		cc.key_pin_file = (char *)pin_file;
	if (ca_open(&cc, &ca, &e) < 0) {
		fprintf(stderr, "thingca ca crl: CA: %s\n", e.msg);
		goto out;
	}
	if (ledger_open(path, LEDGER_RDONLY, &l, &e) < 0) {
		fprintf(stderr, "thingca ca crl: %s\n", e.msg);
		goto out;
	}
	cache = crl_cache_new(hours);
	if (!cache) {
		fprintf(stderr, "thingca ca crl: out of memory\n");
		goto out;
	}
	if (crl_get(cache, ca, l, !der, &crl, &len, &e) < 0) {
		fprintf(stderr, "thingca ca crl: %s\n", e.msg);
		goto out;
	}
	if (out_path) {
		if (file_write(out_path, crl, len, 0644, 0, &e) < 0) {
			fprintf(stderr, "thingca ca crl: %s\n", e.msg);
			goto out;
		}
	} else if (fwrite(crl, 1, len, stdout) != len || fflush(stdout)) {
		fprintf(stderr, "thingca ca crl: cannot write the CRL\n");
		goto out;
	}
	status = CLI_OK;
out:
	free(crl);
	crl_cache_free(cache);
	ledger_close(l);
	ca_free(ca);
	config_free(cfg);
	return status;
}
