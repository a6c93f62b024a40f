/*
 * t-ca — ca_open's refusals (key permissions, mismatch, not a CA, dates,
 * passphrases), the chain without duplicates, $CREDENTIALS_DIRECTORY, and
 * signing (also from several threads at once). Fixtures: tests/data/ca
 * (README there). git does not keep 0600, so keys are copied into a temp
 * directory with the mode each test wants.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "err.h"
#include "key.h"
#include "tap.h"
#include "x509.h"

static char tmp[] = "/tmp/t-ca.XXXXXX";

static const char *src(void)
{
	const char *s = getenv("THINGCA_SRC");

	return s ? s : ".";
}

/* tests/data/ca/name (static buffer rotation of 4). */
static const char *fx(const char *name)
{
	static char buf[4][1024];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/tests/data/ca/%s", src(), name);
	return buf[i];
}

/* Copies fixture name to tmp/as with mode; returns the new path (static
 * rotation of 4). */
static const char *copy(const char *name, const char *as, mode_t mode)
{
	static char buf[4][1024];
	static int i;
	char data[65536];
	FILE *in;
	size_t n;
	int fd;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, as);
	in = fopen(fx(name), "rb");
	if (!in) {
		diag("cannot open %s", fx(name));
		return buf[i];
	}
	n = fread(data, 1, sizeof(data), in);
	fclose(in);
	unlink(buf[i]);
	fd = open(buf[i], O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd >= 0) {
		if (write(fd, data, n) != (ssize_t)n)
			diag("short write %s", buf[i]);
		fchmod(fd, mode);
		close(fd);
	}
	return buf[i];
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;

	if (f) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

/* ca_open with the given files; expects want, and when want < 0 a message
 * containing word. */
static void refuse(const char *what, struct ca_cfg *cfg, int want,
		   const char *word)
{
	struct errd e = {0, {0}};
	struct ca *ca = (struct ca *)&e;
	int rc;

	rc = ca_open(cfg, &ca, &e);
	is_int(rc, want, "%s: %s", what, err_str(want));
	ok(ca == NULL, "%s: no CA on failure", what);
	if (!ok(strstr(e.msg, word) != NULL, "%s: message says '%s'", what,
		word))
		diag("got '%s'", e.msg);
	if (rc == 0)
		ca_free(ca);
}

