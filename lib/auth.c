/*
 * auth — constant-time token lookup over a table swapped whole on reload.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "auth.h"
#include "util.h"

/* Longest token we hash: tokens are 43 base64url characters from
 * `thingca token new`; anything far longer is not one of ours. */
#define AUTH_TOKEN_MAX 1024

struct auth_client {
	char name[AUTH_NAME_MAX];
	unsigned role;
	int has_token;
	unsigned char hash[32];
	int has_cert; /* certificate_sha256 */
	unsigned char cert_hash[32];
	X509_STORE *store; /* ca: the station CA; NULL when none */
	char cn[65];	   /* with store: the expected CN */
};

struct auth {
	pthread_rwlock_t lock;
	struct auth_client *c;
	size_t n;
};

static void table_free(struct auth_client *t, size_t n)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < n; i++)
		X509_STORE_free(t[i].store);
	free(t);
}

/* A store holding every certificate of pem (config.c checked it holds at
 * least one) as a trust anchor; an intermediate may be the anchor
 * (X509_V_FLAG_PARTIAL_CHAIN), so a station CA file can name the issuing
 * CA alone. NULL on out-of-memory. */
static X509_STORE *store_from_pem(const char *pem)
{
	STACK_OF(X509_INFO) *in = NULL;
	X509_STORE *st = X509_STORE_new();
	BIO *b = BIO_new_mem_buf(pem, -1);
	int i, ok = st && b;

	in = ok ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	ok = ok && in;
	for (i = 0; ok && i < sk_X509_INFO_num(in); i++) {
		X509 *x = sk_X509_INFO_value(in, i)->x509;

		if (x && !X509_STORE_add_cert(st, x))
			ok = 0;
	}
	if (ok)
		ok = X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN |
						  X509_V_FLAG_X509_STRICT) == 1;
	sk_X509_INFO_pop_free(in, X509_INFO_free);
	BIO_free(b);
	ERR_clear_error();
	if (!ok) {
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

static struct auth_client *table_copy(const struct client_cfg *clients,
				      size_t n)
{
	struct auth_client *t = calloc(n ? n : 1, sizeof(*t));
	size_t i;

	if (!t)
		return NULL;
	for (i = 0; i < n; i++) {
		snprintf(t[i].name, sizeof(t[i].name), "%s", clients[i].name);
		t[i].role = clients[i].role;
		t[i].has_token = clients[i].has_token;
		memcpy(t[i].hash, clients[i].token_sha256, 32);
		t[i].has_cert = clients[i].has_cert_sha256;
		memcpy(t[i].cert_hash, clients[i].cert_sha256, 32);
		if (clients[i].ca_pem && clients[i].cn) {
			t[i].store = store_from_pem(clients[i].ca_pem);
			if (!t[i].store) {
				table_free(t, n);
				return NULL;
			}
			snprintf(t[i].cn, sizeof(t[i].cn), "%s", clients[i].cn);
		}
	}
	return t;
}

struct auth *auth_new(const struct client_cfg *clients, size_t n)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->c = table_copy(clients, n);
	if (!a->c) {
		free(a);
		return NULL;
	}
	a->n = n;
	pthread_rwlock_init(&a->lock, NULL);
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_rwlock_destroy(&a->lock);
	table_free(a->c, a->n);
	free(a);
}

int auth_swap(struct auth *a, const struct client_cfg *clients, size_t n)
{
	struct auth_client *t = table_copy(clients, n), *old;
	size_t old_n;

	if (!t)
		return -ERR_NOMEM;
	pthread_rwlock_wrlock(&a->lock);
	old = a->c;
	old_n = a->n;
	a->c = t;
	a->n = n;
	pthread_rwlock_unlock(&a->lock);
	table_free(old, old_n);
	return 0;
}

size_t auth_count(struct auth *a)
{
	size_t n;

	pthread_rwlock_rdlock(&a->lock);
	n = a->n;
	pthread_rwlock_unlock(&a->lock);
	return n;
}

/* Looks up hash among clients (optionally only the one named user) in
 * constant time over the table. */
static int lookup(struct auth *a, const char *user, const unsigned char *hash,
		  char *name, unsigned *role)
{
	size_t i;
	int found = -1;

	pthread_rwlock_rdlock(&a->lock);
	for (i = 0; i < a->n; i++) {
		int eq = ct_equal(a->c[i].hash, hash, 32);

		if (!a->c[i].has_token)
			eq = 0;
		if (user && strcmp(a->c[i].name, user) != 0)
			eq = 0;
		/* No early exit: every entry is compared. */
		if (eq && found < 0)
			found = (int)i;
	}
	if (found >= 0) {
		snprintf(name, AUTH_NAME_MAX, "%s", a->c[found].name);
		*role = a->c[found].role;
	}
	pthread_rwlock_unlock(&a->lock);
	return found >= 0 ? 0 : -ERR_UNAUTHORIZED;
}

