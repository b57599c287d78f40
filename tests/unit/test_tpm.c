/* test_tpm: keystore/tpm.c against a private swtpm (TPM_AGENT_TEST_TCTI, set by
 * tests/run-unit.sh), through the encrypted session by default and with plain sessions;
 * every signature is checked with OpenSSL. Never touches /dev/tpm*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "../../keystore/tpm.h"

static const char *test_tcti(void)
{
	const char *tcti = getenv("TPM_AGENT_TEST_TCTI");

	if (tcti == NULL || *tcti == '\0')
		fail_msg("TPM_AGENT_TEST_TCTI is not set: run me with "
			 "`sh tests/run-unit.sh build/tests/test_tpm`");
	if (strstr(tcti, "/dev/tpm") != NULL)
		fail_msg("refusing to test against a real TPM (%s)", tcti);
	return tcti;
}

static struct tpm *open_tpm_tcti(const char *tcti, int plain_sessions)
{
	struct tpm_options o = { .tcti = tcti, .srk_handle = TPM_SRK_HANDLE_DEFAULT,
				 .plain_sessions = plain_sessions };
	struct errmsg e = { "" };
	struct tpm_info info;
	struct tpm *t = NULL;

	if (tpm_open(&o, &t, &e) != 0)
		fail_msg("tpm_open: %s", e.text);
	/* Encrypted sessions are the default: every other test runs through them. */
	assert_int_equal(tpm_get_info(t, &info, &e), 0);
	assert_int_equal(info.encrypted_sessions, !plain_sessions);
	if (plain_sessions)
		assert_int_equal(info.session_handle, 0);
	else
		assert_int_equal(info.session_handle >> 24, 0x02); /* TPM_HT_HMAC_SESSION */
	return t;
}

static struct tpm *open_tpm_with(int plain_sessions)
{
	return open_tpm_tcti(test_tcti(), plain_sessions);
}

static struct tpm *open_tpm(void)
{
	return open_tpm_with(0);
}

static int setup(void **state)
{
	*state = open_tpm();
	return 0;
}

static int teardown(void **state)
{
	tpm_close(*state);
	return 0;
}

/* ---- OpenSSL side ---- */

static const EVP_MD *md_of(enum sshkey_hash h)
{
	switch (h) {
	case SSHKEY_HASH_SHA1: return EVP_sha1();
	case SSHKEY_HASH_SHA256: return EVP_sha256();
	case SSHKEY_HASH_SHA384: return EVP_sha384();
	case SSHKEY_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

static size_t digest_of(enum sshkey_hash h, const char *msg, uint8_t out[64])
{
	unsigned len = 0;

	assert_int_equal(EVP_Digest(msg, strlen(msg), out, &len, md_of(h), NULL), 1);
	return len;
}

static EVP_PKEY *pkey_from_params(const char *alg, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *pkey_of(const struct sshkey_pub *pub)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *n = NULL, *e = NULL;
	const char *group;
	EVP_PKEY *pkey;

	if (pub->type == SSHKEY_RSA) {
		n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
		e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e), 1);
		pkey = pkey_from_params("RSA", b);
	} else {
		group = pub->type == SSHKEY_ECDSA_P256 ? "P-256" :
			pub->type == SSHKEY_ECDSA_P384 ? "P-384" : "P-521";
		assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
								 group, 0), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY,
								  pub->q, pub->q_len), 1);
		pkey = pkey_from_params("EC", b);
	}
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(b);
	return pkey;
}

/* DER ECDSA-Sig-Value from the TPM's r and s. */
static int ecdsa_der(const struct tpm_signature *sig, uint8_t **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	int len;

	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig->r, (int)sig->r_len, NULL),
					BN_bin2bn(sig->s, (int)sig->s_len, NULL)), 1);
	*der = NULL;
	len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	assert_true(len > 0);
	return len;
}

/* 1 if OpenSSL accepts sig over digest for pub. */
static int verify(const struct sshkey_pub *pub, enum tpm_sig_scheme scheme,
		  enum sshkey_hash h, const uint8_t *digest, size_t digest_len,
		  const struct tpm_signature *sig)
{
	EVP_PKEY *pkey = pkey_of(pub);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	uint8_t *der = NULL;
	int ok, len;

	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	if (scheme == TPM_SIG_ECDSA) {
		len = ecdsa_der(sig, &der);
		ok = EVP_PKEY_verify(ctx, der, (size_t)len, digest, digest_len);
		OPENSSL_free(der);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, scheme == TPM_SIG_RSAPSS ?
					RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, md_of(h)), 1);
		if (scheme == TPM_SIG_RSAPSS)
			assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
						RSA_PSS_SALTLEN_AUTO), 1);
		ok = EVP_PKEY_verify(ctx, sig->s, sig->s_len, digest, digest_len);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok == 1;
}

/* ---- helpers over the module ---- */

static struct tpm_key *new_key(struct tpm *t, enum sshkey_type type, unsigned bits,
			       const char *auth, struct sshkey_pub *pub)
{
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct errmsg e = { "" };
	int r;

	assert_non_null(k);
	r = tpm_create_key(t, type, bits, (const uint8_t *)auth, auth ? strlen(auth) : 0,
			   k, pub, &e);
	if (r != 0)
		fail_msg("tpm_create_key(%d, %u): %d %s", type, bits, r, e.text);
	return k;
}

