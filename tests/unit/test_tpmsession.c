/* test_tpmsession: known answers for keystore/tpmsession.c (KDFa, KDFe, ECC salt, session
 * key, HMACs, CFB), each checked against a plain independent computation; no TPM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "../../keystore/tpmsession.h"
#include "kat/session_kat.h"

/* ---- independent reference computations (straight from Part 1, no shortcuts) ---- */

static void be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v;
}

/* KDFa: HMAC(key, [i] || label || 0 || u || v || [bits]) for i = 1, 2, ... */
static void ref_kdfa(const uint8_t *key, size_t key_len, const char *label,
		     const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
		     uint8_t *out, size_t out_len)
{
	uint8_t msg[1024], block[32];
	size_t done = 0, m, lab = strlen(label) + 1;
	unsigned blen;
	uint32_t i;

	for (i = 1; done < out_len; i++) {
		m = 0;
		be32(msg, i); m += 4;
		memcpy(msg + m, label, lab); m += lab;
		if (u_len > 0) /* memcpy from NULL is undefined even for 0 bytes */
			memcpy(msg + m, u, u_len);
		m += u_len;
		if (v_len > 0) /* memcpy from NULL is undefined even for 0 bytes */
			memcpy(msg + m, v, v_len);
		m += v_len;
		be32(msg + m, (uint32_t)(out_len * 8)); m += 4;
		assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, msg, m, block, &blen));
		memcpy(out + done, block, out_len - done < 32 ? out_len - done : 32);
		done += 32;
	}
}

/* KDFe: SHA256([i] || Z || label || 0 || u || v) for i = 1, 2, ... */
static void ref_kdfe(const uint8_t *z, size_t z_len, const char *label,
		     const uint8_t *u, size_t u_len, const uint8_t *v, size_t v_len,
		     uint8_t *out, size_t out_len)
{
	uint8_t msg[1024], block[32];
	size_t done = 0, m, lab = strlen(label) + 1;
	uint32_t i;

	for (i = 1; done < out_len; i++) {
		m = 0;
		be32(msg, i); m += 4;
		memcpy(msg + m, z, z_len); m += z_len;
		memcpy(msg + m, label, lab); m += lab;
		if (u_len > 0)
			memcpy(msg + m, u, u_len);
		m += u_len;
		if (v_len > 0)
			memcpy(msg + m, v, v_len);
		m += v_len;
		assert_int_equal(EVP_Digest(msg, m, block, NULL, EVP_sha256(), NULL), 1);
		memcpy(out + done, block, out_len - done < 32 ? out_len - done : 32);
		done += 32;
	}
}

static void ref_cfb(const uint8_t keyiv[32], int enc, uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int out = 0;

	assert_int_equal(EVP_CipherInit_ex(c, EVP_aes_128_cfb128(), NULL, keyiv, keyiv + 16, enc), 1);
	assert_int_equal(EVP_CipherUpdate(c, buf, &out, buf, (int)len), 1);
	assert_int_equal((size_t)out, len);
	EVP_CIPHER_CTX_free(c);
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + 7 * i);
}

static int setup(void **state)
{
	static struct tpmsession s;

	assert_int_equal(tpmsession_init(&s), TPMS_OK);
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	tpmsession_free(*state);
	return 0;
}

/* A session with a known key and nonces, as after StartAuthSession. */
static void start_known(struct tpmsession *s)
{
	uint8_t salt[32], nt[32], nc[32];

	fill(salt, 32, 1);
	fill(nt, 32, 2);
	fill(nc, 32, 3);
	assert_int_equal(tpmsession_start(s, 0x02000000, salt, 32, nt, 32, nc, 32), TPMS_OK);
}

/* ---- KDFs ---- */

