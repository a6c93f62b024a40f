/*
 * client — role names and the client-name rule (client.h).
 */
#include <string.h>

#include "client.h"

static const struct {
	const char *name;
	unsigned role;
} roles[] = {
    {"station", ROLE_STATION},
    {"auditor", ROLE_AUDITOR},
    {"admin", ROLE_ADMIN},
};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

unsigned role_parse(const char *name)
{
	size_t i;

	for (i = 0; name && i < N_ROLES; i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].role;
	return 0;
}

const char *role_name(unsigned role)
{
	size_t i;

	for (i = 0; i < N_ROLES; i++)
		if (role == roles[i].role)
			return roles[i].name;
	return NULL;
}

int client_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CLIENT_NAME_MAX &&
	       strspn(s, CLIENT_NAME_CHARS) == n;
}
