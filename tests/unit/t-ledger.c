/*
 * t-ledger — the ledger's behaviour, one function per behaviour, run
 * against every backend this build has: SQLite always (a file in a
 * temporary directory), PostgreSQL when THINGCA_TEST_PG_URI names a
 * scratch database the test may empty (each behaviour starts from an empty
 * schema). Checks only through the public API, so they hold for any store:
 * schema and migration, the issuance rules, revocation and reissue, races
 * through the writer, group commit, listing and paging, lookups, verify,
 * node stamping, and the canonical encoding. What only SQLite has
 * (tampering through sqlite3, WAL readers, file modes, backup, the docs'
 * shell recipe) is tests/unit/t-ledger-sqlite.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_test.h"

struct backend {
	const char *name;
	const char *uri; /* PostgreSQL: the scratch database; NULL: SQLite */
};

/* A location for a new, empty ledger named name on backend b. */
static const char *fresh(const struct backend *b, const char *name)
{
	static char loc[1024];
	char cmd[1400];

	if (b->uri == NULL) {
		snprintf(loc, sizeof(loc), "%s/%s.db", lt_dir, name);
		return loc;
	}
	snprintf(cmd, sizeof(cmd),
		 "psql -q -X -v ON_ERROR_STOP=1 -d '%s' -c 'DROP SCHEMA IF "
		 "EXISTS public CASCADE; CREATE SCHEMA public' >/dev/null",
		 b->uri);
	if (system(cmd) != 0)
		diag("%s: could not empty %s", name, b->uri);
	return b->uri;
}

/* Opens a fresh read-write ledger for test name; NULL (and a failed test)
 * when it does not open. */
static struct ledger *open_fresh(const struct backend *b, const char *name)
{
	struct ledger *l = NULL;
	struct errd e = {0};

	if (!ok(ledger_open(fresh(b, name), 0, &l, &e) == 0,
		"%s/%s: opens a new ledger", b->name, name))
		diag("%s", e.msg);
	return l;
}

static int lt_revo_cb(void *arg, const char *serial_hex, const char *time,
		      const char *reason)
{
	int *n = arg;

	if (serial_hex && time && reason)
		(*n)++;
	return 0;
}

/* ---- the canonical encoding (lib/ledger_entry.c) ----------------------- */

