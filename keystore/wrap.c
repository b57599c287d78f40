/* wrap: a software key wrapped for an SRK given by its public point (see wrap.h). The
 * outer wrapper (TPM 2.0 Part 1 §23.3.2): seed = KDFe(ECDH(ephemeral, SRK), "DUPLICATE",
 * eph.x, srk.x), symKey = KDFa(seed, "STORAGE", name), hmacKey = KDFa(seed, "INTEGRITY"),
 * duplicate = TPM2B(HMAC(hmacKey, encSens || name)) || AES-128-CFB(symKey, IV 0,
 * TPM2B_SENSITIVE); inSymSeed = the ephemeral point. */
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

/* Made outside the TPM: neither fixedTPM nor fixedParent nor sensitiveDataOrigin. No
 * noDA, as for keys made in the TPM: a wrong PIN counts towards the lockout, so a
 * short PIN cannot be guessed by brute force. */
#define IMPORT_ATTRS (TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

static int refuse(struct errmsg *e, const char *what)
{
	errmsg_set(e, "cannot wrap the key: %s", what);
	return TPM_E_UNSUPPORTED;
}

/* ---- the request's key material ---- */

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

static int get_ecdsa(struct sshbuf *b, const char *curve, struct tpm_import_in *in,
		     struct errmsg *e)
{
	const uint8_t *q;
	size_t q_len = 0, coord;

	if (strcmp(curve, "256") == 0)
		in->type = SSHKEY_ECDSA_P256, coord = 32;
	else if (strcmp(curve, "384") == 0)
		in->type = SSHKEY_ECDSA_P384, coord = 48;
	else if (strcmp(curve, "521") == 0)
		in->type = SSHKEY_ECDSA_P521, coord = 66;
	else
		return errmsg_set(e, "import: unknown ECDSA curve '%s'", curve);
	if (sshbuf_get_string(b, &q, &q_len) != 0 || q_len != 1 + 2 * coord || q[0] != 0x04)
		return errmsg_set(e, "import: malformed ECDSA public point");
	memcpy(in->x, q + 1, coord);
	memcpy(in->y, q + 1 + coord, coord);
	in->x_len = in->y_len = coord;
	if (get_num(b, in->d, sizeof(in->d), &in->d_len) != 0)
		return errmsg_set(e, "import: malformed ECDSA private key");
	return 0;
}

static int get_rsa(struct sshbuf *b, struct tpm_import_in *in, struct errmsg *e)
{
	uint8_t ebuf[8];
	size_t e_len = 0;

	in->type = SSHKEY_RSA;
	if (get_num(b, in->n, sizeof(in->n), &in->n_len) != 0)
		return errmsg_set(e, "import: RSA keys over 3072 bits (e.g. RSA 4096) cannot live "
				  "in a TPM: TPM 2.0 holds RSA 2048 and 3072 only");
	if (get_num(b, ebuf, sizeof(ebuf), &e_len) != 0 || e_len == 0 || e_len > 4)
		return errmsg_set(e, "import: unsupported RSA public exponent");
	in->e = 0;
	for (size_t i = 0; i < e_len; i++)
		in->e = (in->e << 8) | ebuf[i];
	if (get_num(b, in->p, sizeof(in->p), &in->p_len) != 0)
		return errmsg_set(e, "import: malformed RSA prime");
	return 0;
}

int wrap_material(struct sshbuf *b, const char *type, struct tpm_import_in *in,
		  struct errmsg *e)
{
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0)
		return get_ecdsa(b, type + 16, in, e);
	if (strcmp(type, "ssh-rsa") == 0)
		return get_rsa(b, in, e);
	if (strcmp(type, "ssh-ed25519") == 0)
		return errmsg_set(e, "import: Ed25519 keys cannot live in a TPM (TPM 2.0 has no "
				  "Ed25519); keep it as a software key or make a TPM key with tpm-key gen");
	return errmsg_set(e, "import: key type '%s' is not supported: the TPM holds ECDSA "
			  "P-256/384/521 and RSA 2048/3072 keys", type);
}

/* ---- TPM objects ---- */

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

int wrap_objects(const struct tpm_import_in *in, TPM2B_PUBLIC *pub, TPM2B_SENSITIVE *sens,
		 struct errmsg *e)
{
	memset(pub, 0, sizeof(*pub));
	memset(sens, 0, sizeof(*sens));
	pub->publicArea.nameAlg = TPM2_ALG_SHA256;
	pub->publicArea.objectAttributes = IMPORT_ATTRS;
	if ((in->flags & TPM_KEY_DECRYPT) && in->type != SSHKEY_RSA)
		pub->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT; /* ECDH (gpg encryption) */
	switch (in->type) {
	case SSHKEY_ECDSA_P256:
	case SSHKEY_ECDSA_P384:
	case SSHKEY_ECDSA_P521: return ecc_objects(in, pub, sens, e);
	case SSHKEY_RSA: return rsa_objects(in, pub, sens, e);
	default: return refuse(e, "the TPM holds ECDSA P-256/384/521 and RSA 2048/3072 keys only");
	}
}

