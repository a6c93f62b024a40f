/*
 * config — reads the one JSON configuration file (DESIGN.md
 * "Configuration") into struct config.
 *
 * Strict on purpose: a CA that silently ignores a misspelt key
 * ("validty_days") issues certificates nobody asked for. So every unknown
 * key, wrong type, duplicate key and out-of-range value stops start-up
 * with a message that names the key path ("listen[1].tls.key: expected a
 * string"). The defaults live in config_defaults() and nowhere else.
 * The JSON accessors are in config_json.c, "listen" and "clients" in
 * config_listen_clients.c (config_int.h).
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config_int.h"
#include "key.h"
#include "thing.h"
#include "util.h"
#include "x509.h"

/* RFC 5280 appendix A: ub-organization-name and ub-organizational-unit-name
 * are 64; we hold every RDN to that so a subject never exceeds a bound. */
#define CONFIG_RDN_MAX 64
/* Range limits, each with its reason. */
#define BODY_MIN 1024		     /* a P-256 CSR body is ~600 bytes */
#define BODY_MAX (16L * 1024 * 1024) /* no CSR is megabytes */
#define CONN_MAX 65536		     /* beyond any fd limit we would get */
#define TIMEOUT_MAX 3600	     /* an hour-long request is a stuck one */
#define ANCHOR_MAX 604800	     /* a week between ledger anchors */
#define CRL_HOURS_MAX 8760	     /* a year */
/* "node": Linux's HOST_NAME_MAX, so the default (the host name) fits. */
#define NODE_MAX 64

/* The default profile subject (DESIGN.md), in this order. It is a demo
 * value: thingcad warns at start when a configuration relies on it
 * (docs/configuration.md "profile.subject"). */
static const struct {
	const char *type;
	const char *value;
} default_subject[] = {
    {"C", "JP"},    {"ST", "Tokyo"},  {"L", "Tokyo"},
    {"O", "MyOrg"}, {"OU", "device"},
};

static int parse_ca(json_t *root, const char *base_dir, struct config *c,
		    struct errd *e)
{
	static const char *const keys[] = {
	    "certificate",   "chain",	     "key", "key_passphrase_file",
	    "pkcs11_module", "key_pin_file", NULL};
	json_t *o;
	int rc;

	if ((rc = config_get_object(root, "", "ca", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "ca", keys, e)) < 0)
		return rc;
	if ((rc = config_get_string(o, "ca", "certificate", 0, STR_PATH,
				    base_dir, &c->ca.certificate, e)) < 0 ||
	    (rc = config_get_string(o, "ca", "chain", 1, STR_PATH, base_dir,
				    &c->ca.chain, e)) < 0 ||
	    (rc = config_get_string(o, "ca", "key", 0, STR_KEY, base_dir,
				    &c->ca.key, e)) < 0 ||
	    (rc = config_get_string(o, "ca", "key_passphrase_file", 1, STR_PATH,
				    base_dir, &c->ca.key_passphrase_file, e)) <
		0 ||
	    (rc = config_get_string(o, "ca", "pkcs11_module", 1, STR_MODULE,
				    base_dir, &c->ca.pkcs11_module, e)) < 0 ||
	    (rc = config_get_string(o, "ca", "key_pin_file", 1, STR_PATH,
				    base_dir, &c->ca.key_pin_file, e)) < 0)
		return rc;
	return 0;
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

	if ((rc = config_get_object(prof, "profile", "subject", &o, e)) < 0 ||
	    o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "profile.subject", keys, e)) < 0)
		return rc;
	subject_free(pc->subject, pc->n_subject);
	pc->n_subject = 0;
	pc->subject_given = 1;
	pc->subject = calloc(json_object_size(o) + 1, sizeof(*pc->subject));
	if (pc->subject == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	/* jansson keeps object keys in insertion order (since 2.8), so this
	 * walks the RDNs in file order; t-config checks that. */
	json_object_foreach(o, key, v)
	{
		config_path_join(p, "profile.subject", key);
		if ((rc = config_check_string(v, p, 0, &s, e)) < 0)
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
		if (strcmp(key, "dnQualifier") == 0 &&
		    !x509_is_printable_string(s, strlen(s)))
			return err_set(e, ERR_CONFIG_INVALID,
				       "%s: only PrintableString characters "
				       "(A-Z a-z 0-9 space '()+,-./:=?) are "
				       "allowed (RFC 5280 appendix A)",
				       p);
		pc->n_subject = i + 1;
		if ((rc = config_set_str(&pc->subject[i].type, key, e)) < 0 ||
		    (rc = config_set_str(&pc->subject[i].value, s, e)) < 0)
			return rc;
		i++;
	}
	return 0;
}