static void test_canonical(void)
{
	struct ledger_entry en = {0};
	char *c = NULL, cmd[1024], got[4096];
	const char *want;
	FILE *f;
	int rc;

	en.seq = 7;
	en.time = "2036-11-28T14:00:00Z";
	en.event = LEDGER_REVOKED;
	en.client = "ops";
	en.serial = "SN-1";
	en.certificate_id = "ab";
	en.reason = "key/compromise \"é\"\t\001\177";
	en.reissue = 1;
	en.der = (unsigned char *)"\x30\x82\x01";
	en.der_len = 3;
	rc = ledger_canonical(&en, &c);
	is_int(rc, 0, "canonical: encodes");
	want = "{\"certificate_der\":\"MIIB\",\"certificate_id\":\"ab\","
	       "\"certificate_serial\":null,\"client\":\"ops\","
	       "\"event\":\"revoked\",\"not_after\":null,\"not_before\":null,"
	       "\"reason\":\"key/compromise \\\"é\\\"\\t\\u0001\\u007f\","
	       "\"reissue\":true,"
	       "\"seq\":7,\"serial\":\"SN-1\",\"spki_sha256\":null,"
	       "\"thing_name\":null,\"time\":\"2036-11-28T14:00:00Z\"}";
	is_str(c, want, "canonical: compact, sorted keys, base64 DER");
	if (system("command -v jq >/dev/null 2>&1") != 0) {
		printf("ok %d # SKIP jq not installed\n", ++tap_n);
	} else {
		snprintf(cmd, sizeof(cmd), "%s", lt_path("canon.json"));
		f = fopen(cmd, "w");
		fprintf(f, "{ \"seq\" : 7, \"time\": \"2036-11-28T14:00:00Z\", "
			   "\"reissue\": true, \"serial\": \"SN-1\", "
			   "\"event\": \"revoked\", \"client\": \"ops\", "
			   "\"certificate_id\": \"ab\", \"reason\": "
			   "\"key/compromise \\\"é\\\"\\t\\u0001\\u007f\", "
			   "\"certificate_der\": \"MIIB\", "
			   "\"certificate_serial\": null, \"not_after\": null, "
			   "\"not_before\": null, \"spki_sha256\": null, "
			   "\"thing_name\": null }\n");
		fclose(f);
		snprintf(cmd, sizeof(cmd), "jq -cS . %s",
			 lt_path("canon.json"));
		f = popen(cmd, "r");
		got[0] = '\0';
		if (f && fgets(got, sizeof(got), f))
			got[strcspn(got, "\n")] = '\0';
		if (f)
			pclose(f);
		is_str(got, c, "canonical: equals what jq -cS prints");
	}
	free(c);

	/* node and ca_certificate_id: absent while NULL (the string above is
	 * the encoding of every entry written before migration 003), in
	 * sorted place when set, and then part of the hash */
	{
		char h0[65], h1[65], h2[65];
		const char *want2;

		ledger_entry_hash(&en, LT_ZEROS, h0, NULL);
		en.node = "node-1";
		rc = ledger_canonical(&en, &c);
		want2 = "{\"certificate_der\":\"MIIB\",\"certificate_id\":"
			"\"ab\",\"certificate_serial\":null,\"client\":"
			"\"ops\",\"event\":\"revoked\",\"node\":\"node-1\","
			"\"not_after\":null,";
		ok(rc == 0 && strncmp(c, want2, strlen(want2)) == 0,
		   "canonical: node between event and not_after (got %s)", c);
		free(c);
		ledger_entry_hash(&en, LT_ZEROS, h1, NULL);
		en.ca_certificate_id = "cd";
		rc = ledger_canonical(&en, &c);
		want2 = "{\"ca_certificate_id\":\"cd\",\"certificate_der\":"
			"\"MIIB\",";
		ok(rc == 0 && strncmp(c, want2, strlen(want2)) == 0,
		   "canonical: ca_certificate_id first (got %s)", c);
		free(c);
		ledger_entry_hash(&en, LT_ZEROS, h2, NULL);
		ok(strcmp(h0, h1) != 0 && strcmp(h1, h2) != 0 &&
		       strcmp(h0, h2) != 0,
		   "canonical: node and ca_certificate_id change the hash");
		en.node = NULL;
		en.ca_certificate_id = NULL;
		rc = ledger_canonical(&en, &c);
		is_str(c, want,
		       "canonical: NULL node and CA id encode as "
		       "before migration 003, byte for byte");
		free(c);
	}
	en.der = NULL;
	en.reissue = -1;
	en.event = LEDGER_SERIALS_IMPORTED;
	rc = ledger_canonical(&en, &c);
	ok(rc == 0 && strstr(c, "\"certificate_der\":null") &&
	       strstr(c, "\"reissue\":null") &&
	       strstr(c, "\"event\":\"serials_imported\""),
	   "canonical: nulls for absent DER and reissue (got %s)", c);
	free(c);
	en.reason = "\xff\xfe not UTF-8";
	rc = ledger_canonical(&en, &c);
	is_int(rc, -ERR_MALFORMED_REQUEST, "canonical: refuses invalid UTF-8");
	free(c);
}

/* ---- behaviours, each on a ledger of its own ---------------------------- */

/* A new ledger is empty and writable; opening it again migrates nothing
 * and loses nothing. */
static void t_open(const struct backend *b)
{
	static const char *const one[] = {"A", NULL};
	struct ledger *l = open_fresh(b, "open");
	struct errd e = {0};
	char hash[65];
	int64_t seq = -1;
	int rc;

	if (l == NULL)
		return;
	rc = ledger_head(l, &seq, hash, &e);
	ok(rc == 0 && seq == 0 && strcmp(hash, LT_ZEROS) == 0,
	   "%s: empty ledger head is 0 and 64 zeros", b->name);
	is_int(ledger_ping(l, &e), 0, "%s: ping on a fresh ledger", b->name);
	is_int(lt_import(l, one), 0, "%s: a first entry", b->name);
	ledger_close(l);
	l = NULL;
	rc = ledger_open(b->uri ? b->uri : lt_path("open.db"), 0, &l, &e);
	is_int(rc, 0, "%s: reopen (migrations already applied)", b->name);
	if (l)
		ledger_head(l, &seq, hash, &e);
	is_int(seq, 1, "%s: ... and the entry is still there", b->name);
	ledger_close(l);
}

/* Serials import: counted added/present, one chained entry whose reason
 * names the batch and the hash of the added serials; all or none. */
