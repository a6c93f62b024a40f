/*
 * csr — PKCS#10 certificate requests (RFC 2986) as stations send them.
 *
 * A request is parsed strictly (one PEM block or exact DER, bounded size),
 * its self-signature is checked (proof of possession), and its key is
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

#include "config.h"
#include "csr.h"
#include "csr_asn1.h"
#include "util.h"
#include "x509.h"

/* PEM is base64 (4/3 of the DER) plus line breaks, boundaries and any
 * explanatory text before them (RFC 7468 2): twice CSR_MAX_DER bounds it. */
#define CSR_MAX_PEM ((size_t)2 * CSR_MAX_DER)

struct csr {
	CSR_REQ *req;
	EVP_PKEY *pub;
	unsigned type;		 /* enum key_type bit, 0 when unknown */
	unsigned char *spki_der; /* the SubjectPublicKeyInfo, DER */
	size_t spki_der_len;
	char spki[65];
};

void csr_free(struct csr *c)
{
	if (!c)
		return;
	ASN1_item_free((ASN1_VALUE *)c->req, ASN1_ITEM_rptr(CSR_REQ));
	EVP_PKEY_free(c->pub);
	OPENSSL_free(c->spki_der);
	free(c);
}

/* Does this EC key carry explicit curve parameters (RFC 5480 2.1.1
 * forbids them), whatever curve they describe? */
static int ec_explicit(EVP_PKEY *k)
{
	char enc[32];

	return EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
					      enc, sizeof(enc), NULL) &&
	       strcmp(enc, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0;
}

unsigned pkey_key_type(EVP_PKEY *k)
{
	char group[64];
	unsigned t = 0;

	if (!k)
		goto out;
	if (EVP_PKEY_is_a(k, "EC")) {
		/* Only named curves have a group name: explicit curve
		 * parameters (RFC 5480 2.1.1 forbids them) stay unknown. */
		if (!EVP_PKEY_get_utf8_string_param(k,
						    OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), NULL))
			goto out;
		/* Trap: OpenSSL 3 matches explicit parameters that equal a
		 * named curve and then reports its group name too; the
		 * encoding still says "explicit". */
		if (ec_explicit(k))
			goto out;
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			t = KEY_EC_P256;
		else if (strcmp(group, "secp384r1") == 0 ||
			 strcmp(group, "P-384") == 0)
			t = KEY_EC_P384;
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		/* Exactly these sizes: AWS IoT lists them, and an odd modulus
		 * length (RSA-2049) is a broken generator, not a choice. */
		switch (EVP_PKEY_get_bits(k)) {
		case 2048:
			t = KEY_RSA_2048;
			break;
		case 3072:
			t = KEY_RSA_3072;
			break;
		case 4096:
			t = KEY_RSA_4096;
			break;
		default:
			break;
		}
	}
out:
	ERR_clear_error();
	return t;
}

/* The SPKI hash of a request's key from the SubjectPublicKeyInfo as it
 * was received, when that encoding is canonical: RSA (strict DER, OpenSSL
 * refuses padded integers) or EC with an uncompressed point (0x04, RFC 5480
 * 2.2). Re-encoding the key (pkey_spki_sha256) costs an OpenSSL 3.0
 * encoder lookup, 9% of thingcad's CPU per issuance (docs/performance.md);
 * a compressed point still takes that path, so one key always has one hash
 * and public_key_reused cannot be dodged by re-encoding it. */
static int spki_sha256_of(struct csr *c)
{
	const ASN1_STRING *bits = c->req->info->spki->key;
	int len;

	len = ASN1_item_i2d((const ASN1_VALUE *)c->req->info->spki,
			    &c->spki_der, ASN1_ITEM_rptr(CSR_SPKI));
	if (len <= 0)
		return -ERR_INTERNAL;
	c->spki_der_len = (size_t)len;
	if (EVP_PKEY_is_a(c->pub, "RSA") ||
	    (EVP_PKEY_is_a(c->pub, "EC") && ASN1_STRING_length(bits) > 0 &&
	     ASN1_STRING_get0_data(bits)[0] == 0x04)) {
		sha256_hex(c->spki_der, c->spki_der_len, c->spki);
		return 0;
	}
	return pkey_spki_sha256(c->pub, c->spki);
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

static EVP_PKEY *rsa_direct(const ASN1_STRING *bits, unsigned *type)
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
	*type = pkey_key_type(k);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(CSR_RSA));
	return k;
}

/* The request's public key. EC keys on P-256 / P-384 (named curve) and
 * RSA keys, the types thingca certifies, are built directly; any other
 * SubjectPublicKeyInfo (a key type to refuse by name, explicit curve
 * parameters, unused bits, odd encodings) goes through OpenSSL's general
 * decoder, exactly as d2i_X509_REQ would decode it. NULL when neither can. */
static EVP_PKEY *csr_pubkey(const CSR_SPKI *spki, unsigned *type)
{
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
			 ptype == V_ASN1_NULL)
			k = rsa_direct(bits, type);
	}
	if (k)
		return k;
	ERR_clear_error();
	*type = 0;
	len = ASN1_item_i2d((const ASN1_VALUE *)spki, &der,
			    ASN1_ITEM_rptr(CSR_SPKI));
	p = der;
	if (len > 0)
		k = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	if (k)
		*type = pkey_key_type(k);
	return k;
}

int pkey_spki_sha256(EVP_PKEY *k, char hex[65])
{
	unsigned char *der = NULL;
	int len, rc = 0;

	len = k ? i2d_PUBKEY(k, &der) : -1;
	if (len <= 0) {
		hex[0] = '\0';
		rc = -ERR_INTERNAL;
		ERR_clear_error();
		goto out;
	}
	sha256_hex(der, (size_t)len, hex);
out:
	OPENSSL_free(der);
	return rc;
}

/* "RSA 1024", "EC secp256k1", "ED25519": the key as a person names it. */
static void describe_key(EVP_PKEY *k, char *buf, size_t size)
{
	char group[64];
	const char *name;

	if (EVP_PKEY_is_a(k, "EC")) {
		if (!ec_explicit(k) && EVP_PKEY_get_utf8_string_param(
					   k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL))
			snprintf(buf, size, "EC %s", group);
		else
			snprintf(buf, size,
				 "EC with explicit curve parameters");
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(buf, size, "RSA %d", EVP_PKEY_get_bits(k));
	} else {
		name = EVP_PKEY_get0_type_name(k);
		snprintf(buf, size, "%s", name ? name : "unknown");
	}
	ERR_clear_error();
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
	c->pub = csr_pubkey(c->req->info->spki, &c->type);
	if (!c->pub) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the CSR's public key cannot be decoded");
		err_add_openssl(e);
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
	if (spki_sha256_of(c) < 0) {
		rc = err_set(e, ERR_MALFORMED_CSR,
			     "the CSR's public key cannot be encoded");
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
		describe_key(c->pub, found, sizeof(found));
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
	out->bits = ASN1_STRING_get0_data(bits);
	out->bits_len = (size_t)ASN1_STRING_length(bits);
	out->rsa = EVP_PKEY_is_a(c->pub, "RSA");
}

const char *csr_spki_sha256(const struct csr *c)
{
	return c->spki;
}
