/*
 * api — routes of DESIGN.md "HTTP API".
 *
 * Order of checks for every protected route: authentication (401), role
 * (403), body size (413), JSON shape (400), then the route's own rules. Every
 * request ends in exactly one log line and one metrics observation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "client.h"
#include "entry.h"
#include "est.h"
#include "log.h"
#include "outcome.h"
#include "util.h"

/* Longest batch name accepted in POST /v1/serials. */
#define API_BATCH_MAX 128
/* Most serials in one POST /v1/serials: bounds one transaction; larger
 * imports are split by the caller (or use `thingca serials import`). */
#define API_SERIALS_MAX 100000

/* What one request did, for the log line. */
struct ctx {
	struct api *a;
	const struct http_req *req;
	struct http_resp *resp;
	unsigned role;
	struct outcome out;
};

static void send_json(struct ctx *c, int status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL, *nl;
	size_t n;

	json_decref(o);
	if (!s) {
		http_resp_set_body(c->resp, 500, "application/json",
				   strdup("{\"error\":\"out_of_memory\"}"), 25);
		return;
	}
	n = strlen(s);
	/* A newline ends the body so `curl` output reads well in a shell. */
	nl = realloc(s, n + 2);
	if (nl) {
		s = nl;
		s[n++] = '\n';
		s[n] = '\0';
	}
	http_resp_set_body(c->resp, status, "application/json", s, n);
}

/* Answers the documented error for rc with a message for a person. */
static void send_error(struct ctx *c, int rc, const char *msg)
{
	json_t *o = json_object();

	c->out.rc = rc;
	snprintf(c->out.message, sizeof(c->out.message), "%s", msg ? msg : "");
	json_object_set_new(o, "error", json_string(err_str(rc)));
	json_object_set_new(o, "message",
			    json_string(msg && *msg ? msg : err_str(rc)));
	send_json(c, err_http_status(rc), o);
}

static void send_errd(struct ctx *c, int rc, const struct errd *e)
{
	send_error(c, rc, e->msg[0] ? e->msg : NULL);
}

static void send_text(struct ctx *c, int status, const char *type,
		      const void *data, size_t len)
{
	char *b = malloc(len + 1);

	if (!b) {
		send_error(c, -ERR_NOMEM, "out of memory");
		return;
	}
	memcpy(b, data, len);
	b[len] = '\0';
	http_resp_set_body(c->resp, status, type, b, len);
}

/* Does the Accept header ask for type (a plain substring match on media
 * types is enough for the few types we offer)? */
static int accepts(const struct http_req *r, const char *type)
{
	const char *a = http_req_header(r, "Accept");

	return a && strcasestr(a, type) != NULL;
}

/* Rule 1: client certificate or bearer token, and role. 0 or an error
 * already answered. */
static int authorize(struct ctx *c, unsigned need)
{
	struct errd e = {0};
	int rc;

	rc = auth_peer(c->a->auth, c->req, c->out.client, &c->role, &e);
	if (rc == 0)
		rc = auth_bearer(c->a->auth,
				 http_req_header(c->req, "Authorization"),
				 c->out.client, &c->role, &e);
	else if (rc > 0)
		rc = 0;
	if (rc) {
		c->out.client[0] = '\0';
		send_errd(c, rc, &e);
		return rc;
	}
	if ((c->role & need) != need) {
		snprintf(e.msg, sizeof(e.msg),
			 "client %s may not do this (needs the %s role)",
			 c->out.client, role_name(need));
		send_error(c, -ERR_FORBIDDEN, e.msg);
		return -ERR_FORBIDDEN;
	}
	return 0;
}

/* application/json, optionally with parameters ("; charset=utf-8"); not a
 * longer type that merely starts so (application/jsonp, .../json-seq). */
