/* tpm_sign: the commands of a loaded key: TPM2_Sign, RSA_Decrypt and ECDH_ZGen. */
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_rc.h>

#include "tpm_internal.h"

/* ---- signing ---- */

/* No key can hold an auth value this long (a TPM2B_AUTH holds the largest digest). */
int tpm_check_auth_len(size_t auth_len, struct errmsg *e)
{
	if (auth_len <= sizeof(((TPM2B_AUTH *)0)->buffer))
		return 0;
	errmsg_set(e, "tpm: wrong PIN (%zu bytes is longer than any TPM auth value)", auth_len);
	return TPM_E_AUTH_FAIL;
}

static int hash_alg(enum sshkey_hash h, TPMI_ALG_HASH *alg, size_t *len)
{
	switch (h) {
	case SSHKEY_HASH_SHA1:   *alg = TPM2_ALG_SHA1;   *len = 20; return 0;
	case SSHKEY_HASH_SHA256: *alg = TPM2_ALG_SHA256; *len = 32; return 0;
	case SSHKEY_HASH_SHA384: *alg = TPM2_ALG_SHA384; *len = 48; return 0;
	case SSHKEY_HASH_SHA512: *alg = TPM2_ALG_SHA512; *len = 64; return 0;
	default: return -1;
	}
}

static int sig_scheme(enum tpm_sig_scheme scheme, TPMI_ALG_HASH alg, TPMT_SIG_SCHEME *s)
{
	memset(s, 0, sizeof(*s));
	switch (scheme) {
	case TPM_SIG_ECDSA:
		s->scheme = TPM2_ALG_ECDSA;
		s->details.ecdsa.hashAlg = alg;
		return 0;
	case TPM_SIG_RSASSA:
		s->scheme = TPM2_ALG_RSASSA;
		s->details.rsassa.hashAlg = alg;
		return 0;
	case TPM_SIG_RSAPSS:
		s->scheme = TPM2_ALG_RSAPSS;
		s->details.rsapss.hashAlg = alg;
		return 0;
	}
	return -1;
}

static int sig_out(const TPMT_SIGNATURE *in, struct tpm_signature *sig, struct errmsg *e)
{
	const TPM2B_PUBLIC_KEY_RSA *rsa;

	switch (in->sigAlg) {
	case TPM2_ALG_ECDSA:
		if (in->signature.ecdsa.signatureR.size > sizeof(sig->r) ||
		    in->signature.ecdsa.signatureS.size > sizeof(sig->s))
			break;
		sig->r_len = in->signature.ecdsa.signatureR.size;
		memcpy(sig->r, in->signature.ecdsa.signatureR.buffer, sig->r_len);
		sig->s_len = in->signature.ecdsa.signatureS.size;
		memcpy(sig->s, in->signature.ecdsa.signatureS.buffer, sig->s_len);
		return 0;
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		rsa = in->sigAlg == TPM2_ALG_RSASSA ? &in->signature.rsassa.sig :
						      &in->signature.rsapss.sig;
		if (rsa->size > sizeof(sig->s))
			break;
		sig->s_len = rsa->size;
		memcpy(sig->s, rsa->buffer, sig->s_len);
		return 0;
	}
	return errmsg_set(e, "tpm: the TPM returned an unexpected signature (algorithm 0x%04x)",
			  in->sigAlg);
}

struct sign_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_DIGEST *digest;
	const TPMT_SIG_SCHEME *scheme;
	TPMT_SIGNATURE *out;
};

/* Loads the key if needed, then TPM2_Sign: the key's auth value keys the session
 * HMAC (it never crosses the bus) and the digest is the encrypted parameter. */
static TSS2_RC sign_op(struct tpm *t, void *arg)
{
	struct sign_args *a = arg;
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	struct auth_cmd c = { .cc = TPM2_CC_Sign, .auth = a->auth, .auth_len = a->auth_len,
			      .secret_param = 1 };
	TSS2_RC rc = tpm_load_key_op(t, a->k);

	if (rc != TSS2_RC_SUCCESS)
		return rc;
	c.name = a->k->state.name;
	c.name_len = a->k->state.name_len;
	rc = Tss2_Sys_Sign_Prepare(t->sys, a->k->state.handle, a->digest, a->scheme, &ticket);
	if (rc == TSS2_RC_SUCCESS)
		rc = tpm_run_auth(t, &c);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Sign_Complete(t->sys, a->out);
	a->k->state.last_use = ++t->clock;
	return rc;
}

