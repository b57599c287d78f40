/* daemon_renew: renewal of enrolled keys' certificates (tpm-key enroll). A key is
 * enrolled when `tpm-key enroll` succeeded and told the agent how it reached the CA
 * (enrolled@tpm-agent: <data dir>/enroll/NAME, one argument per line). A thread of its
 * own checks every renew-check seconds; when a certificate enters the last renew-at
 * per cent of its validity it runs `tpm-key enroll` again with those arguments against
 * this agent (the TPM parts queue on the TPM worker like any client's): nothing the
 * event loop or a client waits for. A failure is logged and retried with a doubling
 * backoff (renew-check, at most an hour). */
#ifndef TPM_AGENT_DAEMON_RENEW_H
#define TPM_AGENT_DAEMON_RENEW_H

#include "daemon.h"

#define RENEW_ARGS_MAX 32
#define RENEW_BACKOFF_MAX 3600

/* Starts the thread (nothing when renew-at is 0). */
int renew_start(struct agent *a, struct errmsg *e);
/* Ends it and waits for it (a running tpm-key enroll gets SIGTERM). */
void renew_stop(void);

/* enrolled: string key name, uint32 n, n x string argument -> nothing. */
int ctl_enrolled(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);

/* One status pair per certificate: expiry, renewal point, last renewal and its result. */
void renew_status(struct agent *a, void (*add)(void *ctx, const char *label,
					       const char *value), void *ctx);

#endif
