/* test_keygrip: keygrips against the libgcrypt vectors in shared/REFERENCE.md §6
 * (checked there with gpg --with-keygrip), plus refusal of malformed keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../protocol/keygrip.h"

/* Curve generators (SEC 2 / FIPS 186-4), uncompressed 04||X||Y. */
static const char *const gen_p256 =
	"04"
	"6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
	"4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5";
static const char *const gen_p384 =
	"04"
	"AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A38"
	"5502F25DBF55296C3A545E3872760AB7"
	"3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C0"
	"0A60B1CE1D7E819D7A431D7C90EA0E5F";
static const char *const gen_p521 =
	"04"
	"00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D"
	"3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66"
	"011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E66"
	"2C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2, i;
	unsigned v;

	assert_true(n <= cap);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static struct sshkey_pub ec_key(enum sshkey_type t, const char *q_hex)
{
	struct sshkey_pub k;

	memset(&k, 0, sizeof(k));
	k.type = t;
	k.q_len = unhex(q_hex, k.q, sizeof(k.q));
	return k;
}

/* A 256-byte modulus top || 00.. || 01, exponent 65537. */
static struct sshkey_pub rsa_key(uint8_t top)
{
	struct sshkey_pub k;

	memset(&k, 0, sizeof(k));
	k.type = SSHKEY_RSA;
	k.n_len = 256;
	k.n[0] = top;
	k.n[255] = 0x01;
	k.e_len = 3;
	k.e[0] = 0x01;
	k.e[2] = 0x01;
	return k;
}

static void assert_grip(const struct sshkey_pub *k, const char *expected)
{
	char hex[KEYGRIP_HEX_LEN];
	uint8_t raw[KEYGRIP_LEN], want[KEYGRIP_LEN];

	assert_int_equal(keygrip_hex(k, hex), 0);
	assert_string_equal(hex, expected);
	assert_int_equal(keygrip_compute(k, raw), 0);
	unhex(expected, want, sizeof(want));
	assert_memory_equal(raw, want, KEYGRIP_LEN);
}

static void test_p256_generator(void **state)
{
	struct sshkey_pub k = ec_key(SSHKEY_ECDSA_P256, gen_p256);

	(void)state;
	assert_grip(&k, "95852E917FE2C39152BA998192B5791DB15CDCF0");
}

static void test_p384_generator(void **state)
{
	struct sshkey_pub k = ec_key(SSHKEY_ECDSA_P384, gen_p384);

	(void)state;
	assert_grip(&k, "CACDC8B39C5DAD77B9EE85F9B99805111BBFFA34");
}

static void test_p521_generator(void **state)
{
	struct sshkey_pub k = ec_key(SSHKEY_ECDSA_P521, gen_p521);

	(void)state;
	assert_grip(&k, "B5A5C8618B1F318B75F2ABAC1398167B1BF489B7");
}

static void test_rsa_top_bit_set(void **state)
{
	struct sshkey_pub k = rsa_key(0x80);

	(void)state;
	assert_grip(&k, "00BD4BD5ECD7F189D4D3C3BAC79323B648739DDB");
}

static void test_rsa_top_bit_clear(void **state)
{
	struct sshkey_pub k = rsa_key(0x7F);

	(void)state;
	assert_grip(&k, "9519FC0856EE53088B8656697318385360F9E6DA");
}

/* The exponent is not hashed: changing it must not change the grip. */
static void test_rsa_exponent_ignored(void **state)
{
	struct sshkey_pub k = rsa_key(0x80);

	(void)state;
	k.e_len = 1;
	k.e[0] = 3;
	assert_grip(&k, "00BD4BD5ECD7F189D4D3C3BAC79323B648739DDB");
}

/* The curve name is not hashed, but the curve parameters are: the P-256 point
 * presented as another curve's key is refused (wrong length), and a changed
 * point changes the grip. */
static void test_ec_point_changes_grip(void **state)
{
	struct sshkey_pub k = ec_key(SSHKEY_ECDSA_P256, gen_p256);
	char hex[KEYGRIP_HEX_LEN];

	(void)state;
	k.q[64] ^= 1;
	assert_int_equal(keygrip_hex(&k, hex), 0);
	assert_string_not_equal(hex, "95852E917FE2C39152BA998192B5791DB15CDCF0");
}

static void test_malformed_keys_refused(void **state)
{
	struct sshkey_pub k = ec_key(SSHKEY_ECDSA_P384, gen_p256);
	uint8_t grip[KEYGRIP_LEN];

	(void)state;
	assert_int_not_equal(keygrip_compute(&k, grip), 0); /* 65-byte point on P-384 */
	k = ec_key(SSHKEY_ECDSA_P256, gen_p256);
	k.q[0] = 0x02; /* compressed form is not what libgcrypt hashes */
	assert_int_not_equal(keygrip_compute(&k, grip), 0);
	k = rsa_key(0x80);
	k.n_len = 0;
	assert_int_not_equal(keygrip_compute(&k, grip), 0);
	memset(&k, 0, sizeof(k));
	assert_int_not_equal(keygrip_compute(&k, grip), 0); /* SSHKEY_UNSPEC */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256_generator),
		cmocka_unit_test(test_p384_generator),
		cmocka_unit_test(test_p521_generator),
		cmocka_unit_test(test_rsa_top_bit_set),
		cmocka_unit_test(test_rsa_top_bit_clear),
		cmocka_unit_test(test_rsa_exponent_ignored),
		cmocka_unit_test(test_ec_point_changes_grip),
		cmocka_unit_test(test_malformed_keys_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