int tpm_sign(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
	     enum tpm_sig_scheme scheme, enum sshkey_hash hash,
	     const uint8_t *digest, size_t digest_len,
	     struct tpm_signature *sig, struct errmsg *e)
{
	TPM2B_DIGEST d = { 0 };
	TPMT_SIG_SCHEME s;
	TPMI_ALG_HASH alg;
	TPMT_SIGNATURE out;
	struct sign_args a = { k, auth, auth_len, &d, &s, &out };
	size_t hlen;
	TSS2_RC rc;
	int r;

	memset(sig, 0, sizeof(*sig));
	if (hash_alg(hash, &alg, &hlen) != 0 || sig_scheme(scheme, alg, &s) != 0)
		return tpm_unsupported(e, "signature scheme %d with hash %d is not supported",
				   (int)scheme, (int)hash);
	if (digest_len != hlen)
		return errmsg_set(e, "tpm: a digest of %zu bytes for a %zu-byte hash",
				  digest_len, hlen);
	if ((r = tpm_check_auth_len(auth_len, e)) != 0)
		return r;
	/* Same checks as tpm_key_load, with its messages, before any TPM command. */
	if (tpm_loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memcpy(d.buffer, digest, digest_len);
	d.size = (UINT16)digest_len;
	memset(&out, 0, sizeof(out));
	rc = tpm_run_recovering(t, sign_op, &a);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_base(rc) == TPM2_RC_SCHEME || rc_base(rc) == TPM2_RC_KEY ?
			       "the signature scheme does not fit the key type" : NULL,
			       "cannot sign");
	return sig_out(&out, sig, e);
}

/* ---- decryption: RSA_Decrypt and ECDH_ZGen ---- */

#define MSG_NO_DECRYPT "key was made without --decrypt; it can only sign"
#define MSG_BAD_CIPHER "decryption failed: the ciphertext does not fit this key or its " \
		       "padding is wrong"

/* RSA_Decrypt and ECDH_ZGen take only unrestricted decrypt keys (a restricted one
 * decrypts only what the TPM itself made: a storage key). */
static int attrs_can_decrypt(TPMA_OBJECT a)
{
	return (a & TPMA_OBJECT_DECRYPT) && !(a & TPMA_OBJECT_RESTRICTED);
}

int tpm_key_can_decrypt(const struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (tpm_key_unmarshal_pub(k, &p, e) != 0)
		return TPM_E_FAIL;
	return attrs_can_decrypt(p.publicArea.objectAttributes);
}

/* The public area of k if it is an unrestricted decrypt key of the given type: the TPM
 * would refuse anything else, and this way the refusal says why, before any command. */
static int decrypt_key_public(const struct tpm_key *k, TPMI_ALG_PUBLIC type,
			      TPMT_PUBLIC *out, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (tpm_key_unmarshal_pub(k, &p, e) != 0)
		return TPM_E_FAIL;
	if (p.publicArea.type != type)
		return tpm_unsupported(e, "%s needs an %s key and this is an %s key",
				   type == TPM2_ALG_RSA ? "RSA decryption" : "ECDH",
				   type == TPM2_ALG_RSA ? "RSA" : "ECC",
				   type == TPM2_ALG_RSA ? "ECC" : "RSA");
	if (!attrs_can_decrypt(p.publicArea.objectAttributes))
		return tpm_unsupported(e, MSG_NO_DECRYPT);
	*out = p.publicArea;
	return 0;
}

/* Runs one decrypt-side command on k: the key's auth value keys the session HMAC, the
 * first parameter (ciphertext or peer point) travels encrypted, and so does the
 * response's first parameter (the plaintext or shared point): both are secrets. */
static TSS2_RC key_secret_cmd(struct tpm *t, struct tpm_key *k, TPM2_CC cc,
			      const uint8_t *auth, size_t auth_len)
{
	return tpm_run_key_cmd(t, k, cc, auth, auth_len, 1, 1);
}

