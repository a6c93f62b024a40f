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
#include "key.h"
#include "spki.h"
#include "tap.h"
#include "util.h"

#include <openssl/pem.h>

/* Largest fixture file: the biggest CSR is a few kilobytes. */
#define FIXTURE_MAX ((size_t)1024 * 1024)

/* Fixture name of tests/data/csr, read with the library's file_read. */
static char *slurp(const char *name, size_t *len)
{
	const char *src = getenv("THINGCA_SRC");
	char path[1024], *buf = NULL;
	struct errd e = {0};

	snprintf(path, sizeof(path), "%s/tests/data/csr/%s", src ? src : ".",
		 name);
	if (file_read(path, FIXTURE_MAX, &buf, len, &e) < 0)
		diag("%s", e.msg);
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
	key_spki_sha256(csr_get0_pubkey(c), hex);
	is_str(csr_spki_sha256(c), hex, "%s SPKI hash = key_spki_sha256", name);
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

/* The SubjectPublicKeyInfo OpenSSL reads from fixture name, as received
 * (i2d of the parsed X509_PUBKEY), into *der; its length, or -1. */
static int openssl_spki(const char *name, unsigned char **der)
{
	size_t len = 0;
	char *pem = slurp(name, &len);
	BIO *b = pem ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	int n = r ? i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(r), der) : -1;

	X509_REQ_free(r);
	BIO_free(b);
	free(pem);
	return n;
}

/* One key, one SubjectPublicKeyInfo: variant (the key of canon encoded
 * another way a device may send) parses, and its hash, the SPKI the
 * certificate copies and the key bits are canon's, which is OpenSSL's
 * encoding of the key (genkeys.py checks canon against `openssl pkey
 * -pubout`). */
static void same_key(const char *canon, const char *variant)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL, *v = NULL;
	struct spki_ref kc = {0}, kv = {0};
	unsigned char *want = NULL;
	const unsigned char *wbits = NULL;
	size_t wbits_len = 0;
	char hex[65] = "";
	int wlen = openssl_spki(canon, &want);

	if (wlen > 0)
		sha256_hex(want, (size_t)wlen, hex);
	is_int(parse_file(canon, &c, &e), 0, "%s parses (%s)", canon, e.msg);
	is_int(parse_file(variant, &v, &e), 0, "%s parses (%s)", variant,
	       e.msg);
	if (!c || !v || wlen <= 0) {
		ok(0, "%s: fixtures", variant);
		goto out;
	}
	is_str(csr_spki_sha256(v), hex,
	       "%s: spki_sha256 is the canonical key's (as %s)", variant,
	       canon);
	is_str(csr_spki_sha256(c), hex, "%s: spki_sha256 of the SPKI as sent",
	       canon);
	csr_get0_key(c, &kc);
	csr_get0_key(v, &kv);
	ok(kv.der_len == (size_t)wlen && memcmp(kv.der, want, kv.der_len) == 0,
	   "%s: the certificate gets the canonical SubjectPublicKeyInfo",
	   variant);
	ok(kc.der_len == (size_t)wlen && memcmp(kc.der, want, kc.der_len) == 0,
	   "%s: the canonical SubjectPublicKeyInfo unchanged", canon);
	spki_get0_bits(want, (size_t)wlen, &wbits, &wbits_len);
	ok(wbits && kv.bits_len == wbits_len &&
	       memcmp(kv.bits, wbits, wbits_len) == 0,
	   "%s: key bits (for subjectKeyIdentifier) are the canonical ones",
	   variant);
	is_int(kv.rsa, kc.rsa, "%s: RSA flag", variant);
	is_int(csr_key_type(v), csr_key_type(c), "%s: key type", variant);
	is_int(EVP_PKEY_eq(csr_get0_pubkey(v), csr_get0_pubkey(c)), 1,
	       "%s: the same public key", variant);
	key_spki_sha256(csr_get0_pubkey(v), hex);
	is_str(hex, csr_spki_sha256(c),
	       "%s: key_spki_sha256 of its key is canonical too", variant);
out:
	OPENSSL_free(want);
	csr_free(c);
	csr_free(v);
}

/* A request refused at parse time with want, the message naming word. */
static void refused(const char *name, int want, const char *word)
{
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	int rc;

	rc = parse_file(name, &c, &e);
	is_int(rc, want, "%s refused with %s", name, err_str(want));
	if (!ok(strstr(e.msg, word) != NULL, "%s message names '%s'", name,
		word))
		diag("got '%s'", e.msg);
	ok(c == NULL, "%s: no csr on failure", name);
	if (rc == 0)
		csr_free(c);
}

