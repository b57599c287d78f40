/* tpm_policy_session: a PCR-bound key at work: made under its policy digest, and the
 * salted AES-128-CFB policy session (PolicyPCR, PolicyAuthValue, PolicyAuthorize) its
 * command runs in. */
#include "tpm_policy.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "tpm_internal.h"
#include "tpm_policy_internal.h"

/* ---- making keys ---- */

int tpm_create_key_policy(struct tpm *t, enum sshkey_type type, unsigned bits,
			  unsigned flags, const uint8_t *auth, size_t auth_len,
			  const struct tpm_policy *p, struct tpm_key *k,
			  struct sshkey_pub *pub, struct errmsg *e)
{
	uint8_t digest[TPM_POLICY_DIGEST_LEN];
	int r;

	if (tpm_policy_digest(p, digest, e) != 0)
		return TPM_E_FAIL;
	t->create_policy = digest;
	r = tpm_create_key_ex(t, type, bits, flags, auth, auth_len, k, pub, e);
	t->create_policy = NULL;
	return r;
}

/* ---- the policy session ---- */

/* StartAuthSession salted with the SRK like tpm_exec.c's HMAC session, but of type POLICY:
 * the key's command runs in it with AES-128-CFB parameter encryption. */
static TSS2_RC policy_session_start(struct tpm *t, struct tpmsession *s)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TPM2B_ENCRYPTED_SECRET salt_enc = { 0 };
	TPMS_ECC_POINT eph = { 0 };
	TPM2B_NONCE caller = { .size = TPMS_NONCE_MAX }, nonce_tpm = { 0 };
	TPMI_SH_AUTH_SESSION h = 0;
	uint8_t salt[TPMS_DIGEST_LEN];
	size_t off = 0;
	TSS2_RC rc = TSS2_ESYS_RC_GENERAL_FAILURE;

	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_srk_gate(t); /* never salt to an SRK that is not the pinned one */
	eph.x.size = eph.y.size = TPMS_ECC_COORD;
	if (tpmsession_ecc_salt(s, t->srk_x, t->srk_y, salt, eph.x.buffer, eph.y.buffer) ==
	    TPMS_OK && RAND_bytes(caller.buffer, caller.size) == 1)
		rc = Tss2_MU_TPMS_ECC_POINT_Marshal(&eph, salt_enc.secret, sizeof(salt_enc.secret),
						    &off);
	if (rc == TSS2_RC_SUCCESS) {
		salt_enc.size = (UINT16)off;
		RETRIED(rc, Tss2_Sys_StartAuthSession(t->sys, t->srk_tpm, TPM2_RH_NULL,
						      NULL, &caller, &salt_enc, TPM2_SE_POLICY,
						      &sym, TPM2_ALG_SHA256, &h, &nonce_tpm, NULL));
	}
	if (rc == TSS2_RC_SUCCESS &&
	    tpmsession_start(s, h, salt, sizeof(salt), nonce_tpm.buffer, nonce_tpm.size,
			     caller.buffer, caller.size) != TPMS_OK) {
		(void)Tss2_Sys_FlushContext(t->sys, h);
		rc = TSS2_ESYS_RC_GENERAL_FAILURE;
	}
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc;
}

static TSS2_RC run_pcr(struct tpm *t, uint32_t h, const struct tpm_pcr_policy *pp)
{
	TPM2B_DIGEST d = { .size = TPM_POLICY_DIGEST_LEN };
	TPML_PCR_SELECTION sel;
	TSS2_RC rc;

	memcpy(d.buffer, pp->digest, TPM_POLICY_DIGEST_LEN);
	sel_to_tpml(&pp->sel, &sel);
	RETRIED(rc, Tss2_Sys_PolicyPCR(t->sys, h, NULL, &d, &sel, NULL));
	return rc;
}

/* LoadExternal of the signer's public key (owner hierarchy: a NULL-hierarchy key would
 * give a NULL ticket, which PolicyAuthorize refuses), making room if the TPM is full. */
static TSS2_RC load_signer(struct tpm *t, const struct tpm_policy *p, uint32_t *h,
			   TPM2B_NAME *name)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;
	TSS2_RC rc;

	memset(&pub, 0, sizeof(pub));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(p->signer, p->signer_len, &off, &pub) != TSS2_RC_SUCCESS)
		return TSS2_SYS_RC_BAD_VALUE;
	for (;;) {
		RETRIED(rc, Tss2_Sys_LoadExternal(t->sys, NULL, NULL, &pub, TPM2_RH_OWNER, h, name,
						  NULL));
		if (rc_base(rc) != TPM2_RC_OBJECT_MEMORY || !tpm_evict_one(t))
			return rc;
	}
}

