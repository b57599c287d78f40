/* sshverify: checks a host key's SSH signature blob with OpenSSL's EVP_DigestVerify. */
#include "sshverify.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <string.h>

#include "pubkey_evp.h"
#include "sshbuf.h"
#include "sshcert.h"
#include "sshkey.h"

#define ED25519_PK_LEN  32
#define ED25519_SIG_LEN 64

/* EVP_DigestVerify of sig (DER for ECDSA, raw for Ed25519 and RSA) with md (NULL for
 * Ed25519). */
static int evp_verify(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t sig_len,
		      const uint8_t *data, size_t data_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && pkey != NULL &&
		 EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
		 EVP_DigestVerify(ctx, sig, sig_len, data, data_len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : SSHVERIFY_E_BADSIG;
}

static int verify_ed25519(struct sshbuf *kb, struct sshbuf *sb, const uint8_t *data,
			  size_t data_len)
{
	const uint8_t *pk, *s;
	size_t pk_len, s_len;
	EVP_PKEY *pkey;
	int r;

	if ((r = sshbuf_get_string(kb, &pk, &pk_len)) != 0 ||
	    (r = sshbuf_get_string(sb, &s, &s_len)) != 0)
		return r;
	if (pk_len != ED25519_PK_LEN || s_len != ED25519_SIG_LEN || sshbuf_len(kb) != 0 ||
	    sshbuf_len(sb) != 0)
		return SSHBUF_E_FORMAT;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, pk_len);
	r = evp_verify(pkey, NULL, s, s_len, data, data_len);
	EVP_PKEY_free(pkey);
	return r;
}

