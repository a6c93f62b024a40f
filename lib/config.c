/*
 * config — reads the one JSON configuration file (DESIGN.md
 * "Configuration") into struct config.
 *
 * Strict on purpose: a CA that silently ignores a misspelt key
 * ("validty_days") issues certificates nobody asked for. So every unknown
 * key, wrong type, duplicate key and out-of-range value stops start-up
 * with a message that names the key path ("listen[1].tls.key: expected a
 * string"). The defaults live in config_defaults() and nowhere else.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "config.h"
#include "util.h"

/* A configuration file is a few kilobytes; 1 MiB leaves room for thousands
 * of clients and stops a wrong -c (a ledger, a device image) early. */
#define CONFIG_MAX_BYTES ((size_t)1024 * 1024)
/* Longest key path we print ("clients[1234].token_sha256" and the like). */
#define CONFIG_PATH_MAX 256
/* RFC 5280 appendix A: ub-organization-name and ub-organizational-unit-name
 * are 64; we hold every RDN to that so a subject never exceeds a bound. */
#define CONFIG_RDN_MAX 64
/* RFC 5280 appendix A ub-common-name: the ThingName is the CN. */
#define CONFIG_CN_MAX 64
/* Client names go into logs and journal fields; keep them a line's part. */
#define CONFIG_CLIENT_NAME_MAX 64
/* sizeof(sockaddr_un.sun_path) on Linux, including the NUL. */
#define CONFIG_SUN_PATH_MAX 108

/* Range limits, each with its reason. */
#define VALIDITY_DAYS_MAX 36500	     /* 100 years: beyond is a typo */
#define BACKDATE_MAX 86400	     /* a day covers any device clock skew */
#define BODY_MIN 1024		     /* a P-256 CSR body is ~600 bytes */
#define BODY_MAX (16L * 1024 * 1024) /* no CSR is megabytes */
#define CONN_MAX 65536		     /* beyond any fd limit we would get */
#define TIMEOUT_MAX 3600	     /* an hour-long request is a stuck one */
#define ANCHOR_MAX 604800	     /* a week between ledger anchors */
#define CRL_HOURS_MAX 8760	     /* a year */

static const struct {
	const char *name;
	unsigned type;
} key_types[] = {
    {"ec:P-256", KEY_EC_P256},	{"ec:P-384", KEY_EC_P384},
    {"rsa:2048", KEY_RSA_2048}, {"rsa:3072", KEY_RSA_3072},
    {"rsa:4096", KEY_RSA_4096},
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

static const struct {
	const char *name;
	unsigned role;
} roles[] = {
    {"station", ROLE_STATION},
    {"auditor", ROLE_AUDITOR},
    {"admin", ROLE_ADMIN},
};

/* The default profile subject (DESIGN.md), in this order. */
static const struct {
	const char *type;
	const char *value;
} default_subject[] = {
    {"C", "JP"},    {"ST", "Tokyo"},  {"L", "Tokyo"},
    {"O", "MyOrg"}, {"OU", "device"},
};

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

/* Appends s to the key path out (length *o), truncating at
 * CONFIG_PATH_MAX; no snprintf, so no truncation warnings to silence. */
static void path_append(char *out, size_t *o, const char *s)
{
	while (*s != '\0' && *o < CONFIG_PATH_MAX - 1)
		out[(*o)++] = *s++;
	out[*o] = '\0';
}

/* parent + "." + key, or key alone at the top level. out must not be
 * parent. */
static void path_join(char *out, const char *parent, const char *key)
{
	size_t o = 0;

	out[0] = '\0';
	path_append(out, &o, parent);
	if (parent[0] != '\0')
		path_append(out, &o, ".");
	path_append(out, &o, key);
}

/* parent + "[i]". */
static void path_index(char *out, const char *parent, size_t i)
{
	char num[32];
	size_t o = 0;

	snprintf(num, sizeof(num), "[%zu]", i);
	out[0] = '\0';
	path_append(out, &o, parent);
	path_append(out, &o, num);
}

/* Replaces *dst (freed) by a copy of s; -ERR_NOMEM. */
static int set_str(char **dst, const char *s, struct errd *e)
{
	char *n = strdup(s);

	if (n == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* Refuses every key of obj not in the NULL-terminated list known. */
static int check_keys(json_t *obj, const char *path, const char *const *known,
		      struct errd *e)
{
	char p[CONFIG_PATH_MAX], list[CONFIG_PATH_MAX] = "";
	const char *key;
	json_t *v;
	size_t i, len;

	json_object_foreach(obj, key, v)
	{
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		for (i = 0; known[i] != NULL; i++) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s%s",
				 i ? ", " : "", known[i]);
		}
		path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: unknown key (known keys: %s)", p, list);
	}
	return 0;
}

/* obj[key] must be an object when present; *out NULL when absent. */
static int get_object(json_t *obj, const char *path, const char *key,
		      json_t **out, struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_object(v)) {
		path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an object",
			       p);
	}
	*out = v;
	return 0;
}

