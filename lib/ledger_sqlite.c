/*
 * ledger_sqlite — the SQLite backend of the ledger (lib/ledger_backend.h):
 * one file in WAL mode with synchronous=FULL, schema from sql/sqlite/
 * compiled in and migrated at open, the writer's connection and a pool of
 * read-only connections (WAL readers never wait for the writer), the
 * statements behind each lookup, and the online backup. The only file that
 * includes sqlite3.h; it decides no rule and computes no hash.
 *
 * Traps met here:
 * - WAL lets readers run beside the writer, but a transaction that starts as
 *   a reader and later writes (BEGIN DEFERRED; SELECT; INSERT) can get
 *   SQLITE_BUSY at the INSERT without the busy handler being called, because
 *   waiting could deadlock with another upgrading writer. So the write
 *   transaction is BEGIN IMMEDIATE, which takes the write lock first and
 *   does honour busy_timeout.
 * - A statement left un-reset keeps its read transaction (and so its WAL
 *   snapshot) open, stopping checkpoints and hiding newer entries. Every
 *   cached statement is reset when handed out and after use.
 * - A connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX): the
 *   pool's mutex hands each reader to one caller, and the writer connection
 *   belongs to the writer thread once open returns.
 * - Trap: with no ANALYZE statistics the planner preferred an index on
 *   event (which matched nearly every row for 'issued') to the selective
 *   serial / spki / certificate_id index whenever a lookup also said
 *   event = 'issued': O(n) per issuance. Migration 004 dropped that index;
 *   the partial indexes ledger_revoked and ledger_imported that replace it
 *   serve only a query naming the event as a literal, so sq_list writes
 *   the event name (from ledger_event_name's fixed table) into its SQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ledger_backend.h"
#include "util.h"

#include "sql_sqlite.h"

#define N_MIGRATIONS                                                           \
	((int)(sizeof(sql_sqlite_migrations) /                                 \
	       sizeof(sql_sqlite_migrations[0])))

/* Read connections kept open: enough for the daemon's request threads to
 * read without queueing, few enough that file descriptors and page caches
 * stay small. Opened lazily. */
#define LEDGER_READERS 16

/* How long a connection waits for a lock held by another connection or
 * process (thingca serials import while thingcad runs) before SQLITE_BUSY:
 * long enough to ride out a big import batch, short enough that a station
 * gets its 503 before its own HTTP timeout. */
#define LEDGER_BUSY_TIMEOUT_MS 5000

/* Page cache of the writer connection, in KiB (SQLite's default is 2,000
 * KiB). Unlike a WAL reader's, the writer's cache survives from one batch
 * to the next (only another connection's write would reset it), and every
 * batch walks the same index paths again: the rules' lookups and the
 * inserts into each index. At 100,000 entries the default cache left the
 * writer about 2 pread(2)s per certificate that 16 MiB saves
 * (docs/performance.md "Pinned, issue 18"); an upper bound, filled only as
 * pages are read, and well inside the 64 MB RSS target. */
#define LEDGER_WRITER_CACHE_KIB "16384"

/* Free bytes under which check reports the ledger unwritable: a batch of
 * issuances with its WAL frames and a checkpoint needs a few hundred KiB;
 * below this the next commit is likely to fail. */
#define LEDGER_MIN_FREE (256ull * 1024ull)

/* Pages copied per sqlite3_backup_step: -1 copies all at once under one
 * read snapshot, which a WAL source allows while the writer goes on. */
#define BACKUP_ALL_PAGES (-1)

/* The verify walk reads every page once: through mmap instead of read(2)
 * copies it is about a third faster on a large ledger. Only that one scan
 * maps the file (a failing disk then means SIGBUS instead of SQLITE_IOERR,
 * acceptable for an audit run, not for the daemon's request path). 64 GiB:
 * more than any ledger, and only address space. */
#define VERIFY_MMAP_SIZE "68719476736"

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
enum stmt {
	ST_HEAD,
	ST_NEWEST,
	ST_ALLOWED,
	ST_LAST_REVOKE,
	ST_ISSUED_AFTER,
	ST_SPKI_OTHER,
	ST_SPKI_REVOKED,
	ST_CURRENT,
	ST_BY_CERT,
	ST_INSERT,
	ST_SERIAL_INSERT,
	ST_PROBE_INSERT,
	ST_PROBE_DELETE,
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_HEAD] = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    [ST_NEWEST] =
	"SELECT " LEDGER_COLS " FROM ledger ORDER BY seq DESC LIMIT 1",
    [ST_ALLOWED] = "SELECT 1 FROM serials WHERE serial = ?1",
    [ST_LAST_REVOKE] = "SELECT seq, reissue FROM ledger WHERE serial = ?1 "
		       "AND event = 'revoked' ORDER BY seq DESC LIMIT 1",
    [ST_ISSUED_AFTER] = "SELECT 1 FROM ledger WHERE serial = ?1 AND "
			"event = 'issued' AND seq > ?2 LIMIT 1",
    [ST_SPKI_OTHER] = "SELECT serial FROM ledger WHERE spki_sha256 = ?1 "
		      "AND event = 'issued' AND serial <> ?2 LIMIT 1",
    [ST_SPKI_REVOKED] = "SELECT certificate_id FROM ledger WHERE "
			"spki_sha256 = ?1 AND event = 'revoked' AND "
			"serial = ?2 LIMIT 1",
    [ST_CURRENT] = "SELECT " LEDGER_COLS " FROM ledger AS i WHERE "
		   "serial = ?1 AND event = 'issued' AND NOT EXISTS "
		   "(SELECT 1 FROM ledger AS r WHERE r.certificate_id = "
		   "i.certificate_id AND r.event = 'revoked') "
		   "ORDER BY seq DESC LIMIT 1",
    [ST_BY_CERT] = "SELECT " LEDGER_COLS " FROM ledger WHERE "
		   "certificate_id = ?1 AND event = ?2 ORDER BY seq LIMIT 1",
    [ST_INSERT] = "INSERT INTO ledger (" LEDGER_COLS ") VALUES (?1, ?2, "
		  "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		  "?15, ?16, ?17, ?18)",
    /* not INSERT OR IGNORE: that also swallows CHECK and NOT NULL
     * failures, counting a refused serial as "already present" */
    [ST_SERIAL_INSERT] = "INSERT INTO serials (serial, batch, imported_at) "
			 "VALUES (?1, ?2, ?3) ON CONFLICT (serial) DO "
			 "NOTHING",
    [ST_PROBE_INSERT] = "INSERT INTO probe VALUES (zeroblob(4096))",
    [ST_PROBE_DELETE] = "DELETE FROM probe",
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

