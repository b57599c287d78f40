/* fuzz_sshsig: libFuzzer harness for SSH signature blobs and the sshbuf wire primitives under them (protocol/sshbuf.c, protocol/sshkey.c): a blob that reads as an ECDSA or RSA signature must be rebuilt byte for byte by our builders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/sshkey.h"

/* string alg, string (mpint r, mpint s): as ssh checks what the agent returned. */
static void ecdsa_sig(enum sshkey_type t, struct sshbuf *b, const uint8_t *blob, size_t len)
{
	struct sshbuf inner, *out;
	const uint8_t *p, *r, *s;
	size_t plen, r_len, s_len;

	if (sshbuf_get_string(b, &p, &plen) != 0 || sshbuf_len(b) != 0)
		return;
	sshbuf_view(&inner, p, plen);
	if (sshbuf_get_mpint(&inner, &r, &r_len) != 0 || sshbuf_get_mpint(&inner, &s, &s_len) != 0 ||
	    sshbuf_len(&inner) != 0)
		return;
	if ((out = sshbuf_new(1024)) == NULL)
		return;
	if (sshkey_sig_ecdsa_to_blob(t, r, r_len, s, s_len, out) == 0 &&
	    (sshbuf_len(out) != len || memcmp(sshbuf_ptr(out), blob, len) != 0))
		abort();
	sshbuf_free(out);
}

static void rsa_sig(enum sshkey_hash h, struct sshbuf *b, const uint8_t *blob, size_t len)
{
	struct sshbuf *out;
	const uint8_t *p;
	size_t plen;

	if (sshbuf_get_string(b, &p, &plen) != 0 || sshbuf_len(b) != 0 || plen == 0)
		return;
	if ((out = sshbuf_new(1024)) == NULL)
		return;
	if (sshkey_sig_rsa_to_blob(h, p, plen, plen, out) == 0 &&
	    (sshbuf_len(out) != len || memcmp(sshbuf_ptr(out), blob, len) != 0))
		abort();
	sshbuf_free(out);
}

/* Every reader over the same bytes: none may read past the end or report more than is there. */
static void primitives(const uint8_t *data, size_t size)
{
	struct sshbuf b;
	const uint8_t *p;
	size_t len;
	char str[64];
	uint64_t v64;
	uint32_t v32;
	uint8_t v8;
	int v;

	sshbuf_view(&b, data, size);
	while (sshbuf_len(&b) > 0 && sshbuf_get_u8(&b, &v8) == 0) {
		size_t before = sshbuf_len(&b);

		switch (v8 % 7) {
		case 0: (void)sshbuf_get_u32(&b, &v32); break;
		case 1: (void)sshbuf_get_u64(&b, &v64); break;
		case 2: (void)sshbuf_get_bool(&b, &v); break;
		case 3:
			if (sshbuf_get_string(&b, &p, &len) == 0 && (p < data || p + len > data + size))
				abort();
			break;
		case 4:
			if (sshbuf_get_cstring(&b, str, sizeof(str)) == 0 && strlen(str) >= sizeof(str))
				abort();
			break;
		case 5:
			if (sshbuf_get_mpint(&b, &p, &len) == 0 && (p < data || p + len > data + size ||
								   (len > 0 && p[0] == 0)))
				abort();
			break;
		default: (void)sshbuf_consume(&b, v8 / 7); break;
		}
		if (sshbuf_len(&b) > before)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshbuf b;
	char alg[SSHKEY_NAME_MAX];

	primitives(data, size);
	sshbuf_view(&b, data, size);
	if (sshbuf_get_cstring(&b, alg, sizeof(alg)) != 0)
		return 0;
	if (strcmp(alg, "rsa-sha2-256") == 0)
		rsa_sig(SSHKEY_HASH_SHA256, &b, data, size);
	else if (strcmp(alg, "rsa-sha2-512") == 0)
		rsa_sig(SSHKEY_HASH_SHA512, &b, data, size);
	else if (sshkey_type_from_name(alg) != SSHKEY_UNSPEC && sshkey_type_from_name(alg) != SSHKEY_RSA)
		ecdsa_sig(sshkey_type_from_name(alg), &b, data, size);
	return 0;
}
