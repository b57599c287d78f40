/* daemon_hostkeys: keys for sshd (tpm-key gen --host). A host key is an ordinary TPM
 * key in the store plus a marker file keys/<name>.host; a host-key agent
 * (tpm-agent --host, for sshd's HostKeyAgent) offers only those, every other agent
 * all but those. */
#ifndef TPM_AGENT_DAEMON_HOSTKEYS_H
#define TPM_AGENT_DAEMON_HOSTKEYS_H

#include "daemon.h"

/* Marks (host 1) or unmarks key name as a host key. */
int hostkey_set(struct agent *a, const char *name, int host, struct errmsg *e);
/* 1 if key name is marked as a host key. */
int hostkey_is_host(const struct agent *a, const char *name);
/* Hides the TPM keys this agent does not serve: non-host keys in a --host agent, host
 * keys in any other. Called at start and after keys are made or loaded. */
void hostkeys_apply(struct agent *a);
/* After tpm-key gen made k: marks it a host key (host 1) or clears a stale marker, and
 * hides it when this agent does not serve it. */
int hostkey_after_gen(struct agent *a, struct ks_key *k, int host, struct errmsg *e);

#endif