/* A session is one connection with its cached statements: a reader of the
 * pool inside BEGIN, or the writer inside BEGIN IMMEDIATE. */
struct ledger_session {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_use;
};

struct ledger_store {
	char *path;
	int rdonly;
	/* Read-write opens: our own descriptor of the file opened, kept until
	 * every connection is closed (closing any descriptor of a file drops
	 * the process's POSIX locks on it, SQLite's included), so that
	 * same_file can tell whether the path still names it. -1 otherwise. */
	int fd;
	/* Reader pool: pool_mu guards in_use/db of every slot. */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct ledger_session pool[LEDGER_READERS];
	struct ledger_session w; /* the writer's (read-write opens) */
};

/* ---- connections ------------------------------------------------------ */

/* Fills e from the connection's last error: -ERR_LEDGER_CORRUPT for
 * SQLITE_CORRUPT / SQLITE_NOTADB, else -ERR_LEDGER_UNAVAILABLE. */
static int sql_err(sqlite3 *db, struct errd *e, const char *what)
{
	int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_ERROR;
	const char *msg = db ? sqlite3_errmsg(db) : "no connection";

	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return err_set(e, ERR_LEDGER_CORRUPT,
			       "%s: %s: restore the last backup and run "
			       "`thingca ledger verify`",
			       what, msg);
	return err_set(e, ERR_LEDGER_UNAVAILABLE, "%s: %s", what, msg);
}

/* Runs one SQL text without results. */
static int conn_exec(struct ledger_session *c, const char *sql, struct errd *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_err(c->db, e, sql);
	return 0;
}

/* First column of the first row of sql (a PRAGMA) as text into out
 * ("" when no row). */
static int conn_pragma(struct ledger_session *c, const char *sql, char *out,
		       size_t outsz, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(c->db, e, sql);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, outsz, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	else if (sqlite3_errcode(c->db) != SQLITE_DONE &&
		 sqlite3_errcode(c->db) != SQLITE_ROW)
		rc = sql_err(c->db, e, sql);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Finalizes the cached statements and closes (c zeroed; no-op when
 * closed). */
static void conn_close(struct ledger_session *c)
{
	int i;

	if (c == NULL || c->db == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

/* Opens one connection on path with the house PRAGMAs. rdonly: a WAL
 * reader (SQLITE_OPEN_READONLY). */
static int conn_open(struct ledger_session *c, const char *path, int rdonly,
		     struct errd *e)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	char mode[32];
	int rc;

	memset(c, 0, sizeof(*c));
	flags |= rdonly ? SQLITE_OPEN_READONLY
			: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "cannot open ledger %s: %s", path,
			     c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(c->db, LEDGER_BUSY_TIMEOUT_MS);
	if (rdonly) {
		/* a reader sets nothing persistent; query_only guards against
		 * a write slipping through a read-write fallback */
		rc = conn_exec(c, "PRAGMA query_only = ON", e);
		goto out;
	}
	rc = conn_pragma(c, "PRAGMA journal_mode = WAL", mode, sizeof(mode), e);
	if (rc < 0)
		goto out;
	if (strcmp(mode, "wal") != 0) {
		rc =
		    err_set(e, ERR_LEDGER_UNAVAILABLE,
			    "%s: cannot switch to WAL mode (got \"%s\"): is it "
			    "on a network file system?",
			    path, mode);
		goto out;
	}
	rc = conn_exec(c,
		       "PRAGMA synchronous = FULL; "
		       "PRAGMA foreign_keys = ON; "
		       "PRAGMA cache_size = -" LEDGER_WRITER_CACHE_KIB,
		       e);
out:
	if (rc < 0)
		conn_close(c);
	return rc;
}

/* The cached statement id, reset and unbound, ready to bind. */
static int conn_stmt(struct ledger_session *c, enum stmt id, sqlite3_stmt **out,
		     struct errd *e)
{
	if (c->st[id] == NULL &&
	    sqlite3_prepare_v3(c->db, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &c->st[id],
			       NULL) != SQLITE_OK)
		return sql_err(c->db, e, "prepare");
	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	*out = c->st[id];
	return 0;
}

/* Steps the cached statement id (one without results, such as ST_BEGIN)
 * to its end: the transaction statements of every issuance, prepared once
 * instead of by sqlite3_exec each time. */
static int conn_run(struct ledger_session *c, enum stmt id, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = conn_stmt(c, id, &st, e);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_err(c->db, e, stmt_sql[id]);
	sqlite3_reset(st);
	return rc;
}

/* Ends any transaction open on c (the cached ROLLBACK, then sqlite3_exec's
 * should that fail: a transaction left open would refuse every later
 * BEGIN on the connection). */
static void conn_rollback(struct ledger_session *c)
{
	if (c->db == NULL || sqlite3_get_autocommit(c->db))
		return;
	if (conn_run(c, ST_ROLLBACK, NULL) < 0 &&
	    !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- rows ------------------------------------------------------------- */

static int dup_col(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	t = sqlite3_column_text(st, i);
	if (t == NULL)
		return -1;
	*out = strdup((const char *)t);
	return *out ? 0 : -1;
}

static char *col_view(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	return (char *)sqlite3_column_text(st, i);
}

static void col_hash(sqlite3_stmt *st, int i, char out[65])
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, 65, "%s", t ? (const char *)t : "");
}

/* The current row (columns LEDGER_COLS) as an entry that borrows the
 * row's memory (valid until the next step or reset of st; never
 * ledger_entry_clear it): the copy-free path of the verify walk. */
static void row_view(sqlite3_stmt *st, struct ledger_entry *en)
{
	memset(en, 0, sizeof(*en));
	en->seq = sqlite3_column_int64(st, 0);
	en->time = col_view(st, 1);
	en->event =
	    ledger_event_parse((const char *)sqlite3_column_text(st, 2));
	en->client = col_view(st, 3);
	en->serial = col_view(st, 4);
	en->thing_name = col_view(st, 5);
	en->certificate_id = col_view(st, 6);
	en->certificate_serial = col_view(st, 7);
	en->spki_sha256 = col_view(st, 8);
	en->not_before = col_view(st, 9);
	en->not_after = col_view(st, 10);
	en->reason = col_view(st, 11);
	en->reissue = sqlite3_column_type(st, 12) == SQLITE_NULL
			  ? -1
			  : sqlite3_column_int(st, 12) != 0;
	if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
		en->der = (unsigned char *)sqlite3_column_blob(st, 13);
		en->der_len = (size_t)sqlite3_column_bytes(st, 13);
		if (en->der == NULL) /* an empty blob */
			en->der = (unsigned char *)"";
	}
	col_hash(st, 14, en->prev_hash);
	col_hash(st, 15, en->hash);
	en->node = col_view(st, 16);
	en->ca_certificate_id = col_view(st, 17);
}

/* Copies the current row (columns LEDGER_COLS) into en (cleared first). */
static int row_to_entry(sqlite3_stmt *st, struct ledger_entry *en,
			struct errd *e)
{
	const void *blob;
	int bad = 0, n;

	ledger_entry_clear(en);
	en->seq = sqlite3_column_int64(st, 0);
	bad |= dup_col(st, 1, &en->time);
	en->event =
	    ledger_event_parse((const char *)sqlite3_column_text(st, 2));
	bad |= dup_col(st, 3, &en->client);
	bad |= dup_col(st, 4, &en->serial);
	bad |= dup_col(st, 5, &en->thing_name);
	bad |= dup_col(st, 6, &en->certificate_id);
	bad |= dup_col(st, 7, &en->certificate_serial);
	bad |= dup_col(st, 8, &en->spki_sha256);
	bad |= dup_col(st, 9, &en->not_before);
	bad |= dup_col(st, 10, &en->not_after);
	bad |= dup_col(st, 11, &en->reason);
	en->reissue = sqlite3_column_type(st, 12) == SQLITE_NULL
			  ? -1
			  : sqlite3_column_int(st, 12) != 0;
	if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
		blob = sqlite3_column_blob(st, 13);
		n = sqlite3_column_bytes(st, 13);
		en->der = malloc(n > 0 ? (size_t)n : 1);
		if (en->der == NULL)
			bad = -1;
		else if (n > 0)
			memcpy(en->der, blob, (size_t)n);
		en->der_len = (size_t)n;
	}
	col_hash(st, 14, en->prev_hash);
	col_hash(st, 15, en->hash);
	bad |= dup_col(st, 16, &en->node);
	bad |= dup_col(st, 17, &en->ca_certificate_id);
	if (bad) {
		ledger_entry_clear(en);
		return err_set(e, ERR_NOMEM, "out of memory reading entry");
	}
	return 0;
}