/* string (mpint r, mpint s) -> DER ECDSA-Sig-Value in der (at most 160 bytes). */
static int ecdsa_sig_der(struct sshbuf *sb, uint8_t *der, size_t *der_len)
{
	const uint8_t *inner, *rp, *sp;
	size_t inner_len, r_len, s_len;
	struct sshbuf ib;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *p = der;
	int r, n;

	if ((r = sshbuf_get_string(sb, &inner, &inner_len)) != 0)
		return r;
	sshbuf_view(&ib, inner, inner_len);
	if ((r = sshbuf_get_mpint(&ib, &rp, &r_len)) != 0 ||
	    (r = sshbuf_get_mpint(&ib, &sp, &s_len)) != 0)
		return r;
	if (sshbuf_len(&ib) != 0 || sshbuf_len(sb) != 0 || r_len > 66 || s_len > 66)
		return SSHBUF_E_FORMAT;
	if ((es = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(rp, (int)r_len, NULL)) == NULL ||
	    (bs = BN_bin2bn(sp, (int)s_len, NULL)) == NULL || ECDSA_SIG_set0(es, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(es);
		return SSHBUF_E_NOMEM;
	}
	n = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	if (n <= 0 || (size_t)n > *der_len)
		return SSHBUF_E_FORMAT;
	*der_len = (size_t)n;
	return 0;
}

static const EVP_MD *md_of(enum sshkey_hash h)
{
	return h == SSHKEY_HASH_SHA256 ? EVP_sha256() : h == SSHKEY_HASH_SHA384 ? EVP_sha384() :
	       h == SSHKEY_HASH_SHA512 ? EVP_sha512() : NULL;
}

/* ECDSA and RSA keys, parsed by sshkey.c; the signature's algorithm name is in alg. */
static int verify_pub(const uint8_t *key, size_t key_len, const char *alg, struct sshbuf *sb,
		      const uint8_t *data, size_t data_len)
{
	struct sshkey_pub pub;
	enum sshkey_hash h;
	uint8_t der[160];
	const uint8_t *s = der;
	size_t s_len = sizeof(der);
	EVP_PKEY *pkey;
	int r;

	if ((r = sshkey_pub_from_blob(key, key_len, &pub)) != 0)
		return r;
	if (pub.type == SSHKEY_RSA) {
		h = strcmp(alg, "rsa-sha2-256") == 0 ? SSHKEY_HASH_SHA256 :
		    strcmp(alg, "rsa-sha2-512") == 0 ? SSHKEY_HASH_SHA512 : SSHKEY_HASH_NONE;
		if (h == SSHKEY_HASH_NONE)
			return SSHVERIFY_E_UNSUPP; /* "ssh-rsa" (SHA-1) or a foreign name */
		if ((r = sshbuf_get_string(sb, &s, &s_len)) != 0)
			return r;
		if (sshbuf_len(sb) != 0 || s_len == 0 || s_len > pub.n_len)
			return SSHBUF_E_FORMAT;
	} else {
		if (strcmp(alg, sshkey_type_name(pub.type)) != 0)
			return SSHVERIFY_E_UNSUPP;
		h = sshkey_sign_hash(pub.type, 0);
		if ((r = ecdsa_sig_der(sb, der, &s_len)) != 0)
			return r;
	}
	if ((pkey = pubkey_to_evp(&pub)) == NULL)
		return SSHBUF_E_FORMAT;
	r = evp_verify(pkey, md_of(h), s, s_len, data, data_len);
	EVP_PKEY_free(pkey);
	return r;
}

/* A certificate: its CA's signature over the certificate (as OpenSSH's cert_parse, a CA
 * that is itself a certificate is refused), then the certified key's over data. */
static int verify_cert(const uint8_t *key, size_t key_len, const uint8_t *sig,
		       size_t sig_len, const uint8_t *data, size_t data_len)
{
	struct sshcert_any c;
	int r;

	if ((r = sshcert_any_from_blob(key, key_len, &c)) != 0)
		return r == SSHBUF_E_FORMAT ? SSHVERIFY_E_UNSUPP : r;
	if (sshcert_is_cert_blob(c.ca, c.ca_len))
		return SSHVERIFY_E_UNSUPP;
	if ((r = sshverify(c.ca, c.ca_len, c.sig, c.sig_len, key, c.signed_len)) != 0)
		return r == SSHVERIFY_E_BADSIG ? SSHVERIFY_E_BADCA : r;
	return sshverify(c.key, c.key_len, sig, sig_len, data, data_len);
}

int sshverify(const uint8_t *key, size_t key_len, const uint8_t *sig, size_t sig_len,
	      const uint8_t *data, size_t data_len)
{
	char ktype[SSHKEY_NAME_MAX], alg[SSHKEY_NAME_MAX];
	struct sshbuf kb, sb;
	int r;

	if (sshcert_is_cert_blob(key, key_len))
		return verify_cert(key, key_len, sig, sig_len, data, data_len);
	sshbuf_view(&kb, key, key_len);
	sshbuf_view(&sb, sig, sig_len);
	if ((r = sshbuf_get_cstring(&kb, ktype, sizeof(ktype))) != 0 ||
	    (r = sshbuf_get_cstring(&sb, alg, sizeof(alg))) != 0)
		return r == SSHBUF_E_TOOBIG ? SSHVERIFY_E_UNSUPP : r;
	if (strcmp(ktype, "ssh-ed25519") == 0)
		return strcmp(alg, ktype) == 0 ? verify_ed25519(&kb, &sb, data, data_len) :
						 SSHVERIFY_E_UNSUPP;
	if (sshkey_type_from_name(ktype) == SSHKEY_UNSPEC)
		return SSHVERIFY_E_UNSUPP; /* FIDO keys, DSA */
	return verify_pub(key, key_len, alg, &sb, data, data_len);
}

const char *sshverify_strerror(int r)
{
	if (r == SSHVERIFY_E_BADSIG)
		return "the signature does not verify";
	if (r == SSHVERIFY_E_UNSUPP)
		return "unsupported key or signature type";
	if (r == SSHVERIFY_E_BADCA)
		return "the certificate's CA signature does not verify";
	return sshbuf_strerror(r);
}
