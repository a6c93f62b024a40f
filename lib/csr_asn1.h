/*
 * csr_asn1 — PKCS#10 (RFC 2986) as OpenSSL ASN.1 items, for csr.c.
 */
#ifndef THINGCA_CSR_ASN1_H
#define THINGCA_CSR_ASN1_H

#include <openssl/asn1.h>
#include <openssl/x509.h>

/*
 * RFC 2986 CertificationRequest with its SubjectPublicKeyInfo left as
 * algorithm + bits. d2i_X509_REQ would decode the key through OpenSSL 3.0's
 * provider decoders, which cost more CPU than the ECDSA arithmetic of the
 * whole issuance (docs/performance.md); here OpenSSL's own DER parser reads
 * the same structure and the key is built directly (csr_pubkey). The info
 * keeps its encoding as received: that is what the signature covers; so
 * does the SubjectPublicKeyInfo, which must be the key's canonical DER.
 */
typedef struct {
	ASN1_ENCODING enc; /* the bytes as received: csr.c compares them with
			      the canonical encoding of the key */
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
} CSR_SPKI;

typedef struct {
	ASN1_ENCODING enc;
	ASN1_INTEGER *version;
	X509_NAME *subject;
	CSR_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} CSR_INFO;

typedef struct {
	CSR_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CSR_REQ;

/* RSAPublicKey (RFC 8017 A.1.1). */
typedef struct {
	ASN1_INTEGER *n;
	ASN1_INTEGER *e;
} CSR_RSA;

/* The items, spelled out as DECLARE_ASN1_ITEM would (cppcheck cannot
 * expand it); ASN1_ITEM_rptr(CSR_REQ) calls CSR_REQ_it(). */
const ASN1_ITEM *CSR_SPKI_it(void);
const ASN1_ITEM *CSR_INFO_it(void);
const ASN1_ITEM *CSR_REQ_it(void);
const ASN1_ITEM *CSR_RSA_it(void);

#endif
