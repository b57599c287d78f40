/* tpm_attest: EK, AK and TPM2_Certify through ESAPI with password sessions: nothing
 * secret crosses the bus here (public areas, names, a nonce, a signature; the
 * activation secret is a random challenge that only proves possession). */
#include "tpm_attest.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "tpm_internal.h"
#include "tpm_nv.h"
#include "tpmsession.h"

/* TCG EK Credential Profile 2.0, template L-1: PolicySecret(TPM_RH_ENDORSEMENT). */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5,
	0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B,
	0x33, 0x14, 0x69, 0xAA,
};

static void ek_template(TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *t = &p->publicArea;

	memset(p, 0, sizeof(*p));
	t->type = TPM2_ALG_RSA;
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	t->authPolicy.size = sizeof(ek_policy);
	memcpy(t->authPolicy.buffer, ek_policy, sizeof(ek_policy));
	t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	t->parameters.rsaDetail.symmetric.keyBits.aes = 128;
	t->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	t->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->parameters.rsaDetail.keyBits = 2048;
	t->unique.rsa.size = 256; /* zeros, as the template says */
}

static void ak_template(TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *t = &p->publicArea;

	memset(p, 0, sizeof(*p));
	t->type = TPM2_ALG_ECC;
	t->nameAlg = TPM2_ALG_SHA256;
	t->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
			      TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	t->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	t->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

/* Our keys leave the TPM's few transient slots to EK, AK and the key to certify. */
static void make_room(struct tpm *t)
{
	while (tpm_evict_one(t))
		;
}

/* The EK's ESAPI handle: the persistent one, else a new transient primary (*made). */
static int ek_open(struct tpm *t, ESYS_TR *ek, int *made, struct errmsg *e)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA *cd = NULL;
	TPM2B_DIGEST *ch = NULL;
	TPMT_TK_CREATION *tk = NULL;
	TSS2_RC rc;

	*made = 0;
	if (Esys_TR_FromTPMPublic(t->esys, TPM_EK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, ek) == TSS2_RC_SUCCESS)
		return 0;
	ek_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, ek, &pub, &cd, &ch, &tk);
	Esys_Free(pub);
	Esys_Free(cd);
	Esys_Free(ch);
	Esys_Free(tk);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, "does the endorsement hierarchy have a password?",
			       "cannot create the endorsement key");
	*made = 1;
	return 0;
}

static void ek_close(struct tpm *t, ESYS_TR ek, int made)
{
	if (made)
		Esys_FlushContext(t->esys, ek);
	else
		Esys_TR_Close(t->esys, &ek);
}

static int put_public(const TPM2B_PUBLIC *p, struct att_blob *b, struct errmsg *e)
{
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(p, b->d, sizeof(b->d), &off) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: cannot marshal a public area");
	b->len = off;
	return 0;
}

static int read_public(struct tpm *t, ESYS_TR h, struct att_blob *b, TPM2B_NAME *name,
		       struct errmsg *e)
{
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_NAME *n = NULL, *qn = NULL;
	TSS2_RC rc = Esys_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				     &pub, &n, &qn);
	int r;

	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read a public area");
	r = b != NULL ? put_public(pub, b, e) : 0;
	if (name != NULL)
		*name = *n;
	Esys_Free(pub);
	Esys_Free(n);
	Esys_Free(qn);
	return r;
}

int tpm_attest_ek(struct tpm *t, struct attestation *a, struct errmsg *e)
{
	ESYS_TR ek;
	struct errmsg ignored;
	int made, r;

	make_room(t);
	if ((r = ek_open(t, &ek, &made, e)) != 0)
		return r;
	r = read_public(t, ek, &a->ek_pub, NULL, e);
	ek_close(t, ek, made);
	if (r != 0)
		return r;
	/* No certificate is no error: the file then carries the EK public and a note. */
	if (tpm_nv_read(t, TPM_EK_CERT_RSA, a->ek_cert.d, sizeof(a->ek_cert.d), &a->ek_cert.len,
			&ignored) != 0)
		a->ek_cert.len = 0;
	return 0;
}

