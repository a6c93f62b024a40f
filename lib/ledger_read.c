/*
 * ledger_read — the read side of the ledger: paged listing with filters,
 * lookups, the head, whole-chain verification, the CRL's revocations,
 * counts and the online backup. Everything here runs on the reader pool
 * (WAL readers: they never block the writer, and see one consistent snapshot
 * per statement). The write side is lib/ledger.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

/* ledger_list page size when the query says 0. */
#define LEDGER_PAGE_DEFAULT 100

/* Pages copied per sqlite3_backup_step: -1 copies all at once under one
 * read snapshot, which a WAL source allows while the writer goes on. */
#define BACKUP_ALL_PAGES (-1)

/* ledger_verify reads every page once: through mmap instead of read(2)
 * copies it is about a third faster on a large ledger. Only that one scan
 * maps the file (a failing disk then means SIGBUS instead of SQLITE_IOERR,
 * acceptable for an audit run, not for the daemon's request path). 64 GiB:
 * more than any ledger, and only address space. */
#define VERIFY_MMAP_SIZE "68719476736"

/* Normalises an RFC 3339 filter to the stored form (UTC, "Z", seconds), so
 * text comparison orders it against the stored times. */
static int norm_time(const char *in, char out[21], const char *what,
		     struct errd *e)
{
	time_t t;

	if (time_parse_rfc3339(in, &t) != 0)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "%s: \"%s\" is not an RFC 3339 time "
			       "(2036-11-28T14:00:00Z)",
			       what, in);
	time_rfc3339(t, out);
	return 0;
}

/* See ledger.h. The WHERE clause is built from fixed fragments; every value
 * is a bound parameter. */
int ledger_list(struct ledger *l, const struct ledger_query *q,
		int (*cb)(void *arg, const struct ledger_entry *en), void *arg,
		int64_t *next, struct errd *e)
{
	struct ledger_conn *c = NULL;
	struct ledger_entry en = {.reissue = -1};
	sqlite3_stmt *st = NULL;
	char sql[1024], since[21], until[21];
	const char *vals[8];
	int nv = 0, i, rc = 0, limit, got = 0, s;
	size_t len;

	*next = 0;
	limit = q->limit <= 0 ? LEDGER_PAGE_DEFAULT : q->limit;
	if (limit > LEDGER_PAGE_MAX)
		limit = LEDGER_PAGE_MAX;
	if (q->since && (rc = norm_time(q->since, since, "since", e)) < 0)
		goto out;
	if (q->until && (rc = norm_time(q->until, until, "until", e)) < 0)
		goto out;
	if (q->event && ledger_event_name(q->event) == NULL) {
		rc = err_set(e, ERR_MALFORMED_REQUEST, "unknown event %d",
			     q->event);
		goto out;
	}
	len = (size_t)snprintf(sql, sizeof(sql),
			       "SELECT %s FROM ledger WHERE seq > ?",
			       q->with_der ? LEDGER_COLS : LEDGER_COLS_NODER);
#define FILTER(cond, frag, val)                                                \
	do {                                                                   \
		if (cond) {                                                    \
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,  \
						" AND " frag " = ?");          \
			vals[nv++] = (val);                                    \
		}                                                              \
	} while (0)
	FILTER(q->serial, "serial", q->serial);
	FILTER(q->thing_name, "thing_name", q->thing_name);
	FILTER(q->station, "client", q->station);
	FILTER(q->certificate_id, "certificate_id", q->certificate_id);
#undef FILTER
	if (q->event) {
		/* the event index suits "every revocation"; beside a
		 * selective filter it would be a trap (see ledger_conn.c):
		 * the unary + keeps the planner off it */
		len +=
		    (size_t)snprintf(sql + len, sizeof(sql) - len,
				     nv ? " AND +event = ?" : " AND event = ?");
		vals[nv++] = ledger_event_name(q->event);
	}
	if (q->since) {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" AND time >= ?");
		vals[nv++] = since;
	}
	if (q->until) {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					" AND time < ?");
		vals[nv++] = until;
	}
	snprintf(sql + len, sizeof(sql) - len, " ORDER BY seq LIMIT ?");

	rc = ledger_reader_get(l, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = ledger_sql_err(c->db, e, "listing the ledger");
		goto out;
	}
	sqlite3_bind_int64(st, 1, q->after > 0 ? q->after : 0);
	for (i = 0; i < nv; i++)
		sqlite3_bind_text(st, i + 2, vals[i], -1, SQLITE_STATIC);
	/* one row more than the page tells whether another page exists */
	sqlite3_bind_int(st, nv + 2, limit + 1);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (got == limit) {
			*next = en.seq;
			break;
		}
		rc = ledger_row_to_entry(st, &en, e);
		if (rc < 0)
			goto out;
		got++;
		rc = cb(arg, &en);
		if (rc != 0)
			goto out;
	}
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		rc = ledger_sql_err(c->db, e, "listing the ledger");
out:
	sqlite3_finalize(st);
	ledger_reader_put(l, c);
	ledger_entry_clear(&en);
	return rc;
}

