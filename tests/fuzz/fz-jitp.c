/*
 * fz-jitp — the JITP template reader: jitp_simulate on any text (a
 * registration config or a bare template body) against one device
 * certificate of the default profile, made once at set-up with the OpenSSL
 * API (subject C, ST, L, O, OU, dnQualifier, serialNumber, CN; self-signed
 * P-256). jitp_simulate takes a C string: the input is copied and
 * NUL-terminated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "jitp.h"

static X509 *jp_cert;

int fz_jitp_init(void)
{
	static const char *const rdn[][2] = {
		{"C", "JP"},	   {"ST", "Tokyo"},	  {"L", "Chiyoda"},
		{"O", "MyOrg"},	   {"OU", "device"},	  {"dnQualifier", "line1"},
		{"serialNumber", "SN1"}, {"CN", "SN1"},
	};
	EVP_PKEY *k = NULL;
	X509_NAME *n = NULL;
	X509 *x = NULL;
	size_t i;
	int rc = -1;

	if (jp_cert)
		return 0;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	n = X509_NAME_new();
	x = X509_new();
	if (!k || !n || !x)
		goto out;
	for (i = 0; i < sizeof(rdn) / sizeof(rdn[0]); i++)
		if (!X509_NAME_add_entry_by_txt(n, rdn[i][0], MBSTRING_UTF8,
						(const unsigned char *)rdn[i][1],
						-1, -1, 0))
			goto out;
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 42) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, k) || !X509_sign(x, k, EVP_sha256()))
		goto out;
	jp_cert = x;
	x = NULL;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "fz-jitp: cannot make the test certificate\n");
	X509_free(x);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	return rc;
}

void fz_jitp_done(void)
{
	X509_free(jp_cert);
	jp_cert = NULL;
}

int fz_jitp_one(const uint8_t *data, size_t size)
{
	json_t *result = NULL, *reasons = NULL;
	struct errd e = {0};
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)jitp_simulate(text, jp_cert, &result, &reasons, &e);
	json_decref(result);
	json_decref(reasons);
	free(text);
	return 0;
}

FUZZ_ENTRY(jitp)
