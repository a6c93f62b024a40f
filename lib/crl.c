/*
 * crl — CRL v2 with crlNumber and authorityKeyIdentifier (RFC 5280 5.2.1,
 * 5.2.3), one entry per revoked certificate with its reasonCode (5.3.1).
 *
 * The crlNumber must increase with every CRL issued (RFC 5280 5.2.3); we use
 * max(previous + 1, now in seconds), which also increases across restarts.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crl.h"
#include "util.h"
#include "x509.h"

struct crl_cache {
	pthread_mutex_t lock;
	long next_update_hours;
	unsigned char *der;
	size_t der_len;
	int64_t max_seq; /* newest revocation the cached CRL holds */
	time_t built;
	int64_t number;
};

struct crl_cache *crl_cache_new(long next_update_hours)
{
	struct crl_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->next_update_hours = next_update_hours;
	c->max_seq = -1;
	return c;
}

void crl_cache_free(struct crl_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->der);
	free(c);
}

/* RFC 5280 5.3.1 CRLReason of a ledger entry's reason. Revocations are
 * refused unless they give an RFC name (stored as the RFC spells it);
 * entries written before that may hold other text, and the two spellings
 * below, which earlier versions mapped, keep their code. */
static int reason_code(const char *r)
{
	static const struct {
		const char *name;
		int code;
	} legacy[] = {
	    {"key_compromise", CRL_REASON_KEY_COMPROMISE},
	    {"cessation_of_operation", CRL_REASON_CESSATION_OF_OPERATION},
	};
	int code = crl_reason_code(r);
	size_t i;

	for (i = 0; code < 0 && r && i < sizeof(legacy) / sizeof(legacy[0]);
	     i++)
		if (strcasecmp(r, legacy[i].name) == 0)
			code = legacy[i].code;
	return code < 0 ? CRL_REASON_UNSPECIFIED : code;
}

struct build {
	X509_CRL *crl;
	int rc;
};

static int add_revoked(void *arg, const char *serial_hex, const char *when,
		       const char *reason)
{
	struct build *b = arg;
	X509_REVOKED *r = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *rc = NULL;
	time_t tt;
	int code = reason_code(reason);

	if (!r || !BN_hex2bn(&bn, serial_hex) ||
	    !(sn = BN_to_ASN1_INTEGER(bn, NULL)) ||
	    time_parse_rfc3339(when, &tt) < 0 ||
	    !(t = ASN1_TIME_set(NULL, tt)) ||
	    !X509_REVOKED_set_serialNumber(r, sn) ||
	    !X509_REVOKED_set_revocationDate(r, t))
		goto fail;
	/* RFC 5280 5.3.1: reasonCode unspecified SHOULD be absent. */
	if (code != CRL_REASON_UNSPECIFIED) {
		rc = ASN1_ENUMERATED_new();
		if (!rc || !ASN1_ENUMERATED_set(rc, code) ||
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, rc, 0, 0))
			goto fail;
	}
	if (!X509_CRL_add0_revoked(b->crl, r))
		goto fail;
	r = NULL;
	ASN1_ENUMERATED_free(rc);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return 0;
fail:
	ASN1_ENUMERATED_free(rc);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_REVOKED_free(r);
	b->rc = -ERR_INTERNAL;
	return 1;
}

static int build(struct crl_cache *c, struct ca *ca, struct ledger *l,
		 struct errd *e)
{
	X509 *cacert = ca_get0_cert(ca);
	struct build b = {X509_CRL_new(), 0};
	ASN1_TIME *now = NULL, *next = NULL;
	ASN1_INTEGER *num = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *aki = NULL;
	unsigned char *der = NULL;
	int64_t max_seq = 0, number;
	time_t t = time(NULL);
	int rc = 0, len;

	if (!b.crl)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = ledger_revocations(l, add_revoked, &b, &max_seq, e);
	if (rc == 0 && b.rc)
		rc = err_set(e, ERR_INTERNAL, "cannot add a revoked entry");
	if (rc)
		goto out;
	number = (int64_t)t > c->number ? (int64_t)t : c->number + 1;
	now = ASN1_TIME_set(NULL, t);
	next = ASN1_TIME_set(NULL, t + c->next_update_hours * 3600);
	num = ASN1_INTEGER_new();
	X509V3_set_ctx(&ctx, cacert, NULL, NULL, b.crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
				  "keyid:always");
	if (!now || !next || !num || !aki ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_set_version(b.crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(b.crl, X509_get_subject_name(cacert)) ||
	    !X509_CRL_set1_lastUpdate(b.crl, now) ||
	    !X509_CRL_set1_nextUpdate(b.crl, next) ||
	    !X509_CRL_add_ext(b.crl, aki, -1) ||
	    !X509_CRL_add1_ext_i2d(b.crl, NID_crl_number, num, 0, 0)) {
		rc = err_set(e, ERR_INTERNAL, "cannot build the CRL");
		err_add_openssl(e);
		goto out;
	}
	X509_CRL_sort(b.crl);
	rc = ca_sign_crl(ca, b.crl, e);
	if (rc)
		goto out;
	len = i2d_X509_CRL(b.crl, &der);
	if (len <= 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the CRL");
		goto out;
	}
	free(c->der);
	c->der = malloc((size_t)len);
	if (!c->der) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(c->der, der, (size_t)len);
	c->der_len = (size_t)len;
	c->max_seq = max_seq;
	c->built = t;
	c->number = number;
out:
	OPENSSL_free(der);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(b.crl);
	return rc;
}

/* Newest revocation seq in the ledger, cheaply: the callback stops at once
 * and only max_seq is wanted. */
static int count_only(void *arg, const char *s, const char *t, const char *r)
{
	(void)arg;
	(void)s;
	(void)t;
	(void)r;
	return 0;
}

int crl_get(struct crl_cache *c, struct ca *ca, struct ledger *l, int pem,
	    unsigned char **out, size_t *len, struct errd *e)
{
	int64_t max_seq = 0;
	int rc = 0;
	time_t now = time(NULL);

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&c->lock);
	rc = ledger_revocations(l, count_only, NULL, &max_seq, e);
	if (rc)
		goto out;
	if (!c->der || max_seq != c->max_seq ||
	    now - c->built > c->next_update_hours * 3600 / 2) {
		rc = build(c, ca, l, e);
		if (rc)
			goto out;
	}
	if (!c->der) {
		rc = err_set(e, ERR_INTERNAL, "no CRL was built");
		goto out;
	}
	if (pem) {
		const unsigned char *p = c->der;
		X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)c->der_len);
		BIO *b = BIO_new(BIO_s_mem());

		if (!crl || !b || !PEM_write_bio_X509_CRL(b, crl)) {
			rc = err_set(e, ERR_INTERNAL, "cannot encode the CRL");
		} else {
			*out = (unsigned char *)x509_bio_strdup(b, len);
			if (!*out)
				rc = err_set(e, ERR_NOMEM, "out of memory");
		}
		BIO_free(b);
		X509_CRL_free(crl);
		goto out;
	}
	*out = malloc(c->der_len);
	if (!*out) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, c->der, c->der_len);
	*len = c->der_len;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}
