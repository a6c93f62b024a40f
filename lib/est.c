/*
 * est — RFC 7030 EST on top of issue.c (see est.h and docs/est.md).
 *
 * simpleenroll is POST /v1/certificates with other wrapping: the station
 * authenticates by client certificate or HTTP Basic (name and token, over
 * TLS only), the body is a base64 DER PKCS#10, and the device serial comes
 * from the CSR's subject (serialNumber, or CN with est.serial_from) instead
 * of a JSON field. So the CSR is parsed first, then issue_check_serial and
 * issue_with_csr apply rules 3 to 7 exactly as for the JSON API.
 *
 * simplereenroll: the device presents its current certificate as TLS
 * client certificate. Same key: the current certificate again (a retry, or
 * a renewal we answer without changing anything). New key (re-key): after
 * every check that can fail on the request itself, the current certificate
 * is revoked in the ledger with reason "superseded" and reissue allowed,
 * then the new certificate is issued under the same serial. If issuance
 * fails in between (signer or ledger unavailable), the device is left with
 * a revoked certificate and no new one; so a certificate that the device's
 * own simplereenroll revoked as superseded (client "device:<serial>") still
 * authenticates simplereenroll as long as it is the newest certificate of
 * its serial, and the retry continues with issuance (or gets the new
 * certificate when its answer was lost). A revocation by anyone else (an
 * admin, `thingca revoke`), whatever its reason, ends the certificate.
 * Nothing else accepts a revoked certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "est.h"
#include "util.h"
#include "x509.h"

/* Longest "Authorization: Basic" value we decode: a 64-character client
 * name and a token of at most 1024 bytes (auth.c), base64-encoded. */
#define EST_BASIC_MAX 1500
/* Seconds a client waits before retrying a 503 (ledger or signer
 * unavailable): long enough for a token to be re-inserted or a disk
 * cleaned, short enough for a production line. */
#define EST_RETRY_AFTER "30"
/* Ledger client name of a device re-enrolling itself: "device:<serial>";
 * ':' is not allowed in configured client names, so it names no station. */
#define EST_DEVICE_PREFIX "device:"
/* Longest label of "/.well-known/est/<label>/<op>" (RFC 7030 3.2.2 sets
 * none): as long as a DNS label, which is what deployments use. */
#define EST_LABEL_MAX 64
/* Revocation reason of a re-keyed certificate (RFC 5280 5.3.1). */
#define EST_SUPERSEDED "superseded"

struct est {
	struct issuer *is;
	struct auth *auth;
	struct metrics *metrics;
	const struct http_req *req;
	struct http_resp *resp;
	struct outcome *out;
	unsigned role;
};

static void add_header(struct http_resp *resp, const char *name,
		       const char *value)
{
	size_t i;

	for (i = 0; i < HTTP_RESP_EXTRA; i++) {
		if (!resp->extra[i][0]) {
			resp->extra[i][0] = name;
			resp->extra[i][1] = value;
			return;
		}
	}
}

/* An error as text/plain "<code>: <message>" with the table's status. */
static void send_error(struct est *s, int rc, const char *msg)
{
	char *b = NULL;
	int n, status = err_http_status(rc);

	if (!msg || !*msg)
		msg = err_str(rc);
	s->out->rc = rc;
	snprintf(s->out->message, sizeof(s->out->message), "%s", msg);
	n = asprintf(&b, "%s: %s\n", err_str(rc), msg);
	if (n < 0) {
		b = NULL;
		n = 0;
	}
	http_resp_set_body(s->resp, status, "text/plain; charset=utf-8", b,
			   (size_t)n);
	if (status == 503)
		add_header(s->resp, "Retry-After", EST_RETRY_AFTER);
	/* RFC 7030 3.2.3: the server asks for HTTP authentication with a
	 * 401 challenge; we accept Basic over TLS only. */
	if (status == 401 && s->req->tls)
		add_header(s->resp, "WWW-Authenticate",
			   "Basic realm=\"thingca EST\"");
}

static void send_errd(struct est *s, int rc, const struct errd *e)
{
	send_error(s, rc, e->msg[0] ? e->msg : NULL);
}

/* Base64 of a certs-only PKCS#7 (RFC 7030 4.1.3, 4.2.3: a degenerate
 * SignedData, "Simple PKI Response"), on one line: RFC 8951 3.2.2 points to
 * RFC 4648 base64, which has no line breaks, and strongSwan's `pki --est`
 * cannot decode any. NULL on failure. */
