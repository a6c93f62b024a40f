/*
 * x509 — building blocks shared by everything in thingca that makes a
 * certificate: the device profile, `ca init`, `ca server-cert` and the AWS
 * verification certificate. Keeps ASN.1 string types, serial numbers and
 * validity encoding in one place so all of them follow RFC 5280 the same
 * way, and the key generation, PEM files and certificate IDs the commands
 * share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "key.h"
#include "util.h"
#include "x509.h"

/* Longest "/C=../CN=.." subject we parse: 8 attributes of at most 128
 * characters of up to 4 UTF-8 bytes each fit; anything longer is a mistake. */
#define X509_NAME_TEXT_MAX 4096

/* One attribute type thingca puts in names. max is the RFC 5280 Appendix A
 * upper bound in characters (0: none), min the lower one. */
struct attr {
	const char *type;
	int nid;
	int printable; /* X.520 says PrintableString */
	int min, max;
};

static const struct attr attrs[] = {
    {"C", NID_countryName, 1, 2, 2},		  /* ISO 3166 two letters */
    {"ST", NID_stateOrProvinceName, 0, 1, 128},	  /* ub-state-name */
    {"L", NID_localityName, 0, 1, 128},		  /* ub-locality-name */
    {"O", NID_organizationName, 0, 1, 64},	  /* ub-organization-name */
    {"OU", NID_organizationalUnitName, 0, 1, 64}, /* ub-org-unit-name */
    {"CN", NID_commonName, 0, 1, 64},		  /* ub-common-name */
    {"dnQualifier", NID_dnQualifier, 1, 1, 0},
    {"serialNumber", NID_serialNumber, 1, 1, 64}, /* ub-serial-number */
};

int x509_is_printable_string(const char *s, size_t len)
{
	/* X.680 41.4 table 10: the PrintableString alphabet. */
	static const char extra[] = " '()+,-./:=?";
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == '\0' || !strchr(extra, c))
			return 0;
	}
	return 1;
}

int x509_name_add(X509_NAME *n, const char *type, const char *value,
		  struct errd *e)
{
	const struct attr *a = NULL;
	size_t i, len;
	long chars;
	int rc = 0, stype;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strcmp(attrs[i].type, type) == 0)
			a = &attrs[i];
	if (!a) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "subject attribute '%s' is not supported; use C, "
			     "ST, L, O, OU, CN, dnQualifier or serialNumber",
			     type);
		goto out;
	}
	len = strlen(value);
	if (a->printable) {
		if (!x509_is_printable_string(value, len)) {
			rc = err_set(
			    e, ERR_CONFIG_INVALID,
			    "subject %s '%s': X.520 makes it a PrintableString "
			    "(A-Z a-z 0-9 space ' ( ) + , - . / : = ?)",
			    type, value);
			goto out;
		}
		chars = (long)len;
		stype = V_ASN1_PRINTABLESTRING;
	} else {
		chars = utf8_chars(value, len);
		if (chars < 0) {
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "subject %s is not valid UTF-8", type);
			goto out;
		}
		stype = V_ASN1_UTF8STRING;
	}
	if (chars < a->min || (a->max > 0 && chars > a->max)) {
		if (a->min == a->max)
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "subject %s '%s' is %ld characters; RFC "
				     "5280 wants exactly %d",
				     type, value, chars, a->max);
		else if (chars < a->min)
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "subject %s is empty", type);
		else
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "subject %s is %ld characters; RFC 5280 "
				     "Appendix A limits it to %d",
				     type, chars, a->max);
		goto out;
	}
	/* An explicit string type (not MBSTRING_*) is stored as given, without
	 * OpenSSL's global string mask choosing another: checked above. */
	if (!X509_NAME_add_entry_by_NID(n, a->nid, stype,
					(const unsigned char *)value, (int)len,
					-1, 0)) {
		rc = err_set(e, ERR_INTERNAL, "cannot add subject %s", type);
		err_add_openssl(e);
		goto out;
	}
out:
	return rc;
}

