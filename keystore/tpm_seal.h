/* tpm_seal: sealed-data objects: up to 128 secret bytes kept by the TPM under the SRK
 * (a keyed-hash object that neither signs nor decrypts), released by TPM2_Unseal. */
#ifndef TPM_AGENT_TPM_SEAL_H
#define TPM_AGENT_TPM_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "tpm.h"

#define TPM_SEAL_MAX 128 /* MAX_SYM_DATA: the most a sealed object holds */

/* TPM2_Create of a sealed-data object holding data[0..len) (1..TPM_SEAL_MAX bytes).
 * auth: its PIN (NULL/0: none). policy: NULL, or a 32-byte authPolicy (SHA-256) that
 * then alone authorises it (userWithAuth clear). data and auth travel as the encrypted
 * first parameter of the salted session. Fills out's blobs. */
int tpm_seal(struct tpm *t, const uint8_t *data, size_t len, const uint8_t *auth,
	     size_t auth_len, const uint8_t *policy, struct tpm_key *out, struct errmsg *e);

/* TPM2_Unseal of k (loading it first): the secret comes back as the encrypted first
 * response parameter. out_cap at least TPM_SEAL_MAX. With a policy, call
 * tpm_policy_begin first. TPM_E_AUTH_FAIL for a wrong PIN; TPM_E_UNSUPPORTED when k
 * is not a sealed-data object. */
int tpm_unseal(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
	       uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e);

/* 1 if k's public area is a sealed-data object (keyed-hash, no sign, no decrypt),
 * 0 if not, TPM_E_FAIL for a malformed blob; no TPM command. */
int tpm_key_is_sealed(const struct tpm_key *k, struct errmsg *e);

#endif
