/* daemon_policy: the agent's side of PCR-bound keys: the PCR part of a gen request (or
 * the platform-policy default) and the pcr-seal control command. */
#ifndef TPM_AGENT_DAEMON_POLICY_H
#define TPM_AGENT_DAEMON_POLICY_H

#include "../keystore/keystore_policy.h"
#include "daemon.h"

/* After a gen request's flags: with CTL_GEN_PCR, reads "string pcrs ([BANK:]LIST), string
 * signer"; without it and unless CTL_GEN_NO_PCR, platform-policy = yes binds the key to
 * pcr-selection. *bind is NULL for an unbound key, else b. */
int gen_pcr_request(struct agent *a, struct sshbuf *body, uint32_t flags, struct ks_bind *b,
		    struct ks_bind **bind, struct errmsg *e);

/* pcr-seal: string name -> string note */
int ctl_pcr_seal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);

#endif
