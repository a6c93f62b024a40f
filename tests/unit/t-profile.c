/*
 * t-profile — serial rules (pattern, printable, PrintableString, ThingName
 * alphabet and length) and the device certificate itself: subject order and
 * string types, serial, validity and its clamp to the CA, exactly five
 * extensions, digest, signature, and nothing copied from a hostile CSR.
 * Fixtures: tests/data/ca and tests/data/csr (READMEs there).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "csr.h"
#include "der.h"
#include "err.h"
#include "key.h"
#include "profile.h"
#include "tap.h"
#include "util.h"
#include "x509.h"

static char tmp[] = "/tmp/t-profile.XXXXXX";

static struct rdn_cfg subject[] = {
    {"C", "JP"},    {"ST", "Tokyo"},  {"L", "Chiyoda"},
    {"O", "MyOrg"}, {"OU", "device"}, {"dnQualifier", "line1"},
};

static struct profile_cfg base_cfg(void)
{
	struct profile_cfg c = {0};

	c.subject = subject;
	c.n_subject = sizeof(subject) / sizeof(subject[0]);
	c.thing_name = "{serial}";
	c.serial_pattern = "^[A-Za-z0-9-]{1,64}$";
	c.subject_serial_number = 1;
	c.validity_days = 3650;
	c.backdate_seconds = 300;
	c.key_types = KEY_ALL;
	c.unique_public_keys = 1;
	return c;
}

static const char *src(void)
{
	const char *s = getenv("THINGCA_SRC");

	return s ? s : ".";
}

/* A whole file, with the library's file_read (a fixture or a file a test
 * wrote). */
static char *slurp(const char *path, size_t *len)
{
	struct errd e = {0};
	char *b = NULL;

	if (file_read(path, (size_t)1024 * 1024, &b, len, &e) < 0)
		diag("%s", e.msg);
	return b;
}

/* Opens a CA from tests/data/ca (key copied 0600 into tmp). */
static struct ca *open_ca(const char *cert, const char *key)
{
	char cpath[1100], kpath[1100], from[1100], *data;
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	size_t len = 0;
	int fd;

	snprintf(cpath, sizeof(cpath), "%s/tests/data/ca/%s", src(), cert);
	snprintf(from, sizeof(from), "%s/tests/data/ca/%s", src(), key);
	snprintf(kpath, sizeof(kpath), "%s/ca.key", tmp);
	data = slurp(from, &len);
	unlink(kpath);
	fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (data && fd >= 0 && write(fd, data, len) != (ssize_t)len)
		diag("short write");
	if (fd >= 0)
		close(fd);
	free(data);
	cfg.certificate = cpath;
	cfg.key = kpath;
	if (ca_open(&cfg, &ca, &e) != 0)
		diag("ca_open %s: %s", cert, e.msg);
	unlink(kpath);
	return ca;
}

/* A device public key from a CSR fixture (caller frees the csr). */
static struct csr *device(const char *name)
{
	char path[1100], *pem;
	struct errd e = {0, {0}};
	struct csr *c = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/tests/data/csr/%s", src(), name);
	pem = slurp(path, &len);
	if (pem && csr_parse_pem(pem, len, &c, &e) != 0)
		diag("csr %s: %s", name, e.msg);
	free(pem);
	return c;
}

/* --- serial rules --------------------------------------------------- */

static void serial_case(const struct profile_cfg *cfg, const char *serial,
			size_t len, int want, const char *want_name,
			const char *word)
{
	struct errd e = {0, {0}};
	struct profile *p = NULL;
	char tn[THING_NAME_MAX + 1] = "unset";
	int rc;

	if (profile_new(cfg, &p, &e) != 0) {
		ok(0, "profile_new: %s", e.msg);
		return;
	}
	rc = profile_check_serial_n(p, serial, len, tn, &e);
	is_int(rc, want, "serial '%.*s' (template %s, ssn %d): %s", (int)len,
	       serial, cfg->thing_name, cfg->subject_serial_number,
	       err_str(want));
	if (want == 0)
		is_str(tn, want_name, "ThingName");
	else if (!ok(strstr(e.msg, word) != NULL, "message says '%s'", word))
		diag("got '%s'", e.msg);
	profile_free(p);
}

