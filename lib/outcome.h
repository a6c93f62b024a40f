/*
 * outcome — what one HTTP request did: the client it authenticated, the
 * serial and certificate it concerned, the error it answered. Both front
 * ends (api.c's JSON API and est.c's EST) fill one, and api.c turns it into
 * the request's one log line and metrics observation.
 */
#ifndef THINGCA_OUTCOME_H
#define THINGCA_OUTCOME_H

#include "auth.h"
#include "profile.h"

struct outcome {
	char client[AUTH_NAME_MAX];  /* authenticated client, "device:<serial>"
					for an EST re-enrolment, or "" */
	char serial[SERIAL_MAX + 1]; /* once it passed the serial rules */
	char cert_id[65];	     /* certificate answered or named */
	int rc;			     /* error answered, 0 when none */
	char message[640];	     /* the error's message for a person */
};

#endif
