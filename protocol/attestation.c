/* attestation: PEM framing of the attestation file and the offline verifier: EK
 * certificate chain, AK and key attributes, the AK's signature over TPMS_ATTEST, and
 * the certified name against the key a CA is asked to sign. */
#include "attestation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_mu.h>

#include "pubkey_evp.h"

static const struct {
	const char *label;
	size_t off; /* of the blob in struct attestation */
} blocks[] = {
	{ "EK CERTIFICATE", offsetof(struct attestation, ek_cert) },
	{ "EK PUBLIC", offsetof(struct attestation, ek_pub) },
	{ "AK PUBLIC", offsetof(struct attestation, ak_pub) },
	{ "AK ACTIVATION", offsetof(struct attestation, activation) },
	{ "KEY PUBLIC", offsetof(struct attestation, key_pub) },
	{ "CERTIFY INFO", offsetof(struct attestation, certify_info) },
	{ "CERTIFY SIGNATURE", offsetof(struct attestation, signature) },
};
#define N_BLOCKS (sizeof(blocks) / sizeof(blocks[0]))

static struct att_blob *blob_at(const struct attestation *a, size_t i)
{
	return (struct att_blob *)((const char *)a + blocks[i].off);
}

/* ---- the file ---- */

int attestation_encode(const struct attestation *a, const char *note, char **text,
		       struct errmsg *e)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;
	int ok = b != NULL && BIO_printf(b, "%s", note ? note : "") >= 0;

	for (size_t i = 0; ok && i < N_BLOCKS; i++) {
		const struct att_blob *bl = blob_at(a, i);

		if (bl->len > 0)
			ok = PEM_write_bio(b, blocks[i].label, "", bl->d, (long)bl->len) > 0;
	}
	if (!ok || (len = BIO_get_mem_data(b, &p)) <= 0 || (*text = malloc((size_t)len + 1)) == NULL) {
		BIO_free(b);
		return errmsg_set(e, "attestation: cannot encode the file");
	}
	memcpy(*text, p, (size_t)len);
	(*text)[len] = '\0';
	BIO_free(b);
	return 0;
}

static int take_block(struct attestation *a, const char *label, const uint8_t *d, long len,
		      struct errmsg *e)
{
	for (size_t i = 0; i < N_BLOCKS; i++) {
		struct att_blob *bl = blob_at(a, i);

		if (strcmp(blocks[i].label, label) != 0)
			continue;
		if (bl->len > 0)
			return errmsg_set(e, "attestation: two %s blocks", label);
		if (len <= 0 || (size_t)len > sizeof(bl->d))
			return errmsg_set(e, "attestation: %s block of %ld bytes", label, len);
		memcpy(bl->d, d, (size_t)len);
		bl->len = (size_t)len;
		return 0;
	}
	return errmsg_set(e, "attestation: unknown block '%s'", label);
}

int attestation_decode(const char *text, size_t len, struct attestation *a, struct errmsg *e)
{
	BIO *b;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen;
	int r = 0, n = 0;

	memset(a, 0, sizeof(*a));
	if (len > ATT_FILE_MAX || (b = BIO_new_mem_buf(text, (int)len)) == NULL)
		return errmsg_set(e, "attestation: file too large or out of memory");
	while (r == 0 && PEM_read_bio(b, &name, &header, &data, &dlen) == 1) {
		r = take_block(a, name, data, dlen, e);
		n++;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	BIO_free(b);
	if (r == 0 && n == 0)
		r = errmsg_set(e, "attestation: no PEM blocks: not an attestation file");
	return r;
}

/* ---- TPM structures ---- */

static int unmarshal_public(const struct att_blob *b, const char *what, TPM2B_PUBLIC *p,
			    struct errmsg *e)
{
	size_t off = 0;

	memset(p, 0, sizeof(*p));
	if (b->len == 0)
		return errmsg_set(e, "attestation: no %s block", what);
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(b->d, b->len, &off, p) != TSS2_RC_SUCCESS ||
	    off != b->len)
		return errmsg_set(e, "attestation: %s is not a TPM2B_PUBLIC", what);
	return 0;
}

