/*
 * jitp — the AWS IoT Just-in-Time Provisioning toolkit: the provisioning
 * template and registration config that match the certificate profile, the
 * IoT policy of the seed workflow, and an offline simulation of what AWS IoT
 * does on a device's first connect (DESIGN.md "Command line", docs/jitp.md).
 *
 * JITP hands a template exactly eight parameters, all read from the device
 * certificate: AWS::IoT::Certificate::{Country, Organization,
 * OrganizationalUnit, DistinguishedNameQualifier, StateName, CommonName,
 * SerialNumber, Id}. A template declaring one the certificate lacks makes AWS
 * refuse the device, so the generator declares exactly those the profile
 * puts in every certificate, and the simulator reports every reason AWS
 * would refuse, not just the first. Library code: no printing.
 */
#ifndef THINGCA_JITP_H
#define THINGCA_JITP_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "config.h"
#include "err.h"

/* Prefix of the parameters JITP passes to a template. */
#define JITP_PARAM_PREFIX "AWS::IoT::Certificate::"

/* Policy attached when neither a name nor a document is given: the seed's. */
#define JITP_DEFAULT_POLICY_NAME "jitp-things-policy"

/* AWS IoT API limits (RegistrationConfig, CreateThing):
 * templateBody is at most 10240 characters, a ThingName 1..128 characters of
 * [a-zA-Z0-9:_-], a thing attribute name 1..128 and value 0..800. */
#define JITP_TEMPLATE_BODY_MAX 10240
#define JITP_THING_NAME_MAX 128
#define JITP_ATTR_NAME_MAX 128
#define JITP_ATTR_VALUE_MAX 800
/* A thing carries at most 50 attributes (AWS IoT quota); more is refused. */
#define JITP_ATTRS_MAX 50
/* RegistrationConfig.roleArn: 20..2048 characters. */
#define JITP_ROLE_ARN_MIN 20
#define JITP_ROLE_ARN_MAX 2048
/* A certificate bundle we read: a device certificate and a few CAs fit in a
 * few KiB; 1 MiB bounds a wrong file given by mistake. */
#define JITP_BUNDLE_MAX ((size_t)1024 * 1024)

/* One --attribute K=REF. ref is a parameter name (short "Country" — any
 * case — or full "AWS::IoT::Certificate::Country"), which becomes
 * {"Ref": ...}; anything else not starting with "AWS::" is a literal
 * string value. */
struct jitp_attr {
	const char *key;
	const char *ref;
};

/* What `thingca jitp template` was asked for (all but role_arn optional). */
struct jitp_template_opts {
	const char *role_arn;	     /* registration config only */
	const char *policy_name;     /* NULL: default, unless policy_document */
	const char *policy_document; /* JSON text of an IoT policy, or NULL */
	const char *thing_type;
	const char *const *groups;
	size_t n_groups;
	const struct jitp_attr *attrs;
	size_t n_attrs;
};

/* Checks a role ARN: arn:aws[-a-z]*:iam::<12 digits>:role/<path/name>.
 * 0 or -ERR_MALFORMED_REQUEST saying what is wrong. */
int jitp_check_role_arn(const char *arn, struct errd *e);

/* Builds the provisioning template body for profile p: Parameters are
 * CommonName, the profile's RDNs that JITP can read (C, ST, O, OU,
 * dnQualifier; L has no JITP parameter), SerialNumber when
 * subject_serial_number, and Id; Resources thing, certificate, policy.
 * *out is a new reference (caller json_decref). -ERR_MALFORMED_REQUEST when
 * an option is wrong (an attribute naming a parameter the profile does not
 * provide, a policy document that is not JSON, ...), -ERR_NOMEM. */
int jitp_template_body(const struct profile_cfg *p,
		       const struct jitp_template_opts *o, json_t **out,
		       struct errd *e);

/* The registration config {"templateBody": "<compact JSON of the body>",
 * "roleArn": o->role_arn} for update-ca-certificate --registration-config.
 * Same errors as jitp_template_body, plus a bad or missing role ARN. */
int jitp_registration_config(const struct profile_cfg *p,
			     const struct jitp_template_opts *o, json_t **out,
			     struct errd *e);

/* The seed workflow's IoT policy for region ("ap-northeast-1") and 12-digit
 * account: connect as the thing, publish/receive and subscribe on its own
 * shadow topics. *out new reference. -ERR_MALFORMED_REQUEST for a bad
 * region or account. */
int jitp_policy(const char *region, const char *account, json_t **out,
		struct errd *e);

/* The first certificate of a PEM bundle (device certificate, then chain).
 * *out is the caller's. -ERR_MALFORMED_REQUEST when there is none. */
int jitp_read_cert_bundle(const char *pem, size_t len, X509 **out,
			  struct errd *e);

/* Evaluates text — a registration config ({"templateBody": string,
 * "roleArn": string}) or a bare template body — against cert as AWS IoT
 * would on the device's first connect.
 * 0: AWS would provision; *result (new reference) is
 *   {"thing": {"name", "type", "groups", "attributes"},
 *    "certificate": {"id", "status"},
 *    "policy": {"name"} or {"document"} (an array when several, null when
 *    none)}.
 * -ERR_MALFORMED_REQUEST: AWS would refuse; *reasons (new reference, when
 *   reasons is not NULL) is an array of strings, every reason found; e->msg
 *   holds the first. *result is NULL.
 * -ERR_NOMEM. */
int jitp_simulate(const char *text, X509 *cert, json_t **result,
		  json_t **reasons, struct errd *e);

/* The CA AWS IoT must have registered for the device bundle pem (device
 * certificate first, then its chain): the device's issuer found in the
 * bundle (its name, key identifiers and key match the device
 * certificate's), the signing CA and never a root above it. *info (new
 * reference) is {"id": its AWS certificate ID, "subject": RFC 2253 text,
 * "self_signed": bool}, or NULL when the bundle lacks it. Appends to
 * warnings (a JSON array) what would go wrong: no issuer in the bundle (the
 * device must present it on the first connect), the issuer out of order,
 * not a CA, or with a key or signature algorithm AWS IoT does not accept
 * (RSA under 2048 bits, ...). 0, -ERR_MALFORMED_REQUEST (no certificate,
 * too large), -ERR_NOMEM. jitp_conn.c. */
int jitp_bundle_ca(const char *pem, size_t len, json_t **info, json_t *warnings,
		   struct errd *e);

/* Appends to warnings why host, the name a device connects to, would not
 * let AWS IoT find a CA registered in SNI_ONLY mode: an IP address (no SNI
 * is sent for one, RFC 6066 3), the legacy non-ATS endpoint, or any name
 * other than an account's full ATS endpoint
 * <prefix>-ats.iot.<region>.amazonaws.com. 0 or -ERR_NOMEM. */
int jitp_check_endpoint(const char *host, json_t *warnings);

/* The same for a first-connect command line (a recipe, a test):
 * mosquitto_pub/_sub/_rr (-h, -L mqtts://; also no TLS, no --cert, port 443
 * without --tls-alpn) and openssl s_client (-servername, -connect,
 * -noservername); any other program is a warning that it cannot be told.
 * 0 or -ERR_NOMEM. */
int jitp_check_connect(const char *line, json_t *warnings);

#endif