/* Checks that v (at path p) is a non-empty string, lent in *s; nullable
 * allows null (*s then NULL). */
static int check_string(json_t *v, const char *p, int nullable, const char **s,
			struct errd *e)
{
	const char *str = json_string_value(v);

	/* "" rather than NULL on failure: a caller that misses the error
	 * still never dereferences NULL. */
	*s = "";
	if (nullable && json_is_null(v)) {
		*s = NULL;
		return 0;
	}
	if (str == NULL)
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected a string%s",
			       p, nullable ? " or null" : "");
	/* jansson refuses \u0000 unless JSON_ALLOW_NUL; be sure anyway, as a
	 * NUL would cut the value short without a word. */
	if (strlen(str) != json_string_length(v))
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: must not contain a NUL character", p);
	if (json_string_length(v) == 0)
		return err_set(e, ERR_CONFIG_INVALID, "%s: must not be empty",
			       p);
	*s = str;
	return 0;
}

/* base_dir/p for a relative p; a copy of p otherwise. NULL on ENOMEM. */
static char *resolve(const char *base_dir, const char *p)
{
	char *out;
	size_t n;

	if (p[0] == '/' || base_dir == NULL || base_dir[0] == '\0')
		return strdup(p);
	n = strlen(base_dir) + strlen(p) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s%s%s", base_dir,
			 base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", p);
	return out;
}

/* How get_string treats the value. */
enum str_kind {
	STR_PLAIN,  /* taken as is */
	STR_PATH,   /* a file: resolved against base_dir */
	STR_KEY,    /* a file, or an RFC 7512 "pkcs11:" URI taken as is */
	STR_MODULE, /* a file; a bare name is left to the dynamic loader */
};

/* obj[key] into *dst when present (replacing the default). */
static int get_string(json_t *obj, const char *path, const char *key,
		      int nullable, enum str_kind kind, const char *base_dir,
		      char **dst, struct errd *e)
{
	char p[CONFIG_PATH_MAX], *n;
	json_t *v = json_object_get(obj, key);
	const char *s;
	int rc, as_is;

	if (v == NULL)
		return 0;
	path_join(p, path, key);
	rc = check_string(v, p, nullable, &s, e);
	if (rc < 0)
		return rc;
	if (s == NULL) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	as_is = kind == STR_PLAIN ||
		(kind == STR_KEY && strncmp(s, "pkcs11:", 7) == 0) ||
		(kind == STR_MODULE && strchr(s, '/') == NULL);
	n = as_is ? strdup(s) : resolve(base_dir, s);
	if (n == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* obj[key], a JSON integer in [min, max], into *dst when present. */
static int get_long(json_t *obj, const char *path, const char *key, long min,
		    long max, long *dst, struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (v == NULL)
		return 0;
	path_join(p, path, key);
	if (!json_is_integer(v))
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an integer",
			       p);
	i = json_integer_value(v);
	if (i < min || i > max)
		return err_set(
		    e, ERR_CONFIG_INVALID,
		    "%s: must be between %ld and %ld (got %" JSON_INTEGER_FORMAT
		    ")",
		    p, min, max, i);
	*dst = (long)i;
	return 0;
}

/* obj[key], JSON true or false, into *dst when present. */
static int get_bool(json_t *obj, const char *path, const char *key, int *dst,
		    struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected true or false", p);
	}
	*dst = json_is_true(v);
	return 0;
}

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
		if ((rc = check_keys(v, p, keys, e)) < 0)
			return rc;
		addr = json_object_get(v, "address");
		path_join(q, p, "address");
		if (addr == NULL)
			return err_set(e, ERR_CONFIG_INVALID, "%s: required",
				       q);
	} else {
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected a string or an object", p);
	}
	if ((rc = check_string(addr, q, 0, &s, e)) < 0)
		return rc;
	if ((rc = check_address(s, q, e)) < 0)
		return rc;
	if ((rc = set_str(&l->address, s, e)) < 0)
		return rc;
	if (!json_is_object(v))
		return 0;

	tls = json_object_get(v, "tls");
	if (tls == NULL || json_is_null(tls))
		return 0;
	path_join(q, p, "tls");
	if (!json_is_object(tls))
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected an object or null", q);
	if ((rc = check_keys(tls, q, tls_keys, e)) < 0)
		return rc;
	if ((rc = get_string(tls, q, "certificate", 0, STR_PATH, base_dir,
			     &l->tls_certificate, e)) < 0 ||
	    (rc = get_string(tls, q, "key", 0, STR_PATH, base_dir, &l->tls_key,
			     e)) < 0 ||
	    (rc = get_string(tls, q, "client_ca", 1, STR_PATH, base_dir,
			     &l->tls_client_ca, e)) < 0 ||
	    (rc = get_bool(tls, q, "require_client_cert",
			   &l->require_client_cert, e)) < 0)
		return rc;
	if (l->tls_certificate == NULL || l->tls_key == NULL) {
		path_join(r, q,
			  l->tls_certificate == NULL ? "certificate" : "key");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required when tls is given", r);
	}
	if (l->require_client_cert && l->tls_client_ca == NULL) {
		path_join(r, q, "require_client_cert");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: needs client_ca to verify clients against",
			       r);
	}
	return 0;
}