int attestation_name(const uint8_t *pub, size_t len, uint8_t *name, size_t *name_len,
		     struct errmsg *e)
{
	TPM2B_PUBLIC p;
	size_t off = 0;
	unsigned int hlen = 0;

	memset(&p, 0, sizeof(p)); /* MU wants an empty destination */
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p) != TSS2_RC_SUCCESS || off != len ||
	    len < 2)
		return errmsg_set(e, "attestation: malformed public area");
	if (p.publicArea.nameAlg != TPM2_ALG_SHA256)
		return errmsg_set(e, "attestation: nameAlg 0x%04x (only SHA-256 is checked)",
				  p.publicArea.nameAlg);
	/* The name hashes the TPMT_PUBLIC as marshalled: the blob after its size field. */
	name[0] = TPM2_ALG_SHA256 >> 8;
	name[1] = TPM2_ALG_SHA256 & 0xff;
	if (EVP_Digest(pub + 2, len - 2, name + 2, &hlen, EVP_sha256(), NULL) != 1)
		return errmsg_set(e, "attestation: SHA-256 failed");
	*name_len = 2 + hlen;
	return 0;
}

/* The public key inside a TPMT_PUBLIC, as an SSH key. */
static int tpmt_to_ssh(const TPMT_PUBLIC *p, struct sshkey_pub *k)
{
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
	uint32_t ex = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
	size_t flen, skip = 0;

	memset(k, 0, sizeof(*k));
	if (p->type == TPM2_ALG_RSA) {
		const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;

		while (skip < n->size && n->buffer[skip] == 0)
			skip++;
		if (n->size - skip == 0 || n->size - skip > sizeof(k->n))
			return -1;
		k->type = SSHKEY_RSA;
		memcpy(k->n, n->buffer + skip, n->size - skip);
		k->n_len = n->size - skip;
		for (int i = 3; i >= 0; i--)
			if (k->e_len > 0 || (ex >> (8 * i)) & 0xff)
				k->e[k->e_len++] = (uint8_t)(ex >> (8 * i));
		return 0;
	}
	if (p->type != TPM2_ALG_ECC)
		return -1;
	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: k->type = SSHKEY_ECDSA_P256; flen = 32; break;
	case TPM2_ECC_NIST_P384: k->type = SSHKEY_ECDSA_P384; flen = 48; break;
	case TPM2_ECC_NIST_P521: k->type = SSHKEY_ECDSA_P521; flen = 66; break;
	default: return -1;
	}
	if (x->size == 0 || x->size > flen || y->size == 0 || y->size > flen)
		return -1;
	k->q[0] = 0x04;
	memcpy(k->q + 1 + flen - x->size, x->buffer, x->size);
	memcpy(k->q + 1 + 2 * flen - y->size, y->buffer, y->size);
	k->q_len = 1 + 2 * flen;
	return 0;
}

/* ---- the checks ---- */

struct report {
	char *buf;
	size_t len;
};

static void passed(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void passed(struct report *r, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (r->buf == NULL || r->len == 0)
		return;
	used = strlen(r->buf);
	if (used + 3 >= r->len)
		return;
	strcat(r->buf, "ok ");
	va_start(ap, fmt);
	vsnprintf(r->buf + used + 3, r->len - used - 3, fmt, ap);
	va_end(ap);
	used = strlen(r->buf);
	if (used + 1 < r->len)
		strcat(r->buf, "\n");
}

#define OBJ_ORIGIN (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
		    TPMA_OBJECT_SENSITIVEDATAORIGIN)

