/* daemon_pkcs11: PKCS#11 tokens (ssh-add -s PROVIDER / -e PROVIDER), as ssh-agent does
 * them: the provider library is loaded by OpenSSH's ssh-pkcs11-helper
 * ($SSH_PKCS11_HELPER, else /usr/lib/openssh/ssh-pkcs11-helper), one long-lived process
 * beside the agent, never in the agent itself; it logs in with the PIN ssh-add asked
 * and makes each raw signature, the agent hashes and encodes. Providers must match
 * the allowed-providers setting (tpm-agent -P). */
#ifndef TPM_AGENT_DAEMON_PKCS11_H
#define TPM_AGENT_DAEMON_PKCS11_H

#include <stddef.h>
#include <stdint.h>

#include "../keystore/softkey.h"
#include "daemon.h"

#define PKCS11_HELPER_DEFAULT "/usr/lib/openssh/ssh-pkcs11-helper"
#define PKCS11_TIMEOUT_MS 30000

/* Loads provider (a canonical path) with pin; on success ids holds the helper's
 * answer: uint32 n, then n × (string key blob, string label). */
int pkcs11_load(const char *provider, const uint8_t *pin, size_t pin_len,
		struct sshbuf *ids, struct errmsg *e);
/* Unloads provider from the helper. */
int pkcs11_unload(const char *provider, struct errmsg *e);
/* Signs data with token key k (hash per flags as for software keys); appends the SSH
 * signature blob to sig. */
int pkcs11_sign(const struct softkey *k, const uint8_t *data, size_t len, uint32_t flags,
		struct sshbuf *sig, struct errmsg *e);
/* Stops the helper (agent exit). */
void pkcs11_stop(void);

#endif
