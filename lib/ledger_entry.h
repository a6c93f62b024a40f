/*
 * ledger_entry — one ledger entry as a value: the struct, its event names,
 * copying and freeing, and the canonical encoding and hash that chain it
 * (docs/ledger.md "Hash chain and canonical encoding"). Shared by every
 * ledger backend, the writer, the verify walk and the command line; it
 * knows nothing of storage.
 */
#ifndef THINGCA_LEDGER_ENTRY_H
#define THINGCA_LEDGER_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum ledger_event {
	LEDGER_ISSUED = 1,
	LEDGER_REVOKED = 2,
	LEDGER_SERIALS_IMPORTED = 3,
};

/* "issued" <-> LEDGER_ISSUED; 0 / NULL when unknown. */
int ledger_event_parse(const char *name);
const char *ledger_event_name(int event);

/* One ledger row. Strings are owned by the entry (ledger_entry_clear frees
 * them); NULL means SQL NULL / JSON null. */
struct ledger_entry {
	int64_t seq;
	char *time; /* RFC 3339 UTC */
	int event;  /* enum ledger_event */
	char *client;
	char *node; /* the daemon (config "node") that wrote the entry */
	char *serial;
	char *thing_name;
	char *certificate_id;	  /* hex SHA-256 of DER */
	char *ca_certificate_id;  /* issued: hex SHA-256 of the issuing CA
				     certificate's DER; NULL otherwise */
	char *certificate_serial; /* hex, as openssl x509 -serial */
	char *spki_sha256;
	char *not_before;
	char *not_after;
	char *reason;
	int reissue;	    /* revoked: 0/1; others -1 (null) */
	unsigned char *der; /* issued: certificate DER */
	size_t der_len;
	char prev_hash[65];
	char hash[65];
};

/* Frees the strings and zeroes e; reissue becomes -1 (NULL is a no-op). */
void ledger_entry_clear(struct ledger_entry *e);

/* Deep copy of src (strings and DER) into dst, cleared first. 0, or
 * -ERR_NOMEM with dst cleared. */
int ledger_entry_dup(struct ledger_entry *dst, const struct ledger_entry *src,
		     struct errd *e);

/* The canonical encoding hashed into the chain: compact JSON, keys sorted,
 * UTF-8, of every field except prev_hash and hash, with the DER as base64
 * under "certificate_der" (null when absent). node and ca_certificate_id
 * (added by migration 003) appear only when not NULL, so entries written
 * before them hash as they always did. 0 with *out malloc'd and
 * NUL-terminated; -ERR_MALFORMED_REQUEST when a string is not UTF-8,
 * -ERR_NOMEM. */
int ledger_canonical(const struct ledger_entry *e, char **out);

/* hash = SHA-256(32 raw bytes of prev_hex || ledger_canonical(en)) as
 * lowercase hex into out. -ERR_LEDGER_CORRUPT when prev_hex is not 64 hex
 * digits, -ERR_MALFORMED_REQUEST when a string is not UTF-8, -ERR_NOMEM. */
int ledger_entry_hash(const struct ledger_entry *en, const char *prev_hex,
		      char out[65], struct errd *e);

#endif
