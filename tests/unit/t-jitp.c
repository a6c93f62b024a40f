/*
 * t-jitp — the JITP toolkit: the seed registration config simulates OK
 * against a device certificate of the default profile; each fault AWS would
 * refuse is reported with its reason, all of them at once; generated
 * templates declare exactly the profile's parameters and simulate OK; the
 * generated policy is the seed's; the CA a bundle needs registered (its
 * issuer, not the root) and the SNI warnings of --endpoint/--connect.
 * Certificates are made here with the OpenSSL API so the test needs no other
 * module. Fixtures: tests/data/jitp/ (see its README).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jitp.h"
#include "tap.h"
#include "util.h"
#include "x509.h"

/* Largest fixture file: templates and policies are a few kilobytes. */
#define FIXTURE_MAX ((size_t)1024 * 1024)

/* Fixture name of tests/data/jitp, read with the library's file_read. */
static char *slurp(const char *name)
{
	const char *src = getenv("THINGCA_SRC");
	char path[1024], *buf = NULL;
	struct errd e = {0};
	size_t len;

	snprintf(path, sizeof(path), "%s/tests/data/jitp/%s", src ? src : ".",
		 name);
	if (file_read(path, FIXTURE_MAX, &buf, &len, &e) < 0)
		diag("%s", e.msg);
	return buf;
}

static EVP_PKEY *ca_key, *dev_key;
static X509 *ca_cert;

/* A certificate for key, issued by the CA, with subject C=JP, ST=Tokyo,
 * L=Tokyo, O=MyOrg, OU=device, [dnQualifier=dnq,] serialNumber=SN1, CN=cn. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, int with_dnq)
{
	static const char *const rdn[][2] = {
	    {"C", "JP"},    {"ST", "Tokyo"},  {"L", "Tokyo"},
	    {"O", "MyOrg"}, {"OU", "device"},
	};
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	size_t i;

	for (i = 0; i < sizeof(rdn) / sizeof(rdn[0]); i++)
		X509_NAME_add_entry_by_txt(n, rdn[i][0], MBSTRING_UTF8,
					   (const unsigned char *)rdn[i][1], -1,
					   -1, 0);
	if (with_dnq)
		X509_NAME_add_entry_by_txt(n, "dnQualifier", MBSTRING_ASC,
					   (const unsigned char *)"dnq", -1, -1,
					   0);
	X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_ASC,
				   (const unsigned char *)"SN1", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca_cert ? X509_get_subject_name(ca_cert) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (!X509_sign(x, ca_key, EVP_sha256())) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(n);
	return x;
}

/* Does the reasons array hold a string containing needle? */
static int has_reason(json_t *reasons, const char *needle)
{
	size_t i;
	json_t *r;

	json_array_foreach(reasons, i, r)
	{
		if (strstr(json_string_value(r), needle))
			return 1;
	}
	return 0;
}

static void show_reasons(json_t *reasons)
{
	size_t i;
	json_t *r;

	json_array_foreach(reasons, i, r)
	{
		diag("  reason: %s", json_string_value(r));
	}
}

/* Simulates fixture (or text when fixture is NULL) against x and checks
 * that it is refused with every needle among the reasons. */
static void expect_refused(const char *what, const char *fixture,
			   const char *text, X509 *x,
			   const char *const *needles)
{
	char *buf = fixture ? slurp(fixture) : NULL;
	json_t *result = NULL, *reasons = NULL;
	struct errd e = {0};
	int rc;
	size_t i;

	rc = jitp_simulate(fixture ? (buf ? buf : "") : text, x, &result,
			   &reasons, &e);
	is_int(rc, -ERR_MALFORMED_REQUEST, "%s: refused", what);
	ok(result == NULL, "%s: no result when refused", what);
	for (i = 0; needles[i]; i++)
		if (!ok(has_reason(reasons, needles[i]),
			"%s: reason mentions \"%s\"", what, needles[i])) {
			diag("expected a reason containing '%s', got:",
			     needles[i]);
			show_reasons(reasons);
		}
	json_decref(result);
	json_decref(reasons);
	free(buf);
}

