/*
 * bench-ledger — how the ledger behaves at factory scale. Fills a temporary
 * ledger with N (default 1,000,000) issued entries, then times what the
 * daemon and auditors do: the issuance check and lookups by serial, thing
 * name and certificate ID (averaged over many random lookups), a page of
 * ledger_list, a full ledger_verify, and issuance through the writer from
 * many threads (group commit). Prints a table; `make bench-ledger`.
 *
 * The fill writes rows with SQL in one transaction, computing the hash chain
 * with the public ledger_canonical(), so ledger_verify at the end also
 * checks that this program chained the entries exactly as the ledger does.
 *
 * `bench-ledger --fill PATH N` only creates the ledger PATH with N issued
 * entries (serials SN00000001...) and exits: tests/bench/profile.sh starts
 * thingcad on such a ledger, so its indexes have a factory's size.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "util.h"

/* Random lookups averaged per row of the table: enough that one cold
 * page read does not dominate, few enough to finish in seconds. */
#define LOOKUPS 20000
/* Size of the fake DER: a P-256 device certificate with this profile is
 * about 600 bytes. */
#define DER_LEN 600
/* Writer benchmark: stations posting at once, and entries in all. */
#define W_THREADS 64
#define W_ENTRIES 20000

static long n_entries = 1000000;
static struct ledger *L;

static double secs(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench-ledger: %s: %s\n", what, msg);
	exit(1);
}

static void fake_der(unsigned char *der, long i)
{
	int k;

	for (k = 0; k < DER_LEN; k++)
		der[k] = (unsigned char)((i * 131 + k * 7) ^ (k >> 3));
	memcpy(der, &i, sizeof(i));
}

