/* sshbuf: bounded byte buffer with big-endian SSH wire getters and putters.
 * Every get is all-or-nothing: on error nothing is consumed. */
#include "sshbuf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define SSHBUF_ALLOC_MIN   256
#define SSHBUF_MPINT_MAX   (16384 / 8 + 1) /* OpenSSH's bignum cap, plus a sign byte */

struct sshbuf *sshbuf_new(size_t max)
{
	struct sshbuf *b;

	if (max > SSHBUF_SIZE_MAX)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->alloc = max < SSHBUF_ALLOC_MIN ? (max > 0 ? max : 1) : SSHBUF_ALLOC_MIN;
	b->d = calloc(1, b->alloc);
	if (b->d == NULL) {
		free(b);
		return NULL;
	}
	b->max = max;
	return b;
}

void sshbuf_free(struct sshbuf *b)
{
	/* A view is caller-owned memory (often on the stack): nothing to wipe or free. */
	if (b == NULL || b->readonly)
		return;
	OPENSSL_cleanse(b->d, b->alloc);
	free(b->d);
	OPENSSL_cleanse(b, sizeof(*b));
	free(b);
}

void sshbuf_view(struct sshbuf *b, const void *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	/* The cast is safe: readonly buffers are never written through d. */
	b->d = (uint8_t *)(uintptr_t)data;
	b->size = b->alloc = b->max = len;
	b->readonly = 1;
}

void sshbuf_reset(struct sshbuf *b)
{
	if (!b->readonly)
		OPENSSL_cleanse(b->d, b->size);
	b->off = 0;
	b->size = 0;
}

size_t sshbuf_len(const struct sshbuf *b)
{
	return b->size - b->off;
}

const uint8_t *sshbuf_ptr(const struct sshbuf *b)
{
	return b->d + b->off;
}

int sshbuf_consume(struct sshbuf *b, size_t n)
{
	if (n > sshbuf_len(b))
		return SSHBUF_E_SHORT;
	b->off += n;
	return SSHBUF_OK;
}

/* ---- reads ---- */

int sshbuf_get(struct sshbuf *b, void *out, size_t len)
{
	if (len > sshbuf_len(b))
		return SSHBUF_E_SHORT;
	if (len > 0)
		memcpy(out, sshbuf_ptr(b), len);
	b->off += len;
	return SSHBUF_OK;
}

int sshbuf_get_u8(struct sshbuf *b, uint8_t *v)
{
	return sshbuf_get(b, v, 1);
}

static uint32_t peek_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sshbuf_get_u32(struct sshbuf *b, uint32_t *v)
{
	if (sshbuf_len(b) < 4)
		return SSHBUF_E_SHORT;
	*v = peek_be32(sshbuf_ptr(b));
	b->off += 4;
	return SSHBUF_OK;
}

int sshbuf_get_u64(struct sshbuf *b, uint64_t *v)
{
	const uint8_t *p = sshbuf_ptr(b);

	if (sshbuf_len(b) < 8)
		return SSHBUF_E_SHORT;
	*v = (uint64_t)peek_be32(p) << 32 | peek_be32(p + 4);
	b->off += 8;
	return SSHBUF_OK;
}

/* RFC 4251: any non-zero byte is TRUE. */
int sshbuf_get_bool(struct sshbuf *b, int *v)
{
	uint8_t u;
	int r = sshbuf_get_u8(b, &u);

	if (r == SSHBUF_OK)
		*v = u != 0;
	return r;
}

int sshbuf_get_string(struct sshbuf *b, const uint8_t **p, size_t *len)
{
	uint32_t n;

	if (sshbuf_len(b) < 4)
		return SSHBUF_E_SHORT;
	n = peek_be32(sshbuf_ptr(b));
	if (n > SSHBUF_SIZE_MAX)
		return SSHBUF_E_TOOBIG; /* no buffer can hold it: the field is bogus */
	if (n > sshbuf_len(b) - 4)
		return SSHBUF_E_SHORT;
	*p = sshbuf_ptr(b) + 4;
	*len = n;
	b->off += 4 + (size_t)n;
	return SSHBUF_OK;
}

