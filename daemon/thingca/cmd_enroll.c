/*
 * cmd_enroll — `thingca enroll`: the station side of issuance in one
 * command. Generates the device key in-process, builds a CSR (its subject is
 * ignored by the CA, so it carries only CN=<serial> for people reading it),
 * POSTs it to thingcad over libcurl, and writes device.key (0600),
 * device.crt and the chained bundle device-bundle.pem.
 *
 * Network failures and 503 answers are retried with the same key and CSR:
 * thingcad answers a retry for the same serial and key with the certificate
 * it already issued, so a lost answer never costs a second certificate. The
 * key is written (0600) before the request goes out, and a DIR that already
 * holds device.key reuses it: running enroll again after a crash or a lost
 * answer gets the same certificate instead of a 409.
 *
 * Nothing the server returns is written or printed unchecked: the
 * certificate must parse, certify device.key and verify (clientAuth)
 * against the CA chain of GET /v1/ca, and the returned chain must be that
 * certificate followed by that CA chain; device.crt and device-bundle.pem
 * are re-encoded from the verified certificates. Text from the answer is
 * printed with control characters replaced (no terminal escapes).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "util.h"
#include "x509.h"

/* Attempts on network errors and 503: covers a daemon restart or a brief
 * ledger hiccup without hammering it. */
#define ENROLL_TRIES 5
/* First back-off in ms, doubled per attempt (0.5 s .. 8 s). */
#define ENROLL_BACKOFF_MS 500
/* Answers are a few KiB; anything past this is not thingcad. */
#define ENROLL_MAX_ANSWER ((size_t)1024 * 1024)
/* Per-attempt limit in seconds (connect + request + answer). */
#define ENROLL_TIMEOUT_S 30

struct buf {
	char *p;
	size_t n, cap;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t len = size * nmemb;
	if (b->n + len > ENROLL_MAX_ANSWER ||
	    buf_reserve(&b->p, &b->cap, b->n + len + 1) < 0)
		return 0;
	memcpy(b->p + b->n, ptr, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static int usage(FILE *f, int rc)
{
	fprintf(f,
		"usage: thingca enroll --url URL --token TOKEN --serial SERIAL "
		"--out DIR\n"
		"                      [--key-type ec:P-256|ec:P-384|rsa:2048|"
		"rsa:3072|rsa:4096]\n"
		"                      [--cacert FILE] [--token-file FILE]\n"
		"  URL is thingcad's base URL, e.g. http://127.0.0.1:8180\n"
		"  --token-file reads the token from a file (keeps it off the "
		"command line)\n");
	return rc;
}

/* PEM CSR for key with subject CN=serial (informative only). */
static char *make_csr(EVP_PKEY *key, const char *serial)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (!req || !name || !b ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)serial, -1, -1,
					0) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(b, req))
		goto out;
	out = x509_bio_strdup(b, NULL);
out:
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return out;
}

/* The key a previous run left in dir/device.key, or NULL. */
static EVP_PKEY *load_key(const char *dir)
{
	char path[4096], *pem = NULL;
	size_t len = 0;
	EVP_PKEY *k = NULL;
	BIO *b;

	snprintf(path, sizeof(path), "%s/device.key", dir);
	if (access(path, F_OK) != 0 ||
	    file_read_secret(path, 65536, &pem, &len, NULL) < 0)
		return NULL;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	secret_free(pem, len);
	return k;
}

/* One POST of body (JSON), or a GET when body is NULL; *status is the HTTP
 * status or 0 on a network error (err set). */
static int post(const char *url, const char *auth, const char *body,
		const char *cacert, struct buf *ans, long *status, char *err)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	CURLcode rc;

	*status = 0;
	if (!c)
		return -1;
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (auth)
		h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ENROLL_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	err[0] = '\0';
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else if (!err[0])
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