int x509_name_parse(const char *s, X509_NAME **out, struct errd *e)
{
	X509_NAME *n = NULL;
	char *buf = NULL, *w, *type, *eq;
	const char *r;
	size_t len;
	int rc = 0, end;

	*out = NULL;
	len = strlen(s);
	if (len == 0 || s[0] != '/' || len > X509_NAME_TEXT_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "subject '%.64s' must look like /C=JP/O=My "
			     "Org/CN=Name (at most %d bytes)",
			     s, X509_NAME_TEXT_MAX);
		goto out;
	}
	buf = malloc(len + 1);
	n = X509_NAME_new();
	if (!buf || !n) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	r = s + 1;
	for (;;) {
		/* Copy one component, unescaping "\x" to "x", up to '/'. */
		w = buf;
		while (*r && *r != '/') {
			if (*r == '\\' && r[1])
				r++;
			*w++ = *r++;
		}
		*w = '\0';
		end = *r == '\0';
		type = buf;
		eq = strchr(buf, '=');
		if (!eq || eq == buf) {
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "subject component '%s' is not TYPE=value",
				     buf);
			goto out;
		}
		*eq = '\0';
		rc = x509_name_add(n, type, eq + 1, e);
		if (rc < 0)
			goto out;
		if (end)
			break;
		r++;
	}
	*out = n;
	n = NULL;
out:
	X509_NAME_free(n);
	free(buf);
	return rc;
}

int x509_random_serial(X509 *x, struct errd *e)
{
	unsigned char b[X509_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int rc = 0;

	if (RAND_bytes(b, sizeof(b)) != 1) {
		rc = err_set(e, ERR_INTERNAL, "CSPRNG failed");
		err_add_openssl(e);
		goto out;
	}
	/* RFC 5280 4.1.2.2: positive (top bit clear) and, with 0x40 set,
	 * never zero and always X509_SERIAL_BYTES octets long. */
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
		rc = err_set(e, ERR_INTERNAL, "cannot set serial number");
		err_add_openssl(e);
		goto out;
	}
out:
	BN_free(bn);
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

int x509_set_validity(X509 *x, time_t not_before, time_t not_after,
		      struct errd *e)
{
	int rc = 0;

	/* ASN1_TIME_set picks UTCTime for 1950-2049 and GeneralizedTime
	 * otherwise: RFC 5280 4.1.2.5. */
	if (!ASN1_TIME_set(X509_getm_notBefore(x), not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), not_after)) {
		rc = err_set(e, ERR_INTERNAL, "cannot set validity");
		err_add_openssl(e);
	}
	return rc;
}

int x509_new_cert(const X509_NAME *subject, const X509_NAME *issuer,
		  EVP_PKEY *pub, time_t not_before, time_t not_after,
		  X509 **out, struct errd *e)
{
	X509 *x = X509_new();
	int rc = 0;

	*out = NULL;
	if (!x || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? issuer : subject) ||
	    !X509_set_pubkey(x, pub)) {
		rc = err_set(e, ERR_INTERNAL, "cannot build the certificate");
		err_add_openssl(e);
		goto out;
	}
	rc = x509_random_serial(x, e);
	if (rc == 0)
		rc = x509_set_validity(x, not_before, not_after, e);
	if (rc == 0) {
		*out = x;
		x = NULL;
	}
out:
	X509_free(x);
	return rc;
}

int x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value,
		 struct errd *e)
{
	X509_EXTENSION *ex = NULL;
	X509V3_CTX ctx;
	int rc = 0;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex || !X509_add_ext(x, ex, -1)) {
		rc = err_set(e, ERR_INTERNAL, "cannot add extension %s=%s",
			     OBJ_nid2sn(nid), value);
		err_add_openssl(e);
	}
	X509_EXTENSION_free(ex);
	return rc;
}

int x509_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	int rc = 0;

	memset(&tm, 0, sizeof(tm));
	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		rc = -ERR_INTERNAL;
		goto out;
	}
	*out = timegm(&tm);
out:
	return rc;
}

void x509_not_after_text(X509 *x, char out[21])
{
	time_t na;

	if (x509_time_to_time_t(X509_get0_notAfter(x), &na) == 0)
		time_rfc3339(na, out);
	else
		snprintf(out, 21, "?");
}

