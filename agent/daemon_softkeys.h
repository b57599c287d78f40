/* daemon_softkeys: software keys added with ssh-add (held in sodium memory, never on
 * disk, constraints -t and -c), and the identities beyond our own TPM keys that
 * REQUEST_IDENTITIES and SIGN_REQUEST reach: software keys first, then the --proxy
 * upstream agent's (daemon_proxy.c). All calls run on the ssh event loop under
 * a->lock; the key list is touched by no other thread. */
#ifndef TPM_AGENT_DAEMON_SOFTKEYS_H
#define TPM_AGENT_DAEMON_SOFTKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/agentmsg.h"
#include "daemon.h"

#define SOFTKEYS_MAX 64

/* SSH_AGENTC_ADD_IDENTITY / ADD_ID_CONSTRAINED: 0 with SUCCESS or FAILURE in out, or a
 * negative SSHBUF_E_* code for a malformed message (the dispatcher drops the client). */
int softkeys_handle_add(struct agent *a, struct conn *c, struct sshbuf *body,
			struct sshbuf *out);

/* SSH_AGENTC_ADD_SMARTCARD_KEY(_CONSTRAINED) (ssh-add -s) and REMOVE_SMARTCARD_KEY
 * (ssh-add -e): PKCS#11 providers through ssh-pkcs11-helper (daemon_pkcs11.c); their
 * keys join the software keys' list (lifetime, confirm, removal, locking). */
int softkeys_handle_smartcard_add(struct agent *a, struct conn *c, struct sshbuf *body,
				  struct sshbuf *out);
int softkeys_handle_smartcard_remove(struct agent *a, struct conn *c, struct sshbuf *body,
				     struct sshbuf *out);

/* The software keys' entries of an IDENTITIES_ANSWER (none while locked; keys
 * restricted with ssh-add -h only where c may see them: daemon_restrict.h). Returns a
 * buffer this module owns, valid until the next call, holding *count (string blob,
 * string comment) entries; the caller may append more (daemon_proxy.c does). NULL when
 * out of memory. */
struct sshbuf *softkeys_identities(struct agent *a, const struct conn *c, uint32_t *count);
/* A SIGN_REQUEST for a blob no TPM key has: 0 with the reply in out when a software key
 * signs it, 1 when it is none of ours. */
int softkeys_sign(struct agent *a, struct conn *c, const struct agentmsg_sign_request *req,
		  struct sshbuf *out);

/* The flags a signature is made with. An RSA key asked for no rsa-sha2 hash (that
 * is, for ssh-rsa with SHA-1) signs rsa-sha2-512 instead, unless the legacy-rsa-sha1
 * setting allows SHA-1: then SSHKEY_SIGN_LEGACY_SHA1 is added, with a warning in the
 * log. */
uint32_t ssh_sign_flags(const struct agent *a, const struct conn *c,
			const struct agentmsg_sign_request *req);

/* 1 if blob is a software key we offer now. */
int softkeys_has_blob(const uint8_t *blob, size_t len);
/* ssh-add -d: 0 when a software key was removed, 1 when blob is none of ours. */
int softkeys_remove(const uint8_t *blob, size_t len);
/* ssh-add -D. */
void softkeys_remove_all(void);
/* Drops keys whose lifetime (ssh-add -t) is over; the event loop calls it each turn. */
void softkeys_expire(void);
/* Wipes every key (agent exit). */
void softkeys_clear(void);

/* list@tpm-agent: how many entries softkeys_put_list appends (name, comment, blob,
 * flags with CTL_KEY_SOFTWARE), after the TPM keys. */
size_t softkeys_count(void);
int softkeys_put_list(struct sshbuf *out);

#endif
