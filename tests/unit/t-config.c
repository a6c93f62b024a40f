/*
 * t-config — the configuration parser: defaults from "{}", the shipped
 * example etc/thingca.json, subject order, relative path resolution, and
 * one refusal per kind of mistake, each naming the key path. Fixture files
 * (hostile ones too) are under tests/data/config/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "key.h"
#include "tap.h"
#include "util.h"

static const char *src;

/* A parse that must fail with config_invalid and name want in e.msg. */
struct bad {
	const char *json;
	const char *want; /* substring of the message: the key path */
};

static const struct bad bad[] = {
    /* unknown keys */
    {"{\"lsiten\": []}", "lsiten: unknown key"},
    {"{\"profile\": {\"foo\": 1}}", "profile.foo: unknown key"},
    {"{\"ca\": {\"cert\": \"x\"}}", "ca.cert: unknown key"},
    {"{\"listen\": [\"127.0.0.1:1\", {\"address\": \"127.0.0.1:2\", "
     "\"tls\": {\"certificate\": \"c\", \"key\": \"k\", \"ca\": \"x\"}}]}",
     "listen[1].tls.ca: unknown key"},
    {"{\"limits\": {\"max_body\": 1}}", "limits.max_body: unknown key"},
    {"{\"crl\": {\"next_update\": 1}}", "crl.next_update: unknown key"},
    {"{\"serials\": {\"allowlist\": true}}", "serials.allowlist: unknown key"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", \"token\": "
     "\"x\"}]}",
     "clients[0].token: unknown key"},
    {"{\"profile\": {\"subject\": {\"CN\": \"x\"}}}",
     "profile.subject.CN: unknown key"},
    /* wrong types */
    {"{\"ledger\": 5}", "ledger: expected a string"},
    {"{\"ledger\": null}", "ledger: expected a string"},
    {"{\"ca\": \"x\"}", "ca: expected an object"},
    {"{\"ca\": {\"chain\": 1}}", "ca.chain: expected a string or null"},
    {"{\"listen\": \"127.0.0.1:8180\"}", "listen: expected an array"},
    {"{\"listen\": [\"127.0.0.1:1\", {\"address\": \"127.0.0.1:2\", "
     "\"tls\": {\"certificate\": 7, \"key\": \"k\"}}]}",
     "listen[1].tls.certificate: expected a string"},
    {"{\"listen\": [5]}", "listen[0]: expected a string or an object"},
    {"{\"profile\": {\"validity_days\": \"3650\"}}",
     "profile.validity_days: expected an integer"},
    {"{\"profile\": {\"validity_days\": 3650.0}}",
     "profile.validity_days: expected an integer"},
    {"{\"profile\": {\"validity_days\": true}}",
     "profile.validity_days: expected an integer"},
    {"{\"profile\": {\"unique_public_keys\": 1}}",
     "profile.unique_public_keys: expected true or false"},
    {"{\"profile\": {\"subject_serial_number\": \"true\"}}",
     "profile.subject_serial_number: expected true or false"},
    {"{\"serials\": {\"require_allowlist\": null}}",
     "serials.require_allowlist: expected true or false"},
    {"{\"clients\": {}}", "clients: expected an array"},
    {"{\"clients\": [\"ops\"]}", "clients[0]: expected an object"},
    {"{\"profile\": {\"subject\": {\"O\": 1}}}",
     "profile.subject.O: expected a string"},
    {"{\"profile\": {\"key_types\": \"ec:P-256\"}}",
     "profile.key_types: expected an array"},
    {"{\"limits\": {\"max_connections\": 2.5}}",
     "limits.max_connections: expected an integer"},
    /* duplicate keys, at the top and nested */
    {"{\"ledger\": \"a\", \"ledger\": \"b\"}", "ledger: duplicate key"},
    {"{\"ca\": {\"key\": \"a\",\n \"key\": \"b\"}}", "ca.key: duplicate key"},
    {"{\"listen\": [\"127.0.0.1:1\", {\"address\": \"127.0.0.1:2\", "
     "\"address\": \"127.0.0.1:3\"}]}",
     "listen[1].address: duplicate key"},
    /* regex */
    {"{\"profile\": {\"serial_pattern\": \"^[A-Z\"}}",
     "profile.serial_pattern: not a POSIX extended regular expression"},
    {"{\"profile\": {\"serial_pattern\": \"a{2,1}\"}}",
     "profile.serial_pattern"},
    {"{\"profile\": {\"serial_pattern\": \"\"}}",
     "profile.serial_pattern: must not be empty"},
    /* clients */
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"root\", \"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}]}",
     "clients[0].role: must be one of station, auditor, admin"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"F433801E3F9A65636A61571D66DA0A5F7C9DD2F497FB76D0B9FCBEBDB8CD3837\"}]}",
     "clients[0].token_sha256: expected 64 lowercase hex"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd383\"}]}",
     "clients[0].token_sha256: expected 64 lowercase hex"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"g433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}]}",
     "clients[0].token_sha256: expected 64 lowercase hex"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\"}]}",
     "clients[0].token_sha256: required"},
    {"{\"clients\": [{\"name\": \"a b\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}]}",
     "clients[0].name: expected 1..64 characters"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}, "
     "{\"name\": \"a\", \"role\": \"admin\", \"token_sha256\": "
     "\"73e1a3a52a052125f555be33516a68019a6c8dc3e43735d1dfb5389624207cc5\"}]}",
     "clients[1].name: 'a' is already used by clients[0]"},
    {"{\"clients\": [{\"name\": \"a\", \"role\": \"station\", "
     "\"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}, "
     "{\"name\": \"b\", \"role\": \"admin\", \"token_sha256\": "
     "\"f433801e3f9a65636a61571d66da0a5f7c9dd2f497fb76d0b9fcbebdb8cd3837\"}]}",
     "clients[1].token_sha256: same token as clients[0]"},
    /* listen addresses */
    {"{\"listen\": [\"localhost\"]}", "listen[0]: expected \"host:port\""},
    {"{\"listen\": [\"127.0.0.1:65536\"]}", "listen[0]: port must be 0..65535"},
    {"{\"listen\": [\"127.0.0.1:80x\"]}", "listen[0]: port must be 0..65535"},
    {"{\"listen\": [\"127.0.0.1:\"]}", "listen[0]: expected \"host:port\""},
    {"{\"listen\": [\":8180\"]}", "listen[0]: expected \"host:port\""},
    {"{\"listen\": [\"::1:8180\"]}",
     "listen[0]: write an IPv6 address in brackets"},
    {"{\"listen\": [\"[::g]:8180\"]}",
     "listen[0]: '::g' is not an IPv6 address"},
    {"{\"listen\": [\"[::1]8180\"]}", "listen[0]: expected \"host:port\""},
    {"{\"listen\": [\"unix:relative.sock\"]}",
     "listen[0]: a unix socket path must be absolute"},
    {"{\"listen\": [\"127.0.0.1:1\", {\"address\": \"host name:1\"}]}",
     "listen[1].address: expected \"host:port\""},
    {"{\"listen\": [{\"tls\": {}}]}", "listen[0].address: required"},
    {"{\"listen\": [{\"address\": \"127.0.0.1:1\", \"tls\": {\"certificate\": "
     "\"c\"}}]}",
     "listen[0].tls.key: required when tls is given"},
    {"{\"listen\": [{\"address\": \"127.0.0.1:1\", \"tls\": {\"certificate\": "
     "\"c\", \"key\": \"k\", \"require_client_cert\": true}}]}",
     "listen[0].tls.require_client_cert: needs client_ca"},
    {"{\"listen\": []}", "listen: must not be empty"},
    /* key types */
    {"{\"profile\": {\"key_types\": [\"ec:P-256\", \"ed25519\"]}}",
     "profile.key_types[1]: unknown key type 'ed25519'"},
    {"{\"profile\": {\"key_types\": [\"rsa:1024\"]}}",
     "profile.key_types[0]: unknown key type"},
    {"{\"profile\": {\"key_types\": [\"rsa:2048\", \"rsa:2048\"]}}",
     "profile.key_types[1]: 'rsa:2048' is listed twice"},
    {"{\"profile\": {\"key_types\": []}}",
     "profile.key_types: must not be empty"},
    {"{\"profile\": {\"key_types\": [1]}}",
     "profile.key_types[0]: expected a string"},
    /* out-of-range numbers, both ends */
    {"{\"profile\": {\"validity_days\": 0}}",
     "profile.validity_days: must be between 1 and 36500 (got 0)"},
    {"{\"profile\": {\"validity_days\": 36501}}",
     "profile.validity_days: must be between"},
    {"{\"profile\": {\"backdate_seconds\": -1}}",
     "profile.backdate_seconds: must be between 0 and 86400"},
    {"{\"profile\": {\"backdate_seconds\": 86401}}",
     "profile.backdate_seconds: must be between"},
    {"{\"limits\": {\"max_body_bytes\": 1023}}",
     "limits.max_body_bytes: must be between 1024 and 16777216"},
    {"{\"limits\": {\"max_body_bytes\": 16777217}}",
     "limits.max_body_bytes: must be between"},
    {"{\"limits\": {\"max_connections\": 0}}",
     "limits.max_connections: must be between 1 and 65536"},
    {"{\"limits\": {\"max_connections\": 65537}}",
     "limits.max_connections: must be between"},
    {"{\"limits\": {\"connection_timeout_s\": 0}}",
     "limits.connection_timeout_s: must be between 1 and 3600"},
    {"{\"limits\": {\"connection_timeout_s\": 3601}}",
     "limits.connection_timeout_s: must be between"},
    {"{\"node\": \"line 1\"}",
     "node: at most 64 printable ASCII characters, no spaces"},
    {"{\"node\": "
     "\"nodenodenodenodenodenodenodenodenodenodenodenodenodenodenodenode1\"}",
     "node: at most 64"},
    {"{\"node\": 7}", "node: expected"},
    {"{\"ledger_anchor_interval_s\": -1}",
     "ledger_anchor_interval_s: must be between 0 and 604800"},
    {"{\"ledger_anchor_interval_s\": 604801}",
     "ledger_anchor_interval_s: must be between"},
    {"{\"crl\": {\"next_update_hours\": 0}}",
     "crl.next_update_hours: must be between 1 and 8760"},
    {"{\"crl\": {\"next_update_hours\": 8761}}",
     "crl.next_update_hours: must be between"},
    {"{\"profile\": {\"validity_days\": 9223372036854775807}}",
     "profile.validity_days: must be between"},
    /* profile subject and thing name */
    {"{\"profile\": {\"subject\": {\"C\": \"JPN\"}}}",
     "profile.subject.C: expected a two-letter ISO 3166 country code"},
    {"{\"profile\": {\"subject\": {\"C\": \"J1\"}}}",
     "profile.subject.C: expected a two-letter"},
    {"{\"profile\": {\"subject\": {\"O\": \"\"}}}",
     "profile.subject.O: must not be empty"},
    {"{\"profile\": {\"subject\": {\"OU\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123456789"
     "\"}}}",
     "profile.subject.OU: longer than 64 characters"},
    {"{\"profile\": {\"subject\": {\"dnQualifier\": \"a_b\"}}}",
     "profile.subject.dnQualifier: only PrintableString characters"},
    {"{\"profile\": {\"thing_name\": \"device\"}}",
     "profile.thing_name: must contain {serial}"},
    {"{\"profile\": {\"thing_name\": \"\"}}",
     "profile.thing_name: must not be empty"},
    {"{\"profile\": {\"thing_name\": \"dev.{serial}\"}}",
     "profile.thing_name: character '.' is not allowed"},
    {"{\"profile\": {\"thing_name\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123{"
     "serial}\"}}",
     "profile.thing_name: leaves no room"},
    /* paths */
    {"{\"ca\": {\"key\": \"\"}}", "ca.key: must not be empty"},
    {"{\"ca\": {\"certificate\": null}}", "ca.certificate: expected a string"},
    /* top level and syntax */
    {"[]", "the top level must be a JSON object"},
    {"\"thingca\"", "the top level must be a JSON object"},
    {"null", "the top level must be a JSON object"},
    {"{\"ledger\": \"a\",\n  \"ca\": {\"key\": }}",
     "invalid JSON at line 2, column"},
    {"{\"ledger\": \"a\"} {}", "invalid JSON at line 1, column"},
    {"", "invalid JSON at line"},
    {"{\"ledger\": \"a\\u0000b\"}", "invalid JSON"},
};

