/* daemon_import: import@tpm-agent, a software private key made a TPM key.
 *   string name ("" = default), string comment, string key type ("ecdsa-sha2-nistp256",
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
#include "log.h"

int ctl_import(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX], type[64];
	struct tpm_import_in *in = sodium_malloc(sizeof(*in));
	struct ks_key *k = NULL;
	uint8_t *secret;
	int r;

	if (in == NULL)
		return errmsg_set(e, "import: out of memory");
	memset(in, 0, sizeof(*in));
	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 ||
	    sshbuf_get_cstring(body, comment, sizeof(comment)) != 0 ||
	    sshbuf_get_cstring(body, type, sizeof(type)) != 0) {
		sodium_free(in);
		return errmsg_set(e, "import: malformed request");
	}
	/* the rest of the request is key material: wiped whatever happens */
	secret = (uint8_t *)sshbuf_ptr(body);
	r = wrap_material(body, type, in, e);
	sodium_memzero(secret, (size_t)(body->d + body->size - secret));
	if (r == 0)
		r = keystore_import(a->ks, in, name, comment, &k, e);
	sodium_free(in);
	if (r != 0)
		return r;
	if (sshbuf_put_cstring(out, k->name) != 0 ||
	    sshbuf_put_string(out, k->blob, k->blob_len) != 0 ||
	    sshbuf_put_cstring(out, k->comment) != 0)
		return errmsg_set(e, "import: reply too large");
	return 0;
}
