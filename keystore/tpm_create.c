/* tpm_create: TPM2_Create of new keys under the SRK, from our templates. */
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_mu.h>

#include "tpm_internal.h"

#define TPM_AUTH_CREATE_MAX 32 /* the TPM caps authValue at the nameAlg (SHA-256) size */

/* Attributes of every key we create; deliberately without noDA so that wrong
 * PINs count towards the TPM's dictionary-attack lockout. */
#define KEY_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
		   TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
		   TPMA_OBJECT_SIGN_ENCRYPT)

/* ---- key creation ---- */

static int ecc_template(TPM2B_PUBLIC *p, TPM2_ECC_CURVE curve, unsigned curve_bits,
			unsigned bits, unsigned flags, struct errmsg *e)
{
	if (bits != 0 && bits != curve_bits)
		return tpm_unsupported(e, "ECDSA keys on this curve have %u bits, not %u",
				   curve_bits, bits);
	p->publicArea.type = TPM2_ALG_ECC;
	/* sign|decrypt is allowed for an unrestricted key whose scheme and KDF are NULL:
	 * the scheme is then chosen per command (ECDSA in Sign; ECDH_ZGen needs none). */
	if (flags & TPM_KEY_DECRYPT)
		p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = curve;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	return 0;
}

static int rsa_template(TPM2B_PUBLIC *p, unsigned bits, struct errmsg *e)
{
	if (bits == 4096)
		return tpm_unsupported(e, "RSA 4096 is not supported: the TPM cannot create it "
				   "(TPM 2.0 devices and swtpm top out at 3072); use -b 3072 or ECDSA");
	if (bits != 2048 && bits != 3072)
		return tpm_unsupported(e, "RSA %u is not supported: use -b 2048 or -b 3072, or ECDSA",
				   bits);
	p->publicArea.type = TPM2_ALG_RSA;
	/* Also decrypt: gpg uses RSA keys for both (the scheme stays per-operation). */
	p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
	p->publicArea.parameters.rsaDetail.exponent = 0;
	return 0;
}

/* Fills the template of a signing key (ECC also decrypt with TPM_KEY_DECRYPT);
 * TPM_E_UNSUPPORTED for what we do not make. */
static int key_template(enum sshkey_type type, unsigned bits, unsigned flags,
			TPM2B_PUBLIC *p, struct errmsg *e)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = KEY_ATTRS;
	if (flags & ~TPM_KEY_DECRYPT)
		return tpm_unsupported(e, "unknown key flags 0x%x", flags & ~TPM_KEY_DECRYPT);
	switch (type) {
	case SSHKEY_ECDSA_P256: return ecc_template(p, TPM2_ECC_NIST_P256, 256, bits, flags, e);
	case SSHKEY_ECDSA_P384: return ecc_template(p, TPM2_ECC_NIST_P384, 384, bits, flags, e);
	case SSHKEY_ECDSA_P521: return ecc_template(p, TPM2_ECC_NIST_P521, 521, bits, flags, e);
	case SSHKEY_RSA: return rsa_template(p, bits, e);
	default: break;
	}
	return tpm_unsupported(e, "key type %d is not supported: the TPM makes ECDSA "
			   "P-256/384/521 and RSA 2048/3072 keys", (int)type);
}

/* Marshals the TPM's output into k's blobs. */
int tpm_key_store_blobs(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		       struct tpm_key *k, struct errmsg *e)
{
	size_t pub_off = 0, priv_off = 0;
	TSS2_RC rc;

	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, k->pub, sizeof(k->pub), &pub_off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, k->priv, sizeof(k->priv), &priv_off);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot marshal the new key");
	k->pub_len = pub_off;
	k->priv_len = priv_off;
	return 0;
}

struct create_args {
	const TPM2B_SENSITIVE_CREATE *sens;
	const TPM2B_PUBLIC *tmpl;
	TPM2B_PRIVATE *priv;
	TPM2B_PUBLIC *pub;
};

/* TPM2_Create under the SRK; inSensitive (the new key's auth value) is the
 * encrypted parameter, so the PIN never crosses the bus in clear. */
static TSS2_RC create_op(struct tpm *t, void *arg)
{
	struct create_args *a = arg;
	struct auth_cmd c = { .cc = TPM2_CC_Create, .name = t->srk_name.name,
			      .name_len = t->srk_name.size, .secret_param = 1 };
	const TPM2B_DATA outside = { 0 };
	const TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA cdata = { 0 };
	TPM2B_DIGEST chash = { 0 };
	TPMT_TK_CREATION ticket = { 0 };
	TSS2_RC rc;

	/* The TPM builds the new object in a transient slot: make room as for a load. */
	do {
		rc = Tss2_Sys_Create_Prepare(t->sys, t->srk_tpm, a->sens, a->tmpl,
					     &outside, &pcrs);
		if (rc == TSS2_RC_SUCCESS)
			rc = tpm_run_auth(t, &c);
	} while (rc_base(rc) == TPM2_RC_OBJECT_MEMORY && tpm_evict_one(t));
	if (rc == TSS2_RC_SUCCESS) {
		memset(a->priv, 0, sizeof(*a->priv));
		memset(a->pub, 0, sizeof(*a->pub));
		rc = Tss2_Sys_Create_Complete(t->sys, a->priv, a->pub, &cdata, &chash, &ticket);
	}
	return rc;
}

int tpm_create_key(struct tpm *t, enum sshkey_type type, unsigned bits,
		   const uint8_t *auth, size_t auth_len,
		   struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	return tpm_create_key_ex(t, type, bits, 0, auth, auth_len, k, pub, e);
}

int tpm_create_key_ex(struct tpm *t, enum sshkey_type type, unsigned bits, unsigned flags,
		      const uint8_t *auth, size_t auth_len,
		      struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, out_pub;
	TPM2B_PRIVATE out_priv;
	struct create_args a = { &sens, &tmpl, &out_priv, &out_pub };
	TSS2_RC rc;
	int r;

	if ((r = key_template(type, bits, flags, &tmpl, e)) != 0)
		return r;
	if (t->create_policy != NULL) {
		/* tpm_create_key_policy: only the policy may authorise the key. */
		tmpl.publicArea.authPolicy.size = TPMS_DIGEST_LEN;
		memcpy(tmpl.publicArea.authPolicy.buffer, t->create_policy, TPMS_DIGEST_LEN);
		tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	}
	if (auth_len > TPM_AUTH_CREATE_MAX)
		return tpm_unsupported(e, "a PIN of %zu bytes is too long: the TPM takes at most %d",
				   auth_len, TPM_AUTH_CREATE_MAX);
	if (auth_len > 0)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	rc = tpm_run_recovering(t, create_op, &a);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		r = tpm_err(e, rc, NULL, "cannot create the key");
	else if ((r = tpm_key_store_blobs(&out_pub, &out_priv, k, e)) == 0 &&
		 tpm_pub_from_tpmt(&out_pub.publicArea, pub, e) != 0)
		r = TPM_E_FAIL;
	memset(&k->state, 0, sizeof(k->state));
	return r;
}

/* ---- for tpm_seal.c and tpm_attest.c (declared in tpm_internal.h) ---- */

TSS2_RC tpm_create_object(struct tpm *t, const TPM2B_SENSITIVE_CREATE *sens,
			  const TPM2B_PUBLIC *tmpl, TPM2B_PRIVATE *priv, TPM2B_PUBLIC *pub)
{
	struct create_args a = { sens, tmpl, priv, pub };

	return tpm_run_recovering(t, create_op, &a);
}
