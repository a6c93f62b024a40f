/*
 * csr — PKCS#10 certificate requests (RFC 2986) as stations send them.
 *
 * A request is parsed strictly (one PEM block or exact DER, bounded size),
 * its key must be sent as its canonical DER (or one of two encodings
 * re-encoded, spki.c) and not be an RSA key no generator makes, its
 * self-signature is checked (proof of possession), and its key is
 * classified against the device key types AWS IoT accepts. Only the public
 * key is ever used for issuance; the subject, attributes and requested
 * extensions are never copied (DESIGN.md "Device certificate profile").
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"
#include "csr_asn1.h"
#include "key.h"
#include "spki.h"
#include "util.h"
#include "x509.h"

/* PEM is base64 (4/3 of the DER) plus line breaks, boundaries and any
 * explanatory text before them (RFC 7468 2): twice CSR_MAX_DER bounds it. */
#define CSR_MAX_PEM ((size_t)2 * CSR_MAX_DER)

struct csr {
	CSR_REQ *req;
	EVP_PKEY *pub;
	unsigned type; /* enum key_type bit, 0 when unknown */
	int rsa;       /* an RSA key (of any size) */
	BIGNUM *n, *e; /* RSA: its numbers, when built directly */
	int curve;     /* EC P-256 / P-384: the curve's NID, else NID_undef */
	/* The key's canonical SubjectPublicKeyInfo (spki.h) for the keys
	 * thingca certifies, the one the certificate carries and spki
	 * hashes; any other key as received. */
	unsigned char *spki_der;
	size_t spki_der_len;
	char spki[65];
};

void csr_free(struct csr *c)
{
	if (!c)
		return;
	ASN1_item_free((ASN1_VALUE *)c->req, ASN1_ITEM_rptr(CSR_REQ));
	EVP_PKEY_free(c->pub);
	BN_free(c->n);
	BN_free(c->e);
	OPENSSL_free(c->spki_der);
	free(c);
}

/* Domain parameters of the two curves AWS IoT accepts, made once: a key
 * copied from them costs a few microseconds, one built from a curve name
 * (EVP_PKEY_fromdata, or the decoder) constructs the group each time. */
static EVP_PKEY *curve_params[2]; /* P-256, P-384 */
static pthread_once_t curve_once = PTHREAD_ONCE_INIT;

