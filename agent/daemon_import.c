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
#include "log.h"

static int get_num(struct sshbuf *b, uint8_t *out, size_t cap, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (sshbuf_get_string(b, &p, &n) != 0 || n > cap + 1)
		return -1;
	while (n > 0 && p[0] == 0) { /* mpint-style leading zero */
		p++;
		n--;
	}
	if (n > cap)
		return -1;
	memcpy(out, p, n);
	*len = n;
	return 0;
}

static int get_material(struct sshbuf *b, const char *type, struct tpm_import_in *in,
			struct errmsg *e)
{
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0) {
		uint8_t q[1 + 2 * 66];
		size_t q_len = 0, coord;

		if (strcmp(type + 16, "256") == 0)
			in->type = SSHKEY_ECDSA_P256, coord = 32;
		else if (strcmp(type + 16, "384") == 0)
			in->type = SSHKEY_ECDSA_P384, coord = 48;
		else if (strcmp(type + 16, "521") == 0)
			in->type = SSHKEY_ECDSA_P521, coord = 66;
		else
			return errmsg_set(e, "import: unknown ECDSA curve '%s'", type + 16);
		{
			const uint8_t *p;

			if (sshbuf_get_string(b, &p, &q_len) != 0 || q_len != 1 + 2 * coord ||
			    p[0] != 0x04)
				return errmsg_set(e, "import: malformed ECDSA public point");
			memcpy(q, p, q_len);
		}
		memcpy(in->x, q + 1, coord);
		memcpy(in->y, q + 1 + coord, coord);
		in->x_len = in->y_len = coord;
		if (get_num(b, in->d, sizeof(in->d), &in->d_len) != 0)
			return errmsg_set(e, "import: malformed ECDSA private key");
		return 0;
	}
	if (strcmp(type, "ssh-rsa") == 0) {
		uint8_t ebuf[8];
		size_t e_len = 0;

		in->type = SSHKEY_RSA;
		if (get_num(b, in->n, sizeof(in->n), &in->n_len) != 0)
			return errmsg_set(e, "import: RSA keys over 3072 bits (e.g. RSA 4096) "
					  "cannot live in a TPM: TPM 2.0 holds RSA 2048 and 3072 only");
		if (get_num(b, ebuf, sizeof(ebuf), &e_len) != 0 || e_len == 0 || e_len > 4)
			return errmsg_set(e, "import: unsupported RSA public exponent");
		in->e = 0;
		for (size_t i = 0; i < e_len; i++)
			in->e = (in->e << 8) | ebuf[i];
		if (get_num(b, in->p, sizeof(in->p), &in->p_len) != 0)
			return errmsg_set(e, "import: malformed RSA prime");
		return 0;
	}
	if (strcmp(type, "ssh-ed25519") == 0)
		return errmsg_set(e, "import: Ed25519 keys cannot live in a TPM (TPM 2.0 has no "
				  "Ed25519); keep it as a software key or make a TPM key with tpm-key gen");
	return errmsg_set(e, "import: key type '%s' is not supported: the TPM holds ECDSA "
			  "P-256/384/521 and RSA 2048/3072 keys", type);
}

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
	r = get_material(body, type, in, e);
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
