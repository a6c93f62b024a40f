/*
 * est — Enrollment over Secure Transport (RFC 7030, with the RFC 8951
 * clarifications) under /.well-known/est/: cacerts, simpleenroll,
 * simplereenroll and csrattrs, on top of the issuance rules of issue.c, so
 * an EST enrolment is the same ledger entry, with the same checks, as a
 * POST /v1/certificates. What is and is not supported: docs/est.md.
 */
#ifndef THINGCA_EST_H
#define THINGCA_EST_H

#include "api.h"
#include "auth.h"
#include "profile.h"

/* The path prefix of every EST operation (RFC 7030 3.2.2). */
#define EST_PREFIX "/.well-known/est/"

/* What one EST request did, for api.c's log line and metrics. */
struct est_outcome {
	char client[AUTH_NAME_MAX];  /* station, or "device:<serial>" */
	char serial[SERIAL_MAX + 1]; /* once known */
	char cert_id[65];	     /* certificate answered */
	int rc;			     /* error answered, 0 when none */
	char message[640];
};

/* Answers a request whose path starts with EST_PREFIX (every branch
 * answers: 200/204 or an error as text/plain "<code>: <message>", with
 * Retry-After on 503 and WWW-Authenticate on 401 over TLS). */
void est_handle(struct api *a, const struct http_req *req,
		struct http_resp *resp, struct est_outcome *out);

#endif
