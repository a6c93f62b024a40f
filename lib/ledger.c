/*
 * ledger — the SQLite issuance ledger, write side: opening and migrating the
 * file, the connections and their cached statements, the canonical encoding
 * and hash of an entry, the issuance rules, and the one writer thread that
 * commits waiting entries together (group commit). The read side (list,
 * verify, backup, ...) is lib/ledger_read.c; both share lib/ledger_int.h.
 *
 * Traps met here:
 * - WAL lets readers run beside the writer, but a transaction that starts as
 *   a reader and later writes (BEGIN DEFERRED; SELECT; INSERT) can get
 *   SQLITE_BUSY at the INSERT without the busy handler being called, because
 *   waiting could deadlock with another upgrading writer. So every write
 *   transaction here is BEGIN IMMEDIATE, which takes the write lock first
 *   and does honour busy_timeout.
 * - A statement left un-reset keeps its read transaction (and so its WAL
 *   snapshot) open, stopping checkpoints and hiding newer entries. Every
 *   cached statement is reset when handed out and at each function's out:.
 * - The head is read inside the write transaction, never cached across
 *   batches: `thingca serials import` or `thingca revoke` in another process
 *   may have appended since.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

#include "sql_migrations.h"

/* Jobs taken into one write transaction: bounds the time one batch holds
 * the write lock and the memory of its results, while still giving one fsync
 * to hundreds of stations' entries. */
#define LEDGER_BATCH_MAX 256

#define N_MIGRATIONS ((int)(sizeof(sql_migrations) / sizeof(sql_migrations[0])))

enum job_kind { JOB_ISSUE, JOB_REVOKE, JOB_IMPORT, JOB_PING };

/* Free bytes under which ledger_ping reports the ledger unwritable: a
 * batch of issuances with its WAL frames and a checkpoint needs a few
 * hundred KiB; below this the next commit is likely to fail. */
#define LEDGER_MIN_FREE (256ull * 1024ull)

struct ledger_job {
	enum job_kind kind;
	struct ledger_job *next;
	/* issue */
	struct ledger_entry *entry;
	int require_allowlist, unique_keys;
	struct ledger_entry *existing;
	/* revoke */
	const char *certificate_id, *client, *reason;
	int reissue;
	/* import */
	const char *batch;
	char *const *serials;
	size_t n, added, present;
	/* revoke and import: the appended entry, moved to the caller */
	struct ledger_entry made;
	/* result */
	int rc;
	int recorded; /* appended an entry in this batch */
	struct errd err;
	int done;
	/* Signalled by the writer when done: one waiter woken per job, not
	 * every waiting thread per batch (a broadcast woke ~30 threads per
	 * commit under load, most only to sleep again). */
	pthread_cond_t done_cv;
};

/* ---- schema ----------------------------------------------------------- */

static int user_version(struct ledger_conn *c, int *v, struct errd *e)
{
	char buf[32];
	int rc =
	    ledger_conn_pragma(c, "PRAGMA user_version", buf, sizeof(buf), e);

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
 * transaction together with the new user_version. */
static int migrate(struct ledger *l, struct errd *e)
{
	char sql[64];
	int rc, v = 0, i;

	rc = ledger_conn_run(&l->w, ST_BEGIN_IMMEDIATE, e);
	if (rc < 0)
		goto out;
	rc = user_version(&l->w, &v, e);
	if (rc < 0)
		goto out;
	if (v > N_MIGRATIONS) {
		rc = too_new(l->path, v, e);
		goto out;
	}
	for (i = v; i < N_MIGRATIONS; i++) {
		rc = ledger_conn_exec(&l->w, sql_migrations[i], e);
		if (rc < 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		rc = ledger_conn_exec(&l->w, sql, e);
		if (rc < 0)
			goto out;
	}
	rc = ledger_conn_run(&l->w, ST_COMMIT, e);
out:
	if (rc < 0)
		ledger_conn_rollback(&l->w);
	return rc;
}

/* Recomputes the newest entry's hash: catches the cheap tampering (an
 * edited last row) at every start; ledger verify checks the whole chain. */
static int check_newest(struct ledger_conn *c, struct errd *e)
{
	static const char sql[] =
	    "SELECT " LEDGER_COLS " FROM ledger ORDER BY seq DESC LIMIT 1";
	struct ledger_entry en = {.reissue = -1};
	sqlite3_stmt *st = NULL;
	char h[65];
	int rc = 0, s;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = ledger_sql_err(c->db, e, "reading the newest entry");
		goto out;
	}
	s = sqlite3_step(st);
	if (s == SQLITE_DONE)
		goto out;
	if (s != SQLITE_ROW) {
		rc = ledger_sql_err(c->db, e, "reading the newest entry");
		goto out;
	}
	rc = ledger_row_to_entry(st, &en, e);
	if (rc < 0)
		goto out;
	rc = ledger_entry_hash(&en, en.prev_hash, h, e);
	if (rc < 0 || strcmp(h, en.hash) != 0)
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "ledger entry %lld does not match its hash: the "
			     "file was altered; restore the last backup and "
			     "run `thingca ledger verify`",
			     (long long)en.seq);
out:
	sqlite3_finalize(st);
	ledger_entry_clear(&en);
	return rc;
}

