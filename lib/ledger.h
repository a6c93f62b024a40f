/*
 * ledger — the issuance ledger (DESIGN.md "Ledger"): the allowlist of
 * serials and the append-only, hash-chained events `issued`, `revoked`,
 * `serials_imported`, behind one interface whatever stores them.
 *
 * Stores: an SQLite file (lib/ledger_sqlite.c: WAL, synchronous=FULL,
 * schema from sql/sqlite/) or, when built in, PostgreSQL for a location
 * beginning postgresql:// or postgres://. A backend provides the small
 * operations table of lib/ledger_backend.h; the rules live here once.
 *
 * Writes go through one writer thread that commits the waiting entries in
 * one transaction (group commit): each caller blocks until its own entry is
 * committed (or the batch failed), so no answer leaves before its entry is
 * durable. The writer re-checks the issuance rules inside the transaction,
 * under the chain lock, and reads the chain head there too, so racing
 * requests and other processes (or nodes) writing the same ledger stay
 * consistent.
 *
 * Reads use the backend's reader connections (they never wait for the
 * writer). All functions are safe from many threads.
 *
 * Hash chain: hash = SHA-256(prev_hash (32 raw bytes) || canonical), where
 * canonical is ledger_canonical() (lib/ledger_entry.h, docs/ledger.md). The
 * first entry's prev_hash is 64 zeros.
 */
#ifndef THINGCA_LEDGER_H
#define THINGCA_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ledger_entry.h"

#define LEDGER_RDONLY 1 /* open read-only: no migration, no writer */

/* Rows per page of ledger_list: bounds one answer's memory and time. */
#define LEDGER_PAGE_MAX 1000

struct ledger;

/* Is location a URI naming a database server (postgresql://, postgres://)
 * rather than a file path? Such a location is never resolved as a path. */
int ledger_location_is_uri(const char *location);

/* Opens (creating when missing, unless RDONLY) the ledger at location: a
 * file path (SQLite) or a postgresql:// / postgres:// URI (PostgreSQL, when
 * this build has it; else -ERR_LEDGER_UNAVAILABLE "this build has no
 * PostgreSQL backend"). Read-write: applies migrations, refuses a schema
 * newer than this build knows and a newest entry whose hash does not match
 * its contents (-ERR_LEDGER_CORRUPT, message says restore the last backup /
 * run thingca ledger verify), starts the writer. -ERR_LEDGER_UNAVAILABLE
 * when the store cannot be opened. */
int ledger_open(const char *location, int flags, struct ledger **out,
		struct errd *e);

/* The node name the writer stamps on every entry it appends (DESIGN.md
 * "Configuration": every entry records the node that wrote it). Copied;
 * NULL or never called: the host name (gethostname). Call before the first
 * write. 0 or -ERR_NOMEM. */
int ledger_set_node(struct ledger *l, const char *node, struct errd *e);

/* Stops the writer after the queued entries, closes every connection. */
void ledger_close(struct ledger *l);

// clang-format off
/* Issuance decision, rules 3, 5 and 6 of DESIGN.md, as of now:
 *   require_allowlist and serial not imported     -ERR_SERIAL_UNKNOWN
 *   blocked by a revocation without reissue       -ERR_SERIAL_REVOKED
 *   unique_keys and spki_sha256 certified for      -ERR_PUBLIC_KEY_REUSED
 *     another serial, or in a revoked certificate
 *     of this serial (spki_sha256 NULL: skipped)
 *   serial has a current certificate              -ERR_SERIAL_ALREADY_ISSUED,
 *                                                 *existing (when not NULL)
 *                                                 filled with it, DER too
 *   otherwise                                     0
 * Runs in a read session; ledger_record_issue runs the same function again
 * inside the write transaction. */
// clang-format on
int ledger_check_issue(struct ledger *l, const char *serial,
		       const char *spki_sha256, int require_allowlist,
		       int unique_keys, struct ledger_entry *existing,
		       struct errd *e);

/* Appends an `issued` entry (fields of *entry set by the caller except seq,
 * time, prev_hash, hash) after re-checking ledger_check_issue in the write
 * transaction. Blocks until committed. 0 with seq/time/prev_hash/hash filled
 * in *entry; the check's errors (with *existing filled for
 * -ERR_SERIAL_ALREADY_ISSUED); -ERR_LEDGER_UNAVAILABLE when the commit
 * failed (disk full, I/O error): nothing of it was recorded. */
int ledger_record_issue(struct ledger *l, struct ledger_entry *entry,
			int require_allowlist, int unique_keys,
			struct ledger_entry *existing, struct errd *e);

/* Appends a `revoked` entry for certificate_id (its serial, thing name,
 * certificate serial copied from the issued entry). -ERR_NOT_FOUND,
 * -ERR_ALREADY_REVOKED, -ERR_LEDGER_UNAVAILABLE. 0 with *out the new entry
 * (out may be NULL). */
int ledger_revoke(struct ledger *l, const char *certificate_id,
		  const char *client, const char *reason, int reissue,
		  struct ledger_entry *out, struct errd *e);