static int check_origin(TPMA_OBJECT a, const char *what, struct errmsg *e)
{
	if (!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
		return errmsg_set(e, "attestation: the %s was not generated inside the TPM "
				  "(sensitiveDataOrigin clear: imported or made in software)", what);
	if ((a & OBJ_ORIGIN) != OBJ_ORIGIN)
		return errmsg_set(e, "attestation: the %s can leave the TPM or its parent "
				  "(fixedTPM or fixedParent clear)", what);
	return 0;
}

/* EK certificate: it certifies the EK public in the file and chains to the CA. */
static int check_ek(const struct attestation *a, const struct att_verify_opts *o,
		    const TPMT_PUBLIC *ek, struct report *rep, struct errmsg *e);

static int check_ak(const TPMT_PUBLIC *ak, struct errmsg *e)
{
	TPMA_OBJECT x = ak->objectAttributes;

	if (check_origin(x, "attestation key", e) != 0)
		return -1;
	if (!(x & TPMA_OBJECT_RESTRICTED) || !(x & TPMA_OBJECT_SIGN_ENCRYPT) ||
	    (x & TPMA_OBJECT_DECRYPT))
		return errmsg_set(e, "attestation: the AK is not a restricted signing key, so "
				  "its signature does not prove the TPM made the statement");
	if (ak->type != TPM2_ALG_ECC)
		return errmsg_set(e, "attestation: the AK is not an ECC key (only ECDSA AKs "
				  "are checked)");
	return 0;
}

/* The recorded credential activation: a credential for (EK, AK name) and the secret
 * the TPM released with ActivateCredential when the AK was made. */
static int check_activation(const struct att_blob *b, struct errmsg *e)
{
	TPM2B_ID_OBJECT cred;
	TPM2B_ENCRYPTED_SECRET enc;
	TPM2B_DIGEST secret;
	size_t off = 0;

	memset(&cred, 0, sizeof(cred));
	memset(&enc, 0, sizeof(enc));
	memset(&secret, 0, sizeof(secret));
	if (b->len == 0)
		return errmsg_set(e, "attestation: no AK ACTIVATION block: nothing binds the "
				  "AK to the EK");
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(b->d, b->len, &off, &cred) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(b->d, b->len, &off, &enc) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_DIGEST_Unmarshal(b->d, b->len, &off, &secret) != TSS2_RC_SUCCESS ||
	    off != b->len || cred.size == 0 || enc.size == 0 || secret.size < 16)
		return errmsg_set(e, "attestation: the AK ACTIVATION block is malformed");
	return 0;
}

