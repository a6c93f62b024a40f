/*
 * ledger_entry — a ledger entry as a value: event names, clear and copy,
 * the canonical encoding and the chain hash (see ledger_entry.h and
 * docs/ledger.md). No storage here: every backend and the verify walk use
 * these, so an entry hashes the same whatever holds it.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_entry.h"
#include "util.h"

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

/* See ledger_entry.h. */
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

/* A growing output buffer for the canonical encoding. */
struct cbuf {
	char *p;
	size_t len, cap;
	int bad; /* out of memory */
};

/* Room for n more bytes and a NUL: 0, or -1 (b->bad set). */
static int cb_reserve(struct cbuf *b, size_t n)
{
	if (b->bad)
		return -1;
	if (buf_reserve(&b->p, &b->cap, b->len + n + 1) < 0) {
		b->bad = 1;
		return -1;
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

/* "key":value as cb_field, or nothing when v is NULL: the fields added after
 * the first ledgers were written (node, ca_certificate_id) are in the
 * canonical encoding only when set, so older entries hash as before. */
static void cb_opt(struct cbuf *b, const char *key, const char *v, int *first)
{
	if (v == NULL)
		return;
	cb_field(b, key, v, *first);
	*first = 0;
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

/* See ledger_entry.h. */
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
