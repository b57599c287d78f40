/* daemon_sandbox: once started, the agent restricts itself (setting sandbox, on by
 * default): Landlock, where the kernel has it, limits the files it and its children
 * (pinentry, swtpm) may touch; a seccomp filter refuses system calls an agent never
 * needs (ptrace, mount, module loading, namespaces, keyrings, bpf, io_uring, ...). */
#ifndef TPM_AGENT_DAEMON_SANDBOX_H
#define TPM_AGENT_DAEMON_SANDBOX_H

#include <stddef.h>

#include "daemon.h"

/* Applies the sandbox to the calling thread and those it creates later (call it before
 * starting threads). gpg_socket: the gpg socket path or "" (its directory stays
 * writable); config: the settings file read ("" none). A kernel without Landlock is
 * logged, not an error; a failure to install the filter is. */
int sandbox_apply(struct agent *a, const char *gpg_socket, const char *config,
		  struct errmsg *e);
/* "landlock ABI 7 + seccomp", "seccomp (the kernel has no Landlock)", "off". */
const char *sandbox_describe(void);

/* sandbox-probe@tpm-agent: string probe -> string result. "open:PATH" opens PATH for
 * reading (and closes it) and "syscall:unshare" calls unshare(0): "allowed" or
 * "denied: <errno text>". Reads nothing back: a check that the sandbox holds. */
int ctl_sandbox_probe(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		      struct errmsg *e);

#endif
