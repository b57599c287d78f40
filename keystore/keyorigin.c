/* keyorigin: the keys/<name>.origin record: how a key came to be and under which SRK. */
#include "keyorigin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define ORIGIN_FILE_MAX 1024

static const char *const kind_names[] = { "", "generated", "imported", "wrapped" };

const char *keyorigin_kind_name(enum ks_origin_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "";
}

static void hex_of(const uint8_t *b, size_t len, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < len && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * i] = '\0';
}

/* "<hex>" (even length, at most KS_ORIGIN_NAME_MAX bytes) into o's SRK name. */
static int parse_name(const char *hex, struct ks_origin *o)
{
	size_t n = strspn(hex, "0123456789abcdefABCDEF");

	if (n == 0 || n % 2 != 0 || n / 2 > sizeof(o->srk_name) || (hex[n] != '\0' && hex[n] != '\n'))
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		o->srk_name[i] = (uint8_t)v;
	}
	o->srk_name_len = n / 2;
	return 0;
}

static int parse_line(const char *line, struct ks_origin *o)
{
	if (line[0] == '#' || line[0] == '\0')
		return 0;
	if (strncmp(line, "origin ", 7) == 0) {
		for (size_t k = 1; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
			if (strcmp(line + 7, kind_names[k]) == 0) {
				o->kind = (enum ks_origin_kind)k;
				return 0;
			}
		return -1;
	}
	if (strncmp(line, "srk-name ", 9) == 0)
		return parse_name(line + 9, o);
	return 0; /* a later version's line */
}

int keyorigin_load(const char *dir, const char *name, struct ks_origin *o, struct errmsg *e)
{
	char path[4200], *text = NULL, *line, *save = NULL;
	size_t len;
	int bad = 0;

	struct stat st;

	memset(o, 0, sizeof(*o));
	if (store_key_path(dir, name, KS_ORIGIN_SUFFIX, path, sizeof(path), e) != 0)
		return -1;
	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 1;
	if (store_read_private(path, ORIGIN_FILE_MAX, 0, &text, &len, e) != 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line && !bad; line = strtok_r(NULL, "\n", &save))
		bad = parse_line(line, o) != 0;
	free(text);
	if (bad) {
		memset(o, 0, sizeof(*o));
		return errmsg_set(e, "%s: malformed", path);
	}
	return 0;
}

int keyorigin_store(const char *dir, const char *name, const struct ks_origin *o,
		    struct errmsg *e)
{
	char path[4200], hex[2 * KS_ORIGIN_NAME_MAX + 1], text[ORIGIN_FILE_MAX];
	int n;

	if (store_key_path(dir, name, KS_ORIGIN_SUFFIX, path, sizeof(path), e) != 0)
		return -1;
	if (o->kind == KS_ORIGIN_UNKNOWN && o->srk_name_len == 0) /* nothing to say: no file */
		return unlink(path) == 0 || errno == ENOENT ? 0 :
		       errmsg_set(e, "cannot remove %s: %s", path, strerror(errno));
	hex_of(o->srk_name, o->srk_name_len, hex, sizeof(hex));
	n = snprintf(text, sizeof(text), "# tpm-agent: where key '%s' came from\n%s%s%s%s%s", name,
		     o->kind != KS_ORIGIN_UNKNOWN ? "origin " : "", keyorigin_kind_name(o->kind),
		     o->kind != KS_ORIGIN_UNKNOWN ? "\n" : "", o->srk_name_len ? "srk-name " : "",
		     hex);
	if (n < 0 || (size_t)n + 2 > sizeof(text))
		return errmsg_set(e, "keystore: the origin record of '%s' does not fit", name);
	if (o->srk_name_len)
		strcat(text, "\n");
	return store_write_atomic(path, text, strlen(text), 0600, e);
}

int keyorigin_foreign(const struct ks_origin *o, const uint8_t *srk, size_t srk_len,
		      struct errmsg *why)
{
	char was[2 * KS_ORIGIN_NAME_MAX + 1], now[2 * KS_ORIGIN_NAME_MAX + 1];

	if (o->srk_name_len == 0 || srk_len == 0 ||
	    (o->srk_name_len == srk_len && memcmp(o->srk_name, srk, srk_len) == 0))
		return 0;
	if (why != NULL) {
		hex_of(o->srk_name, o->srk_name_len, was, sizeof(was));
		hex_of(srk, srk_len, now, sizeof(now));
		errmsg_set(why, "made under SRK %.16s..., this TPM's SRK is %.16s... (the TPM was "
			   "cleared or the SRK replaced): it cannot sign here; remove it with "
			   "tpm-key rm, or use it on the TPM it was made on", was, now);
	}
	return 1;
}