static void serials(void)
{
	struct profile_cfg c = base_cfg();
	char long_serial[80];

	serial_case(&c, "SN-0001", 7, 0, "SN-0001", NULL);
	serial_case(&c, "", 0, -ERR_SERIAL_INVALID, NULL, "empty");
	serial_case(&c, "AB CD", 5, -ERR_SERIAL_INVALID, NULL,
		    "serial_pattern");
	serial_case(&c, "ab\0cd", 5, -ERR_SERIAL_INVALID, NULL, "0x00");
	serial_case(&c, "ab\tcd", 5, -ERR_SERIAL_INVALID, NULL, "0x09");
	serial_case(&c, "ab\x7f", 3, -ERR_SERIAL_INVALID, NULL, "0x7f");
	serial_case(&c, "caf\xc3\xa9", 5, -ERR_SERIAL_INVALID, NULL, "0xc3");

	/* Pattern that lets everything printable through: the later rules. */
	c.serial_pattern = "^.*$";
	serial_case(&c, "a_b", 3, -ERR_SERIAL_INVALID, NULL, "PrintableString");
	/* ':' is PrintableString (X.680), and a ThingName character. */
	serial_case(&c, "a:b", 3, 0, "a:b", NULL);
	serial_case(&c, "a.b", 3, -ERR_SERIAL_INVALID, NULL, "[a-zA-Z0-9:_-]");
	memset(long_serial, 'A', 65);
	serial_case(&c, long_serial, 65, -ERR_SERIAL_INVALID, NULL,
		    "serialNumber to 64");
	serial_case(
	    &c, long_serial, 64, 0,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    NULL);

	c.subject_serial_number = 0;
	serial_case(&c, "a_b", 3, 0, "a_b", NULL);
	serial_case(&c, "a:b", 3, 0, "a:b", NULL);
	serial_case(&c, "a b", 3, -ERR_SERIAL_INVALID, NULL, "[a-zA-Z0-9:_-]");
	serial_case(&c, long_serial, 65, -ERR_SERIAL_INVALID, NULL,
		    "is 65 characters; RFC 5280 limits CN to 64");

	c.subject_serial_number = 1;
	c.thing_name = "dev_{serial}";
	serial_case(&c, "SN1", 3, 0, "dev_SN1", NULL);
	memset(long_serial, 'B', 62);
	serial_case(&c, long_serial, 62, -ERR_SERIAL_INVALID, NULL,
		    "is 66 characters; RFC 5280 limits CN to 64");
	c.thing_name = "line1:{serial}_{serial}";
	serial_case(&c, "X9", 2, 0, "line1:X9_X9", NULL);
}

static void new_case(struct profile_cfg *c, const char *what, const char *word)
{
	struct errd e = {0, {0}};
	struct profile *p = (struct profile *)&e;
	int rc;

	rc = profile_new(c, &p, &e);
	is_int(rc, -ERR_CONFIG_INVALID, "profile_new refuses %s", what);
	ok(p == NULL, "%s: no profile", what);
	if (!ok(strstr(e.msg, word) != NULL, "%s: message says '%s'", what,
		word))
		diag("got '%s'", e.msg);
	if (rc == 0)
		profile_free(p);
}

static void bad_configs(void)
{
	struct rdn_cfg bad_c[] = {{"C", "JPN"}}, bad_t[] = {{"CN", "x"}},
		       bad_q[] = {{"dnQualifier", "line_1"}},
		       bad_u[] = {{"O", "\xff\xfe"}};
	struct profile_cfg c;

	c = base_cfg();
	c.serial_pattern = "([";
	new_case(&c, "a bad regex", "profile.serial_pattern");
	c = base_cfg();
	c.thing_name = "device";
	new_case(&c, "a template without {serial}", "{serial}");
	c = base_cfg();
	c.thing_name = "dev.{serial}";
	new_case(&c, "a template with '.'", "profile.thing_name");
	c = base_cfg();
	c.validity_days = 0;
	new_case(&c, "validity_days 0", "profile.validity_days");
	c = base_cfg();
	c.subject = bad_c;
	c.n_subject = 1;
	new_case(&c, "C=JPN", "exactly 2");
	c.subject = bad_t;
	new_case(&c, "CN in the subject", "profile.subject.CN");
	c.subject = bad_q;
	new_case(&c, "dnQualifier with '_'", "PrintableString");
	c.subject = bad_u;
	new_case(&c, "O not UTF-8", "UTF-8");
}