static void t_import(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "import");
	struct ledger_entry en = {.reissue = -1};
	struct errd e = {0};
	char *serials[4], long_serial[80], hash[65], want[160], host[256];
	size_t added = 0, present = 0;
	int64_t seq = 0;
	int rc;

	if (l == NULL)
		return;
	serials[0] = "A";
	serials[1] = "B";
	serials[2] = "C";
	rc = ledger_import_serials(l, "b1", "cli:test", serials, 3, &added,
				   &present, &en, &e);
	ok(rc == 0 && added == 3 && present == 0,
	   "%s: import 3 new serials (rc %d added %zu present %zu)", b->name,
	   rc, added, present);
	is_int(en.seq, 1, "%s: import entry is seq 1", b->name);
	is_int(en.event, LEDGER_SERIALS_IMPORTED, "%s: import entry event",
	       b->name);
	is_str(en.client, "cli:test", "%s: import entry client", b->name);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	is_str(en.node, host, "%s: import entry node: the host name by default",
	       b->name);
	ok(en.serial == NULL && en.certificate_id == NULL,
	   "%s: import entry has no serial or certificate", b->name);
	sha256_hex("A\nB\nC\n", 6, hash);
	snprintf(want, sizeof(want), "batch=b1 added=3 present=0 sha256=%s",
		 hash);
	is_str(en.reason, want, "%s: import entry reason", b->name);
	ledger_entry_clear(&en);
	serials[0] = "C";
	serials[1] = "D";
	rc = ledger_import_serials(l, "b2", "cli:test", serials, 2, &added,
				   &present, NULL, &e);
	ok(rc == 0 && added == 1 && present == 1,
	   "%s: import 1 new, 1 present (added %zu present %zu)", b->name,
	   added, present);
	memset(long_serial, 'x', 70);
	long_serial[70] = '\0';
	serials[0] = "E";
	serials[1] = long_serial; /* the schema's CHECK refuses it */
	rc = ledger_import_serials(l, "b3", "cli:test", serials, 2, &added,
				   &present, NULL, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE,
	       "%s: import with a bad serial fails", b->name);
	is_int(ledger_check_issue(l, "E", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_UNKNOWN, "%s: ... and imports none (E unknown)",
	       b->name);
	ledger_head(l, &seq, hash, &e);
	is_int(seq, 2, "%s: ... and appends no entry", b->name);
	ledger_close(l);
}

/* Rule 3: with require_allowlist only an imported serial. */
static void t_allowlist(const struct backend *b)
{
	static const char *const one[] = {"A", NULL};
	struct ledger *l = open_fresh(b, "allowlist");
	struct errd e = {0};

	if (l == NULL)
		return;
	lt_import(l, one);
	is_int(ledger_check_issue(l, "Z", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_UNKNOWN, "%s: not imported -> serial_unknown",
	       b->name);
	is_int(lt_issue(l, "Z", "kZ", 1, 1, NULL, NULL, &e),
	       -ERR_SERIAL_UNKNOWN, "%s: ... also inside the writer", b->name);
	is_int(ledger_check_issue(l, "Z", NULL, 0, 1, NULL, &e), 0,
	       "%s: not imported, no allowlist -> ok", b->name);
	is_int(ledger_check_issue(l, "A", "00", 1, 1, NULL, &e), 0,
	       "%s: imported -> ok", b->name);
	ledger_close(l);
}

/* Rule 6: one current certificate per serial; the existing one (with its
 * DER) for a retry. */
static void t_already_issued(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "already");
	struct ledger_entry en, ex = {.reissue = -1};
	struct errd e = {0};
	char idA[65], spki[65];
	int rc;

	if (l == NULL)
		return;
	is_int(lt_issue(l, "A", "keyA", 1, 0, idA, NULL, &e), 0,
	       "%s: record_issue A", b->name);
	lt_mk_issue(&en, "A", "keyA2", 2);
	rc = ledger_record_issue(l, &en, 0, 1, &ex, &e);
	is_int(rc, -ERR_SERIAL_ALREADY_ISSUED,
	       "%s: A again, other key -> already issued", b->name);
	is_str(ex.certificate_id, idA, "%s: ... existing is A's certificate",
	       b->name);
	ok(ex.der && ex.der_len > 10 &&
	       memcmp(ex.der, "0\x82 fake DER of A #1", ex.der_len) == 0,
	   "%s: ... with its DER", b->name);
	is_int(en.seq, 0, "%s: ... and the refused entry has no seq", b->name);
	ledger_entry_clear(&en);
	ledger_entry_clear(&ex);
	sha256_hex("keyA", 4, spki);
	rc = ledger_check_issue(l, "A", spki, 0, 1, &ex, &e);
	is_int(rc, -ERR_SERIAL_ALREADY_ISSUED,
	       "%s: check A same key -> already issued", b->name);
	is_str(ex.certificate_id, idA, "%s: ... existing filled by check",
	       b->name);
	ledger_entry_clear(&ex);
	ledger_close(l);
}

