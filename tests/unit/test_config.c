/* test_config: the `key = value` configuration parser, including hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/config.h"

struct seen {
	char keys[16][CONFIG_KEY_MAX];
	char values[16][CONFIG_LINE_MAX];
	int n;
	const char *reject; /* key the callback refuses */
};

static int collect(void *arg, const char *key, const char *value, struct errmsg *e)
{
	struct seen *s = arg;

	if (s->reject != NULL && strcmp(key, s->reject) == 0)
		return errmsg_set(e, "unknown option '%s'", key);
	if (s->n == 16)
		return errmsg_set(e, "too many");
	snprintf(s->keys[s->n], CONFIG_KEY_MAX, "%s", key);
	snprintf(s->values[s->n], CONFIG_LINE_MAX, "%s", value);
	s->n++;
	return 0;
}

static int parse(const char *text, struct seen *s, struct errmsg *e)
{
	return config_parse(text, strlen(text), collect, s, e);
}

static void test_settings_in_order(void **state)
{
	struct seen s = { .n = 0 };
	struct errmsg e;
	const char *text = "# comment\n\n  tcti = swtpm:host=127.0.0.1,port=1\r\n"
			   "pin-cache-ttl=600\npinentry-program = \"/usr/bin/pinentry tty\"  \n"
			   "gpg =   yes";

	(void)state;
	assert_int_equal(parse(text, &s, &e), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.keys[0], "tcti");
	assert_string_equal(s.values[0], "swtpm:host=127.0.0.1,port=1");
	assert_string_equal(s.values[1], "600");
	assert_string_equal(s.values[2], "/usr/bin/pinentry tty");
	assert_string_equal(s.keys[3], "gpg");
	assert_string_equal(s.values[3], "yes");
}

static void expect_error(const char *text, const char *reject, const char *want)
{
	struct seen s = { .n = 0, .reject = reject };
	struct errmsg e = { "" };

	assert_int_equal(parse(text, &s, &e), -1);
	if (strstr(e.text, want) == NULL)
		fail_msg("error '%s' lacks '%s'", e.text, want);
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	expect_error("tcti = x\nno equals here\n", NULL, "config:2: expected 'key = value'");
	expect_error("\n\n = value\n", NULL, "config:3: missing key");
	expect_error("Tcti = x\n", NULL, "config:1: bad character in key");
	expect_error("a = \"x\n", NULL, "config:1: unbalanced quote");
	expect_error("ok = 1\nbogus = 2\n", "bogus", "config:2: unknown option 'bogus'");
	expect_error("a = b\x01\n", NULL, "config:1: control character");
}

static void test_hostile_sizes(void **state)
{
	size_t n = CONFIG_LINE_MAX + 10;
	char *line = malloc(n + 1);
	struct seen s = { .n = 0 };
	struct errmsg e;

	(void)state;
	memset(line, 'a', n);
	line[n] = '\0';
	line[3] = '=';
	assert_int_equal(parse(line, &s, &e), -1);
	assert_non_null(strstr(e.text, "config:1: line longer"));
	free(line);
	assert_int_equal(config_parse("a = b\0c = d", 11, collect, &s, &e), -1);
	assert_non_null(strstr(e.text, "NUL"));
	assert_int_equal(config_parse("a=b", CONFIG_FILE_MAX + 1, collect, &s, &e), -1);
	char key[CONFIG_KEY_MAX + 8];
	memset(key, 'k', sizeof(key));
	memcpy(key + sizeof(key) - 5, "=1\n", 4);
	assert_int_equal(parse(key, &s, &e), -1);
	assert_non_null(strstr(e.text, "key too long"));
}

static void test_bool(void **state)
{
	(void)state;
	assert_int_equal(config_bool("yes"), 1);
	assert_int_equal(config_bool("ON"), 1);
	assert_int_equal(config_bool("1"), 1);
	assert_int_equal(config_bool("false"), 0);
	assert_int_equal(config_bool("off"), 0);
	assert_int_equal(config_bool("maybe"), -1);
	assert_int_equal(config_bool(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_in_order),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
