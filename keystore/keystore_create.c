/* keystore_create: new keys in the store: generated in the TPM, imported from software,
 * added from a TSS2 key file made elsewhere, and hierarchy keys; their default names. */
#include "keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keypolicy.h"
#include "keystore_internal.h"
#include "log.h"
#include "tpm_hierarchy.h"

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