/* Loads a key from its blobs under the SRK through ESAPI (our slot table untouched). */
static int esys_load(struct tpm *t, const struct tpm_key *k, ESYS_TR *h, struct errmsg *e)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	size_t off = 0, off2 = 0;
	TSS2_RC rc;

	/* MU refuses to unmarshal a sized structure into a non-empty destination. */
	memset(&pub, 0, sizeof(pub));
	memset(&priv, 0, sizeof(priv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(k->pub, k->pub_len, &off, &pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(k->priv, k->priv_len, &off2, &priv) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: malformed key blobs (%zu public, %zu private bytes)",
				  k->pub_len, k->priv_len);
	rc = Esys_Load(t->esys, t->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, h);
	OPENSSL_cleanse(&priv, sizeof(priv));
	return rc == TSS2_RC_SUCCESS ? 0 : tpm_err(e, rc, NULL, "cannot load a key for attestation");
}

static int ak_create(struct tpm *t, struct tpm_key *ak, struct errmsg *e)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA *cd = NULL;
	TPM2B_DIGEST *ch = NULL;
	TPMT_TK_CREATION *tk = NULL;
	TSS2_RC rc;
	int r;

	ak_template(&tmpl);
	rc = Esys_Create(t->esys, t->srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
			 &tmpl, &outside, &pcrs, &priv, &pub, &cd, &ch, &tk);
	r = rc == TSS2_RC_SUCCESS ? tpm_key_store_blobs(pub, priv, ak, e) :
				    tpm_err(e, rc, NULL, "cannot create the attestation key");
	Esys_Free(priv);
	Esys_Free(pub);
	Esys_Free(cd);
	Esys_Free(ch);
	Esys_Free(tk);
	memset(&ak->state, 0, sizeof(ak->state));
	return r;
}

/* A policy session satisfying the EK's policy: PolicySecret(TPM_RH_ENDORSEMENT). */
static TSS2_RC ek_policy_session(struct tpm *t, ESYS_TR *s)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym,
				   TPM2_ALG_SHA256, s);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, *s, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
	return rc;
}

