/*
 * gencsr — request bodies for `make bench`: one POST /v1/certificates body
 * a line, {"serial":"<PREFIX>-<n>","csr":"<PEM, \n escaped>"}, for n from
 * START to START+COUNT-1. `openssl req` in a loop makes a few hundred CSRs a
 * second; this makes thousands, which is what a 10-second run of a daemon
 * issuing thousands a second consumes.
 *
 *   gencsr ec:P-256 START COUNT PREFIX        a fresh key and CSR per serial
 *   gencsr rsa:2048 START COUNT PREFIX NKEYS  NKEYS keys (and CSRs) reused
 *                                             round-robin: RSA key generation
 *                                             costs ~50 ms, so a bench with a
 *                                             fresh RSA key per serial would
 *                                             spend minutes making keys; the
 *                                             daemon then runs with
 *                                             unique_public_keys false
 *
 * The CSR subject is CN=<serial>; the daemon ignores it anyway. Exit 0, or
 * 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Most RSA keys in the pool: enough variety, bounded start-up time. */
#define NKEYS_MAX 64

static EVP_PKEY_CTX *keygen_ctx;

/* A new key of type. One keygen context serves every key: creating one per
 * key (EVP_PKEY_Q_keygen) costs OpenSSL 3 a provider fetch and an EC group
 * lookup each time, several times the cost of the key itself. */
static EVP_PKEY *new_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strncmp(type, "ec:", 3) == 0) {
		if (!keygen_ctx) {
			keygen_ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
			if (!keygen_ctx || EVP_PKEY_keygen_init(keygen_ctx) <= 0 ||
			    EVP_PKEY_CTX_set_group_name(keygen_ctx, type + 3) <= 0)
				return NULL;
		}
		return EVP_PKEY_keygen(keygen_ctx, &k) > 0 ? k : NULL;
	}
	if (strcmp(type, "rsa:2048") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return NULL;
}

/* Puts key into req. For EC keys the SubjectPublicKeyInfo is filled from
 * the encoded point directly: X509_REQ_set_pubkey encodes the key through
 * an OSSL_ENCODER and decodes it back (OpenSSL 3.0), three quarters of the
 * cost of a whole CSR in a profile of this program. 1 or 0. */
static int set_pubkey(X509_REQ *req, EVP_PKEY *key)
{
	unsigned char pt[133], *penc;
	char group[32];
	size_t len = 0;
	int nid;

	if (!EVP_PKEY_is_a(key, "EC"))
		return X509_REQ_set_pubkey(req, key);
	if (!EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group),
					    NULL) ||
	    (nid = OBJ_sn2nid(group)) == NID_undef ||
	    !EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pt,
					     sizeof(pt), &len) ||
	    (penc = OPENSSL_memdup(pt, len)) == NULL)
		return 0;
	if (!X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(req),
				    OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
				    V_ASN1_OBJECT, OBJ_nid2obj(nid), penc,
				    (int)len)) {
		OPENSSL_free(penc);
		return 0;
	}
	return 1;
}

/* The CSR of key with CN=cn as PEM, newlines escaped for JSON, into out
 * (malloc'd). 0 or -1. */
static int csr_json_pem(EVP_PKEY *key, const char *cn, char **out)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *p;
	long n, i;
	int rc = -1;

	*out = NULL;
	if (!req || !name || !b ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !set_pubkey(req, key) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    !PEM_write_bio_X509_REQ(b, req))
		goto out;
	n = BIO_get_mem_data(b, &data);
	p = malloc((size_t)n * 2 + 1);
	if (!p)
		goto out;
	*out = p;
	for (i = 0; i < n; i++) {
		if (data[i] == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else {
			*p++ = data[i];
		}
	}
	*p = '\0';
	rc = 0;
out:
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return rc;
}

int main(int argc, char **argv)
{
	EVP_PKEY *pool[NKEYS_MAX] = {0};
	char *pool_pem[NKEYS_MAX] = {0};
	const char *type, *prefix;
	long start, count, i, nkeys = 0;
	char serial[80];
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: gencsr ec:P-256|ec:P-384|rsa:2048 START "
				"COUNT PREFIX [NKEYS]\n");
		return 2;
	}
	type = argv[1];
	start = atol(argv[2]);
	count = atol(argv[3]);
	prefix = argv[4];
	if (argc == 6)
		nkeys = atol(argv[5]);
	if (start < 0 || count < 0 || nkeys < 0 || nkeys > NKEYS_MAX) {
		fprintf(stderr, "gencsr: bad START, COUNT or NKEYS (<= %d)\n",
			NKEYS_MAX);
		return 2;
	}
	if (strncmp(type, "rsa:", 4) == 0 && nkeys == 0)
		nkeys = 8;
	for (i = 0; i < nkeys; i++) {
		snprintf(serial, sizeof(serial), "%s-pool%ld", prefix, i);
		pool[i] = new_key(type);
		if (!pool[i] || csr_json_pem(pool[i], serial, &pool_pem[i]) < 0) {
			fprintf(stderr, "gencsr: cannot make a %s key\n", type);
			goto out;
		}
	}
	for (i = start; i < start + count; i++) {
		char *pem = NULL;
		EVP_PKEY *k = NULL;

		snprintf(serial, sizeof(serial), "%s-%08ld", prefix, i);
		if (nkeys) {
			pem = pool_pem[i % nkeys];
		} else {
			k = new_key(type);
			if (!k || csr_json_pem(k, serial, &pem) < 0) {
				fprintf(stderr, "gencsr: cannot make a %s CSR\n",
					type);
				EVP_PKEY_free(k);
				goto out;
			}
		}
		printf("{\"serial\":\"%s\",\"csr\":\"%s\"}\n", serial, pem);
		if (!nkeys)
			free(pem);
		EVP_PKEY_free(k);
	}
	if (fflush(stdout) == 0)
		rc = 0;
out:
	for (i = 0; i < nkeys; i++) {
		EVP_PKEY_free(pool[i]);
		free(pool_pem[i]);
	}
	return rc;
}
