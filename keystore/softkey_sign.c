/* softkey_sign: signing with a software key (libsodium for Ed25519, short-lived OpenSSL
 * keys else), and the OpenSSL keys the pairwise check at parse time uses too. */
#include "softkey.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <sodium.h>

#include "softkey_internal.h"

#define ED25519_SIG_LEN  64
#define EC_SCALAR_MAX    66   /* P-521 */

/* ---- OpenSSL keys, made for one check or one signature and freed at once ---- */

static BIGNUM *secret_bn(const struct secret_num *s, BIGNUM **slot)
{
	/* A "secure" BIGNUM is cleared on free and, with a secure heap, kept in it. */
	*slot = BN_secure_new();
	if (*slot != NULL && BN_bin2bn(s->v, (int)s->len, *slot) == NULL) {
		BN_clear_free(*slot);
		*slot = NULL;
	}
	return *slot;
}

static const char *ec_group_name(enum sshkey_type t)
{
	return t == SSHKEY_ECDSA_P256 ? "prime256v1" :
	       t == SSHKEY_ECDSA_P384 ? "secp384r1" : "secp521r1";
}

static int push_ec(const struct softkey *k, OSSL_PARAM_BLD *bld, BIGNUM **bn)
{
	return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					       ec_group_name(k->pub.type), 0) &&
	       OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->pub.q,
						k->pub.q_len) &&
	       secret_bn(&k->sec->ec_d, &bn[0]) &&
	       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn[0]);
}

static int push_rsa(const struct softkey *k, OSSL_PARAM_BLD *bld, BIGNUM **bn)
{
	const struct secret_num *parts[6] = { &k->sec->rsa.d, &k->sec->rsa.p, &k->sec->rsa.q, &k->sec->rsa.dmp1,
					      &k->sec->rsa.dmq1, &k->sec->rsa.iqmp };
	static const char *const names[6] = {
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	int ok = (bn[6] = BN_bin2bn(k->pub.n, (int)k->pub.n_len, NULL)) != NULL &&
		 (bn[7] = BN_bin2bn(k->pub.e, (int)k->pub.e_len, NULL)) != NULL &&
		 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[6]) &&
		 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[7]);

	for (int i = 0; ok && i < 6; i++)
		ok = secret_bn(parts[i], &bn[i]) && OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
	return ok;
}

