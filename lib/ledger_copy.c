/*
 * ledger_copy — a whole ledger into an empty one, between backends or
 * files (DESIGN.md "Command line", `thingca ledger copy`): an SQLite line
 * ledger into PostgreSQL when a site grows, a PostgreSQL ledger into one
 * SQLite file an auditor takes away.
 *
 * Entries are copied exactly as stored (seq, time, hashes, DER, node: no
 * field recomputed), with the serial allowlist, in one write transaction
 * on the destination, so a copy is complete or absent. The chain is
 * checked while copying (each entry's prev_hash is the previous hash, its
 * hash recomputes) and the destination's own constraints re-check it;
 * afterwards both sides are verified from scratch and must end at the same
 * head.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_copy.h"
#include "ledger_int.h"

struct copy_ctx {
	const struct ledger_ops *ops;
	struct ledger_session *t;
	int64_t seq, n;
	char hash[65];
	struct errd err;
};

/* Walk callback: checks en continues the chain, then inserts it. */
static int copy_entry(void *arg, const struct ledger_entry *en)
{
	struct copy_ctx *x = arg;
	char h[65];
	int rc;

	if (en->seq != x->seq + 1 || strcmp(en->prev_hash, x->hash) != 0)
		return err_set(&x->err, ERR_LEDGER_CORRUPT,
			       "source entry %lld does not follow entry %lld: "
			       "run `thingca ledger verify` on the source",
			       (long long)en->seq, (long long)x->seq);
	rc = ledger_entry_hash(en, en->prev_hash, h, &x->err);
	if (rc == 0 && strcmp(h, en->hash) != 0)
		rc = err_set(&x->err, ERR_LEDGER_CORRUPT,
			     "source entry %lld does not match its hash: run "
			     "`thingca ledger verify` on the source",
			     (long long)en->seq);
	if (rc == 0)
		rc = x->ops->insert(x->t, en, &x->err);
	if (rc < 0)
		return rc;
	x->seq = en->seq;
	memcpy(x->hash, en->hash, sizeof(x->hash));
	x->n++;
	return 0;
}

struct serial_ctx {
	const struct ledger_ops *ops;
	struct ledger_session *t;
	int64_t n;
	struct errd err;
};

static int copy_serial(void *arg, const char *serial, const char *batch,
		       const char *imported_at)
{
	struct serial_ctx *x = arg;
	int added = 0, rc;

	rc = x->ops->serial_insert(x->t, serial, batch, imported_at, &added,
				   &x->err);
	if (rc == 0 && !added)
		rc = err_set(&x->err, ERR_LEDGER_CORRUPT,
			     "serial %s twice in the source", serial);
	if (rc == 0)
		x->n++;
	return rc;
}

/* Removes a new SQLite file and its -wal / -shm (a copy that failed). */
static void remove_file(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* ledger_verify of location, read-only: its head into seq / hash. */
static int verify_side(const char *location, int64_t *seq, char hash[65],
		       struct errd *e)
{
	struct ledger *l = NULL;
	int64_t count = 0, bad = 0;
	int rc;

	rc = ledger_open(location, LEDGER_RDONLY, &l, e);
	if (rc == 0)
		rc = ledger_verify(l, 0, NULL, &count, &bad, e);
	if (rc == 0)
		rc = ledger_head(l, seq, hash, e);
	ledger_close(l);
	return rc;
}

/* See ledger_copy.h. */
int ledger_copy(const char *from, const char *to,
		struct ledger_copy_result *res, struct errd *e)
{
	const struct ledger_ops *fo, *to_ops;
	struct ledger_store *fs = NULL, *ts = NULL;
	struct ledger_session *t = NULL;
	struct copy_ctx cx = {0};
	struct serial_ctx sx = {0};
	struct ledger_stats st;
	int64_t hs = 0, bad = 0, vseq = 0;
	char hh[65], vhash[65];
	int rc, made_file = 0;

	memset(res, 0, sizeof(*res));
	fo = ledger_backend_for(from, e);
	to_ops = ledger_backend_for(to, e);
	if (fo == NULL || to_ops == NULL)
		return -ERR_LEDGER_UNAVAILABLE;
	if (!ledger_location_is_uri(to) && access(to, F_OK) == 0)
		return err_set(e, ERR_IO,
			       "%s exists: ledger copy writes a new file (or "
			       "an empty database); give another name",
			       to);
	rc = fo->open(from, 1, &fs, e);
	if (rc < 0)
		goto out;
	made_file = !ledger_location_is_uri(to);
	rc = to_ops->open(to, 0, &ts, e);
	if (rc < 0)
		goto out;
	rc = to_ops->stats(ts, &st, e);
	if (rc < 0)
		goto out;
	if (st.entries > 0 || st.allowlisted > 0) {
		made_file = 0;
		rc = err_set(e, ERR_IO,
			     "the destination is not empty (%lld entries, %lld "
			     "serials): ledger copy writes only into an empty "
			     "database or a new file",
			     (long long)st.entries, (long long)st.allowlisted);
		goto out;
	}
	rc = to_ops->write_begin(ts, &t, &hs, hh, e);
	if (rc < 0)
		goto out;
	if (hs != 0) {
		rc = err_set(e, ERR_IO,
			     "the destination is not empty (head %lld)",
			     (long long)hs);
		goto out;
	}
	cx.ops = to_ops;
	cx.t = t;
	memcpy(cx.hash, hh, sizeof(cx.hash)); /* 64 zeros */
	rc = fo->walk(fs, 0, copy_entry, &cx, &bad, e);
	if (rc != 0) {
		if (cx.err.msg[0])
			*e = cx.err;
		goto out;
	}
	sx.ops = to_ops;
	sx.t = t;
	rc = fo->serials(fs, copy_serial, &sx, e);
	if (rc != 0) {
		if (sx.err.msg[0])
			*e = sx.err;
		goto out;
	}
	rc = to_ops->write_commit(ts, t, e);
	t = NULL;
	if (rc < 0)
		goto out;
	to_ops->close(ts);
	ts = NULL;
	fo->close(fs);
	fs = NULL;

	res->entries = cx.n;
	res->serials = sx.n;
	rc = verify_side(from, &res->head_seq, res->head_hash, e);
	if (rc == 0)
		rc = verify_side(to, &vseq, vhash, e);
	if (rc == 0 &&
	    (vseq != res->head_seq || strcmp(vhash, res->head_hash) != 0 ||
	     vseq != cx.seq || strcmp(vhash, cx.hash) != 0))
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "the copy ends at entry %lld, the source at %lld: "
			     "the heads differ",
			     (long long)vseq, (long long)res->head_seq);
	made_file = rc < 0 && made_file;
out:
	if (t)
		to_ops->write_rollback(ts, t);
	if (ts)
		to_ops->close(ts);
	if (fs)
		fo->close(fs);
	if (rc < 0 && made_file)
		remove_file(to);
	return rc < 0 ? rc : 0;
}
