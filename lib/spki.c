/*
 * spki — the canonical SubjectPublicKeyInfo of a device key, and the RSA
 * keys refused whatever their size.
 *
 * A key has many BER encodings (and OpenSSL's decoders accept most of
 * them): a compressed or hybrid EC point, rsaEncryption without or with
 * junk parameters, bytes after the RSAPublicKey, padded or long-form
 * INTEGERs, non-minimal lengths. Hashing or copying the received bytes let
 * one key pass public_key_reused under several hashes and put attacker
 * bytes into signed certificates. The encodings here are written from the
 * key's numbers, so one key has exactly one (DESIGN.md "Device certificate
 * profile"). Nothing here parses a request (csr.c does).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "spki.h"
#include "der.h"

#define SEQ 0x30

/* AlgorithmIdentifier { rsaEncryption, NULL } (RFC 3279 2.3.1), and
 * without parameters. */
static const unsigned char alg_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
					0x86, 0x48, 0x86, 0xf7, 0x0d,
					0x01, 0x01, 0x01, 0x05, 0x00};
static const unsigned char alg_rsa_bare[] = {0x30, 0x0b, 0x06, 0x09, 0x2a,
					     0x86, 0x48, 0x86, 0xf7, 0x0d,
					     0x01, 0x01, 0x01};
/* AlgorithmIdentifier { id-ecPublicKey, namedCurve } (RFC 5480 2.1.1). */
static const unsigned char alg_p256[] = {
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char alg_p384[] = {0x30, 0x10, 0x06, 0x07, 0x2a, 0x86,
					 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
					 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};

/* SEQUENCE { alg, BIT STRING { 0 unused bits, key } } into *out. */
static int spki_wrap(const unsigned char *alg, size_t alg_len,
		     const unsigned char *key, size_t key_len,
		     unsigned char **out, size_t *len)
{
	size_t body = alg_len + der_tlv_size(key_len + 1);
	unsigned char *buf = OPENSSL_malloc(der_tlv_size(body)), *w;

	*out = NULL;
	if (!buf)
		return -ERR_NOMEM;
	w = buf + der_header(buf, SEQ, body);
	memcpy(w, alg, alg_len);
	w += alg_len;
	w += der_header(w, V_ASN1_BIT_STRING, key_len + 1);
	*w++ = 0;
	memcpy(w, key, key_len);
	*out = buf;
	*len = (size_t)(w + key_len - buf);
	return 0;
}

/* A positive INTEGER in minimal DER (X.690 8.3.2) at w; returns w past it
 * (or, w NULL, nothing written, its size through *size). */
static unsigned char *put_uint(unsigned char *w, const BIGNUM *v, size_t *size)
{
	size_t n = (size_t)BN_num_bytes(v);
	int pad = BN_num_bits(v) % 8 == 0; /* top bit set: a 0x00 first */

	if (n == 0) { /* zero is one 0x00 octet */
		n = 1;
		pad = 1;
	}
	*size = der_tlv_size(n + (size_t)pad);
	if (!w)
		return NULL;
	w += der_header(w, V_ASN1_INTEGER, n + (size_t)pad);
	if (pad)
		*w++ = 0;
	if (!BN_is_zero(v))
		BN_bn2bin(v, w);
	return w + (BN_is_zero(v) ? 0 : n);
}

int spki_rsa_der(const BIGNUM *n, const BIGNUM *e, int null_params,
		 unsigned char **out, size_t *len)
{
	size_t ns, es, rpk;
	unsigned char *buf, *w;
	int rc;

	put_uint(NULL, n, &ns);
	put_uint(NULL, e, &es);
	rpk = der_tlv_size(ns + es);
	buf = malloc(rpk);
	if (!buf) {
		*out = NULL;
		return -ERR_NOMEM;
	}
	w = buf + der_header(buf, SEQ, ns + es);
	w = put_uint(w, n, &ns);
	put_uint(w, e, &es);
	rc = null_params
		 ? spki_wrap(alg_rsa, sizeof(alg_rsa), buf, rpk, out, len)
		 : spki_wrap(alg_rsa_bare, sizeof(alg_rsa_bare), buf, rpk, out,
			     len);
	free(buf);
	return rc;
}

int spki_ec_der(int curve_nid, const unsigned char *pt, size_t pt_len,
		unsigned char **out, size_t *len)
{
	*out = NULL;
	if (curve_nid == NID_X9_62_prime256v1)
		return spki_wrap(alg_p256, sizeof(alg_p256), pt, pt_len, out,
				 len);
	if (curve_nid == NID_secp384r1)
		return spki_wrap(alg_p384, sizeof(alg_p384), pt, pt_len, out,
				 len);
	return -ERR_INTERNAL;
}

/* Curve of a named-curve P-256 / P-384 key, NID_undef for anything else
 * (explicit parameters included: their encoding is not "named_curve"). */
static int ec_curve(EVP_PKEY *k)
{
	char group[64], enc[32];

	if (!EVP_PKEY_is_a(k, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL) ||
	    (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING, enc,
					    sizeof(enc), NULL) &&
	     strcmp(enc, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0))
		return NID_undef;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return NID_X9_62_prime256v1;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return NID_secp384r1;
	return NID_undef;
}

/* 0x04 || X || Y of an EC key, each coordinate as wide as the field. */
static int ec_uncompressed(EVP_PKEY *k, unsigned char *pt, size_t size,
			   size_t *len)
{
	BIGNUM *x = NULL, *y = NULL;
	int flen = (EVP_PKEY_get_bits(k) + 7) / 8, rc = -ERR_INTERNAL;

	if (flen <= 0 || 1 + 2 * (size_t)flen > size ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2binpad(x, pt + 1, flen) != flen ||
	    BN_bn2binpad(y, pt + 1 + flen, flen) != flen)
		goto out;
	pt[0] = POINT_CONVERSION_UNCOMPRESSED;
	*len = 1 + 2 * (size_t)flen;
	rc = 0;
out:
	BN_free(x);
	BN_free(y);
	return rc;
}

int spki_of_pkey(EVP_PKEY *k, unsigned char **out, size_t *len)
{
	unsigned char pt[1 + 2 * 66];
	BIGNUM *n = NULL, *e = NULL;
	size_t plen = 0;
	int curve, dlen, rc = -ERR_INTERNAL;

	*out = NULL;
	if (!k)
		goto out;
	if (EVP_PKEY_is_a(k, "RSA")) {
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) &&
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e))
			rc = spki_rsa_der(n, e, 1, out, len);
	} else if ((curve = ec_curve(k)) != NID_undef) {
		rc = ec_uncompressed(k, pt, sizeof(pt), &plen);
		if (rc == 0)
			rc = spki_ec_der(curve, pt, plen, out, len);
	} else {
		dlen = i2d_PUBKEY(k, out);
		rc = dlen > 0 ? 0 : -ERR_INTERNAL;
		*len = dlen > 0 ? (size_t)dlen : 0;
	}