int sshbuf_get_cstring(struct sshbuf *b, char *out, size_t outlen)
{
	struct sshbuf tmp = *b;
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = sshbuf_get_string(&tmp, &p, &len)) != SSHBUF_OK)
		return r;
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return SSHBUF_E_FORMAT;
	if (outlen == 0 || len > outlen - 1)
		return SSHBUF_E_TOOBIG;
	if (len > 0)
		memcpy(out, p, len);
	out[len] = '\0';
	b->off = tmp.off;
	return SSHBUF_OK;
}

int sshbuf_get_mpint(struct sshbuf *b, const uint8_t **p, size_t *len)
{
	struct sshbuf tmp = *b;
	const uint8_t *d;
	size_t n;
	int r;

	if ((r = sshbuf_get_string(&tmp, &d, &n)) != SSHBUF_OK)
		return r;
	if (n > SSHBUF_MPINT_MAX)
		return SSHBUF_E_TOOBIG;
	if (n > 0 && (d[0] & 0x80))
		return SSHBUF_E_FORMAT; /* negative */
	/* A leading zero is only allowed to keep the next byte's top bit from reading as a sign. */
	if (n > 0 && d[0] == 0 && (n == 1 || !(d[1] & 0x80)))
		return SSHBUF_E_FORMAT;
	if (n > 0 && d[0] == 0) {
		d++;
		n--;
	}
	*p = d;
	*len = n;
	b->off = tmp.off;
	return SSHBUF_OK;
}

/* ---- writes ---- */

/* Moves unread data to the start. Offsets relative to sshbuf_ptr are preserved;
 * absolute positions (off, size) shift down by the old off. */
static void sshbuf_pack(struct sshbuf *b)
{
	size_t len = sshbuf_len(b);

	if (b->off == 0)
		return;
	memmove(b->d, b->d + b->off, len);
	OPENSSL_cleanse(b->d + len, b->size - len);
	b->off = 0;
	b->size = len;
}

/* Replaces the allocation with a larger one; the old one is wiped, not just freed. */
static int sshbuf_realloc(struct sshbuf *b, size_t need)
{
	size_t alloc = b->alloc;
	uint8_t *d;

	while (alloc < need)
		alloc = alloc > b->max / 2 ? b->max : alloc * 2;
	d = calloc(1, alloc);
	if (d == NULL)
		return SSHBUF_E_NOMEM;
	memcpy(d, b->d, b->size);
	OPENSSL_cleanse(b->d, b->alloc);
	free(b->d);
	b->d = d;
	b->alloc = alloc;
	return SSHBUF_OK;
}

/* Makes room for len more bytes after size; packs only if max would be hit otherwise. */
static int sshbuf_make_room(struct sshbuf *b, size_t len)
{
	if (b->readonly)
		return SSHBUF_E_READONLY;
	if (len > b->max - b->size)
		sshbuf_pack(b);
	if (len > b->max - b->size)
		return SSHBUF_E_TOOBIG;
	if (len > b->alloc - b->size)
		return sshbuf_realloc(b, b->size + len);
	return SSHBUF_OK;
}

int sshbuf_reserve(struct sshbuf *b, size_t len, uint8_t **p)
{
	int r;

	if ((r = sshbuf_make_room(b, len)) != SSHBUF_OK)
		return r;
	*p = b->d + b->size;
	memset(*p, 0, len);
	b->size += len;
	return SSHBUF_OK;
}

static int points_into(const struct sshbuf *b, const void *data)
{
	uintptr_t u = (uintptr_t)data, start = (uintptr_t)b->d;

	return u >= start && u - start < b->alloc;
}