/* --- the certificate ---------------------------------------------- */

struct want_rdn {
	int nid;
	int type;
	const char *value;
};

static void check_subject(X509 *x, const struct want_rdn *w, int n,
			  const char *what)
{
	X509_NAME *name = X509_get_subject_name(x);
	int i;

	is_int(X509_NAME_entry_count(name), n, "%s: %d subject RDNs", what, n);
	for (i = 0; i < n && i < X509_NAME_entry_count(name); i++) {
		X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(ne);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		char v[128];

		snprintf(v, sizeof(v), "%.*s", ASN1_STRING_length(d),
			 (const char *)ASN1_STRING_get0_data(d));
		is_str(OBJ_nid2sn(nid), OBJ_nid2sn(w[i].nid), "%s: RDN %d type",
		       what, i);
		is_int(ASN1_STRING_type(d), w[i].type,
		       "%s: RDN %d (%s) string type", what, i,
		       OBJ_nid2sn(w[i].nid));
		is_str(v, w[i].value, "%s: RDN %d value", what, i);
	}
}

/* Extension nid: present once, with the given criticality. */
static void check_ext(X509 *x, int nid, int critical, const char *what)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	ok(i >= 0 && X509_get_ext_by_NID(x, nid, i) < 0, "%s: %s present once",
	   what, OBJ_nid2sn(nid));
	if (i >= 0)
		is_int(X509_EXTENSION_get_critical(X509_get_ext(x, i)),
		       critical, "%s: %s critical=%d", what, OBJ_nid2sn(nid),
		       critical);
}

