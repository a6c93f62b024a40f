/*
 * profile — the device certificate profile (DESIGN.md "Device certificate
 * profile"): which serials are acceptable, the AWS IoT ThingName each maps
 * to, and the certificate the CA builds for it. The CA decides every field;
 * the CSR contributes only its public key, which arrives here alone.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "err.h"
#include "profile.h"
#include "spki.h"
#include "util.h"
#include "x509.h"

/* Longest serial we even look at: no serial this long can yield a ThingName
 * within 64 characters, and the bound caps the regex's work. */
#define SERIAL_INPUT_MAX 1024

static const char SERIAL_TOKEN[] = THING_SERIAL_TOKEN;
#define SERIAL_TOKEN_LEN (sizeof(SERIAL_TOKEN) - 1)

struct profile {
	const struct profile_cfg *cfg;
	regex_t re;
	int re_ok;
	X509_NAME *base; /* the configured RDNs */
	/* Encoded once (profile_new), copied into every certificate: the
	 * configured RDNs (the Name's content) and the constant extensions. */
	unsigned char *base_der, *bc, *ku_ec, *ku_rsa, *eku;
	size_t base_der_len, bc_len, ku_ec_len, ku_rsa_len, eku_len;
};

void profile_free(struct profile *p)
{
	if (!p)
		return;
	if (p->re_ok)
		regfree(&p->re);
	X509_NAME_free(p->base);
	OPENSSL_free(p->base_der);
	OPENSSL_free(p->bc);
	OPENSSL_free(p->ku_ec);
	OPENSSL_free(p->ku_rsa);
	OPENSSL_free(p->eku);
	free(p);
}

/* i2d of one extension made from OpenSSL's configuration syntax. */
static int encode_ext(int nid, const char *value, unsigned char **der,
		      size_t *len, struct errd *e)
{
	X509 *x = X509_new();
	int n = -1, rc;

	rc = x ? x509_add_ext(x, NULL, nid, value, e)
	       : err_set(e, ERR_NOMEM, "out of memory");
	if (rc == 0)
		n = i2d_X509_EXTENSION(X509_get_ext(x, 0), der);
	if (rc == 0 && n <= 0)
		rc = err_set(e, ERR_INTERNAL, "cannot encode %s",
			     OBJ_nid2sn(nid));
	*len = n > 0 ? (size_t)n : 0;
	X509_free(x);
	return rc;
}

/* The parts of every certificate that do not depend on the device: the
 * configured RDNs and the extensions DESIGN.md fixes (keyUsage differs for
 * RSA keys, which can do key transport: RFC 5280 4.2.1.3). */
static int encode_constants(struct profile *p, struct errd *e)
{
	unsigned char *der = NULL;
	size_t hdr;
	int n, rc;

	n = i2d_X509_NAME(p->base, &der);
	if (n <= 0) {
		OPENSSL_free(der);
		return err_set(e, ERR_INTERNAL, "cannot encode the subject");
	}
	/* Keep the content: the RDN SETs without the Name's header. */
	hdr = der[1] < 0x80 ? 2 : 2 + (size_t)(der[1] & 0x7f);
	p->base_der_len = (size_t)n - hdr;
	p->base_der =
	    OPENSSL_memdup(der + hdr, p->base_der_len ? p->base_der_len : 1);
	OPENSSL_free(der);
	if (!p->base_der)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = encode_ext(NID_basic_constraints, "critical,CA:FALSE", &p->bc,
			&p->bc_len, e);
	if (rc == 0)
		rc = encode_ext(NID_key_usage, "critical,digitalSignature",
				&p->ku_ec, &p->ku_ec_len, e);
	if (rc == 0)
		rc = encode_ext(NID_key_usage,
				"critical,digitalSignature,keyEncipherment",
				&p->ku_rsa, &p->ku_rsa_len, e);
	if (rc == 0)
		rc = encode_ext(NID_ext_key_usage, "clientAuth", &p->eku,
				&p->eku_len, e);
	return rc;
}