/* Steps st (bound) once: the row into out, or out cleared (seq 0). */
static int one_row(struct ledger_session *c, sqlite3_stmt *st,
		   struct ledger_entry *out, struct errd *e)
{
	int s = sqlite3_step(st);

	if (s == SQLITE_ROW)
		return row_to_entry(st, out, e);
	ledger_entry_clear(out);
	if (s != SQLITE_DONE)
		return sql_err(c->db, e, "reading the ledger");
	return 0;
}

/* Steps st (bound) once: *found = a row came. */
static int step_exists(struct ledger_session *c, sqlite3_stmt *st, int *found,
		       struct errd *e)
{
	int s = sqlite3_step(st);

	*found = s == SQLITE_ROW;
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return sql_err(c->db, e, "checking the ledger");
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* ---- the reader pool -------------------------------------------------- */

/* A free reader connection, opened on first use; blocks while all
 * LEDGER_READERS are busy. */
static int reader_get(struct ledger_store *s, struct ledger_session **out,
		      struct errd *e)
{
	struct ledger_session *c = NULL;
	int i, rc = 0;

	*out = NULL;
	pthread_mutex_lock(&s->pool_mu);
	while (c == NULL) {
		for (i = 0; i < LEDGER_READERS && c == NULL; i++)
			if (s->pool[i].db && !s->pool[i].in_use)
				c = &s->pool[i];
		for (i = 0; i < LEDGER_READERS && c == NULL; i++)
			if (s->pool[i].db == NULL) {
				/* opening under the lock is rare (once per
				 * slot) and quick */
				rc = conn_open(&s->pool[i], s->path, 1, e);
				if (rc < 0)
					goto out;
				c = &s->pool[i];
			}
		if (c == NULL)
			pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	}
	/* The loop above ends only with c set. */
	// cppcheck-suppress nullPointerRedundantCheck
	c->in_use = 1;
	*out = c;
out:
	pthread_mutex_unlock(&s->pool_mu);
	return rc;
}

/* Returns c to the pool, ending any transaction left open. NULL: no-op. */
static void reader_put(struct ledger_store *s, struct ledger_session *c)
{
	if (c == NULL)
		return;
	conn_rollback(c);
	pthread_mutex_lock(&s->pool_mu);
	c->in_use = 0;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

/* ---- schema ----------------------------------------------------------- */

static int user_version(struct ledger_session *c, int *v, struct errd *e)
{
	char buf[32];
	int rc = conn_pragma(c, "PRAGMA user_version", buf, sizeof(buf), e);

	*v = (int)strtol(buf, NULL, 10);
	return rc;
}

static int too_new(const char *path, int v, struct errd *e)
{
	return err_set(e, ERR_LEDGER_CORRUPT,
		       "%s: schema version %d is newer than this build knows "
		       "(%d): run a thingca at least as new as the one that "
		       "wrote it, or restore a backup made by this version",
		       path, v, N_MIGRATIONS);
}

/* Applies the migrations this build has and the file lacks, all in one
 * transaction (BEGIN IMMEDIATE: two processes starting together migrate
 * one after the other) together with the new user_version. */
static int migrate(struct ledger_store *s, struct errd *e)
{
	char sql[64];
	int rc, v = 0, i;

	rc = conn_run(&s->w, ST_BEGIN_IMMEDIATE, e);
	if (rc < 0)
		goto out;
	rc = user_version(&s->w, &v, e);
	if (rc < 0)
		goto out;
	if (v > N_MIGRATIONS) {
		rc = too_new(s->path, v, e);
		goto out;
	}
	for (i = v; i < N_MIGRATIONS; i++) {
		rc = conn_exec(&s->w, sql_sqlite_migrations[i], e);
		if (rc < 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		rc = conn_exec(&s->w, sql, e);
		if (rc < 0)
			goto out;
	}
	rc = conn_run(&s->w, ST_COMMIT, e);
out:
	if (rc < 0)
		conn_rollback(&s->w);
	return rc;
}

/* ---- the ledger the configuration names ------------------------------ */

/* Is the file this store writes still the one at its path? A ledger file
 * deleted or replaced under a running daemon would otherwise take commits
 * that vanish at stop, and the next start would begin an empty ledger
 * (DESIGN.md "Ledger": an error, not a fresh start). */
static int same_file(struct ledger_store *s, struct errd *e)
{
	struct stat open_sb, path_sb;

	if (s->fd < 0)
		return 0;
	if (fstat(s->fd, &open_sb) != 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE, "%s: %s", s->path,
			       strerror(errno));
	if (stat(s->path, &path_sb) != 0 && open_sb.st_nlink == 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "the ledger file %s was deleted while open: "
			       "nothing more is recorded; restore it from the "
			       "last backup and restart",
			       s->path);
	if (stat(s->path, &path_sb) != 0 || path_sb.st_dev != open_sb.st_dev ||
	    path_sb.st_ino != open_sb.st_ino || open_sb.st_nlink == 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "the ledger file %s was replaced or moved while "
			       "open: nothing more is recorded; put the ledger "
			       "back at its path and restart",
			       s->path);
	return 0;
}

/* The ledger file and its directory must not be writable by group or
 * others (as the CA key must not be readable): whoever can write them can
 * replace the ledger. */
static int check_modes(struct ledger_store *s, struct errd *e)
{
	struct stat sb;
	char dir[4096];

	if (fstat(s->fd, &sb) != 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE, "%s: %s", s->path,
			       strerror(errno));
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "%s is writable by group or others (mode "
			       "%03o): chmod go-w it",
			       s->path, (unsigned)(sb.st_mode & 0777));
	path_dir_into(s->path, dir, sizeof(dir));
	if (stat(dir, &sb) != 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE, "%s: %s", dir,
			       strerror(errno));
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(
		    e, ERR_LEDGER_UNAVAILABLE,
		    "the ledger's directory %s is writable by group "
		    "or others (mode %03o): whoever can write it can "
		    "replace the ledger; chmod go-w it or move the "
		    "ledger",
		    dir, (unsigned)(sb.st_mode & 0777));
	return 0;
}

/* One row of sqlite_master: the type of name ("" when absent) and, with
 * sql_out, its SQL text. */
static int master_row(struct ledger_session *c, const char *name, char type[16],
		      char *sql_out, size_t sql_sz, struct errd *e)
{
	static const char sql[] =
	    "SELECT type, sql, tbl_name FROM sqlite_master WHERE name = ?1";
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc = 0, s;

	type[0] = '\0';
	if (sql_out)
		sql_out[0] = '\0';
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(c->db, e, "reading the schema");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		snprintf(type, 16, "%s", t ? (const char *)t : "");
		t = sqlite3_column_text(st, 2);
		if (t == NULL || strcmp((const char *)t, "ledger") != 0)
			snprintf(type, 16, "elsewhere");
		t = sqlite3_column_text(st, 1);
		if (sql_out)
			snprintf(sql_out, sql_sz, "%s",
				 t ? (const char *)t : "");
	} else if (s != SQLITE_DONE) {
		rc = sql_err(c->db, e, "reading the schema");
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* `ledger` must be a table (a view could show rows that are not the
 * stored ones); with triggers, its two append-only triggers must be there,
 * unconditional, refusing the statement (sql/sqlite/001-init.sql). */
static int check_schema(struct ledger_session *c, const char *path,
			int triggers, struct errd *e)
{
	static const char *const trig[][2] = {
	    {"ledger_no_update", "BEFORE UPDATE ON ledger"},
	    {"ledger_no_delete", "BEFORE DELETE ON ledger"},
	};
	char type[16], sql[1024];
	size_t i;
	int rc;

	rc = master_row(c, "ledger", type, NULL, 0, e);
	if (rc < 0)
		return rc;
	if (strcmp(type, "table") != 0)
		return err_set(e, ERR_LEDGER_CORRUPT,
			       "%s: `ledger` is a %s, not a table: the file "
			       "was altered; restore the last backup",
			       path, type[0] ? type : "missing object");
	for (i = 0; triggers && i < sizeof(trig) / sizeof(trig[0]); i++) {
		rc = master_row(c, trig[i][0], type, sql, sizeof(sql), e);
		if (rc < 0)
			return rc;
		if (strcmp(type, "trigger") != 0 ||
		    strstr(sql, trig[i][1]) == NULL ||
		    strstr(sql, "RAISE(ABORT") == NULL ||
		    strstr(sql, " WHEN ") != NULL)
			return err_set(e, ERR_LEDGER_CORRUPT,
				       "%s: the append-only trigger %s is "
				       "missing or altered: the file was "
				       "tampered with; restore the last "
				       "backup and run `thingca ledger "
				       "verify`",
				       path, trig[i][0]);
	}
	return 0;
}

/* ---- the store -------------------------------------------------------- */

static void sq_close(struct ledger_store *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < LEDGER_READERS; i++)
		conn_close(&s->pool[i]);
	conn_close(&s->w);
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	free(s->path);
	free(s);
}

/* Read-only open: the file must exist and carry a schema this build reads. */
static int open_rdonly(struct ledger_store *s, struct errd *e)
{
	struct ledger_session *c = NULL;
	struct stat sb;
	int rc, v = 0;

	if (stat(s->path, &sb) != 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE, "no ledger at %s",
			       s->path);
	rc = reader_get(s, &c, e);
	if (rc < 0)
		goto out;
	rc = user_version(c, &v, e);
	if (rc < 0)
		goto out;
	if (v > N_MIGRATIONS)
		rc = too_new(s->path, v, e);
	else if (v == 0)
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "%s is not a thingca ledger (no schema): give the "
			     "ledger file with --ledger",
			     s->path);
	else
		rc = check_schema(c, s->path, 0, e);
out:
	reader_put(s, c);
	return rc;
}

/* Read-write open: create 0600, refuse loose modes, WAL, migrate, refuse
 * a schema without its table or triggers. */
static int open_rw(struct ledger_store *s, struct errd *e)
{
	int rc;

	/* create the file ourselves so it never exists with umask's mode;
	 * SQLite gives -wal and -shm the mode of the database file */
	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE, "cannot open %s: %s",
			       s->path, strerror(errno));
	rc = check_modes(s, e);
	if (rc < 0)
		return rc;
	rc = conn_open(&s->w, s->path, 0, e);
	if (rc == 0)
		rc = migrate(s, e);
	if (rc == 0)
		rc = check_schema(&s->w, s->path, 1, e);
	/* SQLite opened the path after us: the same file, or someone is
	 * swapping it right now */
	if (rc == 0)
		rc = same_file(s, e);
	return rc;
}