/* ---- the outer wrapper ---- */

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

int wrap_duplicate(const TPM2B_PUBLIC *pub, const TPM2B_SENSITIVE *sens,
		   const uint8_t srk_x[TPMS_ECC_COORD], const uint8_t srk_y[TPMS_ECC_COORD],
		   TPM2B_PRIVATE *dup, TPM2B_ENCRYPTED_SECRET *seed_out, struct errmsg *e)
{
	struct tpmsession s;
	uint8_t seed[TPMS_DIGEST_LEN], plain[sizeof(TPM2B_SENSITIVE)];
	uint8_t eph_x[TPMS_ECC_COORD], eph_y[TPMS_ECC_COORD], name[2 + TPMS_DIGEST_LEN];
	size_t plain_len = 0, off = 0, dup_len = 0;
	TPMS_ECC_POINT pt = { 0 };
	int ok = 0;

	if (tpmsession_init(&s) != TPMS_OK)
		return errmsg_set(e, "wrap: cannot set up the cryptography");
	if (tpmsession_ecc_seed(&s, "DUPLICATE", srk_x, srk_y, seed, eph_x, eph_y) == TPMS_OK &&
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
		return errmsg_set(e, "wrap: cannot wrap the key for the SRK (is the SRK public key "
				  "a point on P-256?)");
	}
	return 0;
}

int wrap_importable(const struct tpm_import_in *in, const uint8_t srk_x[TPMS_ECC_COORD],
		    const uint8_t srk_y[TPMS_ECC_COORD], struct tss2key *f,
		    struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC p;
	TPM2B_SENSITIVE sens;
	TPM2B_PRIVATE dup;
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	struct tpm_key *k = calloc(1, sizeof(*k));
	size_t pub_off = 0, dup_off = 0, seed_off = 0;
	int r;

	if (k == NULL)
		return errmsg_set(e, "wrap: out of memory");
	r = wrap_objects(in, &p, &sens, e);
	if (r == 0)
		r = wrap_duplicate(&p, &sens, srk_x, srk_y, &dup, &seed, e);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (r == 0) {
		memset(f, 0, sizeof(*f));
		f->type = TSS2KEY_IMPORTABLE;
		f->empty_auth = 1;
		f->parent = WRAP_PARENT_OWNER;
		if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p, f->pub, sizeof(f->pub), &pub_off) !=
			    TSS2_RC_SUCCESS ||
		    Tss2_MU_TPM2B_PRIVATE_Marshal(&dup, f->priv, sizeof(f->priv), &dup_off) !=
			    TSS2_RC_SUCCESS ||
		    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&seed, f->secret, sizeof(f->secret),
							   &seed_off) != TSS2_RC_SUCCESS)
			r = errmsg_set(e, "wrap: cannot marshal the wrapped key");
		f->pub_len = pub_off;
		f->priv_len = dup_off;
		f->secret_len = seed_off;
	}
	OPENSSL_cleanse(&dup, sizeof(dup));
	if (r == 0) {
		memcpy(k->pub, f->pub, f->pub_len);
		k->pub_len = f->pub_len;
		r = tpm_key_public(k, pub, e);
	}
	free(k);
	return r;
}

/* ---- the SRK's public key as PEM ---- */

int wrap_srk_to_pem(const uint8_t x[TPMS_ECC_COORD], const uint8_t y[TPMS_ECC_COORD],
		    char **pem, struct errmsg *e)
{
	EVP_PKEY *pkey = tpmsession_p256_public(x, y);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r = -1;

	if (pkey != NULL && bio != NULL && PEM_write_bio_PUBKEY(bio, pkey) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 && (*pem = malloc((size_t)len + 1)) != NULL) {
		memcpy(*pem, data, (size_t)len);
		(*pem)[len] = '\0';
		r = 0;
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r == 0 ? 0 : errmsg_set(e, "cannot encode the SRK public key as PEM");
}

int wrap_srk_from_pem(const char *pem, size_t len, uint8_t x[TPMS_ECC_COORD],
		      uint8_t y[TPMS_ECC_COORD], struct errmsg *e)
{
	BIO *bio = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	char group[64] = "";
	BIGNUM *bx = NULL, *by = NULL;
	int r = -1;

	if (pk == NULL)
		errmsg_set(e, "not a PEM public key (-----BEGIN PUBLIC KEY-----, as tpm-key srk "
			   "prints it)");
	else if (!EVP_PKEY_is_a(pk, "EC") ||
		 EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						sizeof(group), NULL) != 1 ||
		 (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
		errmsg_set(e, "the SRK must be an ECC P-256 key (the TCG H-2 SRK), not %s %s",
			   EVP_PKEY_get0_type_name(pk), group);
	else if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
		 EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
		 BN_bn2binpad(bx, x, TPMS_ECC_COORD) != TPMS_ECC_COORD ||
		 BN_bn2binpad(by, y, TPMS_ECC_COORD) != TPMS_ECC_COORD)
		errmsg_set(e, "cannot read the SRK's public point");
	else
		r = 0;
	BN_free(bx);
	BN_free(by);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return r;
}
