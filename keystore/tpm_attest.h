/* tpm_attest: the TPM side of key attestation: the endorsement key and its
 * certificate, an attestation key (AK) bound to the EK by credential activation, and
 * TPM2_Certify of a key by the AK. Fills protocol/attestation.h's blobs. */
#ifndef TPM_AGENT_TPM_ATTEST_H
#define TPM_AGENT_TPM_ATTEST_H

#include <openssl/evp.h>

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

/* ---- the EK proof of the SRK (tpm-key init) ---- */

struct tpm_ek_proof {
	int have_cert;               /* 0: no RSA EK certificate in NV: nothing was proven */
	uint8_t cert_sha256[32];     /* of the certificate's DER */
	char issuer[160];            /* the certificate's issuer, one line */
	uint8_t srk_name[TPM_KEY_NAME_MAX]; size_t srk_name_len;
};

/* Proves that the SRK (by its pinned name) lives in the TPM holding the certified EK:
 * TPM2_MakeCredential is done here, in software, to the public key of the EK
 * certificate over the SRK's name, so that neither the TPM nor anything on its bus
 * picks the key; then TPM2_ActivateCredential(activateHandle = SRK, keyHandle = EK with
 * PolicySecret(endorsement)) must give the secret back. 0 with have_cert 0 when there
 * is no certificate; TPM_E_FAIL with e when the proof fails. */
int tpm_ek_prove_srk(struct tpm *t, struct tpm_ek_proof *p, struct errmsg *e);

/* ---- the live challenge of an enrolment CA (tpm-key ca / tpm-key enroll) ---- */

/* TPM2_MakeCredential in software, no TPM (the CA side): the credential cred for the
 * object name (the AK's), sealed to the RSA EK key ek; id_object and secret get the
 * marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET. 0 or -1. */
int tpm_make_credential_sw(EVP_PKEY *ek, const uint8_t *name, size_t name_len,
			   const uint8_t *cred, size_t cred_len, uint8_t *id_object, size_t id_cap,
			   size_t *id_len, uint8_t *secret, size_t secret_cap, size_t *secret_len);

/* TPM2_ActivateCredential(activateHandle = ak, keyHandle = the EK): the credential of a
 * challenge made by tpm_make_credential_sw for the AK's name, into out. It fails when
 * the challenge was sealed to another TPM's EK or bound to another object's name. */
int tpm_attest_activate(struct tpm *t, const struct tpm_key *ak, const uint8_t *id_object,
			size_t id_len, const uint8_t *secret, size_t secret_len, uint8_t *out,
			size_t cap, size_t *out_len, struct errmsg *e);

#endif