static void free_key(struct tpm *t, struct tpm_key *k)
{
	tpm_key_unload(t, k);
	free(k);
}

/* Signs "msg" hashed with h and checks the signature with OpenSSL (and that a
 * different digest does not verify, so the check itself is meaningful). */
static void sign_and_verify(struct tpm *t, struct tpm_key *k, const char *auth,
			    const struct sshkey_pub *pub, enum tpm_sig_scheme scheme,
			    enum sshkey_hash h, const char *msg)
{
	struct tpm_signature sig;
	struct errmsg e = { "" };
	uint8_t d[64];
	size_t dlen = digest_of(h, msg, d);
	int r;

	r = tpm_sign(t, k, (const uint8_t *)auth, auth ? strlen(auth) : 0, scheme, h,
		     d, dlen, &sig, &e);
	if (r != 0)
		fail_msg("tpm_sign(scheme %d, hash %d): %d %s", scheme, h, r, e.text);
	assert_true(verify(pub, scheme, h, d, dlen, &sig));
	d[0] ^= 1;
	assert_false(verify(pub, scheme, h, d, dlen, &sig));
}

/* ---- tests ---- */

static void test_open_twice(void **state)
{
	struct tpm *t = open_tpm();
	struct tpm_info info;
	struct errmsg e = { "" };
	struct sshkey_pub pub;
	struct tpm_key *k;

	(void)state;
	assert_int_equal(tpm_get_info(t, &info, &e), 0);
	assert_true(strlen(info.manufacturer) > 0);
	assert_int_equal(info.srk_handle, TPM_SRK_HANDLE_DEFAULT);
	assert_true(info.transient_slots >= 3);
	print_message("TPM: %s '%s' firmware %08x.%08x, %u transient slots, tcti %s\n",
		      info.manufacturer, info.vendor, info.firmware1, info.firmware2,
		      info.transient_slots, info.tcti);
	k = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub);
	tpm_key_unload(t, k);
	tpm_close(t);

	/* A key made under the SRK of the first connection loads under the second:
	 * the second open found and reused the persistent SRK. */
	t = open_tpm();
	assert_int_equal(k->state.handle, 0);
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "reuse");
	free_key(t, k);
	tpm_close(t);
}

static void check_ecdsa(struct tpm *t, enum sshkey_type type, enum sshkey_hash h,
			size_t q_len)
{
	struct sshkey_pub pub, again;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key(t, type, 0, NULL, &pub);

	assert_int_equal(pub.type, type);
	assert_int_equal(pub.q_len, q_len);
	assert_int_equal(pub.q[0], 0x04);
	assert_int_equal(tpm_key_public(k, &again, &e), 0);
	assert_memory_equal(&pub, &again, sizeof(pub));
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_ECDSA, h, "ecdsa one");
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_ECDSA, h, "ecdsa two");
	free_key(t, k);
}

static void test_ecdsa(void **state)
{
	check_ecdsa(*state, SSHKEY_ECDSA_P256, SSHKEY_HASH_SHA256, 65);
	check_ecdsa(*state, SSHKEY_ECDSA_P384, SSHKEY_HASH_SHA384, 97);
	check_ecdsa(*state, SSHKEY_ECDSA_P521, SSHKEY_HASH_SHA512, 133);
}

static void check_rsa_pub(const struct sshkey_pub *pub, size_t n_len)
{
	static const uint8_t f4[] = { 1, 0, 1 };

	assert_int_equal(pub->type, SSHKEY_RSA);
	assert_int_equal(pub->n_len, n_len);
	assert_true(pub->n[0] & 0x80);
	assert_int_equal(pub->e_len, 3);
	assert_memory_equal(pub->e, f4, 3);
}

static void test_rsa2048(void **state)
{
	struct tpm *t = *state;
	struct sshkey_pub pub, again;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key(t, SSHKEY_RSA, 2048, NULL, &pub);

	check_rsa_pub(&pub, 256);
	assert_int_equal(tpm_key_public(k, &again, &e), 0);
	assert_memory_equal(&pub, &again, sizeof(pub));
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSASSA, SSHKEY_HASH_SHA256, "rsa");
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSASSA, SSHKEY_HASH_SHA512, "rsa");
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSASSA, SSHKEY_HASH_SHA1, "rsa");
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSAPSS, SSHKEY_HASH_SHA256, "rsa");
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSAPSS, SSHKEY_HASH_SHA512, "rsa");
	free_key(t, k);
}

static void test_rsa3072(void **state)
{
	struct tpm *t = *state;
	struct sshkey_pub pub;
	struct tpm_key *k = new_key(t, SSHKEY_RSA, 3072, NULL, &pub);

	check_rsa_pub(&pub, 384);
	sign_and_verify(t, k, NULL, &pub, TPM_SIG_RSASSA, SSHKEY_HASH_SHA512, "rsa3072");
	free_key(t, k);
}

