/* keystore: the agent's keys: each TSS2 key file in the store, with its public key,
 * fingerprint and keygrip worked out once, and its TPM state. Listing never touches
 * the TPM; signing goes through tpm.h. */
#ifndef TPM_AGENT_KEYSTORE_H
#define TPM_AGENT_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/keygrip.h"
#include "../protocol/sshbuf.h"
#include "../protocol/sshkey.h"
#include "../protocol/tss2key.h"
#include "keyorigin.h"
#include "store.h"
#include "tpm.h"

struct ks_key {
	char name[STORE_NAME_MAX];
	char comment[TSS2KEY_DESC_MAX];
	struct sshkey_pub pub;
	uint8_t blob[SSHKEY_BLOB_MAX]; size_t blob_len; /* SSH public key blob */
	char fingerprint[SSHKEY_FP_MAX];
	char keygrip[KEYGRIP_HEX_LEN];
	int empty_auth;
	int hidden;   /* removed from the agent (ssh-add -d); the file stays */
	int confirm;  /* ask pinentry CONFIRM before each signature (tpm-key load -c) */
	uint64_t lifetime_end; /* CLOCK_MONOTONIC second at which the key is hidden; 0 = never */
	struct tpm_key tk;
	struct ks_policy *policy; /* PCR policy (keypolicy.h); NULL: none */
	char ext_path[1024]; /* a key-dirs file outside the store; "" for keys in the store */
	struct ks_origin origin; /* keys/<name>.origin (keyorigin.h); unknown without one */
	int foreign;  /* TPM2_Load said the key is not under this TPM's SRK (TPM_E_FOREIGN) */
	int foreign_warned; /* the log said why it is not offered */
};

struct keystore;

/* Reads every key in dir/keys. A file that does not parse is skipped with a log line
 * naming it; the others still load. tpm may be NULL for a store used without a TPM.
 * First it repairs what a crash may have left: a .pub without its .tss is removed, a
 * .tss without its .pub gets it back (keystore_repairs counts both). */
int keystore_open(const char *dir, struct tpm *tpm, struct keystore **out, struct errmsg *e);
void keystore_repairs(const struct keystore *ks, size_t *orphans_removed,
		      size_t *pubs_rewritten);
void keystore_close(struct keystore *ks);
/* key-dirs: also serves the .tss and .tpm files of dir (which must be ours, not a
 * symlink, not writable by others; so must each file). A file that does not load, or
 * whose name is taken, is skipped with a log line. Such keys are never written or
 * deleted by the agent. */
int keystore_add_dir(struct keystore *ks, const char *dir, struct errmsg *e);
/* hierarchy-keys: serves the hierarchy key of type tname ("ecdsa256", ...) under
 * hierarchy (TPM2_RH_*, named hname), named "<hname>-<tname>", with no file. */
int keystore_add_hierarchy_key(struct keystore *ks, uint32_t hierarchy, const char *hname,
			       const char *tname, struct ks_key **out, struct errmsg *e);
const char *keystore_dir(const struct keystore *ks);

/* 1 when k cannot be used on this TPM: TPM2_Load refused it (integrity), or its origin
 * record names another SRK than the TPM has now (a clear and `tpm-key init --repin`);
 * why says which and what to do. */
int keystore_key_foreign(struct keystore *ks, const struct ks_key *k, struct errmsg *why);

size_t keystore_count(const struct keystore *ks);
struct ks_key *keystore_get(struct keystore *ks, size_t i);
struct ks_key *keystore_find_blob(struct keystore *ks, const uint8_t *blob, size_t len);
/* The key called name; 40 hex digits that name no key name the key with that keygrip
 * (every tpm-key command takes a keygrip in place of a name). */
struct ks_key *keystore_find_name(struct keystore *ks, const char *name);
struct ks_key *keystore_find_grip(struct keystore *ks, const char *grip_hex);

