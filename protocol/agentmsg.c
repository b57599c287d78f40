/* agentmsg: ssh-agent framing (uint32 length, type byte, body) and the message
 * parsers/builders the agent needs. Parsers are strict: trailing bytes are an error. */
#include "agentmsg.h"

#include <string.h>

#include "sshkey.h"

#define FRAME_HEADER_LEN 5           /* uint32 length + type byte */
#define SESSION_ID_MAX   128         /* OpenSSH's AGENT_MAX_SID_LEN */
#define IDENTITY_MIN_LEN 8           /* empty blob string + empty comment string */

int agentmsg_frame_peek(const uint8_t *data, size_t avail, size_t *frame_len)
{
	uint32_t len;

	if (avail < 4)
		return SSHBUF_E_SHORT;
	len = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	      (uint32_t)data[2] << 8 | data[3];
	/* Judge the header before waiting for the body, so a hostile length fails fast. */
	if (len == 0)
		return SSHBUF_E_FORMAT;
	if (len > AGENTMSG_MAX)
		return SSHBUF_E_TOOBIG;
	if (len > avail - 4)
		return SSHBUF_E_SHORT;
	*frame_len = 4 + (size_t)len;
	return SSHBUF_OK;
}

/* The caller records start = sshbuf_len(out) before this call and hands it to
 * agentmsg_end. start counts from the first unread byte, so it stays right even
 * if out has been partly consumed (then it differs from the absolute size). */
int agentmsg_begin(struct sshbuf *out, uint8_t type)
{
	uint8_t *p;
	int r;

	if ((r = sshbuf_reserve(out, FRAME_HEADER_LEN, &p)) != SSHBUF_OK)
		return r;
	p[4] = type; /* p[0..3] stay zero until agentmsg_end fills in the length */
	return SSHBUF_OK;
}

int agentmsg_end(struct sshbuf *out, size_t start)
{
	size_t len = sshbuf_len(out);

	if (start > len || len - start < FRAME_HEADER_LEN)
		return SSHBUF_E_SHORT;
	if (len - start - 4 > AGENTMSG_MAX)
		return SSHBUF_E_TOOBIG;
	return sshbuf_poke_u32(out, out->off + start, (uint32_t)(len - start - 4));
}

int agentmsg_put_simple(struct sshbuf *out, uint8_t type)
{
	size_t start = sshbuf_len(out);
	int r;

	if ((r = agentmsg_begin(out, type)) != SSHBUF_OK)
		return r;
	return agentmsg_end(out, start);
}

/* Parses into a copy of body and commits only when all of it was consumed. */
static int commit_if_done(struct sshbuf *body, const struct sshbuf *tmp)
{
	if (sshbuf_len(tmp) != 0)
		return SSHBUF_E_FORMAT;
	body->off = tmp->off;
	return SSHBUF_OK;
}

