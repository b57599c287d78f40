/* test_softkey: ssh-add's key messages for OpenSSL-made keys parsed, signed with and
 * verified by OpenSSL; truncated, mismatched and hostile messages refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "../../keystore/softkey.h"

static const uint8_t message[] = "session id and userauth request, say";

/* ---- building ADD_IDENTITY key bodies from OpenSSL keys ---- */

static struct sshbuf *new_buf(void)
{
	struct sshbuf *b = sshbuf_new(64 * 1024);

	assert_non_null(b);
	return b;
}

static void put_bn_param(struct sshbuf *b, EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
	n = BN_bn2bin(bn, buf);
	assert_int_equal(sshbuf_put_mpint(b, buf, (size_t)n), 0);
	BN_clear_free(bn);
}

static void put_ed25519(struct sshbuf *b, EVP_PKEY *pkey)
{
	uint8_t pub[32], sk[64];
	size_t len = 32;

	assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, pub, &len), 1);
	len = 32;
	assert_int_equal(EVP_PKEY_get_raw_private_key(pkey, sk, &len), 1);
	memcpy(sk + 32, pub, 32);
	assert_int_equal(sshbuf_put_cstring(b, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(b, pub, 32), 0);
	assert_int_equal(sshbuf_put_string(b, sk, 64), 0);
}

static const char *curve_of(int bits)
{
	return bits == 256 ? "nistp256" : bits == 384 ? "nistp384" : "nistp521";
}

static void put_ecdsa(struct sshbuf *b, EVP_PKEY *pkey, int bits)
{
	uint8_t q[160];
	size_t q_len;
	char type[32];

	snprintf(type, sizeof(type), "ecdsa-sha2-%s", curve_of(bits));
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, q,
							 sizeof(q), &q_len), 1);
	assert_int_equal(sshbuf_put_cstring(b, type), 0);
	assert_int_equal(sshbuf_put_cstring(b, curve_of(bits)), 0);
	assert_int_equal(sshbuf_put_string(b, q, q_len), 0);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_PRIV_KEY);
}

static void put_rsa(struct sshbuf *b, EVP_PKEY *pkey)
{
	assert_int_equal(sshbuf_put_cstring(b, "ssh-rsa"), 0);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_N);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_E);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_D);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_FACTOR1);
	put_bn_param(b, pkey, OSSL_PKEY_PARAM_RSA_FACTOR2);
}

enum kind { ED, EC256, EC384, EC521, RSA2048 };

static EVP_PKEY *make_key(enum kind kind)
{
	EVP_PKEY *pkey = kind == ED ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
			 kind == RSA2048 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
			 EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind == EC256 ? "P-256" :
					   kind == EC384 ? "P-384" : "P-521");

	assert_non_null(pkey);
	return pkey;
}

/* The key part of an ADD_IDENTITY body for pkey, with comment (and no constraints). */
static struct sshbuf *key_body(EVP_PKEY *pkey, enum kind kind, const char *comment)
{
	struct sshbuf *b = new_buf();

	if (kind == ED)
		put_ed25519(b, pkey);
	else if (kind == RSA2048)
		put_rsa(b, pkey);
	else
		put_ecdsa(b, pkey, kind == EC256 ? 256 : kind == EC384 ? 384 : 521);
	assert_int_equal(sshbuf_put_cstring(b, comment), 0);
	return b;
}

static struct softkey *parse_ok(const struct sshbuf *body)
{
	struct sshbuf view;
	struct softkey *k = NULL;
	struct errmsg e = { "" };

	sshbuf_view(&view, sshbuf_ptr(body), sshbuf_len(body));
	assert_int_equal(softkey_parse(&view, &k, &e), 0);
	assert_non_null(k);
	assert_int_equal(sshbuf_len(&view), 0);
	return k;
}

/* ---- verifying with OpenSSL ---- */

static void verify_ok(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(ctx, sig, sig_len, message, sizeof(message)), 1);
	EVP_MD_CTX_free(ctx);
}

