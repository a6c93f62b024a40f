/*
 * ledger_pg — the PostgreSQL backend of the ledger (DESIGN.md "Shared
 * PostgreSQL ledger"): several thingcad nodes appending to one hash chain
 * in one database. The only file that includes libpq-fe.h.
 *
 * What it owns: connections (a libpq URI, several hosts allowed, the
 * password from a passfile), their session settings, reconnecting with
 * backoff, the chain lock of a write batch, classifying a COMMIT's outcome,
 * the schema (sql/pg/, applied by one node at a time), and the primitive
 * lookups and inserts the rules in lib/ledger.c run on.
 *
 * Session settings, and why (set on every connection, see pg_session):
 * - lock_timeout 8 s: the longest a writer waits for the chain lock (or any
 *   other lock). Longer than idle_in_transaction_session_timeout, so a node
 *   waiting behind a frozen one gets the lock when the server ends the
 *   frozen session rather than giving up first; short enough that a
 *   station gets its 503 before its own HTTP timeout.
 * - idle_in_transaction_session_timeout 5 s: a node frozen (SIGSTOP, a
 *   hung host) while its batch holds the chain lock sits idle in its
 *   transaction; the server ends that session, rolling the batch back and
 *   freeing the lock. A batch's own gaps between statements are
 *   microseconds.
 * - statement_timeout 10 s: no statement blocks a writer for ever. It
 *   does not cover a COMMIT's wait for a synchronous standby that is
 *   gone: the node bounds that itself (PG_COMMIT_WAIT_MS, then a cancel,
 *   which PostgreSQL answers with success and a WARNING: see pg_commit).
 * - client_connection_check_interval 2 s and the server's tcp_keepalives_*:
 *   the server notices a killed node's socket during a long statement.
 * - synchronous_commit on: whatever the server's default, our commits are
 *   flushed locally and, where synchronous_standby_names is set, on the
 *   standby before COMMIT returns.
 * On the client side the conninfo adds keepalives (idle 5 s, interval 2 s,
 * count 3), tcp_user_timeout 10 s and connect_timeout 5 s (per host of a
 * multi-host URI), each overridable in the URI: a node notices a database
 * host that vanished without closing its sockets within seconds, not hours.
 *
 * Traps met here:
 * - The write transaction is READ COMMITTED on purpose: each statement
 *   sees what was committed before it started, so the head and the rules
 *   read after pg_advisory_xact_lock returns include the batch the
 *   previous lock holder committed. Under REPEATABLE READ the snapshot is
 *   taken by the first statement (the lock wait itself) and would miss it.
 * - A successful COMMIT is PGRES_COMMAND_OK with command tag "COMMIT"; an
 *   aborted transaction's COMMIT is also PGRES_COMMAND_OK, tagged
 *   "ROLLBACK".
 * - PostgreSQL answers a COMMIT whose wait for the synchronous standby was
 *   cancelled (pg_cancel_backend, a shutdown) with
 *   success and the WARNING "canceling wait for synchronous replication":
 *   committed locally, maybe never on the standby a failover promotes.
 *   Notices arrive through PQsetNoticeReceiver, in the thread running the
 *   query.
 */
#ifdef THINGCA_LEDGER_PG
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger_backend.h"
#include "util.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#include "sql_pg.h"

#define N_PG_MIGRATIONS                                                        \
	((int)(sizeof(sql_pg_migrations) / sizeof(sql_pg_migrations[0])))

/* Advisory lock keys (two int4 form): a class of our own, then one object
 * per purpose. Advisory locks are per database, like the ledger. */
#define PG_LOCK_CLASS 0x74686361 /* "thca" */
#define PG_LOCK_SCHEMA 1
#define PG_LOCK_CHAIN 2

/* Backoff between reconnection attempts after a lost connection: from the
 * first to the last, doubling. The first retry is quick (a restarted
 * server, a promoted standby); the cap keeps a dead host from costing each
 * request a connect timeout, and bounds how long after the database is
 * back a node takes to notice. */
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 2000

/* How long a COMMIT may wait for its answer (in practice: for the
 * synchronous standby's acknowledgement) before the node cancels the wait,
 * and how long after the cancel it waits for the server to say so. Under
 * a station's HTTP timeout together; far above a healthy commit. */
#define PG_COMMIT_WAIT_MS 5000
#define PG_CANCEL_GRACE_MS 3000

/* Rows fetched per query of a walk (verify, export, copy): bounds memory. */
#define PG_WALK_PAGE 1000

static const char PG_SESSION[] =
    "SET lock_timeout = '8s'; "
    "SET idle_in_transaction_session_timeout = '5s'; "
    "SET statement_timeout = '10s'; "
    "SET client_connection_check_interval = '2s'; "
    "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
    "SET tcp_keepalives_count = 3; "
    "SET synchronous_commit = on; SET bytea_output = 'hex'; "
    "SET client_encoding = 'UTF8'; "
    "SET default_transaction_isolation = 'read committed'";

enum pg_stmt {
	PGS_HEAD,
	PGS_ALLOWED,
	PGS_LAST_REVOKE,
	PGS_ISSUED_AFTER,
	PGS_SPKI_OTHER,
	PGS_SPKI_REVOKED,
	PGS_CURRENT,
	PGS_BY_CERT,
	PGS_INSERT,
	PGS_SERIAL_INSERT,
	PGS_NEWEST,
	PGS_WALK,
	PGS_SERIALS_WALK,
	PGS_COUNT
};

/* The columns of a ledger row, in the order pg_row_entry reads them. */
#define PG_COLS                                                                \
	"seq, time, event, client, node, serial, thing_name, certificate_id, " \
	"ca_certificate_id, certificate_serial, spki_sha256, not_before, "     \
	"not_after, reason, reissue, der, prev_hash, hash"
#define PG_COLS_NODER                                                          \
	"seq, time, event, client, node, serial, thing_name, certificate_id, " \
	"ca_certificate_id, certificate_serial, spki_sha256, not_before, "     \
	"not_after, reason, reissue, NULL::bytea, prev_hash, hash"

/* Prepared per connection on first use. Parameters are text ($n::type
 * where the type is not text) except der, sent binary. */