static void check_cert(X509 *x, struct ca *ca, EVP_PKEY *pub, int rsa,
		       int sig_nid, const char *what)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const ASN1_OCTET_STRING *ski, *aki;
	unsigned char dgst[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	time_t now = time(NULL), nb = 0, na = 0;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();

	is_int(X509_get_version(x), X509_VERSION_3, "%s: v3", what);
	is_int(ASN1_STRING_length(sn), 16, "%s: serial is 16 octets", what);
	ok(bn && !BN_is_negative(bn) && !BN_is_zero(bn),
	   "%s: serial positive (RFC 5280 4.1.2.2)", what);
	is_int(X509_NAME_cmp(X509_get_issuer_name(x),
			     X509_get_subject_name(ca_get0_cert(ca))),
	       0, "%s: issuer = CA subject", what);
	x509_time_to_time_t(X509_get0_notBefore(x), &nb);
	x509_time_to_time_t(X509_get0_notAfter(x), &na);
	ok(nb >= now - 300 - 5 && nb <= now - 300,
	   "%s: notBefore = now - 300 (got now %+ld)", what, (long)(nb - now));
	is_int(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1,
	       "%s: public key is the device's", what);
	/* One key, one SubjectPublicKeyInfo: OpenSSL's encoding of the key
	 * with its point uncompressed (DESIGN.md), whatever the CSR sent. */
	{
		EVP_PKEY *u = EVP_PKEY_dup(pub);
		unsigned char *want = NULL, *got = NULL;
		int wl = -1, gl;

		if (u && (!EVP_PKEY_is_a(u, "EC") ||
			  EVP_PKEY_set_utf8_string_param(
			      u, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			      "uncompressed")))
			wl = i2d_PUBKEY(u, &want);
		gl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &got);
		ok(wl > 0 && gl == wl && memcmp(want, got, (size_t)wl) == 0,
		   "%s: SubjectPublicKeyInfo is the key's canonical DER", what);
		OPENSSL_free(want);
		OPENSSL_free(got);
		EVP_PKEY_free(u);
	}

	is_int(X509_get_ext_count(x), 5, "%s: exactly 5 extensions", what);
	check_ext(x, NID_basic_constraints, 1, what);
	check_ext(x, NID_key_usage, 1, what);
	check_ext(x, NID_ext_key_usage, 0, what);
	check_ext(x, NID_subject_key_identifier, 0, what);
	check_ext(x, NID_authority_key_identifier, 0, what);
	X509_check_purpose(x, -1, 0);
	ok(!(X509_get_extension_flags(x) & EXFLAG_CA), "%s: CA:FALSE", what);
	is_int(X509_get_key_usage(x),
	       rsa ? KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
		   : KU_DIGITAL_SIGNATURE,
	       "%s: keyUsage digitalSignature%s", what,
	       rsa ? " + keyEncipherment" : " only");
	is_int(X509_get_extended_key_usage(x), XKU_SSL_CLIENT,
	       "%s: extendedKeyUsage clientAuth only", what);
	ski = X509_get0_subject_key_id(x);
	X509_pubkey_digest(x, EVP_sha1(), dgst, &dlen);
	ok(ski && (unsigned)ASN1_STRING_length(ski) == dlen &&
	       memcmp(ASN1_STRING_get0_data(ski), dgst, dlen) == 0,
	   "%s: SKI is the SHA-1 of the device key (RFC 5280 4.2.1.2)", what);
	aki = X509_get0_authority_key_id(x);
	ok(aki && ASN1_OCTET_STRING_cmp(
		      aki, X509_get0_subject_key_id(ca_get0_cert(ca))) == 0,
	   "%s: AKI keyid = CA SKI", what);
	ok(X509_get0_authority_issuer(x) == NULL &&
	       X509_get0_authority_serial(x) == NULL,
	   "%s: AKI is keyid only", what);

	/* The certificate is written byte by byte (profile_issue_der): what
	 * OpenSSL re-encodes from the parsed fields must be those bytes. */
	{
		unsigned char *orig = NULL, *tbs = NULL, *re = NULL;
		int olen = i2d_X509(x, &orig), rlen;

		/* i2d_re_X509_tbs drops the encoding kept from parsing. */
		i2d_re_X509_tbs(x, &tbs);
		rlen = i2d_X509(x, &re);
		ok(olen > 0 && olen == rlen &&
		       memcmp(orig, re, (size_t)olen) == 0,
		   "%s: the certificate is canonical DER", what);
		OPENSSL_free(orig);
		OPENSSL_free(tbs);
		OPENSSL_free(re);
	}
	is_int(X509_get_signature_nid(x), sig_nid, "%s: signature %s", what,
	       OBJ_nid2sn(sig_nid));
	is_int(X509_verify(x, X509_get0_pubkey(ca_get0_cert(ca))), 1,
	       "%s: X509_verify with the CA key", what);

	/* And a whole path validation, as a TLS server checking a client. */
	X509_STORE_add_cert(store, ca_get0_cert(ca));
	X509_STORE_CTX_init(sctx, store, x, NULL);
	X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_CLIENT);
	if (!ok(X509_verify_cert(sctx) == 1, "%s: verifies as a TLS client",
		what))
		diag("%s", X509_verify_cert_error_string(
			       X509_STORE_CTX_get_error(sctx)));
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	BN_free(bn);
}

static X509 *issue(const struct profile_cfg *cfg, struct ca *ca,
		   const char *serial, EVP_PKEY *pub, const char *what)
{
	struct errd e = {0, {0}};
	struct profile *p = NULL;
	char tn[THING_NAME_MAX + 1];
	X509 *x = NULL;
	int rc;

	if (!ca || !pub || profile_new(cfg, &p, &e) != 0 ||
	    profile_check_serial(p, serial, tn, &e) != 0) {
		ok(0, "%s: setup: %s", what, e.msg);
		goto out;
	}
	rc = profile_issue(p, ca, serial, tn, pub, &x, &e);
	is_int(rc, 0, "%s: issued (%s)", what, e.msg);
out:
	profile_free(p);
	return x;
}