static void fill(const char *path)
{
	static const char ins[] =
		"INSERT INTO ledger (seq, time, event, client, serial, "
		"thing_name, certificate_id, certificate_serial, spki_sha256, "
		"not_before, not_after, reason, reissue, der, prev_hash, hash) "
		"VALUES (?1, ?2, 'issued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"NULL, NULL, ?11, ?12, ?13)";
	struct ledger_entry en;
	unsigned char der[DER_LEN], prev[32], md[32], *buf;
	char serial[32], thing[48], id[65], spki[65], key[32], client[32];
	char prevhex[65], hash[65], *canon;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t cl;
	long i;

	memset(prevhex, '0', 64);
	prevhex[64] = '\0';
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open", sqlite3_errmsg(db));
	/* a bulk load, nobody else connected: a rollback journal (not a
	 * 1.6 GB WAL), no fsync, a big page cache for the seven indexes;
	 * WAL is restored after */
	sqlite3_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA synchronous = "
			 "OFF; PRAGMA cache_size = -262144; BEGIN",
		     NULL, NULL, NULL);
	if (sqlite3_prepare_v2(db, ins, -1, &st, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	for (i = 1; i <= n_entries; i++) {
		snprintf(serial, sizeof(serial), "SN%08ld", i);
		snprintf(thing, sizeof(thing), "thing-SN%08ld", i);
		snprintf(key, sizeof(key), "key-%ld", i);
		snprintf(client, sizeof(client), "line%ld-station%ld",
			 i % 4 + 1, i % 8 + 1);
		fake_der(der, i);
		sha256_hex(der, DER_LEN, id);
		sha256_hex(key, strlen(key), spki);
		memset(&en, 0, sizeof(en));
		en.seq = i;
		en.time = "2025-01-01T00:00:00Z";
		en.event = LEDGER_ISSUED;
		en.client = client;
		en.serial = serial;
		en.thing_name = thing;
		en.certificate_id = id;
		en.certificate_serial = "0123456789abcdef0123456789abcdef";
		en.spki_sha256 = spki;
		en.not_before = "2025-01-01T00:00:00Z";
		en.not_after = "2035-01-01T00:00:00Z";
		en.reissue = -1;
		en.der = der;
		en.der_len = DER_LEN;
		if (ledger_canonical(&en, &canon) != 0)
			die("canonical", "failed");
		cl = strlen(canon);
		buf = malloc(32 + cl);
		hex_decode(prevhex, prev, 32);
		memcpy(buf, prev, 32);
		memcpy(buf + 32, canon, cl);
		sha256(buf, 32 + cl, md);
		hex_encode(md, 32, hash);
		free(buf);
		free(canon);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, i);
		sqlite3_bind_text(st, 2, en.time, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, thing, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, en.certificate_serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, spki, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, en.not_before, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, en.not_after, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 11, der, DER_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, prevhex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert", sqlite3_errmsg(db));
		memcpy(prevhex, hash, 65);
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT; PRAGMA journal_mode = WAL", NULL, NULL,
			 NULL) != SQLITE_OK)
		die("commit", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static int count_cb(void *arg, const struct ledger_entry *en)
{
	(void)en;
	(*(int *)arg)++;
	return 0;
}

static void row(const char *what, double total, long n, const char *target)
{
	printf("%-38s %12.3f ms %10ld  %s\n", what, total * 1e3 / (double)n, n,
	       target);
}

static void *writer_thread(void *arg)
{
	long t = (long)arg, i;
	struct ledger_entry en;
	unsigned char der[DER_LEN];
	char serial[32], key[32], id[65], spki[65];

	for (i = t; i < W_ENTRIES; i += W_THREADS) {
		memset(&en, 0, sizeof(en));
		snprintf(serial, sizeof(serial), "W%08ld", i);
		snprintf(key, sizeof(key), "wkey-%ld", i);
		fake_der(der, n_entries + 1 + i);
		sha256_hex(der, DER_LEN, id);
		sha256_hex(key, strlen(key), spki);
		en.event = LEDGER_ISSUED;
		en.client = strdup("bench");
		en.serial = strdup(serial);
		en.thing_name = strdup(serial);
		en.certificate_id = strdup(id);
		en.spki_sha256 = strdup(spki);
		en.der = malloc(DER_LEN);
		memcpy(en.der, der, DER_LEN);
		en.der_len = DER_LEN;
		en.reissue = -1;
		if (ledger_record_issue(L, &en, 0, 1, NULL, NULL) != 0)
			die("record_issue", "failed");
		ledger_entry_clear(&en);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-ledger.XXXXXX", path[256], cmd[300];
	char serial[32], id[65], hash[65];
	unsigned char der[DER_LEN];
	struct ledger_query q;
	struct ledger_entry en = {.reissue = -1};
	struct ledger_stats st;
	struct errd e = {0};
	pthread_t th[W_THREADS];
	int64_t next, cnt, bad, seq;
	uint64_t t0, t1;
	long i, k;
	int n;

	if (argc == 4 && strcmp(argv[1], "--fill") == 0) {
		n_entries = atol(argv[3]);
		if (ledger_open(argv[2], 0, &L, &e) != 0)
			die("open", e.msg);
		ledger_close(L);
		fill(argv[2]);
		return 0;
	}
	if (argc > 1)
		n_entries = atol(argv[1]);
	if (n_entries < 1000)
		n_entries = 1000;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "failed");
	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	if (ledger_open(path, 0, &L, &e) != 0)
		die("open", e.msg);
	ledger_close(L);
	srandom(42);

	t0 = now_ns();
	fill(path);
	t1 = now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ledger benchmark: %ld issued entries (%d-byte DER)\n",
	       n_entries, DER_LEN);
	printf("fill (SQL, one transaction): %.1f s\n\n", secs(t0, t1));
	if (ledger_open(path, 0, &L, &e) != 0)
		die("open", e.msg);
	printf("%-38s %15s %10s  %s\n", "operation", "mean", "count", "target");

	t0 = now_ns();
	for (k = 0; k < LOOKUPS; k++) {
		i = random() % n_entries + 1;
		snprintf(serial, sizeof(serial), "SN%08ld", i);
		if (ledger_check_issue(L, serial, NULL, 0, 1, NULL, &e) !=
		    -ERR_SERIAL_ALREADY_ISSUED)
			die("check_issue", e.msg);
	}
	row("check_issue (serial issued)", secs(t0, now_ns()), LOOKUPS, "< 1 ms");

	memset(&q, 0, sizeof(q));
	t0 = now_ns();
	for (k = 0; k < LOOKUPS; k++) {
		i = random() % n_entries + 1;
		snprintf(serial, sizeof(serial), "SN%08ld", i);
		q.serial = serial;
		n = 0;
		ledger_list(L, &q, count_cb, &n, &next, &e);
		if (n != 1)
			die("list by serial", "not found");
	}
	row("lookup by serial (ledger_list)", secs(t0, now_ns()), LOOKUPS, "< 1 ms");

	memset(&q, 0, sizeof(q));
	t0 = now_ns();
	for (k = 0; k < LOOKUPS; k++) {
		i = random() % n_entries + 1;
		snprintf(serial, sizeof(serial), "thing-SN%08ld", i);
		q.thing_name = serial;
		n = 0;
		ledger_list(L, &q, count_cb, &n, &next, &e);
		if (n != 1)
			die("list by thing name", "not found");
	}
	row("lookup by thing name (ledger_list)", secs(t0, now_ns()), LOOKUPS,
	    "< 1 ms");

	t0 = now_ns();
	for (k = 0; k < LOOKUPS; k++) {
		i = random() % n_entries + 1;
		fake_der(der, i);
		sha256_hex(der, DER_LEN, id);
		if (ledger_get_certificate(L, id, &en, NULL, &e) != 0)
			die("get_certificate", e.msg);
		ledger_entry_clear(&en);
	}
	row("lookup by certificate ID (with DER)", secs(t0, now_ns()), LOOKUPS,
	    "< 1 ms");

	memset(&q, 0, sizeof(q));
	q.limit = LEDGER_PAGE_MAX;
	t0 = now_ns();
	for (k = 0; k < 200; k++) {
		q.after = random() % (n_entries - LEDGER_PAGE_MAX);
		n = 0;
		ledger_list(L, &q, count_cb, &n, &next, &e);
		if (n != LEDGER_PAGE_MAX)
			die("page", "short");
	}
	row("ledger_list page of 1000", secs(t0, now_ns()), 200, "< 10 ms");

	memset(&q, 0, sizeof(q));
	q.station = "line2-station2";
	q.limit = 100;
	t0 = now_ns();
	for (k = 0; k < 200; k++) {
		q.after = random() % (n_entries - 1000);
		n = 0;
		ledger_list(L, &q, count_cb, &n, &next, &e);
	}
	row("ledger_list page of 100, by station", secs(t0, now_ns()), 200,
	    "< 10 ms");

	t0 = now_ns();
	for (k = 0; k < W_THREADS; k++)
		pthread_create(&th[k], NULL, writer_thread, (void *)k);
	for (k = 0; k < W_THREADS; k++)
		pthread_join(th[k], NULL);
	t1 = now_ns();
	ledger_stats(L, &st, &e);
	row("record_issue, 64 threads (per entry)", secs(t0, t1), W_ENTRIES, "");
	printf("  = %.0f entries/s, %lld write transactions (mean batch %.1f)\n",
	       W_ENTRIES / secs(t0, t1), (long long)st.write_batches,
	       st.write_batches ? (double)st.write_jobs / (double)st.write_batches
				: 0.0);

	t0 = now_ns();
	if (ledger_verify(L, 0, NULL, &cnt, &bad, &e) != 0)
		die("verify", e.msg);
	t1 = now_ns();
	ledger_head(L, &seq, hash, &e);
	printf("%-38s %12.3f s  %10lld  %s\n", "ledger_verify (whole chain)",
	       secs(t0, t1), (long long)cnt, "< 30 s");
	ledger_close(L);

	snprintf(cmd, sizeof(cmd), "du -sh %s | cut -f1", dir);
	printf("ledger file size: ");
	fflush(stdout);
	if (system(cmd) != 0)
		printf("?\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-ledger: could not remove %s\n", dir);
	return 0;
}
