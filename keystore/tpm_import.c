/* tpm_import: TPM2_Import of a software private key under the SRK. The key is wrapped
 * as a duplication blob with only the outer wrapper (TPM 2.0 Part 1 §23.3.2): seed =
 * KDFe(ECDH(ephemeral, SRK), "DUPLICATE", eph.x, srk.x), symKey = KDFa(seed, "STORAGE",
 * name), hmacKey = KDFa(seed, "INTEGRITY"), duplicate = TPM2B(HMAC(hmacKey, encSens ||
 * name)) || AES-128-CFB(symKey, IV 0, TPM2B_SENSITIVE); inSymSeed = the ephemeral point.
 * The TPM returns the key re-wrapped as an ordinary TPM2B_PRIVATE of the SRK. */
#include "tpm.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_sys.h>

#include "tpm_internal.h"
#include "tpmsession.h"

/* Made outside the TPM: neither fixedTPM nor fixedParent nor sensitiveDataOrigin. No
 * noDA, as for keys made in the TPM: a wrong PIN counts towards the lockout, so a
 * short PIN cannot be guessed by brute force. */
#define IMPORT_ATTRS (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

static int refuse(struct errmsg *e, const char *what)
{
	errmsg_set(e, "tpm: cannot import: %s", what);
	return TPM_E_UNSUPPORTED;
}

/* Copies a big-endian number right-aligned into len bytes; 0 when it does not fit. */
static int put_fixed(uint8_t *out, size_t len, const uint8_t *in, size_t in_len)
{
	while (in_len > 0 && in[0] == 0) {
		in++;
		in_len--;
	}
	if (in_len > len)
		return 0;
	memset(out, 0, len - in_len);
	memcpy(out + (len - in_len), in, in_len);
	return 1;
}

static size_t stripped_len(const uint8_t *in, size_t len)
{
	while (len > 0 && in[0] == 0) {
		in++;
		len--;
	}
	return len;
}

static int ecc_objects(const struct tpm_import_in *in, TPM2B_PUBLIC *pub,
		       TPM2B_SENSITIVE *sens, struct errmsg *e)
{
	TPMS_ECC_PARMS *ep = &pub->publicArea.parameters.eccDetail;
	size_t coord;

	switch (in->type) {
	case SSHKEY_ECDSA_P256: ep->curveID = TPM2_ECC_NIST_P256; coord = 32; break;
	case SSHKEY_ECDSA_P384: ep->curveID = TPM2_ECC_NIST_P384; coord = 48; break;
	default: ep->curveID = TPM2_ECC_NIST_P521; coord = 66; break;
	}
	pub->publicArea.type = TPM2_ALG_ECC;
	ep->symmetric.algorithm = TPM2_ALG_NULL;
	ep->scheme.scheme = TPM2_ALG_NULL;
	ep->kdf.scheme = TPM2_ALG_NULL;
	if (!put_fixed(pub->publicArea.unique.ecc.x.buffer, coord, in->x, in->x_len) ||
	    !put_fixed(pub->publicArea.unique.ecc.y.buffer, coord, in->y, in->y_len) ||
	    !put_fixed(sens->sensitiveArea.sensitive.ecc.buffer, coord, in->d, in->d_len))
		return refuse(e, "an ECDSA key component is longer than its curve");
	pub->publicArea.unique.ecc.x.size = pub->publicArea.unique.ecc.y.size = (UINT16)coord;
	sens->sensitiveArea.sensitive.ecc.size = (UINT16)coord;
	sens->sensitiveArea.sensitiveType = TPM2_ALG_ECC;
	return 0;
}

static int rsa_objects(const struct tpm_import_in *in, TPM2B_PUBLIC *pub,
		       TPM2B_SENSITIVE *sens, struct errmsg *e)
{
	TPMS_RSA_PARMS *rp = &pub->publicArea.parameters.rsaDetail;
	size_t n_len = stripped_len(in->n, in->n_len);

	if (n_len > 384)
		return refuse(e, "RSA keys over 3072 bits (e.g. RSA 4096) cannot live in a TPM: "
			      "TPM 2.0 devices and swtpm hold RSA 2048 and 3072 only");
	if (n_len != 256 && n_len != 384)
		return refuse(e, "the TPM holds RSA 2048 and 3072 keys only");
	pub->publicArea.type = TPM2_ALG_RSA;
	pub->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT; /* as tpm-key gen -t rsa */
	rp->symmetric.algorithm = TPM2_ALG_NULL;
	rp->scheme.scheme = TPM2_ALG_NULL;
	rp->keyBits = (TPMI_RSA_KEY_BITS)(n_len * 8);
	rp->exponent = in->e == 65537 ? 0 : in->e;
	if (!put_fixed(pub->publicArea.unique.rsa.buffer, n_len, in->n, in->n_len) ||
	    !put_fixed(sens->sensitiveArea.sensitive.rsa.buffer, n_len / 2, in->p, in->p_len))
		return refuse(e, "the RSA prime is longer than half the modulus");
	pub->publicArea.unique.rsa.size = (UINT16)n_len;
	sens->sensitiveArea.sensitive.rsa.size = (UINT16)(n_len / 2);
	sens->sensitiveArea.sensitiveType = TPM2_ALG_RSA;
	return 0;
}

