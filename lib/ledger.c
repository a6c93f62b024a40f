/*
 * ledger — the ledger whatever stores it: choosing the backend for a
 * location, opening (with the newest entry's hash checked), the issuance
 * rules of DESIGN.md written once, and the reads every caller uses (list
 * with its filters and cursor, lookups, the head, the verify walk, the
 * CRL's revocations, counts, readiness, backup). The writer thread is
 * lib/ledger_writer.c; a backend is the operations table of
 * lib/ledger_backend.h (lib/ledger_sqlite.c). No SQL here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ledger_int.h"
#include "util.h"

/* ledger_list page size when the query says 0. */
#define LEDGER_PAGE_DEFAULT 100

/* ---- backends --------------------------------------------------------- */

/* See ledger.h. */
int ledger_location_is_uri(const char *location)
{
	return location && (strncmp(location, "postgresql://", 13) == 0 ||
			    strncmp(location, "postgres://", 11) == 0);
}

/* See ledger_int.h. */
const struct ledger_ops *ledger_backend_for(const char *location,
					    struct errd *e)
{
	if (ledger_location_is_uri(location)) {
#ifdef THINGCA_LEDGER_PG
		(void)e;
		return &ledger_pg_ops;
#else
		err_set(e, ERR_LEDGER_UNAVAILABLE,
			"this build has no PostgreSQL backend: use an SQLite "
			"ledger file, or a thingca built with PostgreSQL");
		return NULL;
#endif
	}
	return &ledger_sqlite_ops;
}

/* ---- open and close --------------------------------------------------- */

/* Recomputes the newest entry's hash: catches the cheap tampering (an
 * edited last row) at every start; ledger verify checks the whole chain. */
static int check_newest(struct ledger *l, struct errd *e)
{
	struct ledger_entry en = {.reissue = -1};
	struct ledger_session *t = NULL;
	char h[65];
	int rc;

	rc = l->ops->read_begin(l->s, &t, e);
	if (rc < 0)
		goto out;
	rc = l->ops->newest(t, &en, e);
	if (rc < 0 || en.seq == 0)
		goto out;
	rc = ledger_entry_hash(&en, en.prev_hash, h, e);
	if (rc < 0 || strcmp(h, en.hash) != 0)
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "ledger entry %lld does not match its hash: the "
			     "file was altered; restore the last backup and "
			     "run `thingca ledger verify`",
			     (long long)en.seq);
out:
	l->ops->read_end(l->s, t);
	ledger_entry_clear(&en);
	return rc;
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

/* See ledger.h. */
int ledger_open(const char *location, int flags, struct ledger **out,
		struct errd *e)
{
	struct ledger *l = NULL;
	int rc;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->location = strdup(location)) == NULL) {
		free(l);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	l->rdonly = (flags & LEDGER_RDONLY) != 0;
	pthread_mutex_init(&l->q_mu, NULL);
	pthread_cond_init(&l->q_cv, NULL);
	rc = ledger_set_node(l, NULL, e);
	if (rc < 0)
		goto out;
	l->ops = ledger_backend_for(location, e);
	if (l->ops == NULL) {
		rc = -ERR_LEDGER_UNAVAILABLE;
		goto out;
	}
	rc = l->ops->open(location, l->rdonly, &l->s, e);
	if (rc < 0 || l->rdonly)
		goto out;
	rc = check_newest(l, e);
	if (rc < 0)
		goto out;
	rc = ledger_writer_start(l, e);
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
	if (l == NULL)
		return;
	ledger_writer_stop(l);
	if (l->ops && l->s)
		l->ops->close(l->s);
	pthread_mutex_destroy(&l->q_mu);
	pthread_cond_destroy(&l->q_cv);
	free(l->node);
	free(l->location);
	free(l);
}

/* ---- issuance rules --------------------------------------------------- */

/* See ledger_int.h. DESIGN.md's order: allowlist, revocation block, key
 * reuse, then the serial's current certificate. */