static void test_defaults(void)
{
	static const char *const subj[] = {"C",	 "JP",	  "ST", "Tokyo",
					   "L",	 "Tokyo", "O",	"MyOrg",
					   "OU", "device"};
	struct config *c = NULL;
	struct errd e;
	size_t i;
	int rc;

	err_clear(&e);
	rc = config_parse("{}", 2, "/base", &c, &e);
	is_int(rc, 0, "{} parses (%s)", e.msg);
	if (c == NULL)
		return;
	is_int(c->n_listen, 1, "default: one listener");
	is_str(c->listen[0].address, "127.0.0.1:8180", "default listen");
	ok(c->listen[0].tls_certificate == NULL, "default listener is plain");
	is_int(c->listen_given, 0, "listen_given 0 when absent");
	is_str(c->ledger, "/var/lib/thingca/ledger.db", "default ledger");
	is_int(c->ledger_anchor_interval_s, 3600, "default anchor interval");
	{
		char host[256];

		gethostname(host, sizeof(host));
		host[sizeof(host) - 1] = '\0';
		is_str(c->node, host, "default node: the host name");
	}
	config_free(c);
	c = NULL;
	{
		static const char uri[] =
		    "{\"ledger\": \"postgresql://thingca@db1,db2/thingca?"
		    "target_session_attrs=read-write\", \"node\": \"line-2\"}";

		rc = config_parse(uri, strlen(uri), "/base", &c, &e);
		is_int(rc, 0, "a ledger URI parses (%s)", rc ? e.msg : "");
		if (c)
			is_str(
			    c->ledger,
			    "postgresql://thingca@db1,db2/thingca?"
			    "target_session_attrs=read-write",
			    "a postgresql:// ledger is not resolved as a path");
		if (c)
			is_str(c->node, "line-2", "node as given");
		config_free(c);
		c = NULL;
		rc = config_parse("{\"ledger\": \"postgres://h/db\"}",
				  strlen("{\"ledger\": \"postgres://h/db\"}"),
				  "/base", &c, &e);
		ok(rc == 0 && c && strcmp(c->ledger, "postgres://h/db") == 0,
		   "postgres:// neither");
		config_free(c);
		c = NULL;
		rc = config_parse("{\"ledger\": \"l.db\"}",
				  strlen("{\"ledger\": \"l.db\"}"), "/base", &c,
				  &e);
		ok(rc == 0 && c && strcmp(c->ledger, "/base/l.db") == 0,
		   "a relative ledger file is resolved (got %s)",
		   c ? c->ledger : "-");
		config_free(c);
		c = NULL;
		rc = config_parse("{}", 2, "/base", &c, &e);
	}
	is_str(c->ca.certificate, "/etc/thingca/ca.pem",
	       "default ca.certificate");
	is_str(c->ca.key, "/etc/thingca/ca.key", "default ca.key");
	ok(c->ca.chain == NULL && c->ca.key_passphrase_file == NULL &&
	       c->ca.pkcs11_module == NULL && c->ca.key_pin_file == NULL,
	   "other ca.* default to NULL");
	is_int(c->profile.n_subject, 5, "default subject has 5 RDNs");
	is_int(c->profile.subject_given, 0,
	       "subject_given 0: the demo subject, thingcad warns");
	for (i = 0; i < c->profile.n_subject && i < 5; i++) {
		is_str(c->profile.subject[i].type, subj[2 * i],
		       "default RDN %zu type", i);
		is_str(c->profile.subject[i].value, subj[2 * i + 1],
		       "default RDN %zu value", i);
	}
	is_str(c->profile.thing_name, "{serial}", "default thing_name");
	is_str(c->profile.serial_pattern, "^[A-Za-z0-9-]{1,64}$",
	       "default serial_pattern");
	is_int(c->profile.subject_serial_number, 1,
	       "default subject_serial_number");
	is_int(c->profile.validity_days, 3650, "default validity_days");
	is_int(c->profile.backdate_seconds, 300, "default backdate_seconds");
	is_int(c->profile.key_types, KEY_ALL, "default key_types: all five");
	is_int(c->profile.unique_public_keys, 1, "default unique_public_keys");
	is_int(c->require_allowlist, 1, "default require_allowlist");
	is_int(c->n_clients, 0, "default: no clients");
	is_int(c->limits.max_body_bytes, 65536, "default max_body_bytes");
	is_int(c->limits.max_connections, 256, "default max_connections");
	is_int(c->limits.connection_timeout_s, 10,
	       "default connection_timeout_s");
	is_int(c->crl.next_update_hours, 168, "default crl.next_update_hours");
	config_free(c);
	config_free(NULL);
	ok(1, "config_free(NULL) is a no-op");
}