static int ecdsa_der(const TPMT_SIGNATURE *s, uint8_t *der, size_t cap, size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(s->signature.ecdsa.signatureR.buffer,
			      s->signature.ecdsa.signatureR.size, NULL);
	BIGNUM *ss = BN_bin2bn(s->signature.ecdsa.signatureS.buffer,
			       s->signature.ecdsa.signatureS.size, NULL);
	unsigned char *p = der;
	int n = -1;

	if (sig != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(sig, r, ss) == 1) {
		r = ss = NULL;
		if (i2d_ECDSA_SIG(sig, NULL) <= (int)cap)
			n = i2d_ECDSA_SIG(sig, &p);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* The AK signed exactly the TPMS_ATTEST bytes (ECDSA, SHA-256). */
static int check_signature(const struct attestation *a, const TPMT_PUBLIC *ak,
			   const TPM2B_ATTEST *info, struct errmsg *e)
{
	TPMT_SIGNATURE s;
	struct sshkey_pub akpub;
	uint8_t der[160];
	size_t off = 0, der_len;
	EVP_PKEY *pk;
	EVP_MD_CTX *md;
	int ok;

	memset(&s, 0, sizeof(s));
	if (a->signature.len == 0 ||
	    Tss2_MU_TPMT_SIGNATURE_Unmarshal(a->signature.d, a->signature.len, &off, &s) !=
	    TSS2_RC_SUCCESS || off != a->signature.len)
		return errmsg_set(e, "attestation: CERTIFY SIGNATURE missing or malformed");
	if (s.sigAlg != TPM2_ALG_ECDSA || s.signature.ecdsa.hash != TPM2_ALG_SHA256)
		return errmsg_set(e, "attestation: the signature is not ECDSA with SHA-256");
	if (tpmt_to_ssh(ak, &akpub) != 0 || (pk = pubkey_to_evp(&akpub)) == NULL)
		return errmsg_set(e, "attestation: unusable AK public key");
	md = EVP_MD_CTX_new();
	ok = md != NULL && ecdsa_der(&s, der, sizeof(der), &der_len) == 0 &&
	     EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	     EVP_DigestVerify(md, der, der_len, info->attestationData, info->size) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok ? 0 : errmsg_set(e, "attestation: the AK's signature over the certify info "
				   "does not verify (file tampered with, or signed by another key)");
}

/* TPMS_ATTEST: made by the TPM (magic), a certify statement, the nonce, and the name
 * of exactly the key in KEY PUBLIC. */
static int check_certify(const struct attestation *a, const TPM2B_ATTEST *info,
			 const struct att_verify_opts *o, struct errmsg *e)
{
	TPMS_ATTEST st;
	uint8_t name[2 + 64];
	size_t off = 0, name_len;
	const TPM2B_NAME *got;

	memset(&st, 0, sizeof(st));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(info->attestationData, info->size, &off, &st) !=
	    TSS2_RC_SUCCESS || off != info->size)
		return errmsg_set(e, "attestation: CERTIFY INFO is not a TPMS_ATTEST");
	if (st.magic != TPM2_GENERATED_VALUE || st.type != TPM2_ST_ATTEST_CERTIFY)
		return errmsg_set(e, "attestation: CERTIFY INFO is not a TPM-generated certify "
				  "statement (magic 0x%08x, type 0x%04x)", st.magic, st.type);
	if (o->nonce != NULL && (st.extraData.size != o->nonce_len ||
				 memcmp(st.extraData.buffer, o->nonce, o->nonce_len) != 0))
		return errmsg_set(e, "attestation: the nonce (qualifying data) differs from the "
				  "one expected: a replayed attestation?");
	if (attestation_name(a->key_pub.d, a->key_pub.len, name, &name_len, e) != 0)
		return -1;
	got = &st.attested.certify.name;
	if (got->size != name_len || memcmp(got->name, name, name_len) != 0)
		return errmsg_set(e, "attestation: the certified name is not the name of KEY "
				  "PUBLIC (nameAlg || SHA-256 of its public area)");
	return 0;
}

static int check_key(const TPMT_PUBLIC *kp, const struct att_verify_opts *o, struct errmsg *e)
{
	const struct sshkey_pub *want = o->key;
	struct sshkey_pub got;

	if (tpmt_to_ssh(kp, &got) != 0)
		return errmsg_set(e, "attestation: KEY PUBLIC holds no RSA/ECDSA key");
	if (want != NULL && !sshkey_pub_equal(&got, want))
		return errmsg_set(e, "attestation: the attested key is not the given public key "
				  "(a different key's public half)");
	if (o->imported != NULL)
		*o->imported = 0;
	if (o->allow_imported && check_origin(kp->objectAttributes, "attested key", e) != 0) {
		if (o->imported != NULL)
			*o->imported = 1;
		return 0;
	}
	return check_origin(kp->objectAttributes, "attested key", e);
}

static int unmarshal_attest(const struct att_blob *b, TPM2B_ATTEST *info, struct errmsg *e)
{
	size_t off = 0;

	memset(info, 0, sizeof(*info));
	if (b->len == 0 || Tss2_MU_TPM2B_ATTEST_Unmarshal(b->d, b->len, &off, info) !=
	    TSS2_RC_SUCCESS || off != b->len)
		return errmsg_set(e, "attestation: CERTIFY INFO missing or malformed");
	return 0;
}

int attestation_verify(const struct attestation *a, const struct att_verify_opts *o,
		       char *report, size_t report_len, struct errmsg *e)
{
	struct report rep = { report, report_len };
	TPM2B_PUBLIC ek, ak, key;
	TPM2B_ATTEST info;

	if (report != NULL && report_len > 0)
		report[0] = '\0';
	if (unmarshal_public(&a->ek_pub, "EK PUBLIC", &ek, e) != 0 ||
	    unmarshal_public(&a->ak_pub, "AK PUBLIC", &ak, e) != 0 ||
	    unmarshal_public(&a->key_pub, "KEY PUBLIC", &key, e) != 0 ||
	    unmarshal_attest(&a->certify_info, &info, e) != 0)
		return -1;
	if (check_ek(a, o, &ek.publicArea, &rep, e) != 0)
		return -1;
	if (check_ak(&ak.publicArea, e) != 0 || check_activation(&a->activation, e) != 0)
		return -1;
	passed(&rep, "AK: restricted signing key made in the TPM; activation record present");
	if (check_signature(a, &ak.publicArea, &info, e) != 0)
		return -1;
	passed(&rep, "signature: the AK signed the certify info");
	if (check_certify(a, &info, o, e) != 0)
		return -1;
	passed(&rep, "certify: TPM-generated, certified name = name of the key%s",
	       o->nonce ? ", nonce matches" : "");
	if (check_key(&key.publicArea, o, e) != 0)
		return -1;
	if (o->imported != NULL && *o->imported)
		passed(&rep, "key: %sIMPORTED (not generated in the TPM, or not fixed to it)",
		       o->key ? "matches the given public key; " : "");
	else
		passed(&rep, "key: %sfixedTPM, fixedParent, sensitiveDataOrigin",
		       o->key ? "matches the given public key; " : "");
	return 0;
}

/* ---- the EK ---- */

static int ek_matches_cert(X509 *cert, const TPMT_PUBLIC *ek)
{
	struct sshkey_pub k;
	EVP_PKEY *from_tpm, *from_cert = X509_get0_pubkey(cert);
	int ok;

	if (from_cert == NULL || tpmt_to_ssh(ek, &k) != 0 || (from_tpm = pubkey_to_evp(&k)) == NULL)
		return 0;
	ok = EVP_PKEY_eq(from_tpm, from_cert) == 1;
	EVP_PKEY_free(from_tpm);
	return ok;
}

/* TPM EK certificates carry extensions OpenSSL does not know (the TPM's subject
 * alternative name is critical with an empty subject): those alone are no reason to
 * refuse a chain that otherwise verifies. */
static int ek_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION)
		return 1;
	return ok;
}

