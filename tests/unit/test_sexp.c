/* test_sexp: the S-expression parser against hostile input (every truncation, depth
 * and length bombs, non-canonical forms) and the builders' exact output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/sexp.h"

static struct sexp_tree tree;

static int parse(const char *s, int flags)
{
	return sexp_parse((const uint8_t *)s, strlen(s), flags, &tree);
}

static void test_enc_val(void **state)
{
	static const char ct[] = "(7:enc-val(5:flags)(4:ecdh(1:s3:abc)(1:e2:\x04\x01)))";
	const uint8_t *p;
	size_t len;
	int ecdh;

	(void)state;
	assert_int_equal(sexp_parse((const uint8_t *)ct, sizeof(ct) - 1, SEXP_CANONICAL, &tree), 0);
	assert_true(sexp_list_named(&tree, 0, "enc-val"));
	assert_int_equal(sexp_find(&tree, 0, "rsa"), SEXP_NONE);
	ecdh = sexp_find(&tree, 0, "ecdh");
	assert_int_not_equal(ecdh, SEXP_NONE);
	assert_int_equal(sexp_find_value(&tree, ecdh, "s", &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(sexp_find_value(&tree, ecdh, "e", &p, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(p[0], 4);
	assert_int_equal(sexp_find_value(&tree, ecdh, "x", &p, &len), -1);
	assert_int_equal(sexp_find_value(&tree, 0, "flags", &p, &len), -1); /* no value */
}

static void test_binary_atoms(void **state)
{
	static const uint8_t in[] = { '(', '1', ':', 'a', '3', ':', 0, ')', '(', ')' };

	(void)state;
	assert_int_equal(sexp_parse(in, sizeof(in), SEXP_CANONICAL, &tree), 0);
	assert_int_equal(tree.nodes[2].len, 3);
	assert_memory_equal(tree.nodes[2].data, "\0)(", 3);
	assert_int_equal(parse("(0:)", SEXP_CANONICAL), 0);
	assert_int_equal(tree.nodes[1].len, 0);
}

static void test_genkey_tokens(void **state)
{
	const uint8_t *p;
	size_t len;
	int alg;

	(void)state;
	assert_int_equal(parse("(genkey(ecc(curve 10:NIST P-256)(flags nocomp)))", SEXP_ALLOW_TOKENS), 0);
	alg = sexp_nth(&tree, 0, 1);
	assert_true(sexp_list_named(&tree, alg, "ecc"));
	assert_int_equal(sexp_find_value(&tree, alg, "curve", &p, &len), 0);
	assert_int_equal(sexp_curve_type(p, len), SSHKEY_ECDSA_P256);
	assert_int_equal(parse("(genkey(rsa(nbits 4:3072)))", SEXP_ALLOW_TOKENS), 0);
	assert_int_equal(parse(" (genkey (rsa (nbits 4:3072))) ", SEXP_ALLOW_TOKENS), 0);
	/* The same text is not canonical. */
	assert_int_equal(parse("(genkey(rsa(nbits 4:3072)))", SEXP_CANONICAL), SEXP_E_SYNTAX);
}

