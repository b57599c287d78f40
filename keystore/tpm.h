/* tpm: the one module that sends commands to the TPM (tpm2-tss). It owns the TCTI
 * connection, the persistent SRK and the few transient object slots, loading and
 * evicting keys least-recently-used so callers never think about handles. */
#ifndef TPM_AGENT_TPM_H
#define TPM_AGENT_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshkey.h"
#include "../protocol/tss2key.h"

#define TPM_SRK_HANDLE_DEFAULT 0x81000001u
#define TPM_KEY_NAME_MAX 68        /* a TPM2B_NAME's contents: 2-byte alg + digest */
#define TPM_SAVED_CONTEXT_MAX 5216 /* a marshalled TPMS_CONTEXT (libtpms objects: ~1-3 KiB) */
#define TPM_TCTI_DEFAULT "device:/dev/tpmrm0"

/* Return codes beyond 0 (ok) so callers can react, e.g. to a wrong PIN. */
#define TPM_E_FAIL      -1 /* anything else; errmsg says what */
#define TPM_E_AUTH_FAIL -2 /* TPM_RC_AUTH_FAIL / BAD_AUTH: wrong authValue */
#define TPM_E_LOCKOUT   -3 /* TPM_RC_LOCKOUT: dictionary-attack lockout */
#define TPM_E_CONN      -4 /* the TCTI connection is gone */
#define TPM_E_UNSUPPORTED -5 /* refused before touching the TPM (RSA 4096, Ed25519, ...) */
#define TPM_E_BAD_DATA  -6 /* decrypt/ECDH input that does not fit the key: wrong ciphertext,
			    * padding, or a point not on the key's curve */
#define TPM_E_NO_ANSWER -7 /* the TPM did not answer within the deadline (tpm-timeout), or
			    * tpm_abort was called; the connection is rebuilt at the next use */

/* tpm_create_key_ex flags. */
#define TPM_KEY_DECRYPT 0x1u /* ECC: also the decrypt attribute (ECDH_ZGen). RSA keys
			      * always have it (gpg uses them both ways). */

#define TPM_RSA_MSG_MAX 512   /* sizeof(TPM2B_PUBLIC_KEY_RSA.buffer) */
#define TPM_ECC_POINT_MAX 133 /* 04 || X || Y on P-521 */

struct tpm;

/* The hierarchy the SRK (the parent of our keys) lives in. */
enum tpm_hierarchy {
	TPM_HIER_OWNER = 0,   /* persistent primary at srk_handle (the default) */
	TPM_HIER_ENDORSEMENT, /* persistent primary at srk_handle, under TPM2_RH_ENDORSEMENT */
	TPM_HIER_NULL,        /* transient primary made at every start: keys die at reboot */
};

/* "owner", "endorsement", "null"; NULL for anything else. */
const char *tpm_hierarchy_name(int h);
/* The hierarchy a key file's parent field names: 0x40000007 null, 0x4000000b
 * endorsement, anything else (0x40000001, a persistent handle) owner. */
int tpm_parent_hierarchy(uint32_t parent);

struct tpm_options {
	const char *tcti;    /* tpm2-tss TCTI string, e.g. "swtpm:host=127.0.0.1,port=2321" */
	uint32_t srk_handle; /* persistent handle of the SRK */
	/* 0 (default): every command carrying an authorization or a secret runs in one
	 * salted HMAC session with AES-128-CFB parameter encryption. 1: plain password
	 * sessions (PINs and digests cross the bus in clear; --no-encrypt-sessions). */
	int plain_sessions;
	int hierarchy;       /* enum tpm_hierarchy; 0 = owner */
	/* The SRK name pinned for srk_handle (keystore/srkpin.h). Length 0: none yet, and
	 * the SRK found (or made) now is adopted. Either way this tpm then refuses any other
	 * SRK, at open and at every reconnect, before a salted session starts (see
	 * tpm_srk_refused). Unused with hierarchy null (a new SRK at every TPM reset). */
	const uint8_t *srk_pin; size_t srk_pin_len;
	/* Seconds one TPM command may take (tpm-timeout) and one key creation, Create or
	 * CreatePrimary (tpm-create-timeout); 0 = the defaults, 30 and 300. Past it the
	 * request fails with "tpm: no answer in N s" (TPM_E_NO_ANSWER). */
	unsigned timeout_s, create_timeout_s;
};

