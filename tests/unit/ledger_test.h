/*
 * ledger_test.h — what the ledger's unit tests share (t-ledger.c, run
 * against every backend compiled in, and t-ledger-sqlite.c): a scratch
 * directory, fake issued entries (the ledger never parses the DER),
 * racing issuers and a paging walk. Static inline, so a test that uses
 * only part of it does not warn.
 */
#ifndef THINGCA_LEDGER_TEST_H
#define THINGCA_LEDGER_TEST_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "tap.h"
#include "util.h"

static char lt_dir[256];

static const char LT_ZEROS[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Makes the scratch directory; 0 or -1. */
static inline int lt_init(const char *name)
{
	snprintf(lt_dir, sizeof(lt_dir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(lt_dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Removes it, unless T_LEDGER_KEEP is set (then says where it is). */
static inline void lt_cleanup(void)
{
	char cmd[512];

	if (getenv("T_LEDGER_KEEP")) {
		diag("kept %s", lt_dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", lt_dir);
	if (system(cmd) != 0)
		diag("could not remove %s", lt_dir);
}

/* dir/name in one of eight rotating buffers. */
static inline char *lt_path(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", lt_dir, name);
	return buf[i];
}

/* A fake issued entry: certificate_id = SHA-256 of fake DER, spki from key. */
static inline void lt_mk_issue(struct ledger_entry *en, const char *serial,
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

/* Records a fake issuance of serial with key; id_out gets its certificate
 * ID. allow: require_allowlist. */
static inline int lt_issue(struct ledger *l, const char *serial,
			   const char *key, int n, int allow, char id_out[65],
			   struct ledger_entry *existing, struct errd *e)
{
	struct ledger_entry en;
	int rc;

	lt_mk_issue(&en, serial, key, n);
	if (id_out)
		snprintf(id_out, 65, "%s", en.certificate_id);
	rc = ledger_record_issue(l, &en, allow, 1, existing, e);
	ledger_entry_clear(&en);
	return rc;
}

/* Imports the NULL-terminated serials as batch "b"; 0 or the error. */
static inline int lt_import(struct ledger *l, const char *const *serials)
{
	size_t n = 0, added, present;

	while (serials[n])
		n++;
	return ledger_import_serials(l, "b", "cli:test", (char *const *)serials,
				     n, &added, &present, NULL, NULL);
}

/* ---- racing issuers --------------------------------------------------- */

struct lt_racer {
	struct ledger *l;
	const char *serial; /* NULL: "GC-<n>" */
	char key[32];
	int n, rc;
};

static inline void *lt_race_main(void *arg)
{
	struct lt_racer *r = arg;
	char serial[32];

	if (r->serial == NULL)
		snprintf(serial, sizeof(serial), "GC-%03d", r->n);
	r->rc = lt_issue(r->l, r->serial ? r->serial : serial, r->key, r->n, 0,
			 NULL, NULL, NULL);
	return NULL;
}

/* ---- paging ----------------------------------------------------------- */

struct lt_walk {
	int64_t last, n;
	int order_ok;
	const char *want_serial;
	int serial_ok;
};

static inline int lt_walk_cb(void *arg, const struct ledger_entry *en)
{
	struct lt_walk *w = arg;

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

/* Pages through q (q->after advanced) and counts the entries. */
static inline int64_t lt_count_list(struct ledger *l, struct ledger_query *q,
				    int *pages, struct lt_walk *w)
{
	int64_t next = 0;
	int rc;

	memset(w, 0, sizeof(*w));
	w->order_ok = w->serial_ok = 1;
	w->want_serial = q->serial;
	*pages = 0;
	do {
		rc = ledger_list(l, q, lt_walk_cb, w, &next, NULL);
		if (rc != 0)
			return -1;
		(*pages)++;
		q->after = next;
	} while (next != 0 && *pages < 10000);
	return w->n;
}

/* ledger_list callback: copies the entry's hash into arg (char[65]). */
static inline int lt_hash_cb(void *arg, const struct ledger_entry *en)
{
	memcpy(arg, en->hash, 65);
	return 0;
}

#endif
