/*
 * jitp_sim — the offline simulation of AWS IoT's just-in-time provisioning
 * of one certificate (jitp_simulate, see jitp.h): resolves the template's
 * parameters from the certificate as AWS would, then checks the
 * registration config, the thing, certificate and policy resources against
 * the AWS IoT developer guide ("Just-in-time provisioning", "Provisioning
 * templates") and the API limits of RegistrationConfig and CreateThing. It
 * collects every fault it finds so a user fixes a template in one round,
 * not one AWS error at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "jitp_int.h"
#include "x509.h"

/* One simulation: the reasons found so far and the parameter values. */
struct sim {
	json_t *reasons; /* array of strings */
	json_t *values;	 /* declared parameter -> string, or null
			    when missing (already a reason) */
	int nomem;
};

/* A reason message fits in an errd's msg. */
#define REASON_MAX 512

__attribute__((format(printf, 2, 3))) static void reason(struct sim *s,
							 const char *fmt, ...)
{
	char buf[REASON_MAX];
	json_t *str;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Truncation may have cut a UTF-8 sequence: drop partial bytes. */
	n = strlen(buf);
	while (!(str = json_stringn(buf, n)) && n > 0 &&
	       ((unsigned char)buf[n - 1] & 0x80))
		n--;
	if (!str || json_array_append_new(s->reasons, str))
		s->nomem = 1;
}

/* Appends "<what> ..." to out (an array). 0, or -1 out of memory. */
__attribute__((format(printf, 3, 4))) static int
fault(json_t *out, const char *what, const char *fmt, ...)
{
	char msg[REASON_MAX];
	size_t n;
	va_list ap;

	n = (size_t)snprintf(msg, sizeof(msg), "%s ", what);
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	return json_array_append_new(out, json_string(msg)) ? -1 : 0;
}

int jitp_key_sig_faults(X509 *x, const char *what, json_t *out)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int md = NID_undef, pk = NID_undef, sig = X509_get_signature_nid(x);
	char group[64] = "";
	size_t glen = 0;
	int rc = 0;

	if (!OBJ_find_sigid_algs(sig, &md, &pk) ||
	    (md != NID_sha256 && md != NID_sha384 && md != NID_sha512) ||
	    (pk != NID_rsaEncryption && pk != NID_X9_62_id_ecPublicKey))
		rc |= fault(out, what,
			    "signature algorithm %s is not one AWS IoT "
			    "accepts (SHA-256/384/512 with RSA or ECDSA)",
			    OBJ_nid2ln(sig));
	if (!k)
		return rc | fault(out, what, "public key cannot be read");
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(k) < 2048)
			rc |= fault(out, what,
				    "key is RSA-%d: AWS IoT accepts RSA of "
				    "2048 bits or more",
				    EVP_PKEY_get_bits(k));
		break;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) ||
		    (strcmp(group, "prime256v1") != 0 &&
		     strcmp(group, "P-256") != 0 &&
		     strcmp(group, "secp384r1") != 0 &&
		     strcmp(group, "P-384") != 0))
			rc |= fault(out, what,
				    "key is on curve %s: AWS IoT accepts EC "
				    "keys on P-256 or P-384",
				    group[0] ? group : "(unknown)");
		break;
	default:
		rc |= fault(out, what,
			    "key type %s is not accepted by AWS IoT (use RSA "
			    "2048+ or EC P-256/P-384)",
			    OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
		break;
	}
	return rc;
}

/* Checks the certificate's key and signature algorithm against what AWS IoT
 * accepts for device certificates. */
static void sim_check_cert(struct sim *s, X509 *cert)
{
	if (jitp_key_sig_faults(cert, "certificate", s->reasons) < 0)
		s->nomem = 1;
}

/* The value of certificate parameter i in cert: a new JSON string, or NULL
 * when the subject has no such attribute (or it is not valid text). */
