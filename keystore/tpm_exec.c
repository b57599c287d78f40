/* tpm_exec: the salted, encrypted HMAC session and the commands run with one authorization. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_mu.h>

#include "tpm_internal.h"
#include "tpmsession.h"

/* Our code for a failure of the session arithmetic (tpmsession.c) on our side. */
#define RC_SESSION_CRYPTO TSS2_ESYS_RC_GENERAL_FAILURE

/* ---- the encrypted session ---- */

static const char *session_remedy(TSS2_RC rc)
{
	TSS2_RC b = rc_base(rc);

	if (b == TPM2_RC_SYMMETRIC || b == TPM2_RC_MODE || b == TPM2_RC_KEY_SIZE)
		return "this TPM lacks AES-128-CFB for session encryption; --no-encrypt-sessions "
		       "turns encrypted sessions off (PINs then cross the TPM bus in clear)";
	if (b == TPM2_RC_SESSION_HANDLES || b == TPM2_RC_SESSION_MEMORY)
		return "the TPM has no free session slot: other programs hold sessions "
		       "(`tpm2_getcap handles-saved-session`); free them with `tpm2_flushcontext "
		       "--saved-session` or stop those programs, and use device:/dev/tpmrm0, whose "
		       "resource manager flushes the sessions of programs that exit";
	return "--no-encrypt-sessions turns encrypted sessions off (PINs then cross the TPM "
	       "bus in clear)";
}

/* StartAuthSession salted with the SRK (ECC: the salt travels as an ephemeral
 * point), bind TPM_RH_NULL, HMAC type, AES-128-CFB, SHA-256. */
static TSS2_RC session_start(struct tpm *t)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TPM2B_ENCRYPTED_SECRET salt_enc = { 0 };
	TPMS_ECC_POINT eph = { 0 };
	TPM2B_NONCE caller = { .size = TPMS_NONCE_MAX }, tpm_nonce = { 0 };
	TPMI_SH_AUTH_SESSION h = 0;
	uint8_t salt[TPMS_DIGEST_LEN];
	size_t off = 0;
	TSS2_RC rc = RC_SESSION_CRYPTO;
	int tries = 0;

	eph.x.size = eph.y.size = TPMS_ECC_COORD;
	if (tpmsession_ecc_salt(&t->sess, t->srk_x, t->srk_y, salt, eph.x.buffer,
				eph.y.buffer) == TPMS_OK && RAND_bytes(caller.buffer, caller.size) == 1)
		rc = Tss2_MU_TPMS_ECC_POINT_Marshal(&eph, salt_enc.secret, sizeof(salt_enc.secret),
						    &off);
	if (rc == TSS2_RC_SUCCESS) {
		salt_enc.size = (UINT16)off;
		do
			rc = Tss2_Sys_StartAuthSession(t->sys, t->srk_tpm, TPM2_RH_NULL,
						       NULL, &caller, &salt_enc, TPM2_SE_HMAC, &sym,
						       TPM2_ALG_SHA256, &h, &tpm_nonce, NULL);
		while (rc_is_retry(rc) && ++tries < RETRY_MAX);
	}
	if (rc == TSS2_RC_SUCCESS &&
	    tpmsession_start(&t->sess, h, salt, sizeof(salt), tpm_nonce.buffer, tpm_nonce.size,
			     caller.buffer, caller.size) != TPMS_OK) {
		(void)Tss2_Sys_FlushContext(t->sys, h);
		rc = RC_SESSION_CRYPTO;
	}
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc;
}

int tpm_session_open(struct tpm *t, struct errmsg *e)
{
	TSS2_RC rc;

	if (t->srk_refused)
		return errmsg_set(e, "%s", t->srk_refusal);
	if (t->plain)
		return 0;
	if (!t->sess_ready) {
		if (tpmsession_init(&t->sess) != TPMS_OK)
			return errmsg_set(e, "tpm: OpenSSL lacks SHA-256, HMAC, AES-128-CFB, KBKDF "
					  "or SSKDF, needed for encrypted TPM sessions");
		t->sess_ready = 1;
	}
	if (!t->srk_p256)
		return errmsg_set(e, "tpm: encrypted sessions are salted with an ECC P-256 SRK and "
				  "the SRK at 0x%08x is not one; configure an ECC P-256 SRK, or "
				  "--no-encrypt-sessions turns encrypted sessions off (PINs then "
				  "cross the TPM bus in clear)", t->info.srk_handle);
	rc = session_start(t);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, session_remedy(rc), "cannot start the salted AES-128-CFB "
			       "session with the SRK at 0x%08x", t->info.srk_handle);
	t->info.encrypted_sessions = 1;
	t->info.session_handle = t->sess.handle;
	return 0;
}