int profile_new(const struct profile_cfg *cfg, struct profile **out,
		struct errd *e)
{
	static const char *const types[] = {"C", "ST", "L",
					    "O", "OU", "dnQualifier"};
	struct profile *p = NULL;
	char buf[sizeof(((struct errd *)0)->msg)];
	size_t i, j;
	int rc = 0, r, known;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->base = X509_NAME_new())) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	p->cfg = cfg;
	if (!cfg->serial_pattern) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.serial_pattern: must be set");
		goto out;
	}
	r = regcomp(&p->re, cfg->serial_pattern, REG_EXTENDED | REG_NOSUB);
	if (r != 0) {
		regerror(r, &p->re, buf, sizeof(buf));
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.serial_pattern: not a POSIX extended "
			     "regular expression: %s",
			     buf);
		goto out;
	}
	p->re_ok = 1;
	rc = thing_template_check(cfg->thing_name, e);
	if (rc < 0)
		goto out;
	if (cfg->validity_days < 1 ||
	    cfg->validity_days > PROFILE_VALIDITY_DAYS_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.validity_days: %ld is outside 1..%ld",
			     cfg->validity_days, PROFILE_VALIDITY_DAYS_MAX);
		goto out;
	}
	if (cfg->backdate_seconds < 0 ||
	    cfg->backdate_seconds > PROFILE_BACKDATE_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.backdate_seconds: %ld is outside 0..%ld",
			     cfg->backdate_seconds, PROFILE_BACKDATE_MAX);
		goto out;
	}
	/* Build the configured part of the subject once: a bad value stops
	 * start-up instead of every issuance. */
	for (i = 0; i < cfg->n_subject; i++) {
		known = 0;
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			if (strcmp(cfg->subject[i].type, types[j]) == 0)
				known = 1;
		if (!known) {
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "profile.subject.%s: not one of C, ST, L, "
				     "O, OU, dnQualifier (serialNumber and CN "
				     "come from the device serial)",
				     cfg->subject[i].type);
			goto out;
		}
		rc = x509_name_add(p->base, cfg->subject[i].type,
				   cfg->subject[i].value, e);
		if (rc < 0) {
			snprintf(buf, sizeof(buf), "%s", e ? e->msg : "");
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "profile.subject.%s: %s",
				     cfg->subject[i].type, buf);
			goto out;
		}
	}
	rc = encode_constants(p, e);
	if (rc < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	profile_free(p);
	return rc;
}

const struct profile_cfg *profile_get0_cfg(const struct profile *p)
{
	return p->cfg;
}

int profile_check_serial(const struct profile *p, const char *serial,
			 char *thing_name, struct errd *e)
{
	return profile_check_serial_n(p, serial, strlen(serial), thing_name, e);
}

