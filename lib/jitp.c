/*
 * jitp — the AWS IoT JITP toolkit (see jitp.h): template and registration
 * config generation from the certificate profile, the seed IoT policy, and
 * reading a device's PEM bundle. The offline simulation of AWS IoT's
 * just-in-time provisioning is in jitp_sim.c; the parameter table and the
 * character sets both use are here (jitp_int.h).
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/pem.h>

#include "jitp_int.h"
#include "thing.h"
#include "util.h"
#include "x509.h"

/* See jitp_int.h: CommonName first, as in the AWS examples. */
const struct jitp_param jitp_params[JITP_N_PARAMS] = {
    {"CommonName", NULL, NID_commonName},
    {"Country", "C", NID_countryName},
    {"StateName", "ST", NID_stateOrProvinceName},
    {"Organization", "O", NID_organizationName},
    {"OrganizationalUnit", "OU", NID_organizationalUnitName},
    {"DistinguishedNameQualifier", "dnQualifier", NID_dnQualifier},
    {"SerialNumber", NULL, NID_serialNumber},
    {"Id", NULL, NID_undef},
};

void jitp_param_full(size_t i, char out[JITP_PARAM_FULL_MAX])
{
	snprintf(out, JITP_PARAM_FULL_MAX, "%s%s", JITP_PARAM_PREFIX,
		 jitp_params[i].name);
}

int jitp_param_lookup(const char *s, int short_ok)
{
	size_t plen = strlen(JITP_PARAM_PREFIX), i;

	for (i = 0; i < JITP_N_PARAMS; i++) {
		if (strncmp(s, JITP_PARAM_PREFIX, plen) == 0 &&
		    strcmp(s + plen, jitp_params[i].name) == 0)
			return (int)i;
		if (short_ok && strcasecmp(s, jitp_params[i].name) == 0)
			return (int)i;
	}
	return -1;
}

/* Does every certificate of profile p carry parameter i? */
static int profile_provides(const struct profile_cfg *p, size_t i)
{
	size_t k;

	if (i == JITP_P_CN || i == JITP_P_ID)
		return 1;
	if (i == JITP_P_SERIAL)
		return p->subject_serial_number != 0;
	for (k = 0; k < p->n_subject; k++)
		if (p->subject[k].type &&
		    strcmp(p->subject[k].type, jitp_params[i].rdn) == 0)
			return 1;
	return 0;
}

/* 1 when s is 1..max bytes, each a letter, digit or in extra. */
int jitp_chars_ok(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n = strlen(s), i;

	if (n < min || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c < 0x80 && isalnum(c)) && !strchr(extra, c))
			return 0;
	}
	return 1;
}

int jitp_thing_name_ok(const char *s)
{
	return thing_name_valid(s, JITP_THING_NAME_MAX);
}

static int regex_match(const char *pattern, const char *s)
{
	regex_t re;
	int m;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

int jitp_check_role_arn(const char *arn, struct errd *e)
{
	size_t n;

	if (!arn || !*arn)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "role ARN missing: give the ARN of the IAM role "
			       "AWS IoT assumes to provision things "
			       "(arn:aws:iam::<account>:role/<name>)");
	n = strlen(arn);
	if (n < JITP_ROLE_ARN_MIN || n > JITP_ROLE_ARN_MAX ||
	    !regex_match("^arn:aws[-a-z]*:iam::[0-9]{12}:role/"
			 "[A-Za-z0-9_+=,.@/-]+$",
			 arn))
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "role ARN \"%.200s\" is not an IAM role ARN: "
			       "expected arn:aws:iam::<12-digit account>:"
			       "role/<name>",
			       arn);
	return 0;
}

/* {"Ref": "AWS::IoT::Certificate::<name of i>"}, or NULL (no memory). */
static json_t *ref_new(size_t i)
{
	char full[JITP_PARAM_FULL_MAX];

	jitp_param_full(i, full);
	return json_pack("{s:s}", "Ref", full);
}

/* The AttributePayload of opts o for profile p into *out. */
static int template_attrs(const struct profile_cfg *p,
			  const struct jitp_template_opts *o, json_t **out,
			  struct errd *e)
{
	json_t *attrs = json_object(), *v;
	size_t i;
	int rc = -ERR_NOMEM, idx;

