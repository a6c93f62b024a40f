/*
 * ledger_conn — the plumbing under lib/ledger.c and lib/ledger_read.c: event
 * names, entries and their canonical encoding and hash, SQLite connections
 * with their PRAGMAs and cached prepared statements, and the pool of read
 * connections. Split from ledger.c to keep each file one noun.
 *
 * Trap: a connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX);
 * the pool's mutex hands each reader to one caller, and the writer
 * connection belongs to the writer thread once ledger_open returns.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"
#include "util.h"

static const char ZERO_HASH[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Trap: with bound parameters and no sqlite_stat1, the planner picks the
 * low-selectivity ledger_event index for "col = ?1 AND event = 'issued'"
 * and scans every issued entry per lookup (O(n) per issuance; measured by
 * make bench: 1,600 entries already halved throughput). The unary + on
 * event keeps the lookup on the serial / spki / certificate_id index;
 * the event test stays as a filter on the few rows found. */
/* Trap: with no ANALYZE statistics the planner prefers the index on
 * `event` for "event = 'issued'" (a constant), which matches nearly every
 * row, over the selective serial / spki / certificate_id index: a full
 * index walk per lookup. The unary + makes event unusable for an index in
 * these statements (https://sqlite.org/optoverview.html, "Disqualifying
 * WHERE clause terms"). */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_HEAD] = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
    [ST_ALLOWED] = "SELECT 1 FROM serials WHERE serial = ?1",
    [ST_LAST_REVOKE] = "SELECT seq, reissue FROM ledger WHERE serial = ?1 "
		       "AND +event = 'revoked' ORDER BY seq DESC LIMIT 1",
    [ST_ISSUED_AFTER] = "SELECT 1 FROM ledger WHERE serial = ?1 AND "
			"+event = 'issued' AND seq > ?2 LIMIT 1",
    [ST_SPKI_OTHER] = "SELECT serial FROM ledger WHERE spki_sha256 = ?1 "
		      "AND +event = 'issued' AND serial <> ?2 LIMIT 1",
    [ST_SPKI_REVOKED] = "SELECT certificate_id FROM ledger WHERE "
			"spki_sha256 = ?1 AND +event = 'revoked' AND "
			"serial = ?2 LIMIT 1",
    [ST_CURRENT] = "SELECT " LEDGER_COLS " FROM ledger AS i WHERE "
		   "serial = ?1 AND +event = 'issued' AND NOT EXISTS "
		   "(SELECT 1 FROM ledger AS r WHERE r.certificate_id = "
		   "i.certificate_id AND +r.event = 'revoked') "
		   "ORDER BY seq DESC LIMIT 1",
    [ST_BY_CERT] = "SELECT " LEDGER_COLS " FROM ledger WHERE "
		   "certificate_id = ?1 AND +event = ?2 ORDER BY seq LIMIT 1",
    [ST_INSERT] = "INSERT INTO ledger (" LEDGER_COLS ") VALUES (?1, ?2, "
		  "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
		  "?15, ?16, ?17, ?18)",
    /* not INSERT OR IGNORE: that also swallows CHECK and NOT NULL
     * failures, counting a refused serial as "already present" */
    [ST_SERIAL_INSERT] = "INSERT INTO serials (serial, batch, imported_at) "
			 "VALUES (?1, ?2, ?3) ON CONFLICT (serial) DO "
			 "NOTHING",
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

/* ---- events and entries ---------------------------------------------- */

static const char *const event_names[] = {
    [LEDGER_ISSUED] = "issued",
    [LEDGER_REVOKED] = "revoked",
    [LEDGER_SERIALS_IMPORTED] = "serials_imported",
};

/* "issued" -> LEDGER_ISSUED; 0 for NULL or an unknown name. */
int ledger_event_parse(const char *name)
{
	int i;

	if (name == NULL)
		return 0;
	for (i = LEDGER_ISSUED; i <= LEDGER_SERIALS_IMPORTED; i++)
		if (strcmp(name, event_names[i]) == 0)
			return i;
	return 0;
}

/* LEDGER_ISSUED -> "issued" (static); NULL when unknown. */
const char *ledger_event_name(int event)
{
	if (event < LEDGER_ISSUED || event > LEDGER_SERIALS_IMPORTED)
		return NULL;
	return event_names[event];
}

/* Frees the strings and DER of e and zeroes it; reissue becomes -1. */
void ledger_entry_clear(struct ledger_entry *e)
{
	if (e == NULL)
		return;
	free(e->time);
	free(e->client);
	free(e->node);
	free(e->serial);
	free(e->thing_name);
	free(e->certificate_id);
	free(e->ca_certificate_id);
	free(e->certificate_serial);
	free(e->spki_sha256);
	free(e->not_before);
	free(e->not_after);
	free(e->reason);
	free(e->der);
	memset(e, 0, sizeof(*e));
	e->reissue = -1;
}