int x509_certificate_id(X509 *x, char hex[65])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len, rc = -ERR_INTERNAL;

	hex[0] = '\0';
	len = i2d_X509(x, &der);
	if (len <= 0)
		goto out;
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		goto out;
	hex_encode(md, mdlen, hex);
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

char *x509_bio_strdup(BIO *b, size_t *len)
{
	char *data = NULL, *out = NULL;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0)
		n = 0;
	out = malloc((size_t)n + 1);
	if (!out)
		goto out;
	if (n > 0)
		memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len)
		*len = (size_t)n;
out:
	return out;
}

/* What memory BIO b holds into path (file_write, refusing an existing path
 * unless overwrite), then zeroed: it may be a key. */
static int bio_write_file(BIO *b, const char *path, unsigned mode,
			  int overwrite, struct errd *e)
{
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	int rc;

	rc = file_write(path, data, n > 0 ? (size_t)n : 0, mode, !overwrite, e);
	if (data && n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	return rc;
}

int x509_write_key(const char *path, EVP_PKEY *k, int overwrite, struct errd *e)
{
	/* The secure heap where available: zeroed when freed. */
	BIO *b = BIO_new(BIO_s_secmem());
	int rc = 0;

	if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the key");
		err_add_openssl(e);
		goto out;
	}
	rc = bio_write_file(b, path, 0600, overwrite, e);
out:
	BIO_free(b);
	return rc;
}

int x509_write_cert(const char *path, X509 *x, STACK_OF(X509) * chain,
		    int overwrite, struct errd *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	int i, ok, rc = 0;

	ok = b && PEM_write_bio_X509(b, x);
	for (i = 0; ok && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (X509_check_issued(c, c) != X509_V_OK)
			ok = PEM_write_bio_X509(b, c);
	}
	if (!ok) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the certificate");
		err_add_openssl(e);
		goto out;
	}
	rc = bio_write_file(b, path, 0644, overwrite, e);
out:
	BIO_free(b);
	return rc;
}

/* Adds the extension nid=value (no issuer context needed) to exts. */
static int csr_ext(STACK_OF(X509_EXTENSION) * *exts, X509_REQ *req, int nid,
		   const char *value)
{
	X509_EXTENSION *ex;
	X509V3_CTX ctx;
	int ok;

	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ex && X509v3_add_ext(exts, ex, -1) != NULL;
	X509_EXTENSION_free(ex);
	return ok;
}

int x509_make_ca_csr(EVP_PKEY *k, const X509_NAME *name, X509_REQ **out,
		     struct errd *e)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_REQ *req = X509_REQ_new();
	int rc = 0, v;

	*out = NULL;
	if (!req || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, k) ||
	    !csr_ext(&exts, req, NID_basic_constraints,
		     "critical,CA:TRUE,pathlen:0") ||
	    !csr_ext(&exts, req, NID_key_usage,
		     "critical,keyCertSign,cRLSign") ||
	    !X509_REQ_add_extensions(req, exts)) {
		rc = err_set(e, ERR_INTERNAL, "cannot build the CSR");
		err_add_openssl(e);
		goto out;
	}
	if (X509_REQ_sign(req, k, key_md(k)) <= 0) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     "the key could not sign the CSR");
		err_add_openssl(e);
		goto out;
	}
	/* Three outcomes: 1 verifies, 0 mismatch, < 0 error. */
	v = X509_REQ_verify(req, X509_REQ_get0_pubkey(req));
	if (v != 1) {
		rc = err_set(e, ERR_SIGNER_UNAVAILABLE,
			     v == 0 ? "the key's signature on the CSR does not "
				      "verify with its public key"
				    : "the CSR's signature cannot be checked");
		err_add_openssl(e);
		goto out;
	}
	*out = req;
	req = NULL;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc;
}

int x509_write_csr(const char *path, X509_REQ *req, int overwrite,
		   struct errd *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = 0;

	if (!b || !PEM_write_bio_X509_REQ(b, req)) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the CSR");
		err_add_openssl(e);
		goto out;
	}
	rc = bio_write_file(b, path, 0644, overwrite, e);
out:
	BIO_free(b);
	return rc;
}
