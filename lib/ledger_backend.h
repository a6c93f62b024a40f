/*
 * ledger_backend — the operations a ledger backend provides, and nothing
 * more. lib/ledger.c and lib/ledger_writer.c hold everything that is the
 * same for every store: the writer thread and group commit, the issuance
 * rules of DESIGN.md in order, the chain append (seq, time, prev_hash,
 * hash), revoke and import, the verify walk, the query checks. A backend
 * stores rows and finds them; it never decides a rule and never computes a
 * hash. Private to the ledger: nothing outside lib/ledger*.c includes it.
 *
 * Backends: lib/ledger_sqlite.c (the only file that includes sqlite3.h).
 * A PostgreSQL backend (ledger_pg_ops, built with THINGCA_LEDGER_PG) is
 * selected by ledger_open for a location beginning postgresql:// or
 * postgres://; see ledger_backend_for() in lib/ledger.c.
 *
 * Objects
 *   struct ledger_store    one open ledger (the backend's connections,
 *                          caches, its location). Made by open, freed by
 *                          close.
 *   struct ledger_session  one connection inside one transaction: a read
 *                          session (read_begin .. read_end) or the write
 *                          session (write_begin .. write_commit or
 *                          write_rollback). Lent by the backend; the caller
 *                          never frees it.
 *
 * Threads
 *   - open and close run alone (no other op runs on the store meanwhile).
 *   - check, read_begin/read_end, the lookups on a read session, list,
 *     walk, revocations, serials and stats may run on many threads at
 *     once (the
 *     daemon's request threads), each thread on its own read session. A
 *     read must never wait for the write session's chain lock: in WAL
 *     SQLite readers see the last commit; in PostgreSQL readers use their
 *     own connections (a pool), never the writer's. A backend may make a
 *     reader wait for a free connection of its pool.
 *   - write_begin .. write_commit/rollback and the ops on the write session
 *     run on one thread only (the ledger's writer thread), one transaction
 *     at a time. Never called on a store opened read-only.
 *
 * Return values
 *   Every int op returns 0 or a negative error of lib/err.h, with e (which
 *   may be NULL) saying what failed:
 *   -ERR_LEDGER_UNAVAILABLE  the store cannot be reached or written now
 *                            (file missing or replaced, disk full, I/O
 *                            error, lock not granted within the backend's
 *                            bounded wait, connection lost, a constraint
 *                            refused a row). The next call may succeed: a
 *                            backend whose connection broke reconnects by
 *                            itself at a later read_begin / write_begin /
 *                            check, never needing a restart.
 *   -ERR_LEDGER_CORRUPT      the store is damaged or not a thingca ledger
 *                            (not a database, a schema newer than this
 *                            build, a row that is not what the schema says).
 *   -ERR_NOMEM               out of memory.
 *   -ERR_LEDGER_UNAVAILABLE or -ERR_LEDGER_CORRUPT from any op on the
 *   write session, and any error of insert, serial_insert or probe, makes
 *   the writer roll the whole batch back (write_rollback; every job of it
 *   answered 503): a backend need not clean up after a failed statement
 *   beyond what write_rollback does. -ERR_NOMEM from a lookup of the
 *   issuance rules fails only the job that asked.
 *
 * Entries
 *   A struct ledger_entry an op fills (out parameters) is cleared first and
 *   owned by the caller afterwards (ledger_entry_clear). An entry handed to
 *   a callback (list, walk) belongs to the backend and is valid only during
 *   the callback. Text columns map to char * (NULL for SQL NULL), der to
 *   der/der_len (NULL when NULL; a zero-length blob is a non-NULL pointer
 *   with der_len 0), reissue to -1/0/1, prev_hash and hash to 64 hex digits.
 *   Every entry read from the store carries all 18 columns of the ledger
 *   table (with_der aside).
 */
#ifndef THINGCA_LEDGER_BACKEND_H
#define THINGCA_LEDGER_BACKEND_H

#include <stdint.h>

#include "ledger.h"

/* Buffer for a serial or certificate ID a lookup names (64 characters at
 * most by the schema's CHECKs, with room to spare and the NUL). */
#define LEDGER_NAME_MAX 80

struct ledger_store;
struct ledger_session;

struct ledger_ops {
	/* Short name for messages: "sqlite", "postgresql". */
	const char *name;

	/* ---- the store -------------------------------------------------- */