static char *p7_base64(STACK_OF(X509) * certs, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	BIO *mem = BIO_new(BIO_s_mem()), *b64 = BIO_new(BIO_f_base64());
	unsigned char *der = NULL;
	char *out = NULL;
	int dlen, i, ok;

	/* encapContentInfo is type id-data with no content at all, as
	 * `openssl crl2pkcs7` writes it: strongSwan's parser refuses an
	 * empty [0] OCTET STRING (what PKCS7_content_new would add). */
	ok = p7 && mem && b64 && PKCS7_set_type(p7, NID_pkcs7_signed) &&
	     p7->d.sign && p7->d.sign->contents;
	if (ok)
		p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	for (i = 0; ok && i < sk_X509_num(certs); i++)
		ok = PKCS7_add_certificate(p7, sk_X509_value(certs, i));
	dlen = ok ? i2d_PKCS7(p7, &der) : -1;
	if (dlen <= 0)
		goto out;
	BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
	b64 = BIO_push(b64, mem);
	mem = NULL;
	if (BIO_write(b64, der, dlen) != dlen || BIO_flush(b64) != 1)
		goto out;
	out = x509_bio_strdup(b64, len);
out:
	OPENSSL_free(der);
	BIO_free_all(b64);
	BIO_free(mem);
	PKCS7_free(p7);
	ERR_clear_error();
	return out;
}

/* Answers a certs-only PKCS#7 of certs (200). */
static void send_p7(struct est *s, STACK_OF(X509) * certs, const char *type)
{
	size_t len = 0;
	char *b = p7_base64(certs, &len);

	if (!b) {
		send_error(s, -ERR_NOMEM, "cannot encode the PKCS#7 answer");
		return;
	}
	http_resp_set_body(s->resp, 200, type, b, len);
	/* RFC 7030 4.1.3 names it; RFC 8951 tells clients to ignore it, so
	 * it costs nothing and keeps older clients happy. */
	add_header(s->resp, "Content-Transfer-Encoding", "base64");
}

/* GET cacerts: the CA chain, no authentication (RFC 7030 4.1). */
static void cacerts(struct est *s)
{
	send_p7(s, ca_get0_chain(s->is->ca), "application/pkcs7-mime");
}

/* Answers the issued certificate alone (RFC 7030 4.2.3). */
static void send_issued(struct est *s, const struct ledger_entry *en)
{
	const unsigned char *p = en->der;
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x = d2i_X509(NULL, &p, (long)en->der_len);

	snprintf(s->out->cert_id, sizeof(s->out->cert_id), "%s",
		 en->certificate_id ? en->certificate_id : "");
	if (!sk || !x || !sk_X509_push(sk, x)) {
		X509_free(x);
		send_error(s, -ERR_NOMEM, "cannot encode the certificate");
	} else {
		send_p7(s, sk, "application/pkcs7-mime; smime-type=certs-only");
	}
	sk_X509_pop_free(sk, X509_free);
}

/* Decodes the base64 body (RFC 8951: whitespace and line breaks
 * tolerated, Content-Transfer-Encoding ignored) into *der. */
static int body_der(struct est *s, unsigned char **der, size_t *len,
		    struct errd *e)
{
	const struct http_req *r = s->req;
	const char *ct = http_req_header(r, "Content-Type");
	EVP_ENCODE_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	char *clean = NULL;
	size_t i, n = 0;
	int o1 = 0, o2 = 0, rc = 0;

	*der = NULL;
	if (r->body_too_large)
		return err_set(e, ERR_PAYLOAD_TOO_LARGE,
			       "body over the %zu byte limit",
			       s->is->cfg->limits.max_body_bytes);
	if (ct && strncasecmp(ct, "application/pkcs10", 18) != 0)
		return err_set(e, ERR_UNSUPPORTED_MEDIA_TYPE,
			       "send the CSR as Content-Type: "
			       "application/pkcs10 (RFC 7030 4.2.1)");
	clean = malloc(r->body_len + 1);
	buf = malloc(r->body_len + 1);
	ctx = EVP_ENCODE_CTX_new();
	if (!clean || !buf || !ctx) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < r->body_len; i++) {
		char ch = r->body[i];

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		clean[n++] = ch;
	}
	if (n == 0 || n > (size_t)CSR_MAX_DER * 2) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "the body must be a base64 DER PKCS#10 request "
			     "(RFC 7030 4.2.1)");
		goto out;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, buf, &o1, (unsigned char *)clean, (int)n) <
		0 ||
	    EVP_DecodeFinal(ctx, buf + o1, &o2) < 0 || o1 + o2 == 0) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "the body is not base64 (RFC 7030 4.2.1, RFC "
			     "8951 3: base64 DER PKCS#10)");
		goto out;
	}
	*der = buf;
	*len = (size_t)o1 + (size_t)o2;
	buf = NULL;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(clean);
	free(buf);
	ERR_clear_error();
	return rc;
}