out:
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return rc;
}

/* Reads one definite-length DER header at *p (within end); 1 with *n the
 * content length and *p past the header, 0 when it is not one. */
static int der_read(const unsigned char **p, const unsigned char *end,
		    unsigned char tag, size_t *n)
{
	const unsigned char *q = *p;
	size_t k, v = 0;

	if (end - q < 2 || q[0] != tag)
		return 0;
	if (q[1] < 0x80) {
		v = q[1];
		q += 2;
	} else {
		k = q[1] & 0x7f;
		q += 2;
		if (k == 0 || k > sizeof(size_t) || (size_t)(end - q) < k)
			return 0;
		while (k--)
			v = (v << 8) | *q++;
	}
	if ((size_t)(end - q) < v)
		return 0;
	*p = q;
	*n = v;
	return 1;
}

int spki_get0_bits(const unsigned char *der, size_t len,
		   const unsigned char **bits, size_t *bits_len)
{
	const unsigned char *p = der, *end = der + len;
	size_t n;

	if (!der_read(&p, end, SEQ, &n) || !der_read(&p, end, SEQ, &n))
		return -ERR_INTERNAL;
	p += n; /* the AlgorithmIdentifier */
	if (!der_read(&p, end, V_ASN1_BIT_STRING, &n) || n < 1 || p[0] != 0)
		return -ERR_INTERNAL;
	*bits = p + 1;
	*bits_len = n - 1;
	return 0;
}

/* ---- RSA keys no generator makes -------------------------------------- */

/* The odd primes below SPKI_RSA_FACTOR_BOUND grouped into products under
 * 2^32 (BN_mod_word takes them without a division of a copy): one
 * BN_mod_word per group, then word arithmetic per prime. */
#define N_PRIMES 132
static uint16_t primes[N_PRIMES];
static uint32_t group_prod[N_PRIMES];
static uint8_t group_end[N_PRIMES]; /* index past the group's last prime */
static size_t n_groups;
static pthread_once_t primes_once = PTHREAD_ONCE_INIT;