static int write_out(const char *dir, const char *name, const char *data,
		     unsigned mode)
{
	char path[4096];
	struct errd e = {0};

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_write(path, data, strlen(data), mode, 0, &e) < 0) {
		fprintf(stderr, "thingca: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* The certificates in PEM text s, in order (an empty stack when there are
 * none); NULL on out-of-memory. */
static STACK_OF(X509) * pem_certs(const char *s)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(s, -1);
	X509 *x;

	while (sk && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(b);
	ERR_clear_error();
	return sk;
}

/* PEM text of the certificates of sk; malloc'd, NULL on out-of-memory. */
static char *certs_pem(STACK_OF(X509) * sk)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	int i;

	for (i = 0; b && i < sk_X509_num(sk); i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(sk, i)))
			goto out;
	if (b)
		out = x509_bio_strdup(b, NULL);
out:
	BIO_free(b);
	return out;
}

/* Does x verify for TLS client use against the certificates of ca (the
 * issuing CA first; any of them may be the anchor)? 1 yes, 0 no with why
 * filled. */
static int chains_to(X509 *x, STACK_OF(X509) * ca, char *why, size_t n)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int i, ok = 0;

	snprintf(why, n, "out of memory");
	if (!st || !ctx)
		goto out;
	for (i = 0; i < sk_X509_num(ca); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(ca, i)))
			goto out;
	/* The issuing CA may be an intermediate: it is the anchor itself. */
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_set_purpose(st, X509_PURPOSE_SSL_CLIENT);
	if (!X509_STORE_CTX_init(ctx, st, x, ca))
		goto out;
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		snprintf(why, n, "%s",
			 X509_verify_cert_error_string(
			     X509_STORE_CTX_get_error(ctx)));
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/* Checks an issuance answer before anything is written: certificate is one
 * certificate for key, verifying against the CA chain ca_pem (GET /v1/ca),
 * and chain is that certificate followed by that CA chain. 0 with
 * *bundle set (device certificate then CA chain, re-encoded from what was
 * verified; the caller frees it), or -1 after saying why on stderr. */
static int check_answer(const char *cert_pem, const char *chain_pem,
			const char *ca_pem, EVP_PKEY *key,
			STACK_OF(X509) * *bundle)
{
	STACK_OF(X509) *cert = pem_certs(cert_pem);
	STACK_OF(X509) *chain = pem_certs(chain_pem);
	STACK_OF(X509) *ca = pem_certs(ca_pem ? ca_pem : "");
	X509 *x = NULL;
	char why[200];
	int i, rc = -1;

	*bundle = NULL;
	if (!cert || !chain || !ca) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	if (sk_X509_num(cert) != 1) {
		fprintf(stderr,
			"thingca: the answer's certificate is not one PEM "
			"certificate (%d found); nothing written\n",
			sk_X509_num(cert));
		goto out;
	}
	x = sk_X509_value(cert, 0);
	if (EVP_PKEY_eq(X509_get0_pubkey(x), key) != 1) {
		fprintf(stderr, "thingca: the answer's certificate is not for "
				"device.key; nothing written\n");
		goto out;
	}
	if (sk_X509_num(ca) == 0) {
		fprintf(stderr, "thingca: GET /v1/ca gave no CA certificate; "
				"nothing written\n");
		goto out;
	}
	if (!chains_to(x, ca, why, sizeof(why))) {
		fprintf(stderr,
			"thingca: the answer's certificate does not verify "
			"against the CA of GET /v1/ca (%s); nothing written\n",
			why);
		goto out;
	}
	/* The bundle a device presents: exactly this certificate, then the
	 * CA chain (DESIGN.md: device, issuing CA, ca.chain). */
	if (sk_X509_num(chain) != sk_X509_num(ca) + 1 ||
	    X509_cmp(sk_X509_value(chain, 0), x) != 0)
		i = -1;
	else
		for (i = 0; i < sk_X509_num(ca); i++)
			if (X509_cmp(sk_X509_value(chain, i + 1),
				     sk_X509_value(ca, i)) != 0)
				break;
	if (i != sk_X509_num(ca)) {
		fprintf(stderr, "thingca: the answer's chain is not the "
				"certificate followed by the CA chain of GET "
				"/v1/ca; nothing written\n");
		goto out;
	}
	*bundle = chain;
	chain = NULL;
	rc = 0;
out:
	sk_X509_pop_free(cert, X509_free);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(ca, X509_free);
	return rc;
}