/* t is NULL: a refusal that touched the TPM would crash instead of returning. */
static void test_unsupported(void **state)
{
	static const struct { enum sshkey_type type; unsigned bits; } bad[] = {
		{ SSHKEY_RSA, 4096 }, { SSHKEY_RSA, 1024 }, { SSHKEY_RSA, 0 },
		{ SSHKEY_ECDSA_P256, 384 }, { SSHKEY_UNSPEC, 256 }, { (enum sshkey_type)99, 0 },
	};
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.text[0] = '\0';
		assert_int_equal(tpm_create_key(NULL, bad[i].type, bad[i].bits, NULL, 0, k, &pub, &e),
				 TPM_E_UNSUPPORTED);
		assert_true(strlen(e.text) > 0);
	}
	assert_int_equal(tpm_create_key(NULL, SSHKEY_RSA, 4096, NULL, 0, k, &pub, &e),
			 TPM_E_UNSUPPORTED);
	assert_non_null(strstr(e.text, "RSA 4096 is not supported"));
	assert_non_null(strstr(e.text, "3072"));
	free(k);
}

/* Exactly one wrong PIN: swtpm locks out after 3 and our keys are not noDA. */
static void test_wrong_auth(void **state)
{
	struct tpm *t = *state;
	struct sshkey_pub pub;
	struct tpm_signature sig;
	struct errmsg e = { "" };
	uint8_t d[64];
	size_t dlen = digest_of(SSHKEY_HASH_SHA256, "pin", d);
	struct tpm_key *k = new_key(t, SSHKEY_ECDSA_P256, 256, "123456", &pub);

	sign_and_verify(t, k, "123456", &pub, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "pin");
	assert_int_equal(tpm_sign(t, k, (const uint8_t *)"654321", 6, TPM_SIG_ECDSA,
				  SSHKEY_HASH_SHA256, d, dlen, &sig, &e), TPM_E_AUTH_FAIL);
	print_message("wrong PIN: %s\n", e.text);
	/* The right PIN still works and the key stayed loaded. */
	sign_and_verify(t, k, "123456", &pub, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "pin");
	free_key(t, k);
}

static void test_lru(void **state)
{
	struct tpm *t = *state;
	struct tpm_key *k[5];
	struct sshkey_pub pub[5];
	struct tpm_info info;
	struct errmsg e = { "" };
	char msg[32];
	size_t i, round, loaded;

	assert_int_equal(tpm_get_info(t, &info, &e), 0);
	for (i = 0; i < 5; i++)
		k[i] = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub[i]);
	for (round = 0; round < 2; round++)
		for (i = 0; i < 5; i++) {
			snprintf(msg, sizeof(msg), "lru %zu %zu", round, i);
			sign_and_verify(t, k[i], NULL, &pub[i], TPM_SIG_ECDSA,
					SSHKEY_HASH_SHA256, msg);
			assert_int_not_equal(k[i]->state.handle, 0);
		}
	for (i = 0, loaded = 0; i < 5; i++)
		loaded += k[i]->state.handle != 0;
	assert_true(loaded >= 1 && loaded <= info.transient_slots);
	/* An explicit unload, then a sign reloads it. */
	tpm_key_unload(t, k[4]);
	assert_int_equal(k[4]->state.handle, 0);
	assert_int_equal(tpm_key_load(t, k[4], &e), 0);
	assert_int_not_equal(k[4]->state.handle, 0);
	for (i = 0; i < 5; i++)
		free_key(t, k[i]);
}

static void expect_bad_public(const struct tpm_key *k)
{
	struct sshkey_pub pub;
	struct errmsg e = { "" };

	assert_int_not_equal(tpm_key_public(k, &pub, &e), 0);
	assert_true(strlen(e.text) > 0);
	assert_int_equal(pub.type, SSHKEY_UNSPEC);
}

