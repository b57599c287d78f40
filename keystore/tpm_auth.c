/* tpm_auth: the TPM side of PINs: the dictionary-attack state (how many wrong PINs
 * are left) and TPM2_ObjectChangeAuth, through ESAPI in a salted, encrypted session. */
#include "tpm.h"

#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "tpm_internal.h"
#include "log.h"

#define AUTH_NEW_MAX 32 /* the TPM caps authValue at the nameAlg (SHA-256) size */

/* ---- dictionary-attack state ---- */

static void take_da_prop(const TPMS_TAGGED_PROPERTY *p, struct tpm_da *da)
{
	switch (p->property) {
	case TPM2_PT_PERMANENT:
		da->in_lockout = (p->value & TPMA_PERMANENT_INLOCKOUT) != 0;
		da->owner_auth_set = (p->value & TPMA_PERMANENT_OWNERAUTHSET) != 0;
		break;
	case TPM2_PT_LOCKOUT_COUNTER: da->counter = p->value; break;
	case TPM2_PT_MAX_AUTH_FAIL: da->max_tries = p->value; break;
	case TPM2_PT_LOCKOUT_INTERVAL: da->interval = p->value; break;
	case TPM2_PT_LOCKOUT_RECOVERY: da->recovery = p->value; break;
	}
}

int tpm_da_state(struct tpm *t, struct tpm_da *da, struct errmsg *e)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	int r;

	memset(da, 0, sizeof(*da));
	if ((r = tpm_ready(t, e)) != 0)
		return r;
	/* TPM2_PT_PERMANENT .. TPM2_PT_LOCKOUT_RECOVERY are one run of variable properties. */
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT,
				TPM2_PT_LOCKOUT_RECOVERY - TPM2_PT_PERMANENT + 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read the dictionary-attack state");
	for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++)
		take_da_prop(&cap->data.tpmProperties.tpmProperty[i], da);
	Esys_Free(cap);
	if (da->max_tries > 0 && da->counter >= da->max_tries)
		da->in_lockout = 1;
	return 0;
}

int tpm_da_status(struct tpm *t, uint32_t *counter, uint32_t *max, uint32_t *interval,
		  uint32_t *recovery, struct errmsg *e)
{
	struct tpm_da da;
	int r = tpm_da_state(t, &da, e);

	if (r != 0)
		return r;
	*counter = da.counter;
	*max = da.max_tries;
	*interval = da.interval;
	*recovery = da.recovery;
	return 0;
}

/* ---- orderly shutdown ---- */

void tpm_set_orderly_shutdown(struct tpm *t)
{
	if (t != NULL)
		t->orderly_shutdown = 1;
}

void tpm_send_shutdown(struct tpm *t)
{
	TSS2_RC rc = Esys_Shutdown(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   TPM2_SU_STATE);

	if (rc == TSS2_RC_SUCCESS)
		log_info("sent TPM2_Shutdown(STATE): the next start is orderly and the "
			 "dictionary-attack counter stays as it is");
	else
		log_warn("TPM2_Shutdown(STATE) failed (0x%08x): the TPM may count this stop as "
			 "a dictionary attack after PIN use (tpm2_getcap properties-variable shows "
			 "TPM2_PT_LOCKOUT_COUNTER)", rc);
}

/* ---- TPM2_ObjectChangeAuth ---- */

/* An ESAPI HMAC session salted with the SRK, AES-128-CFB both ways, so that the old
 * PIN only keys the HMAC and the new one (the first parameter) travels encrypted. */
static TSS2_RC salted_session(struct tpm *t, ESYS_TR *sess)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TSS2_RC rc;

	*sess = ESYS_TR_NONE;
	/* ESAPI salts to the public area it holds for t->srk: tpm_srk.c checked it against the
	 * pin, and refuses while it does not match. */
	if ((rc = tpm_srk_gate(t)) != TSS2_RC_SUCCESS)
		return rc;
	rc = Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TRSess_SetAttributes(t->esys, *sess, TPMA_SESSION_DECRYPT |
					       TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
					       0xff);
	return rc;
}