	/* Opens the ledger at location. Read-write (rdonly 0): creates it
	 * when missing (a new file mode 0600; an empty database: the
	 * schema), applies the migrations this build has and the store
	 * lacks (under a lock, so that several processes or nodes may start
	 * together), refuses a schema newer than this build
	 * (-ERR_LEDGER_CORRUPT) and a store that is not the ledger the
	 * location names or lacks its append-only triggers. Read-only
	 * (rdonly 1): the store must exist (-ERR_LEDGER_UNAVAILABLE "no
	 * ledger at ...") and carry a schema this build reads; nothing is
	 * written. 0 with *out the new store. */
	int (*open)(const char *location, int rdonly, struct ledger_store **out,
		    struct errd *e);
	/* Closes every connection and frees s. NULL is a no-op. */
	void (*close)(struct ledger_store *s);
	/* Identity and readiness, cheaply and without the chain lock: is s
	 * still the ledger the location names (SQLite: the file at the path
	 * is the file open, not deleted or replaced), and can it take a
	 * write as far as can be told without writing (free space,
	 * connection up), and does it still have what a read-write open
	 * requires (SQLite: the append-only triggers, no group- or
	 * other-writable file or directory)? Called by ledger_ping (/readyz,
	 * the watchdog) from any thread, before its probe write. 0,
	 * -ERR_LEDGER_UNAVAILABLE, or -ERR_LEDGER_CORRUPT for a store found
	 * tampered with. */
	int (*check)(struct ledger_store *s, struct errd *e);

	/* ---- sessions --------------------------------------------------- */

	/* A read session: a connection in a read-only transaction whose
	 * lookups all see one committed state. Never waits for the chain
	 * lock. 0 with *out lent until read_end. */
	int (*read_begin)(struct ledger_store *s, struct ledger_session **out,
			  struct errd *e);
	/* Ends the read transaction and returns the connection. t NULL is
	 * a no-op. Never fails (a broken connection is dropped). */
	void (*read_end)(struct ledger_store *s, struct ledger_session *t);
	/* The write session: begins a transaction on the writer connection
	 * (reconnecting first when it broke), takes the chain lock that
	 * serialises appends across processes and nodes (SQLite: BEGIN
	 * IMMEDIATE's write lock; PostgreSQL: e.g. a transaction-level
	 * advisory lock), waiting a bounded time for it, then reads the head
	 * inside the transaction: *head_seq and head_hash of the newest
	 * entry, 0 and 64 zeros when empty. The head is never cached across
	 * transactions: another process or node may have appended. On
	 * failure no transaction is left open. */
	int (*write_begin)(struct ledger_store *s, struct ledger_session **out,
			   int64_t *head_seq, char head_hash[65],
			   struct errd *e);
	/* Commits the write session. 0 only when every row of the
	 * transaction is durable (fsync; with synchronous replication
	 * configured, on the standby too) in the ledger the location names:
	 * a store found replaced or deleted (the identity part of check) is
	 * rolled back instead. -ERR_LEDGER_UNAVAILABLE when it was not
	 * committed, or when the outcome is unknown (connection lost during
	 * COMMIT, PostgreSQL's "canceling wait for synchronous replication"):
	 * the caller then answers every job of the batch 503. Either way the
	 * transaction is over and the session gone. */
	int (*write_commit)(struct ledger_store *s, struct ledger_session *t,
			    struct errd *e);
	/* Rolls the write session back (nothing of it stays). Never fails:
	 * a connection that cannot roll back is closed, to be reopened by
	 * the next write_begin. */
	void (*write_rollback)(struct ledger_store *s,
			       struct ledger_session *t);

	/* ---- lookups on a session (read or write) ------------------------
	 * On the write session they see the transaction's own inserts: the
	 * rules of one job depend on the jobs before it in the batch. */

	/* Newest entry's seq and hash: 0 and 64 zeros when empty. */
	int (*head)(struct ledger_session *t, int64_t *seq, char hash[65],
		    struct errd *e);
	/* The newest entry with DER; out->seq 0 when empty. */
	int (*newest)(struct ledger_session *t, struct ledger_entry *out,
		      struct errd *e);
	/* *found = serial is in the allowlist (table serials). */
	int (*serial_allowed)(struct ledger_session *t, const char *serial,
			      int *found, struct errd *e);
	/* The newest `revoked` entry of serial: *seq and *reissue (0/1);
	 * *seq 0 when the serial was never revoked. */
	int (*last_revocation)(struct ledger_session *t, const char *serial,
			       int64_t *seq, int *reissue, struct errd *e);
	/* *found = an `issued` entry of serial with seq > after exists. */
	int (*issued_after)(struct ledger_session *t, const char *serial,
			    int64_t after, int *found, struct errd *e);
	/* An `issued` entry with spki_sha256 spki and a serial other than
	 * serial: *found, and that serial into other. */
	int (*spki_other_serial)(struct ledger_session *t, const char *spki,
				 const char *serial,
				 char other[LEDGER_NAME_MAX], int *found,
				 struct errd *e);
	/* A `revoked` entry of serial with spki_sha256 spki: *found, and its
	 * certificate_id into cert_id. */
	int (*spki_revoked)(struct ledger_session *t, const char *spki,
			    const char *serial, char cert_id[LEDGER_NAME_MAX],
			    int *found, struct errd *e);
	/* The current certificate of serial: its newest `issued` entry whose
	 * certificate_id has no `revoked` entry, with DER; out->seq 0 when
	 * none. */
	int (*current)(struct ledger_session *t, const char *serial,
		       struct ledger_entry *out, struct errd *e);
	/* The oldest entry of event (LEDGER_ISSUED, LEDGER_REVOKED) for
	 * certificate_id, with DER; out->seq 0 when none. */
	int (*by_certificate)(struct ledger_session *t,
			      const char *certificate_id, int event,
			      struct ledger_entry *out, struct errd *e);