int ledger_rules(const struct ledger_ops *ops, struct ledger_session *t,
		 const char *serial, const char *spki, int require_allowlist,
		 int unique_keys, struct ledger_entry *existing, struct errd *e)
{
	struct ledger_entry cur = {.reissue = -1};
	char other[LEDGER_NAME_MAX];
	int64_t rseq = 0;
	int rc, found = 0, reissue = 1;

	if (serial == NULL)
		return err_set(e, ERR_MALFORMED_REQUEST, "no serial");
	if (require_allowlist) {
		rc = ops->serial_allowed(t, serial, &found, e);
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
	/* blocked: the newest revocation said reissue=0 and no issuance
	 * followed it */
	rc = ops->last_revocation(t, serial, &rseq, &reissue, e);
	if (rc < 0)
		goto out;
	if (rseq > 0 && !reissue) {
		rc = ops->issued_after(t, serial, rseq, &found, e);
		if (rc < 0)
			goto out;
		if (!found) {
			rc = err_set(e, ERR_SERIAL_REVOKED,
				     "serial %s is blocked: its certificate "
				     "was revoked without reissue",
				     serial);
			goto out;
		}
	}
	if (spki && unique_keys) {
		rc = ops->spki_other_serial(t, spki, serial, other, &found, e);
		if (rc < 0)
			goto out;
		if (found) {
			rc = err_set(e, ERR_PUBLIC_KEY_REUSED,
				     "this public key was already certified "
				     "for serial %s: a cloned device or a key "
				     "generator without entropy",
				     other);
			goto out;
		}
		rc = ops->spki_revoked(t, spki, serial, other, &found, e);
		if (rc < 0)
			goto out;
		if (found) {
			rc = err_set(e, ERR_PUBLIC_KEY_REUSED,
				     "this public key belongs to revoked "
				     "certificate %s of serial %s: a reissue "
				     "needs a new key",
				     other, serial);
			goto out;
		}
	}
	rc = ops->current(t, serial, &cur, e);
	if (rc < 0 || cur.seq == 0)
		goto out;
	rc = err_set(e, ERR_SERIAL_ALREADY_ISSUED,
		     "serial %s already has certificate %s: revoke it (with "
		     "reissue) before issuing another",
		     serial, cur.certificate_id ? cur.certificate_id : "?");
	if (existing) {
		ledger_entry_clear(existing);
		*existing = cur;
		memset(&cur, 0, sizeof(cur));
	}
out:
	ledger_entry_clear(&cur);
	return rc;
}

/* See ledger.h. A read session keeps the several lookups consistent. */
int ledger_check_issue(struct ledger *l, const char *serial,
		       const char *spki_sha256, int require_allowlist,
		       int unique_keys, struct ledger_entry *existing,
		       struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc;

	rc = l->ops->read_begin(l->s, &t, e);
	if (rc == 0)
		rc = ledger_rules(l->ops, t, serial, spki_sha256,
				  require_allowlist, unique_keys, existing, e);
	l->ops->read_end(l->s, t);
	return rc;
}

/* ---- reads ------------------------------------------------------------ */

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

/* One page of ledger_list: the caller's callback for the first limit
 * rows; the row after them only says another page exists. */
struct page {
	int (*cb)(void *arg, const struct ledger_entry *en);
	void *arg;
	int limit, got;
	int64_t last, *next;
};

static int page_row(void *arg, const struct ledger_entry *en)
{
	struct page *p = arg;

	if (p->got == p->limit) {
		*p->next = p->last;
		return 1; /* stop: not the caller's return */
	}
	p->got++;
	p->last = en->seq;
	return p->cb(p->arg, en);
}

/* See ledger.h. */
int ledger_list(struct ledger *l, const struct ledger_query *q,
		int (*cb)(void *arg, const struct ledger_entry *en), void *arg,
		int64_t *next, struct errd *e)
{
	struct ledger_query bq = *q;
	struct page p = {.cb = cb, .arg = arg, .next = next};
	char since[21], until[21];
	int rc;

	*next = 0;
	p.limit = q->limit <= 0 ? LEDGER_PAGE_DEFAULT : q->limit;
	if (p.limit > LEDGER_PAGE_MAX)
		p.limit = LEDGER_PAGE_MAX;
	if (q->since && (rc = norm_time(q->since, since, "since", e)) < 0)
		return rc;
	if (q->until && (rc = norm_time(q->until, until, "until", e)) < 0)
		return rc;
	if (q->event && ledger_event_name(q->event) == NULL)
		return err_set(e, ERR_MALFORMED_REQUEST, "unknown event %d",
			       q->event);
	bq.since = q->since ? since : NULL;
	bq.until = q->until ? until : NULL;
	bq.after = q->after > 0 ? q->after : 0;
	/* one row more than the page tells whether another page exists */
	bq.limit = p.limit + 1;
	rc = l->ops->list(l->s, &bq, page_row, &p, e);
	if (rc == 1 && *next)
		rc = 0; /* page_row's stop after a full page */
	return rc;
}

/* See ledger.h. */
int ledger_get_certificate(struct ledger *l, const char *certificate_id,
			   struct ledger_entry *out,
			   struct ledger_entry *revoked, struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc;

	rc = l->ops->read_begin(l->s, &t, e);
	if (rc < 0)
		goto out;
	rc = l->ops->by_certificate(t, certificate_id, LEDGER_ISSUED, out, e);
	if (rc < 0)
		goto out;
	if (out->seq == 0) {
		rc = err_set(e, ERR_NOT_FOUND,
			     "no certificate %s in the ledger", certificate_id);
		goto out;
	}
	if (revoked)
		rc = l->ops->by_certificate(t, certificate_id, LEDGER_REVOKED,
					    revoked, e);
out:
	if (rc < 0)
		ledger_entry_clear(out);
	l->ops->read_end(l->s, t);
	return rc;
}

/* See ledger.h. */
int ledger_head(struct ledger *l, int64_t *seq, char hash[65], struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc;

	rc = l->ops->read_begin(l->s, &t, e);
	if (rc == 0)
		rc = l->ops->head(t, seq, hash, e);
	l->ops->read_end(l->s, t);
	return rc;
}

/* The state of the verify walk. */
struct verify {
	int64_t head_seq, last, n, bad;
	char prev[65], anchor[65];
	struct errd *e;
};

static int verify_row(void *arg, const struct ledger_entry *en)
{
	struct verify *v = arg;
	char h[65];

	v->n++;
	if (en->seq != v->last + 1) {
		v->bad = en->seq;
		return err_set(v->e, ERR_LEDGER_CORRUPT,
			       "entry %lld: seq gap after %lld (entry "
			       "deleted?)",
			       (long long)en->seq, (long long)v->last);
	}
	if (strcmp(en->prev_hash, v->prev) != 0) {
		v->bad = en->seq;
		return err_set(v->e, ERR_LEDGER_CORRUPT,
			       "entry %lld: prev_hash does not match entry "
			       "%lld's hash (reordered or replaced?)",
			       (long long)en->seq, (long long)v->last);
	}
	if (en->event == 0 ||
	    ledger_entry_hash(en, en->prev_hash, h, NULL) < 0 ||
	    strcmp(h, en->hash) != 0) {
		v->bad = en->seq;
		return err_set(v->e, ERR_LEDGER_CORRUPT,
			       "entry %lld: hash does not match its contents",
			       (long long)en->seq);
	}
	if (en->seq == v->head_seq)
		memcpy(v->anchor, en->hash, sizeof(v->anchor));
	v->last = en->seq;
	memcpy(v->prev, en->hash, sizeof(v->prev));
	return 0;
}

/* See ledger.h. One walk streams the chain: one snapshot, constant memory
 * however long the ledger is. */
int ledger_verify_head(struct ledger *l, int64_t head_seq,
		       const char *head_hash, int64_t *count, int64_t *bad_seq,
		       char last_hash[65], struct errd *e)
{
	struct verify v = {.head_seq = head_seq, .e = e};
	int64_t wbad = 0;
	int rc;

	memset(v.prev, '0', 64);
	*bad_seq = 0;
	rc = l->ops->walk(l->s, 0, verify_row, &v, &wbad, e);
	if (rc < 0) {
		*bad_seq = v.bad ? v.bad : wbad;
	} else if (head_seq > 0 && v.last < head_seq) {
		*bad_seq = head_seq;
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "the ledger ends at seq %lld but the anchor names "
			     "seq %lld: entries were removed",
			     (long long)v.last, (long long)head_seq);
	} else if (head_seq > 0 && (head_hash == NULL ||
				    strcasecmp(v.anchor, head_hash) != 0)) {
		*bad_seq = head_seq;
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "entry %lld differs from the anchored head",
			     (long long)head_seq);
	}
	*count = v.n;
	if (last_hash)
		memcpy(last_hash, v.prev, 65);
	return rc;
}