/* Rule 5: a key certified for one serial is refused for another. */
static void t_key_reuse(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "reuse");
	struct errd e = {0};
	char spki[65];

	if (l == NULL)
		return;
	lt_issue(l, "A", "keyA", 1, 0, NULL, NULL, &e);
	is_int(lt_issue(l, "B", "keyA", 3, 0, NULL, NULL, &e),
	       -ERR_PUBLIC_KEY_REUSED,
	       "%s: B with A's key -> public_key_reused", b->name);
	ok(strstr(e.msg, "serial A") != NULL, "%s: ... names the serial: %s",
	   b->name, e.msg);
	sha256_hex("keyA", 4, spki);
	is_int(ledger_check_issue(l, "B", spki, 0, 0, NULL, &e), 0,
	       "%s: ... allowed without unique_public_keys", b->name);
	ledger_close(l);
}

/* Revocation without reissue: the entry copies the certificate's fields;
 * twice is refused; the serial stays blocked, for any key. */
static void t_revoke(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "revoke");
	struct ledger_entry en = {.reissue = -1};
	struct errd e = {0};
	char idA[65], spki[65];
	int rc;

	if (l == NULL)
		return;
	is_int(ledger_set_node(l, "node-7", &e), 0, "%s: set_node", b->name);
	lt_issue(l, "A", "keyA", 1, 0, idA, NULL, &e);
	rc = ledger_revoke(l, LT_ZEROS, "ops", NULL, 0, NULL, &e);
	is_int(rc, -ERR_NOT_FOUND,
	       "%s: revoke unknown certificate -> not_found", b->name);
	rc = ledger_revoke(l, idA, "ops", NULL, 0, &en, &e);
	is_int(rc, 0, "%s: revoke A (no reissue)", b->name);
	sha256_hex("keyA", 4, spki);
	is_int(en.event, LEDGER_REVOKED, "%s: ... revoked entry", b->name);
	is_str(en.serial, "A", "%s: ... copies serial", b->name);
	is_str(en.certificate_id, idA, "%s: ... copies certificate_id",
	       b->name);
	is_str(en.spki_sha256, spki, "%s: ... copies spki", b->name);
	is_str(en.reason, "unspecified", "%s: ... default reason", b->name);
	is_str(en.node, "node-7", "%s: ... carries the node", b->name);
	ok(en.der == NULL && en.not_after == NULL && en.reissue == 0,
	   "%s: ... no DER, no validity, reissue false", b->name);
	ledger_entry_clear(&en);
	is_int(ledger_revoke(l, idA, "ops", "again", 0, NULL, &e),
	       -ERR_ALREADY_REVOKED, "%s: revoke twice -> already_revoked",
	       b->name);
	is_int(ledger_check_issue(l, "A", NULL, 0, 1, NULL, &e),
	       -ERR_SERIAL_REVOKED,
	       "%s: A blocked after revoke without reissue", b->name);
	is_int(lt_issue(l, "A", "keyA3", 4, 0, NULL, NULL, &e),
	       -ERR_SERIAL_REVOKED, "%s: record A new key -> serial_revoked",
	       b->name);
	ledger_close(l);
}

/* Revocation with reissue: once more with a new key (never the old one),
 * then blocked for good by a revocation without reissue. */
static void t_reissue(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "reissue");
	struct ledger_entry ex = {.reissue = -1};
	struct errd e = {0};
	char idB[65], idB2[65], spki[65];

	if (l == NULL)
		return;
	lt_issue(l, "B", "keyB", 5, 0, idB, NULL, &e);
	is_int(ledger_revoke(l, idB, "ops", "rework", 1, NULL, &e), 0,
	       "%s: revoke B with reissue", b->name);
	sha256_hex("keyB", 4, spki);
	is_int(ledger_check_issue(l, "B", spki, 0, 1, NULL, &e),
	       -ERR_PUBLIC_KEY_REUSED, "%s: B reissue with the old key refused",
	       b->name);
	ok(strstr(e.msg, "revoked") != NULL, "%s: ... says revoked: %s",
	   b->name, e.msg);
	is_int(ledger_check_issue(l, "B", NULL, 0, 1, NULL, &e), 0,
	       "%s: B has no current certificate after reissue revoke",
	       b->name);
	is_int(lt_issue(l, "B", "keyB2", 6, 0, idB2, NULL, &e), 0,
	       "%s: B reissued with a new key", b->name);
	is_int(lt_issue(l, "B", "keyB3", 7, 0, NULL, &ex, &e),
	       -ERR_SERIAL_ALREADY_ISSUED, "%s: B once more -> already issued",
	       b->name);
	is_str(ex.certificate_id, idB2,
	       "%s: ... the current one is the reissue", b->name);
	ledger_entry_clear(&ex);
	ledger_revoke(l, idB2, "ops", "scrapped", 0, NULL, &e);
	is_int(ledger_check_issue(l, "B", NULL, 0, 1, NULL, &e),
	       -ERR_SERIAL_REVOKED,
	       "%s: B blocked after the reissue is revoked for good", b->name);
	ledger_close(l);
}