static const struct {
	const char *name, *sql;
	int nparams;
} pg_stmts[PGS_COUNT] = {
    [PGS_HEAD] = {"head",
		  "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", 0},
    [PGS_ALLOWED] = {"allowed", "SELECT 1 FROM serials WHERE serial = $1", 1},
    [PGS_LAST_REVOKE] = {"last_revoke",
			 "SELECT seq, reissue FROM ledger WHERE serial = $1 "
			 "AND event = 'revoked' ORDER BY seq DESC LIMIT 1",
			 1},
    [PGS_ISSUED_AFTER] = {"issued_after",
			  "SELECT 1 FROM ledger WHERE serial = $1 AND event = "
			  "'issued' AND seq > $2::bigint LIMIT 1",
			  2},
    [PGS_SPKI_OTHER] = {"spki_other",
			"SELECT serial FROM ledger WHERE spki_sha256 = $1 AND "
			"event = 'issued' AND serial <> $2 LIMIT 1",
			2},
    [PGS_SPKI_REVOKED] = {"spki_revoked",
			  "SELECT certificate_id FROM ledger WHERE spki_sha256 "
			  "= $1 AND event = 'revoked' AND serial = $2 LIMIT 1",
			  2},
    [PGS_CURRENT] = {"current",
		     "SELECT " PG_COLS " FROM ledger AS i WHERE serial = $1 "
		     "AND event = 'issued' AND NOT EXISTS (SELECT 1 FROM "
		     "ledger AS r WHERE r.certificate_id = i.certificate_id "
		     "AND r.event = 'revoked') ORDER BY seq DESC LIMIT 1",
		     1},
    [PGS_BY_CERT] = {"by_cert",
		     "SELECT " PG_COLS " FROM ledger WHERE certificate_id = $1 "
		     "AND event = $2 ORDER BY seq LIMIT 1",
		     2},
    [PGS_INSERT] = {"insert",
		    "INSERT INTO ledger (" PG_COLS ") VALUES ($1::bigint, $2, "
		    "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
		    "$15::smallint, $16::bytea, $17, $18)",
		    18},
    [PGS_SERIAL_INSERT] = {"serial_insert",
			   "INSERT INTO serials (serial, batch, imported_at) "
			   "VALUES ($1, $2, $3) ON CONFLICT (serial) DO "
			   "NOTHING",
			   3},
    [PGS_NEWEST] = {"newest",
		    "SELECT " PG_COLS " FROM ledger ORDER BY seq DESC LIMIT 1",
		    0},
    [PGS_WALK] = {"walk",
		  "SELECT " PG_COLS " FROM ledger WHERE seq > $1::bigint "
		  "ORDER BY seq LIMIT " STR(PG_WALK_PAGE),
		  1},
    [PGS_SERIALS_WALK] = {"serials_walk",
			  "SELECT serial, batch, imported_at FROM serials "
			  "WHERE serial > $1 ORDER BY serial LIMIT " STR(
			      PG_WALK_PAGE),
			  1},
};

/* One connection: the writer's, or one reader's. Used by one thread at a
 * time. */
struct pg_conn {
	PGconn *conn;
	const struct pg_db *db;
	unsigned prepared; /* bit per enum pg_stmt */
	int reader;	   /* default_transaction_read_only */
	/* a WARNING arrived (notice receiver) since pg_commit armed it */
	int warned;
	char warning[200];
	/* reconnecting: no attempt before retry_at (ms, CLOCK_MONOTONIC) */
	int64_t retry_at;
	int backoff;
};

/* What every connection to one ledger shares. */
struct pg_db {
	char *uri;	   /* as configured, never holding a password */
	char *where;	   /* for messages: host(s) and database */
	char *passfile;	   /* $CREDENTIALS_DIRECTORY/pgpass, or NULL */
	char identity[64]; /* ledger_identity.id of the database opened */
	char appname[80];  /* fallback_application_name: thingcad/<node> */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's last error as one line without the trailing newline (libpq's
 * messages name host and port, never the password). */
static const char *pg_errmsg(PGconn *conn, char *buf, size_t n)
{
	const char *m = conn ? PQerrorMessage(conn) : "out of memory";
	size_t len;

	snprintf(buf, n, "%s", m && *m ? m : "unknown error");
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return buf;
}

/* Notice receiver: remembers a WARNING (see the trap on COMMIT above);
 * NOTICE and below are ignored (CREATE ... IF NOT EXISTS says "skipping"). */
static void pg_notice(void *arg, const PGresult *r)
{
	struct pg_conn *c = arg;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	if (sev && strcmp(sev, "WARNING") == 0) {
		c->warned = 1;
		snprintf(c->warning, sizeof(c->warning), "%s",
			 msg ? msg : "(no message)");
	}
}

/* Checks uri before any use: a postgresql:// or postgres:// URI libpq
 * parses, without an inline password (DESIGN.md "Configuration": the
 * password comes from a passfile or a credential, never the
 * configuration or a command line; a password in argv is visible to
 * every local user). *where gets "host[,host]/dbname" for messages. The
 * message never repeats the URI, which may hold the password. */
static int pg_check_uri(const char *uri, char **where, struct errd *e)
{
	PQconninfoOption *opts = NULL, *o;
	char *err = NULL, buf[512];
	const char *host = NULL, *port = NULL, *dbname = NULL;
	int rc = 0;

	*where = NULL;
	opts = PQconninfoParse(uri, &err);
	if (opts == NULL) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "ledger: not a libpq connection URI: %s",
			     err ? err : "out of memory");
		goto out;
	}
	for (o = opts; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "ledger: the URI holds a password: put it "
				     "in a libpq passfile (PGPASSFILE, "
				     "~/.pgpass, or a systemd credential "
				     "named pgpass) and leave it out of the "
				     "URI");
			goto out;
		}
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	snprintf(buf, sizeof(buf), "postgresql://%s%s%s/%s",
		 host ? host : "localhost", port ? ":" : "", port ? port : "",
		 dbname ? dbname : "");
	*where = strdup(buf);
	if (*where == NULL)
		rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	PQfreemem(err);
	PQconninfoFree(opts);
	return rc;
}

/* Opens c (closed) on db: connect, notice receiver, session settings.
 * -ERR_LEDGER_UNAVAILABLE with libpq's reason. */
static int pg_connect(struct pg_conn *c, struct errd *e)
{
	/* ours first, then the URI (dbname, expanded): a setting the URI
	 * names wins over our default (libpq keeps the last value given) */
	const char *kw[10], *val[10];
	PGresult *r = NULL;
	char buf[512];
	int rc = 0, n = 0;

#define KV(k, v) (kw[n] = (k), val[n++] = (v))
	KV("connect_timeout", "5");
	KV("keepalives", "1");
	KV("keepalives_idle", "5");
	KV("keepalives_interval", "2");
	KV("keepalives_count", "3");
	KV("tcp_user_timeout", "10000");
	KV("fallback_application_name", c->db->appname);
	if (c->db->passfile)
		KV("passfile", c->db->passfile);
	KV("dbname", c->db->uri);
#undef KV
	kw[n] = val[n] = NULL;
	c->prepared = 0;
	c->conn = PQconnectdbParams(kw, val, 1);
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
		rc =
		    err_set(e, ERR_LEDGER_UNAVAILABLE,
			    "cannot connect to the ledger at %s: %s",
			    c->db->where, pg_errmsg(c->conn, buf, sizeof(buf)));
		goto out;
	}
	PQsetNoticeReceiver(c->conn, pg_notice, c);
	r = PQexec(c->conn, PG_SESSION);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc =
		    err_set(e, ERR_LEDGER_UNAVAILABLE,
			    "ledger at %s: session settings refused: %s",
			    c->db->where, pg_errmsg(c->conn, buf, sizeof(buf)));
		goto out;
	}
	PQclear(r);
	r = NULL;
	if (c->reader) {
		r = PQexec(c->conn, "SET default_transaction_read_only = on");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
				     "ledger at %s: %s", c->db->where,
				     pg_errmsg(c->conn, buf, sizeof(buf)));
			goto out;
		}
	}