/* Makes a key in the TPM and writes it to the store. name NULL or "" picks a default
 * from the type ("ecdsa-p256", "rsa-3072", then "-2", "-3", ...). */
int keystore_generate(struct keystore *ks, enum sshkey_type type, unsigned bits,
		      const char *name, const char *comment, struct ks_key **out,
		      struct errmsg *e);
/* Makes a software private key a TPM key (tpm_import_key) with pin as its PIN (NULL/0:
 * none) and writes it to the store; name as for keystore_generate. */
int keystore_import(struct keystore *ks, const struct tpm_import_in *in, const char *name,
		    const char *comment, const uint8_t *pin, size_t pin_len,
		    struct ks_key **out, struct errmsg *e);
/* The name a new key of this type gets when none is given ("ecdsa-p256", "rsa-3072",
 * then "-2", "-3" ...), as keystore_generate and keystore_import choose it now. */
int keystore_default_name(struct keystore *ks, enum sshkey_type type, unsigned bits,
			  char *out, size_t len, struct errmsg *e);
/* tpm-key add: a TSS2 key file made elsewhere joins the store: an importable key
 * (tpm-key wrap, for this TPM's SRK) is TPM2_Import'ed and stored loadable; a loadable
 * one (ssh-tpm-agent's .tpm, tpm2-openssl) is stored once TPM2_Load accepts it. Sealed
 * data and policy-bound keys are refused. name, comment as for keystore_generate. */
int keystore_add(struct keystore *ks, const struct tss2key *f, const char *name,
		 const char *comment, struct ks_key **out, struct errmsg *e);
/* Deletes the key's files and forgets it. */
/* Gives k a new name and comment: its files are written under the new name, then the
 * old ones removed. The name must be valid and free. */
int keystore_rename(struct keystore *ks, struct ks_key *k, const char *name,
		    const char *comment, struct errmsg *e);
/* Deletes the key's files and forgets it (a keygrip names its key too). */
int keystore_delete(struct keystore *ks, const char *name, struct errmsg *e);
/* Reads name from disk again (new or changed file) and un-hides it. */
int keystore_load(struct keystore *ks, const char *name, struct ks_key **out,
		  struct errmsg *e);

/* Generation flags for keystore_generate_flags. */
#define KS_GEN_DECRYPT 0x1 /* also give the key the TPM decrypt attribute (gpg PKDECRYPT) */

/* A keystore operation the TPM module cannot do yet (tpm.c lacks the command). */
#define KS_E_NOT_IMPLEMENTED -100

/* keystore_generate with flags (KS_GEN_*). KS_GEN_DECRYPT needs tpm.c support and
 * (KS_GEN_DECRYPT: the key can also decrypt / do ECDH, for gpg encryption subkeys). */
int keystore_generate_flags(struct keystore *ks, enum sshkey_type type, unsigned bits,
			    const char *name, const char *comment, unsigned flags,
			    struct ks_key **out, struct errmsg *e);

/* Signs a digest made elsewhere (gpg's SETHASH). hash names the algorithm that made it
 * and, for RSA, len must be that algorithm's size (ECDSA needs only the length and
 * takes SSHKEY_HASH_NONE for a digest the TPM has no hash for). RSA: PKCS#1 v1.5 by the TPM's RSASSA scheme,
 * which adds the DigestInfo of hash. ECDSA: a digest longer than the curve is cut to
 * its leading bytes (FIPS 186-4 6.4), then signed under the TPM hash of that size,
 * since TPM2_Sign insists the digest be as long as its scheme's hash. */
int keystore_sign_digest(struct keystore *ks, struct ks_key *k, enum sshkey_hash hash,
			 const uint8_t *digest, size_t len, struct tpm_signature *sig,
			 struct errmsg *e);

