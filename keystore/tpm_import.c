/* tpm_import: TPM2_Import under the SRK of a duplication blob with only the outer
 * wrapper (wrap.c builds it, here for a local software key, or on another machine for
 * `tpm-key add`). The TPM returns the key re-wrapped as an ordinary TPM2B_PRIVATE. */
#include "tpm.h"

#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "tpm_internal.h"
#include "tpmsession.h"
#include "wrap.h"

struct import_args {
	const TPM2B_PUBLIC *pub;
	const TPM2B_PRIVATE *dup;
	const TPM2B_ENCRYPTED_SECRET *seed;
	TPM2B_PRIVATE *out;
};

static TSS2_RC import_op(struct tpm *t, void *arg)
{
	struct import_args *a = arg;
	const TPM2B_DATA no_key = { 0 };
	const TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Tss2_Sys_Import_Prepare(t->sys, t->srk_tpm, &no_key, a->pub, a->dup, a->seed,
				     &no_inner);
	if (rc == TSS2_RC_SUCCESS)
		rc = tpm_run_srk_cmd(t, TPM2_CC_Import, 0);
	if (rc == TSS2_RC_SUCCESS) {
		memset(a->out, 0, sizeof(*a->out));
		rc = Tss2_Sys_Import_Complete(t->sys, a->out);
	}
	return rc;
}

/* A TPM2_Import failure, explained: a file wrapped for another TPM's SRK fails the
 * outer HMAC (or its seed does not decrypt) only here, at the target. */
static int import_err(struct errmsg *e, TSS2_RC rc)
{
	TSS2_RC base = rc_base(rc);

	if (base == TPM2_RC_INTEGRITY || base == TPM2_RC_ECC_POINT || base == TPM2_RC_VALUE ||
	    base == TPM2_RC_SIZE || base == TPM2_RC_KEY)
		return tpm_err(e, rc, "the key was wrapped for another TPM's SRK, or the file is "
			       "damaged: wrap it again with this TPM's SRK (tpm-key srk prints it)",
			       "TPM2_Import of the wrapped key");
	return tpm_err(e, rc, NULL, "TPM2_Import of the key");
}

static int import_run(struct tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *dup,
			  const TPM2B_ENCRYPTED_SECRET *seed, struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PRIVATE out;
	struct import_args a = { pub, dup, seed, &out };
	TSS2_RC rc = tpm_run_recovering(t, import_op, &a);

	if (rc != TSS2_RC_SUCCESS)
		return import_err(e, rc);
	memset(&k->state, 0, sizeof(k->state));
	return tpm_key_store_blobs(pub, &out, k, e);
}

int tpm_import_key(struct tpm *t, const struct tpm_import_in *in, const uint8_t *auth,
		   size_t auth_len, struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC p;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	int r;

	if (!t->srk_p256) {
		errmsg_set(e, "tpm: cannot import: the SRK is not an ECC P-256 key (import needs one)");
		return TPM_E_UNSUPPORTED;
	}
	r = wrap_objects(in, &p, &sens, e);
	if (r == 0 && auth_len > sizeof(sens.sensitiveArea.authValue.buffer)) {
		errmsg_set(e, "tpm: cannot import: a PIN longer than the TPM's 32 bytes");
		r = TPM_E_UNSUPPORTED;
	}
	if (r == 0 && auth_len > 0) { /* the PIN travels inside the wrapped sensitive area */
		memcpy(sens.sensitiveArea.authValue.buffer, auth, auth_len);
		sens.sensitiveArea.authValue.size = (UINT16)auth_len;
	}
	if (r == 0)
		r = wrap_duplicate(&p, &sens, t->srk_x, t->srk_y, &dup, &seed, e);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (r != 0)
		return r;
	r = import_run(t, &p, &dup, &seed, k, e);
	OPENSSL_cleanse(&dup, sizeof(dup));
	if (r != 0)
		return r;
	return tpm_key_public(k, pub, e) == 0 ? 0 : TPM_E_FAIL;
}

int tpm_import_wrapped(struct tpm *t, const struct tss2key *f, struct tpm_key *k,
		       struct errmsg *e)
{
	TPM2B_PUBLIC p = { 0 };
	TPM2B_PRIVATE dup = { 0 };
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	size_t o1 = 0, o2 = 0, o3 = 0;

	if (f->type != TSS2KEY_IMPORTABLE)
		return errmsg_set(e, "tpm: not an importable key");
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(f->pub, f->pub_len, &o1, &p) != TSS2_RC_SUCCESS ||
	    o1 != f->pub_len ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(f->priv, f->priv_len, &o2, &dup) != TSS2_RC_SUCCESS ||
	    o2 != f->priv_len ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(f->secret, f->secret_len, &o3, &seed) !=
		    TSS2_RC_SUCCESS || o3 != f->secret_len)
		return errmsg_set(e, "tpm: the importable key's blobs are malformed (public, "
				  "duplicate or secret)");
	return import_run(t, &p, &dup, &seed, k, e);
}

int tpm_srk_public(struct tpm *t, uint8_t x[32], uint8_t y[32],
		   uint8_t *name, size_t *name_len, struct errmsg *e)
{
	if (!t->srk_p256)
		return errmsg_set(e, "tpm: the SRK is not an ECC P-256 key: keys cannot be wrapped "
				  "for it (tpm-key init makes the standard one)");
	if (t->srk_name.size > *name_len)
		return errmsg_set(e, "tpm: the SRK's name is too long");
	memcpy(x, t->srk_x, TPMS_ECC_COORD);
	memcpy(y, t->srk_y, TPMS_ECC_COORD);
	memcpy(name, t->srk_name.name, t->srk_name.size);
	*name_len = t->srk_name.size;
	return 0;
}
