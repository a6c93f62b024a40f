/*
 * ledger_int — what lib/ledger.c (open, rules, reads) and
 * lib/ledger_writer.c (the writer thread and its jobs) share: struct ledger
 * and the one implementation of the issuance rules. Private to the ledger
 * module; backend-neutral (the backend is reached through l->ops only).
 */
#ifndef THINGCA_LEDGER_INT_H
#define THINGCA_LEDGER_INT_H

#include <pthread.h>
#include <stdint.h>

#include "ledger.h"
#include "ledger_backend.h"

struct ledger_job;

struct ledger {
	const struct ledger_ops *ops;
	struct ledger_store *s;
	char *location;
	char *node; /* stamped on every appended entry */
	int rdonly;

	/* Writer: q_mu guards the queue, stopping, done flags and counters. */
	pthread_t writer;
	int writer_running;
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv; /* work arrived / stopping */
	struct ledger_job *q_head, *q_tail;
	int stopping;
	int64_t batches, jobs;
};

/* The issuance rules (ledger.h, ledger_check_issue) on session t: a read
 * session for the pre-check, the write session for the authoritative check
 * inside the transaction. One function for both, so they cannot drift
 * apart. Rule refusals are the documented errors; a failure of the
 * backend is -ERR_LEDGER_UNAVAILABLE / -ERR_LEDGER_CORRUPT / -ERR_NOMEM. */
int ledger_rules(const struct ledger_ops *ops, struct ledger_session *t,
		 const char *serial, const char *spki, int require_allowlist,
		 int unique_keys, struct ledger_entry *existing,
		 struct errd *e);

/* The backend for location: a database URI selects PostgreSQL (when built
 * in), anything else is an SQLite file path. NULL with e set when this
 * build cannot open it. Also ledger_copy's, which opens two stores. */
const struct ledger_ops *ledger_backend_for(const char *location,
					    struct errd *e);

/* Starts the writer thread (read-write opens). 0 or -ERR_INTERNAL. */
int ledger_writer_start(struct ledger *l, struct errd *e);
/* Stops it after the queued jobs (no-op when not running). */
void ledger_writer_stop(struct ledger *l);
/* The writer's probe job: a real write through the writer, rolled back
 * with the batch it rides in when it fails. */
int ledger_writer_ping(struct ledger *l, struct errd *e);
/* Write batches committed (or failed) and jobs run so far: 0 when read-only. */
void ledger_writer_counts(struct ledger *l, int64_t *batches, int64_t *jobs);

#endif
