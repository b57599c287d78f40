/* test_sshbuf: round trips, RFC 4251 encodings, the max limit, and hostile input
 * (truncation at every offset, bogus lengths, bad mpints, NUL in cstrings). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../protocol/sshbuf.h"

static struct sshbuf *new_buf(size_t max)
{
	struct sshbuf *b = sshbuf_new(max);

	assert_non_null(b);
	return b;
}

static void assert_contents(const struct sshbuf *b, const void *want, size_t len)
{
	assert_int_equal(sshbuf_len(b), len);
	assert_memory_equal(sshbuf_ptr(b), want, len);
}

static void test_integers_round_trip(void **state)
{
	static const uint8_t wire[] = {
		0xAB, 0x01, 0x02, 0x03, 0x04,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01, 0x00,
	};
	struct sshbuf *b = new_buf(64);
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	int t, f;

	(void)state;
	assert_int_equal(sshbuf_put_u8(b, 0xAB), 0);
	assert_int_equal(sshbuf_put_u32(b, 0x01020304), 0);
	assert_int_equal(sshbuf_put_u64(b, 0x0102030405060708ULL), 0);
	assert_int_equal(sshbuf_put_bool(b, 42), 0);
	assert_int_equal(sshbuf_put_bool(b, 0), 0);
	assert_contents(b, wire, sizeof(wire));
	assert_int_equal(sshbuf_get_u8(b, &u8), 0);
	assert_int_equal(sshbuf_get_u32(b, &u32), 0);
	assert_int_equal(sshbuf_get_u64(b, &u64), 0);
	assert_int_equal(sshbuf_get_bool(b, &t), 0);
	assert_int_equal(sshbuf_get_bool(b, &f), 0);
	assert_int_equal(u8, 0xAB);
	assert_int_equal(u32, 0x01020304);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(t, 1);
	assert_int_equal(f, 0);
	assert_int_equal(sshbuf_len(b), 0);
	assert_int_equal(sshbuf_get_u8(b, &u8), SSHBUF_E_SHORT);
	sshbuf_free(b);
}

/* Any non-zero byte is TRUE (RFC 4251 §5). */
static void test_bool_nonzero_is_true(void **state)
{
	static const uint8_t wire[] = { 0x02 };
	struct sshbuf v;
	int x = 0;

	(void)state;
	sshbuf_view(&v, wire, sizeof(wire));
	assert_int_equal(sshbuf_get_bool(&v, &x), 0);
	assert_int_equal(x, 1);
}