/* The TPM reference implementation's own KDFa self-test vector (SHA-256, 160 bits). */
static void test_kdfa_published(void **state)
{
	static const uint8_t key[20] = { 0x27, 0x1F, 0xA0, 0x8B, 0xBD, 0xC5, 0x06, 0x0E, 0xC3, 0xDF,
		0xA9, 0x28, 0xFF, 0x9B, 0x73, 0x12, 0x3A, 0x12, 0xDA, 0x0C };
	static const uint8_t u[8] = { 0xCE, 0x24, 0x4F, 0x39, 0x5D, 0xCA, 0x73, 0x91 };
	static const uint8_t v[8] = { 0xDA, 0x50, 0x40, 0x31, 0xDD, 0xF1, 0x2E, 0x83 };
	static const uint8_t want[20] = { 0xbb, 0x02, 0x59, 0xe1, 0xc8, 0xba, 0x60, 0x7e, 0x6a,
		0x2c, 0xd7, 0x04, 0xb6, 0x9a, 0x90, 0x2e, 0x9a, 0xde, 0x84, 0xc4 };
	uint8_t out[20], ref[20];

	assert_int_equal(tpmsession_kdfa(*state, key, 20, "KDFSELFTESTLABEL", u, 8, v, 8, out, 20),
			 TPMS_OK);
	assert_memory_equal(out, want, 20);
	ref_kdfa(key, 20, "KDFSELFTESTLABEL", u, 8, v, 8, ref, 20);
	assert_memory_equal(ref, want, 20); /* the reference itself is right */
}

static void test_kdfa_matches_reference(void **state)
{
	static const size_t lens[] = { 1, 16, 20, 32, 33, 64, 100, TPMS_KDF_OUT_MAX };
	uint8_t key[96], u[32], v[32], out[TPMS_KDF_OUT_MAX], ref[TPMS_KDF_OUT_MAX];
	size_t i;

	fill(key, sizeof(key), 9);
	fill(u, 32, 10);
	fill(v, 32, 11);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(tpmsession_kdfa(*state, key, 40, "CFB", u, 32, v, 16, out, lens[i]),
				 TPMS_OK);
		ref_kdfa(key, 40, "CFB", u, 32, v, 16, ref, lens[i]);
		assert_memory_equal(out, ref, lens[i]);
	}
	/* Empty contexts and a key longer than the HMAC block. */
	assert_int_equal(tpmsession_kdfa(*state, key, 96, "ATH", NULL, 0, NULL, 0, out, 32), TPMS_OK);
	ref_kdfa(key, 96, "ATH", NULL, 0, NULL, 0, ref, 32);
	assert_memory_equal(out, ref, 32);
}

static void test_kdfe_matches_reference(void **state)
{
	uint8_t z[32], u[32], v[32], out[64], ref[64];

	fill(z, 32, 20);
	fill(u, 32, 21);
	fill(v, 32, 22);
	assert_int_equal(tpmsession_kdfe(*state, z, 32, "SECRET", u, 32, v, 32, out, 32), TPMS_OK);
	ref_kdfe(z, 32, "SECRET", u, 32, v, 32, ref, 32);
	assert_memory_equal(out, ref, 32);
	assert_int_equal(tpmsession_kdfe(*state, z, 32, "SECRET", u, 32, v, 32, out, 64), TPMS_OK);
	ref_kdfe(z, 32, "SECRET", u, 32, v, 32, ref, 64);
	assert_memory_equal(out, ref, 64);
}

/* ---- ECC salt ---- */

static void coords(EVP_PKEY *k, uint8_t x[32], uint8_t y[32])
{
	BIGNUM *bx = NULL, *by = NULL;

	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
	assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
	assert_int_equal(BN_bn2binpad(by, y, 32), 32);
	BN_free(bx);
	BN_free(by);
}

static EVP_PKEY *pub_from(const uint8_t x[32], const uint8_t y[32])
{
	uint8_t q[65] = { 0x04 };
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *k = NULL;

	memcpy(q + 1, x, 32);
	memcpy(q + 33, y, 32);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q, 65), 1);
	p = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* The TPM's side: Z from the SRK's private key and the ephemeral point must give
 * the same salt as ours. */