/* r and s of an SSH ECDSA signature as DER, for OpenSSL. */
static size_t ecdsa_der(struct sshbuf *inner, uint8_t *der)
{
	const uint8_t *r, *s;
	size_t r_len, s_len;
	ECDSA_SIG *es = ECDSA_SIG_new();
	uint8_t *p = der;
	int n;

	assert_int_equal(sshbuf_get_mpint(inner, &r, &r_len), 0);
	assert_int_equal(sshbuf_get_mpint(inner, &s, &s_len), 0);
	assert_int_equal(sshbuf_len(inner), 0);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(r, (int)r_len, NULL),
					BN_bin2bn(s, (int)s_len, NULL)), 1);
	n = i2d_ECDSA_SIG(es, &p);
	assert_true(n > 0);
	ECDSA_SIG_free(es);
	return (size_t)n;
}

static void sign_and_verify(EVP_PKEY *pkey, enum kind kind, struct softkey *k,
			    uint32_t flags, const char *want_alg, const EVP_MD *md)
{
	struct sshbuf *sig = new_buf(), inner;
	struct errmsg e = { "" };
	char alg[64];
	const uint8_t *raw;
	size_t raw_len;
	uint8_t der[256];

	assert_int_equal(softkey_sign(k, message, sizeof(message), flags, sig, &e), 0);
	assert_int_equal(sshbuf_get_cstring(sig, alg, sizeof(alg)), 0);
	assert_string_equal(alg, want_alg);
	assert_int_equal(sshbuf_get_string(sig, &raw, &raw_len), 0);
	assert_int_equal(sshbuf_len(sig), 0);
	if (kind == ED || kind == RSA2048) {
		assert_int_equal(raw_len, kind == ED ? 64 : 256);
		verify_ok(pkey, md, raw, raw_len);
	} else {
		sshbuf_view(&inner, raw, raw_len);
		verify_ok(pkey, md, der, ecdsa_der(&inner, der));
	}
	sshbuf_free(sig);
}

/* ---- tests ---- */

static void check_kind(enum kind kind, const char *type_name, const char *alg,
		       const EVP_MD *md)
{
	EVP_PKEY *pkey = make_key(kind);
	struct sshbuf *body = key_body(pkey, kind, "alice@laptop"), blob;
	struct softkey *k = parse_ok(body);
	char type[64], fp[SSHKEY_FP_MAX];
	size_t len;

	assert_string_equal(softkey_type_name(k), type_name);
	assert_string_equal(softkey_comment(k), "alice@laptop");
	sshbuf_view(&blob, softkey_blob(k, &len), 0);
	sshbuf_view(&blob, softkey_blob(k, &len), len);
	assert_int_equal(sshbuf_get_cstring(&blob, type, sizeof(type)), 0);
	assert_string_equal(type, type_name);
	assert_int_equal(softkey_fingerprint(k, fp), 0);
	assert_int_equal(strncmp(fp, "SHA256:", 7), 0);
	assert_int_equal(strlen(fp), 7 + 43);
	sign_and_verify(pkey, kind, k, 0, alg, md);
	softkey_free(k);
	sshbuf_free(body);
	EVP_PKEY_free(pkey);
}

static void test_ed25519(void **state)
{
	(void)state;
	check_kind(ED, "ssh-ed25519", "ssh-ed25519", NULL);
}

