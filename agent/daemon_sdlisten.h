/* daemon_sdlisten: sockets inherited through systemd socket activation
 * (sd_listen_fds(3) semantics, without libsystemd). */
#ifndef TPM_AGENT_DAEMON_SDLISTEN_H
#define TPM_AGENT_DAEMON_SDLISTEN_H

#include <stddef.h>

#include "../protocol/errmsg.h"

#define SD_LISTEN_FDS_START 3

/* The inherited listening sockets by role; -1 where none was passed. */
struct sd_sockets {
	int ssh_fd;   /* FileDescriptorName=ssh (or the only, unnamed, socket) */
	int gpg_fd;   /* FileDescriptorName=gpg */
};

/* Takes the sockets named by LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES when LISTEN_PID
 * is our pid: fds from 3 on, each checked to be a listening AF_UNIX stream socket and
 * marked FD_CLOEXEC. Without names the first socket is ssh and the second gpg.
 * The three variables are unset in every case (our children must not see them).
 * An fd with another name is closed and logged. 0 (also when nothing was passed),
 * or -1 with e set when a passed fd is unusable. */
int sd_sockets_take(struct sd_sockets *s, struct errmsg *e);

/* The path a unix socket is bound to, into out; "" when it has none. */
void sd_socket_path(int fd, char *out, size_t len);

#endif
