/*
 * signer — the CA key behind lib/ca.h, internal to ca.c and its PKCS#11
 * helper p11.c. Nothing else includes this file.
 *
 * A signer is an EVP_PKEY that X509_sign / X509_CRL_sign / EVP_DigestSign
 * can use, plus an optional reopen hook. A file key never needs reopening
 * (reopen NULL). A PKCS#11 key (p11.c, later) fills key through the pkcs11
 * engine and sets reopen to log in to the token again after a failed
 * signature (token removed, session closed); ca.c calls reopen under its
 * write lock before the next signature, so threads signing under the read
 * lock never see the key change beneath them.
 */
#ifndef THINGCA_SIGNER_H
#define THINGCA_SIGNER_H

#include <openssl/evp.h>

#include "config.h"
#include "err.h"

struct signer {
	EVP_PKEY *key; /* owned; the private key (or token handle) */
	/* Re-acquires key after a failed signature; NULL when it cannot help.
	 * 0 or -ERR_SIGNER_UNAVAILABLE. */
	int (*reopen)(struct signer *s, struct errd *e);
	/* Frees impl (and key if the backend must do it itself); NULL: only
	 * EVP_PKEY_free(key). */
	void (*close)(struct signer *s);
	void *impl; /* backend state (p11: engine, URI, PIN) */
};

/* p11.c, when built: opens cfg->key (a "pkcs11:" URI, RFC 7512) through
 * cfg->pkcs11_module and fills s. 0, -ERR_CA_INVALID or
 * -ERR_SIGNER_UNAVAILABLE. ca_open calls it for "pkcs11:" keys. */
int p11_signer_open(const struct ca_cfg *cfg, struct signer *s, struct errd *e);

#endif
