/* test_pgpkey: gpg's secret-key transfer format: an unprotected and an S2K-protected
 * P-256 key made here (d = 1, Q = G), wrong passphrases, checksums and public keys,
 * Ed25519 and stub keys refused, every truncation refused, and the S2K modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../protocol/pgpkey.h"
#include "../../protocol/sexp.h"

static const uint8_t G256[65] = {
	0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
	0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39,
	0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e,
	0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e,
	0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};
static const uint8_t SALT[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t IV[16] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9 };
static struct pgpkey key;

/* (openpgp-private-key (version 4) (algo ALGO) (curve NIST P-256) (skey _ G <tail>)
 * (csum N) (protection ...)) */
static size_t build(uint8_t *out, const char *algo, const uint8_t *tail, size_t tail_len,
		    const char *csum, const uint8_t *prot, size_t prot_len)
{
	struct sshbuf *b = sshbuf_new(8192);
	size_t n;

	assert_non_null(b);
	assert_int_equal(sshbuf_put(b, "(19:openpgp-private-key(7:version1:4)(4:algo", 44), 0);
	assert_int_equal(sexp_put_str(b, algo), 0);
	assert_int_equal(sshbuf_put(b, ")(5:curve10:NIST P-256)(4:skey1:_65:", 36), 0);
	assert_int_equal(sshbuf_put(b, G256, sizeof(G256)), 0);
	assert_int_equal(sshbuf_put(b, tail, tail_len), 0);
	assert_int_equal(sshbuf_put(b, ")(4:csum", 8), 0);
	assert_int_equal(sexp_put_str(b, csum), 0);
	assert_int_equal(sshbuf_put(b, ")", 1), 0);
	assert_int_equal(sshbuf_put(b, prot, prot_len), 0);
	assert_int_equal(sshbuf_put(b, ")\0\0\0", 4), 0); /* gpg's padding */
	n = sshbuf_len(b);
	memcpy(out, sshbuf_ptr(b), n);
	sshbuf_free(b);
	return n;
}

static size_t plain_key(uint8_t *out)
{
	static const char prot[] = "(10:protection4:none)";

	/* d = 1: OpenPGP MPI 00 01 01, checksum 2 */
	return build(out, "ecdsa", (const uint8_t *)"1:_1:\x01", 6, "2", (const uint8_t *)prot,
		     sizeof(prot) - 1);
}

/* d = 1 protected as gpg 2.2 does: SHA-1 check, AES-128 CFB, iterated S2K over SHA1. */
static size_t protected_key(uint8_t *out, const char *pass)
{
	uint8_t plain[3 + 20] = { 0x00, 0x01, 0x01 }, enc[sizeof(plain)], k[16];
	uint8_t tail[64], prot[128];
	size_t tl, pl;
	int outl;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	EVP_Digest(plain, 3, plain + 3, NULL, EVP_sha1(), NULL);
	assert_int_equal(pgpkey_s2k("SHA1", 3, SALT, 65536, pass, strlen(pass), k, sizeof(k)), 0);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_cfb128(), NULL, k, IV), 1);
	assert_int_equal(EVP_EncryptUpdate(c, enc, &outl, plain, sizeof(plain)), 1);
	EVP_CIPHER_CTX_free(c);
	memcpy(tail, "1:e23:", 6);
	memcpy(tail + 6, enc, sizeof(enc));
	tl = 6 + sizeof(enc);
	/* count byte 96 decodes to 65536 */
	pl = (size_t)snprintf((char *)prot, sizeof(prot), "(10:protection4:sha13:AES16:");
	memcpy(prot + pl, IV, 16);
	pl += 16;
	memcpy(prot + pl, "1:34:SHA18:", 11);
	pl += 11;
	memcpy(prot + pl, SALT, 8);
	pl += 8;
	memcpy(prot + pl, "2:96)", 5);
	pl += 5;
	return build(out, "ecdsa", tail, tl, "0", prot, pl);
}

static void test_plain(void **state)
{
	uint8_t buf[1024];
	size_t n = plain_key(buf);
	struct sshkey_pub pub;

	(void)state;
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), 0);
	assert_int_equal(key.type, SSHKEY_ECDSA_P256);
	assert_false(pgpkey_is_protected(&key));
	assert_int_equal(pgpkey_unprotect(&key, "", 0, NULL), 0);
	assert_int_equal(key.sec[0].len, 1);
	assert_int_equal(key.sec[0].b[0], 1);
	assert_int_equal(pgpkey_public(&key, &pub), 0);
	assert_memory_equal(pub.q, G256, 65);
}

static void test_plain_bad_checksum(void **state)
{
	static const char prot[] = "(10:protection4:none)";
	uint8_t buf[1024];
	size_t n = build(buf, "ecdsa", (const uint8_t *)"1:_1:\x01", 6, "3", (const uint8_t *)prot,
			 sizeof(prot) - 1);

	(void)state;
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), 0);
	assert_int_equal(pgpkey_unprotect(&key, "", 0, NULL), PGPKEY_E_BAD_KEY);
}