int profile_check_serial_n(const struct profile *p, const char *serial,
			   size_t len, char *thing_name, struct errd *e)
{
	char s[SERIAL_INPUT_MAX + 1], name[2 * THING_NAME_MAX + 1];
	const char *t = p->cfg->thing_name;
	size_t i, n = 0;
	int rc = 0;

	thing_name[0] = '\0';
	if (len == 0) {
		rc = err_set(e, ERR_SERIAL_INVALID, "serial is empty");
		goto out;
	}
	if (len > SERIAL_INPUT_MAX) {
		rc = err_set(e, ERR_SERIAL_INVALID,
			     "serial is %zu bytes; no serial over %d "
			     "characters fits an AWS IoT ThingName",
			     len, THING_NAME_MAX);
		goto out;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)serial[i];

		if (c < 0x20 || c > 0x7e) {
			rc = err_set(e, ERR_SERIAL_INVALID,
				     "serial has byte 0x%02x at offset %zu; "
				     "only printable ASCII is allowed",
				     c, i);
			goto out;
		}
	}
	memcpy(s, serial, len);
	s[len] = '\0';
	if (regexec(&p->re, s, 0, NULL, 0) != 0) {
		rc = err_set(e, ERR_SERIAL_INVALID,
			     "serial '%.64s' does not match "
			     "profile.serial_pattern %.128s",
			     s, p->cfg->serial_pattern);
		goto out;
	}
	if (p->cfg->subject_serial_number) {
		if (!x509_is_printable_string(s, len)) {
			rc = err_set(e, ERR_SERIAL_INVALID,
				     "serial '%.64s' is not a PrintableString "
				     "(A-Z a-z 0-9 space ' ( ) + , - . / : = "
				     "?), which the subject serialNumber must "
				     "be (RFC 5280 X520SerialNumber)",
				     s);
			goto out;
		}
		if (len > SERIAL_MAX) {
			rc = err_set(e, ERR_SERIAL_INVALID,
				     "serial is %zu characters; RFC 5280 "
				     "limits the subject serialNumber to %d",
				     len, SERIAL_MAX);
			goto out;
		}
	}
	/* ThingName = template with every {serial} replaced; n counts the
	 * full length even past the buffer, for the message. */
	for (i = 0; t[i];) {
		const char *piece = t + i;
		size_t plen = 1;

		if (strncmp(t + i, SERIAL_TOKEN, SERIAL_TOKEN_LEN) == 0) {
			piece = s;
			plen = len;
			i += SERIAL_TOKEN_LEN;
		} else {
			i++;
		}
		if (n < sizeof(name) - 1)
			memcpy(name + n, piece,
			       plen < sizeof(name) - 1 - n
				   ? plen
				   : sizeof(name) - 1 - n);
		n += plen;
	}
	name[n < sizeof(name) - 1 ? n : sizeof(name) - 1] = '\0';
	for (i = 0; name[i]; i++) {
		if (!thing_name_char((unsigned char)name[i])) {
			rc = err_set(e, ERR_SERIAL_INVALID,
				     "ThingName '%.64s' has '%c' at offset "
				     "%zu; AWS IoT allows only [a-zA-Z0-9:_-]",
				     name, name[i], i);
			goto out;
		}
	}
	if (n > THING_NAME_MAX) {
		rc = err_set(e, ERR_SERIAL_INVALID,
			     "ThingName '%.40s...' is %zu characters; RFC 5280 "
			     "limits CN to %d",
			     name, n, THING_NAME_MAX);
		goto out;
	}
	memcpy(thing_name, name, n + 1);
out:
	return rc;
}

/* UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5),
 * both in Z form with seconds; writes the TLV at w, returns w past it. */
static unsigned char *put_time(unsigned char *w, time_t t)
{
	char buf[20];
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	if (tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 <= 2049) {
		n = snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ",
			     tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
		return der_put(w, V_ASN1_UTCTIME, buf, (size_t)n);
	}
	n = snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec);
	return der_put(w, V_ASN1_GENERALIZEDTIME, buf, (size_t)n);
}

/* One RDN of one attribute: SET { SEQUENCE { 2.5.4.<last>, string } }
 * into w (RDN_MAX octets); returns its length. */
#define RDN_MAX (THING_NAME_MAX + 16)
static size_t put_rdn(unsigned char *w, unsigned char last, unsigned char type,
		      const char *v, size_t n)
{
	const unsigned char oid[] = {0x06, 0x03, 0x55, 0x04, last};
	size_t atv = sizeof(oid) + der_tlv_size(n);
	unsigned char *p = w;

	p += der_header(p, V_ASN1_SET | V_ASN1_CONSTRUCTED, der_tlv_size(atv));
	p += der_header(p, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, atv);
	memcpy(p, oid, sizeof(oid));
	p = der_put(p + sizeof(oid), type, v, n);
	return (size_t)(p - w);
}

#define SEQ (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED)

/* The TBSCertificate (RFC 5280 4.1), malloc'd into *out. Every part but
 * the serial, the validity, the serial / ThingName RDNs, the key and its
 * subjectKeyIdentifier was encoded once, by profile_new or ca_open. */
