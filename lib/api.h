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

/* http_handler_fn for struct api. */
void api_handle(void *arg, const struct http_req *req, struct http_resp *resp);

/* Readiness as /readyz answers it: 0 ready, else -code with reason[n]
 * saying why (ledger not writable, key cannot sign, CA expires in N days). */
int api_ready(struct api *a, char *reason, size_t n);

/* CA days-to-expiry under which /readyz answers 503: a month leaves time to
 * roll the CA before devices get certificates that outlive it. */
#define API_CA_EXPIRY_WARN_DAYS 30

#endif