/* name = nameAlg || SHA-256(TPMT_PUBLIC). */
static int object_name(const TPM2B_PUBLIC *pub, uint8_t name[2 + TPMS_DIGEST_LEN])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0;
	unsigned int len = 0;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) !=
	    TSS2_RC_SUCCESS)
		return 0;
	name[0] = TPM2_ALG_SHA256 >> 8;
	name[1] = TPM2_ALG_SHA256 & 0xff;
	return EVP_Digest(buf, off, name + 2, &len, EVP_sha256(), NULL) == 1 &&
	       len == TPMS_DIGEST_LEN;
}

/* The duplication blob and its seed for the SRK. */
static int wrap(struct tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_SENSITIVE *sens,
		TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed_out, struct errmsg *e)
{
	struct tpmsession s;
	uint8_t seed[TPMS_DIGEST_LEN], plain[sizeof(TPM2B_SENSITIVE)];
	uint8_t eph_x[TPMS_ECC_COORD], eph_y[TPMS_ECC_COORD], name[2 + TPMS_DIGEST_LEN];
	size_t plain_len = 0, off = 0, dup_len = 0;
	TPMS_ECC_POINT pt = { 0 };
	int ok = 0;

	if (tpmsession_init(&s) != TPMS_OK)
		return errmsg_set(e, "tpm: import: cannot set up the cryptography");
	if (tpmsession_ecc_seed(&s, "DUPLICATE", t->srk_x, t->srk_y, seed, eph_x, eph_y) ==
		    TPMS_OK &&
	    object_name(pub, name) &&
	    Tss2_MU_TPM2B_SENSITIVE_Marshal(sens, plain, sizeof(plain), &plain_len) ==
		    TSS2_RC_SUCCESS &&
	    tpmsession_outer_wrap(&s, seed, sizeof(seed), name, sizeof(name), plain, plain_len,
				  dup->buffer, sizeof(dup->buffer), &dup_len) == TPMS_OK) {
		dup->size = (UINT16)dup_len;
		pt.x.size = pt.y.size = TPMS_ECC_COORD;
		memcpy(pt.x.buffer, eph_x, TPMS_ECC_COORD);
		memcpy(pt.y.buffer, eph_y, TPMS_ECC_COORD);
		ok = Tss2_MU_TPMS_ECC_POINT_Marshal(&pt, seed_out->secret,
						    sizeof(seed_out->secret), &off) ==
		     TSS2_RC_SUCCESS;
		seed_out->size = (UINT16)off;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(plain, sizeof(plain));
	tpmsession_free(&s);
	if (!ok) {
		OPENSSL_cleanse(dup, sizeof(*dup));
		return errmsg_set(e, "tpm: import: cannot wrap the key for the SRK");
	}
	return 0;
}

struct import_args {
	const TPM2B_PUBLIC *pub;
	const TPM2B_PRIVATE *dup;
	const TPM2B_ENCRYPTED_SECRET *seed;
	TPM2B_PRIVATE *out;
};

static TSS2_RC import_op(struct tpm *t, void *arg)
{
	struct import_args *a = arg;
	const TPM2B_DATA no_key = { 0 };
	const TPMT_SYM_DEF_OBJECT no_inner = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Tss2_Sys_Import_Prepare(t->sys, t->srk_tpm, &no_key, a->pub, a->dup, a->seed,
				     &no_inner);
	if (rc == TSS2_RC_SUCCESS)
		rc = tpm_run_srk_cmd(t, TPM2_CC_Import, 0);
	if (rc == TSS2_RC_SUCCESS) {
		memset(a->out, 0, sizeof(*a->out));
		rc = Tss2_Sys_Import_Complete(t->sys, a->out);
	}
	return rc;
}

int tpm_import_key(struct tpm *t, const struct tpm_import_in *in, const uint8_t *auth,
		   size_t auth_len, struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC p;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup, out;
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	struct import_args a = { &p, &dup, &seed, &out };
	TSS2_RC rc;
	int r;

	if (!t->srk_p256)
		return refuse(e, "the SRK is not an ECC P-256 key (import needs one)");
	memset(&p, 0, sizeof(p));
	memset(&sens, 0, sizeof(sens));
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = IMPORT_ATTRS;
	if ((in->flags & TPM_KEY_DECRYPT) && in->type != SSHKEY_RSA)
		p.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT; /* ECDH (gpg encryption) */
	switch (in->type) {
	case SSHKEY_ECDSA_P256:
	case SSHKEY_ECDSA_P384:
	case SSHKEY_ECDSA_P521: r = ecc_objects(in, &p, &sens, e); break;
	case SSHKEY_RSA: r = rsa_objects(in, &p, &sens, e); break;
	default: r = refuse(e, "the TPM holds ECDSA P-256/384/521 and RSA 2048/3072 keys only");
	}
	if (r == 0 && auth_len > sizeof(sens.sensitiveArea.authValue.buffer))
		r = refuse(e, "a PIN longer than the TPM's 32 bytes");
	if (r == 0 && auth_len > 0) { /* the PIN travels inside the wrapped sensitive area */
		memcpy(sens.sensitiveArea.authValue.buffer, auth, auth_len);
		sens.sensitiveArea.authValue.size = (UINT16)auth_len;
	}
	if (r == 0)
		r = wrap(t, &p, &sens, &dup, &seed, e);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (r != 0)
		return r;
	rc = tpm_run_recovering(t, import_op, &a);
	OPENSSL_cleanse(&dup, sizeof(dup));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "TPM2_Import of the key");
	memset(&k->state, 0, sizeof(k->state));
	if ((r = tpm_key_store_blobs(&p, &out, k, e)) != 0)
		return r;
	return tpm_key_public(k, pub, e) == 0 ? 0 : TPM_E_FAIL;
}
