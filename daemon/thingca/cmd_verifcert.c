/*
 * cmd_verifcert — `thingca ca verification-cert --code CODE`: the AWS IoT
 * private-key verification certificate. Registering a CA with AWS IoT
 * (register-ca-certificate) needs proof that you hold the CA key: a
 * certificate whose subject CN is the account's registration code (aws iot
 * get-registration-code), signed by that key. The CA key is reached only
 * through ca.c (ca_open / ca_sign_cert), so a key file and a PKCS#11 token
 * work alike. The verification certificate gets its own fresh EC P-256 key,
 * written 0600; neither is needed once the CA is registered.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "cli.h"
#include "util.h"
#include "x509.h"

/* RFC 5280 ub-common-name: a CN holds at most 64 characters (AWS's codes
 * are 64 hex digits). */
#define VERIF_CODE_MAX 64
/* The certificate is used once, at registration: a month is plenty, ten
 * years the most we accept. */
#define VERIF_DAYS_DEFAULT 30
#define VERIF_DAYS_MAX 3650
/* Tolerate a registering host whose clock is slightly behind ours. */
#define VERIF_BACKDATE_S 300
#define VERIF_CERT_DEFAULT "verification-cert.pem"
#define VERIF_KEY_DEFAULT "verification-cert.key"

static void usage_verif(FILE *f)
{
	fprintf(f,
		"usage: thingca [-c FILE] ca verification-cert --code CODE "
		"[--ca-cert F] [--ca-key F|URI]\n"
		"                [--pkcs11-module M] [--pin-file F] "
		"[--out-cert F] [--out-key F] [--days N]\n"
		"\n"
		"Makes the AWS IoT verification certificate: CN=CODE (from "
		"`aws iot get-registration-code`),\n"
		"signed by the CA key (default: ca.certificate / ca.key of the "
		"configuration).\n"
		"--ca-key may be a pkcs11: URI (RFC 7512): the token signs, "
		"with the module and PIN file\n"
		"of --pkcs11-module / --pin-file or ca.pkcs11_module / "
		"ca.key_pin_file.\n"
		"Writes %s and %s (0600) unless told otherwise.\n",
		VERIF_CERT_DEFAULT, VERIF_KEY_DEFAULT);
}

/* The code: non-empty, at most 64 printable ASCII characters. */
static int code_ok(const char *code)
{
	size_t n = strlen(code), i;

	if (n == 0 || n > VERIF_CODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)code[i] >= 0x80 ||
		    !isprint((unsigned char)code[i]))
			return 0;
	return 1;
}

/* Builds and signs the verification certificate for key. */
static int make_cert(struct ca *ca, EVP_PKEY *key, const char *code, long days,
		     X509 **out, struct errd *e)
{
	X509 *cacert = ca_get0_cert(ca), *x = NULL;
	X509_NAME *subj = NULL;
	time_t now = time(NULL), nb = now - VERIF_BACKDATE_S,
	       na = now + days * 86400, ca_na;
	int rc;

	*out = NULL;
	subj = X509_NAME_new();
	if (!subj) {
		rc = -ERR_NOMEM;
		goto out;
	}
	rc = x509_name_add(subj, "CN", code, e);
	if (rc)
		goto out;
	/* Never outlive the CA (RFC 5280 6.1.3 would fail the path). */
	if (x509_time_to_time_t(X509_get0_notAfter(cacert), &ca_na) == 0 &&
	    na > ca_na)
		na = ca_na;
	rc = x509_new_cert(subj, X509_get_subject_name(cacert), key, nb, na, &x,
			   e);
	if (!rc)
		rc = x509_add_ext(x, cacert, NID_basic_constraints,
				  "critical,CA:FALSE", e);
	if (!rc)
		rc = x509_add_ext(x, cacert, NID_key_usage,
				  "critical,digitalSignature", e);
	if (!rc)
		rc = x509_add_ext(x, cacert, NID_subject_key_identifier, "hash",
				  e);
	if (!rc)
		rc = x509_add_ext(x, cacert, NID_authority_key_identifier,
				  "keyid:always", e);
	if (!rc)
		rc = ca_sign_cert(ca, x, e);
	if (rc)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_NAME_free(subj);
	X509_free(x);
	return rc;
}

