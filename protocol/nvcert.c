/* nvcert: header + blob layout of certificates in NV indices, and where they go. */
#include "nvcert.h"

#include <string.h>

#include "sshbuf.h"

static int text_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

int nvcert_encode(const char *key_name, const char *comment, const uint8_t *blob,
		  size_t blob_len, uint8_t *out, size_t cap, size_t *len)
{
	size_t nl = strlen(key_name), cl = comment ? strlen(comment) : 0;
	size_t total = NVCERT_HEADER_LEN + nl + cl + blob_len;

	if (nl == 0 || nl >= NVCERT_NAME_MAX || cl >= NVCERT_COMMENT_MAX || blob_len == 0 ||
	    blob_len > 0xffff)
		return SSHBUF_E_FORMAT;
	if (total > cap)
		return SSHBUF_E_TOOBIG;
	memcpy(out, NVCERT_MAGIC, 4);
	out[4] = NVCERT_VERSION;
	out[5] = (uint8_t)nl;
	out[6] = (uint8_t)cl;
	out[7] = 0;
	out[8] = (uint8_t)(blob_len >> 8);
	out[9] = (uint8_t)blob_len;
	memcpy(out + NVCERT_HEADER_LEN, key_name, nl);
	if (cl > 0)
		memcpy(out + NVCERT_HEADER_LEN + nl, comment, cl);
	memcpy(out + NVCERT_HEADER_LEN + nl + cl, blob, blob_len);
	*len = total;
	return SSHBUF_OK;
}

int nvcert_decode(const uint8_t *data, size_t len, char name[NVCERT_NAME_MAX],
		  char comment[NVCERT_COMMENT_MAX], const uint8_t **blob, size_t *blob_len)
{
	size_t nl, cl, bl;

	if (len < NVCERT_HEADER_LEN)
		return SSHBUF_E_SHORT;
	if (memcmp(data, NVCERT_MAGIC, 4) != 0 || data[4] != NVCERT_VERSION || data[7] != 0)
		return SSHBUF_E_FORMAT;
	nl = data[5];
	cl = data[6];
	bl = (size_t)data[8] << 8 | data[9];
	if (nl == 0 || nl >= NVCERT_NAME_MAX || bl == 0)
		return SSHBUF_E_FORMAT;
	/* The index may be larger than what was written (sizes are rounded); the rest is
	 * ignored, but the declared parts must be there. */
	if (len - NVCERT_HEADER_LEN < nl + cl + bl)
		return SSHBUF_E_SHORT;
	if (!text_ok(data + NVCERT_HEADER_LEN, nl) || !text_ok(data + NVCERT_HEADER_LEN + nl, cl))
		return SSHBUF_E_FORMAT;
	memcpy(name, data + NVCERT_HEADER_LEN, nl);
	name[nl] = '\0';
	memcpy(comment, data + NVCERT_HEADER_LEN + nl, cl);
	comment[cl] = '\0';
	*blob = data + NVCERT_HEADER_LEN + nl + cl;
	*blob_len = bl;
	return SSHBUF_OK;
}

uint32_t nvcert_fnv1a(const char *name)
{
	uint32_t h = 0x811c9dc5u;

	for (; *name != '\0'; name++) {
		h ^= (uint8_t)*name;
		h *= 0x01000193u;
	}
	return h;
}

uint32_t nvcert_index(uint32_t base, const char *key_name, unsigned probe)
{
	return base + (nvcert_fnv1a(key_name) + probe) % NVCERT_INDEX_SPAN;
}
