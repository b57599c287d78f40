/* srkpin: the pinned SRK names and the EK proof record in the data dir: parsing,
 * formatting, and the owner/mode/no-symlink rules for reading them. */
#include "srkpin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define PATH_CAP 4096

static int path_of(const char *dir, const char *file, char *out, size_t cap, struct errmsg *e)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	if (n < 0 || (size_t)n >= cap)
		return errmsg_set(e, "srk pin: path too long: %s/%s", dir, file);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void srkpin_hex(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t i;

	if (cap == 0)
		return;
	for (i = 0; i < len && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", name[i]);
	out[2 * i] = '\0';
}

/* "0x81xxxxxx <hex>" (already without comments and surrounding blanks). */
static int parse_line(const char *s, struct srkpin *pin)
{
	char *end;
	unsigned long h;
	size_t n = 0;

	errno = 0;
	h = strtoul(s, &end, 16);
	if (strncmp(s, "0x", 2) != 0 || errno != 0 || end == s || (h >> 24) != 0x81 ||
	    h > 0x81ffffffUL || (*end != ' ' && *end != '\t'))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	for (; end[0] != '\0' && end[0] != ' ' && end[0] != '\t'; end += 2) {
		int hi = hexval(end[0]), lo = hexval(end[1]);

		if (hi < 0 || lo < 0 || n == SRKPIN_NAME_MAX)
			return -1;
		pin->name[n++] = (uint8_t)(hi << 4 | lo);
	}
	while (*end == ' ' || *end == '\t')
		end++;
	/* A TPM name: a 2-byte hash algorithm and a digest of at least SHA-1's size. */
	if (*end != '\0' || n < 2 + 20)
		return -1;
	pin->handle = (uint32_t)h;
	pin->name_len = n;
	return 0;
}

int srkpin_parse(const char *text, size_t len, struct srkpins *p, struct errmsg *e)
{
	char line[256];
	size_t i = 0, lineno = 0;

	memset(p, 0, sizeof(*p));
	while (i < len) {
		size_t start = i, n;
		char *s;
		struct srkpin pin;

		while (i < len && text[i] != '\n')
			i++;
		n = i - start;
		i++; /* the newline */
		lineno++;
		if (n >= sizeof(line))
			return errmsg_set(e, "line %zu is too long", lineno);
		memcpy(line, text + start, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL)
			return errmsg_set(e, "line %zu holds a NUL byte", lineno);
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (parse_line(s, &pin) != 0)
			return errmsg_set(e, "line %zu: expected \"0x81xxxxxx <name in hex>\"", lineno);
		if (srkpin_find(p, pin.handle) != NULL)
			return errmsg_set(e, "line %zu: handle 0x%08x is pinned twice", lineno,
					  pin.handle);
		if (p->n == SRKPIN_MAX)
			return errmsg_set(e, "more than %d pinned handles", SRKPIN_MAX);
		p->pin[p->n++] = pin;
	}
	return 0;
}

int srkpin_format(const struct srkpins *p, char *out, size_t cap, struct errmsg *e)
{
	size_t off;
	int n;

	n = snprintf(out, cap, "# tpm-agent: the SRKs this agent trusts, by persistent handle and\n"
		     "# TPM name (nameAlg || SHA-256 of the public area). After a deliberate TPM\n"
		     "# clear, re-pin with: tpm-key init --repin\n");
	if (n < 0 || (size_t)n >= cap)
		return errmsg_set(e, "srk pin: buffer too small");
	off = (size_t)n;
	for (size_t i = 0; i < p->n; i++) {
		char hex[SRKPIN_HEX_MAX];

		srkpin_hex(p->pin[i].name, p->pin[i].name_len, hex, sizeof(hex));
		n = snprintf(out + off, cap - off, "0x%08x %s\n", p->pin[i].handle, hex);
		if (n < 0 || (size_t)n >= cap - off)
			return errmsg_set(e, "srk pin: buffer too small");
		off += (size_t)n;
	}
	return 0;
}

const struct srkpin *srkpin_find(const struct srkpins *p, uint32_t handle)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->pin[i].handle == handle)
			return &p->pin[i];
	return NULL;
}

int srkpin_set(struct srkpins *p, uint32_t handle, const uint8_t *name, size_t len,
	       struct errmsg *e)
{
	struct srkpin *pin = (struct srkpin *)srkpin_find(p, handle);

	if (len < 2 || len > SRKPIN_NAME_MAX)
		return errmsg_set(e, "srk pin: a name of %zu bytes", len);
	if (pin == NULL) {
		if (p->n == SRKPIN_MAX)
			return errmsg_set(e, "srk pin: more than %d pinned handles", SRKPIN_MAX);
		pin = &p->pin[p->n++];
	}
	pin->handle = handle;
	memcpy(pin->name, name, len);
	pin->name_len = len;
	return 0;
}

/* The keys/ rules: a regular file (not a link), ours, not writable by others.
 * 1: go on reading; 0: no such file; -1: refused (e says why). */
static int file_ok(const char *path, struct errmsg *e)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return errmsg_set(e, "cannot stat %s: %s", path, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return errmsg_set(e, "%s is a symbolic link; refusing to follow it", path);
	if (!S_ISREG(st.st_mode))
		return errmsg_set(e, "%s is not a regular file", path);
	if (st.st_uid != geteuid())
		return errmsg_set(e, "%s belongs to uid %u, not to you (uid %u); remove it",
				  path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return errmsg_set(e, "%s is writable by group or others (mode %03o); check it, "
				  "then run: chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
	return 1;
}

static int read_checked(const char *dir, const char *file, char **text, size_t *len,
			struct errmsg *e)
{
	char path[PATH_CAP];
	int r;

	*text = NULL;
	*len = 0;
	if (path_of(dir, file, path, sizeof(path), e) != 0 || (r = file_ok(path, e)) < 0)
		return -1;
	if (r == 0)
		return 0;
	return store_read_file(path, SRKPIN_FILE_MAX, text, len, e) == 0 ? 1 : -1;
}

int srkpin_load(const char *dir, struct srkpins *p, struct errmsg *e)
{
	char *text;
	size_t len;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = read_checked(dir, SRKPIN_FILE, &text, &len, e)) <= 0)
		return r;
	r = srkpin_parse(text, len, p, e);
	free(text);
	if (r != 0)
		return errmsg_prefix(e, "%s/%s", dir, SRKPIN_FILE);
	return 0;
}

int srkpin_save(const char *dir, const struct srkpins *p, struct errmsg *e)
{
	char path[PATH_CAP], text[SRKPIN_FILE_MAX];

	if (path_of(dir, SRKPIN_FILE, path, sizeof(path), e) != 0 ||
	    srkpin_format(p, text, sizeof(text), e) != 0)
		return -1;
	return store_write_atomic(path, text, strlen(text), 0600, e);
}

int srkpin_proof_save(const char *dir, const char *text, struct errmsg *e)
{
	char path[PATH_CAP];

	if (path_of(dir, SRKPIN_PROOF_FILE, path, sizeof(path), e) != 0)
		return -1;
	return store_write_atomic(path, text, strlen(text), 0600, e);
}

int srkpin_proof_load(const char *dir, char *text, size_t cap, struct errmsg *e)
{
	char *data;
	size_t len;
	int r;

	if (cap == 0)
		return errmsg_set(e, "srk proof: no room");
	text[0] = '\0';
	if ((r = read_checked(dir, SRKPIN_PROOF_FILE, &data, &len, e)) <= 0)
		return r;
	snprintf(text, cap, "%s", data);
	free(data);
	return 0;
}
