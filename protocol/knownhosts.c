/* knownhosts: known_hosts lines matched against one host name. */
#include "knownhosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "sshkey.h"

#define HASH_MAGIC "|1|"
#define SHA1_LEN 20

/* OpenSSH's match_pattern: '*' and '?' wildcards. Greedy with one backtrack point,
 * so time stays linear-times-length whatever the pattern (no recursion). */
int knownhosts_wild(const char *s, const char *p, size_t plen)
{
	const char *retry_s = NULL;
	size_t pi = 0, retry_p = 0;

	while (*s != '\0') {
		if (pi < plen && p[pi] == '*') {
			retry_p = ++pi;
			retry_s = s;
		} else if (pi < plen && (p[pi] == '?' || p[pi] == *s)) {
			pi++;
			s++;
		} else if (retry_s != NULL) {
			pi = retry_p;
			s = ++retry_s;
		} else {
			return 0;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* Strict-enough base64 of at most out_max bytes; the decoded length, or -1. */
static int b64(const char *in, size_t len, uint8_t *out, size_t out_max)
{
	uint8_t buf[64];
	int n, pad = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		return -1;
	pad = (in[len - 1] == '=') + (in[len - 2] == '=');
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len)) < 0 ||
	    (size_t)(n - pad) > out_max)
		return -1;
	memcpy(out, buf, (size_t)(n - pad));
	return n - pad;
}

/* |1|base64(salt)|base64(HMAC-SHA1(salt, host)) */
static int hashed_match(const char *pat, size_t plen, const char *host)
{
	const char *sep;
	uint8_t salt[64], want[SHA1_LEN], got[EVP_MAX_MD_SIZE];
	unsigned got_len = 0;
	int salt_len;

	pat += strlen(HASH_MAGIC);
	plen -= strlen(HASH_MAGIC);
	if ((sep = memchr(pat, '|', plen)) == NULL ||
	    (salt_len = b64(pat, (size_t)(sep - pat), salt, sizeof(salt))) <= 0 ||
	    b64(sep + 1, plen - (size_t)(sep + 1 - pat), want, sizeof(want)) != SHA1_LEN)
		return 0;
	if (HMAC(EVP_sha1(), salt, salt_len, (const unsigned char *)host, strlen(host), got,
		 &got_len) == NULL || got_len != SHA1_LEN)
		return 0;
	return memcmp(got, want, SHA1_LEN) == 0;
}

/* 1 when host matches the pattern list (a negated match wins), else 0. */
static int hosts_match(const char *list, size_t len, const char *host)
{
	int hit = 0;

	if (len >= strlen(HASH_MAGIC) && strncmp(list, HASH_MAGIC, strlen(HASH_MAGIC)) == 0)
		return hashed_match(list, len, host);
	while (len > 0) {
		const char *comma = memchr(list, ',', len);
		size_t n = comma != NULL ? (size_t)(comma - list) : len;
		int neg = n > 0 && list[0] == '!';

		if (knownhosts_wild(host, list + neg, n - (size_t)neg)) {
			if (neg)
				return 0;
			hit = 1;
		}
		list += n + (comma != NULL);
		len -= n + (comma != NULL);
	}
	return hit;
}

static size_t word(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && p[n] != ' ' && p[n] != '\t')
		n++;
	return n;
}

static const char *blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* One line (without its newline): 1 key found, 0 none, <0 from found(). */
static int one_line(const char *p, const char *end, const char *host,
		    int (*found)(void *, const uint8_t *, size_t, int), void *arg)
{
	char line[KNOWNHOSTS_LINE_MAX], type[SSHKEY_NAME_MAX * 2];
	uint8_t *blob;
	size_t n, blob_len;
	int is_ca = 0, r;

	p = blanks(p, end);
	if (p == end || *p == '#')
		return 0;
	if (*p == '@') {
		n = word(p, end);
		if (n == 8 && strncmp(p, "@revoked", n) == 0)
			return 0;
		if (n != 15 || strncmp(p, "@cert-authority", n) != 0)
			return 0;
		is_ca = 1;
		p = blanks(p + n, end);
	}
	n = word(p, end);
	if (n == 0 || !hosts_match(p, n, host))
		return 0;
	p = blanks(p + n, end);
	if ((size_t)(end - p) >= sizeof(line))
		return 0;
	memcpy(line, p, (size_t)(end - p));
	line[end - p] = '\0';
	if (sshkey_line_split(line, type, sizeof(type), &blob, &blob_len, 16384, NULL, 0) != 0)
		return 0;
	r = found(arg, blob, blob_len, is_ca);
	free(blob);
	return r < 0 ? r : 1;
}

int knownhosts_lookup(const char *text, size_t len, const char *host,
		      int (*found)(void *arg, const uint8_t *blob, size_t blob_len, int is_ca),
		      void *arg)
{
	const char *p = text, *end = text + len;
	int count = 0, r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		if ((r = one_line(p, eol > p && eol[-1] == '\r' ? eol - 1 : eol, host, found,
				  arg)) < 0)
			return r;
		count += r;
		p = nl != NULL ? nl + 1 : end;
	}
	return count;
}