TSS2_RC tpm_owner_session(struct tpm *t, TPMA_SESSION attrs, ESYS_TR *sess)
{
	TSS2_RC rc;

	*sess = ESYS_TR_PASSWORD;
	if (t->plain)
		return tpm_srk_gate(t);
	rc = salted_session(t, sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TRSess_SetAttributes(t->esys, *sess,
					       attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		tpm_owner_session_end(t, sess);
	return rc;
}

void tpm_owner_session_end(struct tpm *t, ESYS_TR *sess)
{
	if (*sess != ESYS_TR_PASSWORD && *sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, *sess);
	*sess = ESYS_TR_PASSWORD;
}

/* The new blobs: k's public part and the TPM's new private part. */
static int changed_key(const struct tpm_key *k, const TPM2B_PRIVATE *priv, struct tpm_key *out,
		       struct errmsg *e)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(out, 0, sizeof(*out));
	memcpy(out->pub, k->pub, k->pub_len);
	out->pub_len = k->pub_len;
	rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, out->priv, sizeof(out->priv), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot marshal the re-wrapped key");
	out->priv_len = off;
	return 0;
}

static TSS2_RC change_auth_cmd(struct tpm *t, ESYS_TR obj, const TPM2B_AUTH *old_auth,
			       const TPM2B_AUTH *new_auth, TPM2B_PRIVATE **priv)
{
	ESYS_TR sess = ESYS_TR_PASSWORD;
	TSS2_RC rc = Esys_TR_SetAuth(t->esys, obj, old_auth);

	if (rc == TSS2_RC_SUCCESS && !t->plain)
		rc = salted_session(t, &sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ObjectChangeAuth(t->esys, obj, t->srk, sess, ESYS_TR_NONE, ESYS_TR_NONE,
					   new_auth, priv);
	if (sess != ESYS_TR_PASSWORD && sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, sess);
	return rc;
}

/* ESAPI leaves the command it sent in its SAPI context's buffer: with plain sessions
 * the new PIN in clear (with a salted session ESAPI replaced it by its ciphertext).
 * Preparing (not sending) a command with 1 KiB of zeros overwrites the whole of it;
 * ESAPI is idle between our calls and prepares its next command afresh. */
static void wipe_sapi_command(struct tpm *t)
{
	static const TPM2B_MAX_BUFFER zeros = { .size = sizeof(zeros.buffer) };

	if (t->sys != NULL)
		(void)Tss2_Sys_Hash_Prepare(t->sys, &zeros, TPM2_ALG_SHA256, TPM2_RH_NULL);
}

int tpm_change_auth(struct tpm *t, struct tpm_key *k, const uint8_t *old_auth, size_t old_len,
		    const uint8_t *new_auth, size_t new_len, struct tpm_key *out,
		    struct errmsg *e)
{
	TPM2B_AUTH oa = { 0 }, na = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (new_len > AUTH_NEW_MAX) {
		errmsg_set(e, "tpm: a PIN of %zu bytes is too long: the TPM takes at most %d",
			   new_len, AUTH_NEW_MAX);
		return TPM_E_UNSUPPORTED;
	}
	if (old_len > sizeof(oa.buffer)) {
		errmsg_set(e, "tpm: wrong PIN (longer than any TPM auth value)");
		return TPM_E_AUTH_FAIL;
	}
	if ((r = tpm_key_load(t, k, e)) != 0)
		return r;
	oa.size = (UINT16)old_len;
	memcpy(oa.buffer, old_auth, old_len);
	na.size = (UINT16)new_len;
	memcpy(na.buffer, new_auth, new_len);
	rc = Esys_TR_FromTPMPublic(t->esys, k->state.handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &obj);
	if (rc == TSS2_RC_SUCCESS)
		rc = change_auth_cmd(t, obj, &oa, &na, &priv);
	OPENSSL_cleanse(&oa, sizeof(oa));
	OPENSSL_cleanse(&na, sizeof(na));
	if (obj != ESYS_TR_NONE) {
		TPM2B_AUTH empty = { 0 };

		Esys_TR_SetAuth(t->esys, obj, &empty); /* no copy of the PIN stays in ESAPI */
		Esys_TR_Close(t->esys, &obj);
	}
	wipe_sapi_command(t);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot change the key's PIN");
	r = changed_key(k, priv, out, e);
	Esys_Free(priv);
	return r;
}

/* ---- SRK provisioning with the owner authorization (SO PIN) ---- */

static int srk_present(struct tpm *t, uint32_t handle, int *present, struct errmsg *e)
{
	ESYS_TR h = ESYS_TR_NONE;
	TPM2B_PUBLIC *pub = NULL;
	TPMA_OBJECT a;
	TSS2_RC rc;

	*present = 0;
	if (handle == t->info.srk_handle) {
		/* Checked at tpm_open. And ESAPI hands out t->srk itself for this handle:
		 * closing "our" copy would close the agent's SRK. */
		*present = 1;
		return 0;
	}
	rc = Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &h);
	if (rc_base(rc) == TPM2_RC_HANDLE)
		return 0;
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
				     NULL, NULL);
	if (h != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &h);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read the persistent handle 0x%08x", handle);
	a = pub->publicArea.objectAttributes;
	*present = (a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT) &&
		   !(a & TPMA_OBJECT_SIGN_ENCRYPT);
	Esys_Free(pub);
	if (!*present)
		return errmsg_set(e, "tpm: persistent handle 0x%08x holds something other than a "
				  "storage key; free it with `tpm2_evictcontrol -C o -c 0x%08x` or "
				  "pick another handle", handle, handle);
	return 0;
}