void cli_print_registration(const char *ca_path, const char *id,
			    const char *verif_path)
{
	printf(
	    "register the CA with AWS IoT (its certificate ID will be %s), "
	    "either\n"
	    "1. in SNI_ONLY mode (AWS's recommendation: no verification "
	    "certificate, and\n"
	    "   other accounts may register the same CA):\n"
	    "  aws iot register-ca-certificate --ca-certificate file://%s "
	    "--certificate-mode SNI_ONLY --set-as-active "
	    "--allow-auto-registration "
	    "--registration-config file://registration-config.json\n"
	    "   then every device must send SNI (the TLS server_name) "
	    "naming the account's full\n"
	    "   ATS endpoint, <prefix>-ats.iot.<region>.amazonaws.com (aws "
	    "iot describe-endpoint\n"
	    "   --endpoint-type iot:Data-ATS), never an IP address: AWS finds "
	    "the account, and the CA, by it;\n"
	    "2. or in DEFAULT mode (one account per region; proves you hold "
	    "the CA key):\n"
	    "  aws iot register-ca-certificate --ca-certificate file://%s "
	    "--certificate-mode DEFAULT --verification-certificate file://%s "
	    "--set-as-active --allow-auto-registration "
	    "--registration-config file://registration-config.json\n",
	    id, ca_path, ca_path, verif_path ? verif_path : VERIF_CERT_DEFAULT);
	if (!verif_path)
		printf(
		    "   (%s: thingca ca verification-cert --code \"$(aws iot "
		    "get-registration-code --query registrationCode "
		    "--output text)\")\n",
		    VERIF_CERT_DEFAULT);
	printf("registered already without a template? attach one:\n"
	       "  aws iot update-ca-certificate --certificate-id %s "
	       "--new-status ACTIVE --new-auto-registration-status ENABLE "
	       "--registration-config file://registration-config.json\n"
	       "(registration-config.json: thingca jitp template --role-arn "
	       "ARN --out registration-config.json)\n",
	       id);
}

int cmd_ca_verification_cert(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"code", required_argument, NULL, 'C'},
	    {"ca-cert", required_argument, NULL, 'c'},
	    {"ca-key", required_argument, NULL, 'k'},
	    {"out-cert", required_argument, NULL, 'o'},
	    {"out-key", required_argument, NULL, 'K'},
	    {"days", required_argument, NULL, 'd'},
	    {"pkcs11-module", required_argument, NULL, 'M'},
	    {"pin-file", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *code = NULL, *out_cert = VERIF_CERT_DEFAULT,
		   *out_key = VERIF_KEY_DEFAULT, *opt_cert = NULL,
		   *opt_key = NULL, *opt_module = NULL, *opt_pin = NULL;
	struct config *cfg = NULL;
	struct ca_cfg cc;
	struct ca *ca = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	struct errd e = {0};
	long days = VERIF_DAYS_DEFAULT;
	char id[65];
	int c, rc = CLI_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			code = optarg;
			break;
		case 'c':
			opt_cert = optarg;
			break;
		case 'k':
			opt_key = optarg;
			break;
		case 'M':
			opt_module = optarg;
			break;
		case 'P':
			opt_pin = optarg;
			break;
		case 'o':
			out_cert = optarg;
			break;
		case 'K':
			out_key = optarg;
			break;
		case 'd':
			if (cli_days("ca verification-cert", optarg,
				     VERIF_DAYS_MAX, &days) != CLI_OK)
				goto out;
			break;
		case 'h':
			usage_verif(stdout);
			rc = CLI_OK;
			goto out;
		default:
			usage_verif(stderr);
			goto out;
		}
	}
	if (optind != argc || !code) {
		fprintf(stderr, "thingca: ca verification-cert needs --code "
				"(run `aws iot get-registration-code`)\n");
		usage_verif(stderr);
		goto out;
	}
	if (!code_ok(code)) {
		fprintf(stderr,
			"thingca: --code: expected 1..%d printable "
			"ASCII characters, as `aws iot "
			"get-registration-code` prints\n",
			VERIF_CODE_MAX);
		goto out;
	}
	rc = CLI_FAIL;
	/* The CA paths; --ca-cert/--ca-key matter without a file. */
	cfg = cli_config_or_defaults(g, 0);
	if (!cfg)
		goto out;
	cc = cfg->ca;
	if (opt_cert)
		cc.certificate = (char *)opt_cert;
	if (opt_key)
		cc.key = (char *)opt_key;
	if (opt_module)
		cc.pkcs11_module = (char *)opt_module;
	if (opt_pin)
		cc.key_pin_file = (char *)opt_pin;
	if (ca_open(&cc, &ca, &e)) {
		fprintf(stderr, "thingca: CA: %s\n", e.msg);
		goto out;
	}
	key = key_generate(KEY_EC_P256);
	if (!key) {
		fprintf(stderr, "thingca: cannot generate an EC P-256 key\n");
		goto out;
	}
	if (make_cert(ca, key, code, days, &x, &e)) {
		fprintf(stderr, "thingca: verification certificate: %s\n",
			e.msg);
		goto out;
	}
	/* Never over an existing key: a mistyped --out-key must not destroy
	 * the CA key. */
	if (x509_write_key(out_key, key, 0, &e)) {
		fprintf(stderr,
			"thingca: %s (remove the old verification "
			"key or give --out-key)\n",
			e.msg);
		goto out;
	}
	if (x509_write_cert(out_cert, x, NULL, 1, &e)) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		goto out;
	}
	if (x509_certificate_id(ca_get0_cert(ca), id))
		snprintf(id, sizeof(id), "<CA certificate ID>");
	printf("wrote %s (key %s)\n", out_cert, out_key);
	cli_print_registration(cc.certificate ? cc.certificate : "ca.pem", id,
			       out_cert);
	rc = CLI_OK;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	ca_free(ca);
	config_free(cfg);
	return rc;
}
