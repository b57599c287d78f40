/* daemon_peer: what users of ssh-tpm-agent expect, on the agent's side.
 *   srk@tpm-agent: -> string SRK public key (PEM), string SRK name (TPM2B_NAME bytes),
 *     uint32 SRK handle, string hierarchy
 *   add@tpm-agent: string name ("" = default), string comment ("" = the file's
 *     description, else fallback), string fallback comment, string TSS2 PEM text
 *     -> string name, string key blob, string comment
 *   supported@tpm-agent: below */
#include "daemon.h"
#include "daemon_ops.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../keystore/keystore.h"
#include "../keystore/tpm_caps.h"
#include "../keystore/tpm_hierarchy.h"
#include "../keystore/wrap.h"
#include "../keystore/log.h"

int ctl_srk(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	uint8_t x[32], y[32], name[TPM_KEY_NAME_MAX];
	size_t name_len = sizeof(name);
	struct tpm_info info;
	char *pem = NULL;
	int r;

	(void)body;
	if (tpm_srk_public(a->tpm, x, y, name, &name_len, e) != 0 ||
	    tpm_get_info(a->tpm, &info, e) != 0 || wrap_srk_to_pem(x, y, &pem, e) != 0)
		return -1;
	r = sshbuf_put_cstring(out, pem);
	if (r == 0)
		r = sshbuf_put_string(out, name, name_len);
	if (r == 0)
		r = sshbuf_put_u32(out, info.srk_handle);
	if (r == 0)
		r = sshbuf_put_cstring(out, tpm_hierarchy_name(info.hierarchy));
	free(pem);
	return r == 0 ? 0 : errmsg_set(e, "srk: %s", sshbuf_strerror(r));
}

int ctl_add(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX], fallback[TSS2KEY_DESC_MAX];
	const uint8_t *pem;
	size_t pem_len;
	struct tss2key *f;
	struct ks_key *k = NULL;
	int r;

	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 ||
	    sshbuf_get_cstring(body, comment, sizeof(comment)) != 0 ||
	    sshbuf_get_cstring(body, fallback, sizeof(fallback)) != 0 ||
	    sshbuf_get_string(body, &pem, &pem_len) != 0 || pem_len > TSS2KEY_FILE_MAX)
		return errmsg_set(e, "add: malformed request");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return errmsg_set(e, "add: out of memory");
	r = tss2key_from_pem((const char *)pem, pem_len, f, e);
	if (r == 0 && comment[0] == '\0')
		snprintf(comment, sizeof(comment), "%s", f->has_description ? f->description :
			 fallback);
	if (r == 0)
		r = keystore_add(a->ks, f, name, comment, &k, e);
	free(f);
	if (r != 0) {
		errmsg_prefix(e, "add");
		return r;
	}
	if (sshbuf_put_cstring(out, k->name) != 0 ||
	    sshbuf_put_string(out, k->blob, k->blob_len) != 0 ||
	    sshbuf_put_cstring(out, k->comment) != 0)
		return errmsg_set(e, "add: reply too large");
	return 0;
}

/* supported@tpm-agent: -> uint32 n, n x (uint32 alg, uint32 TPMA_ALGORITHM); uint32 m,
 * m x uint32 curve; uint32 k, k x (uint32 RSA bits, uint32 1 if the TPM accepts it) */
int ctl_supported(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	struct tpm_caps *c = calloc(1, sizeof(*c));
	int r;

	(void)body;
	if (c == NULL)
		return errmsg_set(e, "supported: out of memory");
	if (tpm_caps_read(a->tpm, c, e) != 0) {
		free(c);
		return -1;
	}
	r = sshbuf_put_u32(out, (uint32_t)c->n_algs);
	for (size_t i = 0; r == 0 && i < c->n_algs; i++)
		if ((r = sshbuf_put_u32(out, c->algs[i].alg)) == 0)
			r = sshbuf_put_u32(out, c->algs[i].attrs);
	if (r == 0)
		r = sshbuf_put_u32(out, (uint32_t)c->n_curves);
	for (size_t i = 0; r == 0 && i < c->n_curves; i++)
		r = sshbuf_put_u32(out, c->curves[i]);
	if (r == 0)
		r = sshbuf_put_u32(out, TPM_CAPS_RSA_PROBES);
	for (size_t i = 0; r == 0 && i < TPM_CAPS_RSA_PROBES; i++)
		if ((r = sshbuf_put_u32(out, c->rsa[i].bits)) == 0)
			r = sshbuf_put_u32(out, (uint32_t)c->rsa[i].ok);
	free(c);
	return r == 0 ? 0 : errmsg_set(e, "supported: %s", sshbuf_strerror(r));
}