static void test_example(void)
{
	unsigned char want[32];
	struct config *c = NULL;
	char path[4096];
	struct errd e;
	int rc;

	snprintf(path, sizeof(path), "%s/etc/thingca.json", src);
	err_clear(&e);
	rc = config_load(path, &c, &e);
	is_int(rc, 0, "etc/thingca.json loads (%s)", e.msg);
	if (c == NULL)
		return;
	is_int(c->listen_given, 1, "example: listen given");
	/* No unix: entry: /run/thingca exists only under thingcad.socket,
	 * which brings its own (docs/configuration.md "listen"). */
	is_int(c->n_listen, 2, "example: two listeners");
	if (c->n_listen == 2) {
		is_str(c->listen[0].address, "127.0.0.1:8180",
		       "example: loopback listener");
		is_str(c->listen[1].address, "[::1]:8443",
		       "example: IPv6 listener");
		is_str(c->listen[1].tls_key, "/etc/thingca/tls/server.key",
		       "example: TLS key");
		is_int(c->listen[1].require_client_cert, 0,
		       "example: require_client_cert");
	}
	is_int(c->profile.subject_given, 1,
	       "example: profile.subject chosen, not the demo default");
	is_int(c->n_clients, 3, "example: three clients");
	if (c->n_clients == 3) {
		is_str(c->clients[0].name, "line1-station1", "client 0 name");
		is_int(c->clients[0].role, ROLE_STATION, "client 0 role");
		is_int(c->clients[1].role, ROLE_AUDITOR, "client 1 role");
		is_int(c->clients[2].role, ROLE_ADMIN, "client 2 role");
		sha256("change-me-station", 17, want);
		ok(memcmp(c->clients[0].token_sha256, want, 32) == 0,
		   "client 0 token hash is SHA-256 of change-me-station");
		sha256("change-me-admin", 15, want);
		ok(memcmp(c->clients[2].token_sha256, want, 32) == 0,
		   "client 2 token hash is SHA-256 of change-me-admin");
	}
	is_int(c->crl.next_update_hours, 168, "example: crl");
	config_free(c);
}