/* The ECDSA or RSA key as an EVP_PKEY; NULL when OpenSSL refuses it. */
static EVP_PKEY *openssl_key(const struct softkey *k)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn[8] = { NULL };
	int ok = bld != NULL &&
		 (k->kind == SOFTKEY_ECDSA ? push_ec(k, bld, bn) : push_rsa(k, bld, bn)) &&
		 (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		 (ctx = EVP_PKEY_CTX_new_from_name(NULL, k->kind == SOFTKEY_ECDSA ? "EC" : "RSA",
						   NULL)) != NULL &&
		 EVP_PKEY_fromdata_init(ctx) == 1 &&
		 EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) == 1;

	for (int i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(params); /* clears the block holding the secure BIGNUMs' copies */
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/* Public point on the curve, scalar in range, Q = dG; RSA: n = pq, d, CRT values and
 * primes consistent. A key that fails would sign garbage or leak its factors. */
int openssl_pair_ok(const struct softkey *k)
{
	EVP_PKEY *pkey = openssl_key(k);
	EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
	int ok = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

/* ---- signing ---- */

static int sign_ed25519(const struct softkey *k, const uint8_t *data, size_t len,
			struct sshbuf *sig)
{
	uint8_t s[ED25519_SIG_LEN];
	int r;

	if (crypto_sign_detached(s, NULL, data, len, k->sec->ed_sk) != 0)
		return -1;
	if ((r = sshbuf_put_cstring(sig, "ssh-ed25519")) == 0)
		r = sshbuf_put_string(sig, s, sizeof(s));
	return r;
}

static const EVP_MD *evp_md(enum sshkey_hash h)
{
	return h == SSHKEY_HASH_SHA1 ? EVP_sha1() :
	       h == SSHKEY_HASH_SHA256 ? EVP_sha256() :
	       h == SSHKEY_HASH_SHA384 ? EVP_sha384() :
	       h == SSHKEY_HASH_SHA512 ? EVP_sha512() : NULL;
}

/* OpenSSL's signature (DER for ECDSA, raw for RSA) into *out (caller frees). */
static int openssl_sign(const struct softkey *k, enum sshkey_hash h, const uint8_t *data,
			size_t len, uint8_t **out, size_t *out_len)
{
	EVP_PKEY *pkey = openssl_key(k);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = pkey != NULL && md != NULL &&
		 EVP_DigestSignInit(md, NULL, evp_md(h), NULL, pkey) == 1 &&
		 (*out = OPENSSL_malloc((size_t)EVP_PKEY_get_size(pkey))) != NULL;

	*out_len = ok ? (size_t)EVP_PKEY_get_size(pkey) : 0;
	ok = ok && EVP_DigestSign(md, *out, out_len, data, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey); /* clears the private BIGNUMs */
	return ok ? 0 : -1;
}

static int sign_ecdsa(const struct softkey *k, const uint8_t *data, size_t len,
		      struct sshbuf *sig)
{
	uint8_t *der = NULL, r_bin[EC_SCALAR_MAX], s_bin[EC_SCALAR_MAX];
	const uint8_t *p;
	const BIGNUM *r, *s;
	ECDSA_SIG *es = NULL;
	size_t der_len;
	int rc = -1;

	if (openssl_sign(k, sshkey_sign_hash(k->pub.type, 0), data, len, &der, &der_len) != 0)
		goto done;
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		goto done;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_num_bytes(r) > EC_SCALAR_MAX || BN_num_bytes(s) > EC_SCALAR_MAX)
		goto done;
	rc = sshkey_sig_ecdsa_to_blob(k->pub.type, r_bin, (size_t)BN_bn2bin(r, r_bin), s_bin,
				      (size_t)BN_bn2bin(s, s_bin), sig);
done:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return rc;
}

static int sign_rsa(const struct softkey *k, enum sshkey_hash h, const uint8_t *data,
		    size_t len, struct sshbuf *sig)
{
	uint8_t *raw = NULL;
	size_t raw_len;
	int rc = -1;

	if (openssl_sign(k, h, data, len, &raw, &raw_len) == 0)
		rc = sshkey_sig_rsa_to_blob(h, raw, raw_len, k->pub.n_len, sig);
	OPENSSL_free(raw);
	return rc;
}

static int sign_by_kind(const struct softkey *k, const uint8_t *data, size_t len,
			uint32_t flags, struct sshbuf *sig, struct errmsg *e)
{
	enum sshkey_hash h;

	switch (k->kind) {
	case SOFTKEY_ED25519:
		return sign_ed25519(k, data, len, sig) == 0 ? 0 :
		       errmsg_set(e, "Ed25519 signature failed");
	case SOFTKEY_ECDSA:
		return sign_ecdsa(k, data, len, sig) == 0 ? 0 :
		       errmsg_set(e, "ECDSA signature failed");
	case SOFTKEY_SK:
		return errmsg_set(e, "a FIDO key signs through its authenticator (ssh-sk-helper)");
	case SOFTKEY_TOKEN:
		return errmsg_set(e, "a PKCS#11 key signs through its token (ssh-pkcs11-helper)");
	case SOFTKEY_RSA:
		if ((h = sshkey_sign_hash(SSHKEY_RSA, flags)) == SSHKEY_HASH_NONE)
			return errmsg_set(e, "ssh-rsa (SHA-1) signatures are refused: the client "
					  "must ask for rsa-sha2-256 or rsa-sha2-512 (or set "
					  "legacy-rsa-sha1 = yes for an old server)");
		return sign_rsa(k, h, data, len, sig) == 0 ? 0 :
		       errmsg_set(e, "RSA signature failed");
	}
	return errmsg_set(e, "unknown key kind");
}

int softkey_sign(const struct softkey *k, const uint8_t *data, size_t len, uint32_t flags,
		 struct sshbuf *sig, struct errmsg *e)
{
	int r;

	/* Readable for this signature only (one thread signs: the agent's event loop). */
	if (sodium_mprotect_readonly(k->sec) != 0)
		return errmsg_set(e, "cannot unprotect the key's secure memory");
	r = sign_by_kind(k, data, len, flags, sig, e);
	sodium_mprotect_noaccess(k->sec);
	return r;
}
