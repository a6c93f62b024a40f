/*
 * bench-stages — `make bench-stages`: the two per-certificate stages that
 * dominate thingcad's CPU, timed in one process side by side with what they
 * replace and with the bare signature operation under them:
 *
 *   CSR (parse + proof of possession):
 *     OpenSSL X509_REQ   d2i_X509_REQ + X509_REQ_verify (thingca before;
 *                        the d2i decodes the key through OpenSSL 3.0's
 *                        provider decoders)
 *     thingca            csr_parse_der (lib/csr.c)
 *     verify only        EVP_DigestVerify of the same request with a key
 *                        decoded beforehand: the floor
 *   RSA key checks (lib/spki.c spki_rsa_check: exponent, small factors,
 *   one base-2 Fermat test), per modulus size, ITER / 10 operations
 *   (the Fermat test is one exponentiation as long as the modulus)
 *   certificate (build + CA signature):
 *     OpenSSL X509       X509_new, names, the key's SPKI copied,
 *                        X509V3_EXT_conf_nid, X509_sign (thingca before)
 *     thingca            profile_issue_der (lib/profile.c)
 *     sign only          EVP_DigestSign of a TBSCertificate: the floor
 *
 * Single thread, ITER operations each, best of three rounds (the machine is
 * shared); microseconds per operation and each row's ratio to its floor.
 *
 *   bench-stages SRCDIR [ITER]
 *
 * Uses the fixtures of tests/data (CA keys are copied 0600 to a temporary
 * directory, as ca_open wants). Exit 0, or 1 with a message.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "csr.h"
#include "key.h"
#include "profile.h"
#include "spki.h"
#include "util.h"
#include "x509.h"

static long iter = 2000;
static char tmp[] = "/tmp/bench-stages.XXXXXX";

static double now_s(void)
{
	return (double)now_ns() / 1e9;
}

/* Microseconds per call of fn(arg), best of three rounds of count calls. */
static double time_n(int (*fn)(void *), void *arg, long count)
{
	double best = 0, t;
	long i;
	int r;

	for (r = 0; r < 3; r++) {
		t = now_s();
		for (i = 0; i < count; i++)
			if (fn(arg) != 0) {
				fprintf(stderr,
					"bench-stages: a call failed\n");
				exit(1);
			}
		t = (now_s() - t) / (double)count * 1e6;
		if (r == 0 || t < best)
			best = t;
	}
	return best;
}

static double time_us(int (*fn)(void *), void *arg)
{
	return time_n(fn, arg, iter);
}

/* ---- CSR -------------------------------------------------------------- */

struct csr_case {
	unsigned char *der;
	size_t len;
	EVP_PKEY *pub;	    /* decoded once, for the floor */
	unsigned char *tbs; /* CertificationRequestInfo */
	size_t tbs_len;
	const ASN1_BIT_STRING *sig;
	const char *md;
};

static int csr_openssl(void *arg)
{
	struct csr_case *c = arg;
	const unsigned char *p = c->der;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)c->len);
	int ok = r && X509_REQ_verify(r, X509_REQ_get0_pubkey(r)) == 1;

	X509_REQ_free(r);
	return ok ? 0 : -1;
}

static int csr_thingca(void *arg)
{
	struct csr_case *c = arg;
	struct errd e = {0};
	struct csr *r = NULL;
	int rc = csr_parse_der(c->der, c->len, &r, &e);

	csr_free(r);
	return rc;
}

static int csr_floor(void *arg)
{
	struct csr_case *c = arg;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m &&
		 EVP_DigestVerifyInit_ex(m, NULL, c->md, NULL, NULL, c->pub,
					 NULL) == 1 &&
		 EVP_DigestVerify(m, ASN1_STRING_get0_data(c->sig),
				  (size_t)ASN1_STRING_length(c->sig), c->tbs,
				  c->tbs_len) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

/* ---- RSA key checks ---------------------------------------------------- */

struct rsa_case {
	BIGNUM *n, *e;
};

static int rsa_checks(void *arg)
{
	struct rsa_case *c = arg;

	return spki_rsa_check(c->n, c->e, 1, NULL);
}

/* ---- certificate ------------------------------------------------------ */

struct cert_case {
	struct ca *ca;
	struct profile *profile;
	EVP_PKEY *ca_key; /* the same key, for the two OpenSSL rows */
	X509 *ca_cert;
	EVP_PKEY *dev;
	X509_PUBKEY *spki_x;
	struct spki_ref spki;
	unsigned char *spki_der;
	unsigned char tbs[600];
};

/* The device key copied into x without re-encoding it, as thingca did
 * before profile_issue_der (X509_set_pubkey would run OpenSSL 3.0's
 * encoders, slower still). */
static int set_spki(X509 *x, X509_PUBKEY *src)
{
	ASN1_OBJECT *alg;
	const unsigned char *key;
	unsigned char *copy;
	int len, ptype;
	const void *pval;
	X509_ALGOR *algor;

	if (!X509_PUBKEY_get0_param(&alg, &key, &len, &algor, src))
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, algor);
	copy = OPENSSL_memdup(key, (size_t)len);
	return copy &&
	       X509_PUBKEY_set0_param(
		   X509_get_X509_PUBKEY(x), OBJ_dup(alg), ptype,
		   ptype == V_ASN1_OBJECT ? (void *)OBJ_dup(pval) : NULL, copy,
		   len);
}