/* The device serial in a CSR's subject: the one serialNumber (or CN, with
 * est.serial_from "CN") attribute, as UTF-8 without NUL. */
static int csr_serial(struct est *s, const struct csr *csr,
		      char out[SERIAL_MAX + 1], struct errd *e)
{
	int from_cn = s->is->cfg->est.serial_from == EST_SERIAL_FROM_CN;
	int nid = from_cn ? NID_commonName : NID_serialNumber;
	const char *what = from_cn ? "CN" : "serialNumber";
	const X509_NAME *n = csr_get0_subject(csr);
	unsigned char *utf = NULL;
	int idx, len, rc = 0;

	idx = X509_NAME_get_index_by_NID(n, nid, -1);
	if (idx < 0)
		return err_set(e, ERR_SERIAL_INVALID,
			       "the CSR subject has no %s attribute: thingca "
			       "takes the device serial from it (est."
			       "serial_from, docs/est.md)",
			       what);
	if (X509_NAME_get_index_by_NID(n, nid, idx) >= 0)
		return err_set(e, ERR_SERIAL_INVALID,
			       "the CSR subject has more than one %s "
			       "attribute; which is the serial?",
			       what);
	len = ASN1_STRING_to_UTF8(
	    &utf, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx)));
	if (len <= 0 || len > SERIAL_MAX || memchr(utf, 0, (size_t)len))
		rc = err_set(e, ERR_SERIAL_INVALID,
			     "the CSR subject %s must be 1 to %d characters "
			     "without NUL",
			     what, SERIAL_MAX);
	else
		snprintf(out, SERIAL_MAX + 1, "%.*s", len, (char *)utf);
	OPENSSL_free(utf);
	ERR_clear_error();
	return rc;
}

/* Parses the body into *csr (proof of possession checked) and reads the
 * serial. Errors are answered. */
static int read_csr(struct est *s, struct csr **csr,
		    char serial[SERIAL_MAX + 1])
{
	struct errd e = {0};
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;

	*csr = NULL;
	rc = body_der(s, &der, &len, &e);
	if (rc == 0)
		rc = csr_parse_der(der, len, csr, &e);
	free(der);
	if (rc == 0)
		rc = csr_serial(s, *csr, serial, &e);
	if (rc) {
		csr_free(*csr);
		*csr = NULL;
		send_errd(s, rc, &e);
	}
	return rc;
}

/* Station authentication for simpleenroll: a client certificate naming a
 * client, else HTTP Basic name:token over TLS. 0 or answered. */
