/*
 * crl — the CA's certificate revocation list (RFC 5280 section 5), built from
 * the ledger's `revoked` entries and cached until a revocation is added or
 * half of its validity has passed.
 */
#ifndef THINGCA_CRL_H
#define THINGCA_CRL_H

#include <stddef.h>

#include "ca.h"
#include "err.h"
#include "ledger.h"

struct crl_cache;

/* next_update_hours: the CRL's nextUpdate distance. NULL on out-of-memory. */
struct crl_cache *crl_cache_new(long next_update_hours);
void crl_cache_free(struct crl_cache *c);

/* The current CRL as DER (pem 0) or PEM (pem 1), malloc'd into *out.
 * Regenerated (and signed) when the ledger holds a revocation newer than the
 * cached CRL, or the cached one is past half its validity. 0, or
 * -ERR_LEDGER_UNAVAILABLE / -ERR_SIGNER_UNAVAILABLE. */
int crl_get(struct crl_cache *c, struct ca *ca, struct ledger *l, int pem,
	    unsigned char **out, size_t *len, struct errd *e);

#endif
