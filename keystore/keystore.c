/* keystore: the agent's in-memory view of the key store. Each key's public blob,
 * fingerprint and keygrip are worked out once at load, so listing never touches the TPM. */
#include "keystore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keypolicy.h"
#include "log.h"
#include "tpm_hierarchy.h"

struct keystore {
	char dir[4096];
	struct tpm *tpm;
	struct ks_key **keys;
	size_t n, alloc;
	struct ks_policy *gen_policy; /* keystore_generate_bound's, for the next key made */
	size_t orphans_removed, pubs_rewritten; /* keystore_open's repairs */
};

static int ks_append(struct keystore *ks, struct ks_key *k, struct errmsg *e)
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

static void ks_key_free(struct keystore *ks, struct ks_key *k)
{
	if (k == NULL)
		return;
	if (ks->tpm != NULL)
		tpm_key_unload(ks->tpm, &k->tk);
	ks_policy_free(k->policy);
	free(k);
}

/* Fills the derived fields (blob, fingerprint, keygrip) from k->pub. */
static int ks_key_derive(struct ks_key *k, struct errmsg *e)
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
static int ks_not_in_store(const struct ks_key *k, const char *what, struct errmsg *e)
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

int keystore_add_hierarchy_key(struct keystore *ks, uint32_t hierarchy, const char *hname,
			       const char *tname, struct ks_key **out, struct errmsg *e)
{
	enum sshkey_type type;
	unsigned bits;
	struct ks_key *k;
	char name[STORE_NAME_MAX];

	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if (tpm_hierarchy_keytype(tname, &type, &bits) != 0)
		return errmsg_set(e, "hierarchy key type '%s': use ecdsa256, ecdsa384, ecdsa521, "
				  "rsa2048 or rsa3072", tname);
	snprintf(name, sizeof(name), "%s-%s", hname, tname);
	if (keystore_find_name(ks, name) != NULL)
		return errmsg_set(e, "a key named '%s' is served already", name);
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return errmsg_set(e, "keystore: out of memory");
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->comment, sizeof(k->comment), "%s hierarchy key", hname);
	k->empty_auth = 1;
	if (tpm_hierarchy_key(ks->tpm, hierarchy, type, bits, &k->tk, &k->pub, e) != 0 ||
	    ks_key_derive(k, e) != 0 || ks_append(ks, k, e) != 0) {
		free(k);
		return -1;
	}
	log_info("hierarchy key '%s' (%s)", k->name, k->fingerprint);
	if (out != NULL)
		*out = k;
	return 0;
}

