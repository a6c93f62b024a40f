/*
 * ledger_int — what lib/ledger.c and lib/ledger_read.c share: the connection
 * with its cached prepared statements, the struct ledger itself and the
 * helpers both halves use. Private to the ledger module: nothing else may
 * include it (it pulls in sqlite3.h, and only the ledger talks to SQLite).
 */
#ifndef THINGCA_LEDGER_INT_H
#define THINGCA_LEDGER_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "ledger.h"

/* Read connections kept open: enough for the daemon's request threads to
 * read without queueing, few enough that file descriptors and page caches
 * stay small. Opened lazily. */
#define LEDGER_READERS 16

/* How long a connection waits for a lock held by another connection or
 * process (thingca serials import while thingcad runs) before SQLITE_BUSY:
 * long enough to ride out a big import batch, short enough that a station
 * gets its 503 before its own HTTP timeout. */
#define LEDGER_BUSY_TIMEOUT_MS 5000

/* The eighteen columns of a ledger row, in this order, for row_to_entry
 * (node and ca_certificate_id last: added by migration 003). */
#define LEDGER_COLS                                                            \
	"seq, time, event, client, serial, thing_name, certificate_id, "       \
	"certificate_serial, spki_sha256, not_before, not_after, reason, "     \
	"reissue, der, prev_hash, hash, node, ca_certificate_id"
#define LEDGER_COLS_NODER                                                      \
	"seq, time, event, client, serial, thing_name, certificate_id, "       \
	"certificate_serial, spki_sha256, not_before, not_after, reason, "     \
	"reissue, NULL, prev_hash, hash, node, ca_certificate_id"

/* Statements cached per connection (prepared on first use). */
enum ledger_stmt {
	ST_HEAD,
	ST_ALLOWED,
	ST_LAST_REVOKE,
	ST_ISSUED_AFTER,
	ST_SPKI_OTHER,
	ST_SPKI_REVOKED,
	ST_CURRENT,
	ST_BY_CERT,
	ST_INSERT,
	ST_SERIAL_INSERT,
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT
};

struct ledger_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_use;
};

struct ledger_job;

struct ledger {
	char *path;
	char *node; /* stamped on every appended entry */
	int rdonly;

	/* Reader pool: pool_mu guards in_use/db of every slot. */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct ledger_conn pool[LEDGER_READERS];

	/* Writer: q_mu guards the queue, stopping, done flags and counters. */
	struct ledger_conn w;
	pthread_t writer;
	int writer_running;
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv; /* work arrived / stopping */
	struct ledger_job *q_head, *q_tail;
	int stopping;
	int64_t batches, jobs;
};

/* Opens one connection on path with the house PRAGMAs. rdonly: a WAL
 * reader (SQLITE_OPEN_READONLY). -ERR_LEDGER_UNAVAILABLE / -ERR_LEDGER_CORRUPT.
 */
int ledger_conn_open(struct ledger_conn *c, const char *path, int rdonly,
		     struct errd *e);
/* Finalizes the cached statements and closes (c zeroed; no-op when closed). */
void ledger_conn_close(struct ledger_conn *c);
/* The cached statement id, reset and unbound, ready to bind. */
int ledger_conn_stmt(struct ledger_conn *c, enum ledger_stmt id,
		     sqlite3_stmt **out, struct errd *e);
/* Steps the cached statement id (one without results, such as ST_BEGIN)
 * to its end: the transaction statements of every issuance, prepared once
 * instead of by sqlite3_exec each time. */
int ledger_conn_run(struct ledger_conn *c, enum ledger_stmt id, struct errd *e);
/* Ends any transaction open on c (the cached ROLLBACK, then sqlite3_exec's
 * should that fail: a transaction left open would refuse every later
 * BEGIN on the connection). */
void ledger_conn_rollback(struct ledger_conn *c);
/* Runs one SQL text without results. */
int ledger_conn_exec(struct ledger_conn *c, const char *sql, struct errd *e);

/* First column of the first row of sql (a PRAGMA) as text into out
 * ("" when no row). */
int ledger_conn_pragma(struct ledger_conn *c, const char *sql, char *out,
		       size_t outsz, struct errd *e);

/* Fills e from the connection's last error: -ERR_LEDGER_CORRUPT for
 * SQLITE_CORRUPT / SQLITE_NOTADB, else -ERR_LEDGER_UNAVAILABLE. */
int ledger_sql_err(sqlite3 *db, struct errd *e, const char *what);

/* Reader pool: blocks while all LEDGER_READERS connections are busy. */
int ledger_reader_get(struct ledger *l, struct ledger_conn **out,
		      struct errd *e);
void ledger_reader_put(struct ledger *l, struct ledger_conn *c);
/* ledger_reader_get, then BEGIN: a reader inside a read transaction, so
 * several lookups see one state. ledger_reader_put ends it. */
int ledger_reader_begin(struct ledger *l, struct ledger_conn **out,
			struct errd *e);

/* Copies the current row (columns LEDGER_COLS) into en (cleared first). */
int ledger_row_to_entry(sqlite3_stmt *st, struct ledger_entry *en,
			struct errd *e);

/* As ledger_row_to_entry, but en borrows the row's memory (valid until the
 * next step or reset of st; never ledger_entry_clear it): the copy-free
 * path of ledger_verify. */
void ledger_row_view(sqlite3_stmt *st, struct ledger_entry *en);

/* Reads the newest entry's seq and hash (seq 0 / zeros when empty) on c. */
int ledger_conn_head(struct ledger_conn *c, int64_t *seq, char hash[65],
		     struct errd *e);

/* Write batches committed (or failed) and jobs run so far: 0 when read-only. */
void ledger_writer_counts(struct ledger *l, int64_t *batches, int64_t *jobs);

#endif
