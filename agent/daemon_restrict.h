/* daemon_restrict: what one ssh-agent connection may do. A locked agent answers like
 * OpenSSH's (an empty list, FAILURE for all but UNLOCK). A connection that came from
 * ssh (it sent session-bind@openssh.com: a login or agent forwarding) may list and
 * sign, nothing more: every control command has an access class in one table, and
 * only read-only ones pass. session-bind is verified and kept as a chain of hops, and
 * keys restricted with ssh-add -h (or tpm-key load -h) are listed and used only where
 * their constraints allow, as OpenSSH's identity_permitted decides. All calls run on
 * the ssh event loop under a->lock. */
#ifndef TPM_AGENT_DAEMON_RESTRICT_H
#define TPM_AGENT_DAEMON_RESTRICT_H

#include "../protocol/agentmsg.h"
#include "../protocol/destconstraint.h"
#include "daemon.h"

/* The start of the refusal a forwarded connection gets for a control command, so
 * tpm-key (and a user) can tell it from other failures. */
#define RESTRICT_FORWARDED_MSG "refused over a forwarded agent connection"

/* Before a message's handler: 0 to go on; 1 when the message was refused or fully
 * answered here (reply in out); a negative SSHBUF_E_* for a malformed message. */
int restrict_gate(struct agent *a, struct conn *c, uint8_t type, const struct sshbuf *body,
		  struct sshbuf *out);

/* session-bind@openssh.com (body after the name): verifies and records the binding.
 * Always answers (SUCCESS or FAILURE), never drops the connection. */
int restrict_session_bind(struct agent *a, struct conn *c, struct sshbuf *body,
			  struct sshbuf *out);

/* Whether a key restricted by d (NULL: unrestricted) is listed on c, and whether it
 * may sign req on c (what names the key in the log line of a refusal). */
int restrict_may_list(const struct conn *c, const struct dest_set *d);
int restrict_may_sign(const struct conn *c, const struct dest_set *d,
		      const struct agentmsg_sign_request *req, const char *what);

/* Destination constraints of TPM keys (tpm-key load -h), by key name. set takes d
 * (NULL lifts the restriction) and keeps it in keys/<name>.dest too; -1 with e set
 * when that fails (d freed, the old restriction kept). restore reads those files at
 * start (a key whose file is bad stays hidden). get returns NULL when unrestricted. */
int restrict_tpm_set(struct agent *a, const char *name, struct dest_set *d, struct errmsg *e);
void restrict_tpm_restore(struct agent *a);
const struct dest_set *restrict_tpm_get(const char *name);
void restrict_tpm_clear(void);

#endif
