/* test_json: JSON string quoting: plain text, every escape, control characters as
 * \u00XX, UTF-8 untouched, and output that does not fit refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../protocol/json.h"

static void check(const char *in, const char *want)
{
	char out[256];

	assert_int_equal(json_quote(in, out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_plain(void **state)
{
	(void)state;
	check("", "\"\"");
	check("ecdsa-p256", "\"ecdsa-p256\"");
	check("héllo ✓", "\"héllo ✓\"");
}

static void test_escapes(void **state)
{
	(void)state;
	check("a\"b\\c", "\"a\\\"b\\\\c\"");
	check("l1\nl2\r\t\b\f", "\"l1\\nl2\\r\\t\\b\\f\"");
	check("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
}

static void test_too_small(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(json_quote("abcde", out, sizeof(out)), 7);
	assert_int_equal(json_quote("abcdef", out, sizeof(out)), -1);
	assert_int_equal(json_quote("a\"bcd", out, sizeof(out)), -1);
	assert_int_equal(json_quote("", out, 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