out:
	PQclear(r);
	if (rc < 0) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	return rc;
}

/* Closes c's connection (no-op when closed). */
static void pg_disconnect(struct pg_conn *c)
{
	PQfinish(c->conn);
	c->conn = NULL;
	c->prepared = 0;
}

static int pg_same_ledger(struct pg_conn *c, struct errd *e);

/* A connection that works, reconnecting when it was lost: at most one
 * attempt per backoff period (doubling from PG_BACKOFF_MIN_MS to
 * PG_BACKOFF_MAX_MS), so while the database is away requests get their
 * 503 at once instead of each waiting for a connect timeout. With a
 * multi-host URI and target_session_attrs=read-write each attempt tries
 * the hosts in order: a promoted standby is found without a restart. */
static int pg_ensure(struct pg_conn *c, struct errd *e)
{
	int64_t now = mono_ms();
	int rc;

	if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	if (c->conn)
		pg_disconnect(c);
	if (now < c->retry_at)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "the ledger at %s is unreachable (retrying "
			       "in %lld ms)",
			       c->db->where, (long long)(c->retry_at - now));
	rc = pg_connect(c, e);
	if (rc < 0) {
		c->backoff = c->backoff ? c->backoff * 2 : PG_BACKOFF_MIN_MS;
		if (c->backoff > PG_BACKOFF_MAX_MS)
			c->backoff = PG_BACKOFF_MAX_MS;
		c->retry_at = mono_ms() + c->backoff;
		return rc;
	}
	c->backoff = 0;
	c->retry_at = 0;
	return pg_same_ledger(c, e);
}

/* The error of a failed result r on c, as a ledger error in e: every
 * failure of the database is -ERR_LEDGER_UNAVAILABLE (the batch decides
 * nothing) except a schema that is not ours (-ERR_LEDGER_CORRUPT). A
 * lost connection, or a server now read-only (a demoted primary), drops
 * the connection so that the next use reconnects. */
static int pg_fail(struct pg_conn *c, const PGresult *r, const char *what,
		   struct errd *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char buf[512];
	int code = ERR_LEDGER_UNAVAILABLE;

	pg_errmsg(c->conn, buf, sizeof(buf));
	if (state && (strcmp(state, "42P01") == 0 || /* undefined_table */
		      strcmp(state, "42703") == 0))  /* undefined_column */
		code = ERR_LEDGER_CORRUPT;
	err_set(e, code, "ledger at %s: %s: %s", c->db->where, what, buf);
	if (PQstatus(c->conn) != CONNECTION_OK ||
	    (state && (strncmp(state, "08", 2) == 0 ||	/* connection */
		       strcmp(state, "25006") == 0 ||	/* read only */
		       strncmp(state, "57P", 3) == 0))) /* shutdown */
		pg_disconnect(c);
	return -code;
}

/* Runs a statement without results (BEGIN, ROLLBACK, SET ...). */
static int pg_exec(struct pg_conn *c, const char *sql, const char *what,
		   struct errd *e)
{
	PGresult *r = PQexec(c->conn, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c, r, what, e);
	PQclear(r);
	return rc;
}

/* Runs prepared statement id with text parameters vals (NULL = SQL NULL);
 * for PGS_INSERT the 16th parameter is binary (der, derlen bytes). *out
 * the result (PQclear it), NULL on failure. */
static int pg_run(struct pg_conn *c, enum pg_stmt id, const char *const *vals,
		  const unsigned char *der, size_t derlen, PGresult **out,
		  struct errd *e)
{
	int lens[18] = {0}, fmts[18] = {0}, n = pg_stmts[id].nparams, i;
	const char *v[18];
	PGresult *r;
	ExecStatusType s;

	*out = NULL;
	if (c->conn == NULL)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "the ledger at %s is not connected",
			       c->db->where);
	if (!(c->prepared & (1u << id))) {
		r = PQprepare(c->conn, pg_stmts[id].name, pg_stmts[id].sql, n,
			      NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int rc = pg_fail(c, r, "preparing a statement", e);

			PQclear(r);
			return rc;
		}
		PQclear(r);
		c->prepared |= 1u << id;
	}
	if (id == PGS_INSERT) {
		/* der, binary: no escaping round trip for the largest field */
		for (i = 0; i < 18; i++)
			v[i] = vals[i];
		v[15] = (const char *)der;
		fmts[15] = 1;
		lens[15] = (int)derlen;
		vals = v;
	}
	r = PQexecPrepared(c->conn, pg_stmts[id].name, n, vals, lens, fmts, 0);
	s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		int rc = pg_fail(c, r, "querying", e);

		PQclear(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* Asks the server to cancel what c's backend runs (the wait of a COMMIT
 * for the synchronous standby), over a connection of its own to the very
 * host c is connected to, bounded by connect_timeout: PQcancel() of
 * PostgreSQL 15's libpq connects without a timeout, which would hang the
 * writer on a host that vanished. Best effort. */
static void pg_cancel_backend(struct pg_conn *c)
{
	const char *kw[] = {"dbname",
			    "host",
			    "port",
			    "connect_timeout",
			    "target_session_attrs",
			    "passfile",
			    NULL},
		   *val[7];
	char pid[16], sql[64];
	PGconn *k;
	int n;

	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c->conn));
	val[0] = c->db->uri;
	val[1] = PQhost(c->conn);
	val[2] = PQport(c->conn);
	val[3] = "2";
	val[4] = "any";
	val[5] = c->db->passfile;
	n = c->db->passfile ? 6 : 5;
	kw[n] = NULL;
	val[n] = NULL;
	k = PQconnectdbParams((const char *const *)kw, val, 1);
	if (k && PQstatus(k) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "SELECT pg_cancel_backend(%s)", pid);
		PQclear(PQexec(k, sql));
	}
	PQfinish(k);
}

/* Sends COMMIT and waits for its result, at most PG_COMMIT_WAIT_MS, then
 * cancels the backend's wait and waits PG_CANCEL_GRACE_MS more. Trap:
 * statement_timeout does not bound a COMMIT's wait for the synchronous
 * standby (PostgreSQL disables the statement timer before it commits), so
 * with the standby gone a plain PQexec("COMMIT") never returns. The last
 * result, or NULL when none came (the caller drops the connection). */
static PGresult *pg_commit_result(struct pg_conn *c)
{
	int64_t deadline = mono_ms() + PG_COMMIT_WAIT_MS;
	PGresult *r, *last = NULL;
	struct pollfd p;
	int cancelled = 0, left, n;

	if (!PQsendQuery(c->conn, "COMMIT"))
		return NULL;
	for (;;) {
		while (!PQisBusy(c->conn)) {
			r = PQgetResult(c->conn);
			if (r == NULL)
				return last;
			PQclear(last);
			last = r;
		}
		left = (int)(deadline - mono_ms());
		if (left <= 0) {
			if (cancelled)
				break;
			pg_cancel_backend(c);
			cancelled = 1;
			deadline = mono_ms() + PG_CANCEL_GRACE_MS;
			continue;
		}
		p.fd = PQsocket(c->conn);
		p.events = POLLIN;
		p.revents = 0;
		n = poll(&p, 1, left);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && !PQconsumeInput(c->conn))
			break;
	}
	PQclear(last);
	return NULL;
}

