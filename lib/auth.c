/*
 * auth — constant-time token lookup over a table swapped whole on reload.
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "util.h"

/* Longest token we hash: tokens are 43 base64url characters from
 * `thingca token new`; anything far longer is not one of ours. */
#define AUTH_TOKEN_MAX 1024

struct auth_client {
	char name[AUTH_NAME_MAX];
	unsigned role;
	unsigned char hash[32];
};

struct auth {
	pthread_rwlock_t lock;
	struct auth_client *c;
	size_t n;
};

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
		memcpy(t[i].hash, clients[i].token_sha256, 32);
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
	free(a->c);
	free(a);
}

int auth_swap(struct auth *a, const struct client_cfg *clients, size_t n)
{
	struct auth_client *t = table_copy(clients, n), *old;

	if (!t)
		return -ERR_NOMEM;
	pthread_rwlock_wrlock(&a->lock);
	old = a->c;
	a->c = t;
	a->n = n;
	pthread_rwlock_unlock(&a->lock);
	free(old);
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
