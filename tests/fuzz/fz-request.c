/*
 * fz-request — POST /v1/certificates up to the point of signing, without the
 * network: the body through api.c's own reader, api_issue_body (its
 * one-pass reader for the usual shape, else jansson with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, an object with exactly "serial"
 * and "csr", both strings, no NUL in the serial), then the serial
 * rules of the default profile (profile_check_serial, as issue_check_serial
 * does before the ledger), then csr_parse_pem and csr_check_key with the
 * default key types, as issue_pem and issue_with_csr do. The same lib
 * functions in the same order; the ledger and the CA are left out.
 *
 * An object with other keys is taken as the other hostile inputs the API
 * and the CLI check with util.c: a revocation's "reason" (RFC 5280
 * CRLReason names only), ledger filters "since"/"until" (RFC 3339, 1970
 * on), and any string value as text printed on a terminal (str_printable).
 * Their properties abort when broken: a reason accepted is an RFC name in
 * another case, a filter accepted normalises to a time from 1970 that
 * parses back to itself, printable text holds no control byte. A body
 * the one-pass reader accepts, jansson reads as the same two strings.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api.h"
#include "config.h"
#include "csr.h"
#include "fuzz.h"
#include "profile.h"
#include "util.h"

static struct config *rq_cfg;
static struct profile *rq_prof;

int fz_request_init(void)
{
	struct errd e = {0};

	if (rq_prof)
		return 0;
	/* The default configuration's profile: what a fresh install runs. */
	if (config_parse("{}", 2, "/nonexistent", &rq_cfg, &e) < 0 ||
	    profile_new(&rq_cfg->profile, &rq_prof, &e) < 0) {
		fprintf(stderr, "fz-request: set-up failed: %s\n", e.msg);
		return -1;
	}
	return 0;
}

void fz_request_done(void)
{
	profile_free(rq_prof);
	config_free(rq_cfg);
	rq_prof = NULL;
	rq_cfg = NULL;
}

/* The properties of the util.c checks on one string value v of key k. */
static void other_inputs(const char *k, json_t *v)
{
	const char *s = json_string_value(v), *canon = NULL;
	char norm[21], again[21], clean[256];
	struct errd e = {0};
	time_t t;
	size_t i;

	if (!s)
		return;
	/* api.c refuses a NUL first, as here. */
	if (strcmp(k, "reason") == 0 && strlen(s) == json_string_length(v) &&
	    revocation_reason(s, &canon, &e) >= 0 && strcasecmp(s, canon) != 0)
		abort();
	if ((strcmp(k, "since") == 0 || strcmp(k, "until") == 0) &&
	    time_parse_filter(s, k, norm, &e) == 0 &&
	    (strcmp(norm, "1970-01-01T00:00:00Z") < 0 ||
	     time_parse_rfc3339(norm, &t) != 0 || t < 0 ||
	     (time_rfc3339(t, again), strcmp(norm, again) != 0)))
		abort();
	str_printable(s, clean, sizeof(clean));
	for (i = 0; clean[i]; i++)
		if (clean[i] < 0x20 || clean[i] > 0x7e)
			abort();
}

/* What api.c's one-pass reader accepted, jansson reads as the same two
 * strings (api.c "the issuance body in one pass"). */
static void same_as_jansson(const uint8_t *data, size_t size,
			    const struct api_body *b)
{
	json_t *o = json_loadb((const char *)data, size,
			       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	json_t *js = json_object_get(o, "serial"),
	       *jc = json_object_get(o, "csr");

	if (!o || json_object_size(o) != 2 || !json_is_string(js) ||
	    !json_is_string(jc) || json_string_length(js) != b->serial_len ||
	    json_string_length(jc) != b->csr_len ||
	    memcmp(json_string_value(js), b->serial, b->serial_len) != 0 ||
	    memcmp(json_string_value(jc), b->csr, b->csr_len) != 0)
		abort();
	json_decref(o);
}

int fz_request_one(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"serial", "csr", NULL};
	char thing_name[THING_NAME_MAX + 1];
	struct errd e = {0};
	struct csr *csr = NULL;
	struct api_body b;
	const char *k;
	json_t *v;
	int rc;

	rc = api_issue_body((const char *)data, size, &b, &e);
	if (rc == 0 && b.fast_serial)
		same_as_jansson(data, size, &b);
	if (b.root && json_unknown_key(b.root, keys)) {
		json_object_foreach(b.root, k, v)
		{
			other_inputs(k, v);
		}
	}
	/* The serial_n variant sees the embedded NUL api.c refuses first. */
	if (rc == 0 || rc == -ERR_SERIAL_INVALID)
		(void)profile_check_serial_n(rq_prof, b.serial, b.serial_len,
					     thing_name, &e);
	if (rc < 0)
		goto out;
	if (profile_check_serial(rq_prof, b.serial, thing_name, &e) < 0)
		goto out;
	if (csr_parse_pem(b.csr, b.csr_len, &csr, &e) < 0)
		goto out;
	(void)csr_key_type(csr);
	(void)csr_spki_sha256(csr);
	(void)csr_check_key(csr, rq_cfg->profile.key_types, &e);
out:
	csr_free(csr);
	api_body_clear(&b);
	return 0;
}

FUZZ_ENTRY(request)