/* strdup of s, NULL for NULL; *bad set when out of memory. */
static char *dup_or_null(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*bad = 1;
	return d;
}

/* See ledger.h. */
int ledger_entry_dup(struct ledger_entry *dst, const struct ledger_entry *src,
		     struct errd *e)
{
	int bad = 0;

	ledger_entry_clear(dst);
	*dst = *src;
	dst->time = dup_or_null(src->time, &bad);
	dst->client = dup_or_null(src->client, &bad);
	dst->node = dup_or_null(src->node, &bad);
	dst->serial = dup_or_null(src->serial, &bad);
	dst->thing_name = dup_or_null(src->thing_name, &bad);
	dst->certificate_id = dup_or_null(src->certificate_id, &bad);
	dst->ca_certificate_id = dup_or_null(src->ca_certificate_id, &bad);
	dst->certificate_serial = dup_or_null(src->certificate_serial, &bad);
	dst->spki_sha256 = dup_or_null(src->spki_sha256, &bad);
	dst->not_before = dup_or_null(src->not_before, &bad);
	dst->not_after = dup_or_null(src->not_after, &bad);
	dst->reason = dup_or_null(src->reason, &bad);
	dst->der = NULL;
	if (src->der) {
		dst->der = malloc(src->der_len ? src->der_len : 1);
		if (dst->der == NULL)
			bad = 1;
		else
			memcpy(dst->der, src->der, src->der_len);
	}
	if (bad) {
		ledger_entry_clear(dst);
		return err_set(e, ERR_NOMEM, "out of memory copying an entry");
	}
	return 0;
}

/* Frees s->current and zeroes s (NULL is a no-op). */
void ledger_serial_clear(struct ledger_serial *s)
{
	if (s == NULL)
		return;
	ledger_entry_clear(&s->current);
	memset(s, 0, sizeof(*s));
}

/* A growing output buffer for the canonical encoding. */
struct cbuf {
	char *p;
	size_t len, cap;
	int bad; /* out of memory */
};

/* Room for n more bytes and a NUL: 0, or -1 (b->bad set). */
static int cb_reserve(struct cbuf *b, size_t n)
{
	char *np;
	size_t cap;

	if (b->bad)
		return -1;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->bad = 1;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	return 0;
}

