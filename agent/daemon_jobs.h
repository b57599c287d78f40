/* daemon_jobs: requests the event loop cannot answer at once run as jobs. Those that
 * prompt (a PIN, a confirmation) run on threads of their own (daemon_pinjob.c); those
 * that need the TPM run one after another on the TPM worker thread. A finished job's
 * reply frame goes back to the loop through one queue and an eventfd (pin_event_fd,
 * pin_next_reply in daemon_pin.h), and its client reads on.
 *
 * Locks: a->lock guards the agent's state (keystore, certificates, PIN cache, lock
 * state) and is held briefly. a->tpm_lock is held by whoever talks to the TPM, for the
 * whole of a TPM operation, and is always taken BEFORE a->lock (agent_tpm_lock). The
 * event loop never takes it. While its holder waits for the TPM's answer, a->lock is
 * released (tpm_set_wait_hooks), so the loop and the gpg threads serve everything that
 * needs no TPM. Keys are added to or removed from the keystore only under both locks,
 * so a key found under a->lock stays valid while its user holds a->tpm_lock. */
#ifndef TPM_AGENT_DAEMON_JOBS_H
#define TPM_AGENT_DAEMON_JOBS_H

#include <stdint.h>

#include "daemon.h"

enum job_kind { JOB_SIGN, JOB_GEN, JOB_PASSWD, JOB_INIT, JOB_OWNER, JOB_SEAL, JOB_UNSEAL,
		JOB_KEY_PIN, JOB_IMPORT, JOB_TPM };

struct pin_job {
	struct agent *a;
	enum job_kind kind;
	struct conn client;          /* a copy of the requester (fd -1, no buffers) */
	uint8_t *msg; size_t len;    /* the request: type byte + body */
	struct pin_env_store *env;   /* the requester's prompt environment, or NULL */
	struct sshbuf *reply;
	struct pin_job *next;
	/* JOB_TPM: when the client gets a failure whatever the TPM does (CLOCK_MONOTONIC
	 * ms), the seconds that stand for, and whether the request is a control command
	 * (its failure carries a message). */
	int64_t deadline_ms;
	unsigned timeout_s;
	int control;
	int abandoned;               /* the client got its failure: drop the late reply */
	/* JOB_TPM: a duplicate of the client's socket, or -1. The worker writes the reply
	 * to it at once, so the client need not wait for the event loop to wake; the loop
	 * is told afterwards (what was not written, and that the request is done). Only
	 * for a client with no reply pending: nothing else is written to it meanwhile. */
	int reply_fd;
};

/* Copies the request being dispatched on c (c->cur_msg) into a job of kind and starts
 * it: JOB_TPM on the TPM worker's queue, the others on a thread of their own. */
int job_start(struct agent *a, struct conn *c, enum job_kind kind, struct errmsg *e);

#endif