/* Rule 6 under a race: 16 requests for one serial, one certificate. */
static void t_race(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "race");
	struct lt_racer rs[16];
	pthread_t th[16];
	int i, wins = 0, dup = 0;

	if (l == NULL)
		return;
	for (i = 0; i < 16; i++) {
		rs[i].l = l;
		rs[i].serial = "RACE";
		rs[i].n = 100 + i;
		snprintf(rs[i].key, sizeof(rs[i].key), "race-key-%d", i);
		pthread_create(&th[i], NULL, lt_race_main, &rs[i]);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].rc == 0;
		dup += rs[i].rc == -ERR_SERIAL_ALREADY_ISSUED;
	}
	is_int(wins, 1, "%s: 16 racers for one serial: exactly one certificate",
	       b->name);
	is_int(dup, 15, "%s: ... the others get serial_already_issued",
	       b->name);
	ledger_close(l);
}

/* Group commit: 200 concurrent issuances in fewer transactions. */
static void t_group_commit(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "group");
	struct ledger_stats st;
	struct lt_racer rs[200];
	pthread_t th[200];
	struct errd e = {0};
	int i, wins = 0;

	if (l == NULL)
		return;
	for (i = 0; i < 200; i++) {
		rs[i].l = l;
		rs[i].serial = NULL;
		rs[i].n = i;
		snprintf(rs[i].key, sizeof(rs[i].key), "gc-key-%d", i);
		pthread_create(&th[i], NULL, lt_race_main, &rs[i]);
	}
	for (i = 0; i < 200; i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].rc == 0;
	}
	is_int(wins, 200, "%s: 200 concurrent issuances all committed",
	       b->name);
	ledger_stats(l, &st, &e);
	is_int(st.write_jobs, 200, "%s: ... as 200 writer jobs", b->name);
	ok(st.write_batches < 200,
	   "%s: ... in fewer transactions (group commit): %lld batches",
	   b->name, (long long)st.write_batches);
	is_int(st.entries, 200, "%s: ... 200 entries", b->name);
	ledger_close(l);
}

struct serial_walk {
	int n, ordered, batches;
	char last[80];
};

static int serial_cb(void *arg, const char *serial, const char *batch,
		     const char *imported_at)
{
	struct serial_walk *w = arg;

	w->n++;
	if (strcmp(serial, w->last) <= 0)
		w->ordered = 0;
	snprintf(w->last, sizeof(w->last), "%s", serial);
	if (batch && strcmp(batch, "b") == 0 && imported_at &&
	    strlen(imported_at) == 20)
		w->batches++;
	return 0;
}

/* The allowlist as a copy needs it: every serial, with batch and time. */
static void t_serials(const struct backend *b)
{
	static const char *const three[] = {"S-2", "S-1", "S-3", NULL};
	struct ledger *l = open_fresh(b, "serials");
	struct serial_walk w = {.ordered = 1};
	struct errd e = {0};

	if (l == NULL)
		return;
	lt_import(l, three);
	is_int(ledger_serials(l, serial_cb, &w, &e), 0, "%s: serials", b->name);
	ok(w.n == 3 && w.ordered && w.batches == 3,
	   "%s: ... all three, in order, with batch and time (%d %d %d)",
	   b->name, w.n, w.ordered, w.batches);
	ledger_close(l);
}

