/* daemon_proxy: --proxy SOCKET: identities we do not hold come from another agent
 * (e.g. OpenSSH's ssh-agent with a FIDO key): its list is merged after ours and sign
 * requests for its keys are forwarded verbatim, the reply relayed. */
#ifndef TPM_AGENT_DAEMON_PROXY_H
#define TPM_AGENT_DAEMON_PROXY_H

#include <stdint.h>

#include "../protocol/agentmsg.h"
#include "daemon.h"

/* At start, with our socket bound: refuses a proxy that is our own socket, or any
 * proxy in a host-key agent. 0 when fine or when there is no proxy. */
int proxy_check(struct agent *a, struct errmsg *e);
/* Appends the upstream's identities that we do not hold ourselves to out (string blob,
 * string comment each) and returns how many. A dead or slow upstream adds none: a
 * warning is logged, our own keys are still listed. */
uint32_t proxy_identities(struct agent *a, struct sshbuf *out);
/* Forwards a SIGN_REQUEST for a key we do not hold: 0 with the upstream's reply (or
 * FAILURE when it is dead, slow or answers nonsense) in out; 1 when there is no proxy. */
int proxy_sign(struct agent *a, struct conn *c, const struct agentmsg_sign_request *req,
	       struct sshbuf *out);

#endif