static void test_order_and_paths(void)
{
	static const char *const order[] = {"OU", "dnQualifier", "C", "O"};
	const char *text;
	struct config *c = NULL;
	char path[4096], want[4096 + 64];
	struct errd e;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/data/config/relative.json", src);
	err_clear(&e);
	rc = config_load(path, &c, &e);
	is_int(rc, 0, "relative.json loads (%s)", e.msg);
	if (c == NULL)
		return;
	is_int(c->profile.n_subject, 4, "four RDNs");
	for (i = 0; i < 4 && i < c->profile.n_subject; i++)
		is_str(c->profile.subject[i].type, order[i],
		       "subject RDN %zu in file order", i);
	is_str(c->profile.subject[3].value, "Acme GmbH", "RDN value kept");
	is_str(c->profile.thing_name, "acme_{serial}", "thing_name kept");
	ok(c->ledger[0] == '/' &&
	       strstr(c->ledger, "/tests/data/config/state/ledger.db") != NULL,
	   "relative ledger resolved against the file's directory (got %s)",
	   c->ledger);
	ok(strstr(c->ca.certificate, "/tests/data/config/ca.pem") != NULL &&
	       c->ca.certificate[0] == '/',
	   "relative ca.certificate resolved (got %s)", c->ca.certificate);
	ok(strstr(c->listen[0].tls_certificate,
		  "/tests/data/config/tls/server.pem") != NULL,
	   "relative tls.certificate resolved (got %s)",
	   c->listen[0].tls_certificate);
	is_str(c->ca.chain, "/etc/thingca/root.pem", "absolute path untouched");
	is_str(c->ca.key,
	       "pkcs11:token=thingca;object=ca-key?pin-source=file:pin.txt",
	       "pkcs11: URI not resolved");
	is_str(c->ca.pkcs11_module, "libsofthsm2.so",
	       "bare module name left to the loader");
	ok(strstr(c->ca.key_pin_file, "/tests/data/config/pin.txt") != NULL,
	   "relative key_pin_file resolved (got %s)", c->ca.key_pin_file);
	is_int(c->n_clients, 0, "empty clients array");
	config_free(c);

	/* config_parse with base_dir */
	c = NULL;
	text = "{\"ledger\": \"l.db\", \"ca\": {\"key\": \"k/ca.key\"}}";
	rc = config_parse(text, strlen(text), "/srv/ca", &c, &e);
	is_int(rc, 0, "parse with base_dir (%s)", e.msg);
	if (c != NULL) {
		is_str(c->ledger, "/srv/ca/l.db", "base_dir joined");
		is_str(c->ca.key, "/srv/ca/k/ca.key",
		       "base_dir joined for ca.key");
		config_free(c);
	}
	c = NULL;
	rc = config_parse("{\"ledger\": \"l.db\"}", 18, NULL, &c, &e);
	is_int(rc, 0, "parse without base_dir");
	if (c != NULL) {
		is_str(c->ledger, "l.db", "NULL base_dir leaves path relative");
		config_free(c);
	}
	/* The text need not be NUL-terminated: only len bytes count. */
	c = NULL;
	rc = config_parse("{}garbage", 2, NULL, &c, &e);
	is_int(rc, 0, "only len bytes are parsed");
	config_free(c);

	snprintf(want, sizeof(want), "%s/nonexistent.json", src);
	c = (struct config *)1;
	rc = config_load(want, &c, &e);
	is_int(rc, -ERR_IO, "missing file is -ERR_IO");
	ok(c == NULL, "*out NULL on failure");
	ok(strstr(e.msg, "nonexistent.json") != NULL,
	   "message names the file (got '%s')", e.msg);
}