struct tpm_info {
	char manufacturer[5];  /* 4 ASCII chars from TPM2_PT_MANUFACTURER */
	char vendor[64];       /* TPM2_PT_VENDOR_STRING_1..4 */
	uint32_t firmware1, firmware2;
	char tcti[256];
	uint32_t srk_handle;
	int hierarchy;         /* enum tpm_hierarchy */
	uint32_t parent;       /* what key files record as parent: srk_handle (owner),
				* 0x4000000b (endorsement), 0x40000007 (null) */
	uint32_t transient_slots; /* TPM2_PT_HR_TRANSIENT_AVAIL at open */
	int encrypted_sessions;   /* 1: the salted AES-128-CFB session is in use */
	uint32_t session_handle;  /* its TPM handle (0x02xxxxxx), 0 with plain sessions */
	unsigned session_restarts; /* times the session was restarted after a loss */
	unsigned reconnects;       /* times the TCTI was finalized and opened again */
	/* Leftovers of a crashed agent flushed at start (and at reconnects) on a TPM
	 * without a resource manager (swtpm, mssim, device:/dev/tpm0): sessions (loaded
	 * and saved) and transient objects. 0 on tabrmd and /dev/tpmrm0. */
	unsigned leftover_sessions, leftover_objects;
	int raw_tpm;               /* 1: no resource manager; the agent owns the TPM */
	unsigned timeout_s, create_timeout_s; /* the deadlines in force */
};

/* A TPM-wrapped key as the TPM sees it. The blobs come from a TSS2 key file;
 * the load state is tpm_keys.c's business (callers zero-initialise it). */
struct tpm_key {
	uint8_t pub[TSS2KEY_BLOB_MAX]; size_t pub_len;   /* marshalled TPM2B_PUBLIC */
	uint8_t priv[TSS2KEY_BLOB_MAX]; size_t priv_len; /* marshalled TPM2B_PRIVATE */
	/* A hierarchy key (tpm_hierarchy.h): the hierarchy handle whose primary seed makes
	 * it with TPM2_CreatePrimary (priv is empty); 0 for a key loaded from its blobs. */
	uint32_t primary;
	struct {
		uint32_t handle;   /* TPM handle of the loaded object (0x80xxxxxx), 0 when not loaded */
		uint64_t last_use; /* LRU stamp */
		/* The object's TPM name (from TPM2_Load), for the session's cpHash. */
		uint8_t name[TPM_KEY_NAME_MAX]; uint16_t name_len;
		/* TPM2_ContextSave of the object, kept after eviction so that reloading is a
		 * cheap TPM2_ContextLoad; 0 bytes when none (reload with TPM2_Load). */
		uint8_t saved[TPM_SAVED_CONTEXT_MAX]; uint16_t saved_len;
	} state;
};

enum tpm_sig_scheme {
	TPM_SIG_ECDSA = 1,
	TPM_SIG_RSASSA, /* PKCS#1 v1.5: the TPM adds the DigestInfo */
	TPM_SIG_RSAPSS,
};

struct tpm_signature {
	uint8_t r[66]; size_t r_len;   /* ECDSA only */
	uint8_t s[512]; size_t s_len;  /* ECDSA s, or the RSA signature */
};

/* Connects, reads the TPM's properties, and makes sure the SRK exists at
 * o->srk_handle (creating and persisting it from the TCG H-2 ECC P-256 template when
 * the handle is empty and no name is pinned; a clear error when it holds something
 * other than a storage key). An SRK whose name (computed here from the public area
 * ESAPI holds) differs from o->srk_pin, or a pinned SRK that is gone, is no error of
 * tpm_open: the tpm is returned refusing every command (tpm_srk_refused says why), so
 * that the agent can still report it and re-pin on request. */
int tpm_open(const struct tpm_options *o, struct tpm **out, struct errmsg *e);

