/* tpm_hierarchy: hierarchy keys, TPM2_CreatePrimary from a fixed template (see
 * tpm_hierarchy.h). The template is an unrestricted signing key (RSA also decrypts, as
 * tpm-key gen makes them), fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
 * noDA, empty auth, scheme NULL (chosen per signature), empty unique. */
#include "tpm_hierarchy.h"

#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "tpm_internal.h"

#define HIER_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
		    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
		    TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT)

uint32_t tpm_hierarchy_handle(const char *name, struct errmsg *e)
{
	if (strcmp(name, "owner") == 0)
		return TPM2_RH_OWNER;
	if (strcmp(name, "endorsement") == 0)
		return TPM2_RH_ENDORSEMENT;
	if (strcmp(name, "null") == 0)
		return TPM2_RH_NULL;
	if (strcmp(name, "platform") == 0)
		errmsg_set(e, "the platform hierarchy belongs to the firmware, which disables it "
			   "before the OS runs; use owner, endorsement or null");
	else
		errmsg_set(e, "unknown hierarchy '%s' (owner, endorsement or null)", name);
	return 0;
}

int tpm_hierarchy_keytype(const char *name, enum sshkey_type *type, unsigned *bits)
{
	static const struct { const char *name; enum sshkey_type type; unsigned bits; } t[] = {
		{ "ecdsa256", SSHKEY_ECDSA_P256, 256 }, { "ecdsa384", SSHKEY_ECDSA_P384, 384 },
		{ "ecdsa521", SSHKEY_ECDSA_P521, 521 }, { "rsa2048", SSHKEY_RSA, 2048 },
		{ "rsa3072", SSHKEY_RSA, 3072 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0) {
			*type = t[i].type;
			*bits = t[i].bits;
			return 0;
		}
	return -1;
}

static int hier_template(enum sshkey_type type, unsigned bits, TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = HIER_ATTRS;
	if (type == SSHKEY_RSA) {
		p->publicArea.type = TPM2_ALG_RSA;
		p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
		p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
		p->publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
		return bits == 2048 || bits == 3072 ? 0 : -1;
	}
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	switch (type) {
	case SSHKEY_ECDSA_P256: p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256; break;
	case SSHKEY_ECDSA_P384: p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384; break;
	case SSHKEY_ECDSA_P521: p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P521; break;
	default: return -1;
	}
	return 0;
}

static ESYS_TR hier_tr(uint32_t h)
{
	return h == TPM2_RH_OWNER ? ESYS_TR_RH_OWNER :
	       h == TPM2_RH_ENDORSEMENT ? ESYS_TR_RH_ENDORSEMENT : ESYS_TR_RH_NULL;
}

/* CreatePrimary under hierarchy (its auth empty: a password session carries nothing);
 * *tr the new object, *out its public area. */
static TSS2_RC create_primary(struct tpm *t, uint32_t hierarchy, const TPM2B_PUBLIC *tmpl,
			      ESYS_TR *tr, TPM2B_PUBLIC **out)
{
	const TPM2B_SENSITIVE_CREATE sens = { 0 };
	const TPM2B_DATA outside = { 0 };
	const TPML_PCR_SELECTION pcrs = { 0 };

	return Esys_CreatePrimary(t->esys, hier_tr(hierarchy), ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, &sens, tmpl, &outside, &pcrs, tr, out, NULL,
				  NULL, NULL);
}

int tpm_hierarchy_key(struct tpm *t, uint32_t hierarchy, enum sshkey_type type,
		      unsigned bits, struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC tmpl, *out = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;

	if (hier_template(type, bits, &tmpl) != 0) {
		errmsg_set(e, "hierarchy keys are ecdsa256, ecdsa384, ecdsa521, rsa2048 or rsa3072");
		return TPM_E_UNSUPPORTED;
	}
	rc = create_primary(t, hierarchy, &tmpl, &tr, &out);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_base(rc) == TPM2_RC_BAD_AUTH || rc_base(rc) == TPM2_RC_AUTH_FAIL ?
			       "the hierarchy has an authorization value; hierarchy keys need "
			       "an empty one" : NULL, "TPM2_CreatePrimary of a hierarchy key");
	Esys_FlushContext(t->esys, tr);
	memset(k, 0, sizeof(*k));
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(out, k->pub, sizeof(k->pub), &off);
	Esys_Free(out);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot marshal the hierarchy key");
	k->pub_len = off;
	k->primary = hierarchy;
	return tpm_key_public(k, pub, e);
}

TSS2_RC tpm_primary_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h)
{
	struct errmsg ignored = { "" };
	struct sshkey_pub want, got;
	TPM2B_PUBLIC tmpl, *out = NULL;
	TPM2B_NAME *name = NULL;
	ESYS_TR tr = ESYS_TR_NONE;
	TSS2_RC rc;

	if (tpm_key_public(k, &want, &ignored) != 0 ||
	    hier_template(want.type, sshkey_bits(&want), &tmpl) != 0)
		return TSS2_SYS_RC_BAD_VALUE;
	rc = create_primary(t, k->primary, &tmpl, &tr, &out);
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	memset(&got, 0, sizeof(got));
	{
		struct tpm_key now = { 0 };
		size_t off = 0;

		if (Tss2_MU_TPM2B_PUBLIC_Marshal(out, now.pub, sizeof(now.pub), &off) ==
		    TSS2_RC_SUCCESS) {
			now.pub_len = off;
			tpm_key_public(&now, &got, &ignored);
		}
	}
	Esys_Free(out);
	/* Another seed (a TPM reset for null, a clear for owner) makes another key. */
	if (!sshkey_pub_equal(&want, &got))
		rc = TPM2_RC_INTEGRITY;
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TR_GetName(t->esys, tr, &name);
	if (rc == TSS2_RC_SUCCESS && (name->size == 0 || name->size > sizeof(k->state.name)))
		rc = TSS2_SYS_RC_MALFORMED_RESPONSE;
	if (rc == TSS2_RC_SUCCESS) {
		memcpy(k->state.name, name->name, name->size);
		k->state.name_len = name->size;
		rc = Esys_TR_GetTpmHandle(t->esys, tr, h);
	}
	Esys_Free(name);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(t->esys, tr);
		return rc;
	}
	Esys_TR_Close(t->esys, &tr); /* ESAPI forgets it; tpm_keys.c owns the handle now */
	return TSS2_RC_SUCCESS;
}
