/* tpm_caps: what this TPM can do, for tpm-key supported: its algorithms and ECC curves
 * (TPM2_GetCapability TPM_CAP_ALGS, TPM_CAP_ECC_CURVES) and the RSA sizes it accepts
 * (TPM2_TestParms, since no capability lists them). */
#ifndef TPM_AGENT_TPM_CAPS_H
#define TPM_AGENT_TPM_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "tpm.h"

#define TPM_CAPS_ALGS_MAX 128
#define TPM_CAPS_CURVES_MAX 32
#define TPM_CAPS_RSA_PROBES 4 /* 1024, 2048, 3072, 4096 */

struct tpm_caps {
	struct { uint16_t alg; uint32_t attrs; } algs[TPM_CAPS_ALGS_MAX]; /* TPMA_ALGORITHM */
	size_t n_algs;
	uint16_t curves[TPM_CAPS_CURVES_MAX]; /* TPM2_ECC_CURVE */
	size_t n_curves;
	struct { unsigned bits; int ok; } rsa[TPM_CAPS_RSA_PROBES];
};

/* A handful of read-only TPM commands; no authorization. */
int tpm_caps_read(struct tpm *t, struct tpm_caps *c, struct errmsg *e);

#endif
