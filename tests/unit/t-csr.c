/*
 * t-csr — CSR parsing, proof of possession and key policy over the fixtures
 * in tests/data/csr (see its README), hostile ones included. Every refusal
 * is checked for its exact error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "csr.h"
#include "err.h"
#include "tap.h"
#include "util.h"

static char *slurp(const char *name, size_t *len)
{
	const char *src = getenv("THINGCA_SRC");
	char path[1024], *buf = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/csr/%s", src ? src : ".",
		 name);
	f = fopen(path, "rb");
	if (!f) {
		diag("cannot open %s", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

/* Parses fixture name as PEM; returns the code, keeps the csr in *out. */
static int parse_file(const char *name, struct csr **out, struct errd *e)
{
	size_t len = 0;
	char *pem = slurp(name, &len);
	int rc;

	if (!pem)
		return 1000;
	rc = csr_parse_pem(pem, len, out, e);
	free(pem);
	return rc;
}

/* The subject and SubjectPublicKeyInfo the parser lends: the fixture's
 * CN, and the algorithm and key bits OpenSSL encodes for the same key. */
static void subject_and_spki(const struct csr *c, const char *name)
{
	struct spki_ref key = {0};
	const unsigned char *want_key = NULL, *p;
	unsigned char *der = NULL;
	X509_PUBKEY *want = NULL;
	char cn[128] = "", expect[128];
	int len, want_len = 0;

	X509_NAME_get_text_by_NID(csr_get0_subject(c), NID_commonName, cn,
				  sizeof(cn));
	/* leading-text.csr is p256.csr with text before its boundary. */
	snprintf(expect, sizeof(expect), "fixture-%.*s",
		 (int)(strchr(name, '.') - name),
		 strcmp(name, "leading-text.csr") ? name : "p256");
	is_str(cn, expect, "%s subject CN lent", name);
	csr_get0_key(c, &key);
	len = i2d_PUBKEY(csr_get0_pubkey(c), &der);
	p = der;
	if (len > 0)
		want = d2i_X509_PUBKEY(NULL, &p, len);
	if (want)
		X509_PUBKEY_get0_param(NULL, &want_key, &want_len, NULL, want);
	/* The fixtures are DER as OpenSSL writes it: the copy is exact. */
	ok(len > 0 && key.der_len == (size_t)len &&
	       memcmp(key.der, der, (size_t)len) == 0,
	   "%s SubjectPublicKeyInfo lent as received", name);
	ok(want_key && key.bits_len == (size_t)want_len &&
	       memcmp(key.bits, want_key, (size_t)want_len) == 0,
	   "%s key bits lent", name);
	is_int(key.rsa, EVP_PKEY_is_a(csr_get0_pubkey(c), "RSA"), "%s RSA flag",
	       name);
	X509_PUBKEY_free(want);
	OPENSSL_free(der);
}

static void good(const char *name, unsigned type)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	char hex[65];
	int rc;

	rc = parse_file(name, &c, &e);
	is_int(rc, 0, "%s parses (%s)", name, e.msg);
	if (!c)
		return;
	is_int(csr_key_type(c), type, "%s key type", name);
	is_int(csr_check_key(c, KEY_ALL, &e), 0, "%s key allowed", name);
	is_int(strlen(csr_spki_sha256(c)), 64, "%s SPKI hash is 64 hex", name);
	pkey_spki_sha256(csr_get0_pubkey(c), hex);
	is_str(csr_spki_sha256(c), hex, "%s SPKI hash = pkey_spki_sha256",
	       name);
	subject_and_spki(c, name);
	csr_free(c);
}

static void refused_key(const char *name, const char *word)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	int rc;

	rc = parse_file(name, &c, &e);
	is_int(rc, 0, "%s parses and its signature verifies (%s)", name, e.msg);
	if (!c)
		return;
	is_int(csr_key_type(c), 0, "%s key type unknown", name);
	rc = csr_check_key(c, KEY_ALL, &e);
	is_int(rc, -ERR_KEY_TYPE_NOT_ALLOWED, "%s refused", name);
	is_int(err_http_status(rc), 422, "%s is a 422", name);
	if (!ok(strstr(e.msg, word) != NULL, "%s message names %s", name, word))
		diag("got '%s'", e.msg);
	csr_free(c);
}

static void malformed(const char *name, int want)
{
	struct errd e = {0, {0}};
	struct csr *c = (struct csr *)&e; /* must be reset to NULL */
	int rc;

	rc = parse_file(name, &c, &e);
	is_int(rc, want, "%s refused with %s (%s)", name, err_str(want), e.msg);
	ok(c == NULL, "%s: no csr on failure", name);
	if (rc == 0)
		csr_free(c);
}

static void spki_matches_openssl(const char *name, const char *hashfile)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	size_t len = 0;
	char *want = slurp(hashfile, &len);

	if (want && len >= 64)
		want[64] = '\0';
	parse_file(name, &c, &e);
	is_str(c ? csr_spki_sha256(c) : NULL, want,
	       "%s SPKI SHA-256 matches openssl pkey -pubin -outform DER | "
	       "sha256sum",
	       name);
	csr_free(c);
	free(want);
}