static int cert_openssl(void *arg)
{
	struct cert_case *c = arg;
	static const struct {
		int nid;
		const char *v;
	} ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
		   {NID_key_usage, "critical,digitalSignature"},
		   {NID_ext_key_usage, "clientAuth"},
		   {NID_subject_key_identifier, "hash"},
		   {NID_authority_key_identifier, "keyid:always"}};
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ex;
	size_t i;
	int ok =
	    x && n && X509_set_version(x, X509_VERSION_3) &&
	    x509_random_serial(x, NULL) == 0 &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
				       (const unsigned char *)"Example", -1, -1,
				       0) &&
	    X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_ASC,
				       (const unsigned char *)"SN-1", -1, -1,
				       0) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				       (const unsigned char *)"SN-1", -1, -1,
				       0) &&
	    X509_set_subject_name(x, n) &&
	    X509_set_issuer_name(x, X509_get_subject_name(c->ca_cert)) &&
	    set_spki(x, c->spki_x) &&
	    x509_set_validity(x, time(NULL), time(NULL) + 86400, NULL) == 0;

	X509V3_set_ctx(&v3, c->ca_cert, x, NULL, NULL, 0);
	for (i = 0; ok && i < sizeof(ext) / sizeof(ext[0]); i++) {
		ex = X509V3_EXT_conf_nid(NULL, &v3, ext[i].nid, ext[i].v);
		ok = ex && X509_add_ext(x, ex, -1);
		X509_EXTENSION_free(ex);
	}
	ok = ok && X509_sign(x, c->ca_key, key_md(c->ca_key)) > 0;
	X509_NAME_free(n);
	X509_free(x);
	return ok ? 0 : -1;
}

static int cert_thingca(void *arg)
{
	struct cert_case *c = arg;
	struct profile_cert out = {0};
	struct errd e = {0};
	int rc = profile_issue_der(c->profile, c->ca, "SN-1", "SN-1", &c->spki,
				   &out, &e);

	profile_cert_clear(&out);
	return rc;
}

