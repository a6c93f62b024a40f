/*
 * fz-csr-der — csr_parse_der (the EST path, RFC 7030) on any bytes, then
 * what EST and issue read of a parsed request: key type and policy, SPKI
 * hash and bits, the request's subject.
 *
 * Differential: csr_parse_der reads PKCS#10 through its own templates and
 * builds the key itself (lib/csr.c); every input must get the verdict
 * OpenSSL's X509_REQ path gives (d2i_X509_REQ of exactly these bytes, a
 * decodable key, X509_REQ_verify == 1), the same key type and the same
 * SPKI hash. A difference aborts, so the fuzzer reports it as a crash and
 * t-fuzz-regress checks the corpus against it under make check.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "csr.h"
#include "fuzz.h"
#include "util.h"

int fz_csr_der_init(void)
{
	return 0;
}

/* What the X509_REQ path says of data: 1 accepted (type and spki set). */
static int openssl_verdict(const uint8_t *data, size_t size, unsigned *type,
			   char spki[65])
{
	const unsigned char *p = data, *pt = NULL;
	X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)size);
	X509_PUBKEY *xpk = r ? X509_REQ_get_X509_PUBKEY(r) : NULL;
	EVP_PKEY *k = r ? X509_REQ_get0_pubkey(r) : NULL;
	unsigned char *der = NULL;
	int ok = 0, len, plen = 0;

	if (!r || p != data + size || !k || X509_REQ_verify(r, k) != 1)
		goto out;
	*type = pkey_key_type(k);
	/* The hash rule of lib/csr.c: over the SPKI as encoded when that is
	 * canonical (RSA, uncompressed EC point), else re-encoded. */
	X509_PUBKEY_get0_param(NULL, &pt, &plen, NULL, xpk);
	if (EVP_PKEY_is_a(k, "RSA") ||
	    (EVP_PKEY_is_a(k, "EC") && plen > 0 && pt[0] == 0x04)) {
		len = i2d_X509_PUBKEY(xpk, &der);
		if (len <= 0)
			goto out;
		sha256_hex(der, (size_t)len, spki);
	} else if (pkey_spki_sha256(k, spki) < 0) {
		goto out;
	}
	ok = 1;
out:
	OPENSSL_free(der);
	X509_REQ_free(r);
	ERR_clear_error();
	return ok;
}

int fz_csr_der_one(const uint8_t *data, size_t size)
{
	struct csr *c = NULL;
	struct errd e = {0};
	struct spki_ref key = {0};
	unsigned type = 0;
	char spki[65] = "";
	int mine, theirs;

	mine = size <= CSR_MAX_DER && csr_parse_der(data, size, &c, &e) == 0;
	theirs = size > 0 && size <= CSR_MAX_DER &&
		 openssl_verdict(data, size, &type, spki);
	if (mine != theirs)
		abort(); /* the two parsers disagree on this request */
	if (!mine)
		goto out;
	if (csr_key_type(c) != type || strcmp(csr_spki_sha256(c), spki) != 0)
		abort(); /* same request, another key type or hash */
	(void)csr_check_key(c, KEY_ALL, &e);
	csr_get0_key(c, &key);
	if (!key.der || key.der_len == 0 || !key.bits)
		abort();
	(void)X509_NAME_entry_count(csr_get0_subject(c));
out:
	csr_free(c);
	return 0;
}

FUZZ_ENTRY(csr_der)