/* Appends pre then data in one reservation, so a failure appends nothing. */
static int put_prefixed(struct sshbuf *b, const uint8_t *pre, size_t pre_len,
			const void *data, size_t len)
{
	uint8_t *p, *copy;
	int r;

	if (b->readonly)
		return SSHBUF_E_READONLY;
	if (len > SSHBUF_SIZE_MAX)
		return SSHBUF_E_TOOBIG;
	/* Growing or packing would move data under our feet if it aliases b. */
	if (len > 0 && points_into(b, data)) {
		if ((copy = malloc(len)) == NULL)
			return SSHBUF_E_NOMEM;
		memcpy(copy, data, len);
		r = put_prefixed(b, pre, pre_len, copy, len);
		OPENSSL_cleanse(copy, len);
		free(copy);
		return r;
	}
	if ((r = sshbuf_reserve(b, pre_len + len, &p)) != SSHBUF_OK)
		return r;
	if (pre_len > 0)
		memcpy(p, pre, pre_len);
	if (len > 0)
		memcpy(p + pre_len, data, len);
	return SSHBUF_OK;
}

static void be32_encode(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int sshbuf_put(struct sshbuf *b, const void *data, size_t len)
{
	return put_prefixed(b, NULL, 0, data, len);
}

int sshbuf_put_u8(struct sshbuf *b, uint8_t v)
{
	return sshbuf_put(b, &v, 1);
}

int sshbuf_put_u32(struct sshbuf *b, uint32_t v)
{
	uint8_t be[4];

	be32_encode(be, v);
	return sshbuf_put(b, be, sizeof(be));
}

int sshbuf_put_u64(struct sshbuf *b, uint64_t v)
{
	uint8_t be[8];

	be32_encode(be, (uint32_t)(v >> 32));
	be32_encode(be + 4, (uint32_t)v);
	return sshbuf_put(b, be, sizeof(be));
}

int sshbuf_put_bool(struct sshbuf *b, int v)
{
	return sshbuf_put_u8(b, v ? 1 : 0);
}

int sshbuf_put_string(struct sshbuf *b, const void *data, size_t len)
{
	uint8_t be[4];

	if (len > SSHBUF_SIZE_MAX)
		return SSHBUF_E_TOOBIG;
	be32_encode(be, (uint32_t)len);
	return put_prefixed(b, be, sizeof(be), data, len);
}

int sshbuf_put_cstring(struct sshbuf *b, const char *s)
{
	return sshbuf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int sshbuf_put_stringb(struct sshbuf *b, const struct sshbuf *v)
{
	return sshbuf_put_string(b, sshbuf_ptr(v), sshbuf_len(v));
}

int sshbuf_put_mpint(struct sshbuf *b, const uint8_t *mag, size_t len)
{
	uint8_t pre[5];
	size_t sign_pad;

	while (len > 0 && mag[0] == 0) {
		mag++;
		len--;
	}
	if (len > SSHBUF_MPINT_MAX - 1)
		return SSHBUF_E_TOOBIG;
	sign_pad = len > 0 && (mag[0] & 0x80) ? 1 : 0;
	be32_encode(pre, (uint32_t)(len + sign_pad));
	pre[4] = 0;
	return put_prefixed(b, pre, 4 + sign_pad, mag, len);
}

int sshbuf_poke_u32(struct sshbuf *b, size_t pos, uint32_t v)
{
	if (b->readonly)
		return SSHBUF_E_READONLY;
	if (pos > b->size || b->size - pos < 4)
		return SSHBUF_E_SHORT;
	be32_encode(b->d + pos, v);
	return SSHBUF_OK;
}

const char *sshbuf_strerror(int r)
{
	switch (r) {
	case SSHBUF_OK:         return "success";
	case SSHBUF_E_NOMEM:    return "out of memory";
	case SSHBUF_E_SHORT:    return "message truncated";
	case SSHBUF_E_TOOBIG:   return "length exceeds limit";
	case SSHBUF_E_FORMAT:   return "malformed data";
	case SSHBUF_E_READONLY: return "buffer is read-only";
	default:                return "unknown sshbuf error";
	}
}
