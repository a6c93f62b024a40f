/*
 * config — the one JSON configuration file (DESIGN.md "Configuration").
 *
 * Parsed strictly with jansson: an unknown key, a wrong type, a duplicate key
 * or a value out of range is an error naming the key path ("profile.
 * validity_days: expected an integer"). Keys left out take the documented
 * defaults. Relative file paths are resolved against the configuration
 * file's directory. The struct is filled by config_load and read-only after.
 */
#ifndef THINGCA_CONFIG_H
#define THINGCA_CONFIG_H

#include <stddef.h>

#include "err.h"

/* A "listen" entry. */
struct listen_cfg {
	char *address;	       /* "host:port" or "unix:/path" */
	char *tls_certificate; /* NULL: plain HTTP */
	char *tls_key;
	char *tls_client_ca;
	int require_client_cert;
};

/* A "clients" entry. A client has a token, a certificate, or both: the
 * certificate either pinned by its SHA-256 or named by a CA and subject CN
 * (docs/est.md "Clients with certificates"). */
struct client_cfg {
	char *name;
	unsigned role; /* enum role bits (client.h) */
	int has_token; /* token_sha256 given */
	unsigned char token_sha256[32];
	int has_cert_sha256;	       /* certificate_sha256 given */
	unsigned char cert_sha256[32]; /* SHA-256 of the certificate's DER */
	char *ca;		       /* NULL, or the station CA file */
	char *ca_pem;		       /* its PEM text, read at load */
	char *cn;		       /* with ca: the expected subject CN */
};

/* Where EST finds the device serial in a CSR (est.serial_from). */
enum est_serial_from {
	EST_SERIAL_FROM_SERIALNUMBER = 0, /* subject serialNumber */
	EST_SERIAL_FROM_CN = 1,		  /* subject CN */
};

struct ca_cfg {
	char *certificate; /* PEM, the issuing CA */
	char *chain;	   /* NULL or PEM certificates appended after it */
	char *key;	   /* path, or RFC 7512 "pkcs11:" URI */
	char *key_passphrase_file;
	char *pkcs11_module;
	char *key_pin_file;
};

/* One subject RDN of the profile, in configuration order. */
struct rdn_cfg {
	char *type; /* "C", "ST", "L", "O", "OU" or "dnQualifier" */
	char *value;
};

/* profile.validity_days at most 100 years: beyond is a typo, and it keeps
 * days * 86400 far from time_t limits. */
#define PROFILE_VALIDITY_DAYS_MAX 36500L
/* profile.backdate_seconds at most a day: that covers any device clock
 * skew; more hides clock errors instead of absorbing skew. */
#define PROFILE_BACKDATE_MAX 86400L

struct profile_cfg {
	struct rdn_cfg *subject;
	size_t n_subject;
	int subject_given;    /* profile.subject in the file; else the built-in
				 demo subject (thingcad warns at start) */
	char *thing_name;     /* template, "{serial}" substituted */
	char *serial_pattern; /* POSIX extended regex */
	int subject_serial_number; /* bool */
	long validity_days;
	long backdate_seconds;
	unsigned key_types;	/* enum key_type bits (key.h) */
	int unique_public_keys; /* bool */
};

struct config {
	struct listen_cfg *listen;
	size_t n_listen;
	int listen_given; /* "listen" present in the file */
	char *ledger;
	char *node; /* this daemon's name in the ledger (default: host name) */
	long ledger_anchor_interval_s;
	struct ca_cfg ca;
	struct profile_cfg profile;
	int require_allowlist; /* serials.require_allowlist */
	struct client_cfg *clients;
	size_t n_clients;
	struct {
		size_t max_body_bytes;
		unsigned max_connections;
		unsigned connection_timeout_s;
	} limits;
	struct {
		long next_update_hours; /* crl.next_update_hours, default 168 */
	} crl;
	struct {
		int serial_from; /* enum est_serial_from */
	} est;
};

/* Default configuration file when -c is not given. */
#define CONFIG_DEFAULT_PATH "/etc/thingca/thingca.json"

/* Parses the file at path. *out is the new config (config_free), NULL on
 * failure. -ERR_CONFIG_INVALID (e->msg names the key path), -ERR_IO or
 * -ERR_NOMEM. */
int config_load(const char *path, struct config **out, struct errd *e);

/* Parses len bytes of JSON text; relative paths are resolved against
 * base_dir (NULL: the current directory). Same results as config_load. */
int config_parse(const char *text, size_t len, const char *base_dir,
		 struct config **out, struct errd *e);

/* NULL is a no-op. */
void config_free(struct config *c);

#endif