/* COMMIT, and whether it is known to be durable: 0 only when the server
 * answered PGRES_COMMAND_OK tagged COMMIT, no WARNING arrived meanwhile
 * (the cancelled synchronous-replication wait) and the connection is
 * still up. Anything else is -ERR_LEDGER_UNAVAILABLE: the outcome is
 * unknown or not replicated, so nothing of the batch may be answered; the
 * station's retry finds the entry if it was committed. */
static int pg_commit(struct pg_conn *c, struct errd *e)
{
	PGresult *r;
	char buf[512];
	int rc = 0;

	c->warned = 0;
	r = pg_commit_result(c);
	if (c->warned) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "ledger at %s: the commit is not confirmed "
			     "durable (the server warned: %s)",
			     c->db->where, c->warning);
		/* a session whose sync wait was cancelled by a shutdown is
		 * being ended by the server */
		pg_disconnect(c);
	} else if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK ||
		   PQstatus(c->conn) != CONNECTION_OK) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "ledger at %s: the commit's outcome is unknown "
			     "(%s)",
			     c->db->where,
			     r ? pg_errmsg(c->conn, buf, sizeof(buf))
			       : "no answer in time");
		pg_disconnect(c);
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "ledger at %s: the transaction was rolled back",
			     c->db->where);
	}
	PQclear(r);
	return rc;
}

/* Ends any transaction on c; a connection that cannot is dropped. */
static void pg_rollback(struct pg_conn *c)
{
	PGresult *r;

	if (c->conn == NULL)
		return;
	if (PQtransactionStatus(c->conn) == PQTRANS_IDLE)
		return;
	r = PQexec(c->conn, "ROLLBACK");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		pg_disconnect(c);
	PQclear(r);
}

/* ---- rows ------------------------------------------------------------- */

static int pg_dup(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	*out = strdup(PQgetvalue(r, row, col));
	return *out ? 0 : -1;
}

/* bytea in hex output ("\x0a1b..."): its bytes into a malloc'd buffer. */
static int pg_bytea(const PGresult *r, int row, int col, unsigned char **out,
		    size_t *len)
{
	const char *v;
	size_t n;

	*out = NULL;
	*len = 0;
	if (PQgetisnull(r, row, col))
		return 0;
	v = PQgetvalue(r, row, col);
	n = strlen(v);
	if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2 != 0)
		return -2;
	*len = (n - 2) / 2;
	*out = malloc(*len ? *len : 1);
	if (*out == NULL)
		return -1;
	if (hex_decode(v + 2, *out, *len) != 0) {
		free(*out);
		*out = NULL;
		return -2;
	}
	return 0;
}

/* Row row of r (columns PG_COLS) into en, cleared first. -ERR_NOMEM,
 * -ERR_LEDGER_CORRUPT for a value no thingca wrote. */
static int pg_row_entry(const PGresult *r, int row, struct ledger_entry *en,
			struct errd *e)
{
	const char *h;
	int bad = 0, b;

	ledger_entry_clear(en);
	en->seq = strtoll(PQgetvalue(r, row, 0), NULL, 10);
	bad |= pg_dup(r, row, 1, &en->time);
	en->event = ledger_event_parse(PQgetvalue(r, row, 2));
	bad |= pg_dup(r, row, 3, &en->client);
	bad |= pg_dup(r, row, 4, &en->node);
	bad |= pg_dup(r, row, 5, &en->serial);
	bad |= pg_dup(r, row, 6, &en->thing_name);
	bad |= pg_dup(r, row, 7, &en->certificate_id);
	bad |= pg_dup(r, row, 8, &en->ca_certificate_id);
	bad |= pg_dup(r, row, 9, &en->certificate_serial);
	bad |= pg_dup(r, row, 10, &en->spki_sha256);
	bad |= pg_dup(r, row, 11, &en->not_before);
	bad |= pg_dup(r, row, 12, &en->not_after);
	bad |= pg_dup(r, row, 13, &en->reason);
	en->reissue = PQgetisnull(r, row, 14)
			  ? -1
			  : strtol(PQgetvalue(r, row, 14), NULL, 10) != 0;
	b = pg_bytea(r, row, 15, &en->der, &en->der_len);
	if (bad || b == -1) {
		ledger_entry_clear(en);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	h = PQgetvalue(r, row, 16);
	snprintf(en->prev_hash, sizeof(en->prev_hash), "%s", h);
	if (strlen(h) != 64)
		b = -3;
	h = PQgetvalue(r, row, 17);
	snprintf(en->hash, sizeof(en->hash), "%s", h);
	if (strlen(h) != 64 || en->event == 0)
		b = -3;
	if (b == -3)
		return err_set(e, ERR_LEDGER_CORRUPT,
			       "entry %lld: not a row thingca writes (event "
			       "or hash)",
			       (long long)en->seq);
	if (b == -2)
		return err_set(e, ERR_LEDGER_CORRUPT,
			       "entry %lld: certificate DER unreadable",
			       (long long)en->seq);
	return 0;
}

/* ---- schema ------------------------------------------------------------ */

static int pg_too_new(const struct pg_db *db, int v, struct errd *e)
{
	return err_set(e, ERR_LEDGER_CORRUPT,
		       "%s: schema version %d is newer than this build knows "
		       "(%d): run a thingca at least as new as the nodes that "
		       "wrote it",
		       db->where, v, N_PG_MIGRATIONS);
}

/* First column of the first row of sql as an int (0 when no row). */
static int pg_int(struct pg_conn *c, const char *sql, long long *v,
		  const char *what, struct errd *e)
{
	PGresult *r = PQexec(c->conn, sql);
	int rc = 0;

	*v = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c, r, what, e);
	else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		*v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return rc;
}

/* Creates or migrates the schema, one node at a time: the schema lock is
 * a transaction-level advisory lock, so nodes starting together wait for
 * the first, then find its schema. Refuses a schema newer than this
 * build. The database starts empty and owned by the ledger's role
 * (DESIGN.md), which therefore may create tables in it. */
static int pg_migrate(struct pg_conn *c, struct errd *e)
{
	char sql[128];
	long long v = 0;
	int rc, i;

	rc = pg_exec(c, "BEGIN", "starting the schema transaction", e);
	if (rc < 0)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d, %d)",
		 PG_LOCK_CLASS, PG_LOCK_SCHEMA);
	rc = pg_exec(c, sql, "taking the schema lock", e);
	if (rc == 0)
		rc = pg_exec(c,
			     "CREATE TABLE IF NOT EXISTS schema_version "
			     "(version integer NOT NULL)",
			     "creating schema_version", e);
	if (rc == 0)
		rc = pg_int(c, "SELECT max(version) FROM schema_version", &v,
			    "reading the schema version", e);
	if (rc < 0)
		goto out;
	if (v > N_PG_MIGRATIONS) {
		rc = pg_too_new(c->db, (int)v, e);
		goto out;
	}
	for (i = (int)v; i < N_PG_MIGRATIONS; i++) {
		snprintf(sql, sizeof(sql), "applying migration %d", i + 1);
		rc = pg_exec(c, sql_pg_migrations[i], sql, e);
		if (rc < 0)
			goto out;
	}
	if (v < N_PG_MIGRATIONS) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM schema_version; INSERT INTO "
			 "schema_version VALUES (%d)",
			 N_PG_MIGRATIONS);
		rc = pg_exec(c, sql, "recording the schema version", e);
		if (rc < 0)
			goto out;
	}
	rc = pg_commit(c, e);
