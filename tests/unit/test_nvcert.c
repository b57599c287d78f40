/* test_nvcert: the NV certificate image (header + blob) and index choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../protocol/nvcert.h"
#include "../../protocol/sshbuf.h"

static const uint8_t blob[] = { 0, 0, 0, 40, 'e', 'c', 'd', 's', 'a', 1, 2, 3, 4, 5 };

static void test_round_trip(void **state)
{
	uint8_t img[512];
	size_t len;
	char name[NVCERT_NAME_MAX], comment[NVCERT_COMMENT_MAX];
	const uint8_t *b;
	size_t bl;

	(void)state;
	assert_int_equal(nvcert_encode("work", "alice@laptop", blob, sizeof(blob), img, sizeof(img), &len), 0);
	assert_int_equal(len, NVCERT_HEADER_LEN + 4 + 12 + sizeof(blob));
	assert_memory_equal(img, "TPAC", 4);
	/* An index is often larger than the image: trailing bytes are ignored. */
	memset(img + len, 0xff, 16);
	assert_int_equal(nvcert_decode(img, len + 16, name, comment, &b, &bl), 0);
	assert_string_equal(name, "work");
	assert_string_equal(comment, "alice@laptop");
	assert_int_equal(bl, sizeof(blob));
	assert_memory_equal(b, blob, bl);
}

static void test_hostile_images(void **state)
{
	uint8_t img[512], bad[512];
	size_t len;
	char name[NVCERT_NAME_MAX], comment[NVCERT_COMMENT_MAX];
	const uint8_t *b;
	size_t bl;

	(void)state;
	assert_int_equal(nvcert_encode("k", NULL, blob, sizeof(blob), img, sizeof(img), &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_not_equal(nvcert_decode(img, cut, name, comment, &b, &bl), 0);
	memcpy(bad, img, len);
	bad[0] = 'X';
	assert_int_equal(nvcert_decode(bad, len, name, comment, &b, &bl), SSHBUF_E_FORMAT);
	memcpy(bad, img, len);
	bad[4] = 2; /* unknown version */
	assert_int_equal(nvcert_decode(bad, len, name, comment, &b, &bl), SSHBUF_E_FORMAT);
	memcpy(bad, img, len);
	bad[5] = 0; /* empty name */
	assert_int_equal(nvcert_decode(bad, len, name, comment, &b, &bl), SSHBUF_E_FORMAT);
	memcpy(bad, img, len);
	bad[8] = 0xff; /* blob longer than the image */
	assert_int_equal(nvcert_decode(bad, len, name, comment, &b, &bl), SSHBUF_E_SHORT);
	memcpy(bad, img, len);
	bad[NVCERT_HEADER_LEN] = '\n'; /* control character in the name */
	assert_int_equal(nvcert_decode(bad, len, name, comment, &b, &bl), SSHBUF_E_FORMAT);
	memset(bad, 0xff, sizeof(bad)); /* an erased index */
	assert_int_equal(nvcert_decode(bad, sizeof(bad), name, comment, &b, &bl), SSHBUF_E_FORMAT);
}

static void test_encode_limits(void **state)
{
	uint8_t img[64];
	size_t len;
	char long_name[NVCERT_NAME_MAX + 1];

	(void)state;
	memset(long_name, 'n', NVCERT_NAME_MAX);
	long_name[NVCERT_NAME_MAX] = '\0';
	assert_int_equal(nvcert_encode(long_name, NULL, blob, sizeof(blob), img, sizeof(img), &len), SSHBUF_E_FORMAT);
	assert_int_equal(nvcert_encode("", NULL, blob, sizeof(blob), img, sizeof(img), &len), SSHBUF_E_FORMAT);
	assert_int_equal(nvcert_encode("k", NULL, blob, 0, img, sizeof(img), &len), SSHBUF_E_FORMAT);
	assert_int_equal(nvcert_encode("k", NULL, blob, sizeof(blob), img, 20, &len), SSHBUF_E_TOOBIG);
}

static void test_index_choice(void **state)
{
	(void)state;
	/* FNV-1a known answers: "" and "a" (Fowler/Noll/Vo reference values). */
	assert_int_equal(nvcert_fnv1a(""), 0x811c9dc5u);
	assert_int_equal(nvcert_fnv1a("a"), 0xe40c292cu);
	assert_int_equal(nvcert_fnv1a("foobar"), 0xbf9cf968u);
	for (unsigned p = 0; p < NVCERT_PROBES; p++) {
		uint32_t i = nvcert_index(NVCERT_BASE_INDEX, "work", p);

		assert_true(i >= NVCERT_BASE_INDEX && i < NVCERT_BASE_INDEX + NVCERT_INDEX_SPAN);
		if (p > 0)
			assert_int_not_equal(i, nvcert_index(NVCERT_BASE_INDEX, "work", p - 1));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_images),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_index_choice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