static void certificates(void)
{
	struct profile_cfg c = base_cfg();
	struct ca *p256 = open_ca("ca-p256.pem", "ca-p256.key");
	struct ca *rsa = open_ca("ca-rsa2048.pem", "ca-rsa2048.key");
	struct ca *p384 = open_ca("ca-p384.pem", "ca-p384.key");
	struct csr *ec = device("p256.csr"), *r = device("rsa2048.csr");
	struct csr *evil = device("evil.csr");
	const struct want_rdn full[] = {
	    {NID_countryName, V_ASN1_PRINTABLESTRING, "JP"},
	    {NID_stateOrProvinceName, V_ASN1_UTF8STRING, "Tokyo"},
	    {NID_localityName, V_ASN1_UTF8STRING, "Chiyoda"},
	    {NID_organizationName, V_ASN1_UTF8STRING, "MyOrg"},
	    {NID_organizationalUnitName, V_ASN1_UTF8STRING, "device"},
	    {NID_dnQualifier, V_ASN1_PRINTABLESTRING, "line1"},
	    {NID_serialNumber, V_ASN1_PRINTABLESTRING, "SN-0001"},
	    {NID_commonName, V_ASN1_UTF8STRING, "dev_SN-0001"},
	};
	const struct want_rdn nossn[] = {
	    {NID_countryName, V_ASN1_PRINTABLESTRING, "JP"},
	    {NID_stateOrProvinceName, V_ASN1_UTF8STRING, "Tokyo"},
	    {NID_localityName, V_ASN1_UTF8STRING, "Chiyoda"},
	    {NID_organizationName, V_ASN1_UTF8STRING, "MyOrg"},
	    {NID_organizationalUnitName, V_ASN1_UTF8STRING, "device"},
	    {NID_dnQualifier, V_ASN1_PRINTABLESTRING, "line1"},
	    {NID_commonName, V_ASN1_UTF8STRING, "line1:a_b"},
	};
	time_t na = 0;
	X509 *x;

	c.thing_name = "dev_{serial}";
	x = issue(&c, p256, "SN-0001", ec ? csr_get0_pubkey(ec) : NULL,
		  "EC device, P-256 CA");
	if (x) {
		check_subject(x, full, 8, "EC device, P-256 CA");
		check_cert(x, p256, csr_get0_pubkey(ec), 0,
			   NID_ecdsa_with_SHA256, "EC device, P-256 CA");
		x509_time_to_time_t(X509_get0_notAfter(x), &na);
		ok(na >= time(NULL) + 3650L * 86400 - 5 &&
		       na <= time(NULL) + 3650L * 86400,
		   "notAfter = now + 3650 days (CA lasts longer)");
	}
	X509_free(x);

	x = issue(&c, rsa, "SN-0001", r ? csr_get0_pubkey(r) : NULL,
		  "RSA device, RSA CA");
	if (x)
		check_cert(x, rsa, csr_get0_pubkey(r), 1,
			   NID_sha256WithRSAEncryption, "RSA device, RSA CA");
	X509_free(x);

	x = issue(&c, p384, "SN-0001", ec ? csr_get0_pubkey(ec) : NULL,
		  "EC device, P-384 CA");
	if (x)
		check_cert(x, p384, csr_get0_pubkey(ec), 0,
			   NID_ecdsa_with_SHA384, "EC device, P-384 CA");
	X509_free(x);

	c.subject_serial_number = 0;
	c.serial_pattern = "^[a-z_]+$";
	c.thing_name = "line1:{serial}";
	x = issue(&c, p256, "a_b", ec ? csr_get0_pubkey(ec) : NULL,
		  "no subject serialNumber");
	if (x)
		check_subject(x, nossn, 7, "no subject serialNumber");
	X509_free(x);

	/* The CSR asked for CA:TRUE, keyCertSign, a SAN and its own subject. */
	c = base_cfg();
	x = issue(&c, p256, "SN-0002", evil ? csr_get0_pubkey(evil) : NULL,
		  "hostile CSR");
	if (x) {
		X509_check_purpose(x, -1, 0);
		ok(!(X509_get_extension_flags(x) & EXFLAG_CA),
		   "hostile CSR: still CA:FALSE");
		ok(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) < 0,
		   "hostile CSR: no subjectAltName");
		is_int(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE,
		       "hostile CSR: no keyCertSign");
		is_int(X509_get_ext_count(x), 5, "hostile CSR: 5 extensions");
		is_int(X509_NAME_get_index_by_NID(X509_get_subject_name(x),
						  NID_commonName, -1),
		       7, "hostile CSR: CN is ours, last");
		ok(X509_NAME_get_index_by_NID(X509_get_subject_name(x),
					      NID_countryName, -1) == 0 &&
		       X509_NAME_get_index_by_NID(X509_get_subject_name(x),
						  NID_countryName, 0) < 0,
		   "hostile CSR: one C, ours");
	}
	X509_free(x);

	/* Two certificates never share a serial number. */
	{
		X509 *a = issue(&c, p256, "SN-0003", csr_get0_pubkey(ec), "a");
		X509 *b = issue(&c, p256, "SN-0003", csr_get0_pubkey(ec), "b");

		ok(a && b &&
		       ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
					X509_get0_serialNumber(b)) != 0,
		   "two issuances get different serial numbers");
		X509_free(a);
		X509_free(b);
	}

	csr_free(ec);
	csr_free(r);
	csr_free(evil);
	ca_free(p256);
	ca_free(rsa);
	ca_free(p384);
}