static int sq_open(const char *location, int rdonly, struct ledger_store **out,
		   struct errd *e)
{
	struct ledger_store *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(location)) == NULL) {
		free(s);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	s->rdonly = rdonly;
	s->fd = -1;
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	rc = rdonly ? open_rdonly(s, e) : open_rw(s, e);
	if (rc < 0)
		sq_close(s);
	else
		*out = s;
	return rc;
}

/* DESIGN.md "Ledger": in readiness as at start, the file at the path is
 * the one open (same_file), neither it nor its directory is writable by
 * group or others, the append-only triggers are in place; and the
 * filesystem keeps LEDGER_MIN_FREE bytes: SQLite can still commit into WAL
 * space it already holds when the disk is full, and a probe that fits
 * proves little about the next certificate. */
static int sq_check(struct ledger_store *s, struct errd *e)
{
	struct ledger_session *c = NULL;
	struct statvfs sv;
	char dir[4096];
	unsigned long long free_b;
	int rc = same_file(s, e);

	if (rc == 0 && s->fd >= 0)
		rc = check_modes(s, e);
	if (rc == 0 && s->fd >= 0) {
		rc = reader_get(s, &c, e);
		if (rc == 0)
			rc = check_schema(c, s->path, 1, e);
		reader_put(s, c);
	}
	if (rc < 0)
		return rc;
	path_dir_into(s->path, dir, sizeof(dir));
	if (statvfs(dir, &sv) == 0) {
		free_b = (unsigned long long)sv.f_bavail *
			 (unsigned long long)sv.f_frsize;
		if (free_b < LEDGER_MIN_FREE)
			return err_set(e, ERR_LEDGER_UNAVAILABLE,
				       "only %llu bytes free on the ledger's "
				       "filesystem (under %llu)",
				       free_b, LEDGER_MIN_FREE);
	}
	return 0;
}

