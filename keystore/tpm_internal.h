/* tpm_internal: what the files of the TPM module share (tpm.c: connection, session,
 * keys; tpm_nv.c: NV indices). Not for use outside keystore/tpm*.c. */
#ifndef TPM_AGENT_TPM_INTERNAL_H
#define TPM_AGENT_TPM_INTERNAL_H

#include <tss2/tss2_esys.h>
#include <tss2/tss2_sys.h>

#include "tpm.h"
#include "tpmsession.h"

#define TPM_LOADED_MAX 16      /* keys kept loaded at most, whatever the TPM reports */

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	TSS2_SYS_CONTEXT *sys; /* ESAPI's own SAPI context: ESAPI is idle between our calls */
	ESYS_TR srk;
	TPM2B_NAME srk_name;   /* for cpHash of commands authorised by the SRK */
	int srk_p256;          /* 1: srk_x/srk_y hold its P-256 point (salting needs it) */
	uint8_t srk_x[TPMS_ECC_COORD], srk_y[TPMS_ECC_COORD];
	int plain;             /* password sessions (tpm_options.plain_sessions) */
	struct tpmsession sess;
	int sess_ready;        /* sess holds fetched OpenSSL objects */
	struct tpm_info info;
	size_t slots;                            /* how many of our keys may be loaded */
	struct tpm_key *loaded[TPM_LOADED_MAX];  /* the keys currently in the TPM */
	size_t n_loaded;
	uint64_t clock;                          /* LRU stamps */
};

/* A TPM response code with the handle/session/parameter number masked off, so it
 * compares equal to the TPM2_RC_* constants; other layers' codes are returned as is. */
TSS2_RC rc_base(TSS2_RC rc);

/* Formats "tpm: <what>: <decoded rc> (<remedy>)" into e and returns the TPM_E_*
 * class of rc. remedy NULL picks one from the class, if any. */
int tpm_err(struct errmsg *e, TSS2_RC rc, const char *remedy, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