/* Hostile fixture files: each refused with config_invalid, message
 * containing want and the file's name. */
static void test_fixtures(void)
{
	static const struct {
		const char *file, *want;
	} fx[] = {
	    {"invalid-utf8.json", "invalid JSON at line 1"},
	    {"nul-in-string.json", "invalid JSON"},
	    {"duplicate-nested.json", "clients[1].role: duplicate key"},
	    {"top-array.json", "top level must be a JSON object"},
	    {"deep-nesting.json", "invalid JSON"},
	    {"truncated.json", "invalid JSON at line 1"},
	    {"huge-integer.json", "invalid JSON"},
	    {"real-not-integer.json",
	     "limits.max_connections: expected an integer"},
	    {"empty.json", "invalid JSON"},
	};
	struct config *c;
	char path[4096];
	struct errd e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		c = NULL;
		err_clear(&e);
		snprintf(path, sizeof(path), "%s/tests/data/config/%s", src,
			 fx[i].file);
		rc = config_load(path, &c, &e);
		is_int(rc, -ERR_CONFIG_INVALID, "%s refused", fx[i].file);
		ok(strstr(e.msg, fx[i].want) != NULL &&
		       strstr(e.msg, fx[i].file) != NULL,
		   "%s: message has '%s' and the file name (got '%s')",
		   fx[i].file, fx[i].want, e.msg);
		ok(c == NULL, "%s: no config", fx[i].file);
		config_free(c);
	}
}

