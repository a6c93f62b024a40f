/*
 * http — the HTTP server: libmicrohttpd behind a small request/response
 * interface. The only module that includes microhttpd.h.
 *
 * Each listener (TCP host:port, unix:/path, or a socket inherited from
 * systemd) gets an MHD daemon with a thread per connection. http collects a
 * request's body up to the configured cap and then calls the handler once per
 * request from the connection's thread; the handler may block (it signs and
 * waits for the ledger's group commit) without holding up any other
 * connection. Limits: body size, connections per listener, time per part.
 */
#ifndef THINGCA_HTTP_H
#define THINGCA_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

struct http_conn;

/* One request, valid during the handler call. */
struct http_req {
	const char *method;
	const char *path; /* decoded path, without the query */
	const char *body; /* NUL-terminated, body_len bytes */
	size_t body_len;
	int body_too_large;	/* Content-Length or body over the cap:
				   body is empty, answer 413 */
	const char *peer;	/* "127.0.0.1:5555", "[::1]:5555", "unix" */
	struct http_conn *conn; /* opaque */
	/* HTTPS listeners (listen[].tls) only; 0 / NULL otherwise. */
	int tls;			/* the request came over TLS */
	int client_cert_required;	/* tls.require_client_cert */
	const unsigned char *peer_cert; /* client certificate (DER, leaf),
					   NULL when none was sent */
	size_t peer_cert_len;
	int peer_cert_verified;	   /* 1: chains to tls.client_ca and is
				      valid now (tls.c) */
	const char *peer_cert_why; /* not verified: why ("" otherwise) */
};

/* A request header or query argument, NULL when absent. */
const char *http_req_header(const struct http_req *r, const char *name);
const char *http_req_arg(const struct http_req *r, const char *name);

/* Calls cb for each query argument (value may be NULL); stops early when cb
 * returns non-zero and returns that value. */
int http_req_args_each(const struct http_req *r,
		       int (*cb)(void *arg, const char *key, const char *value),
		       void *arg);

/* Extra response headers a handler may set (EST needs three at most). */
#define HTTP_RESP_EXTRA 4

/* The handler's answer. body is malloc'd and owned by http after the call. */
struct http_resp {
	int status;
	const char *content_type; /* static string */
	char *body;
	size_t body_len;
	const char *allow; /* "Allow" header for 405, static */
	/* Further headers as name, value pairs (static strings; unused pairs
	 * NULL): Retry-After, WWW-Authenticate, Content-Transfer-Encoding. */
	const char *extra[HTTP_RESP_EXTRA][2];
};

typedef void (*http_handler_fn)(void *arg, const struct http_req *req,
				struct http_resp *resp);

/* Sets resp's status, content type (a static string) and body (malloc'd,
 * taken over; len bytes), freeing any body resp held. */
void http_resp_set_body(struct http_resp *resp, int status, const char *type,
			char *body, size_t len);

struct http_opts {
	size_t max_body_bytes;
	unsigned max_connections; /* per listener */
	unsigned connection_timeout_s;
};

struct http_server;

/* Starts serving. Listeners are either the inherited sockets fds[0..nfds)
 * (systemd socket activation; listen ignored) or the configured listen
 * entries. 0 with *out, or -ERR_IO / -ERR_CONFIG_INVALID naming the address. */
int http_start(const struct listen_cfg *listen, size_t n_listen, const int *fds,
	       size_t nfds, const struct http_opts *o, http_handler_fn handler,
	       void *arg, struct http_server **out, struct errd *e);

/* Stops accepting new connections (closes listeners). Requests in flight
 * continue. */
void http_quiesce(struct http_server *s);

/* Requests started and not yet completed. */
unsigned http_inflight(const struct http_server *s);

/* Requests completed since start (the watchdog checks progress with it). */
uint64_t http_completed(const struct http_server *s);

/* Stops every listener and frees s (NULL is a no-op). Call after the
 * in-flight count reached zero to lose no answer. */
void http_stop(struct http_server *s);

/* The bound address of listener i ("127.0.0.1:8180"), for logs. */
const char *http_listener_name(const struct http_server *s, size_t i);
size_t http_listener_count(const struct http_server *s);

#endif
