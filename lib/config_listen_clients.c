/*
 * config_listen_clients — who reaches thingcad: "listen" (the addresses it
 * binds, with TLS and client certificates) and "clients" (the stations,
 * auditors and admins, each with a token, a certificate fingerprint or a CA +
 * CN). Every address, name, hash and CA file is checked here, at start-up or
 * SIGHUP, so a wrong entry stops the daemon with its key path rather than
 * locking a station out later.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "client.h"
#include "config_int.h"
#include "util.h"

/* sizeof(sockaddr_un.sun_path) on Linux, including the NUL. */
#define CONFIG_SUN_PATH_MAX 108

/* "host:port" (IPv6 as "[::1]:port") or "unix:/absolute/path". */
static int check_address(const char *a, const char *p, struct errd *e)
{
	const char *colon, *host, *port;
	char buf[INET6_ADDRSTRLEN], *end;
	struct in6_addr in6;
	size_t hlen;
	long n;

	if (strncmp(a, "unix:", 5) == 0) {
		if (a[5] != '/')
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: a unix socket path must be "
				       "absolute (got '%s')",
				       p, a);
		if (strlen(a + 5) >= CONFIG_SUN_PATH_MAX)
			return err_set(
			    e, ERR_CONFIG_INVALID,
			    "%s: unix socket path longer than %d bytes", p,
			    CONFIG_SUN_PATH_MAX - 1);
		return 0;
	}
	if (a[0] == '[') {
		colon = strchr(a, ']');
		if (colon == NULL || colon[1] != ':')
			goto bad;
		host = a + 1;
		hlen = (size_t)(colon - host);
		if (hlen == 0 || hlen >= sizeof(buf))
			goto bad;
		memcpy(buf, host, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &in6) != 1)
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: '%s' is not an IPv6 address", p,
				       buf);
		port = colon + 2;
	} else {
		colon = strrchr(a, ':');
		if (colon == NULL || colon == a)
			goto bad;
		/* A second colon means a bare IPv6 address: RFC 3986 3.2.2
		 * wants it in brackets to tell it from the port. */
		if (memchr(a, ':', (size_t)(colon - a)) != NULL)
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: write an IPv6 address in brackets, "
				       "as in \"[::1]:8180\" (got '%s')",
				       p, a);
		for (host = a; host < colon; host++)
			if (!((*host >= 'a' && *host <= 'z') ||
			      (*host >= 'A' && *host <= 'Z') ||
			      (*host >= '0' && *host <= '9') || *host == '.' ||
			      *host == '-'))
				goto bad;
		port = colon + 1;
	}
	if (port[0] < '0' || port[0] > '9')
		goto bad;
	n = strtol(port, &end, 10);
	/* Port 0 binds a free port (the log names it): tests use it. */
	if (*end != '\0' || n < 0 || n > 65535)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: port must be 0..65535 (got '%s')", p, a);
	return 0;
bad:
	return err_set(e, ERR_CONFIG_INVALID,
		       "%s: expected \"host:port\", \"[ipv6]:port\" or "
		       "\"unix:/path\" (got '%s')",
		       p, a);
}

/* One "listen" element, string or object, into l. */
static int parse_listen_one(json_t *v, const char *p, const char *base_dir,
			    struct listen_cfg *l, struct errd *e)
{
	static const char *const keys[] = {"address", "tls", NULL};
	static const char *const tls_keys[] = {
	    "certificate", "key", "client_ca", "require_client_cert", NULL};
	char q[CONFIG_PATH_MAX], r[CONFIG_PATH_MAX];
	json_t *tls, *addr;
	const char *s;
	int rc;

	if (json_is_string(v)) {
		addr = v;
		snprintf(q, sizeof(q), "%s", p);
	} else if (json_is_object(v)) {
		if ((rc = config_check_keys(v, p, keys, e)) < 0)
			return rc;
		addr = json_object_get(v, "address");
		config_path_join(q, p, "address");
		if (addr == NULL)
			return err_set(e, ERR_CONFIG_INVALID, "%s: required",
				       q);
	} else {
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected a string or an object", p);
	}
	if ((rc = config_check_string(addr, q, 0, &s, e)) < 0)
		return rc;
	if ((rc = check_address(s, q, e)) < 0)
		return rc;
	if ((rc = config_set_str(&l->address, s, e)) < 0)
		return rc;
	if (!json_is_object(v))
		return 0;

