/*
 * config_json — the strict JSON accessors the configuration reader is built
 * from. Each one checks a value's type and range and, when it is wrong,
 * says so with the key path ("listen[1].tls.key: expected a string"), so
 * config.c and config_listen_clients.c only say which keys exist and what they
 * mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_int.h"
#include "ledger.h"
#include "util.h"

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
void config_path_join(char *out, const char *parent, const char *key)
{
	size_t o = 0;

	out[0] = '\0';
	path_append(out, &o, parent);
	if (parent[0] != '\0')
		path_append(out, &o, ".");
	path_append(out, &o, key);
}

/* parent + "[i]". */
void config_path_index(char *out, const char *parent, size_t i)
{
	char num[32];
	size_t o = 0;

	snprintf(num, sizeof(num), "[%zu]", i);
	out[0] = '\0';
	path_append(out, &o, parent);
	path_append(out, &o, num);
}

/* Replaces *dst (freed) by a copy of s; -ERR_NOMEM. */
int config_set_str(char **dst, const char *s, struct errd *e)
{
	char *n = strdup(s);

	if (n == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* Refuses every key of obj not in the NULL-terminated list known. */
int config_check_keys(json_t *obj, const char *path, const char *const *known,
		      struct errd *e)
{
	char p[CONFIG_PATH_MAX], list[CONFIG_PATH_MAX] = "";
	const char *key;
	size_t i, len;

	key = json_unknown_key(obj, known);
	if (key == NULL)
		return 0;
	for (i = 0; known[i] != NULL; i++) {
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
			 known[i]);
	}
	config_path_join(p, path, key);
	return err_set(e, ERR_CONFIG_INVALID,
		       "%s: unknown key (known keys: %s)", p, list);
}

int config_get_object(json_t *obj, const char *path, const char *key,
		      json_t **out, struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_object(v)) {
		config_path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an object",
			       p);
	}
	*out = v;
	return 0;
}

int config_get_array(json_t *obj, const char *path, const char *key,
		     json_t **out, struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		config_path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID, "%s: expected an array",
			       p);
	}
	*out = v;
	return 0;
}

/* Checks that v (at path p) is a non-empty string, lent in *s; nullable
 * allows null (*s then NULL). */
int config_check_string(json_t *v, const char *p, int nullable, const char **s,
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

/* obj[key] into *dst when present (replacing the default). */
int config_get_string(json_t *obj, const char *path, const char *key,
		      int nullable, enum config_str_kind kind,
		      const char *base_dir, char **dst, struct errd *e)
{
	char p[CONFIG_PATH_MAX], *n;
	json_t *v = json_object_get(obj, key);
	const char *s;
	int rc, as_is;

	if (v == NULL)
		return 0;
	config_path_join(p, path, key);
	rc = config_check_string(v, p, nullable, &s, e);
	if (rc < 0)
		return rc;
	if (s == NULL) {
		free(*dst);
		*dst = NULL;
		return 0;
	}
	as_is = kind == STR_PLAIN ||
		(kind == STR_KEY && strncmp(s, "pkcs11:", 7) == 0) ||
		(kind == STR_MODULE && strchr(s, '/') == NULL) ||
		(kind == STR_LEDGER && ledger_location_is_uri(s));
	n = as_is ? strdup(s) : resolve(base_dir, s);
	if (n == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(*dst);
	*dst = n;
	return 0;
}

/* obj[key], a JSON integer in [min, max], into *dst when present. */
int config_get_long(json_t *obj, const char *path, const char *key, long min,
		    long max, long *dst, struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (v == NULL)
		return 0;
	config_path_join(p, path, key);
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
int config_get_bool(json_t *obj, const char *path, const char *key, int *dst,
		    struct errd *e)
{
	char p[CONFIG_PATH_MAX];
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		config_path_join(p, path, key);
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: expected true or false", p);
	}
	*dst = json_is_true(v);
	return 0;
}
