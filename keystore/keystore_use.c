/* keystore_use: a stored key at work: signing (ssh and digests), RSA decryption, ECDH,
 * changing its PIN; each refused before the TPM when a PIN is needed and none came. */
#include "keystore.h"

#include <stdlib.h>
#include <string.h>

#include "keypolicy.h"
#include "keystore_internal.h"
#include "log.h"

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
