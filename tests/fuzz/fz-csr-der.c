/*
 * fz-csr-der — csr_parse_der (the EST path, RFC 7030) on any bytes, then
 * what EST and issue read of a parsed request: key type and policy, SPKI
 * hash, the request's subject.
 */
#include <openssl/x509.h>

#include "config.h"
#include "csr.h"
#include "fuzz.h"

int fz_csr_der_init(void)
{
	return 0;
}

int fz_csr_der_one(const uint8_t *data, size_t size)
{
	struct csr *c = NULL;
	struct errd e = {0};

	if (csr_parse_der(data, size, &c, &e) < 0)
		goto out;
	(void)csr_key_type(c);
	(void)csr_check_key(c, KEY_ALL, &e);
	(void)csr_spki_sha256(c);
	(void)X509_NAME_entry_count(csr_get0_subject(c));
out:
	csr_free(c);
	return 0;
}

FUZZ_ENTRY(csr_der)