static int is_json_type(const char *ct)
{
	char end;

	if (strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	end = ct[16];
	return end == '\0' || end == ';' || end == ' ' || end == '\t';
}

/* Rule 2: size, media type and JSON object. Returns the object or NULL with
 * the error answered. */
/* Body size and Content-Type, before any parsing: 0, or the error was
 * answered. */
static int check_body(struct ctx *c)
{
	const char *ct = http_req_header(c->req, "Content-Type");
	char msg[256];

	if (c->req->body_too_large) {
		snprintf(msg, sizeof(msg), "body over the %zu byte limit",
			 c->a->issuer.cfg->limits.max_body_bytes);
		send_error(c, -ERR_PAYLOAD_TOO_LARGE, msg);
		return -ERR_PAYLOAD_TOO_LARGE;
	}
	if (ct && !is_json_type(ct)) {
		send_error(c, -ERR_UNSUPPORTED_MEDIA_TYPE,
			   "send the body as Content-Type: application/json");
		return -ERR_UNSUPPORTED_MEDIA_TYPE;
	}
	return 0;
}

/* len bytes of body as one JSON object (duplicate keys refused, NUL in
 * strings kept for the callers to refuse): 0 with *out, or
 * -ERR_MALFORMED_REQUEST (*out NULL). */
static int parse_object(const char *body, size_t len, json_t **out,
			struct errd *e)
{
	json_error_t je;
	json_t *o;

	*out = NULL;
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!o)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "body is not valid JSON: %s", je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "body must be a JSON object");
	}
	*out = o;
	return 0;
}

static json_t *read_json(struct ctx *c)
{
	struct errd e = {0};
	json_t *o;
	int rc;

	if (check_body(c))
		return NULL;
	rc = parse_object(c->req->body, c->req->body_len, &o, &e);
	if (rc)
		send_errd(c, rc, &e);
	return o;
}

/* Only the named keys (NULL-terminated) may appear; required[i] ones
 * must. 0 or -ERR_MALFORMED_REQUEST naming the field. */
static int only_keys(json_t *o, const char *const *keys, const int *required,
		     struct errd *e)
{
	const char *k = json_unknown_key(o, keys);
	size_t i;

	if (k)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "unexpected field \"%.64s\"", k);
	for (i = 0; keys[i]; i++)
		if (required[i] && !json_object_get(o, keys[i]))
			return err_set(e, ERR_MALFORMED_REQUEST,
				       "missing field \"%s\"", keys[i]);
	return 0;
}

/* only_keys, the error answered. */
static int check_keys(struct ctx *c, json_t *o, const char *const *keys,
		      const int *required)
{
	struct errd e = {0};
	int rc = only_keys(o, keys, required, &e);

	if (rc)
		send_errd(c, rc, &e);
	return rc;
}

/* Writes sep, then "key": and value as a JSON string; returns w past it,
 * NULL when w is NULL or the value is not UTF-8. */
static char *json_field(char *w, char sep, const char *key, const char *v,
			size_t n)
{
	if (!w)
		return NULL;
	*w++ = sep;
	w = json_quote(w, key, strlen(key));
	if (!w)
		return NULL;
	*w++ = ':';
	return json_quote(w, v, n);
}

static void issued_answer(struct ctx *c, struct issue_result *res)
{
	const struct ledger_entry *en = &res->entry;
	size_t ca_len;
	const char *ca_pem = ca_chain_pem(c->a->issuer.ca, &ca_len);
	char *pem = issue_der_to_pem(en->der, en->der_len), *chain = NULL;
	size_t pem_len, cap;
	char *body, *w;
	int status = res->created ? 201 : 200;

	if (!pem) {
		send_error(c, -ERR_NOMEM, "out of memory");
		return;
	}
	pem_len = strlen(pem);
	chain = malloc(pem_len + ca_len + 1);
	if (!chain) {
		free(pem);
		send_error(c, -ERR_NOMEM, "out of memory");
		return;
	}
	memcpy(chain, pem, pem_len);
	memcpy(chain + pem_len, ca_pem, ca_len);
	chain[pem_len + ca_len] = '\0';
	snprintf(c->out.cert_id, sizeof(c->out.cert_id), "%s",
		 en->certificate_id);
	if (accepts(c->req, "application/pem-certificate-chain")) {
		http_resp_set_body(c->resp, status,
				   "application/pem-certificate-chain", chain,
				   pem_len + ca_len);
		free(pem);
		return;
	}
	/* Written by hand, not with json_dumps: jansson's per-character
	 * dump of the two PEM strings was 5% of thingcad's CPU under load
	 * (docs/performance.md). */
	/* The values quoted, plus 128 for the keys, separators and seq. */
	cap = json_quoted_max(strlen(en->serial)) +
	      json_quoted_max(strlen(en->thing_name)) +
	      json_quoted_max(strlen(en->certificate_id)) +
	      json_quoted_max(pem_len) + json_quoted_max(pem_len + ca_len) +
	      json_quoted_max(strlen(en->not_after)) + 128;
	body = malloc(cap);
	if (!body) {
		free(pem);
		free(chain);
		send_error(c, -ERR_NOMEM, "out of memory");
		return;
	}
	w = body;
	w = json_field(w, '{', "serial", en->serial, strlen(en->serial));
	w = json_field(w, ',', "thing_name", en->thing_name,
		       strlen(en->thing_name));
	w = json_field(w, ',', "certificate_id", en->certificate_id,
		       strlen(en->certificate_id));
	w = json_field(w, ',', "certificate", pem, pem_len);
	w = json_field(w, ',', "chain", chain, pem_len + ca_len);
	w = json_field(w, ',', "not_after", en->not_after,
		       strlen(en->not_after));
	if (!w) {
		free(body);
		free(pem);
		free(chain);
		send_error(c, -ERR_INTERNAL, "the answer is not UTF-8");
		return;
	}
	w += snprintf(w, cap - (size_t)(w - body), ",\"ledger_seq\":%lld}\n",
		      (long long)en->seq);
	free(pem);
	free(chain);
	http_resp_set_body(c->resp, status, "application/json", body,
			   (size_t)(w - body));
}