/* thing_name must hold "{serial}", and the rest must be characters AWS IoT
 * allows in a ThingName ([a-zA-Z0-9:_-]), leaving room in the 64-character
 * CN (RFC 5280 ub-common-name) for at least one serial character. */
static int parse_key_types(json_t *prof, struct profile_cfg *pc, struct errd *e)
{
	char p[CONFIG_PATH_MAX], known[CONFIG_PATH_MAX] = "";
	json_t *arr, *v;
	unsigned t, all = 0;
	const char *s;
	size_t i, len;
	int rc;

	if ((rc = config_get_array(prof, "profile", "key_types", &arr, e)) <
		0 ||
	    arr == NULL)
		return rc;
	if (json_array_size(arr) == 0)
		return err_set(e, ERR_CONFIG_INVALID,
			       "profile.key_types: must not be empty");
	json_array_foreach(arr, i, v)
	{
		config_path_index(p, "profile.key_types", i);
		if ((rc = config_check_string(v, p, 0, &s, e)) < 0)
			return rc;
		t = key_type_parse(s);
		if (t == 0) {
			for (t = 1; t & KEY_ALL; t <<= 1) {
				len = strlen(known);
				snprintf(known + len, sizeof(known) - len,
					 "%s%s", t > 1 ? ", " : "",
					 key_type_name(t));
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

	if ((rc = config_get_object(root, "", "profile", &o, e)) < 0 ||
	    o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "profile", keys, e)) < 0 ||
	    (rc = parse_subject(o, pc, e)) < 0 ||
	    (rc = config_get_string(o, "profile", "thing_name", 0, STR_PLAIN,
				    NULL, &pc->thing_name, e)) < 0 ||
	    (rc = thing_template_check(pc->thing_name, e)) < 0 ||
	    (rc = config_get_string(o, "profile", "serial_pattern", 0,
				    STR_PLAIN, NULL, &pc->serial_pattern, e)) <
		0 ||
	    (rc = config_get_bool(o, "profile", "subject_serial_number",
				  &pc->subject_serial_number, e)) < 0 ||
	    (rc = config_get_long(o, "profile", "validity_days", 1,
				  PROFILE_VALIDITY_DAYS_MAX, &pc->validity_days,
				  e)) < 0 ||
	    (rc = config_get_long(o, "profile", "backdate_seconds", 0,
				  PROFILE_BACKDATE_MAX, &pc->backdate_seconds,
				  e)) < 0 ||
	    (rc = parse_key_types(o, pc, e)) < 0 ||
	    (rc = config_get_bool(o, "profile", "unique_public_keys",
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

	if ((rc = config_get_object(root, "", "serials", &o, e)) < 0 ||
	    o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "serials", keys, e)) < 0)
		return rc;
	return config_get_bool(o, "serials", "require_allowlist",
			       &c->require_allowlist, e);
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

	if ((rc = config_get_object(root, "", "limits", &o, e)) < 0 ||
	    o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "limits", keys, e)) < 0 ||
	    (rc = config_get_long(o, "limits", "max_body_bytes", BODY_MIN,
				  BODY_MAX, &body, e)) < 0 ||
	    (rc = config_get_long(o, "limits", "max_connections", 1, CONN_MAX,
				  &conns, e)) < 0 ||
	    (rc = config_get_long(o, "limits", "connection_timeout_s", 1,
				  TIMEOUT_MAX, &timeout, e)) < 0)
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

	if ((rc = config_get_object(root, "", "crl", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "crl", keys, e)) < 0)
		return rc;
	return config_get_long(o, "crl", "next_update_hours", 1, CRL_HOURS_MAX,
			       &c->crl.next_update_hours, e);
}