static void test_ecc_salt_agrees_with_tpm_side(void **state)
{
	EVP_PKEY *srk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *eph;
	EVP_PKEY_CTX *ctx;
	uint8_t sx[32], sy[32], ex[32], ey[32], salt[32], z[32], ref[32];
	size_t zlen = 32;

	assert_non_null(srk);
	coords(srk, sx, sy);
	assert_int_equal(tpmsession_ecc_salt(*state, sx, sy, salt, ex, ey), TPMS_OK);
	eph = pub_from(ex, ey);
	ctx = EVP_PKEY_CTX_new(srk, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, eph), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zlen), 1);
	assert_int_equal(zlen, 32);
	ref_kdfe(z, 32, "SECRET", ex, 32, sx, 32, ref, 32);
	assert_memory_equal(salt, ref, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(eph);
	/* A point off the curve is refused, not used. */
	sy[31] ^= 1;
	assert_int_equal(tpmsession_ecc_salt(*state, sx, sy, salt, ex, ey), TPMS_E_INPUT);
	EVP_PKEY_free(srk);
}

/* ---- session key, HMACs ---- */

static void test_session_key(void **state)
{
	struct tpmsession *s = *state;
	uint8_t salt[32], nt[32], nc[32], ref[32];

	start_known(s);
	fill(salt, 32, 1);
	fill(nt, 32, 2);
	fill(nc, 32, 3);
	ref_kdfa(salt, 32, "ATH", nt, 32, nc, 32, ref, 32);
	assert_memory_equal(s->sec->key, ref, 32);
	assert_int_equal(s->handle, 0x02000000);
	assert_int_equal(tpmsession_roll_caller_nonce(s), TPMS_OK);
	assert_int_equal(s->sec->nonce_caller_len, 32);
	assert_memory_not_equal(s->sec->nonce_caller, nc, 32);
}

/* HMAC(sessionKey || auth, cpHash || nonceCaller || nonceTPM || attrs), by hand. */
static void ref_cmd_hmac(const struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			 const uint8_t cp_hash[32], uint8_t attrs, uint8_t out[32])
{
	uint8_t key[96], msg[128];
	unsigned len;

	memcpy(key, s->sec->key, 32);
	if (auth_len > 0) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(key + 32, auth, auth_len);
	memcpy(msg, cp_hash, 32);
	memcpy(msg + 32, s->sec->nonce_caller, 32);
	memcpy(msg + 64, s->sec->nonce_tpm, 32);
	msg[96] = attrs;
	assert_non_null(HMAC(EVP_sha256(), key, (int)(32 + auth_len), msg, 97, out, &len));
}

static void test_cmd_hmac(void **state)
{
	struct tpmsession *s = *state;
	static const uint8_t name[34] = { 0x00, 0x0b, 1, 2, 3 };
	static const uint8_t cp[] = { 0x00, 0x20, 9, 9, 9 };
	struct tpmsession_name n = { name, sizeof(name) };
	uint8_t cc[4] = { 0x00, 0x00, 0x01, 0x5d }, msg[64], cp_hash[32], ref_hash[32];
	uint8_t hmac[32], ref[32], zeros[6] = { '1', '2', '3', '4', 0, 0 };

	start_known(s);
	assert_int_equal(tpmsession_cp_hash(s, 0x15d, &n, 1, cp, sizeof(cp), cp_hash), TPMS_OK);
	memcpy(msg, cc, 4);
	memcpy(msg + 4, name, sizeof(name));
	memcpy(msg + 4 + sizeof(name), cp, sizeof(cp));
	assert_int_equal(EVP_Digest(msg, 4 + sizeof(name) + sizeof(cp), ref_hash, NULL,
				    EVP_sha256(), NULL), 1);
	assert_memory_equal(cp_hash, ref_hash, 32);

	assert_int_equal(tpmsession_cmd_hmac(s, (const uint8_t *)"1234", 4, cp_hash, 0x21, hmac),
			 TPMS_OK);
	ref_cmd_hmac(s, (const uint8_t *)"1234", 4, cp_hash, 0x21, ref);
	assert_memory_equal(hmac, ref, 32);
	/* Trailing zeros of an auth value do not count (the TPM strips them too). */
	assert_int_equal(tpmsession_cmd_hmac(s, zeros, 6, cp_hash, 0x21, hmac), TPMS_OK);
	assert_memory_equal(hmac, ref, 32);
	/* Empty auth: the key is the session key alone. */
	assert_int_equal(tpmsession_cmd_hmac(s, NULL, 0, cp_hash, 0x01, hmac), TPMS_OK);
	ref_cmd_hmac(s, NULL, 0, cp_hash, 0x01, ref);
	assert_memory_equal(hmac, ref, 32);
}