/* See ledger.h. */
int ledger_verify(struct ledger *l, int64_t head_seq, const char *head_hash,
		  int64_t *count, int64_t *bad_seq, struct errd *e)
{
	return ledger_verify_head(l, head_seq, head_hash, count, bad_seq, NULL,
				  e);
}

/* See ledger.h. */
int ledger_revocations(struct ledger *l,
		       int (*cb)(void *arg, const char *cert_serial_hex,
				 const char *time, const char *reason),
		       void *arg, int64_t *max_seq, struct errd *e)
{
	*max_seq = 0;
	return l->ops->revocations(l->s, cb, arg, max_seq, e);
}

/* See ledger.h. */
int ledger_serials(struct ledger *l,
		   int (*cb)(void *arg, const char *serial, const char *batch,
			     const char *imported_at),
		   void *arg, struct errd *e)
{
	return l->ops->serials(l->s, cb, arg, e);
}

/* See ledger.h. allowlisted_unissued costs the backend about a second per
 * million serials, so callers poll it, not per request. */
int ledger_stats(struct ledger *l, struct ledger_stats *st, struct errd *e)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = l->ops->stats(l->s, st, e);
	if (rc == 0)
		ledger_writer_counts(l, &st->write_batches, &st->write_jobs);
	return rc;
}

/* See ledger.h. The backend's cheap check first (SQLite: the file is still
 * the one at the path, enough free space), then a real write through the
 * writer. */
int ledger_ping(struct ledger *l, struct errd *e)
{
	int rc = l->ops->check(l->s, e);

	if (rc < 0)
		return rc;
	return ledger_writer_ping(l, e);
}

/* See ledger.h. */
int ledger_backup(const char *location, const char *to, int force,
		  struct errd *e)
{
	const struct ledger_ops *ops = ledger_backend_for(location, e);

	if (ops == NULL)
		return -ERR_LEDGER_UNAVAILABLE;
	if (ops->backup == NULL)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "ledger backup is not supported by the %s "
			       "backend: use the database's own backup",
			       ops->name);
	return ops->backup(location, to, force, e);
}