static void test_key_public_hostile(void **state)
{
	struct tpm *t = *state;
	struct sshkey_pub pub, out;
	struct tpm_signature sig;
	struct errmsg e = { "" };
	struct tpm_key *good = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub);
	struct tpm_key *k = calloc(1, sizeof(*k));
	uint8_t d[32] = { 0 };
	size_t i, len;

	/* Truncations at every length. */
	for (len = 0; len < good->pub_len; len++) {
		*k = *good;
		k->pub_len = len;
		expect_bad_public(k);
	}
	*k = *good;
	k->pub[k->pub_len++] = 0; /* trailing byte */
	expect_bad_public(k);
	*k = *good;
	k->pub_len = sizeof(k->pub) + 1; /* claims more than the buffer holds */
	expect_bad_public(k);
	srand(1);
	for (i = 0; i < 200; i++) {
		*k = *good;
		for (len = 0; len < k->pub_len; len++)
			k->pub[len] = (uint8_t)rand();
		(void)tpm_key_public(k, &out, &e); /* must not crash */
	}
	/* One byte changed at every position: parse fine or fail, never crash. */
	for (len = 0; len < good->pub_len; len++) {
		*k = *good;
		k->pub[len] ^= 0xFF;
		(void)tpm_key_public(k, &out, &e);
	}
	/* Signing with a truncated or mismatched blob fails cleanly. */
	*k = *good;
	k->state.handle = 0;
	k->priv_len = 10;
	assert_int_equal(tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, d, 32,
				  &sig, &e), TPM_E_FAIL);
	*k = *good;
	k->state.handle = 0;
	k->priv[k->priv_len - 1] ^= 1; /* the TPM's integrity check must catch it */
	assert_int_not_equal(tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, d, 32,
				      &sig, &e), 0);
	print_message("tampered private blob: %s\n", e.text);
	/* Wrong digest length for the hash. */
	assert_int_not_equal(tpm_sign(t, good, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256,
				      d, 20, &sig, &e), 0);
	free(k);
	free_key(t, good);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_sign_timing(void **state)
{
	struct tpm *t = *state;
	struct sshkey_pub pub;
	struct tpm_signature sig;
	struct errmsg e = { "" };
	uint8_t d[32] = { 1 };
	struct tpm_key *k = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub);
	double t0;
	int i, n = 50;

	assert_int_equal(tpm_key_load(t, k, &e), 0);
	t0 = now_ms();
	for (i = 0; i < n; i++)
		assert_int_equal(tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256,
					  d, 32, &sig, &e), 0);
	print_message("P-256 sign, key loaded: %.2f ms each (%d signatures)\n",
		      (now_ms() - t0) / n, n);
	t0 = now_ms();
	for (i = 0; i < n; i++) {
		tpm_key_unload(t, k);
		assert_int_equal(tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256,
					  d, 32, &sig, &e), 0);
	}
	print_message("P-256 flush + load + sign: %.2f ms each\n", (now_ms() - t0) / n);
	free_key(t, k);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Ten keys through three transient slots: evicted keys come back by ContextLoad of
 * the context saved at their first eviction, and every signature still verifies
 * (the digest travels encrypted: a wrong CFB key would have signed garbage). */
static void test_round_robin_10(void **state)
{
	enum { N = 10, ROUNDS = 4, CACHED = 30 };
	struct tpm *t = *state;
	struct tpm_key *k[N];
	struct sshkey_pub pub[N];
	struct tpm_signature sig;
	struct errmsg e = { "" };
	double rr[N * (ROUNDS - 1)], cached[CACHED], t0;
	uint8_t d[32] = { 7 };
	size_t i, round, saved = 0, n_rr = 0;
	char msg[32];

	for (i = 0; i < N; i++)
		k[i] = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub[i]);
	for (round = 0; round < ROUNDS; round++)
		for (i = 0; i < N; i++) {
			snprintf(msg, sizeof(msg), "rr %zu %zu", round, i);
			t0 = now_ms();
			sign_and_verify(t, k[i], NULL, &pub[i], TPM_SIG_ECDSA, SSHKEY_HASH_SHA256,
					msg);
			if (round > 0)
				rr[n_rr++] = now_ms() - t0; /* includes the OpenSSL verifies */
		}
	for (i = 0; i < N; i++)
		saved += k[i]->state.saved_len > 0;
	assert_true(saved >= N - 3); /* every key that was evicted kept its context */
	for (i = 0; i < CACHED; i++) {
		t0 = now_ms();
		sign_and_verify(t, k[0], NULL, &pub[0], TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "c");
		cached[i] = now_ms() - t0;
	}
	print_message("P-256 sign+verify p50: cached key %.3f ms, 10 keys round robin %.3f ms\n",
		      median(cached, CACHED), median(rr, n_rr));
	/* A context that no longer loads (corrupted here) falls back to TPM2_Load. */
	tpm_key_unload(t, k[1]);
	assert_int_equal(tpm_key_load(t, k[1], &e), 0);
	for (i = 2; i < 6; i++)
		assert_int_equal(tpm_key_load(t, k[i], &e), 0); /* evicts k[1], saving it */
	assert_true(k[1]->state.saved_len > 0);
	k[1]->state.saved[k[1]->state.saved_len - 1] ^= 1;
	assert_int_equal(tpm_sign(t, k[1], NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, d, 32,
				  &sig, &e), 0);
	for (i = 0; i < N; i++)
		free_key(t, k[i]);
}

/* plain_sessions = 1 is the old password path; keys are the same keys either way. */
static void test_plain_sessions(void **state)
{
	struct tpm *plain = open_tpm_with(1), *enc;
	struct sshkey_pub pub;
	struct tpm_key *k;

	(void)state;
	k = new_key(plain, SSHKEY_ECDSA_P256, 0, "4321", &pub);
	sign_and_verify(plain, k, "4321", &pub, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "plain");
	tpm_key_unload(plain, k);
	tpm_close(plain);
	enc = open_tpm();
	sign_and_verify(enc, k, "4321", &pub, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, "encrypted");
	free_key(enc, k);
	tpm_close(enc);
}

/* A key with a PIN made and used through the encrypted session, for all key types:
 * the PIN keys the HMAC and the inSensitive/digest are encrypted. */
