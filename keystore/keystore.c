/* keystore: the agent's in-memory view of the key store. Each key's public blob,
 * fingerprint and keygrip are worked out once at load, so listing never touches the TPM. */
#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keypolicy.h"
#include "keystore_internal.h"
#include "log.h"
#include "tpm_hierarchy.h"

int ks_append(struct keystore *ks, struct ks_key *k, struct errmsg *e)
{
	if (ks->n == ks->alloc) {
		size_t alloc = ks->alloc ? ks->alloc * 2 : 16;
		struct ks_key **keys = realloc(ks->keys, alloc * sizeof(*keys));

		if (keys == NULL)
			return errmsg_set(e, "keystore: out of memory");
		ks->keys = keys;
		ks->alloc = alloc;
	}
	ks->keys[ks->n++] = k;
	return 0;
}

void ks_key_free(struct keystore *ks, struct ks_key *k)
{
	if (k == NULL)
		return;
	if (ks->tpm != NULL)
		tpm_key_unload(ks->tpm, &k->tk);
	ks_policy_free(k->policy);
	free(k);
}

/* Fills the derived fields (blob, fingerprint, keygrip) from k->pub. */
int ks_key_derive(struct ks_key *k, struct errmsg *e)
{
	struct sshbuf *b = sshbuf_new(SSHKEY_BLOB_MAX);
	int r;

	if (b == NULL)
		return errmsg_set(e, "keystore: out of memory");
	r = sshkey_pub_to_blob(&k->pub, b);
	if (r == 0 && sshbuf_len(b) <= sizeof(k->blob)) {
		k->blob_len = sshbuf_len(b);
		memcpy(k->blob, sshbuf_ptr(b), k->blob_len);
	} else if (r == 0) {
		r = SSHBUF_E_TOOBIG;
	}
	sshbuf_free(b);
	if (r != 0)
		return errmsg_set(e, "cannot encode public key: %s", sshbuf_strerror(r));
	if ((r = sshkey_fingerprint_sha256(&k->pub, k->fingerprint)) != 0 ||
	    (r = keygrip_hex(&k->pub, k->keygrip)) != 0)
		return errmsg_set(e, "cannot fingerprint public key: %s", sshbuf_strerror(r));
	return 0;
}

/* Builds a key from a parsed TSS2 key file. */
static int ks_key_from_tss2(const struct tss2key *f, const char *name, struct ks_key *k,
			    struct errmsg *e)
{
	if (f->type != TSS2KEY_LOADABLE)
		return errmsg_set(e, "not a loadable key (sealed or importable object)");
	if (f->pub_len > sizeof(k->tk.pub) || f->priv_len > sizeof(k->tk.priv))
		return errmsg_set(e, "TPM blobs too large");
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	if (f->has_description)
		snprintf(k->comment, sizeof(k->comment), "%s", f->description);
	k->empty_auth = f->empty_auth;
	memcpy(k->tk.pub, f->pub, f->pub_len);
	k->tk.pub_len = f->pub_len;
	memcpy(k->tk.priv, f->priv, f->priv_len);
	k->tk.priv_len = f->priv_len;
	if (tpm_key_public(&k->tk, &k->pub, e) != 0)
		return -1;
	return ks_key_derive(k, e);
}

/* Takes the comment from the .pub file at path when that line holds the same key. */
static void ks_read_comment(struct ks_key *k, const char *path)
{
	char comment[TSS2KEY_DESC_MAX], *line = NULL;
	struct sshkey_pub pub;
	size_t len;
	struct errmsg e;

	if (store_read_file(path, 16384, &line, &len, &e) != 0)
		return;
	if (sshkey_pub_from_line(line, &pub, comment, sizeof(comment)) == 0 &&
	    sshkey_pub_equal(&pub, &k->pub))
		snprintf(k->comment, sizeof(k->comment), "%s", comment);
	free(line);
}

/* Reads the key file at path (pub_path: its .pub) into a new key called name; the file
 * and its directory must pass the store's rules. owned: a key-dirs file, where an
 * importable key is refused (tpm-key add imports it). */
