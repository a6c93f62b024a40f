/*
 * key — key types (DESIGN.md "Accepted device keys"): enum key_type, its
 * names, the type of an OpenSSL key, key generation, the signing digest of
 * a key and the SHA-256 of its canonical SubjectPublicKeyInfo.
 */
#ifndef THINGCA_KEY_H
#define THINGCA_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

/* Device key types accepted in CSRs (profile.key_types), as bits so a set
 * of them is one unsigned. */
enum key_type {
	KEY_EC_P256 = 1u << 0,
	KEY_EC_P384 = 1u << 1,
	KEY_RSA_2048 = 1u << 2,
	KEY_RSA_3072 = 1u << 3,
	KEY_RSA_4096 = 1u << 4,
};
#define KEY_ALL                                                                \
	(KEY_EC_P256 | KEY_EC_P384 | KEY_RSA_2048 | KEY_RSA_3072 | KEY_RSA_4096)

/* "ec:P-256" -> KEY_EC_P256; 0 for an unknown name (or NULL). */
unsigned key_type_parse(const char *name);

/* KEY_EC_P256 -> "ec:P-256"; NULL for anything but exactly one known bit. */
const char *key_type_name(unsigned type);

/* Key type bit of any public or private key: a named P-256 or P-384 curve
 * (never explicit parameters), RSA of exactly 2048, 3072 or 4096 bits; 0
 * for anything else or NULL. */
unsigned key_type_of(EVP_PKEY *k);

/* A new key of type, one enum key_type bit: EC P-256 or P-384, RSA 2048,
 * 3072 or 4096. The caller frees; NULL for any other type or when OpenSSL
 * fails (its error queue says why). */
EVP_PKEY *key_generate(unsigned type);

/* The digest a CA key signs with: SHA-384 for EC P-384, SHA-256 otherwise
 * (DESIGN.md "Signature"). Never NULL. */
const EVP_MD *key_md(EVP_PKEY *k);

/* Lowercase hex SHA-256 of a key's canonical SubjectPublicKeyInfo
 * (spki_of_pkey) into hex[65]; 0 or -ERR_INTERNAL (hex is then ""). */
int key_spki_sha256(EVP_PKEY *k, char hex[65]);

/* The key as a person names it into buf[size]: "RSA 1024", "EC secp256k1",
 * "EC with explicit curve parameters", "ED25519". */
void key_describe(EVP_PKEY *k, char *buf, size_t size);

#endif
