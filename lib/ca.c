/*
 * ca — the issuing CA: its certificate, the chain served after every device
 * certificate, and the one door to the CA key.
 *
 * ca_open refuses a CA that could only fail later: a key file others can
 * read, a certificate that does not match the key, that is not a CA or not
 * valid now, a key that cannot sign. The key sits behind an internal struct
 * signer (signer.h): a PEM file, plain or PKCS#8-encrypted (here), or a
 * key in a PKCS#11 token reached through p11.c (p11_signer_open).
 *
 * Threads: OpenSSL 3 allows many concurrent X509_sign/EVP_DigestSign calls
 * with one EVP_PKEY (each builds its own EVP_PKEY_CTX; the key's caches are
 * locked inside libcrypto). The read-write lock here only keeps a signer's
 * reopen (write lock) away from signatures in flight (read lock).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "key.h"
#include "signer.h"
#include "util.h"
#include "x509.h"

/* A CA certificate or chain file: a handful of certificates of a few KiB
 * each; 1 MiB means someone pointed us at the wrong file. */
#define CA_PEM_MAX ((size_t)1024 * 1024)
/* A PEM private key: RSA-16384 PKCS#8 is about 13 KiB. */
#define CA_KEY_MAX ((size_t)64 * 1024)
/* A passphrase file: one line. */
#define CA_PASSPHRASE_MAX 4096

struct ca {
	X509 *cert;
	STACK_OF(X509) * chain; /* cert first, then ca.chain */
	char *chain_pem;
	size_t chain_pem_len;
	const EVP_MD *md;
	char id[65]; /* ca_certificate_id */
	/* What every certificate it signs copies (ca_get0_der). */
	unsigned char *sigalg, *issuer, *aki;
	size_t sigalg_len, issuer_len, aki_len;
	struct signer signer;
	pthread_rwlock_t lock;
	int lock_ok;
	atomic_int need_reopen; /* a signature failed: reopen before next */
};

void ca_free(struct ca *ca)
{
	if (!ca)
		return;
	if (ca->signer.close)
		ca->signer.close(&ca->signer);
	else
		EVP_PKEY_free(ca->signer.key);
	X509_free(ca->cert);
	sk_X509_pop_free(ca->chain, X509_free);
	free(ca->chain_pem);
	OPENSSL_free(ca->sigalg);
	OPENSSL_free(ca->issuer);
	OPENSSL_free(ca->aki);
	if (ca->lock_ok)
		pthread_rwlock_destroy(&ca->lock);
	free(ca);
}

/* $CREDENTIALS_DIRECTORY/name as a new string when that file exists
 * (systemd LoadCredential=), else NULL. */
static char *credential_path(const char *name)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *p = NULL;
	size_t n;

	if (!dir || !dir[0])
		goto out;
	n = strlen(dir) + strlen(name) + 2;
	p = malloc(n);
	if (!p)
		goto out;
	snprintf(p, n, "%s/%s", dir, name);
	if (access(p, F_OK) != 0) {
		free(p);
		p = NULL;
	}
out:
	return p;
}

/* The first certificate of a PEM file. */
static int load_cert(const char *path, X509 **out, struct errd *e)
{
	char *text = NULL;
	size_t len = 0;
	BIO *b = NULL;
	int rc;

	*out = NULL;
	if (!path) {
		rc = err_set(e, ERR_CA_INVALID, "ca.certificate is not set");
		goto out;
	}
	rc = file_read(path, CA_PEM_MAX, &text, &len, e);
	if (rc < 0)
		goto out;
	b = BIO_new_mem_buf(text, (int)len);
	if (!b) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!*out) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.certificate %s: no PEM certificate found",
			     path);
		err_add_openssl(e);
		goto out;
	}
out:
	BIO_free(b);
	free(text);
	return rc;
}

/* 1 when an X509_cmp-equal certificate is already in sk. */
static int chain_has(STACK_OF(X509) * sk, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			return 1;
	return 0;
}

/* ca->chain = issuing CA, then every certificate of path in file order that
 * is not already there (DESIGN.md: "no duplicates"). */
