/* caproto: frames of the enrolment protocol (caproto.h) to and from bytes. */
#include "caproto.h"

#include <string.h>

const char *caproto_type_name(uint8_t type)
{
	static const char *const names[] = { "?", "HELLO", "ATTEST", "CHALLENGE", "ACTIVATE",
					     "CERT", "ERROR" };

	return type >= CA_HELLO && type <= CA_ERROR ? names[type] : "unknown";
}

static int put_body(const struct caproto_msg *m, struct sshbuf *b)
{
	int r;

	if ((r = sshbuf_put_u8(b, m->type)) != 0)
		return r;
	switch (m->type) {
	case CA_HELLO:
		if ((r = sshbuf_put_cstring(b, m->version)) != 0)
			return r;
		return sshbuf_put_string(b, m->nonce, sizeof(m->nonce));
	case CA_ATTEST:
		if ((r = sshbuf_put_cstring(b, m->name)) != 0 ||
		    (r = sshbuf_put_cstring(b, m->pubkey)) != 0)
			return r;
		return sshbuf_put_cstring(b, m->attestation);
	case CA_CHALLENGE:
		if ((r = sshbuf_put_string(b, m->id_object, m->id_object_len)) != 0)
			return r;
		return sshbuf_put_string(b, m->secret, m->secret_len);
	case CA_ACTIVATE:
		return sshbuf_put_string(b, m->cred, m->cred_len);
	case CA_CERT:
		if ((r = sshbuf_put_cstring(b, m->cert)) != 0)
			return r;
		return sshbuf_put_u64(b, m->serial);
	case CA_ERROR:
		return sshbuf_put_cstring(b, m->error);
	default:
		return SSHBUF_E_FORMAT;
	}
}

int caproto_encode(const struct caproto_msg *m, struct sshbuf *out, struct errmsg *e)
{
	size_t start = out->size, len;
	int r;

	if (m->id_object_len > sizeof(m->id_object) || m->secret_len > sizeof(m->secret) ||
	    m->cred_len > sizeof(m->cred))
		return errmsg_set(e, "enrol: a field over its bound");
	if ((r = sshbuf_put_u32(out, 0)) != 0 || (r = put_body(m, out)) != 0)
		return errmsg_set(e, "enrol: cannot encode %s: %s", caproto_type_name(m->type),
				  sshbuf_strerror(r));
	len = out->size - start - 4;
	if (len > CAPROTO_FRAME_MAX)
		return errmsg_set(e, "enrol: %s message too large", caproto_type_name(m->type));
	return sshbuf_poke_u32(out, start, (uint32_t)len) == 0 ? 0 :
	       errmsg_set(e, "enrol: cannot frame %s", caproto_type_name(m->type));
}

int caproto_frame_len(const uint8_t hdr[4], size_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0 || n > CAPROTO_FRAME_MAX)
		return -1;
	*len = n;
	return 0;
}

static int get_bytes(struct sshbuf *b, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = sshbuf_get_string(b, &p, &n)) != 0)
		return r;
	if (n > cap)
		return SSHBUF_E_TOOBIG;
	memcpy(out, p, n);
	*len = n;
	return 0;
}

static int get_body(struct sshbuf *b, struct caproto_msg *m)
{
	size_t n = 0;
	int r;

	switch (m->type) {
	case CA_HELLO:
		if ((r = sshbuf_get_cstring(b, m->version, sizeof(m->version))) != 0 ||
		    (r = get_bytes(b, m->nonce, sizeof(m->nonce), &n)) != 0)
			return r;
		return n == sizeof(m->nonce) ? 0 : SSHBUF_E_FORMAT;
	case CA_ATTEST:
		if ((r = sshbuf_get_cstring(b, m->name, sizeof(m->name))) != 0 ||
		    (r = sshbuf_get_cstring(b, m->pubkey, sizeof(m->pubkey))) != 0)
			return r;
		return sshbuf_get_cstring(b, m->attestation, sizeof(m->attestation));
	case CA_CHALLENGE:
		if ((r = get_bytes(b, m->id_object, sizeof(m->id_object), &m->id_object_len)) != 0)
			return r;
		return get_bytes(b, m->secret, sizeof(m->secret), &m->secret_len);
	case CA_ACTIVATE:
		return get_bytes(b, m->cred, sizeof(m->cred), &m->cred_len);
	case CA_CERT:
		if ((r = sshbuf_get_cstring(b, m->cert, sizeof(m->cert))) != 0)
			return r;
		return sshbuf_get_u64(b, &m->serial);
	case CA_ERROR:
		return sshbuf_get_cstring(b, m->error, sizeof(m->error));
	default:
		return SSHBUF_E_FORMAT;
	}
}

int caproto_decode(const uint8_t *body, size_t len, struct caproto_msg *m, struct errmsg *e)
{
	struct sshbuf b;
	int r;

	memset(m, 0, sizeof(*m));
	if (len > CAPROTO_FRAME_MAX)
		return errmsg_set(e, "enrol: a message of %zu bytes (at most %d)", len,
				  CAPROTO_FRAME_MAX);
	sshbuf_view(&b, body, len);
	if ((r = sshbuf_get_u8(&b, &m->type)) != 0 || (r = get_body(&b, m)) != 0)
		return errmsg_set(e, "enrol: malformed %s message: %s", caproto_type_name(m->type),
				  sshbuf_strerror(r));
	if (sshbuf_len(&b) != 0)
		return errmsg_set(e, "enrol: %zu trailing bytes after a %s message", sshbuf_len(&b),
				  caproto_type_name(m->type));
	return 0;
}