/* ---- the issuance body in one pass --------------------------------------
 * jansson builds a tree of the body and lexes it a character at a time
 * through its stream layer: 3% of thingcad's instructions per certificate
 * (docs/performance.md "Pinned, issue 18"), for a body that is always the
 * same two strings. fast_issue_body reads that one shape directly:
 * {"serial": "...", "csr": "..."}, the two keys once each in either order,
 * JSON white space anywhere between tokens, strings of printable ASCII
 * with the escapes \" \\ \/ \b \f \n \r \t. Anything else (another key,
 * a duplicate, \u escapes, a byte outside printable ASCII, a number, a
 * trailing comma) is left to jansson and read_json, so every refusal and
 * its message is the one it always was; what this path accepts jansson
 * would have read as the same two strings. */

struct fast_body {
	char *serial, *csr;
	size_t csr_len;
};

static void fast_body_clear(struct fast_body *f)
{
	free(f->serial);
	free(f->csr);
	memset(f, 0, sizeof(*f));
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The JSON string at *pp (its opening quote) decoded into a new buffer:
 * *out, *len; *pp past the closing quote. 0 when it is not one this path
 * reads (or out of memory: jansson then fails the same way). */
static int fast_string(const char **pp, const char *end, char **out,
		       size_t *len)
{
	const char *p = *pp, *q;
	char *buf, *w;

	if (p >= end || *p != '"')
		return 0;
	p++;
	for (q = p; q < end && *q != '"'; q++)
		if (*q == '\\')
			q++; /* the escaped character is not the end */
	if (q >= end)
		return 0;
	buf = malloc((size_t)(q - p) + 1);
	if (buf == NULL)
		return 0;
	for (w = buf; p < q; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch >= 0x7f)
			goto no;
		if (ch != '\\') {
			*w++ = (char)ch;
			continue;
		}
		switch (*++p) {
		case '"':
		case '\\':
		case '/':
			*w++ = *p;
			break;
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 't':
			*w++ = '\t';
			break;
		default: /* \u and anything invalid: jansson's to judge */
			goto no;
		}
	}
	*w = '\0';
	*out = buf;
	*len = (size_t)(w - buf);
	*pp = q + 1;
	return 1;
no:
	free(buf);
	return 0;
}

/* 1 with f filled when body is the issuance body in the one shape above;
 * 0 (f empty) otherwise. */
static int fast_issue_body(const char *body, size_t n, struct fast_body *f)
{
	const char *p, *end;
	char *key = NULL, *val = NULL;
	size_t klen, vlen;
	int i;

	memset(f, 0, sizeof(*f));
	if (body == NULL)
		return 0;
	p = body;
	end = body + n;
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return 0;
	for (i = 0; i < 2; i++) {
		p = skip_ws(p, end);
		if (!fast_string(&p, end, &key, &klen))
			goto no;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			goto no;
		p = skip_ws(p, end);
		if (!fast_string(&p, end, &val, &vlen))
			goto no;
		if (strcmp(key, "serial") == 0 && f->serial == NULL) {
			f->serial = val;
		} else if (strcmp(key, "csr") == 0 && f->csr == NULL) {
			f->csr = val;
			f->csr_len = vlen;
		} else {
			goto no;
		}
		val = NULL;
		free(key);
		key = NULL;
		p = skip_ws(p, end);
		if (p >= end || *p++ != (i == 0 ? ',' : '}'))
			goto no;
	}
	if (skip_ws(p, end) != end)
		goto no;
	return 1;
no:
	free(key);
	free(val);
	fast_body_clear(f);
	return 0;
}

