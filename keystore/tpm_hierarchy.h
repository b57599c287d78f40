/* tpm_hierarchy: hierarchy keys. A primary key made by TPM2_CreatePrimary from a fixed
 * template under a hierarchy's seed needs no key file: the same seed and template give
 * the same key. Owner: until the TPM is cleared. Endorsement: for the TPM's life (it
 * identifies the TPM). Null: a new key at every TPM reset (reboot). Platform belongs to
 * the firmware and is refused. */
#ifndef TPM_AGENT_TPM_HIERARCHY_H
#define TPM_AGENT_TPM_HIERARCHY_H

#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshkey.h"
#include "tpm.h"

/* "owner", "endorsement", "null" -> the hierarchy handle (TPM2_RH_*); 0 for anything
 * else (e with the reason, e.g. for "platform"). */
uint32_t tpm_hierarchy_handle(const char *name, struct errmsg *e);
/* "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048", "rsa3072" -> type and bits; -1 if not. */
int tpm_hierarchy_keytype(const char *name, enum sshkey_type *type, unsigned *bits);

/* Makes the hierarchy key of type/bits under hierarchy (a TPM2_RH_* handle): k gets
 * its public blob and k->primary; pub its public key. The object is flushed again;
 * signing re-creates it (or ContextLoads it) as any key is loaded. */
int tpm_hierarchy_key(struct tpm *t, uint32_t hierarchy, enum sshkey_type type,
		      unsigned bits, struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e);

#endif
