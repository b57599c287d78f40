/* certstore: file-backed OpenSSH certificates, re-read when their file changes so a
 * renewed certificate is served without restarting the agent. */
#include "certstore.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../agent/log.h"

#define CERT_SUFFIX "-cert.pub"
#define CERT_FILE_MAX (SSHCERT_BLOB_MAX * 2)
#define CERT_PATH_MAX (CERT_DIR_MAX + STORE_NAME_MAX + 16)

struct certstore {
	char dir[CERT_DIR_MAX];   /* <data dir>/certs */
	struct cert_entry *entries[CERTSTORE_MAX];
	size_t n;
};

static void entry_free(struct cert_entry *c)
{
	if (c != NULL)
		free(c->blob);
	free(c);
}

int certstore_open(const char *dir, struct certstore **out, struct errmsg *e)
{
	struct certstore *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		return errmsg_set(e, "certstore: out of memory");
	if (snprintf(cs->dir, sizeof(cs->dir), "%s/certs", dir) >= (int)sizeof(cs->dir)) {
		free(cs);
		return errmsg_set(e, "certstore: path too long: %s", dir);
	}
	if (mkdir(cs->dir, 0700) != 0 && errno != EEXIST) {
		errmsg_set(e, "cannot create %s: %s", cs->dir, strerror(errno));
		free(cs);
		return -1;
	}
	certstore_refresh(cs);
	*out = cs;
	return 0;
}

void certstore_close(struct certstore *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n; i++)
		entry_free(cs->entries[i]);
	free(cs);
}

/* "<key>-cert.pub" -> key name; 0 if the file name is not a certificate of a valid key name. */
static int cert_key_name(const char *file, char key[STORE_NAME_MAX])
{
	size_t n = strlen(file), s = strlen(CERT_SUFFIX);

	if (n <= s || strcmp(file + n - s, CERT_SUFFIX) != 0 || n - s >= STORE_NAME_MAX)
		return 0;
	memcpy(key, file, n - s);
	key[n - s] = '\0';
	return store_name_valid(key);
}

/* Parses one certificate file into a new entry. */
static struct cert_entry *entry_read(const char *path, const char *key, const struct stat *st)
{
	struct cert_entry *c = calloc(1, sizeof(*c));
	char *text = NULL;
	size_t len;
	struct errmsg e;

	if (c == NULL)
		return NULL;
	if (store_read_file(path, CERT_FILE_MAX, &text, &len, &e) != 0) {
		log_warn("skipping certificate: %s", e.text);
		goto fail;
	}
	if (sshcert_from_line(text, &c->blob, &c->blob_len, &c->cert, c->comment,
			      sizeof(c->comment)) != 0) {
		log_warn("skipping certificate %s: not an OpenSSH ECDSA or RSA certificate", path);
		goto fail;
	}
	free(text);
	snprintf(c->key_name, sizeof(c->key_name), "%s", key);
	c->where = CERT_IN_FILE;
	c->ino = st->st_ino;
	c->size = st->st_size;
	c->mtime = st->st_mtim;
	return c;
fail:
	free(text);
	entry_free(c);
	return NULL;
}

static int same_file(const struct cert_entry *c, const struct stat *st)
{
	return c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void entry_remove_at(struct certstore *cs, size_t i)
{
	entry_free(cs->entries[i]);
	cs->entries[i] = cs->entries[--cs->n];
}

/* Drops file entries whose file is gone. */
static void refresh_drop_missing(struct certstore *cs)
{
	char path[CERT_PATH_MAX];
	struct stat st;

	for (size_t i = cs->n; i-- > 0;) {
		struct cert_entry *c = cs->entries[i];

		if (c->where != CERT_IN_FILE)
			continue;
		snprintf(path, sizeof(path), "%s/%s" CERT_SUFFIX, cs->dir, c->key_name);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			log_info("certificate of key '%s' removed (%s is gone)", c->key_name, path);
			entry_remove_at(cs, i);
		}
	}
}