static int count_pem(const char *s)
{
	int n = 0;

	while ((s = strstr(s, "-----BEGIN CERTIFICATE-----")) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void good(const char *cert, const char *key, const EVP_MD *md)
{
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	size_t len = 0;
	long days;
	int rc;

	cfg.certificate = (char *)fx(cert);
	cfg.key = (char *)copy(key, "good.key", 0600);
	rc = ca_open(&cfg, &ca, &e);
	is_int(rc, 0, "%s opens (%s)", cert, e.msg);
	if (!ca)
		return;
	is_int(ca_selftest(ca, &e), 0, "%s self-test (%s)", cert, e.msg);
	is_str(EVP_MD_get0_name(ca_md(ca)), EVP_MD_get0_name(md),
	       "%s signs with %s", cert, EVP_MD_get0_name(md));
	is_int(sk_X509_num(ca_get0_chain(ca)), 1, "%s chain is the CA alone",
	       cert);
	is_int(count_pem(ca_chain_pem(ca, &len)), 1, "%s chain PEM has 1 cert",
	       cert);
	is_int(len, strlen(ca_chain_pem(ca, NULL)), "%s chain PEM length",
	       cert);
	{
		char id[65];

		x509_certificate_id(ca_get0_cert(ca), id);
		is_str(ca_certificate_id(ca), id,
		       "%s certificate ID is the SHA-256 of its DER", cert);
	}
	days = ca_days_left(ca);
	/* Fixtures are valid 7300 days from when gen.sh ran. */
	ok(days > 0 && days <= 7300, "%s days left %ld in 1..7300", cert, days);
	ca_free(ca);
}

static void refusals(void)
{
	struct ca_cfg cfg = {0};
	const char *pass;

	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = (char *)copy("ca-p256.key", "open.key", 0644);
	refuse("key mode 0644", &cfg, -ERR_CA_INVALID, "600");
	cfg.key = (char *)copy("ca-p256.key", "open.key", 0640);
	refuse("key mode 0640", &cfg, -ERR_CA_INVALID, "600");

	cfg.key = (char *)copy("ca-p384.key", "other.key", 0600);
	refuse("certificate/key mismatch", &cfg, -ERR_CA_INVALID,
	       "does not match");

	cfg.certificate = (char *)fx("leaf.pem");
	cfg.key = (char *)copy("leaf.key", "leaf.key", 0600);
	refuse("leaf certificate", &cfg, -ERR_CA_INVALID, "CA:TRUE");

	cfg.certificate = (char *)fx("noku.pem");
	cfg.key = (char *)copy("ca-p256.key", "k.key", 0600);
	refuse("CA without keyCertSign", &cfg, -ERR_CA_INVALID, "keyCertSign");

	cfg.certificate = (char *)fx("noski.pem");
	refuse("CA without subjectKeyIdentifier", &cfg, -ERR_CA_INVALID,
	       "4.2.1.2");

	cfg.certificate = (char *)fx("expired.pem");
	refuse("expired CA", &cfg, -ERR_CA_INVALID, "expired on 2021-01-01");

	cfg.certificate = (char *)fx("notyet.pem");
	refuse("not-yet-valid CA", &cfg, -ERR_CA_INVALID,
	       "not valid until 2099-01-01");

	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = (char *)copy("ca-p256-enc.key", "enc.key", 0600);
	refuse("encrypted key, no passphrase", &cfg, -ERR_CA_INVALID,
	       "ca.key_passphrase_file");
	cfg.key_passphrase_file =
	    (char *)copy("wrong-passphrase.txt", "wrong.txt", 0600);
	refuse("encrypted key, wrong passphrase", &cfg, -ERR_CA_INVALID,
	       "wrong passphrase?");
	pass = copy("passphrase.txt", "pass.txt", 0644);
	cfg.key_passphrase_file = (char *)pass;
	refuse("passphrase file 0644", &cfg, -ERR_CA_INVALID, "600");
	cfg.key_passphrase_file = NULL;

	cfg.key = "pkcs11:token=thingca;object=ca";
	refuse("pkcs11 URI", &cfg, -ERR_CA_INVALID, "PKCS#11");

	cfg.certificate = (char *)fx("no-such.pem");
	cfg.key = (char *)copy("ca-p256.key", "k.key", 0600);
	refuse("missing certificate", &cfg, -ERR_IO, "no-such.pem");

	cfg.certificate = (char *)fx("ca-p256.key");
	refuse("key file as certificate", &cfg, -ERR_CA_INVALID,
	       "no PEM certificate");

	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = (char *)copy("ca-p256.pem", "cert-as-key.key", 0600);
	refuse("certificate as key", &cfg, -ERR_CA_INVALID,
	       "no PEM private key");

	cfg.key = (char *)copy("ca-p256.key", "k.key", 0600);
	cfg.chain = (char *)fx("passphrase.txt");
	refuse("chain file without certificates", &cfg, -ERR_CA_INVALID,
	       "ca.chain");
}

static void encrypted_ok(void)
{
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	int rc;

	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = (char *)copy("ca-p256-enc.key", "enc.key", 0600);
	cfg.key_passphrase_file =
	    (char *)copy("passphrase.txt", "pass.txt", 0600);
	rc = ca_open(&cfg, &ca, &e);
	is_int(rc, 0, "encrypted key with the right passphrase (%s)", e.msg);
	ca_free(ca);
}

static void chain(void)
{
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	X509 *inter = read_cert(fx("inter.pem")),
	     *root = read_cert(fx("ca-p256.pem"));
	STACK_OF(X509) * sk;
	int rc;

	cfg.certificate = (char *)fx("inter.pem");
	cfg.chain = (char *)fx("chain-dups.pem");
	cfg.key = (char *)copy("inter.key", "inter.key", 0600);
	rc = ca_open(&cfg, &ca, &e);
	is_int(rc, 0, "intermediate with chain opens (%s)", e.msg);
	if (ca) {
		sk = ca_get0_chain(ca);
		is_int(sk_X509_num(sk), 2,
		       "chain-dups (inter, root, root) gives 2 certificates");
		ok(sk_X509_num(sk) >= 1 &&
		       X509_cmp(sk_X509_value(sk, 0), inter) == 0,
		   "chain[0] is the issuing CA");
		ok(sk_X509_num(sk) >= 2 &&
		       X509_cmp(sk_X509_value(sk, 1), root) == 0,
		   "chain[1] is the root");
		is_int(count_pem(ca_chain_pem(ca, NULL)), 2,
		       "chain PEM has 2 certificates");
		ok(X509_cmp(ca_get0_cert(ca), inter) == 0,
		   "ca_get0_cert is the intermediate");
	}
	ca_free(ca);
	ca = NULL;
	/* A chain of another root (a rotation half done) is refused. */
	cfg.chain = (char *)fx("ca-p384.pem");
	refuse("ca.chain of another root", &cfg, -ERR_CA_INVALID,
	       "did not sign");
	/* The chain out of order: the issuer must come first. */
	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = (char *)copy("ca-p256.key", "good.key", 0600);
	cfg.chain = (char *)fx("inter.pem");
	refuse("ca.chain holding a certificate the CA signed", &cfg,
	       -ERR_CA_INVALID, "did not sign");
	X509_free(inter);
	X509_free(root);
}

static void credentials(void)
{
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	char dir[1100];
	int rc;

	/* $CREDENTIALS_DIRECTORY/ca.key and ca.passphrase win over the
	 * configured paths (systemd LoadCredential=). */
	snprintf(dir, sizeof(dir), "%s/creds", tmp);
	mkdir(dir, 0700);
	copy("ca-p256-enc.key", "creds/ca.key", 0600);
	copy("passphrase.txt", "creds/ca.passphrase", 0600);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cfg.certificate = (char *)fx("ca-p256.pem");
	cfg.key = "/nonexistent/ca.key";
	cfg.key_passphrase_file = "/nonexistent/pass";
	rc = ca_open(&cfg, &ca, &e);
	is_int(rc, 0, "key and passphrase from $CREDENTIALS_DIRECTORY (%s)",
	       e.msg);
	ca_free(ca);
	ca = NULL;
	copy("ca-p256.key", "creds/ca.key", 0644);
	refuse("credential key 0644", &cfg, -ERR_CA_INVALID, "600");
	unlink(copy("passphrase.txt", "creds/ca.passphrase", 0600));
	unlink(copy("ca-p256.key", "creds/ca.key", 0600));
	rmdir(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* A throwaway leaf to sign. */
static X509 *leaf(struct ca *ca)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = NULL;

	x509_name_parse("/CN=leaf", &n, NULL);
	X509_set_version(x, X509_VERSION_3);
	x509_random_serial(x, NULL);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(ca_get0_cert(ca)));
	x509_set_validity(x, time(NULL), time(NULL) + 3600, NULL);
	X509_set_pubkey(x, k);
	EVP_PKEY_free(k);
	X509_NAME_free(n);
	return x;
}

#define THREADS 4
#define PER_THREAD 25

static void *signer_thread(void *arg)
{
	struct ca *ca = arg;
	long bad = 0;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		X509 *x = leaf(ca);

		if (ca_sign_cert(ca, x, NULL) != 0 ||
		    X509_verify(x, X509_get0_pubkey(ca_get0_cert(ca))) != 1)
			bad++;
		X509_free(x);
	}
	return (void *)bad;
}

static void signing(const char *cert, const char *key)
{
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	pthread_t th[THREADS];
	X509_CRL *crl = NULL;
	X509 *x = NULL;
	void *r;
	long bad = 0;
	int i;

	cfg.certificate = (char *)fx(cert);
	cfg.key = (char *)copy(key, "sign.key", 0600);
	if (ca_open(&cfg, &ca, &e) != 0) {
		ok(0, "%s opens for signing: %s", cert, e.msg);
		return;
	}
	x = leaf(ca);
	is_int(ca_sign_cert(ca, x, &e), 0, "%s signs a certificate", cert);
	is_int(X509_verify(x, X509_get0_pubkey(ca_get0_cert(ca))), 1,
	       "%s: X509_verify with the CA key is 1", cert);

	crl = X509_CRL_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_get0_cert(ca)));
	is_int(ca_sign_crl(ca, crl, &e), 0, "%s signs a CRL", cert);
	is_int(X509_CRL_verify(crl, X509_get0_pubkey(ca_get0_cert(ca))), 1,
	       "%s: X509_CRL_verify is 1", cert);

	for (i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, signer_thread, ca);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	is_int(bad, 0, "%s: %d threads x %d signatures all verify", cert,
	       THREADS, PER_THREAD);
	X509_CRL_free(crl);
	X509_free(x);
	ca_free(ca);
}