static void test_seed_ok(X509 *dev)
{
	char *text = slurp("seed-registration-config.json");
	json_t *result = NULL, *reasons = NULL;
	struct errd e = {0};
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0, i;
	char want_id[65];
	int rc, len;

	len = i2d_X509(dev, &der);
	EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(want_id + (size_t)2 * i, 3, "%02x", md[i]);
	OPENSSL_free(der);

	rc = jitp_simulate(text ? text : "", dev, &result, &reasons, &e);
	if (!ok(rc == 0, "seed registration config simulates OK")) {
		diag("expected 0, got %d: %s", rc, e.msg);
		show_reasons(reasons);
	}
	is_str(json_string_value(
		   json_object_get(json_object_get(result, "thing"), "name")),
	       "SN1", "thing name is the CN");
	is_str(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(result, "thing"), "attributes"),
		"country")),
	    "JP", "attribute country from the subject C");
	is_str(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(result, "thing"), "attributes"),
		"version")),
	    "v1", "literal attribute version");
	is_str(json_string_value(json_object_get(
		   json_object_get(result, "certificate"), "id")),
	       want_id, "certificate id is the SHA-256 of the DER");
	is_str(json_string_value(json_object_get(
		   json_object_get(result, "certificate"), "status")),
	       "ACTIVE", "certificate status");
	is_str(json_string_value(
		   json_object_get(json_object_get(result, "policy"), "name")),
	       "jitp-things-policy", "policy name");
	json_decref(result);
	json_decref(reasons);
	free(text);
}

static void test_refusals(X509 *dev)
{
	static const char *const dnq[] = {"DistinguishedNameQualifier",
					  "dnQualifier", NULL};
	static const char *const certid[] = {"CertificateId must be exactly",
					     NULL};
	static const char *const both[] = {"PolicyName and PolicyDocument",
					   NULL};
	static const char *const fn[] = {"Fn::Join", NULL};
	static const char *const many[] = {
	    "DistinguishedNameQualifier",
	    "CertificateId must be exactly",
	    "PolicyName and PolicyDocument",
	    "Fn::Sub",
	    "Ref to Site, which Parameters does not declare",
	    NULL,
	};
	static const char *const regcfg[] = {"templateBody must be a string",
					     "no roleArn", NULL};
	static const char *const name[] = {"ThingName", NULL};
	static const char *const ed[] = {"ED25519", NULL};
	static const char *const notjson[] = {"not JSON", NULL};
	static const char *const nothing[] = {"AWS::IoT::Thing resources",
					      "AWS::IoT::Certificate resources",
					      NULL};
	EVP_PKEY *edkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *sp = make_cert(dev_key, "SN 1", 0);
	X509 *sl = make_cert(dev_key, "line1/SN1", 0);
	X509 *edc = make_cert(edkey, "SN1", 0);
	X509 *withdnq = make_cert(dev_key, "SN1", 1);
	json_t *result = NULL, *reasons = NULL;
	char *text = slurp("bad-missing-dnq.json");
	int rc;

	expect_refused("declared DistinguishedNameQualifier, cert lacks it",
		       "bad-missing-dnq.json", NULL, dev, dnq);
	rc = jitp_simulate(text ? text : "", withdnq, &result, &reasons, NULL);
	is_int(rc, 0, "same template OK once the cert has a dnQualifier");
	json_decref(result);
	json_decref(reasons);
	free(text);
	expect_refused("CertificateId not Ref Id", "bad-certificate-id.json",
		       NULL, dev, certid);
	expect_refused("PolicyName with PolicyDocument",
		       "bad-policy-name-and-document.json", NULL, dev, both);
	expect_refused("Fn::Join", "bad-fn-join.json", NULL, dev, fn);
	expect_refused("several faults at once", "bad-many.json", NULL, dev,
		       many);
	expect_refused("templateBody object, no roleArn",
		       "bad-registration-config.json", NULL, dev, regcfg);
	expect_refused("CN with a space", "seed-registration-config.json", NULL,
		       sp, name);
	expect_refused("CN with a slash", "seed-registration-config.json", NULL,
		       sl, name);
	expect_refused("Ed25519 device key", "seed-registration-config.json",
		       NULL, edc, ed);
	expect_refused("not JSON", NULL, "{\"Resources\": ", dev, notjson);
	expect_refused("no resources", NULL, "{\"Resources\": {}}", dev,
		       nothing);
	X509_free(sp);
	X509_free(sl);
	X509_free(edc);
	X509_free(withdnq);
	EVP_PKEY_free(edkey);
}