/* What an honest TPM would answer: HMAC over rpHash || newNonceTPM || nonceCaller || attrs. */
static void tpm_response_hmac(const struct tpmsession *s, const uint8_t rp_hash[32],
			      const uint8_t new_nt[32], uint8_t attrs, uint8_t out[32])
{
	uint8_t msg[128];
	unsigned len;

	memcpy(msg, rp_hash, 32);
	memcpy(msg + 32, new_nt, 32);
	memcpy(msg + 64, s->sec->nonce_caller, 32);
	msg[96] = attrs;
	assert_non_null(HMAC(EVP_sha256(), s->sec->key, 32, msg, 97, out, &len));
}

static void test_response_hmac_and_tampering(void **state)
{
	struct tpmsession *s = *state;
	uint8_t rp[40], rp_hash[32], new_nt[32], hmac[32], old_nt[32], head[8 + 40], ref[32];

	start_known(s);
	assert_int_equal(tpmsession_roll_caller_nonce(s), TPMS_OK);
	fill(rp, sizeof(rp), 30);
	fill(new_nt, 32, 31);
	memcpy(old_nt, s->sec->nonce_tpm, 32);
	assert_int_equal(tpmsession_rp_hash(s, 0x15d, rp, sizeof(rp), rp_hash), TPMS_OK);
	memset(head, 0, 8);
	be32(head + 4, 0x15d);
	memcpy(head + 8, rp, sizeof(rp));
	assert_int_equal(EVP_Digest(head, sizeof(head), ref, NULL, EVP_sha256(), NULL), 1);
	assert_memory_equal(rp_hash, ref, 32);
	tpm_response_hmac(s, rp_hash, new_nt, 0x01, hmac);

	/* A flipped HMAC bit, a wrong length, other attributes, other parameters: all
	 * refused, and the nonce does not roll. */
	hmac[5] ^= 0x10;
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, rp_hash, new_nt, 32, 0x01, hmac, 32),
			 TPMS_E_HMAC);
	hmac[5] ^= 0x10;
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, rp_hash, new_nt, 32, 0x01, hmac, 31),
			 TPMS_E_HMAC);
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, rp_hash, new_nt, 32, 0x00, hmac, 32),
			 TPMS_E_HMAC);
	rp[3] ^= 1;
	assert_int_equal(tpmsession_rp_hash(s, 0x15d, rp, sizeof(rp), ref), TPMS_OK);
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, ref, new_nt, 32, 0x01, hmac, 32),
			 TPMS_E_HMAC);
	assert_int_equal(tpmsession_rsp_check(s, (const uint8_t *)"pin", 3, rp_hash, new_nt, 32,
					      0x01, hmac, 32), TPMS_E_HMAC);
	assert_memory_equal(s->sec->nonce_tpm, old_nt, 32);
	/* The genuine response passes and its nonce becomes nonceTPM. */
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, rp_hash, new_nt, 32, 0x01, hmac, 32),
			 TPMS_OK);
	assert_memory_equal(s->sec->nonce_tpm, new_nt, 32);
}

