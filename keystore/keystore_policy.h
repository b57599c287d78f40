/* keystore_policy: PCR-bound keys in the store. Making them (plain PolicyPCR, or
 * PolicyAuthorize by a signer key of the user's own), running their policy around each
 * TPM command, naming the PCRs that changed, and `tpm-key pcr-seal`. The per-PCR values
 * a key was made (or last sealed) for live in keys/<name>.pcr, only to say which changed. */
#ifndef TPM_AGENT_KEYSTORE_POLICY_H
#define TPM_AGENT_KEYSTORE_POLICY_H

#include "keystore.h"
#include "tpm_policy.h"

#define KS_PCR_SUFFIX ".pcr"

struct ks_policy {
	struct tpm_policy tp;
	struct tpm_pcr_values expected; /* from <name>.pcr */
	int has_expected;
};

/* What `tpm-key gen --pcr` asks for. */
struct ks_bind {
	struct tpm_pcr_sel sel;
	int authorized;               /* --pcr-authorized: PolicyAuthorize by signer */
	char signer[STORE_NAME_MAX];  /* "" = make "<name>-policy-signer" */
};

/* keystore_generate_auth for a key bound to the current values of b->sel. With a PIN the
 * policy is PolicyPCR then PolicyAuthValue (both needed). An authorised key's first
 * signed policy (the current state) is made at once, so the key works straight away.
 * b NULL: keystore_generate_auth. */
int keystore_generate_bound(struct keystore *ks, enum sshkey_type type, unsigned bits,
			    const char *name, const char *comment, unsigned flags,
			    const uint8_t *pin, size_t pin_len, const struct ks_bind *b,
			    struct ks_key **out, struct errmsg *e);

/* TPM_E_POLICY (with a message naming the changed PCRs) when k's policy cannot be met in
 * the current platform state; 0 otherwise. Reads PCRs only: callers may use it before
 * asking for a PIN, which would be pointless. */
int keystore_policy_check(struct keystore *ks, struct ks_key *k, struct errmsg *e);

/* tpm-key pcr-seal: signs (with the key's policy signer, through the TPM) a policy for
 * the current values of the key's PCRs and puts it first in the key file's authPolicy
 * list (at most TSS2KEY_AUTHPOL_MAX: the oldest goes). note says what happened. */
int keystore_pcr_seal(struct keystore *ks, const char *name, const uint8_t *signer_pin,
		      size_t signer_pin_len, char *note, size_t note_len, struct errmsg *e);

/* "pcr sha256:0,7", "pcr sha256:16 authorized by NAME (2 sealed)", or "" (no policy). */
void keystore_policy_describe(struct keystore *ks, const struct ks_key *k, char *out,
			      size_t len);

/* ---- for keystore.c ---- */

/* Creates k in the TPM: with *pending (set by keystore_generate_bound) a policy key
 * (PolicyAuthValue appended when there is a PIN), which k then owns; else a plain one. */
int ks_policy_create(struct keystore *ks, struct ks_policy **pending, struct ks_key *k,
		     enum sshkey_type type, unsigned bits, unsigned tflags,
		     const uint8_t *pin, size_t pin_len, struct errmsg *e);
/* Reads the file's policy (and the .pcr beside it) into k->policy; none = NULL. */
int ks_policy_load(const char *dir, struct ks_key *k, const struct tss2key *f,
		   struct errmsg *e);
/* Writes k->policy into f and the .pcr file. */
int ks_policy_store(const char *dir, const struct ks_key *k, struct tss2key *f,
		    struct errmsg *e);
/* Around each TPM command of k: the policy session (nothing for keys without a policy). */
int ks_policy_begin(struct keystore *ks, struct ks_key *k, struct errmsg *e);
void ks_policy_end(struct keystore *ks, struct ks_key *k);
void ks_policy_free(struct ks_policy *p);

#endif
