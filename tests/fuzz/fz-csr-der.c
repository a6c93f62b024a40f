/*
 * fz-csr-der — csr_parse_der (the EST path, RFC 7030) on any bytes, then
 * what EST and issue read of a parsed request: key type and policy, SPKI
 * hash and bits, the request's subject.
 *
 * Differential: csr_parse_der reads PKCS#10 through its own templates,
 * builds the key itself and writes its canonical SubjectPublicKeyInfo
 * (lib/csr.c, lib/spki.c); every input must get the verdict this file
 * derives from OpenSSL's X509_REQ path alone: d2i_X509_REQ of exactly these
 * bytes, a decodable key and X509_REQ_verify == 1; then, for RSA and P-256
 * / P-384 keys, the SubjectPublicKeyInfo as sent (found by walking the
 * TLVs) equal to OpenSSL's own encoding of the key (uncompressed point) or
 * to the one variant thingca re-encodes (compressed / hybrid point, RSA
 * without parameters), else malformed_csr; then for RSA the key rules of
 * CA/B Forum BR 6.1.6 computed here with other BIGNUM calls (an exponent
 * odd, 17 to 256 bits; for the sizes thingca certifies, a modulus odd,
 * without a factor below 752, failing Fermat base 2 and coprime with
 * 2^(n-1) - 1), else key_type_not_allowed. Accepted requests must have
 * the same key type, and as SPKI and hash OpenSSL's canonical encoding. A
 * difference aborts, so the fuzzer reports it as a crash and
 * t-fuzz-regress checks the corpus against it under make check.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "csr.h"
#include "err.h"
#include "fuzz.h"
#include "key.h"
#include "spki.h"
#include "util.h"

int fz_csr_der_init(void)
{
	return 0;
}

/* What OpenSSL's objects say of a request. */
struct verdict {
	int accepted; /* d2i_X509_REQ, exact length, key, verify == 1 */
	int want;     /* then: 0, -ERR_MALFORMED_CSR or -ERR_KEY_TYPE_... */
	unsigned type;
	unsigned char *spki; /* canonical SPKI DER */
	int spki_len;
};

/* Past the TLV at p (max octets), indefinite lengths included; NULL when
 * it is not one. */
static const unsigned char *tlv_end(const unsigned char *p, long max, int depth)
{
	const unsigned char *q = p, *end = p + max;
	long len = 0;
	int tag, cls, r;

	if (depth > 64 || max <= 0)
		return NULL;
	r = ASN1_get_object(&q, &len, &tag, &cls, max);
	if (r & 0x80)
		return NULL;
	if (r == 0x21) { /* indefinite: up to its end-of-contents octets */
		while (end - q >= 2 && (q[0] || q[1])) {
			q = tlv_end(q, end - q, depth + 1);
			if (!q)
				return NULL;
		}
		return end - q >= 2 ? q + 2 : NULL;
	}
	return q + len;
}

/* The SubjectPublicKeyInfo octets as sent: the third element of the
 * CertificationRequestInfo, itself the first of the request. */
static int raw_spki(const uint8_t *data, size_t size,
		    const unsigned char **spki, long *len)
{
	const unsigned char *p = data, *end = data + size, *q;
	long l;
	int tag, cls, i;

	for (i = 0; i < 2; i++) /* into the request, then into its info */
		if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80)
			return 0;
	for (i = 0; i < 2 && p; i++) /* version, subject */
		p = tlv_end(p, end - p, 0);
	q = p ? tlv_end(p, end - p, 0) : NULL;
	if (!q)
		return 0;
	*spki = p;
	*len = q - p;
	return 1;
}

/* DER of an X509_PUBKEY with this algorithm and key octets (no unused
 * bits); its length or -1. */
static int spki_with(int alg, int ptype, void *pval, const unsigned char *k,
		     int klen, unsigned char **der)
{
	X509_PUBKEY *x = X509_PUBKEY_new();
	unsigned char *copy = OPENSSL_memdup(k, (size_t)klen);
	int n = -1;

	if (x && copy &&
	    X509_PUBKEY_set0_param(x, OBJ_nid2obj(alg), ptype, pval, copy,
				   klen)) {
		copy = NULL;
		n = i2d_X509_PUBKEY(x, der);
	}
	OPENSSL_free(copy);
	X509_PUBKEY_free(x);
	return n;
}

/* 1 when the bytes equal der[0..n). */
static int eq(const unsigned char *a, long alen, const unsigned char *der,
	      int n)
{
	return n > 0 && alen == n && memcmp(a, der, (size_t)n) == 0;
}

/* The CA/B Forum BR 6.1.6 rules for an RSA key, from n and e. */
static int rsa_degenerate(EVP_PKEY *k, int full)
{
	BIGNUM *n = NULL, *e = NULL, *x = BN_new(), *g = BN_new(),
	       *two = BN_new(), *nm1 = NULL;
	BN_CTX *ctx = BN_CTX_new();
	int bad = 1, eb, p, q, composite;

	if (!x || !g || !two || !ctx ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e))
		abort();
	eb = BN_num_bits(e);
	if (!BN_is_odd(e) || eb < 17 || eb > 256)
		goto out;
	bad = 0;
	if (!full)
		goto out;
	bad = 1;
	if (!BN_is_odd(n))
		goto out;
	for (p = 3; p < 752; p += 2) {
		for (q = 3, composite = 0; q * q <= p; q += 2)
			composite |= p % q == 0;
		if (!composite && BN_mod_word(n, (BN_ULONG)p) == 0)
			goto out;
	}
	nm1 = BN_dup(n);
	if (!nm1 || !BN_sub_word(nm1, 1) || !BN_set_word(two, 2) ||
	    !BN_mod_exp(x, two, nm1, n, ctx) || !BN_sub_word(x, 1) ||
	    !BN_gcd(g, x, n, ctx))
		abort();
	bad = !BN_is_one(g); /* x = 1 gives gcd(0, n) = n */