static void test_pin_all_types(void **state)
{
	static const struct { enum sshkey_type type; unsigned bits; enum tpm_sig_scheme s;
			      enum sshkey_hash h; } kinds[] = {
		{ SSHKEY_ECDSA_P256, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256 },
		{ SSHKEY_ECDSA_P384, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA384 },
		{ SSHKEY_ECDSA_P521, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA512 },
		{ SSHKEY_RSA, 2048, TPM_SIG_RSASSA, SSHKEY_HASH_SHA256 },
		{ SSHKEY_RSA, 3072, TPM_SIG_RSAPSS, SSHKEY_HASH_SHA512 },
	};
	struct tpm *t = *state;
	struct sshkey_pub pub;
	struct tpm_key *k;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = new_key(t, kinds[i].type, kinds[i].bits, "a pin of some length", &pub);
		sign_and_verify(t, k, "a pin of some length", &pub, kinds[i].s, kinds[i].h, "pin");
		free_key(t, k);
	}
}

/* ---- decryption: RSA_Decrypt and ECDH_ZGen ---- */

static struct tpm_key *new_key_flags(struct tpm *t, enum sshkey_type type, unsigned bits,
				     unsigned flags, const char *auth, struct sshkey_pub *pub)
{
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct errmsg e = { "" };
	int r;

	assert_non_null(k);
	r = tpm_create_key_ex(t, type, bits, flags, (const uint8_t *)auth,
			      auth ? strlen(auth) : 0, k, pub, &e);
	if (r != 0)
		fail_msg("tpm_create_key_ex(%d, %u, 0x%x): %d %s", type, bits, flags, r, e.text);
	return k;
}

/* OpenSSL encrypts msg to pub; returns the ciphertext length. */
static size_t rsa_encrypt(const struct sshkey_pub *pub, int padding, const char *label,
			  size_t label_len, const uint8_t *msg, size_t msg_len, uint8_t *out)
{
	EVP_PKEY *pkey = pkey_of(pub);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t out_len = TPM_RSA_MSG_MAX;
	void *l;

	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, padding), 1);
	if (padding == RSA_PKCS1_OAEP_PADDING) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
		if (label_len > 0) {
			l = OPENSSL_memdup(label, label_len);
			assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)label_len), 1);
		}
	}
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, &out_len, msg, msg_len), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return out_len;
}

static int decrypt(struct tpm *t, struct tpm_key *k, const char *auth,
		   enum tpm_rsa_padding pad, const char *label, size_t label_len,
		   const uint8_t *c, size_t c_len, uint8_t *out, size_t *out_len,
		   struct errmsg *e)
{
	return tpm_rsa_decrypt(t, k, (const uint8_t *)auth, auth ? strlen(auth) : 0, pad,
			       SSHKEY_HASH_SHA256, (const uint8_t *)label, label_len, c, c_len,
			       out, TPM_RSA_MSG_MAX, out_len, e);
}

/* Decrypts c and expects msg back. */
static void expect_plain(struct tpm *t, struct tpm_key *k, const char *auth,
			 enum tpm_rsa_padding pad, const char *label, size_t label_len,
			 const uint8_t *c, size_t c_len, const uint8_t *msg, size_t msg_len)
{
	uint8_t out[TPM_RSA_MSG_MAX];
	struct errmsg e = { "" };
	size_t out_len = 0;
	int r = decrypt(t, k, auth, pad, label, label_len, c, c_len, out, &out_len, &e);

	if (r != 0)
		fail_msg("tpm_rsa_decrypt(padding %d): %d %s", pad, r, e.text);
	assert_int_equal(out_len, msg_len);
	assert_memory_equal(out, msg, msg_len);
}

/* gpg's path: a PKCS#1 v1.5 ciphertext decrypted raw gives 00 02 PS 00 M. */
static void expect_raw_pkcs1(struct tpm *t, struct tpm_key *k, const char *auth,
			     size_t n_len, const uint8_t *c, size_t c_len,
			     const uint8_t *msg, size_t msg_len)
{
	uint8_t out[TPM_RSA_MSG_MAX];
	struct errmsg e = { "" };
	size_t out_len = 0, i;

	assert_int_equal(decrypt(t, k, auth, TPM_RSA_RAW, NULL, 0, c, c_len, out, &out_len,
				 &e), 0);
	assert_int_equal(out_len, n_len);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0x02);
	for (i = 2; i < out_len && out[i] != 0; i++)
		;
	assert_true(i >= 10); /* at least 8 bytes of non-zero padding */
	assert_int_equal(out_len - i - 1, msg_len);
	assert_memory_equal(out + i + 1, msg, msg_len);
}

static void expect_bad_cipher(struct tpm *t, struct tpm_key *k, const char *auth,
			      enum tpm_rsa_padding pad, const uint8_t *c, size_t c_len,
			      struct errmsg *e)
{
	uint8_t out[TPM_RSA_MSG_MAX];
	size_t out_len = 1;

	assert_int_equal(decrypt(t, k, auth, pad, NULL, 0, c, c_len, out, &out_len, e),
			 TPM_E_BAD_DATA);
	assert_non_null(strstr(e->text, "decryption failed: the ciphertext does not fit this key "
					"or its padding is wrong"));
	assert_int_equal(out_len, 0);
}

/* Every padding; raw both as RSA_NO_PADDING and as gpg uses it; ciphertexts the key
 * cannot decrypt; and the key still signs. */
