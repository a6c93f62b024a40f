/*
 * http — libmicrohttpd behind the small interface of http.h.
 *
 * We create every listening socket ourselves (TCP, Unix, or take the ones
 * systemd passed) and hand it to MHD with MHD_OPTION_LISTEN_SOCKET, so the
 * three kinds are served the same way. One MHD daemon per listener, each
 * accepting on its own thread and serving every connection on a thread of
 * its own (poll).
 *
 * Body handling: MHD calls the access handler first with the headers only,
 * then with body chunks, then once more with none. We refuse an announced
 * Content-Length over the cap on the first call (without reading the body),
 * collect up to the cap otherwise, and call the application handler on the
 * last call. A chunked body that grows past the cap is drained and answered
 * 413.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "deadline.h"
#include "http.h"
#include "tls.h"
#include "util.h"

/* Thread stack for each connection. glibc's default, 8 MiB, is address
 * space rather than memory, but 256 connections per listener would reserve
 * 2 GiB of it for nothing. The deepest path measured is jansson's parser
 * at its nesting limit (t-bad-input's 10,000 nested arrays): it fails with
 * 160 KiB and passes with 192 KiB. 1 MiB leaves room for sanitizer builds
 * and for a PKCS#11 module signing in-process. */
#define HTTP_THREAD_STACK (1024u * 1024u)
/* Connections MHD accepts beyond max_connections only to refuse them at
 * once (on_connection): a burst of this many is refused promptly, a larger
 * one waits in the backlog until those are gone (milliseconds). */
#define HTTP_REFUSE_HEADROOM 64u
/* listen(2) backlog: enough for a burst of stations reconnecting at once. */
#define HTTP_BACKLOG 512

struct listener {
	struct MHD_Daemon *mhd;
	int fd;
	int own_fd;	 /* we created it (not inherited) */
	char *unix_path; /* we bound it: unlink at stop */
	char name[160];
	struct http_server *srv;
	int tls;	   /* HTTPS (listen[].tls) */
	atomic_uint conns; /* open connections */
	int require_client_cert;
	struct tls_files files; /* kept while MHD may read them */
};

struct http_server {
	struct listener *ls;
	size_t n;
	http_handler_fn handler;
	void *arg;
	size_t max_body;
	unsigned max_conns;   /* per listener; more are refused at once */
	struct deadlines *dl; /* headers and body each within this: */
	uint64_t part_ns;     /* connection_timeout_s, in ns */
	atomic_uint inflight;
	atomic_uint_fast64_t completed;
};

struct http_conn {
	struct http_server *srv;
	struct listener *l;
	struct MHD_Connection *mhd;
	struct deadline *dl; /* the connection's, lent */
	char *body;
	size_t len;
	size_t cap;
	int too_large;
	int started;
	char peer[64];
};

const char *http_req_header(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn->mhd, MHD_HEADER_KIND, name);
}

const char *http_req_arg(const struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn->mhd, MHD_GET_ARGUMENT_KIND,
					   name);
}

struct args_iter {
	int (*cb)(void *, const char *, const char *);
	void *arg;
	int rc;
};

static enum MHD_Result args_iter_cb(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct args_iter *it = cls;

	(void)kind;
	it->rc = it->cb(it->arg, key, value);
	return it->rc ? MHD_NO : MHD_YES;
}

int http_req_args_each(const struct http_req *r,
		       int (*cb)(void *arg, const char *key, const char *value),
		       void *arg)
{
	struct args_iter it = {cb, arg, 0};

	MHD_get_connection_values(r->conn->mhd, MHD_GET_ARGUMENT_KIND,
				  args_iter_cb, &it);
	return it.rc;
}