static int ks_read_key_at(struct keystore *ks, const char *name, const char *path,
			  const char *pub_path, int owned, struct ks_key **out, struct errmsg *e)
{
	char *pem = NULL;
	size_t len = 0;
	struct tss2key *f = calloc(1, sizeof(*f));
	struct ks_key *k = calloc(1, sizeof(*k));
	struct errmsg oe;
	int r = -1;

	if (f == NULL || k == NULL) {
		errmsg_set(e, "keystore: out of memory");
		goto done;
	}
	if (store_read_private(path, TSS2KEY_FILE_MAX, 0, &pem, &len, e) != 0)
		goto done;
	if (owned && tss2key_from_pem(pem, len, f, e) == 0 && f->type == TSS2KEY_IMPORTABLE) {
		errmsg_set(e, "%s is an importable (wrapped) key: tpm-key add %s puts it in the "
			   "store", path, path);
		goto done;
	}
	if (tss2key_from_pem(pem, len, f, e) != 0 || ks_key_from_tss2(f, name, k, e) != 0 ||
	    ks_policy_load(ks->dir, k->name, f, &k->policy, e) != 0) {
		errmsg_prefix(e, "%s", path);
		goto done;
	}
	if (ks->tpm != NULL && f->type == TSS2KEY_LOADABLE) {
		struct tpm_info info;

		if (tpm_get_info(ks->tpm, &info, e) != 0)
			goto done;
		if (tpm_parent_hierarchy(f->parent) != info.hierarchy) {
			errmsg_set(e, "key '%s' was made under the %s hierarchy (parent 0x%08x); this "
				   "agent runs with hierarchy = %s", name,
				   tpm_hierarchy_name(tpm_parent_hierarchy(f->parent)), f->parent,
				   tpm_hierarchy_name(info.hierarchy));
			goto done;
		}
	}
	if (!f->has_description)
		ks_read_comment(k, pub_path);
	if (!owned && keyorigin_load(ks->dir, name, &k->origin, &oe) < 0)
		log_warn("key '%s': origin record ignored: %s", name, oe.text);
	*out = k;
	k = NULL;
	r = 0;
done:
	free(pem);
	free(f);
	free(k);
	return r;
}

/* Reads dir/keys/<name>.tss into a new key. */
static int ks_read_key(struct keystore *ks, const char *name, struct ks_key **out,
		       struct errmsg *e)
{
	char path[4200], pub[4200];

	if (store_key_path(ks->dir, name, ".tss", path, sizeof(path), e) != 0 ||
	    store_key_path(ks->dir, name, ".pub", pub, sizeof(pub), e) != 0)
		return -1;
	return ks_read_key_at(ks, name, path, pub, 0, out, e);
}

static int ks_write_pub(struct keystore *ks, const struct ks_key *k, struct errmsg *e);

/* A .tss whose .pub is missing (a crash between the two writes) gets it back. */
static void ks_repair_pub(struct keystore *ks, const struct ks_key *k)
{
	char path[4200];
	struct errmsg e;

	if (store_key_path(ks->dir, k->name, ".pub", path, sizeof(path), &e) != 0 ||
	    access(path, F_OK) == 0 || errno != ENOENT)
		return;
	if (ks_write_pub(ks, k, &e) != 0) {
		log_warn("key '%s' has no .pub and it cannot be written: %s", k->name, e.text);
		return;
	}
	ks->pubs_rewritten++;
	log_info("wrote the missing %s", path);
}

int keystore_open(const char *dir, struct tpm *tpm, struct keystore **out, struct errmsg *e)
{
	char (*names)[STORE_NAME_MAX] = calloc(STORE_MAX_KEYS, sizeof(*names));
	struct keystore *ks = calloc(1, sizeof(*ks));
	size_t count = 0;

	if (ks == NULL || names == NULL) {
		free(ks);
		free(names);
		return errmsg_set(e, "keystore: out of memory");
	}
	snprintf(ks->dir, sizeof(ks->dir), "%s", dir);
	ks->tpm = tpm;
	if (store_prepare(dir, e) != 0 ||
	    store_remove_orphans(dir, &ks->orphans_removed, e) != 0 ||
	    store_list_keys(dir, names, STORE_MAX_KEYS, &count, e) != 0) {
		free(names);
		keystore_close(ks);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		struct ks_key *k = NULL;
		struct errmsg ke;

		if (ks_read_key(ks, names[i], &k, &ke) != 0) {
			log_warn("skipping key '%s': %s", names[i], ke.text);
			continue;
		}
		if (ks_append(ks, k, e) != 0) {
			free(k);
			free(names);
			keystore_close(ks);
			return -1;
		}
		ks_repair_pub(ks, k);
	}
	free(names);
	if (ks->orphans_removed > 0)
		log_warn("removed %zu public key file(s) without their .tss in %s/keys (left by an "
			 "interrupted gen or import)", ks->orphans_removed, dir);
	*out = ks;
	return 0;
}