/* One key-dirs entry with a leading ~ made $HOME; 0 or -1 (too long, no $HOME). */
static int expand_dir(const char *in, size_t len, char *out, size_t cap)
{
	const char *home = getenv("HOME");

	if (len > 0 && in[0] == '~' && (len == 1 || in[1] == '/')) {
		if (home == NULL || home[0] == '\0')
			return -1;
		return snprintf(out, cap, "%s%.*s", home, (int)(len - 1), in + 1) < (int)cap ? 0 : -1;
	}
	return snprintf(out, cap, "%.*s", (int)len, in) < (int)cap ? 0 : -1;
}

/* hierarchy-keys = HIER:TYPE, ...: each served with no key file. */
static int hierarchy_keys(struct agent *a, struct errmsg *e)
{
	const char *p = a->settings.hierarchy_keys;

	while (*p != '\0') {
		char item[64], *colon, *s = item;
		size_t len;
		uint32_t h;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if ((len = strcspn(p, ",")) == 0)
			break;
		if (len >= sizeof(item))
			return errmsg_set(e, "hierarchy-keys: '%.*s' is too long", (int)len, p);
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			item[--len] = '\0';
		if ((colon = strchr(s, ':')) == NULL)
			return errmsg_set(e, "hierarchy-keys: '%s' is not HIERARCHY:TYPE (e.g. "
					  "owner:ecdsa256)", s);
		*colon = '\0';
		if ((h = tpm_hierarchy_handle(s, e)) == 0 ||
		    keystore_add_hierarchy_key(a->ks, h, s, colon + 1, NULL, e) != 0)
			return errmsg_prefix(e, "hierarchy-keys");
	}
	return 0;
}

/* hierarchy-pub@tpm-agent: string hierarchy, string type ("ecdsa256", ...) -> string key
 * blob, string comment. tpm-key gen --hierarchy: the key, without serving it. */
int ctl_hierarchy_pub(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		      struct errmsg *e)
{
	char hname[32], tname[32], comment[64];
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct sshkey_pub pub;
	enum sshkey_type type;
	unsigned bits;
	uint32_t h = 0;
	int r = -1;

	if (k == NULL)
		return errmsg_set(e, "hierarchy: out of memory");
	if (sshbuf_get_cstring(body, hname, sizeof(hname)) != 0 ||
	    sshbuf_get_cstring(body, tname, sizeof(tname)) != 0)
		errmsg_set(e, "hierarchy: malformed request");
	else if ((h = tpm_hierarchy_handle(hname, e)) == 0)
		;
	else if (tpm_hierarchy_keytype(tname, &type, &bits) != 0)
		errmsg_set(e, "hierarchy key type '%s': use ecdsa256, ecdsa384, ecdsa521, rsa2048 "
			   "or rsa3072", tname);
	else if (tpm_hierarchy_key(a->tpm, h, type, bits, k, &pub, e) == 0)
		r = 0;
	free(k);
	if (r != 0)
		return r;
	snprintf(comment, sizeof(comment), "%s hierarchy key", hname);
	struct sshbuf *blob = sshbuf_new(SSHKEY_BLOB_MAX);

	r = blob == NULL ? SSHBUF_E_NOMEM : sshkey_pub_to_blob(&pub, blob);
	if (r == 0 && (r = sshbuf_put_string(out, sshbuf_ptr(blob), sshbuf_len(blob))) == 0)
		r = sshbuf_put_cstring(out, comment);
	sshbuf_free(blob);
	return r == 0 ? 0 : errmsg_set(e, "hierarchy: %s", sshbuf_strerror(r));
}

int peer_key_locations(struct agent *a, struct errmsg *e)
{
	const char *p = a->settings.key_dirs;

	while (*p != '\0') {
		size_t len;
		char dir[PATH_MAX];
		struct stat st;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			break;
		if (expand_dir(p, len, dir, sizeof(dir)) != 0)
			return errmsg_set(e, "key-dirs: cannot expand '%.*s' (no $HOME, or too long)",
					  (int)len, p);
		p += strcspn(p, ",");
		if (lstat(dir, &st) < 0 && errno == ENOENT) {
			log_warn("key-dirs: %s does not exist (yet); no keys from there", dir);
			continue;
		}
		if (keystore_add_dir(a->ks, dir, e) != 0)
			return -1;
	}
	if (!a->settings.load_keys) {
		for (size_t i = 0; i < keystore_count(a->ks); i++)
			keystore_get(a->ks, i)->hidden = 1;
		log_info("load-keys = no: serving only keys tpm-key load or add names");
	}
	return hierarchy_keys(a, e);
}
