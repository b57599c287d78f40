/* daemon_pin: PINs in the running agent: the cache, where prompts appear (update-env),
 * the loop that asks pinentry and tries the TPM (wrong PIN, lockout), and the worker
 * threads that let the ssh event loop go on serving while a prompt is open. */
#ifndef TPM_AGENT_DAEMON_PIN_H
#define TPM_AGENT_DAEMON_PIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../pinentry/pinentry.h"
#include "../pinentry/promptenv.h"
#include "../protocol/control.h"
#include "daemon.h"

/* At most this many PIN prompts per request (see pin_use_key for the whole rule). */
#define PIN_MAX_PROMPTS 3
#define PIN_AUTH_MAX 32 /* bytes: the TPM caps a key's authValue at the SHA-256 size */

/* Results beyond 0 and the TPM_E_* codes (tpm.h, tpm_nv.h, tpm_policy.h: -1 .. -20). */
#define PIN_E_CANCELED      -40 /* the user cancelled the prompt */
#define PIN_E_NOT_CONFIRMED -41 /* the user refused a confirm-on-use */
#define PIN_E_NO_KEY        -42 /* the key went away (removed, agent locked) */
#define PIN_E_PINENTRY      -43 /* pinentry missing, crashed, silent */
#define PIN_E_MISMATCH      -44 /* a new PIN and its repetition differed (pin_ask_new) */

/* ---- the agent's side ---- */

/* What the jobs run, handed down by the front end above them (tpm-agent.c), so that
 * daemon_jobs.c need not call up into it: rerun a request the TPM worker took, from
 * the start (ssh_dispatch), and run a prompting job on its thread (pinjob_run). */
struct pin_job;
struct job_runners {
	int (*dispatch)(struct agent *a, struct conn *c, const uint8_t *msg, size_t len,
			struct sshbuf *out);
	void (*prompt)(struct pin_job *j);
};
/* Makes the cache and the job machinery (daemon_jobs.c: an eventfd the event loop
 * polls, the TPM worker thread, the TPM wait hooks); the jobs run with run. */
int pin_start(struct agent *a, const struct job_runners *run, struct errmsg *e);
/* Waits briefly for running jobs, then frees what it can; call before the keystore
 * goes. Jobs still prompting find a->quit set and touch nothing when they return.
 * -1 when the TPM worker is stuck in a TPM command: the TPM, keystore and PIN cache
 * must then be left as they are (the process is about to exit). */
int pin_stop(struct agent *a);
/* The fd that becomes readable when a job has finished, -1 when none. */
int pin_event_fd(const struct agent *a);
/* Takes one finished job's reply: 1 with *conn_id, the request's *ticket and *reply
 * (the caller frees it), 0 when none is left. */
int pin_next_reply(struct agent *a, uint64_t *conn_id, uint64_t *ticket,
		   struct sshbuf **reply);
/* Under a->lock: expires cached PINs and key lifetimes (tpm-key load -t). */
void pin_housekeeping(struct agent *a);
/* Under a->lock: milliseconds until pin_housekeeping has work, at most max_ms. */
int pin_poll_timeout_ms(struct agent *a, int max_ms);
/* Under a->lock: forgets the cached PIN of key name (NULL: all); returns how many. */
size_t pin_forget(struct agent *a, const char *name);

/* ---- one use of a key, with its PIN (ssh worker, gpg threads; NOT under a->lock) ---- */

struct pin_use {
	struct agent *a;
	pid_t pid;                        /* the requesting process, for the dialog */
	const struct pin_env_store *env;  /* NULL: a->ssh_env (taken under the lock) */
	const char *desc;                 /* dialog text; NULL: pinentry_describe_request */
	const char *action;               /* e.g. "sign with" */
	/* Under a->lock: the key (NULL when gone) and the operation with a PIN. */
	struct ks_key *(*find)(struct agent *a, void *arg);
	int (*op)(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		  void *arg, struct errmsg *e);
	void *arg;
	/* gpg loopback: gets the PIN from the client instead of pinentry (NULL: pinentry).
	 * error is the text of the last failure or NULL; *pin must be sodium_malloc'd. */
	int (*ask)(void *ask_arg, const char *error, char **pin, size_t *pin_len,
		   struct errmsg *e);
	void *ask_arg;
	/* Not under the lock, once the PIN is known and before op (NULL: none): passwd
	 * asks the new PIN here, after the old one. Non-zero ends the use. */
	int (*before_op)(void *arg, struct errmsg *e);
	int max_prompts;                  /* 0: PIN_MAX_PROMPTS */
	int no_cache;                     /* always ask (passwd: prove the old PIN) */
	int no_confirm;                   /* skip confirm-on-use (passwd is no signature) */
};