/* ---- parameter encryption ---- */

static void test_cfb(void **state)
{
	struct tpmsession *s = *state;
	uint8_t plain[100], buf[100], value[36], keyiv[32];

	start_known(s);
	assert_int_equal(tpmsession_roll_caller_nonce(s), TPMS_OK);
	fill(plain, sizeof(plain), 40);
	memcpy(buf, plain, sizeof(buf));
	assert_int_equal(tpmsession_encrypt_command_param(s, (const uint8_t *)"pin!", 4, buf,
							  sizeof(buf)), TPMS_OK);
	assert_memory_not_equal(buf, plain, sizeof(buf));
	/* The TPM decrypts with KDFa(sessionKey || auth, "CFB", nonceCaller, nonceTPM). */
	memcpy(value, s->sec->key, 32);
	memcpy(value + 32, "pin!", 4);
	ref_kdfa(value, 36, "CFB", s->sec->nonce_caller, 32, s->sec->nonce_tpm, 32, keyiv, 32);
	ref_cfb(keyiv, 0, buf, sizeof(buf));
	assert_memory_equal(buf, plain, sizeof(buf));
	/* Responses: the TPM encrypts with the nonces the other way round. */
	ref_kdfa(value, 36, "CFB", s->sec->nonce_tpm, 32, s->sec->nonce_caller, 32, keyiv, 32);
	ref_cfb(keyiv, 1, buf, sizeof(buf));
	assert_int_equal(tpmsession_decrypt_response_param(s, (const uint8_t *)"pin!", 4, buf,
							   sizeof(buf)), TPMS_OK);
	assert_memory_equal(buf, plain, sizeof(buf));
	/* Empty parameters are fine. */
	assert_int_equal(tpmsession_encrypt_command_param(s, NULL, 0, buf, 0), TPMS_OK);
}

/* ---- a known answer from tpm2-tss ESAPI ---- */

/* One TPM2_ObjectChangeAuth that ESAPI sent through a salted session with decrypt and
 * encrypt set, captured on the wire (kat/gen-session-kat.sh says how): with ESAPI's
 * session key and the nonces of the capture, our code must compute the same cpHash and
 * command HMAC, the same CFB ciphertext of newAuth, accept the TPM's response HMAC and
 * decrypt outPrivate to what ESAPI decrypted. */
