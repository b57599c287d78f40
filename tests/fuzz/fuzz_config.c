/* fuzz_config: libFuzzer harness for the configuration file parser (protocol/config.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/config.h"

static int setting(void *arg, const char *key, const char *value, struct errmsg *e)
{
	size_t *n = arg;

	if (strlen(key) >= CONFIG_KEY_MAX || strlen(value) >= CONFIG_LINE_MAX)
		abort();
	(*n)++;
	/* a callback may refuse; the parser must stop cleanly with the line number */
	if (config_bool(value) < 0 && strcmp(key, "strict") == 0)
		return errmsg_set(e, "not a boolean: %s", value);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errmsg e;
	size_t n = 0;

	if (config_parse((const char *)data, size, setting, &n, &e) != 0 &&
	    memchr(e.text, '\0', sizeof(e.text)) == NULL)
		abort();
	return 0;
}
