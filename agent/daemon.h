/* daemon: the running agent's state and the contract between its parts: the socket
 * server (daemon_server.c), the ssh-agent message handlers (daemon_ssh.c) and the
 * control extensions tpm-key uses (daemon_control.c). */
#ifndef TPM_AGENT_DAEMON_H
#define TPM_AGENT_DAEMON_H

#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "../keystore/certstore.h"
#include "../keystore/keystore.h"
#include "../keystore/tpm.h"
#include "../protocol/control.h"
#include "../protocol/sshbuf.h"
#include "daemon_settings.h"

#define CONN_MAX_BINDINGS 16     /* hops per connection, as OpenSSH */
#define CONN_HOSTKEY_MAX 2048     /* a bound host key blob */
#define CONN_SESSION_ID_MAX 128   /* OpenSSH's AGENT_MAX_SID_LEN */
#define SERVER_MAX_CONNS 128

struct agent {
	struct settings settings;   /* effective: defaults < config file < command line */
	struct tpm *tpm;
	struct keystore *ks;
	struct certstore *certs;
	char socket_path[PATH_MAX];
	char socket_dir[PATH_MAX];  /* removed at exit when we created it */
	char data_dir[PATH_MAX];
	char tcti[256];
	int simulator;              /* 1 when the TPM is our private swtpm */
	uint32_t srk_handle;
	pid_t pid;
	unsigned char *lock_hash;   /* sodium_malloc'd crypto_pwhash_str; NULL when unlocked */
	_Atomic int quit;           /* set by the signal handler, read by every thread */
	/* The state lock: held briefly around every use of ks, certs, the PIN cache and
	 * lock_hash; the ssh event loop, the gpg (Assuan) connection threads and the jobs
	 * share them. */
	pthread_mutex_t lock;
	/* The TPM lock: held around every use of tpm, taken before lock (agent_tpm_lock);
	 * never by the event loop. See daemon_jobs.h for the whole rule. */
	pthread_mutex_t tpm_lock;
	int datadir_lock_fd;        /* flock'd <data dir>/agent.lock: one agent per data dir */
	/* PINs (daemon_pin.c), all under lock: the cache, the pinentry environment set by
	 * `tpm-key update-env` (NULL: the agent's own), and the prompting machinery (NULL
	 * when there is none, e.g. in the fuzz harness: requests needing a PIN then fail). */
	struct pincache *pins;
	struct pin_env_store *ssh_env;
	struct pin_worker *worker;
	/* The PIN for the control command a PIN job runs under lock (gen), else NULL. */
	const char *op_pin; size_t op_pin_len;
};

/* One connected client. */
struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	struct sshbuf *in;
	struct sshbuf *out;
	int close_after_write;
	uint64_t id;                /* unique for the agent's life: finished PIN jobs find it */
	int busy;                   /* a job holds its request: read no more until it replies */
	uint64_t ticket;            /* the job busy waits for (a late reply of another is dropped) */
	int tpm_ok;                 /* 1 on the TPM worker: handlers use the TPM themselves */
	int tpm_control, tpm_slow;  /* for tpm_defer: a control command, a key creation */
	time_t last_active;         /* CLOCK_MONOTONIC seconds of the last complete request or
				     * reply, or of the connection */
	struct pin_env_store *env;  /* env@tpm-agent: where this client's prompts go */
	const uint8_t *cur_msg; size_t cur_len; /* the message being dispatched */
	/* session-bind@openssh.com (daemon_restrict.c): the verified chain of hops, and
	 * whether any bind was tried: such a connection comes from ssh (a login or agent
	 * forwarding) and may only list and sign. */
	struct conn_binding {
		uint8_t hostkey[CONN_HOSTKEY_MAX]; size_t hostkey_len;
		uint8_t session_id[CONN_SESSION_ID_MAX]; size_t session_id_len;
		int is_forwarding;
	} bindings[CONN_MAX_BINDINGS];
	size_t n_bindings;
	int bind_attempted;
};

/* 1 when something accepts connections on the unix socket at path (an agent or a
 * gpg-agent already serves it), so we must not take it over. */