static void test_esapi_exchange(void **state)
{
	struct tpmsession *s = *state;
	struct tpmsession_name names[2] = {
		{ kat_object_name, sizeof(kat_object_name) },
		{ kat_parent_name, sizeof(kat_parent_name) },
	};
	uint8_t cp_hash[32], rp_hash[32], hmac[32], param[sizeof(kat_new_auth)];
	uint8_t out[sizeof(kat_out_private)];

	assert_int_equal(sizeof(kat_cp), 2 + sizeof(kat_new_auth));
	assert_int_equal(sizeof(kat_rp), 2 + sizeof(kat_out_private));
	start_known(s);
	memcpy(s->sec->key, kat_session_key, sizeof(kat_session_key));
	memcpy(s->sec->nonce_tpm, kat_nonce_tpm0, sizeof(kat_nonce_tpm0));
	s->sec->nonce_tpm_len = sizeof(kat_nonce_tpm0);
	memcpy(s->sec->nonce_caller, kat_nonce_caller, sizeof(kat_nonce_caller));
	s->sec->nonce_caller_len = sizeof(kat_nonce_caller);

	/* the command: CFB of newAuth, then cpHash over both names and the HMAC */
	memcpy(param, kat_new_auth, sizeof(param));
	assert_int_equal(tpmsession_encrypt_command_param(s, kat_auth, sizeof(kat_auth), param,
							  sizeof(param)), TPMS_OK);
	assert_memory_equal(param, kat_cp + 2, sizeof(param));
	assert_int_equal(tpmsession_cp_hash(s, 0x150, names, 2, kat_cp, sizeof(kat_cp), cp_hash),
			 TPMS_OK);
	assert_int_equal(tpmsession_cmd_hmac(s, kat_auth, sizeof(kat_auth), cp_hash,
					     kat_cmd_attrs[0], hmac), TPMS_OK);
	assert_memory_equal(hmac, kat_cmd_hmac, sizeof(kat_cmd_hmac));

	/* the response: rpHash and HMAC with the new nonceTPM, then CFB of outPrivate */
	assert_int_equal(tpmsession_rp_hash(s, 0x150, kat_rp, sizeof(kat_rp), rp_hash), TPMS_OK);
	assert_int_equal(tpmsession_rsp_check(s, kat_auth, sizeof(kat_auth), rp_hash,
					      kat_nonce_tpm1, sizeof(kat_nonce_tpm1),
					      kat_rsp_attrs[0], kat_rsp_hmac, sizeof(kat_rsp_hmac)),
			 TPMS_OK);
	memcpy(out, kat_rp + 2, sizeof(out));
	assert_int_equal(tpmsession_decrypt_response_param(s, kat_auth, sizeof(kat_auth), out,
							   sizeof(out)), TPMS_OK);
	assert_memory_equal(out, kat_out_private, sizeof(out));
}

/* The CFB context is reset after each use: no key schedule stays in it. */
static void test_cfb_context_reset(void **state)
{
	struct tpmsession *s = *state;
	uint8_t buf[16] = { 0 };

	start_known(s);
	assert_int_equal(tpmsession_encrypt_command_param(s, NULL, 0, buf, sizeof(buf)), TPMS_OK);
	assert_null(EVP_CIPHER_CTX_get0_cipher(s->c.cipher));
	assert_int_equal(tpmsession_decrypt_response_param(s, NULL, 0, buf, sizeof(buf)), TPMS_OK);
	assert_null(EVP_CIPHER_CTX_get0_cipher(s->c.cipher));
}

/* ---- hostile lengths ---- */

static void test_hostile_lengths(void **state)
{
	struct tpmsession *s = *state;
	static uint8_t big[TPMS_PARAM_MAX + 1];
	uint8_t out[TPMS_KDF_OUT_MAX + 1], h[32], nonce[33];
	struct tpmsession_name names[4] = { { big, 2 }, { big, 2 }, { big, 2 }, { big, 2 } };
	struct tpmsession_name fat = { big, TPMS_NAME_MAX + 1 };

	start_known(s);
	assert_int_equal(tpmsession_kdfa(s, big, 32, "X", NULL, 0, NULL, 0, out, TPMS_KDF_OUT_MAX + 1),
			 TPMS_E_INPUT);
	assert_int_equal(tpmsession_kdfa(s, big, TPMS_KDF_IN_MAX + 1, "X", NULL, 0, NULL, 0, out, 32),
			 TPMS_E_INPUT);
	assert_int_equal(tpmsession_kdfa(s, big, 32, "X", big, TPMS_KDF_IN_MAX + 1, NULL, 0, out, 32),
			 TPMS_E_INPUT);
	assert_int_equal(tpmsession_kdfa(s, big, 0, "X", NULL, 0, NULL, 0, out, 32), TPMS_E_INPUT);
	assert_int_equal(tpmsession_kdfa(s, big, 32, "", NULL, 0, NULL, 0, out, 32), TPMS_E_INPUT);
	assert_int_equal(tpmsession_kdfe(s, big, 32, "X", NULL, 0, big, TPMS_KDF_IN_MAX + 1, out, 32),
			 TPMS_E_INPUT);
	assert_int_equal(tpmsession_cp_hash(s, 1, names, 4, big, 1, h), TPMS_E_INPUT);
	assert_int_equal(tpmsession_cp_hash(s, 1, &fat, 1, big, 1, h), TPMS_E_INPUT);
	assert_int_equal(tpmsession_cp_hash(s, 1, names, 1, big, TPMS_PARAM_MAX + 1, h), TPMS_E_INPUT);
	assert_int_equal(tpmsession_rp_hash(s, 1, big, TPMS_PARAM_MAX + 1, h), TPMS_E_INPUT);
	assert_int_equal(tpmsession_cmd_hmac(s, big, TPMS_AUTH_MAX + 1, h, 1, h), TPMS_E_INPUT);
	assert_int_equal(tpmsession_encrypt_command_param(s, NULL, 0, big, TPMS_PARAM_MAX + 1),
			 TPMS_E_INPUT);
	assert_int_equal(tpmsession_encrypt_command_param(s, big, TPMS_AUTH_MAX + 1, big, 1),
			 TPMS_E_INPUT);
	/* Nonces outside 16..32 bytes, from the TPM or anyone. */
	memset(nonce, 1, sizeof(nonce));
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, h, nonce, 33, 1, h, 32), TPMS_E_INPUT);
	assert_int_equal(tpmsession_rsp_check(s, NULL, 0, h, nonce, 15, 1, h, 32), TPMS_E_INPUT);
	assert_int_equal(tpmsession_start(s, 1, big, 32, nonce, 33, nonce, 32), TPMS_E_INPUT);
	assert_int_equal(tpmsession_start(s, 1, big, 32, nonce, 32, nonce, 0), TPMS_E_INPUT);
}