static int load_chain(struct ca *ca, const char *path, struct errd *e)
{
	char *text = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x = NULL;
	unsigned long err;
	int rc = 0, n = 0;

	ca->chain = sk_X509_new_null();
	if (!ca->chain || !X509_up_ref(ca->cert)) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!sk_X509_push(ca->chain, ca->cert)) {
		X509_free(ca->cert);
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!path)
		goto out;
	rc = file_read(path, CA_PEM_MAX, &text, &len, e);
	if (rc < 0)
		goto out;
	b = BIO_new_mem_buf(text, (int)len);
	if (!b) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		n++;
		if (!chain_has(ca->chain, x)) {
			if (!sk_X509_push(ca->chain, x)) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
		} else {
			X509_free(x);
		}
		x = NULL;
	}
	/* The loop ends at the end of the file (no more BEGIN lines) or at a
	 * block that does not decode: only the first is fine. */
	err = ERR_peek_last_error();
	if (n == 0 || (err && ERR_GET_REASON(err) != PEM_R_NO_START_LINE)) {
		rc = err_set(e, ERR_CA_INVALID, "ca.chain %s: %s", path,
			     n == 0 ? "no PEM certificate found"
				    : "a certificate does not decode");
		err_add_openssl(e);
		goto out;
	}
	ERR_clear_error();
out:
	X509_free(x);
	BIO_free(b);
	free(text);
	return rc;
}

/* Passphrase for PEM_read_bio_PrivateKey; records that one was asked for,
 * and never prompts on a terminal (OpenSSL's default callback would). */
struct pass {
	const char *p;
	size_t len;
	int asked;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass *pw = u;
	int rc = -1;

	(void)rwflag;
	pw->asked = 1;
	if (!pw->p || size < 0 || pw->len > (size_t)size)
		goto out;
	memcpy(buf, pw->p, pw->len);
	rc = (int)pw->len;
out:
	return rc;
}

/* The file key: cfg->key (or $CREDENTIALS_DIRECTORY/ca.key), decrypted with
 * the passphrase file (or $CREDENTIALS_DIRECTORY/ca.passphrase). */
static int load_file_key(const struct ca_cfg *cfg, const char *key_path,
			 struct signer *s, struct errd *e)
{
	char *cred_pass = NULL, *key = NULL, *pass = NULL;
	const char *pass_path;
	size_t key_len = 0, pass_len = 0, plen;
	struct pass pw = {NULL, 0, 0};
	BIO *b = NULL;
	int rc;

	cred_pass = credential_path("ca.passphrase");
	pass_path = cred_pass ? cred_pass : cfg->key_passphrase_file;
	rc = file_read_secret(key_path, CA_KEY_MAX, &key, &key_len, e);
	if (rc < 0)
		goto out;
	if (pass_path) {
		rc = file_read_secret(pass_path, CA_PASSPHRASE_MAX, &pass,
				      &pass_len, e);
		if (rc < 0)
			goto out;
		/* The line an editor or `echo` leaves is not the passphrase. */
		plen = pass_len;
		while (plen > 0 &&
		       (pass[plen - 1] == '\n' || pass[plen - 1] == '\r'))
			plen--;
		pw.p = pass;
		pw.len = plen;
	}
	b = BIO_new_mem_buf(key, (int)key_len);
	if (!b) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	s->key = PEM_read_bio_PrivateKey(b, NULL, pass_cb, &pw);
	if (!s->key) {
		if (pw.asked && !pw.p)
			rc = err_set(e, ERR_CA_INVALID,
				     "CA key %s is encrypted; set "
				     "ca.key_passphrase_file (or the "
				     "ca.passphrase credential)",
				     key_path);
		else if (pw.asked)
			rc = err_set(e, ERR_CA_INVALID,
				     "could not decrypt CA key %s with %s: "
				     "wrong passphrase?",
				     key_path, pass_path);
		else
			rc = err_set(e, ERR_CA_INVALID,
				     "CA key %s: no PEM private key found",
				     key_path);
		err_add_openssl(e);
		goto out;
	}
out:
	BIO_free(b);
	secret_free(key, key_len);
	secret_free(pass, pass_len);
	free(cred_pass);
	return rc;
}