static void check_rsa_decrypt(struct tpm *t, const char *auth)
{
	static const char label[] = "tpm-agent"; /* sizeof includes the NUL the TPM wants */
	uint8_t msg[32], block[256], c[TPM_RSA_MSG_MAX], out[TPM_RSA_MSG_MAX];
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key_flags(t, SSHKEY_RSA, 2048, 0, auth, &pub);
	size_t c_len, out_len;

	assert_int_equal(tpm_key_can_decrypt(k, &e), 1); /* RSA keys always decrypt */
	assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
	c_len = rsa_encrypt(&pub, RSA_PKCS1_OAEP_PADDING, NULL, 0, msg, sizeof(msg), c);
	expect_plain(t, k, auth, TPM_RSA_OAEP, NULL, 0, c, c_len, msg, sizeof(msg));
	c_len = rsa_encrypt(&pub, RSA_PKCS1_OAEP_PADDING, label, sizeof(label), msg,
			    sizeof(msg), c);
	expect_plain(t, k, auth, TPM_RSA_OAEP, label, sizeof(label), c, c_len, msg, sizeof(msg));
	/* The wrong label is a padding failure. */
	assert_int_equal(decrypt(t, k, auth, TPM_RSA_OAEP, "other", 6, c, c_len, out, &out_len,
				 &e), TPM_E_BAD_DATA);
	/* A label without its NUL is refused before the TPM. */
	assert_int_equal(decrypt(t, k, auth, TPM_RSA_OAEP, label, strlen(label), c, c_len, out,
				 &out_len, &e), TPM_E_UNSUPPORTED);
	c_len = rsa_encrypt(&pub, RSA_PKCS1_PADDING, NULL, 0, msg, sizeof(msg), c);
	expect_plain(t, k, auth, TPM_RSA_PKCS1, NULL, 0, c, c_len, msg, sizeof(msg));
	expect_raw_pkcs1(t, k, auth, pub.n_len, c, c_len, msg, sizeof(msg));
	assert_int_equal(RAND_bytes(block, sizeof(block)), 1);
	block[0] = 0; /* below the modulus */
	c_len = rsa_encrypt(&pub, RSA_NO_PADDING, NULL, 0, block, sizeof(block), c);
	expect_plain(t, k, auth, TPM_RSA_RAW, NULL, 0, c, c_len, block, sizeof(block));
	/* 1^d = 1: a one-byte ciphertext (an MPI without its leading zeros) comes back as
	 * a modulus-sized block. */
	memset(block, 0, sizeof(block));
	block[255] = 1;
	expect_plain(t, k, auth, TPM_RSA_RAW, NULL, 0, block + 255, 1, block, sizeof(block));
	/* Garbage: below the modulus but no valid padding; at or above it; too long. */
	assert_int_equal(RAND_bytes(c, 256), 1);
	c[0] = 0;
	expect_bad_cipher(t, k, auth, TPM_RSA_PKCS1, c, 256, &e);
	print_message("garbage ciphertext: %s\n", e.text);
	expect_bad_cipher(t, k, auth, TPM_RSA_OAEP, c, 256, &e);
	memset(c, 0xFF, 257);
	expect_bad_cipher(t, k, auth, TPM_RSA_RAW, c, 256, &e); /* above the modulus */
	print_message("ciphertext above the modulus: %s\n", e.text);
	expect_bad_cipher(t, k, auth, TPM_RSA_PKCS1, c, 257, &e);
	print_message("ciphertext too long: %s\n", e.text);
	expect_bad_cipher(t, k, auth, TPM_RSA_PKCS1, c, 0, &e);
	/* An output buffer too small is an error, not an overflow. */
	c_len = rsa_encrypt(&pub, RSA_PKCS1_PADDING, NULL, 0, msg, sizeof(msg), c);
	assert_int_not_equal(tpm_rsa_decrypt(t, k, (const uint8_t *)auth, auth ? strlen(auth) : 0,
					     TPM_RSA_PKCS1, SSHKEY_HASH_NONE, NULL, 0, c, c_len,
					     out, sizeof(msg) - 1, &out_len, &e), 0);
	sign_and_verify(t, k, auth, &pub, TPM_SIG_RSASSA, SSHKEY_HASH_SHA256, "decrypt key");
	free_key(t, k);
}

/* OpenSSL's side of ECDH: an ephemeral key on pub's curve, its point 04||X||Y and
 * the shared X with pub. */
static size_t ossl_ecdh(const struct sshkey_pub *pub, uint8_t *eph_point, uint8_t *shared_x)
{
	EVP_PKEY *peer = pkey_of(pub), *eph = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(peer, NULL);
	size_t point_len = 0, x_len = 66;

	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &eph), 1);
	EVP_PKEY_CTX_free(ctx);
	assert_int_equal(EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							 eph_point, TPM_ECC_POINT_MAX,
							 &point_len), 1);
	assert_int_equal(point_len, pub->q_len);
	ctx = EVP_PKEY_CTX_new(eph, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, shared_x, &x_len), 1);
	assert_int_equal(x_len, (pub->q_len - 1) / 2); /* padded to the field length */
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer);
	return point_len;
}