static int authorize(struct est *s)
{
	const char *h = http_req_header(s->req, "Authorization");
	struct errd e = {0};
	unsigned char dec[EST_BASIC_MAX];
	char user[AUTH_NAME_MAX], *colon;
	size_t hl;
	int rc, n;

	rc = auth_peer(s->auth, s->req, s->out->client, &s->role, &e);
	if (rc > 0)
		goto role;
	if (rc < 0)
		goto fail;
	if (!h) {
		rc = err_set(&e, ERR_UNAUTHORIZED,
			     "EST enrolment needs a station client "
			     "certificate or HTTP Basic credentials (station "
			     "name and token)");
		goto fail;
	}
	if (strncasecmp(h, "Basic ", 6) != 0) {
		rc = err_set(&e, ERR_UNAUTHORIZED,
			     "EST takes Authorization: Basic (station name "
			     "and token) or a client certificate");
		goto fail;
	}
	if (!s->req->tls) {
		rc = err_set(&e, ERR_UNAUTHORIZED,
			     "HTTP Basic credentials are refused over plain "
			     "HTTP (RFC 7030 3.2.3: TLS only); use an HTTPS "
			     "listener, and replace the token, which has "
			     "crossed the network in clear");
		goto fail;
	}
	h += 6;
	while (*h == ' ')
		h++;
	hl = strlen(h);
	while (hl && (h[hl - 1] == ' ' || h[hl - 1] == '\t'))
		hl--;
	n = hl && hl * 3 / 4 < sizeof(dec) - 1
		? EVP_DecodeBlock(dec, (const unsigned char *)h, (int)hl)
		: -1;
	if (n > 0) {
		/* EVP_DecodeBlock counts padding as zero bytes. */
		if (h[hl - 1] == '=')
			n--;
		if (hl > 1 && h[hl - 2] == '=')
			n--;
	}
	colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
	if (!colon || (size_t)(colon - (char *)dec) >= sizeof(user) ||
	    memchr(dec, 0, (size_t)n)) {
		rc = err_set(&e, ERR_UNAUTHORIZED,
			     "malformed HTTP Basic credentials: expected "
			     "base64 of name:token");
		goto fail;
	}
	memcpy(user, dec, (size_t)(colon - (char *)dec));
	user[colon - (char *)dec] = '\0';
	rc = auth_token(s->auth, user, colon + 1,
			(size_t)(n - (colon + 1 - (char *)dec)), s->out->client,
			&s->role, &e);
	OPENSSL_cleanse(dec, sizeof(dec));
	if (rc)
		goto fail;
role:
	if (!(s->role & ROLE_STATION)) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "client %s may not enrol devices (needs the station "
			 "role)",
			 s->out->client);
		send_error(s, -ERR_FORBIDDEN, msg);
		return -ERR_FORBIDDEN;
	}
	return 0;
fail:
	s->out->client[0] = '\0';
	send_errd(s, rc, &e);
	return rc;
}

/* POST simpleenroll (RFC 7030 4.2.1). */
static void simpleenroll(struct est *s)
{
	struct issue_result res = {0};
	char serial[SERIAL_MAX + 1], tn[THING_NAME_MAX + 1];
	struct csr *csr = NULL;
	struct errd e = {0};
	int rc;

	if (authorize(s) || read_csr(s, &csr, serial))
		return;
	rc = issue_check_serial(s->is, serial, tn, &e);
	if (rc != -ERR_SERIAL_INVALID)
		snprintf(s->out->serial, sizeof(s->out->serial), "%s", serial);
	if (rc == 0)
		rc = issue_with_csr(s->is, s->out->client, serial, tn, csr,
				    &res, &e);
	if (rc) {
		send_errd(s, rc, &e);
		goto out;
	}
	metrics_issued(s->metrics, res.created);
	send_issued(s, &res.entry);
out:
	issue_result_clear(&res);
	csr_free(csr);
}

struct newest {
	int64_t seq;
};

static int newest_cb(void *arg, const struct ledger_entry *en)
{
	struct newest *n = arg;

	if (en->seq > n->seq)
		n->seq = en->seq;
	return 0;
}

/* Is seq the newest `issued` entry of serial? 1 yes, 0 no, or an error. */
static int is_newest(struct ledger *l, const char *serial, int64_t seq,
		     struct errd *e)
{
	struct ledger_query q = {0};
	struct newest n = {0};
	int64_t next = 0;
	int rc;

	q.serial = serial;
	q.event = LEDGER_ISSUED;
	q.limit = LEDGER_PAGE_MAX;
	do {
		q.after = next;
		rc = ledger_list(l, &q, newest_cb, &n, &next, e);
	} while (rc == 0 && next);
	return rc ? rc : n.seq == seq;
}

/* The device's current certificate from the TLS client certificate: in the
 * ledger, and unrevoked or revoked as superseded by a re-key (see top;
 * simplereenroll limits what such a certificate can still do). 0 with *cur
 * (and *rev, seq 0 when not revoked), or answered. */
static int device_cert(struct est *s, struct ledger_entry *cur,
		       struct ledger_entry *rev)
{
	const struct http_req *r = s->req;
	struct errd e = {0};
	char id[65];
	int rc;

