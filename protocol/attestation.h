/* attestation: the key-attestation file of `tpm-key attest` and its offline check
 * (`tpm-key verify-attestation`). Pure: OpenSSL and tpm2-tss marshalling only, no TPM.
 *
 * The file is text: free comment lines, then PEM blocks (any order), each the DER or
 * the TPM-marshalled bytes named by its label:
 *   EK CERTIFICATE      X.509 DER of the TPM's endorsement key (from NV 0x01c00002)
 *   EK PUBLIC           TPM2B_PUBLIC of the EK (always present)
 *   AK PUBLIC           TPM2B_PUBLIC of the attestation key (restricted ECDSA P-256)
 *   AK ACTIVATION       TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET || TPM2B_DIGEST: the
 *                       credential made for (EK, AK name) when the AK was created, and
 *                       the secret the TPM's ActivateCredential released
 *   KEY PUBLIC          TPM2B_PUBLIC of the attested key
 *   CERTIFY INFO        TPM2B_ATTEST from TPM2_Certify(key, AK, nonce)
 *   CERTIFY SIGNATURE   TPMT_SIGNATURE by the AK over CERTIFY INFO's TPMS_ATTEST */
#ifndef TPM_AGENT_ATTESTATION_H
#define TPM_AGENT_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "sshkey.h"

#define ATT_BLOB_MAX 4096
#define ATT_FILE_MAX (64 * 1024)
#define ATT_NONCE_MAX 64

struct att_blob {
	uint8_t d[ATT_BLOB_MAX];
	size_t len; /* 0: absent */
};

struct attestation {
	struct att_blob ek_cert, ek_pub, ak_pub, activation, key_pub, certify_info, signature;
};

/* Text of the file (malloc'd, NUL-terminated) <-> struct. note goes first as comments. */
int attestation_encode(const struct attestation *a, const char *note, char **text,
		       struct errmsg *e);
int attestation_decode(const char *text, size_t len, struct attestation *a, struct errmsg *e);

struct att_verify_opts {
	const struct sshkey_pub *key;   /* the public key the CA is asked to certify */
	const char *ek_ca_file;         /* PEM CA certificate(s), NULL: skip the chain check */
	const uint8_t *nonce; size_t nonce_len; /* expected qualifying data, NULL: any */
	/* 0: a key not made in the TPM (imported: sensitiveDataOrigin, fixedTPM or
	 * fixedParent clear) fails. 1: it passes and *imported (if not NULL) is set to 1. */
	int allow_imported;
	int *imported;
};

/* Every check, in order; the first failure says which and why. On success, report
 * (may be NULL) gets one line per check that passed. */
int attestation_verify(const struct attestation *a, const struct att_verify_opts *o,
		       char *report, size_t report_len, struct errmsg *e);

/* The TPM name (nameAlg || H(TPMT_PUBLIC)) of a marshalled TPM2B_PUBLIC. */
int attestation_name(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len,
		     struct errmsg *e);

#endif