int api_issue_body(const char *body, size_t len, struct api_body *b,
		   struct errd *e)
{
	static const char *const keys[] = {"serial", "csr", NULL};
	static const int req[] = {1, 1};
	struct fast_body fast;
	json_t *js, *jc;
	int rc;

	memset(b, 0, sizeof(*b));
	if (fast_issue_body(body, len, &fast)) {
		b->fast_serial = fast.serial;
		b->fast_csr = fast.csr;
		b->serial = fast.serial;
		b->serial_len = strlen(fast.serial);
		b->csr = fast.csr;
		b->csr_len = fast.csr_len;
		return 0;
	}
	rc = parse_object(body, len, &b->root, e);
	if (rc == 0)
		rc = only_keys(b->root, keys, req, e);
	if (rc)
		return rc;
	js = json_object_get(b->root, "serial");
	jc = json_object_get(b->root, "csr");
	if (!json_is_string(js) || !json_is_string(jc))
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "\"serial\" and \"csr\" must be strings");
	b->serial = json_string_value(js);
	b->serial_len = json_string_length(js);
	b->csr = json_string_value(jc);
	b->csr_len = json_string_length(jc);
	if (strlen(b->serial) != b->serial_len)
		return err_set(e, ERR_SERIAL_INVALID,
			       "serial contains a NUL character");
	return 0;
}

void api_body_clear(struct api_body *b)
{
	free(b->fast_serial);
	free(b->fast_csr);
	json_decref(b->root);
	memset(b, 0, sizeof(*b));
}

/* POST /v1/certificates */
static void post_certificate(struct ctx *c, const char *id)
{
	struct issue_result res = {0};
	struct api_body b;
	struct errd e = {0};
	int rc;

	(void)id;
	if (check_body(c))
		return;
	rc = api_issue_body(c->req->body, c->req->body_len, &b, &e);
	if (rc) {
		send_errd(c, rc, &e);
		goto out;
	}
	rc = issue_pem(&c->a->issuer, c->out.client, b.serial, b.csr, b.csr_len,
		       &res, &e);
	/* Only a serial that passed the rules goes into the log. */
	if (rc != -ERR_SERIAL_INVALID)
		snprintf(c->out.serial, sizeof(c->out.serial), "%s", b.serial);
	if (rc) {
		send_errd(c, rc, &e);
		goto out;
	}
	metrics_issued(c->a->metrics, res.created);
	issued_answer(c, &res);
out:
	issue_result_clear(&res);
	api_body_clear(&b);
}

/* GET /v1/ca */
static void get_ca(struct ctx *c, const char *id)
{
	size_t len;
	const char *pem = ca_chain_pem(c->a->issuer.ca, &len);

	(void)id;
	send_text(c, 200, "application/pem-certificate-chain", pem, len);
}

/* GET /v1/crl */
static void get_crl(struct ctx *c, const char *id)
{
	struct errd e = {0};
	unsigned char *out = NULL;
	size_t len = 0;
	int pem = accepts(c->req, "application/x-pem-file");
	int rc;

	(void)id;
	rc = crl_get(c->a->crl, c->a->issuer.ca, c->a->issuer.ledger, pem, &out,
		     &len, &e);
	if (rc) {
		send_errd(c, rc, &e);
		return;
	}
	http_resp_set_body(c->resp, 200,
			   pem ? "application/x-pem-file"
			       : "application/pkix-crl",
			   (char *)out, len);
}

/* Filters and cursor of GET /v1/ledger. */
struct list_args {
	struct ctx *c;
	struct ledger_query q;
	char since[21], until[21];
	int bad;
};