	if (!r->peer_cert) {
		send_error(s, -ERR_UNAUTHORIZED,
			   "simplereenroll needs the device's current "
			   "certificate as TLS client certificate (RFC 7030 "
			   "4.2.2)");
		return -ERR_UNAUTHORIZED;
	}
	if (!r->peer_cert_verified) {
		snprintf(e.msg, sizeof(e.msg),
			 "client certificate refused: %s (it must chain to "
			 "the listener's tls.client_ca)",
			 r->peer_cert_why && *r->peer_cert_why
			     ? r->peer_cert_why
			     : "not verified");
		send_error(s, -ERR_UNAUTHORIZED, e.msg);
		return -ERR_UNAUTHORIZED;
	}
	sha256_hex(r->peer_cert, r->peer_cert_len, id);
	rc = ledger_get_certificate(s->is->ledger, id, cur, rev, &e);
	if (rc == -ERR_NOT_FOUND) {
		snprintf(e.msg, sizeof(e.msg),
			 "the client certificate (ID %s) is not one this CA "
			 "issued",
			 id);
		send_error(s, -ERR_UNAUTHORIZED, e.msg);
		return -ERR_UNAUTHORIZED;
	}
	if (rc) {
		send_errd(s, rc, &e);
		return rc;
	}
	snprintf(s->out->serial, sizeof(s->out->serial), "%s",
		 cur->serial ? cur->serial : "");
	snprintf(s->out->client, sizeof(s->out->client), "%s%s",
		 EST_DEVICE_PREFIX, cur->serial ? cur->serial : "");
	/* An interrupted re-key: the revocation this device's own
	 * simplereenroll wrote, not an admin's with the same reason. */
	if (rev->seq == 0 ||
	    (rev->reissue == 1 && rev->reason &&
	     strcmp(rev->reason, EST_SUPERSEDED) == 0 && rev->client &&
	     strcmp(rev->client, s->out->client) == 0))
		return 0;
	{
		snprintf(e.msg, sizeof(e.msg),
			 "the client certificate (ID %s) was revoked (%s)", id,
			 rev->reason ? rev->reason : "unspecified");
		send_error(s, -ERR_UNAUTHORIZED, e.msg);
		return -ERR_UNAUTHORIZED;
	}
	return 0;
}

/* RFC 7030 4.2.2: the CSR's subject is the certificate's; we also accept
 * a subject that merely names the same serial (est.serial_from). */
static int same_device(struct est *s, const struct csr *csr,
		       const struct ledger_entry *cur)
{
	const unsigned char *p = cur->der;
	X509 *x = d2i_X509(NULL, &p, (long)cur->der_len);
	char serial[SERIAL_MAX + 1] = "", msg[400];
	int same;

	same = x && X509_NAME_cmp(csr_get0_subject(csr),
				  X509_get_subject_name(x)) == 0;
	X509_free(x);
	ERR_clear_error();
	if (!same && csr_serial(s, csr, serial, NULL) == 0 && cur->serial &&
	    strcmp(serial, cur->serial) == 0)
		same = 1;
	if (same)
		return 0;
	snprintf(msg, sizeof(msg),
		 "the CSR subject names another device (serial '%s') than "
		 "the client certificate (serial %s); RFC 7030 4.2.2 wants "
		 "the same subject",
		 serial, cur->serial ? cur->serial : "?");
	send_error(s, -ERR_FORBIDDEN, msg);
	return -ERR_FORBIDDEN;
}