struct rsa_decrypt_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_PUBLIC_KEY_RSA *cipher;
	const TPMT_RSA_DECRYPT *scheme;
	const TPM2B_DATA *label;
	TPM2B_PUBLIC_KEY_RSA *out;
};

static TSS2_RC rsa_decrypt_op(struct tpm *t, void *arg)
{
	struct rsa_decrypt_args *a = arg;
	TSS2_RC rc = tpm_load_key_op(t, a->k);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_RSA_Decrypt_Prepare(t->sys, a->k->state.handle, a->cipher,
						  a->scheme, a->label);
	if (rc == TSS2_RC_SUCCESS)
		rc = key_secret_cmd(t, a->k, TPM2_CC_RSA_Decrypt, a->auth, a->auth_len);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_Sys_RSA_Decrypt_Complete(t->sys, a->out);
		tpm_wipe_response(t);
	}
	return rc;
}

static int rsa_scheme(enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
		      TPMT_RSA_DECRYPT *s, struct errmsg *e)
{
	size_t hlen;

	memset(s, 0, sizeof(*s));
	switch (pad) {
	case TPM_RSA_RAW: s->scheme = TPM2_ALG_NULL; return 0;
	case TPM_RSA_PKCS1: s->scheme = TPM2_ALG_RSAES; return 0;
	case TPM_RSA_OAEP:
		s->scheme = TPM2_ALG_OAEP;
		if (hash_alg(oaep_hash, &s->details.oaep.hashAlg, &hlen) == 0)
			return 0;
		return tpm_unsupported(e, "OAEP with hash %d is not supported", (int)oaep_hash);
	}
	return tpm_unsupported(e, "RSA padding %d is not supported", (int)pad);
}

/* The TPM takes a label only as a NUL-terminated string (the NUL is part of it). */
static int rsa_label(enum tpm_rsa_padding pad, const uint8_t *label, size_t label_len,
		     TPM2B_DATA *out, struct errmsg *e)
{
	memset(out, 0, sizeof(*out));
	if (label_len == 0)
		return 0;
	if (pad != TPM_RSA_OAEP)
		return tpm_unsupported(e, "a label goes with OAEP only");
	if (label_len > sizeof(out->buffer) || label[label_len - 1] != 0)
		return tpm_unsupported(e, "the TPM takes an OAEP label of at most %zu bytes that ends "
				   "in a NUL byte, not %zu bytes ending in 0x%02x",
				   sizeof(out->buffer), label_len, label[label_len - 1]);
	memcpy(out->buffer, label, label_len);
	out->size = (UINT16)label_len;
	return 0;
}

/* The ciphertext as the TPM wants it: exactly the modulus long. */
static int rsa_cipher(const TPMT_PUBLIC *p, const uint8_t *cipher, size_t cipher_len,
		      TPM2B_PUBLIC_KEY_RSA *out, struct errmsg *e)
{
	size_t n_len = p->unique.rsa.size;

	memset(out, 0, sizeof(*out));
	if (cipher_len == 0 || cipher_len > n_len || n_len > sizeof(out->buffer)) {
		errmsg_set(e, "tpm: " MSG_BAD_CIPHER " (%zu bytes for a %zu-byte modulus)",
			   cipher_len, n_len);
		return TPM_E_BAD_DATA;
	}
	memcpy(out->buffer + n_len - cipher_len, cipher, cipher_len);
	out->size = (UINT16)n_len;
	return 0;
}

