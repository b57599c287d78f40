/* fixture: the agent the dispatcher harnesses talk to: a key store and certificate store
 * in a temp dir holding one P-256 key (tests/fuzz/data), opened without a TPM, so
 * every request is parsed and answered but signing fails cleanly. */
#ifndef TPM_AGENT_FUZZ_FIXTURE_H
#define TPM_AGENT_FUZZ_FIXTURE_H

#include "../../agent/daemon.h"

/* Once per process: makes the temp dir, reads the fixture files, quiets the log. */
void fixture_init(const char *ident);
/* Per input: restores the dir to the fixture and opens a fresh agent on it. */
void fixture_open(struct agent *a);
/* Closes what fixture_open opened (and any LOCK state). */
void fixture_close(struct agent *a);

#endif