/* Flushes the session from the TPM (best effort: it may be gone) and wipes its keys. */
void tpm_session_close(struct tpm *t)
{
	if (t->sess.handle != 0 && t->sys != NULL)
		tpm_flush_handle(t, t->sess.handle);
	tpmsession_forget(&t->sess);
	t->info.session_handle = 0;
}

/* ---- commands with one authorization ---- */

static TSS2_RC exec_password(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_COMMAND ca = { .count = 1 };
	TSS2_RC rc;

	ca.auths[0].sessionHandle = TPM2_RS_PW;
	if (c->auth_len > 0)
		memcpy(ca.auths[0].hmac.buffer, c->auth, c->auth_len);
	ca.auths[0].hmac.size = (UINT16)c->auth_len;
	rc = Tss2_Sys_SetCmdAuths(t->sys, &ca);
	OPENSSL_cleanse(&ca, sizeof(ca));
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Execute(t->sys);
	return rc;
}

/* AES-CFB over the first command parameter, in SAPI's command buffer. */
static TSS2_RC encrypt_secret_param(struct tpm *t, const struct auth_cmd *c)
{
	uint8_t buf[TPMS_PARAM_MAX];
	const uint8_t *p;
	size_t len;
	TSS2_RC rc = Tss2_Sys_GetDecryptParam(t->sys, &len, &p);

	if (rc != TSS2_RC_SUCCESS)
		return rc;
	if (len > sizeof(buf))
		return RC_SESSION_CRYPTO;
	memcpy(buf, p, len);
	if (tpmsession_encrypt_command_param(&t->sess, c->auth, c->auth_len, buf, len) != TPMS_OK)
		rc = RC_SESSION_CRYPTO;
	else
		rc = Tss2_Sys_SetDecryptParam(t->sys, len, buf);
	OPENSSL_cleanse(buf, len);
	return rc;
}