/* The TPM's refusals of the input, said in the caller's terms. */
static int decrypt_err(struct errmsg *e, TSS2_RC rc, const char *what, const char *bad_data)
{
	TSS2_RC b = rc_base(rc);

	/* About the key handle, not the session (whose attributes the TPM may refuse too). */
	if ((b == TPM2_RC_ATTRIBUTES || b == TPM2_RC_KEY) && !(rc & (TPM2_RC_P | TPM2_RC_S))) {
		errmsg_set(e, "tpm: %s: " MSG_NO_DECRYPT " (%s)", what, Tss2_RC_Decode(rc));
		return TPM_E_UNSUPPORTED;
	}
	/* The input parameter was refused (NO_RESULT: ZGen landed on the point at infinity). */
	if (((b == TPM2_RC_VALUE || b == TPM2_RC_SIZE || b == TPM2_RC_ECC_POINT) &&
	     (rc & TPM2_RC_P)) || b == TPM2_RC_NO_RESULT) {
		errmsg_set(e, "tpm: %s (%s)", bad_data, Tss2_RC_Decode(rc));
		return TPM_E_BAD_DATA;
	}
	if (b == TPM2_RC_SCHEME || b == TPM2_RC_HASH) {
		tpm_err(e, rc, "this TPM lacks the padding or hash asked for", "%s", what);
		return TPM_E_UNSUPPORTED;
	}
	return tpm_err(e, rc, NULL, "%s", what);
}

/* Copies the TPM's message out; RAW is left-padded to the modulus, like c^d mod n
 * written as a block of the key's size, whatever leading zeros the TPM dropped. */
static int rsa_out(const TPM2B_PUBLIC_KEY_RSA *m, enum tpm_rsa_padding pad, size_t n_len,
		   uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	size_t len = pad == TPM_RSA_RAW ? n_len : m->size;

	if (m->size > len)
		return errmsg_set(e, "tpm: the TPM returned %u bytes for a %zu-byte modulus",
				  m->size, n_len);
	if (len > out_cap)
		return errmsg_set(e, "tpm: the plaintext of %zu bytes does not fit in %zu",
				  len, out_cap);
	memset(out, 0, len - m->size);
	memcpy(out + len - m->size, m->buffer, m->size);
	*out_len = len;
	return 0;
}

/* Older libtpms (Debian 12's 0.9.2; changed by libtpms PR #444, 2024) answers a failed
 * RSA decryption with TPM_RC_FAILURE, the code of failure mode, without entering it. A TPM
 * really in failure mode says so in GetTestResult, which it must still answer. */
static int failure_was_bad_data(struct tpm *t, TSS2_RC rc)
{
	TPM2B_MAX_BUFFER out = { 0 };
	TPM2_RC result = TPM2_RC_FAILURE;

	if (rc_base(rc) != TPM2_RC_FAILURE)
		return 0;
	return Tss2_Sys_GetTestResult(t->sys, NULL, &out, &result, NULL) == TSS2_RC_SUCCESS &&
	       result == TPM2_RC_SUCCESS;
}

int tpm_rsa_decrypt(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		    enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
		    const uint8_t *label, size_t label_len,
		    const uint8_t *cipher, size_t cipher_len,
		    uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	TPMT_PUBLIC p;
	TPM2B_PUBLIC_KEY_RSA c, m;
	TPMT_RSA_DECRYPT s;
	TPM2B_DATA l;
	struct rsa_decrypt_args a = { k, auth, auth_len, &c, &s, &l, &m };
	TSS2_RC rc;
	int r;

	*out_len = 0;
	if ((r = decrypt_key_public(k, TPM2_ALG_RSA, &p, e)) != 0 ||
	    (r = rsa_scheme(pad, oaep_hash, &s, e)) != 0 ||
	    (r = rsa_label(pad, label, label_len, &l, e)) != 0 ||
	    (r = rsa_cipher(&p, cipher, cipher_len, &c, e)) != 0 ||
	    (r = tpm_check_auth_len(auth_len, e)) != 0)
		return r;
	/* Same checks as tpm_key_load, with its messages, before any TPM command. */
	if (tpm_loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memset(&m, 0, sizeof(m));
	rc = tpm_run_recovering(t, rsa_decrypt_op, &a);
	if (rc != TSS2_RC_SUCCESS && failure_was_bad_data(t, rc)) {
		errmsg_set(e, "tpm: " MSG_BAD_CIPHER);
		r = TPM_E_BAD_DATA;
	} else if (rc != TSS2_RC_SUCCESS)
		r = decrypt_err(e, rc, "cannot decrypt", MSG_BAD_CIPHER);
	else
		r = rsa_out(&m, pad, p.unique.rsa.size, out, out_cap, out_len, e);
	OPENSSL_cleanse(&m, sizeof(m));
	return r;
}

/* ---- ECDH ---- */

static size_t curve_field_len(TPM2_ECC_CURVE curve)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256: return 32;
	case TPM2_ECC_NIST_P384: return 48;
	case TPM2_ECC_NIST_P521: return 66;
	}
	return 0;
}