static void test_ecdsa(void **state)
{
	(void)state;
	check_kind(EC256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", EVP_sha256());
	check_kind(EC384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", EVP_sha384());
	check_kind(EC521, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", EVP_sha512());
}

static void test_rsa(void **state)
{
	EVP_PKEY *pkey = make_key(RSA2048);
	struct sshbuf *body = key_body(pkey, RSA2048, "rsa"), *sig = new_buf();
	struct softkey *k = parse_ok(body);
	struct errmsg e = { "" };

	(void)state;
	assert_string_equal(softkey_type_name(k), "ssh-rsa");
	sign_and_verify(pkey, RSA2048, k, 2, "rsa-sha2-256", EVP_sha256());
	sign_and_verify(pkey, RSA2048, k, 4, "rsa-sha2-512", EVP_sha512());
	/* No SHA-1 ssh-rsa signatures. */
	assert_int_not_equal(softkey_sign(k, message, sizeof(message), 0, sig, &e), 0);
	assert_non_null(strstr(e.text, "SHA-1"));
	assert_int_equal(sshbuf_len(sig), 0);
	softkey_free(k);
	sshbuf_free(sig);
	sshbuf_free(body);
	EVP_PKEY_free(pkey);
}

/* The public blob matches what sshkey encodes for the same public key. */
static void test_blob_matches_public_key(void **state)
{
	EVP_PKEY *pkey = make_key(EC256);
	struct sshbuf *body = key_body(pkey, EC256, ""), *want = new_buf();
	struct softkey *k = parse_ok(body);
	struct sshkey_pub pub = { .type = SSHKEY_ECDSA_P256 };
	const uint8_t *blob;
	size_t len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub.q,
							 sizeof(pub.q), &pub.q_len), 1);
	assert_int_equal(sshkey_pub_to_blob(&pub, want), 0);
	blob = softkey_blob(k, &len);
	assert_int_equal(len, sshbuf_len(want));
	assert_memory_equal(blob, sshbuf_ptr(want), len);
	assert_string_equal(softkey_comment(k), "");
	softkey_free(k);
	sshbuf_free(want);
	sshbuf_free(body);
	EVP_PKEY_free(pkey);
}

/* Constraints after the comment stay unread for the agent. */
static void test_trailing_constraints_left(void **state)
{
	EVP_PKEY *pkey = make_key(ED);
	struct sshbuf *body = key_body(pkey, ED, "c"), view;
	struct softkey *k = NULL;
	struct errmsg e;
	uint8_t type;
	uint32_t secs;

	(void)state;
	assert_int_equal(sshbuf_put_u8(body, 1), 0);
	assert_int_equal(sshbuf_put_u32(body, 60), 0);
	sshbuf_view(&view, sshbuf_ptr(body), sshbuf_len(body));
	assert_int_equal(softkey_parse(&view, &k, &e), 0);
	assert_int_equal(sshbuf_get_u8(&view, &type), 0);
	assert_int_equal(type, 1);
	assert_int_equal(sshbuf_get_u32(&view, &secs), 0);
	assert_int_equal(secs, 60);
	softkey_free(k);
	sshbuf_free(body);
	EVP_PKEY_free(pkey);
}

/* Every strict prefix of every kind's message fails, and never yields a key. */
static void test_truncated(void **state)
{
	enum kind kinds[] = { ED, EC256, EC521, RSA2048 };

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		EVP_PKEY *pkey = make_key(kinds[i]);
		struct sshbuf *body = key_body(pkey, kinds[i], "comment");
		size_t step = kinds[i] == RSA2048 ? 7 : 1;

		for (size_t n = 0; n < sshbuf_len(body); n += step) {
			struct sshbuf view;
			struct softkey *k = (struct softkey *)1;
			struct errmsg e;

			sshbuf_view(&view, sshbuf_ptr(body), n);
			assert_true(softkey_parse(&view, &k, &e) < 0);
			assert_null(k);
			assert_int_equal(view.off, 0); /* nothing consumed */
		}
		sshbuf_free(body);
		EVP_PKEY_free(pkey);
	}
}

static void expect_refused(const struct sshbuf *body, const char *why)
{
	struct sshbuf view;
	struct softkey *k = NULL;
	struct errmsg e = { "" };

	sshbuf_view(&view, sshbuf_ptr(body), sshbuf_len(body));
	assert_int_equal(softkey_parse(&view, &k, &e), SOFTKEY_E_REFUSED);
	assert_null(k);
	if (strstr(e.text, why) == NULL)
		fail_msg("error '%s' does not mention '%s'", e.text, why);
}