/* Each certificate of ca->chain after the first signed the one before it
 * (names, key identifiers and signature): a ca.chain that belongs to
 * another root — a rotation half done — would hand every device a bundle
 * no one can verify. */
static int check_chain(struct ca *ca, const char *chain_path, struct errd *e)
{
	char subj[256], iss[256];
	X509 *child, *parent;
	int i, rc = 0;

	for (i = 1; i < sk_X509_num(ca->chain); i++) {
		child = sk_X509_value(ca->chain, i - 1);
		parent = sk_X509_value(ca->chain, i);
		if (X509_check_issued(parent, child) == X509_V_OK &&
		    X509_verify(child, X509_get0_pubkey(parent)) == 1)
			continue;
		X509_NAME_oneline(X509_get_subject_name(parent), subj,
				  sizeof(subj));
		X509_NAME_oneline(X509_get_subject_name(child), iss,
				  sizeof(iss));
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.chain %s: %s did not sign %s (%s): give the "
			     "issuing CA's own chain, its issuer first (RFC "
			     "8446 4.4.2: each certificate certifies the one "
			     "before it)",
			     chain_path, subj, iss,
			     i == 1 ? "ca.certificate" : "the one before it");
		ERR_clear_error();
		goto out;
	}
out:
	return rc;
}

/* The certificate fits the key, is a CA and is valid now. */
static int check_ca(struct ca *ca, const char *cert_path, const char *key_path,
		    struct errd *e)
{
	char when[21];
	time_t now = time(NULL), nb, na;
	uint32_t flags;
	int rc = 0;

	if (!key_type_of(ca->signer.key)) {
		rc = err_set(e, ERR_CA_INVALID,
			     "CA key %s: AWS IoT registers CAs with RSA "
			     "2048/3072/4096 or EC P-256/P-384 keys",
			     key_path);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(ca->cert), ca->signer.key) != 1) {
		if (strncmp(key_path, "pkcs11:", 7) == 0)
			rc = err_set(e, ERR_CA_INVALID,
				     "key in the token does not match "
				     "ca.certificate %s (key %s)",
				     cert_path, key_path);
		else
			rc = err_set(e, ERR_CA_INVALID,
				     "ca.certificate %s does not match the key "
				     "%s",
				     cert_path, key_path);
		ERR_clear_error();
		goto out;
	}
	/* Trap: the extension flags are only filled in once something has
	 * made OpenSSL cache the extensions; X509_check_purpose(x, -1, 0)
	 * does exactly that. */
	X509_check_purpose(ca->cert, -1, 0);
	flags = X509_get_extension_flags(ca->cert);
	if (flags & EXFLAG_INVALID) {
		rc = err_set(
		    e, ERR_CA_INVALID,
		    "ca.certificate %s has extensions that do not decode",
		    cert_path);
		goto out;
	}
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA)) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.certificate %s is not a CA: it lacks "
			     "basicConstraints CA:TRUE (RFC 5280 4.2.1.9)",
			     cert_path);
		goto out;
	}
	if (!(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN)) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.certificate %s may not sign certificates: "
			     "keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)",
			     cert_path);
		goto out;
	}
	/* Device certificates carry authorityKeyIdentifier keyid = this. */
	if (!X509_get0_subject_key_id(ca->cert)) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.certificate %s lacks subjectKeyIdentifier, "
			     "which RFC 5280 4.2.1.2 requires of a CA",
			     cert_path);
		goto out;
	}
	if (x509_time_to_time_t(X509_get0_notBefore(ca->cert), &nb) < 0 ||
	    x509_time_to_time_t(X509_get0_notAfter(ca->cert), &na) < 0) {
		rc = err_set(e, ERR_CA_INVALID,
			     "ca.certificate %s: validity does not decode",
			     cert_path);
		goto out;
	}
	if (now < nb) {
		time_rfc3339(nb, when);
		rc = err_set(
		    e, ERR_CA_INVALID,
		    "ca.certificate %s is not valid until %s (check the clock)",
		    cert_path, when);
		goto out;
	}
	if (now > na) {
		time_rfc3339(na, when);
		rc =
		    err_set(e, ERR_CA_INVALID,
			    "ca.certificate %s expired on %s", cert_path, when);
		goto out;
	}
