/* peer_seq: ssh-tpm-agent's per-signature TPM command sequence, replayed (peer_seq.c). */
#ifndef TPM_AGENT_BENCH_PEER_SEQ_H
#define TPM_AGENT_BENCH_PEER_SEQ_H

#include "../../protocol/tss2key.h"

struct peer_seq;

/* A connection over tcti with key f (empty auth, a child of the owner H-2 primary);
 * NULL with *why. */
struct peer_seq *peer_seq_open(const char *tcti, const struct tss2key *f, const char **why);
/* One signature: CreatePrimary, StartAuthSession, Load, StartAuthSession, Sign,
 * FlushContext x2. 0 or -1. */
int peer_seq_sign(struct peer_seq *p);
void peer_seq_close(struct peer_seq *p);

#endif
