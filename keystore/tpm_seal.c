/* tpm_seal: TPM2_Create of sealed-data objects and TPM2_Unseal, both with the secret
 * as the AES-CFB-encrypted parameter of tpm_exec.c's salted session. */
#include "tpm_seal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_sys.h>

#include "tpm_internal.h"

/* No sensitiveDataOrigin: the caller supplies the data (the TPM insists it be clear).
 * No noDA: wrong PINs count towards the dictionary-attack lockout, as for keys. */
#define SEAL_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH)
#define SEAL_POLICY_LEN 32

static void seal_template(const uint8_t *policy, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_KEYEDHASH;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = SEAL_ATTRS;
	p->publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (policy != NULL) {
		p->publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
		p->publicArea.authPolicy.size = SEAL_POLICY_LEN;
		memcpy(p->publicArea.authPolicy.buffer, policy, SEAL_POLICY_LEN);
	}
}

int tpm_seal(struct tpm *t, const uint8_t *data, size_t len, const uint8_t *auth,
	     size_t auth_len, const uint8_t *policy, struct tpm_key *out, struct errmsg *e)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, pub;
	TPM2B_PRIVATE priv;
	TSS2_RC rc;
	int r;

	if (len == 0 || len > TPM_SEAL_MAX) {
		errmsg_set(e, "tpm: a sealed secret is 1 to %d bytes, not %zu", TPM_SEAL_MAX, len);
		return TPM_E_UNSUPPORTED;
	}
	if (auth_len > 32) {
		errmsg_set(e, "tpm: a PIN of %zu bytes is too long: the TPM takes at most 32",
			   auth_len);
		return TPM_E_UNSUPPORTED;
	}
	seal_template(policy, &tmpl);
	memcpy(sens.sensitive.data.buffer, data, len);
	sens.sensitive.data.size = (UINT16)len;
	if (auth_len > 0)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	memset(&priv, 0, sizeof(priv));
	rc = tpm_create_object(t, &sens, &tmpl, &priv, &pub);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot create the sealed object");
	r = tpm_key_store_blobs(&pub, &priv, out, e);
	memset(&out->state, 0, sizeof(out->state));
	return r;
}

int tpm_key_is_sealed(const struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PUBLIC p;
	TPMA_OBJECT a;

	if (tpm_key_unmarshal_pub(k, &p, e) != 0)
		return TPM_E_FAIL;
	a = p.publicArea.objectAttributes;
	return p.publicArea.type == TPM2_ALG_KEYEDHASH &&
	       !(a & (TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT));
}

struct unseal_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	TPM2B_SENSITIVE_DATA *out;
};

/* Unseal has no command parameters: only the response (the secret) is encrypted. */
static TSS2_RC unseal_op(struct tpm *t, void *arg)
{
	struct unseal_args *a = arg;
	TSS2_RC rc = tpm_load_key_op(t, a->k);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Unseal_Prepare(t->sys, a->k->state.handle);
	if (rc == TSS2_RC_SUCCESS)
		rc = tpm_run_key_cmd(t, a->k, TPM2_CC_Unseal, a->auth, a->auth_len, 0, 1);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_Sys_Unseal_Complete(t->sys, a->out);
		tpm_wipe_response(t);
	}
	return rc;
}

int tpm_unseal(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
	       uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	TPM2B_SENSITIVE_DATA data;
	struct unseal_args a = { k, auth, auth_len, &data };
	TSS2_RC rc;
	int r;

	*out_len = 0;
	if ((r = tpm_key_is_sealed(k, e)) < 0)
		return r;
	if (r == 0)
		return errmsg_set(e, "tpm: not a sealed-data object"), TPM_E_UNSUPPORTED;
	if ((r = tpm_check_auth_len(auth_len, e)) != 0 || (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memset(&data, 0, sizeof(data));
	rc = tpm_run_recovering(t, unseal_op, &a);
	if (rc != TSS2_RC_SUCCESS)
		r = tpm_err(e, rc, NULL, "cannot unseal");
	else if (data.size > out_cap)
		r = errmsg_set(e, "tpm: the sealed secret of %u bytes does not fit in %zu",
			       data.size, out_cap);
	else {
		memcpy(out, data.buffer, data.size);
		*out_len = data.size;
	}
	OPENSSL_cleanse(&data, sizeof(data));
	return r;
}