/* The request path (issue.c): the CSR's key as csr_get0_key lends it,
 * through profile_issue_der. A key sent compressed, hybrid or without RSA
 * parameters gets the same SubjectPublicKeyInfo, subjectKeyIdentifier and
 * DER as the canonical request of the same key. */
static X509 *issue_csr(struct ca *ca, const char *name, X509 **canon)
{
	struct profile_cfg c = base_cfg();
	struct profile *p = NULL;
	struct profile_cert pc = {0};
	struct spki_ref key;
	struct errd e = {0, {0}};
	struct csr *r = device(name);
	const unsigned char *q;
	char tn[THING_NAME_MAX + 1];
	X509 *x = NULL;

	if (!r || !ca || profile_new(&c, &p, &e) != 0 ||
	    profile_check_serial(p, "SN-0007", tn, &e) != 0) {
		ok(0, "%s: setup: %s", name, e.msg);
		goto out;
	}
	csr_get0_key(r, &key);
	is_int(profile_issue_der(p, ca, "SN-0007", tn, &key, &pc, &e), 0,
	       "%s: issued from the request (%s)", name, e.msg);
	q = pc.der;
	x = pc.der ? d2i_X509(NULL, &q, (long)pc.der_len) : NULL;
	ok(x != NULL, "%s: the certificate parses", name);
	if (x)
		check_cert(x, ca, csr_get0_pubkey(r), key.rsa,
			   NID_ecdsa_with_SHA256, name);
	if (x && canon && *canon) {
		unsigned char *a = NULL, *b = NULL;
		int al = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
		int bl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(*canon), &b);

		ok(al > 0 && al == bl && memcmp(a, b, (size_t)al) == 0,
		   "%s: the same SubjectPublicKeyInfo as the canonical request",
		   name);
		is_int(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x),
					     X509_get0_subject_key_id(*canon)),
		       0, "%s: the same subjectKeyIdentifier", name);
		OPENSSL_free(a);
		OPENSSL_free(b);
	}
	if (canon && !*canon) {
		*canon = x;
		x = NULL;
	}
out:
	profile_cert_clear(&pc);
	profile_free(p);
	csr_free(r);
	return x;
}

static void request_keys(void)
{
	struct ca *ca = open_ca("ca-p256.pem", "ca-p256.key");
	X509 *canon = NULL;

	issue_csr(ca, "enc-p256.csr", &canon);
	X509_free(issue_csr(ca, "enc-p256-compressed.csr", &canon));
	X509_free(issue_csr(ca, "enc-p256-hybrid.csr", &canon));
	X509_free(canon);
	canon = NULL;
	issue_csr(ca, "enc-rsa.csr", &canon);
	X509_free(issue_csr(ca, "enc-rsa-noparams.csr", &canon));
	X509_free(canon);
	ca_free(ca);
}

/* A CA expiring in under 3 days, made here: a fixture would itself expire. */
/* A self-signed P-256 CA valid from nb to na, written under tmp and opened
 * (NULL on failure); *cert gets its certificate (caller frees). */
static struct ca *make_ca(const char *name, time_t nb, time_t na, X509 **cert)
{
	char kpath[1100], cpath[1100], subj[128];
	struct ca_cfg cfg = {0};
	struct errd e = {0, {0}};
	struct ca *ca = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *n = NULL;
	X509 *x = X509_new();
	FILE *f;
	int fd;