/* One key file of a key dir: dir/<name>.tss or .tpm, with dir/<name>.pub if any. */
static void ks_add_dir_key(struct keystore *ks, const char *dir, const char *file)
{
	char name[STORE_NAME_MAX], path[sizeof(((struct ks_key *)0)->ext_path)], pub[4200];
	size_t n = strlen(file) - 4;
	struct ks_key *k = NULL;
	struct errmsg e;

	snprintf(name, sizeof(name), "%.*s", (int)n, file);
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
	    snprintf(pub, sizeof(pub), "%s/%s.pub", dir, name) >= (int)sizeof(pub))
		return;
	if (keystore_find_name(ks, name) != NULL) {
		log_warn("skipping %s: a key named '%s' is served already", path, name);
		return;
	}
	if (ks_read_key_at(ks, name, path, pub, 1, &k, &e) != 0) {
		log_warn("skipping key file %s: %s", path, e.text);
		return;
	}
	snprintf(k->ext_path, sizeof(k->ext_path), "%s", path);
	if (ks_append(ks, k, &e) != 0) {
		free(k);
		log_warn("skipping key file %s: %s", path, e.text);
	}
}

int keystore_add_dir(struct keystore *ks, const char *dir, struct errmsg *e)
{
	char (*files)[STORE_FILE_MAX] = calloc(STORE_MAX_KEYS, sizeof(*files));
	size_t count = 0, before = ks->n;

	if (files == NULL)
		return errmsg_set(e, "keystore: out of memory");
	if (store_check_dir(dir, 0, e) != 0 ||
	    store_list_dir_keys(dir, files, STORE_MAX_KEYS, &count, e) != 0) {
		free(files);
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		ks_add_dir_key(ks, dir, files[i]);
	free(files);
	log_info("key-dirs: %zu key(s) from %s", ks->n - before, dir);
	return 0;
}

void keystore_repairs(const struct keystore *ks, size_t *orphans_removed,
		      size_t *pubs_rewritten)
{
	*orphans_removed = ks->orphans_removed;
	*pubs_rewritten = ks->pubs_rewritten;
}

void keystore_close(struct keystore *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->n; i++)
		ks_key_free(ks, ks->keys[i]);
	free(ks->keys);
	free(ks);
}

const char *keystore_dir(const struct keystore *ks)
{
	return ks->dir;
}

size_t keystore_count(const struct keystore *ks)
{
	return ks->n;
}

struct ks_key *keystore_get(struct keystore *ks, size_t i)
{
	return i < ks->n ? ks->keys[i] : NULL;
}

struct ks_key *keystore_find_blob(struct keystore *ks, const uint8_t *blob, size_t len)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i]->blob_len == len && memcmp(ks->keys[i]->blob, blob, len) == 0)
			return ks->keys[i];
	return NULL;
}

struct ks_key *keystore_find_name(struct keystore *ks, const char *name)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i]->name, name) == 0)
			return ks->keys[i];
	/* gpg users know their keys by keygrip: 40 hex digits name the key with that grip */
	if (strlen(name) == 40 && strspn(name, "0123456789abcdefABCDEF") == 40)
		return keystore_find_grip(ks, name);
	return NULL;
}

struct ks_key *keystore_find_grip(struct keystore *ks, const char *grip_hex)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcasecmp(ks->keys[i]->keygrip, grip_hex) == 0)
			return ks->keys[i];
	return NULL;
}

static size_t ks_index_of(struct keystore *ks, const struct ks_key *k)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i] == k)
			return i;
	return ks->n;
}

static void ks_forget(struct keystore *ks, struct ks_key *k)
{
	size_t i = ks_index_of(ks, k);

	if (i == ks->n)
		return;
	memmove(&ks->keys[i], &ks->keys[i + 1], (ks->n - i - 1) * sizeof(ks->keys[0]));
	ks->n--;
	ks_key_free(ks, k);
}

