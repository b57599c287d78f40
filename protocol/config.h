/* config: the agent's configuration file format: `key = value` lines, `#` comments,
 * blank lines. Pure parsing; what the keys mean is the caller's business. */
#ifndef TPM_AGENT_CONFIG_H
#define TPM_AGENT_CONFIG_H

#include <stddef.h>

#include "errmsg.h"

#define CONFIG_FILE_MAX  (64 * 1024)
#define CONFIG_LINE_MAX  1024
#define CONFIG_KEY_MAX   64

/* Called once per setting. Returns 0, or -1 with a message in e (without the line
 * prefix: config_parse adds "config:LINE: "). */
typedef int (*config_setting_fn)(void *arg, const char *key, const char *value,
				 struct errmsg *e);

/* Parses text[0..len) and calls fn for each setting in order. Stops at the first error
 * with "config:LINE: message" in e. Whitespace around keys and values is trimmed; a
 * value may be wrapped in double quotes to keep its spaces. Keys are [a-z0-9-]. */
int config_parse(const char *text, size_t len, config_setting_fn fn, void *arg,
		 struct errmsg *e);

/* Boolean values: yes/no, true/false, on/off, 1/0. -1 when value is none of them. */
int config_bool(const char *value);

#endif