out:
	return rc;
}

/* ca->chain as PEM text, once. */
static int encode_chain(struct ca *ca, struct errd *e)
{
	BIO *b = NULL;
	int i, rc = 0;

	b = BIO_new(BIO_s_mem());
	if (!b) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sk_X509_num(ca->chain); i++) {
		if (!PEM_write_bio_X509(b, sk_X509_value(ca->chain, i))) {
			rc =
			    err_set(e, ERR_INTERNAL, "cannot encode the chain");
			err_add_openssl(e);
			goto out;
		}
	}
	ca->chain_pem = x509_bio_strdup(b, &ca->chain_pem_len);
	if (!ca->chain_pem)
		rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	BIO_free(b);
	return rc;
}

/* The encodings every certificate copies: the AlgorithmIdentifier this
 * key signs with (from a real signature over a copy of the CA certificate,
 * so it is what X509_sign writes for this key and digest, PKCS#11 or
 * file),
 * the CA's subject as issuer, and authorityKeyIdentifier as OpenSSL's
 * "keyid:always" makes it from the CA certificate. */
static int encode_issuer(struct ca *ca, struct errd *e)
{
	X509 *x = X509_dup(ca->cert), *y = X509_new();
	int n, rc = 0;

	if (!x || !y) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = x509_add_ext(y, ca->cert, NID_authority_key_identifier,
			  "keyid:always", e);
	if (rc == 0)
		rc = ca_sign_cert(ca, x, e);
	if (rc < 0)
		goto out;
	n = i2d_X509_ALGOR(X509_get0_tbs_sigalg(x), &ca->sigalg);
	ca->sigalg_len = n > 0 ? (size_t)n : 0;
	n = i2d_X509_NAME(X509_get_subject_name(ca->cert), &ca->issuer);
	ca->issuer_len = n > 0 ? (size_t)n : 0;
	n = i2d_X509_EXTENSION(X509_get_ext(y, 0), &ca->aki);
	ca->aki_len = n > 0 ? (size_t)n : 0;
	if (!ca->sigalg_len || !ca->issuer_len || !ca->aki_len) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the issuer");
		err_add_openssl(e);
	}
out:
	X509_free(x);
	X509_free(y);
	return rc;
}

void ca_get0_der(const struct ca *ca, struct ca_der *out)
{
	out->sigalg = ca->sigalg;
	out->sigalg_len = ca->sigalg_len;
	out->issuer = ca->issuer;
	out->issuer_len = ca->issuer_len;
	out->aki = ca->aki;
	out->aki_len = ca->aki_len;
}

int ca_open(const struct ca_cfg *cfg, struct ca **out, struct errd *e)
{
	struct ca *ca = NULL;
	char *cred_key = NULL;
	const char *key_path;
	int rc;

	*out = NULL;
	ca = calloc(1, sizeof(*ca));
	if (!ca) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (pthread_rwlock_init(&ca->lock, NULL) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot create a lock");
		goto out;
	}
	ca->lock_ok = 1;
	atomic_init(&ca->need_reopen, 0);
	rc = load_cert(cfg->certificate, &ca->cert, e);
	if (rc < 0)
		goto out;
	rc = load_chain(ca, cfg->chain, e);
	if (rc < 0)
		goto out;

	cred_key = credential_path("ca.key");
	key_path = cred_key ? cred_key : cfg->key;
	if (!key_path) {
		rc = err_set(e, ERR_CA_INVALID, "ca.key is not set");
		goto out;
	}
	if (!cred_key && strncmp(key_path, "pkcs11:", 7) == 0)
		rc = p11_signer_open(cfg, &ca->signer, e);
	else
		rc = load_file_key(cfg, key_path, &ca->signer, e);
	if (rc < 0)
		goto out;

	rc = check_ca(ca, cfg->certificate, key_path, e);
	if (rc == 0)
		rc = check_chain(ca, cfg->chain, e);
	if (rc < 0)
		goto out;
	ca->md = key_md(ca->signer.key);
	rc = ca_selftest(ca, e);
	if (rc < 0) {
		/* Start-up names the failed check; /readyz keeps the plain
		 * message. */
		char why[sizeof(e->msg)];

		if (e) {
			snprintf(why, sizeof(why), "%s", e->msg);
			err_set(e, ERR_SIGNER_UNAVAILABLE,
				"test signature failed: %s", why);
		}
		goto out;
	}
	rc = encode_chain(ca, e);
	if (rc == 0)
		rc = encode_issuer(ca, e);
	if (rc == 0 && x509_certificate_id(ca->cert, ca->id) < 0)
		rc = err_set(e, ERR_INTERNAL, "cannot hash the CA certificate");
	if (rc < 0)
		goto out;
	*out = ca;
	ca = NULL;
out:
	free(cred_key);
	ca_free(ca);
	return rc;
}