/* ---- sessions --------------------------------------------------------- */

static int sq_read_begin(struct ledger_store *s, struct ledger_session **out,
			 struct errd *e)
{
	int rc = reader_get(s, out, e);

	if (rc == 0)
		rc = conn_run(*out, ST_BEGIN, e);
	if (rc < 0) {
		reader_put(s, *out);
		*out = NULL;
	}
	return rc;
}

static void sq_read_end(struct ledger_store *s, struct ledger_session *t)
{
	reader_put(s, t);
}

static int sq_head(struct ledger_session *c, int64_t *seq, char hash[65],
		   struct errd *e);

static int sq_write_begin(struct ledger_store *s, struct ledger_session **out,
			  int64_t *head_seq, char head_hash[65], struct errd *e)
{
	int rc;

	*out = NULL;
	rc = conn_run(&s->w, ST_BEGIN_IMMEDIATE, e);
	if (rc == 0)
		rc = sq_head(&s->w, head_seq, head_hash, e);
	if (rc < 0)
		conn_rollback(&s->w);
	else
		*out = &s->w;
	return rc;
}

/* Commits only into the file the path names: a ledger deleted or replaced
 * under the daemon answers 503 instead of taking entries that vanish. */
static int sq_write_commit(struct ledger_store *s, struct ledger_session *t,
			   struct errd *e)
{
	int rc = same_file(s, e);

	if (rc == 0)
		rc = conn_run(t, ST_COMMIT, e);
	if (rc < 0) {
		conn_rollback(t);
		rc = -ERR_LEDGER_UNAVAILABLE;
	}
	return rc;
}

static void sq_write_rollback(struct ledger_store *s, struct ledger_session *t)
{
	(void)s;
	conn_rollback(t);
}

/* ---- lookups ---------------------------------------------------------- */

static int sq_head(struct ledger_session *c, int64_t *seq, char hash[65],
		   struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	*seq = 0;
	memset(hash, '0', 64);
	hash[64] = '\0';
	rc = conn_stmt(c, ST_HEAD, &st, e);
	if (rc < 0)
		return rc;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		col_hash(st, 1, hash);
	} else if (s != SQLITE_DONE) {
		rc = sql_err(c->db, e, "reading the ledger head");
	}
	sqlite3_reset(st);
	return rc;
}

static int sq_newest(struct ledger_session *c, struct ledger_entry *out,
		     struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = conn_stmt(c, ST_NEWEST, &st, e);
	if (rc < 0)
		return rc;
	rc = one_row(c, st, out, e);
	sqlite3_reset(st);
	return rc;
}

