/*
 * der — the few DER (X.690) writers thingca's hand-built encodings need:
 * a tag and definite length, the size of a TLV, a whole TLV. The profile's
 * TBSCertificate and the canonical SubjectPublicKeyInfo (spki.c) use them.
 */
#include <string.h>

#include "der.h"

/* Octets of a definite length n beyond the first: 0 for n < 128. */
static size_t der_long_len(size_t n)
{
	size_t k = 0;

	if (n >= 0x80)
		for (; n; n >>= 8)
			k++;
	return k;
}

size_t der_header(unsigned char *p, unsigned char tag, size_t n)
{
	size_t k = der_long_len(n), i;

	p[0] = tag;
	if (k == 0) {
		p[1] = (unsigned char)n;
	} else {
		p[1] = (unsigned char)(0x80 | k);
		for (i = 0; i < k; i++)
			p[2 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
	}
	return 2 + k;
}

size_t der_tlv_size(size_t n)
{
	return 2 + der_long_len(n) + n;
}

unsigned char *der_put(unsigned char *p, unsigned char tag, const void *content,
		       size_t n)
{
	p += der_header(p, tag, n);
	if (n)
		memcpy(p, content, n);
	return p + n;
}