static int parse_est(json_t *root, struct config *c, struct errd *e)
{
	static const char *const keys[] = {"serial_from", NULL};
	const char *s;
	json_t *o, *v;
	int rc;

	if ((rc = config_get_object(root, "", "est", &o, e)) < 0 || o == NULL)
		return rc;
	if ((rc = config_check_keys(o, "est", keys, e)) < 0)
		return rc;
	v = json_object_get(o, "serial_from");
	if (v == NULL)
		return 0;
	if ((rc = config_check_string(v, "est.serial_from", 0, &s, e)) < 0)
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
	char host[NODE_MAX + 1];
	int rc;

	c->listen = calloc(1, sizeof(*c->listen));
	c->profile.subject = calloc(n, sizeof(*c->profile.subject));
	if (c->listen == NULL || c->profile.subject == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	c->n_listen = 1;
	c->profile.n_subject = n;
	for (i = 0; i < n; i++)
		if ((rc = config_set_str(&c->profile.subject[i].type,
					 default_subject[i].type, e)) < 0 ||
		    (rc = config_set_str(&c->profile.subject[i].value,
					 default_subject[i].value, e)) < 0)
			return rc;
	if ((rc = config_set_str(&c->listen[0].address, "127.0.0.1:8180", e)) <
		0 ||
	    (rc = config_set_str(&c->ledger, "/var/lib/thingca/ledger.db", e)) <
		0 ||
	    (rc = config_set_str(&c->ca.certificate, "/etc/thingca/ca.pem",
				 e)) < 0 ||
	    (rc = config_set_str(&c->ca.key, "/etc/thingca/ca.key", e)) < 0 ||
	    (rc = config_set_str(&c->profile.thing_name, "{serial}", e)) < 0 ||
	    (rc = config_set_str(&c->profile.serial_pattern,
				 "^[A-Za-z0-9-]{1,64}$", e)) < 0)
		return rc;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((rc = config_set_str(&c->node, host, e)) < 0)
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

/* "node": null keeps the host name; a name is at most NODE_MAX bytes of
 * printable ASCII (it lands in every ledger entry and in logs). */
static int parse_node(json_t *root, struct config *c, struct errd *e)
{
	char *n = NULL;
	size_t i;
	int rc;

	rc = config_get_string(root, "", "node", 1, STR_PLAIN, NULL, &n, e);
	if (rc < 0 || n == NULL)
		goto out;
	for (i = 0; n[i]; i++)
		if (n[i] < 0x21 || n[i] > 0x7e)
			break;
	if (n[i] != '\0' || i > NODE_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "node: at most %d printable ASCII characters, "
			     "no spaces",
			     NODE_MAX);
		goto out;
	}
	free(c->node);
	c->node = n;
	n = NULL;
out:
	free(n);
	return rc;
}

/* Parses len bytes of JSON; see config.h. */
int config_parse(const char *text, size_t len, const char *base_dir,
		 struct config **out, struct errd *e)
{
	static const char *const keys[] = {
	    "listen", "ledger",	 "node",    "ledger_anchor_interval_s",
	    "ca",     "profile", "serials", "clients",
	    "limits", "crl",	 "est",	    NULL};
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
	if ((rc = config_check_keys(root, "", keys, e)) < 0 ||
	    (rc = config_parse_listen(root, base_dir, c, e)) < 0 ||
	    (rc = config_get_string(root, "", "ledger", 0, STR_LEDGER, base_dir,
				    &c->ledger, e)) < 0 ||
	    (rc = parse_node(root, c, e)) < 0 ||
	    (rc = config_get_long(root, "", "ledger_anchor_interval_s", 0,
				  ANCHOR_MAX, &c->ledger_anchor_interval_s,
				  e)) < 0 ||
	    (rc = parse_ca(root, base_dir, c, e)) < 0 ||
	    (rc = parse_profile(root, c, e)) < 0 ||
	    (rc = parse_serials(root, c, e)) < 0 ||
	    (rc = config_parse_clients(root, base_dir, c, e)) < 0 ||
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
	char *text = NULL, *dir = NULL, *real = NULL;
	char msg[sizeof(e->msg)];
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = file_read(path, CONFIG_MAX_BYTES, &text, &len, e);
	if (rc < 0)
		goto out;
	dir = path_dir(path);
	if (dir == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
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
	if (c == NULL)
		return;
	config_listen_free(c->listen, c->n_listen);
	free(c->ledger);
	free(c->node);
	free(c->ca.certificate);
	free(c->ca.chain);
	free(c->ca.key);
	free(c->ca.key_passphrase_file);
	free(c->ca.pkcs11_module);
	free(c->ca.key_pin_file);
	subject_free(c->profile.subject, c->profile.n_subject);
	free(c->profile.thing_name);
	free(c->profile.serial_pattern);
	config_clients_free(c->clients, c->n_clients);
	free(c);
}