/* POST simplereenroll (RFC 7030 4.2.2). */
static void simplereenroll(struct est *s)
{
	struct ledger_entry cur = {0}, rev = {0}, existing = {0};
	struct issuer *is = s->is;
	struct issue_result res = {0};
	char serial[SERIAL_MAX + 1], tn[THING_NAME_MAX + 1];
	struct csr *csr = NULL;
	struct errd e = {0};
	const char *spki;
	int rc;

	if (device_cert(s, &cur, &rev) || read_csr(s, &csr, serial) ||
	    same_device(s, csr, &cur))
		goto out;
	spki = csr_spki_sha256(csr);
	/* Same key, certificate current: nothing to do but answer it. */
	if (rev.seq == 0 && cur.spki_sha256 &&
	    strcmp(cur.spki_sha256, spki) == 0) {
		send_issued(s, &cur);
		goto out;
	}
	/* Everything the request itself can fail on, before the revocation:
	 * serial rules, key type, key reuse. */
	rc = issue_check_serial(is, cur.serial, tn, &e);
	if (rc == 0)
		rc = csr_check_key(csr, is->cfg->profile.key_types, &e);
	if (rc == 0)
		rc = ledger_check_issue(
		    is->ledger, cur.serial, spki, is->cfg->require_allowlist,
		    is->cfg->profile.unique_public_keys, &existing, &e);
	if (rc == -ERR_SERIAL_ALREADY_ISSUED) {
		/* Expected: the serial has a certificate, the one presented
		 * or, after a re-key, its successor (issue_with_csr then
		 * answers it for its own key, or refuses). */
		rc = 0;
		err_clear(&e);
	} else if (rc == 0 && rev.seq) {
		/* A superseded certificate and no successor: an interrupted
		 * re-key, which only the newest certificate may finish (not
		 * an older one after an admin revoked its successor). */
		rc = is_newest(is->ledger, cur.serial, cur.seq, &e);
		if (rc == 0)
			rc = err_set(&e, ERR_UNAUTHORIZED,
				     "the client certificate was superseded "
				     "by a newer certificate of serial %s",
				     cur.serial);
		else if (rc > 0)
			rc = 0;
	}
	if (rc) {
		send_errd(s, rc, &e);
		goto out;
	}
	if (rev.seq == 0) {
		rc = ledger_revoke(is->ledger, cur.certificate_id,
				   s->out->client, EST_SUPERSEDED, 1, NULL, &e);
		/* Revoked meanwhile by a racing re-key: issuance decides. */
		if (rc == -ERR_ALREADY_REVOKED)
			rc = 0;
		if (rc) {
			send_errd(s, rc, &e);
			goto out;
		}
	}
	rc = issue_with_csr(is, s->out->client, cur.serial, tn, csr, &res, &e);
	if (rc) {
		send_errd(s, rc, &e);
		goto out;
	}
	metrics_issued(s->metrics, res.created);
	send_issued(s, &res.entry);
out:
	issue_result_clear(&res);
	ledger_entry_clear(&cur);
	ledger_entry_clear(&rev);
	ledger_entry_clear(&existing);
	csr_free(csr);
}

/* Is s[0..n) a label of RFC 7030 3.2.2 as thingca takes them? */
static int is_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > EST_LABEL_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static void method_not_allowed(struct est *s, const char *allow)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "use %s on this path", allow);
	send_error(s, -ERR_METHOD_NOT_ALLOWED, msg);
	s->resp->allow = allow;
}

void est_handle(struct issuer *is, struct auth *auth, struct metrics *m,
		const struct http_req *req, struct http_resp *resp,
		struct outcome *out)
{
	struct est s = {is, auth, m, req, resp, out, 0};
	const char *op = req->path + strlen(EST_PREFIX), *slash;
	int get =
	    strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	int post = strcmp(req->method, "POST") == 0;

	memset(out, 0, sizeof(*out));
	/* "/.well-known/est/<label>/<op>": any label is the one profile for
	 * now (docs/est.md). */
	slash = strchr(op, '/');
	if (slash) {
		if (!is_label(op, (size_t)(slash - op))) {
			char msg[64];

			snprintf(msg, sizeof(msg),
				 "EST label must be 1 to %d of [A-Za-z0-9-]",
				 EST_LABEL_MAX);
			send_error(&s, -ERR_NOT_FOUND, msg);
			return;
		}
		op = slash + 1;
	}
	if (strcmp(op, "cacerts") == 0) {
		if (get)
			cacerts(&s);
		else
			method_not_allowed(&s, "GET");
	} else if (strcmp(op, "simpleenroll") == 0) {
		if (post)
			simpleenroll(&s);
		else
			method_not_allowed(&s, "POST");
	} else if (strcmp(op, "simplereenroll") == 0) {
		if (post)
			simplereenroll(&s);
		else
			method_not_allowed(&s, "POST");
	} else if (strcmp(op, "csrattrs") == 0) {
		/* RFC 7030 4.5.2: 204, no attributes required. */
		if (get)
			http_resp_set_body(resp, 204, NULL, NULL, 0);
		else
			method_not_allowed(&s, "GET");
	} else if (strcmp(op, "serverkeygen") == 0 ||
		   strcmp(op, "fullcmc") == 0) {
		send_error(&s, -ERR_NOT_FOUND,
			   "thingca does not offer EST serverkeygen or "
			   "fullcmc: device keys never leave the device "
			   "(docs/est.md)");
	} else {
		send_error(&s, -ERR_NOT_FOUND, "no such EST operation");
	}
}