static void listen_free(struct listen_cfg *l, size_t n)
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

static int parse_listen(json_t *root, const char *base_dir, struct config *c,
			struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *arr = json_object_get(root, "listen"), *v;
	size_t i;
	int rc;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, ERR_CONFIG_INVALID,
			       "listen: expected an array");
	/* An empty list would leave a daemon that answers nobody; leaving
	 * "listen" out is how to ask for systemd's sockets alone. */
	if (json_array_size(arr) == 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "listen: must not be empty (leave the key out "
			       "for the default or systemd sockets)");
	listen_free(c->listen, c->n_listen);
	c->n_listen = 0;
	c->listen = calloc(json_array_size(arr), sizeof(*c->listen));
	if (c->listen == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	c->listen_given = 1;
	json_array_foreach(arr, i, v)
	{
		c->n_listen = i + 1;
		path_index(p, "listen", i);
		if ((rc = parse_listen_one(v, p, base_dir, &c->listen[i], e)) <
		    0)
			return rc;
	}
	return 0;
}

static int parse_ca(json_t *root, const char *base_dir, struct config *c,
		    struct errd *e)
{
	static const char *const keys[] = {
	    "certificate",   "chain",	     "key", "key_passphrase_file",
	    "pkcs11_module", "key_pin_file", NULL};
	json_t *o;
	int rc;

	if ((rc = get_object(root, "", "ca", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "ca", keys, e)) < 0)
		return rc;
	if ((rc = get_string(o, "ca", "certificate", 0, STR_PATH, base_dir,
			     &c->ca.certificate, e)) < 0 ||
	    (rc = get_string(o, "ca", "chain", 1, STR_PATH, base_dir,
			     &c->ca.chain, e)) < 0 ||
	    (rc = get_string(o, "ca", "key", 0, STR_KEY, base_dir, &c->ca.key,
			     e)) < 0 ||
	    (rc = get_string(o, "ca", "key_passphrase_file", 1, STR_PATH,
			     base_dir, &c->ca.key_passphrase_file, e)) < 0 ||
	    (rc = get_string(o, "ca", "pkcs11_module", 1, STR_MODULE, base_dir,
			     &c->ca.pkcs11_module, e)) < 0 ||
	    (rc = get_string(o, "ca", "key_pin_file", 1, STR_PATH, base_dir,
			     &c->ca.key_pin_file, e)) < 0)
		return rc;
	return 0;
}

/* RFC 5280 appendix A / X.680 PrintableString alphabet. */
static int is_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(" '()+,-./:=?", *s)))
			return 0;
	return 1;
}