/* 1 (e set) for the keys whose file the agent must not write or delete: key-dirs files
 * and hierarchy keys (no file at all). */
int ks_not_in_store(const struct ks_key *k, const char *what, struct errmsg *e)
{
	if (k->tk.primary != 0) {
		errmsg_set(e, "%s: '%s' is a hierarchy key (hierarchy-keys): it has no file and "
			   "no PIN; drop it from the setting instead", what, k->name);
		return 1;
	}
	if (k->ext_path[0] != '\0') {
		errmsg_set(e, "%s: key '%s' is the file %s (key-dirs), which the agent never "
			   "writes or deletes: change or remove that file yourself, or tpm-key add "
			   "it to the store", what, k->name, k->ext_path);
		return 1;
	}
	return 0;
}

/* Writes name.tss and name.pub for k (the .tss last: it is what makes the key exist). */
/* Writes k's .pub (the OpenSSH line with the comment) atomically. */
static int ks_write_pub(struct keystore *ks, const struct ks_key *k, struct errmsg *e)
{
	char path[4200], *line = NULL, *pub_text = NULL;
	int r = -1;

	if (sshkey_pub_to_line(&k->pub, k->comment[0] ? k->comment : NULL, &line) != 0)
		return errmsg_set(e, "cannot encode the public key line");
	if (asprintf(&pub_text, "%s\n", line) < 0) {
		pub_text = NULL;
		errmsg_set(e, "keystore: out of memory");
	} else if (store_key_path(ks->dir, k->name, ".pub", path, sizeof(path), e) == 0) {
		r = store_write_atomic(path, pub_text, strlen(pub_text), 0600, e);
	}
	free(pub_text);
	free(line);
	return r;
}

/* Writes k's .tss, then its .pub. A new key's .tss must not exist yet (the name is
 * taken by creating the file, so of two creations of one name one fails), and a .pub
 * that cannot be written takes the new .tss back with it: neither is left alone. */
int ks_write_key(struct keystore *ks, const struct ks_key *k, uint32_t parent,
		 int is_new, struct errmsg *e)
{
	struct tss2key *f = calloc(1, sizeof(*f));
	char path[4200], *pem = NULL;
	size_t pem_len = 0;
	struct errmsg oe;
	int r = -1;

	if (f == NULL)
		return errmsg_set(e, "keystore: out of memory");
	f->type = TSS2KEY_LOADABLE;
	f->empty_auth = k->empty_auth;
	/* No description field: tpm2-openssl 1.1 (Debian 12) refuses files that carry
	 * one. The comment lives in the .pub line instead. */
	f->parent = parent;
	memcpy(f->pub, k->tk.pub, k->tk.pub_len);
	f->pub_len = k->tk.pub_len;
	memcpy(f->priv, k->tk.priv, k->tk.priv_len);
	f->priv_len = k->tk.priv_len;
	if (ks_policy_store(ks->dir, k->name, k->policy, f, e) != 0 ||
	    tss2key_to_pem(f, &pem, &pem_len, e) != 0 ||
	    store_key_path(ks->dir, k->name, ".tss", path, sizeof(path), e) != 0)
		goto done;
	if (!is_new)
		r = store_write_atomic(path, pem, pem_len, 0600, e);
	else if ((r = store_write_new(path, pem, pem_len, 0600, e)) == STORE_E_EXISTS)
		r = errmsg_set(e, "a key named '%s' exists already (tpm-key rm %s first, or pick "
			       "another -n)", k->name, k->name);
	if (r == 0 && (r = ks_write_pub(ks, k, e)) != 0 && is_new)
		unlink(path);
	if (r == 0 && keyorigin_store(ks->dir, k->name, &k->origin, &oe) != 0)
		log_warn("key '%s': no origin record: %s", k->name, oe.text); /* the key works */
done:
	free(pem);
	free(f);
	return r;
}

