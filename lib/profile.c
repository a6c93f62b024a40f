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

#include <openssl/x509v3.h>

#include "profile.h"
#include "util.h"
#include "x509.h"

/* Longest serial we even look at: no serial this long can yield a ThingName
 * within 64 characters, and the bound caps the regex's work. */
#define SERIAL_INPUT_MAX 1024
/* Validity ceiling: 100 years keeps days * 86400 far from time_t limits. */
#define VALIDITY_DAYS_MAX 36500L
/* Backdating more than a day hides clock errors instead of absorbing skew. */
#define BACKDATE_MAX 86400L

static const char SERIAL_TOKEN[] = "{serial}";
#define SERIAL_TOKEN_LEN (sizeof(SERIAL_TOKEN) - 1)

struct profile {
	const struct profile_cfg *cfg;
	regex_t re;
	int re_ok;
	X509_NAME *base; /* the configured RDNs, copied per certificate */
};

/* AWS IoT ThingName alphabet: [a-zA-Z0-9:_-]. */
static int thing_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '-';
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	if (p->re_ok)
		regfree(&p->re);
	X509_NAME_free(p->base);
	free(p);
}

/* Checks the thing_name template: "{serial}" at least once (or every device
 * would get one name) and only ThingName characters around it. */
static int check_template(const char *t, struct errd *e)
{
	size_t i, fixed = 0;
	int found = 0, rc = 0;

	if (!t || !t[0]) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.thing_name: must not be empty");
		goto out;
	}
	for (i = 0; t[i];) {
		if (strncmp(t + i, SERIAL_TOKEN, SERIAL_TOKEN_LEN) == 0) {
			found = 1;
			i += SERIAL_TOKEN_LEN;
			continue;
		}
		if (!thing_name_char((unsigned char)t[i])) {
			rc = err_set(
			    e, ERR_CONFIG_INVALID,
			    "profile.thing_name: '%c' is not allowed in an AWS "
			    "IoT ThingName ([a-zA-Z0-9:_-] around {serial})",
			    t[i] >= 0x20 && t[i] < 0x7f ? t[i] : '?');
			goto out;
		}
		fixed++;
		i++;
	}
	if (!found) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.thing_name: must contain {serial}");
		goto out;
	}
	if (fixed >= THING_NAME_MAX) {
		rc =
		    err_set(e, ERR_CONFIG_INVALID,
			    "profile.thing_name: leaves no room for the serial "
			    "within the 64-character CN limit of RFC 5280");
		goto out;
	}
out:
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
	rc = check_template(cfg->thing_name, e);
	if (rc < 0)
		goto out;
	if (cfg->validity_days < 1 || cfg->validity_days > VALIDITY_DAYS_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.validity_days: %ld is outside 1..%ld",
			     cfg->validity_days, VALIDITY_DAYS_MAX);
		goto out;
	}
	if (cfg->backdate_seconds < 0 || cfg->backdate_seconds > BACKDATE_MAX) {
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "profile.backdate_seconds: %ld is outside 0..%ld",
			     cfg->backdate_seconds, BACKDATE_MAX);
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

/* A subject attribute from the serial did not encode: only possible when
 * the caller skipped profile_check_serial. Keeps the message, recoded as
 * serial_invalid. */
static int serial_err(struct errd *e)
{
	char msg[sizeof(e->msg)];

	snprintf(msg, sizeof(msg), "%s",
		 e ? e->msg : "serial or ThingName cannot be encoded");
	return err_set(e, ERR_SERIAL_INVALID, "%s", msg);
}

/* Copies the SubjectPublicKeyInfo src into x as it is, instead of
 * X509_set_pubkey: in OpenSSL 3.0 that re-encodes the key through the
 * provider encoders, which profiling showed as 17% of thingcad's CPU per
 * issuance (docs/performance.md). 1 on success. */
