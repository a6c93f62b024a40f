/*
 * csr — PKCS#10 requests from stations: parse, proof of possession, key
 * policy. The CSR contributes only its public key to a certificate; its
 * subject, SANs and extensions are never read for issuance.
 */
#ifndef THINGCA_CSR_H
#define THINGCA_CSR_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"
#include "x509.h"

/* Upper bound on a CSR we try to parse: an RSA-4096 request with generous
 * attributes is under 4 KiB of DER; 16 KiB leaves room and bounds work. */
#define CSR_MAX_DER 16384

struct csr;

/* Parses one PEM "CERTIFICATE REQUEST" (or "NEW CERTIFICATE REQUEST") and
 * checks its signature with its own key (RFC 2986 proof of possession).
 * The key's SubjectPublicKeyInfo must be its canonical DER or a compressed
 * / hybrid EC point or RSA without parameters, re-encoded (spki.h); an RSA
 * key no generator makes is refused before its signature is checked.
 * 0 with *out set; -ERR_MALFORMED_CSR (not PEM/DER, trailing garbage, too
 * big, a key in another encoding), -ERR_KEY_TYPE_NOT_ALLOWED (CA/B Forum
 * BR 6.1.6 RSA key) or -ERR_CSR_SIGNATURE_INVALID (error or mismatch). */
int csr_parse_pem(const char *pem, size_t len, struct csr **out,
		  struct errd *e);

/* Same for DER bytes (EST, RFC 7030). */
int csr_parse_der(const unsigned char *der, size_t len, struct csr **out,
		  struct errd *e);

/* Key policy: 0 when the key type is one of allowed (enum key_type bits),
 * else -ERR_KEY_TYPE_NOT_ALLOWED naming the type found. */
int csr_check_key(const struct csr *c, unsigned allowed, struct errd *e);

/* The key type bit of the CSR's key, 0 when not one thingca knows. */
unsigned csr_key_type(const struct csr *c);

/* The public key (lent). */
EVP_PKEY *csr_get0_pubkey(const struct csr *c);

/* The request's subject (lent): EST reads the serialNumber from it. */
const X509_NAME *csr_get0_subject(const struct csr *c);

/* The request key's canonical SubjectPublicKeyInfo (DER, lent; for a key
 * thingca never certifies, as received) and key bits, which the
 * certificate copies byte for byte. */
void csr_get0_key(const struct csr *c, struct spki_ref *out);

/* Lowercase hex SHA-256 of that SubjectPublicKeyInfo (lent, 64 chars): one
 * key has one, whatever encoding the request used. */
const char *csr_spki_sha256(const struct csr *c);

/* NULL is a no-op. */
void csr_free(struct csr *c);

#endif