/* Prints "label value\n" with value's control characters replaced. */
static void print_field(const char *label, const char *value)
{
	char clean[512];

	printf("%-15s %s\n", label,
	       str_printable(value ? value : "", clean, sizeof(clean)));
}

int cmd_enroll(const struct cli *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'},
	    {"serial", required_argument, NULL, 's'},
	    {"key-type", required_argument, NULL, 'k'},
	    {"out", required_argument, NULL, 'o'},
	    {"cacert", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *serial = NULL, *out = NULL, *cacert = NULL;
	const char *key_type = "ec:P-256", *token_file = NULL;
	char *token = NULL, *csr = NULL, *body_s = NULL;
	char endpoint[2048], auth[1200], err[CURL_ERROR_SIZE], path[4096];
	struct errd e = {0};
	struct buf ans = {0}, ca = {0};
	STACK_OF(X509) *bundle = NULL;
	char *crt_pem = NULL, *bundle_pem = NULL, clean[1024], clean2[512];
	EVP_PKEY *key = NULL;
	json_t *body = NULL, *res = NULL;
	long status = 0, ca_status = 0;
	size_t tlen = 0;
	int opt, rc = CLI_FAIL, attempt;
	unsigned backoff = ENROLL_BACKOFF_MS;
	struct stat st;

	(void)g;
	while ((opt = getopt_long(argc, argv, "u:t:T:s:k:o:C:h", opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 't':
			free(token);
			token = strdup(optarg);
			break;
		case 'T':
			token_file = optarg;
			break;
		case 's':
			serial = optarg;
			break;
		case 'k':
			key_type = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'h':
			free(token);
			return usage(stdout, CLI_OK);
		default:
			free(token);
			return usage(stderr, CLI_USAGE);
		}
	}
	if (token_file && !token) {
		if (file_read_secret(token_file, 4096, &token, &tlen, &e) < 0) {
			fprintf(stderr, "thingca: %s\n", e.msg);
			goto out;
		}
		while (tlen &&
		       (token[tlen - 1] == '\n' || token[tlen - 1] == '\r' ||
			token[tlen - 1] == ' '))
			token[--tlen] = '\0';
	}
	if (!url || !token || !serial || !out || optind != argc) {
		rc = usage(stderr, CLI_USAGE);
		goto out;
	}
	if (stat(out, &st) < 0 && mkdir(out, 0700) < 0) {
		fprintf(stderr, "thingca: cannot create %s: %s\n", out,
			strerror(errno));
		goto out;
	}
	key = load_key(out);
	if (key) {
		fprintf(stderr, "thingca: reusing the key in %s/device.key\n",
			out);
	} else {
		key = key_generate(key_type_parse(key_type));
		snprintf(path, sizeof(path), "%s/device.key", out);
		if (key && x509_write_key(path, key, 1, &e) < 0) {
			fprintf(stderr, "thingca: %s\n", e.msg);
			goto out;
		}
	}
	if (!key) {
		fprintf(stderr,
			"thingca: unknown --key-type %s (ec:P-256, ec:P-384, "
			"rsa:2048, rsa:3072, rsa:4096)\n",
			key_type);
		rc = CLI_USAGE;
		goto out;
	}
	csr = make_csr(key, serial);
	body = json_pack("{s:s, s:s}", "serial", serial, "csr", csr ? csr : "");
	body_s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!csr || !body_s) {
		fprintf(stderr, "thingca: cannot build the request\n");
		goto out;
	}
	snprintf(endpoint, sizeof(endpoint), "%s%sv1/certificates", url,
		 url[0] && url[strlen(url) - 1] == '/' ? "" : "/");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (attempt = 1; attempt <= ENROLL_TRIES; attempt++) {
		free(ans.p);
		ans.p = NULL;
		ans.n = 0;
		if (post(endpoint, auth, body_s, cacert, &ans, &status, err) ==
			0 &&
		    status != 503)
			break;
		fprintf(stderr,
			"thingca: attempt %d/%d: %s; retrying with "
			"the same key\n",
			attempt, ENROLL_TRIES,
			status ? "thingcad is unavailable (503)" : err);
		if (attempt < ENROLL_TRIES)
			usleep(backoff * 1000);
		backoff *= 2;
	}
	if (status == 0) {
		fprintf(stderr, "thingca: could not reach %s: %s\n", endpoint,
			err);
		goto out;
	}
	res = ans.p ? json_loads(ans.p, 0, NULL) : NULL;
	if (status != 200 && status != 201) {
		const char *code =
		    json_string_value(json_object_get(res, "error"));
		const char *msg =
		    json_string_value(json_object_get(res, "message"));

		fprintf(
		    stderr, "thingca: refused (%ld %s): %s\n", status,
		    str_printable(code ? code : "?", clean2, sizeof(clean2)),
		    str_printable(msg ? msg : (ans.p ? ans.p : ""), clean,
				  sizeof(clean)));
		goto out;
	}
	if (!json_is_string(json_object_get(res, "certificate")) ||
	    !json_is_string(json_object_get(res, "chain"))) {
		fprintf(stderr,
			"thingca: %s answered %ld without a "
			"certificate\n",
			endpoint, status);
		goto out;
	}
	snprintf(endpoint, sizeof(endpoint), "%s%sv1/ca", url,
		 url[0] && url[strlen(url) - 1] == '/' ? "" : "/");
	if (post(endpoint, NULL, NULL, cacert, &ca, &ca_status, err) < 0 ||
	    ca_status != 200) {
		fprintf(stderr,
			"thingca: cannot fetch the CA chain to check the "
			"certificate (%s: %s); nothing written\n",
			endpoint, ca_status ? "not 200" : err);
		goto out;
	}
	if (check_answer(json_string_value(json_object_get(res, "certificate")),
			 json_string_value(json_object_get(res, "chain")), ca.p,
			 key, &bundle) < 0)
		goto out;
	crt_pem = certs_pem(bundle);
	bundle_pem = crt_pem ? strdup(crt_pem) : NULL;
	if (crt_pem && bundle_pem) {
		/* device.crt is the first certificate of the bundle */
		char *end = strstr(crt_pem, "-----END CERTIFICATE-----\n");

		if (end)
			end[sizeof("-----END CERTIFICATE-----\n") - 1] = '\0';
	}
	if (!crt_pem || !bundle_pem) {
		fprintf(stderr, "thingca: out of memory\n");
		goto out;
	}
	if (write_out(out, "device.crt", crt_pem, 0644) < 0 ||
	    write_out(out, "device-bundle.pem", bundle_pem, 0644) < 0)
		goto out;
	printf("%s certificate for serial %s\n",
	       status == 201 ? "issued" : "received the existing",
	       str_printable(serial, clean, sizeof(clean)));
	print_field("thing_name",
		    json_string_value(json_object_get(res, "thing_name")));
	print_field("certificate_id",
		    json_string_value(json_object_get(res, "certificate_id")));
	print_field("not_after",
		    json_string_value(json_object_get(res, "not_after")));
	printf("wrote %s/device.key (0600), %s/device.crt, "
	       "%s/device-bundle.pem\n",
	       out, out, out);
	rc = CLI_OK;
out:
	if (token)
		secret_free(token, strlen(token));
	OPENSSL_cleanse(auth, sizeof(auth));
	free(csr);
	free(body_s);
	free(ans.p);
	free(ca.p);
	free(crt_pem);
	free(bundle_pem);
	sk_X509_pop_free(bundle, X509_free);
	json_decref(body);
	json_decref(res);
	EVP_PKEY_free(key);
	return rc;
}