static int cert_floor(void *arg)
{
	struct cert_case *c = arg;
	unsigned char sig[CA_SIG_MAX];
	size_t len = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m &&
		 EVP_DigestSignInit_ex(
		     m, NULL, EVP_MD_get0_name(key_md(c->ca_key)),
		     NULL, NULL, c->ca_key, NULL) == 1 &&
		 EVP_DigestSign(m, sig, &len, c->tbs, sizeof(c->tbs)) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

/* ---- set-up ----------------------------------------------------------- */

static void die(const char *what)
{
	fprintf(stderr, "bench-stages: %s\n", what);
	exit(1);
}

static void *read_pem(const char *src, const char *rel, int key)
{
	char path[1100];
	FILE *f;
	void *v;

	snprintf(path, sizeof(path), "%s/tests/data/%s", src, rel);
	f = fopen(path, "r");
	if (!f)
		die(path);
	v = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
		: (void *)PEM_read_X509_REQ(f, NULL, NULL, NULL);
	fclose(f);
	if (!v)
		die(path);
	return v;
}

static void csr_row(const char *src, const char *name)
{
	char rel[256];
	X509_REQ *r;
	struct csr_case c = {0};
	unsigned char *der = NULL;
	const X509_ALGOR *alg;
	double a, b, f;
	int n;

	snprintf(rel, sizeof(rel), "csr/%s.csr", name);
	r = read_pem(src, rel, 0);
	n = i2d_X509_REQ(r, &der);
	c.der = der;
	c.len = (size_t)n;
	c.pub = X509_REQ_get0_pubkey(r);
	n = i2d_re_X509_REQ_tbs(r, &c.tbs);
	c.tbs_len = (size_t)n;
	X509_REQ_get0_signature(r, &c.sig, &alg);
	c.md = "SHA256";
	a = time_us(csr_openssl, &c);
	b = time_us(csr_thingca, &c);
	f = time_us(csr_floor, &c);
	printf(
	    "  CSR %-9s  OpenSSL X509_REQ %7.1f us (%4.1fx)   thingca %7.1f us "
	    "(%4.1fx)   verify only %7.1f us\n",
	    name, a, a / f, b, b / f, f);
	OPENSSL_free(c.tbs);
	OPENSSL_free(der);
	X509_REQ_free(r);
}

static void rsa_row(const char *src, const char *name)
{
	char rel[256];
	X509_REQ *r;
	struct rsa_case c = {0};
	long count = iter / 10 > 0 ? iter / 10 : 1;

	snprintf(rel, sizeof(rel), "csr/%s.csr", name);
	r = read_pem(src, rel, 0);
	if (!EVP_PKEY_get_bn_param(X509_REQ_get0_pubkey(r), "n", &c.n) ||
	    !EVP_PKEY_get_bn_param(X509_REQ_get0_pubkey(r), "e", &c.e))
		die("RSA key");
	printf("  RSA key checks %-9s (exponent, small factors, Fermat) "
	       "%8.1f us\n",
	       name, time_n(rsa_checks, &c, count));
	BN_free(c.n);
	BN_free(c.e);
	X509_REQ_free(r);
}

static void cert_row(const char *src, const char *name, const char *devcsr)
{
	char rel[256], kpath[1100], cpath[1100];
	struct profile_cfg pc = {0};
	struct rdn_cfg o = {"O", "Example"};
	struct ca_cfg cc = {0};
	struct cert_case c = {0};
	struct errd e = {0};
	X509_REQ *r;
	unsigned char *der = NULL;
	char *pem = NULL;
	size_t len = 0;
	double a, b, f;
	int n, fd, blen = 0;

	snprintf(rel, sizeof(rel), "ca/%s.key", name);
	c.ca_key = read_pem(src, rel, 1);
	snprintf(kpath, sizeof(kpath), "%s/ca.key", tmp);
	snprintf(cpath, sizeof(cpath), "%s/tests/data/ca/%s.pem", src, name);
	snprintf(rel, sizeof(rel), "%s/tests/data/ca/%s.key", src, name);
	if (file_read(rel, 1 << 16, &pem, &len, &e) < 0)
		die(e.msg);
	unlink(kpath);
	fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, pem, len) != (ssize_t)len)
		die("cannot write the CA key copy");
	close(fd);
	free(pem);
	cc.certificate = cpath;
	cc.key = kpath;
	if (ca_open(&cc, &c.ca, &e) != 0)
		die(e.msg);
	unlink(kpath);
	c.ca_cert = ca_get0_cert(c.ca);
	pc.subject = &o;
	pc.n_subject = 1;
	pc.thing_name = "{serial}";
	pc.serial_pattern = "^[A-Za-z0-9-]+$";
	pc.subject_serial_number = 1;
	pc.validity_days = 3650;
	pc.backdate_seconds = 300;
	pc.key_types = KEY_ALL;
	if (profile_new(&pc, &c.profile, &e) != 0)
		die(e.msg);
	snprintf(rel, sizeof(rel), "csr/%s.csr", devcsr);
	r = read_pem(src, rel, 0);
	c.dev = X509_REQ_get0_pubkey(r);
	n = i2d_PUBKEY(c.dev, &der);
	c.spki_der = der;
	c.spki.der = der;
	c.spki.der_len = (size_t)n;
	c.spki.rsa = EVP_PKEY_is_a(c.dev, "RSA");
	c.spki_x = X509_REQ_get_X509_PUBKEY(r);
	if (n <= 0 ||
	    !X509_PUBKEY_get0_param(NULL, &c.spki.bits, &blen, NULL, c.spki_x))
		die("device key");
	c.spki.bits_len = (size_t)blen;
	memset(c.tbs, 0x5a, sizeof(c.tbs));
	a = time_us(cert_openssl, &c);
	b = time_us(cert_thingca, &c);
	f = time_us(cert_floor, &c);
	printf("  cert %-12s OpenSSL X509 %7.1f us (%4.1fx)   thingca %7.1f us "
	       "(%4.1fx)   sign only %7.1f us\n",
	       name, a, a / f, b, b / f, f);
	OPENSSL_free(der);
	X509_REQ_free(r);
	EVP_PKEY_free(c.ca_key);
	profile_free(c.profile);
	ca_free(c.ca);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-stages SRCDIR [ITER]\n");
		return 1;
	}
	if (argc == 3)
		iter = strtol(argv[2], NULL, 10);
	if (iter < 1 || iter > 1000000 || !mkdtemp(tmp))
		die("bad ITER or no temporary directory");
	printf("bench-stages: %ld operations per row, best of 3 rounds, one "
	       "thread; (Nx) = time / the floor on its right\n",
	       iter);
	csr_row(argv[1], "p256");
	csr_row(argv[1], "rsa2048");
	rsa_row(argv[1], "rsa2048");
	rsa_row(argv[1], "rsa3072");
	rsa_row(argv[1], "rsa4096");
	cert_row(argv[1], "ca-p256", "p256");
	cert_row(argv[1], "ca-rsa2048", "rsa2048");
	rmdir(tmp);
	return 0;
}
