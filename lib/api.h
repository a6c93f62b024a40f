/*
 * api — the HTTP API of DESIGN.md: routing, authentication and roles, JSON
 * in and out, errors as {"error", "message"} with the documented status, one
 * log line and metrics per request. Issuance itself is issue.c.
 */
#ifndef THINGCA_API_H
#define THINGCA_API_H

#include <stddef.h>

#include "auth.h"
#include "crl.h"
#include "http.h"
#include "issue.h"
#include "metrics.h"

struct api {
	struct issuer issuer; /* cfg, ca, profile, ledger */
	struct auth *auth;
	struct metrics *metrics;
	struct crl_cache *crl;
};

/* The body of POST /v1/certificates as the API reads it (DESIGN.md
 * "Issuance rules" 2): {"serial", "csr"}, both strings, nothing else.
 * Fields point into the body's decoding, kept until api_body_clear. */
struct json_t;
struct api_body {
	const char *serial; /* serial_len bytes, NUL-terminated */
	size_t serial_len;
	const char *csr; /* csr_len bytes of PEM text */
	size_t csr_len;
	struct json_t *root; /* the object jansson read, when it read one */
	char *fast_serial, *fast_csr; /* the one-pass reader's buffers */
};

/* Reads len bytes of body into *b: the one-pass reader for the usual
 * shape, jansson for any other. 0; -ERR_MALFORMED_REQUEST (not JSON, not
 * an object, another field, a missing one, not strings) or
 * -ERR_SERIAL_INVALID (a NUL in the serial; b->serial is then set), with
 * the message in e. b->root stays set when the body was a JSON object,
 * whatever else failed. Call api_body_clear in every case. The fuzzer
 * (tests/fuzz/fz-request.c) reads requests through this function. */
int api_issue_body(const char *body, size_t len, struct api_body *b,
		   struct errd *e);

/* Frees what api_issue_body decoded; b is then empty. */
void api_body_clear(struct api_body *b);

/* http_handler_fn for struct api. */
void api_handle(void *arg, const struct http_req *req, struct http_resp *resp);

/* Readiness as /readyz answers it: 0 ready, else -code with reason[n]
 * saying why (ledger not writable, key cannot sign, CA expires in N days). */
int api_ready(struct api *a, char *reason, size_t n);

/* CA days-to-expiry under which /readyz answers 503: a month leaves time to
 * roll the CA before devices get certificates that outlive it. */
#define API_CA_EXPIRY_WARN_DAYS 30

#endif