/* PolicyAuthorize of the digest the session holds now, with the ticket of sp's signature. */
static TSS2_RC run_authorize(struct tpm *t, uint32_t h, const struct tpm_policy *p,
			     const struct tpm_signed_policy *sp)
{
	TPM2B_DIGEST approved = { 0 }, ahash = { .size = TPM_POLICY_DIGEST_LEN };
	TPM2B_NONCE ref = { .size = (UINT16)p->ref_len };
	TPM2B_NAME name = { 0 };
	TPMT_SIGNATURE sig;
	TPMT_TK_VERIFIED ticket = { 0 };
	uint32_t key = 0;
	size_t off = 0;
	TSS2_RC rc;

	memset(&sig, 0, sizeof(sig));
	memcpy(ref.buffer, p->ref, p->ref_len);
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sp->sig, sp->sig_len, &off, &sig) != TSS2_RC_SUCCESS)
		return TSS2_SYS_RC_BAD_VALUE;
	RETRIED(rc, Tss2_Sys_PolicyGetDigest(t->sys, h, NULL, &approved, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	if (sha256_3(approved.buffer, approved.size, p->ref, p->ref_len, "", 0, ahash.buffer) != 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;
	if ((rc = load_signer(t, p, &key, &name)) != TSS2_RC_SUCCESS)
		return rc;
	RETRIED(rc, Tss2_Sys_VerifySignature(t->sys, key, NULL, &ahash, &sig, &ticket, NULL));
	(void)Tss2_Sys_FlushContext(t->sys, key);
	if (rc == TSS2_RC_SUCCESS)
		RETRIED(rc, Tss2_Sys_PolicyAuthorize(t->sys, h, NULL, &approved, &ref, &name,
						     &ticket, NULL));
	return rc;
}

/* Tries the signed policies in order (the newest first), PolicyRestart between tries;
 * an entry whose PCRs differ or whose signature fails gives way to the next. */
static TSS2_RC run_signed(struct tpm *t, uint32_t h, const struct tpm_policy *p, int *matched)
{
	TSS2_RC rc, last = TPM2_RC_VALUE;

	*matched = 0;
	for (size_t i = 0; i < p->n_signed; i++) {
		const struct tpm_signed_policy *sp = &p->signed_pol[i];

		if (!sp->usable)
			continue;
		RETRIED(rc, Tss2_Sys_PolicyRestart(t->sys, h, NULL, NULL));
		if (rc != TSS2_RC_SUCCESS)
			return rc;
		rc = run_pcr(t, h, &sp->pcr);
		if (rc == TSS2_RC_SUCCESS)
			rc = run_authorize(t, h, p, sp);
		if (rc == TSS2_RC_SUCCESS) {
			*matched = 1;
			return rc;
		}
		if (rc_base(rc) != TPM2_RC_VALUE)
			last = rc;
	}
	return last;
}

/* Runs the steps; *pcr_failed tells a PCR mismatch from other failures. */
static TSS2_RC run_steps(struct tpm *t, uint32_t h, const struct tpm_policy *p,
			 int *pcr_failed)
{
	TSS2_RC rc = TSS2_RC_SUCCESS;
	int matched;

	*pcr_failed = 0;
	for (size_t i = 0; rc == TSS2_RC_SUCCESS && i < p->n_steps; i++) {
		switch (p->steps[i].kind) {
		case TPM_STEP_PCR:
			rc = run_pcr(t, h, &p->steps[i].pcr);
			*pcr_failed = rc_base(rc) == TPM2_RC_VALUE;
			break;
		case TPM_STEP_AUTHVALUE:
			RETRIED(rc, Tss2_Sys_PolicyAuthValue(t->sys, h, NULL, NULL));
			break;
		case TPM_STEP_AUTHORIZE:
			rc = run_signed(t, h, p, &matched);
			*pcr_failed = !matched && rc_base(rc) == TPM2_RC_VALUE;
			break;
		}
	}
	return rc;
}

static int begin_checks(struct tpm *t, const struct tpm_policy *p, struct errmsg *e)
{
	if (p->unsupported_cc != 0)
		return errmsg_set(e, "tpm: the key's policy holds TPM command 0x%x, which this "
				  "agent does not run (only PolicyPCR, PolicyAuthValue and "
				  "PolicyAuthorize)", p->unsupported_cc);
	if (!t->srk_p256)
		return errmsg_set(e, "tpm: PCR-bound keys need an ECC P-256 SRK to salt their "
				  "policy session");
	if (t->prun != NULL)
		return errmsg_set(e, "tpm: a policy session is already running");
	return 0;
}

int tpm_policy_begin(struct tpm *t, struct tpm_key *k, const struct tpm_policy *p,
		     struct errmsg *e)
{
	struct tpm_policy_run *run;
	int r, pcr_failed;
	TSS2_RC rc;

	if ((r = begin_checks(t, p, e)) != 0 || (r = tpm_key_load(t, k, e)) != 0)
		return r;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return errmsg_set(e, "tpm: out of memory");
	if (tpmsession_init(&run->sess) != TPMS_OK) {
		free(run);
		return errmsg_set(e, "tpm: OpenSSL lacks what the policy session needs");
	}
	t->prun = run;
	memcpy(run->name, k->state.name, k->state.name_len);
	run->name_len = k->state.name_len;
	run->auth_value = tpm_policy_needs_auth(p);
	rc = policy_session_start(t, &run->sess);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot start the policy session");
	rc = run_steps(t, run->sess.handle, p, &pcr_failed);
	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (pcr_failed) {
		errmsg_set(e, "tpm: the platform state (PCRs) differs from the one the key is "
			   "bound to");
		return TPM_E_POLICY;
	}
	r = tpm_err(e, rc, NULL, "the key's policy failed");
	return r == TPM_E_AUTH_FAIL ? TPM_E_FAIL : r; /* no PIN was involved yet */
}

void tpm_policy_end(struct tpm *t)
{
	struct tpm_policy_run *run = t->prun;

	if (run == NULL)
		return;
	t->prun = NULL;
	if (run->sess.handle != 0 && t->sys != NULL) {
		TSS2_RC rc;

		RETRIED(rc, Tss2_Sys_FlushContext(t->sys, run->sess.handle));
		(void)rc; /* continueSession may have let it go already */
	}
	tpmsession_free(&run->sess);
	free(run);
}