X509 *ca_get0_cert(const struct ca *ca)
{
	return ca->cert;
}

STACK_OF(X509) * ca_get0_chain(const struct ca *ca)
{
	return ca->chain;
}

const char *ca_chain_pem(const struct ca *ca, size_t *len)
{
	if (len)
		*len = ca->chain_pem_len;
	return ca->chain_pem;
}

const char *ca_certificate_id(const struct ca *ca)
{
	return ca->id;
}

const EVP_MD *ca_md(const struct ca *ca)
{
	return ca->md;
}

/* Takes the read lock for one signature, reopening the signer first (under
 * the write lock) when the previous signature failed and it can reopen. */
static int sign_begin(struct ca *ca, struct errd *e)
{
	int rc = 0;

	if (atomic_load(&ca->need_reopen) && ca->signer.reopen) {
		pthread_rwlock_wrlock(&ca->lock);
		if (atomic_load(&ca->need_reopen)) {
			rc = ca->signer.reopen(&ca->signer, e);
			if (rc == 0)
				atomic_store(&ca->need_reopen, 0);
		}
		pthread_rwlock_unlock(&ca->lock);
		if (rc < 0)
			goto out;
	}
	pthread_rwlock_rdlock(&ca->lock);
out:
	return rc;
}

/* Ends a signature: ok 0 marks the signer for reopening. */
static int sign_end(struct ca *ca, int ok, const char *what, struct errd *e)
{
	int rc = 0;

	pthread_rwlock_unlock(&ca->lock);
	if (!ok) {
		atomic_store(&ca->need_reopen, 1);
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "the CA key could not sign %s", what);
		err_add_openssl(e);
	}
	return rc;
}

int ca_sign_cert(struct ca *ca, X509 *x, struct errd *e)
{
	int rc;

	rc = sign_begin(ca, e);
	if (rc < 0)
		goto out;
	rc = sign_end(ca, X509_sign(x, ca->signer.key, ca->md) > 0,
		      "a certificate", e);
out:
	return rc;
}

int ca_sign_data(struct ca *ca, const unsigned char *tbs, size_t len,
		 unsigned char *sig, size_t *sig_len, struct errd *e)
{
	EVP_MD_CTX *mctx = NULL;
	int rc, ok;

	rc = sign_begin(ca, e);
	if (rc < 0)
		return rc;
	mctx = EVP_MD_CTX_new();
	ok = mctx &&
	     EVP_DigestSignInit_ex(mctx, NULL, EVP_MD_get0_name(ca->md), NULL,
				   NULL, ca->signer.key, NULL) == 1 &&
	     EVP_DigestSign(mctx, sig, sig_len, tbs, len) == 1;
	EVP_MD_CTX_free(mctx);
	return sign_end(ca, ok, "a certificate", e);
}

int ca_sign_crl(struct ca *ca, X509_CRL *crl, struct errd *e)
{
	int rc;

	rc = sign_begin(ca, e);
	if (rc < 0)
		goto out;
	rc = sign_end(ca, X509_CRL_sign(crl, ca->signer.key, ca->md) > 0,
		      "a CRL", e);
out:
	return rc;
}