int agentmsg_parse_sign_request(struct sshbuf *body, struct agentmsg_sign_request *req)
{
	struct sshbuf tmp = *body;
	int r;

	if ((r = sshbuf_get_string(&tmp, &req->key_blob, &req->key_blob_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&tmp, &req->data, &req->data_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_u32(&tmp, &req->flags)) != SSHBUF_OK)
		return r;
	req->flags &= ~SSHKEY_SIGN_LEGACY_SHA1; /* the agent's to set, never a client's */
	return commit_if_done(body, &tmp);
}

/* A body that is exactly one string. */
static int parse_lone_string(struct sshbuf *body, const uint8_t **p, size_t *len)
{
	struct sshbuf tmp = *body;
	int r;

	if ((r = sshbuf_get_string(&tmp, p, len)) != SSHBUF_OK)
		return r;
	return commit_if_done(body, &tmp);
}

int agentmsg_parse_remove_identity(struct sshbuf *body, const uint8_t **blob, size_t *len)
{
	return parse_lone_string(body, blob, len);
}

int agentmsg_parse_passphrase(struct sshbuf *body, const uint8_t **pass, size_t *len)
{
	return parse_lone_string(body, pass, len);
}

int agentmsg_parse_extension(struct sshbuf *body, char *name, size_t name_len)
{
	return sshbuf_get_cstring(body, name, name_len);
}

int agentmsg_parse_session_bind(struct sshbuf *body, struct agentmsg_session_bind *sb)
{
	struct sshbuf tmp = *body;
	int r;

	if ((r = sshbuf_get_string(&tmp, &sb->hostkey, &sb->hostkey_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&tmp, &sb->session_id, &sb->session_id_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&tmp, &sb->signature, &sb->signature_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_bool(&tmp, &sb->is_forwarding)) != SSHBUF_OK)
		return r;
	if (sb->session_id_len > SESSION_ID_MAX)
		return SSHBUF_E_TOOBIG;
	return commit_if_done(body, &tmp);
}

int agentmsg_identities_begin(struct sshbuf *out, uint32_t count, size_t *start)
{
	size_t before = sshbuf_len(out);
	int r;

	if ((r = agentmsg_begin(out, SSH_AGENT_IDENTITIES_ANSWER)) != SSHBUF_OK)
		return r;
	if ((r = sshbuf_put_u32(out, count)) != SSHBUF_OK) {
		out->size = out->off + before;
		return r;
	}
	*start = before;
	return SSHBUF_OK;
}

int agentmsg_identities_add(struct sshbuf *out, const uint8_t *blob, size_t blob_len,
			    const char *comment)
{
	size_t before = sshbuf_len(out);
	int r;

	if ((r = sshbuf_put_string(out, blob, blob_len)) != SSHBUF_OK)
		return r;
	if ((r = sshbuf_put_cstring(out, comment)) != SSHBUF_OK) {
		out->size = out->off + before;
		return r;
	}
	return SSHBUF_OK;
}

int agentmsg_parse_identities_count(struct sshbuf *body, uint32_t *count)
{
	struct sshbuf tmp = *body;
	uint32_t n;
	int r;

	if ((r = sshbuf_get_u32(&tmp, &n)) != SSHBUF_OK)
		return r;
	/* Each identity takes at least 8 bytes: a larger count is a lie. */
	if (n > sshbuf_len(&tmp) / IDENTITY_MIN_LEN)
		return SSHBUF_E_TOOBIG;
	*count = n;
	body->off = tmp.off;
	return SSHBUF_OK;
}

/* The comment is copied truncated to comment_len-1 bytes (a client listing keys
 * should not fail on a long comment); a NUL inside it is still an error. */
int agentmsg_identities_next(struct sshbuf *body, const uint8_t **blob, size_t *blob_len,
			     char *comment, size_t comment_len)
{
	struct sshbuf tmp = *body;
	const uint8_t *c;
	size_t c_len;
	int r;

	if ((r = sshbuf_get_string(&tmp, blob, blob_len)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&tmp, &c, &c_len)) != SSHBUF_OK)
		return r;
	if (c_len > 0 && memchr(c, '\0', c_len) != NULL)
		return SSHBUF_E_FORMAT;
	if (comment != NULL && comment_len > 0) {
		if (c_len > comment_len - 1)
			c_len = comment_len - 1;
		if (c_len > 0)
			memcpy(comment, c, c_len);
		comment[c_len] = '\0';
	}
	body->off = tmp.off;
	return SSHBUF_OK;
}

int agentmsg_put_sign_response(struct sshbuf *out, const uint8_t *sig, size_t sig_len)
{
	size_t start = sshbuf_len(out);
	int r;

	if ((r = agentmsg_begin(out, SSH_AGENT_SIGN_RESPONSE)) != SSHBUF_OK ||
	    (r = sshbuf_put_string(out, sig, sig_len)) != SSHBUF_OK ||
	    (r = agentmsg_end(out, start)) != SSHBUF_OK) {
		if (!out->readonly)
			out->size = out->off + start;
		return r;
	}
	return SSHBUF_OK;
}

int agentmsg_put_ext_failure(struct sshbuf *out, const char *text)
{
	size_t start = sshbuf_len(out);
	int r;

	if ((r = agentmsg_begin(out, SSH_AGENT_EXTENSION_FAILURE)) != 0 ||
	    (r = sshbuf_put_cstring(out, text)) != 0)
		return r;
	return agentmsg_end(out, start);
}