/* A CSR of key k for subject cn: with basicConstraints CA:TRUE when ca is
 * 1, CA:FALSE when 0, none when -1. */
static X509_REQ *make_req(EVP_PKEY *k, const char *cn, int ca)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_NAME *n = X509_NAME_new();
	X509_REQ *r = X509_REQ_new();
	X509_EXTENSION *ex = NULL;

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	if (ca >= 0) {
		ex = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
					 ca ? "critical,CA:TRUE"
					    : "critical,CA:FALSE");
		sk_X509_EXTENSION_push(exts, ex);
		X509_REQ_add_extensions(r, exts);
	}
	X509_REQ_sign(r, k, EVP_sha256());
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	return r;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (f) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	return k;
}

/* ca_sign_issuing refuses req with want and a message containing word. */
static void issuing_refused(struct ca *root, X509_REQ *req,
			    const X509_NAME *subj, long days, int want,
			    const char *word, const char *what)
{
	struct errd e = {0, {0}};
	X509 *x = (X509 *)&e;

	is_int(ca_sign_issuing(root, req, subj, days, &x, &e), want,
	       "issuing: %s is %s", what, err_str(want));
	ok(x == NULL, "issuing: %s: no certificate", what);
	if (!ok(strstr(e.msg, word) != NULL, "issuing: %s: message says '%s'",
		what, word))
		diag("got '%s'", e.msg);
}