static void primes_init(void)
{
	size_t np = 0, i;
	unsigned p, q;
	uint64_t prod = 1;

	for (p = 3; p < SPKI_RSA_FACTOR_BOUND && np < N_PRIMES; p += 2) {
		for (q = 3; q * q <= p && p % q; q += 2)
			;
		if (q * q > p)
			primes[np++] = (uint16_t)p;
	}
	for (i = 0; i < np; i++) {
		if (prod * primes[i] > UINT32_MAX) {
			group_prod[n_groups] = (uint32_t)prod;
			group_end[n_groups++] = (uint8_t)i;
			prod = 1;
		}
		prod *= primes[i];
	}
	group_prod[n_groups] = (uint32_t)prod;
	group_end[n_groups++] = (uint8_t)np;
}

/* The smallest odd prime factor of n below SPKI_RSA_FACTOR_BOUND, 0 when
 * there is none, -1 on error. */
static int small_factor(const BIGNUM *n)
{
	size_t g, i = 0;
	BN_ULONG r;

	pthread_once(&primes_once, primes_init);
	for (g = 0; g < n_groups; g++) {
		r = BN_mod_word(n, group_prod[g]);
		if (r == (BN_ULONG)-1)
			return -1;
		for (; i < group_end[g]; i++)
			if (r % primes[i] == 0)
				return primes[i];
	}
	return 0;
}

/* Fermat base 2: x = 2^(n-1) mod n, then whether x - 1 and n are
 * coprime. 1 when n passes (x = 1: prime, or a base-2 pseudoprime), 2 when
 * they share a factor (x = 1 mod p for a prime power p^k, since p - 1
 * divides p^k - 1), 0 for an honest modulus, -1 on error. One
 * exponentiation with an exponent as long as n, by a word base (squarings
 * only: the fastest of OpenSSL's), and an inversion, which is cheaper than
 * 3.0's constant-time BN_gcd (the key is public): docs/performance.md. */
static int fermat(const BIGNUM *n)
{
	BN_CTX *ctx = BN_CTX_new();
	BN_MONT_CTX *mont = BN_MONT_CTX_new();
	BIGNUM *nm1 = BN_dup(n), *x = BN_new(), *inv = BN_new();
	int rc = -1;

	if (!ctx || !mont || !nm1 || !x || !inv ||
	    !BN_MONT_CTX_set(mont, n, ctx) || !BN_sub_word(nm1, 1) ||
	    !BN_mod_exp_mont_word(x, 2, nm1, n, ctx, mont))
		goto out;
	if (BN_is_one(x)) {
		rc = 1;
		goto out;
	}
	if (!BN_sub_word(x, 1))
		goto out;
	ERR_clear_error();
	if (BN_mod_inverse(inv, x, n, ctx))
		rc = 0;
	else if (ERR_GET_REASON(ERR_peek_last_error()) == BN_R_NO_INVERSE)
		rc = 2;
out:
	BN_free(inv);
	BN_free(x);
	BN_free(nm1);
	BN_MONT_CTX_free(mont);
	BN_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int spki_rsa_check(const BIGNUM *n, const BIGNUM *e, int full, struct errd *err)
{
	int eb = BN_num_bits(e), f;

	if (!BN_is_odd(e))
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA public exponent is even; CA/Browser "
			       "Forum BR 6.1.6 requires an odd one from 65537 "
			       "to 2^256-1");
	if (eb < SPKI_RSA_E_MIN_BITS)
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA public exponent %lu is below 65537 "
			       "(CA/Browser Forum BR 6.1.6)%s",
			       (unsigned long)BN_get_word(e),
			       BN_is_one(e) ? ": with e = 1 the CSR's "
					      "signature proves nothing"
					    : "");
	if (eb > SPKI_RSA_E_MAX_BITS)
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA public exponent of %d bits is above "
			       "2^256-1 (CA/Browser Forum BR 6.1.6)",
			       eb);
	if (!full)
		return 0;
	if (!BN_is_odd(n))
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA modulus is even (CA/Browser Forum BR "
			       "6.1.6, NIST SP 800-89 5.3.3)");
	f = small_factor(n);
	if (f > 0)
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA modulus has the factor %d; CA/Browser "
			       "Forum BR 6.1.6 (NIST SP 800-89 5.3.3) allows "
			       "none below %d",
			       f, SPKI_RSA_FACTOR_BOUND);
	if (f == 0)
		f = fermat(n);
	if (f < 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	if (f == 1)
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA modulus is prime (it passes a Fermat "
			       "test): its private exponent follows from the "
			       "public key (CA/Browser Forum BR 6.1.6)");
	if (f == 2)
		return err_set(err, ERR_KEY_TYPE_NOT_ALLOWED,
			       "RSA modulus is a prime power or shares a "
			       "factor with 2^(n-1)-1 (CA/Browser Forum BR "
			       "6.1.6: not the power of a prime)");
	return 0;
}
