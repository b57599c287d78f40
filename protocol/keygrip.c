/* keygrip: libgcrypt-compatible keygrips: SHA-1 over the RSA modulus, or over the
 * NIST curve parameters and point in S-expression form (shared/REFERENCE.md §6). */
#include "keygrip.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#define EC_PARAM_MAX 67 /* P-521 field size plus a possible sign byte */

static int nid_for(enum sshkey_type t)
{
	switch (t) {
	case SSHKEY_ECDSA_P256: return NID_X9_62_prime256v1;
	case SSHKEY_ECDSA_P384: return NID_secp384r1;
	case SSHKEY_ECDSA_P521: return NID_secp521r1;
	default:                return NID_undef;
	}
}

/* RSA: SHA-1 of n, with 0x00 in front when its top bit is set (libgcrypt hashes
 * the modulus as a signed S-expression number). The exponent is not part of it. */
static int grip_rsa(const struct sshkey_pub *k, uint8_t grip[KEYGRIP_LEN])
{
	static const uint8_t zero = 0;
	const uint8_t *n = k->n;
	size_t n_len = k->n_len;
	EVP_MD_CTX *ctx;
	int ok;

	if (n_len > sizeof(k->n))
		return SSHBUF_E_FORMAT;
	while (n_len > 0 && n[0] == 0) {
		n++;
		n_len--;
	}
	if (n_len == 0)
		return SSHBUF_E_FORMAT;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return SSHBUF_E_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
	     ((n[0] & 0x80) == 0 || EVP_DigestUpdate(ctx, &zero, 1)) &&
	     EVP_DigestUpdate(ctx, n, n_len) &&
	     EVP_DigestFinal_ex(ctx, grip, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? SSHBUF_OK : SSHBUF_E_NOMEM;
}

/* Hashes one "(<namelen>:<name><len>:<bytes>)" element, as libgcrypt's keygrip does. */
static int hash_element(EVP_MD_CTX *ctx, char name, const uint8_t *v, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "(1:%c%zu:", name, len);

	return n > 0 && (size_t)n < sizeof(head) &&
	       EVP_DigestUpdate(ctx, head, (size_t)n) &&
	       EVP_DigestUpdate(ctx, v, len) &&
	       EVP_DigestUpdate(ctx, ")", 1);
}

/* Minimal big-endian bytes of bn into buf (capacity EC_PARAM_MAX). */
static int hash_bn(EVP_MD_CTX *ctx, char name, const BIGNUM *bn)
{
	uint8_t buf[EC_PARAM_MAX];

	if (BN_num_bytes(bn) > (int)sizeof(buf))
		return 0;
	return hash_element(ctx, name, buf, (size_t)BN_bn2bin(bn, buf));
}

/* Hashes p, a, b, G, n of the curve: the part of an ECC keygrip that depends
 * only on the curve. */
static int hash_curve(EVP_MD_CTX *ctx, const EC_GROUP *group, size_t field_len)
{
	uint8_t g[SSHKEY_EC_POINT_MAX];
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
	int ok;

	ok = p != NULL && a != NULL && b != NULL &&
	     EC_GROUP_get_curve(group, p, a, b, NULL) &&
	     EC_POINT_point2oct(group, EC_GROUP_get0_generator(group),
				POINT_CONVERSION_UNCOMPRESSED, g, sizeof(g), NULL) == 1 + 2 * field_len &&
	     hash_bn(ctx, 'p', p) && hash_bn(ctx, 'a', a) && hash_bn(ctx, 'b', b) &&
	     hash_element(ctx, 'g', g, 1 + 2 * field_len) &&
	     hash_bn(ctx, 'n', EC_GROUP_get0_order(group));
	BN_free(p);
	BN_free(a);
	BN_free(b);
	return ok;
}

static int grip_ecdsa(const struct sshkey_pub *k, uint8_t grip[KEYGRIP_LEN])
{
	size_t field_len = sshkey_ec_field_len(k->type);
	EC_GROUP *group;
	EVP_MD_CTX *ctx = NULL;
	int ok;

	if (k->q_len != 1 + 2 * field_len || k->q[0] != 0x04)
		return SSHBUF_E_FORMAT;
	if ((group = EC_GROUP_new_by_curve_name(nid_for(k->type))) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL) {
		EC_GROUP_free(group);
		return SSHBUF_E_NOMEM;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
	     hash_curve(ctx, group, field_len) &&
	     hash_element(ctx, 'q', k->q, k->q_len) &&
	     EVP_DigestFinal_ex(ctx, grip, NULL);
	EVP_MD_CTX_free(ctx);
	EC_GROUP_free(group);
	return ok ? SSHBUF_OK : SSHBUF_E_NOMEM;
}

int keygrip_compute(const struct sshkey_pub *k, uint8_t grip[KEYGRIP_LEN])
{
	if (k->type == SSHKEY_RSA)
		return grip_rsa(k, grip);
	if (nid_for(k->type) != NID_undef)
		return grip_ecdsa(k, grip);
	return SSHBUF_E_FORMAT;
}

int keygrip_hex(const struct sshkey_pub *k, char hex[KEYGRIP_HEX_LEN])
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t grip[KEYGRIP_LEN];
	size_t i;
	int r;

	if ((r = keygrip_compute(k, grip)) != SSHBUF_OK)
		return r;
	for (i = 0; i < KEYGRIP_LEN; i++) {
		hex[2 * i] = digits[grip[i] >> 4];
		hex[2 * i + 1] = digits[grip[i] & 0x0f];
	}
	hex[2 * KEYGRIP_LEN] = '\0';
	return SSHBUF_OK;
}
