/* test_attestation: the offline verifier on attestations built in software (an
 * OpenSSL key stands in for the AK; no EK certificate): it accepts a well-formed one
 * and names the reason for each broken variant; the file framing round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "../../protocol/attestation.h"

#define ORIGIN (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN)

struct fixture {
	EVP_PKEY *ak, *key;
	struct attestation a;
	struct sshkey_pub key_ssh;
	uint8_t nonce[4];
};

static void ecc_public(EVP_PKEY *k, TPMA_OBJECT attrs, TPM2B_PUBLIC *p)
{
	BIGNUM *x = NULL, *y = NULL;

	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = attrs;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	p->publicArea.unique.ecc.x.size = p->publicArea.unique.ecc.y.size = 32;
	BN_bn2binpad(x, p->publicArea.unique.ecc.x.buffer, 32);
	BN_bn2binpad(y, p->publicArea.unique.ecc.y.buffer, 32);
	BN_free(x);
	BN_free(y);
}

static void put_pub(const TPM2B_PUBLIC *p, struct att_blob *b)
{
	b->len = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(p, b->d, sizeof(b->d), &b->len), 0);
}

/* Signs TPMS_ATTEST(certify name of key_pub, nonce) with the AK into a. */
static void certify(struct fixture *f, const uint8_t *nonce, size_t nonce_len)
{
	TPM2B_ATTEST info = { 0 };
	TPMS_ATTEST st = { 0 };
	TPMT_SIGNATURE sig = { 0 };
	uint8_t der[128], name[68];
	size_t der_len = sizeof(der), off = 0, name_len;
	const unsigned char *p = der;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	struct errmsg e;

	st.magic = TPM2_GENERATED_VALUE;
	st.type = TPM2_ST_ATTEST_CERTIFY;
	st.extraData.size = (UINT16)nonce_len;
	memcpy(st.extraData.buffer, nonce, nonce_len);
	assert_int_equal(attestation_name(f->a.key_pub.d, f->a.key_pub.len, name, &name_len, &e), 0);
	st.attested.certify.name.size = (UINT16)name_len;
	memcpy(st.attested.certify.name.name, name, name_len);
	assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&st, info.attestationData,
						     sizeof(info.attestationData), &off), 0);
	info.size = (UINT16)off;
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->ak), 1);
	assert_int_equal(EVP_DigestSign(md, der, &der_len, info.attestationData, info.size), 1);
	EVP_MD_CTX_free(md);
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	sig.sigAlg = TPM2_ALG_ECDSA;
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	sig.signature.ecdsa.signatureS.size = 32;
	BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32);
	ECDSA_SIG_free(es);
	f->a.certify_info.len = f->a.signature.len = 0;
	assert_int_equal(Tss2_MU_TPM2B_ATTEST_Marshal(&info, f->a.certify_info.d, ATT_BLOB_MAX,
						      &f->a.certify_info.len), 0);
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, f->a.signature.d, ATT_BLOB_MAX,
							&f->a.signature.len), 0);
}

static void activation(struct att_blob *b)
{
	TPM2B_ID_OBJECT cred = { .size = 40 };
	TPM2B_ENCRYPTED_SECRET enc = { .size = 64 };
	TPM2B_DIGEST secret = { .size = 32 };

	b->len = 0;
	Tss2_MU_TPM2B_ID_OBJECT_Marshal(&cred, b->d, sizeof(b->d), &b->len);
	Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&enc, b->d, sizeof(b->d), &b->len);
	Tss2_MU_TPM2B_DIGEST_Marshal(&secret, b->d, sizeof(b->d), &b->len);
}

/* A well-formed attestation of a key with the given attributes. */
static void build(struct fixture *f, TPMA_OBJECT key_attrs)
{
	TPM2B_PUBLIC p;

	memset(&f->a, 0, sizeof(f->a));
	ecc_public(f->ak, ORIGIN | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT, &p);
	put_pub(&p, &f->a.ak_pub);
	ecc_public(f->key, key_attrs, &p);
	put_pub(&p, &f->a.key_pub);
	memset(f->key_ssh.q, 0, sizeof(f->key_ssh.q));
	f->key_ssh.type = SSHKEY_ECDSA_P256;
	f->key_ssh.q[0] = 4;
	memcpy(f->key_ssh.q + 1, p.publicArea.unique.ecc.x.buffer, 32);
	memcpy(f->key_ssh.q + 33, p.publicArea.unique.ecc.y.buffer, 32);
	f->key_ssh.q_len = 65;
	/* The EK: any restricted decrypt key made in a TPM (no certificate here). */
	ecc_public(f->ak, ORIGIN | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT, &p);
	put_pub(&p, &f->a.ek_pub);
	activation(&f->a.activation);
	certify(f, f->nonce, sizeof(f->nonce));
}

static int verify(struct fixture *f, struct errmsg *e)
{
	struct att_verify_opts o = { .key = &f->key_ssh, .nonce = f->nonce,
				     .nonce_len = sizeof(f->nonce) };

	e->text[0] = '\0';
	return attestation_verify(&f->a, &o, NULL, 0, e);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	memcpy(f->nonce, "\x01\x02\x03\x04", 4);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	EVP_PKEY_free(f->ak);
	EVP_PKEY_free(f->key);
	free(f);
	return 0;
}

static void test_accepts_well_formed(void **state)
{
	struct fixture *f = *state;
	struct errmsg e;

	build(f, ORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT);
	assert_int_equal(verify(f, &e), 0);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	struct errmsg e;
	struct sshkey_pub other;

	build(f, TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SIGN_ENCRYPT);
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "not generated inside the TPM"));

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	f->a.certify_info.d[f->a.certify_info.len - 1] ^= 1;
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "signature"));

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	other = f->key_ssh;
	other.q[10] ^= 1;
	f->key_ssh = other;
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "not the given public key"));

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	f->nonce[0] ^= 1;
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "nonce"));
	f->nonce[0] ^= 1;

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	f->a.activation.len = 0;
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "ACTIVATION"));

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	f->a.key_pub.d[f->a.key_pub.len - 1] ^= 1; /* name no longer matches */
	assert_int_equal(verify(f, &e), -1);
	assert_non_null(strstr(e.text, "certified name"));
}

static void test_file_round_trip(void **state)
{
	struct fixture *f = *state;
	struct attestation *b = calloc(1, sizeof(*b));
	char *text = NULL;
	struct errmsg e;

	build(f, ORIGIN | TPMA_OBJECT_SIGN_ENCRYPT);
	assert_int_equal(attestation_encode(&f->a, "# note\n", &text, &e), 0);
	assert_int_equal(attestation_decode(text, strlen(text), b, &e), 0);
	assert_memory_equal(b, &f->a, sizeof(*b));
	assert_int_equal(attestation_decode("hello", 5, b, &e), -1);
	assert_int_equal(attestation_decode("-----BEGIN NOPE-----\nAAAA\n-----END NOPE-----\n",
					    45, b, &e), -1);
	assert_non_null(strstr(e.text, "unknown block"));
	free(text);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_well_formed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_file_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