static json_t *cert_param(X509 *cert, size_t i)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	const X509_NAME_ENTRY *ent;
	unsigned char *utf8 = NULL;
	char hex[65];
	json_t *v = NULL;
	int idx, n;

	if (i == JITP_P_ID) {
		if (x509_certificate_id(cert, hex) == 0)
			v = json_string(hex);
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(name, jitp_params[i].nid, -1);
	if (idx < 0)
		goto out;
	ent = X509_NAME_get_entry(name, idx);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (n < 0)
		goto out;
	v = json_stringn((const char *)utf8, (size_t)n);
out:
	OPENSSL_free(utf8);
	return v;
}

/* Reports every intrinsic function (an object key "Fn::...") under v. */
static void sim_find_functions(struct sim *s, json_t *v, const char *path)
{
	char sub[REASON_MAX / 2];
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
		{
			if (strncmp(k, "Fn::", 4) == 0)
				reason(s,
				       "%s: intrinsic function %.64s is not "
				       "supported by JITP templates (only "
				       "Ref; Fn::* is for fleet "
				       "provisioning)",
				       path, k);
			snprintf(sub, sizeof(sub), "%s%s%s", path,
				 *path ? "." : "", k);
			sim_find_functions(s, m, sub);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			sim_find_functions(s, m, sub);
		}
	}
}

/* Declares the template's Parameters: each gets the certificate's value,
 * its Default, or is reported missing. */
static void sim_parameters(struct sim *s, json_t *body, X509 *cert)
{
	json_t *params = json_object_get(body, "Parameters"), *decl, *v, *def;
	const char *name;
	int idx;

	if (!params)
		return;
	if (!json_is_object(params)) {
		reason(s, "Parameters must be an object");
		return;
	}
	json_object_foreach(params, name, decl)
	{
		if (!json_is_object(decl) ||
		    !json_is_string(json_object_get(decl, "Type"))) {
			reason(s,
			       "parameter %.128s must be an object with a "
			       "\"Type\" string",
			       name);
			continue;
		}
		def = json_object_get(decl, "Default");
		idx = jitp_param_lookup(name, 0);
		v = idx >= 0 ? cert_param(cert, (size_t)idx) : NULL;
		if (!v && json_is_string(def))
			v = json_incref(def);
		if (!v && idx >= 0)
			reason(s,
			       "template declares %s but the certificate "
			       "subject has no %s attribute: AWS refuses "
			       "the device (drop the parameter or add the "
			       "RDN to profile.subject)",
			       name,
			       jitp_params[idx].rdn
				   ? jitp_params[idx].rdn
				   : OBJ_nid2sn(jitp_params[idx].nid));
		else if (!v)
			reason(s,
			       "template declares %.128s, which is not a "
			       "parameter JITP provides (only %s*), and "
			       "gives it no Default",
			       name, JITP_PARAM_PREFIX);
		if (json_object_set_new(s->values, name, v ? v : json_null()))
			s->nomem = 1;
	}
}

/* A copy of v with every {"Ref": P} replaced by P's value; NULL when some
 * Ref (or function) under v cannot be resolved, the reasons recorded. */
static json_t *sim_resolve(struct sim *s, json_t *v, const char *path)
{
	json_t *ref, *out = NULL, *m, *r;
	const char *k;
	size_t i;
	int bad = 0;

	if (json_is_object(v)) {
		ref = json_object_get(v, "Ref");
		if (ref) {
			if (!json_is_string(ref) || json_object_size(v) != 1) {
				reason(s,
				       "%s: a Ref must be {\"Ref\": "
				       "\"<parameter>\"}",
				       path);
				return NULL;
			}
			r = json_object_get(s->values, json_string_value(ref));
			if (!r)
				reason(s,
				       "%s: Ref to %.128s, which Parameters "
				       "does not declare",
				       path, json_string_value(ref));
			return json_is_null(r) ? NULL : json_incref(r);
		}
		json_object_foreach(v, k, m)
		{
			if (strncmp(k, "Fn::", 4) == 0)
				return NULL; /* reported by find_functions */
		}
		out = json_object();
		if (!out) {
			s->nomem = 1;
			return NULL;
		}
		json_object_foreach(v, k, m)
		{
			char sub[REASON_MAX / 2];

			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			r = sim_resolve(s, m, sub);
			if (!r || json_object_set_new(out, k, r))
				bad = 1;
		}
	} else if (json_is_array(v)) {
		out = json_array();
		if (!out) {
			s->nomem = 1;
			return NULL;
		}
		json_array_foreach(v, i, m)
		{
			char sub[REASON_MAX / 2];

			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			r = sim_resolve(s, m, sub);
			if (!r || json_array_append_new(out, r))
				bad = 1;
		}
	} else {
		return json_incref(v);
	}
	if (bad) {
		json_decref(out);
		out = NULL;
	}
	return out;
}