/* 04 || X || Y of exactly the key's field length, split into the TPM's point. */
static int ecc_in_point(size_t flen, const uint8_t *point, size_t point_len,
			TPM2B_ECC_POINT *out, struct errmsg *e)
{
	memset(out, 0, sizeof(*out));
	if (flen == 0 || flen > sizeof(out->point.x.buffer) || point_len != 1 + 2 * flen ||
	    point[0] != 0x04) {
		errmsg_set(e, "tpm: the peer's EC point is %zu bytes starting 0x%02x; this key's "
			   "curve needs an uncompressed point 04||X||Y of %zu bytes", point_len,
			   point_len > 0 ? point[0] : 0, 1 + 2 * flen);
		return TPM_E_BAD_DATA;
	}
	memcpy(out->point.x.buffer, point + 1, flen);
	memcpy(out->point.y.buffer, point + 1 + flen, flen);
	out->point.x.size = out->point.y.size = (UINT16)flen;
	return 0;
}

/* The shared point as 04 || X || Y, coordinates left-padded to the field length. */
static int ecc_out_point(const TPM2B_ECC_POINT *z, size_t flen, uint8_t *out,
			 size_t out_cap, size_t *out_len, struct errmsg *e)
{
	const TPM2B_ECC_PARAMETER *x = &z->point.x, *y = &z->point.y;

	if (x->size == 0 || x->size > flen || y->size == 0 || y->size > flen)
		return errmsg_set(e, "tpm: the TPM returned a point with coordinates of %u and "
				  "%u bytes, not at most %zu", x->size, y->size, flen);
	if (1 + 2 * flen > out_cap)
		return errmsg_set(e, "tpm: the shared point of %zu bytes does not fit in %zu",
				  1 + 2 * flen, out_cap);
	memset(out, 0, 1 + 2 * flen);
	out[0] = 0x04;
	memcpy(out + 1 + flen - x->size, x->buffer, x->size);
	memcpy(out + 1 + 2 * flen - y->size, y->buffer, y->size);
	*out_len = 1 + 2 * flen;
	return 0;
}

struct zgen_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_ECC_POINT *in;
	TPM2B_ECC_POINT *out;
};

static TSS2_RC zgen_op(struct tpm *t, void *arg)
{
	struct zgen_args *a = arg;
	TSS2_RC rc = tpm_load_key_op(t, a->k);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_ECDH_ZGen_Prepare(t->sys, a->k->state.handle, a->in);
	if (rc == TSS2_RC_SUCCESS)
		rc = key_secret_cmd(t, a->k, TPM2_CC_ECDH_ZGen, a->auth, a->auth_len);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_Sys_ECDH_ZGen_Complete(t->sys, a->out);
		tpm_wipe_response(t);
	}
	return rc;
}

int tpm_ecdh_zgen(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		  const uint8_t *point, size_t point_len,
		  uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	TPMT_PUBLIC p;
	TPM2B_ECC_POINT in, z;
	struct zgen_args a = { k, auth, auth_len, &in, &z };
	size_t flen;
	TSS2_RC rc;
	int r;

	*out_len = 0;
	if ((r = decrypt_key_public(k, TPM2_ALG_ECC, &p, e)) != 0)
		return r;
	flen = curve_field_len(p.parameters.eccDetail.curveID);
	if ((r = ecc_in_point(flen, point, point_len, &in, e)) != 0 ||
	    (r = tpm_check_auth_len(auth_len, e)) != 0)
		return r;
	if (tpm_loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memset(&z, 0, sizeof(z));
	rc = tpm_run_recovering(t, zgen_op, &a);
	if (rc != TSS2_RC_SUCCESS)
		r = decrypt_err(e, rc, "ECDH failed",
				"ECDH failed: the peer's point is not on this key's curve");
	else
		r = ecc_out_point(&z, flen, out, out_cap, out_len, e);
	OPENSSL_cleanse(&z, sizeof(z));
	return r;
}
