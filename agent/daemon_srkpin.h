/* daemon_srkpin: the agent's side of the pinned SRK (keystore/srkpin.h): the pin handed
 * to tpm_open, the pin recorded at the first start, the re-pin and EK proof of
 * `tpm-key init [--repin]`, and what `tpm-key status` shows of them. */
#ifndef TPM_AGENT_DAEMON_SRKPIN_H
#define TPM_AGENT_DAEMON_SRKPIN_H

#include "../keystore/srkpin.h"
#include "daemon.h"

/* Before tpm_open: reads <data dir>/srk-pins into *pins and points to at the pin of
 * the configured SRK handle (none: the SRK found now is adopted). A pin file that is
 * malformed or fails the file rules is an error naming it. */
int srkpin_prepare(struct agent *a, struct srkpins *pins, struct tpm_options *to,
		   struct errmsg *e);

/* After tpm_open: logs a refusal with both names and the remedy, or records the pin
 * of an SRK seen for the first time (a failed write is logged: the next start pins). */
void srkpin_opened(struct agent *a, struct srkpins *pins);

/* tpm-key init --repin, under agent_tpm_lock: adopts the SRK at the agent's handle (making it
 * when the TPM was cleared), records its name, then runs the EK proof. note gets a
 * one-line summary for the user. */
int srkpin_repin(struct agent *a, char *note, size_t note_len, struct errmsg *e);

/* The EK proof (tpm-key init), under agent_tpm_lock: where the TPM has an EK certificate,
 * proves that the pinned SRK lives in the TPM holding that EK and records the result
 * in <data dir>/srk-proof. note gets a one-line summary ("" when there is no EK).
 * -1 when a proof was made and failed, else 0. */
int srkpin_prove(struct agent *a, char *note, size_t note_len);

/* (label, value) pairs for tpm-key status. */
void srkpin_status(struct agent *a, void (*add)(void *ctx, const char *label,
						 const char *value), void *ctx);

#endif