out:
	if (rc < 0)
		pg_rollback(c);
	return rc;
}

/* The schema of an existing ledger, for a read-only open: present, and
 * not newer than this build. */
static int pg_schema_check(struct pg_conn *c, struct errd *e)
{
	long long v = 0;
	int rc;

	rc = pg_int(c,
		    "SELECT CASE WHEN to_regclass('schema_version') IS NULL "
		    "THEN NULL ELSE 1 END",
		    &v, "reading the schema", e);
	if (rc < 0)
		return rc;
	if (v == 0)
		return err_set(e, ERR_LEDGER_UNAVAILABLE,
			       "%s is not a thingca ledger (no schema): give "
			       "the ledger's URI with --ledger",
			       c->db->where);
	rc = pg_int(c, "SELECT max(version) FROM schema_version", &v,
		    "reading the schema version", e);
	if (rc == 0 && v > N_PG_MIGRATIONS)
		rc = pg_too_new(c->db, (int)v, e);
	return rc;
}

/* The ledger_identity ID into out[64]. */
static int pg_identity(struct pg_conn *c, char out[64], struct errd *e)
{
	PGresult *r = PQexec(c->conn, "SELECT id FROM ledger_identity");
	int rc = 0;

	out[0] = '\0';
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_fail(c, r, "reading the ledger's identity", e);
	else if (PQntuples(r) != 1)
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "%s: ledger_identity has %d rows, not one",
			     c->db->where, PQntuples(r));
	else
		snprintf(out, 64, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* After a (re)connection: is this the database the ledger was opened on?
 * A URI that now reaches another database (dropped and recreated, a
 * standby of another cluster promoted, a DNS change) is refused, not
 * written to as a fresh start. The first connection (no identity yet)
 * is checked by the open. */
static int pg_same_ledger(struct pg_conn *c, struct errd *e)
{
	char id[64];
	int rc;

	if (c->db->identity[0] == '\0')
		return 0;
	rc = pg_identity(c, id, e);
	if (rc == 0 && strcmp(id, c->db->identity) != 0)
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "%s is not the ledger this node opened (identity "
			     "%s, opened %s): check the URI and the database; "
			     "restart thingcad to open the new one",
			     c->db->where, id, c->db->identity);
	if (rc < 0)
		pg_disconnect(c);
	return rc;
}

/* ---- primitives --------------------------------------------------------- */

/* The newest entry's seq and hash (0 and 64 zeros when empty). */
static int pg_head(struct pg_conn *c, int64_t *seq, char hash[65],
		   struct errd *e)
{
	PGresult *r = NULL;
	int rc = pg_run(c, PGS_HEAD, NULL, NULL, 0, &r, e);