/* ---- the pinned SRK ---- */

#define TPM_E_SRK_REFUSED -8 /* the SRK is not the pinned one: nothing is sent */
#define TPM_E_FOREIGN -9 /* TPM2_Load: TPM_RC_INTEGRITY, the key was made under another SRK
			   (another TPM, or this one before a clear) */

/* 1 (with the reason, both names and the remedy in e) while the TPM's SRK does not
 * match the pin, 0 when it does. */
int tpm_srk_refused(const struct tpm *t, struct errmsg *e);
/* The SRK's name as this tpm computed and pinned it; len 0 with hierarchy null. */
int tpm_srk_name(const struct tpm *t, uint8_t *name, size_t cap, size_t *len);
/* A deliberate re-pin (tpm-key init --repin, after a TPM clear): flushes our keys and
 * session, adopts the SRK at the handle now (making it when the handle is empty),
 * starts the session and gives its name. The caller records it (srkpin_save). */
int tpm_srk_repin(struct tpm *t, uint8_t *name, size_t cap, size_t *len, struct errmsg *e);
/* Refuses the TPM from now on, with why (e.g. the EK proof of a re-pinned SRK failed);
 * returns TPM_E_SRK_REFUSED with the message in e. */
int tpm_srk_distrust(struct tpm *t, const char *why, struct errmsg *e);
/* Flushes every loaded key and disconnects. NULL ok. After tpm_abort it sends nothing. */
void tpm_close(struct tpm *t);

/* For another thread (the agent's main loop on SIGTERM) while a TPM command may be in
 * flight on the worker: the command in flight fails within about 100 ms with
 * TPM_E_NO_ANSWER ("tpm: the agent is stopping"), and so does every later call
 * without touching the TPM. Only an atomic store: safe from any thread (not from a
 * signal handler that interrupted a tpm_* call on the same thread, which cannot
 * return to it anyway); t must stay allocated until the worker returned, then
 * tpm_close(t) frees it. Irreversible: open a new tpm to use the TPM again. */
void tpm_abort(struct tpm *t);
int tpm_get_info(struct tpm *t, struct tpm_info *info, struct errmsg *e);

/* Creates a signing key under the SRK (RSA 2048/3072, ECDSA P-256/384/521; scheme
 * NULL so the hash is chosen per signature; no noDA). auth may be NULL/0 for an
 * empty auth value. RSA 4096 and anything else are refused with TPM_E_UNSUPPORTED
 * before any TPM command. On success fills k's blobs and pub. */
int tpm_create_key(struct tpm *t, enum sshkey_type type, unsigned bits,
		   const uint8_t *auth, size_t auth_len,
		   struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e);

/* tpm_create_key with flags (TPM_KEY_*; others are TPM_E_UNSUPPORTED). An ECC key made
 * with TPM_KEY_DECRYPT is sign|decrypt with schemes and KDF NULL: it both signs (ECDSA)
 * and answers tpm_ecdh_zgen. tpm_create_key is this with flags 0. */
int tpm_create_key_ex(struct tpm *t, enum sshkey_type type, unsigned bits, unsigned flags,
		      const uint8_t *auth, size_t auth_len,
		      struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e);

/* 1 if k has the decrypt attribute (tpm_rsa_decrypt / tpm_ecdh_zgen can use it), 0 if it
 * only signs, TPM_E_FAIL (with e) if its public blob is malformed; no TPM command. */
int tpm_key_can_decrypt(const struct tpm_key *k, struct errmsg *e);

/* Reads the public key out of k's marshalled TPM2B_PUBLIC; no TPM command. */
int tpm_key_public(const struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e);

/* Signs a digest (already hashed with hash) with k, loading it first if needed. */
int tpm_sign(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
	     enum tpm_sig_scheme scheme, enum sshkey_hash hash,
	     const uint8_t *digest, size_t digest_len,
	     struct tpm_signature *sig, struct errmsg *e);

