/* wrap: a software private key wrapped for a storage key (SRK) known only by its ECC
 * P-256 public point: the outer wrapper of a duplication blob (TPM 2.0 Part 1 §23.3.2)
 * that TPM2_Import under that SRK accepts. Pure computation: no TPM, no agent, so
 * `tpm-key wrap` runs on any machine and tpm_import.c uses the same code locally. */
#ifndef TPM_AGENT_WRAP_H
#define TPM_AGENT_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"
#include "../protocol/sshkey.h"
#include "../protocol/tss2key.h"
#include "tpm.h"
#include "tpmsession.h"

#define WRAP_PARENT_OWNER 0x40000001u /* "the H-2 primary of the owner hierarchy" */

/* The key material of an import request (agent/cli/cmd_import.c builds it): string key
 * type ("ecdsa-sha2-nistp256|384|521" or "ssh-rsa"), then ECDSA: string Q (04||X||Y),
 * string d; RSA: string n, string e, string p (big-endian unsigned). Fills in, which
 * the caller keeps in sodium memory. */
int wrap_material(struct sshbuf *b, const char *type, struct tpm_import_in *in,
		  struct errmsg *e);

/* The TPM objects of a key made outside the TPM: public area (userWithAuth, sign, not
 * noDA; RSA also decrypt, as tpm-key gen makes them; neither fixedTPM nor fixedParent)
 * and sensitive area (empty authValue). TPM_E_UNSUPPORTED for what a TPM cannot hold. */
int wrap_objects(const struct tpm_import_in *in, TPM2B_PUBLIC *pub, TPM2B_SENSITIVE *sens,
		 struct errmsg *e);

/* The duplication blob (outerHMAC || AES-128-CFB(TPM2B_SENSITIVE)) and its encrypted
 * seed (an ephemeral P-256 point: ECDH with the SRK point, KDFe "DUPLICATE") for the SRK
 * whose public point is srk_x, srk_y. Secrets are wiped. */
int wrap_duplicate(const TPM2B_PUBLIC *pub, const TPM2B_SENSITIVE *sens,
		   const uint8_t srk_x[TPMS_ECC_COORD], const uint8_t srk_y[TPMS_ECC_COORD],
		   TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed, struct errmsg *e);

/* An importable TSS2 key (2.23.133.10.1.4, emptyAuth, parent 0x40000001, secret = the
 * marshalled TPM2B_ENCRYPTED_SECRET) of in for the SRK point; pub gets its public key. */
int wrap_importable(const struct tpm_import_in *in, const uint8_t srk_x[TPMS_ECC_COORD],
		    const uint8_t srk_y[TPMS_ECC_COORD], struct tss2key *f,
		    struct sshkey_pub *pub, struct errmsg *e);

/* An SRK's public key as PEM (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----") and
 * back; only ECC P-256 points. *pem is malloc'd and NUL-terminated. */
int wrap_srk_to_pem(const uint8_t x[TPMS_ECC_COORD], const uint8_t y[TPMS_ECC_COORD],
		    char **pem, struct errmsg *e);
int wrap_srk_from_pem(const char *pem, size_t len, uint8_t x[TPMS_ECC_COORD],
		      uint8_t y[TPMS_ECC_COORD], struct errmsg *e);

#endif
