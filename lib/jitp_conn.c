/*
 * jitp_conn — what `jitp simulate` checks about the first connect itself,
 * beyond the template: which CA AWS IoT must have registered for a device
 * bundle (the device certificate's issuer, the signing CA — never a root
 * above it: "To register client certificates using CA, you must register
 * the signing CA with AWS IoT, not any other CAs in the hierarchy"), and
 * whether the host a device (or a test) connects to lets AWS find a CA
 * registered in SNI_ONLY mode: the device must send SNI (RFC 6066 3) naming
 * the account's full ATS endpoint, <prefix>-ats.iot.<region>.amazonaws.com.
 * Findings are warnings, appended as strings to a JSON array; library code,
 * no printing.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "jitp_int.h"
#include "x509.h"

/* A bundle holds a device certificate and a few CAs; more than this many
 * certificates is not a bundle. */
#define BUNDLE_CERTS_MAX 16
/* A first-connect command line: words and their total length. */
#define CONNECT_WORDS_MAX 64
#define CONNECT_LEN_MAX 4096
/* RFC 1035 2.3.4: a host name of at most 253 characters. */
#define HOST_MAX 253
#define WARN_MAX 512

__attribute__((format(printf, 2, 3))) static int warn(json_t *w,
						      const char *fmt, ...)
{
	char buf[WARN_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_array_append_new(w, json_string(buf)) ? -1 : 0;
}

/* The subject of x as one RFC 2253 line into out. */
static void name_text(const X509_NAME *n, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	snprintf(out, size, "?");
	if (!b || X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) < 0)
		goto out;
	len = BIO_get_mem_data(b, &data);
	if (len > 0)
		snprintf(out, size, "%.*s", (int)len, data);
out:
	BIO_free(b);
}

int jitp_bundle_ca(const char *pem, size_t len, json_t **info, json_t *warnings,
		   struct errd *e)
{
	X509 *certs[BUNDLE_CERTS_MAX] = {NULL};
	char id[65], subj[256];
	BIO *b = NULL;
	int n = 0, i, at = -1, rc = 0, w = 0;

	*info = NULL;
	rc = jitp_bundle_open(pem, len, &b, e);
	if (rc < 0)
		goto out;
	while (n < BUNDLE_CERTS_MAX &&
	       (certs[n] = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		n++;
	ERR_clear_error();
	if (n == 0) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "no PEM CERTIFICATE found: give the device "
			     "certificate (first) and its chain in PEM");
		goto out;
	}
	/* The issuer: names and key identifiers match (X509_check_issued)
	 * and its key verifies the device certificate's signature. */
	for (i = 1; i < n && at < 0; i++)
		if (X509_check_issued(certs[i], certs[0]) == X509_V_OK &&
		    X509_verify(certs[0], X509_get0_pubkey(certs[i])) == 1)
			at = i;
	ERR_clear_error();
	if (at < 0) {
		name_text(X509_get_issuer_name(certs[0]), subj, sizeof(subj));
		w |= warn(warnings,
			  "the bundle has no certificate of the device's "
			  "issuer (%s): on its first connect the device must "
			  "present its certificate followed by the CA "
			  "certificate AWS IoT has registered",
			  subj);
		goto out;
	}
	if (at != 1)
		w |=
		    warn(warnings,
			 "the device's issuer is certificate %d of the bundle, "
			 "not the second: a TLS client sends the chain in "
			 "order, device then its issuer",
			 at + 1);
	if (x509_certificate_id(certs[at], id) < 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot hash the CA certificate");
		goto out;
	}
	name_text(X509_get_subject_name(certs[at]), subj, sizeof(subj));
	*info = json_pack("{s:s, s:s, s:b}", "id", id, "subject", subj,
			  "self_signed",
			  X509_check_issued(certs[at], certs[at]) == X509_V_OK);
	ERR_clear_error();
	if (!*info) {
		rc = -ERR_NOMEM;
		goto out;
	}
	if (X509_check_ca(certs[at]) == 0)
		w |= warn(warnings,
			  "the device's issuer %s is not a CA certificate "
			  "(basicConstraints CA:TRUE): AWS IoT does not "
			  "register it",
			  subj);
	if (jitp_key_sig_faults(certs[at], "issuing CA", warnings) < 0)
		w = -1;
out:
	if (rc == 0 && w)
		rc = -ERR_NOMEM;
	if (rc < 0) {
		json_decref(*info);
		*info = NULL;
	}
	for (i = 0; i < n; i++)
		X509_free(certs[i]);
	BIO_free(b);
	return rc;
}

