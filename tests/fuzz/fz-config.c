/*
 * fz-config — the configuration loader: config_parse on any bytes. Relative
 * paths resolve under a directory that does not exist, so a client "ca" file
 * is not found rather than read.
 */
#include "config.h"
#include "fuzz.h"

int fz_config_init(void)
{
	return 0;
}

int fz_config_one(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	struct errd e = {0};

	(void)config_parse((const char *)data, size, "/nonexistent/thingca",
			   &c, &e);
	config_free(c);
	return 0;
}

FUZZ_ENTRY(config)