static void test_non_canonical(void **state)
{
	static const char *const bad[] = {
		"(3:abc", "3:abc", "(03:abc)", "(00:)", "(3:abc))", "(3:abc)(3:abc)", "()x",
		"(\"abc\")", "(#616263#)", "(|YWJj|)", "([4:text]3:abc)", "( 3:abc)", "(abc)",
		"(3abc)", "(-1:a)", ")(", "(3:abc) ", "\x00", "(\n)",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(parse(bad[i], SEXP_CANONICAL), 0);
	assert_int_not_equal(sexp_parse(NULL, 0, SEXP_CANONICAL, &tree), 0);
	/* Tokens never start with a digit, and quoted strings stay refused. */
	assert_int_not_equal(parse("(genkey \"x\")", SEXP_ALLOW_TOKENS), 0);
	assert_int_not_equal(parse("genkey", SEXP_ALLOW_TOKENS), 0);
}

/* Every proper prefix of a valid expression fails, and never reads past the end. */
static void test_every_truncation(void **state)
{
	static const char ok[] = "(7:sig-val(5:ecdsa(1:r3:\x01\x02\x03)(1:s2:\xff\x00)))";
	size_t n = sizeof(ok) - 1;

	(void)state;
	assert_int_equal(sexp_parse((const uint8_t *)ok, n, SEXP_CANONICAL, &tree), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t *copy = malloc(i ? i : 1); /* exact size: ASan/valgrind see overreads */

		memcpy(copy, ok, i);
		assert_int_not_equal(sexp_parse(copy, i, SEXP_CANONICAL, &tree), 0);
		free(copy);
	}
}

static void test_depth_bomb(void **state)
{
	char deep[2 * (SEXP_MAX_DEPTH + 1) + 1];
	size_t d;

	(void)state;
	for (d = SEXP_MAX_DEPTH; d <= SEXP_MAX_DEPTH + 1; d++) {
		memset(deep, '(', d);
		memset(deep + d, ')', d);
		deep[2 * d] = '\0';
		assert_int_equal(parse(deep, SEXP_CANONICAL), d <= SEXP_MAX_DEPTH ? 0 : SEXP_E_TOOBIG);
	}
}

static void test_length_overflow(void **state)
{
	static const char *const bad[] = {
		"(99999999999999999999999:a)", "(18446744073709551616:a)", "(4294967297:a)",
		"(8193:a)", "(5:abc)", "(1",
	};
	char *big = malloc(SEXP_MAX_LEN + 2);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(parse(bad[i], SEXP_CANONICAL), 0);
	memset(big, '(', SEXP_MAX_LEN + 1);
	assert_int_equal(sexp_parse((uint8_t *)big, SEXP_MAX_LEN + 1, SEXP_CANONICAL, &tree),
			 SEXP_E_TOOBIG);
	free(big);
}

static void test_node_bomb(void **state)
{
	char s[2 + 4 * (SEXP_MAX_NODES + 1) + 1];
	size_t o = 0;

	(void)state;
	s[o++] = '(';
	for (int i = 0; i < SEXP_MAX_NODES; i++)
		o += (size_t)sprintf(s + o, "1:a");
	s[o++] = ')';
	s[o] = '\0';
	assert_int_equal(parse(s, SEXP_CANONICAL), SEXP_E_TOOBIG); /* one list + 128 atoms */
}

static void assert_buf(struct sshbuf *b, const void *want, size_t len)
{
	assert_int_equal(sshbuf_len(b), len);
	assert_memory_equal(sshbuf_ptr(b), want, len);
	sshbuf_reset(b);
}

static void test_builders(void **state)
{
	struct sshbuf *b = sshbuf_new(4096);
	static const uint8_t r[] = { 0, 0, 0x81, 2 }, s[] = { 0x7f };
	static const uint8_t want_ecdsa[] = "(7:sig-val(5:ecdsa(1:r2:\x81\x02)(1:s1:\x7f)))";
	static const uint8_t want_rsa[] = "(7:sig-val(3:rsa(1:s4:\x00\x00\x81\x02)))";
	static const uint8_t want_val[] = "(5:value3:\x04\x01\x02)";

	(void)state;
	assert_non_null(b);
	assert_int_equal(sexp_build_sig_ecdsa(r, sizeof(r), s, sizeof(s), b), 0);
	assert_buf(b, want_ecdsa, sizeof(want_ecdsa) - 1);
	assert_int_equal(sexp_build_sig_rsa(r + 2, 2, 4, b), 0);
	assert_buf(b, want_rsa, sizeof(want_rsa) - 1);
	assert_int_not_equal(sexp_build_sig_rsa(r, 4, 1, b), 0);
	sshbuf_reset(b);
	assert_int_equal(sexp_build_value((const uint8_t *)"\x04\x01\x02", 3, b), 0);
	assert_buf(b, want_val, sizeof(want_val) - 1);
	assert_int_equal(sexp_put_mpi(b, r, sizeof(r)), 0);
	assert_buf(b, "3:\x00\x81\x02", 5);
	sshbuf_free(b);
}

static void test_public_key_round_trip(void **state)
{
	struct sshbuf *b = sshbuf_new(4096);
	struct sshkey_pub k;
	const uint8_t *p;
	size_t len;
	int alg;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.type = SSHKEY_RSA;
	k.n_len = 256;
	memset(k.n, 0xC5, 256);
	k.e_len = 3;
	memcpy(k.e, "\x01\x00\x01", 3);
	assert_int_equal(sexp_build_public_key(&k, b), 0);
	assert_memory_equal(sshbuf_ptr(b), "(10:public-key(3:rsa(1:n257:\x00\xc5", 30);
	assert_int_equal(sexp_parse(sshbuf_ptr(b), sshbuf_len(b), SEXP_CANONICAL, &tree), 0);
	alg = sexp_find(&tree, 0, "rsa");
	assert_int_equal(sexp_find_value(&tree, alg, "e", &p, &len), 0);
	assert_int_equal(len, 3);
	sshbuf_reset(b);

	memset(&k, 0, sizeof(k));
	k.type = SSHKEY_ECDSA_P384;
	k.q_len = 97;
	k.q[0] = 4;
	assert_int_equal(sexp_build_public_key(&k, b), 0);
	assert_memory_equal(sshbuf_ptr(b), "(10:public-key(3:ecc(5:curve10:NIST P-384)(1:q97:\x04", 50);
	assert_int_equal(sexp_parse(sshbuf_ptr(b), sshbuf_len(b), SEXP_CANONICAL, &tree), 0);
	alg = sexp_find(&tree, 0, "ecc");
	assert_int_equal(sexp_find_value(&tree, alg, "curve", &p, &len), 0);
	assert_int_equal(sexp_curve_type(p, len), SSHKEY_ECDSA_P384);
	assert_int_equal(sexp_find_value(&tree, alg, "q", &p, &len), 0);
	assert_int_equal(len, 97);
	sshbuf_free(b);
}

static void test_curve_names(void **state)
{
	(void)state;
	assert_int_equal(sexp_curve_type((const uint8_t *)"nistp521", 8), SSHKEY_ECDSA_P521);
	assert_int_equal(sexp_curve_type((const uint8_t *)"Ed25519", 7), SSHKEY_UNSPEC);
	assert_int_equal(sexp_curve_type((const uint8_t *)"NIST P-25", 9), SSHKEY_UNSPEC);
	assert_string_equal(sexp_curve_name(SSHKEY_ECDSA_P256), "NIST P-256");
	assert_null(sexp_curve_name(SSHKEY_RSA));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_val),
		cmocka_unit_test(test_binary_atoms),
		cmocka_unit_test(test_genkey_tokens),
		cmocka_unit_test(test_non_canonical),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_depth_bomb),
		cmocka_unit_test(test_length_overflow),
		cmocka_unit_test(test_node_bomb),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_public_key_round_trip),
		cmocka_unit_test(test_curve_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