	*seq = 0;
	memset(hash, '0', 64);
	hash[64] = '\0';
	if (rc == 0 && PQntuples(r) > 0) {
		*seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(hash, 65, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return rc;
}

/* Begins a write batch: a READ COMMITTED transaction holding the chain
 * lock until it ends, then the head read under it. One lock per batch of
 * this node's writer, never per request: group commit per node, one
 * chain for all. lock_timeout bounds the wait (-ERR_LEDGER_UNAVAILABLE). */
static int pg_write_begin(struct pg_conn *c, int64_t *seq, char hash[65],
			  struct errd *e)
{
	char sql[160];
	int rc;

	rc = pg_ensure(c, e);
	if (rc < 0)
		return rc;
	snprintf(sql, sizeof(sql),
		 "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT "
		 "pg_advisory_xact_lock(%d, %d)",
		 PG_LOCK_CLASS, PG_LOCK_CHAIN);
	rc = pg_exec(c, sql, "taking the chain lock", e);
	if (rc == 0)
		rc = pg_head(c, seq, hash, e);
	if (rc < 0)
		pg_rollback(c);
	return rc;
}

/* Does statement id with vals return a row? 1 / 0 / negative error. */
static int pg_exists(struct pg_conn *c, enum pg_stmt id,
		     const char *const *vals, struct errd *e)
{
	PGresult *r = NULL;
	int rc = pg_run(c, id, vals, NULL, 0, &r, e);

	if (rc == 0)
		rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

/* Statement id with vals: 1 with the first row's first column in
 * out[outsz], 0 when no row, or a negative error. */
static int pg_text(struct pg_conn *c, enum pg_stmt id, const char *const *vals,
		   char *out, size_t outsz, struct errd *e)
{
	PGresult *r = NULL;
	int rc = pg_run(c, id, vals, NULL, 0, &r, e);

	if (rc == 0 && PQntuples(r) > 0) {
		snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/* Statement id (columns PG_COLS) with vals: 1 with the first row in en,
 * 0 when none, or a negative error. */
static int pg_entry(struct pg_conn *c, enum pg_stmt id, const char *const *vals,
		    struct ledger_entry *en, struct errd *e)
{
	PGresult *r = NULL;
	int rc = pg_run(c, id, vals, NULL, 0, &r, e);

	if (rc == 0 && PQntuples(r) > 0) {
		rc = pg_row_entry(r, 0, en, e);
		if (rc == 0)
			rc = 1;
	}
	PQclear(r);
	return rc;
}

/* Appends en (seq, time, prev_hash and hash set) in the write transaction.
 * The schema's trigger keeps current_cert and key_owner and checks the
 * link to the previous entry; a refusal aborts the batch. */
static int pg_insert(struct pg_conn *c, const struct ledger_entry *en,
		     struct errd *e)
{
	char seq[24], reissue[4];
	const char *v[18] = {
	    seq,
	    en->time,
	    ledger_event_name(en->event),
	    en->client,
	    en->node,
	    en->serial,
	    en->thing_name,
	    en->certificate_id,
	    en->ca_certificate_id,
	    en->certificate_serial,
	    en->spki_sha256,
	    en->not_before,
	    en->not_after,
	    en->reason,
	    en->reissue < 0 ? NULL : reissue,
	    NULL,
	    en->prev_hash,
	    en->hash,
	};
	PGresult *r = NULL;
	int rc;

	snprintf(seq, sizeof(seq), "%lld", (long long)en->seq);
	snprintf(reissue, sizeof(reissue), "%d", en->reissue != 0);
	rc = pg_run(c, PGS_INSERT, v, en->der, en->der_len, &r, e);
	PQclear(r);
	return rc;
}

/* Adds serial to the allowlist: 1 added, 0 already present. */
static int pg_serial_insert(struct pg_conn *c, const char *serial,
			    const char *batch, const char *when, struct errd *e)
{
	const char *v[3] = {serial, batch, when};
	PGresult *r = NULL;
	int rc = pg_run(c, PGS_SERIAL_INSERT, v, NULL, 0, &r, e);

	if (rc == 0)
		rc = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return rc;
}

/* The append-only and rules triggers exist and are enabled (a superuser
 * can disable them: ALTER TABLE ... DISABLE TRIGGER). */
static int pg_triggers_ok(struct pg_conn *c, struct errd *e)
{
	long long n = 0;
	int rc = pg_int(c,
			"SELECT count(*) FROM pg_trigger WHERE tgrelid = "
			"'ledger'::regclass AND tgenabled <> 'D' AND tgname "
			"IN ('ledger_no_update', 'ledger_no_delete', "
			"'ledger_no_truncate', 'ledger_rules')",
			&n, "checking the ledger's triggers", e);

	if (rc == 0 && n != 4)
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "%s: the ledger's append-only triggers are "
			     "missing or disabled: someone with the owner's "
			     "or a superuser's rights altered the schema; run "
			     "`thingca ledger verify`",
			     c->db->where);
	return rc;
}

/* Calls cb on every entry with seq > after in seq order, PG_WALK_PAGE
 * rows per query, in one REPEATABLE READ READ ONLY transaction (one
 * snapshot: the walk sees the ledger as of its start while nodes append).
 * Stops when cb returns non-zero (returned). */
static int pg_walk(struct pg_conn *c, int64_t after_seq,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, int64_t *bad_seq, struct errd *e)
{
	struct ledger_entry en = {.reissue = -1};
	char after[24];
	const char *v[1] = {after};
	PGresult *r = NULL;
	int rc, i, n;

	*bad_seq = 0;
	snprintf(after, sizeof(after), "%lld", (long long)after_seq);
	rc = pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		     "starting a read", e);
	while (rc == 0) {
		rc = pg_run(c, PGS_WALK, v, NULL, 0, &r, e);
		if (rc < 0)
			break;
		n = PQntuples(r);
		for (i = 0; i < n && rc == 0; i++) {
			rc = pg_row_entry(r, i, &en, e);
			if (rc == -ERR_LEDGER_CORRUPT)
				*bad_seq = en.seq;
			if (rc == 0)
				rc = cb(arg, &en);
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
				 PQgetvalue(r, n - 1, 0));
		PQclear(r);
		r = NULL;
		if (n < PG_WALK_PAGE)
			break;
	}
	ledger_entry_clear(&en);
	pg_rollback(c);
	return rc;
}

/* One page of GET /v1/ledger (the ledger_ops list contract): the WHERE
 * clause from fixed fragments, every value a parameter, one statement
 * (one snapshot). */
static int pg_list(struct pg_conn *c, const struct ledger_query *q,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, struct errd *e)
{
	struct ledger_entry en = {.reissue = -1};
	char sql[1024], after[24], lim[16];
	const char *vals[10];
	PGresult *r = NULL;
	int nv = 0, rc, i, n;
	size_t len;

	snprintf(after, sizeof(after), "%lld",
		 (long long)(q->after > 0 ? q->after : 0));
	vals[nv++] = after;
	len = (size_t)snprintf(sql, sizeof(sql),
			       "SELECT %s FROM ledger WHERE seq > $1::bigint",
			       q->with_der ? PG_COLS : PG_COLS_NODER);
#define FILTER(cond, frag, val)                                                \
	do {                                                                   \
		if (cond) {                                                    \
			vals[nv++] = (val);                                    \
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,  \
						" AND " frag " $%d", nv);      \
		}                                                              \
	} while (0)
	FILTER(q->serial, "serial =", q->serial);
	FILTER(q->thing_name, "thing_name =", q->thing_name);
	FILTER(q->station, "client =", q->station);
	FILTER(q->certificate_id, "certificate_id =", q->certificate_id);
	FILTER(q->event, "event =", ledger_event_name(q->event));
	FILTER(q->since, "time >=", q->since);
	FILTER(q->until, "time <", q->until);
#undef FILTER
	snprintf(lim, sizeof(lim), "%d", q->limit > 0 ? q->limit : 1);
	vals[nv++] = lim;
	snprintf(sql + len, sizeof(sql) - len, " ORDER BY seq LIMIT $%d::int",
		 nv);
	r = PQexecParams(c->conn, sql, nv, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_fail(c, r, "listing the ledger", e);
		goto out;
	}
	n = PQntuples(r);
	for (i = 0, rc = 0; i < n && rc == 0; i++) {
		rc = pg_row_entry(r, i, &en, e);
		if (rc == 0)
			rc = cb(arg, &en);
	}
out:
	PQclear(r);
	ledger_entry_clear(&en);
	return rc;
}

/* Every revocation for the CRL, in seq order; *max_seq the newest's seq. */
static int pg_revocations(struct pg_conn *c,
			  int (*cb)(void *arg, const char *cert_serial_hex,
				    const char *time, const char *reason),
			  void *arg, int64_t *max_seq, struct errd *e)
{
	PGresult *r = NULL;
	int rc, i, n;

	*max_seq = 0;
	rc = pg_ensure(c, e);
	if (rc < 0)
		return rc;
	r = PQexec(c->conn, "SELECT seq, certificate_serial, time, reason "
			    "FROM ledger WHERE event = 'revoked' ORDER BY seq");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_fail(c, r, "reading revocations", e);
		goto out;
	}
	n = PQntuples(r);
	for (i = 0; i < n && rc == 0; i++) {
		*max_seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		if (PQgetisnull(r, i, 1))
			continue;
		rc = cb(arg, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
			PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3));
	}
out:
	PQclear(r);
	return rc;
}

/* The counts of /metrics and STATUS= in one statement (one snapshot).
 * allowlisted_unissued from current_cert would miss revoked serials; it
 * asks the ledger, like the SQLite backend. */
static int pg_stats(struct pg_conn *c, struct ledger_stats *st, struct errd *e)
{
	PGresult *r = NULL;
	int rc;

	rc = pg_ensure(c, e);
	if (rc < 0)
		return rc;
	r = PQexec(c->conn,
		   "SELECT (SELECT count(*) FROM ledger), "
		   "(SELECT count(*) FROM ledger WHERE event = 'issued'), "
		   "(SELECT count(*) FROM ledger WHERE event = 'revoked'), "
		   "(SELECT count(*) FROM serials), "
		   "(SELECT count(*) FROM serials AS s WHERE NOT EXISTS "
		   "(SELECT 1 FROM ledger AS i WHERE i.serial = s.serial AND "
		   "i.event = 'issued'))");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		rc = pg_fail(c, r, "counting", e);
		goto out;
	}
	st->entries = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	st->issued = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	st->revoked = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	st->allowlisted = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	st->allowlisted_unissued = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
out:
	PQclear(r);
	return rc;
}

/* ---- the store and its sessions ------------------------------------------ */