static void test_unsupported_types(void **state)
{
	static const char *const types[] = { "ssh-dss", "sk-ssh-ed448@openssh.com",
					     "ssh-ed448", "ssh-xmss@openssh.com", "",
					     "ecdsa-sha2-nistp256-cert-v01@openssh.com-x" };
	struct sshbuf *b = new_buf();

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		sshbuf_reset(b);
		assert_int_equal(sshbuf_put_cstring(b, types[i]), 0);
		assert_int_equal(sshbuf_put_string(b, "xxxx", 4), 0);
		expect_refused(b, "not supported");
	}
	/* A type name longer than any we know is refused, not read into a small buffer. */
	sshbuf_reset(b);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sshbuf_put_cstring(b, longname), 0);
	expect_refused(b, "too long");
	/* A control character in the type never reaches the error text. */
	sshbuf_reset(b);
	assert_int_equal(sshbuf_put_cstring(b, "evil\nline"), 0);
	expect_refused(b, "(unprintable)");
	sshbuf_free(b);
}

/* A FIDO key is kept as ssh-add sent it (for ssh-sk-helper), listed with its public
 * blob (type, key, application); one without a key handle is refused. */
static void test_sk_key(void **state)
{
	static const uint8_t pk[32] = { 1, 2, 3 };
	struct sshbuf *b = new_buf(), *blob = new_buf(), view;
	struct softkey *k = NULL;
	struct errmsg e;
	const uint8_t *raw, *kb;
	size_t raw_len, kb_len, body_len;

	(void)state;
	assert_int_equal(sshbuf_put_cstring(b, "sk-ssh-ed25519@openssh.com"), 0);
	assert_int_equal(sshbuf_put_string(b, pk, sizeof(pk)), 0);
	assert_int_equal(sshbuf_put_cstring(b, "ssh:"), 0);
	assert_int_equal(sshbuf_put_u8(b, 0x05), 0);
	assert_int_equal(sshbuf_put_string(b, "handle", 6), 0);
	assert_int_equal(sshbuf_put_string(b, "", 0), 0);
	body_len = sshbuf_len(b);
	assert_int_equal(sshbuf_put_cstring(b, "fido"), 0);
	sshbuf_view(&view, sshbuf_ptr(b), sshbuf_len(b));
	assert_int_equal(softkey_parse(&view, &k, &e), 0);
	assert_int_equal(softkey_kind(k), SOFTKEY_SK);
	assert_string_equal(softkey_comment(k), "fido");
	assert_string_equal(softkey_sk_application(k), "ssh:");
	assert_int_equal(softkey_sk_flags(k), 0x05);
	raw = softkey_sk_private(k, &raw_len);
	assert_int_equal(raw_len, body_len);
	assert_memory_equal(raw, sshbuf_ptr(b), body_len);
	assert_int_equal(sshbuf_put_cstring(blob, "sk-ssh-ed25519@openssh.com"), 0);
	assert_int_equal(sshbuf_put_string(blob, pk, sizeof(pk)), 0);
	assert_int_equal(sshbuf_put_cstring(blob, "ssh:"), 0);
	kb = softkey_blob(k, &kb_len);
	assert_int_equal(kb_len, sshbuf_len(blob));
	assert_memory_equal(kb, sshbuf_ptr(blob), kb_len);
	assert_int_not_equal(softkey_sign(k, pk, 1, 0, blob, &e), 0); /* the helper signs */
	softkey_free(k);

	sshbuf_reset(b);
	assert_int_equal(sshbuf_put_cstring(b, "sk-ssh-ed25519@openssh.com"), 0);
	assert_int_equal(sshbuf_put_string(b, pk, sizeof(pk)), 0);
	assert_int_equal(sshbuf_put_cstring(b, "ssh:"), 0);
	assert_int_equal(sshbuf_put_u8(b, 0x01), 0);
	assert_int_equal(sshbuf_put_string(b, "", 0), 0);
	assert_int_equal(sshbuf_put_string(b, "", 0), 0);
	assert_int_equal(sshbuf_put_cstring(b, ""), 0);
	expect_refused(b, "without a key handle");
	sshbuf_free(b);
	sshbuf_free(blob);
}