static void test_strings_round_trip(void **state)
{
	static const uint8_t wire[] = {
		0, 0, 0, 3, 'a', 0, 'b',
		0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
		0, 0, 0, 0,
		0, 0, 0, 2, 'h', 'i',
	};
	struct sshbuf *b = new_buf(64), *inner = new_buf(8);
	const uint8_t *p;
	size_t len;
	char s[8];

	(void)state;
	assert_int_equal(sshbuf_put_string(b, "a\0b", 3), 0);
	assert_int_equal(sshbuf_put_cstring(b, "hello"), 0);
	assert_int_equal(sshbuf_put_cstring(b, NULL), 0);
	assert_int_equal(sshbuf_put(inner, "xhi", 3), 0);
	assert_int_equal(sshbuf_consume(inner, 1), 0); /* stringb puts only the unread part */
	assert_int_equal(sshbuf_put_stringb(b, inner), 0);
	assert_contents(b, wire, sizeof(wire));

	assert_int_equal(sshbuf_get_string(b, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_int_equal(sshbuf_get_cstring(b, s, sizeof(s)), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(sshbuf_get_cstring(b, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(sshbuf_get_cstring(b, s, 3), 0); /* "hi" + NUL fits exactly */
	assert_string_equal(s, "hi");
	assert_int_equal(sshbuf_len(b), 0);
	sshbuf_free(inner);
	sshbuf_free(b);
}

/* RFC 4251 §5 mpint examples, in both directions. */
static void test_mpint_rfc4251_vectors(void **state)
{
	static const uint8_t v1[] = { 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7 };
	static const uint8_t v1_wire[] = { 0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7 };
	static const uint8_t v2[] = { 0x00, 0x00, 0x80 }; /* leading zeros in, stripped */
	static const uint8_t v2_wire[] = { 0, 0, 0, 2, 0x00, 0x80 };
	static const uint8_t zero_wire[] = { 0, 0, 0, 0 };
	struct sshbuf *b = new_buf(64);
	const uint8_t *p;
	size_t len;

	(void)state;
	assert_int_equal(sshbuf_put_mpint(b, v1, sizeof(v1)), 0);
	assert_contents(b, v1_wire, sizeof(v1_wire));
	sshbuf_reset(b);
	assert_int_equal(sshbuf_put_mpint(b, v2, sizeof(v2)), 0);
	assert_contents(b, v2_wire, sizeof(v2_wire));
	assert_int_equal(sshbuf_get_mpint(b, &p, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], 0x80);
	sshbuf_reset(b);
	assert_int_equal(sshbuf_put_mpint(b, v2, 2), 0); /* zero as 00 00 */
	assert_contents(b, zero_wire, sizeof(zero_wire));
	assert_int_equal(sshbuf_get_mpint(b, &p, &len), 0);
	assert_int_equal(len, 0);
	sshbuf_free(b);
}

static void assert_mpint_rejected(const uint8_t *wire, size_t len, int expected)
{
	struct sshbuf v;
	const uint8_t *p;
	size_t n;

	sshbuf_view(&v, wire, len);
	assert_int_equal(sshbuf_get_mpint(&v, &p, &n), expected);
	assert_int_equal(sshbuf_len(&v), len); /* nothing consumed */
}

static void test_mpint_hostile(void **state)
{
	static const uint8_t negative[] = { 0, 0, 0, 1, 0x80 };
	static const uint8_t neg_long[] = { 0, 0, 0, 2, 0xff, 0x01 };
	static const uint8_t lone_zero[] = { 0, 0, 0, 1, 0x00 };
	static const uint8_t padded[] = { 0, 0, 0, 2, 0x00, 0x7f };
	static const uint8_t two_zeros[] = { 0, 0, 0, 3, 0x00, 0x00, 0x80 };
	static const uint8_t short_body[] = { 0, 0, 0, 4, 0x01 };
	static uint8_t huge[4 + 4096];

	(void)state;
	assert_mpint_rejected(negative, sizeof(negative), SSHBUF_E_FORMAT);
	assert_mpint_rejected(neg_long, sizeof(neg_long), SSHBUF_E_FORMAT);
	assert_mpint_rejected(lone_zero, sizeof(lone_zero), SSHBUF_E_FORMAT);
	assert_mpint_rejected(padded, sizeof(padded), SSHBUF_E_FORMAT);
	assert_mpint_rejected(two_zeros, sizeof(two_zeros), SSHBUF_E_FORMAT);
	assert_mpint_rejected(short_body, sizeof(short_body), SSHBUF_E_SHORT);
	huge[2] = 0x10; /* 4096 bytes: over the 16384-bit bignum cap */
	huge[4] = 0x01;
	assert_mpint_rejected(huge, sizeof(huge), SSHBUF_E_TOOBIG);
}

/* A string cut at every possible offset is SHORT and consumes nothing. */
static void test_string_truncated_everywhere(void **state)
{
	static const uint8_t wire[] = { 0, 0, 0, 6, 'a', 'b', 'c', 'd', 'e', 'f' };
	struct sshbuf v;
	const uint8_t *p;
	size_t len, cut;
	char s[16];

	(void)state;
	for (cut = 0; cut < sizeof(wire); cut++) {
		sshbuf_view(&v, wire, cut);
		assert_int_equal(sshbuf_get_string(&v, &p, &len), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_get_cstring(&v, s, sizeof(s)), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_get_mpint(&v, &p, &len), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_len(&v), cut);
	}
	sshbuf_view(&v, wire, sizeof(wire));
	assert_int_equal(sshbuf_get_string(&v, &p, &len), 0);
}

static void test_integers_truncated(void **state)
{
	static const uint8_t wire[8] = { 0 };
	struct sshbuf v;
	uint32_t u32;
	uint64_t u64;
	uint8_t out[8];
	size_t cut;

	(void)state;
	for (cut = 0; cut < 8; cut++) {
		sshbuf_view(&v, wire, cut);
		if (cut < 4)
			assert_int_equal(sshbuf_get_u32(&v, &u32), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_get_u64(&v, &u64), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_get(&v, out, cut + 1), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_consume(&v, cut + 1), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_len(&v), cut);
	}
}

static void test_oversized_length_fields(void **state)
{
	static const uint8_t all_ones[] = { 0xff, 0xff, 0xff, 0xff, 'x' };
	static const uint8_t just_over[] = { 0x00, 0x10, 0x00, 0x01, 'x' };    /* 1 MiB + 1 */
	static const uint8_t plausible[] = { 0x00, 0x00, 0x01, 0x00, 'x' };    /* 256 > 1 left */
	struct sshbuf v;
	const uint8_t *p;
	size_t len;
	char s[8];

	(void)state;
	sshbuf_view(&v, all_ones, sizeof(all_ones));
	assert_int_equal(sshbuf_get_string(&v, &p, &len), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_get_cstring(&v, s, sizeof(s)), SSHBUF_E_TOOBIG);
	sshbuf_view(&v, just_over, sizeof(just_over));
	assert_int_equal(sshbuf_get_string(&v, &p, &len), SSHBUF_E_TOOBIG);
	sshbuf_view(&v, plausible, sizeof(plausible));
	assert_int_equal(sshbuf_get_string(&v, &p, &len), SSHBUF_E_SHORT);
	assert_int_equal(sshbuf_len(&v), sizeof(plausible));
}

static void test_cstring_hostile(void **state)
{
	static const uint8_t nul_inside[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t nul_at_end[] = { 0, 0, 0, 2, 'a', 0 };
	static const uint8_t long_str[] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
	struct sshbuf v;
	char s[4];

	(void)state;
	sshbuf_view(&v, nul_inside, sizeof(nul_inside));
	assert_int_equal(sshbuf_get_cstring(&v, s, sizeof(s)), SSHBUF_E_FORMAT);
	assert_int_equal(sshbuf_len(&v), sizeof(nul_inside));
	sshbuf_view(&v, nul_at_end, sizeof(nul_at_end));
	assert_int_equal(sshbuf_get_cstring(&v, s, sizeof(s)), SSHBUF_E_FORMAT);
	sshbuf_view(&v, long_str, sizeof(long_str));
	assert_int_equal(sshbuf_get_cstring(&v, s, sizeof(s)), SSHBUF_E_TOOBIG); /* needs 5 */
	assert_int_equal(sshbuf_get_cstring(&v, s, 0), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_len(&v), sizeof(long_str));
}

static void test_max_enforced_on_every_put(void **state)
{
	struct sshbuf *b = new_buf(8);
	uint8_t *p;

	(void)state;
	assert_int_equal(sshbuf_put(b, "12345678", 8), 0);
	assert_int_equal(sshbuf_put_u8(b, 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_u32(b, 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_u64(b, 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_bool(b, 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_string(b, "", 0), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_cstring(b, ""), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_mpint(b, (const uint8_t *)"\x01", 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_reserve(b, 1, &p), SSHBUF_E_TOOBIG);
	assert_contents(b, "12345678", 8);
	sshbuf_reset(b);
	/* A string whose length fits but whose body does not leaves no partial write. */
	assert_int_equal(sshbuf_put(b, "ab", 2), 0);
	assert_int_equal(sshbuf_put_string(b, "xyz", 3), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put_mpint(b, (const uint8_t *)"\x80\x01", 2), SSHBUF_E_TOOBIG);
	assert_contents(b, "ab", 2);
	assert_true(b->alloc <= b->max);
	sshbuf_free(b);
}

static void test_new_limits(void **state)
{
	struct sshbuf *b;

	(void)state;
	assert_null(sshbuf_new(SSHBUF_SIZE_MAX + 1));
	b = new_buf(SSHBUF_SIZE_MAX);
	sshbuf_free(b);
	b = new_buf(0);
	assert_int_equal(sshbuf_put_u8(b, 1), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_put(b, "", 0), 0);
	sshbuf_free(b);
	sshbuf_free(NULL);
}

/* Fills a max-sized buffer in odd chunks: allocation grows but never beyond max,
 * and earlier data survives each reallocation. */
static void test_growth_up_to_max(void **state)
{
	static uint8_t chunk[1000];
	struct sshbuf *b = new_buf(SSHBUF_SIZE_MAX);
	size_t i, written = 0, reallocs = 0, last_alloc = b->alloc;
	int r;

	(void)state;
	for (i = 0;; i++) {
		memset(chunk, (int)(i & 0xff), sizeof(chunk));
		r = sshbuf_put(b, chunk, sizeof(chunk));
		if (r != 0)
			break;
		written += sizeof(chunk);
		if (b->alloc != last_alloc) {
			assert_true(b->alloc >= 2 * last_alloc || b->alloc == b->max);
			last_alloc = b->alloc;
			reallocs++;
		}
	}
	assert_int_equal(r, SSHBUF_E_TOOBIG);
	assert_int_equal(written, SSHBUF_SIZE_MAX / 1000 * 1000);
	assert_int_equal(b->alloc, SSHBUF_SIZE_MAX);
	assert_true(reallocs < 20); /* geometric, not one per put */
	assert_int_equal(sshbuf_put(b, chunk, SSHBUF_SIZE_MAX - written), 0);
	assert_int_equal(sshbuf_len(b), SSHBUF_SIZE_MAX);
	for (i = 0; i < written / sizeof(chunk); i++)
		assert_int_equal(sshbuf_ptr(b)[i * sizeof(chunk)], (uint8_t)(i & 0xff));
	sshbuf_free(b);
}

/* Consumed bytes are reclaimed when the max would otherwise be hit. */
static void test_consumed_space_reused(void **state)
{
	struct sshbuf *b = new_buf(8);
	uint32_t v;

	(void)state;
	assert_int_equal(sshbuf_put_u32(b, 1), 0);
	assert_int_equal(sshbuf_put_u32(b, 2), 0);
	assert_int_equal(sshbuf_get_u32(b, &v), 0);
	assert_int_equal(sshbuf_put_u32(b, 3), 0);
	assert_int_equal(sshbuf_get_u32(b, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(sshbuf_get_u32(b, &v), 0);
	assert_int_equal(v, 3);
	sshbuf_free(b);
}

static void test_put_from_own_storage(void **state)
{
	struct sshbuf *b = new_buf(4096);
	size_t i;

	(void)state;
	assert_int_equal(sshbuf_put(b, "0123456789", 10), 0);
	/* Doubling from its own bytes forces reallocations while the source is inside b. */
	for (i = 0; i < 8; i++)
		assert_int_equal(sshbuf_put(b, sshbuf_ptr(b), sshbuf_len(b)), 0);
	assert_int_equal(sshbuf_len(b), 2560);
	for (i = 0; i < 2560; i++)
		assert_int_equal(sshbuf_ptr(b)[i], '0' + i % 10);
	assert_int_equal(sshbuf_put_string(b, sshbuf_ptr(b), 10), 0);
	assert_memory_equal(sshbuf_ptr(b) + 2560 + 4, "0123456789", 10);
	sshbuf_free(b);
}

static void test_readonly_view(void **state)
{
	static const uint8_t data[] = { 1, 2, 3, 4 };
	struct sshbuf v;
	uint8_t *p;

	(void)state;
	sshbuf_view(&v, data, sizeof(data));
	assert_contents(&v, data, sizeof(data));
	assert_int_equal(sshbuf_put_u8(&v, 1), SSHBUF_E_READONLY);
	assert_int_equal(sshbuf_put(&v, "", 0), SSHBUF_E_READONLY);
	assert_int_equal(sshbuf_put_string(&v, "a", 1), SSHBUF_E_READONLY);
	assert_int_equal(sshbuf_put_mpint(&v, data, 1), SSHBUF_E_READONLY);
	assert_int_equal(sshbuf_reserve(&v, 1, &p), SSHBUF_E_READONLY);
	assert_int_equal(sshbuf_poke_u32(&v, 0, 9), SSHBUF_E_READONLY);
	assert_memory_equal(data, "\x01\x02\x03\x04", 4);
	sshbuf_free(&v); /* a view is not ours to free: must be a no-op */
}

static void test_poke_and_reserve(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0 };
	struct sshbuf *b = new_buf(16);
	uint8_t *p;

	(void)state;
	assert_int_equal(sshbuf_reserve(b, 10, &p), 0);
	assert_int_equal(sshbuf_poke_u32(b, 4, 0xdeadbeef), 0);
	assert_contents(b, want, sizeof(want));
	assert_int_equal(sshbuf_poke_u32(b, 6, 1), 0);
	assert_int_equal(sshbuf_poke_u32(b, 7, 1), SSHBUF_E_SHORT);
	assert_int_equal(sshbuf_poke_u32(b, 10, 1), SSHBUF_E_SHORT);
	assert_int_equal(sshbuf_poke_u32(b, (size_t)-1, 1), SSHBUF_E_SHORT);
	sshbuf_free(b);
}

static void test_reset_wipes(void **state)
{
	struct sshbuf *b = new_buf(64);
	size_t i;

	(void)state;
	assert_int_equal(sshbuf_put_cstring(b, "secret PIN"), 0);
	sshbuf_reset(b);
	assert_int_equal(sshbuf_len(b), 0);
	for (i = 0; i < 14; i++)
		assert_int_equal(b->d[i], 0);
	assert_int_equal(sshbuf_put_u8(b, 7), 0);
	assert_contents(b, "\x07", 1);
	sshbuf_free(b);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(sshbuf_strerror(SSHBUF_E_SHORT), "message truncated");
	assert_string_not_equal(sshbuf_strerror(SSHBUF_E_TOOBIG), sshbuf_strerror(SSHBUF_E_FORMAT));
	assert_non_null(sshbuf_strerror(-99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_round_trip),
		cmocka_unit_test(test_bool_nonzero_is_true),
		cmocka_unit_test(test_strings_round_trip),
		cmocka_unit_test(test_mpint_rfc4251_vectors),
		cmocka_unit_test(test_mpint_hostile),
		cmocka_unit_test(test_string_truncated_everywhere),
		cmocka_unit_test(test_integers_truncated),
		cmocka_unit_test(test_oversized_length_fields),
		cmocka_unit_test(test_cstring_hostile),
		cmocka_unit_test(test_max_enforced_on_every_put),
		cmocka_unit_test(test_new_limits),
		cmocka_unit_test(test_growth_up_to_max),
		cmocka_unit_test(test_consumed_space_reused),
		cmocka_unit_test(test_put_from_own_storage),
		cmocka_unit_test(test_readonly_view),
		cmocka_unit_test(test_poke_and_reserve),
		cmocka_unit_test(test_reset_wipes),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