out:
	BN_free(n);
	BN_free(e);
	BN_free(x);
	BN_free(g);
	BN_free(two);
	BN_free(nm1);
	BN_CTX_free(ctx);
	return bad;
}

static void openssl_verdict(const uint8_t *data, size_t size, struct verdict *v)
{
	const unsigned char *p = data, *raw = NULL, *pk = NULL;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)size);
	X509_PUBKEY *xpk = r ? X509_REQ_get_X509_PUBKEY(r) : NULL;
	EVP_PKEY *k = r ? X509_REQ_get0_pubkey(r) : NULL, *u = NULL;
	unsigned char *alt = NULL, *rpk = NULL;
	long raw_len = 0;
	int rsa, curve = NID_undef, alt_len = -1, pklen = 0, rpk_len;

	memset(v, 0, sizeof(*v));
	if (!r || p != data + size || !k || X509_REQ_verify(r, k) != 1)
		goto out;
	v->accepted = 1;
	v->type = key_type_of(k);
	rsa = EVP_PKEY_is_a(k, "RSA");
	if (v->type == KEY_EC_P256)
		curve = NID_X9_62_prime256v1;
	else if (v->type == KEY_EC_P384)
		curve = NID_secp384r1;
	if (!rsa && curve == NID_undef) { /* never certified: as OpenSSL */
		v->spki_len = i2d_PUBKEY(k, &v->spki);
		goto out;
	}
	/* OpenSSL's encoding of the key, the point uncompressed. */
	u = EVP_PKEY_dup(k);
	if (!u || (curve != NID_undef &&
		   !EVP_PKEY_set_utf8_string_param(
		       u, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		       OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED)))
		abort();
	v->spki_len = i2d_PUBKEY(u, &v->spki);
	if (v->spki_len <= 0 || !raw_spki(data, size, &raw, &raw_len))
		abort();
	X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk);
	if (rsa) {
		rpk_len = i2d_PublicKey(k, &rpk); /* RSAPublicKey, DER */
		if (rpk_len <= 0)
			abort();
		alt_len = spki_with(NID_rsaEncryption, V_ASN1_UNDEF, NULL, rpk,
				    rpk_len, &alt);
	} else if (pklen > 0 &&
		   (pk[0] == 2 || pk[0] == 3 || pk[0] == 6 || pk[0] == 7)) {
		alt_len = spki_with(NID_X9_62_id_ecPublicKey, V_ASN1_OBJECT,
				    OBJ_nid2obj(curve), pk, pklen, &alt);
	}
	if (!eq(raw, raw_len, v->spki, v->spki_len) &&
	    !eq(raw, raw_len, alt, alt_len))
		v->want = -ERR_MALFORMED_CSR;
	else if (rsa && rsa_degenerate(k, v->type != 0))
		v->want = -ERR_KEY_TYPE_NOT_ALLOWED;
out:
	OPENSSL_free(alt);
	OPENSSL_free(rpk);
	EVP_PKEY_free(u);
	X509_REQ_free(r);
	ERR_clear_error();
}

int fz_csr_der_one(const uint8_t *data, size_t size)
{
	struct csr *c = NULL;
	struct errd e = {0};
	struct spki_ref key = {0};
	struct verdict v = {0};
	char spki[65] = "";
	const unsigned char *bits = NULL;
	size_t blen = 0;
	int mine = -ERR_MALFORMED_CSR;

	if (size <= CSR_MAX_DER)
		mine = csr_parse_der(data, size, &c, &e);
	if (size > 0 && size <= CSR_MAX_DER)
		openssl_verdict(data, size, &v);
	if (!v.accepted) {
		if (mine == 0)
			abort(); /* accepted what OpenSSL refuses */
		goto out;
	}
	if (mine != v.want)
		abort(); /* another verdict on this request */
	if (mine)
		goto out;
	sha256_hex(v.spki, (size_t)v.spki_len, spki);
	if (csr_key_type(c) != v.type || strcmp(csr_spki_sha256(c), spki) != 0)
		abort(); /* same request, another key type or hash */
	(void)csr_check_key(c, KEY_ALL, &e);
	csr_get0_key(c, &key);
	if (!key.der || !key.bits)
		abort();
	/* The certificate's SubjectPublicKeyInfo is the canonical one. */
	if ((v.type || key.rsa) &&
	    (key.der_len != (size_t)v.spki_len ||
	     memcmp(key.der, v.spki, key.der_len) != 0 ||
	     spki_get0_bits(v.spki, (size_t)v.spki_len, &bits, &blen) < 0 ||
	     key.bits_len != blen || memcmp(key.bits, bits, blen) != 0))
		abort();
	(void)X509_NAME_entry_count(csr_get0_subject(c));
out:
	OPENSSL_free(v.spki);
	csr_free(c);
	return 0;
}

FUZZ_ENTRY(csr_der)
