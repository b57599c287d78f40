/* test_pincache: the per-key PIN cache with injected time: put/get/drop/expire,
 * ttl 0, replacement, copies that outlive entries, and many keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../../pinentry/pincache.h"

static int setup(void **state)
{
	*state = pincache_new();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	pincache_free(*state);
	return 0;
}

/* Asserts a hit for id with exactly `want`, and releases the copy. */
static void expect_hit(struct pincache *c, const char *id, uint64_t now, const char *want)
{
	char *pin = NULL;
	size_t len = 0;

	assert_int_equal(pincache_get(c, id, now, &pin, &len), 1);
	assert_non_null(pin);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(pin, want, len);
	assert_int_equal(pin[len], '\0');
	sodium_free(pin);
}

static void expect_miss(struct pincache *c, const char *id, uint64_t now)
{
	char *pin = (char *)1;
	size_t len = 7;

	assert_int_equal(pincache_get(c, id, now, &pin, &len), 0);
	assert_null(pin);
	assert_int_equal(len, 0);
}

static void test_put_get(void **state)
{
	struct pincache *c = *state;

	expect_miss(c, "work", 100);
	assert_int_equal(pincache_put(c, "work", "12 34%", 6, 600, 100), 0);
	expect_hit(c, "work", 100, "12 34%");
	expect_hit(c, "work", 699, "12 34%"); /* the TTL is not renewed by a hit */
	expect_miss(c, "other", 100);
	assert_int_equal(pincache_count(c), 1);
}

static void test_binary_and_empty_pins(void **state)
{
	struct pincache *c = *state;
	char *pin;
	size_t len;

	assert_int_equal(pincache_put(c, "bin", "a\0b\n", 4, 10, 0), 0);
	assert_int_equal(pincache_get(c, "bin", 1, &pin, &len), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(pin, "a\0b\n", 4);
	sodium_free(pin);
	assert_int_equal(pincache_put(c, "empty", "", 0, 10, 0), 0);
	expect_hit(c, "empty", 1, "");
}

static void test_ttl_expiry_on_get(void **state)
{
	struct pincache *c = *state;

	assert_int_equal(pincache_put(c, "k", "1111", 4, 10, 1000), 0);
	expect_hit(c, "k", 1009, "1111");
	expect_miss(c, "k", 1010);
	assert_int_equal(pincache_count(c), 0); /* the expired entry went at once */
}

static void test_ttl_zero_never_caches(void **state)
{
	struct pincache *c = *state;

	assert_int_equal(pincache_put(c, "k", "1111", 4, 600, 0), 0);
	assert_int_equal(pincache_put(c, "k", "2222", 4, 0, 1), 0);
	expect_miss(c, "k", 1); /* and the older PIN is gone too */
	assert_int_equal(pincache_count(c), 0);
}

static void test_put_replaces(void **state)
{
	struct pincache *c = *state;

	assert_int_equal(pincache_put(c, "k", "old-pin", 7, 5, 0), 0);
	assert_int_equal(pincache_put(c, "k", "new", 3, 100, 3), 0);
	expect_hit(c, "k", 50, "new");
	assert_int_equal(pincache_count(c), 1);
}

static void test_drop(void **state)
{
	struct pincache *c = *state;

	assert_int_equal(pincache_put(c, "a", "1", 1, 60, 0), 0);
	assert_int_equal(pincache_put(c, "b", "2", 1, 60, 0), 0);
	assert_int_equal(pincache_drop(c, "a"), 1);
	assert_int_equal(pincache_drop(c, "a"), 0);
	expect_miss(c, "a", 1);
	expect_hit(c, "b", 1, "2");
	pincache_drop_all(c);
	expect_miss(c, "b", 1);
	assert_int_equal(pincache_count(c), 0);
}

static void test_copy_outlives_entry(void **state)
{
	struct pincache *c = *state;
	char *pin;
	size_t len;

	assert_int_equal(pincache_put(c, "k", "4321", 4, 60, 0), 0);
	assert_int_equal(pincache_get(c, "k", 1, &pin, &len), 1);
	pincache_drop_all(c);
	assert_memory_equal(pin, "4321", 4); /* the caller's copy is its own */
	sodium_free(pin);
}

static void test_expire_and_next_expiry(void **state)
{
	struct pincache *c = *state;

	assert_int_equal(pincache_next_expiry(c, 0), -1);
	assert_int_equal(pincache_put(c, "short", "1", 1, 10, 0), 0);
	assert_int_equal(pincache_put(c, "mid", "2", 1, 20, 0), 0);
	assert_int_equal(pincache_put(c, "long", "3", 1, 30, 0), 0);
	assert_int_equal(pincache_next_expiry(c, 4), 6);
	assert_int_equal(pincache_expire(c, 9), 0);
	assert_int_equal(pincache_expire(c, 20), 2);
	assert_int_equal(pincache_count(c), 1);
	expect_hit(c, "long", 20, "3");
	assert_int_equal(pincache_next_expiry(c, 20), 10);
	assert_int_equal(pincache_next_expiry(c, 31), 0);
	assert_int_equal(pincache_expire(c, 31), 1);
	assert_int_equal(pincache_next_expiry(c, 31), -1);
}

static void test_many_keys(void **state)
{
	struct pincache *c = *state;
	char id[32], pin[32];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "key-%d", i);
		snprintf(pin, sizeof(pin), "pin-%d", i * 7);
		assert_int_equal(pincache_put(c, id, pin, strlen(pin), (unsigned)(100 + i), 0), 0);
	}
	assert_int_equal(pincache_count(c), 200);
	for (i = 0; i < 200; i += 13) {
		snprintf(id, sizeof(id), "key-%d", i);
		snprintf(pin, sizeof(pin), "pin-%d", i * 7);
		expect_hit(c, id, 50, pin);
	}
	assert_int_equal(pincache_expire(c, 150), 51); /* keys 0..50 */
	expect_miss(c, "key-50", 150);
	expect_hit(c, "key-51", 150, "pin-357");
}

static void test_bad_arguments(void **state)
{
	struct pincache *c = *state;
	char *pin;
	size_t len;

	assert_int_equal(pincache_put(c, NULL, "1", 1, 60, 0), -1);
	assert_int_equal(pincache_put(c, "", "1", 1, 60, 0), -1);
	assert_int_equal(pincache_put(c, "k", NULL, 1, 60, 0), -1);
	assert_int_equal(pincache_put(NULL, "k", "1", 1, 60, 0), -1);
	assert_int_equal(pincache_get(NULL, "k", 0, &pin, &len), 0);
	assert_int_equal(pincache_drop(NULL, "k"), 0);
	pincache_drop_all(NULL);
	assert_int_equal(pincache_expire(NULL, 0), 0);
}

static void test_clock_is_monotonic(void **state)
{
	uint64_t a = pincache_now(), b = pincache_now();

	(void)state;
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_empty_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry_on_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_zero_never_caches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_outlives_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_and_next_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test(test_clock_is_monotonic),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
