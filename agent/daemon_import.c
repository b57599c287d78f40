/* daemon_import: import@tpm-agent, a software private key made a TPM key.
 *   string name ("" = default), string comment, uint32 flags (CTL_IMPORT_NO_PIN; without
 *   it the new PIN comes from the PIN job, a->op_pin), string key type ("ecdsa-sha2-nistp256",
 *   "-nistp384", "-nistp521" or "ssh-rsa"), then ECDSA: string Q (04||X||Y), string d;
 *   RSA: string n, string e, string p (big-endian unsigned)
 *   -> string name, string key blob, string comment
 * The key material is copied into sodium memory and wiped from the request. */
#include "daemon.h"
#include "daemon_ops.h"

#include <string.h>

#include <sodium.h>

#include "../keystore/keystore.h"
#include "../keystore/wrap.h"
#include "../protocol/control.h"
#include "../keystore/log.h"

/* The request up to the key material. */
struct import_head {
	char name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX], type[64];
	uint32_t flags;
};

static int get_head(struct sshbuf *body, struct import_head *h, struct errmsg *e)
{
	if (sshbuf_get_cstring(body, h->name, sizeof(h->name)) != 0 ||
	    sshbuf_get_cstring(body, h->comment, sizeof(h->comment)) != 0 ||
	    sshbuf_get_u32(body, &h->flags) != 0 ||
	    sshbuf_get_cstring(body, h->type, sizeof(h->type)) != 0)
		return errmsg_set(e, "import: malformed request");
	return 0;
}

static unsigned import_bits(const struct tpm_import_in *in)
{
	return in->type == SSHKEY_ECDSA_P256 ? 256 : in->type == SSHKEY_ECDSA_P384 ? 384 :
	       in->type == SSHKEY_ECDSA_P521 ? 521 : (unsigned)(in->n_len * 8);
}

int ctl_import_peek(struct agent *a, const struct sshbuf *body, char *name, size_t len,
		    uint32_t *flags, struct errmsg *e)
{
	struct tpm_import_in *in = sodium_malloc(sizeof(*in));
	struct sshbuf b = *body;
	struct import_head h;
	int r;

	if (in == NULL)
		return errmsg_set(e, "import: out of memory");
	memset(in, 0, sizeof(*in));
	if ((r = get_head(&b, &h, e)) == 0 && (r = wrap_material(&b, h.type, in, e)) == 0) {
		*flags = h.flags;
		if (h.name[0] != '\0')
			snprintf(name, len, "%s", h.name);
		else
			r = keystore_default_name(a->ks, in->type, import_bits(in), name, len, e);
	}
	sodium_free(in);
	return r;
}

int ctl_import(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	struct tpm_import_in *in = sodium_malloc(sizeof(*in));
	struct import_head h;
	struct ks_key *k = NULL;
	uint8_t *secret;
	int r;

	if (in == NULL)
		return errmsg_set(e, "import: out of memory");
	memset(in, 0, sizeof(*in));
	if (get_head(body, &h, e) != 0) {
		sodium_free(in);
		return -1;
	}
	/* the rest of the request is key material: wiped whatever happens */
	secret = (uint8_t *)sshbuf_ptr(body);
	r = wrap_material(body, h.type, in, e);
	sodium_memzero(secret, (size_t)(body->d + body->size - secret));
	/* A key with a PIN gets it from the PIN job that runs this handler (daemon_pinjob.c). */
	if (r == 0 && !(h.flags & CTL_IMPORT_NO_PIN) && a->op_pin == NULL)
		r = errmsg_set(e, "import: the key needs a PIN and this agent cannot prompt for "
			       "one; tpm-key import --no-pin makes a key without a PIN");
	if (r == 0)
		r = keystore_import(a->ks, in, h.name, h.comment,
				    (h.flags & CTL_IMPORT_NO_PIN) ? NULL : (const uint8_t *)a->op_pin,
				    (h.flags & CTL_IMPORT_NO_PIN) ? 0 : a->op_pin_len, &k, e);
	sodium_free(in);
	if (r != 0)
		return r;
	if (sshbuf_put_cstring(out, k->name) != 0 ||
	    sshbuf_put_string(out, k->blob, k->blob_len) != 0 ||
	    sshbuf_put_cstring(out, k->comment) != 0)
		return errmsg_set(e, "import: reply too large");
	return 0;
}