enum tpm_rsa_padding {
	TPM_RSA_RAW = 1, /* TPM2_ALG_NULL: m = c^d as a modulus-sized block (gpg unpads it) */
	TPM_RSA_PKCS1,   /* RSAES-PKCS1-v1_5: the TPM strips the type-2 padding */
	TPM_RSA_OAEP,    /* RSAES-OAEP with oaep_hash for both the label hash and MGF1 */
};

/* TPM2_RSA_Decrypt with k (loading it first if needed). cipher is big-endian, at most the
 * modulus long (shorter is left-padded: gpg's MPIs lose leading zeros). label goes with
 * OAEP only and, by the TPM's rule, is empty or ends in a NUL byte which is part of the
 * label (OpenSSL must be given the same bytes). With encrypted sessions the ciphertext and
 * the plaintext cross the TPM bus AES-CFB encrypted. Errors: TPM_E_AUTH_FAIL (wrong PIN),
 * TPM_E_UNSUPPORTED (a sign-only or ECC key, an unknown padding or hash), TPM_E_BAD_DATA
 * (a ciphertext that does not fit the key or whose padding is wrong). */
int tpm_rsa_decrypt(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		    enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
		    const uint8_t *label, size_t label_len,
		    const uint8_t *cipher, size_t cipher_len,
		    uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e);

/* TPM2_ECDH_ZGen with k (made with TPM_KEY_DECRYPT): point is the peer's 04||X||Y on k's
 * curve; out receives the shared point 04||X||Y, coordinates left-padded to the field
 * length (out_cap at least 1 + 2 * field length). The point and the result cross the TPM
 * bus encrypted with encrypted sessions. Errors as tpm_rsa_decrypt; TPM_E_BAD_DATA for a
 * point of the wrong length or not on the curve. */
int tpm_ecdh_zgen(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		  const uint8_t *point, size_t point_len,
		  uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e);

/* Makes sure k is loaded (evicting the least recently used key if the slots are full). */
int tpm_key_load(struct tpm *t, struct tpm_key *k, struct errmsg *e);
/* Flushes k from the TPM if loaded; call before freeing or forgetting a key. */
void tpm_key_unload(struct tpm *t, struct tpm_key *k);

/* ---- PINs (tpm_auth.c) ---- */

/* The TPM's dictionary-attack state (TPM2_PT_PERMANENT, TPM2_PT_LOCKOUT_*). */
struct tpm_da {
	uint32_t counter;   /* TPM2_PT_LOCKOUT_COUNTER: wrong authorizations counted now */
	uint32_t max_tries; /* TPM2_PT_MAX_AUTH_FAIL: the counter value that locks out */
	uint32_t interval;  /* TPM2_PT_LOCKOUT_INTERVAL: seconds until one failure is forgotten */
	uint32_t recovery;  /* TPM2_PT_LOCKOUT_RECOVERY: seconds after a lockout-auth failure */
	int in_lockout;     /* TPMA_PERMANENT inLockout, or counter >= max_tries */
	int owner_auth_set; /* TPMA_PERMANENT ownerAuthSet: the owner hierarchy has an SO PIN */
};

/* Reads the dictionary-attack state (one TPM2_GetCapability, no authorization). */
int tpm_da_state(struct tpm *t, struct tpm_da *da, struct errmsg *e);
/* The same, as separate numbers. */
int tpm_da_status(struct tpm *t, uint32_t *counter, uint32_t *max, uint32_t *interval,
		  uint32_t *recovery, struct errmsg *e);

/* TPM2_ObjectChangeAuth: re-wraps k (loading it if needed) under the SRK with the new
 * auth value; out receives k's public blob and the new private blob (the caller stores
 * it, then replaces k). The old PIN only keys the session HMAC and the new one is the
 * encrypted first parameter (salted AES-128-CFB session; a password session with
 * plain sessions). TPM_E_AUTH_FAIL for a wrong old PIN, TPM_E_LOCKOUT in lockout,
 * TPM_E_UNSUPPORTED for a new PIN over 32 bytes. The old blob stays valid with the
 * old PIN: TPM objects are not revoked, so the caller must replace every copy. */
