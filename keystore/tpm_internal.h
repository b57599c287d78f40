/* tpm_internal: what the files of the TPM module share (tpm.c: connection and recovery;
 * tpm_srk.c: the SRK; tpm_exec.c: the session and its commands; tpm_keys.c: loaded keys;
 * tpm_create.c, tpm_sign.c: the key commands; tpm_nv.c: NV indices, and so on). Not for
 * use outside keystore/tpm*.c. */
#ifndef TPM_AGENT_TPM_INTERNAL_H
#define TPM_AGENT_TPM_INTERNAL_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_sys.h>

#include "tpm.h"
#include "tpmsession.h"

#define TPM_LOADED_MAX 16      /* keys kept loaded at most, whatever the TPM reports */

struct tcti_guard;

struct tpm {
	struct tcti_guard *guard; /* deadlines, abort, transport state (tcti_guard.h) */
	TSS2_TCTI_CONTEXT *tcti;  /* the guard's TCTI context */
	ESYS_CONTEXT *esys;
	TSS2_SYS_CONTEXT *sys; /* ESAPI's own SAPI context: ESAPI is idle between our calls */
	ESYS_TR srk;
	TPM2_HANDLE srk_tpm;   /* the SRK's TPM handle (transient 0x80xxxxxx with hierarchy null) */
	TPM2B_NAME srk_name;   /* for cpHash of commands authorised by the SRK */
	int srk_p256;          /* 1: srk_x/srk_y hold its P-256 point (salting needs it) */
	/* The pinned SRK name (tpm_options.srk_pin, or the SRK adopted at open); while
	 * srk_refused nothing but reads of public data is sent (srk_refusal says why). */
	uint8_t srk_pin[TPM_KEY_NAME_MAX]; uint16_t srk_pin_len;
	int srk_refused;
	char srk_refusal[ERRMSG_MAX];
	uint8_t srk_x[TPMS_ECC_COORD], srk_y[TPMS_ECC_COORD];
	int plain;             /* password sessions (tpm_options.plain_sessions) */
	struct tpmsession sess;
	int sess_ready;        /* sess holds fetched OpenSSL objects */
	int sess_unsure;       /* a command went out in sess and no verified response came
				* back: the nonces are unknown, so the session must restart */
	struct tpm_info info;
	size_t slots;                            /* how many of our keys may be loaded */
	struct tpm_key *loaded[TPM_LOADED_MAX];  /* the keys currently in the TPM */
	size_t n_loaded;
	uint64_t clock;                          /* LRU stamps */
	/* tpm_policy.c: the policy session authorising the next command of one key, and
	 * the authPolicy (SHA-256) of the next key tpm_create_key_ex makes. */
	struct tpm_policy_run *prun;
	const uint8_t *create_policy;
	int orderly_shutdown;  /* tpm_close sends TPM2_Shutdown(STATE) last (tpm_auth.c) */
};

/* A policy session tpm_policy_begin ran for the key named name; tpm_run_auth sends that
 * key's commands through it. auth_value: the policy asserted PolicyAuthValue, so the
 * key's auth value enters the session HMAC. */
struct tpm_policy_run {
	struct tpmsession sess;
	uint8_t name[TPM_KEY_NAME_MAX]; uint16_t name_len;
	int auth_value;
};

/* Our code for "refused: the SRK is not the pinned one" (tpm_err words it): a layer
 * of our own, so that no TPM, TCTI or ESAPI code can be mistaken for it. */
#define TPM_RC_SRK_REFUSED ((TSS2_RC)((20u << TSS2_RC_LAYER_SHIFT) | 1u))
/* TPM_RC_SRK_REFUSED when t refuses the TPM (checked before any salted session or
 * command that uses the SRK), else TSS2_RC_SUCCESS. */
TSS2_RC tpm_srk_gate(const struct tpm *t);
/* tpm_srkpin.c for tpm_srk.c: the SRK's public area as ESAPI holds it and its name computed
 * here, checked against the pin (adopted when there is none yet). 0, or
 * TPM_E_SRK_REFUSED after srk_refuse, or -1 (e says why). */