/* Runs u->op with the key's PIN: confirm-on-use first when the key wants it; a key with
 * a PIN uses the cached one, else asks (pinentry or u->ask). Before a prompt the TPM's
 * DA state is read: in lockout nothing is asked nor sent (TPM_E_LOCKOUT, the error says
 * when it ends and the exact clear command); failures counted before show in the
 * prompt; with 1 try left a pinentry CONFIRM comes first and declining sends nothing
 * (PIN_E_NOT_CONFIRMED; loopback cannot confirm, so it is refused; a cached PIN, which
 * the TPM accepted for this very key, is sent without it). One TPM_RC_AUTH_FAIL
 * = one more prompt, never a resend: the cache entry is dropped and the prompt comes
 * back with "Wrong PIN (N tries left before the TPM locks out)" while fewer than
 * max_prompts were shown and the TPM has tries left. A failure is logged and kept for
 * tpm-key status. Returns 0, TPM_E_* or PIN_E_*. */
int pin_use_key(struct pin_use *u, struct errmsg *e);

/* Asks for one secret (the SO PIN) after pin_da_gate; *pin in sodium memory. */
int pin_ask_secret(struct agent *a, const struct pin_env_store *env, const char *desc,
		   const char *prompt, char **pin, size_t *pin_len, struct errmsg *e);

/* Asks for a new PIN twice (tpm-key gen, import, gpg GENKEY without loopback); when the
 * two differ it asks again (SETERROR), up to PIN_MAX_PROMPTS times (PIN_E_MISMATCH).
 * An empty PIN is refused ("no PIN entered"). With no terminal and no display for
 * pinentry the error says what to do (--no-pin, tpm-key update-env, GPG_TTY). */
int pin_ask_new(struct agent *a, const struct pin_env_store *env, const char *desc,
		char **pin, size_t *pin_len, struct errmsg *e);

/* Asks a yes/no question through pinentry (SETDESC, SETOK, SETNOTOK, CONFIRM): 0 when
 * confirmed, PIN_E_NOT_CONFIRMED, PIN_E_CANCELED or PIN_E_PINENTRY (e says why). */
int pin_confirm(struct agent *a, const struct pin_env_store *env, const char *desc,
		const char *ok, const char *notok, struct errmsg *e);

/* ---- the TPM's dictionary-attack state, as the PIN dialogue sees it (pin_da_read and
 * pin_da_status under the TPM lock, agent_tpm_lock; the others under a->lock) ---- */

struct pin_da {
	int known;          /* the TPM answered */
	struct tpm_da da;
	int left;           /* wrong PINs the TPM still takes before lockout; -1 unknown */
	int64_t next_s;     /* seconds until the TPM forgets one failure; -1 none counted */
	int next_exact;     /* 0: next_s is an upper bound (the failure came before we saw it) */
};

/* Reads the DA state (one TPM2_GetCapability). after_failure: called right after a
 * TPM_RC_AUTH_FAIL, so the TPM's self-healing timer started now. 0, or -1 (known 0). */
int pin_da_read(struct agent *a, struct pin_da *v, int after_failure);
/* The command that clears the lockout here, TCTI included, with a note when the TPM
 * serves one client at a time (swtpm, --simulator). */
void pin_da_clear_command(const struct agent *a, char *out, size_t len);
/* NOT under a->lock: before a DA-protected secret (the SO PIN, a gpg passphrase) is
 * asked: in lockout TPM_E_LOCKOUT (e says when it ends and how to clear it); with 1 try
 * left a pinentry CONFIRM naming what, declined: PIN_E_NOT_CONFIRMED; else 0. */
int pin_da_gate(struct agent *a, const struct pin_env_store *env, const char *what,
		struct errmsg *e);
/* Under a->lock: keeps "when: what: why" of a failed key use for tpm-key status (the
 * caller logs it). */
void pin_note_failure(struct agent *a, const char *what, const char *why);
/* The DA lines of tpm-key status: counter, maximum, recovery time, lockout (with the
 * clear command), seconds until a try returns, the last failure. */
void pin_da_status(struct agent *a, void (*add)(void *arg, const char *label,
						const char *value), void *arg);

/* gpg-agent's new-passphrase dialog, with gpg's texts (p): asked twice, and an empty
 * one is an answer (GENKEY then asks to confirm no protection). 0, PIN_E_CANCELED,
 * PIN_E_PINENTRY. */
int pin_dialog_new(struct agent *a, const struct pin_env_store *env,
		   const struct pinentry_prompt *p, char **pin, size_t *pin_len,
		   struct errmsg *e);
/* Under a->lock: caches the PIN a key was just made with (gpg GENKEY: its self-signature
 * follows at once, as gpg-agent's cache nonce allows), for the cache's usual TTL. */
void pin_cache_new_key(struct agent *a, const char *name, const char *pin, size_t pin_len);

#endif
