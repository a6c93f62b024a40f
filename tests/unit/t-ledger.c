/*
 * t-ledger — the ledger against a real SQLite file in a temporary
 * directory: schema and migration, the issuance rules, revocation and
 * reissue, races through the writer, group commit, listing and paging,
 * verification against tampering (triggers dropped with the sqlite3 API),
 * read-only access beside a writer, the canonical encoding (and the auditor's
 * shell recipe of docs/ledger.md), and backups. Entries carry fake DER: the
 * ledger never parses it.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "tap.h"
#include "util.h"

static char dir[256];

static const char ZEROS[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static char *path_in(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A fake issued entry: certificate_id = SHA-256 of fake DER, spki from key. */
static void mk_issue(struct ledger_entry *en, const char *serial,
		     const char *key, int n)
{
	char der[128], id[65], spki[65];

	memset(en, 0, sizeof(*en));
	en->reissue = -1;
	snprintf(der, sizeof(der), "0\x82 fake DER of %s #%d", serial, n);
	sha256_hex(der, strlen(der), id);
	sha256_hex(key, strlen(key), spki);
	en->event = LEDGER_ISSUED;
	en->client = strdup("line1-station1");
	en->serial = strdup(serial);
	en->thing_name = strdup(serial);
	en->certificate_id = strdup(id);
	en->certificate_serial = strdup("0a1b2c");
	en->spki_sha256 = strdup(spki);
	en->not_before = strdup("2024-01-01T00:00:00Z");
	en->not_after = strdup("2034-01-01T00:00:00Z");
	en->der = (unsigned char *)strdup(der);
	en->der_len = strlen(der);
}

static int issue(struct ledger *l, const char *serial, const char *key, int n,
		 int allow, char id_out[65], struct ledger_entry *existing,
		 struct errd *e)
{
	struct ledger_entry en;
	int rc;

	mk_issue(&en, serial, key, n);
	if (id_out)
		snprintf(id_out, 65, "%s", en.certificate_id);
	rc = ledger_record_issue(l, &en, allow, 1, existing, e);
	ledger_entry_clear(&en);
	return rc;
}

static int exec_sql(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	char *msg = NULL;
	int rc;

	sqlite3_open(db, &h);
	rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		diag("sql on %s: %s", db, msg ? msg : "?");
	sqlite3_free(msg);
	sqlite3_close(h);
	return rc;
}

/* ---- threads ---------------------------------------------------------- */

struct racer {
	struct ledger *l;
	const char *serial;
	char key[32];
	int n, rc;
};

static void *race_main(void *arg)
{
	struct racer *r = arg;

	r->rc = issue(r->l, r->serial, r->key, r->n, 0, NULL, NULL, NULL);
	return NULL;
}

static void *many_main(void *arg)
{
	struct racer *r = arg;
	char serial[32];

	snprintf(serial, sizeof(serial), "GC-%03d", r->n);
	r->rc = issue(r->l, serial, r->key, r->n, 0, NULL, NULL, NULL);
	return NULL;
}

/* ---- list helpers ----------------------------------------------------- */

struct walk {
	int64_t last, n;
	int order_ok;
	const char *want_serial;
	int serial_ok;
};

static int walk_cb(void *arg, const struct ledger_entry *en)
{
	struct walk *w = arg;

	if (en->seq != w->last + 1 && w->want_serial == NULL)
		w->order_ok = 0;
	if (en->seq <= w->last)
		w->order_ok = 0;
	if (w->want_serial &&
	    (en->serial == NULL || strcmp(en->serial, w->want_serial) != 0))
		w->serial_ok = 0;
	w->last = en->seq;
	w->n++;
	return 0;
}

static int64_t count_list(struct ledger *l, struct ledger_query *q, int *pages,
			  struct walk *w)
{
	int64_t next = 0;
	int rc;

	memset(w, 0, sizeof(*w));
	w->order_ok = w->serial_ok = 1;
	w->want_serial = q->serial;
	*pages = 0;
	do {
		rc = ledger_list(l, q, walk_cb, w, &next, NULL);
		if (rc != 0)
			return -1;
		(*pages)++;
		q->after = next;
	} while (next != 0 && *pages < 10000);
	return w->n;
}