static void test_secret_not_matching(void **state)
{
	static const char prot[] = "(10:protection4:none)";
	uint8_t buf[1024];
	/* d = 2 with Q = G: checksum right (00 02 02 -> 4), pair wrong */
	size_t n = build(buf, "ecdh", (const uint8_t *)"1:_1:\x02", 6, "4", (const uint8_t *)prot,
			 sizeof(prot) - 1);

	(void)state;
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), 0);
	assert_int_equal(key.algo, PGPKEY_ECDH);
	assert_int_equal(pgpkey_unprotect(&key, "", 0, NULL), PGPKEY_E_BAD_KEY);
}

static void test_protected(void **state)
{
	uint8_t buf[1024];
	size_t n = protected_key(buf, "correct horse");
	const char *msg = NULL;

	(void)state;
	assert_int_equal(pgpkey_parse(buf, n, &key, &msg), 0);
	assert_true(pgpkey_is_protected(&key));
	assert_int_equal(key.s2k_count, 65536);
	assert_int_equal(pgpkey_unprotect(&key, "wrong", 5, &msg), PGPKEY_E_PASSPHRASE);
	assert_int_equal(pgpkey_unprotect(&key, "", 0, &msg), PGPKEY_E_PASSPHRASE);
	assert_int_equal(pgpkey_unprotect(&key, "correct horse", 13, &msg), 0);
	assert_int_equal(key.sec[0].len, 1);
	assert_int_equal(key.sec[0].b[0], 1);
}

static void test_truncations(void **state)
{
	uint8_t buf[1024];
	size_t n = protected_key(buf, "pw") - 3; /* without the padding */

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(pgpkey_parse(buf, i, &key, NULL), 0);
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), 0);
}

static void test_refused(void **state)
{
	static const char prot[] = "(10:protection4:none)";
	uint8_t buf[1024];
	size_t n = build(buf, "eddsa", (const uint8_t *)"1:_1:\x01", 6, "2", (const uint8_t *)prot,
			 sizeof(prot) - 1);
	const char *msg = NULL;

	(void)state;
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), 0);
	assert_int_equal(key.type, SSHKEY_UNSPEC);
	assert_int_equal(pgpkey_unprotect(&key, "", 0, NULL), PGPKEY_E_UNSUPPORTED);
	n = build(buf, "dsa", (const uint8_t *)"1:_1:\x01", 6, "2", (const uint8_t *)prot,
		  sizeof(prot) - 1);
	assert_int_equal(pgpkey_parse(buf, n, &key, NULL), PGPKEY_E_UNSUPPORTED);
	n = (size_t)snprintf((char *)buf, sizeof(buf), "(19:openpgp-private-key(7:version1:3))");
	assert_int_equal(pgpkey_parse(buf, n, &key, &msg), PGPKEY_E_UNSUPPORTED);
	n = (size_t)snprintf((char *)buf, sizeof(buf), "(11:private-key(3:rsa))");
	assert_int_equal(pgpkey_parse(buf, n, &key, &msg), PGPKEY_E_SYNTAX);
}

static void test_s2k(void **state)
{
	uint8_t a[40], b[40], d[20];

	(void)state;
	/* simple: SHA1(pass); a second hash (preloaded with one zero) extends the key */
	assert_int_equal(pgpkey_s2k("SHA1", 0, SALT, 0, "abc", 3, a, 32), 0);
	EVP_Digest("abc", 3, d, NULL, EVP_sha1(), NULL);
	assert_memory_equal(a, d, 20);
	EVP_Digest("\0abc", 4, d, NULL, EVP_sha1(), NULL);
	assert_memory_equal(a + 20, d, 12);
	/* salted = iterated with a count below salt+pass */
	assert_int_equal(pgpkey_s2k("SHA1", 1, SALT, 0, "abc", 3, a, 16), 0);
	assert_int_equal(pgpkey_s2k("SHA1", 3, SALT, 1, "abc", 3, b, 16), 0);
	assert_memory_equal(a, b, 16);
	/* iterated: salt||pass repeated to count bytes, the last copy cut */
	{
		uint8_t in[24];

		for (int i = 0; i < 2; i++) {
			memcpy(in + 11 * i, SALT, 8);
			memcpy(in + 11 * i + 8, "abc", 3);
		}
		memcpy(in + 22, SALT, 2);
		EVP_Digest(in, 24, d, NULL, EVP_sha1(), NULL);
		assert_int_equal(pgpkey_s2k("SHA1", 3, SALT, 24, "abc", 3, a, 16), 0);
		assert_memory_equal(a, d, 16);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_bad_checksum),
		cmocka_unit_test(test_secret_not_matching),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_s2k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
