/* tcti_guard: the TCTI that tpm.c talks through. It gives every TPM command a deadline,
 * lets another thread abort the command in flight, and says when the transport's state
 * became unknown (a response cut short, garbled or never seen), so that tpm.c reconnects
 * before the next command. For swtpm it speaks swtpm's raw socket protocol itself:
 * tpm2-tss 3.2.1's swtpm TCTI ignores receive timeouts and has no poll handles, so a
 * stopped swtpm would hold it in read() for good. Every other TCTI it loads with
 * Tss2_TctiLdr and wraps, calling its receive in short slices; device, mssim and tabrmd
 * honour those timeouts (others may block until they answer). Not for use outside
 * keystore/tpm*.c. */
#ifndef TPM_AGENT_TCTI_GUARD_H
#define TPM_AGENT_TCTI_GUARD_H

#include <stdint.h>

#include <tss2/tss2_tcti.h>

/* What a receive returns when the deadline passed, or when tcti_guard_abort was called. */
#define GUARD_RC_NO_ANSWER ((TSS2_RC)(TSS2_TCTI_RC_LAYER | 0xF01u))
#define GUARD_RC_ABORTED   ((TSS2_RC)(TSS2_TCTI_RC_LAYER | 0xF02u))

#define GUARD_TIMEOUT_DEFAULT_S 30   /* tpm-timeout */
#define GUARD_CREATE_TIMEOUT_DEFAULT_S 300 /* tpm-create-timeout: Create, CreatePrimary */

struct tcti_guard;

/* A guard for the TCTI string conf (e.g. "swtpm:host=127.0.0.1,port=2321",
 * "device:/dev/tpmrm0", "tabrmd:bus_type=session"); no I/O yet. NULL when out of memory. */
struct tcti_guard *tcti_guard_new(const char *conf);
/* (Re)initialises the inner TCTI, finalizing the old one: a clean transport. */
TSS2_RC tcti_guard_connect(struct tcti_guard *g);
/* Finalizes the inner TCTI (the guard stays usable: connect again). */
void tcti_guard_disconnect(struct tcti_guard *g);
void tcti_guard_free(struct tcti_guard *g);

/* The context to give ESAPI; stable for the guard's life, across reconnects. */
TSS2_TCTI_CONTEXT *tcti_guard_tcti(struct tcti_guard *g);

/* Seconds a command may take: key creation (Create, CreatePrimary, CreateLoaded) and
 * everything else. 0 keeps the current value. */
void tcti_guard_set_deadlines(struct tcti_guard *g, unsigned cmd_s, unsigned create_s);
/* The deadline of the last command sent, in seconds. */
unsigned tcti_guard_deadline_s(const struct tcti_guard *g);
/* The deadline, in seconds, of the last command that ran out of time on this thread
 * (for the error message, made where the guard is out of reach). */
unsigned tcti_guard_last_miss_s(void);

/* Makes the command in flight, and every later one, fail with GUARD_RC_ABORTED within
 * about 100 ms. Safe from any thread (an atomic store); the guard stays allocated. */
void tcti_guard_abort(struct tcti_guard *g);
int tcti_guard_aborted(const struct tcti_guard *g);

/* 1 from a command that ran out of time until a response comes back complete: the TPM
 * is stuck, or was. *deadline_s: that command's deadline. While probing, every command
 * gets at most GUARD_PROBE_MS, so that a reconnect to a TPM still stuck fails soon. */
#define GUARD_PROBE_MS 1000
int tcti_guard_missed(const struct tcti_guard *g, unsigned *deadline_s);
void tcti_guard_probe(struct tcti_guard *g, int on);

/* 1 when a command went out and no complete response came back since: the inner
 * TCTI, SAPI and the TPM's view of our session are unknown until a reconnect. */
int tcti_guard_dirty(const struct tcti_guard *g);
/* Commands handed to the transport so far (tpm.c compares it around an operation to
 * tell a failure before anything was sent from one after). */
uint64_t tcti_guard_sent(const struct tcti_guard *g);

/* 1 when conf names a TPM without a resource manager between us and it (swtpm, mssim,
 * device:/dev/tpmN, libtpms): its sessions and transient objects outlive a client, and
 * whatever is there at start is a crashed agent's leftovers. */
int tcti_guard_raw_tpm(const struct tcti_guard *g);

/* One agent per TPM without a resource manager: two would flush each other's sessions
 * and objects at start, and a session handle the TPM hands out again makes the other's
 * next command fail its HMAC, which costs a dictionary-attack try. An flock on
 * $XDG_RUNTIME_DIR (else /tmp)/tpm-agent-tpm-<hash of the TCTI string>.lock, held until
 * tcti_guard_free. 0: held, or the file cannot be made (*holder 0: go on, without the
 * start-up clean-up); -1: another process holds it, *holder its pid (0 if unknown). */
int tcti_guard_lock(struct tcti_guard *g, long *holder);
int tcti_guard_locked(const struct tcti_guard *g);

#endif
