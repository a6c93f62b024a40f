/*
 * jitp_int — private to the JITP toolkit: jitp.c (templates, policy,
 * bundles) and jitp_sim.c (the simulator) share the table of the eight
 * parameters JITP passes and AWS IoT's character sets. Nothing outside
 * jitp*.c includes it.
 */
#ifndef THINGCA_JITP_INT_H
#define THINGCA_JITP_INT_H

#include <stddef.h>
#include <openssl/bio.h>

#include "jitp.h"

/* The eight parameters JITP passes, the profile RDN that yields each (NULL:
 * not an RDN of the profile's subject list) and the subject attribute NID
 * it is read from (NID_undef for Id, computed from the DER). Order is the
 * order generated templates declare them in, CommonName first as in the
 * AWS examples. */
struct jitp_param {
	const char *name;
	const char *rdn;
	int nid;
};
#define JITP_N_PARAMS 8
extern const struct jitp_param jitp_params[JITP_N_PARAMS];
/* Indexes into jitp_params that need special handling. */
enum { JITP_P_CN = 0, JITP_P_SERIAL = 6, JITP_P_ID = 7 };

/* "AWS::IoT::Certificate::" + the longest name (26) + NUL. */
#define JITP_PARAM_FULL_MAX 64

/* AWS IoT character sets: ThingName, thing type and group names
 * [a-zA-Z0-9:_-] (thing.h, jitp_thing_name_ok); attribute names
 * [a-zA-Z0-9_.,@/:#-]; attribute values the same plus =[] (CreateThing
 * AttributePayload); policy names [\w+=,.@-]. */
#define JITP_ATTR_NAME_EXTRA "_.,@/:#-"
#define JITP_ATTR_VALUE_EXTRA "_.,@/:#=[]-"
#define JITP_POLICY_NAME_EXTRA "_+=,.@-"
#define JITP_POLICY_NAME_MAX 128

/* The full name ("AWS::IoT::Certificate::Country") of parameter i. */
void jitp_param_full(size_t i, char out[JITP_PARAM_FULL_MAX]);
/* Index of a parameter named by its full name, or (when short_ok) by its
 * short name in any case; -1 when none. */
int jitp_param_lookup(const char *s, int short_ok);
/* 1 when s is min..max bytes, each an ASCII letter, digit or in extra;
 * else 0. */
int jitp_chars_ok(const char *s, size_t min, size_t max, const char *extra);
/* 1 when s is a valid AWS IoT ThingName (also thing type, group); else 0. */
int jitp_thing_name_ok(const char *s);

/* A memory BIO over a PEM bundle of len octets (caller frees *out): 0,
 * -ERR_MALFORMED_REQUEST over JITP_BUNDLE_MAX, -ERR_NOMEM. */
int jitp_bundle_open(const char *pem, size_t len, BIO **out, struct errd *e);

/* Appends to out (a JSON array) one string per thing AWS IoT would not
 * accept in x, each starting with what ("certificate", "issuing CA"): a
 * signature algorithm other than SHA-256/384/512 with RSA or ECDSA, RSA
 * under 2048 bits, EC curves other than P-256/P-384, other key types.
 * 0, or -1 out of memory. */
int jitp_key_sig_faults(X509 *x, const char *what, json_t *out);

#endif