/* Adds serials to the allowlist with batch, all or none, and appends one
 * `serials_imported` entry (reason = "batch=<b> added=<n> present=<m>
 * sha256=<hex of the added serials, newline-terminated, in order>").
 * Serials must already be checked by the caller (profile_check_serial).
 * 0 with *added and *present; -ERR_LEDGER_UNAVAILABLE. */
int ledger_import_serials(struct ledger *l, const char *batch,
			  const char *client, char *const *serials, size_t n,
			  size_t *added, size_t *present,
			  struct ledger_entry *out, struct errd *e);

/* Filters of GET /v1/ledger; NULL / 0 means no filter. */
struct ledger_query {
	const char *serial;
	const char *thing_name;
	const char *station; /* client name */
	const char *certificate_id;
	int event;	   /* enum ledger_event or 0 */
	const char *since; /* RFC 3339 UTC, inclusive */
	const char *until; /* RFC 3339 UTC, exclusive */
	int64_t after;	   /* seq cursor: entries with seq > after */
	int limit;	   /* 1..LEDGER_PAGE_MAX; 0 -> 100 */
	int with_der;	   /* fill der (else der NULL) */
};

/* Calls cb for each matching entry in seq order (stop early when cb returns
 * non-zero, which is returned). *next is the seq cursor for the next page,
 * or 0 when this page was the last. */
int ledger_list(struct ledger *l, const struct ledger_query *q,
		int (*cb)(void *arg, const struct ledger_entry *en), void *arg,
		int64_t *next, struct errd *e);

/* The `issued` entry of certificate_id with DER, and whether it was revoked
 * (*revoked = the revocation entry, seq 0 when not; may be NULL).
 * -ERR_NOT_FOUND. */
int ledger_get_certificate(struct ledger *l, const char *certificate_id,
			   struct ledger_entry *out,
			   struct ledger_entry *revoked, struct errd *e);

/* Newest entry's seq and hash (0 and 64 zeros for an empty ledger). */
int ledger_head(struct ledger *l, int64_t *seq, char hash[65], struct errd *e);

/* Recomputes the whole chain: seq contiguous from 1, each prev_hash equal to
 * the previous hash, each hash equal to SHA-256(prev || canonical). 0, or
 * -ERR_LEDGER_CORRUPT with *bad_seq the first entry that does not match and
 * e->msg saying how. *count = entries checked. When head_seq > 0, also checks
 * that entry head_seq exists with hash head_hash (a logged anchor). */
int ledger_verify(struct ledger *l, int64_t head_seq, const char *head_hash,
		  int64_t *count, int64_t *bad_seq, struct errd *e);

/* ledger_verify, and on success last_hash (65 bytes) the hash of the last
 * entry verified, seq *count (64 zeros for an empty ledger): the head the
 * walk checked, never a newer one another writer appended since. A stored
 * row that is not exactly what the schema holds (a column of another
 * storage type, text with an embedded NUL) fails naming the entry. */
int ledger_verify_head(struct ledger *l, int64_t head_seq,
		       const char *head_hash, int64_t *count, int64_t *bad_seq,
		       char last_hash[65], struct errd *e);

/* Revoked certificates for the CRL: cb gets certificate_serial (hex),
 * revocation time and reason of each. *max_seq = newest revocation's seq. */
int ledger_revocations(struct ledger *l,
		       int (*cb)(void *arg, const char *cert_serial_hex,
				 const char *time, const char *reason),
		       void *arg, int64_t *max_seq, struct errd *e);

/* The allowlist: cb gets each serial (in serial order) with its import
 * batch (may be NULL) and time; cb's non-zero return stops and is
 * returned. For copying a ledger. */
int ledger_serials(struct ledger *l,
		   int (*cb)(void *arg, const char *serial, const char *batch,
			     const char *imported_at),
		   void *arg, struct errd *e);

/* Counts for /metrics and STATUS=. */
struct ledger_stats {
	int64_t entries;
	int64_t issued;
	int64_t revoked;
	int64_t allowlisted;
	int64_t allowlisted_unissued;
	/* group commit: write transactions run by this process's writer and
	 * the jobs they carried (jobs / batches = mean batch size); 0 when
	 * opened read-only */
	int64_t write_batches;
	int64_t write_jobs;
};
int ledger_stats(struct ledger *l, struct ledger_stats *st, struct errd *e);

/* Is the ledger writable now (a no-op write transaction through the
 * writer)? 0 or -ERR_LEDGER_UNAVAILABLE. */
int ledger_ping(struct ledger *l, struct errd *e);

/* Online backup of the ledger at location into the file to (SQLite: the
 * backup API) through a temporary name renamed when complete; refuses an
 * existing to unless force (-ERR_IO). Does not verify (the caller runs
 * ledger_verify on the copy). A backend without backup:
 * -ERR_LEDGER_UNAVAILABLE "not supported by this backend". */
int ledger_backup(const char *location, const char *to, int force,
		  struct errd *e);

#endif
