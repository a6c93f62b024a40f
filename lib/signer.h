/*
 * signer — the CA key behind lib/ca.h, internal to ca.c and its PKCS#11
 * helper p11.c; cmd_ca.c (`ca init --key pkcs11:`) is the one other user, to
 * self-sign the certificate of a token key that has no certificate yet.
 *
 * A signer is an EVP_PKEY that X509_sign / X509_CRL_sign / EVP_DigestSign
 * can use, plus an optional reopen hook. A file key never needs reopening
 * (reopen NULL). A PKCS#11 key (p11.c) fills key through the pkcs11 engine
 * and sets reopen to re-initialise the module and log in to the token again
 * after a failed signature (token removed, session closed), at most once a
 * second; ca.c calls reopen under its write lock before the next signature,
 * so threads signing under the read lock never see the key change beneath
 * them. A failed reopen leaves key NULL and is retried on the next call.
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

/* p11.c: opens cfg->key (a "pkcs11:" URI, RFC 7512) through
 * cfg->pkcs11_module with the PIN of $CREDENTIALS_DIRECTORY/ca.pin,
 * cfg->key_pin_file or the URI's pin-source, and fills s (release with
 * s->close). 0, or -ERR_CA_INVALID / -ERR_NOMEM with e->msg naming the
 * check that failed (module, token present, PIN, object) and the fix. One
 * open PKCS#11 signer per process. ca_open calls it for "pkcs11:" keys. */
int p11_signer_open(const struct ca_cfg *cfg, struct signer *s, struct errd *e);

#endif
