/* client: talks to a running tpm-agent over its ssh-agent socket (used by tpm-key,
 * the benchmark and tests). Our control commands ride on ssh-agent EXTENSION messages. */
#ifndef TPM_AGENT_CLIENT_H
#define TPM_AGENT_CLIENT_H

#include <stddef.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"

/* Control extension names (see agent/daemon_control.c for their payloads). */
#define CTL_LIST   "list@tpm-agent"
#define CTL_GEN    "gen@tpm-agent"
#define CTL_RM     "rm@tpm-agent"
#define CTL_LOAD   "load@tpm-agent"
#define CTL_STATUS "status@tpm-agent"
#define CTL_CERT_ADD  "cert-add@tpm-agent"
#define CTL_CERT_LIST "cert-list@tpm-agent"
#define CTL_CERT_RM   "cert-rm@tpm-agent"

/* Where a certificate is (to be) stored, in CTL_CERT_ADD / CTL_CERT_LIST. */
#define CTL_CERT_AUTO 0
#define CTL_CERT_FILE 1
#define CTL_CERT_NV   2

/* Flags of a CTL_GEN request. */
#define CTL_GEN_DECRYPT 0x1 /* the key can also decrypt (RSA) or do ECDH (gpg subkeys) */

/* Flags in a CTL_LIST entry. */
#define CTL_KEY_HIDDEN     0x1 /* removed from the agent with ssh-add -d / -D */
#define CTL_KEY_EMPTY_AUTH 0x2 /* no PIN */

/* $TPM_AGENT_SOCK, else $SSH_AUTH_SOCK, else NULL. */
const char *client_socket_path(void);
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