static int set_spki(X509 *x, const X509_ALGOR *algor,
		    const ASN1_BIT_STRING *bits)
{
	X509_PUBKEY *dst = X509_get_X509_PUBKEY(x);
	ASN1_OBJECT *alg = NULL, *dup_alg = NULL, *dup_param = NULL;
	const unsigned char *key = ASN1_STRING_get0_data(bits);
	unsigned char *key_copy;
	int key_len = ASN1_STRING_length(bits), ptype;
	const void *pval;

	if (!dst || key_len <= 0)
		return 0;
	X509_ALGOR_get0((const ASN1_OBJECT **)&alg, &ptype, &pval, algor);
	/* EC keys carry their curve OID, RSA keys NULL (RFC 5480, 3279). */
	if (ptype == V_ASN1_OBJECT) {
		dup_param = OBJ_dup(pval);
		if (!dup_param)
			return 0;
		pval = dup_param;
	} else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		return 0;
	} else {
		pval = NULL;
	}
	dup_alg = OBJ_dup(alg);
	key_copy = OPENSSL_memdup(key, (size_t)key_len);
	if (!dup_alg || !key_copy ||
	    !X509_PUBKEY_set0_param(dst, dup_alg, ptype, (void *)pval, key_copy,
				    key_len)) {
		ASN1_OBJECT_free(dup_alg);
		ASN1_OBJECT_free(dup_param);
		OPENSSL_free(key_copy);
		return 0;
	}
	return 1;
}

int profile_issue(const struct profile *p, struct ca *ca, const char *serial,
		  const char *thing_name, EVP_PKEY *pub, X509 **out,
		  struct errd *e)
{
	return profile_issue_spki(p, ca, serial, thing_name, pub, NULL, NULL,
				  out, e);
}

int profile_issue_spki(const struct profile *p, struct ca *ca,
		       const char *serial, const char *thing_name,
		       EVP_PKEY *pub, const X509_ALGOR *spki_alg,
		       const ASN1_BIT_STRING *spki_key, X509 **out,
		       struct errd *e)
{
	X509 *cacert = ca_get0_cert(ca), *x = NULL;
	X509_NAME *name = NULL;
	time_t now = time(NULL), ca_nb, ca_na, nb, na;
	char when[21];
	int rc = 0;

	*out = NULL;
	x = X509_new();
	name = X509_NAME_dup(p->base);
	if (!x || !name) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3)) {
		rc = err_set(e, ERR_INTERNAL, "cannot set the version");
		goto out;
	}
	rc = x509_random_serial(x, e);
	if (rc < 0)
		goto out;
	/* Subject: configured RDNs, serialNumber (PrintableString), CN
	 * (UTF8String: '_' of a ThingName is not a PrintableString
	 * character). */
	if (p->cfg->subject_serial_number) {
		rc = x509_name_add(name, "serialNumber", serial, e);
		if (rc < 0) {
			rc = serial_err(e);
			goto out;
		}
	}
	rc = x509_name_add(name, "CN", thing_name, e);
	if (rc < 0) {
		rc = serial_err(e);
		goto out;
	}
	if (!X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(cacert)) ||
	    !(spki_alg ? set_spki(x, spki_alg, spki_key)
		       : X509_set_pubkey(x, pub))) {
		rc = err_set(e, ERR_INTERNAL,
			     "cannot set subject, issuer or key");
		err_add_openssl(e);
		goto out;
	}
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
	rc = x509_set_validity(x, nb, na, e);
	if (rc < 0)
		goto out;
	/* Exactly five extensions (DESIGN.md); keyEncipherment only for RSA
	 * keys, which can do key transport (RFC 5280 4.2.1.3). */
	rc = x509_add_ext(x, cacert, NID_basic_constraints, "critical,CA:FALSE",
			  e);
	if (rc == 0)
		rc = x509_add_ext(
		    x, cacert, NID_key_usage,
		    EVP_PKEY_is_a(pub, "RSA")
			? "critical,digitalSignature,keyEncipherment"
			: "critical,digitalSignature",
		    e);
	if (rc == 0)
		rc =
		    x509_add_ext(x, cacert, NID_ext_key_usage, "clientAuth", e);
	if (rc == 0)
		rc = x509_add_ext(x, cacert, NID_subject_key_identifier, "hash",
				  e);
	if (rc == 0)
		rc = x509_add_ext(x, cacert, NID_authority_key_identifier,
				  "keyid:always", e);
	if (rc < 0)
		goto out;
	rc = ca_sign_cert(ca, x, e);
	if (rc < 0)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}