/* Fills out with the row of st (already bound) or leaves out->seq 0. */
static int one_row(struct ledger_conn *c, sqlite3_stmt *st,
		   struct ledger_entry *out, struct errd *e)
{
	int s = sqlite3_step(st);

	if (s == SQLITE_ROW)
		return ledger_row_to_entry(st, out, e);
	if (s != SQLITE_DONE)
		return ledger_sql_err(c->db, e, "reading the ledger");
	ledger_entry_clear(out);
	return 0;
}

/* See ledger.h. */
int ledger_get_certificate(struct ledger *l, const char *certificate_id,
			   struct ledger_entry *out,
			   struct ledger_entry *revoked, struct errd *e)
{
	struct ledger_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = ledger_reader_begin(l, &c, e);
	if (rc < 0)
		goto out;
	rc = ledger_conn_stmt(c, ST_BY_CERT, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, certificate_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "issued", -1, SQLITE_STATIC);
	rc = one_row(c, st, out, e);
	if (rc < 0)
		goto out;
	if (out->seq == 0) {
		rc = err_set(e, ERR_NOT_FOUND,
			     "no certificate %s in the ledger", certificate_id);
		goto out;
	}
	if (revoked) {
		rc = ledger_conn_stmt(c, ST_BY_CERT, &st, e);
		if (rc < 0)
			goto out;
		sqlite3_bind_text(st, 1, certificate_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, "revoked", -1, SQLITE_STATIC);
		rc = one_row(c, st, revoked, e);
	}
out:
	if (st)
		sqlite3_reset(st);
	if (rc < 0)
		ledger_entry_clear(out);
	ledger_reader_put(l, c);
	return rc;
}

/* See ledger.h. */
int ledger_head(struct ledger *l, int64_t *seq, char hash[65], struct errd *e)
{
	struct ledger_conn *c = NULL;
	int rc;

	rc = ledger_reader_get(l, &c, e);
	if (rc == 0)
		rc = ledger_conn_head(c, seq, hash, e);
	ledger_reader_put(l, c);
	return rc;
}

/* See ledger.h. One SELECT streams the chain: one snapshot, constant
 * memory however long the ledger is. */
int ledger_verify(struct ledger *l, int64_t head_seq, const char *head_hash,
		  int64_t *count, int64_t *bad_seq, struct errd *e)
{
	static const char sql[] =
	    "SELECT " LEDGER_COLS " FROM ledger ORDER BY seq";
	struct ledger_conn *c = NULL;
	struct ledger_entry en = {.reissue = -1};
	sqlite3_stmt *st = NULL;
	char prev[65], h[65], anchor[65] = "";
	int64_t last = 0, n = 0;
	int rc, s;

	*count = 0;
	*bad_seq = 0;
	memset(prev, '0', 64);
	prev[64] = '\0';
	rc = ledger_reader_get(l, &c, e);
	if (rc < 0)
		goto out;
	sqlite3_exec(c->db, "PRAGMA mmap_size = " VERIFY_MMAP_SIZE, NULL, NULL,
		     NULL);
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = ledger_sql_err(c->db, e, "reading the ledger");
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		ledger_row_view(st, &en); /* borrowed: no clear */
		n++;
		if (en.seq != last + 1) {
			*bad_seq = en.seq;
			rc = err_set(e, ERR_LEDGER_CORRUPT,
				     "entry %lld: seq gap after %lld (entry "
				     "deleted?)",
				     (long long)en.seq, (long long)last);
			goto out;
		}
		if (strcmp(en.prev_hash, prev) != 0) {
			*bad_seq = en.seq;
			rc = err_set(e, ERR_LEDGER_CORRUPT,
				     "entry %lld: prev_hash does not match "
				     "entry %lld's hash (reordered or "
				     "replaced?)",
				     (long long)en.seq, (long long)last);
			goto out;
		}
		if (en.event == 0 ||
		    ledger_entry_hash(&en, en.prev_hash, h, NULL) < 0 ||
		    strcmp(h, en.hash) != 0) {
			*bad_seq = en.seq;
			rc = err_set(e, ERR_LEDGER_CORRUPT,
				     "entry %lld: hash does not match its "
				     "contents",
				     (long long)en.seq);
			goto out;
		}
		if (en.seq == head_seq)
			memcpy(anchor, en.hash, sizeof(anchor));
		last = en.seq;
		memcpy(prev, en.hash, sizeof(prev));
	}
	if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "reading the ledger");
		goto out;
	}
	if (head_seq > 0 && last < head_seq) {
		*bad_seq = head_seq;
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "the ledger ends at seq %lld but the anchor names "
			     "seq %lld: entries were removed",
			     (long long)last, (long long)head_seq);
	} else if (head_seq > 0 &&
		   (head_hash == NULL || strcasecmp(anchor, head_hash) != 0)) {
		*bad_seq = head_seq;
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "entry %lld differs from the anchored head",
			     (long long)head_seq);
	}