static int list_arg(void *arg, const char *k, const char *v)
{
	struct list_args *la = arg;
	struct errd e = {0};
	char msg[160];
	char *end;
	long long n;

	if (!v)
		v = "";
	if (strcmp(k, "serial") == 0)
		la->q.serial = v;
	else if (strcmp(k, "thing_name") == 0)
		la->q.thing_name = v;
	else if (strcmp(k, "station") == 0)
		la->q.station = v;
	else if (strcmp(k, "certificate_id") == 0)
		la->q.certificate_id = v;
	else if (strcmp(k, "event") == 0) {
		la->q.event = ledger_event_parse(v);
		if (!la->q.event) {
			snprintf(msg, sizeof(msg),
				 "event must be issued, revoked or "
				 "serials_imported");
			goto bad;
		}
	} else if (strcmp(k, "since") == 0 || strcmp(k, "until") == 0) {
		int since = k[0] == 's';

		if (time_parse_filter(v, k, since ? la->since : la->until, &e) <
		    0) {
			send_error(la->c, -ERR_MALFORMED_REQUEST, e.msg);
			la->bad = 1;
			return 1;
		}
		if (since)
			la->q.since = la->since;
		else
			la->q.until = la->until;
	} else if (strcmp(k, "after") == 0 || strcmp(k, "limit") == 0) {
		n = strtoll(v, &end, 10);
		if (!*v || *end || n < 0 ||
		    (k[0] == 'l' && (n < 1 || n > LEDGER_PAGE_MAX))) {
			if (k[0] == 'l')
				snprintf(msg, sizeof(msg),
					 "limit must be an integer from 1 to "
					 "%d",
					 LEDGER_PAGE_MAX);
			else
				snprintf(msg, sizeof(msg),
					 "after must be a non-negative "
					 "integer");
			goto bad;
		}
		if (k[0] == 'a')
			la->q.after = n;
		else
			la->q.limit = (int)n;
	} else {
		snprintf(msg, sizeof(msg), "unknown query parameter \"%.40s\"",
			 k);
		goto bad;
	}
	return 0;
bad:
	send_error(la->c, -ERR_MALFORMED_REQUEST, msg);
	la->bad = 1;
	return 1;
}

struct collect {
	json_t *arr;
	FILE *csv;
};

static int collect_entry(void *arg, const struct ledger_entry *en)
{
	struct collect *co = arg;

	if (co->csv)
		return entry_csv_row(co->csv, en) ? 1 : 0;
	return json_array_append_new(co->arr, entry_json(en)) ? 1 : 0;
}

/* GET /v1/ledger */
static void get_ledger(struct ctx *c, const char *id)
{
	struct list_args la = {0};
	struct collect co = {0};
	struct errd e = {0};
	int64_t next = 0;
	char *buf = NULL;
	size_t len = 0;
	int csv = accepts(c->req, "text/csv"), rc;
	json_t *o;

	(void)id;
	la.c = c;
	http_req_args_each(c->req, list_arg, &la);
	if (la.bad)
		return;
	if (csv) {
		co.csv = open_memstream(&buf, &len);
		if (!co.csv) {
			send_error(c, -ERR_NOMEM, "out of memory");
			return;
		}
		fputs(entry_csv_header(), co.csv);
	} else {
		co.arr = json_array();
	}
	rc = ledger_list(c->a->issuer.ledger, &la.q, collect_entry, &co, &next,
			 &e);
	if (co.csv)
		fclose(co.csv);
	if (rc) {
		free(buf);
		json_decref(co.arr);
		send_errd(c, rc, &e);
		return;
	}
	if (csv) {
		http_resp_set_body(c->resp, 200, "text/csv; charset=utf-8", buf,
				   len);
		return;
	}
	o = json_object();
	json_object_set_new(o, "entries", co.arr);
	json_object_set_new(o, "next", next ? json_integer(next) : json_null());
	send_json(c, 200, o);
}

/* GET /v1/ledger/head */
static void get_head(struct ctx *c, const char *id)
{
	struct errd e = {0};
	int64_t seq = 0;
	char hash[65];
	json_t *o;
	int rc;

	(void)id;
	rc = ledger_head(c->a->issuer.ledger, &seq, hash, &e);
	if (rc) {
		send_errd(c, rc, &e);
		return;
	}
	o = json_object();
	json_object_set_new(o, "seq", json_integer(seq));
	json_object_set_new(o, "hash", json_string(hash));
	send_json(c, 200, o);
}