/* The counts of /metrics and the CRL's revocations. */
static void t_stats(const struct backend *b)
{
	static const char *const four[] = {"A", "B", "C", "D", NULL};
	struct ledger *l = open_fresh(b, "stats");
	struct ledger_stats st;
	struct errd e = {0};
	char idA[65], idB[65];
	int64_t max = 0;
	int n = 0;

	if (l == NULL)
		return;
	lt_import(l, four);
	lt_issue(l, "A", "kA", 1, 1, idA, NULL, &e);
	lt_issue(l, "B", "kB", 1, 1, idB, NULL, &e);
	lt_issue(l, "X", "kX", 1, 0, NULL, NULL, &e);
	ledger_revoke(l, idA, "ops", "keyCompromise", 0, NULL, &e);
	is_int(ledger_stats(l, &st, &e), 0, "%s: stats", b->name);
	ok(st.entries == 5 && st.issued == 3 && st.revoked == 1 &&
	       st.allowlisted == 4 && st.allowlisted_unissued == 2,
	   "%s: entries %lld issued %lld revoked %lld allowlisted %lld "
	   "unissued %lld",
	   b->name, (long long)st.entries, (long long)st.issued,
	   (long long)st.revoked, (long long)st.allowlisted,
	   (long long)st.allowlisted_unissued);
	ok(st.write_batches >= 1 && st.write_jobs == 5,
	   "%s: writer counts (%lld jobs)", b->name, (long long)st.write_jobs);
	is_int(ledger_revocations(l, lt_revo_cb, &n, &max, &e), 0,
	       "%s: revocations", b->name);
	ok(n == 1 && max == 5, "%s: ... one, newest seq %lld", b->name,
	   (long long)max);
	ledger_close(l);
}

/* GET /v1/ledger: paging visits every entry once, in order; each filter. */
static void t_list(const struct backend *b)
{
	static const char *const two[] = {"A", "B", NULL};
	struct ledger *l = open_fresh(b, "list");
	struct ledger_query q;
	struct lt_walk w;
	struct errd e = {0};
	char idA[65], idB[65];
	int64_t n, head = 0, next;
	int pages, i;

	if (l == NULL)
		return;
	lt_import(l, two);
	lt_issue(l, "A", "kA", 1, 1, idA, NULL, &e);
	lt_issue(l, "B", "kB", 1, 1, idB, NULL, &e);
	ledger_revoke(l, idA, "ops", NULL, 0, NULL, &e);
	ledger_revoke(l, idB, "ops", NULL, 1, NULL, &e);
	lt_issue(l, "B", "kB2", 2, 1, NULL, NULL, &e);
	for (i = 0; i < 20; i++) {
		char s[16], k[16];

		snprintf(s, sizeof(s), "P-%d", i);
		snprintf(k, sizeof(k), "kP-%d", i);
		lt_issue(l, s, k, i, 0, NULL, NULL, &e);
	}
	ledger_head(l, &head, idA, &e);
	is_int(head, 26, "%s: 26 entries", b->name);
	memset(&q, 0, sizeof(q));
	q.limit = 7;
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, head, "%s: paging by 7 visits every entry", b->name);
	ok(w.order_ok, "%s: ... exactly once, in seq order", b->name);
	is_int(pages, (head + 6) / 7, "%s: ... in the expected number of pages",
	       b->name);
	memset(&q, 0, sizeof(q));
	q.serial = "B";
	n = lt_count_list(l, &q, &pages, &w);
	ok(n == 3 && w.serial_ok, "%s: filter serial B: 3 entries (got %lld)",
	   b->name, (long long)n);
	memset(&q, 0, sizeof(q));
	q.event = LEDGER_REVOKED;
	q.limit = 1;
	n = lt_count_list(l, &q, &pages, &w);
	ok(n == 2 && pages == 2,
	   "%s: filter event revoked: 2 in 2 pages (got %lld in %d)", b->name,
	   (long long)n, pages);
	memset(&q, 0, sizeof(q));
	q.station = "ops";
	q.thing_name = "B";
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, 1, "%s: filter station ops + thing_name B", b->name);
	memset(&q, 0, sizeof(q));
	q.serial = "B";
	q.event = LEDGER_ISSUED;
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, 2, "%s: filter serial B + event issued", b->name);
	memset(&q, 0, sizeof(q));
	q.certificate_id = idB;
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, 2, "%s: filter certificate_id: issued and revoked", b->name);
	memset(&q, 0, sizeof(q));
	q.since = "2000-01-01T09:00:00+09:00";
	q.until = "2999-01-01T00:00:00Z";
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, head, "%s: since/until around now: all entries", b->name);
	memset(&q, 0, sizeof(q));
	q.since = "2999-01-01T00:00:00Z";
	n = lt_count_list(l, &q, &pages, &w);
	is_int(n, 0, "%s: since the future: none", b->name);
	memset(&q, 0, sizeof(q));
	q.since = "yesterday";
	is_int(ledger_list(l, &q, lt_walk_cb, &w, &next, &e),
	       -ERR_MALFORMED_REQUEST,
	       "%s: since not RFC 3339 -> malformed_request", b->name);
	memset(&q, 0, sizeof(q));
	q.limit = 5000;
	n = 0;
	ledger_list(l, &q, lt_walk_cb, &w, &next, &e);
	is_int(next, 0,
	       "%s: a limit over the page maximum is capped (one page)",
	       b->name);
	ledger_close(l);
}

