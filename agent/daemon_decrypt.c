/* daemon_decrypt: the decrypt@tpm-agent control command behind `tpm-key decrypt`:
 * RSA-OAEP or PKCS#1 v1.5 decryption of one ciphertext by a TPM key made --decrypt. */
#include "daemon_ops.h"

#include <string.h>

#include <sodium.h>

#include "../protocol/control.h"
#include "../keystore/log.h"

/* The OAEP hash named on the wire; SSHKEY_HASH_NONE for an unknown name. */
static enum sshkey_hash oaep_hash_named(const char *name)
{
	if (strcmp(name, "sha1") == 0)
		return SSHKEY_HASH_SHA1;
	if (strcmp(name, "sha256") == 0)
		return SSHKEY_HASH_SHA256;
	if (strcmp(name, "sha384") == 0)
		return SSHKEY_HASH_SHA384;
	if (strcmp(name, "sha512") == 0)
		return SSHKEY_HASH_SHA512;
	return SSHKEY_HASH_NONE;
}

/* The key named, if it is an RSA key the TPM may decrypt with. */
static struct ks_key *decrypt_key(struct agent *a, const char *name, struct errmsg *e)
{
	struct ks_key *k = keystore_find_name(a->ks, name);
	int can;

	if (k == NULL) {
		errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
		return NULL;
	}
	if (k->pub.type != SSHKEY_RSA) {
		errmsg_set(e, "key '%s' is an %s key; decryption needs an RSA key made with "
			   "tpm-key gen -t rsa --decrypt", name, sshkey_family_name(k->pub.type));
		return NULL;
	}
	if ((can = tpm_key_can_decrypt(&k->tk, e)) < 0)
		return NULL;
	if (can == 0) {
		errmsg_set(e, "key '%s' was made without --decrypt; it can only sign", name);
		return NULL;
	}
	return k;
}

/* A scripted ciphertext is always exactly the modulus long (RFC 8017 7.1.2 / 7.2.2
 * step 1); anything else is refused here with both lengths named. */
static int check_cipher_len(const struct ks_key *k, size_t len, struct errmsg *e)
{
	size_t n_len = (sshkey_bits(&k->pub) + 7) / 8;

	if (len == n_len)
		return 0;
	return errmsg_set(e, "ciphertext too %s: %zu bytes, key '%s' needs exactly %zu "
			  "(its modulus length)", len < n_len ? "short" : "long", len, k->name,
			  n_len);
}

static int parse_padding(uint32_t pad, const char *hash_name, enum tpm_rsa_padding *p,
			 enum sshkey_hash *h, struct errmsg *e)
{
	*h = SSHKEY_HASH_NONE;
	if (pad == CTL_PAD_PKCS1) {
		*p = TPM_RSA_PKCS1;
		return 0;
	}
	if (pad != CTL_PAD_OAEP)
		return errmsg_set(e, "unknown padding %u (OAEP or PKCS#1)", pad);
	*p = TPM_RSA_OAEP;
	if ((*h = oaep_hash_named(hash_name)) == SSHKEY_HASH_NONE)
		return errmsg_set(e, "unknown OAEP hash '%s' (sha1, sha256, sha384, sha512)",
				  hash_name);
	return 0;
}

int ctl_decrypt(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], hash_name[16];
	const uint8_t *cipher, *pin;
	size_t cipher_len, plain_len = 0, pin_len;
	uint32_t pad;
	enum tpm_rsa_padding p;
	enum sshkey_hash h;
	struct ks_key *k;
	uint8_t *plain;
	int r;

	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 || sshbuf_get_u32(body, &pad) != 0 ||
	    sshbuf_get_cstring(body, hash_name, sizeof(hash_name)) != 0 ||
	    sshbuf_get_string(body, &cipher, &cipher_len) != 0)
		return errmsg_set(e, "decrypt: malformed request");
	if (parse_padding(pad, hash_name, &p, &h, e) != 0 ||
	    (k = decrypt_key(a, name, e)) == NULL || check_cipher_len(k, cipher_len, e) != 0)
		return -1;
	if ((r = ctl_key_pin(a, k, &pin, &pin_len, e)) != 0)
		return r; /* asked through pinentry first, then this runs again */
	/* The plaintext is the secret here: it lives in locked memory until sent. */
	if ((plain = sodium_malloc(TPM_RSA_MSG_MAX)) == NULL)
		return errmsg_set(e, "decrypt: out of memory");
	r = keystore_decrypt_rsa_pad(a->ks, k, pin, pin_len, p, h, cipher, cipher_len, plain,
				     TPM_RSA_MSG_MAX, &plain_len, e);
	if (r == 0 && sshbuf_put_string(out, plain, plain_len) != 0)
		r = errmsg_set(e, "decrypt: reply too large");
	sodium_free(plain);
	if (r == 0)
		log_info("decrypted %zu bytes with key '%s'", cipher_len, name);
	return r;
}
