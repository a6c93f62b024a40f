/*
 * auth — bearer tokens to client names and roles.
 *
 * The daemon keeps only SHA-256 hashes of tokens (DESIGN.md "HTTP API"). A
 * presented token is hashed and compared with every client's hash in
 * constant time, never stopping at the first match, so timing tells nothing
 * about which or how many bytes matched. The table is replaced whole on
 * SIGHUP (auth_swap), readers take a short read lock.
 */
#ifndef THINGCA_AUTH_H
#define THINGCA_AUTH_H

#include <stddef.h>

#include "client.h"
#include "config.h"
#include "err.h"
#include "http.h"

/* Longest client name we copy out (config names are shorter). */
#define AUTH_NAME_MAX 128

struct auth;

/* Copies the clients table. NULL on out-of-memory. */
struct auth *auth_new(const struct client_cfg *clients, size_t n);

/* NULL is a no-op. */
void auth_free(struct auth *a);

/* Replaces the table with a copy of clients (SIGHUP). 0 or -ERR_NOMEM (the
 * old table stays). */
int auth_swap(struct auth *a, const struct client_cfg *clients, size_t n);

/* Checks an Authorization header value ("Bearer <token>"). 0 with the
 * client's name in name[AUTH_NAME_MAX] and its role bits in *role;
 * -ERR_UNAUTHORIZED when missing, malformed or unknown. */
int auth_bearer(struct auth *a, const char *authorization, char *name,
		unsigned *role, struct errd *e);

/* Checks a plain token (HTTP Basic password, EST) for client name user.
 * Same results as auth_bearer. */
int auth_token(struct auth *a, const char *user, const char *token,
	       size_t token_len, char *name, unsigned *role, struct errd *e);

/* Checks a TLS client certificate (DER; the caller made sure TLS verified
 * it against the listener's client_ca): a client whose certificate_sha256
 * is the SHA-256 of der, or whose station CA (clients[].ca) it chains to as
 * a TLS client certificate with exactly one subject CN equal to
 * clients[].cn. Same results as auth_bearer. */
int auth_cert(struct auth *a, const unsigned char *der, size_t len, char *name,
	      unsigned *role, struct errd *e);

/* The client a request's TLS client certificate names (auth_cert): 1 with
 * name[AUTH_NAME_MAX] and *role; 0 when the request brings no certificate
 * (or one that is no client's) and the listener does not require one, so a
 * token decides; -ERR_UNAUTHORIZED (e says why) when the listener requires a
 * certificate and none names a client, or the certificate does not verify
 * against the listener's client_ca. Shared by the JSON API and EST. */
int auth_peer(struct auth *a, const struct http_req *req, char *name,
	      unsigned *role, struct errd *e);

/* Number of configured clients (all roles together), for logs. */
size_t auth_count(struct auth *a);

#endif
