/* promptenv: where a client's prompts appear. tpm-key sends the variables below with
 * each request that may prompt (env@tpm-agent) or once for ssh's requests
 * (update-env@tpm-agent); the agent keeps them per client and hands them to pinentry. */
#ifndef TPM_AGENT_PROMPTENV_H
#define TPM_AGENT_PROMPTENV_H

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"
#include "pinentry.h"

/* Where a client's prompts go. value NULL: the agent's own variable; "": unset it. */
struct pin_env_store {
	char *value[PE_COUNT];
};

/* uint32 n, n x (string name, string value): names not sent are unset in the child. */
struct pin_env_store *pin_env_parse(struct sshbuf *body, struct errmsg *e);
struct pin_env_store *pin_env_dup(const struct pin_env_store *s);
void pin_env_free(struct pin_env_store *s);
/* Points out's fields into s (NULL s: all NULL, the agent's own environment). */
void pin_env_view(const struct pin_env_store *s, struct pinentry_env *out);

#endif