/* "ecdsa-p256", "rsa-3072", then "-2", "-3" ... until the name is free. */
int keystore_default_name(struct keystore *ks, enum sshkey_type type, unsigned bits,
			  char *out, size_t len, struct errmsg *e)
{
	char base[STORE_NAME_MAX];

	if (type == SSHKEY_RSA)
		snprintf(base, sizeof(base), "rsa-%u", bits);
	else
		snprintf(base, sizeof(base), "ecdsa-p%u", bits);
	snprintf(out, len, "%s", base);
	for (unsigned i = 2; i < 1000; i++) {
		if (!store_key_exists(ks->dir, out) && keystore_find_name(ks, out) == NULL)
			return 0;
		if (snprintf(out, len, "%s-%u", base, i) >= (int)len)
			break;
	}
	return errmsg_set(e, "no free default name for %s; pass one with -n", base);
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
static int ks_write_key(struct keystore *ks, const struct ks_key *k, uint32_t parent,
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

static int ks_check_generate_args(enum sshkey_type type, unsigned bits, struct errmsg *e)
{
	if (type == SSHKEY_RSA && bits == 4096)
		return errmsg_set(e, "RSA 4096 is not supported: TPM 2.0 devices (and swtpm) "
				  "create RSA keys of at most 3072 bits; use -b 3072 or -t ecdsa");
	if (type == SSHKEY_RSA && bits != 2048 && bits != 3072)
		return errmsg_set(e, "RSA keys are 2048 or 3072 bits, not %u", bits);
	if (type != SSHKEY_RSA && type != SSHKEY_ECDSA_P256 && type != SSHKEY_ECDSA_P384 &&
	    type != SSHKEY_ECDSA_P521)
		return errmsg_set(e, "unsupported key type (use ecdsa -b 256|384|521 or rsa -b 2048|3072)");
	return 0;
}

int keystore_generate(struct keystore *ks, enum sshkey_type type, unsigned bits,
		      const char *name, const char *comment, struct ks_key **out,
		      struct errmsg *e)
{
	return keystore_generate_flags(ks, type, bits, name, comment, 0, out, e);
}

int keystore_generate_flags(struct keystore *ks, enum sshkey_type type, unsigned bits,
			    const char *name, const char *comment, unsigned flags,
			    struct ks_key **out, struct errmsg *e)
{
	return keystore_generate_auth(ks, type, bits, name, comment, flags, NULL, 0, out, e);
}

/* How k came to be, under the SRK the TPM has now (written with the key). */
static void ks_origin_now(struct keystore *ks, struct ks_key *k, enum ks_origin_kind kind)
{
	k->origin.kind = kind;
	if (tpm_srk_name(ks->tpm, k->origin.srk_name, sizeof(k->origin.srk_name),
			 &k->origin.srk_name_len) != 0)
		k->origin.srk_name_len = 0;
}

/* A new, empty key with its name (given, checked and free; or the type's default) and
 * comment set; NULL with e set. */
static struct ks_key *ks_new_named(struct keystore *ks, enum sshkey_type type, unsigned bits,
				   const char *name, const char *comment, struct errmsg *e)
{
	struct ks_key *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		errmsg_set(e, "keystore: out of memory");
		return NULL;
	}
	if (name != NULL && name[0] != '\0') {
		if (!store_name_valid(name)) {
			errmsg_set(e, "invalid key name '%s' (use letters, digits and . _ @ + -)", name);
			goto fail;
		}
		if (store_key_exists(ks->dir, name) || keystore_find_name(ks, name) != NULL) {
			errmsg_set(e, "a key named '%s' exists already (tpm-key rm %s first, or pick "
				   "another -n)", name, name);
			goto fail;
		}
		snprintf(k->name, sizeof(k->name), "%s", name);
	} else if (keystore_default_name(ks, type, bits, k->name, sizeof(k->name), e) != 0) {
		goto fail;
	}
	snprintf(k->comment, sizeof(k->comment), "%s", comment ? comment : "");
	return k;
fail:
	free(k);
	return NULL;
}

int keystore_generate_auth(struct keystore *ks, enum sshkey_type type, unsigned bits,
			   const char *name, const char *comment, unsigned flags,
			   const uint8_t *pin, size_t pin_len, struct ks_key **out,
			   struct errmsg *e)
{
	struct ks_key *k;
	struct tpm_info info;

	if (ks_check_generate_args(type, bits, e) != 0)
		return TPM_E_UNSUPPORTED;
	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if ((k = ks_new_named(ks, type, bits, name, comment, e)) == NULL)
		return -1;
	k->empty_auth = pin_len == 0;
	ks_origin_now(ks, k, KS_ORIGIN_GENERATED);
	int r = ks_policy_create(ks->tpm, &ks->gen_policy, type, bits,
				 (flags & KS_GEN_DECRYPT) ? TPM_KEY_DECRYPT : 0, pin, pin_len,
				 &k->tk, &k->pub, &k->policy, e);
	if (r != 0 || tpm_get_info(ks->tpm, &info, e) != 0 || ks_key_derive(k, e) != 0 ||
	    ks_write_key(ks, k, info.parent, 1, e) != 0 || ks_append(ks, k, e) != 0) {
		ks_policy_free(k->policy);
		free(k);
		return r != 0 ? r : -1;
	}
	log_info("generated key '%s' (%s %u, %s)", k->name, sshkey_family_name(type), bits,
		 k->fingerprint);
	if (out != NULL)
		*out = k;
	return 0;
}

int keystore_import(struct keystore *ks, const struct tpm_import_in *in, const char *name,
		    const char *comment, const uint8_t *pin, size_t pin_len,
		    struct ks_key **out, struct errmsg *e)
{
	struct ks_key *k;
	struct tpm_info info;
	unsigned bits = in->type == SSHKEY_ECDSA_P256 ? 256 : in->type == SSHKEY_ECDSA_P384 ? 384 :
			in->type == SSHKEY_ECDSA_P521 ? 521 : (unsigned)(in->n_len * 8);
	int r;

	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if ((k = ks_new_named(ks, in->type, bits, name, comment, e)) == NULL)
		return -1;
	k->empty_auth = pin_len == 0;
	ks_origin_now(ks, k, KS_ORIGIN_IMPORTED);
	r = tpm_import_key(ks->tpm, in, pin, pin_len, &k->tk, &k->pub, e);
	if (r != 0 || tpm_get_info(ks->tpm, &info, e) != 0 || ks_key_derive(k, e) != 0 ||
	    ks_write_key(ks, k, info.parent, 1, e) != 0 || ks_append(ks, k, e) != 0) {
		free(k);
		return r != 0 ? r : -1;
	}
	log_info("imported key '%s' (%s, %s)%s", k->name, sshkey_family_name(in->type),
		 k->fingerprint, pin_len ? " with a PIN" : " without a PIN");
	if (out != NULL)
		*out = k;
	return 0;
}

/* The key inside a loadable file from elsewhere (ssh-tpm-agent, tpm2-openssl) must be
 * under this TPM's SRK: TPM2_Load says so before the file joins the store. */
static int ks_check_loadable(struct keystore *ks, const struct tss2key *f, struct ks_key *k,
			     const struct tpm_info *info, struct errmsg *e)
{
	if (tpm_parent_hierarchy(f->parent) != info->hierarchy)
		return errmsg_set(e, "the key's parent is 0x%08x (%s hierarchy); this agent runs "
				  "with hierarchy = %s", f->parent,
				  tpm_hierarchy_name(tpm_parent_hierarchy(f->parent)),
				  tpm_hierarchy_name(info->hierarchy));
	if (f->pub_len > sizeof(k->tk.pub) || f->priv_len > sizeof(k->tk.priv))
		return errmsg_set(e, "TPM blobs too large");
	memcpy(k->tk.pub, f->pub, f->pub_len);
	k->tk.pub_len = f->pub_len;
	memcpy(k->tk.priv, f->priv, f->priv_len);
	k->tk.priv_len = f->priv_len;
	if (tpm_key_load(ks->tpm, &k->tk, e) != 0) {
		errmsg_prefix(e, "the key does not load under this TPM's SRK (made on another TPM?)");
		return -1;
	}
	return 0;
}

int keystore_add(struct keystore *ks, const struct tss2key *f, const char *name,
		 const char *comment, struct ks_key **out, struct errmsg *e)
{
	struct tpm_key *probe = calloc(1, sizeof(*probe));
	struct sshkey_pub pub;
	struct tpm_info info;
	struct ks_key *k = NULL;
	int r = -1;

	if (probe == NULL)
		return errmsg_set(e, "keystore: out of memory");
	if (ks->tpm == NULL)
		errmsg_set(e, "keystore: no TPM connection");
	else if (f->type == TSS2KEY_SEALED)
		errmsg_set(e, "the file holds sealed data, not a key");
	else if (f->n_policy > 0 || f->n_authpolicy > 0)
		errmsg_set(e, "keys bound to a TPM policy cannot be added (only keys with a PIN "
			   "or none)");
	else if (f->pub_len > sizeof(probe->pub))
		errmsg_set(e, "TPM public blob too large");
	else
		r = 0;
	if (r == 0) {
		memcpy(probe->pub, f->pub, f->pub_len);
		probe->pub_len = f->pub_len;
		if ((r = tpm_key_public(probe, &pub, e)) == 0)
			r = tpm_get_info(ks->tpm, &info, e);
	}
	if (r == 0 && (k = ks_new_named(ks, pub.type, sshkey_bits(&pub), name, comment, e)) == NULL)
		r = -1;
	if (r == 0)
		r = f->type == TSS2KEY_IMPORTABLE ? tpm_import_wrapped(ks->tpm, f, &k->tk, e) :
						     ks_check_loadable(ks, f, k, &info, e);
	if (r == 0) {
		k->empty_auth = f->empty_auth;
		k->pub = pub;
		/* a loadable file's origin shows in its public area (sensitiveDataOrigin) */
		ks_origin_now(ks, k, f->type == TSS2KEY_IMPORTABLE ? KS_ORIGIN_WRAPPED :
								       KS_ORIGIN_UNKNOWN);
		if (ks_key_derive(k, e) != 0 || ks_write_key(ks, k, info.parent, 1, e) != 0 ||
		    ks_append(ks, k, e) != 0)
			r = -1;
	}
	free(probe);
	if (r != 0) {
		if (k != NULL)
			ks_key_free(ks, k);
		return r;
	}
	log_info("added key '%s' (%s, %s)", k->name,
		 f->type == TSS2KEY_IMPORTABLE ? "imported" : "loadable", k->fingerprint);
	if (out != NULL)
		*out = k;
	return 0;
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

/* r from a TPM use of k: TPM_E_FOREIGN marks k (not offered any more) and says so once. */
static int ks_used(struct ks_key *k, int r)
{
	if (r == TPM_E_FOREIGN && !k->foreign) {
		k->foreign = 1;
		log_warn("key '%s' is not under this TPM's SRK (TPM2_Load: integrity): no longer "
			 "offered; remove it with tpm-key rm %s, or use it on the TPM it was made on",
			 k->name, k->name);
	}
	return r;
}

int keystore_key_foreign(struct keystore *ks, const struct ks_key *k, struct errmsg *why)
{
	uint8_t srk[KS_ORIGIN_NAME_MAX];
	size_t len = 0;

	if (k->foreign) {
		if (why != NULL)
			errmsg_set(why, "TPM2_Load refused it: not made under this TPM's SRK; "
				   "remove it with tpm-key rm, or use it on the TPM it was made on");
		return 1;
	}
	if (ks->tpm == NULL || tpm_srk_name(ks->tpm, srk, sizeof(srk), &len) != 0)
		return 0;
	return keyorigin_foreign(&k->origin, srk, len, why);
}

/* KS_E_NEEDS_PIN when k has a PIN and none came: nothing may reach the TPM then. */
static int ks_need_pin(const struct ks_key *k, const uint8_t *pin, struct errmsg *e)
{
	if (k->empty_auth || pin != NULL)
		return 0;
	errmsg_set(e, "key '%s' has a PIN and none was given: refused before any TPM command "
		   "(an empty one would count as a wrong PIN)", k->name);
	return KS_E_NEEDS_PIN;
}

static enum tpm_sig_scheme ks_scheme(enum sshkey_type t)
{
	return t == SSHKEY_RSA ? TPM_SIG_RSASSA : TPM_SIG_ECDSA;
}

int keystore_sign_ssh(struct keystore *ks, struct ks_key *k, const uint8_t *data,
		      size_t len, uint32_t flags, struct sshbuf *sig, struct errmsg *e)
{
	return keystore_sign_ssh_auth(ks, k, NULL, 0, data, len, flags, sig, e);
}

int keystore_sign_ssh_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			   size_t pin_len, const uint8_t *data, size_t len, uint32_t flags,
			   struct sshbuf *sig, struct errmsg *e)
{
	enum sshkey_hash h = sshkey_sign_hash(k->pub.type, flags);
	uint8_t digest[64];
	size_t digest_len = 0;
	struct tpm_signature ts;
	int r;

	if (h == SSHKEY_HASH_NONE)
		return errmsg_set(e, "key '%s': SHA-1 ssh-rsa signatures are not made; the client "
				  "must ask for rsa-sha2-256 or rsa-sha2-512 (or set legacy-rsa-sha1 = yes "
				  "for an old server)", k->name);
	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if ((r = ks_need_pin(k, pin, e)) != 0)
		return r;
	if (sshkey_hash(h, data, len, digest, &digest_len) != 0)
		return errmsg_set(e, "cannot hash the data to sign");
	if ((r = ks_policy_begin(ks->tpm, k->name, &k->tk, k->policy, e)) == 0)
		r = tpm_sign(ks->tpm, &k->tk, pin, pin_len, ks_scheme(k->pub.type), h, digest,
			     digest_len, &ts, e);
	ks_policy_end(ks->tpm, k->policy);
	if (r != 0)
		return ks_used(k, r);
	if (k->pub.type == SSHKEY_RSA)
		r = sshkey_sig_rsa_to_blob(h, ts.s, ts.s_len, k->pub.n_len, sig);
	else
		r = sshkey_sig_ecdsa_to_blob(k->pub.type, ts.r, ts.r_len, ts.s, ts.s_len, sig);
	if (r != 0)
		return errmsg_set(e, "cannot encode the signature: %s", sshbuf_strerror(r));
	return 0;
}

/* The hash whose digest is len bytes long (the TPM's rule for TPM2_Sign). */
static enum sshkey_hash ks_hash_of_len(size_t len)
{
	switch (len) {
	case 20: return SSHKEY_HASH_SHA1;
	case 32: return SSHKEY_HASH_SHA256;
	case 48: return SSHKEY_HASH_SHA384;
	case 64: return SSHKEY_HASH_SHA512;
	default: return SSHKEY_HASH_NONE;
	}
}

int keystore_sign_digest(struct keystore *ks, struct ks_key *k, enum sshkey_hash hash,
			 const uint8_t *digest, size_t len, struct tpm_signature *sig,
			 struct errmsg *e)
{
	return keystore_sign_digest_auth(ks, k, NULL, 0, hash, digest, len, sig, e);
}

int keystore_sign_digest_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			      size_t pin_len, enum sshkey_hash hash, const uint8_t *digest,
			      size_t len, struct tpm_signature *sig, struct errmsg *e)
{
	enum sshkey_hash tpm_hash = hash;

	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if (ks_need_pin(k, pin, e) != 0)
		return KS_E_NEEDS_PIN;
	if (k->pub.type == SSHKEY_RSA &&
	    (hash == SSHKEY_HASH_NONE || sshkey_hash_len(hash) != len))
		return errmsg_set(e, "key '%s': a %zu-byte digest does not match its hash "
				  "algorithm", k->name, len);
	if (k->pub.type != SSHKEY_RSA) {
		size_t field = sshkey_ec_field_len(k->pub.type);

		if (len > field)
			len = field;
		if ((tpm_hash = ks_hash_of_len(len)) == SSHKEY_HASH_NONE)
			return errmsg_set(e, "key '%s': no TPM hash is %zu bytes long", k->name, len);
	}
	int r = ks_policy_begin(ks->tpm, k->name, &k->tk, k->policy, e);

	if (r == 0)
		r = tpm_sign(ks->tpm, &k->tk, pin, pin_len, ks_scheme(k->pub.type), tpm_hash,
			     digest, len, sig, e);
	ks_policy_end(ks->tpm, k->policy);
	return ks_used(k, r);
}

