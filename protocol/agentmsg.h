/* agentmsg: the ssh-agent wire protocol (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent):
 * message numbers, framing, and parsers/builders for the messages the agent handles.
 * Pure codecs over sshbuf; no I/O. */
#ifndef TPM_AGENT_AGENTMSG_H
#define TPM_AGENT_AGENTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "sshbuf.h"

#define AGENTMSG_MAX (256 * 1024) /* OpenSSH's cap on one message */

#define SSH_AGENT_FAILURE                  5
#define SSH_AGENT_SUCCESS                  6
#define SSH_AGENTC_REQUEST_IDENTITIES      11
#define SSH_AGENT_IDENTITIES_ANSWER        12
#define SSH_AGENTC_SIGN_REQUEST            13
#define SSH_AGENT_SIGN_RESPONSE            14
#define SSH_AGENTC_ADD_IDENTITY            17
#define SSH_AGENTC_REMOVE_IDENTITY         18
#define SSH_AGENTC_REMOVE_ALL_IDENTITIES   19
#define SSH_AGENTC_ADD_SMARTCARD_KEY       20
#define SSH_AGENTC_REMOVE_SMARTCARD_KEY    21
#define SSH_AGENTC_LOCK                    22
#define SSH_AGENTC_UNLOCK                  23
#define SSH_AGENTC_ADD_ID_CONSTRAINED      25
#define SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED 26
#define SSH_AGENTC_EXTENSION               27
#define SSH_AGENT_EXTENSION_FAILURE        28

#define SSH_AGENT_RSA_SHA2_256 0x02
#define SSH_AGENT_RSA_SHA2_512 0x04

/* Looks at the start of a stream: if a whole frame (uint32 len, len bytes) is there,
 * sets *frame_len = 4 + len and returns 0. SSHBUF_E_SHORT: need more bytes.
 * SSHBUF_E_TOOBIG: len > AGENTMSG_MAX. SSHBUF_E_FORMAT: len == 0. */
int agentmsg_frame_peek(const uint8_t *data, size_t avail, size_t *frame_len);

/* Starts a reply frame in out: reserves the length and puts the type byte. */
int agentmsg_begin(struct sshbuf *out, uint8_t type);
/* Back-patches the frame length started by agentmsg_begin at offset start. */
int agentmsg_end(struct sshbuf *out, size_t start);
/* A whole frame with just a type byte (SUCCESS, FAILURE, EXTENSION_FAILURE). */
int agentmsg_put_simple(struct sshbuf *out, uint8_t type);

/* A whole EXTENSION_FAILURE frame carrying a message (string). */
int agentmsg_put_ext_failure(struct sshbuf *out, const char *text);

/* SIGN_REQUEST body (after the type byte). Pointers point into the message. */
struct agentmsg_sign_request {
	const uint8_t *key_blob; size_t key_blob_len;
	const uint8_t *data; size_t data_len;
	uint32_t flags;
};
int agentmsg_parse_sign_request(struct sshbuf *body, struct agentmsg_sign_request *req);

/* REMOVE_IDENTITY body: string key blob. */
int agentmsg_parse_remove_identity(struct sshbuf *body, const uint8_t **blob, size_t *len);

/* LOCK / UNLOCK body: string passphrase. */
int agentmsg_parse_passphrase(struct sshbuf *body, const uint8_t **pass, size_t *len);

/* EXTENSION body: string name (copied into name, at most name_len-1 chars); the rest
 * of body stays unread for the extension's own parser. */
int agentmsg_parse_extension(struct sshbuf *body, char *name, size_t name_len);

/* session-bind@openssh.com extension contents (after the name). */
struct agentmsg_session_bind {
	const uint8_t *hostkey; size_t hostkey_len;
	const uint8_t *session_id; size_t session_id_len;
	const uint8_t *signature; size_t signature_len;
	int is_forwarding;
};
int agentmsg_parse_session_bind(struct sshbuf *body, struct agentmsg_session_bind *sb);

/* IDENTITIES_ANSWER builder: begin with the count, then add each identity. */
int agentmsg_identities_begin(struct sshbuf *out, uint32_t count, size_t *start);
int agentmsg_identities_add(struct sshbuf *out, const uint8_t *blob, size_t blob_len,
			    const char *comment);

/* IDENTITIES_ANSWER parser (used by clients and tests): reads the count; then call
 * agentmsg_identities_next count times. */
int agentmsg_parse_identities_count(struct sshbuf *body, uint32_t *count);
int agentmsg_identities_next(struct sshbuf *body, const uint8_t **blob, size_t *blob_len,
			     char *comment, size_t comment_len);

/* A whole SIGN_RESPONSE frame carrying sig (a signature blob). */
int agentmsg_put_sign_response(struct sshbuf *out, const uint8_t *sig, size_t sig_len);

#endif