/* ---- issuance rules --------------------------------------------------- */

static int step_exists(struct ledger_conn *c, sqlite3_stmt *st, int *found,
		       struct errd *e)
{
	int s = sqlite3_step(st);

	*found = s == SQLITE_ROW;
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return ledger_sql_err(c->db, e, "checking the ledger");
	return 0;
}

/* Is serial blocked: its newest revocation said reissue=0 and no issuance
 * followed it. */
static int serial_blocked(struct ledger_conn *c, const char *serial,
			  int *blocked, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int64_t rseq = 0;
	int rc, s, reissue = 1, found = 0;

	*blocked = 0;
	rc = ledger_conn_stmt(c, ST_LAST_REVOKE, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		rseq = sqlite3_column_int64(st, 0);
		reissue = sqlite3_column_int(st, 1);
	} else if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "checking revocations");
		goto out;
	}
	sqlite3_reset(st);
	if (rseq == 0 || reissue)
		goto out;
	rc = ledger_conn_stmt(c, ST_ISSUED_AFTER, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rseq);
	rc = step_exists(c, st, &found, e);
	*blocked = rc == 0 && !found;
out:
	if (st)
		sqlite3_reset(st);
	return rc;
}

/* The key-reuse lookup id (ST_SPKI_OTHER, ST_SPKI_REVOKED) for spki and
 * serial: 1 with the first column of the row found in other[80], 0 when
 * there is none, or a negative error. */
static int spki_lookup(struct ledger_conn *c, enum ledger_stmt id,
		       const char *spki, const char *serial, char other[80],
		       struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	rc = ledger_conn_stmt(c, id, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, spki, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		snprintf(other, 80, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		rc = 1;
	} else if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "checking keys");
	}
out:
	if (st)
		sqlite3_reset(st);
	return rc;
}

/* The issuance rules on connection c (a reader, or the writer inside its
 * transaction): one implementation for both, so the pre-check and the
 * authoritative check cannot drift apart. */
static int check_issue_conn(struct ledger_conn *c, const char *serial,
			    const char *spki, int require_allowlist,
			    int unique_keys, struct ledger_entry *existing,
			    struct errd *e)
{
	sqlite3_stmt *st = NULL;
	char other[80];
	int rc, found = 0, s;