int keystore_decrypt_rsa(struct keystore *ks, struct ks_key *k, const uint8_t *c, size_t c_len,
			 uint8_t *out, size_t out_max, size_t *out_len, struct errmsg *e)
{
	return keystore_decrypt_rsa_auth(ks, k, NULL, 0, c, c_len, out, out_max, out_len, e);
}

int keystore_decrypt_rsa_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			      size_t pin_len, const uint8_t *c, size_t c_len, uint8_t *out,
			      size_t out_max, size_t *out_len, struct errmsg *e)
{
	/* RSAES: the TPM strips the PKCS#1 type-2 padding itself. */
	return keystore_decrypt_rsa_pad(ks, k, pin, pin_len, TPM_RSA_PKCS1, SSHKEY_HASH_NONE,
					c, c_len, out, out_max, out_len, e);
}

int keystore_decrypt_rsa_pad(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			     size_t pin_len, enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
			     const uint8_t *c, size_t c_len, uint8_t *out, size_t out_max,
			     size_t *out_len, struct errmsg *e)
{
	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if (ks_need_pin(k, pin, e) != 0)
		return KS_E_NEEDS_PIN;
	int r = ks_policy_begin(ks->tpm, k->name, &k->tk, k->policy, e);

	if (r == 0)
		r = tpm_rsa_decrypt(ks->tpm, &k->tk, pin, pin_len, pad, oaep_hash, NULL, 0, c,
				    c_len, out, out_max, out_len, e);
	ks_policy_end(ks->tpm, k->policy);
	return ks_used(k, r);
}