	tls = json_object_get(v, "tls");
	if (tls == NULL || json_is_null(tls))
		return 0;
	config_path_join(q, p, "tls");
	if (!json_is_object(tls))
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected an object or null", q);
	if ((rc = config_check_keys(tls, q, tls_keys, e)) < 0)
		return rc;
	if ((rc = config_get_string(tls, q, "certificate", 0, STR_PATH,
				    base_dir, &l->tls_certificate, e)) < 0 ||
	    (rc = config_get_string(tls, q, "key", 0, STR_PATH, base_dir,
				    &l->tls_key, e)) < 0 ||
	    (rc = config_get_string(tls, q, "client_ca", 1, STR_PATH, base_dir,
				    &l->tls_client_ca, e)) < 0 ||
	    (rc = config_get_bool(tls, q, "require_client_cert",
				  &l->require_client_cert, e)) < 0)
		return rc;
	if (l->tls_certificate == NULL || l->tls_key == NULL) {
		config_path_join(
		    r, q, l->tls_certificate == NULL ? "certificate" : "key");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required when tls is given", r);
	}
	if (l->require_client_cert && l->tls_client_ca == NULL) {
		config_path_join(r, q, "require_client_cert");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: needs client_ca to verify clients against",
			       r);
	}
	return 0;
}

void config_listen_free(struct listen_cfg *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].address);
		free(l[i].tls_certificate);
		free(l[i].tls_key);
		free(l[i].tls_client_ca);
	}
	free(l);
}

int config_parse_listen(json_t *root, const char *base_dir, struct config *c,
			struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = config_get_array(root, "", "listen", &arr, e)) < 0 ||
	    arr == NULL)
		return rc;
	/* An empty list would leave a daemon that answers nobody; leaving
	 * "listen" out is how to ask for systemd's sockets alone. */
	if (json_array_size(arr) == 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "listen: must not be empty (leave the key out "
			       "for the default or systemd sockets)");
	config_listen_free(c->listen, c->n_listen);
	c->n_listen = 0;
	c->listen = calloc(json_array_size(arr), sizeof(*c->listen));
	if (c->listen == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	c->listen_given = 1;
	json_array_foreach(arr, i, v)
	{
		c->n_listen = i + 1;
		config_path_index(p, "listen", i);
		if ((rc = parse_listen_one(v, p, base_dir, &c->listen[i], e)) <
		    0)
			return rc;
	}
	return 0;
}

/* 64 lowercase hex characters into out[32] (token_sha256,
 * certificate_sha256). */
static int get_sha256(const char *s, const char *q, const char *what,
		      unsigned char *out, struct errd *e)
{
	/* Lowercase only, as DESIGN.md defines it and as `thingca token new`
	 * prints it. */
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64 ||
	    hex_decode(s, out, 32) != 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected 64 lowercase hex characters (the "
			       "SHA-256 of the %s)",
			       q, what);
	return 0;
}

/* clients[i].ca: read now, so a missing or wrong file stops start-up (and
 * SIGHUP) with the key path rather than failing every station later. */
