/*
 * est — Enrollment over Secure Transport (RFC 7030, with the RFC 8951
 * clarifications) under /.well-known/est/: cacerts, simpleenroll,
 * simplereenroll and csrattrs, on top of the issuance rules of issue.c, so
 * an EST enrolment is the same ledger entry, with the same checks, as a
 * POST /v1/certificates. What is and is not supported: docs/est.md.
 */
#ifndef THINGCA_EST_H
#define THINGCA_EST_H

#include "auth.h"
#include "http.h"
#include "issue.h"
#include "metrics.h"
#include "outcome.h"

/* The path prefix of every EST operation (RFC 7030 3.2.2). */
#define EST_PREFIX "/.well-known/est/"

/* Answers a request whose path starts with EST_PREFIX (every branch
 * answers: 200/204 or an error as text/plain "<code>: <message>", with
 * Retry-After on 503 and WWW-Authenticate on 401 over TLS), issuing with
 * is, authenticating stations with auth, counting issuances in m. *out says
 * what the request did, for the caller's log line and metrics. */
void est_handle(struct issuer *is, struct auth *auth, struct metrics *m,
		const struct http_req *req, struct http_resp *resp,
		struct outcome *out);

#endif
