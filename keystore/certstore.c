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

#include "log.h"
#include "../protocol/nvcert.h"
#include "tpm_nv.h"

#define CERT_SUFFIX "-cert.pub"
#define CERT_FILE_MAX (SSHCERT_BLOB_MAX * 2)
#define CERT_PATH_MAX (CERT_DIR_MAX + STORE_NAME_MAX + 16)

struct certstore {
	char dir[CERT_DIR_MAX];   /* <data dir>/certs */
	struct tpm *tpm;          /* NULL: files only */
	uint32_t nv_base;
	unsigned max_nv;
	const uint8_t *owner_auth; /* the SO PIN during one call; NULL otherwise */
	int dir_refused;          /* certs/ failed store_check_dir at the last refresh */
	size_t owner_len;
	unsigned orphans_reclaimed, orphans_left; /* certstore_nv_usage */
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
	/* The key store's rules: a certificate someone else could have written (their
	 * file, a symbolic link, a writable file) is not served. */
	if (store_read_private(path, CERT_FILE_MAX, 0, &text, &len, &e) != 0) {
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
	if (lstat(path, &st) != 0)
		return;
	if (S_ISLNK(st.st_mode))
		log_warn("skipping certificate %s: a symbolic link; certificates must be "
			 "regular files of yours", path);
	if (!S_ISREG(st.st_mode))
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

/* Drops every file certificate: their directory is not trustworthy. */
static void drop_files(struct certstore *cs)
{
	for (size_t i = cs->n; i-- > 0;)
		if (cs->entries[i]->where == CERT_IN_FILE)
			entry_remove_at(cs, i);
}

void certstore_refresh(struct certstore *cs)
{
	DIR *d;
	struct dirent *de;
	struct errmsg e;

	/* certs/ follows keys/'s rules: anyone else able to write there could plant a
	 * certificate of their own CA. Said once per change of state. */
	if (store_check_dir(cs->dir, 0, &e) != 0) {
		if (!cs->dir_refused)
			log_warn("serving no certificate files: %s", e.text);
		cs->dir_refused = 1;
		drop_files(cs);
		return;
	}
	cs->dir_refused = 0;
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
	if (out != NULL) /* the file's entry, not an NV certificate the key still has */
		for (size_t i = 0; i < cs->n; i++)
			if (cs->entries[i]->where == CERT_IN_FILE &&
			    strcmp(cs->entries[i]->key_name, key_name) == 0)
				*out = cs->entries[i];
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

/* ---- certificates in TPM NV indices ---- */

#define NV_IMAGE_MAX 4096
#define NV_SCAN_MAX  256

static unsigned nv_count(const struct certstore *cs, const char *except_key)
{
	unsigned n = 0;

	for (size_t i = 0; i < cs->n; i++)
		n += cs->entries[i]->where == CERT_IN_NV &&
		     (except_key == NULL || strcmp(cs->entries[i]->key_name, except_key) != 0);
	return n;
}

/* A new NV entry from an image read out of the TPM; NULL if it is not one of ours. */
static struct cert_entry *nv_entry_from_image(const uint8_t *img, size_t len, uint32_t index)
{
	struct cert_entry *c = calloc(1, sizeof(*c));
	char name[NVCERT_NAME_MAX], comment[NVCERT_COMMENT_MAX];
	const uint8_t *blob;
	size_t blob_len;

	if (c == NULL || nvcert_decode(img, len, name, comment, &blob, &blob_len) != 0 ||
	    !store_name_valid(name) || (c->blob = malloc(blob_len)) == NULL ||
	    sshcert_from_blob(blob, blob_len, &c->cert) != 0) {
		entry_free(c);
		return NULL;
	}
	memcpy(c->blob, blob, blob_len);
	c->blob_len = blob_len;
	snprintf(c->key_name, sizeof(c->key_name), "%s", name);
	snprintf(c->comment, sizeof(c->comment), "%s", comment);
	c->where = CERT_IN_NV;
	c->nv_index = index;
	return c;
}

/* index, in our range, holds no certificate of ours: read_ok says its image was read
 * (and is garbage), else it could not be. With our attributes and either unwritten or
 * garbage, it is what a crash between NV_DefineSpace and the last NV_Write leaves
 * (kill -9 during `tpm-key cert add --nv`): undefine it, unless that needs an SO PIN
 * nobody gave at start. Someone else's index stays untouched. */
static void nv_reclaim(struct certstore *cs, uint32_t index, int read_ok)
{
	struct tpm_da da;
	struct errmsg e;
	int written = 0, ours = tpm_nv_ours(cs->tpm, index, &written, &e);

	if (ours != 1 || (written && !read_ok)) {
		log_debug("NV index 0x%08x holds no certificate of ours; left alone", index);
		return;
	}
	if (cs->owner_auth == NULL && (tpm_da_state(cs->tpm, &da, &e) != 0 || da.owner_auth_set)) {
		cs->orphans_left++;
		log_warn("NV index 0x%08x holds no certificate (an interrupted `tpm-key cert add "
			 "--nv`?); freeing it needs the owner authorization: `tpm2_nvundefine -C o "
			 "0x%08x -P SO-PIN`", index, index);
		return;
	}
	if (tpm_nv_undefine(cs->tpm, index, cs->owner_auth, cs->owner_len, &e) != 0) {
		cs->orphans_left++;
		log_warn("cannot free NV index 0x%08x, which holds no certificate: %s", index,
			 e.text);
		return;
	}
	cs->orphans_reclaimed++;
	log_info("NV index 0x%08x reclaimed: defined %s (an interrupted `tpm-key cert add "
		 "--nv`)", index, written ? "with no certificate in it" : "but never written");
}

static void nv_scan(struct certstore *cs)
{
	uint32_t indices[NV_SCAN_MAX];
	uint8_t *img = malloc(NV_IMAGE_MAX);
	size_t count = 0, len;
	struct errmsg e;

	if (img == NULL)
		return;
	if (tpm_nv_list(cs->tpm, cs->nv_base, cs->nv_base + NVCERT_INDEX_SPAN - 1, indices,
			NV_SCAN_MAX, &count, &e) != 0)
		log_warn("cannot list NV certificates: %s", e.text);
	for (size_t i = 0; i < count && cs->n < CERTSTORE_MAX; i++) {
		struct cert_entry *c;

		if (tpm_nv_read(cs->tpm, indices[i], img, NV_IMAGE_MAX, &len, &e) != 0) {
			log_debug("NV index 0x%08x: %s", indices[i], e.text);
			nv_reclaim(cs, indices[i], 0);
			continue;
		}
		if ((c = nv_entry_from_image(img, len, indices[i])) == NULL) {
			nv_reclaim(cs, indices[i], 1);
			continue;
		}
		cs->entries[cs->n++] = c;
		log_info("certificate for key '%s' loaded from NV index 0x%08x (serial %llu)",
			 c->key_name, indices[i], (unsigned long long)c->cert.serial);
	}
	free(img);
}

void certstore_set_owner_auth(struct certstore *cs, const uint8_t *auth, size_t len)
{
	cs->owner_auth = auth;
	cs->owner_len = auth != NULL ? len : 0;
}

/* TPM_E_OWNER_AUTH when an NV define/undefine would need the SO PIN we were not given. */
static int nv_owner_auth_check(struct certstore *cs, struct errmsg *e)
{
	struct tpm_da da;

	if (cs->owner_auth != NULL)
		return 0;
	if (tpm_da_state(cs->tpm, &da, e) != 0)
		return -1;
	if (!da.owner_auth_set)
		return 0;
	errmsg_set(e, "certificates in NV RAM need the TPM owner authorization (SO PIN)");
	return TPM_E_OWNER_AUTH;
}

int certstore_use_nv(struct certstore *cs, struct tpm *tpm, uint32_t base, unsigned max_nv,
		     struct errmsg *e)
{
	if (tpm == NULL)
		return errmsg_set(e, "certstore: NV needs a TPM");
	cs->tpm = tpm;
	cs->nv_base = base;
	cs->max_nv = max_nv;
	nv_scan(cs);
	return 0;
}

/* The probe index for key: one that is free, or NULL-free collision → error. */
static int nv_pick_index(struct certstore *cs, const char *key, uint32_t *index,
			 struct errmsg *e)
{
	uint32_t defined[NV_SCAN_MAX];
	size_t n = 0;

	if (tpm_nv_list(cs->tpm, cs->nv_base, cs->nv_base + NVCERT_INDEX_SPAN - 1, defined,
			NV_SCAN_MAX, &n, e) != 0)
		return -1;
	for (unsigned p = 0; p < NVCERT_PROBES; p++) {
		uint32_t idx = nvcert_index(cs->nv_base, key, p);
		int taken = 0;

		for (size_t i = 0; i < n; i++)
			taken |= defined[i] == idx;
		if (!taken) {
			*index = idx;
			return 0;
		}
	}
	return errmsg_set(e, "no free NV index for key '%s': its %d candidate indices from "
			  "0x%08x are taken", key, NVCERT_PROBES, cs->nv_base);
}

/* Writes image to a new index; nothing stays defined when the write fails. */
static int nv_store_image(struct certstore *cs, const char *key, const uint8_t *img,
			  size_t len, uint32_t *index, struct errmsg *e)
{
	uint32_t index_max;
	int r;

	if (tpm_nv_limits(cs->tpm, &index_max, NULL, e) != 0)
		return -1;
	if (len > index_max)
		return errmsg_set(e, "the certificate needs %zu bytes of NV; this TPM's NV "
				  "indices hold at most %u (TPM2_PT_NV_INDEX_MAX): store it as "
				  "a file", len, index_max);
	if ((r = nv_pick_index(cs, key, index, e)) != 0)
		return r;
	if ((r = tpm_nv_define(cs->tpm, *index, len, cs->owner_auth, cs->owner_len, e)) != 0) {
		int written;
		struct errmsg ue;

		/* A response lost or refused after the TPM defined it: do not leave it. */
		if (r != TPM_E_NV_DEFINED && tpm_nv_ours(cs->tpm, *index, &written, &ue) == 1 &&
		    !written &&
		    tpm_nv_undefine(cs->tpm, *index, cs->owner_auth, cs->owner_len, &ue) != 0)
			log_error("NV index 0x%08x left defined: %s", *index, ue.text);
		return r;
	}
	if ((r = tpm_nv_write(cs->tpm, *index, img, len, cs->owner_auth, cs->owner_len, e)) != 0) {
		struct errmsg ue;

		if (tpm_nv_undefine(cs->tpm, *index, cs->owner_auth, cs->owner_len, &ue) != 0)
			log_error("NV index 0x%08x left half-written: %s", *index, ue.text);
		return r;
	}
	return 0;
}

/* Parses and checks a certificate line for key. */
static int cert_parse_for(const char *line, const char *key_name, const struct sshkey_pub *key,
			  struct cert_entry *c, struct errmsg *e)
{
	if (sshcert_from_line(line, &c->blob, &c->blob_len, &c->cert, c->comment,
			      sizeof(c->comment)) != 0)
		return errmsg_set(e, "not an OpenSSH certificate for an ECDSA or RSA key "
				  "(expected a *-cert.pub line made by ssh-keygen -s)");
	if (!sshkey_pub_equal(&c->cert.key, key))
		return errmsg_set(e, "the certificate (key id \"%s\") certifies another key, not "
				  "'%s'; nothing stored", c->cert.key_id, key_name);
	snprintf(c->key_name, sizeof(c->key_name), "%s", key_name);
	return 0;
}

static int nv_add(struct certstore *cs, struct cert_entry *c, struct errmsg *e)
{
	uint8_t *img = malloc(NV_IMAGE_MAX);
	size_t len;
	int r;

	if (img == NULL)
		return errmsg_set(e, "certstore: out of memory");
	if (nvcert_encode(c->key_name, c->comment, c->blob, c->blob_len, img, NV_IMAGE_MAX,
			  &len) != 0)
		r = errmsg_set(e, "the certificate is too large for an NV index (%zu bytes)",
			       c->blob_len);
	else
		r = nv_store_image(cs, c->key_name, img, len, &c->nv_index, e);
	free(img);
	if (r == 0)
		c->where = CERT_IN_NV;
	return r;
}

/* Drops key's certificates other than keep: its NV indices, and its file unless keep
 * is that file. */
static void remove_others(struct certstore *cs, const char *key, const struct cert_entry *keep)
{
	int drop_file = 0;
	struct errmsg e;

	for (size_t i = cs->n; i-- > 0;) {
		struct cert_entry *c = cs->entries[i];

		if (c == keep || strcmp(c->key_name, key) != 0)
			continue;
		if (c->where == CERT_IN_FILE) {
			drop_file = 1;
			continue;
		}
		if (tpm_nv_undefine(cs->tpm, c->nv_index, cs->owner_auth, cs->owner_len, &e) != 0) {
			log_warn("cannot free NV index 0x%08x: %s", c->nv_index, e.text);
			continue;
		}
		entry_remove_at(cs, i);
	}
	if (drop_file && certstore_remove_file(cs, key, 0, &e) != 0)
		log_warn("%s", e.text);
}

/* As a file; an NV certificate the key had before is freed afterwards. */
static int add_as_file(struct certstore *cs, const char *key_name, const struct sshkey_pub *key,
		       const char *line, struct cert_entry **out, struct errmsg *e)
{
	struct cert_entry *c = NULL;

	if (certstore_add_file(cs, key_name, key, line, &c, e) != 0)
		return -1;
	if (cs->tpm != NULL)
		remove_others(cs, key_name, c);
	if (out != NULL)
		*out = c;
	return 0;
}

static int add_in_nv(struct certstore *cs, struct cert_entry *c, enum cert_mode mode,
		     struct errmsg *e)
{
	unsigned used = nv_count(cs, c->key_name);
	int r;

	if (cs->tpm == NULL)
		return errmsg_set(e, "certificates in NV need the TPM");
	if (used >= cs->max_nv)
		return errmsg_set(e, "all %u NV certificate slots are used (max-nv-certs = %u); "
				  "store it as a file (--file) or raise max-nv-certs", used,
				  cs->max_nv);
	if ((r = nv_owner_auth_check(cs, e)) != 0)
		return r;
	r = nv_add(cs, c, e);
	(void)mode;
	return r;
}

int certstore_add(struct certstore *cs, const char *key_name, const struct sshkey_pub *key,
		  const char *line, enum cert_mode mode, struct cert_entry **out,
		  struct errmsg *e)
{
	struct cert_entry *c;
	struct errmsg nv_err;

	if (mode == CERT_MODE_FILE)
		return add_as_file(cs, key_name, key, line, out, e);
	if (!store_name_valid(key_name))
		return errmsg_set(e, "invalid key name '%s'", key_name);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return errmsg_set(e, "certstore: out of memory");
	if (cert_parse_for(line, key_name, key, c, e) != 0) {
		entry_free(c);
		return -1;
	}
	int r = add_in_nv(cs, c, mode, mode == CERT_MODE_NV ? e : &nv_err);

	if (r != 0) {
		entry_free(c);
		if (mode == CERT_MODE_NV)
			return r;
		if (r == TPM_E_OWNER_AUTH) {
			*e = nv_err;
			return r;
		}
		log_info("certificate for key '%s' goes to a file: %s", key_name, nv_err.text);
		return add_as_file(cs, key_name, key, line, out, e);
	}
	if (cs->n == CERTSTORE_MAX) {
		entry_free(c);
		return errmsg_set(e, "more than %d certificates", CERTSTORE_MAX);
	}
	cs->entries[cs->n++] = c;
	remove_others(cs, key_name, c);
	log_info("certificate for key '%s' stored in NV index 0x%08x", key_name, c->nv_index);
	if (out != NULL)
		*out = c;
	return 0;
}

int certstore_remove(struct certstore *cs, const char *key_name, uint64_t serial,
		     struct errmsg *e)
{
	struct cert_entry *file = NULL;
	int removed = 0, r;

	for (size_t i = 0; i < cs->n; i++)
		if (cs->entries[i]->where == CERT_IN_NV &&
		    strcmp(cs->entries[i]->key_name, key_name) == 0 &&
		    (r = nv_owner_auth_check(cs, e)) != 0)
			return r;
	for (size_t i = cs->n; i-- > 0;) {
		struct cert_entry *c = cs->entries[i];

		if (strcmp(c->key_name, key_name) != 0 || (serial != 0 && c->cert.serial != serial))
			continue;
		if (c->where == CERT_IN_FILE) {
			file = c;
			continue;
		}
		if (tpm_nv_undefine(cs->tpm, c->nv_index, cs->owner_auth, cs->owner_len, e) != 0)
			return -1;
		log_info("certificate of key '%s' removed from NV index 0x%08x", key_name,
			 c->nv_index);
		entry_remove_at(cs, i);
		removed++;
	}
	if (file != NULL) {
		if (certstore_remove_file(cs, key_name, serial, e) != 0)
			return -1;
		removed++;
	}
	if (removed == 0)
		return errmsg_set(e, "key '%s' has no certificate%s", key_name,
				  serial ? " with that serial" : "");
	return 0;
}

int certstore_nv_usage(struct certstore *cs, struct certstore_nv_usage *u, struct errmsg *e)
{
	memset(u, 0, sizeof(*u));
	u->used = nv_count(cs, NULL);
	u->max = cs->max_nv;
	u->orphans_reclaimed = cs->orphans_reclaimed;
	u->orphans_left = cs->orphans_left;
	if (cs->tpm == NULL)
		return 0;
	if (tpm_nv_limits(cs->tpm, &u->index_max, NULL, e) != 0 ||
	    tpm_nv_space(cs->tpm, &u->tpm_indices_defined, &u->tpm_avail_hint, e) != 0)
		return -1;
	return 0;
}