/* RSA decryption for gpg PKDECRYPT: c is the ciphertext (big-endian, at most the modulus
 * length); out receives the message with its PKCS#1 v1.5 type-2 padding removed.
 * TPM2_RSA_Decrypt (RSAES) inside the encrypted session. */
int keystore_decrypt_rsa(struct keystore *ks, struct ks_key *k, const uint8_t *c, size_t c_len,
			 uint8_t *out, size_t out_max, size_t *out_len, struct errmsg *e);
/* ECDH for gpg PKDECRYPT: point is the peer's 04||X||Y on k's curve; out receives the
 * shared point 04||X||Y, coordinates padded to the field size.
 * TPM2_ECDH_ZGen inside the encrypted session. */
int keystore_ecdh_zgen(struct keystore *ks, struct ks_key *k, const uint8_t *point,
		       size_t len, uint8_t *out, size_t out_max, size_t *out_len,
		       struct errmsg *e);

/* Signs data for the ssh-agent protocol: hashes it as flags and key type demand and
 * appends the SSH signature blob to sig. */
int keystore_sign_ssh(struct keystore *ks, struct ks_key *k, const uint8_t *data,
		      size_t len, uint32_t flags, struct sshbuf *sig, struct errmsg *e);

/* ---- the same with the key's PIN (its TPM authValue; NULL/0 for none). A wrong PIN
 * is TPM_E_AUTH_FAIL, a TPM in dictionary-attack lockout TPM_E_LOCKOUT. A key with a
 * PIN used with pin NULL is KS_E_NEEDS_PIN, refused before any TPM command: an empty
 * auth sent for it would be a wrong PIN, a dictionary-attack try nobody chose. */
#define KS_E_NEEDS_PIN -101
int keystore_generate_auth(struct keystore *ks, enum sshkey_type type, unsigned bits,
			   const char *name, const char *comment, unsigned flags,
			   const uint8_t *pin, size_t pin_len, struct ks_key **out,
			   struct errmsg *e);
int keystore_sign_ssh_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			   size_t pin_len, const uint8_t *data, size_t len, uint32_t flags,
			   struct sshbuf *sig, struct errmsg *e);
int keystore_sign_digest_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			      size_t pin_len, enum sshkey_hash hash, const uint8_t *digest,
			      size_t len, struct tpm_signature *sig, struct errmsg *e);
int keystore_decrypt_rsa_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			      size_t pin_len, const uint8_t *c, size_t c_len, uint8_t *out,
			      size_t out_max, size_t *out_len, struct errmsg *e);
/* keystore_decrypt_rsa_auth with a padding (and OAEP hash) of the caller's choice. */
int keystore_decrypt_rsa_pad(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			     size_t pin_len, enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
			     const uint8_t *c, size_t c_len, uint8_t *out, size_t out_max,
			     size_t *out_len, struct errmsg *e);
int keystore_ecdh_zgen_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			    size_t pin_len, const uint8_t *point, size_t len, uint8_t *out,
			    size_t out_max, size_t *out_len, struct errmsg *e);
/* tpm-key passwd: TPM2_ObjectChangeAuth, then the new .tss replaces the file atomically,
 * and only then k itself (its old TPM object is flushed). new_len 0 = no PIN any more
 * (the file says emptyAuth TRUE). */
int keystore_change_auth(struct keystore *ks, struct ks_key *k, const uint8_t *old_pin,
			 size_t old_len, const uint8_t *new_pin, size_t new_len,
			 struct errmsg *e);

/* ---- for keystore_policy.c ---- */
struct tpm *keystore_tpm(const struct keystore *ks);
/* Sets the policy the next key keystore_generate_auth makes gets; returns the one that
 * was pending (not taken by a key). */
struct ks_policy *keystore_set_gen_policy(struct keystore *ks, struct ks_policy *p);
/* Writes k's .tss (with its policy) and .pub again, atomically. */
int keystore_rewrite_key(struct keystore *ks, struct ks_key *k, struct errmsg *e);

#endif