	if (!attrs)
		goto out;
	if (o->n_attrs > JITP_ATTRS_MAX) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "%zu attributes: AWS IoT allows at most %d per "
			     "thing",
			     o->n_attrs, JITP_ATTRS_MAX);
		goto out;
	}
	for (i = 0; i < o->n_attrs; i++) {
		const char *k = o->attrs[i].key, *r = o->attrs[i].ref;

		if (!k || !jitp_chars_ok(k, 1, JITP_ATTR_NAME_MAX,
					 JITP_ATTR_NAME_EXTRA)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "attribute name \"%.128s\": AWS IoT wants "
				     "1..%d characters of [a-zA-Z0-9_.,@/:#-]",
				     k ? k : "", JITP_ATTR_NAME_MAX);
			goto out;
		}
		if (json_object_get(attrs, k)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "attribute \"%s\" given twice", k);
			goto out;
		}
		if (!r)
			r = "";
		idx = jitp_param_lookup(r, 1);
		if (idx >= 0 && !profile_provides(p, (size_t)idx)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "attribute %s=%s: the profile's "
				     "certificates carry no %s, so AWS would "
				     "refuse every device; add it to "
				     "profile.subject or drop the attribute",
				     k, r, jitp_params[idx].name);
			goto out;
		}
		if (idx < 0 && strncmp(r, "AWS::", 5) == 0) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "attribute %s=%s: JITP provides only the "
				     "parameters %s{Country, Organization, "
				     "OrganizationalUnit, "
				     "DistinguishedNameQualifier, StateName, "
				     "CommonName, SerialNumber, Id}",
				     k, r, JITP_PARAM_PREFIX);
			goto out;
		}
		if (idx < 0 && !jitp_chars_ok(r, 0, JITP_ATTR_VALUE_MAX,
					      JITP_ATTR_VALUE_EXTRA)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "attribute %s=%.100s: neither a "
				     "certificate parameter nor a value AWS "
				     "IoT accepts ([a-zA-Z0-9_.,@/:#=[]-], at "
				     "most %d characters)",
				     k, r, JITP_ATTR_VALUE_MAX);
			goto out;
		}
		v = idx >= 0 ? ref_new((size_t)idx) : json_string(r);
		if (json_object_set_new(attrs, k, v))
			goto out;
	}
	*out = attrs;
	attrs = NULL;
	rc = 0;
out:
	json_decref(attrs);
	return rc;
}

/* The policy resource's Properties. */
static int template_policy(const struct jitp_template_opts *o, json_t **out,
			   struct errd *e)
{
	json_t *doc = NULL, *props = NULL;
	json_error_t jerr;
	char *text = NULL;
	const char *name = o->policy_name;
	int rc = -ERR_NOMEM;

	if (o->policy_name && o->policy_document) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "give a policy name or a policy document, not "
			     "both: AWS refuses a policy resource with "
			     "PolicyName and PolicyDocument");
		goto out;
	}
	if (o->policy_document) {
		doc = json_loads(o->policy_document, JSON_REJECT_DUPLICATES,
				 &jerr);
		if (!doc || !json_is_object(doc)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "policy document is not a JSON object: "
				     "line %d: %s",
				     jerr.line,
				     doc ? "not an object" : jerr.text);
			goto out;
		}
		/* AWS wants the document as a string inside the template. */
		text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text)
			goto out;
		props = json_pack("{s:s}", "PolicyDocument", text);
	} else {
		if (!name)
			name = JITP_DEFAULT_POLICY_NAME;
		if (!jitp_chars_ok(name, 1, JITP_POLICY_NAME_MAX,
				   JITP_POLICY_NAME_EXTRA)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "policy name \"%.128s\": AWS IoT wants "
				     "1..%d characters of [a-zA-Z0-9_+=,.@-]",
				     name, JITP_POLICY_NAME_MAX);
			goto out;
		}
		props = json_pack("{s:s}", "PolicyName", name);
	}
	if (!props)
		goto out;
	*out = props;
	props = NULL;
	rc = 0;
out:
	free(text);
	json_decref(doc);
	json_decref(props);
	return rc;
}