static void subject_free(struct rdn_cfg *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].type);
		free(r[i].value);
	}
	free(r);
}

static int parse_subject(json_t *prof, struct profile_cfg *pc, struct errd *e)
{
	static const char *const keys[] = {"C",	 "ST",		"L", "O",
					   "OU", "dnQualifier", NULL};
	char p[CONFIG_PATH_MAX];
	const char *key, *s;
	json_t *o, *v;
	size_t i = 0;
	int rc;

	if ((rc = get_object(prof, "profile", "subject", &o, e)) < 0 ||
	    o == NULL)
		return rc;
	if ((rc = check_keys(o, "profile.subject", keys, e)) < 0)
		return rc;
	subject_free(pc->subject, pc->n_subject);
	pc->n_subject = 0;
	pc->subject = calloc(json_object_size(o) + 1, sizeof(*pc->subject));
	if (pc->subject == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	/* jansson keeps object keys in insertion order (since 2.8), so this
	 * walks the RDNs in file order; t-config checks that. */
	json_object_foreach(o, key, v)
	{
		path_join(p, "profile.subject", key);
		if ((rc = check_string(v, p, 0, &s, e)) < 0)
			return rc;
		if (strlen(s) > CONFIG_RDN_MAX)
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: longer than %d characters (RFC "
				       "5280 appendix A upper bounds)",
				       p, CONFIG_RDN_MAX);
		/* RFC 5280 appendix A: countryName is PrintableString
		 * SIZE(2), an ISO 3166 alpha-2 code. */
		if (strcmp(key, "C") == 0 &&
		    !(strlen(s) == 2 &&
		      strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz") == 2))
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: expected a two-letter ISO 3166 "
				       "country code (got '%s')",
				       p, s);
		/* RFC 5280 appendix A: dnQualifier is a PrintableString. */
		if (strcmp(key, "dnQualifier") == 0 && !is_printable(s))
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: only PrintableString characters "
				       "(A-Z a-z 0-9 space '()+,-./:=?) are "
				       "allowed (RFC 5280 appendix A)",
				       p);
		pc->n_subject = i + 1;
		if ((rc = set_str(&pc->subject[i].type, key, e)) < 0 ||
		    (rc = set_str(&pc->subject[i].value, s, e)) < 0)
			return rc;
		i++;
	}
	return 0;
}

/* thing_name must hold "{serial}", and the rest must be characters AWS IoT
 * allows in a ThingName ([a-zA-Z0-9:_-]), leaving room in the 64-character
 * CN (RFC 5280 ub-common-name) for at least one serial character. */
static int check_thing_name(const char *s, struct errd *e)
{
	static const char *const p = "profile.thing_name";
	size_t fixed = 0;

	if (s == NULL || strstr(s, "{serial}") == NULL)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: must contain {serial} (got '%s')", p,
			       s != NULL ? s : "");
	while (*s != '\0') {
		if (strncmp(s, "{serial}", 8) == 0) {
			s += 8;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == ':' || *s == '_' ||
		      *s == '-'))
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: character '%c' is not allowed in "
				       "an AWS IoT ThingName ([a-zA-Z0-9:_-])",
				       p, *s);
		fixed++;
		s++;
	}
	if (fixed >= CONFIG_CN_MAX)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: leaves no room for the serial in the "
			       "%d-character CN (RFC 5280 ub-common-name)",
			       p, CONFIG_CN_MAX);
	return 0;
}

static int parse_key_types(json_t *prof, struct profile_cfg *pc, struct errd *e)
{
	char p[CONFIG_PATH_MAX], known[CONFIG_PATH_MAX] = "";
	json_t *arr = json_object_get(prof, "key_types"), *v;
	unsigned t, all = 0;
	const char *s;
	size_t i, len;
	int rc;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, ERR_CONFIG_INVALID,
			       "profile.key_types: expected an array");
	if (json_array_size(arr) == 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "profile.key_types: must not be empty");
	json_array_foreach(arr, i, v)
	{
		path_index(p, "profile.key_types", i);
		if ((rc = check_string(v, p, 0, &s, e)) < 0)
			return rc;
		t = key_type_parse(s);
		if (t == 0) {
			for (t = 0; t < N_KEY_TYPES; t++) {
				len = strlen(known);
				snprintf(known + len, sizeof(known) - len,
					 "%s%s", t ? ", " : "",
					 key_types[t].name);
			}
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: unknown key type '%s' (known: %s)",
				       p, s, known);
		}
		if (all & t)
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: '%s' is listed twice", p, s);
		all |= t;
	}
	pc->key_types = all;
	return 0;
}