/* A response counts only if its HMAC proves it came from the TPM holding our session. */
static TSS2_RC check_response(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_RESPONSE ra = { .count = 1 };
	const TPMS_AUTH_RESPONSE *a = &ra.auths[0];
	uint8_t rp_hash[TPMS_DIGEST_LEN];
	const uint8_t *rp;
	size_t rp_len;
	TSS2_RC rc;
	int r;

	if ((rc = Tss2_Sys_GetRspAuths(t->sys, &ra)) != TSS2_RC_SUCCESS ||
	    (rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS)
		return rc;
	if (ra.count != 1)
		return RC_RSP_HMAC; /* a stripped auth area proves nothing */
	if (tpmsession_rp_hash(&t->sess, c->cc, rp, rp_len, rp_hash) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	r = tpmsession_rsp_check(&t->sess, c->auth, c->auth_len, rp_hash, a->nonce.buffer,
				 a->nonce.size, a->sessionAttributes, a->hmac.buffer, a->hmac.size);
	if (r == TPMS_OK)
		return TSS2_RC_SUCCESS;
	return r == TPMS_E_CRYPTO ? RC_SESSION_CRYPTO : RC_RSP_HMAC;
}

/* The TPM encrypted the first response parameter with the response-direction CFB key
 * (nonceTPM of this response, our nonceCaller): decrypt it in SAPI's response buffer
 * so that _Complete unmarshals the plaintext. Runs after check_response, whose rpHash
 * covers the bytes as they came and which adopts the new nonceTPM. */
static TSS2_RC decrypt_secret_response(struct tpm *t, const struct auth_cmd *c)
{
	uint8_t buf[TPMS_PARAM_MAX];
	const uint8_t *p, *rp;
	size_t len, rp_len;
	TSS2_RC rc;

	if ((rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS ||
	    (rc = Tss2_Sys_GetEncryptParam(t->sys, &len, &p)) != TSS2_RC_SUCCESS)
		return rc;
	/* SAPI takes the TPM2B's size field on trust: it must lie inside the parameters. */
	if (rp_len < 2 || len > rp_len - 2 || len > sizeof(buf))
		return TSS2_SYS_RC_MALFORMED_RESPONSE;
	memcpy(buf, p, len);
	if (tpmsession_decrypt_response_param(&t->sess, c->auth, c->auth_len, buf, len) !=
	    TPMS_OK)
		rc = RC_SESSION_CRYPTO;
	else
		rc = Tss2_Sys_SetEncryptParam(t->sys, len, buf);
	OPENSSL_cleanse(buf, len);
	return rc;
}

/* Overwrites the first response parameter in SAPI's buffer once _Complete copied it
 * out, so no plaintext stays behind in the context. Best effort: nothing to do when
 * the command failed and there is no parameter. */
void tpm_wipe_response(struct tpm *t)
{
	static const uint8_t zeros[TPMS_PARAM_MAX];
	const uint8_t *p;
	size_t len;

	if (Tss2_Sys_GetEncryptParam(t->sys, &len, &p) == TSS2_RC_SUCCESS && len <= sizeof(zeros))
		(void)Tss2_Sys_SetEncryptParam(t->sys, len, zeros);
}

static TSS2_RC exec_session(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_COMMAND ca = { .count = 1 };
	TPMS_AUTH_COMMAND *a = &ca.auths[0];
	struct tpmsession_name name = { c->name, c->name_len };
	uint8_t attrs = TPMS_ATTR_CONTINUE | (c->secret_param ? TPMS_ATTR_DECRYPT : 0) |
			(c->secret_response ? TPMS_ATTR_ENCRYPT : 0);
	uint8_t cp_hash[TPMS_DIGEST_LEN];
	const uint8_t *cp;
	size_t cp_len;
	TSS2_RC rc;

	if (tpmsession_roll_caller_nonce(&t->sess) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	if (c->secret_param && (rc = encrypt_secret_param(t, c)) != TSS2_RC_SUCCESS)
		return rc;
	if ((rc = Tss2_Sys_GetCpBuffer(t->sys, &cp_len, &cp)) != TSS2_RC_SUCCESS)
		return rc;
	a->sessionHandle = t->sess.handle;
	a->sessionAttributes = attrs;
	a->nonce.size = (UINT16)t->sess.sec->nonce_caller_len;
	memcpy(a->nonce.buffer, t->sess.sec->nonce_caller, t->sess.sec->nonce_caller_len);
	a->hmac.size = TPMS_DIGEST_LEN;
	if (tpmsession_cp_hash(&t->sess, c->cc, &name, 1, cp, cp_len, cp_hash) != TPMS_OK ||
	    tpmsession_cmd_hmac(&t->sess, c->auth, c->auth_len, cp_hash, attrs,
				a->hmac.buffer) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	if ((rc = Tss2_Sys_SetCmdAuths(t->sys, &ca)) != TSS2_RC_SUCCESS)
		return rc;
	/* From here until a response proves itself, the nonces are in doubt. */
	t->sess_unsure = 1;
	rc = Tss2_Sys_Execute(t->sys);
	if (rc != TSS2_RC_SUCCESS && rc_from_tpm(rc))
		t->sess_unsure = 0; /* an error response: the TPM rolled no nonce */
	if (rc != TSS2_RC_SUCCESS || (rc = check_response(t, c)) != TSS2_RC_SUCCESS)
		return rc;
	t->sess_unsure = 0;
	return c->secret_response ? decrypt_secret_response(t, c) : TSS2_RC_SUCCESS;
}

/* A command of a key with a policy (tpm_policy.c ran it in t->prun): the same exchange
 * as exec_session with the policy session's keys and nonces, swapped in for the call.
 * The key's auth value enters the HMAC only when the policy asserted PolicyAuthValue. */
static TSS2_RC exec_policy(struct tpm *t, const struct auth_cmd *c)
{
	struct auth_cmd pc = *c;
	struct tpmsession keep = t->sess;
	TSS2_RC rc;

	if (!t->prun->auth_value) {
		pc.auth = NULL;
		pc.auth_len = 0;
	}
	t->sess = t->prun->sess;
	rc = exec_session(t, &pc);
	t->prun->sess = t->sess;
	t->sess = keep;
	return rc;
}

static int is_policy_key(const struct tpm *t, const struct auth_cmd *c)
{
	return t->prun != NULL && t->prun->name_len == c->name_len &&
	       memcmp(t->prun->name, c->name, c->name_len) == 0;
}

/* Runs the command the caller just prepared with Tss2_Sys_<Cmd>_Prepare. */
TSS2_RC tpm_run_auth(struct tpm *t, const struct auth_cmd *c)
{
	if (c->auth_len > TPMS_AUTH_MAX || c->name_len == 0 || c->name_len > TPMS_NAME_MAX)
		return TSS2_SYS_RC_BAD_VALUE;
	if (is_policy_key(t, c))
		return exec_policy(t, c);
	return t->plain ? exec_password(t, c) : exec_session(t, c);
}

/* ---- for tpm_seal.c and tpm_attest.c (declared in tpm_internal.h) ---- */

TSS2_RC tpm_run_key_cmd(struct tpm *t, struct tpm_key *k, TPM2_CC cc, const uint8_t *auth,
			size_t auth_len, int secret_param, int secret_response)
{
	struct auth_cmd c = { .cc = cc, .auth = auth, .auth_len = auth_len,
			      .name = k->state.name, .name_len = k->state.name_len,
			      .secret_param = secret_param, .secret_response = secret_response };

	k->state.last_use = ++t->clock;
	return tpm_run_auth(t, &c);
}

TSS2_RC tpm_run_srk_cmd(struct tpm *t, TPM2_CC cc, int secret_response)
{
	struct auth_cmd c = { .cc = cc, .name = t->srk_name.name, .name_len = t->srk_name.size,
			      .secret_response = secret_response };

	return tpm_run_auth(t, &c);
}