static int zgen(struct tpm *t, struct tpm_key *k, const char *auth, const uint8_t *point,
		size_t point_len, uint8_t *out, size_t *out_len, struct errmsg *e)
{
	return tpm_ecdh_zgen(t, k, (const uint8_t *)auth, auth ? strlen(auth) : 0, point,
			     point_len, out, TPM_ECC_POINT_MAX, out_len, e);
}

/* The TPM's shared point is OpenSSL's shared X, with a Y that puts it on the curve. */
static void check_zgen(struct tpm *t, struct tpm_key *k, const char *auth,
		       const struct sshkey_pub *pub, uint8_t *shared_x)
{
	uint8_t point[TPM_ECC_POINT_MAX], x[66], out[TPM_ECC_POINT_MAX];
	struct sshkey_pub shared = *pub;
	struct errmsg e = { "" };
	size_t point_len = ossl_ecdh(pub, point, x), out_len = 0, flen = (pub->q_len - 1) / 2;
	int r = zgen(t, k, auth, point, point_len, out, &out_len, &e);

	if (r != 0)
		fail_msg("tpm_ecdh_zgen: %d %s", r, e.text);
	assert_int_equal(out_len, pub->q_len);
	assert_int_equal(out[0], 0x04);
	assert_memory_equal(out + 1, x, flen);
	memcpy(shared.q, out, out_len);
	EVP_PKEY_free(pkey_of(&shared)); /* OpenSSL refuses points off the curve */
	if (shared_x != NULL)
		memcpy(shared_x, x, flen);
}

static void check_ecdh_curve(struct tpm *t, enum sshkey_type type, enum sshkey_hash h,
			     const char *auth)
{
	uint8_t point[TPM_ECC_POINT_MAX], x[66], out[TPM_ECC_POINT_MAX];
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key_flags(t, type, 0, TPM_KEY_DECRYPT, auth, &pub);
	size_t point_len, out_len;

	assert_int_equal(tpm_key_can_decrypt(k, &e), 1);
	check_zgen(t, k, auth, &pub, NULL);
	check_zgen(t, k, auth, &pub, NULL);
	/* The same key still signs: ECDSA chosen per signature under the NULL scheme. */
	sign_and_verify(t, k, auth, &pub, TPM_SIG_ECDSA, h, "sign and decrypt");
	/* Bad points: wrong length, compressed, off the curve. */
	point_len = ossl_ecdh(&pub, point, x);
	assert_int_equal(zgen(t, k, auth, point, point_len - 1, out, &out_len, &e),
			 TPM_E_BAD_DATA);
	assert_int_equal(zgen(t, k, auth, point, 0, out, &out_len, &e), TPM_E_BAD_DATA);
	point[0] = 0x02;
	assert_int_equal(zgen(t, k, auth, point, point_len, out, &out_len, &e), TPM_E_BAD_DATA);
	point[0] = 0x04;
	point[point_len - 1] ^= 1;
	assert_int_equal(zgen(t, k, auth, point, point_len, out, &out_len, &e), TPM_E_BAD_DATA);
	print_message("point off the curve: %s\n", e.text);
	assert_int_equal(out_len, 0);
	/* Too small an output buffer. */
	point[point_len - 1] ^= 1;
	assert_int_not_equal(tpm_ecdh_zgen(t, k, (const uint8_t *)auth, auth ? strlen(auth) : 0,
					   point, point_len, out, point_len - 1, &out_len, &e), 0);
	free_key(t, k);
}

/* A key made without TPM_KEY_DECRYPT, an RSA key for ECDH, an ECC key for RSA: clear
 * refusals before the TPM. */
static void check_refusals(struct tpm *t)
{
	uint8_t point[TPM_ECC_POINT_MAX], x[66], out[TPM_RSA_MSG_MAX];
	struct sshkey_pub pub, rsa_pub;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key(t, SSHKEY_ECDSA_P256, 0, NULL, &pub);
	struct tpm_key *rsa = new_key(t, SSHKEY_RSA, 2048, NULL, &rsa_pub);
	size_t point_len = ossl_ecdh(&pub, point, x), out_len;

	assert_int_equal(tpm_key_can_decrypt(k, &e), 0);
	assert_int_equal(zgen(t, k, NULL, point, point_len, out, &out_len, &e),
			 TPM_E_UNSUPPORTED);
	assert_non_null(strstr(e.text, "key was made without --decrypt; it can only sign"));
	print_message("sign-only key: %s\n", e.text);
	assert_int_equal(zgen(t, rsa, NULL, point, point_len, out, &out_len, &e),
			 TPM_E_UNSUPPORTED);
	assert_int_equal(decrypt(t, k, NULL, TPM_RSA_PKCS1, NULL, 0, out, 256, out, &out_len,
				 &e), TPM_E_UNSUPPORTED);
	assert_int_equal(tpm_create_key_ex(t, SSHKEY_ECDSA_P256, 0, 0x80, NULL, 0, k, &pub, &e),
			 TPM_E_UNSUPPORTED);
	free_key(t, k);
	free_key(t, rsa);
}

static void test_rsa_decrypt(void **state)
{
	check_rsa_decrypt(*state, NULL);
	check_rsa_decrypt(*state, "a decryption pin");
}