static void curve_init(void)
{
	static const char *const names[2] = {"P-256", "P-384"};
	EVP_PKEY_CTX *ctx;
	size_t i;

	for (i = 0; i < 2; i++) {
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (!ctx || EVP_PKEY_paramgen_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_group_name(ctx, names[i]) <= 0 ||
		    EVP_PKEY_paramgen(ctx, &curve_params[i]) <= 0)
			curve_params[i] = NULL; /* keys decode the slow way */
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
}

static EVP_PKEY *ec_direct(const ASN1_OBJECT *curve, const ASN1_STRING *pt,
			   unsigned *type)
{
	EVP_PKEY *k;
	int i;

	switch (OBJ_obj2nid(curve)) {
	case NID_X9_62_prime256v1:
		i = 0;
		*type = KEY_EC_P256;
		break;
	case NID_secp384r1:
		i = 1;
		*type = KEY_EC_P384;
		break;
	default:
		return NULL;
	}
	pthread_once(&curve_once, curve_init);
	k = curve_params[i] ? EVP_PKEY_dup(curve_params[i]) : NULL;
	/* Decodes the point and checks it is on the curve. */
	if (k && EVP_PKEY_set1_encoded_public_key(
		     k, ASN1_STRING_get0_data(pt),
		     (size_t)ASN1_STRING_length(pt)) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* A positive INTEGER as a BIGNUM pushed onto bld; 1 on success. */
static int push_positive(OSSL_PARAM_BLD *bld, const char *key,
			 const ASN1_INTEGER *v, BIGNUM **bn)
{
	if (ASN1_STRING_type(v) != V_ASN1_INTEGER || ASN1_STRING_length(v) < 1)
		return 0;
	*bn = ASN1_INTEGER_to_BN(v, NULL);
	return *bn && !BN_is_zero(*bn) && OSSL_PARAM_BLD_push_BN(bld, key, *bn);
}

static EVP_PKEY *rsa_direct(const ASN1_STRING *bits, unsigned *type,
			    BIGNUM **nout, BIGNUM **eout)
{
	const unsigned char *p = ASN1_STRING_get0_data(bits);
	long len = ASN1_STRING_length(bits);
	CSR_RSA *rsa;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *n = NULL, *e = NULL;
	const unsigned char *end = p + len;

	rsa = (CSR_RSA *)ASN1_item_d2i(NULL, &p, len, ASN1_ITEM_rptr(CSR_RSA));
	if (!rsa || p != end)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !push_positive(bld, OSSL_PKEY_PARAM_RSA_N, rsa->n, &n) ||
	    !push_positive(bld, OSSL_PKEY_PARAM_RSA_E, rsa->e, &e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	*type = key_type_of(k);
	*nout = n;
	*eout = e;
	n = e = NULL;
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(CSR_RSA));
	return k;
}

/* The request's public key into c->pub (NULL when it cannot be decoded),
 * c->type, and for RSA keys built directly c->n and c->e. EC keys on P-256
 * / P-384 (named curve) and RSA keys (rsaEncryption with NULL or absent
 * parameters), the types thingca certifies, are built directly; any other
 * SubjectPublicKeyInfo (a key type to refuse by name, explicit curve
 * parameters, unused bits, odd encodings) goes through OpenSSL's general
 * decoder, exactly as d2i_X509_REQ would decode it. */
static void csr_pubkey(struct csr *c)
{
	const CSR_SPKI *spki = c->req->info->spki;
	unsigned *type = &c->type;
	const ASN1_STRING *bits = spki->key;
	const ASN1_OBJECT *oid;
	const void *pval;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *k = NULL;
	int ptype, len;

	*type = 0;
	X509_ALGOR_get0(&oid, &ptype, &pval, spki->algor);
	if (!(bits->flags & 7)) {
		if (OBJ_obj2nid(oid) == NID_X9_62_id_ecPublicKey &&
		    ptype == V_ASN1_OBJECT)
			k = ec_direct(pval, bits, type);
		else if (OBJ_obj2nid(oid) == NID_rsaEncryption &&
			 (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF))
			k = rsa_direct(bits, type, &c->n, &c->e);
	}
	if (k)
		goto out;
	ERR_clear_error();
	*type = 0;
	len = ASN1_item_i2d((const ASN1_VALUE *)spki, &der,
			    ASN1_ITEM_rptr(CSR_SPKI));
	p = der;
	if (len > 0)
		k = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	if (k)
		*type = key_type_of(k);
out:
	c->pub = k;
	c->rsa = k && EVP_PKEY_is_a(k, "RSA");
	c->curve = *type == KEY_EC_P256	  ? NID_X9_62_prime256v1
		   : *type == KEY_EC_P384 ? NID_secp384r1
					  : NID_undef;
}

/* Why the received SubjectPublicKeyInfo of an RSA or EC key is not the
 * key's canonical DER nor an encoding csr_canonical_key re-encodes. */
static int not_canonical(const struct csr *c, struct errd *e)
{
	const CSR_SPKI *spki = c->req->info->spki;
	const unsigned char *bits, *want;
	size_t blen, wlen;
	int ptype;

	X509_ALGOR_get0(NULL, &ptype, NULL, spki->algor);
	if (c->rsa && ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return err_set(e, ERR_MALFORMED_CSR,
			       "the CSR's rsaEncryption parameters are not "
			       "NULL (RFC 3279 2.3.1)");
	if (spki->key->flags & 7)
		return err_set(e, ERR_MALFORMED_CSR,
			       "the CSR's subjectPublicKey BIT STRING has "
			       "unused bits; a key is whole octets (RFC 3279 "
			       "2.3.1, RFC 5480 2.2)");
	if (c->rsa &&
	    spki_get0_bits(c->spki_der, c->spki_der_len, &want, &wlen) == 0) {
		bits = ASN1_STRING_get0_data(spki->key);
		blen = (size_t)ASN1_STRING_length(spki->key);
		if (blen != wlen || memcmp(bits, want, wlen) != 0)
			return err_set(
			    e, ERR_MALFORMED_CSR,
			    "the CSR's RSAPublicKey is not DER (X.690 10, RFC "
			    "3279 2.3.1): bytes after it, a padded INTEGER or "
			    "a non-minimal length");
	}
	return err_set(e, ERR_MALFORMED_CSR,
		       "the CSR's SubjectPublicKeyInfo is not DER (X.690 10): "
		       "a non-minimal or indefinite length");
}

/* 1 when the received encoding raw is exactly want's len octets. */
static int same(const ASN1_ENCODING *raw, const unsigned char *want, size_t len)
{
	return raw->enc && (size_t)raw->len == len &&
	       memcmp(raw->enc, want, len) == 0;
}

/* One key, one SubjectPublicKeyInfo (DESIGN.md "Device certificate
 * profile"). For RSA and P-256 / P-384 keys, c->spki_der becomes the key's
 * canonical DER; the received SubjectPublicKeyInfo must be exactly that,
 * or differ only in what a real device may send and the key itself
 * settles: an EC point compressed or hybrid (SEC 1 2.3.3, X9.62), RSA
 * parameters left out (RFC 3279 2.3.1 says NULL; some encoders omit them).
 * Those are re-encoded. Anything else (junk parameters, bytes after the
 * key, padded or long-form INTEGERs, non-minimal lengths) is refused: it
 * is no key generator's output, and would otherwise give one key several
 * hashes. Other keys (refused by csr_check_key) keep the received bytes.
 * 0, -ERR_MALFORMED_CSR or -ERR_NOMEM / -ERR_INTERNAL. */
static int csr_canonical_key(struct csr *c, struct errd *e)
{
	const CSR_SPKI *spki = c->req->info->spki;
	const ASN1_ENCODING *raw = &spki->enc;
	const unsigned char *pt = ASN1_STRING_get0_data(spki->key);
	size_t pt_len = (size_t)ASN1_STRING_length(spki->key), alt_len = 0;
	unsigned char *alt = NULL;
	int rc = 0, form = pt_len ? pt[0] & ~1 : 0;

	if (!raw->enc || raw->len <= 0)
		return err_set(e, ERR_INTERNAL,
			       "the CSR's key encoding was not kept");
	if (c->rsa) {
		if ((!c->n || !c->e) &&
		    (!EVP_PKEY_get_bn_param(c->pub, OSSL_PKEY_PARAM_RSA_N,
					    &c->n) ||
		     !EVP_PKEY_get_bn_param(c->pub, OSSL_PKEY_PARAM_RSA_E,
					    &c->e))) {
			rc = err_set(e, ERR_MALFORMED_CSR,
				     "the CSR's RSA key cannot be read");
			goto out;
		}
		rc =
		    spki_rsa_der(c->n, c->e, 1, &c->spki_der, &c->spki_der_len);
		if (rc == 0 && !same(raw, c->spki_der, c->spki_der_len)) {
			rc = spki_rsa_der(c->n, c->e, 0, &alt, &alt_len);
			if (rc == 0 && !same(raw, alt, alt_len))
				rc = not_canonical(c, e);
		}
	} else if (c->curve != NID_undef) {
		/* Uncompressed and decoded (on the curve, of the exact
		 * length): the received point is the canonical one. */
		if (form == POINT_CONVERSION_UNCOMPRESSED &&
		    !(spki->key->flags & 7))
			rc = spki_ec_der(c->curve, pt, pt_len, &c->spki_der,
					 &c->spki_der_len);
		else
			rc = spki_of_pkey(c->pub, &c->spki_der,
					  &c->spki_der_len);
		if (rc == 0 && !same(raw, c->spki_der, c->spki_der_len)) {
			rc = form == POINT_CONVERSION_COMPRESSED ||
				     form == POINT_CONVERSION_HYBRID
				 ? spki_ec_der(c->curve, pt, pt_len, &alt,
					       &alt_len)
				 : -ERR_MALFORMED_CSR;
			if (rc == 0 &&
			    (spki->key->flags & 7 || !same(raw, alt, alt_len)))
				rc = -ERR_MALFORMED_CSR;
			if (rc == -ERR_MALFORMED_CSR)
				rc = not_canonical(c, e);
		}
		/* The EVP_PKEY encodes as the certificate does, too. */
		if (rc == 0 && form != POINT_CONVERSION_UNCOMPRESSED &&
		    !EVP_PKEY_set_utf8_string_param(
			c->pub, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
			rc = -ERR_INTERNAL;
	} else {
		c->spki_der = OPENSSL_memdup(raw->enc, (size_t)raw->len);
		c->spki_der_len = (size_t)raw->len;
		rc =
		    c->spki_der ? key_spki_sha256(c->pub, c->spki) : -ERR_NOMEM;
		goto out;
	}
	if (rc == 0)
		sha256_hex(c->spki_der, c->spki_der_len, c->spki);
out:
	OPENSSL_free(alt);
	ERR_clear_error();
	/* Every malformed_csr above has its message; the rest is ours. */
	if (rc < 0 && rc != -ERR_MALFORMED_CSR)
		rc = err_set(e, -rc, "the CSR's public key cannot be encoded");
	return rc;
}

int csr_parse_der(const unsigned char *der, size_t len, struct csr **out,
		  struct errd *e)
{
	const unsigned char *p = der;
	struct csr *c = NULL;
	int rc = 0, v;

	*out = NULL;
	if (len == 0 || len > CSR_MAX_DER) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR is %zu bytes of DER; expected 1 to %d", len,
			     CSR_MAX_DER);
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	c->req = (CSR_REQ *)ASN1_item_d2i(NULL, &p, (long)len,
					  ASN1_ITEM_rptr(CSR_REQ));
	if (!c->req) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR is not a DER PKCS#10 request (RFC 2986)");
		err_add_openssl(e);
		goto out;
	}
	if (p != der + len) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR has %zu bytes after the request",
			     (size_t)(der + len - p));
		goto out;
	}
	csr_pubkey(c);
	if (!c->pub) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the CSR's public key cannot be decoded");
		err_add_openssl(e);
		goto out;
	}
	rc = csr_canonical_key(c, e);
	if (rc < 0)
		goto out;
	/* Before the signature: with e = 1 it "verifies" without any private
	 * key, and a huge exponent would cost a long exponentiation. The
	 * modulus tests only for the sizes thingca certifies (their cost
	 * grows with the cube of the size; others are refused anyway). */
	if (c->rsa) {
		rc = spki_rsa_check(c->n, c->e, c->type != 0, e);
		if (rc < 0)
			goto out;
	}
	/* RFC 2986 proof of possession, as X509_REQ_verify checks it. Three
	 * outcomes: 1 ok, 0 the signature does not match, < 0 it could not
	 * be checked at all (unknown algorithm, bad encoding). Only 1 passes.
	 */
	v = ASN1_item_verify(ASN1_ITEM_rptr(CSR_INFO), c->req->sig_alg,
			     c->req->signature, c->req->info, c->pub);
	if (v == 0) {
		rc = err_set(e, ERR_CSR_SIGNATURE_INVALID,
			     "the CSR's signature does not verify with its "
			     "public key (RFC 2986 proof of possession)");
		err_add_openssl(e);
		goto out;
	} else if (v < 0) {
		rc = err_set(e, ERR_CSR_SIGNATURE_INVALID,
			     "the CSR's signature cannot be checked");
		err_add_openssl(e);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	csr_free(c);
	return rc;
}

/* 1 when s[0..len) holds only whitespace. */
static int all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return 1;
}

int csr_parse_pem(const char *pem, size_t len, struct csr **out, struct errd *e)
{
	BIO *b = NULL;
	char *name = NULL, *header = NULL, *rest;
	unsigned char *data = NULL;
	long dlen = 0, rlen;
	int rc = 0;

	*out = NULL;
	if (len == 0 || all_space(pem, len)) {
		rc = err_set(e, ERR_MALFORMED_CSR, "CSR is empty");
		goto out;
	}
	if (len > CSR_MAX_PEM) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR is %zu bytes; the limit is %zu", len,
			     CSR_MAX_PEM);
		goto out;
	}
	b = BIO_new_mem_buf(pem, (int)len);
	if (!b) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Skips text before the first boundary (RFC 7468 2 allows it). */
	if (!PEM_read_bio(b, &name, &header, &data, &dlen)) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR is not PEM (expected -----BEGIN CERTIFICATE "
			     "REQUEST-----)");
		err_add_openssl(e);
		goto out;
	}
	if (strcmp(name, PEM_STRING_X509_REQ) != 0 &&
	    strcmp(name, PEM_STRING_X509_REQ_OLD) != 0) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "expected a PEM CERTIFICATE REQUEST, got %.40s",
			     name);
		goto out;
	}
	if (header && header[0]) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR PEM must not carry headers (RFC 7468 2)");
		goto out;
	}
	/* Exactly one block: after the END line only whitespace. A second
	 * request (which one would we certify?) or trailing text is refused. */
	rlen = BIO_get_mem_data(b, &rest);
	if (rlen > 0 && !all_space(rest, (size_t)rlen)) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "CSR has data after its END line; send exactly "
			     "one request");
		goto out;
	}
	rc = csr_parse_der(data, (size_t)dlen, out, e);
