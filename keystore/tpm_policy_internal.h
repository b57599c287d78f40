/* tpm_policy_internal: what the files of the tpm_policy module share (tpm_policy.c: PCR
 * selections, digests, the key file's fields; tpm_policy_session.c: making policy keys and
 * the policy session). Not for use outside keystore/tpm_policy*.c. */
#ifndef TPM_AGENT_TPM_POLICY_INTERNAL_H
#define TPM_AGENT_TPM_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "tpm_internal.h"
#include "tpm_policy.h"

/* Resends a SAPI command while the TPM asks for it (SAPI does not, ESAPI would). */
#define RETRIED(rc, call) do { int n_ = 0; \
	do (rc) = (call); while (rc_is_retry(rc) && ++n_ < 16); } while (0)

/* sel as the one-bank TPML_PCR_SELECTION PolicyPCR and the key file take. */
void sel_to_tpml(const struct tpm_pcr_sel *sel, TPML_PCR_SELECTION *out);
/* SHA-256 over up to three pieces. */
int sha256_3(const void *a, size_t a_len, const void *b, size_t b_len,
	     const void *c, size_t c_len, uint8_t out[TPM_POLICY_DIGEST_LEN]);

#endif