	/* ---- writes, on the write session only -------------------------- */

	/* Inserts en as given: every field, seq/time/prev_hash/hash already
	 * computed by the writer. No defaults, no conversions: the row must
	 * read back byte for byte as en. */
	int (*insert)(struct ledger_session *t, const struct ledger_entry *en,
		      struct errd *e);
	/* Adds serial (batch may be NULL, imported_at RFC 3339) to the
	 * allowlist unless present: *added 1 when inserted, 0 when it was
	 * there. A serial the schema refuses is -ERR_LEDGER_UNAVAILABLE
	 * (never counted as present). */
	int (*serial_insert)(struct ledger_session *t, const char *serial,
			     const char *batch, const char *imported_at,
			     int *added, struct errd *e);
	/* A real write outside the chain, undone within the transaction
	 * (the probe table): proves the store takes one. */
	int (*probe)(struct ledger_session *t, struct errd *e);

	/* ---- reads on the store (each in its own snapshot) -------------- */

	/* Entries with seq > q->after matching every filter q sets (exact
	 * match of serial, thing_name, client = q->station, certificate_id,
	 * event; time >= q->since, time < q->until, both already in the
	 * stored form YYYY-MM-DDTHH:MM:SSZ), in seq order, at most q->limit
	 * of them (the caller asks one more than a page), der filled only
	 * with q->with_der. cb's non-zero return stops the listing and is
	 * returned. */
	int (*list)(struct ledger_store *s, const struct ledger_query *q,
		    int (*cb)(void *arg, const struct ledger_entry *en),
		    void *arg, struct errd *e);
	/* Every entry with seq > after in seq order, with DER, in one
	 * snapshot and constant memory (the verify walk and copies). A row
	 * that does not read back exactly as stored (a column of another
	 * storage type than the schema's, text with an embedded NUL or not
	 * UTF-8 where the encoding must be, a hash not 64 characters) is
	 * -ERR_LEDGER_CORRUPT with *bad_seq its seq and e saying "entry N:
	 * ...". cb's non-zero return stops the walk and is returned. */
	int (*walk)(struct ledger_store *s, int64_t after,
		    int (*cb)(void *arg, const struct ledger_entry *en),
		    void *arg, int64_t *bad_seq, struct errd *e);
	/* Every `revoked` entry in seq order: cb gets its
	 * certificate_serial, time and reason; *max_seq the newest one's seq
	 * (0 when none). cb's non-zero return stops and is returned. */
	int (*revocations)(struct ledger_store *s,
			   int (*cb)(void *arg, const char *cert_serial_hex,
				     const char *time, const char *reason),
			   void *arg, int64_t *max_seq, struct errd *e);
	/* Every allowlisted serial in serial order with its batch (may be
	 * NULL) and imported_at, in one snapshot (ledger copy carries the
	 * allowlist across). cb's non-zero return stops and is returned. */
	int (*serials)(struct ledger_store *s,
		       int (*cb)(void *arg, const char *serial,
				 const char *batch, const char *imported_at),
		       void *arg, struct errd *e);
	/* Counts of struct ledger_stats but the writer's (write_batches,
	 * write_jobs), consistent with each other (one snapshot). */
	int (*stats)(struct ledger_store *s, struct ledger_stats *st,
		     struct errd *e);

	/* ---- optional ---------------------------------------------------- */

	/* Online copy of the ledger at location into the file to (refusing
	 * an existing to unless force), complete or absent. NULL when the
	 * backend has none: ledger_backup then says "not supported by this
	 * backend" (PostgreSQL has pg_dump and ledger copy). */
	int (*backup)(const char *location, const char *to, int force,
		      struct errd *e);
};

extern const struct ledger_ops ledger_sqlite_ops;
#ifdef THINGCA_LEDGER_PG
extern const struct ledger_ops ledger_pg_ops;
#endif

#endif