static void test_ecdh(void **state)
{
	check_ecdh_curve(*state, SSHKEY_ECDSA_P256, SSHKEY_HASH_SHA256, NULL);
	check_ecdh_curve(*state, SSHKEY_ECDSA_P256, SSHKEY_HASH_SHA256, "an ecdh pin");
	check_ecdh_curve(*state, SSHKEY_ECDSA_P384, SSHKEY_HASH_SHA384, "an ecdh pin");
	check_ecdh_curve(*state, SSHKEY_ECDSA_P521, SSHKEY_HASH_SHA512, NULL);
	check_refusals(*state);
}

/* One wrong PIN (the TPM counts it; see test_wrong_auth), then the right one. */
static void test_decrypt_wrong_auth(void **state)
{
	struct tpm *t = *state;
	uint8_t point[TPM_ECC_POINT_MAX], x[66], out[TPM_ECC_POINT_MAX];
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct tpm_key *k = new_key_flags(t, SSHKEY_ECDSA_P256, 0, TPM_KEY_DECRYPT, "1234", &pub);
	size_t point_len = ossl_ecdh(&pub, point, x), out_len;

	assert_int_equal(zgen(t, k, "4321", point, point_len, out, &out_len, &e),
			 TPM_E_AUTH_FAIL);
	print_message("wrong PIN: %s\n", e.text);
	check_zgen(t, k, "1234", &pub, NULL);
	free_key(t, k);
}

/* The same with plain password sessions (--no-encrypt-sessions). */
static void test_decrypt_plain_sessions(void **state)
{
	struct tpm *t = open_tpm_with(1);

	(void)state;
	check_rsa_decrypt(t, "a decryption pin");
	check_ecdh_curve(t, SSHKEY_ECDSA_P256, SSHKEY_HASH_SHA256, "an ecdh pin");
	check_ecdh_curve(t, SSHKEY_ECDSA_P384, SSHKEY_HASH_SHA384, NULL);
	check_refusals(t);
	tpm_close(t);
}

/* Reads the file at path; the caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* One RSA-OAEP decryption and one ECDH through a pcap TCTI recording every command and
 * response; reports whether the ciphertext, the plaintext and the shared X appear. */
static void capture(int plain, int seen[3])
{
	char dir[] = "/tmp/tpm-agent-test-pcap.XXXXXX", path[64], tcti[512];
	uint8_t msg[32], c[TPM_RSA_MSG_MAX], x[66], *cap;
	struct sshkey_pub rsa_pub, ec_pub;
	struct tpm_key *rsa, *ec;
	struct tpm *t;
	size_t c_len, cap_len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tpm.pcap", dir);
	snprintf(tcti, sizeof(tcti), "pcap:%s", test_tcti());
	setenv("TCTI_PCAP_FILE", path, 1); /* read when the TCTI starts */
	t = open_tpm_tcti(tcti, plain);
	unsetenv("TCTI_PCAP_FILE");
	rsa = new_key_flags(t, SSHKEY_RSA, 2048, 0, "pin", &rsa_pub);
	ec = new_key_flags(t, SSHKEY_ECDSA_P256, 0, TPM_KEY_DECRYPT, "pin", &ec_pub);
	assert_int_equal(RAND_bytes(msg, sizeof(msg)), 1);
	c_len = rsa_encrypt(&rsa_pub, RSA_PKCS1_OAEP_PADDING, NULL, 0, msg, sizeof(msg), c);
	expect_plain(t, rsa, "pin", TPM_RSA_OAEP, NULL, 0, c, c_len, msg, sizeof(msg));
	check_zgen(t, ec, "pin", &ec_pub, x);
	free_key(t, rsa);
	free_key(t, ec);
	tpm_close(t); /* flushes the capture */
	cap = slurp(path, &cap_len);
	seen[0] = memmem(cap, cap_len, c, c_len) != NULL;
	seen[1] = memmem(cap, cap_len, msg, sizeof(msg)) != NULL;
	seen[2] = memmem(cap, cap_len, x, 32) != NULL;
	free(cap);
	unlink(path);
	rmdir(dir);
}

/* With sessions on, neither the ciphertext nor the secrets cross the TPM interface in
 * clear; with plain sessions all three do (so the capture is what it claims to be). */
static void test_decrypt_on_the_wire(void **state)
{
	int seen[3];

	(void)state;
	capture(0, seen);
	assert_false(seen[0]);
	assert_false(seen[1]);
	assert_false(seen[2]);
	capture(1, seen);
	assert_true(seen[0]);
	assert_true(seen[1]);
	assert_true(seen[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_twice),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test_setup_teardown(test_ecdsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa2048, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa3072, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lru, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_public_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sign_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_robin_10, setup, teardown),
		cmocka_unit_test(test_plain_sessions),
		cmocka_unit_test_setup_teardown(test_pin_all_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rsa_decrypt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecdh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decrypt_wrong_auth, setup, teardown),
		cmocka_unit_test(test_decrypt_plain_sessions),
		cmocka_unit_test(test_decrypt_on_the_wire),
	};

	return cmocka_run_group_tests_name("tpm", tests, NULL, NULL);
}
