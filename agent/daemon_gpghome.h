/* daemon_gpghome: where gnupg keeps its files, as gnupg itself computes it. */
#ifndef TPM_AGENT_DAEMON_GPGHOME_H
#define TPM_AGENT_DAEMON_GPGHOME_H

#include <stddef.h>

#include "../protocol/errmsg.h"

/* The socket `gpgconf --list-dirs agent-socket` names for the current GNUPGHOME:
 * /run/user/<uid>/gnupg[/d.<zbase32(sha1(homedir))>]/S.gpg-agent when /run/user/<uid>
 * exists (creating the gnupg dirs like gpgconf does), else <homedir>/S.gpg-agent. */
int gpg_default_socket_path(char *out, size_t len, struct errmsg *e);

/* gnupg's home directory: $GNUPGHOME made absolute, or ~/.gnupg. */
int gpg_home_dir(char *out, size_t len, struct errmsg *e);

#endif
