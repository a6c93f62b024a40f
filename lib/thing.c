/*
 * thing — the ThingName alphabet and template rule (thing.h), once.
 */
#include <string.h>

#include "thing.h"

#define TOKEN_LEN (sizeof(THING_SERIAL_TOKEN) - 1)

int thing_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '-';
}

int thing_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!thing_name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

int thing_template_check(const char *t, struct errd *e)
{
	static const char *const p = "profile.thing_name";
	size_t i, fixed = 0;

	if (t == NULL || t[0] == '\0')
		return err_set(e, ERR_CONFIG_INVALID, "%s: must not be empty",
			       p);
	if (strstr(t, THING_SERIAL_TOKEN) == NULL)
		return err_set(
		    e, ERR_CONFIG_INVALID,
		    "%s: must contain " THING_SERIAL_TOKEN " (got '%s')", p, t);
	for (i = 0; t[i] != '\0';) {
		if (strncmp(t + i, THING_SERIAL_TOKEN, TOKEN_LEN) == 0) {
			i += TOKEN_LEN;
			continue;
		}
		if (!thing_name_char((unsigned char)t[i]))
			return err_set(
			    e, ERR_CONFIG_INVALID,
			    "%s: character '%c' is not allowed in "
			    "an AWS IoT ThingName ([a-zA-Z0-9:_-])",
			    p, t[i] >= 0x20 && t[i] < 0x7f ? t[i] : '?');
		fixed++;
		i++;
	}
	if (fixed >= THING_NAME_MAX)
		return err_set(e, ERR_CONFIG_INVALID,
			       "%s: leaves no room for the serial in the "
			       "%d-character CN (RFC 5280 ub-common-name)",
			       p, THING_NAME_MAX);
	return 0;
}