/* ca_sign_issuing: the profile of an issuing CA and every refusal. */
static void issuing(void)
{
	struct ca_cfg cfg = {0}, sub = {0};
	struct errd e = {0, {0}};
	struct ca *root = NULL, *mid = NULL;
	EVP_PKEY *k = key_generate(KEY_EC_P256), *k2 = NULL, *weak = NULL;
	EVP_PKEY *rootkey;
	X509_NAME *name = NULL, *other = NULL;
	X509_REQ *req = NULL, *bad = NULL;
	X509 *x = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	const ASN1_OCTET_STRING *aki, *ski;
	char subpath[1100], keypath[1100];
	time_t na, rna, nb, rnb, now = time(NULL);
	int crit = -1;

	cfg.certificate = (char *)fx("ca-p384.pem");
	cfg.key = (char *)copy("ca-p384.key", "good.key", 0600);
	if (!ok(ca_open(&cfg, &root, &e) == 0, "issuing: the P-384 root opens"))
		return;
	x509_name_parse("/C=JP/O=thingca test/CN=line CA", &name, &e);
	is_int(x509_make_ca_csr(k, name, &req, &e), 0,
	       "x509_make_ca_csr makes a CA CSR");
	is_int(X509_REQ_verify(req, k), 1, "... whose signature verifies");
	is_int(ca_sign_issuing(root, req, NULL, 0, &x, &e), 0,
	       "ca_sign_issuing signs it (%s)", e.msg);
	if (!x)
		goto out;
	is_int(X509_verify(x, X509_get0_pubkey(ca_get0_cert(root))), 1,
	       "issuing: signed by the root");
	is_int(X509_get_version(x), X509_VERSION_3, "issuing: v3");
	is_int(X509_NAME_cmp(X509_get_subject_name(x), name), 0,
	       "issuing: the CSR's subject");
	is_int(X509_NAME_cmp(X509_get_issuer_name(x),
			     X509_get_subject_name(ca_get0_cert(root))),
	       0, "issuing: issuer is the root's subject");
	is_int(X509_get_ext_count(x), 4, "issuing: exactly four extensions");
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ok(bc && bc->ca && crit == 1, "issuing: basicConstraints critical CA");
	ok(bc && bc->pathlen && ASN1_INTEGER_get(bc->pathlen) == 0,
	   "issuing: pathLenConstraint 0");
	is_int(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN,
	       "issuing: keyUsage keyCertSign + cRLSign only");
	ok(X509_EXTENSION_get_critical(
	       X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1))),
	   "issuing: keyUsage critical");
	aki = X509_get0_authority_key_id(x);
	ski = X509_get0_subject_key_id(ca_get0_cert(root));
	ok(aki && ski && ASN1_OCTET_STRING_cmp(aki, ski) == 0,
	   "issuing: AKI = the root's SKI");
	ok(X509_get0_subject_key_id(x) != NULL, "issuing: has an SKI");
	is_int(X509_get_signature_nid(x), NID_ecdsa_with_SHA384,
	       "issuing: the P-384 root signs with SHA-384");
	x509_time_to_time_t(X509_get0_notAfter(x), &na);
	x509_time_to_time_t(X509_get0_notAfter(ca_get0_cert(root)), &rna);
	x509_time_to_time_t(X509_get0_notBefore(x), &nb);
	x509_time_to_time_t(X509_get0_notBefore(ca_get0_cert(root)), &rnb);
	ok(na == rna, "issuing: days 0 ends with the root");
	ok(nb >= rnb && nb <= now && nb >= now - CA_ISSUING_BACKDATE_S - 2,
	   "issuing: notBefore now - %d s, not before the root's",
	   CA_ISSUING_BACKDATE_S);
	X509_free(x);
	x = NULL;
	is_int(ca_sign_issuing(root, req, NULL, 10, &x, &e), 0,
	       "issuing: 10 days");
	if (x) {
		x509_time_to_time_t(X509_get0_notAfter(x), &na);
		ok(na >= now + 10 * 86400 && na <= now + 10 * 86400 + 5,
		   "issuing: notAfter 10 days from now");
	}
	X509_free(x);
	x = NULL;
	x509_name_parse("/CN=override", &other, &e);
	is_int(ca_sign_issuing(root, req, other, 0, &x, &e), 0,
	       "issuing: with a subject override");
	ok(x && X509_NAME_cmp(X509_get_subject_name(x), other) == 0,
	   "issuing: the override is the subject");

	/* Refusals. */
	issuing_refused(root, req, NULL, 7400, -ERR_CA_INVALID,
			"outlive the root", "days past the root's notAfter");
	issuing_refused(root, req, X509_get_subject_name(ca_get0_cert(root)), 0,
			-ERR_MALFORMED_CSR, "subject is the root's",
			"the root's subject");
	bad = make_req(k, "device", -1);
	issuing_refused(root, bad, NULL, 0, -ERR_MALFORMED_CSR,
			"does not request a CA",
			"a CSR without basicConstraints");
	X509_REQ_free(bad);
	bad = make_req(k, "device", 0);
	issuing_refused(root, bad, NULL, 0, -ERR_MALFORMED_CSR,
			"does not request a CA", "a CSR asking for CA:FALSE");
	X509_REQ_free(bad);
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	bad = make_req(weak, "weak CA", 1);
	issuing_refused(root, bad, NULL, 0, -ERR_KEY_TYPE_NOT_ALLOWED,
			"not one AWS IoT registers", "an RSA-1024 key");
	X509_REQ_free(bad);
	rootkey = read_key(fx("ca-p384.key"));
	bad = make_req(rootkey, "root again", 1);
	issuing_refused(root, bad, NULL, 0, -ERR_KEY_TYPE_NOT_ALLOWED,
			"the root's own", "the root's own key");
	X509_REQ_free(bad);
	EVP_PKEY_free(rootkey);
	/* A CSR signed by another key than the one it carries. */
	k2 = key_generate(KEY_EC_P256);
	bad = make_req(k, "mixed", 1);
	X509_REQ_set_pubkey(bad, k2);
	issuing_refused(root, bad, NULL, 0, -ERR_CSR_SIGNATURE_INVALID,
			"does not verify",
			"a CSR whose signature does not verify");
	X509_REQ_free(bad);
	EVP_PKEY_free(k2);
	k2 = NULL;

	/* The issuing CA as a root: pathLen 0 allows no CA below it. */
	X509_free(x);
	x = NULL;
	ca_sign_issuing(root, req, NULL, 0, &x, &e);
	snprintf(subpath, sizeof(subpath), "%s/inter.pem", tmp);
	snprintf(keypath, sizeof(keypath), "%s/inter.key", tmp);
	unlink(subpath);
	unlink(keypath);
	if (x && x509_write_cert(subpath, x, NULL, 1, &e) == 0 &&
	    x509_write_key(keypath, k, 1, &e) == 0) {
		sub.certificate = subpath;
		sub.key = keypath;
		is_int(ca_open(&sub, &mid, &e), 0,
		       "the issuing CA opens as thingcad's CA (%s)", e.msg);
		k2 = key_generate(KEY_EC_P256);
		bad = make_req(k2, "below", 1);
		if (mid)
			issuing_refused(mid, bad, NULL, 0, -ERR_CA_INVALID,
					"pathLenConstraint 0",
					"an issuing CA as the root");
		X509_REQ_free(bad);
	}
	unlink(subpath);
out:
	ca_free(mid);
	ca_free(root);
	BASIC_CONSTRAINTS_free(bc);
	X509_free(x);
	EVP_PKEY_free(k2);
	X509_REQ_free(req);
	X509_NAME_free(name);
	X509_NAME_free(other);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(k);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	good("ca-p256.pem", "ca-p256.key", EVP_sha256());
	good("ca-p384.pem", "ca-p384.key", EVP_sha384());
	good("ca-rsa2048.pem", "ca-rsa2048.key", EVP_sha256());
	refusals();
	encrypted_ok();
	chain();
	credentials();
	signing("ca-p256.pem", "ca-p256.key");
	signing("ca-rsa2048.pem", "ca-rsa2048.key");
	issuing();
	ca_free(NULL);
	ok(1, "ca_free(NULL) is a no-op");

	{
		const char *files[] = {
		    "good.key",	       "open.key",  "other.key", "leaf.key",
		    "k.key",	       "enc.key",   "wrong.txt", "pass.txt",
		    "cert-as-key.key", "inter.key", "sign.key"};
		char p[1100];
		size_t i;

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", tmp, files[i]);
			unlink(p);
		}
		rmdir(tmp);
	}
	return done_testing();
}