/* CreatePrimary (H-2) and EvictControl under the owner hierarchy, authorised by sess. */
static TSS2_RC srk_make(struct tpm *t, uint32_t handle, ESYS_TR sess)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *out_pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	ESYS_TR primary = ESYS_TR_NONE, persistent = ESYS_TR_NONE;
	TSS2_RC rc;

	srk_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				&sens, &tmpl, &outside, &pcrs, &primary, &out_pub, &cdata, &chash,
				&ticket);
	Esys_Free(out_pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary, sess, ESYS_TR_NONE,
			       ESYS_TR_NONE, handle, &persistent);
	Esys_FlushContext(t->esys, primary);
	if (persistent != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, &persistent);
	return rc;
}

int tpm_srk_provision(struct tpm *t, uint32_t handle, const uint8_t *owner_auth,
		      size_t owner_len, int *created, struct errmsg *e)
{
	TPM2B_AUTH auth = { 0 }, empty = { 0 };
	ESYS_TR sess = ESYS_TR_PASSWORD;
	struct tpm_da da;
	int present, r;
	TSS2_RC rc;

	*created = 0;
	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_err(e, tpm_srk_gate(t), NULL, "init");
	if ((handle >> 24) != 0x81)
		return errmsg_set(e, "tpm: 0x%08x is not a persistent handle (0x81xxxxxx)", handle);
	if ((r = tpm_ready(t, e)) != 0)
		return r;
	if ((r = srk_present(t, handle, &present, e)) != 0 || present)
		return r;
	if (owner_auth == NULL && (r = tpm_da_state(t, &da, e)) != 0)
		return r;
	if (owner_auth == NULL && da.owner_auth_set) {
		errmsg_set(e, "tpm: the owner hierarchy has an authorization (SO PIN)");
		return TPM_E_OWNER_AUTH;
	}
	if (owner_len > sizeof(auth.buffer)) {
		errmsg_set(e, "tpm: wrong owner authorization (longer than any auth value)");
		return TPM_E_AUTH_FAIL;
	}
	auth.size = (UINT16)owner_len;
	if (owner_len > 0)
		memcpy(auth.buffer, owner_auth, owner_len);
	rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &auth);
	OPENSSL_cleanse(&auth, sizeof(auth));
	if (rc == TSS2_RC_SUCCESS && !t->plain)
		rc = salted_session(t, &sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = srk_make(t, handle, sess);
	if (sess != ESYS_TR_PASSWORD && sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, sess);
	Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &empty); /* no SO PIN stays in ESAPI */
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_base(rc) == TPM2_RC_AUTH_FAIL || rc_base(rc) == TPM2_RC_BAD_AUTH ?
			       "wrong owner authorization (SO PIN); the TPM counts it towards its "
			       "dictionary-attack lockout" : NULL,
			       "cannot create the SRK at 0x%08x", handle);
	*created = 1;
	return 0;
}