/* Binds text to the cached statement id, steps it once: *found. */
static int exists1(struct ledger_session *c, enum stmt id, const char *a,
		   int *found, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	rc = conn_stmt(c, id, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	rc = step_exists(c, st, found, e);
	sqlite3_reset(st);
	return rc;
}

static int sq_serial_allowed(struct ledger_session *c, const char *serial,
			     int *found, struct errd *e)
{
	return exists1(c, ST_ALLOWED, serial, found, e);
}

static int sq_last_revocation(struct ledger_session *c, const char *serial,
			      int64_t *seq, int *reissue, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	*seq = 0;
	*reissue = 1;
	rc = conn_stmt(c, ST_LAST_REVOKE, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		*reissue = sqlite3_column_int(st, 1) != 0;
	} else if (s != SQLITE_DONE) {
		rc = sql_err(c->db, e, "checking revocations");
	}
	sqlite3_reset(st);
	return rc;
}

static int sq_issued_after(struct ledger_session *c, const char *serial,
			   int64_t after, int *found, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	rc = conn_stmt(c, ST_ISSUED_AFTER, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	rc = step_exists(c, st, found, e);
	sqlite3_reset(st);
	return rc;
}

/* The key-reuse lookup id (ST_SPKI_OTHER, ST_SPKI_REVOKED) for spki and
 * serial: *found, with the first column of the row into name. */
static int spki_lookup(struct ledger_session *c, enum stmt id, const char *spki,
		       const char *serial, char name[LEDGER_NAME_MAX],
		       int *found, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc, s;

	*found = 0;
	name[0] = '\0';
	rc = conn_stmt(c, id, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, spki, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		snprintf(name, LEDGER_NAME_MAX, "%s", t ? (const char *)t : "");
		*found = 1;
	} else if (s != SQLITE_DONE) {
		rc = sql_err(c->db, e, "checking keys");
	}
	sqlite3_reset(st);
	return rc;
}

static int sq_spki_other_serial(struct ledger_session *c, const char *spki,
				const char *serial, char other[LEDGER_NAME_MAX],
				int *found, struct errd *e)
{
	return spki_lookup(c, ST_SPKI_OTHER, spki, serial, other, found, e);
}

static int sq_spki_revoked(struct ledger_session *c, const char *spki,
			   const char *serial, char cert_id[LEDGER_NAME_MAX],
			   int *found, struct errd *e)
{
	return spki_lookup(c, ST_SPKI_REVOKED, spki, serial, cert_id, found, e);
}

static int sq_current(struct ledger_session *c, const char *serial,
		      struct ledger_entry *out, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = conn_stmt(c, ST_CURRENT, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = one_row(c, st, out, e);
	sqlite3_reset(st);
	return rc;
}

static int sq_by_certificate(struct ledger_session *c,
			     const char *certificate_id, int event,
			     struct ledger_entry *out, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = conn_stmt(c, ST_BY_CERT, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, certificate_id, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, ledger_event_name(event));
	rc = one_row(c, st, out, e);
	sqlite3_reset(st);
	return rc;
}

/* ---- writes ----------------------------------------------------------- */

static int sq_insert(struct ledger_session *c, const struct ledger_entry *en,
		     struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = conn_stmt(c, ST_INSERT, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, en->seq);
	bind_text_or_null(st, 2, en->time);
	bind_text_or_null(st, 3, ledger_event_name(en->event));
	bind_text_or_null(st, 4, en->client);
	bind_text_or_null(st, 5, en->serial);
	bind_text_or_null(st, 6, en->thing_name);
	bind_text_or_null(st, 7, en->certificate_id);
	bind_text_or_null(st, 8, en->certificate_serial);
	bind_text_or_null(st, 9, en->spki_sha256);
	bind_text_or_null(st, 10, en->not_before);
	bind_text_or_null(st, 11, en->not_after);
	bind_text_or_null(st, 12, en->reason);
	if (en->reissue < 0)
		sqlite3_bind_null(st, 13);
	else
		sqlite3_bind_int(st, 13, en->reissue != 0);
	if (en->der)
		sqlite3_bind_blob(st, 14, en->der, (int)en->der_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 14);
	sqlite3_bind_text(st, 15, en->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, en->hash, -1, SQLITE_STATIC);
	bind_text_or_null(st, 17, en->node);
	bind_text_or_null(st, 18, en->ca_certificate_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_err(c->db, e, "appending to the ledger");
	sqlite3_reset(st);
	return rc;
}

static int sq_serial_insert(struct ledger_session *c, const char *serial,
			    const char *batch, const char *imported_at,
			    int *added, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*added = 0;
	rc = conn_stmt(c, ST_SERIAL_INSERT, &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	bind_text_or_null(st, 2, batch);
	bind_text_or_null(st, 3, imported_at);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_err(c->db, e, "adding serials");
	else
		*added = sqlite3_changes(c->db) > 0;
	sqlite3_reset(st);
	return rc;
}

static int sq_probe(struct ledger_session *c, struct errd *e)
{
	int rc = conn_run(c, ST_PROBE_INSERT, e);

	if (rc == 0)
		rc = conn_run(c, ST_PROBE_DELETE, e);
	return rc;
}

/* ---- reads on the store ----------------------------------------------- */

/* The WHERE clause is built from fixed fragments; every value is a bound
 * parameter. */
static int sq_list(struct ledger_store *s, const struct ledger_query *q,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, struct errd *e)
{
	struct ledger_session *c = NULL;
	struct ledger_entry en = {.reissue = -1};
	sqlite3_stmt *st = NULL;
	char sql[1024];
	const char *vals[8];
	int nv = 0, i, rc = 0, st_rc;
	size_t len;

	len = (size_t)snprintf(sql, sizeof(sql),
			       "SELECT %s FROM ledger WHERE seq > ?",
			       q->with_der ? LEDGER_COLS : LEDGER_COLS_NODER);
#define FILTER(cond, frag, val)                                                \
	do {                                                                   \
		if (cond) {                                                    \
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,  \
						" AND " frag);                 \
			vals[nv++] = (val);                                    \
		}                                                              \
	} while (0)
	FILTER(q->serial, "serial = ?", q->serial);
	FILTER(q->thing_name, "thing_name = ?", q->thing_name);
	FILTER(q->station, "client = ?", q->station);
	FILTER(q->certificate_id, "certificate_id = ?", q->certificate_id);
	FILTER(q->since, "time >= ?", q->since);
	FILTER(q->until, "time < ?", q->until);
#undef FILTER
	if (q->event) {
		/* a literal, so that the partial index of revocations or
		 * imports serves it (a bound parameter cannot); the name is
		 * one of ledger_event_name's three, never client text */
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" AND event = '%s'",
					ledger_event_name(q->event));
	}
	snprintf(sql + len, sizeof(sql) - len, " ORDER BY seq LIMIT ?");

	rc = reader_get(s, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(c->db, e, "listing the ledger");
		goto out;
	}
	sqlite3_bind_int64(st, 1, q->after);
	for (i = 0; i < nv; i++)
		sqlite3_bind_text(st, i + 2, vals[i], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, nv + 2, q->limit);
	while ((st_rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row_to_entry(st, &en, e);
		if (rc == 0)
			rc = cb(arg, &en);
		if (rc != 0)
			goto out;
	}
	if (st_rc != SQLITE_DONE)
		rc = sql_err(c->db, e, "listing the ledger");
out:
	sqlite3_finalize(st);
	reader_put(s, c);
	ledger_entry_clear(&en);
	return rc;
}

/* The storage class each column of LEDGER_COLS holds (sql/sqlite/): SQLite
 * keeps whatever type a value was written with, and reads it back converted
 * (a BLOB hash as text, a text seq as a number), so a row can verify
 * although the stored bytes are not the ones hashed. */
#define COL_PREV_HASH 14
#define COL_HASH 15
static const struct {
	const char *name;
	int type;
	int nullable;
} walk_cols[] = {
    {"seq", SQLITE_INTEGER, 0},		{"time", SQLITE_TEXT, 0},
    {"event", SQLITE_TEXT, 0},		{"client", SQLITE_TEXT, 1},
    {"serial", SQLITE_TEXT, 1},		{"thing_name", SQLITE_TEXT, 1},
    {"certificate_id", SQLITE_TEXT, 1}, {"certificate_serial", SQLITE_TEXT, 1},
    {"spki_sha256", SQLITE_TEXT, 1},	{"not_before", SQLITE_TEXT, 1},
    {"not_after", SQLITE_TEXT, 1},	{"reason", SQLITE_TEXT, 1},
    {"reissue", SQLITE_INTEGER, 1},	{"der", SQLITE_BLOB, 1},
    {"prev_hash", SQLITE_TEXT, 0},	{"hash", SQLITE_TEXT, 0},
    {"node", SQLITE_TEXT, 1},		{"ca_certificate_id", SQLITE_TEXT, 1},
};

static const char *type_name(int t)
{
	switch (t) {
	case SQLITE_INTEGER:
		return "integer";
	case SQLITE_FLOAT:
		return "real";
	case SQLITE_TEXT:
		return "text";
	case SQLITE_BLOB:
		return "blob";
	default:
		return "null";
	}
}

/* Is the current row exactly what the schema stores: each column of its
 * storage class, each text without a NUL byte (the hash covers only the
 * text before one), each hash 64 characters? -ERR_LEDGER_CORRUPT naming the
 * entry and the column otherwise. Called before row_view (a column's type
 * must be read before any conversion). */
static int row_exact(sqlite3_stmt *st, int64_t *bad_seq, struct errd *e)
{
	const unsigned char *t;
	int64_t seq = sqlite3_column_int64(st, 0);
	int i, ty, n;

	for (i = 0; i < (int)(sizeof(walk_cols) / sizeof(walk_cols[0])); i++) {
		ty = sqlite3_column_type(st, i);
		if (ty == SQLITE_NULL && walk_cols[i].nullable)
			continue;
		if (ty != walk_cols[i].type) {
			*bad_seq = seq;
			return err_set(e, ERR_LEDGER_CORRUPT,
				       "entry %lld: %s is stored as %s, not "
				       "%s: the stored bytes are not the ones "
				       "hashed",
				       (long long)seq, walk_cols[i].name,
				       type_name(ty),
				       type_name(walk_cols[i].type));
		}
		if (ty != SQLITE_TEXT)
			continue;
		t = sqlite3_column_text(st, i);
		n = sqlite3_column_bytes(st, i);
		if (t == NULL || strlen((const char *)t) != (size_t)n) {
			*bad_seq = seq;
			return err_set(e, ERR_LEDGER_CORRUPT,
				       "entry %lld: %s holds a NUL byte: the "
				       "hash covers only the text before it",
				       (long long)seq, walk_cols[i].name);
		}
		if ((i == COL_PREV_HASH || i == COL_HASH) && n != 64) {
			*bad_seq = seq;
			return err_set(e, ERR_LEDGER_CORRUPT,
				       "entry %lld: %s is %d characters, not "
				       "64",
				       (long long)seq, walk_cols[i].name, n);
		}
	}
	return 0;
}

/* One SELECT streams the chain: one snapshot, rows read in place, each
 * checked to be exactly what is stored (row_exact). */
static int sq_walk(struct ledger_store *s, int64_t after,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, int64_t *bad_seq, struct errd *e)
{
	static const char sql[] =
	    "SELECT " LEDGER_COLS " FROM ledger WHERE seq > ?1 ORDER BY seq";
	struct ledger_session *c = NULL;
	struct ledger_entry en;
	sqlite3_stmt *st = NULL;
	int rc, st_rc;

	*bad_seq = 0;
	rc = reader_get(s, &c, e);
	if (rc < 0)
		goto out;
	sqlite3_exec(c->db, "PRAGMA mmap_size = " VERIFY_MMAP_SIZE, NULL, NULL,
		     NULL);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(c->db, e, "reading the ledger");
		goto out;
	}
	sqlite3_bind_int64(st, 1, after);
	while ((st_rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row_exact(st, bad_seq, e);
		if (rc < 0)
			goto out;
		row_view(st, &en); /* borrowed: no clear */
		rc = cb(arg, &en);
		if (rc != 0)
			goto out;
	}
	if (st_rc != SQLITE_DONE)
		rc = sql_err(c->db, e, "reading the ledger");
out:
	sqlite3_finalize(st);
	if (c)
		sqlite3_exec(c->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	reader_put(s, c);
	return rc;
}

/* Runs sql (no parameters) on a reader and calls row(arg, st) for each
 * row, stopping at the first non-zero return, which is returned; what
 * names the read in an error message. */
static int each_row(struct ledger_store *s, const char *sql, const char *what,
		    int (*row)(void *arg, sqlite3_stmt *st), void *arg,
		    struct errd *e)
{
	struct ledger_session *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc, st_rc;

	rc = reader_get(s, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_err(c->db, e, what);
		goto out;
	}
	while ((st_rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = row(arg, st);
		if (rc != 0)
			goto out;
	}
	if (st_rc != SQLITE_DONE)
		rc = sql_err(c->db, e, what);
out:
	sqlite3_finalize(st);
	reader_put(s, c);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

struct revocations_arg {
	int (*cb)(void *arg, const char *cert_serial_hex, const char *time,
		  const char *reason);
	void *arg;
	int64_t *max_seq;
};

static int revocation_row(void *arg, sqlite3_stmt *st)
{
	struct revocations_arg *r = arg;

	*r->max_seq = sqlite3_column_int64(st, 0);
	return r->cb(r->arg, col_text(st, 1), col_text(st, 2), col_text(st, 3));
}

static int sq_revocations(struct ledger_store *s,
			  int (*cb)(void *arg, const char *cert_serial_hex,
				    const char *time, const char *reason),
			  void *arg, int64_t *max_seq, struct errd *e)
{
	struct revocations_arg r = {cb, arg, max_seq};

	*max_seq = 0;
	return each_row(s,
			"SELECT seq, certificate_serial, time, reason FROM "
			"ledger WHERE event = 'revoked' ORDER BY seq",
			"reading revocations", revocation_row, &r, e);
}

struct serials_arg {
	int (*cb)(void *arg, const char *serial, const char *batch,
		  const char *imported_at);
	void *arg;
};

static int serial_row(void *arg, sqlite3_stmt *st)
{
	struct serials_arg *r = arg;

	return r->cb(r->arg, col_text(st, 0), col_text(st, 1), col_text(st, 2));
}

static int sq_serials(struct ledger_store *s,
		      int (*cb)(void *arg, const char *serial,
				const char *batch, const char *imported_at),
		      void *arg, struct errd *e)
{
	struct serials_arg r = {cb, arg};

	return each_row(s,
			"SELECT serial, batch, imported_at FROM serials ORDER "
			"BY serial",
			"reading serials", serial_row, &r, e);
}

/* One statement, so the counts agree with each other (the CHECK on event
 * allows exactly three). allowlisted_unissued probes the serial index once
 * per allowlisted serial. */
static int sq_stats(struct ledger_store *s, struct ledger_stats *stt,
		    struct errd *e)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM ledger), "
	    "(SELECT count(*) FROM ledger WHERE event = 'serials_imported'), "
	    "(SELECT count(*) FROM ledger WHERE event = 'revoked'), "
	    "(SELECT count(*) FROM serials), "
	    "(SELECT count(*) FROM serials AS s WHERE NOT EXISTS (SELECT 1 "
	    "FROM ledger AS i WHERE i.serial = s.serial AND "
	    "i.event = 'issued'))";
	struct ledger_session *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = reader_get(s, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = sql_err(c->db, e, "counting the ledger");
		goto out;
	}
	/* issued by difference: the other two events have partial indexes,
	 * counting 'issued' itself would read every row */
	stt->entries = sqlite3_column_int64(st, 0);
	stt->revoked = sqlite3_column_int64(st, 2);
	stt->issued = stt->entries - stt->revoked - sqlite3_column_int64(st, 1);
	stt->allowlisted = sqlite3_column_int64(st, 3);
	stt->allowlisted_unissued = sqlite3_column_int64(st, 4);
out:
	sqlite3_finalize(st);
	reader_put(s, c);
	return rc;
}

/* ---- backup ----------------------------------------------------------- */

/* fsyncs path (a file or a directory); 0 or -ERR_IO. */
static int fsync_path(const char *path, int dir, struct errd *e)
{
	int fd, rc = 0;

	fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = err_set(e, ERR_IO, "fsync %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The copy is written to "<to>.tmp.<pid>" (0600), synced, then renamed, so
 * `to` is either absent or complete. */
static int sq_backup(const char *path, const char *to, int force,
		     struct errd *e)
{
	struct ledger_session src = {0};
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	struct stat sb;
	char tmp[4096], dir[4096];
	int rc, fd, s;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", to, (long)getpid());
	if (!force && lstat(to, &sb) == 0) {
		rc = err_set(e, ERR_IO,
			     "%s exists: choose another name or "
			     "use --force",
			     to);
		goto out;
	}
	if (stat(path, &sb) != 0) {
		rc =
		    err_set(e, ERR_LEDGER_UNAVAILABLE, "no ledger at %s", path);
		goto out;
	}
	rc = conn_open(&src, path, 1, e);
	if (rc < 0)
		goto out;
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(e, ERR_IO, "cannot create %s: %s", tmp,
			     strerror(errno));
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		rc = err_set(e, ERR_IO, "cannot open %s: %s", tmp,
			     dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src.db, "main");
	if (b == NULL) {
		rc = err_set(e, ERR_IO, "backup of %s: %s", path,
			     sqlite3_errmsg(dst));
		goto out;
	}
	s = sqlite3_backup_step(b, BACKUP_ALL_PAGES);
	sqlite3_backup_finish(b);
	b = NULL;
	if (s != SQLITE_DONE || sqlite3_errcode(dst) != SQLITE_OK) {
		rc = err_set(e, ERR_IO, "backup of %s to %s: %s", path, tmp,
			     sqlite3_errstr(s));
		goto out;
	}
	/* a WAL-mode copy: fold its -wal (if any) into the file before the
	 * rename, so the one file is the whole backup */
	sqlite3_exec(dst, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(dst);
	dst = NULL;
	rc = fsync_path(tmp, 0, e);
	if (rc < 0)
		goto out;
	if (rename(tmp, to) != 0) {
		rc = err_set(e, ERR_IO, "rename %s to %s: %s", tmp, to,
			     strerror(errno));
		goto out;
	}
	path_dir_into(to, dir, sizeof(dir));
	rc = fsync_path(dir, 1, e);
out:
	if (b)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	conn_close(&src);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

const struct ledger_ops ledger_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .check = sq_check,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .write_begin = sq_write_begin,
    .write_commit = sq_write_commit,
    .write_rollback = sq_write_rollback,
    .head = sq_head,
    .newest = sq_newest,
    .serial_allowed = sq_serial_allowed,
    .last_revocation = sq_last_revocation,
    .issued_after = sq_issued_after,
    .spki_other_serial = sq_spki_other_serial,
    .spki_revoked = sq_spki_revoked,
    .current = sq_current,
    .by_certificate = sq_by_certificate,
    .insert = sq_insert,
    .serial_insert = sq_serial_insert,
    .probe = sq_probe,
    .list = sq_list,
    .walk = sq_walk,
    .revocations = sq_revocations,
    .serials = sq_serials,
    .stats = sq_stats,
    .backup = sq_backup,
};