int ca_selftest(struct ca *ca, struct errd *e)
{
	static const unsigned char msg[] =
	    "thingca self-test: the CA key signs and the certificate verifies";
	EVP_MD_CTX *sctx = NULL, *vctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc, ok, v;

	rc = sign_begin(ca, e);
	if (rc < 0)
		goto out;
	sctx = EVP_MD_CTX_new();
	ok =
	    sctx &&
	    EVP_DigestSignInit(sctx, NULL, ca->md, NULL, ca->signer.key) == 1 &&
	    EVP_DigestSign(sctx, NULL, &siglen, msg, sizeof(msg)) == 1 &&
	    (sig = OPENSSL_malloc(siglen)) != NULL &&
	    EVP_DigestSign(sctx, sig, &siglen, msg, sizeof(msg)) == 1;
	rc = sign_end(ca, ok, "a test message", e);
	if (rc < 0)
		goto out;
	/* Three outcomes again: 1 verifies, 0 mismatch, < 0 error. */
	vctx = EVP_MD_CTX_new();
	v = -1;
	if (vctx && EVP_DigestVerifyInit(vctx, NULL, ca->md, NULL,
					 X509_get0_pubkey(ca->cert)) == 1)
		v = EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg));
	if (v != 1) {
		rc = err_set(
		    e, ERR_SIGNER_UNAVAILABLE,
		    v == 0 ? "the CA key's test signature does not verify with "
			     "the CA certificate"
			   : "the CA key's test signature cannot be verified");
		err_add_openssl(e);
		goto out;
	}
out:
	EVP_MD_CTX_free(sctx);
	EVP_MD_CTX_free(vctx);
	OPENSSL_free(sig);
	return rc;
}

long ca_days_left(const struct ca *ca)
{
	time_t na, now = time(NULL);
	long long diff;
	long days = 0;

	if (x509_time_to_time_t(X509_get0_notAfter(ca->cert), &na) < 0)
		goto out;
	diff = (long long)na - (long long)now;
	/* Floor, so a CA that expired an hour ago has -1 days, not 0. */
	days = (long)(diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400));
out:
	return days;
}

/* 1 when req's extensionRequest holds basicConstraints CA:TRUE. */
static int csr_requests_ca(X509_REQ *req)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	BASIC_CONSTRAINTS *bc = NULL;
	int crit = 0, yes = 0;

	if (exts)
		bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
	if (bc && bc->ca)
		yes = 1;
	BASIC_CONSTRAINTS_free(bc);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return yes;
}

/* The checks of ca_sign_issuing on the CSR and its subject. */
static int check_issuing_csr(struct ca *root, X509_REQ *req,
			     const X509_NAME *subject, struct errd *e)
{
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
	int rc = 0, v;

	if (!pk) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the CSR's public key cannot be read");
		err_add_openssl(e);
		goto out;
	}
	/* Three outcomes: 1 verifies, 0 mismatch, < 0 error. */
	v = X509_REQ_verify(req, pk);
	if (v != 1) {
		rc = err_set(
		    e, v == 0 ? ERR_CSR_SIGNATURE_INVALID : ERR_MALFORMED_CSR,
		    v == 0 ? "the CSR's signature does not verify with "
			     "its own key (RFC 2986 proof of "
			     "possession)"
			   : "the CSR's signature cannot be checked");
		err_add_openssl(e);
		goto out;
	}
	if (!key_type_of(pk)) {
		rc = err_set(e, ERR_KEY_TYPE_NOT_ALLOWED,
			     "the CSR's key is not one AWS IoT registers as a "
			     "CA: RSA 2048/3072/4096 or EC P-256/P-384");
		goto out;
	}
	if (EVP_PKEY_eq(pk, X509_get0_pubkey(root->cert)) == 1) {
		rc = err_set(e, ERR_KEY_TYPE_NOT_ALLOWED,
			     "the CSR's key is the root's own: an issuing CA "
			     "needs a key of its own (thingca ca csr)");
		goto out;
	}
	ERR_clear_error();
	if (!csr_requests_ca(req)) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the CSR does not request a CA (no "
			     "basicConstraints CA:TRUE, RFC 5280 4.2.1.9): a "
			     "device or server CSR? Make the issuing CA's CSR "
			     "with thingca ca csr");
		goto out;
	}
	/* Trap: X509_get_pathlen reads the cached extensions; check_ca made
	 * OpenSSL cache them at ca_open. */
	if (X509_get_pathlen(root->cert) == 0) {
		rc =
		    err_set(e, ERR_CA_INVALID,
			    "the root's pathLenConstraint 0 allows no CA below "
			    "it (RFC 5280 4.2.1.9): is it an issuing CA? Sign "
			    "with the root");
		goto out;
	}
	if (X509_NAME_entry_count(subject) == 0) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the issuing CA's subject is empty (RFC 5280 "
			     "4.1.2.6: a CA's subject is a non-empty name); "
			     "give --subject");
		goto out;
	}
	if (X509_NAME_cmp(subject, X509_get_subject_name(root->cert)) == 0) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the issuing CA's subject is the root's: a "
			     "certificate whose subject is its issuer's is "
			     "self-issued (RFC 5280 6.1); give it a name of "
			     "its own with --subject");
		goto out;
	}