/* GET /v1/certificates/{id}: the issued entry with DER, its revocation. */
static void t_get_certificate(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "getcert");
	struct ledger_entry en = {.reissue = -1}, ex = {.reissue = -1};
	struct errd e = {0};
	char idA[65], idB[65];
	int rc;

	if (l == NULL)
		return;
	lt_issue(l, "A", "kA", 1, 0, idA, NULL, &e);
	lt_issue(l, "B", "kB", 1, 0, idB, NULL, &e);
	ledger_revoke(l, idA, "ops", NULL, 0, NULL, &e);
	rc = ledger_get_certificate(l, idA, &en, &ex, &e);
	ok(rc == 0 && en.der != NULL && ex.seq > en.seq &&
	       ex.event == LEDGER_REVOKED,
	   "%s: get_certificate A: issued with DER and its revocation",
	   b->name);
	ledger_entry_clear(&en);
	ledger_entry_clear(&ex);
	rc = ledger_get_certificate(l, idB, &en, &ex, &e);
	ok(rc == 0 && en.seq == 2 && ex.seq == 0,
	   "%s: get_certificate B: not revoked", b->name);
	ledger_entry_clear(&en);
	ledger_entry_clear(&ex);
	is_int(ledger_get_certificate(l, "ff", &en, &ex, &e), -ERR_NOT_FOUND,
	       "%s: get_certificate unknown -> not_found", b->name);
	ledger_close(l);
}

/* ledger verify: the whole chain, and against an anchor. */
static void t_verify(const struct backend *b)
{
	static const char *const two[] = {"A", "B", NULL};
	struct ledger *l = open_fresh(b, "verify");
	struct errd e = {0};
	char id[65], hash[65];
	int64_t n = 0, bad = 0, head = 0;
	int rc;

	if (l == NULL)
		return;
	lt_import(l, two);
	lt_issue(l, "A", "kA", 1, 1, id, NULL, &e);
	ledger_revoke(l, id, "ops", "x\"y\tz\001", 0, NULL, &e);
	ledger_head(l, &head, hash, &e);
	rc = ledger_verify(l, 0, NULL, &n, &bad, &e);
	ok(rc == 0 && n == 3, "%s: verify OK: %lld entries", b->name,
	   (long long)n);
	is_int(ledger_verify(l, head, hash, &n, &bad, &e), 0,
	       "%s: verify against the head", b->name);
	lt_issue(l, "B", "kB", 1, 1, NULL, NULL, &e);
	{
		char last[65] = "", newer[65];
		int64_t newer_seq = 0;

		ledger_head(l, &newer_seq, newer, &e);
		rc = ledger_verify_head(l, 0, NULL, &n, &bad, last, &e);
		ok(rc == 0 && n == newer_seq && strcmp(last, newer) == 0,
		   "%s: verify reports the head it verified (%lld)", b->name,
		   (long long)n);
	}
	rc = ledger_verify(l, head - 1, hash, &n, &bad, &e);
	ok(rc == -ERR_LEDGER_CORRUPT && bad == head - 1,
	   "%s: verify with a wrong anchor hash fails naming it", b->name);
	rc = ledger_verify(l, head + 6, hash, &n, &bad, &e);
	ok(rc == -ERR_LEDGER_CORRUPT && strstr(e.msg, "entries were removed"),
	   "%s: an anchor past the end: %s", b->name, e.msg);
	ledger_close(l);
}

/* Every entry records its node; an issued one the CA's certificate ID it
 * was given. */
static void t_node_and_ca(const struct backend *b)
{
	struct ledger *l = open_fresh(b, "node");
	struct ledger_entry en;
	struct errd e = {0};
	char id[65], ca[65];
	int64_t n = 0, bad = 0;
	int rc;

	if (l == NULL)
		return;
	ledger_set_node(l, "line-3", &e);
	lt_mk_issue(&en, "CAID-1", "key-caid", 1);
	sha256_hex("issuing CA DER", 14, ca);
	en.ca_certificate_id = strdup(ca);
	snprintf(id, sizeof(id), "%s", en.certificate_id);
	is_int(ledger_record_issue(l, &en, 0, 1, NULL, &e), 0,
	       "%s: issue with ca_certificate_id", b->name);
	ledger_entry_clear(&en);
	rc = ledger_get_certificate(l, id, &en, NULL, &e);
	ok(rc == 0 && en.ca_certificate_id &&
	       strcmp(en.ca_certificate_id, ca) == 0,
	   "%s: ... stored and read back", b->name);
	is_str(en.node, "line-3", "%s: issued entry carries the node set",
	       b->name);
	ledger_entry_clear(&en);
	is_int(ledger_verify(l, 0, NULL, &n, &bad, &e), 0,
	       "%s: ... and the chain verifies with them", b->name);
	ledger_close(l);
}