static int hash_cb(void *arg, const struct ledger_entry *en)
{
	memcpy(arg, en->hash, 65);
	return 0;
}

static int revo_cb(void *arg, const char *serial_hex, const char *time,
		   const char *reason)
{
	int *n = arg;

	if (serial_hex && time && reason)
		(*n)++;
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

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
		snprintf(cmd, sizeof(cmd), "%s", path_in("canon.json"));
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
			 path_in("canon.json"));
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

		ledger_entry_hash(&en, ZEROS, h0, NULL);
		en.node = "node-1";
		rc = ledger_canonical(&en, &c);
		want2 = "{\"certificate_der\":\"MIIB\",\"certificate_id\":"
			"\"ab\",\"certificate_serial\":null,\"client\":"
			"\"ops\",\"event\":\"revoked\",\"node\":\"node-1\","
			"\"not_after\":null,";
		ok(rc == 0 && strncmp(c, want2, strlen(want2)) == 0,
		   "canonical: node between event and not_after (got %s)", c);
		free(c);
		ledger_entry_hash(&en, ZEROS, h1, NULL);
		en.ca_certificate_id = "cd";
		rc = ledger_canonical(&en, &c);
		want2 = "{\"ca_certificate_id\":\"cd\",\"certificate_der\":"
			"\"MIIB\",";
		ok(rc == 0 && strncmp(c, want2, strlen(want2)) == 0,
		   "canonical: ca_certificate_id first (got %s)", c);
		free(c);
		ledger_entry_hash(&en, ZEROS, h2, NULL);
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

/* The shell recipe of docs/ledger.md, run for entry seq of db. */
static void test_recipe(const char *db, int64_t seq, const char *want)
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
	    db, (long long)seq);
	f = popen(cmd, "r");
	if (f && fgets(got, sizeof(got), f))
		got[strcspn(got, "\n")] = '\0';
	if (f)
		pclose(f);
	is_str(got, want, "docs recipe recomputes the hash of entry %lld",
	       (long long)seq);
}

static void expect_verify(const char *db, int64_t head_seq,
			  const char *head_hash, int64_t want_bad,
			  const char *want_msg, const char *what)
{
	struct ledger *l = NULL;
	struct errd e = {0};
	int64_t n = 0, bad = 0;
	int rc;

	rc = ledger_open(db, LEDGER_RDONLY, &l, &e);
	if (!ok(rc == 0, "%s: opens read-only", what)) {
		diag("%s", e.msg);
		return;
	}
	rc = ledger_verify(l, head_seq, head_hash, &n, &bad, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "%s: verify fails", what);
	is_int(bad, want_bad, "%s: names entry", what);
	is_str(e.msg, want_msg, "%s: says how", what);
	ledger_close(l);
}