int keystore_ecdh_zgen(struct keystore *ks, struct ks_key *k, const uint8_t *point,
		       size_t len, uint8_t *out, size_t out_max, size_t *out_len,
		       struct errmsg *e)
{
	return keystore_ecdh_zgen_auth(ks, k, NULL, 0, point, len, out, out_max, out_len, e);
}

int keystore_ecdh_zgen_auth(struct keystore *ks, struct ks_key *k, const uint8_t *pin,
			    size_t pin_len, const uint8_t *point, size_t len, uint8_t *out,
			    size_t out_max, size_t *out_len, struct errmsg *e)
{
	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if (ks_need_pin(k, pin, e) != 0)
		return KS_E_NEEDS_PIN;
	int r = ks_policy_begin(ks->tpm, k->name, &k->tk, k->policy, e);

	if (r == 0)
		r = tpm_ecdh_zgen(ks->tpm, &k->tk, pin, pin_len, point, len, out, out_max, out_len, e);
	ks_policy_end(ks->tpm, k->policy);
	return ks_used(k, r);
}

/* The new private blob is on disk (atomically) before the key in memory changes, so a
 * failure at any step leaves the old key working with the old PIN. */
int keystore_change_auth(struct keystore *ks, struct ks_key *k, const uint8_t *old_pin,
			 size_t old_len, const uint8_t *new_pin, size_t new_len,
			 struct errmsg *e)
{
	struct ks_key *fresh;
	struct tpm_info info;
	int r;

