/* pubkey_evp: builds OpenSSL public keys from SSH key material with EVP_PKEY_fromdata. */
#include "pubkey_evp.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

static int push_rsa(OSSL_PARAM_BLD *bld, const struct sshkey_pub *pub, BIGNUM **n, BIGNUM **e)
{
	*n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
	*e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
	return *n && *e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, *n) &&
	       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, *e);
}

static int push_ec(OSSL_PARAM_BLD *bld, const struct sshkey_pub *pub)
{
	const char *group = pub->type == SSHKEY_ECDSA_P256 ? "P-256" :
			    pub->type == SSHKEY_ECDSA_P384 ? "P-384" : "P-521";

	return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	       OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub->q, pub->q_len);
}

EVP_PKEY *pubkey_to_evp(const struct sshkey_pub *pub)
{
	int rsa = pub->type == SSHKEY_RSA;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *pkey = NULL;
	int ok;

	if (pub->type == SSHKEY_UNSPEC || bld == NULL) {
		OSSL_PARAM_BLD_free(bld);
		return NULL;
	}
	ok = rsa ? push_rsa(bld, pub, &n, &e) : push_ec(bld, pub);
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, rsa ? "RSA" : "EC", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}