	snprintf(subj, sizeof(subj), "/CN=%s", name);
	x509_name_parse(subj, &n, NULL);
	X509_set_version(x, X509_VERSION_3);
	x509_random_serial(x, NULL);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	x509_set_validity(x, nb, na, NULL);
	x509_add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE", NULL);
	x509_add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign",
		     NULL);
	x509_add_ext(x, NULL, NID_subject_key_identifier, "hash", NULL);
	X509_sign(x, k, EVP_sha256());
	snprintf(kpath, sizeof(kpath), "%s/%s.key", tmp, name);
	snprintf(cpath, sizeof(cpath), "%s/%s.pem", tmp, name);
	fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	f = fopen(cpath, "w");
	if (f) {
		PEM_write_X509(f, x);
		fclose(f);
	}
	cfg.certificate = cpath;
	cfg.key = kpath;
	if (ca_open(&cfg, &ca, &e) != 0)
		diag("%s: %s", name, e.msg);
	unlink(kpath);
	unlink(cpath);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
	*cert = x;
	return ca;
}

static void clamp(void)
{
	struct profile_cfg c = base_cfg();
	struct ca *ca = NULL;
	struct csr *ec = device("p256.csr");
	X509 *x = NULL, *d = NULL;
	time_t now = time(NULL);
	struct tm tm = {0};

	ca = make_ca("Short-lived", now - 60, now + 3 * 86400 - 3600, &x);
	is_int(ca ? ca_days_left(ca) : -1, 2,
	       "short-lived CA (3 days - 1 hour): 2 whole days left");
	d = issue(&c, ca, "SN-9", ec ? csr_get0_pubkey(ec) : NULL,
		  "short-lived CA");
	if (d)
		is_int(ASN1_TIME_compare(X509_get0_notAfter(d),
					 X509_get0_notAfter(x)),
		       0, "notAfter clamped to the CA's notAfter");
	if (d)
		is_int(ASN1_TIME_compare(X509_get0_notBefore(d),
					 X509_get0_notBefore(x)),
		       0,
		       "notBefore (now - 300) clamped to the CA's (now - 60)");
	X509_free(d);
	ca_free(ca);
	X509_free(x);

	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after. */
	tm.tm_year = 2060 - 1900;
	tm.tm_mon = 0;
	tm.tm_mday = 1;
	ca = make_ca("Long-lived", now - 3600, timegm(&tm), &x);
	c.validity_days = 36500;
	d = issue(&c, ca, "SN-10", ec ? csr_get0_pubkey(ec) : NULL,
		  "CA valid to 2060");
	if (d) {
		is_int(ASN1_STRING_type(X509_get0_notBefore(d)), V_ASN1_UTCTIME,
		       "notBefore in 20xx is a UTCTime");
		is_int(ASN1_STRING_type(X509_get0_notAfter(d)),
		       V_ASN1_GENERALIZEDTIME,
		       "notAfter in 2060 is a GeneralizedTime");
		is_int(ASN1_TIME_compare(X509_get0_notAfter(d),
					 X509_get0_notAfter(x)),
		       0, "notAfter clamped to 2060-01-01");
		check_cert(d, ca, csr_get0_pubkey(ec), 0, NID_ecdsa_with_SHA256,
			   "CA valid to 2060");
	}
	X509_free(d);
	ca_free(ca);
	X509_free(x);
	csr_free(ec);
}
/* The DER headers the certificate writer uses, against OpenSSL's own
 * ASN1_put_object, across every length form. */
static void der_headers(void)
{
	static const size_t lens[] = {0,   1,	  127,	 128,	  255,
				      256, 65535, 65536, 1 << 24, 300};
	unsigned char mine[16], ref[16], *q;
	size_t i, n;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		q = ref;
		ASN1_put_object(&q, 1, (long)lens[i], V_ASN1_SEQUENCE,
				V_ASN1_UNIVERSAL);
		n = der_header(mine, 0x30, lens[i]);
		ok(n == (size_t)(q - ref) && memcmp(mine, ref, n) == 0,
		   "der_header length %zu = ASN1_put_object", lens[i]);
		is_int(der_tlv_size(lens[i]), n + lens[i], "der_tlv_size %zu",
		       lens[i]);
	}
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	serials();
	bad_configs();
	certificates();
	request_keys();
	clamp();
	der_headers();
	profile_free(NULL);
	ok(1, "profile_free(NULL) is a no-op");
	rmdir(tmp);
	return done_testing();
}