int tpm_change_auth(struct tpm *t, struct tpm_key *k, const uint8_t *old_auth, size_t old_len,
		    const uint8_t *new_auth, size_t new_len, struct tpm_key *out,
		    struct errmsg *e);

/* Makes tpm_close send TPM2_Shutdown(TPM_SU_STATE) as its last command (after the
 * flushes) when the TPM has no resource manager between us and it (swtpm:, mssim:,
 * device:/dev/tpmN, the --simulator): nobody else sends it before that TPM stops, and
 * a stop without it after PIN use counts as a dictionary attack at the next Startup.
 * For the agent's exit; a connection in an unknown state gets nothing. */
void tpm_set_orderly_shutdown(struct tpm *t);

#define TPM_E_OWNER_AUTH -31 /* the owner hierarchy has an authorization (SO PIN): ask it */

/* Makes sure a storage key (SRK) is at the persistent handle: *created 0 when one was
 * there, 1 when this call made the H-2 primary and persisted it. owner_auth is the
 * owner hierarchy's authorization (SO PIN); NULL means "not asked": when the TPM says
 * ownerAuthSet, nothing is sent and the result is TPM_E_OWNER_AUTH. The owner auth
 * keys an HMAC session salted with the current SRK (a password session with plain
 * sessions). A wrong one is TPM_E_AUTH_FAIL and counts towards the DA lockout. */
int tpm_srk_provision(struct tpm *t, uint32_t handle, const uint8_t *owner_auth,
		      size_t owner_len, int *created, struct errmsg *e);

/* ---- tpm_import.c: a software private key made a TPM key (TPM2_Import) ---- */

/* The key material, big-endian unsigned, in the caller's sodium memory. ECDSA: the
 * private scalar d and the public point x, y (each at most 66 bytes). RSA (2048 or
 * 3072): the modulus n, exponent e and the first prime p. */
struct tpm_import_in {
	enum sshkey_type type;
	uint8_t d[66]; size_t d_len;
	uint8_t x[66]; size_t x_len;
	uint8_t y[66]; size_t y_len;
	uint8_t n[384]; size_t n_len;
	uint32_t e;
	uint8_t p[192]; size_t p_len;
	unsigned flags;                    /* TPM_KEY_DECRYPT: an ECC key also does ECDH */
};

/* Wraps the key for the SRK (a duplication blob with an ECDH/KDFe seed, Part 1 §23.3)
 * and runs TPM2_Import under the SRK; fills k's blobs (a loadable key with auth as its
 * PIN, NULL/0 for none; DA-protected, not fixedTPM: it was made outside) and pub. Needs
 * the ECC P-256 SRK. Keys the TPM cannot hold (RSA 4096, other sizes) and PINs over 32
 * bytes are TPM_E_UNSUPPORTED. */
int tpm_import_key(struct tpm *t, const struct tpm_import_in *in, const uint8_t *auth,
		   size_t auth_len, struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e);
/* TPM2_Import of an importable TSS2 key (tpm-key wrap made it for this TPM's SRK) under
 * the SRK; fills k's blobs (loadable from now on). A file wrapped for another TPM fails
 * with a message that says so. */
int tpm_import_wrapped(struct tpm *t, const struct tss2key *f, struct tpm_key *k,
		       struct errmsg *e);
/* The SRK's P-256 public point and TPM name (*name_len: capacity in, length out), for
 * tpm-key srk; no TPM command. Fails when the SRK is not an ECC P-256 key. */
int tpm_srk_public(struct tpm *t, uint8_t x[32], uint8_t y[32], uint8_t *name,
		   size_t *name_len, struct errmsg *e);

/* ---- tpm_wait.c: while a thread waits for the TPM ---- */

/* enter runs in the thread that sends a TPM command just before it blocks on the TPM
 * (transmit, then receive), leave just after; both with arg. The agent releases its
 * state lock meanwhile, so clients that need no TPM are served. Process-wide; NULL
 * hooks: none. Set them before the TPM is used from more than one thread. */
typedef void (*tpm_wait_fn)(void *arg);
void tpm_set_wait_hooks(tpm_wait_fn enter, tpm_wait_fn leave, void *arg);

#endif