static void test_generate(X509 *dev)
{
	static struct rdn_cfg subject[] = {
	    {"C", "JP"},    {"ST", "Tokyo"},  {"L", "Tokyo"},
	    {"O", "MyOrg"}, {"OU", "device"},
	};
	static const char *const want[] = {
	    "AWS::IoT::Certificate::CommonName",
	    "AWS::IoT::Certificate::Country",
	    "AWS::IoT::Certificate::StateName",
	    "AWS::IoT::Certificate::Organization",
	    "AWS::IoT::Certificate::OrganizationalUnit",
	    "AWS::IoT::Certificate::SerialNumber",
	    "AWS::IoT::Certificate::Id",
	};
	struct profile_cfg p = {
	    .subject = subject,
	    .n_subject = 5,
	    .subject_serial_number = 1,
	};
	struct jitp_attr attrs[] = {{"country", "Country"}, {"version", "v1"}};
	struct jitp_attr bad_attr[] = {{"dnq", "DistinguishedNameQualifier"}};
	const char *groups[] = {"line1"};
	struct jitp_template_opts o = {
	    .role_arn = "arn:aws:iam::123456789012:role/JITPRole",
	    .attrs = attrs,
	    .n_attrs = 2,
	    .groups = groups,
	    .n_groups = 1,
	    .thing_type = "sensor",
	};
	json_t *cfg = NULL, *body = NULL, *result = NULL, *reasons = NULL,
	       *params, *seed = NULL, *pol = NULL;
	struct errd e = {0};
	const char *tb;
	char *text = NULL, *seed_text;
	size_t i;
	int rc;

	rc = jitp_registration_config(&p, &o, &cfg, &e);
	if (!ok(rc == 0, "registration config generated"))
		diag("expected 0, got %d: %s", rc, e.msg);
	tb = json_string_value(json_object_get(cfg, "templateBody"));
	ok(tb != NULL, "templateBody is a string");
	is_str(json_string_value(json_object_get(cfg, "roleArn")), o.role_arn,
	       "roleArn");
	body = json_loads(tb ? tb : "", 0, NULL);
	params = json_object_get(body, "Parameters");
	is_int(json_object_size(params), 7, "exactly seven parameters");
	for (i = 0; i < 7; i++)
		ok(json_object_get(params, want[i]) != NULL, "declares %s",
		   want[i]);
	ok(!json_object_get(params, "AWS::IoT::Certificate::Locality") &&
	       !json_object_get(
		   params, "AWS::IoT::Certificate::DistinguishedNameQualifier"),
	   "no Locality, no DistinguishedNameQualifier");

	text = json_dumps(cfg, 0);
	rc = jitp_simulate(text ? text : "", dev, &result, &reasons, &e);
	if (!ok(rc == 0, "generated config simulates OK")) {
		diag("expected 0, got %d: %s", rc, e.msg);
		show_reasons(reasons);
	}
	is_str(json_string_value(
		   json_object_get(json_object_get(result, "thing"), "type")),
	       "sensor", "thing type");
	is_str(json_string_value(json_array_get(
		   json_object_get(json_object_get(result, "thing"), "groups"),
		   0)),
	       "line1", "thing group");
	json_decref(result);
	json_decref(reasons);
	json_decref(cfg);
	free(text);
	cfg = NULL;

	o.attrs = bad_attr;
	o.n_attrs = 1;
	rc = jitp_registration_config(&p, &o, &cfg, &e);
	is_int(rc, -ERR_MALFORMED_REQUEST,
	       "attribute naming a parameter the profile lacks refused");
	ok(strstr(e.msg, "DistinguishedNameQualifier") != NULL,
	   "message names it: %s", e.msg);
	o.n_attrs = 0;
	p.subject_serial_number = 0;
	o.role_arn = "arn:aws:iam::12345:role/JITPRole";
	rc = jitp_registration_config(&p, &o, &cfg, &e);
	is_int(rc, -ERR_MALFORMED_REQUEST, "short account in role ARN");
	o.role_arn = "arn:aws-cn:iam::123456789012:role/path/JITPRole";
	json_decref(cfg);
	rc = jitp_registration_config(&p, &o, &cfg, &e);
	is_int(rc, 0, "aws-cn role ARN with a path accepted");
	json_decref(body);
	body = json_loads(
	    json_string_value(json_object_get(cfg, "templateBody")), 0, NULL);
	ok(!json_object_get(json_object_get(body, "Parameters"),
			    "AWS::IoT::Certificate::SerialNumber"),
	   "no SerialNumber when subject_serial_number is off");
	o.policy_name = "p";
	o.policy_document = "{}";
	json_decref(body);
	is_int(jitp_template_body(&p, &o, &body, &e), -ERR_MALFORMED_REQUEST,
	       "policy name and document together refused");

	seed_text = slurp("seed-policy.json");
	seed = json_loads(seed_text ? seed_text : "", 0, NULL);
	rc = jitp_policy("ap-northeast-1", "123456789012", &pol, &e);
	is_int(rc, 0, "policy generated");
	if (!ok(seed && json_equal(pol, seed), "policy equals the seed")) {
		text = json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		diag("got %s", text ? text : "(null)");
		free(text);
	}
	json_decref(pol);
	is_int(jitp_policy("Tokyo", "123456789012", &pol, &e),
	       -ERR_MALFORMED_REQUEST, "bad region refused");
	is_int(jitp_policy("ap-northeast-1", "1234", &pol, &e),
	       -ERR_MALFORMED_REQUEST, "bad account refused");
	free(seed_text);
	json_decref(seed);
	json_decref(pol);
	json_decref(body);
	json_decref(cfg);
}