/* ---- cost: the point of doing this ourselves ---- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Everything one Sign costs on our side: nonce, CFB of the digest, cpHash, HMAC,
 * rpHash, response check (the check fails here: no TPM made it, cost is the same). */
static void test_cost_per_command(void **state)
{
	struct tpmsession *s = *state;
	static const uint8_t name[34] = { 0x00, 0x0b };
	struct tpmsession_name n = { name, sizeof(name) };
	uint8_t digest[34] = { 0, 32 }, h[32], hm[32], nt[32] = { 1 };
	double t0;
	int i, rounds = 2000;

	start_known(s);
	t0 = now_us();
	for (i = 0; i < rounds; i++) {
		assert_int_equal(tpmsession_roll_caller_nonce(s), TPMS_OK);
		assert_int_equal(tpmsession_encrypt_command_param(s, (const uint8_t *)"123456", 6,
								  digest + 2, 32), TPMS_OK);
		assert_int_equal(tpmsession_cp_hash(s, 0x15d, &n, 1, digest, sizeof(digest), h),
				 TPMS_OK);
		assert_int_equal(tpmsession_cmd_hmac(s, (const uint8_t *)"123456", 6, h, 0x21, hm),
				 TPMS_OK);
		assert_int_equal(tpmsession_rp_hash(s, 0x15d, digest, 34, h), TPMS_OK);
		assert_int_equal(tpmsession_rsp_check(s, (const uint8_t *)"123456", 6, h, nt, 32,
						      0x21, hm, 32), TPMS_E_HMAC);
	}
	print_message("session arithmetic per command: %.1f us\n", (now_us() - t0) / rounds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdfa_published),
		cmocka_unit_test(test_kdfa_matches_reference),
		cmocka_unit_test(test_kdfe_matches_reference),
		cmocka_unit_test(test_ecc_salt_agrees_with_tpm_side),
		cmocka_unit_test(test_session_key),
		cmocka_unit_test(test_cmd_hmac),
		cmocka_unit_test(test_response_hmac_and_tampering),
		cmocka_unit_test(test_cfb),
		cmocka_unit_test(test_esapi_exchange),
		cmocka_unit_test(test_cfb_context_reset),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_cost_per_command),
	};

	return cmocka_run_group_tests_name("tpmsession", tests, setup, teardown);
}