int keystore_delete(struct keystore *ks, const char *name_or_grip, struct errmsg *e)
{
	struct ks_key *k = keystore_find_name(ks, name_or_grip);
	char name[STORE_NAME_MAX];

	snprintf(name, sizeof(name), "%s", k != NULL ? k->name : name_or_grip);
	if (!store_name_valid(name))
		return errmsg_set(e, "invalid key name '%s'", name);
	if (k != NULL && ks_not_in_store(k, "rm", e))
		return -1;
	if (k == NULL && !store_key_exists(ks->dir, name))
		return errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
	if (store_remove_key(ks->dir, name, e) != 0)
		return -1;
	if (k != NULL)
		ks_forget(ks, k);
	log_info("deleted key '%s'", name);
	return 0;
}

int keystore_load(struct keystore *ks, const char *name, struct ks_key **out,
		  struct errmsg *e)
{
	struct ks_key *fresh = NULL, *old = keystore_find_name(ks, name);

	if (old != NULL && strcmp(old->name, name) != 0)
		name = old->name; /* a keygrip */

	if (!store_name_valid(name))
		return errmsg_set(e, "invalid key name '%s'", name);
	old = keystore_find_name(ks, name);
	if (old != NULL && (old->ext_path[0] != '\0' || old->tk.primary)) { /* no store file */
		old->hidden = 0;
		if (out != NULL)
			*out = old;
		return 0;
	}
	if (!store_key_exists(ks->dir, name))
		return errmsg_set(e, "no key named '%s' in %s/keys", name, ks->dir);
	if (ks_read_key(ks, name, &fresh, e) != 0)
		return -1;
	old = keystore_find_name(ks, name);
	if (old != NULL && old->blob_len == fresh->blob_len &&
	    memcmp(old->blob, fresh->blob, old->blob_len) == 0 &&
	    old->tk.priv_len == fresh->tk.priv_len &&
	    memcmp(old->tk.priv, fresh->tk.priv, old->tk.priv_len) == 0) {
		/* Same key: keep the loaded TPM object, only show it again (with the policy as
		 * the file has it now: pcr-seal may have added to it). */
		ks_policy_free(old->policy);
		old->policy = fresh->policy;
		free(fresh);
		old->hidden = 0;
		if (out != NULL)
			*out = old;
		return 0;
	}
	if (old != NULL)
		ks_forget(ks, old);
	if (ks_append(ks, fresh, e) != 0) {
		ks_policy_free(fresh->policy);
		free(fresh);
		return -1;
	}
	if (out != NULL)
		*out = fresh;
	return 0;
}

struct tpm *keystore_tpm(const struct keystore *ks)
{
	return ks->tpm;
}

struct ks_policy *keystore_set_gen_policy(struct keystore *ks, struct ks_policy *p)
{
	struct ks_policy *pending = ks->gen_policy;

	ks->gen_policy = p;
	return pending;
}

int keystore_rewrite_key(struct keystore *ks, struct ks_key *k, struct errmsg *e)
{
	struct tpm_info info;

	if (ks_not_in_store(k, "rewrite", e))
		return -1;
	if (ks->tpm == NULL || tpm_get_info(ks->tpm, &info, e) != 0)
		return errmsg_set(e, "keystore: no TPM connection");
	return ks_write_key(ks, k, info.parent, 0, e);
}

int keystore_rename(struct keystore *ks, struct ks_key *k, const char *name,
		    const char *comment, struct errmsg *e)
{
	char old_name[STORE_NAME_MAX], old_comment[TSS2KEY_DESC_MAX];
	struct errmsg ignored;

	if (!store_name_valid(name))
		return errmsg_set(e, "invalid key name '%s'", name);
	if (store_key_exists(ks->dir, name) || keystore_find_name(ks, name) != NULL)
		return errmsg_set(e, "a key named '%s' exists already", name);
	snprintf(old_name, sizeof(old_name), "%s", k->name);
	snprintf(old_comment, sizeof(old_comment), "%s", k->comment);
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->comment, sizeof(k->comment), "%s", comment);
	if (keystore_rewrite_key(ks, k, e) != 0) {
		snprintf(k->name, sizeof(k->name), "%s", old_name);
		snprintf(k->comment, sizeof(k->comment), "%s", old_comment);
		return -1;
	}
	/* the key exists twice for a moment, never not at all */
	if (store_remove_key(ks->dir, old_name, &ignored) != 0)
		log_warn("keystore: key '%s' renamed '%s' but the old files stay: %s", old_name,
			 name, ignored.text);
	log_info("renamed key '%s' to '%s'", old_name, name);
	return 0;
}