int auth_token(struct auth *a, const char *user, const char *token,
	       size_t token_len, char *name, unsigned *role, struct errd *e)
{
	unsigned char hash[32];

	if (!token || token_len == 0 || token_len > AUTH_TOKEN_MAX)
		return err_set(e, ERR_UNAUTHORIZED, "missing or invalid token");
	sha256(token, token_len, hash);
	if (lookup(a, user, hash, name, role) < 0)
		return err_set(e, ERR_UNAUTHORIZED, "unknown token");
	return 0;
}

int auth_bearer(struct auth *a, const char *authorization, char *name,
		unsigned *role, struct errd *e)
{
	const char *t;

	if (!authorization)
		return err_set(e, ERR_UNAUTHORIZED,
			       "missing Authorization: Bearer <token> header");
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return err_set(e, ERR_UNAUTHORIZED,
			       "Authorization must be 'Bearer <token>'");
	t = authorization + 7;
	while (*t == ' ')
		t++;
	return auth_token(a, NULL, t, strlen(t), name, role, e);
}

/* Does x chain to st (as a TLS client certificate) and carry exactly one
 * subject CN equal to cn? */
static int cert_matches_ca(X509 *x, X509_STORE *st, const char *cn)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_NAME *sub = X509_get_subject_name(x);
	const ASN1_STRING *d;
	unsigned char *utf = NULL;
	int idx, len, ok = 0;

	if (!ctx || !X509_STORE_CTX_init(ctx, st, x, NULL))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1)
		goto out;
	idx = X509_NAME_get_index_by_NID(sub, NID_commonName, -1);
	if (idx < 0 ||
	    X509_NAME_get_index_by_NID(sub, NID_commonName, idx) >= 0)
		goto out;
	d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sub, idx));
	len = ASN1_STRING_to_UTF8(&utf, d);
	ok = len >= 0 && (size_t)len == strlen(cn) &&
	     memcmp(utf, cn, (size_t)len) == 0;
out:
	OPENSSL_free(utf);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

int auth_cert(struct auth *a, const unsigned char *der, size_t len, char *name,
	      unsigned *role, struct errd *e)
{
	const unsigned char *p = der;
	unsigned char hash[32];
	char hex[65];
	X509 *x = NULL;
	size_t i;
	int found = -1;

	if (!der || len == 0)
		return err_set(e, ERR_UNAUTHORIZED,
			       "no client certificate was presented");
	sha256(der, len, hash);
	x = d2i_X509(NULL, &p, (long)len);
	pthread_rwlock_rdlock(&a->lock);
	for (i = 0; i < a->n; i++) {
		const struct auth_client *c = &a->c[i];

		if ((c->has_cert && ct_equal(c->cert_hash, hash, 32)) ||
		    (c->store && x && cert_matches_ca(x, c->store, c->cn)))
			found = (int)i;
		if (found >= 0)
			break;
	}
	if (found >= 0) {
		snprintf(name, AUTH_NAME_MAX, "%s", a->c[found].name);
		*role = a->c[found].role;
	}
	pthread_rwlock_unlock(&a->lock);
	X509_free(x);
	if (found >= 0)
		return 0;
	hex_encode(hash, 32, hex);
	return err_set(e, ERR_UNAUTHORIZED,
		       "the client certificate (SHA-256 %s) belongs to no "
		       "configured client",
		       hex);
}

int auth_peer(struct auth *a, const struct http_req *req, char *name,
	      unsigned *role, struct errd *e)
{
	int rc;

	if (!req->peer_cert) {
		if (req->client_cert_required)
			return err_set(e, ERR_UNAUTHORIZED,
				       "this listener requires a client "
				       "certificate (tls.require_client_cert); "
				       "a token alone is not accepted");
		return 0;
	}
	if (!req->peer_cert_verified)
		return err_set(e, ERR_UNAUTHORIZED,
			       "client certificate refused: %s (it must chain "
			       "to the listener's tls.client_ca)",
			       req->peer_cert_why && *req->peer_cert_why
				   ? req->peer_cert_why
				   : "not verified");
	rc = auth_cert(a, req->peer_cert, req->peer_cert_len, name, role, e);
	if (rc == 0)
		return 1;
	/* A certificate that is no client's (a device's, say) on a listener
	 * that does not insist: the token decides. */
	if (!req->client_cert_required) {
		err_clear(e);
		return 0;
	}
	return rc;
}