/* Is s 64 lowercase hex characters (a certificate ID)? */
static int is_cert_id(const char *s, size_t n)
{
	size_t i;

	if (n != 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* GET /v1/certificates/{id} */
static void get_certificate(struct ctx *c, const char *id)
{
	struct ledger_entry en = {0}, rev = {0};
	struct errd e = {0};
	char *pem;
	json_t *o;
	int rc;

	snprintf(c->out.cert_id, sizeof(c->out.cert_id), "%s", id);
	rc = ledger_get_certificate(c->a->issuer.ledger, id, &en, &rev, &e);
	if (rc) {
		send_errd(c, rc, &e);
		goto out;
	}
	pem = issue_der_to_pem(en.der, en.der_len);
	o = json_object();
	json_object_set_new(o, "entry", entry_json(&en));
	json_object_set_new(o, "certificate",
			    pem ? json_string(pem) : json_null());
	json_object_set_new(o, "revocation",
			    rev.seq ? entry_json(&rev) : json_null());
	free(pem);
	send_json(c, 200, o);
out:
	ledger_entry_clear(&en);
	ledger_entry_clear(&rev);
}

/* POST /v1/certificates/{id}/revoke */
static void post_revoke(struct ctx *c, const char *id)
{
	static const char *const keys[] = {"reason", "reissue", NULL};
	static const int req[] = {0, 0};
	struct ledger_entry out = {0};
	struct errd e = {0};
	json_t *o, *jr, *ji;
	const char *reason = "unspecified";
	int reissue = 0, rc;

	o = read_json(c);
	if (!o || check_keys(c, o, keys, req))
		goto out;
	jr = json_object_get(o, "reason");
	ji = json_object_get(o, "reissue");
	if ((jr && !json_is_string(jr)) || (ji && !json_is_boolean(ji))) {
		send_error(c, -ERR_MALFORMED_REQUEST,
			   "\"reason\" must be a string and \"reissue\" a "
			   "boolean");
		goto out;
	}
	/* RFC 5280 5.3.1 names only, stored as the RFC spells them: a typo
	 * would otherwise leave the CRL without a reasonCode. */
	if (jr && (strlen(json_string_value(jr)) != json_string_length(jr) ||
		   revocation_reason(json_string_value(jr), &reason, &e) < 0)) {
		send_error(c, -ERR_MALFORMED_REQUEST,
			   e.msg[0] ? e.msg
				    : "\"reason\" must not hold a NUL byte");
		goto out;
	}
	reissue = ji && json_is_true(ji);
	snprintf(c->out.cert_id, sizeof(c->out.cert_id), "%s", id);
	rc = ledger_revoke(c->a->issuer.ledger, id, c->out.client, reason,
			   reissue, &out, &e);
	if (rc) {
		send_errd(c, rc, &e);
		goto out;
	}
	send_json(c, 200, entry_json(&out));
out:
	ledger_entry_clear(&out);
	json_decref(o);
}

/* POST /v1/serials */
static void post_serials(struct ctx *c, const char *id)
{
	static const char *const keys[] = {"batch", "serials", NULL};
	static const int req[] = {0, 1};
	struct ledger_entry out = {0};
	struct errd e = {0};
	json_t *o, *jb, *js, *v, *ans;
	char **serials = NULL, tn[THING_NAME_MAX + 1], batch[API_BATCH_MAX + 1];
	char msg[700];
	size_t i, n, added = 0, present = 0;
	int rc;

	(void)id;
	o = read_json(c);
	if (!o || check_keys(c, o, keys, req))
		goto out;
	jb = json_object_get(o, "batch");
	js = json_object_get(o, "serials");
	if ((jb && !json_is_string(jb)) || !json_is_array(js)) {
		send_error(c, -ERR_MALFORMED_REQUEST,
			   "\"batch\" must be a string and \"serials\" an "
			   "array of strings");
		goto out;
	}
	n = json_array_size(js);
	if (n == 0 || n > API_SERIALS_MAX) {
		snprintf(msg, sizeof(msg),
			 "\"serials\" must hold 1 to %d serials",
			 API_SERIALS_MAX);
		send_error(c, -ERR_MALFORMED_REQUEST, msg);
		goto out;
	}
	if (jb) {
		if (json_string_length(jb) == 0 ||
		    json_string_length(jb) > API_BATCH_MAX ||
		    strlen(json_string_value(jb)) != json_string_length(jb)) {
			snprintf(msg, sizeof(msg),
				 "\"batch\" must be 1 to %d characters",
				 API_BATCH_MAX);
			send_error(c, -ERR_MALFORMED_REQUEST, msg);
			goto out;
		}
		snprintf(batch, sizeof(batch), "%s", json_string_value(jb));
	} else {
		char ts[21];

		time_rfc3339(time(NULL), ts);
		snprintf(batch, sizeof(batch), "api-%s", ts);
	}
	serials = calloc(n, sizeof(*serials));
	if (!serials) {
		send_error(c, -ERR_NOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(js, i, v)
	{
		const char *s = json_string_value(v);

		if (!s || strlen(s) != json_string_length(v)) {
			snprintf(msg, sizeof(msg),
				 "serials[%zu]: must be a string without NUL",
				 i);
			send_error(c, -ERR_SERIAL_INVALID, msg);
			goto out;
		}
		rc = profile_check_serial(c->a->issuer.profile, s, tn, &e);
		if (rc) {
			snprintf(msg, sizeof(msg), "serials[%zu]: %s", i,
				 e.msg);
			send_error(c, rc, msg);
			goto out;
		}
		serials[i] = (char *)s;
	}
	rc = ledger_import_serials(c->a->issuer.ledger, batch, c->out.client,
				   serials, n, &added, &present, &out, &e);
	if (rc) {
		send_errd(c, rc, &e);
		goto out;
	}
	ans = json_object();
	json_object_set_new(ans, "added", json_integer((json_int_t)added));
	json_object_set_new(ans, "already_present",
			    json_integer((json_int_t)present));
	json_object_set_new(ans, "batch", json_string(batch));
	json_object_set_new(ans, "ledger_seq", json_integer(out.seq));
	send_json(c, 200, ans);
out:
	free(serials);
	ledger_entry_clear(&out);
	json_decref(o);
}

int api_ready(struct api *a, char *reason, size_t n)
{
	struct errd e = {0};
	long days;
	int rc;

	rc = ledger_ping(a->issuer.ledger, &e);
	if (rc) {
		snprintf(reason, n, "ledger not writable: %s", e.msg);
		return rc;
	}
	rc = ca_selftest(a->issuer.ca, &e);
	if (rc) {
		snprintf(reason, n, "CA key cannot sign: %s", e.msg);
		return rc;
	}
	days = ca_days_left(a->issuer.ca);
	if (days < API_CA_EXPIRY_WARN_DAYS) {
		snprintf(reason, n,
			 "CA certificate expires in %ld days (under %d): roll "
			 "the CA",
			 days, API_CA_EXPIRY_WARN_DAYS);
		return -ERR_CA_INVALID;
	}
	snprintf(reason, n, "ready");
	return 0;
}

static void get_readyz(struct ctx *c, const char *id)
{
	char reason[600];
	json_t *o = json_object();
	int rc = api_ready(c->a, reason, sizeof(reason));

	(void)id;
	json_object_set_new(o, "status",
			    json_string(rc ? "not_ready" : "ready"));
	json_object_set_new(o, "reason", json_string(reason));
	if (rc)
		snprintf(c->out.message, sizeof(c->out.message), "%s", reason);
	send_json(c, rc ? 503 : 200, o);
}

/* metrics_gauges_fn: the expensive gauges, on the metrics thread. */
static void api_gauges(void *arg, struct metrics_gauges *g)
{
	struct api *a = arg;
	struct ledger_stats st = {0};
	char reason[600];

	if (ledger_stats(a->issuer.ledger, &st, NULL) == 0) {
		g->ledger_entries = st.entries;
		g->allowlisted_unissued = st.allowlisted_unissued;
	}
	g->ready = api_ready(a, reason, sizeof(reason)) == 0;
}

/* Unauthenticated, so it must cost the ledger nothing: the counts, the
 * ledger probe and the CA self-test come from the cache (metrics.h). */
static void get_metrics(struct ctx *c, const char *id)
{
	struct metrics_gauges g = {0};
	char *out = NULL;
	size_t len = 0;

	(void)id;
	metrics_gauges_get(c->a->metrics, api_gauges, c->a, &g);
	g.ca_days_left = ca_days_left(c->a->issuer.ca);
	if (metrics_render(c->a->metrics, &g, &out, &len)) {
		send_error(c, -ERR_NOMEM, "out of memory");
		return;
	}
	http_resp_set_body(c->resp, 200, "text/plain; version=0.0.4", out, len);
}

/* GET /healthz */
static void get_healthz(struct ctx *c, const char *id)
{
	(void)id;
	send_text(c, 200, "application/json", "{\"status\":\"ok\"}\n", 16);
}

/* Everything under /.well-known/est/: est.c routes and answers it. */
static void est_route(struct ctx *c, const char *id)
{
	(void)id;
	est_handle(&c->a->issuer, c->a->auth, c->a->metrics, c->req, c->resp,
		   &c->out);
}

/* One route of DESIGN.md's table. path is matched exactly, except that
 * "{id}" stands for a certificate ID (64 lowercase hex digits, handed to
 * the handler) and a trailing '*' for any rest of the path. method NULL:
 * the handler takes every method; "GET" takes HEAD too. role: the bits
 * a client needs (authorize, before the handler runs); 0 for no token. */
struct route {
	const char *method;
	const char *path;
	unsigned role;
	void (*handler)(struct ctx *c, const char *id);
};

static const struct route routes[] = {
    {NULL, EST_PREFIX "*", 0, est_route},
    {"GET", "/healthz", 0, get_healthz},
    {"GET", "/readyz", 0, get_readyz},
    {"GET", "/metrics", 0, get_metrics},
    {"GET", "/v1/ca", 0, get_ca},
    {"GET", "/v1/crl", 0, get_crl},
    {"POST", "/v1/certificates", ROLE_STATION, post_certificate},
    {"POST", "/v1/serials", ROLE_ADMIN, post_serials},
    {"GET", "/v1/ledger", ROLE_AUDITOR, get_ledger},
    {"GET", "/v1/ledger/head", ROLE_AUDITOR, get_head},
    {"GET", "/v1/certificates/{id}", ROLE_AUDITOR, get_certificate},
    {"POST", "/v1/certificates/{id}/revoke", ROLE_ADMIN, post_revoke},
};

/* Does path match pattern (struct route)? 1 with the {id} copied to
 * id[65] (or "" when the pattern has none), else 0. */
static int path_match(const char *pattern, const char *path, char *id)
{
	const char *hole = strstr(pattern, "{id}");
	size_t pre, n;

	id[0] = '\0';
	n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return strncmp(path, pattern, n - 1) == 0;
	if (!hole)
		return strcmp(path, pattern) == 0;
	pre = (size_t)(hole - pattern);
	if (strncmp(path, pattern, pre) != 0)
		return 0;
	path += pre;
	n = strcspn(path, "/");
	if (!is_cert_id(path, n) || strcmp(path + n, hole + 4) != 0)
		return 0;
	memcpy(id, path, n);
	id[n] = '\0';
	return 1;
}

static int method_match(const char *want, const char *m)
{
	return !want || strcmp(m, want) == 0 ||
	       (strcmp(want, "GET") == 0 && strcmp(m, "HEAD") == 0);
}

/* Routes a request; every branch answers: the route's handler after its
 * role check, 405 with Allow for a known path with another method, else
 * 404. */
static void route(struct ctx *c)
{
	const char *allow = NULL;
	char id[65], msg[96];
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];

		if (!path_match(r->path, c->req->path, id))
			continue;
		if (!method_match(r->method, c->req->method)) {
			allow = r->method;
			continue;
		}
		if (r->role && authorize(c, r->role))
			return;
		r->handler(c, id[0] ? id : NULL);
		return;
	}
	if (allow) {
		snprintf(msg, sizeof(msg), "use %s on this path", allow);
		send_error(c, -ERR_METHOD_NOT_ALLOWED, msg);
		c->resp->allow = allow;
		return;
	}
	send_error(c, -ERR_NOT_FOUND, "no such path");
}

void api_handle(void *arg, const struct http_req *req, struct http_resp *resp)
{
	struct ctx c = {0};
	uint64_t t0 = now_ns();
	struct log_request lr = {0};
	double secs;

	c.a = arg;
	c.req = req;
	c.resp = resp;
	route(&c);
	secs = (double)(now_ns() - t0) / 1e9;
	metrics_observe(c.a->metrics, secs);
	if (c.out.rc)
		metrics_refused(c.a->metrics, c.out.rc);
	lr.method = req->method;
	lr.path = req->path;
	lr.status = resp->status;
	lr.client = c.out.client[0] ? c.out.client : NULL;
	lr.serial = c.out.serial[0] ? c.out.serial : NULL;
	lr.cert_id = c.out.cert_id[0] ? c.out.cert_id : NULL;
	lr.error = c.out.rc ? err_str(c.out.rc) : NULL;
	lr.message = c.out.message[0] ? c.out.message : NULL;
	lr.peer = req->peer;
	lr.ms = secs * 1e3;
	log_request(&lr);
}
