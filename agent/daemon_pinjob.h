/* daemon_pinjob: requests that need a prompt (a PIN, a new PIN, the SO PIN, a
 * confirmation) run as jobs on a worker thread, so the event loop goes on serving. It
 * sits above daemon_control (a job reruns a control command with the PIN) and below
 * daemon_ssh (which hands it sign requests and control extensions). */
#ifndef TPM_AGENT_DAEMON_PINJOB_H
#define TPM_AGENT_DAEMON_PINJOB_H

#include "daemon_jobs.h"
#include "daemon_pin.h"

/* Under a->lock: 1 if signing with k needs a prompt or confirmation (a PIN job). */
int pin_sign_needs_job(const struct agent *a, const struct ks_key *k);
/* Hands the message being dispatched on c (c->cur_msg) to a worker thread: returns
 * SSH_DISPATCH_DEFERRED, or 0 with a failure reply in out when no job could start. */
int pin_defer_sign(struct agent *a, struct conn *c, struct sshbuf *out);
/* Every control extension: the PIN steps first (env, update-env, forget, passwd,
 * init; gen, seal, unseal and import that ask a new or a key's PIN), then
 * control_dispatch, whose CONTROL_NEEDS_OWNER_AUTH / CONTROL_NEEDS_KEY_PIN rerun the
 * request in a job that asks the SO PIN or the key's PIN first. 1 when name is not a
 * control extension. */
int pin_control_dispatch(struct agent *a, struct conn *c, const char *name,
			 struct sshbuf *body, struct sshbuf *out);
int pin_control_put_names(struct sshbuf *out);

/* Runs a prompting job on its thread (the job_runners' prompt, given to pin_start). */
void pinjob_run(struct pin_job *j);

#endif