static void test_bundle(X509 *dev)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509 *got = NULL;
	char *pem;
	long n;
	struct errd e = {0};

	PEM_write_bio_X509(b, dev);
	PEM_write_bio_X509(b, ca_cert);
	n = BIO_get_mem_data(b, &pem);
	is_int(jitp_read_cert_bundle(pem, (size_t)n, &got, &e), 0,
	       "bundle read");
	ok(got && X509_cmp(got, dev) == 0, "first certificate is the device's");
	X509_free(got);
	is_int(jitp_read_cert_bundle("junk", 4, &got, &e),
	       -ERR_MALFORMED_REQUEST, "no certificate in junk");
	BIO_free(b);
}

/* A CA certificate (basicConstraints CA:TRUE, keyCertSign, SKI, AKI) for
 * key named cn, signed by issuer/ikey (NULL: self-signed). */
static X509 *make_ca(EVP_PKEY *key, const char *cn, X509 *issuer,
		     EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	x509_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE",
		     NULL);
	x509_add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign",
		     NULL);
	x509_add_ext(x, issuer, NID_subject_key_identifier, "hash", NULL);
	x509_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always",
		     NULL);
	X509_sign(x, issuer ? ikey : key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

/* A device certificate for key, signed by issuer/ikey. */
static X509 *make_dev(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
				   (const unsigned char *)"SN1", -1, -1, 0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 9);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	x509_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always",
		     NULL);
	X509_sign(x, ikey, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

/* jitp_bundle_ca over the PEM of the given certificates (NULL-ended):
 * the CA it names (NULL: none) and its warnings (caller frees both). */
static int bundle_ca(json_t **info, json_t **w, ...)
{
	BIO *b = BIO_new(BIO_s_mem());
	struct errd e = {0};
	va_list ap;
	X509 *x;
	char *pem;
	long n;
	int rc;

	va_start(ap, w);
	while ((x = va_arg(ap, X509 *)) != NULL)
		PEM_write_bio_X509(b, x);
	va_end(ap);
	n = BIO_get_mem_data(b, &pem);
	*w = json_array();
	rc = jitp_bundle_ca(pem, (size_t)n, info, *w, &e);
	BIO_free(b);
	return rc;
}

static void test_bundle_ca(void)
{
	EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256");
	EVP_PKEY *dk = EVP_EC_gen("P-256");
	EVP_PKEY *wk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	X509 *root = make_ca(rk, "root", NULL, NULL);
	X509 *iss = make_ca(ik, "line CA", root, rk);
	X509 *weak = make_ca(wk, "weak CA", root, rk);
	X509 *dev = make_dev(dk, iss, ik), *dev0 = make_dev(dk, root, rk);
	X509 *devw = make_dev(dk, weak, wk);
	json_t *info = NULL, *w = NULL;
	char id[65];
	struct errd e = {0};

	x509_certificate_id(iss, id);
	is_int(bundle_ca(&info, &w, dev, iss, root, NULL), 0,
	       "bundle_ca: device, issuing CA, root");
	is_str(json_string_value(json_object_get(info, "id")), id,
	       "bundle_ca: the CA to register is the issuing CA");
	ok(json_is_false(json_object_get(info, "self_signed")),
	   "bundle_ca: ... not a self-signed root");
	is_str(json_string_value(json_object_get(info, "subject")),
	       "CN=line CA", "bundle_ca: its subject");
	is_int(json_array_size(w), 0, "bundle_ca: no warning");
	json_decref(info);
	json_decref(w);

	is_int(bundle_ca(&info, &w, dev, root, NULL), 0,
	       "bundle_ca: device and root only");
	ok(info == NULL, "bundle_ca: no CA named without the issuer");
	ok(has_reason(w, "no certificate of the device's issuer (CN=line CA)"),
	   "bundle_ca: warns that the issuing CA is missing");
	json_decref(info);
	json_decref(w);

	is_int(bundle_ca(&info, &w, dev, root, iss, NULL), 0,
	       "bundle_ca: issuer out of order");
	is_str(json_string_value(json_object_get(info, "id")), id,
	       "bundle_ca: still found");
	ok(has_reason(w, "certificate 3 of the bundle, not the second"),
	   "bundle_ca: warns about the order");
	json_decref(info);
	json_decref(w);

	is_int(bundle_ca(&info, &w, dev0, root, NULL), 0,
	       "bundle_ca: a device of the root itself");
	ok(json_is_true(json_object_get(info, "self_signed")),
	   "bundle_ca: the CA to register is the self-signed root");
	json_decref(info);
	json_decref(w);

	is_int(bundle_ca(&info, &w, devw, weak, root, NULL), 0,
	       "bundle_ca: an RSA-1024 issuing CA");
	ok(has_reason(w, "issuing CA key is RSA-1024: AWS IoT accepts RSA of "
			 "2048 bits or more"),
	   "bundle_ca: warns about the key AWS refuses");
	json_decref(info);
	json_decref(w);

	w = json_array();
	is_int(jitp_bundle_ca("junk", 4, &info, w, &e), -ERR_MALFORMED_REQUEST,
	       "bundle_ca: no certificate is malformed_request");
	json_decref(w);
	X509_free(root);
	X509_free(iss);
	X509_free(weak);
	X509_free(dev);
	X509_free(dev0);
	X509_free(devw);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(dk);
	EVP_PKEY_free(wk);
}

/* n warnings for host (and, when needle, one containing it). */
static void endpoint(const char *host, size_t n, const char *needle)
{
	json_t *w = json_array();

	is_int(jitp_check_endpoint(host, w), 0, "endpoint %s checked", host);
	is_int(json_array_size(w), n, "endpoint %s: %zu warnings", host, n);
	if (needle &&
	    !ok(has_reason(w, needle), "endpoint %s: says '%s'", host, needle))
		diag("got %s", json_string_value(json_array_get(w, 0)));
	json_decref(w);
}

static void connect_cmd(const char *cmd, size_t n, const char *needle)
{
	json_t *w = json_array();

	is_int(jitp_check_connect(cmd, w), 0, "connect checked: %s", cmd);
	is_int(json_array_size(w), n, "connect %s: %zu warnings", cmd, n);
	if (needle &&
	    !ok(has_reason(w, needle), "connect %s: says '%s'", cmd, needle))
		diag("got %s", json_string_value(json_array_get(w, 0)));
	json_decref(w);
}

static void test_sni(void)
{
	static const char ats[] = "a1b2c3d4e5f6g7-ats.iot.ap-northeast-1."
				  "amazonaws.com";
	char cmd[512];

	endpoint(ats, 0, NULL);
	endpoint("A1B2C3-ATS.IOT.US-EAST-1.AMAZONAWS.COM", 0, NULL);
	endpoint("a1b2c3-ats.iot.cn-north-1.amazonaws.com.cn", 0, NULL);
	endpoint("127.0.0.1", 1, "is an IP address: a TLS client sends no SNI");
	endpoint("::1", 1, "is an IP address");
	endpoint("[2001:db8::1]", 1, "2001:db8::1 is an IP address");
	endpoint("a1b2c3.iot.us-east-1.amazonaws.com", 1, "legacy (VeriSign)");
	endpoint("localhost", 1, "is not an account's full ATS endpoint");
	endpoint("iot.us-east-1.amazonaws.com", 1, "not an account's full ATS");
	endpoint("", 1, "no host name");

	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub --cafile AmazonRootCA1.pem --cert b.pem --key "
		 "k -h %s -p 8883 -t x -m {}",
		 ats);
	connect_cmd(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd),
		 "timeout 20 /usr/bin/mosquitto_sub --cafile r.pem --cert "
		 "b.pem -h '%s' -t '$aws/things/x/shadow/#'",
		 ats);
	connect_cmd(cmd, 0, NULL);
	connect_cmd("mosquitto_pub -h 127.0.0.1 -p 1883 --cafile ca.pem --cert "
		    "b.pem --key k -t t -m m",
		    1, "127.0.0.1 is an IP address");
	connect_cmd("mosquitto_pub --cafile ca.pem --cert b.pem -t t -m m", 1,
		    "localhost is not an account's full ATS endpoint");
	snprintf(cmd, sizeof(cmd), "mosquitto_pub --cert b.pem -h %s -t t -m m",
		 ats);
	connect_cmd(cmd, 1, "connects without TLS");
	snprintf(cmd, sizeof(cmd), "mosquitto_pub --cafile r.pem -h %s -t t",
		 ats);
	connect_cmd(cmd, 1, "sends no client certificate");
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub --cafile r --cert b -h %s -p 443 -t t", ats);
	connect_cmd(cmd, 1, "needs ALPN x-amzn-mqtt-ca");
	snprintf(cmd, sizeof(cmd),
		 "mosquitto_pub --cafile r --cert b -h %s -p 443 --tls-alpn "
		 "x-amzn-mqtt-ca -t t",
		 ats);
	connect_cmd(cmd, 0, NULL);
	connect_cmd("mosquitto_pub --cert b -L mqtts://u@10.0.0.7:8883/topic",
		    1, "10.0.0.7 is an IP address");
	snprintf(cmd, sizeof(cmd), "mosquitto_pub --cert b -L mqtts://%s/t",
		 ats);
	connect_cmd(cmd, 0, NULL);
	connect_cmd("openssl s_client -connect 192.0.2.1:8883 -cert b.pem", 1,
		    "192.0.2.1 is an IP address");
	snprintf(cmd, sizeof(cmd),
		 "openssl s_client -connect 192.0.2.1:8883 -servername %s",
		 ats);
	connect_cmd(cmd, 0, NULL);
	snprintf(cmd, sizeof(cmd),
		 "openssl s_client -connect %s:8883 -noservername", ats);
	connect_cmd(cmd, 1, "-noservername sends no SNI");
	snprintf(cmd, sizeof(cmd), "openssl s_client -connect %s:8883", ats);
	connect_cmd(cmd, 0, NULL);
	connect_cmd("curl https://example.com", 1, "cannot tell whether curl");
	connect_cmd("mosquitto_pub -h 'unbalanced", 1, "does not split");
	connect_cmd("", 1, "empty");
}

int main(void)
{
	X509 *dev;

	ca_key = EVP_EC_gen("P-256");
	dev_key = EVP_EC_gen("P-256");
	ca_cert = make_cert(ca_key, "Test CA", 0);
	dev = make_cert(dev_key, "SN1", 0);
	if (!ok(ca_key && dev_key && ca_cert && dev, "test CA and device")) {
		return done_testing();
	}
	test_seed_ok(dev);
	test_refusals(dev);
	test_generate(dev);
	test_bundle(dev);
	test_bundle_ca();
	test_sni();
	X509_free(dev);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(dev_key);
	return done_testing();
}
