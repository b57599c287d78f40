/* daemon_offer: which TPM keys and certificates ssh is offered (sshcontrol, hidden,
 * the pinned SRK, validity), and the key that signs for a blob. All under a->lock. */
#ifndef TPM_AGENT_DAEMON_OFFER_H
#define TPM_AGENT_DAEMON_OFFER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

/* 1 when k can be used on this TPM at all: the pinned SRK is there and k was not made
 * under another one (keystore_key_foreign). gpg offers only such keys. */
int offer_usable(const struct agent *a, const struct ks_key *k);
/* 1 when ssh may see and use k: not hidden, listed in sshcontrol when gpg made it,
 * and its parent is this TPM's SRK (else the log says why, once). */
int offer_key(const struct agent *a, struct ks_key *k);
/* 1 when certificate c is offered beside its key at time now: the key is offered, the
 * certificate certifies it and is valid then (an expired one is logged once). */
int offer_cert(struct agent *a, struct cert_entry *c, uint64_t now);
/* The key that signs for an ssh key blob: a key of ours, or the key of a certificate
 * we offer; NULL when none (or hidden). */
struct ks_key *offer_signing_key(struct agent *a, const uint8_t *blob, size_t len);

#endif