static int parse_profile(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"subject",
					   "thing_name",
					   "serial_pattern",
					   "subject_serial_number",
					   "validity_days",
					   "backdate_seconds",
					   "key_types",
					   "unique_public_keys",
					   NULL};
	struct profile_cfg *pc = &c->profile;
	char errbuf[128];
	regex_t re;
	json_t *o;
	int rc;

	if ((rc = get_object(root, "", "profile", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "profile", keys, e)) < 0 ||
	    (rc = parse_subject(o, pc, e)) < 0 ||
	    (rc = get_string(o, "profile", "thing_name", 0, STR_PLAIN, NULL,
			     &pc->thing_name, e)) < 0 ||
	    (rc = check_thing_name(pc->thing_name, e)) < 0 ||
	    (rc = get_string(o, "profile", "serial_pattern", 0, STR_PLAIN, NULL,
			     &pc->serial_pattern, e)) < 0 ||
	    (rc = get_bool(o, "profile", "subject_serial_number",
			   &pc->subject_serial_number, e)) < 0 ||
	    (rc = get_long(o, "profile", "validity_days", 1, VALIDITY_DAYS_MAX,
			   &pc->validity_days, e)) < 0 ||
	    (rc = get_long(o, "profile", "backdate_seconds", 0, BACKDATE_MAX,
			   &pc->backdate_seconds, e)) < 0 ||
	    (rc = parse_key_types(o, pc, e)) < 0 ||
	    (rc = get_bool(o, "profile", "unique_public_keys",
			   &pc->unique_public_keys, e)) < 0)
		return rc;
	rc = regcomp(&re, pc->serial_pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &re, errbuf, sizeof(errbuf));
		return err_set(e, ERR_CONFIG_INVALID,
			       "profile.serial_pattern: not a POSIX extended "
			       "regular expression: %s",
			       errbuf);
	}
	regfree(&re);
	return 0;
}

static int parse_serials(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"require_allowlist", NULL};
	json_t *o;
	int rc;

	if ((rc = get_object(root, "", "serials", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "serials", keys, e)) < 0)
		return rc;
	return get_bool(o, "serials", "require_allowlist",
			&c->require_allowlist, e);
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
static int read_client_ca(struct client_cfg *cl, const char *q,
			  struct errd *e)
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

static int parse_client(json_t *v, const char *p, const char *base_dir,
			struct config *c, size_t i, struct errd *e)
{
	static const char *const keys[] = {
	    "name", "role", "token_sha256", "certificate_sha256", "ca", "cn",
	    NULL};
	struct client_cfg *cl = &c->clients[i];
	char q[CONFIG_PATH_MAX];
	const char *s, *k;
	json_t *f;
	size_t j, r;
	int rc;

