/*
 * ledger_writer — the one writer of a ledger: a thread that takes the
 * waiting jobs (issue, revoke, import, ping), runs them in one write
 * transaction of the backend (group commit: one fsync for the batch) and
 * wakes each caller with its own result. It appends to the hash chain
 * (seq, time, prev_hash, hash) and runs the issuance rules again inside the
 * transaction, under the chain lock. Backend-neutral: the store is reached
 * through l->ops (lib/ledger_backend.h).
 *
 * Trap: the head is read inside the write transaction (write_begin), never
 * cached across batches: `thingca serials import` or `thingca revoke` in
 * another process, or another node, may have appended since.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_int.h"
#include "util.h"

/* Jobs taken into one write transaction: bounds the time one batch holds
 * the write lock and the memory of its results, while still giving one fsync
 * to hundreds of stations' entries. */
#define LEDGER_BATCH_MAX 256

enum job_kind { JOB_ISSUE, JOB_REVOKE, JOB_IMPORT, JOB_PING };

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

/* The write transaction of one batch and the chain head inside it. */
struct batch_txn {
	struct ledger *l;
	struct ledger_session *t;
	int64_t head_seq;
	char head_hash[65];
};

/* A failure of the store (as opposed to a rule refusing one job): the
 * whole batch is rolled back. */
static int store_failed(int rc)
{
	return rc == -ERR_LEDGER_UNAVAILABLE || rc == -ERR_LEDGER_CORRUPT;
}

/* Appends en after the head: fills time, node, seq, prev_hash and hash of
 * en, inserts it, advances the head. Any failure fails the whole batch. */
static int append(struct batch_txn *b, struct ledger_entry *en, struct errd *e)
{
	struct ledger *l = b->l;
	char now[21];
	int rc;

	time_rfc3339(time(NULL), now);
	free(en->time);
	en->time = strdup(now);
	free(en->node);
	en->node = l->node ? strdup(l->node) : NULL;
	if (en->time == NULL || (l->node && en->node == NULL))
		return err_set(e, ERR_NOMEM, "out of memory");
	en->seq = b->head_seq + 1;
	memcpy(en->prev_hash, b->head_hash, 65);
	rc = ledger_entry_hash(en, en->prev_hash, en->hash, e);
	if (rc < 0)
		return rc;
	rc = l->ops->insert(b->t, en, e);
	if (rc < 0)
		return rc;
	b->head_seq = en->seq;
	memcpy(b->head_hash, en->hash, 65);
	return 0;
}

/* Job results: a rule's refusal belongs to the job alone (j->rc); a
 * failure of the store aborts the batch (returned). */
static int run_issue(struct batch_txn *b, struct ledger_job *j)
{
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
	rc = ledger_rules(b->l->ops, b->t, en->serial, en->spki_sha256,
			  j->require_allowlist, j->unique_keys, j->existing,
			  &j->err);
	if (store_failed(rc))
		return rc;
	if (rc < 0) {
		j->rc = rc;
		return 0;
	}
	rc = append(b, en, &j->err);
	if (rc < 0)
		return rc;
	j->recorded = 1;
	return 0;
}

static int run_revoke(struct batch_txn *b, struct ledger_job *j)
{
	const struct ledger_ops *ops = b->l->ops;
	struct ledger_entry issued = {.reissue = -1}, prior = {.reissue = -1};
	struct ledger_entry *m = &j->made;
	int rc;

	rc = ops->by_certificate(b->t, j->certificate_id, LEDGER_REVOKED,
				 &prior, &j->err);
	if (rc < 0)
		goto out;
	if (prior.seq) {
		j->rc = err_set(&j->err, ERR_ALREADY_REVOKED,
				"certificate %s was already revoked (ledger "
				"entry %lld)",
				j->certificate_id, (long long)prior.seq);
		goto out;
	}
	rc = ops->by_certificate(b->t, j->certificate_id, LEDGER_ISSUED,
				 &issued, &j->err);
	if (rc < 0)
		goto out;
	if (issued.seq == 0) {
		j->rc = err_set(&j->err, ERR_NOT_FOUND,
				"no certificate %s in the ledger",
				j->certificate_id);
		goto out;
	}
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
	rc = append(b, m, &j->err);
	if (rc == 0)
		j->recorded = 1;
out:
	ledger_entry_clear(&issued);
	ledger_entry_clear(&prior);
	return rc;
}

static int run_import(struct batch_txn *b, struct ledger_job *j)
{
	struct ledger_entry *m = &j->made;
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[32];
	char now[21], hex[65], *reason = NULL;
	size_t i;
	int rc = 0, need, added;

	time_rfc3339(time(NULL), now);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = err_set(&j->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	j->added = j->present = 0;
	for (i = 0; i < j->n; i++) {
		rc = b->l->ops->serial_insert(b->t, j->serials[i], j->batch,
					      now, &added, &j->err);
		if (rc < 0)
			goto out;
		if (added) {
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
	rc = append(b, m, &j->err);
	if (rc == 0)
		j->recorded = 1;
out:
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
	struct batch_txn b = {.l = l};
	struct ledger_job *j;
	struct errd why = {0};
	int rc;

	rc = l->ops->write_begin(l->s, &b.t, &b.head_seq, b.head_hash, &why);
	for (j = batch; j && rc == 0; j = j->next) {
		switch (j->kind) {
		case JOB_ISSUE:
			rc = run_issue(&b, j);
			break;
		case JOB_REVOKE:
			rc = run_revoke(&b, j);
			break;
		case JOB_IMPORT:
			rc = run_import(&b, j);
			break;
		case JOB_PING:
			/* A real write, undone: proves the store takes one. */
			rc = l->ops->probe(b.t, &j->err);
			break;
		}
		if (rc < 0)
			why = j->err;
	}
	if (rc == 0) {
		rc = l->ops->write_commit(l->s, b.t, &why);
	} else if (b.t) {
		l->ops->write_rollback(l->s, b.t);
	}
	if (rc < 0) {
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
			       "%s is open read-only", l->location);
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

/* See ledger_int.h. */
int ledger_writer_ping(struct ledger *l, struct errd *e)
{
	struct ledger_job j = {.kind = JOB_PING};

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

/* See ledger_int.h. */
int ledger_writer_start(struct ledger *l, struct errd *e)
{
	if (pthread_create(&l->writer, NULL, writer_main, l) != 0)
		return err_set(e, ERR_INTERNAL,
			       "cannot start the ledger writer");
	l->writer_running = 1;
	return 0;
}

/* See ledger_int.h. */
void ledger_writer_stop(struct ledger *l)
{
	if (!l->writer_running)
		return;
	pthread_mutex_lock(&l->q_mu);
	l->stopping = 1;
	pthread_cond_signal(&l->q_cv);
	pthread_mutex_unlock(&l->q_mu);
	pthread_join(l->writer, NULL);
	l->writer_running = 0;
}
