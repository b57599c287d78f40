/* keystore_policy: PCR-bound keys in the store. Making them (plain PolicyPCR, or
 * PolicyAuthorize by a signer key of the user's own), checking their policy before a PIN
 * is asked for, naming the PCRs that changed, and `tpm-key pcr-seal`. The per-PCR values
 * a key was made (or last sealed) for live in keys/<name>.pcr, only to say which changed.
 * It builds on keystore.h (finding, making and rewriting keys); keystore.c never calls
 * it: what the store itself needs of a key's policy is one layer down, in keypolicy.h. */
#ifndef TPM_AGENT_KEYSTORE_POLICY_H
#define TPM_AGENT_KEYSTORE_POLICY_H

#include "keypolicy.h"
#include "keystore.h"
#include "tpm_policy.h"

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

#endif