/* Reports properties of a resource that AWS does not know. */
static void sim_known_props(struct sim *s, const char *res, json_t *props,
			    const char *const *known)
{
	const char *k;
	json_t *m;
	size_t i;

	json_object_foreach(props, k, m)
	{
		for (i = 0; known[i]; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (!known[i])
			reason(s, "Resources.%s: unknown property %.64s", res,
			       k);
	}
}

/* The thing: resolved properties checked against CreateThing's rules. */
static json_t *sim_thing(struct sim *s, const char *res, json_t *props)
{
	static const char *const known[] = {
	    "ThingName",   "AttributePayload", "ThingTypeName",
	    "ThingGroups", "BillingGroup",     "PackageVersions",
	    NULL,
	};
	json_t *r, *out = NULL, *name, *attrs, *type, *groups, *m;
	const char *k, *nm;
	char path[REASON_MAX / 4];
	size_t i;

	snprintf(path, sizeof(path), "Resources.%.64s.Properties", res);
	r = sim_resolve(s, props, path);
	if (!r)
		return NULL;
	sim_known_props(s, res, r, known);
	name = json_object_get(r, "ThingName");
	nm = json_string_value(name);
	if (!name)
		reason(s, "Resources.%s: thing has no ThingName", res);
	else if (!nm)
		reason(s, "Resources.%s: ThingName must be a string", res);
	else if (!jitp_thing_name_ok(nm))
		reason(s,
		       "ThingName \"%.140s\" is refused by AWS IoT: it "
		       "must be 1..%d characters of [a-zA-Z0-9:_-]",
		       nm, JITP_THING_NAME_MAX);
	attrs = json_object_get(r, "AttributePayload");
	if (attrs && !json_is_object(attrs))
		reason(s, "Resources.%s: AttributePayload must be an object",
		       res);
	if (json_object_size(attrs) > JITP_ATTRS_MAX)
		reason(s, "Resources.%s: %zu attributes, AWS IoT allows %d",
		       res, json_object_size(attrs), JITP_ATTRS_MAX);
	json_object_foreach(attrs, k, m)
	{
		if (!jitp_chars_ok(k, 1, JITP_ATTR_NAME_MAX,
				   JITP_ATTR_NAME_EXTRA))
			reason(s,
			       "attribute name \"%.128s\" is refused by "
			       "AWS IoT ([a-zA-Z0-9_.,@/:#-], 1..%d)",
			       k, JITP_ATTR_NAME_MAX);
		if (!json_is_string(m))
			reason(s, "attribute %.128s must be a string", k);
		else if (!jitp_chars_ok(json_string_value(m), 0,
					JITP_ATTR_VALUE_MAX,
					JITP_ATTR_VALUE_EXTRA))
			reason(s,
			       "attribute %.128s value \"%.100s\" is "
			       "refused by AWS IoT "
			       "([a-zA-Z0-9_.,@/:#=[]-], at most %d)",
			       k, json_string_value(m), JITP_ATTR_VALUE_MAX);
	}
	type = json_object_get(r, "ThingTypeName");
	if (type && (!json_is_string(type) ||
		     !jitp_thing_name_ok(json_string_value(type))))
		reason(s,
		       "Resources.%s: ThingTypeName must be 1..%d "
		       "characters of [a-zA-Z0-9:_-]",
		       res, JITP_THING_NAME_MAX);
	groups = json_object_get(r, "ThingGroups");
	if (groups && !json_is_array(groups))
		reason(s, "Resources.%s: ThingGroups must be an array", res);
	json_array_foreach(groups, i, m)
	{
		if (!json_is_string(m) ||
		    !jitp_thing_name_ok(json_string_value(m)))
			reason(s,
			       "Resources.%s: ThingGroups[%zu] must be "
			       "1..%d characters of [a-zA-Z0-9:_-]",
			       res, i, JITP_THING_NAME_MAX);
	}
	out =
	    json_pack("{s:O, s:O, s:o, s:o}", "name", name ? name : json_null(),
		      "type", type ? type : json_null(), "groups",
		      groups ? json_incref(groups) : json_array(), "attributes",
		      attrs ? json_incref(attrs) : json_object());
	if (!out)
		s->nomem = 1;
	json_decref(r);
	return out;
}

/* 1 when v is exactly {"Ref": "AWS::IoT::Certificate::Id"}. */
static int is_ref_id(json_t *v)
{
	char full[JITP_PARAM_FULL_MAX];
	const char *r;

	jitp_param_full(JITP_P_ID, full);
	r = json_string_value(json_object_get(v, "Ref"));
	return json_is_object(v) && json_object_size(v) == 1 && r &&
	       strcmp(r, full) == 0;
}

/* The certificate: JITP registers the connecting device's own certificate,
 * so it must be named by the Id parameter. */
static json_t *sim_certificate(struct sim *s, const char *res, json_t *props)
{
	static const char *const known[] = {"CertificateId", "Status", NULL};
	static const char *const status_ok[] = {
	    "ACTIVE",
	    "INACTIVE",
	    "REVOKED",
	    "PENDING_TRANSFER",
	    "REGISTER_INACTIVE",
	    "PENDING_ACTIVATION",
	    NULL,
	};
	json_t *id = json_object_get(props, "CertificateId"), *r, *st,
	       *out = NULL;
	char path[REASON_MAX / 4];
	size_t i;

	if (!id)
		reason(s,
		       "Resources.%s: certificate has no CertificateId; "
		       "JITP needs {\"Ref\": \"%sId\"}",
		       res, JITP_PARAM_PREFIX);
	else if (!is_ref_id(id))
		reason(s,
		       "Resources.%s: CertificateId must be exactly "
		       "{\"Ref\": \"%sId\"} (JITP registers the device's "
		       "own certificate)",
		       res, JITP_PARAM_PREFIX);
	if (json_object_get(props, "CertificatePem") ||
	    json_object_get(props, "CertificateSigningRequest"))
		reason(s,
		       "Resources.%s: CertificatePem and "
		       "CertificateSigningRequest are not used by JITP; "
		       "name the certificate by CertificateId",
		       res);
	snprintf(path, sizeof(path), "Resources.%.64s.Properties", res);
	r = sim_resolve(s, props, path);
	if (!r)
		return NULL;
	json_object_del(r, "CertificatePem");
	json_object_del(r, "CertificateSigningRequest");
	sim_known_props(s, res, r, known);
	st = json_object_get(r, "Status");
	if (st) {
		for (i = 0; status_ok[i]; i++)
			if (json_is_string(st) &&
			    strcmp(json_string_value(st), status_ok[i]) == 0)
				break;
		if (!status_ok[i])
			reason(s,
			       "Resources.%s: Status must be one of ACTIVE, "
			       "INACTIVE, ... (a CertificateStatus)",
			       res);
	}
	out = json_pack("{s:O, s:O}", "id",
			json_object_get(r, "CertificateId")
			    ? json_object_get(r, "CertificateId")
			    : json_null(),
			"status", st ? st : json_null());
	if (!out)
		s->nomem = 1;
	json_decref(r);
	return out;
}

/* A policy: by name (pre-created) or by document (a JSON string). */
static json_t *sim_policy(struct sim *s, const char *res, json_t *props)
{
	static const char *const known[] = {"PolicyName", "PolicyDocument",
					    NULL};
	json_t *r, *name, *doc, *parsed = NULL, *out = NULL;
	json_error_t jerr;
	char path[REASON_MAX / 4];

	snprintf(path, sizeof(path), "Resources.%.64s.Properties", res);
	r = sim_resolve(s, props, path);
	if (!r)
		return NULL;
	sim_known_props(s, res, r, known);
	name = json_object_get(r, "PolicyName");
	doc = json_object_get(r, "PolicyDocument");
	if (name && doc)
		reason(s,
		       "Resources.%s: PolicyName and PolicyDocument "
		       "together: AWS accepts one or the other",
		       res);
	else if (!name && !doc)
		reason(s,
		       "Resources.%s: policy has neither PolicyName nor "
		       "PolicyDocument",
		       res);
	if (name &&
	    (!json_is_string(name) ||
	     !jitp_chars_ok(json_string_value(name), 1, JITP_POLICY_NAME_MAX,
			    JITP_POLICY_NAME_EXTRA)))
		reason(s,
		       "Resources.%s: PolicyName must be 1..%d "
		       "characters of [a-zA-Z0-9_+=,.@-]",
		       res, JITP_POLICY_NAME_MAX);
	if (doc && !json_is_string(doc)) {
		reason(s,
		       "Resources.%s: PolicyDocument must be a string "
		       "(AWS wants the policy JSON stringified)",
		       res);
	} else if (doc) {
		parsed = json_loads(json_string_value(doc),
				    JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(parsed))
			reason(s,
			       "Resources.%s: PolicyDocument is not a JSON "
			       "object: %s",
			       res, parsed ? "another JSON type" : jerr.text);
	}
	if (name)
		out = json_pack("{s:O}", "name", name);
	else
		out = json_pack("{s:O}", "document",
				parsed ? parsed : json_null());
	if (!out)
		s->nomem = 1;
	json_decref(parsed);
	json_decref(r);
	return out;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A registration config: checks roleArn and returns the parsed body (new
 * reference), or NULL with the reasons recorded. */
static json_t *sim_regconfig(struct sim *s, json_t *root)
{
	json_t *role = json_object_get(root, "roleArn"),
	       *tb = json_object_get(root, "templateBody"), *m, *body;
	struct errd e2 = {0};
	json_error_t jerr;
	const char *k;

	json_object_foreach(root, k, m)
	{
		if (strcmp(k, "templateName") == 0)
			reason(s, "registration config names a templateName: "
				  "thingca simulates a templateBody only "
				  "(give the template itself)");
		else if (strcmp(k, "templateBody") != 0 &&
			 strcmp(k, "roleArn") != 0)
			reason(s,
			       "registration config: unknown key %.64s "
			       "(AWS accepts templateBody, roleArn, "
			       "templateName)",
			       k);
	}
	if (!role)
		reason(s, "registration config has no roleArn: AWS IoT needs "
			  "the IAM role it assumes to provision");
	else if (!json_is_string(role))
		reason(s, "roleArn must be a string, not %s",
		       json_type_name(role));
	else if (jitp_check_role_arn(json_string_value(role), &e2))
		reason(s, "%s", e2.msg);
	if (!tb) {
		reason(s, "registration config has no templateBody");
		return NULL;
	}
	if (!json_is_string(tb)) {
		reason(s,
		       "templateBody must be a string (the template JSON "
		       "stringified), not %s",
		       json_type_name(tb));
		return NULL;
	}
	if (json_string_length(tb) > JITP_TEMPLATE_BODY_MAX)
		reason(s,
		       "templateBody is %zu characters; AWS accepts at "
		       "most %d",
		       json_string_length(tb), JITP_TEMPLATE_BODY_MAX);
	body = json_loads(json_string_value(tb), JSON_REJECT_DUPLICATES, &jerr);
	if (!body)
		reason(s, "templateBody is not JSON: line %d column %d: %s",
		       jerr.line, jerr.column, jerr.text);
	return body;
}

/* Walks Resources: one thing, one certificate, any policies. */
static void sim_resources(struct sim *s, json_t *body, json_t *out)
{
	json_t *res = json_object_get(body, "Resources"), *m, *props, *v,
	       *policies = NULL;
	const char *name, *type;
	int n_thing = 0, n_cert = 0;

	if (!json_is_object(res)) {
		reason(s, "template has no Resources object");
		return;
	}
	policies = json_array();
	if (!policies) {
		s->nomem = 1;
		return;
	}
	json_object_foreach(res, name, m)
	{
		type = json_string_value(json_object_get(m, "Type"));
		props = json_object_get(m, "Properties");
		if (!type) {
			reason(s, "Resources.%.64s has no Type", name);
			continue;
		}
		if (!json_is_object(props)) {
			reason(s, "Resources.%.64s has no Properties object",
			       name);
			continue;
		}
		if (strcmp(type, "AWS::IoT::Thing") == 0) {
			if (n_thing++)
				continue;
			v = sim_thing(s, name, props);
			if (v && json_object_set_new(out, "thing", v))
				s->nomem = 1;
		} else if (strcmp(type, "AWS::IoT::Certificate") == 0) {
			if (n_cert++)
				continue;
			v = sim_certificate(s, name, props);
			if (v && json_object_set_new(out, "certificate", v))
				s->nomem = 1;
		} else if (strcmp(type, "AWS::IoT::Policy") == 0) {
			v = sim_policy(s, name, props);
			if (v && json_array_append_new(policies, v))
				s->nomem = 1;
		} else {
			reason(s,
			       "Resources.%.64s: type %.64s is not a JITP "
			       "resource (AWS::IoT::Thing, "
			       "AWS::IoT::Certificate, AWS::IoT::Policy)",
			       name, type);
		}
	}
	if (n_thing != 1)
		reason(s,
		       "template has %d AWS::IoT::Thing resources; JITP "
		       "needs exactly one",
		       n_thing);
	if (n_cert != 1)
		reason(s,
		       "template has %d AWS::IoT::Certificate resources; "
		       "JITP needs exactly one",
		       n_cert);
	if (json_object_set(out, "policy",
			    json_array_size(policies) == 0 ? json_null()
			    : json_array_size(policies) == 1
				? json_array_get(policies, 0)
				: policies))
		s->nomem = 1;
	json_decref(policies);
}

int jitp_simulate(const char *text, X509 *cert, json_t **result,
		  json_t **reasons, struct errd *e)
{
	struct sim s = {0};
	json_t *root = NULL, *cfg_body = NULL, *body, *out = NULL;
	json_error_t jerr;
	size_t n;
	int rc = -ERR_NOMEM;

	*result = NULL;
	if (reasons)
		*reasons = NULL;
	s.reasons = json_array();
	s.values = json_object();
	out = json_object();
	if (!s.reasons || !s.values || !out)
		goto out;
	sim_check_cert(&s, cert);
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		reason(&s, "not JSON: line %d column %d: %s", jerr.line,
		       jerr.column, jerr.text);
		goto verdict;
	}
	body = root;
	if (json_is_object(root) && (json_object_get(root, "templateBody") ||
				     json_object_get(root, "roleArn") ||
				     json_object_get(root, "templateName"))) {
		cfg_body = sim_regconfig(&s, root);
		body = cfg_body;
	}
	if (!body)
		goto verdict;
	if (!json_is_object(body)) {
		reason(&s, "template body must be a JSON object, not %s",
		       json_type_name(body));
		goto verdict;
	}
	sim_find_functions(&s, body, "");
	sim_parameters(&s, body, cert);
	sim_resources(&s, body, out);
verdict:
	if (s.nomem)
		goto out;
	n = json_array_size(s.reasons);
	if (n) {
		rc = err_set(e, ERR_MALFORMED_REQUEST, "%s%s",
			     json_string_value(json_array_get(s.reasons, 0)),
			     n > 1 ? " (and more)" : "");
		if (reasons) {
			*reasons = s.reasons;
			s.reasons = NULL;
		}
		goto out;
	}
	*result = out;
	out = NULL;
	rc = 0;
out:
	json_decref(s.reasons);
	json_decref(s.values);
	json_decref(root);
	json_decref(cfg_body);
	json_decref(out);
	return rc;
}
