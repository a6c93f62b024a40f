/*
 * csr_asn1 — the ASN.1 templates behind csr_asn1.h. OpenSSL's DER parser
 * reads a request through them; nothing here decodes a key.
 */
#include <openssl/asn1t.h>

#include "csr_asn1.h"

/* The template macros are not C statements: */
/* clang-format off */
/* Keeps its encoding (enc) as CSR_INFO does. */
ASN1_SEQUENCE_enc(CSR_SPKI, enc, 0) = {
	ASN1_SIMPLE(CSR_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(CSR_SPKI, key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END_enc(CSR_SPKI, CSR_SPKI)

/* As X509_REQ_INFO: attributes [0] optional, as OpenSSL accepts them. */
ASN1_SEQUENCE_enc(CSR_INFO, enc, 0) = {
	ASN1_SIMPLE(CSR_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CSR_INFO, subject, X509_NAME),
	ASN1_SIMPLE(CSR_INFO, spki, CSR_SPKI),
	ASN1_IMP_SET_OF_OPT(CSR_INFO, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_ref(CSR_INFO, CSR_INFO)

ASN1_SEQUENCE(CSR_REQ) = {
	ASN1_SIMPLE(CSR_REQ, info, CSR_INFO),
	ASN1_SIMPLE(CSR_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CSR_REQ, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(CSR_REQ)

ASN1_SEQUENCE(CSR_RSA) = {
	ASN1_SIMPLE(CSR_RSA, n, ASN1_INTEGER),
	ASN1_SIMPLE(CSR_RSA, e, ASN1_INTEGER),
} ASN1_SEQUENCE_END(CSR_RSA)
