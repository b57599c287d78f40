/* config: `key = value` configuration lines, parsed strictly so that a typo stops the
 * agent with the line number instead of being ignored. */
#include "config.h"

#include <string.h>
#include <strings.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Trims [*s, *s + *n) in place of pointers. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

static int parse_key(const char *k, size_t n, char key[CONFIG_KEY_MAX], struct errmsg *e)
{
	if (n == 0)
		return errmsg_set(e, "missing key before '='");
	if (n >= CONFIG_KEY_MAX)
		return errmsg_set(e, "key too long");
	for (size_t i = 0; i < n; i++)
		if (!key_char_ok(k[i]))
			return errmsg_set(e, "bad character in key '%.*s' (keys are lower-case "
					  "letters, digits and '-')", (int)n, k);
	memcpy(key, k, n);
	key[n] = '\0';
	return 0;
}

static int parse_value(const char *v, size_t n, char value[CONFIG_LINE_MAX], struct errmsg *e)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	} else if (n > 0 && (v[0] == '"' || v[n - 1] == '"')) {
		return errmsg_set(e, "unbalanced quote in value");
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return errmsg_set(e, "control character in value");
	memcpy(value, v, n);
	value[n] = '\0';
	return 0;
}

/* One line without its newline. */
static int parse_line(const char *s, size_t n, config_setting_fn fn, void *arg,
		      struct errmsg *e)
{
	char key[CONFIG_KEY_MAX], value[CONFIG_LINE_MAX];
	const char *eq, *k, *v;
	size_t kn, vn;

	trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	if ((eq = memchr(s, '=', n)) == NULL)
		return errmsg_set(e, "expected 'key = value'");
	k = s;
	kn = (size_t)(eq - s);
	v = eq + 1;
	vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	if (parse_key(k, kn, key, e) != 0 || parse_value(v, vn, value, e) != 0)
		return -1;
	return fn(arg, key, value, e);
}

int config_parse(const char *text, size_t len, config_setting_fn fn, void *arg,
		 struct errmsg *e)
{
	unsigned line = 0;

	if (len > CONFIG_FILE_MAX)
		return errmsg_set(e, "config: file larger than %d bytes", CONFIG_FILE_MAX);
	if (memchr(text, '\0', len) != NULL)
		return errmsg_set(e, "config: file contains a NUL byte (not a text file?)");
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		line++;
		if (n >= CONFIG_LINE_MAX)
			return errmsg_set(e, "config:%u: line longer than %d bytes", line,
					  CONFIG_LINE_MAX - 1);
		if (parse_line(text, n, fn, arg, e) != 0)
			return errmsg_prefix(e, "config:%u", line);
		text += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}

int config_bool(const char *value)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0)
			return 1;
		if (strcasecmp(value, no[i]) == 0)
			return 0;
	}
	return -1;
}
