/*
 * x509 — small building blocks for the certificates thingca makes itself:
 * device certificates (profile.c), the CA of `thingca ca init` (cmd_ca.c) and
 * the AWS registration verification certificate (cmd_verifcert.c). Names
 * with the right ASN.1 string types, RFC 5280 serial numbers, validity and
 * extensions from OpenSSL's configuration syntax.
 */
#ifndef THINGCA_X509_H
#define THINGCA_X509_H

#include <stddef.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* RFC 5280 4.1.2.2: at most 20 octets, positive. 16 octets whose first one
 * is 0x40-0x7f: always exactly 16 octets of DER, positive, non-zero, with
 * 126 bits from the CSPRNG (the CA/Browser Forum asks for 64). */
#define X509_SERIAL_BYTES 16

/* A SubjectPublicKeyInfo as a certificate copies it: its DER, and within
 * it the subjectPublicKey bits (without the unused-bits octet), which
 * subjectKeyIdentifier hashes (RFC 5280 4.2.1.2 method 1). */
struct spki_ref {
	const unsigned char *der;
	size_t der_len;
	const unsigned char *bits;
	size_t bits_len;
	int rsa; /* an RSA key: keyUsage adds keyEncipherment */
};

/* 1 when s[0..len) is non-empty and only uses the X.680 PrintableString
 * alphabet (A-Z a-z 0-9 space ' ( ) + , - . / : = ?), else 0. */
int x509_is_printable_string(const char *s, size_t len);

/* Appends the attribute type=value to n. type is one of C, ST, L, O, OU,
 * CN, dnQualifier, serialNumber. C, dnQualifier and serialNumber are
 * PrintableString (X.520); the others UTF8String (RFC 5280 4.1.2.6). Length
 * upper bounds of RFC 5280 Appendix A apply (C exactly 2). 0 or
 * -ERR_CONFIG_INVALID naming the attribute and the rule. */
int x509_name_add(X509_NAME *n, const char *type, const char *value,
		  struct errd *e);

/* Parses "/C=JP/O=My Org/CN=thingca Root CA" ("\/" is a literal slash) into a
 * new name (*out, caller frees) with x509_name_add's types and rules. 0 or
 * -ERR_CONFIG_INVALID. */
int x509_name_parse(const char *s, X509_NAME **out, struct errd *e);

/* Sets X509_SERIAL_BYTES random bytes from the CSPRNG as x's serial:
 * positive and non-zero (RFC 5280 4.1.2.2). 0 or -ERR_INTERNAL. */
int x509_random_serial(X509 *x, struct errd *e);

/* Sets notBefore/notAfter (UTCTime through 2049, GeneralizedTime after, as
 * RFC 5280 4.1.2.5 requires). 0 or -ERR_INTERNAL. */
int x509_set_validity(X509 *x, time_t not_before, time_t not_after,
		      struct errd *e);

/* A new v3 certificate (caller frees *out) with subject, issuer (NULL:
 * subject, self-issued), the public key of pub, a random serial
 * (x509_random_serial) and not_before..not_after (x509_set_validity); no
 * extensions, unsigned. 0 or -ERR_INTERNAL. */
int x509_new_cert(const X509_NAME *subject, const X509_NAME *issuer,
		  EVP_PKEY *pub, time_t not_before, time_t not_after,
		  X509 **out, struct errd *e);

/* Adds one extension given in OpenSSL's config syntax ("critical,CA:TRUE",
 * "hash", "keyid:always") to x. issuer is the signing CA's certificate (for
 * authorityKeyIdentifier), NULL for a self-signed x. x's public key must be
 * set before subjectKeyIdentifier. 0 or -ERR_INTERNAL. */
int x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value,
		 struct errd *e);

/* Seconds since the epoch of an ASN1_TIME; 0 or -ERR_INTERNAL. */
int x509_time_to_time_t(const ASN1_TIME *t, time_t *out);

/* x's notAfter as RFC 3339 UTC into out[21], "?" when it cannot be read. */
void x509_not_after_text(X509 *x, char out[21]);

/* AWS IoT certificate ID of x: lowercase hex SHA-256 of its DER into
 * hex[65]. 0 or -ERR_INTERNAL (hex is then ""). */
int x509_certificate_id(X509 *x, char hex[65]);

/* A NUL-terminated malloc'd copy of what memory BIO b (or the memory BIO
 * at the end of its chain) holds; *len (may be NULL) gets its length
 * without the NUL. The caller frees; NULL on out-of-memory. */
char *x509_bio_strdup(BIO *b, size_t *len);

/* Writes k as unencrypted PKCS#8 PEM to path, mode 0600, encoded in the
 * secure heap where there is one. Refuses an existing path (-ERR_IO)
 * unless overwrite. 0, -ERR_INTERNAL or file_write's error. */
int x509_write_key(const char *path, EVP_PKEY *k, int overwrite,
		   struct errd *e);

/* Writes x as PEM to path, mode 0644, followed by the certificates of
 * chain (may be NULL) that are not self-signed: a TLS server sends its
 * intermediates, never the root. Refuses an existing path (-ERR_IO) unless
 * overwrite. 0, -ERR_INTERNAL or file_write's error. */
int x509_write_cert(const char *path, X509 *x, STACK_OF(X509) * chain,
		    int overwrite, struct errd *e);

/* A CSR for an issuing CA (`thingca ca csr`): subject name, k's public
 * key, an extensionRequest for basicConstraints critical CA:TRUE pathLen 0
 * and keyUsage critical keyCertSign cRLSign (what `ca sign` will grant:
 * informative only, it copies nothing from a CSR), signed by k with
 * key_md(k) and verified. k may be a token key. *out is the
 * caller's. 0, or -ERR_INTERNAL / -ERR_SIGNER_UNAVAILABLE (k did not sign,
 * or its signature does not verify). */
int x509_make_ca_csr(EVP_PKEY *k, const X509_NAME *name, X509_REQ **out,
		     struct errd *e);

/* Writes req as PEM to path, mode 0644; refuses an existing path (-ERR_IO)
 * unless overwrite. 0, -ERR_INTERNAL or file_write's error. */
int x509_write_csr(const char *path, X509_REQ *req, int overwrite,
		   struct errd *e);

#endif
