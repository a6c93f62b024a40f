/*
 * spki — one key, one SubjectPublicKeyInfo. The canonical DER of the device
 * keys thingca certifies (DESIGN.md "Device certificate profile": RSA as
 * rsaEncryption with NULL parameters and minimal DER; EC as id-ecPublicKey
 * with the named curve and the uncompressed point), which is both what
 * spki_sha256 hashes and what the certificate carries; and the RSA keys no
 * key generator makes, refused whatever their size.
 */
#ifndef THINGCA_SPKI_H
#define THINGCA_SPKI_H

#include <stddef.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "err.h"

/* NIST SP 800-89 5.3.3, which CA/Browser Forum BR 6.1.6 cites: an RSA
 * modulus has no prime factor below 752 (OpenSSL's SP 800-56B check uses
 * the same bound). Trial division by the 132 odd primes under it. */
#define SPKI_RSA_FACTOR_BOUND 752

/* CA/Browser Forum BR 6.1.6: an odd public exponent from 2^16 + 1 to
 * 2^256 - 1, i.e. of 17 to 256 bits. */
#define SPKI_RSA_E_MIN_BITS 17
#define SPKI_RSA_E_MAX_BITS 256

/* The SubjectPublicKeyInfo of the RSA key (n, e), both positive:
 * rsaEncryption with NULL parameters (or, null_params 0, none: the one
 * other encoding csr.c re-encodes), RSAPublicKey in minimal DER.
 * OPENSSL_malloc'd into *out (caller OPENSSL_frees). 0 or -ERR_NOMEM. */
int spki_rsa_der(const BIGNUM *n, const BIGNUM *e, int null_params,
		 unsigned char **out, size_t *len);

/* The SubjectPublicKeyInfo of an EC point on curve_nid (P-256 or P-384)
 * with its encoding pt as given (canonical when uncompressed, 0x04 ||
 * X || Y). OPENSSL_malloc'd into *out. 0, -ERR_NOMEM, or -ERR_INTERNAL for
 * another curve. */
int spki_ec_der(int curve_nid, const unsigned char *pt, size_t pt_len,
		unsigned char **out, size_t *len);

/* The canonical SubjectPublicKeyInfo of k: RSA, and EC on a named P-256 or
 * P-384 curve, as above; any other key as OpenSSL encodes it (thingca
 * never certifies those). OPENSSL_malloc'd into *out. 0 or
 * -ERR_INTERNAL. */
int spki_of_pkey(EVP_PKEY *k, unsigned char **out, size_t *len);

/* The subjectPublicKey octets inside a DER SubjectPublicKeyInfo (the
 * BIT STRING's contents without its unused-bits octet; lent from der).
 * 0, or -ERR_INTERNAL when der is not such a structure. */
int spki_get0_bits(const unsigned char *der, size_t len,
		   const unsigned char **bits, size_t *bits_len);

/* An RSA key that no key generator makes: an exponent outside BR 6.1.6,
 * and, with full (the sizes thingca certifies: the tests cost a modular
 * exponentiation, bounded by the modulus size), a modulus that is even,
 * has a factor below SPKI_RSA_FACTOR_BOUND, is prime (one base-2 Fermat
 * test, which every prime passes) or shares a factor with 2^(n-1) - 1 (a
 * prime power does). 0, -ERR_KEY_TYPE_NOT_ALLOWED naming the rule, or
 * -ERR_NOMEM. */
int spki_rsa_check(const BIGNUM *n, const BIGNUM *e, int full,
		   struct errd *err);

#endif