int main(void)
{
	struct ledger *l = NULL, *ro = NULL;
	struct ledger_entry en = {.reissue = -1}, ex = {.reissue = -1};
	struct ledger_stats st;
	struct ledger_query q;
	struct errd e = {0};
	struct walk w;
	struct stat sb;
	char *serials[4], long_serial[80], idA[65], idB[65], idB2[65], hash[65],
	    head_hash[65], sql[512];
	char db[512], host[256];
	size_t added = 0, present = 0;
	int64_t seq = 0, n = 0, bad = 0, head_seq, b0, j0;
	int rc, i, wins, dup, pages;
	pthread_t th[200];
	struct racer rs[200];

	snprintf(dir, sizeof(dir), "/tmp/t-ledger.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s", path_in("ledger.db"));

	test_canonical();

	/* open, migrate, reopen */
	rc = ledger_open(path_in("missing.db"), LEDGER_RDONLY, &ro, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE, "rdonly open of a missing file");
	ok(strstr(e.msg, "no ledger at") != NULL, "says: %s", e.msg);
	rc = ledger_open(db, 0, &l, &e);
	if (!ok(rc == 0, "rw open creates the ledger"))
		diag("%s", e.msg);
	ok(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	   "ledger file is mode 0600 (got %o)", sb.st_mode & 0777);
	rc = ledger_head(l, &seq, hash, &e);
	ok(rc == 0 && seq == 0 && strspn(hash, "0") == 64,
	   "empty ledger head is 0 and 64 zeros");
	is_int(ledger_ping(l, &e), 0, "ping on a fresh ledger");
	ledger_close(l);
	rc = ledger_open(db, 0, &l, &e);
	is_int(rc, 0, "reopen (migrations already applied)");

	/* import */
	serials[0] = "A";
	serials[1] = "B";
	serials[2] = "C";
	rc = ledger_import_serials(l, "b1", "cli:test", serials, 3, &added,
				   &present, &en, &e);
	ok(rc == 0 && added == 3 && present == 0,
	   "import 3 new serials (rc %d added %zu present %zu)", rc, added,
	   present);
	is_int(en.seq, 1, "import entry is seq 1");
	is_int(en.event, LEDGER_SERIALS_IMPORTED, "import entry event");
	is_str(en.client, "cli:test", "import entry client");
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	is_str(en.node, host, "import entry node: the host name by default");
	ok(en.serial == NULL && en.certificate_id == NULL,
	   "import entry has no serial or certificate");
	sha256_hex("A\nB\nC\n", 6, hash);
	snprintf(sql, sizeof(sql), "batch=b1 added=3 present=0 sha256=%s",
		 hash);
	is_str(en.reason, sql, "import entry reason");
	ledger_entry_clear(&en);
	serials[0] = "C";
	serials[1] = "D";
	rc = ledger_import_serials(l, "b2", "cli:test", serials, 2, &added,
				   &present, NULL, &e);
	ok(rc == 0 && added == 1 && present == 1,
	   "import 1 new, 1 present (added %zu present %zu)", added, present);
	memset(long_serial, 'x', 70);
	long_serial[70] = '\0';
	serials[0] = "E";
	serials[1] = long_serial; /* the schema's CHECK refuses it */
	rc = ledger_import_serials(l, "b3", "cli:test", serials, 2, &added,
				   &present, NULL, &e);
	is_int(rc, -ERR_LEDGER_UNAVAILABLE, "import with a bad serial fails");
	is_int(ledger_check_issue(l, "E", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_UNKNOWN, "... and imports none (E unknown)");
	ledger_head(l, &seq, hash, &e);
	is_int(seq, 2, "... and appends no entry");

	/* check_issue rules */
	is_int(ledger_check_issue(l, "Z", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_UNKNOWN, "check: not imported -> serial_unknown");
	is_int(ledger_check_issue(l, "Z", NULL, 0, 1, NULL, &e), 0,
	       "check: not imported, no allowlist -> ok");
	is_int(ledger_check_issue(l, "A", "00", 1, 1, NULL, &e), 0,
	       "check: imported -> ok");

	/* issue, already issued */
	is_int(ledger_set_node(l, "node-7", &e), 0, "set_node");
	rc = issue(l, "A", "keyA", 1, 1, idA, NULL, &e);
	is_int(rc, 0, "record_issue A");
	rc = ledger_get_certificate(l, idA, &en, NULL, &e);
	ok(rc == 0 && en.node && strcmp(en.node, "node-7") == 0 &&
	       en.ca_certificate_id == NULL,
	   "issued entry carries the node set (got %s)",
	   en.node ? en.node : "NULL");
	ledger_entry_clear(&en);
	mk_issue(&en, "A", "keyA", 1);
	ledger_entry_clear(&en);
	mk_issue(&en, "A", "keyA2", 2);
	rc = ledger_record_issue(l, &en, 1, 1, &ex, &e);
	is_int(rc, -ERR_SERIAL_ALREADY_ISSUED,
	       "A again, other key -> already issued");
	is_str(ex.certificate_id, idA, "... existing is A's certificate");
	ok(ex.der && ex.der_len > 10 &&
	       memcmp(ex.der, "0\x82 fake DER of A #1", ex.der_len) == 0,
	   "... with its DER");
	is_int(en.seq, 0, "... and the refused entry has no seq");
	ledger_entry_clear(&en);
	ledger_entry_clear(&ex);
	sha256_hex("keyA", 4, hash);
	rc = ledger_check_issue(l, "A", hash, 1, 1, &ex, &e);
	is_int(rc, -ERR_SERIAL_ALREADY_ISSUED,
	       "check A same key -> already issued");
	is_str(ex.certificate_id, idA, "... existing filled by check");
	ledger_entry_clear(&ex);

	/* public key reuse */
	rc = issue(l, "B", "keyA", 3, 1, NULL, NULL, &e);
	is_int(rc, -ERR_PUBLIC_KEY_REUSED,
	       "B with A's key -> public_key_reused");
	ok(strstr(e.msg, "serial A") != NULL, "... names the serial: %s",
	   e.msg);
	is_int(ledger_check_issue(l, "B", hash, 1, 0, NULL, &e), 0,
	       "... allowed without unique_public_keys");

	/* revoke */
	rc = ledger_revoke(l, "00", "ops", NULL, 0, NULL, &e);
	is_int(rc, -ERR_NOT_FOUND, "revoke unknown certificate -> not_found");
	rc = ledger_revoke(l, idA, "ops", NULL, 0, &en, &e);
	is_int(rc, 0, "revoke A (no reissue)");
	is_int(en.event, LEDGER_REVOKED, "... revoked entry");
	is_str(en.serial, "A", "... copies serial");
	is_str(en.certificate_id, idA, "... copies certificate_id");
	is_str(en.spki_sha256, hash, "... copies spki");
	is_str(en.reason, "unspecified", "... default reason");
	is_str(en.node, "node-7", "... carries the node");
	ok(en.der == NULL && en.not_after == NULL && en.reissue == 0,
	   "... no DER, no validity, reissue false");
	ledger_entry_clear(&en);
	rc = ledger_revoke(l, idA, "ops", "again", 0, NULL, &e);
	is_int(rc, -ERR_ALREADY_REVOKED, "revoke twice -> already_revoked");
	is_int(ledger_check_issue(l, "A", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_REVOKED, "A blocked after revoke without reissue");
	rc = issue(l, "A", "keyA3", 4, 1, NULL, NULL, &e);
	is_int(rc, -ERR_SERIAL_REVOKED, "record A new key -> serial_revoked");

	rc = issue(l, "B", "keyB", 5, 1, idB, NULL, &e);
	is_int(rc, 0, "record B");
	rc = ledger_revoke(l, idB, "ops", "rework", 1, NULL, &e);
	is_int(rc, 0, "revoke B with reissue");
	sha256_hex("keyB", 4, hash);
	rc = ledger_check_issue(l, "B", hash, 1, 1, NULL, &e);
	is_int(rc, -ERR_PUBLIC_KEY_REUSED,
	       "B reissue with the old key refused");
	ok(strstr(e.msg, "revoked") != NULL, "... says revoked: %s", e.msg);
	is_int(ledger_check_issue(l, "B", NULL, 1, 1, NULL, &e), 0,
	       "B has no current certificate after reissue revoke");
	rc = issue(l, "B", "keyB2", 6, 1, idB2, NULL, &e);
	is_int(rc, 0, "B reissued with a new key");
	rc = issue(l, "B", "keyB3", 7, 1, NULL, &ex, &e);
	is_int(rc, -ERR_SERIAL_ALREADY_ISSUED, "B once more -> already issued");
	is_str(ex.certificate_id, idB2, "... the current one is the reissue");
	ledger_entry_clear(&ex);
	rc = ledger_revoke(l, idB2, "ops", "scrapped", 0, NULL, &e);
	is_int(ledger_check_issue(l, "B", NULL, 1, 1, NULL, &e),
	       -ERR_SERIAL_REVOKED,
	       "B blocked after the reissue is revoked for good");

	/* 16 racers for one serial */
	for (i = 0; i < 16; i++) {
		rs[i].l = l;
		rs[i].serial = "RACE";
		rs[i].n = 100 + i;
		snprintf(rs[i].key, sizeof(rs[i].key), "race-key-%d", i);
		pthread_create(&th[i], NULL, race_main, &rs[i]);
	}
	wins = dup = 0;
	for (i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].rc == 0;
		dup += rs[i].rc == -ERR_SERIAL_ALREADY_ISSUED;
	}
	is_int(wins, 1, "16 racers for one serial: exactly one certificate");
	is_int(dup, 15, "... the others get serial_already_issued");

	/* group commit: 200 concurrent issuances */
	ledger_stats(l, &st, &e);
	b0 = st.write_batches;
	j0 = st.write_jobs;
	for (i = 0; i < 200; i++) {
		rs[i].l = l;
		rs[i].n = i;
		snprintf(rs[i].key, sizeof(rs[i].key), "gc-key-%d", i);
		pthread_create(&th[i], NULL, many_main, &rs[i]);
	}
	wins = 0;
	for (i = 0; i < 200; i++) {
		pthread_join(th[i], NULL);
		wins += rs[i].rc == 0;
	}
	is_int(wins, 200, "200 concurrent issuances all committed");
	ledger_stats(l, &st, &e);
	is_int(st.write_jobs - j0, 200, "... as 200 writer jobs");
	ok(st.write_batches - b0 < 200,
	   "... in fewer transactions (group commit): %lld batches",
	   (long long)(st.write_batches - b0));
	diag("group commit: 200 jobs in %lld batches",
	     (long long)(st.write_batches - b0));

	/* stats and revocations */
	ok(st.issued == 204 && st.revoked == 3 && st.allowlisted == 4,
	   "stats: issued %lld revoked %lld allowlisted %lld",
	   (long long)st.issued, (long long)st.revoked,
	   (long long)st.allowlisted);
	is_int(st.allowlisted_unissued, 2, "stats: C and D unissued");

	/* list and paging */
	ledger_head(l, &head_seq, head_hash, &e);
	is_int(head_seq, st.entries, "head seq equals the entry count");
	memset(&q, 0, sizeof(q));
	q.limit = 7;
	n = count_list(l, &q, &pages, &w);
	is_int(n, head_seq, "paging by 7 visits every entry");
	ok(w.order_ok, "... exactly once, in seq order");
	is_int(pages, (head_seq + 6) / 7,
	       "... in the expected number of pages");
	memset(&q, 0, sizeof(q));
	q.serial = "B";
	n = count_list(l, &q, &pages, &w);
	ok(n == 4 && w.serial_ok, "filter serial B: 4 entries (got %lld)",
	   (long long)n);
	memset(&q, 0, sizeof(q));
	q.event = LEDGER_REVOKED;
	q.limit = 2;
	n = count_list(l, &q, &pages, &w);
	ok(n == 3 && pages == 2,
	   "filter event revoked: 3 in 2 pages (got %lld in %d)", (long long)n,
	   pages);
	memset(&q, 0, sizeof(q));
	q.station = "ops";
	q.thing_name = "B";
	n = count_list(l, &q, &pages, &w);
	is_int(n, 2, "filter station ops + thing_name B");
	memset(&q, 0, sizeof(q));
	q.certificate_id = idA;
	n = count_list(l, &q, &pages, &w);
	is_int(n, 2, "filter certificate_id: issued and revoked");
	memset(&q, 0, sizeof(q));
	q.since = "2000-01-01T09:00:00+09:00";
	q.until = "2999-01-01T00:00:00Z";
	n = count_list(l, &q, &pages, &w);
	is_int(n, head_seq, "since/until around now: all entries");
	memset(&q, 0, sizeof(q));
	q.since = "2999-01-01T00:00:00Z";
	n = count_list(l, &q, &pages, &w);
	is_int(n, 0, "since the future: none");
	memset(&q, 0, sizeof(q));
	q.since = "yesterday";
	is_int(ledger_list(l, &q, walk_cb, &w, &seq, &e),
	       -ERR_MALFORMED_REQUEST,
	       "since not RFC 3339 -> malformed_request");

	/* get_certificate */
	rc = ledger_get_certificate(l, idA, &en, &ex, &e);
	ok(rc == 0 && en.der != NULL && ex.seq > en.seq &&
	       ex.event == LEDGER_REVOKED,
	   "get_certificate A: issued with DER and its revocation");
	ledger_entry_clear(&en);
	ledger_entry_clear(&ex);
	rc = ledger_get_certificate(l, idB2, &en, NULL, &e);
	is_int(rc, 0, "get_certificate without revoked");
	ledger_entry_clear(&en);
	is_int(ledger_get_certificate(l, "ff", &en, &ex, &e), -ERR_NOT_FOUND,
	       "get_certificate unknown -> not_found");
	i = 0;
	rc = ledger_revocations(l, revo_cb, &i, &seq, &e);
	ok(rc == 0 && i == 3 && seq > 0,
	   "revocations: 3 (got %d), newest seq %lld", i, (long long)seq);

	/* verify */
	rc = ledger_verify(l, 0, NULL, &n, &bad, &e);
	ok(rc == 0 && n == head_seq, "verify OK: %lld entries (%s)",
	   (long long)n, e.msg);
	rc = ledger_verify(l, head_seq - 3, NULL, &n, &bad, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT,
	       "verify with a wrong anchor hash fails");
	memset(&q, 0, sizeof(q));
	q.after = 2;
	q.limit = 1;
	hash[0] = '\0';
	ledger_list(l, &q, hash_cb, hash, &seq, &e);
	test_recipe(db, 3, hash);
	q.after = 0;
	ledger_list(l, &q, hash_cb, hash, &seq, &e);
	test_recipe(db, 1, hash);

	/* read-only while the writer works */
	rc = ledger_open(db, LEDGER_RDONLY, &ro, &e);
	is_int(rc, 0, "rdonly open beside the writer");
	for (i = 0; i < 4; i++) {
		rs[i].l = l;
		rs[i].n = 300 + i;
		snprintf(rs[i].key, sizeof(rs[i].key), "ro-key-%d", i);
		pthread_create(&th[i], NULL, many_main, &rs[i]);
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
	is_int(issue(ro, "Q", "k", 1, 0, NULL, NULL, &e),
	       -ERR_LEDGER_UNAVAILABLE, "rdonly refuses writes");
	ledger_close(ro);
	ro = NULL;

	/* backup */
	rc = ledger_backup(db, path_in("copy.db"), 0, &e);
	if (!ok(rc == 0, "backup"))
		diag("%s", e.msg);
	rc = ledger_backup(db, path_in("copy.db"), 0, &e);
	is_int(rc, -ERR_IO, "backup refuses an existing target");
	rc = ledger_backup(db, path_in("copy.db"), 1, &e);
	is_int(rc, 0, "backup --force replaces it");
	ok(stat(path_in("copy.db"), &sb) == 0 && (sb.st_mode & 0777) == 0600,
	   "backup is mode 0600");
	rc = ledger_open(path_in("copy.db"), LEDGER_RDONLY, &ro, &e);
	if (rc == 0) {
		rc = ledger_verify(ro, head_seq, head_hash, &n, &bad, &e);
		ok(rc == 0 && n == head_seq,
		   "backup verifies against the head");
		ledger_close(ro);
		ro = NULL;
	} else {
		ok(0, "backup opens: %s", e.msg);
	}
	ledger_close(l);
	l = NULL;

	/* tampering, each on its own copy */
	ledger_backup(db, path_in("t1.db"), 0, &e);
	exec_sql(path_in("t1.db"),
		 "DROP TRIGGER ledger_no_update; "
		 "UPDATE ledger SET thing_name = 'evil' WHERE seq = 3");
	expect_verify(path_in("t1.db"), 0, NULL, 3,
		      "entry 3: hash does not match its contents",
		      "changed field");

	ledger_backup(db, path_in("t2.db"), 0, &e);
	exec_sql(path_in("t2.db"), "DROP TRIGGER ledger_no_delete; "
				   "DELETE FROM ledger WHERE seq = 4");
	expect_verify(path_in("t2.db"), 0, NULL, 5,
		      "entry 5: seq gap after 3 (entry deleted?)",
		      "deleted entry");

	ledger_backup(db, path_in("t3.db"), 0, &e);
	exec_sql(
	    path_in("t3.db"),
	    "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; "
	    "CREATE TEMP TABLE s AS SELECT * FROM ledger WHERE seq IN (5, 6); "
	    "DELETE FROM ledger WHERE seq IN (5, 6); "
	    "INSERT INTO ledger SELECT 11 - seq, time, event, client, serial, "
	    "thing_name, certificate_id, certificate_serial, spki_sha256, "
	    "not_before, not_after, reason, reissue, der, prev_hash, hash, "
	    "node, ca_certificate_id FROM s");
	expect_verify(path_in("t3.db"), 0, NULL, 5,
		      "entry 5: prev_hash does not match entry 4's hash "
		      "(reordered or replaced?)",
		      "reordered entries");

	ledger_backup(db, path_in("t4.db"), 0, &e);
	snprintf(sql, sizeof(sql),
		 "DROP TRIGGER ledger_no_delete; DELETE FROM ledger WHERE seq "
		 "> %lld",
		 (long long)head_seq - 2);
	exec_sql(path_in("t4.db"), sql);
	rc = ledger_open(path_in("t4.db"), LEDGER_RDONLY, &ro, &e);
	rc = ledger_verify(ro, 0, NULL, &n, &bad, &e);
	ok(rc == 0 && n == head_seq - 2, "a truncated ledger verifies without "
					 "an anchor (why anchors matter)");
	ledger_close(ro);
	ro = NULL;
	snprintf(sql, sizeof(sql),
		 "the ledger ends at seq %lld but the anchor names seq %lld: "
		 "entries were removed",
		 (long long)head_seq - 2, (long long)head_seq);
	expect_verify(path_in("t4.db"), head_seq, head_hash, head_seq, sql,
		      "truncation against the anchor");
	snprintf(sql, sizeof(sql), "entry %lld differs from the anchored head",
		 (long long)head_seq - 3);
	expect_verify(path_in("t4.db"), head_seq - 3, head_hash, head_seq - 3,
		      sql, "anchor hash differs");

	/* open refuses a tampered newest entry and a too-new schema */
	ledger_backup(db, path_in("t5.db"), 0, &e);
	snprintf(
	    sql, sizeof(sql),
	    "DROP TRIGGER ledger_no_update; UPDATE ledger SET reason = 'x' "
	    "WHERE seq = %lld",
	    (long long)head_seq);
	exec_sql(path_in("t5.db"), sql);
	rc = ledger_open(path_in("t5.db"), 0, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "open refuses a tampered newest entry");
	snprintf(sql, sizeof(sql), "ledger entry %lld does not match its hash",
		 (long long)head_seq);
	ok(strstr(e.msg, sql) && strstr(e.msg, "thingca ledger verify"),
	   "... says: %s", e.msg);
	ledger_backup(db, path_in("t6.db"), 0, &e);
	exec_sql(path_in("t6.db"), "PRAGMA user_version = 99");
	rc = ledger_open(path_in("t6.db"), 0, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "open refuses a newer schema");
	ok(strstr(e.msg, "schema version 99") != NULL, "... says: %s", e.msg);
	rc = ledger_open(path_in("t6.db"), LEDGER_RDONLY, &l, &e);
	is_int(rc, -ERR_LEDGER_CORRUPT, "rdonly open refuses a newer schema");
	exec_sql(db, "UPDATE ledger SET reason = 'x' WHERE seq = 1");
	rc = ledger_open(db, 0, &l, &e);
	is_int(rc, 0, "triggers kept the original untouched");
	rc = ledger_verify(l, head_seq, head_hash, &n, &bad, &e);
	is_int(rc, 0, "original still verifies");

	/* an issued entry keeps the issuing CA's certificate ID it was given */
	mk_issue(&en, "CAID-1", "key-caid", 1);
	sha256_hex("issuing CA DER", 14, hash);
	en.ca_certificate_id = strdup(hash);
	rc = ledger_record_issue(l, &en, 0, 1, NULL, &e);
	is_int(rc, 0, "issue with ca_certificate_id");
	snprintf(idA, sizeof(idA), "%s", en.certificate_id);
	ledger_entry_clear(&en);
	rc = ledger_get_certificate(l, idA, &en, NULL, &e);
	ok(rc == 0 && en.ca_certificate_id &&
	       strcmp(en.ca_certificate_id, hash) == 0,
	   "... stored and read back");
	ledger_entry_clear(&en);
	rc = ledger_verify(l, 0, NULL, &n, &bad, &e);
	is_int(rc, 0, "... and the chain verifies with it");
	ledger_close(l);

	snprintf(sql, sizeof(sql), "rm -rf '%s'", dir);
	if (getenv("T_LEDGER_KEEP") == NULL && system(sql) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
