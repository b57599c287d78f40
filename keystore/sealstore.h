/* sealstore: sealed-data objects on disk, apart from keys: <data dir>/sealed/<name>.tss
 * (TSS2 PRIVATE KEY with the sealed-data OID), so the keystore never sees them and the
 * agent never offers them as identities. Names follow store_name_valid. */
#ifndef TPM_AGENT_SEALSTORE_H
#define TPM_AGENT_SEALSTORE_H

#include <stddef.h>

#include "../protocol/errmsg.h"
#include "../protocol/tss2key.h"
#include "store.h"

#define SEALSTORE_MAX 1024

/* Writes f as dir/sealed/<name>.tss (0600; the directory 0700, made when missing).
 * An existing object of that name is an error. */
int sealstore_write(const char *dir, const char *name, const struct tss2key *f,
		    struct errmsg *e);
/* Reads and parses dir/sealed/<name>.tss; it must carry the sealed-data OID. */
int sealstore_read(const char *dir, const char *name, struct tss2key *f, struct errmsg *e);
/* Names of the sealed objects, sorted. */
int sealstore_list(const char *dir, char (*names)[STORE_NAME_MAX], size_t max,
		   size_t *count, struct errmsg *e);
int sealstore_remove(const char *dir, const char *name, struct errmsg *e);

#endif