/* The thing resource's Properties. */
static int template_thing(const struct profile_cfg *p,
			  const struct jitp_template_opts *o, json_t **out,
			  struct errd *e)
{
	json_t *props = NULL, *attrs = NULL, *groups = NULL;
	size_t i;
	int rc;

	rc = template_attrs(p, o, &attrs, e);
	if (rc)
		goto out;
	rc = -ERR_NOMEM;
	props = json_object();
	if (!props ||
	    json_object_set_new(props, "ThingName", ref_new(JITP_P_CN)))
		goto out;
	if (o->n_attrs && json_object_set(props, "AttributePayload", attrs))
		goto out;
	if (o->thing_type) {
		if (!jitp_thing_name_ok(o->thing_type)) {
			rc = err_set(e, ERR_MALFORMED_REQUEST,
				     "thing type \"%.128s\": AWS IoT wants "
				     "1..%d characters of [a-zA-Z0-9:_-]",
				     o->thing_type, JITP_THING_NAME_MAX);
			goto out;
		}
		if (json_object_set_new(props, "ThingTypeName",
					json_string(o->thing_type)))
			goto out;
	}
	if (o->n_groups) {
		groups = json_array();
		if (!groups)
			goto out;
		for (i = 0; i < o->n_groups; i++) {
			if (!o->groups[i] ||
			    !jitp_thing_name_ok(o->groups[i])) {
				rc = err_set(e, ERR_MALFORMED_REQUEST,
					     "thing group \"%.128s\": AWS IoT "
					     "wants 1..%d characters of "
					     "[a-zA-Z0-9:_-]",
					     o->groups[i] ? o->groups[i] : "",
					     JITP_THING_NAME_MAX);
				goto out;
			}
			if (json_array_append_new(groups,
						  json_string(o->groups[i])))
				goto out;
		}
		if (json_object_set(props, "ThingGroups", groups))
			goto out;
	}
	*out = props;
	props = NULL;
	rc = 0;
out:
	json_decref(props);
	json_decref(attrs);
	json_decref(groups);
	return rc;
}

int jitp_template_body(const struct profile_cfg *p,
		       const struct jitp_template_opts *o, json_t **out,
		       struct errd *e)
{
	json_t *body = NULL, *params = NULL, *thing = NULL, *policy = NULL;
	char full[JITP_PARAM_FULL_MAX];
	size_t i;
	int rc;

	*out = NULL;
	rc = template_thing(p, o, &thing, e);
	if (rc)
		goto out;
	rc = template_policy(o, &policy, e);
	if (rc)
		goto out;
	rc = -ERR_NOMEM;
	params = json_object();
	if (!params)
		goto out;
	/* CommonName, then the profile's RDNs in configuration order, then
	 * SerialNumber and Id: each once, and only those JITP can read. */
	for (i = 0; i < JITP_N_PARAMS; i++) {
		if (!profile_provides(p, i))
			continue;
		jitp_param_full(i, full);
		if (json_object_set_new(params, full,
					json_pack("{s:s}", "Type", "String")))
			goto out;
	}
	body = json_pack("{s:O, s:{s:{s:s, s:O}, s:{s:s, s:{s:o, s:s}}, "
			 "s:{s:s, s:O}}}",
			 "Parameters", params, "Resources", "thing", "Type",
			 "AWS::IoT::Thing", "Properties", thing, "certificate",
			 "Type", "AWS::IoT::Certificate", "Properties",
			 "CertificateId", ref_new(JITP_P_ID), "Status",
			 "ACTIVE", "policy", "Type", "AWS::IoT::Policy",
			 "Properties", policy);
	if (!body)
		goto out;
	*out = body;
	body = NULL;
	rc = 0;
out:
	json_decref(body);
	json_decref(params);
	json_decref(thing);
	json_decref(policy);
	return rc;
}

int jitp_registration_config(const struct profile_cfg *p,
			     const struct jitp_template_opts *o, json_t **out,
			     struct errd *e)
{
	json_t *body = NULL, *rc_json = NULL;
	char *text = NULL;
	int rc;