	if (ks_not_in_store(k, "passwd", e))
		return -1;
	if (ks->tpm == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	/* Only the policy authorises a PCR-bound key: without PolicyAuthValue in it (fixed
	 * at creation) a PIN set now would never be checked. */
	if (k->policy != NULL && new_len > 0 && !tpm_policy_needs_auth(&k->policy->tp))
		return errmsg_set(e, "key '%s' is PCR-bound and was made without a PIN: its "
				  "policy would not check one set now; make a new key with a PIN",
				  k->name);
	if (ks_need_pin(k, old_pin, e) != 0)
		return KS_E_NEEDS_PIN;
	if ((fresh = calloc(1, sizeof(*fresh))) == NULL)
		return errmsg_set(e, "keystore: out of memory");
	*fresh = *k;
	r = tpm_change_auth(ks->tpm, &k->tk, old_pin, old_len, new_pin, new_len, &fresh->tk, e);
	fresh->empty_auth = new_len == 0;
	if (r == 0 && (tpm_get_info(ks->tpm, &info, e) != 0 ||
		       ks_write_key(ks, fresh, info.parent, 0, e) != 0))
		r = -1;
	if (r == 0) {
		tpm_key_unload(ks->tpm, &k->tk); /* the loaded object still has the old PIN */
		k->tk = fresh->tk;
		k->empty_auth = fresh->empty_auth;
		log_info("changed the PIN of key '%s'%s", k->name,
			 new_len == 0 ? " (the key now has none)" : "");
	}
	free(fresh);
	return r;
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