static void cb_put(struct cbuf *b, const char *s, size_t n)
{
	if (cb_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void cb_str(struct cbuf *b, const char *s)
{
	cb_put(b, s, strlen(s));
}

/* "key":value as cb_field, or nothing when v is NULL: the fields added after
 * the first ledgers were written (node, ca_certificate_id) are in the
 * canonical encoding only when set, so older entries hash as before. */
static void cb_field(struct cbuf *b, const char *key, const char *v, int first);
static void cb_opt(struct cbuf *b, const char *key, const char *v, int *first)
{
	if (v == NULL)
		return;
	cb_field(b, key, v, *first);
	*first = 0;
}

/* "key":value, the value a JSON string escaped exactly as jq -c prints it
 * (json_quote); NULL -> null; not UTF-8 -> b->bad = 2. */
static void cb_field(struct cbuf *b, const char *key, const char *v, int first)
{
	size_t n;
	char *end;

	cb_str(b, first ? "\"" : ",\"");
	cb_str(b, key);
	cb_str(b, "\":");
	if (v == NULL) {
		cb_str(b, "null");
		return;
	}
	n = strlen(v);
	if (cb_reserve(b, json_quoted_max(n)) < 0)
		return;
	end = json_quote(b->p + b->len, v, n);
	if (end == NULL) {
		b->bad = 2;
		return;
	}
	b->len = (size_t)(end - b->p);
	b->p[b->len] = '\0';
}

/* The canonical encoding (docs/ledger.md): compact JSON with sorted keys of
 * every field but prev_hash and hash; DER as standard base64 with padding.
 * Written by hand in the fixed, sorted key order (jansson's dump would do,
 * but costs a third of ledger_verify's time); t-ledger checks it equals
 * `jq -cS`. 0 with *out malloc'd; -ERR_MALFORMED_REQUEST when a string is
 * not UTF-8, -ERR_NOMEM. */
int ledger_canonical(const struct ledger_entry *en, char **out)
{
	struct cbuf b = {0};
	char *b64 = NULL, num[24];
	const char *ev = ledger_event_name(en->event);
	int rc = -ERR_NOMEM, first = 1;

	*out = NULL;
	if (en->der != NULL) {
		/* base64 grows 3 bytes into 4, plus the NUL */
		b64 = malloc(4 * ((en->der_len + 2) / 3) + 1);
		if (b64 == NULL)
			goto out;
		EVP_EncodeBlock((unsigned char *)b64, en->der,
				(int)en->der_len);
	}
	cb_str(&b, "{");
	cb_opt(&b, "ca_certificate_id", en->ca_certificate_id, &first);
	cb_field(&b, "certificate_der", b64, first);
	first = 0;
	cb_field(&b, "certificate_id", en->certificate_id, 0);
	cb_field(&b, "certificate_serial", en->certificate_serial, 0);
	cb_field(&b, "client", en->client, 0);
	cb_field(&b, "event", ev, 0);
	cb_opt(&b, "node", en->node, &first);
	cb_field(&b, "not_after", en->not_after, 0);
	cb_field(&b, "not_before", en->not_before, 0);
	cb_field(&b, "reason", en->reason, 0);
	cb_str(&b, ",\"reissue\":");
	cb_str(&b, en->reissue < 0 ? "null" : en->reissue ? "true" : "false");
	snprintf(num, sizeof(num), "%lld", (long long)en->seq);
	cb_str(&b, ",\"seq\":");
	cb_str(&b, num);
	cb_field(&b, "serial", en->serial, 0);
	cb_field(&b, "spki_sha256", en->spki_sha256, 0);
	cb_field(&b, "thing_name", en->thing_name, 0);
	cb_field(&b, "time", en->time, 0);
	cb_str(&b, "}");
	if (b.bad) {
		rc = b.bad == 2 ? -ERR_MALFORMED_REQUEST : -ERR_NOMEM;
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	rc = 0;
out:
	free(b.p);
	free(b64);
	return rc;
}

/* See ledger_int.h. */
int ledger_entry_hash(const struct ledger_entry *en, const char *prev_hex,
		      char out[65], struct errd *e)
{
	unsigned char prev[32], md[32];
	char *canon = NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned int mdlen = 0;
	int rc;

	if (prev_hex == NULL || strlen(prev_hex) != 64 ||
	    hex_decode(prev_hex, prev, sizeof(prev)) != 0) {
		rc = err_set(e, ERR_LEDGER_CORRUPT,
			     "entry %lld: prev_hash is not 64 hex digits",
			     (long long)en->seq);
		goto out;
	}
	rc = ledger_canonical(en, &canon);
	if (rc < 0) {
		err_set(e, -rc, "entry %lld: cannot encode (text not UTF-8?)",
			(long long)en->seq);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(ctx, prev, sizeof(prev)) ||
	    !EVP_DigestUpdate(ctx, canon, strlen(canon)) ||
	    !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		rc = err_set(e, ERR_INTERNAL, "SHA-256 failed");
		goto out;
	}
	hex_encode(md, sizeof(md), out);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(canon);
	return rc;
}

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

/* See ledger_int.h. */
void ledger_row_view(sqlite3_stmt *st, struct ledger_entry *en)
{
	const unsigned char *t;

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
	t = sqlite3_column_text(st, 14);
	snprintf(en->prev_hash, sizeof(en->prev_hash), "%s",
		 t ? (const char *)t : "");
	t = sqlite3_column_text(st, 15);
	snprintf(en->hash, sizeof(en->hash), "%s", t ? (const char *)t : "");
	en->node = col_view(st, 16);
	en->ca_certificate_id = col_view(st, 17);
}

/* See ledger_int.h. */
int ledger_row_to_entry(sqlite3_stmt *st, struct ledger_entry *en,
			struct errd *e)
{
	const unsigned char *t;
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
	t = sqlite3_column_text(st, 14);
	snprintf(en->prev_hash, sizeof(en->prev_hash), "%s",
		 t ? (const char *)t : "");
	t = sqlite3_column_text(st, 15);
	snprintf(en->hash, sizeof(en->hash), "%s", t ? (const char *)t : "");
	bad |= dup_col(st, 16, &en->node);
	bad |= dup_col(st, 17, &en->ca_certificate_id);
	if (bad)
		return err_set(e, ERR_NOMEM, "out of memory reading entry");
	return 0;
}

/* ---- connections ------------------------------------------------------ */

/* See ledger_int.h. */
int ledger_sql_err(sqlite3 *db, struct errd *e, const char *what)
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

/* See ledger_int.h. */
int ledger_conn_exec(struct ledger_conn *c, const char *sql, struct errd *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ledger_sql_err(c->db, e, sql);
	return 0;
}

/* See ledger_int.h. */
int ledger_conn_pragma(struct ledger_conn *c, const char *sql, char *out,
		       size_t outsz, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = ledger_sql_err(c->db, e, sql);
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, outsz, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	else if (sqlite3_errcode(c->db) != SQLITE_DONE &&
		 sqlite3_errcode(c->db) != SQLITE_ROW)
		rc = ledger_sql_err(c->db, e, sql);
out:
	sqlite3_finalize(st);
	return rc;
}

/* See ledger_int.h. */
int ledger_conn_open(struct ledger_conn *c, const char *path, int rdonly,
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
		rc = ledger_conn_exec(c, "PRAGMA query_only = ON", e);
		goto out;
	}
	rc = ledger_conn_pragma(c, "PRAGMA journal_mode = WAL", mode,
				sizeof(mode), e);
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
	rc = ledger_conn_exec(c,
			      "PRAGMA synchronous = FULL; "
			      "PRAGMA foreign_keys = ON",
			      e);
out:
	if (rc < 0)
		ledger_conn_close(c);
	return rc;
}

/* See ledger_int.h. */
void ledger_conn_close(struct ledger_conn *c)
{
	int i;

	if (c == NULL || c->db == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

/* See ledger_int.h. */
int ledger_conn_stmt(struct ledger_conn *c, enum ledger_stmt id,
		     sqlite3_stmt **out, struct errd *e)
{
	if (c->st[id] == NULL &&
	    sqlite3_prepare_v3(c->db, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &c->st[id],
			       NULL) != SQLITE_OK)
		return ledger_sql_err(c->db, e, "prepare");
	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	*out = c->st[id];
	return 0;
}

/* See ledger_int.h. */
int ledger_conn_run(struct ledger_conn *c, enum ledger_stmt id, struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = ledger_conn_stmt(c, id, &st, e);
	if (rc < 0)
		return rc;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = ledger_sql_err(c->db, e, stmt_sql[id]);
	sqlite3_reset(st);
	return rc;
}

/* See ledger_int.h. */
void ledger_conn_rollback(struct ledger_conn *c)
{
	if (sqlite3_get_autocommit(c->db))
		return;
	if (ledger_conn_run(c, ST_ROLLBACK, NULL) < 0 &&
	    !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* See ledger_int.h. */
int ledger_conn_head(struct ledger_conn *c, int64_t *seq, char hash[65],
		     struct errd *e)
{
	sqlite3_stmt *st = NULL;
	int rc, s;

	*seq = 0;
	memcpy(hash, ZERO_HASH, 65);
	rc = ledger_conn_stmt(c, ST_HEAD, &st, e);
	if (rc < 0)
		goto out;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		snprintf(hash, 65, "%s",
			 sqlite3_column_text(st, 1)
			     ? (const char *)sqlite3_column_text(st, 1)
			     : "");
	} else if (s != SQLITE_DONE) {
		rc = ledger_sql_err(c->db, e, "reading the ledger head");
	}
out:
	if (st)
		sqlite3_reset(st);
	return rc;
}

/* See ledger_int.h. */
int ledger_reader_get(struct ledger *l, struct ledger_conn **out,
		      struct errd *e)
{
	struct ledger_conn *c = NULL;
	int i, rc = 0;

	*out = NULL;
	pthread_mutex_lock(&l->pool_mu);
	while (c == NULL) {
		for (i = 0; i < LEDGER_READERS && c == NULL; i++)
			if (l->pool[i].db && !l->pool[i].in_use)
				c = &l->pool[i];
		for (i = 0; i < LEDGER_READERS && c == NULL; i++)
			if (l->pool[i].db == NULL) {
				/* opening under the lock is rare (once per
				 * slot) and quick */
				rc = ledger_conn_open(&l->pool[i], l->path, 1,
						      e);
				if (rc < 0)
					goto out;
				c = &l->pool[i];
			}
		if (c == NULL)
			pthread_cond_wait(&l->pool_cv, &l->pool_mu);
	}
	/* The loop above ends only with c set. */
	// cppcheck-suppress nullPointerRedundantCheck
	c->in_use = 1;
	*out = c;
out:
	pthread_mutex_unlock(&l->pool_mu);
	return rc;
}

/* See ledger_int.h. */
int ledger_reader_begin(struct ledger *l, struct ledger_conn **out,
			struct errd *e)
{
	int rc;

	rc = ledger_reader_get(l, out, e);
	if (rc == 0)
		rc = ledger_conn_run(*out, ST_BEGIN, e);
	return rc;
}

/* See ledger_int.h. c NULL is a no-op. Ends any transaction left open. */
void ledger_reader_put(struct ledger *l, struct ledger_conn *c)
{
	if (c == NULL)
		return;
	ledger_conn_rollback(c);
	pthread_mutex_lock(&l->pool_mu);
	c->in_use = 0;
	pthread_cond_signal(&l->pool_cv);
	pthread_mutex_unlock(&l->pool_mu);
}
