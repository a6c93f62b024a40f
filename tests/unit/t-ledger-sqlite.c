/*
 * t-ledger-sqlite — what only the SQLite backend has: the file (created
 * mode 0600, "no ledger at" when missing), WAL readers beside the writer,
 * the online backup, the auditor's shell recipe of docs/ledger.md run with
 * sqlite3 and jq, and tampering done behind the ledger's back through the
 * sqlite3 API (triggers dropped, rows changed, deleted, reordered, cut
 * off; a newer schema). The behaviour every backend shares is
 * tests/unit/t-ledger.c.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger_test.h"

/* The append-only trigger of sql/sqlite/001-init.sql, to put back after
 * tampering so that a test reaches the check after the trigger check. */
#define NO_UPDATE_TRIGGER                                                      \
	"CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN "       \
	"SELECT RAISE(ABORT, 'ledger is append-only'); END;"

static char db[512];
static int64_t head_seq;
static char head_hash[65];

static int exec_sql(const char *file, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;
	int rc;

	sqlite3_open(file, &h);
	rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		diag("sql on %s: %s", file, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(h);
	return rc;
}

/* The shell recipe of docs/ledger.md, run for entry seq of db. */
static void test_recipe(const char *file, int64_t seq, const char *want)
{
	char cmd[4096], got[128] = "";
	FILE *f;

	if (system("command -v jq >/dev/null && command -v sqlite3 >/dev/null "
		   "&& command -v xxd >/dev/null") != 0) {
		printf("ok %d # SKIP jq, sqlite3 or xxd not installed\n",
		       ++tap_n);
		return;
	}
	snprintf(
	    cmd, sizeof(cmd),
	    "DB='%s' N=%lld; "
	    "row=$(sqlite3 -readonly -json \"$DB\" \"SELECT seq, time, "
	    "event, client, serial, thing_name, certificate_id, "
	    "certificate_serial, spki_sha256, not_before, not_after, "
	    "reason, reissue, hex(der) AS der_hex, prev_hash, hash, node, "
	    "ca_certificate_id FROM ledger WHERE seq = $N\"); "
	    "der=$(printf '%%s' \"$row\" | jq -r '.[0].der_hex' | "
	    "xxd -r -p | base64 -w0); "
	    "canon=$(printf '%%s' \"$row\" | jq -cS --arg der \"$der\" "
	    "'.[0] | .reissue |= (if . == null then null else . == 1 end) "
	    "| .certificate_der = (if $der == \"\" then null else $der end) "
	    "| del(.der_hex, .prev_hash, .hash) "
	    "| del(.node | select(. == null)) "
	    "| del(.ca_certificate_id | select(. == null))'); "
	    "prev=$(printf '%%s' \"$row\" | jq -r '.[0].prev_hash'); "
	    "{ printf '%%s' \"$prev\" | xxd -r -p; printf '%%s' \"$canon\"; "
	    "} | sha256sum | cut -d' ' -f1",
	    file, (long long)seq);
	f = popen(cmd, "r");
	if (f && fgets(got, sizeof(got), f))
		got[strcspn(got, "\n")] = '\0';
	if (f)
		pclose(f);
	is_str(got, want, "docs recipe recomputes the hash of entry %lld",
	       (long long)seq);
}

static void expect_verify(const char *file, int64_t aseq, const char *ahash,
			  int64_t want_bad, const char *want_msg,
			  const char *what)
{
	struct ledger *l = NULL;
	struct errd e = {0};
	int64_t n = 0, bad = 0;
	int rc;

	rc = ledger_open(file, LEDGER_RDONLY, &l, &e);
	if (!ok(rc == 0, "%s: opens read-only", what)) {
		diag("%s", e.msg);
		return;
	}
	rc = ledger_verify(l, aseq, ahash, &n, &bad, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "%s: verify fails", what);
	is_int(bad, want_bad, "%s: names entry", what);
	is_str(e.msg, want_msg, "%s: says how", what);
	ledger_close(l);
}

/* A ledger of a dozen entries of every event, at db; its head in
 * head_seq / head_hash. */
static struct ledger *populate(void)
{
	static const char *const four[] = {"A", "B", "C", "D", NULL};
	struct ledger *l = NULL;
	struct errd e = {0};
	struct stat sb;
	char idA[65], idB[65], s[16], k[16];
	int i;

	snprintf(db, sizeof(db), "%s", lt_path("ledger.db"));
	if (!ok(ledger_open(db, 0, &l, &e) == 0,
		"rw open creates the ledger")) {
		diag("%s", e.msg);
		return NULL;
	}
	ok(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	   "ledger file is mode 0600 (got %o)", sb.st_mode & 0777);
	lt_import(l, four);
	lt_issue(l, "A", "kA", 1, 1, idA, NULL, &e);
	lt_issue(l, "B", "kB", 1, 1, idB, NULL, &e);
	ledger_revoke(l, idA, "ops", "keyCompromise", 0, NULL, &e);
	ledger_revoke(l, idB, "ops", "superseded", 1, NULL, &e);
	lt_issue(l, "B", "kB2", 2, 1, NULL, NULL, &e);
	for (i = 0; i < 6; i++) {
		snprintf(s, sizeof(s), "P-%d", i);
		snprintf(k, sizeof(k), "kP-%d", i);
		lt_issue(l, s, k, i, 0, NULL, NULL, &e);
	}
	ledger_head(l, &head_seq, head_hash, &e);
	is_int(head_seq, 12, "a dozen entries");
	return l;
}

static void t_missing(void)
{
	struct ledger *ro = NULL;
	struct errd e = {0};
	int rc;

	rc = ledger_open(lt_path("missing.db"), LEDGER_RDONLY, &ro, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE, "rdonly open of a missing file");
	ok(strstr(e.msg, "no ledger at") != NULL, "says: %s", e.msg);
	ok(access(lt_path("missing.db"), F_OK) != 0, "... and creates none");
}

/* WAL: a reader handle reads and verifies while the writer commits. */
static void t_wal_readers(struct ledger *l)
{
	struct ledger *ro = NULL;
	struct lt_racer rs[4];
	pthread_t th[4];
	struct errd e = {0};
	char hash[65];
	int64_t seq = 0, n = 0, bad = 0;
	int i, rc;

	rc = ledger_open(db, LEDGER_RDONLY, &ro, &e);
	is_int(rc, 0, "rdonly open beside the writer");
	if (ro == NULL)
		return;
	for (i = 0; i < 4; i++) {
		rs[i].l = l;
		rs[i].serial = NULL;
		rs[i].n = 300 + i;
		snprintf(rs[i].key, sizeof(rs[i].key), "ro-key-%d", i);
		pthread_create(&th[i], NULL, lt_race_main, &rs[i]);
	}
	rc = ledger_head(ro, &seq, hash, &e);
	ok(rc == 0 && seq >= head_seq, "rdonly head while writing: %lld",
	   (long long)seq);
	rc = ledger_verify(ro, head_seq, head_hash, &n, &bad, &e);
	ok(rc == 0 && n >= head_seq,
	   "rdonly verify while writing, with anchor");
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ledger_head(l, &head_seq, head_hash, &e);
	rc = ledger_head(ro, &seq, hash, &e);
	ok(seq == head_seq && strcmp(hash, head_hash) == 0,
	   "rdonly sees the writer's commits (head %lld)", (long long)seq);
	ledger_close(ro);
}

static void t_backup(void)
{
	struct ledger *ro = NULL;
	struct errd e = {0};
	struct stat sb;
	int64_t n = 0, bad = 0;
	int rc;

	rc = ledger_backup(db, lt_path("copy.db"), 0, &e);
	if (!ok(rc == 0, "backup"))
		diag("%s", e.msg);
	rc = ledger_backup(db, lt_path("copy.db"), 0, &e);
	is_int(rc, -ERR_IO, "backup refuses an existing target");
	rc = ledger_backup(db, lt_path("copy.db"), 1, &e);
	is_int(rc, 0, "backup --force replaces it");
	ok(stat(lt_path("copy.db"), &sb) == 0 && (sb.st_mode & 0777) == 0600,
	   "backup is mode 0600");
	rc = ledger_open(lt_path("copy.db"), LEDGER_RDONLY, &ro, &e);
	if (rc == 0) {
		rc = ledger_verify(ro, head_seq, head_hash, &n, &bad, &e);
		ok(rc == 0 && n == head_seq,
		   "backup verifies against the head");
		ledger_close(ro);
	} else {
		ok(0, "backup opens: %s", e.msg);
	}
}

/* The recipe for entries 1 (an import: no DER, no serial) and 3 (an
 * issuance with DER and node). */
static void t_recipes(struct ledger *l)
{
	struct ledger_query q = {0};
	struct errd e = {0};
	char hash[65];
	int64_t next;

	q.after = 2;
	q.limit = 1;
	hash[0] = '\0';
	ledger_list(l, &q, lt_hash_cb, hash, &next, &e);
	test_recipe(db, 3, hash);
	q.after = 0;
	ledger_list(l, &q, lt_hash_cb, hash, &next, &e);
	test_recipe(db, 1, hash);
}

/* Tampering behind the ledger's back, each on its own copy. */
static void t_tampering(void)
{
	struct ledger *l = NULL, *ro = NULL;
	struct errd e = {0};
	char sql[512];
	int64_t n = 0, bad = 0;
	int rc;

	ledger_backup(db, lt_path("t1.db"), 0, &e);
	exec_sql(lt_path("t1.db"),
		 "DROP TRIGGER ledger_no_update; "
		 "UPDATE ledger SET thing_name = 'evil' WHERE seq = 3");
	expect_verify(lt_path("t1.db"), 0, NULL, 3,
		      "entry 3: hash does not match its contents",
		      "changed field");

	ledger_backup(db, lt_path("t2.db"), 0, &e);
	exec_sql(lt_path("t2.db"), "DROP TRIGGER ledger_no_delete; "
				   "DELETE FROM ledger WHERE seq = 4");
	expect_verify(lt_path("t2.db"), 0, NULL, 5,
		      "entry 5: seq gap after 3 (entry deleted?)",
		      "deleted entry");

	ledger_backup(db, lt_path("t3.db"), 0, &e);
	exec_sql(
	    lt_path("t3.db"),
	    "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; "
	    "CREATE TEMP TABLE s AS SELECT * FROM ledger WHERE seq IN (5, 6); "
	    "DELETE FROM ledger WHERE seq IN (5, 6); "
	    "INSERT INTO ledger SELECT 11 - seq, time, event, client, serial, "
	    "thing_name, certificate_id, certificate_serial, spki_sha256, "
	    "not_before, not_after, reason, reissue, der, prev_hash, hash, "
	    "node, ca_certificate_id FROM s");
	expect_verify(lt_path("t3.db"), 0, NULL, 5,
		      "entry 5: prev_hash does not match entry 4's hash "
		      "(reordered or replaced?)",
		      "reordered entries");

	ledger_backup(db, lt_path("t4.db"), 0, &e);
	snprintf(sql, sizeof(sql),
		 "DROP TRIGGER ledger_no_delete; DELETE FROM ledger WHERE seq "
		 "> %lld",
		 (long long)head_seq - 2);
	exec_sql(lt_path("t4.db"), sql);
	rc = ledger_open(lt_path("t4.db"), LEDGER_RDONLY, &ro, &e);
	rc = ledger_verify(ro, 0, NULL, &n, &bad, &e);
	ok(rc == 0 && n == head_seq - 2, "a truncated ledger verifies without "
					 "an anchor (why anchors matter)");
	ledger_close(ro);
	ro = NULL;
	snprintf(sql, sizeof(sql),
		 "the ledger ends at seq %lld but the anchor names seq %lld: "
		 "entries were removed",
		 (long long)head_seq - 2, (long long)head_seq);
	expect_verify(lt_path("t4.db"), head_seq, head_hash, head_seq, sql,
		      "truncation against the anchor");
	snprintf(sql, sizeof(sql), "entry %lld differs from the anchored head",
		 (long long)head_seq - 3);
	expect_verify(lt_path("t4.db"), head_seq - 3, head_hash, head_seq - 3,
		      sql, "anchor hash differs");

	/* open refuses a tampered newest entry and a too-new schema */
	ledger_backup(db, lt_path("t5.db"), 0, &e);
	snprintf(
	    sql, sizeof(sql),
	    "DROP TRIGGER ledger_no_update; UPDATE ledger SET reason = 'x' "
	    "WHERE seq = %lld; %s",
	    (long long)head_seq, NO_UPDATE_TRIGGER);
	exec_sql(lt_path("t5.db"), sql);
	rc = ledger_open(lt_path("t5.db"), 0, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "open refuses a tampered newest entry");
	snprintf(sql, sizeof(sql), "ledger entry %lld does not match its hash",
		 (long long)head_seq);
	ok(strstr(e.msg, sql) && strstr(e.msg, "thingca ledger verify"),
	   "... says: %s", e.msg);
	ledger_backup(db, lt_path("t6.db"), 0, &e);
	exec_sql(lt_path("t6.db"), "PRAGMA user_version = 99");
	rc = ledger_open(lt_path("t6.db"), 0, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "open refuses a newer schema");
	ok(strstr(e.msg, "schema version 99") != NULL, "... says: %s", e.msg);
	rc = ledger_open(lt_path("t6.db"), LEDGER_RDONLY, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "rdonly open refuses a newer schema");
	exec_sql(db, "UPDATE ledger SET reason = 'x' WHERE seq = 1");
	rc = ledger_open(db, 0, &l, &e);
	is_int(rc, 0, "triggers kept the original untouched");
	rc = ledger_verify(l, head_seq, head_hash, &n, &bad, &e);
	is_int(rc, 0, "original still verifies");

	ledger_close(l);
}

/* expect_open: opening file (flags) fails with want and a message
 * containing msg. */
static void expect_open(const char *file, int flags, int want, const char *msg,
			const char *what)
{
	struct ledger *l = NULL;
	struct errd e = {0};
	int rc = ledger_open(file, flags, &l, &e);

	is_int(rc, want, "%s: refused", what);
	ok(strstr(e.msg, msg) != NULL, "%s: says: %s", what, e.msg);
	ledger_close(l);
}

/* DESIGN.md: at start the daemon refuses a ledger without its append-only
 * triggers, and one whose `ledger` is not a table. */
static void t_schema_refused(void)
{
	ledger_backup(db, lt_path("s1.db"), 0, NULL);
	exec_sql(lt_path("s1.db"), "DROP TRIGGER ledger_no_delete");
	expect_open(lt_path("s1.db"), 0, -ERR_LEDGER_CORRUPT,
		    "the append-only trigger ledger_no_delete is missing",
		    "a ledger without its delete trigger");
	ledger_backup(db, lt_path("s2.db"), 0, NULL);
	exec_sql(lt_path("s2.db"),
		 "DROP TRIGGER ledger_no_update; CREATE TRIGGER "
		 "ledger_no_update BEFORE UPDATE ON ledger WHEN 0 BEGIN "
		 "SELECT RAISE(ABORT, 'ledger is append-only'); END");
	expect_open(lt_path("s2.db"), 0, -ERR_LEDGER_CORRUPT,
		    "the append-only trigger ledger_no_update is missing or "
		    "altered",
		    "a ledger whose update trigger never fires");
	ledger_backup(db, lt_path("s3.db"), 0, NULL);
	exec_sql(lt_path("s3.db"), "ALTER TABLE ledger RENAME TO real_ledger; "
				   "CREATE VIEW ledger AS SELECT * FROM "
				   "real_ledger");
	expect_open(lt_path("s3.db"), 0, -ERR_LEDGER_CORRUPT,
		    "`ledger` is a view, not a table",
		    "a ledger replaced by a view (read-write)");
	expect_open(lt_path("s3.db"), LEDGER_RDONLY, -ERR_LEDGER_CORRUPT,
		    "`ledger` is a view, not a table",
		    "a ledger replaced by a view (read-only: verify, list)");
}

/* As key files are: a ledger file or directory writable by group or
 * others is refused (whoever can write them can replace the ledger). */
static void t_modes_refused(void)
{
	char sub[512];

	ledger_backup(db, lt_path("m1.db"), 0, NULL);
	chmod(lt_path("m1.db"), 0620);
	expect_open(lt_path("m1.db"), 0, -ERR_LEDGER_UNAVAILABLE,
		    "is writable by group or others (mode 620)",
		    "a group-writable ledger file");
	chmod(lt_path("m1.db"), 0602);
	expect_open(lt_path("m1.db"), 0, -ERR_LEDGER_UNAVAILABLE,
		    "is writable by group or others (mode 602)",
		    "an other-writable ledger file");
	snprintf(sub, sizeof(sub), "%s", lt_path("shared"));
	mkdir(sub, 0700);
	chmod(sub, 0770);
	snprintf(sub, sizeof(sub), "%s", lt_path("shared/l.db"));
	expect_open(sub, 0, -ERR_LEDGER_UNAVAILABLE, "directory",
		    "a ledger in a group-writable directory");
	chmod(lt_path("shared"), 0700);
	{
		struct ledger *l = NULL;

		is_int(ledger_open(sub, 0, &l, NULL), 0,
		       "... accepted once the directory is 0700");
		ledger_close(l);
	}
	chmod(lt_path("m1.db"), 0600);
	{
		struct ledger *l = NULL;

		is_int(ledger_open(lt_path("m1.db"), LEDGER_RDONLY, &l, NULL),
		       0, "read-only audits of a copy are not refused");
		ledger_close(l);
	}
}

/* A ledger file deleted or replaced under a running writer: readiness
 * says so and no commit is reported (nothing answered 2xx). */
static void t_replaced_under_writer(void)
{
	static const char *const one[] = {"R1", NULL};
	struct ledger *l = NULL;
	struct errd e = {0};
	char path[512];

	snprintf(path, sizeof(path), "%s", lt_path("r.db"));
	if (!ok(ledger_open(path, 0, &l, &e) == 0, "open r.db"))
		return;
	lt_import(l, one);
	is_int(ledger_ping(l, &e), 0, "ready before");
	ledger_backup(db, lt_path("other.db"), 0, NULL);
	rename(lt_path("other.db"), path); /* another ledger at the path */
	is_int(ledger_ping(l, &e), -ERR_LEDGER_UNAVAILABLE,
	       "a replaced file: not ready");
	ok(strstr(e.msg, "was replaced or moved") != NULL, "... says: %s",
	   e.msg);
	is_int(lt_issue(l, "R1", "kR1", 1, 1, NULL, NULL, &e),
	       -ERR_LEDGER_UNAVAILABLE, "... and an issuance is not committed");
	is_int(lt_import(l, one), -ERR_LEDGER_UNAVAILABLE, "... nor an import");
	ledger_close(l);
	l = NULL;
	if (ledger_open(path, LEDGER_RDONLY, &l, &e) == 0) {
		is_int(ledger_check_issue(l, "R1", NULL, 0, 1, NULL, &e), 0,
		       "the refused issuance is recorded nowhere");
		ledger_close(l);
		l = NULL;
	}

	/* loosened or stripped under the running daemon: not ready either */
	snprintf(path, sizeof(path), "%s", lt_path("p.db"));
	if (!ok(ledger_open(path, 0, &l, &e) == 0, "open p.db"))
		return;
	chmod(path, 0660);
	is_int(ledger_ping(l, &e), -ERR_LEDGER_UNAVAILABLE,
	       "made group-writable while open: not ready");
	ok(strstr(e.msg, "writable by group") != NULL, "... says: %s", e.msg);
	chmod(path, 0600);
	is_int(ledger_ping(l, &e), 0, "... ready again once 0600");
	exec_sql(path, "DROP TRIGGER ledger_no_delete");
	is_int(ledger_ping(l, &e), -ERR_LEDGER_CORRUPT,
	       "a trigger dropped while open: not ready");
	ok(strstr(e.msg, "ledger_no_delete") != NULL, "... says: %s", e.msg);
	ledger_close(l);
	l = NULL;

	snprintf(path, sizeof(path), "%s", lt_path("d.db"));
	if (!ok(ledger_open(path, 0, &l, &e) == 0, "open d.db"))
		return;
	lt_import(l, one);
	unlink(path);
	is_int(ledger_ping(l, &e), -ERR_LEDGER_UNAVAILABLE,
	       "a deleted file: not ready");
	ok(strstr(e.msg, "was deleted") != NULL, "... says: %s", e.msg);
	is_int(lt_issue(l, "R1", "kR1", 1, 1, NULL, NULL, &e),
	       -ERR_LEDGER_UNAVAILABLE, "... and an issuance is not committed");
	ledger_close(l);
}

/* ledger verify covers exactly the stored bytes: a value SQLite reads back
 * converted, or text cut short at a NUL byte, verified before (its hash is
 * computed over what C reads), and now fails naming the entry. */
static void t_stored_bytes(void)
{
	static const struct {
		const char *sql, *msg, *what;
	} cases[] = {
	    {"UPDATE ledger SET reason = reason || char(0) || 'hidden' "
	     "WHERE seq = 4",
	     "entry 4: reason holds a NUL byte", "text with an embedded NUL"},
	    {"UPDATE ledger SET hash = CAST(hash AS BLOB) WHERE seq = 3",
	     "entry 3: hash is stored as blob, not text", "a hash as a blob"},
	    {"UPDATE ledger SET der = CAST(der AS TEXT) WHERE seq = 2",
	     "entry 2: der is stored as text, not blob", "DER as text"},
	    {"UPDATE ledger SET time = CAST(time AS BLOB) WHERE seq = 5",
	     "entry 5: time is stored as blob, not text", "a time as a blob"},
	};
	struct ledger *l = NULL;
	struct errd e = {0};
	char file[32], sql[512];
	int64_t n = 0, bad = 0;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(file, sizeof(file), "b%zu.db", i);
		ledger_backup(db, lt_path(file), 0, NULL);
		snprintf(sql, sizeof(sql), "DROP TRIGGER ledger_no_update; %s",
			 cases[i].sql);
		exec_sql(lt_path(file), sql);
		rc = ledger_open(lt_path(file), LEDGER_RDONLY, &l, &e);
		if (!ok(rc == 0, "%s: opens", cases[i].what))
			continue;
		rc = ledger_verify(l, 0, NULL, &n, &bad, &e);
		is_int(rc, -ERR_LEDGER_CORRUPT, "%s: verify fails",
		       cases[i].what);
		ok(strstr(e.msg, cases[i].msg) != NULL, "%s: says: %s",
		   cases[i].what, e.msg);
		ledger_close(l);
		l = NULL;
	}

	/* seq as text: the table rebuilt with seq TEXT (an INTEGER PRIMARY
	 * KEY cannot hold text); few entries, so text order is seq order */
	if (ledger_open(lt_path("seqtext.db"), 0, &l, &e) == 0) {
		static const char *const two[] = {"Q-1", "Q-2", NULL};

		lt_import(l, two);
		lt_issue(l, "Q-1", "kQ1", 1, 1, NULL, NULL, &e);
		ledger_close(l);
		l = NULL;
	}
	exec_sql(lt_path("seqtext.db"),
		 "CREATE TABLE l2 (seq TEXT, time TEXT, event TEXT, client "
		 "TEXT, serial TEXT, thing_name TEXT, certificate_id TEXT, "
		 "certificate_serial TEXT, spki_sha256 TEXT, not_before TEXT, "
		 "not_after TEXT, reason TEXT, reissue INTEGER, der BLOB, "
		 "prev_hash TEXT, hash TEXT, node TEXT, ca_certificate_id "
		 "TEXT); INSERT INTO l2 SELECT * FROM ledger; DROP TABLE "
		 "ledger; ALTER TABLE l2 RENAME TO ledger");
	rc = ledger_open(lt_path("seqtext.db"), LEDGER_RDONLY, &l, &e);
	if (ok(rc == 0, "seq as text: opens")) {
		rc = ledger_verify(l, 0, NULL, &n, &bad, &e);
		ok(rc == -ERR_LEDGER_CORRUPT && bad == 1 &&
		       strstr(e.msg, "entry 1: seq is stored as text") != NULL,
		   "seq as text: verify fails naming entry 1: %s", e.msg);
		ledger_close(l);
	}
}

int main(void)
{
	struct ledger *l;

	if (lt_init("t-ledger-sqlite") < 0)
		return 1;
	t_missing();
	l = populate();
	if (l == NULL)
		return done_testing();
	t_recipes(l);
	t_wal_readers(l);
	t_backup();
	ledger_close(l);
	t_tampering();
	t_stored_bytes();
	t_schema_refused();
	t_modes_refused();
	t_replaced_under_writer();
	lt_cleanup();
	return done_testing();
}
