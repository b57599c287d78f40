/* keystore_internal: what the files of the keystore module share (keystore.c: the store
 * itself, reading, writing, finding, deleting; keystore_create.c: making and adding keys;
 * keystore_use.c: signing, decrypting, ECDH, changing a key's PIN). Not for use outside
 * keystore/keystore*.c. */
#ifndef TPM_AGENT_KEYSTORE_INTERNAL_H
#define TPM_AGENT_KEYSTORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "keystore.h"

struct keystore {
	char dir[4096];
	struct tpm *tpm;
	struct ks_key **keys;
	size_t n, alloc;
	struct ks_policy *gen_policy; /* keystore_generate_bound's, for the next key made */
	size_t orphans_removed, pubs_rewritten; /* keystore_open's repairs */
};

/* Adds k to the keys served (ks owns it from then on). */
int ks_append(struct keystore *ks, struct ks_key *k, struct errmsg *e);
/* Unloads k from the TPM and frees it with its policy. */
void ks_key_free(struct keystore *ks, struct ks_key *k);
/* Fills the derived fields (blob, fingerprint, keygrip) from k->pub. */
int ks_key_derive(struct ks_key *k, struct errmsg *e);
/* 1 (e set) for the keys whose file the agent must not write or delete: key-dirs files
 * and hierarchy keys (no file at all). */
int ks_not_in_store(const struct ks_key *k, const char *what, struct errmsg *e);
/* Writes k's .tss (under parent), then its .pub; is_new: the name must be free. */
int ks_write_key(struct keystore *ks, const struct ks_key *k, uint32_t parent, int is_new,
		 struct errmsg *e);

#endif