out:
	*count = n;
	sqlite3_finalize(st);
	if (c)
		sqlite3_exec(c->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
	ledger_reader_put(l, c);
	return rc;
}

/* See ledger.h. */
int ledger_revocations(struct ledger *l,
		       int (*cb)(void *arg, const char *cert_serial_hex,
				 const char *time, const char *reason),
		       void *arg, int64_t *max_seq, struct errd *e)
{
	static const char sql[] =
	    "SELECT seq, certificate_serial, time, reason FROM ledger "
	    "WHERE event = 'revoked' ORDER BY seq";
	struct ledger_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc, s;

	*max_seq = 0;
	rc = ledger_reader_get(l, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = ledger_sql_err(c->db, e, "reading revocations");
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		*max_seq = sqlite3_column_int64(st, 0);
		rc = cb(arg, (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(const char *)sqlite3_column_text(st, 3));
		if (rc != 0)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = ledger_sql_err(c->db, e, "reading revocations");
out:
	sqlite3_finalize(st);
	ledger_reader_put(l, c);
	return rc;
}

/* See ledger.h. One statement, so the counts agree with each other.
 * allowlisted_unissued probes the serial index once per allowlisted serial:
 * about a second per million serials, so callers poll it, not per request. */
int ledger_stats(struct ledger *l, struct ledger_stats *stt, struct errd *e)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM ledger), "
	    "(SELECT count(*) FROM ledger WHERE event = 'issued'), "
	    "(SELECT count(*) FROM ledger WHERE event = 'revoked'), "
	    "(SELECT count(*) FROM serials), "
	    "(SELECT count(*) FROM serials AS s WHERE NOT EXISTS (SELECT 1 "
	    "FROM ledger AS i WHERE i.serial = s.serial AND "
	    "+i.event = 'issued'))";
	struct ledger_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	memset(stt, 0, sizeof(*stt));
	rc = ledger_reader_get(l, &c, e);
	if (rc < 0)
		goto out;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = ledger_sql_err(c->db, e, "counting the ledger");
		goto out;
	}
	stt->entries = sqlite3_column_int64(st, 0);
	stt->issued = sqlite3_column_int64(st, 1);
	stt->revoked = sqlite3_column_int64(st, 2);
	stt->allowlisted = sqlite3_column_int64(st, 3);
	stt->allowlisted_unissued = sqlite3_column_int64(st, 4);
	ledger_writer_counts(l, &stt->write_batches, &stt->write_jobs);
out:
	sqlite3_finalize(st);
	ledger_reader_put(l, c);
	return rc;
}

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

/* See ledger.h. The copy is written to "<to>.tmp.<pid>" (0600), synced,
 * then renamed, so `to` is either absent or complete. */
int ledger_backup(const char *path, const char *to, int force, struct errd *e)
{
	struct ledger_conn src = {0};
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	struct stat sb;
	char tmp[4096], dir[4096], *slash;
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
	rc = ledger_conn_open(&src, path, 1, e);
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
	snprintf(dir, sizeof(dir), "%s", to);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	rc = fsync_path(dir, 1, e);
out:
	if (b)
		sqlite3_backup_finish(b);
	sqlite3_close(dst);
	ledger_conn_close(&src);
	if (rc < 0)
		unlink(tmp);
	return rc;
}
