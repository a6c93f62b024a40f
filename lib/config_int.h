/*
 * config_int — private to the configuration reader: config.c (the file, the
 * CA, the profile, limits, defaults), config_json.c (strict JSON accessors
 * that name the key path) and config_listen_clients.c (listen[] and clients[]).
 * Nothing outside config*.c includes it.
 */
#ifndef THINGCA_CONFIG_INT_H
#define THINGCA_CONFIG_INT_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "err.h"

/* A configuration file is a few kilobytes; 1 MiB leaves room for thousands
 * of clients and stops a wrong -c (a ledger, a device image) early. */
#define CONFIG_MAX_BYTES ((size_t)1024 * 1024)
/* Longest key path we print ("clients[1234].token_sha256" and the like). */
#define CONFIG_PATH_MAX 256
/* RFC 5280 appendix A ub-common-name: the ThingName is the CN. */
#define CONFIG_CN_MAX 64

/* How config_get_string treats the value. */
enum config_str_kind {
	STR_PLAIN,  /* taken as is */
	STR_PATH,   /* a file: resolved against base_dir */
	STR_KEY,    /* a file, or an RFC 7512 "pkcs11:" URI taken as is */
	STR_MODULE, /* a file; a bare name is left to the dynamic loader */
	STR_LEDGER, /* a file, or a postgresql:// URI taken as is */
};

/* key_path strings below are the key path of the object ("" at the top
 * level, "listen[1].tls"); out buffers hold CONFIG_PATH_MAX bytes, longer
 * paths are cut short. Every int function returns 0 or a negative error
 * code with e naming the key path (-ERR_CONFIG_INVALID, -ERR_NOMEM). */

/* parent + "." + key into out, or key alone at the top level. out must not
 * be parent. */
void config_path_join(char *out, const char *parent, const char *key);
/* parent + "[i]" into out. */
void config_path_index(char *out, const char *parent, size_t i);
/* Replaces *dst (freed) by a copy of s. */
int config_set_str(char **dst, const char *s, struct errd *e);
/* Refuses every key of obj not in the NULL-terminated list known. */
int config_check_keys(json_t *obj, const char *path, const char *const *known,
		      struct errd *e);
/* obj[key] must be an object when present; *out (lent) NULL when absent. */
int config_get_object(json_t *obj, const char *path, const char *key,
		      json_t **out, struct errd *e);
/* obj[key] must be an array when present; *out (lent) NULL when absent. */
int config_get_array(json_t *obj, const char *path, const char *key,
		     json_t **out, struct errd *e);
/* v (at path p) must be a non-empty string without NUL, lent in *s;
 * nullable allows null (*s then NULL). */
int config_check_string(json_t *v, const char *p, int nullable, const char **s,
			struct errd *e);
/* obj[key] into *dst (a new string, the old one freed) when present; kind
 * says how a relative path is resolved against base_dir. */
int config_get_string(json_t *obj, const char *path, const char *key,
		      int nullable, enum config_str_kind kind,
		      const char *base_dir, char **dst, struct errd *e);
/* obj[key], a JSON integer in [min, max], into *dst when present. */
int config_get_long(json_t *obj, const char *path, const char *key, long min,
		    long max, long *dst, struct errd *e);
/* obj[key], JSON true or false, into *dst when present. */
int config_get_bool(json_t *obj, const char *path, const char *key, int *dst,
		    struct errd *e);

/* config_listen_clients.c: root's "listen" into c->listen (replacing the
 * default one) and "clients" into c->clients; files are resolved against
 * base_dir and clients[].ca is read now. */
int config_parse_listen(json_t *root, const char *base_dir, struct config *c,
			struct errd *e);
int config_parse_clients(json_t *root, const char *base_dir, struct config *c,
			 struct errd *e);
/* Free n elements and the array; NULL is a no-op. */
void config_listen_free(struct listen_cfg *l, size_t n);
void config_clients_free(struct client_cfg *cl, size_t n);

#endif