	if (serial == NULL) {
		rc = err_set(e, ERR_MALFORMED_REQUEST, "no serial");
		goto out;
	}
	if (require_allowlist) {
		rc = ledger_conn_stmt(c, ST_ALLOWED, &st, e);
		if (rc < 0)
			goto out;
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
		rc = step_exists(c, st, &found, e);
		sqlite3_reset(st);
		if (rc < 0)
			goto out;
		if (!found) {
			rc = err_set(e, ERR_SERIAL_UNKNOWN,
				     "serial %s was not imported: run `thingca "
				     "serials import` with it first",
				     serial);
			goto out;
		}
	}
	rc = serial_blocked(c, serial, &found, e);
	if (rc < 0)
		goto out;
	if (found) {
		rc =
		    err_set(e, ERR_SERIAL_REVOKED,
			    "serial %s is blocked: its certificate was revoked "
			    "without reissue",
			    serial);
		goto out;
	}
	if (spki && unique_keys) {
		rc = spki_lookup(c, ST_SPKI_OTHER, spki, serial, other, e);
		if (rc > 0)
			rc = err_set(e, ERR_PUBLIC_KEY_REUSED,
				     "this public key was already certified "
				     "for serial %s: a cloned device or a key "
				     "generator without entropy",
				     other);
		if (rc != 0)
			goto out;
		rc = spki_lookup(c, ST_SPKI_REVOKED, spki, serial, other, e);
		if (rc > 0)
			rc = err_set(e, ERR_PUBLIC_KEY_REUSED,
				     "this public key belongs to revoked "
				     "certificate %s of serial %s: a reissue "
				     "needs a new key",
				     other, serial);
		if (rc != 0)
			goto out;
	}
	rc = ledger_conn_stmt(c, ST_CURRENT, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		if (existing) {
			rc = ledger_row_to_entry(st, existing, e);
			if (rc < 0)
				goto out;
		}
		rc = err_set(e, ERR_SERIAL_ALREADY_ISSUED,
			     "serial %s already has certificate %s: revoke it "
			     "(with reissue) before issuing another",
			     serial, (const char *)sqlite3_column_text(st, 6));
	} else if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "checking issued certificates");
	}
out:
	if (st)
		sqlite3_reset(st);
	return rc;
}

/* See ledger.h. A read transaction keeps the several lookups consistent. */
int ledger_check_issue(struct ledger *l, const char *serial,
		       const char *spki_sha256, int require_allowlist,
		       int unique_keys, struct ledger_entry *existing,
		       struct errd *e)
{
	struct ledger_conn *c = NULL;
	int rc;

	rc = ledger_reader_begin(l, &c, e);
	if (rc < 0)
		goto out;
	rc = check_issue_conn(c, serial, spki_sha256, require_allowlist,
			      unique_keys, existing, e);
out:
	ledger_reader_put(l, c); /* ends the read transaction */
	return rc;
}

/* ---- the writer ------------------------------------------------------- */

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Appends en after the head: fills seq/time/prev_hash/hash of en, inserts,
 * advances the head. Any failure is a failure of the whole batch. */
static int append(struct ledger *l, struct ledger_entry *en, int64_t *head_seq,
		  char head_hash[65], struct errd *e)
{
	struct ledger_conn *c = &l->w;
	sqlite3_stmt *st = NULL;
	char now[21];
	int rc;

	time_rfc3339(time(NULL), now);
	free(en->time);
	en->time = strdup(now);
	free(en->node);
	en->node = l->node ? strdup(l->node) : NULL;
	if (en->time == NULL || (l->node && en->node == NULL)) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	en->seq = *head_seq + 1;
	memcpy(en->prev_hash, head_hash, 65);
	rc = ledger_entry_hash(en, en->prev_hash, en->hash, e);
	if (rc < 0)
		goto out;
	rc = ledger_conn_stmt(c, ST_INSERT, &st, e);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, en->seq);
	sqlite3_bind_text(st, 2, en->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ledger_event_name(en->event), -1,
			  SQLITE_STATIC);
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
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "appending to the ledger");
		goto out;
	}
	*head_seq = en->seq;
	memcpy(head_hash, en->hash, 65);
out:
	if (st)
		sqlite3_reset(st);
	return rc;
}

/* Job results: a negative "check" error belongs to the job alone; a
 * failure of SQL aborts the batch (returned as batch_rc). */