int server_socket_in_use(const char *path);
/* Binds and listens on a unix socket at path (mode 0600; a stale socket there is
 * removed: callers check first that nothing answers). sock_flags: extra SOCK_* flags.
 * The fd, or -1 with e set. */
int server_listen_unix(const char *path, int sock_flags, struct errmsg *e);

/* Serves listen_fd until a->quit is set. */
int server_run(struct agent *a, int listen_fd);

/* Handles one complete message (type byte + body, without the length) and appends
 * the whole reply frame to out. Returns 0, or -1 when the connection must close
 * after the reply (malformed input), or SSH_DISPATCH_DEFERRED when a PIN job took the
 * request (no reply yet: it comes from the job; see daemon_pin.h). */
#define SSH_DISPATCH_DEFERRED 2 /* distinct from control_dispatch's 1 (not ours) */
int ssh_dispatch(struct agent *a, struct conn *c, const uint8_t *msg, size_t len,
		 struct sshbuf *out);

/* Handles one of our control extensions (name ends in "@tpm-agent"); body is the rest
 * of the EXTENSION message. Appends a whole reply frame to out. Returns 0 if name is
 * ours (handled), 1 if it is not one of ours, SSH_DISPATCH_DEFERRED when the TPM worker
 * took it, or one of the two codes below with nothing appended: the request must run
 * again in a PIN job (pin_control_dispatch in daemon_pinjob.h does that). */
#define CONTROL_NEEDS_OWNER_AUTH 3 /* the SO PIN (certificate NV operations) */
#define CONTROL_NEEDS_KEY_PIN    4 /* the PIN of the key named first in the request */
int control_dispatch(struct agent *a, struct conn *c, const char *name,
		     struct sshbuf *body, struct sshbuf *out);
/* Appends the names of our control extensions to out as strings (for "query"). */
int control_put_names(struct sshbuf *out);
/* Runs control command name (body after the name) with the owner authorization (SO PIN)
 * for certificate NV operations, appending a whole reply frame to out. For the PIN job
 * that asked the SO PIN; the caller holds a->lock. */
int control_run_with_owner_auth(struct agent *a, const char *name, struct sshbuf *body,
				const uint8_t *auth, size_t len, struct sshbuf *out);
/* Runs control command name (body after the name) with a key's PIN in a->op_pin, for
 * the PIN job that asked it; the caller holds a->lock. Returns the handler's result
 * (0: a whole success frame was appended to out; else e says why and out is as it was:
 * TPM_E_AUTH_FAIL makes the job ask again). */
int control_run_with_key_pin(struct agent *a, const char *name, const struct sshbuf *body,
			     const uint8_t *pin, size_t len, struct sshbuf *out, struct errmsg *e);

/* ---- daemon_jobs.c: the TPM worker ---- */

/* In a handler about to use the TPM: on the event loop, hands the request being
 * dispatched on c to the TPM worker, which runs it again from the start with
 * c->tpm_ok set, and returns SSH_DISPATCH_DEFERRED (or 0 with a failure reply in out;
 * control: an EXTENSION_FAILURE with the reason). Returns 1 when the handler is to go
 * on itself (on the worker, or when there is none). slow: key creation, whose deadline
 * is 4 x tpm-timeout. */
int tpm_defer(struct agent *a, struct conn *c, int control, int slow, struct sshbuf *out);
/* The event loop: fails TPM requests past tpm-timeout (+1 s) ("tpm: no answer in N s");
 * returns the milliseconds until the next deadline, at most max_ms. */
int tpm_jobs_expire(struct agent *a, int max_ms);
/* Takes a->tpm_lock then a->lock; while this thread waits for the TPM, a->lock is
 * released. Never call it holding a->lock. */
void agent_tpm_lock(struct agent *a);
void agent_tpm_unlock(struct agent *a);
/* Under a->lock: certstore_refresh, skipped (the list stays as it was) while a TPM user
 * is mid-operation, since it may hold a certificate entry across a TPM wait. */
void agent_certs_refresh(struct agent *a);

#endif