/* 1 when s matches the extended regular expression re (case-insensitive). */
static int matches(const char *re, const char *s)
{
	regex_t r;
	int m;

	if (regcomp(&r, re, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		return 0;
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

int jitp_check_endpoint(const char *host, json_t *warnings)
{
	unsigned char addr[16];
	char h[HOST_MAX + 3];
	size_t n = host ? strlen(host) : 0;
	int rc = 0;

	if (n == 0 || n > HOST_MAX + 2) {
		rc = warn(warnings, "no host name to connect to: the device "
				    "must send SNI naming the account's full "
				    "ATS endpoint");
		goto out;
	}
	/* "[::1]" as URLs write an IPv6 address. */
	if (host[0] == '[' && host[n - 1] == ']')
		snprintf(h, sizeof(h), "%.*s", (int)(n - 2), host + 1);
	else
		snprintf(h, sizeof(h), "%s", host);
	if (inet_pton(AF_INET, h, addr) == 1 ||
	    inet_pton(AF_INET6, h, addr) == 1) {
		rc = warn(warnings,
			  "%s is an IP address: a TLS client sends no SNI for "
			  "it (RFC 6066 3 allows host names only), so AWS IoT "
			  "cannot find a CA registered in SNI_ONLY mode; "
			  "connect to the account's full ATS endpoint (aws "
			  "iot describe-endpoint --endpoint-type "
			  "iot:Data-ATS)",
			  h);
		goto out;
	}
	if (matches("^[a-z0-9]+-ats\\.iot\\.[a-z0-9-]+\\.amazonaws\\.com(\\."
		    "cn)?\\.?$",
		    h))
		goto out;
	if (matches("^[a-z0-9]+\\.iot\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?"
		    "\\.?$",
		    h))
		rc = warn(warnings,
			  "%s is the legacy (VeriSign) endpoint, not the ATS "
			  "one: use the account's full ATS endpoint, "
			  "<prefix>-ats.iot.<region>.amazonaws.com (aws iot "
			  "describe-endpoint --endpoint-type iot:Data-ATS)",
			  h);
	else
		rc = warn(warnings,
			  "%s is not an account's full ATS endpoint "
			  "(<prefix>-ats.iot.<region>.amazonaws.com): with a "
			  "CA registered in SNI_ONLY mode AWS IoT finds the "
			  "account, and the CA, by the SNI the device sends "
			  "(aws iot describe-endpoint --endpoint-type "
			  "iot:Data-ATS)",
			  h);
out:
	return rc < 0 ? -ERR_NOMEM : 0;
}

/* Splits line into words (shell-like: '...' and "..." quote, \ escapes
 * outside single quotes) in buf; word pointers into w. Number of words,
 * or -1 when it does not split (unbalanced quote, too many words). */
static int split_words(const char *line, char *buf, char **w, int max)
{
	const char *r = line;
	char *o = buf, q;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\n')
			r++;
		if (!*r)
			break;
		if (n == max)
			return -1;
		w[n++] = o;
		while (*r && *r != ' ' && *r != '\t' && *r != '\n') {
			if (*r == '\'' || *r == '"') {
				q = *r++;
				while (*r && *r != q) {
					if (q == '"' && *r == '\\' && r[1])
						r++;
					*o++ = *r++;
				}
				if (!*r)
					return -1;
				r++;
			} else {
				if (*r == '\\' && r[1])
					r++;
				*o++ = *r++;
			}
		}
		*o++ = '\0';
	}
	return n;
}

/* The value of option name (or alt) among w[1..n), NULL when absent. */
static const char *opt_value(char **w, int n, const char *name, const char *alt)
{
	int i;

	for (i = 1; i + 1 < n; i++)
		if (strcmp(w[i], name) == 0 || (alt && strcmp(w[i], alt) == 0))
			return w[i + 1];
	return NULL;
}

static int has_opt(char **w, int n, const char *name)
{
	int i;

	for (i = 1; i < n; i++)
		if (strcmp(w[i], name) == 0)
			return 1;
	return 0;
}

/* mosquitto_pub/_sub/_rr: libmosquitto sends the -h host (or the host of
 * -L mqtts://host:port/topic) as SNI. */
static int check_mosquitto(const char *prog, char **w, int n, json_t *warnings)
{
	const char *host = opt_value(w, n, "-h", "--host");
	const char *url = opt_value(w, n, "-L", "--url");
	const char *port = opt_value(w, n, "-p", "--port");
	char h[HOST_MAX + 3];
	const char *p, *end, *at, *slash;
	int rc = 0;

	if (url && strncmp(url, "mqtts://", 8) == 0) {
		p = url + 8;
		at = strchr(p, '@');
		slash = strchr(p, '/');
		if (at && (!slash || at < slash))
			p = at + 1;
		end = p[0] == '[' ? strchr(p, ']') : NULL;
		end = end ? end + 1 : p + strcspn(p, ":/");
		snprintf(h, sizeof(h), "%.*s", (int)(end - p), p);
		host = h;
		if (*end == ':')
			port = end + 1;
	}
	if (!has_opt(w, n, "--cafile") && !has_opt(w, n, "--capath") &&
	    !has_opt(w, n, "--tls-use-os-certs") &&
	    !(url && strncmp(url, "mqtts://", 8) == 0))
		rc |= warn(warnings,
			   "%s without --cafile/--capath connects without "
			   "TLS: AWS IoT speaks MQTT over TLS only",
			   prog);
	if (!has_opt(w, n, "--cert"))
		rc |= warn(warnings,
			   "%s without --cert sends no client certificate: "
			   "JITP needs the device bundle",
			   prog);
	if (port && strncmp(port, "443", 3) == 0 &&
	    (port[3] == '\0' || port[3] == '/') &&
	    !opt_value(w, n, "--tls-alpn", NULL))
		rc |= warn(warnings, "MQTT on port 443 needs ALPN "
				     "x-amzn-mqtt-ca (--tls-alpn "
				     "x-amzn-mqtt-ca), or use port 8883");
	if (rc)
		return -ERR_NOMEM;
	return jitp_check_endpoint(host ? host : "localhost", warnings);
}

/* openssl s_client: SNI is -servername NAME, else the -connect host unless
 * it is an address; none with -noservername. */
static int check_s_client(char **w, int n, json_t *warnings)
{
	const char *conn = opt_value(w, n, "-connect", NULL);
	const char *sni = opt_value(w, n, "-servername", NULL);
	char h[HOST_MAX + 3];
	const char *colon;

	if (has_opt(w, n, "-noservername"))
		return warn(warnings,
			    "openssl s_client -noservername sends no SNI: AWS "
			    "IoT cannot find a CA registered in SNI_ONLY "
			    "mode");
	if (sni)
		return jitp_check_endpoint(sni, warnings);
	if (!conn)
		return jitp_check_endpoint("localhost", warnings);
	colon = conn[0] == '[' ? strchr(conn, ']') : NULL;
	colon = colon ? colon + 1 : strrchr(conn, ':');
	snprintf(h, sizeof(h), "%.*s",
		 (int)(colon ? (size_t)(colon - conn) : strlen(conn)), conn);
	return jitp_check_endpoint(h, warnings);
}

int jitp_check_connect(const char *line, json_t *warnings)
{
	char *buf = NULL, *w[CONNECT_WORDS_MAX];
	const char *prog;
	size_t len = line ? strlen(line) : 0;
	int n, rc = 0;

	if (len == 0 || len > CONNECT_LEN_MAX) {
		rc = warn(warnings,
			  "the first-connect command is empty or over %d "
			  "characters",
			  CONNECT_LEN_MAX);
		goto out;
	}
	buf = malloc(len + 1);
	if (!buf) {
		rc = -1;
		goto out;
	}
	n = split_words(line, buf, w, CONNECT_WORDS_MAX);
	if (n <= 0) {
		rc = warn(warnings, "the first-connect command does not split "
				    "into words (an unbalanced quote?)");
		goto out;
	}
	prog = strrchr(w[0], '/') ? strrchr(w[0], '/') + 1 : w[0];
	if (strcmp(prog, "timeout") == 0 && n > 2) {
		/* timeout DURATION CMD ...: the command itself. */
		memmove(w, w + 2, (size_t)(n - 2) * sizeof(w[0]));
		n -= 2;
		prog = strrchr(w[0], '/') ? strrchr(w[0], '/') + 1 : w[0];
	}
	if (strcmp(prog, "mosquitto_pub") == 0 ||
	    strcmp(prog, "mosquitto_sub") == 0 ||
	    strcmp(prog, "mosquitto_rr") == 0)
		rc = check_mosquitto(prog, w, n, warnings);
	else if (strcmp(prog, "openssl") == 0 && n > 1 &&
		 strcmp(w[1], "s_client") == 0)
		rc = check_s_client(w, n, warnings);
	else
		rc = warn(warnings,
			  "cannot tell whether %.64s sends SNI: make sure it "
			  "sends the account's full ATS endpoint "
			  "(<prefix>-ats.iot.<region>.amazonaws.com)",
			  prog);
out:
	free(buf);
	return rc < 0 ? -ERR_NOMEM : 0;
}