/* An Ed25519 message from raw parts: pub field, seed, public half of the 64-byte key. */
static struct sshbuf *ed25519_parts(const uint8_t *pub, const uint8_t *seed,
				    const uint8_t *sk_pub)
{
	struct sshbuf *b = new_buf();
	uint8_t sk[64];

	memcpy(sk, seed, 32);
	memcpy(sk + 32, sk_pub, 32);
	assert_int_equal(sshbuf_put_cstring(b, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(b, pub, 32), 0);
	assert_int_equal(sshbuf_put_string(b, sk, 64), 0);
	assert_int_equal(sshbuf_put_cstring(b, "x"), 0);
	return b;
}

/* Ed25519 whose public key does not belong to its seed. */
static void test_ed25519_mismatch(void **state)
{
	uint8_t pa[32], sa[64], pb[32], sb[64];
	struct sshbuf *m;

	(void)state;
	crypto_sign_keypair(pa, sa);
	crypto_sign_keypair(pb, sb);
	m = ed25519_parts(pa, sa, pa);  /* sanity: the honest message parses */
	softkey_free(parse_ok(m));
	sshbuf_free(m);
	m = ed25519_parts(pa, sb, pb);  /* pub field of a, key of b */
	expect_refused(m, "does not match");
	sshbuf_free(m);
	m = ed25519_parts(pa, sb, pa);  /* seed of b, both public halves a's */
	expect_refused(m, "does not match");
	sshbuf_free(m);
	m = new_buf();                  /* wrong field sizes */
	assert_int_equal(sshbuf_put_cstring(m, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(m, pa, 31), 0);
	assert_int_equal(sshbuf_put_string(m, sa, 64), 0);
	assert_int_equal(sshbuf_put_cstring(m, "x"), 0);
	expect_refused(m, "sizes");
	sshbuf_free(m);
}

/* ECDSA: another key's point, a wrong curve name, a zero scalar, a compressed point. */
static void test_ecdsa_hostile(void **state)
{
	EVP_PKEY *a = make_key(EC256), *b = make_key(EC256);
	struct sshbuf *m = new_buf();
	uint8_t qa[65], qb[65];
	size_t len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(a, OSSL_PKEY_PARAM_PUB_KEY, qa,
							 sizeof(qa), &len), 1);
	assert_int_equal(EVP_PKEY_get_octet_string_param(b, OSSL_PKEY_PARAM_PUB_KEY, qb,
							 sizeof(qb), &len), 1);
	/* b's point with a's scalar */
	assert_int_equal(sshbuf_put_cstring(m, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_cstring(m, "nistp256"), 0);
	assert_int_equal(sshbuf_put_string(m, qb, sizeof(qb)), 0);
	put_bn_param(m, a, OSSL_PKEY_PARAM_PRIV_KEY);
	assert_int_equal(sshbuf_put_cstring(m, ""), 0);
	expect_refused(m, "does not match");
	/* curve name of another curve */
	sshbuf_reset(m);
	assert_int_equal(sshbuf_put_cstring(m, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_cstring(m, "nistp384"), 0);
	assert_int_equal(sshbuf_put_string(m, qa, sizeof(qa)), 0);
	put_bn_param(m, a, OSSL_PKEY_PARAM_PRIV_KEY);
	assert_int_equal(sshbuf_put_cstring(m, ""), 0);
	expect_refused(m, "curve name");
	/* zero scalar */
	sshbuf_reset(m);
	assert_int_equal(sshbuf_put_cstring(m, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_cstring(m, "nistp256"), 0);
	assert_int_equal(sshbuf_put_string(m, qa, sizeof(qa)), 0);
	assert_int_equal(sshbuf_put_mpint(m, (const uint8_t *)"", 0), 0);
	assert_int_equal(sshbuf_put_cstring(m, ""), 0);
	expect_refused(m, "malformed");
	/* a point that is not on the curve */
	sshbuf_reset(m);
	qa[64] ^= 1;
	assert_int_equal(sshbuf_put_cstring(m, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_cstring(m, "nistp256"), 0);
	assert_int_equal(sshbuf_put_string(m, qa, sizeof(qa)), 0);
	put_bn_param(m, a, OSSL_PKEY_PARAM_PRIV_KEY);
	assert_int_equal(sshbuf_put_cstring(m, ""), 0);
	expect_refused(m, "does not match");
	sshbuf_free(m);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

/* RSA: q swapped for another key's prime, and a 512-bit modulus. */
static void test_rsa_hostile(void **state)
{
	EVP_PKEY *a = make_key(RSA2048), *b = make_key(RSA2048),
		 *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	struct sshbuf *m = new_buf();

	(void)state;
	assert_non_null(small);
	assert_int_equal(sshbuf_put_cstring(m, "ssh-rsa"), 0);
	put_bn_param(m, a, OSSL_PKEY_PARAM_RSA_N);
	put_bn_param(m, a, OSSL_PKEY_PARAM_RSA_E);
	put_bn_param(m, a, OSSL_PKEY_PARAM_RSA_D);
	put_bn_param(m, a, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
	put_bn_param(m, a, OSSL_PKEY_PARAM_RSA_FACTOR1);
	put_bn_param(m, b, OSSL_PKEY_PARAM_RSA_FACTOR2);
	assert_int_equal(sshbuf_put_cstring(m, ""), 0);
	expect_refused(m, "does not match");
	sshbuf_free(m);
	m = key_body(small, RSA2048, "");
	expect_refused(m, "1024..4096");
	sshbuf_free(m);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(small);
}

/* A huge comment is cut; a NUL ends it. */
static void test_comment_limits(void **state)
{
	EVP_PKEY *pkey = make_key(ED);
	struct sshbuf *body = new_buf();
	char big[2000];
	struct softkey *k;

	(void)state;
	memset(big, 'c', sizeof(big));
	put_ed25519(body, pkey);
	assert_int_equal(sshbuf_put_string(body, big, sizeof(big)), 0);
	k = parse_ok(body);
	assert_int_equal(strlen(softkey_comment(k)), SOFTKEY_COMMENT_MAX - 1);
	softkey_free(k);
	sshbuf_reset(body);
	put_ed25519(body, pkey);
	assert_int_equal(sshbuf_put_string(body, "ab\0cd", 5), 0);
	k = parse_ok(body);
	assert_string_equal(softkey_comment(k), "ab");
	softkey_free(k);
	sshbuf_free(body);
	EVP_PKEY_free(pkey);
}

/* Random bytes after a valid type name: refused or malformed, never accepted. */
static void test_random_fields(void **state)
{
	static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp384", "ssh-rsa" };
	struct sshbuf *b = new_buf();
	uint8_t junk[600];

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct sshbuf view;
		struct softkey *k = NULL;
		struct errmsg e;
		uint32_t n = randombytes_uniform(sizeof(junk));

		sshbuf_reset(b);
		assert_int_equal(sshbuf_put_cstring(b, types[round % 3]), 0);
		randombytes_buf(junk, n);
		/* plausible small length fields so parsing gets past the first string */
		if (n >= 4)
			junk[0] = junk[1] = 0, junk[2] &= 1;
		assert_int_equal(sshbuf_put(b, junk, n), 0);
		sshbuf_view(&view, sshbuf_ptr(b), sshbuf_len(b));
		assert_true(softkey_parse(&view, &k, &e) < 0);
		assert_null(k);
	}
	sshbuf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_blob_matches_public_key),
		cmocka_unit_test(test_trailing_constraints_left),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_unsupported_types),
		cmocka_unit_test(test_sk_key),
		cmocka_unit_test(test_ed25519_mismatch),
		cmocka_unit_test(test_ecdsa_hostile),
		cmocka_unit_test(test_rsa_hostile),
		cmocka_unit_test(test_comment_limits),
		cmocka_unit_test(test_random_fields),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