static int read_client_ca(struct client_cfg *cl, const char *q, struct errd *e)
{
	STACK_OF(X509_INFO) *in = NULL;
	struct errd fe = {0};
	size_t len = 0;
	BIO *b = NULL;
	int i, n = 0, rc;

	rc = file_read(cl->ca, CONFIG_MAX_BYTES, &cl->ca_pem, &len, &fe);
	if (rc < 0)
		return err_set(e, -rc, "%s: %s", q, fe.msg);
	b = BIO_new_mem_buf(cl->ca_pem, (int)len);
	in = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	for (i = 0; in && i < sk_X509_INFO_num(in); i++)
		n += sk_X509_INFO_value(in, i)->x509 != NULL;
	sk_X509_INFO_pop_free(in, X509_INFO_free);
	BIO_free(b);
	ERR_clear_error();
	if (n == 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: %s holds no PEM certificate", q, cl->ca);
	return 0;
}

/* The certificates of a PEM file; NULL when it cannot be read (the CA
 * loader reports that file itself). */
static STACK_OF(X509_INFO) * read_certs(const char *path)
{
	STACK_OF(X509_INFO) *in = NULL;
	char *pem = NULL;
	size_t len = 0;
	BIO *b = NULL;

	if (path && file_read(path, CONFIG_MAX_BYTES, &pem, &len, NULL) == 0 &&
	    (b = BIO_new_mem_buf(pem, (int)len)) != NULL)
		in = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	ERR_clear_error();
	return in;
}

/* Whether a certificate of a and one of b hold the same public key. */
static int share_key(STACK_OF(X509_INFO) * a, STACK_OF(X509_INFO) * b)
{
	X509 *x, *y;
	int i, j;

	for (i = 0; a && i < sk_X509_INFO_num(a); i++) {
		if ((x = sk_X509_INFO_value(a, i)->x509) == NULL)
			continue;
		for (j = 0; b && j < sk_X509_INFO_num(b); j++) {
			y = sk_X509_INFO_value(b, j)->x509;
			if (y && EVP_PKEY_eq(X509_get0_pubkey(x),
					     X509_get0_pubkey(y)) == 1)
				return 1;
		}
	}
	return 0;
}

/* A client CA must not be the issuing CA or one of ca.chain: every device
 * certificate chains to those, so a station could have a device
 * certificate issued whose CN is this client's cn and authenticate as it
 * (a station becoming an admin). Compared by public key, so a re-issued
 * copy of the CA certificate is caught too. */
static int check_client_ca(const struct config *c, const struct client_cfg *cl,
			   const char *q, struct errd *e)
{
	STACK_OF(X509_INFO) *mine = NULL, *issuing = NULL, *chain = NULL;
	BIO *b = BIO_new_mem_buf(cl->ca_pem, (int)strlen(cl->ca_pem));
	int rc = 0;

	mine = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	issuing = read_certs(c->ca.certificate);
	chain = read_certs(c->ca.chain);
	if (share_key(mine, issuing) || share_key(mine, chain))
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "%s: %s holds the issuing CA's key (%s): every "
			     "device certificate chains to it, so a device "
			     "certificate could authenticate as this client; "
			     "give a CA that certifies station certificates "
			     "only",
			     q, cl->ca,
			     share_key(mine, issuing)
				 ? "ca.certificate"
				 : "a certificate of ca.chain");
	sk_X509_INFO_pop_free(mine, X509_INFO_free);
	sk_X509_INFO_pop_free(issuing, X509_INFO_free);
	sk_X509_INFO_pop_free(chain, X509_INFO_free);
	return rc;
}

static int parse_client(json_t *v, const char *p, const char *base_dir,
			struct config *c, size_t i, struct errd *e)
{
	static const char *const keys[] = {
	    "name", "role", "token_sha256", "certificate_sha256", "ca",
	    "cn",   NULL};
	struct client_cfg *cl = &c->clients[i];
	char q[CONFIG_PATH_MAX];
	const char *s, *k;
	json_t *f;
	size_t j;
	int rc;

