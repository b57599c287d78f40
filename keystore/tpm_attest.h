/* tpm_attest: the TPM side of key attestation: the endorsement key and its
 * certificate, an attestation key (AK) bound to the EK by credential activation, and
 * TPM2_Certify of a key by the AK. Fills protocol/attestation.h's blobs. */
#ifndef TPM_AGENT_TPM_ATTEST_H
#define TPM_AGENT_TPM_ATTEST_H

#include "../protocol/attestation.h"
#include "../protocol/errmsg.h"
#include "tpm.h"

#define TPM_EK_HANDLE 0x81010001u   /* TCG: the persistent RSA EK */
#define TPM_EK_CERT_RSA 0x01c00002u /* TCG: NV index of the RSA 2048 EK certificate */

/* The RSA EK (persistent at TPM_EK_HANDLE, else the TCG default template's primary)
 * into a->ek_pub, and its certificate from NV into a->ek_cert (len 0 when none). */
int tpm_attest_ek(struct tpm *t, struct attestation *a, struct errmsg *e);

/* Creates an AK under the SRK (restricted ECDSA P-256 / SHA-256, made in the TPM), then
 * proves it sits in the same TPM as the EK: TPM2_MakeCredential for (EK, AK name) and
 * TPM2_ActivateCredential (EK authorised by PolicySecret(endorsement)) must give the
 * secret back. ak gets the key blobs, activation the record (attestation.h). */
int tpm_attest_make_ak(struct tpm *t, struct tpm_key *ak, struct att_blob *activation,
		       struct errmsg *e);

/* TPM2_Certify of key by ak with qualifying data nonce; fills a's ak_pub, key_pub,
 * certify_info and signature. auth is the key's PIN (NULL/0 for a key without one),
 * sent in a salted HMAC session: TPM_E_AUTH_FAIL for a wrong one, TPM_E_LOCKOUT. */
int tpm_attest_certify(struct tpm *t, const struct tpm_key *ak, const struct tpm_key *key,
		       const uint8_t *auth, size_t auth_len, const uint8_t *nonce,
		       size_t nonce_len, struct attestation *a, struct errmsg *e);

#endif
