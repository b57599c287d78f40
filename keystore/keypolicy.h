/* keypolicy: the PCR policy of one key (struct ks_policy): its .pcr record, loading and
 * storing it with the key file, making the key under it, and the policy session around
 * the key's commands. The layer below the store: keystore.c (the key store) and
 * keystore_policy.c (PCR-bound keys in the store, pcr-seal) both build on it, and it
 * knows neither; it takes a key's pieces (name, TPM key, policy), not a struct ks_key.
 * Dependencies point one way: keystore_policy -> keystore -> keypolicy -> tpm_policy. */
#ifndef TPM_AGENT_KEYPOLICY_H
#define TPM_AGENT_KEYPOLICY_H

#include "../protocol/errmsg.h"
#include "../protocol/sshkey.h"
#include "../protocol/tss2key.h"
#include "tpm.h"
#include "tpm_policy.h"

#define KS_PCR_SUFFIX ".pcr"

struct ks_policy {
	struct tpm_policy tp;
	struct tpm_pcr_values expected; /* from <name>.pcr */
	int has_expected;
};

void ks_policy_free(struct ks_policy *p);

/* Creates a key in the TPM: with *pending (set by keystore_generate_bound) a policy key
 * (PolicyAuthValue appended when there is a PIN), which then goes to *owned (the key
 * owns it) and *pending becomes NULL; else a plain one, *owned untouched. */
int ks_policy_create(struct tpm *t, struct ks_policy **pending, enum sshkey_type type,
		     unsigned bits, unsigned tflags, const uint8_t *pin, size_t pin_len,
		     struct tpm_key *tk, struct sshkey_pub *pub, struct ks_policy **owned,
		     struct errmsg *e);
/* Reads the file's policy (and the .pcr of key name in dir beside it) into *out; none =
 * NULL. */
int ks_policy_load(const char *dir, const char *name, const struct tss2key *f,
		   struct ks_policy **out, struct errmsg *e);
/* Writes p (NULL: none) into f and the .pcr file of key name. */
int ks_policy_store(const char *dir, const char *name, const struct ks_policy *p,
		    struct tss2key *f, struct errmsg *e);
/* Around each TPM command of key name (tk): the policy session; nothing for p NULL. */
int ks_policy_begin(struct tpm *t, const char *name, struct tpm_key *tk,
		    const struct ks_policy *p, struct errmsg *e);
void ks_policy_end(struct tpm *t, const struct ks_policy *p);

/* The selection the policy is about (the newest signed one for authorised keys). */
const struct tpm_pcr_sel *ks_policy_sel(const struct tpm_policy *p);
/* TPM_E_POLICY, with a message naming key name and the PCRs that changed. */
int ks_policy_refused(struct tpm *t, const char *name, const struct ks_policy *p,
		      struct errmsg *e);

#endif