/* (Re)reads one file if it is new or changed. */
static void refresh_file(struct certstore *cs, const char *file)
{
	char key[STORE_NAME_MAX], path[CERT_PATH_MAX];
	struct cert_entry *old, *fresh;
	struct stat st;

	if (!cert_key_name(file, key))
		return;
	snprintf(path, sizeof(path), "%s/%s", cs->dir, file);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	old = certstore_find_key(cs, key);
	if (old != NULL && old->where == CERT_IN_FILE && same_file(old, &st))
		return;
	fresh = entry_read(path, key, &st);
	if (old != NULL && old->where == CERT_IN_FILE) {
		for (size_t i = 0; i < cs->n; i++)
			if (cs->entries[i] == old)
				entry_remove_at(cs, i);
	}
	if (fresh == NULL)
		return;
	if (cs->n == CERTSTORE_MAX) {
		log_warn("skipping certificate %s: more than %d certificates", path, CERTSTORE_MAX);
		entry_free(fresh);
		return;
	}
	cs->entries[cs->n++] = fresh;
	log_info("certificate for key '%s' loaded (serial %llu, key id \"%s\")", key,
		 (unsigned long long)fresh->cert.serial, fresh->cert.key_id);
}

void certstore_refresh(struct certstore *cs)
{
	DIR *d;
	struct dirent *de;

	refresh_drop_missing(cs);
	if ((d = opendir(cs->dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		refresh_file(cs, de->d_name);
	closedir(d);
}

size_t certstore_count(const struct certstore *cs)
{
	return cs->n;
}

struct cert_entry *certstore_get(struct certstore *cs, size_t i)
{
	return i < cs->n ? cs->entries[i] : NULL;
}

struct cert_entry *certstore_find_blob(struct certstore *cs, const uint8_t *blob, size_t len)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->entries[i]->blob_len == len && memcmp(cs->entries[i]->blob, blob, len) == 0)
			return cs->entries[i];
	return NULL;
}

struct cert_entry *certstore_find_key(struct certstore *cs, const char *key_name)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->entries[i]->key_name, key_name) == 0)
			return cs->entries[i];
	return NULL;
}

int certstore_add_file(struct certstore *cs, const char *key_name, const struct sshkey_pub *key,
		       const char *line, struct cert_entry **out, struct errmsg *e)
{
	char path[CERT_PATH_MAX], comment[CERT_COMMENT_MAX];
	struct sshcert *cert = calloc(1, sizeof(*cert));
	uint8_t *blob = NULL;
	size_t blob_len;
	int r = -1;

	if (cert == NULL)
		return errmsg_set(e, "certstore: out of memory");
	if (!store_name_valid(key_name)) {
		errmsg_set(e, "invalid key name '%s'", key_name);
		goto done;
	}
	if (sshcert_from_line(line, &blob, &blob_len, cert, comment, sizeof(comment)) != 0) {
		errmsg_set(e, "not an OpenSSH certificate for an ECDSA or RSA key "
			   "(expected a *-cert.pub line made by ssh-keygen -s)");
		goto done;
	}
	if (!sshkey_pub_equal(&cert->key, key)) {
		errmsg_set(e, "the certificate (key id \"%s\") certifies another key, not '%s'; "
			   "nothing stored", cert->key_id, key_name);
		goto done;
	}
	snprintf(path, sizeof(path), "%s/%s" CERT_SUFFIX, cs->dir, key_name);
	if (store_write_atomic(path, line, strlen(line), 0600, e) != 0)
		goto done;
	certstore_refresh(cs);
	if (out != NULL)
		*out = certstore_find_key(cs, key_name);
	r = 0;
done:
	free(blob);
	free(cert);
	return r;
}

int certstore_remove_file(struct certstore *cs, const char *key_name, uint64_t serial,
			  struct errmsg *e)
{
	char path[CERT_PATH_MAX];
	struct cert_entry *c = certstore_find_key(cs, key_name);

	if (c == NULL || c->where != CERT_IN_FILE)
		return errmsg_set(e, "key '%s' has no certificate file", key_name);
	if (serial != 0 && c->cert.serial != serial)
		return errmsg_set(e, "the certificate of key '%s' has serial %llu, not %llu",
				  key_name, (unsigned long long)c->cert.serial,
				  (unsigned long long)serial);
	snprintf(path, sizeof(path), "%s/%s" CERT_SUFFIX, cs->dir, key_name);
	if (unlink(path) != 0 && errno != ENOENT)
		return errmsg_set(e, "cannot remove %s: %s", path, strerror(errno));
	certstore_refresh(cs);
	return 0;
}