static int build_tbs(const struct profile *p, const struct ca_der *ca,
		     const unsigned char *serial_no, time_t nb, time_t na,
		     const char *serial, const char *thing_name,
		     const struct spki_ref *key, unsigned char **out,
		     size_t *out_len)
{
	static const unsigned char version[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	static const unsigned char ski_head[] = {
	    0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d,
	    0x0e, 0x04, 0x16, 0x04, 0x14}; /* SEQ { 2.5.29.14, OCTET { OCTET(20)
					      } } */
	unsigned char rdn_sn[RDN_MAX], rdn_cn[RDN_MAX], times[2 * 19];
	unsigned char ski[SHA_DIGEST_LENGTH], *w, *buf;
	size_t sn_len = 0, cn_len, times_len, subject, exts, tbs, total;
	const unsigned char *ku = key->rsa ? p->ku_rsa : p->ku_ec;
	size_t ku_len = key->rsa ? p->ku_rsa_len : p->ku_ec_len;
	size_t slen = strlen(serial), tlen = strlen(thing_name);

	if (slen > THING_NAME_MAX || tlen > THING_NAME_MAX)
		return -ERR_SERIAL_INVALID;
	/* serialNumber is a PrintableString (X.520), CN a UTF8String: '_'
	 * of a ThingName is not a PrintableString character. */
	if (p->cfg->subject_serial_number)
		sn_len =
		    put_rdn(rdn_sn, 0x05, V_ASN1_PRINTABLESTRING, serial, slen);
	cn_len = put_rdn(rdn_cn, 0x03, V_ASN1_UTF8STRING, thing_name, tlen);
	times_len = (size_t)(put_time(put_time(times, nb), na) - times);
	if (!SHA1(key->bits, key->bits_len, ski))
		return -ERR_INTERNAL;

	subject = p->base_der_len + sn_len + cn_len;
	exts = p->bc_len + ku_len + p->eku_len + sizeof(ski_head) +
	       sizeof(ski) + ca->aki_len;
	tbs = sizeof(version) + der_tlv_size(X509_SERIAL_BYTES) +
	      ca->sigalg_len + ca->issuer_len + der_tlv_size(times_len) +
	      der_tlv_size(subject) + key->der_len +
	      der_tlv_size(der_tlv_size(exts));
	total = der_tlv_size(tbs);
	buf = malloc(total);
	if (!buf)
		return -ERR_NOMEM;

	w = buf + der_header(buf, SEQ, tbs);
	memcpy(w, version, sizeof(version));
	w = der_put(w + sizeof(version), V_ASN1_INTEGER, serial_no,
		    X509_SERIAL_BYTES);
	memcpy(w, ca->sigalg, ca->sigalg_len);
	w += ca->sigalg_len;
	memcpy(w, ca->issuer, ca->issuer_len);
	w += ca->issuer_len;
	w = der_put(w, SEQ, times, times_len);
	w += der_header(w, SEQ, subject);
	memcpy(w, p->base_der, p->base_der_len);
	w += p->base_der_len;
	memcpy(w, rdn_sn, sn_len);
	w += sn_len;
	memcpy(w, rdn_cn, cn_len);
	w += cn_len;
	memcpy(w, key->der, key->der_len);
	w += key->der_len;
	/* extensions [3] EXPLICIT: basicConstraints, keyUsage,
	 * extendedKeyUsage, subjectKeyIdentifier, authorityKeyIdentifier. */
	w += der_header(w, 0xa3, der_tlv_size(exts));
	w += der_header(w, SEQ, exts);
	memcpy(w, p->bc, p->bc_len);
	w += p->bc_len;
	memcpy(w, ku, ku_len);
	w += ku_len;
	memcpy(w, p->eku, p->eku_len);
	w += p->eku_len;
	memcpy(w, ski_head, sizeof(ski_head));
	w += sizeof(ski_head);
	memcpy(w, ski, sizeof(ski));
	w += sizeof(ski);
	memcpy(w, ca->aki, ca->aki_len);
	w += ca->aki_len;
	*out = buf;
	*out_len = (size_t)(w - buf);
	return 0;
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING sig }. */
static unsigned char *wrap_cert(const unsigned char *tbs, size_t tbs_len,
				const struct ca_der *ca,
				const unsigned char *sig, size_t sig_len,
				size_t *out_len)
{
	size_t body = tbs_len + ca->sigalg_len + der_tlv_size(sig_len + 1);
	unsigned char *buf = malloc(der_tlv_size(body)), *w;

	if (!buf)
		return NULL;
	w = buf + der_header(buf, SEQ, body);
	memcpy(w, tbs, tbs_len);
	w += tbs_len;
	memcpy(w, ca->sigalg, ca->sigalg_len);
	w += ca->sigalg_len;
	w += der_header(w, V_ASN1_BIT_STRING, sig_len + 1);
	*w++ = 0; /* no unused bits */
	memcpy(w, sig, sig_len);
	*out_len = (size_t)(w + sig_len - buf);
	return buf;
}

void profile_cert_clear(struct profile_cert *c)
{
	free(c->der);
	memset(c, 0, sizeof(*c));
}

int profile_issue_der(const struct profile *p, struct ca *ca,
		      const char *serial, const char *thing_name,
		      const struct spki_ref *key, struct profile_cert *out,
		      struct errd *e)
{
	X509 *cacert = ca_get0_cert(ca);
	struct ca_der cd;
	unsigned char sn[X509_SERIAL_BYTES], sig[CA_SIG_MAX], *tbs = NULL;
	size_t tbs_len = 0, sig_len = sizeof(sig), i;
	time_t now = time(NULL), ca_nb, ca_na, nb, na;
	char when[21];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	ca_get0_der(ca, &cd);
	/* Validity: now - backdate .. now + validity_days, never past the CA's
	 * own notAfter (a certificate outliving its issuer fails to verify),
	 * nor, for a CA made minutes ago, before its notBefore. */
	if (x509_time_to_time_t(X509_get0_notBefore(cacert), &ca_nb) < 0 ||
	    x509_time_to_time_t(X509_get0_notAfter(cacert), &ca_na) < 0) {
		rc = err_set(e, ERR_INTERNAL, "CA validity does not decode");
		goto out;
	}
	if (ca_na <= now) {
		time_rfc3339(ca_na, when);
		rc = err_set(e, ERR_CA_INVALID,
			     "the CA certificate expired on %s", when);
		goto out;
	}
	na = now + (time_t)p->cfg->validity_days * 86400;
	if (na > ca_na)
		na = ca_na;
	nb = now - (time_t)p->cfg->backdate_seconds;
	if (nb < ca_nb)
		nb = ca_nb;
	/* RFC 5280 4.1.2.2: positive (top bit clear) and, with 0x40 set,
	 * never zero and always X509_SERIAL_BYTES octets long. */
	if (RAND_bytes(sn, sizeof(sn)) != 1) {
		rc = err_set(e, ERR_INTERNAL, "CSPRNG failed");
		err_add_openssl(e);
		goto out;
	}
	sn[0] = (unsigned char)((sn[0] & 0x7f) | 0x40);
	rc = build_tbs(p, &cd, sn, nb, na, serial, thing_name, key, &tbs,
		       &tbs_len);
	if (rc == -ERR_SERIAL_INVALID) {
		rc = err_set(e, ERR_SERIAL_INVALID,
			     "serial or ThingName is over %d characters",
			     THING_NAME_MAX);
		goto out;
	} else if (rc < 0) {
		rc = err_set(e, -rc, "cannot encode the certificate");
		goto out;
	}
	rc = ca_sign_data(ca, tbs, tbs_len, sig, &sig_len, e);
	if (rc < 0)
		goto out;
	out->der = wrap_cert(tbs, tbs_len, &cd, sig, sig_len, &out->der_len);
	if (!out->der) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sizeof(sn); i++)
		snprintf(out->serial_hex + 2 * i, 3, "%02x", sn[i]);
	out->not_before = nb;
	out->not_after = na;
out:
	free(tbs);
	OPENSSL_cleanse(sn, sizeof(sn));
	return rc;
}

int profile_issue(const struct profile *p, struct ca *ca, const char *serial,
		  const char *thing_name, EVP_PKEY *pub, X509 **out,
		  struct errd *e)
{
	struct spki_ref key = {0};
	struct profile_cert c = {0};
	unsigned char *der = NULL;
	const unsigned char *q;
	size_t n = 0;
	int rc;

	*out = NULL;
	/* The key's canonical SubjectPublicKeyInfo, as for a request. */
	if (!pub || spki_of_pkey(pub, &der, &n) < 0 ||
	    spki_get0_bits(der, n, &key.bits, &key.bits_len) < 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot encode the public key");
		goto out;
	}
	key.der = der;
	key.der_len = n;
	key.rsa = EVP_PKEY_is_a(pub, "RSA");
	rc = profile_issue_der(p, ca, serial, thing_name, &key, &c, e);
	if (rc < 0)
		goto out;
	q = c.der;
	*out = d2i_X509(NULL, &q, (long)c.der_len);
	if (!*out)
		rc =
		    err_set(e, ERR_INTERNAL, "the certificate does not decode");
out:
	profile_cert_clear(&c);
	OPENSSL_free(der);
	return rc;
}