out:
	BIO_free(b);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	return rc;
}

int csr_check_key(const struct csr *c, unsigned allowed, struct errd *e)
{
	char found[80], list[128];
	const char *n;
	unsigned bit;
	size_t off = 0;
	int rc = 0;

	if (c->type & allowed)
		goto out;
	list[0] = '\0';
	for (bit = 1; bit <= KEY_RSA_4096; bit <<= 1) {
		if (!(allowed & bit) || !(n = key_type_name(bit)))
			continue;
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					off ? ", " : "", n);
		if (off >= sizeof(list))
			break;
	}
	if (c->type) {
		rc = err_set(e, ERR_KEY_TYPE_NOT_ALLOWED,
			     "key type %s is not allowed by profile.key_types; "
			     "use one of %s",
			     key_type_name(c->type), list[0] ? list : "(none)");
	} else {
		key_describe(c->pub, found, sizeof(found));
		rc = err_set(
		    e, ERR_KEY_TYPE_NOT_ALLOWED,
		    "key type %s is not accepted by AWS IoT; use one of %s",
		    found, list[0] ? list : "(none)");
	}
out:
	return rc;
}

unsigned csr_key_type(const struct csr *c)
{
	return c->type;
}

EVP_PKEY *csr_get0_pubkey(const struct csr *c)
{
	return c->pub;
}

const X509_NAME *csr_get0_subject(const struct csr *c)
{
	return c->req->info->subject;
}

void csr_get0_key(const struct csr *c, struct spki_ref *out)
{
	const ASN1_STRING *bits = c->req->info->spki->key;

	out->der = c->spki_der;
	out->der_len = c->spki_der_len;
	if (spki_get0_bits(c->spki_der, c->spki_der_len, &out->bits,
			   &out->bits_len) < 0) {
		/* A key thingca never certifies, received with unused bits. */
		out->bits = ASN1_STRING_get0_data(bits);
		out->bits_len = (size_t)ASN1_STRING_length(bits);
	}
	out->rsa = c->rsa;
}

const char *csr_spki_sha256(const struct csr *c)
{
	return c->spki;
}
