/*
 * ca — the issuing CA: its certificate, the chain served with every device
 * certificate, and the signer.
 *
 * Only this module (and its PKCS#11 helper p11.c) touches the CA key. The key
 * is either a PEM file (plain or PKCS#8-encrypted with key_passphrase_file)
 * or an RFC 7512 pkcs11: URI. Under systemd, files named "ca.key", "ca.pin"
 * and "ca.passphrase" in $CREDENTIALS_DIRECTORY take the place of ca.key,
 * ca.key_pin_file and ca.key_passphrase_file (LoadCredential=).
 *
 * Signing is safe from many threads at once.
 */
#ifndef THINGCA_CA_H
#define THINGCA_CA_H

#include <openssl/x509.h>

#include "config.h"
#include "err.h"

struct ca;

/* The longest signature a CA key makes: RSA-4096, 512 octets (ECDSA P-384
 * is at most 104). ca_open accepts no larger key. */
#define CA_SIG_MAX 512

/* Loads and checks the CA: key file not readable by group/others, the
 * certificate matches the key, is a CA (basicConstraints CA:TRUE, keyUsage
 * keyCertSign) and is valid now; each certificate of ca.chain signed the
 * one before it; a test signature verifies. 0 with *out set,
 * or -ERR_CA_INVALID / -ERR_SIGNER_UNAVAILABLE / -ERR_IO with e->msg saying
 * what failed and how to fix it. */
int ca_open(const struct ca_cfg *cfg, struct ca **out, struct errd *e);

/* NULL is a no-op. */
void ca_free(struct ca *ca);

/* The issuing CA certificate (lent). */
X509 *ca_get0_cert(const struct ca *ca);

/* Issuing CA then ca.chain in file order, duplicates dropped (lent). */
STACK_OF(X509) * ca_get0_chain(const struct ca *ca);

/* The same chain as PEM text, encoded once at ca_open (lent, NUL-terminated).
 */
const char *ca_chain_pem(const struct ca *ca, size_t *len);

/* The AWS IoT certificate ID of the issuing CA certificate (lowercase hex
 * SHA-256 of its DER, 64 digits), computed once at ca_open (lent). Every
 * issued ledger entry records it as ca_certificate_id. */
const char *ca_certificate_id(const struct ca *ca);

/* Digest the CA signs with: SHA-384 for a P-384 key, else SHA-256. */
const EVP_MD *ca_md(const struct ca *ca);

/* Signs x (issuer, AKI and validity are the caller's). 0, or
 * -ERR_SIGNER_UNAVAILABLE when the key cannot sign now (token gone): the
 * signer then tries to re-open its session on the next call. */
int ca_sign_cert(struct ca *ca, X509 *x, struct errd *e);

/* Signs the DER of a TBSCertificate as ca_sign_cert would (digest ca_md,
 * the key's default padding) into sig (*sig_len: its size in, the
 * signature's length out; CA_SIG_MAX octets are enough). Same errors. */
int ca_sign_data(struct ca *ca, const unsigned char *tbs, size_t len,
		 unsigned char *sig, size_t *sig_len, struct errd *e);

/* Encodings made at ca_open that every certificate the CA signs copies
 * (lent): the signature AlgorithmIdentifier, the issuer Name (the CA's
 * subject) and the authorityKeyIdentifier extension. */
struct ca_der {
	const unsigned char *sigalg, *issuer, *aki;
	size_t sigalg_len, issuer_len, aki_len;
};
void ca_get0_der(const struct ca *ca, struct ca_der *out);

/* Signs a CRL the same way. */
int ca_sign_crl(struct ca *ca, X509_CRL *crl, struct errd *e);

/* Signs and verifies a test message: 0 or -ERR_SIGNER_UNAVAILABLE. Used at
 * start (READY=1 comes after it) and by /readyz. */
int ca_selftest(struct ca *ca, struct errd *e);

/* Whole days until the CA certificate's notAfter (negative when expired). */
long ca_days_left(const struct ca *ca);

/* `ca sign --days` bound: 100 years, far from time_t limits. */
#define CA_ISSUING_DAYS_MAX 36500L
/* An issuing CA starts this long before now (never before the root): a
 * line host whose clock is a little behind the root's still opens it. */
#define CA_ISSUING_BACKDATE_S 300

/* Signs an issuing CA certificate with root (a ca_open'd root: the offline
 * root of DESIGN.md "Command line", `ca sign`): v3, random serial, subject
 * the CSR's or subject (when not NULL), issuer the root's subject, the
 * CSR's public key, notBefore now - CA_ISSUING_BACKDATE_S (not before the
 * root's), notAfter now + days or, with days 0, the root's notAfter;
 * extensions exactly basicConstraints critical CA:TRUE pathLen 0, keyUsage
 * critical keyCertSign cRLSign, subjectKeyIdentifier, authorityKeyIdentifier
 * = the root's SKI. Nothing of the CSR but its key and subject is used.
 * *out is the caller's. Refuses (*out NULL, e->msg says why):
 *   -ERR_CSR_SIGNATURE_INVALID  the CSR's signature does not verify;
 *   -ERR_MALFORMED_CSR          no key, or the CSR does not request a CA
 *                               (basicConstraints CA:TRUE), or its subject
 *                               is empty or the root's;
 *   -ERR_KEY_TYPE_NOT_ALLOWED   a key AWS IoT does not register as a CA
 *                               (RSA under 2048, other curves, Ed25519) or
 *                               the root's own key;
 *   -ERR_CA_INVALID             days past the root's notAfter (the message
 *                               says how many days are left), or a root
 *                               whose pathLenConstraint is 0;
 *   -ERR_SIGNER_UNAVAILABLE, -ERR_INTERNAL. */
int ca_sign_issuing(struct ca *root, X509_REQ *req, const X509_NAME *subject,
		    long days, X509 **out, struct errd *e);

#endif
