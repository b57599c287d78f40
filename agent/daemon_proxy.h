/* daemon_proxy: --proxy SOCKET: identities we do not hold come from another agent
 * (e.g. OpenSSH's ssh-agent with a FIDO key): its list is merged after ours and sign
 * requests for its keys are forwarded verbatim, the reply relayed. It also puts the
 * software keys (daemon_softkeys, below it) in front of the upstream's. */
#ifndef TPM_AGENT_DAEMON_PROXY_H
#define TPM_AGENT_DAEMON_PROXY_H

#include <stdint.h>

#include "../protocol/agentmsg.h"
#include "daemon.h"

/* At start, with our socket bound: refuses a proxy that is our own socket, or any
 * proxy in a host-key agent. 0 when fine or when there is no proxy. */
int proxy_check(struct agent *a, struct errmsg *e);
/* The identities after the TPM keys in an IDENTITIES_ANSWER: the software keys
 * (daemon_softkeys.h), then the upstream's that we do not hold ourselves (none while
 * locked; a dead or slow upstream adds none: a warning is logged, our own keys are still
 * listed). A buffer owned by daemon_softkeys, valid until the next call, holding *count
 * (string blob, string comment) entries; NULL when out of memory. */
const struct sshbuf *extra_identities(struct agent *a, const struct conn *c,
				     uint32_t *count);
/* A SIGN_REQUEST for a blob no TPM key has: signs with a software key, else forwards it
 * upstream: 0 with the reply (FAILURE when the upstream is dead, slow or answers
 * nonsense) in out; 1 when neither has the key. */
int extra_sign(struct agent *a, struct conn *c, const struct agentmsg_sign_request *req,
	       struct sshbuf *out);

#endif
