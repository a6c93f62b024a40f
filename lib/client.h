/*
 * client — who may talk to thingcad (DESIGN.md "HTTP API"): the roles and
 * their names, and the rule for a client's name, one rule for the
 * configuration loader and `thingca token new`.
 */
#ifndef THINGCA_CLIENT_H
#define THINGCA_CLIENT_H

/* Roles are bit sets: admin can do what station and auditor can. */
enum role {
	ROLE_STATION = 1u << 0,
	ROLE_AUDITOR = 1u << 1,
	ROLE_ADMIN = (1u << 0) | (1u << 1) | (1u << 2),
};

/* "station", "auditor" or "admin" -> its role bits; 0 for anything else
 * (or NULL). */
unsigned role_parse(const char *name);

/* ROLE_STATION -> "station" (exactly one of the three roles); NULL for
 * other bits. */
const char *role_name(unsigned role);

/* Longest client name: names go into logs and journal fields
 * (THINGCA_CLIENT=); keep them a line's part. */
#define CLIENT_NAME_MAX 64

/* The characters of a client name. ':' is not one, so the "device:<serial>"
 * an EST re-enrolment records names no client. */
#define CLIENT_NAME_CHARS                                                      \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* 1 when s is a valid client name: 1 to CLIENT_NAME_MAX characters of
 * CLIENT_NAME_CHARS, else 0. */
int client_name_valid(const char *s);

#endif
