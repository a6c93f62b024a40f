/*
 * der — DER (X.690) tag-length-value writers.
 */
#ifndef THINGCA_DER_H
#define THINGCA_DER_H

#include <stddef.h>

/* DER: writes the identifier octet tag and the definite length n at p
 * and returns the number of octets written (2 to 10). */
size_t der_header(unsigned char *p, unsigned char tag, size_t n);

/* The octets of a whole TLV whose content is n octets. */
size_t der_tlv_size(size_t n);

/* Writes tag, length and the n octets of content at p; returns p past
 * them. */
unsigned char *der_put(unsigned char *p, unsigned char tag, const void *content,
		       size_t n);

#endif
