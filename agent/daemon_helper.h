/* daemon_helper: OpenSSH's helper programs run beside the agent, so that provider
 * libraries (FIDO middleware, PKCS#11 modules) are loaded with dlopen in a process of
 * their own, never in the agent: ssh-sk-helper (one per signature) and
 * ssh-pkcs11-helper (long-lived). Each talks over a socketpair on its stdin/stdout in
 * frames of uint32 length then payload (OpenSSH msg.c / ssh-pkcs11-client.c). */
#ifndef TPM_AGENT_DAEMON_HELPER_H
#define TPM_AGENT_DAEMON_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"

#define HELPER_FRAME_MAX (256 * 1024)  /* as OpenSSH's agent messages */

struct helper {
	pid_t pid;
	int fd;
};

/* The helper's path: $ENVVAR when set to an absolute path, else dflt. */
const char *helper_path(const char *envvar, const char *dflt);
/* Starts path (argv[0] = its base name) with a socketpair as stdin and stdout, stderr
 * kept (the agent's log in the foreground, /dev/null as a daemon), other fds closed;
 * it gets SIGTERM when the agent dies. */
int helper_start(const char *path, struct helper *h, struct errmsg *e);
/* One frame out: uint32 length, then p. */
int helper_send(struct helper *h, const uint8_t *p, size_t len, struct errmsg *e);
/* One frame in (its payload into out, reset first), waiting at most timeout_ms in all. */
int helper_recv(struct helper *h, struct sshbuf *out, int timeout_ms, struct errmsg *e);
/* Closes the socket, ends the helper (SIGTERM when it outlives a short grace) and
 * reaps it. h may be stopped already. */
void helper_stop(struct helper *h);

/* 1 if path matches the comma-separated pattern list (ssh_config(5) patterns: * and
 * ?, a leading ! negates and wins), as ssh-agent's -P checks a provider. */
int helper_provider_allowed(const char *path, const char *patterns);

#endif