/* Reader connections per process: the daemon's request threads run short
 * pre-checks and audit pages; a few connections serve them, and several
 * nodes times (writer + readers) stay well inside a server's
 * max_connections (100 by default). A reader waits for a free one. */
#define PG_READERS 4

struct ledger_session {
	struct pg_conn c;
	int in_use;
};

struct ledger_store {
	struct pg_db db;
	int rdonly;
	struct ledger_session w; /* the writer thread's */
	pthread_mutex_t mu;	 /* guards in_use of the pool */
	pthread_cond_t cv;
	struct ledger_session pool[PG_READERS];
};

/* A free reader connection, connected (reconnecting when it broke). */
static int pool_get(struct ledger_store *s, struct ledger_session **out,
		    struct errd *e)
{
	struct ledger_session *t = NULL;
	int i, rc;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (i = 0; i < PG_READERS && t == NULL; i++)
			if (!s->pool[i].in_use)
				t = &s->pool[i];
		if (t)
			break;
		pthread_cond_wait(&s->cv, &s->mu);
	}
	t->in_use = 1;
	pthread_mutex_unlock(&s->mu);
	rc = pg_ensure(&t->c, e);
	if (rc < 0) {
		pthread_mutex_lock(&s->mu);
		t->in_use = 0;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	*out = t;
	return 0;
}

static void pool_put(struct ledger_store *s, struct ledger_session *t)
{
	if (t == NULL)
		return;
	pg_rollback(&t->c);
	pthread_mutex_lock(&s->mu);
	t->in_use = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void pg_close(struct ledger_store *s)
{
	int i;

	if (s == NULL)
		return;
	pg_disconnect(&s->w.c);
	for (i = 0; i < PG_READERS; i++)
		pg_disconnect(&s->pool[i].c);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->db.uri);
	free(s->db.where);
	free(s->db.passfile);
	free(s);
}

/* $CREDENTIALS_DIRECTORY/pgpass when systemd passed one (LoadCredential=
 * pgpass:...) and PGPASSFILE does not name another: the passfile of a
 * sandboxed service that has no home directory. NULL otherwise. */
static char *credential_passfile(void)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	if (getenv("PGPASSFILE") || dir == NULL || *dir == '\0')
		return NULL;
	snprintf(path, sizeof(path), "%s/pgpass", dir);
	if (access(path, R_OK) != 0)
		return NULL;
	return strdup(path);
}

static int pg_open(const char *location, int rdonly, struct ledger_store **out,
		   struct errd *e)
{
	struct ledger_store *s;
	struct pg_conn *c;
	int rc, i;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->rdonly = rdonly;
	rc = pg_check_uri(location, &s->db.where, e);
	if (rc < 0)
		goto out;
	s->db.uri = strdup(location);
	s->db.passfile = credential_passfile();
	if (s->db.uri == NULL) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(s->db.appname, sizeof(s->db.appname), "%s",
		 program_invocation_short_name);
	s->w.c.db = &s->db;
	for (i = 0; i < PG_READERS; i++) {
		s->pool[i].c.db = &s->db;
		s->pool[i].c.reader = 1;
	}
	/* the first connection: the writer's when read-write, else a
	 * reader's; errors here are reported at once, no backoff */
	c = rdonly ? &s->pool[0].c : &s->w.c;
	rc = pg_connect(c, e);
	if (rc < 0)
		goto out;
	rc = rdonly ? pg_schema_check(c, e) : pg_migrate(c, e);
	if (rc == 0)
		rc = pg_identity(c, s->db.identity, e);
	if (rc == 0 && !rdonly)
		rc = pg_triggers_ok(c, e);
out:
	if (rc < 0)
		pg_close(s);
	else
		*out = s;
	return rc;
}

/* Identity and readiness: on a reader connection, the database is still
 * the one opened (pg_ensure compares the identity after a reconnect), it
 * takes writes (a primary, not a standby in recovery), and its triggers
 * are in place. One round trip. */
static int pg_check(struct ledger_store *s, struct errd *e)
{
	struct ledger_session *t = NULL;
	PGresult *r = NULL;
	int rc;

	rc = pool_get(s, &t, e);
	if (rc < 0)
		return rc;
	r = PQexec(t->c.conn,
		   "SELECT (SELECT id FROM ledger_identity), "
		   "pg_is_in_recovery(), (SELECT count(*) FROM pg_trigger "
		   "WHERE tgrelid = 'ledger'::regclass AND tgenabled <> 'D' "
		   "AND tgname IN ('ledger_no_update', 'ledger_no_delete', "
		   "'ledger_no_truncate', 'ledger_rules'))");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		rc = pg_fail(&t->c, r, "checking the ledger", e);
	} else if (strcmp(PQgetvalue(r, 0, 0), s->db.identity) != 0) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "%s is not the ledger this node opened",
			     s->db.where);
	} else if (strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "%s is a standby in recovery (read-only): list "
			     "the primary's hosts in the URI with "
			     "target_session_attrs=read-write",
			     s->db.where);
		pg_disconnect(&t->c);
	} else if (strcmp(PQgetvalue(r, 0, 2), "4") != 0) {
		rc = err_set(e, ERR_LEDGER_UNAVAILABLE,
			     "%s: the ledger's append-only triggers are "
			     "missing or disabled; run `thingca ledger verify`",
			     s->db.where);
	}
	PQclear(r);
	pool_put(s, t);
	return rc;
}

static int pg_read_begin(struct ledger_store *s, struct ledger_session **out,
			 struct errd *e)
{
	int rc = pool_get(s, out, e);

	if (rc == 0)
		rc = pg_exec(&(*out)->c,
			     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			     "starting a read", e);
	if (rc < 0 && *out) {
		pool_put(s, *out);
		*out = NULL;
	}
	return rc;
}

static void pg_read_end(struct ledger_store *s, struct ledger_session *t)
{
	pool_put(s, t);
}

static int pg_write_begin_op(struct ledger_store *s,
			     struct ledger_session **out, int64_t *head_seq,
			     char head_hash[65], struct errd *e)
{
	int rc = pg_write_begin(&s->w.c, head_seq, head_hash, e);

	*out = rc == 0 ? &s->w : NULL;
	return rc;
}

static int pg_write_commit(struct ledger_store *s, struct ledger_session *t,
			   struct errd *e)
{
	int rc = pg_commit(&t->c, e);

	(void)s;
	if (rc < 0)
		pg_rollback(&t->c);
	return rc;
}

static void pg_write_rollback(struct ledger_store *s, struct ledger_session *t)
{
	(void)s;
	if (t)
		pg_rollback(&t->c);
}

/* ---- the lookups, as the operations table has them ---------------------- */

static int op_head(struct ledger_session *t, int64_t *seq, char hash[65],
		   struct errd *e)
{
	return pg_head(&t->c, seq, hash, e);
}

static int op_newest(struct ledger_session *t, struct ledger_entry *out,
		     struct errd *e)
{
	int rc;

	ledger_entry_clear(out);
	rc = pg_entry(&t->c, PGS_NEWEST, NULL, out, e);
	return rc < 0 ? rc : 0;
}