static int record_activation(const TPM2B_ID_OBJECT *cred, const TPM2B_ENCRYPTED_SECRET *enc,
			     const TPM2B_DIGEST *secret, struct att_blob *b, struct errmsg *e)
{
	size_t off = 0;

	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(cred, b->d, sizeof(b->d), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(enc, b->d, sizeof(b->d), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_DIGEST_Marshal(secret, b->d, sizeof(b->d), &off) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: cannot record the activation");
	b->len = off;
	return 0;
}

/* MakeCredential (a public operation with the EK's public key), then
 * ActivateCredential: only the TPM holding both the EK and the AK can answer. */
static int activate(struct tpm *t, ESYS_TR ek, ESYS_TR ak, struct att_blob *out,
		    struct errmsg *e)
{
	TPM2B_DIGEST challenge = { .size = 32 }, *got = NULL;
	TPM2B_NAME name;
	TPM2B_ID_OBJECT *cred = NULL;
	TPM2B_ENCRYPTED_SECRET *enc = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (RAND_bytes(challenge.buffer, challenge.size) != 1 ||
	    read_public(t, ak, NULL, &name, e) != 0)
		return errmsg_set(e, "tpm: cannot prepare the AK challenge");
	rc = Esys_MakeCredential(t->esys, ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				 &challenge, &name, &cred, &enc);
	if (rc == TSS2_RC_SUCCESS)
		rc = ek_policy_session(t, &sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ActivateCredential(t->esys, ak, ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE,
					     cred, enc, &got);
	if (rc != TSS2_RC_SUCCESS)
		r = tpm_err(e, rc, NULL, "credential activation of the AK failed");
	else if (got->size != challenge.size ||
		 CRYPTO_memcmp(got->buffer, challenge.buffer, challenge.size) != 0)
		r = errmsg_set(e, "tpm: ActivateCredential returned another secret");
	else
		r = record_activation(cred, enc, got, out, e);
	if (sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, sess);
	Esys_Free(cred);
	Esys_Free(enc);
	Esys_Free(got);
	return r;
}

int tpm_attest_make_ak(struct tpm *t, struct tpm_key *ak, struct att_blob *activation,
		       struct errmsg *e)
{
	ESYS_TR ek, akh = ESYS_TR_NONE;
	int made, r;

	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_err(e, tpm_srk_gate(t), NULL, "attest");
	make_room(t);
	if ((r = ak_create(t, ak, e)) != 0 || (r = ek_open(t, &ek, &made, e)) != 0)
		return r;
	if ((r = esys_load(t, ak, &akh, e)) == 0)
		r = activate(t, ek, akh, activation, e);
	if (akh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, akh);
	ek_close(t, ek, made);
	return r;
}

static int put_certify(const TPM2B_ATTEST *info, const TPMT_SIGNATURE *sig,
		       struct attestation *a, struct errmsg *e)
{
	size_t off = 0, off2 = 0;

	if (Tss2_MU_TPM2B_ATTEST_Marshal(info, a->certify_info.d, sizeof(a->certify_info.d),
					 &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, a->signature.d, sizeof(a->signature.d), &off2) !=
	    TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: cannot marshal the certify result");
	a->certify_info.len = off;
	a->signature.len = off2;
	return 0;
}

/* TPM2_Certify with the key's auth value in a salted HMAC session (the PIN keys the
 * HMAC and never crosses the bus; a password session with plain sessions). */
static TSS2_RC certify_cmd(struct tpm *t, ESYS_TR kh, ESYS_TR akh, const uint8_t *auth,
			   size_t auth_len, const TPM2B_DATA *qual, TPM2B_ATTEST **info,
			   TPMT_SIGNATURE **sig)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_AUTH a = { 0 }, empty = { 0 };
	ESYS_TR sess = ESYS_TR_PASSWORD;
	TSS2_RC rc = TSS2_RC_SUCCESS;

	if (auth_len > 0) {
		a.size = (UINT16)auth_len;
		memcpy(a.buffer, auth, auth_len);
		rc = Esys_TR_SetAuth(t->esys, kh, &a);
		OPENSSL_cleanse(&a, sizeof(a));
		if (rc == TSS2_RC_SUCCESS)
			rc = tpm_owner_session(t, 0, &sess);
	}
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Certify(t->esys, kh, akh, sess, ESYS_TR_PASSWORD, ESYS_TR_NONE, qual,
				  &scheme, info, sig);
	tpm_owner_session_end(t, &sess);
	Esys_TR_SetAuth(t->esys, kh, &empty); /* no copy of the PIN stays in ESAPI */
	return rc;
}

int tpm_attest_certify(struct tpm *t, const struct tpm_key *ak, const struct tpm_key *key,
		       const uint8_t *auth, size_t auth_len, const uint8_t *nonce,
		       size_t nonce_len, struct attestation *a, struct errmsg *e)
{
	TPM2B_DATA qual = { 0 };
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR akh = ESYS_TR_NONE, kh = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	if (nonce_len > sizeof(qual.buffer))
		return errmsg_set(e, "tpm: a nonce of at most %zu bytes", sizeof(qual.buffer));
	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_err(e, tpm_srk_gate(t), NULL, "attest");
	if (auth_len > sizeof(((TPM2B_AUTH *)0)->buffer)) {
		errmsg_set(e, "tpm: wrong PIN (longer than any TPM auth value)");
		return TPM_E_AUTH_FAIL;
	}
	memcpy(qual.buffer, nonce, nonce_len);
	qual.size = (UINT16)nonce_len;
	make_room(t);
	if ((r = esys_load(t, ak, &akh, e)) == 0 && (r = esys_load(t, key, &kh, e)) == 0 &&
	    (r = read_public(t, akh, &a->ak_pub, NULL, e)) == 0 &&
	    (r = read_public(t, kh, &a->key_pub, NULL, e)) == 0) {
		rc = certify_cmd(t, kh, akh, auth, auth_len, &qual, &info, &sig);
		r = rc == TSS2_RC_SUCCESS ? put_certify(info, sig, a, e) :
		    tpm_err(e, rc, NULL, "TPM2_Certify failed");
	}
	if (kh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, kh);
	if (akh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, akh);
	Esys_Free(info);
	Esys_Free(sig);
	return r;
}

/* ---- the EK proof of the SRK ---- */

/* secret = RSA-OAEP(EK, seed), SHA-256 and the label "IDENTITY" with its NUL (Part 1
 * §24.4, Annex B.10.3). */
static int seed_for_ek(EVP_PKEY *ek, const uint8_t *seed, size_t seed_len,
		       TPM2B_ENCRYPTED_SECRET *secret)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ek, NULL);
	void *label = OPENSSL_memdup("IDENTITY", 9);
	size_t len = sizeof(secret->secret);
	int ok;

	ok = ctx != NULL && label != NULL && EVP_PKEY_encrypt_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 9) == 1;
	if (ok)
		label = NULL; /* the context owns it */
	ok = ok && EVP_PKEY_encrypt(ctx, secret->secret, &len, seed, seed_len) == 1;
	secret->size = ok ? (UINT16)len : 0;
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* TPM2_MakeCredential in software: (credentialBlob, secret) for the EK key ek and the
 * object name. */
static int make_credential(EVP_PKEY *ek, const uint8_t *name, size_t name_len,
			   const TPM2B_DIGEST *cred, TPM2B_ID_OBJECT *blob,
			   TPM2B_ENCRYPTED_SECRET *secret)
{
	struct tpmsession s;
	uint8_t seed[TPMS_DIGEST_LEN], plain[sizeof(TPM2B_DIGEST)];
	size_t plain_len = 0, blob_len = 0;
	int ok;

	if (tpmsession_init(&s) != TPMS_OK)
		return 0;
	ok = RAND_bytes(seed, sizeof(seed)) == 1 &&
	     Tss2_MU_TPM2B_DIGEST_Marshal(cred, plain, sizeof(plain), &plain_len) ==
		     TSS2_RC_SUCCESS &&
	     tpmsession_outer_wrap(&s, seed, sizeof(seed), name, name_len, plain, plain_len,
				   blob->credential, sizeof(blob->credential), &blob_len) ==
		     TPMS_OK &&
	     seed_for_ek(ek, seed, sizeof(seed), secret);
	blob->size = ok ? (UINT16)blob_len : 0;
	OPENSSL_cleanse(seed, sizeof(seed));
	tpmsession_free(&s);
	return ok;
}

/* The RSA EK certificate from NV: its key, hash and issuer. 0 with have_cert 0: none. */
static int ek_cert(struct tpm *t, struct tpm_ek_proof *p, EVP_PKEY **key, struct errmsg *e)
{
	uint8_t der[ATT_BLOB_MAX];
	const unsigned char *q = der;
	size_t len = 0;
	struct errmsg ignored;
	X509 *x;

	*key = NULL;
	if (tpm_nv_read(t, TPM_EK_CERT_RSA, der, sizeof(der), &len, &ignored) != 0 || len == 0)
		return 0;
	if ((x = d2i_X509(NULL, &q, (long)len)) == NULL)
		return errmsg_set(e, "tpm: the EK certificate in NV 0x%08x is not X.509 DER",
				  TPM_EK_CERT_RSA);
	p->have_cert = 1;
	EVP_Digest(der, len, p->cert_sha256, NULL, EVP_sha256(), NULL);
	X509_NAME_oneline(X509_get_issuer_name(x), p->issuer, sizeof(p->issuer));
	*key = X509_get_pubkey(x);
	X509_free(x);
	if (*key == NULL || EVP_PKEY_get_base_id(*key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return errmsg_set(e, "tpm: the EK certificate does not hold an RSA key");
	}
	return 0;
}

/* TPM2_ActivateCredential(activateHandle = obj, keyHandle = EK with
 * PolicySecret(endorsement)): the credential into *got (Esys_Free'd by the caller). */
static TSS2_RC activate_with(struct tpm *t, ESYS_TR obj, ESYS_TR ek, const TPM2B_ID_OBJECT *blob,
			     const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST **got)
{
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc = ek_policy_session(t, &sess);

	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_ActivateCredential(t->esys, obj, ek, ESYS_TR_PASSWORD, sess,
					     ESYS_TR_NONE, blob, secret, got);
	if (sess != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, sess);
	return rc;
}

static int activate_srk(struct tpm *t, ESYS_TR ek, const TPM2B_ID_OBJECT *blob,
			const TPM2B_ENCRYPTED_SECRET *secret, const TPM2B_DIGEST *want,
			struct errmsg *e)
{
	TPM2B_DIGEST *got = NULL;
	TSS2_RC rc = activate_with(t, t->srk, ek, blob, secret, &got);
	int r;

	if (rc != TSS2_RC_SUCCESS)
		r = tpm_err(e, rc, "the SRK is not in the TPM that holds the certified EK, or the "
			    "EK there is another", "EK proof: TPM2_ActivateCredential failed");
	else if (got->size != want->size ||
		 CRYPTO_memcmp(got->buffer, want->buffer, want->size) != 0)
		r = errmsg_set(e, "tpm: EK proof: ActivateCredential returned another secret");
	else
		r = 0;
	if (got != NULL)
		OPENSSL_cleanse(got, sizeof(*got));
	Esys_Free(got);
	return r;
}

int tpm_ek_prove_srk(struct tpm *t, struct tpm_ek_proof *p, struct errmsg *e)
{
	TPM2B_DIGEST cred = { .size = 32 };
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET secret = { 0 };
	EVP_PKEY *key = NULL;
	ESYS_TR ek;
	int made, r;

	memset(p, 0, sizeof(*p));
	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_err(e, tpm_srk_gate(t), NULL, "EK proof");
	if (tpm_srk_name(t, p->srk_name, sizeof(p->srk_name), &p->srk_name_len) != 0 ||
	    p->srk_name_len == 0)
		return errmsg_set(e, "tpm: EK proof: no pinned SRK (hierarchy null?)");
	if ((r = ek_cert(t, p, &key, e)) != 0 || !p->have_cert)
		return r;
	if (RAND_bytes(cred.buffer, cred.size) != 1 ||
	    !make_credential(key, p->srk_name, p->srk_name_len, &cred, &blob, &secret)) {
		EVP_PKEY_free(key);
		return errmsg_set(e, "tpm: EK proof: cannot make the credential");
	}
	EVP_PKEY_free(key);
	make_room(t);
	if ((r = ek_open(t, &ek, &made, e)) != 0)
		return r;
	r = activate_srk(t, ek, &blob, &secret, &cred, e);
	ek_close(t, ek, made);
	OPENSSL_cleanse(&cred, sizeof(cred));
	return r == 0 ? 0 : TPM_E_FAIL;
}

/* ---- the live challenge of an enrolment CA (tpm-key ca / tpm-key enroll) ---- */

int tpm_make_credential_sw(EVP_PKEY *ek, const uint8_t *name, size_t name_len,
			   const uint8_t *cred, size_t cred_len, uint8_t *id_object, size_t id_cap,
			   size_t *id_len, uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
	TPM2B_DIGEST c = { 0 };
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET sec = { 0 };
	size_t off = 0, off2 = 0;
	int ok;

	if (cred_len == 0 || cred_len > sizeof(c.buffer) || EVP_PKEY_get_base_id(ek) != EVP_PKEY_RSA)
		return -1;
	c.size = (UINT16)cred_len;
	memcpy(c.buffer, cred, cred_len);
	ok = make_credential(ek, name, name_len, &c, &blob, &sec) &&
	     Tss2_MU_TPM2B_ID_OBJECT_Marshal(&blob, id_object, id_cap, &off) == TSS2_RC_SUCCESS &&
	     Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&sec, secret, secret_cap, &off2) ==
		     TSS2_RC_SUCCESS;
	OPENSSL_cleanse(&c, sizeof(c));
	*id_len = ok ? off : 0;
	*secret_len = ok ? off2 : 0;
	return ok ? 0 : -1;
}

int tpm_attest_activate(struct tpm *t, const struct tpm_key *ak, const uint8_t *id_object,
			size_t id_len, const uint8_t *secret, size_t secret_len, uint8_t *out,
			size_t cap, size_t *out_len, struct errmsg *e)
{
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET sec;
	TPM2B_DIGEST *got = NULL;
	ESYS_TR ek, akh = ESYS_TR_NONE;
	size_t off = 0, off2 = 0;
	TSS2_RC rc;
	int made, r;

	memset(&blob, 0, sizeof(blob));
	memset(&sec, 0, sizeof(sec));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(id_object, id_len, &off, &blob) != TSS2_RC_SUCCESS ||
	    off != id_len ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(secret, secret_len, &off2, &sec) !=
		    TSS2_RC_SUCCESS || off2 != secret_len)
		return errmsg_set(e, "activate: the CA's challenge is malformed");
	if (tpm_srk_gate(t) != TSS2_RC_SUCCESS)
		return tpm_err(e, tpm_srk_gate(t), NULL, "activate");
	make_room(t);
	if ((r = ek_open(t, &ek, &made, e)) != 0)
		return r;
	if ((r = esys_load(t, ak, &akh, e)) == 0) {
		rc = activate_with(t, akh, ek, &blob, &sec, &got);
		if (rc != TSS2_RC_SUCCESS)
			r = tpm_err(e, rc, "the challenge was made for another TPM's EK or another "
				    "AK", "TPM2_ActivateCredential of the CA's challenge failed");
		else if (got->size > cap)
			r = errmsg_set(e, "activate: a credential of %u bytes", got->size);
		else {
			memcpy(out, got->buffer, got->size);
			*out_len = got->size;
		}
	}
	if (got != NULL)
		OPENSSL_cleanse(got, sizeof(*got));
	Esys_Free(got);
	if (akh != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, akh);
	ek_close(t, ek, made);
	return r;
}
