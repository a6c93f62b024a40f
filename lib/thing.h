/*
 * thing — the AWS IoT ThingName rule (DESIGN.md "Device certificate
 * profile"): the alphabet [a-zA-Z0-9:_-], and the profile.thing_name
 * template that yields one per serial. The configuration loader, the
 * profile and the JITP template builder ask here.
 */
#ifndef THINGCA_THING_H
#define THINGCA_THING_H

#include <stddef.h>

#include "err.h"

/* RFC 5280 ub-common-name: the ThingName is the subject CN. */
#define THING_NAME_MAX 64

/* The placeholder profile.thing_name substitutes. */
#define THING_SERIAL_TOKEN "{serial}"

/* 1 when c is in AWS IoT's ThingName alphabet [a-zA-Z0-9:_-], else 0. */
int thing_name_char(unsigned char c);

/* 1 when s is 1 to max characters of that alphabet, else 0 (AWS allows
 * 128 for names, types and groups; a CN holds THING_NAME_MAX). */
int thing_name_valid(const char *s, size_t max);

/* Checks a profile.thing_name template: not empty, THING_SERIAL_TOKEN at
 * least once (or every device would get one name), only ThingName
 * characters around it, and room for a serial within THING_NAME_MAX. 0 or
 * -ERR_CONFIG_INVALID with e naming the key and the rule. */
int thing_template_check(const char *t, struct errd *e);

#endif