	if (!json_is_object(v))
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an object",
			       p);
	if ((rc = check_keys(v, p, keys, e)) < 0)
		return rc;
	for (j = 0; keys[j] != NULL; j++) {
		k = keys[j];
		path_join(q, p, k);
		f = json_object_get(v, k);
		if (f == NULL) {
			if (j < 2)
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: required", q);
			continue;
		}
		if ((rc = check_string(f, q, 0, &s, e)) < 0)
			return rc;
		if (strcmp(k, "name") == 0) {
			if (strlen(s) > CONFIG_CLIENT_NAME_MAX ||
			    strspn(s,
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				   "nopqrstuvwxyz0123456789._-") != strlen(s))
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: expected 1..%d characters "
					       "of [A-Za-z0-9._-] (got '%s')",
					       q, CONFIG_CLIENT_NAME_MAX, s);
			if ((rc = set_str(&cl->name, s, e)) < 0)
				return rc;
		} else if (strcmp(k, "role") == 0) {
			for (r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
				if (strcmp(s, roles[r].name) == 0)
					cl->role = roles[r].role;
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
			if ((rc = get_string(v, p, "ca", 0, STR_PATH, base_dir,
					     &cl->ca, e)) < 0 ||
			    (rc = read_client_ca(cl, q, e)) < 0)
				return rc;
		} else {
			/* RFC 5280 ub-common-name. */
			if (strlen(s) > CONFIG_CN_MAX)
				return err_set(e, ERR_CONFIG_INVALID,
					       "%s: longer than %d characters "
					       "(RFC 5280 ub-common-name)",
					       q, CONFIG_CN_MAX);
			if ((rc = set_str(&cl->cn, s, e)) < 0)
				return rc;
		}
	}
	if ((cl->ca == NULL) != (cl->cn == NULL)) {
		path_join(q, p, cl->ca == NULL ? "ca" : "cn");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required with %s (a station CA and the "
			       "subject CN it certifies go together)",
			       q, cl->ca == NULL ? "cn" : "ca");
	}
	if (cl->ca != NULL && cl->has_cert_sha256) {
		path_join(q, p, "certificate_sha256");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: give either certificate_sha256 or ca with "
			       "cn, not both",
			       q);
	}
	if (!cl->has_token && !cl->has_cert_sha256 && cl->ca == NULL) {
		path_join(q, p, "token_sha256");
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: required (or certificate_sha256, or ca "
			       "with cn, for a client certificate)",
			       q);
	}
	for (j = 0; j < i; j++) {
		const struct client_cfg *o = &c->clients[j];

		if (strcmp(o->name, cl->name) == 0) {
			path_join(q, p, "name");
			return err_set(
			    e, ERR_CONFIG_INVALID,
			    "%s: '%s' is already used by clients[%zu]", q,
			    cl->name, j);
		}
		/* One token (or certificate) for two clients would make the
		 * ledger's client name a guess. */
		if (cl->has_token && o->has_token &&
		    memcmp(o->token_sha256, cl->token_sha256, 32) == 0) {
			path_join(q, p, "token_sha256");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same token as clients[%zu]", q, j);
		}
		if (cl->has_cert_sha256 && o->has_cert_sha256 &&
		    memcmp(o->cert_sha256, cl->cert_sha256, 32) == 0) {
			path_join(q, p, "certificate_sha256");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same certificate as clients[%zu]",
				       q, j);
		}
		if (cl->ca != NULL && o->ca != NULL &&
		    strcmp(cl->cn, o->cn) == 0 && strcmp(cl->ca, o->ca) == 0) {
			path_join(q, p, "cn");
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: same ca and cn as clients[%zu]", q,
				       j);
		}
	}
	return 0;
}

static int parse_clients(json_t *root, const char *base_dir, struct config *c,
			 struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *arr = json_object_get(root, "clients"), *v;
	size_t i;
	int rc;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return err_set(e, ERR_CONFIG_INVALID,
			       "clients: expected an array");
	c->clients = calloc(json_array_size(arr) + 1, sizeof(*c->clients));
	if (c->clients == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, v)
	{
		c->n_clients = i + 1;
		path_index(p, "clients", i);
		if ((rc = parse_client(v, p, base_dir, c, i, e)) < 0)
			return rc;
	}
	return 0;
}

static int parse_limits(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"max_body_bytes", "max_connections",
					   "connection_timeout_s", NULL};
	long body = (long)c->limits.max_body_bytes;
	long conns = c->limits.max_connections;
	long timeout = c->limits.connection_timeout_s;
	json_t *o;
	int rc;

	if ((rc = get_object(root, "", "limits", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "limits", keys, e)) < 0 ||
	    (rc = get_long(o, "limits", "max_body_bytes", BODY_MIN, BODY_MAX,
			   &body, e)) < 0 ||
	    (rc = get_long(o, "limits", "max_connections", 1, CONN_MAX, &conns,
			   e)) < 0 ||
	    (rc = get_long(o, "limits", "connection_timeout_s", 1, TIMEOUT_MAX,
			   &timeout, e)) < 0)
		return rc;
	c->limits.max_body_bytes = (size_t)body;
	c->limits.max_connections = (unsigned)conns;
	c->limits.connection_timeout_s = (unsigned)timeout;
	return 0;
}

static int parse_crl(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"next_update_hours", NULL};
	json_t *o;
	int rc;

	if ((rc = get_object(root, "", "crl", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "crl", keys, e)) < 0)
		return rc;
	return get_long(o, "crl", "next_update_hours", 1, CRL_HOURS_MAX,
			&c->crl.next_update_hours, e);
}