out:
	return rc;
}

int ca_sign_issuing(struct ca *root, X509_REQ *req, const X509_NAME *subject,
		    long days, X509 **out, struct errd *e)
{
	const X509_NAME *name =
	    subject ? subject : X509_REQ_get_subject_name(req);
	char when[21];
	time_t now = time(NULL), rnb, rna, nb, na;
	X509 *x = NULL;
	int rc, v;

	*out = NULL;
	rc = check_issuing_csr(root, req, name, e);
	if (rc < 0)
		goto out;
	if (days < 0 || days > CA_ISSUING_DAYS_MAX) {
		rc = err_set(e, ERR_CA_INVALID, "days: expected 1 to %ld",
			     CA_ISSUING_DAYS_MAX);
		goto out;
	}
	if (x509_time_to_time_t(X509_get0_notBefore(root->cert), &rnb) < 0 ||
	    x509_time_to_time_t(X509_get0_notAfter(root->cert), &rna) < 0) {
		rc = err_set(e, ERR_CA_INVALID,
			     "the root's validity does not decode");
		goto out;
	}
	nb = now - CA_ISSUING_BACKDATE_S;
	if (nb < rnb)
		nb = rnb;
	na = days ? now + (time_t)days * 86400 : rna;
	/* RFC 5280 6.1.3: a path is valid only while every certificate in it
	 * is; an issuing CA outliving its root would stop working early. */
	if (na > rna) {
		time_rfc3339(rna, when);
		rc =
		    err_set(e, ERR_CA_INVALID,
			    "%ld days would outlive the root (notAfter %s): at "
			    "most %ld days, or leave --days out for the "
			    "root's end",
			    days, when, (long)((rna - now) / 86400));
		goto out;
	}
	rc = x509_new_cert(name, X509_get_subject_name(root->cert),
			   X509_REQ_get0_pubkey(req), nb, na, &x, e);
	if (rc == 0)
		rc = x509_add_ext(x, root->cert, NID_basic_constraints,
				  "critical,CA:TRUE,pathlen:0", e);
	if (rc == 0)
		rc = x509_add_ext(x, root->cert, NID_key_usage,
				  "critical,keyCertSign,cRLSign", e);
	if (rc == 0)
		rc = x509_add_ext(x, root->cert, NID_subject_key_identifier,
				  "hash", e);
	if (rc == 0)
		rc = x509_add_ext(x, root->cert, NID_authority_key_identifier,
				  "keyid:always", e);
	if (rc == 0)
		rc = ca_sign_cert(root, x, e);
	if (rc < 0)
		goto out;
	/* The root (perhaps a token) signed: prove it before anyone registers
	 * the result. */
	v = X509_verify(x, X509_get0_pubkey(root->cert));
	if (v != 1) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "the root's signature on the issuing CA does not "
			     "verify with the root certificate");
		err_add_openssl(e);
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_free(x);
	return rc;
}