int srk_view_check(struct tpm *t, TPM2B_PUBLIC *view, TPM2B_NAME *name, struct errmsg *e);
/* Sets t refusing, with the reason (also into e); returns TPM_E_SRK_REFUSED. */
int srk_refuse(struct tpm *t, struct errmsg *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The text of the last refusal (tpm_err's message for TPM_RC_SRK_REFUSED); forget it
 * at a re-pin. */
const char *srk_refusal_last(void);
void srk_refusal_forget(void);
/* tpm_auth.c: TPM2_Shutdown(STATE), the last command tpm_close sends when asked. */
void tpm_send_shutdown(struct tpm *t);

/* A TPM response code with the handle/session/parameter number masked off, so it
 * compares equal to the TPM2_RC_* constants; other layers' codes are returned as is. */
TSS2_RC rc_base(TSS2_RC rc);
/* The TPM asks to send the command again (NV busy, self-test, yield). */
int rc_is_retry(TSS2_RC rc);
/* Evicts the least recently used of our keys; 0 when none is loaded. */
int tpm_evict_one(struct tpm *t);

/* Makes the connection usable before an ESAPI command: reconnects when the transport
 * or ESAPI's state is unknown after a failure, restarts a session whose nonces are
 * unknown; fails fast after tpm_abort. tpm_run_recovering does it itself. */
int tpm_ready(struct tpm *t, struct errmsg *e);

/* The machinery of tpm.c, tpm_keys.c, tpm_create.c and tpm_exec.c for each other and
 * for tpm_seal.c and tpm_attest.c. tpm_run_recovering: runs op,
 * regaining a lost session, objects or connection once (op must be safe to rerun).
 * tpm_load_key_op: loads k if needed, inside such an op. tpm_create_object: TPM2_Create
 * under the SRK, inSensitive encrypted, with recovery. tpm_run_key_cmd: runs the
 * command just prepared with Tss2_Sys_<Cmd>_Prepare, authorised by loaded key k (its
 * policy session when tpm_policy_begin ran for it), with the first command and/or
 * response parameter encrypted. tpm_wipe_response: zeroes the decrypted response
 * parameter left in SAPI's buffer after _Complete. */
TSS2_RC tpm_run_recovering(struct tpm *t, TSS2_RC (*op)(struct tpm *, void *), void *arg);
TSS2_RC tpm_load_key_op(struct tpm *t, struct tpm_key *k);
TSS2_RC tpm_create_object(struct tpm *t, const TPM2B_SENSITIVE_CREATE *sens,
			  const TPM2B_PUBLIC *tmpl, TPM2B_PRIVATE *priv, TPM2B_PUBLIC *pub);
TSS2_RC tpm_run_key_cmd(struct tpm *t, struct tpm_key *k, TPM2_CC cc, const uint8_t *auth,
			size_t auth_len, int secret_param, int secret_response);
void tpm_wipe_response(struct tpm *t);
int tpm_key_unmarshal_pub(const struct tpm_key *k, TPM2B_PUBLIC *pub, struct errmsg *e);
int tpm_key_store_blobs(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
			struct tpm_key *k, struct errmsg *e);
int tpm_check_auth_len(size_t auth_len, struct errmsg *e);

/* ---- shared by the files of the split tpm.c ---- */

/* Our code for "the response HMAC did not verify" (ESAPI's name for the same event). */
#define RC_RSP_HMAC TSS2_ESYS_RC_RSP_AUTH_FAILED
/* How often a command the TPM asks to resend (rc_is_retry) is sent again. */
#define RETRY_MAX 16

/* tpm.c: the TPM itself answered rc (not the layers above); the TCTI lost the TPM;
 * the TPM_E_* class of rc. */
int rc_from_tpm(TSS2_RC rc);
int rc_is_conn(TSS2_RC rc);
int rc_class(TSS2_RC rc);
/* tpm.c: "tpm: <what>" into e; returns TPM_E_UNSUPPORTED. */
int tpm_unsupported(struct errmsg *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* tpm.c: ends the connection without a word to the TPM (t->sys NULL: reconnect before
 * the next command); a new one from the TCTI up, with nothing of ours left in the TPM
 * and the SRK set up again; TPM2_FlushContext of h, retried while the TPM asks. */
void tpm_drop_connection(struct tpm *t);
int tpm_reconnect(struct tpm *t, struct errmsg *e);
void tpm_flush_handle(struct tpm *t, TPM2_HANDLE h);

/* tpm_srk.c: finds (or makes) the SRK at t->info.srk_handle and checks it. */
int srk_setup(struct tpm *t, struct errmsg *e);

/* tpm_exec.c: starts the salted session (nothing with plain sessions); flushes it and
 * wipes its keys. */
int tpm_session_open(struct tpm *t, struct errmsg *e);
void tpm_session_close(struct tpm *t);

/* The authorised handle's name and authValue, and whether the first command
 * parameter carries a secret to encrypt (decrypt attribute) and whether the first
 * response parameter does, for the TPM to encrypt (encrypt attribute). */
struct auth_cmd {
	TPM2_CC cc;
	const uint8_t *name; size_t name_len;
	const uint8_t *auth; size_t auth_len;
	int secret_param;
	int secret_response;
};
/* tpm_exec.c: runs the command the caller just prepared with Tss2_Sys_<Cmd>_Prepare. */
TSS2_RC tpm_run_auth(struct tpm *t, const struct auth_cmd *c);

/* tpm_keys.c: k's index in t->loaded, or -1; drops loaded[i] from our table (not from
 * the TPM); flushes loaded[i] and forgets it. */
int tpm_loaded_index(const struct tpm *t, const struct tpm_key *k);
void tpm_forget_slot(struct tpm *t, size_t i);
void tpm_flush_slot(struct tpm *t, size_t i);
/* tpm_keys.c: an ssh public key from a TPM public area (ECC or RSA). */
int tpm_pub_from_tpmt(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e);

/* Formats "tpm: <what>: <decoded rc> (<remedy>)" into e and returns the TPM_E_*
 * class of rc. remedy NULL picks one from the class, if any. */
int tpm_err(struct errmsg *e, TSS2_RC rc, const char *remedy, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* tpm_wait.c: routes ctx's transmit and receive through the wait hooks (tpm.h). */
void tpm_wait_wrap(TSS2_TCTI_CONTEXT *ctx);

/* tpm_hierarchy.c: TPM2_CreatePrimary of hierarchy key k (k->primary) from its fixed
 * template; *h its transient handle, k's name set. Fails when the hierarchy's seed no
 * longer makes k's public key (null hierarchy after a TPM reset, owner after a clear). */
TSS2_RC tpm_primary_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h);

/* The TCG "H-2" ECC P-256 storage primary template of the SRK (REFERENCE.md §2). */
void srk_template(TPM2B_PUBLIC *p);

/* An ESAPI HMAC session salted with the SRK for commands authorised by the owner
 * hierarchy (its auth, the SO PIN, only keys the HMAC), with attrs (e.g.
 * TPMA_SESSION_DECRYPT when the first parameter is a TPM2B worth hiding);
 * ESYS_TR_PASSWORD with plain sessions. End it with tpm_owner_session_end. */
TSS2_RC tpm_owner_session(struct tpm *t, TPMA_SESSION attrs, ESYS_TR *sess);
void tpm_owner_session_end(struct tpm *t, ESYS_TR *sess);

/* Runs the command just prepared with Tss2_Sys_<Cmd>_Prepare, authorised by the SRK
 * (empty auth) in the session; secret_response: the first response parameter is
 * encrypted by the TPM (tpm_import.c). */
TSS2_RC tpm_run_srk_cmd(struct tpm *t, TPM2_CC cc, int secret_response);

#endif