static int parse_est(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"serial_from", NULL};
	const char *s;
	json_t *o, *v;
	int rc;

	if ((rc = get_object(root, "", "est", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = check_keys(o, "est", keys, e)) < 0)
		return rc;
	v = json_object_get(o, "serial_from");
	if (v == NULL)
		return 0;
	if ((rc = check_string(v, "est.serial_from", 0, &s, e)) < 0)
		return rc;
	if (strcmp(s, "serialNumber") == 0)
		c->est.serial_from = EST_SERIAL_FROM_SERIALNUMBER;
	else if (strcmp(s, "CN") == 0)
		c->est.serial_from = EST_SERIAL_FROM_CN;
	else
		return err_set(e, ERR_CONFIG_INVALID,
			       "est.serial_from: must be \"serialNumber\" or "
			       "\"CN\" (got '%s')",
			       s);
	return 0;
}

/* Fills c with the documented defaults (DESIGN.md "Configuration"). */
static int config_defaults(struct config *c, struct errd *e)
{
	size_t i, n = sizeof(default_subject) / sizeof(default_subject[0]);
	int rc;

	c->listen = calloc(1, sizeof(*c->listen));
	c->profile.subject = calloc(n, sizeof(*c->profile.subject));
	if (c->listen == NULL || c->profile.subject == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	c->n_listen = 1;
	c->profile.n_subject = n;
	for (i = 0; i < n; i++)
		if ((rc = set_str(&c->profile.subject[i].type,
				  default_subject[i].type, e)) < 0 ||
		    (rc = set_str(&c->profile.subject[i].value,
				  default_subject[i].value, e)) < 0)
			return rc;
	if ((rc = set_str(&c->listen[0].address, "127.0.0.1:8180", e)) < 0 ||
	    (rc = set_str(&c->ledger, "/var/lib/thingca/ledger.db", e)) < 0 ||
	    (rc = set_str(&c->ca.certificate, "/etc/thingca/ca.pem", e)) < 0 ||
	    (rc = set_str(&c->ca.key, "/etc/thingca/ca.key", e)) < 0 ||
	    (rc = set_str(&c->profile.thing_name, "{serial}", e)) < 0 ||
	    (rc = set_str(&c->profile.serial_pattern, "^[A-Za-z0-9-]{1,64}$",
			  e)) < 0)
		return rc;
	c->ledger_anchor_interval_s = 3600;
	c->profile.subject_serial_number = 1;
	c->profile.validity_days = 3650;
	c->profile.backdate_seconds = 300;
	c->profile.key_types = KEY_ALL;
	c->profile.unique_public_keys = 1;
	c->require_allowlist = 1;
	c->limits.max_body_bytes = 65536;
	c->limits.max_connections = 256;
	c->limits.connection_timeout_s = 10;
	c->crl.next_update_hours = 168;
	return 0;
}

/* The key path of a duplicate key jansson refused: re-walks the (valid up
 * to there) text until pos, where jansson stopped just past the key. */
static void duplicate_path(const char *text, size_t pos, char *out)
{
	/* Nesting deeper than this gets "..." in the path; jansson itself
	 * stops at 2048 levels. */
	enum { DEPTH = 16, KEYLEN = 64 };
	struct {
		int array;
		size_t index;
		char key[KEYLEN];
	} st[DEPTH];
	int depth = 0, want_key = 0;
	size_t i, start, len, o;

	for (i = 0; i < pos && text[i] != '\0'; i++) {
		char ch = text[i];

		if (ch == '"') {
			start = ++i;
			while (i < pos && text[i] != '"' && text[i] != '\0')
				i += text[i] == '\\' ? 2 : 1;
			if (want_key && depth > 0 && depth <= DEPTH) {
				len = i - start;
				if (len >= KEYLEN)
					len = KEYLEN - 1;
				memcpy(st[depth - 1].key, text + start, len);
				st[depth - 1].key[len] = '\0';
			}
			want_key = 0;
		} else if (ch == '{' || ch == '[') {
			if (depth < DEPTH) {
				st[depth].array = ch == '[';
				st[depth].index = 0;
				st[depth].key[0] = '\0';
			}
			depth++;
			want_key = ch == '{';
		} else if (ch == '}' || ch == ']') {
			depth--;
		} else if (ch == ',' && depth > 0 && depth <= DEPTH) {
			st[depth - 1].index++;
			want_key = !st[depth - 1].array;
		}
	}
	out[0] = '\0';
	for (i = 0, o = 0; (int)i < depth && o < CONFIG_PATH_MAX; i++) {
		if (i >= DEPTH) {
			snprintf(out + o, CONFIG_PATH_MAX - o, "...");
			break;
		}
		if (st[i].array)
			snprintf(out + o, CONFIG_PATH_MAX - o, "[%zu]",
				 st[i].index);
		else
			snprintf(out + o, CONFIG_PATH_MAX - o, "%s%s",
				 o ? "." : "", st[i].key);
		o = strlen(out);
	}
}

/* Parses len bytes of JSON; see config.h. */
int config_parse(const char *text, size_t len, const char *base_dir,
		 struct config **out, struct errd *e)
{
	static const char *const keys[] = {
	    "listen",  "ledger",  "ledger_anchor_interval_s",
	    "ca",      "profile", "serials",
	    "clients", "limits",  "crl",
	    "est",     NULL};
	char dup[CONFIG_PATH_MAX];
	struct config *c = NULL;
	json_error_t je;
	json_t *root = NULL;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = config_defaults(c, e)) < 0)
		goto out;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			  &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_duplicate_key) {
			duplicate_path(text, (size_t)je.position, dup);
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "%s: duplicate key (line %d, column %d)",
				     dup, je.line, je.column);
		} else {
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "invalid JSON at line %d, column %d: %s",
				     je.line, je.column, je.text);
		}
		goto out;
	}
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "the top level must be a JSON object {...}");
		goto out;
	}
	if ((rc = check_keys(root, "", keys, e)) < 0 ||
	    (rc = parse_listen(root, base_dir, c, e)) < 0 ||
	    (rc = get_string(root, "", "ledger", 0, STR_PATH, base_dir,
			     &c->ledger, e)) < 0 ||
	    (rc = get_long(root, "", "ledger_anchor_interval_s", 0, ANCHOR_MAX,
			   &c->ledger_anchor_interval_s, e)) < 0 ||
	    (rc = parse_ca(root, base_dir, c, e)) < 0 ||
	    (rc = parse_profile(root, c, e)) < 0 ||
	    (rc = parse_serials(root, c, e)) < 0 ||
	    (rc = parse_clients(root, base_dir, c, e)) < 0 ||
	    (rc = parse_limits(root, c, e)) < 0 ||
	    (rc = parse_crl(root, c, e)) < 0 ||
	    (rc = parse_est(root, c, e)) < 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	json_decref(root);
	config_free(c);
	return rc;
}