static int op_serial_allowed(struct ledger_session *t, const char *serial,
			     int *found, struct errd *e)
{
	const char *v[1] = {serial};
	int rc = pg_exists(&t->c, PGS_ALLOWED, v, e);

	*found = rc > 0;
	return rc < 0 ? rc : 0;
}

static int op_last_revocation(struct ledger_session *t, const char *serial,
			      int64_t *seq, int *reissue, struct errd *e)
{
	const char *v[1] = {serial};
	PGresult *r = NULL;
	int rc = pg_run(&t->c, PGS_LAST_REVOKE, v, NULL, 0, &r, e);

	*seq = 0;
	*reissue = 1;
	if (rc == 0 && PQntuples(r) > 0) {
		*seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*reissue = strtol(PQgetvalue(r, 0, 1), NULL, 10) != 0;
	}
	PQclear(r);
	return rc;
}

static int op_issued_after(struct ledger_session *t, const char *serial,
			   int64_t after, int *found, struct errd *e)
{
	char a[24];
	const char *v[2] = {serial, a};
	int rc;

	snprintf(a, sizeof(a), "%lld", (long long)after);
	rc = pg_exists(&t->c, PGS_ISSUED_AFTER, v, e);
	*found = rc > 0;
	return rc < 0 ? rc : 0;
}

static int op_spki_other_serial(struct ledger_session *t, const char *spki,
				const char *serial, char other[LEDGER_NAME_MAX],
				int *found, struct errd *e)
{
	const char *v[2] = {spki, serial};
	int rc = pg_text(&t->c, PGS_SPKI_OTHER, v, other, LEDGER_NAME_MAX, e);

	*found = rc > 0;
	return rc < 0 ? rc : 0;
}

static int op_spki_revoked(struct ledger_session *t, const char *spki,
			   const char *serial, char cert_id[LEDGER_NAME_MAX],
			   int *found, struct errd *e)
{
	const char *v[2] = {spki, serial};
	int rc =
	    pg_text(&t->c, PGS_SPKI_REVOKED, v, cert_id, LEDGER_NAME_MAX, e);

	*found = rc > 0;
	return rc < 0 ? rc : 0;
}

static int op_current(struct ledger_session *t, const char *serial,
		      struct ledger_entry *out, struct errd *e)
{
	const char *v[1] = {serial};
	int rc;

	ledger_entry_clear(out);
	rc = pg_entry(&t->c, PGS_CURRENT, v, out, e);
	return rc < 0 ? rc : 0;
}

static int op_by_certificate(struct ledger_session *t,
			     const char *certificate_id, int event,
			     struct ledger_entry *out, struct errd *e)
{
	const char *v[2] = {certificate_id, ledger_event_name(event)};
	int rc;

	ledger_entry_clear(out);
	rc = pg_entry(&t->c, PGS_BY_CERT, v, out, e);
	return rc < 0 ? rc : 0;
}

static int op_insert(struct ledger_session *t, const struct ledger_entry *en,
		     struct errd *e)
{
	return pg_insert(&t->c, en, e);
}

static int op_serial_insert(struct ledger_session *t, const char *serial,
			    const char *batch, const char *imported_at,
			    int *added, struct errd *e)
{
	int rc = pg_serial_insert(&t->c, serial, batch, imported_at, e);

	*added = rc > 0;
	return rc < 0 ? rc : 0;
}

static int op_probe(struct ledger_session *t, struct errd *e)
{
	return pg_exec(&t->c,
		       "INSERT INTO probe VALUES ('\\x00'); DELETE FROM probe",
		       "probing the ledger", e);
}

/* ---- reads on the store ----------------------------------------------------
 */

static int op_list(struct ledger_store *s, const struct ledger_query *q,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc = pool_get(s, &t, e);

	if (rc == 0)
		rc = pg_list(&t->c, q, cb, arg, e);
	pool_put(s, t);
	return rc;
}

static int op_walk(struct ledger_store *s, int64_t after,
		   int (*cb)(void *arg, const struct ledger_entry *en),
		   void *arg, int64_t *bad_seq, struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc = pool_get(s, &t, e);

	*bad_seq = 0;
	if (rc == 0)
		rc = pg_walk(&t->c, after, cb, arg, bad_seq, e);
	pool_put(s, t);
	return rc;
}

static int op_revocations(struct ledger_store *s,
			  int (*cb)(void *arg, const char *cert_serial_hex,
				    const char *time, const char *reason),
			  void *arg, int64_t *max_seq, struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc = pool_get(s, &t, e);

	*max_seq = 0;
	if (rc == 0)
		rc = pg_revocations(&t->c, cb, arg, max_seq, e);
	pool_put(s, t);
	return rc;
}

static int op_stats(struct ledger_store *s, struct ledger_stats *st,
		    struct errd *e)
{
	struct ledger_session *t = NULL;
	int rc = pool_get(s, &t, e);

	memset(st, 0, sizeof(*st));
	if (rc == 0)
		rc = pg_stats(&t->c, st, e);
	pool_put(s, t);
	return rc;
}

/* Every allowlisted serial in serial order (ledger copy), PG_WALK_PAGE a
 * query, in one snapshot. */
static int op_serials(struct ledger_store *s,
		      int (*cb)(void *arg, const char *serial,
				const char *batch, const char *imported_at),
		      void *arg, struct errd *e)
{
	struct ledger_session *t = NULL;
	char after[LEDGER_NAME_MAX] = "";
	const char *v[1] = {after};
	PGresult *r = NULL;
	int rc, i, n;

	rc = pool_get(s, &t, e);
	if (rc == 0)
		rc = pg_exec(&t->c,
			     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			     "starting a read", e);
	while (rc == 0) {
		rc = pg_run(&t->c, PGS_SERIALS_WALK, v, NULL, 0, &r, e);
		if (rc < 0)
			break;
		n = PQntuples(r);
		for (i = 0; i < n && rc == 0; i++)
			rc = cb(
			    arg, PQgetvalue(r, i, 0),
			    PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1),
			    PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2));
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
				 PQgetvalue(r, n - 1, 0));
		PQclear(r);
		r = NULL;
		if (n < PG_WALK_PAGE)
			break;
	}
	pool_put(s, t);
	return rc;
}

const struct ledger_ops ledger_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .check = pg_check,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .write_begin = pg_write_begin_op,
    .write_commit = pg_write_commit,
    .write_rollback = pg_write_rollback,
    .head = op_head,
    .newest = op_newest,
    .serial_allowed = op_serial_allowed,
    .last_revocation = op_last_revocation,
    .issued_after = op_issued_after,
    .spki_other_serial = op_spki_other_serial,
    .spki_revoked = op_spki_revoked,
    .current = op_current,
    .by_certificate = op_by_certificate,
    .insert = op_insert,
    .serial_insert = op_serial_insert,
    .probe = op_probe,
    .list = op_list,
    .walk = op_walk,
    .revocations = op_revocations,
    .stats = op_stats,
    .serials = op_serials,
    .backup = NULL,
};

#endif /* THINGCA_LEDGER_PG */