static void test_bad(void)
{
	struct config *c;
	char name[512], *nl;
	struct errd e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* A TAP line must stay one line. */
		snprintf(name, sizeof(name), "%s", bad[i].json);
		while ((nl = strchr(name, '\n')) != NULL)
			*nl = ' ';
		c = NULL;
		err_clear(&e);
		rc = config_parse(bad[i].json, strlen(bad[i].json), "/base", &c,
				  &e);
		if (!ok(rc == -ERR_CONFIG_INVALID &&
			    e.code == ERR_CONFIG_INVALID && c == NULL &&
			    strstr(e.msg, bad[i].want) != NULL,
			"refuse %s", name))
			diag("expected rc %d and a message with '%s', got rc "
			     "%d '%s'",
			     -ERR_CONFIG_INVALID, bad[i].want, rc, e.msg);
		config_free(c);
	}
}

static void test_misc(void)
{
	struct config *c = NULL;
	struct errd e;
	int rc;

	is_int(key_type_parse("ec:P-256"), KEY_EC_P256, "key_type_parse P-256");
	is_int(key_type_parse("rsa:4096"), KEY_RSA_4096,
	       "key_type_parse rsa:4096");
	is_int(key_type_parse("EC:P-256"), 0,
	       "key_type_parse is case-sensitive");
	is_int(key_type_parse(NULL), 0, "key_type_parse(NULL)");
	is_str(key_type_name(KEY_EC_P384), "ec:P-384", "key_type_name P-384");
	is_str(key_type_name(KEY_RSA_3072), "rsa:3072",
	       "key_type_name rsa:3072");
	ok(key_type_name(KEY_EC_P256 | KEY_RSA_2048) == NULL,
	   "key_type_name of two bits is NULL");
	ok(key_type_name(0) == NULL, "key_type_name(0) is NULL");

	rc = config_parse(
	    "{\"profile\": {\"key_types\": [\"rsa:3072\", \"ec:P-384\"], "
	    "\"subject\": {}, \"validity_days\": 36500, "
	    "\"backdate_seconds\": 0, \"thing_name\": \"x:{serial}_y\"}, "
	    "\"ledger_anchor_interval_s\": 0, \"ca\": {\"chain\": null}, "
	    "\"listen\": [{\"address\": \"unix:/run/t.sock\", \"tls\": null}]}",
	    strlen(
		"{\"profile\": {\"key_types\": [\"rsa:3072\", \"ec:P-384\"], "
		"\"subject\": {}, \"validity_days\": 36500, "
		"\"backdate_seconds\": 0, \"thing_name\": \"x:{serial}_y\"}, "
		"\"ledger_anchor_interval_s\": 0, \"ca\": {\"chain\": null}, "
		"\"listen\": [{\"address\": \"unix:/run/t.sock\", \"tls\": "
		"null}]}"),
	    NULL, &c, &e);
	is_int(rc, 0, "boundary values accepted (%s)", rc ? e.msg : "");
	if (c != NULL) {
		is_int(c->profile.key_types, KEY_RSA_3072 | KEY_EC_P384,
		       "key_types bits");
		is_int(c->profile.n_subject, 0, "empty subject allowed");
		is_int(c->profile.validity_days, 36500, "validity_days max");
		is_int(c->profile.backdate_seconds, 0, "backdate 0");
		is_int(c->ledger_anchor_interval_s, 0, "anchor off");
		is_int(c->listen_given, 1, "listen_given");
		is_str(c->listen[0].address, "unix:/run/t.sock",
		       "unix address");
		ok(c->listen[0].tls_certificate == NULL,
		   "tls null means plain");
		config_free(c);
	}
	c = NULL;
	rc = config_parse("{\"listen\": [\"127.0.0.1:0\"]}", 27, NULL, &c, &e);
	is_int(rc, 0, "port 0 (a free port) accepted (%s)", rc ? e.msg : "");
	config_free(c);
}

int main(void)
{
	src = getenv("THINGCA_SRC");
	if (src == NULL || src[0] == '\0')
		src = ".";
	test_defaults();
	test_example();
	test_order_and_paths();
	test_fixtures();
	test_bad();
	test_misc();
	return done_testing();
}
