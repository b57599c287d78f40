/* test_sshcontrol: gpg-agent's sshcontrol lines: comments, '!' (with and without a
 * blank), TTL and the confirm flag, bad lines skipped, the first line for a grip wins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../protocol/sshcontrol.h"

#define A "0123456789ABCDEF0123456789ABCDEF01234567"
#define B "89abcdef0123456789abcdef0123456789abcdef"
#define C "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

static struct sshcontrol sc;

static void test_lines(void **state)
{
	static const char text[] =
		"# List of allowed ssh keys.\n"
		"\n"
		"   # indented comment\n"
		A " 0\n"
		"! " B " 600 confirm\n"
		"!" C "\r\n"
		"not a grip\n"
		A "1 0\n"          /* 41 hex digits */
		"!" A " 0\n"       /* a second line for A: ignored */
		"DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD confirm";  /* no final newline */
	const struct sshcontrol_entry *e;

	(void)state;
	sshcontrol_parse(text, sizeof(text) - 1, &sc);
	assert_int_equal(sc.n, 4);
	assert_int_equal(sc.bad_lines, 2);
	assert_non_null(e = sshcontrol_find(&sc, A));
	assert_false(e->disabled);
	assert_int_equal(e->ttl, 0);
	assert_non_null(e = sshcontrol_find(&sc, "89ABCDEF0123456789ABCDEF0123456789ABCDEF"));
	assert_true(e->disabled);
	assert_true(e->confirm);
	assert_int_equal(e->ttl, 600);
	assert_non_null(e = sshcontrol_find(&sc, C));
	assert_true(e->disabled);
	assert_non_null(e = sshcontrol_find(&sc, "dddddddddddddddddddddddddddddddddddddddd"));
	assert_true(e->confirm);
	assert_null(sshcontrol_find(&sc, "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"));
}

static void test_empty(void **state)
{
	(void)state;
	sshcontrol_parse("", 0, &sc);
	assert_int_equal(sc.n, 0);
	sshcontrol_parse("!", 1, &sc);
	assert_int_equal(sc.n, 0);
	assert_int_equal(sc.bad_lines, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