static int run_issue(struct ledger *l, struct ledger_job *j, int64_t *hs,
		     char hh[65])
{
	struct ledger_conn *c = &l->w;
	struct ledger_entry *en = j->entry;
	int rc;

	en->event = LEDGER_ISSUED;
	en->reissue = -1; /* null for issued entries */
	if (en->serial == NULL || en->certificate_id == NULL) {
		j->rc = err_set(&j->err, ERR_MALFORMED_REQUEST,
				"an issued entry needs serial and "
				"certificate_id");
		return 0;
	}
	rc = check_issue_conn(c, en->serial, en->spki_sha256,
			      j->require_allowlist, j->unique_keys, j->existing,
			      &j->err);
	if (rc == -ERR_LEDGER_UNAVAILABLE || rc == -ERR_LEDGER_CORRUPT)
		return rc;
	if (rc < 0) {
		j->rc = rc;
		return 0;
	}
	rc = append(l, en, hs, hh, &j->err);
	if (rc < 0)
		return rc;
	j->recorded = 1;
	return 0;
}

static int run_revoke(struct ledger *l, struct ledger_job *j, int64_t *hs,
		      char hh[65])
{
	struct ledger_conn *c = &l->w;
	struct ledger_entry issued = {.reissue = -1};
	struct ledger_entry *m = &j->made;
	sqlite3_stmt *st = NULL;
	int rc, s;

	rc = ledger_conn_stmt(c, ST_BY_CERT, &st, &j->err);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, j->certificate_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "revoked", -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		j->rc = err_set(&j->err, ERR_ALREADY_REVOKED,
				"certificate %s was already revoked (ledger "
				"entry %lld)",
				j->certificate_id,
				(long long)sqlite3_column_int64(st, 0));
		goto out;
	} else if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, &j->err, "reading the ledger");
		goto out;
	}
	rc = ledger_conn_stmt(c, ST_BY_CERT, &st, &j->err);
	if (rc < 0)
		goto out;
	sqlite3_bind_text(st, 1, j->certificate_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "issued", -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		j->rc = err_set(&j->err, ERR_NOT_FOUND,
				"no certificate %s in the ledger",
				j->certificate_id);
		goto out;
	} else if (s != SQLITE_ROW) {
		rc = ledger_sql_err(c->db, &j->err, "reading the ledger");
		goto out;
	}
	rc = ledger_row_to_entry(st, &issued, &j->err);
	if (rc < 0)
		goto out;
	ledger_entry_clear(m);
	m->event = LEDGER_REVOKED;
	m->reissue = j->reissue != 0;
	/* move the identifying fields of the issued entry */
	m->serial = issued.serial;
	issued.serial = NULL;
	m->thing_name = issued.thing_name;
	issued.thing_name = NULL;
	m->certificate_id = issued.certificate_id;
	issued.certificate_id = NULL;
	m->certificate_serial = issued.certificate_serial;
	issued.certificate_serial = NULL;
	m->spki_sha256 = issued.spki_sha256;
	issued.spki_sha256 = NULL;
	m->client = j->client ? strdup(j->client) : NULL;
	m->reason = strdup(j->reason ? j->reason : "unspecified");
	if ((j->client && m->client == NULL) || m->reason == NULL) {
		rc = err_set(&j->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = append(l, m, hs, hh, &j->err);
	if (rc == 0)
		j->recorded = 1;
out:
	if (st)
		sqlite3_reset(st);
	ledger_entry_clear(&issued);
	return rc;
}

static int run_import(struct ledger *l, struct ledger_job *j, int64_t *hs,
		      char hh[65])
{
	struct ledger_conn *c = &l->w;
	struct ledger_entry *m = &j->made;
	sqlite3_stmt *st = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[32];
	char now[21], hex[65], *reason = NULL;
	size_t i;
	int rc, need;

	time_rfc3339(time(NULL), now);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = err_set(&j->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	j->added = j->present = 0;
	for (i = 0; i < j->n; i++) {
		rc = ledger_conn_stmt(c, ST_SERIAL_INSERT, &st, &j->err);
		if (rc < 0)
			goto out;
		sqlite3_bind_text(st, 1, j->serials[i], -1, SQLITE_STATIC);
		bind_text_or_null(st, 2, j->batch);
		sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = ledger_sql_err(c->db, &j->err, "adding serials");
			goto out;
		}
		if (sqlite3_changes(c->db) > 0) {
			j->added++;
			EVP_DigestUpdate(ctx, j->serials[i],
					 strlen(j->serials[i]));
			EVP_DigestUpdate(ctx, "\n", 1);
		} else {
			j->present++;
		}
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	hex_encode(md, sizeof(md), hex);
	need = snprintf(NULL, 0, "batch=%s added=%zu present=%zu sha256=%s",
			j->batch ? j->batch : "", j->added, j->present, hex);
	reason = malloc((size_t)need + 1);
	if (reason == NULL) {
		rc = err_set(&j->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(reason, (size_t)need + 1,
		 "batch=%s added=%zu present=%zu sha256=%s",
		 j->batch ? j->batch : "", j->added, j->present, hex);
	ledger_entry_clear(m);
	m->event = LEDGER_SERIALS_IMPORTED;
	m->reason = reason;
	reason = NULL;
	m->client = j->client ? strdup(j->client) : NULL;
	rc = append(l, m, hs, hh, &j->err);
	if (rc == 0)
		j->recorded = 1;
out:
	if (st)
		sqlite3_reset(st);
	EVP_MD_CTX_free(ctx);
	free(reason);
	return rc;
}

/* Undoes what a job reported for a batch that was rolled back: whatever
 * its check found inside the transaction (serial_already_issued with an
 * existing entry, public_key_reused) may rest on an entry of this very
 * batch, never saved, so every job is answered ledger_unavailable and the
 * existing entry is dropped. */
static void job_unrecord(struct ledger_job *j, const struct errd *why)
{
	if (j->kind == JOB_ISSUE) {
		j->entry->seq = 0;
		free(j->entry->time);
		j->entry->time = NULL;
		j->entry->prev_hash[0] = '\0';
		j->entry->hash[0] = '\0';
		ledger_entry_clear(j->existing); /* a no-op on NULL */
	}
	ledger_entry_clear(&j->made);
	j->added = j->present = 0;
	j->recorded = 0;
	j->rc = err_set(&j->err, ERR_LEDGER_UNAVAILABLE,
			"the ledger could not record this (nothing was "
			"recorded): %s",
			why->msg);
}

/* One transaction for a batch of jobs. */
static void run_batch(struct ledger *l, struct ledger_job *batch)
{
	struct ledger_job *j;
	struct errd why = {0};
	char hh[65];
	int64_t hs = 0;
	int rc;

	rc = ledger_conn_run(&l->w, ST_BEGIN_IMMEDIATE, &why);
	if (rc == 0)
		rc = ledger_conn_head(&l->w, &hs, hh, &why);
	for (j = batch; j && rc == 0; j = j->next) {
		switch (j->kind) {
		case JOB_ISSUE:
			rc = run_issue(l, j, &hs, hh);
			break;
		case JOB_REVOKE:
			rc = run_revoke(l, j, &hs, hh);
			break;
		case JOB_IMPORT:
			rc = run_import(l, j, &hs, hh);
			break;
		case JOB_PING:
			/* A real write, undone: proves the file takes one. */
			rc = ledger_conn_exec(&l->w,
					      "INSERT INTO probe VALUES "
					      "(zeroblob(4096)); DELETE FROM "
					      "probe",
					      &j->err);
			break;
		}
		if (rc < 0)
			why = j->err;
	}
	if (rc == 0)
		rc = ledger_conn_run(&l->w, ST_COMMIT, &why);
	if (rc < 0) {
		ledger_conn_rollback(&l->w);
		for (j = batch; j; j = j->next)
			job_unrecord(j, &why);
	}
}

static void *writer_main(void *arg)
{
	struct ledger *l = arg;
	struct ledger_job *batch, *last, *j;
	int n;

	pthread_mutex_lock(&l->q_mu);
	for (;;) {
		while (l->q_head == NULL && !l->stopping)
			pthread_cond_wait(&l->q_cv, &l->q_mu);
		if (l->q_head == NULL)
			break; /* stopping, and the queue is drained */
		batch = last = l->q_head;
		for (n = 1; n < LEDGER_BATCH_MAX && last->next; n++)
			last = last->next;
		l->q_head = last->next;
		if (l->q_head == NULL)
			l->q_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&l->q_mu);

		run_batch(l, batch);

		pthread_mutex_lock(&l->q_mu);
		l->batches++;
		l->jobs += n;
		/* q_mu is held: no waiter returns (and frees its job) until
		 * the loop is over. */
		for (j = batch; j; j = j->next) {
			j->done = 1;
			pthread_cond_signal(&j->done_cv);
		}
	}
	pthread_mutex_unlock(&l->q_mu);
	return NULL;
}

/* Queues j and waits until the writer has finished it. */
static int submit(struct ledger *l, struct ledger_job *j, struct errd *e)
{
	int rc;

	if (l->rdonly)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "%s is open read-only", l->path);
	j->next = NULL;
	j->done = 0;
	j->rc = 0;
	j->made.reissue = -1;
	pthread_mutex_lock(&l->q_mu);
	if (l->stopping) {
		pthread_mutex_unlock(&l->q_mu);
		return err_set(e, ERR_SHUTTING_DOWN, "the ledger is closing");
	}
	pthread_cond_init(&j->done_cv, NULL);
	if (l->q_tail)
		l->q_tail->next = j;
	else
		l->q_head = j;
	l->q_tail = j;
	pthread_cond_signal(&l->q_cv);
	while (!j->done)
		pthread_cond_wait(&j->done_cv, &l->q_mu);
	pthread_mutex_unlock(&l->q_mu);
	pthread_cond_destroy(&j->done_cv);
	rc = j->rc;
	if (rc < 0 && e)
		*e = j->err;
	return rc;
}

/* See ledger.h. */
int ledger_record_issue(struct ledger *l, struct ledger_entry *entry,
			int require_allowlist, int unique_keys,
			struct ledger_entry *existing, struct errd *e)
{
	struct ledger_job j = {.kind = JOB_ISSUE};

	j.entry = entry;
	j.require_allowlist = require_allowlist;
	j.unique_keys = unique_keys;
	j.existing = existing;
	return submit(l, &j, e);
}

/* See ledger.h. */
int ledger_revoke(struct ledger *l, const char *certificate_id,
		  const char *client, const char *reason, int reissue,
		  struct ledger_entry *out, struct errd *e)
{
	struct ledger_job j = {.kind = JOB_REVOKE};
	int rc;

	if (certificate_id == NULL)
		return err_set(e, ERR_NOT_FOUND, "no certificate ID");
	j.certificate_id = certificate_id;
	j.client = client;
	j.reason = reason;
	j.reissue = reissue;
	rc = submit(l, &j, e);
	if (rc == 0 && out) {
		ledger_entry_clear(out);
		*out = j.made;
	} else {
		ledger_entry_clear(&j.made);
	}
	return rc;
}

/* See ledger.h. */
int ledger_import_serials(struct ledger *l, const char *batch,
			  const char *client, char *const *serials, size_t n,
			  size_t *added, size_t *present,
			  struct ledger_entry *out, struct errd *e)
{
	struct ledger_job j = {.kind = JOB_IMPORT};
	int rc;

	j.batch = batch;
	j.client = client;
	j.serials = serials;
	j.n = n;
	rc = submit(l, &j, e);
	if (added)
		*added = rc == 0 ? j.added : 0;
	if (present)
		*present = rc == 0 ? j.present : 0;
	if (rc == 0 && out) {
		ledger_entry_clear(out);
		*out = j.made;
	} else {
		ledger_entry_clear(&j.made);
	}
	return rc;
}

/* See ledger.h. Besides the probe write, the filesystem must keep
 * LEDGER_MIN_FREE bytes: SQLite can still commit into WAL space it already
 * holds when the disk is full, and a probe that fits proves little about
 * the next certificate. */
int ledger_ping(struct ledger *l, struct errd *e)
{
	struct ledger_job j = {.kind = JOB_PING};
	struct statvfs sv;
	char dir[4096];
	const char *slash = strrchr(l->path, '/');
	unsigned long long free_b;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s",
			 slash == l->path ? 1 : (int)(slash - l->path),
			 l->path);
	if (statvfs(dir, &sv) == 0) {
		free_b = (unsigned long long)sv.f_bavail *
			 (unsigned long long)sv.f_frsize;
		if (free_b < LEDGER_MIN_FREE)
			return err_set(e, ERR_LEDGER_UNAVAILABLE,
				       "only %llu bytes free on the ledger's "
				       "filesystem (under %llu)",
				       free_b, LEDGER_MIN_FREE);
	}
	return submit(l, &j, e);
}

/* See ledger_int.h. */
void ledger_writer_counts(struct ledger *l, int64_t *batches, int64_t *jobs)
{
	pthread_mutex_lock(&l->q_mu);
	*batches = l->batches;
	*jobs = l->jobs;
	pthread_mutex_unlock(&l->q_mu);
}

/* See ledger.h. */
int ledger_set_node(struct ledger *l, const char *node, struct errd *e)
{
	char host[256];
	char *n;

	if (node == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		node = host;
	}
	n = strdup(node);
	if (n == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	free(l->node);
	l->node = n;
	return 0;
}

/* ---- open and close --------------------------------------------------- */

/* Read-only open: the file must exist and carry a schema this build reads. */
static int open_rdonly(struct ledger *l, struct errd *e)
{
	struct ledger_conn *c = NULL;
	int rc, v = 0;

	rc = ledger_reader_get(l, &c, e);
	if (rc < 0)
		goto out;
	rc = user_version(c, &v, e);
	if (rc < 0)
		goto out;
	if (v > N_MIGRATIONS)
		rc = too_new(l->path, v, e);
	else if (v == 0)
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "%s is not a thingca ledger (no schema): give the "
			     "ledger file with --ledger",
			     l->path);
out:
	ledger_reader_put(l, c);
	return rc;
}

/* Read-write open: create 0600, WAL, migrate, check the newest entry. */
static int open_rw(struct ledger *l, struct errd *e)
{
	int fd, rc;

	/* create the file ourselves so it never exists with umask's mode;
	 * SQLite gives -wal and -shm the mode of the database file */
	fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE, "cannot open %s: %s",
			     l->path, strerror(errno));
		goto out;
	}
	close(fd);
	rc = ledger_conn_open(&l->w, l->path, 0, e);
	if (rc < 0)
		goto out;
	rc = migrate(l, e);
	if (rc < 0)
		goto out;
	rc = check_newest(&l->w, e);
	if (rc < 0)
		goto out;
	if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot start the ledger writer");
		goto out;
	}
	l->writer_running = 1;