/* A read-only handle reads beside the writer and refuses writes. */
static void t_rdonly(const struct backend *b)
{
	static const char *const one[] = {"A", NULL};
	struct ledger *l = open_fresh(b, "rdonly"), *ro = NULL;
	struct errd e = {0};
	char hash[65], whash[65];
	int64_t seq = 0, wseq = 0;

	if (l == NULL)
		return;
	lt_import(l, one);
	is_int(ledger_open(b->uri ? b->uri : lt_path("rdonly.db"),
			   LEDGER_RDONLY, &ro, &e),
	       0, "%s: rdonly open beside the writer", b->name);
	if (ro == NULL) {
		ledger_close(l);
		return;
	}
	lt_issue(l, "A", "kA", 1, 1, NULL, NULL, &e);
	ledger_head(l, &wseq, whash, &e);
	ledger_head(ro, &seq, hash, &e);
	ok(seq == wseq && strcmp(hash, whash) == 0,
	   "%s: rdonly sees the writer's commits (head %lld)", b->name,
	   (long long)seq);
	is_int(lt_issue(ro, "Q", "k", 1, 0, NULL, NULL, &e),
	       -ERR_LEDGER_UNAVAILABLE, "%s: rdonly refuses writes", b->name);
	is_int(ledger_ping(ro, &e), -ERR_LEDGER_UNAVAILABLE,
	       "%s: ... and is not ready to write", b->name);
	ledger_close(ro);
	ledger_close(l);
}

/* ---- not per backend --------------------------------------------------- */

/* A database URI selects another backend, never a file by that name. */
static void t_uri_without_backend(void)
{
#ifndef THINGCA_LEDGER_PG
	struct ledger *l = NULL;
	struct errd e = {0};
	int rc;

	rc = ledger_open("postgresql://thingca@db1/thingca", 0, &l, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE,
	       "postgresql:// without the backend");
	ok(strstr(e.msg, "this build has no PostgreSQL backend") != NULL,
	   "... says so: %s", e.msg);
	rc = ledger_open("postgres://db1/thingca", LEDGER_RDONLY, &l, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE, "postgres:// read-only too");
	ok(access("postgres:", F_OK) != 0 && access("postgresql:", F_OK) != 0,
	   "... and no file or directory was created for it");
	rc = ledger_backup("postgresql://db1/thingca", lt_path("b.db"), 0, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE, "backup of a URI refused");
#endif
	ok(ledger_location_is_uri("postgresql://h/d") &&
	       ledger_location_is_uri("postgres://h/d") &&
	       !ledger_location_is_uri("/var/lib/thingca/ledger.db") &&
	       !ledger_location_is_uri("postgresql:/x") &&
	       !ledger_location_is_uri("pg.db"),
	   "ledger_location_is_uri");
}

static void (*const behaviours[])(const struct backend *) = {
    t_open,	    t_import,	   t_allowlist, t_already_issued,
    t_key_reuse,    t_revoke,	   t_reissue,	t_race,
    t_group_commit, t_stats,	   t_list,	t_get_certificate,
    t_verify,	    t_node_and_ca, t_rdonly,	t_serials,
};

int main(void)
{
	struct backend backends[2] = {{"sqlite", NULL}};
	size_t nb = 1, i, k;

	if (lt_init("t-ledger") < 0)
		return 1;
	test_canonical();
	t_uri_without_backend();
	if (getenv("THINGCA_TEST_PG_URI") && *getenv("THINGCA_TEST_PG_URI")) {
#ifdef THINGCA_LEDGER_PG
		backends[nb].name = "postgresql";
		backends[nb].uri = getenv("THINGCA_TEST_PG_URI");
		nb++;
#else
		diag("THINGCA_TEST_PG_URI set, but this build has no "
		     "PostgreSQL backend");
#endif
	}
	for (i = 0; i < nb; i++)
		for (k = 0; k < sizeof(behaviours) / sizeof(behaviours[0]); k++)
			behaviours[k](&backends[i]);
	lt_cleanup();
	return done_testing();
}
