/* client: talks to a running tpm-agent over its ssh-agent socket (used by tpm-key,
 * the benchmark and tests). Our control commands ride on ssh-agent EXTENSION messages
 * (protocol/control.h). */
#ifndef TPM_AGENT_CLIENT_H
#define TPM_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../../protocol/control.h"
#include "../../protocol/errmsg.h"
#include "../../protocol/sshbuf.h"

/* All len bytes to / from fd (EINTR retried); -1 on an error or end of file. */
int client_write_all(int fd, const uint8_t *p, size_t len);
int client_read_all(int fd, uint8_t *p, size_t len);
/* $TPM_AGENT_SOCK, else $SSH_AUTH_SOCK, else NULL. */
const char *client_socket_path(void);
/* 1 if something accepts connections on the unix socket at path. */
int client_socket_alive(const char *path);
/* Connects to path; returns the fd or -1 with a message that says how to start the agent. */
int client_connect(const char *path, struct errmsg *e);
/* Sends one message (type byte + body, no length: the client frames it) and reads one
 * reply into reply (type byte + body). */
int client_call(int fd, const struct sshbuf *msg, struct sshbuf *reply, struct errmsg *e);
/* Builds the start of an EXTENSION message for a control command into msg. */
int client_begin_extension(struct sshbuf *msg, const char *name);
/* Runs a control command: on SSH_AGENT_SUCCESS leaves the reply body (after the type
 * byte) unread in reply and returns 0; on EXTENSION_FAILURE copies the agent's message
 * into e and returns -1. */
int client_control(int fd, const struct sshbuf *msg, struct sshbuf *reply, struct errmsg *e);

#endif