static int ek_chain(X509 *cert, const char *ca_file, struct errmsg *e)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0, err = 0;

	if (store != NULL && ctx != NULL && X509_STORE_load_file(store, ca_file) == 1) {
		X509_STORE_set_verify_cb(store, ek_verify_cb);
		/* The CA file may hold an intermediate (swtpm's local CA) as the anchor. */
		X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
		if (X509_STORE_CTX_init(ctx, store, cert, NULL) == 1) {
			ok = X509_verify_cert(ctx) == 1;
			err = X509_STORE_CTX_get_error(ctx);
		}
	} else {
		errmsg_set(e, "attestation: cannot read the EK CA file %s", ca_file);
		err = -1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	if (ok)
		return 0;
	if (err == -1)
		return -1;
	return errmsg_set(e, "attestation: the EK certificate does not chain to %s: %s", ca_file,
			  X509_verify_cert_error_string(err));
}

static int check_ek(const struct attestation *a, const struct att_verify_opts *o,
		    const TPMT_PUBLIC *ek, struct report *rep, struct errmsg *e)
{
	const unsigned char *p = a->ek_cert.d;
	X509 *cert;
	int r = 0;

	if ((ek->objectAttributes & (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)) !=
	    (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT) ||
	    check_origin(ek->objectAttributes, "endorsement key", e) != 0)
		return e->text[0] ? -1 : errmsg_set(e, "attestation: EK PUBLIC is not a "
						    "restricted decryption key");
	if (a->ek_cert.len == 0) {
		if (o->ek_ca_file != NULL)
			return errmsg_set(e, "attestation: no EK CERTIFICATE (the TPM has none in "
					  "NV) to check against %s", o->ek_ca_file);
		passed(rep, "EK: no certificate in the file; trust the EK public key by other means");
		return 0;
	}
	if ((cert = d2i_X509(NULL, &p, (long)a->ek_cert.len)) == NULL)
		return errmsg_set(e, "attestation: EK CERTIFICATE is not X.509 DER");
	if (!ek_matches_cert(cert, ek))
		r = errmsg_set(e, "attestation: the EK certificate is for another key than EK "
			       "PUBLIC");
	else if (o->ek_ca_file != NULL)
		r = ek_chain(cert, o->ek_ca_file, e);
	X509_free(cert);
	if (r == 0)
		passed(rep, "EK: certificate matches the EK%s", o->ek_ca_file ?
		       " and chains to the given CA" : " (chain NOT checked: no --ek-ca)");
	return r;
}
