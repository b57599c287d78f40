/* tpmsession: KDFa/KDFe, ECC salt, session key, command/response HMACs and CFB
 * parameter encryption of a TPM 2.0 HMAC session, on OpenSSL objects fetched once. */
#include "tpmsession.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>

#define CFB_KEY_LEN 16
#define CFB_IV_LEN 16

/* ---- setup ---- */

static int fetch_all(struct tpmsession_crypto *c)
{
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->md = EVP_MD_CTX_new();
	c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->mac = c->hmac ? EVP_MAC_CTX_new(c->hmac) : NULL;
	c->aes_cfb = EVP_CIPHER_fetch(NULL, "AES-128-CFB", NULL);
	c->cipher = EVP_CIPHER_CTX_new();
	return c->sha256 && c->md && c->mac && c->aes_cfb && c->cipher;
}

/* The MAC's digest is set once; each use only sets the key. */
static int preset_mac(struct tpmsession_crypto *c)
{
	char sha256[] = "SHA256";
	OSSL_PARAM m[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_CTX_set_params(c->mac, m) == 1;
}

int tpmsession_init(struct tpmsession *s)
{
	memset(s, 0, sizeof(*s));
	if (sodium_init() < 0 || (s->sec = sodium_malloc(sizeof(*s->sec))) == NULL)
		return TPMS_E_CRYPTO;
	sodium_memzero(s->sec, sizeof(*s->sec));
	if (!fetch_all(&s->c) || !preset_mac(&s->c)) {
		tpmsession_free(s);
		return TPMS_E_CRYPTO;
	}
	return TPMS_OK;
}

void tpmsession_forget(struct tpmsession *s)
{
	if (s->sec != NULL)
		sodium_memzero(s->sec, sizeof(*s->sec));
	s->handle = 0;
}

void tpmsession_free(struct tpmsession *s)
{
	struct tpmsession_crypto *c;

	if (s == NULL)
		return;
	c = &s->c;
	tpmsession_forget(s);
	sodium_free(s->sec); /* NULL ok */
	s->sec = NULL;
	EVP_CIPHER_CTX_free(c->cipher);
	EVP_CIPHER_free(c->aes_cfb);
	EVP_MAC_CTX_free(c->mac);
	EVP_MAC_free(c->hmac);
	EVP_MD_CTX_free(c->md);
	EVP_MD_free(c->sha256);
	memset(c, 0, sizeof(*c));
}

/* ---- KDFs ---- */

static void put32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* label || 0x00 is the KDF's "Label" field; both KDFs take it null-terminated. */
static int label_ok(const char *label)
{
	return label != NULL && strlen(label) > 0 && strlen(label) < TPMS_KDF_IN_MAX;
}

static int kdf_inputs_ok(size_t key_len, const char *label, size_t u_len, size_t v_len,
			 size_t out_len)
{
	return key_len > 0 && key_len <= TPMS_KDF_IN_MAX && label_ok(label) &&
	       u_len <= TPMS_KDF_IN_MAX && v_len <= TPMS_KDF_IN_MAX &&
	       out_len > 0 && out_len <= TPMS_KDF_OUT_MAX;
}

/* KDFa and KDFe are short loops over the pre-fetched HMAC and SHA-256. OpenSSL 3.0's
 * KBKDF/SSKDF would do the same, but a reused KBKDF context keeps the previous call's
 * context bytes when the new ones are empty, and 3.0 cannot duplicate a preset one. */

/* KDFa (SP800-108 counter mode): HMAC(key, [i]32 || label || 0x00 || u || v || [bits]32). */
int tpmsession_kdfa(struct tpmsession *s, const uint8_t *key, size_t key_len,
		    const char *label, const uint8_t *u, size_t u_len,
		    const uint8_t *v, size_t v_len, uint8_t *out, size_t out_len)
{
	uint8_t ctr[4], bits[4], block[TPMS_DIGEST_LEN];
	size_t done, n, blen = 0;
	uint32_t i;
	int ok = 1;

	if (!kdf_inputs_ok(key_len, label, u_len, v_len, out_len) || key == NULL || out == NULL ||
	    (u_len > 0 && u == NULL) || (v_len > 0 && v == NULL))
		return TPMS_E_INPUT;
	put32(bits, (uint32_t)(out_len * 8));
	for (i = 1, done = 0; ok && done < out_len; i++, done += n) {
		put32(ctr, i);
		ok = EVP_MAC_init(s->c.mac, key, key_len, NULL) == 1 &&
		     EVP_MAC_update(s->c.mac, ctr, 4) == 1 &&
		     EVP_MAC_update(s->c.mac, (const uint8_t *)label, strlen(label) + 1) == 1 &&
		     EVP_MAC_update(s->c.mac, u, u_len) == 1 &&
		     EVP_MAC_update(s->c.mac, v, v_len) == 1 &&
		     EVP_MAC_update(s->c.mac, bits, 4) == 1 &&
		     EVP_MAC_final(s->c.mac, block, &blen, sizeof(block)) == 1 &&
		     blen == sizeof(block);
		n = out_len - done < sizeof(block) ? out_len - done : sizeof(block);
		if (ok)
			memcpy(out + done, block, n);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return ok ? TPMS_OK : TPMS_E_CRYPTO;
}

/* KDFe (SP800-56A concatenation): SHA256([i]32 || Z || label || 0x00 || u || v). */
int tpmsession_kdfe(struct tpmsession *s, const uint8_t *z, size_t z_len,
		    const char *label, const uint8_t *u, size_t u_len,
		    const uint8_t *v, size_t v_len, uint8_t *out, size_t out_len)
{
	uint8_t ctr[4], block[TPMS_DIGEST_LEN];
	size_t done, n;
	uint32_t i;
	int ok = 1;

	if (!kdf_inputs_ok(z_len, label, u_len, v_len, out_len) || z == NULL || out == NULL ||
	    (u_len > 0 && u == NULL) || (v_len > 0 && v == NULL))
		return TPMS_E_INPUT;
	for (i = 1, done = 0; ok && done < out_len; i++, done += n) {
		put32(ctr, i);
		ok = EVP_DigestInit_ex2(s->c.md, s->c.sha256, NULL) == 1 &&
		     EVP_DigestUpdate(s->c.md, ctr, 4) == 1 &&
		     EVP_DigestUpdate(s->c.md, z, z_len) == 1 &&
		     EVP_DigestUpdate(s->c.md, label, strlen(label) + 1) == 1 &&
		     EVP_DigestUpdate(s->c.md, u, u_len) == 1 &&
		     EVP_DigestUpdate(s->c.md, v, v_len) == 1 &&
		     EVP_DigestFinal_ex(s->c.md, block, NULL) == 1;
		n = out_len - done < sizeof(block) ? out_len - done : sizeof(block);
		if (ok)
			memcpy(out + done, block, n);
	}
	OPENSSL_cleanse(block, sizeof(block));
	return ok ? TPMS_OK : TPMS_E_CRYPTO;
}

/* ---- ECC salt ---- */

EVP_PKEY *tpmsession_p256_public(const uint8_t x[TPMS_ECC_COORD], const uint8_t y[TPMS_ECC_COORD])
{
	uint8_t q[1 + 2 * TPMS_ECC_COORD];
	char group[] = "P-256";
	OSSL_PARAM p[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	q[0] = 0x04;
	memcpy(q + 1, x, TPMS_ECC_COORD);
	memcpy(q + 1 + TPMS_ECC_COORD, y, TPMS_ECC_COORD);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q));
	p[2] = OSSL_PARAM_construct_end();
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, p) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Z = x-coordinate of mine * peer (OpenSSL's ECDH output, padded to the field size). */
static int ecdh_x(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t z[TPMS_ECC_COORD])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	size_t len = TPMS_ECC_COORD;
	int ok;

	/* EVP_PKEY_derive_set_peer (unlike _ex) checks the point lies on the curve. */
	ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	     EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	     EVP_PKEY_derive(ctx, z, &len) == 1 && len == TPMS_ECC_COORD;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static int point_of(EVP_PKEY *k, uint8_t x[TPMS_ECC_COORD], uint8_t y[TPMS_ECC_COORD])
{
	BIGNUM *bx = NULL, *by = NULL;
	int ok;

	ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
	     EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
	     BN_bn2binpad(bx, x, TPMS_ECC_COORD) == TPMS_ECC_COORD &&
	     BN_bn2binpad(by, y, TPMS_ECC_COORD) == TPMS_ECC_COORD;
	BN_free(bx);
	BN_free(by);
	return ok;
}

int tpmsession_ecc_salt(struct tpmsession *s, const uint8_t srk_x[TPMS_ECC_COORD],
			const uint8_t srk_y[TPMS_ECC_COORD], uint8_t salt[TPMS_DIGEST_LEN],
			uint8_t eph_x[TPMS_ECC_COORD], uint8_t eph_y[TPMS_ECC_COORD])
{
	return tpmsession_ecc_seed(s, "SECRET", srk_x, srk_y, salt, eph_x, eph_y);
}

int tpmsession_ecc_seed(struct tpmsession *s, const char *label,
			const uint8_t srk_x[TPMS_ECC_COORD],
			const uint8_t srk_y[TPMS_ECC_COORD], uint8_t salt[TPMS_DIGEST_LEN],
			uint8_t eph_x[TPMS_ECC_COORD], uint8_t eph_y[TPMS_ECC_COORD])
{
	EVP_PKEY *srk = tpmsession_p256_public(srk_x, srk_y), *eph = NULL;
	uint8_t z[TPMS_ECC_COORD];
	int r = TPMS_E_CRYPTO;

	if (srk == NULL)
		return TPMS_E_INPUT; /* not a point on P-256 */
	eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (eph != NULL && point_of(eph, eph_x, eph_y) && ecdh_x(eph, srk, z))
		r = tpmsession_kdfe(s, z, sizeof(z), label, eph_x, TPMS_ECC_COORD,
				    srk_x, TPMS_ECC_COORD, salt, TPMS_DIGEST_LEN);
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_free(eph);
	EVP_PKEY_free(srk);
	return r;
}

/* ---- the outer wrapper ---- */

static int cfb_once(struct tpmsession_crypto *c, const uint8_t *key, const uint8_t *iv,
		    int enc, uint8_t *buf, size_t len)
{
	int out_len = 0, ok;

	ok = len <= TPMS_PARAM_MAX &&
	     EVP_CipherInit_ex2(c->cipher, c->aes_cfb, key, iv, enc, NULL) == 1 &&
	     (len == 0 || EVP_CipherUpdate(c->cipher, buf, &out_len, buf, (int)len) == 1);
	/* The context holds the expanded key schedule until reset. */
	EVP_CIPHER_CTX_reset(c->cipher);
	return ok;
}

int tpmsession_outer_wrap(struct tpmsession *s, const uint8_t *seed, size_t seed_len,
			  const uint8_t *name, size_t name_len, const uint8_t *in, size_t in_len,
			  uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t iv[CFB_IV_LEN];
	uint8_t sym[CFB_KEY_LEN], hkey[TPMS_DIGEST_LEN], *enc = out + 2 + TPMS_DIGEST_LEN;
	size_t hlen = 0;
	int ok;

	if (in_len > TPMS_PARAM_MAX || cap < 2 + TPMS_DIGEST_LEN + in_len || name_len == 0 ||
	    name_len > TPMS_NAME_MAX)
		return TPMS_E_INPUT;
	memmove(enc, in, in_len);
	ok = tpmsession_kdfa(s, seed, seed_len, "STORAGE", name, name_len, NULL, 0, sym,
			     sizeof(sym)) == TPMS_OK &&
	     tpmsession_kdfa(s, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0, hkey,
			     sizeof(hkey)) == TPMS_OK &&
	     cfb_once(&s->c, sym, iv, 1, enc, in_len) &&
	     EVP_MAC_init(s->c.mac, hkey, sizeof(hkey), NULL) == 1 &&
	     EVP_MAC_update(s->c.mac, enc, in_len) == 1 &&
	     EVP_MAC_update(s->c.mac, name, name_len) == 1 &&
	     EVP_MAC_final(s->c.mac, out + 2, &hlen, TPMS_DIGEST_LEN) == 1 &&
	     hlen == TPMS_DIGEST_LEN;
	(void)EVP_MAC_init(s->c.mac, (const uint8_t *)"", 1, NULL); /* drop hkey's copy */
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	if (!ok) {
		OPENSSL_cleanse(out, cap);
		return TPMS_E_CRYPTO;
	}
	out[0] = 0;
	out[1] = TPMS_DIGEST_LEN;
	*out_len = 2 + TPMS_DIGEST_LEN + in_len;
	return TPMS_OK;
}

/* ---- session state ---- */

static int nonce_len_ok(size_t len)
{
	return len >= TPMS_NONCE_MIN && len <= TPMS_NONCE_MAX;
}

int tpmsession_start(struct tpmsession *s, uint32_t handle, const uint8_t *salt,
		     size_t salt_len, const uint8_t *nonce_tpm, size_t nonce_tpm_len,
		     const uint8_t *nonce_caller, size_t nonce_caller_len)
{
	int r;

	if (!nonce_len_ok(nonce_tpm_len) || !nonce_len_ok(nonce_caller_len))
		return TPMS_E_INPUT;
	tpmsession_forget(s);
	r = tpmsession_kdfa(s, salt, salt_len, "ATH", nonce_tpm, nonce_tpm_len,
			    nonce_caller, nonce_caller_len, s->sec->key, sizeof(s->sec->key));
	if (r != TPMS_OK)
		return r;
	s->handle = handle;
	memcpy(s->sec->nonce_tpm, nonce_tpm, nonce_tpm_len);
	s->sec->nonce_tpm_len = nonce_tpm_len;
	memcpy(s->sec->nonce_caller, nonce_caller, nonce_caller_len);
	s->sec->nonce_caller_len = nonce_caller_len;
	return TPMS_OK;
}

int tpmsession_roll_caller_nonce(struct tpmsession *s)
{
	size_t len = s->sec->nonce_tpm_len ? s->sec->nonce_tpm_len : TPMS_NONCE_MAX;

	if (!nonce_len_ok(len) || RAND_bytes(s->sec->nonce_caller, (int)len) != 1)
		return TPMS_E_CRYPTO;
	s->sec->nonce_caller_len = len;
	return TPMS_OK;
}

/* ---- hashes and HMACs ---- */

int tpmsession_cp_hash(struct tpmsession *s, uint32_t cc,
		       const struct tpmsession_name *names, size_t n_names,
		       const uint8_t *cp, size_t cp_len, uint8_t out[TPMS_DIGEST_LEN])
{
	uint8_t ccb[4];
	size_t i;
	int ok;

	if (n_names > TPMS_NAMES_MAX || cp_len > TPMS_PARAM_MAX || (cp_len > 0 && cp == NULL))
		return TPMS_E_INPUT;
	for (i = 0; i < n_names; i++)
		if (names[i].len == 0 || names[i].len > TPMS_NAME_MAX || names[i].buf == NULL)
			return TPMS_E_INPUT;
	put32(ccb, cc);
	ok = EVP_DigestInit_ex2(s->c.md, s->c.sha256, NULL) == 1 &&
	     EVP_DigestUpdate(s->c.md, ccb, 4) == 1;
	for (i = 0; ok && i < n_names; i++)
		ok = EVP_DigestUpdate(s->c.md, names[i].buf, names[i].len) == 1;
	ok = ok && EVP_DigestUpdate(s->c.md, cp, cp_len) == 1 &&
	     EVP_DigestFinal_ex(s->c.md, out, NULL) == 1;
	return ok ? TPMS_OK : TPMS_E_CRYPTO;
}

int tpmsession_rp_hash(struct tpmsession *s, uint32_t cc, const uint8_t *rp, size_t rp_len,
		       uint8_t out[TPMS_DIGEST_LEN])
{
	uint8_t head[8] = { 0 }; /* responseCode 0 (only successes carry an HMAC), cc */
	int ok;

	if (rp_len > TPMS_PARAM_MAX || (rp_len > 0 && rp == NULL))
		return TPMS_E_INPUT;
	put32(head + 4, cc);
	ok = EVP_DigestInit_ex2(s->c.md, s->c.sha256, NULL) == 1 &&
	     EVP_DigestUpdate(s->c.md, head, 8) == 1 &&
	     EVP_DigestUpdate(s->c.md, rp, rp_len) == 1 &&
	     EVP_DigestFinal_ex(s->c.md, out, NULL) == 1;
	return ok ? TPMS_OK : TPMS_E_CRYPTO;
}

/* The TPM strips trailing zeros of an authValue before using it in an HMAC or KDF key
 * (Part 1 §19.6.5: "authValue ... with trailing zeros removed"). */
static size_t auth_len_stripped(const uint8_t *auth, size_t len)
{
	while (len > 0 && auth[len - 1] == 0)
		len--;
	return len;
}

/* sessionValue = sessionKey || authValue into s->sec->value. */
static int session_value(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			 size_t *len)
{
	struct tpmsession_secret *x = s->sec;

	if (auth_len > TPMS_AUTH_MAX || (auth_len > 0 && auth == NULL))
		return TPMS_E_INPUT;
	auth_len = auth_len_stripped(auth, auth_len);
	memcpy(x->value, x->key, sizeof(x->key));
	if (auth_len > 0)
		memcpy(x->value + sizeof(x->key), auth, auth_len);
	*len = sizeof(x->key) + auth_len;
	return TPMS_OK;
}

/* HMAC(sessionKey || auth, digest || n1 || n2 || attrs). */
static int session_hmac(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			const uint8_t digest[TPMS_DIGEST_LEN], const uint8_t *n1, size_t n1_len,
			const uint8_t *n2, size_t n2_len, uint8_t attrs,
			uint8_t out[TPMS_DIGEST_LEN])
{
	size_t key_len, out_len = 0;
	int r, ok;

	if ((r = session_value(s, auth, auth_len, &key_len)) != TPMS_OK)
		return r;
	ok = EVP_MAC_init(s->c.mac, s->sec->value, key_len, NULL) == 1 &&
	     EVP_MAC_update(s->c.mac, digest, TPMS_DIGEST_LEN) == 1 &&
	     EVP_MAC_update(s->c.mac, n1, n1_len) == 1 &&
	     EVP_MAC_update(s->c.mac, n2, n2_len) == 1 &&
	     EVP_MAC_update(s->c.mac, &attrs, 1) == 1 &&
	     EVP_MAC_final(s->c.mac, out, &out_len, TPMS_DIGEST_LEN) == 1 &&
	     out_len == TPMS_DIGEST_LEN;
	sodium_memzero(s->sec->value, sizeof(s->sec->value));
	/* OpenSSL's HMAC keeps a heap copy of its last key (sessionKey || PIN) until it is
	 * re-keyed, and then wipes it: re-key with one zero byte so no PIN stays behind. */
	(void)EVP_MAC_init(s->c.mac, (const uint8_t *)"", 1, NULL);
	return ok ? TPMS_OK : TPMS_E_CRYPTO;
}

int tpmsession_cmd_hmac(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			const uint8_t cp_hash[TPMS_DIGEST_LEN], uint8_t attrs,
			uint8_t out[TPMS_DIGEST_LEN])
{
	struct tpmsession_secret *x = s->sec;

	if (!nonce_len_ok(x->nonce_caller_len) || !nonce_len_ok(x->nonce_tpm_len))
		return TPMS_E_INPUT;
	return session_hmac(s, auth, auth_len, cp_hash, x->nonce_caller, x->nonce_caller_len,
			    x->nonce_tpm, x->nonce_tpm_len, attrs, out);
}

int tpmsession_rsp_check(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			 const uint8_t rp_hash[TPMS_DIGEST_LEN],
			 const uint8_t *nonce_tpm, size_t nonce_tpm_len, uint8_t attrs,
			 const uint8_t *hmac, size_t hmac_len)
{
	uint8_t want[TPMS_DIGEST_LEN];
	int r;

	if (!nonce_len_ok(nonce_tpm_len) || nonce_tpm == NULL ||
	    !nonce_len_ok(s->sec->nonce_caller_len))
		return TPMS_E_INPUT;
	r = session_hmac(s, auth, auth_len, rp_hash, nonce_tpm, nonce_tpm_len,
			 s->sec->nonce_caller, s->sec->nonce_caller_len, attrs, want);
	if (r != TPMS_OK)
		return r;
	if (hmac == NULL || hmac_len != sizeof(want) || CRYPTO_memcmp(want, hmac, sizeof(want)) != 0)
		return TPMS_E_HMAC;
	memcpy(s->sec->nonce_tpm, nonce_tpm, nonce_tpm_len);
	s->sec->nonce_tpm_len = nonce_tpm_len;
	return TPMS_OK;
}

/* ---- parameter encryption ---- */

static int cfb(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
	       const uint8_t *newer, size_t newer_len, const uint8_t *older, size_t older_len,
	       int enc, uint8_t *buf, size_t len)
{
	struct tpmsession_secret *x = s->sec;
	size_t value_len;
	int r;

	if (len > TPMS_PARAM_MAX || (len > 0 && buf == NULL) ||
	    !nonce_len_ok(newer_len) || !nonce_len_ok(older_len))
		return TPMS_E_INPUT;
	if ((r = session_value(s, auth, auth_len, &value_len)) != TPMS_OK)
		return r;
	r = tpmsession_kdfa(s, x->value, value_len, "CFB", newer, newer_len, older, older_len,
			    x->keyiv, CFB_KEY_LEN + CFB_IV_LEN);
	sodium_memzero(x->value, sizeof(x->value));
	if (r == TPMS_OK && !cfb_once(&s->c, x->keyiv, x->keyiv + CFB_KEY_LEN, enc, buf, len))
		r = TPMS_E_CRYPTO;
	sodium_memzero(x->keyiv, sizeof(x->keyiv));
	return r;
}

int tpmsession_encrypt_command_param(struct tpmsession *s, const uint8_t *auth,
				     size_t auth_len, uint8_t *buf, size_t len)
{
	return cfb(s, auth, auth_len, s->sec->nonce_caller, s->sec->nonce_caller_len,
		   s->sec->nonce_tpm, s->sec->nonce_tpm_len, 1, buf, len);
}

int tpmsession_decrypt_response_param(struct tpmsession *s, const uint8_t *auth,
				      size_t auth_len, uint8_t *buf, size_t len)
{
	return cfb(s, auth, auth_len, s->sec->nonce_tpm, s->sec->nonce_tpm_len,
		   s->sec->nonce_caller, s->sec->nonce_caller_len, 0, buf, len);
}