	*out = NULL;
	rc = jitp_check_role_arn(o->role_arn, e);
	if (rc)
		goto out;
	rc = jitp_template_body(p, o, &body, e);
	if (rc)
		goto out;
	rc = -ERR_NOMEM;
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		goto out;
	if (strlen(text) > JITP_TEMPLATE_BODY_MAX) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "template body is %zu characters; AWS IoT "
			     "accepts at most %d: use fewer attributes or "
			     "groups, or a policy name instead of a document",
			     strlen(text), JITP_TEMPLATE_BODY_MAX);
		goto out;
	}
	rc_json = json_pack("{s:s, s:s}", "templateBody", text, "roleArn",
			    o->role_arn);
	if (!rc_json)
		goto out;
	*out = rc_json;
	rc_json = NULL;
	rc = 0;
out:
	free(text);
	json_decref(body);
	json_decref(rc_json);
	return rc;
}

/* Longest region name AWS has is ~14 characters; 32 leaves room. */
#define REGION_MAX 32
/* An IoT resource ARN prefix plus the longest topic filter below. */
#define POLICY_ARN_MAX 256

int jitp_policy(const char *region, const char *account, json_t **out,
		struct errd *e)
{
	char client[POLICY_ARN_MAX], topic[POLICY_ARN_MAX],
	    filter[POLICY_ARN_MAX];
	const char *partition = "aws";
	json_t *pol = NULL;
	int rc = -ERR_NOMEM;

	*out = NULL;
	if (!region || strlen(region) > REGION_MAX ||
	    !regex_match("^[a-z]{2}(-[a-z]+)+-[0-9]+$", region)) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "region \"%.40s\" is not an AWS region name "
			     "(like ap-northeast-1)",
			     region ? region : "");
		goto out;
	}
	if (!account || !regex_match("^[0-9]{12}$", account)) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "account \"%.40s\" is not a 12-digit AWS account "
			     "ID",
			     account ? account : "");
		goto out;
	}
	/* The ARN partition follows the region (China, GovCloud). */
	if (strncmp(region, "cn-", 3) == 0)
		partition = "aws-cn";
	else if (strncmp(region, "us-gov-", 7) == 0)
		partition = "aws-us-gov";
	snprintf(client, sizeof(client),
		 "arn:%s:iot:%s:%s:client/${iot:Connection.Thing.ThingName}",
		 partition, region, account);
	snprintf(topic, sizeof(topic),
		 "arn:%s:iot:%s:%s:topic/$aws/things/"
		 "${iot:Connection.Thing.ThingName}/shadow/*",
		 partition, region, account);
	snprintf(filter, sizeof(filter),
		 "arn:%s:iot:%s:%s:topicfilter/$aws/things/"
		 "${iot:Connection.Thing.ThingName}/shadow/*",
		 partition, region, account);
	pol = json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:[s, s], s:s, s:s}, "
			"{s:s, s:s, s:s}]}",
			"Version", "2012-10-17", "Statement", "Action",
			"iot:Connect", "Resource", client, "Effect", "Allow",
			"Action", "iot:Publish", "iot:Receive", "Resource",
			topic, "Effect", "Allow", "Action", "iot:Subscribe",
			"Resource", filter, "Effect", "Allow");
	if (!pol)
		goto out;
	*out = pol;
	rc = 0;
out:
	return rc;
}

int jitp_bundle_open(const char *pem, size_t len, BIO **out, struct errd *e)
{
	*out = NULL;
	if (len > JITP_BUNDLE_MAX)
		return err_set(e, ERR_MALFORMED_REQUEST,
			       "certificate bundle of %zu bytes is over the "
			       "%zu-byte limit",
			       len, JITP_BUNDLE_MAX);
	*out = BIO_new_mem_buf(pem, (int)len);
	return *out ? 0 : -ERR_NOMEM;
}

int jitp_read_cert_bundle(const char *pem, size_t len, X509 **out,
			  struct errd *e)
{
	BIO *b = NULL;
	X509 *x = NULL;
	int rc;

	*out = NULL;
	rc = jitp_bundle_open(pem, len, &b, e);
	if (rc < 0)
		goto out;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!x) {
		rc = err_set(e, ERR_MALFORMED_REQUEST,
			     "no PEM CERTIFICATE found: give the device "
			     "certificate (first) and its chain in PEM");
		err_add_openssl(e);
		goto out;
	}
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	BIO_free(b);
	return rc;
}