out:
	return rc;
}

/* See ledger.h. */
int ledger_open(const char *path, int flags, struct ledger **out,
		struct errd *e)
{
	struct ledger *l = NULL;
	struct stat sb;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	l->rdonly = (flags & LEDGER_RDONLY) != 0;
	if (ledger_set_node(l, NULL, e) < 0) {
		free(l->path);
		free(l);
		return -ERR_NOMEM;
	}
	pthread_mutex_init(&l->pool_mu, NULL);
	pthread_cond_init(&l->pool_cv, NULL);
	pthread_mutex_init(&l->q_mu, NULL);
	pthread_cond_init(&l->q_cv, NULL);
	if (l->rdonly) {
		if (stat(path, &sb) != 0) {
			rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
				     "no ledger at %s", path);
			goto out;
		}
		rc = open_rdonly(l, e);
	} else {
		rc = open_rw(l, e);
	}
out:
	if (rc < 0)
		ledger_close(l);
	else
		*out = l;
	return rc;
}

/* See ledger.h. NULL is a no-op. */
void ledger_close(struct ledger *l)
{
	int i;

	if (l == NULL)
		return;
	if (l->writer_running) {
		pthread_mutex_lock(&l->q_mu);
		l->stopping = 1;
		pthread_cond_signal(&l->q_cv);
		pthread_mutex_unlock(&l->q_mu);
		pthread_join(l->writer, NULL);
	}
	for (i = 0; i < LEDGER_READERS; i++)
		ledger_conn_close(&l->pool[i]);
	ledger_conn_close(&l->w);
	pthread_mutex_destroy(&l->pool_mu);
	pthread_cond_destroy(&l->pool_cv);
	pthread_mutex_destroy(&l->q_mu);
	pthread_cond_destroy(&l->q_cv);
	free(l->node);
	free(l->path);
	free(l);
}
