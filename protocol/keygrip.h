/* keygrip: libgcrypt-compatible keygrips (SHA-1 over the canonical public key
 * parameters), the name gpg-agent uses for a key. Vectors: shared/REFERENCE.md §6. */
#ifndef TPM_AGENT_KEYGRIP_H
#define TPM_AGENT_KEYGRIP_H

#include <stdint.h>

#include "sshkey.h"

#define KEYGRIP_LEN     20
#define KEYGRIP_HEX_LEN 41 /* 40 upper-case hex digits + NUL */

/* Computes the 20-byte keygrip of k. 0 or a negative SSHBUF_E_* code. */
int keygrip_compute(const struct sshkey_pub *k, uint8_t grip[KEYGRIP_LEN]);
/* Same, as 40 upper-case hex digits. */
int keygrip_hex(const struct sshkey_pub *k, char hex[KEYGRIP_HEX_LEN]);

#endif
