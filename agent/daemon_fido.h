/* daemon_fido: signatures with FIDO keys (sk-ecdsa-sha2-nistp256@openssh.com,
 * sk-ssh-ed25519@openssh.com and their certificates) added with ssh-add. As ssh-agent
 * does, each signature runs OpenSSH's ssh-sk-helper ($SSH_SK_HELPER, else
 * /usr/lib/openssh/ssh-sk-helper), which loads the key's middleware ("internal":
 * the built-in libfido2; else a SecurityKeyProvider library from the allow-list) in
 * its own process. */
#ifndef TPM_AGENT_DAEMON_FIDO_H
#define TPM_AGENT_DAEMON_FIDO_H

#include <stddef.h>
#include <stdint.h>

#include "../keystore/softkey.h"
#include "../pinentry/pinentry.h"
#include "daemon.h"

#define FIDO_HELPER_DEFAULT "/usr/lib/openssh/ssh-sk-helper"
#define FIDO_TOUCH_TIMEOUT_MS 60000 /* as long as a person may take to touch the key */
#define SK_USER_PRESENCE_REQD     0x01 /* key flag: the authenticator wants a touch */
#define SK_USER_VERIFICATION_REQD 0x04 /* key flag: the authenticator wants its PIN */

/* Checks the provider an ssh-add names (sk-provider@openssh.com) against the
 * allowed-providers setting, after realpath; "internal" always passes. The canonical
 * path (or "internal") goes to out. 0, or -1 with e saying why. */
int fido_provider_check(const struct agent *a, const char *provider, char *out, size_t len,
			struct errmsg *e);

/* 1 if data is what an SSH key signs (a userauth request or an SSHSIG blob): with
 * restrict-websafe, a key whose application is not "ssh:..." signs nothing else,
 * so that a web origin's FIDO challenge cannot be signed through the agent. */
int fido_data_websafe(const uint8_t *data, size_t len);

/* The touch notice shown through pinentry while the authenticator waits (NULL desc:
 * none, e.g. a key made with no-touch-required). */
struct fido_notice {
	const char *program;             /* pinentry-program */
	const struct pinentry_env *env;  /* the client's display/tty */
	const char *desc;
};

/* Signs data with k through ssh-sk-helper and provider (pin: the authenticator's PIN,
 * or NULL); the signature blob is appended to sig. Releases a->lock while the
 * authenticator waits for a touch, with notice (may be NULL) on screen meanwhile. */
int fido_sign(struct agent *a, const struct softkey *k, const char *provider,
	      const char *pin, const struct fido_notice *notice, const uint8_t *data,
	      size_t len, struct sshbuf *sig, struct errmsg *e);

#endif