static void encodings(void)
{
	same_key("enc-p256.csr", "enc-p256-compressed.csr");
	same_key("enc-p256.csr", "enc-p256-hybrid.csr");
	same_key("enc-rsa.csr", "enc-rsa-noparams.csr");
	refused("enc-p256-longlen.csr", -ERR_MALFORMED_CSR, "X.690");
	refused("enc-rsa-junkparams.csr", -ERR_MALFORMED_CSR,
		"parameters are not NULL (RFC 3279 2.3.1)");
	refused("enc-rsa-bigparams.csr", -ERR_MALFORMED_CSR,
		"parameters are not NULL (RFC 3279 2.3.1)");
	refused("enc-rsa-trailing.csr", -ERR_MALFORMED_CSR,
		"RSAPublicKey is not DER");
	refused("enc-rsa-longint.csr", -ERR_MALFORMED_CSR,
		"RSAPublicKey is not DER");
	refused("enc-rsa-padded.csr", -ERR_MALFORMED_CSR,
		"RSAPublicKey is not DER");
	refused("enc-rsa-longseq.csr", -ERR_MALFORMED_CSR,
		"RSAPublicKey is not DER");
}

static void weak_rsa(void)
{
	static const struct {
		const char *name, *word;
	} w[] = {
	    {"weak-rsa-e1.csr", "exponent 1 is below 65537"},
	    {"weak-rsa-e3.csr", "exponent 3 is below 65537"},
	    {"weak-rsa-e65535.csr", "exponent 65535 is below 65537"},
	    {"weak-rsa-even.csr", "exponent is even"},
	    {"weak-rsa-ebig.csr", "exponent of 257 bits is above 2^256-1"},
	    {"weak-rsa-prime.csr", "modulus is prime"},
	    {"weak-rsa-square.csr", "prime power"},
	    {"weak-rsa-factor3.csr", "has the factor 3;"},
	    {"weak-rsa-factor751.csr", "has the factor 751;"},
	};
	struct errd e = {0, {0}};
	BIGNUM *n = BN_new(), *x = BN_new();
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		refused(w[i].name, -ERR_KEY_TYPE_NOT_ALLOWED, w[i].word);
		refused(w[i].name, -ERR_KEY_TYPE_NOT_ALLOWED, "BR 6.1.6");
	}
	is_int(err_http_status(-ERR_KEY_TYPE_NOT_ALLOWED), 422,
	       "key_type_not_allowed is a 422");
	good("rsa-emax.csr", KEY_RSA_2048); /* e = 2^256 - 1: the largest */

	/* The exponent's bounds, and the factor bound, exactly. */
	BN_set_word(n, 757UL * 761);
	BN_set_word(x, 65537);
	is_int(spki_rsa_check(n, x, 1, &e), 0,
	       "e = 65537, n = 757 * 761: no factor below 752 (%s)", e.msg);
	BN_set_word(n, 751UL * 761);
	is_int(spki_rsa_check(n, x, 1, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "n = 751 * 761: factor 751 refused");
	BN_set_word(n, 757UL * 757);
	is_int(spki_rsa_check(n, x, 1, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "n = 757^2: a prime power refused");
	BN_set_word(n, 7919);
	is_int(spki_rsa_check(n, x, 1, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "n = 7919, prime: refused");
	is_int(spki_rsa_check(n, x, 0, &e), 0,
	       "without full, the modulus is not examined");
	BN_set_word(n, 757UL * 761);
	BN_set_word(x, 65535);
	is_int(spki_rsa_check(n, x, 0, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "e = 65535 refused even without full");
	BN_set_word(x, 65536);
	is_int(spki_rsa_check(n, x, 0, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "e = 65536 (even, 17 bits) refused");
	BN_zero(x);
	BN_set_bit(x, 256);
	BN_sub_word(x, 1);
	is_int(spki_rsa_check(n, x, 0, &e), 0, "e = 2^256 - 1 allowed");
	BN_add_word(x, 2);
	is_int(spki_rsa_check(n, x, 0, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "e = 2^256 + 1 refused");
	BN_set_word(n, 2UL * 757);
	BN_set_word(x, 65537);
	is_int(spki_rsa_check(n, x, 1, &e), -ERR_KEY_TYPE_NOT_ALLOWED,
	       "even modulus refused");
	BN_free(n);
	BN_free(x);
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
	encodings();
	weak_rsa();

	csr_free(NULL);
	ok(1, "csr_free(NULL) is a no-op");
	return done_testing();
}
