/*
 * key — the key types thingca knows (DESIGN.md "Accepted device keys"):
 * their names in the configuration and on the command line, the type of an
 * OpenSSL key, a new key of a type, the digest a key signs with and the
 * SHA-256 of a key's canonical SubjectPublicKeyInfo. csr.c, ca.c, x509.c,
 * config.c and the CLI ask here instead of each other.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "key.h"
#include "spki.h"
#include "util.h"

static const struct {
	const char *name;
	unsigned type;
} key_types[] = {
    {"ec:P-256", KEY_EC_P256},	{"ec:P-384", KEY_EC_P384},
    {"rsa:2048", KEY_RSA_2048}, {"rsa:3072", KEY_RSA_3072},
    {"rsa:4096", KEY_RSA_4096},
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/* "ec:P-256" -> KEY_EC_P256; 0 for an unknown name (or NULL). */
unsigned key_type_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < N_KEY_TYPES; i++)
		if (strcmp(name, key_types[i].name) == 0)
			return key_types[i].type;
	return 0;
}

/* KEY_EC_P256 -> "ec:P-256"; NULL unless type is exactly one known bit. */
const char *key_type_name(unsigned type)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++)
		if (type == key_types[i].type)
			return key_types[i].name;
	return NULL;
}

/* Does this EC key carry explicit curve parameters (RFC 5480 2.1.1
 * forbids them), whatever curve they describe? */
static int ec_explicit(EVP_PKEY *k)
{
	char enc[32];

	return EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
					      enc, sizeof(enc), NULL) &&
	       strcmp(enc, OSSL_PKEY_EC_ENCODING_EXPLICIT) == 0;
}

unsigned key_type_of(EVP_PKEY *k)
{
	char group[64];
	unsigned t = 0;

	if (!k)
		goto out;
	if (EVP_PKEY_is_a(k, "EC")) {
		/* Only named curves have a group name: explicit curve
		 * parameters (RFC 5480 2.1.1 forbids them) stay unknown. */
		if (!EVP_PKEY_get_utf8_string_param(k,
						    OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), NULL))
			goto out;
		/* Trap: OpenSSL 3 matches explicit parameters that equal a
		 * named curve and then reports its group name too; the
		 * encoding still says "explicit". */
		if (ec_explicit(k))
			goto out;
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			t = KEY_EC_P256;
		else if (strcmp(group, "secp384r1") == 0 ||
			 strcmp(group, "P-384") == 0)
			t = KEY_EC_P384;
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		/* Exactly these sizes: AWS IoT lists them, and an odd modulus
		 * length (RSA-2049) is a broken generator, not a choice. */
		switch (EVP_PKEY_get_bits(k)) {
		case 2048:
			t = KEY_RSA_2048;
			break;
		case 3072:
			t = KEY_RSA_3072;
			break;
		case 4096:
			t = KEY_RSA_4096;
			break;
		default:
			break;
		}
	}
out:
	ERR_clear_error();
	return t;
}

EVP_PKEY *key_generate(unsigned type)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case KEY_EC_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case KEY_EC_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case KEY_RSA_2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case KEY_RSA_3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case KEY_RSA_4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		break;
	}
	return k;
}

const EVP_MD *key_md(EVP_PKEY *k)
{
	char group[64];

	if (k && EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL) &&
	    strcmp(group, "secp384r1") == 0)
		return EVP_sha384();
	return EVP_sha256();
}

int key_spki_sha256(EVP_PKEY *k, char hex[65])
{
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;

	rc = spki_of_pkey(k, &der, &len);
	if (rc < 0)
		hex[0] = '\0';
	else
		sha256_hex(der, len, hex);
	OPENSSL_free(der);
	return rc;
}

void key_describe(EVP_PKEY *k, char *buf, size_t size)
{
	char group[64];
	const char *name;

	if (EVP_PKEY_is_a(k, "EC")) {
		if (!ec_explicit(k) && EVP_PKEY_get_utf8_string_param(
					   k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					   sizeof(group), NULL))
			snprintf(buf, size, "EC %s", group);
		else
			snprintf(buf, size,
				 "EC with explicit curve parameters");
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(buf, size, "RSA %d", EVP_PKEY_get_bits(k));
	} else {
		name = EVP_PKEY_get0_type_name(k);
		snprintf(buf, size, "%s", name ? name : "unknown");
	}
	ERR_clear_error();
}