static void peer_name(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(out, n, "unix");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, n, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, n, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static enum MHD_Result respond(struct http_conn *hc, struct http_resp *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(resp->body_len, resp->body,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(resp->body);
		return MHD_NO;
	}
	resp->body = NULL;
	if (resp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type);
	if (resp->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	for (size_t i = 0; i < HTTP_RESP_EXTRA; i++)
		if (resp->extra[i][0] && resp->extra[i][1])
			MHD_add_response_header(r, resp->extra[i][0],
						resp->extra[i][1]);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(hc->mhd, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dispatch(struct http_conn *hc, const char *url,
				const char *method)
{
	struct http_req req = {0};
	struct http_resp resp = {0};
	struct tls_peer tp = {0};

	if (hc->l->tls) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    hc->mhd, MHD_CONNECTION_INFO_GNUTLS_SESSION);

		tls_peer_get(ci ? ci->tls_session : NULL, &tp);
		req.tls = 1;
		req.client_cert_required = hc->l->require_client_cert;
		req.peer_cert = tp.der;
		req.peer_cert_len = tp.der_len;
		req.peer_cert_verified = tp.verified;
		req.peer_cert_why = tp.why;
	}
	/* The request is complete: signing and the commit take the time
	 * they take. */
	deadline_set(hc->srv->dl, hc->dl, 0);
	req.method = method;
	req.path = url;
	req.body = hc->body ? hc->body : "";
	req.body_len = hc->too_large ? 0 : hc->len;
	req.body_too_large = hc->too_large;
	req.peer = hc->peer;
	req.conn = hc;
	hc->srv->handler(hc->srv->arg, &req, &resp);
	if (!resp.status)
		resp.status = 500;
	/* The answer gets its own allowance too: MHD's idle timeout alone
	 * lets a reader that takes a few bytes now and then hold the
	 * connection and its thread for as long as a large answer lasts. */
	deadline_set(hc->srv->dl, hc->dl, hc->srv->part_ns);
	return respond(hc, &resp);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct http_conn *hc = *con_cls;

	(void)version;
	if (!hc) {
		const union MHD_ConnectionInfo *ci;
		const char *cl;

		hc = calloc(1, sizeof(*hc));
		if (!hc)
			return MHD_NO;
		hc->srv = s;
		hc->l = l;
		hc->mhd = c;
		ci = MHD_get_connection_info(
		    c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		hc->dl = ci ? ci->socket_context : NULL;
		/* Headers are in; the body gets its own allowance. */
		deadline_set(s->dl, hc->dl, s->part_ns);
		peer_name(c, hc->peer, sizeof(hc->peer));
		*con_cls = hc;
		atomic_fetch_add(&s->inflight, 1);
		cl = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(cl, &end, 10);
			if (errno || *end || v > s->max_body) {
				/* Answer now; MHD then closes the connection
				 * without reading the announced body. */
				hc->too_large = 1;
				return dispatch(hc, url, method);
			}
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (!hc->too_large && hc->len + n > s->max_body) {
			hc->too_large = 1;
			free(hc->body);
			hc->body = NULL;
			hc->len = 0;
		}
		if (!hc->too_large) {
			if (buf_reserve(&hc->body, &hc->cap, hc->len + n + 1) <
			    0)
				return MHD_NO;
			memcpy(hc->body + hc->len, upload, n);
			hc->len += n;
			hc->body[hc->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (hc->started)
		return MHD_YES;
	hc->started = 1;
	return dispatch(hc, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	struct http_conn *hc = *con_cls;

	(void)c;
	(void)toe;
	if (!hc)
		return;
	/* Answered: the next request's headers get a fresh allowance (an
	 * idle keep-alive connection is cut as MHD's timeout would). */
	deadline_set(s->dl, hc->dl, s->part_ns);
	free(hc->body);
	free(hc);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
	atomic_fetch_add(&s->completed, 1);
}

/* Tracks each connection's deadline from its first byte: a client that
 * trickles its headers or body is cut at connection_timeout_s per part
 * (deadline.h), which MHD's idle timeout alone does not do. MHD calls
 * CLOSED before it closes the descriptor. */
static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;
	struct http_server *s = l->srv;
	const union MHD_ConnectionInfo *ci;
	struct deadline *t;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		deadline_remove(s->dl, *socket_context);
		*socket_context = NULL;
		atomic_fetch_sub(&l->conns, 1);
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	/* Past max_connections: refuse now (the client sees the connection
	 * close and can retry) rather than leave it waiting in the backlog
	 * while the slots are held. */
	if (atomic_fetch_add(&l->conns, 1) >= s->max_conns) {
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		*socket_context = NULL;
		return;
	}
	t = ci ? deadline_add(s->dl, ci->connect_fd) : NULL;
	deadline_set(s->dl, t, s->part_ns);
	*socket_context = t;
}

/* Decodes %XX in place as MHD_http_unescape does, except %00: a decoded NUL
 * would cut the path or a query value short as a C string (so
 * "/v1/ledger%00/x" was routed as "/v1/ledger" and "limit=10%00" read as
 * 10); left as three characters, it matches no route and no value. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	(void)cls;
	(void)c;
	while (*r) {
		if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 &&
		    (lo = hex_digit(r[2])) >= 0 && (hi | lo)) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
	/* MHD's own messages (e.g. "connection reset by peer") are noise for
	 * operators; request outcomes are logged by the application. */
}

static void listener_describe_fd(struct listener *l);

/* Binds "host:port" or "unix:/path"; fills l. Port 0 binds a free port,
 * which l->name then shows (tests use it). */
static int listener_bind(struct listener *l, const char *addr, struct errd *e)
{
	int rc = 0, fd = -1, one = 1;
	struct addrinfo hints = {0}, *ai = NULL;
	char host[256], *port;
	const char *colon;

	if (strncmp(addr, "unix:", 5) == 0) {
		struct sockaddr_un sun = {0};
		const char *path = addr + 5;

		if (strlen(path) >= sizeof(sun.sun_path))
			return err_set(e, ERR_CONFIG_INVALID,
				       "listen %s: path too long", addr);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = err_set(e, ERR_IO, "listen %s: socket: %s", addr,
				     strerror(errno));
			goto out;
		}
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
		    listen(fd, HTTP_BACKLOG) < 0) {
			rc = err_set(e, ERR_IO, "listen %s: %s", addr,
				     strerror(errno));
			goto out;
		}
		l->unix_path = strdup(path);
		goto done;
	}
	colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return err_set(e, ERR_CONFIG_INVALID,
			       "listen %s: expected host:port", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = (char *)colon + 1;
	if (host[0] == '[') {
		size_t hl = strlen(host);

		if (hl < 2 || host[hl - 1] != ']')
			return err_set(e, ERR_CONFIG_INVALID,
				       "listen %s: bad IPv6 address", addr);
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &ai) != 0 || !ai) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "listen %s: cannot resolve address", addr);
		goto out;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		rc = err_set(e, ERR_IO, "listen %s: socket: %s", addr,
			     strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, HTTP_BACKLOG) < 0) {
		rc = err_set(e, ERR_IO, "listen %s: %s", addr, strerror(errno));
		goto out;
	}
done:
	l->fd = fd;
	l->own_fd = 1;
	fd = -1;
	listener_describe_fd(l);
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

static void listener_describe_fd(struct listener *l)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	snprintf(l->name, sizeof(l->name), "fd:%d", l->fd);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(l->name, sizeof(l->name), "%s:%u", host,
			 ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(l->name, sizeof(l->name), "[%s]:%u", host,
			 ntohs(in6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (void *)&ss;

		snprintf(l->name, sizeof(l->name), "unix:%s", un->sun_path);
	}
}

/* The listen entry an inherited socket stands for: the one whose address
 * reads the same as the socket's bound address ("127.0.0.1:8443",
 * "[::1]:8443", "unix:/run/thingca/thingcad.sock"), so a socket from
 * thingcad.socket gets that entry's TLS settings. NULL: plain HTTP. */
static const struct listen_cfg *match_listen(const struct listen_cfg *ls,
					     size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ls[i].address && strcmp(ls[i].address, name) == 0)
			return &ls[i];
	return NULL;
}

int http_start(const struct listen_cfg *listen, size_t n_listen, const int *fds,
	       size_t nfds, const struct http_opts *o, http_handler_fn handler,
	       void *arg, struct http_server **out, struct errd *e)
{
	struct http_server *s;
	size_t i, n = nfds ? nfds : n_listen;
	int rc = 0;

	*out = NULL;
	if (n == 0 || (!nfds && !listen))
		return err_set(e, ERR_CONFIG_INVALID,
			       "listen: no address to serve on");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(e, ERR_NOMEM, "out of memory");
	s->ls = calloc(n, sizeof(*s->ls));
	if (!s->ls) {
		free(s);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	s->handler = handler;
	s->arg = arg;
	s->max_body = o->max_body_bytes;
	s->part_ns = (uint64_t)o->connection_timeout_s * 1000000000ULL;
	s->max_conns = o->max_connections;
	s->dl = deadlines_new();
	if (!s->dl) {
		free(s->ls);
		free(s);
		return err_set(e, ERR_NOMEM,
			       "cannot start the deadline thread");
	}
	for (i = 0; i < n; i++)
		s->ls[i].fd = -1;
	s->n = n;
	for (i = 0; i < n; i++) {
		struct listener *l = &s->ls[i];
		struct MHD_OptionItem tlsopt[5];
		/* One thread per connection, not a pool: an issuance holds
		 * its thread while it waits for the group commit, and MHD
		 * binds a connection to one pool thread for its life, so a
		 * pool thread that drew two stations' connections served the
		 * second only after the first's commit (p90 2.5x p50 under
		 * make bench). Threads wait in poll(2), so an idle daemon
		 * uses no CPU; max_connections bounds their number. */
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
				 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
				 MHD_USE_ITC | MHD_USE_ERROR_LOG;
		size_t k = 0;
		const struct listen_cfg *cfg;

		l->srv = s;
		if (nfds) {
			l->fd = fds[i];
			listener_describe_fd(l);
			cfg = match_listen(listen, n_listen, l->name);
		} else {
			cfg = &listen[i];
		}
		if (cfg && cfg->tls_certificate) {
			rc = tls_files_load(cfg, &l->files, e);
			if (rc)
				goto out;
			l->tls = 1;
			l->require_client_cert = cfg->require_client_cert;
		}
		if (!nfds) {
			rc = listener_bind(l, listen[i].address, e);
			if (rc)
				goto out;
		}
		if (l->tls) {
			flags |= MHD_USE_TLS;
			tlsopt[k++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_KEY, 0, l->files.key};
			tlsopt[k++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_CERT, 0, l->files.cert};
			tlsopt[k++] =
			    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES,
						    0, (void *)TLS_PRIORITIES};
			/* MHD asks for a client certificate only when it has
			 * a trust list; tls.c checks it per request. */
			if (l->files.client_ca)
				tlsopt[k++] = (struct MHD_OptionItem){
				    MHD_OPTION_HTTPS_MEM_TRUST, 0,
				    l->files.client_ca};
		}
		tlsopt[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		l->mhd = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_access, l,
		    MHD_OPTION_LISTEN_SOCKET, l->fd,
		    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_THREAD_STACK,
		    /* MHD stops accepting at its limit, leaving clients in
		     * the backlog; ours (on_connection) refuses instead,
		     * so MHD's is set above it. */
		    MHD_OPTION_CONNECTION_LIMIT,
		    o->max_connections + HTTP_REFUSE_HEADROOM,
		    MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
		    MHD_OPTION_ARRAY, tlsopt, MHD_OPTION_END);
		if (!l->mhd) {
			rc = err_set(e, ERR_IO,
				     "listen %s: cannot start server", l->name);
			goto out;
		}
	}
	*out = s;
	s = NULL;
out:
	http_stop(s);
	return rc;
}

void http_quiesce(struct http_server *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		struct listener *l = &s->ls[i];
		int fd;

		if (!l->mhd || l->fd < 0)
			continue;
		fd = MHD_quiesce_daemon(l->mhd);
		if (fd >= 0)
			close(fd);
		l->fd = -1;
	}
}

unsigned http_inflight(const struct http_server *s)
{
	return atomic_load(&((struct http_server *)s)->inflight);
}

uint64_t http_completed(const struct http_server *s)
{
	return atomic_load(&((struct http_server *)s)->completed);
}

const char *http_listener_name(const struct http_server *s, size_t i)
{
	return i < s->n ? s->ls[i].name : NULL;
}

size_t http_listener_count(const struct http_server *s)
{
	return s->n;
}

void http_stop(struct http_server *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		struct listener *l = &s->ls[i];

		if (l->mhd)
			MHD_stop_daemon(l->mhd);
		else if (l->fd >= 0 && l->own_fd)
			close(l->fd);
		/* MHD_stop_daemon closes the listen socket unless quiesced;
		 * a quiesced one was closed in http_quiesce. */
		if (l->unix_path) {
			unlink(l->unix_path);
			free(l->unix_path);
		}
		tls_files_clear(&l->files);
	}
	/* After the daemons: their CLOSED notifications removed every
	 * entry. */
	deadlines_free(s->dl);
	free(s->ls);
	free(s);
}

void http_resp_set_body(struct http_resp *resp, int status, const char *type,
			char *body, size_t len)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = type;
	resp->body = body;
	resp->body_len = len;
}