/* Reads and parses the file at path; relative paths in it are resolved
 * against its directory (made absolute, so a later chdir cannot move
 * them). Messages start with the file's path. */
int config_load(const char *path, struct config **out, struct errd *e)
{
	char *text = NULL, *dir = NULL, *real = NULL, *slash;
	char msg[sizeof(e->msg)];
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = file_read(path, CONFIG_MAX_BYTES, &text, &len, e);
	if (rc < 0)
		goto out;
	dir = strdup(path);
	if (dir == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	real = realpath(dir, NULL);
	rc = config_parse(text, len, real != NULL ? real : dir, out, e);
	if (rc < 0 && e != NULL) {
		snprintf(msg, sizeof(msg), "%s", e->msg);
		err_set(e, -rc, "%s: %s", path, msg);
	}
out:
	free(real);
	free(dir);
	free(text);
	return rc;
}

/* Frees c and everything it owns; NULL is a no-op. */
void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	listen_free(c->listen, c->n_listen);
	free(c->ledger);
	free(c->ca.certificate);
	free(c->ca.chain);
	free(c->ca.key);
	free(c->ca.key_passphrase_file);
	free(c->ca.pkcs11_module);
	free(c->ca.key_pin_file);
	subject_free(c->profile.subject, c->profile.n_subject);
	free(c->profile.thing_name);
	free(c->profile.serial_pattern);
	for (i = 0; i < c->n_clients; i++) {
		free(c->clients[i].name);
		free(c->clients[i].ca);
		free(c->clients[i].ca_pem);
		free(c->clients[i].cn);
	}
	free(c->clients);
	free(c);
}