static void der_tests(void)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL, *p = NULL;
	size_t len = 0;
	unsigned char *der = (unsigned char *)slurp("p256.der", &len);
	int rc;

	rc = csr_parse_der(der, len, &c, &e);
	is_int(rc, 0, "DER parses (%s)", e.msg);
	parse_file("p256.csr", &p, &e);
	if (c && p)
		is_str(csr_spki_sha256(c), csr_spki_sha256(p),
		       "DER and PEM give the same SPKI hash");
	csr_free(c);
	csr_free(p);
	c = NULL;

	rc = csr_parse_der(der, len - 1, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "truncated DER refused");
	rc = csr_parse_der(der, 0, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "empty DER refused");
	rc = csr_parse_der(der, CSR_MAX_DER + 1, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "DER over CSR_MAX_DER refused");
	free(der);

	der = (unsigned char *)slurp("p256-trailing.der", &len);
	rc = csr_parse_der(der, len, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "DER with a trailing byte refused");
	ok(strstr(e.msg, "after") != NULL, "message says bytes after: %s",
	   e.msg);
	free(der);
}

static void pem_shapes(void)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	size_t len = 0, big;
	char *pem = slurp("p256.csr", &len), *buf, *p;
	int rc;

	/* The pre-RFC 7468 label "NEW CERTIFICATE REQUEST". */
	buf = malloc(len + 64);
	p = strstr(pem, "-----END");
	snprintf(buf, len + 64,
		 "-----BEGIN NEW CERTIFICATE REQUEST-----%.*s-----END NEW "
		 "CERTIFICATE REQUEST-----\n",
		 (int)(p - (pem + 35)), pem + 35);
	rc = csr_parse_pem(buf, strlen(buf), &c, &e);
	is_int(rc, 0, "NEW CERTIFICATE REQUEST label accepted (%s)", e.msg);
	csr_free(c);
	c = NULL;
	free(buf);

	/* A NUL after the END line is not whitespace. */
	buf = malloc(len + 2);
	memcpy(buf, pem, len);
	buf[len] = '\0';
	buf[len + 1] = 'A';
	rc = csr_parse_pem(buf, len + 2, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "NUL and text after END refused");
	free(buf);

	/* Length given is shorter than the text: the END line is cut. */
	rc = csr_parse_pem(pem, len - 30, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "PEM cut by length refused");

	/* Over the size cap, even if it were all whitespace after. */
	big = 2 * CSR_MAX_DER + 1;
	buf = malloc(big);
	memset(buf, ' ', big);
	memcpy(buf, pem, len);
	rc = csr_parse_pem(buf, big, &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "PEM over the size cap refused");
	free(buf);

	/* PEM with headers (RFC 1421 encrypted style). */
	buf = malloc(len + 64);
	snprintf(buf, len + 64,
		 "-----BEGIN CERTIFICATE REQUEST-----\nComment: hello\n\n%s",
		 pem + 36);
	rc = csr_parse_pem(buf, strlen(buf), &c, &e);
	is_int(rc, -ERR_MALFORMED_CSR, "PEM with headers refused");
	free(buf);
	free(pem);
}

static void policy_subset(void)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	int rc;

	parse_file("p384.csr", &c, &e);
	if (!c) {
		ok(0, "p384 parses");
		return;
	}
	rc = csr_check_key(c, KEY_EC_P256 | KEY_RSA_2048, &e);
	is_int(rc, -ERR_KEY_TYPE_NOT_ALLOWED,
	       "P-384 refused when key_types lacks it");
	ok(strstr(e.msg, "ec:P-384") && strstr(e.msg, "ec:P-256") &&
	       strstr(e.msg, "rsa:2048") && !strstr(e.msg, "rsa:4096"),
	   "message names the type and the allowed list: %s", e.msg);
	is_int(csr_check_key(c, KEY_EC_P384, &e), 0, "P-384 allowed alone");
	csr_free(c);
}

int main(void)
{
	good("p256.csr", KEY_EC_P256);
	good("p384.csr", KEY_EC_P384);
	good("rsa2048.csr", KEY_RSA_2048);
	good("rsa3072.csr", KEY_RSA_3072);
	good("rsa4096.csr", KEY_RSA_4096);
	good("leading-text.csr", KEY_EC_P256);
	spki_matches_openssl("p256.csr", "p256.spki-sha256");
	spki_matches_openssl("rsa2048.csr", "rsa2048.spki-sha256");

	refused_key("rsa1024.csr", "RSA 1024");
	refused_key("dsa.csr", "DSA");
	refused_key("ed25519.csr", "ED25519");
	refused_key("secp256k1.csr", "secp256k1");
	refused_key("brainpool.csr", "brainpoolP256r1");

	malformed("badsig.csr", -ERR_CSR_SIGNATURE_INVALID);
	malformed("truncated.csr", -ERR_MALFORMED_CSR);
	malformed("garbage.csr", -ERR_MALFORMED_CSR);
	malformed("two.csr", -ERR_MALFORMED_CSR);
	malformed("trailing.csr", -ERR_MALFORMED_CSR);
	malformed("empty.csr", -ERR_MALFORMED_CSR);
	malformed("privkey.pem", -ERR_MALFORMED_CSR);
	malformed("p256.der", -ERR_MALFORMED_CSR);

	der_tests();
	pem_shapes();
	policy_subset();

	csr_free(NULL);
	ok(1, "csr_free(NULL) is a no-op");
	return done_testing();
}