	if (!json_is_object(v))
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an object",
			       p);
	if ((rc = config_check_keys(v, p, keys, e)) < 0)
		return rc;
	for (j = 0; keys[j] != NULL; j++) {
		k = keys[j];
		config_path_join(q, p, k);
		f = json_object_get(v, k);
		if (f == NULL) {
			if (j < 2)
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: required", q);
			continue;
		}
		if ((rc = config_check_string(f, q, 0, &s, e)) < 0)
			return rc;
		if (strcmp(k, "name") == 0) {
			if (!client_name_valid(s))
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: expected 1..%d characters "
					       "of [A-Za-z0-9._-] (got '%s')",
					       q, CLIENT_NAME_MAX, s);
			if ((rc = config_set_str(&cl->name, s, e)) < 0)
				return rc;
		} else if (strcmp(k, "role") == 0) {
			cl->role = role_parse(s);
			if (cl->role == 0)
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: must be one of station, "
					       "auditor, admin (got '%s')",
					       q, s);
		} else if (strcmp(k, "token_sha256") == 0) {
			if ((rc = get_sha256(s, q, "token", cl->token_sha256,
					     e)) < 0)
				return rc;
			cl->has_token = 1;
		} else if (strcmp(k, "certificate_sha256") == 0) {
			if ((rc = get_sha256(s, q, "certificate's DER",
					     cl->cert_sha256, e)) < 0)
				return rc;
			cl->has_cert_sha256 = 1;
		} else if (strcmp(k, "ca") == 0) {
			if ((rc = config_get_string(v, p, "ca", 0, STR_PATH,
						    base_dir, &cl->ca, e)) <
				0 ||
			    (rc = read_client_ca(cl, q, e)) < 0 ||
			    (rc = check_client_ca(c, cl, q, e)) < 0)
				return rc;
		} else {
			/* RFC 5280 ub-common-name. */
			if (strlen(s) > CONFIG_CN_MAX)
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: longer than %d characters "
					       "(RFC 5280 ub-common-name)",
					       q, CONFIG_CN_MAX);
			if ((rc = config_set_str(&cl->cn, s, e)) < 0)
				return rc;
		}
	}
	if ((cl->ca == NULL) != (cl->cn == NULL)) {
		config_path_join(q, p, cl->ca == NULL ? "ca" : "cn");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required with %s (a station CA and the "
			       "subject CN it certifies go together)",
			       q, cl->ca == NULL ? "cn" : "ca");
	}
	if (cl->ca != NULL && cl->has_cert_sha256) {
		config_path_join(q, p, "certificate_sha256");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: give either certificate_sha256 or ca with "
			       "cn, not both",
			       q);
	}
	if (!cl->has_token && !cl->has_cert_sha256 && cl->ca == NULL) {
		config_path_join(q, p, "token_sha256");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required (or certificate_sha256, or ca "
			       "with cn, for a client certificate)",
			       q);
	}
	for (j = 0; j < i; j++) {
		const struct client_cfg *o = &c->clients[j];

		if (strcmp(o->name, cl->name) == 0) {
			config_path_join(q, p, "name");
			return err_set(
			    e, ERR_CONFIG_INVALID,
			    "%s: '%s' is already used by clients[%zu]", q,
			    cl->name, j);
		}
		/* One token (or certificate) for two clients would make the
		 * ledger's client name a guess. */
		if (cl->has_token && o->has_token &&
		    memcmp(o->token_sha256, cl->token_sha256, 32) == 0) {
			config_path_join(q, p, "token_sha256");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same token as clients[%zu]", q, j);
		}
		if (cl->has_cert_sha256 && o->has_cert_sha256 &&
		    memcmp(o->cert_sha256, cl->cert_sha256, 32) == 0) {
			config_path_join(q, p, "certificate_sha256");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same certificate as clients[%zu]",
				       q, j);
		}
		if (cl->ca != NULL && o->ca != NULL &&
		    strcmp(cl->cn, o->cn) == 0 && strcmp(cl->ca, o->ca) == 0) {
			config_path_join(q, p, "cn");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same ca and cn as clients[%zu]", q,
				       j);
		}
	}
	return 0;
}

int config_parse_clients(json_t *root, const char *base_dir, struct config *c,
			 struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = config_get_array(root, "", "clients", &arr, e)) < 0 ||
	    arr == NULL)
		return rc;
	c->clients = calloc(json_array_size(arr) + 1, sizeof(*c->clients));
	if (c->clients == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, v)
	{
		c->n_clients = i + 1;
		config_path_index(p, "clients", i);
		if ((rc = parse_client(v, p, base_dir, c, i, e)) < 0)
			return rc;
	}
	return 0;
}

void config_clients_free(struct client_cfg *cl, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(cl[i].name);
		free(cl[i].ca);
		free(cl[i].ca_pem);
		free(cl[i].cn);
	}
	free(cl);
}
