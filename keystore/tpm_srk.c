/* tpm_srk: the SRK: finding, checking, creating and re-pinning the storage primary. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "tpm_internal.h"

/* TCG "H-2" storage primary (REFERENCE.md §2). */
#define SRK_ATTRS (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | \
		   TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
		   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

/* ---- the SRK ---- */

/* Describes a TPM object for an error message, e.g. "an RSA key (sign)". */
static void describe_object(const TPMT_PUBLIC *p, char *out, size_t size)
{
	const char *type = p->type == TPM2_ALG_RSA ? "RSA" :
			   p->type == TPM2_ALG_ECC ? "ECC" :
			   p->type == TPM2_ALG_KEYEDHASH ? "keyed-hash" :
			   p->type == TPM2_ALG_SYMCIPHER ? "symmetric" : "unknown";
	TPMA_OBJECT a = p->objectAttributes;

	snprintf(out, size, "%s %s object (%s%s%s)",
		 p->type == TPM2_ALG_RSA || p->type == TPM2_ALG_ECC ? "an" : "a", type,
		 a & TPMA_OBJECT_RESTRICTED ? "restricted " : "",
		 a & TPMA_OBJECT_DECRYPT ? "decrypt " : "",
		 a & TPMA_OBJECT_SIGN_ENCRYPT ? "sign" : "no sign");
}

/* Keeps what sessions need: the SRK's name (cpHash) and its P-256 point (salt). */
static void srk_remember(struct tpm *t, const TPMT_PUBLIC *p, const TPM2B_NAME *name)
{
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;

	t->srk_name = *name;
	t->srk_p256 = p->type == TPM2_ALG_ECC &&
		      p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
		      x->size > 0 && x->size <= TPMS_ECC_COORD &&
		      y->size > 0 && y->size <= TPMS_ECC_COORD;
	if (!t->srk_p256)
		return;
	/* Coordinates may come without leading zeros. */
	memset(t->srk_x, 0, sizeof(t->srk_x));
	memset(t->srk_y, 0, sizeof(t->srk_y));
	memcpy(t->srk_x + TPMS_ECC_COORD - x->size, x->buffer, x->size);
	memcpy(t->srk_y + TPMS_ECC_COORD - y->size, y->buffer, y->size);
}

const char *tpm_hierarchy_name(int h)
{
	switch (h) {
	case TPM_HIER_OWNER: return "owner";
	case TPM_HIER_ENDORSEMENT: return "endorsement";
	case TPM_HIER_NULL: return "null";
	}
	return NULL;
}

int tpm_parent_hierarchy(uint32_t parent)
{
	if (parent == TPM2_RH_NULL)
		return TPM_HIER_NULL;
	if (parent == TPM2_RH_ENDORSEMENT)
		return TPM_HIER_ENDORSEMENT;
	return TPM_HIER_OWNER;
}

/* 1 if qname is that of a primary of the endorsement hierarchy: a primary's
 * qualified name is nameAlg || H(hierarchy handle || name). */
static int is_endorsement_primary(const TPM2B_NAME *name, const TPM2B_NAME *qname)
{
	uint8_t buf[4 + sizeof(name->name)], md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	uint32_t h = TPM2_RH_ENDORSEMENT;

	if (name->size < 2 || qname->size != 2 + 32 || name->name[0] != 0x00 ||
	    name->name[1] != 0x0b || qname->name[0] != 0x00 || qname->name[1] != 0x0b)
		return 0;
	buf[0] = (uint8_t)(h >> 24); buf[1] = (uint8_t)(h >> 16);
	buf[2] = (uint8_t)(h >> 8); buf[3] = (uint8_t)h;
	memcpy(buf + 4, name->name, name->size);
	if (EVP_Digest(buf, 4u + name->size, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != 32)
		return 0;
	return memcmp(qname->name + 2, md, 32) == 0;
}

static int srk_check(struct tpm *t, struct errmsg *e)
{
	TPM2B_PUBLIC *pub = NULL, view;
	TPM2B_NAME *name = NULL, *qname = NULL, computed;
	TPMA_OBJECT a;
	char what[128];
	int ok;
	TSS2_RC rc;

	if ((ok = srk_view_check(t, &view, &computed, e)) != 0)
		return ok;
	rc = Esys_ReadPublic(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			     &pub, &name, &qname);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read the SRK at 0x%08x", t->info.srk_handle);
	Esys_Free(pub);
	Esys_Free(name);
	srk_remember(t, &view.publicArea, &computed);
	if (t->info.hierarchy != TPM_HIER_NULL) {
		int endo = is_endorsement_primary(&computed, qname);

		if ((t->info.hierarchy == TPM_HIER_ENDORSEMENT) != endo) {
			Esys_Free(qname);
			return errmsg_set(e, "tpm: the SRK at 0x%08x is %s, and this agent runs with "
					  "hierarchy = %s; configure another srk-handle (e.g. 0x%08x) "
					  "or free it with `tpm2_evictcontrol -C o -c 0x%08x`",
					  t->info.srk_handle, endo ? "a primary of the endorsement "
					  "hierarchy" : "not a primary of the endorsement hierarchy",
					  tpm_hierarchy_name(t->info.hierarchy),
					  endo ? 0x81000001u : 0x81010001u, t->info.srk_handle);
		}
	}
	Esys_Free(qname);
	a = view.publicArea.objectAttributes;
	ok = (view.publicArea.type == TPM2_ALG_ECC || view.publicArea.type == TPM2_ALG_RSA) &&
	     (a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT) &&
	     !(a & TPMA_OBJECT_SIGN_ENCRYPT);
	describe_object(&view.publicArea, what, sizeof(what));
	if (ok)
		return 0;
	return errmsg_set(e, "tpm: persistent handle 0x%08x holds %s, not a storage key "
			  "(restricted decrypt) that could be the SRK; free it with "
			  "`tpm2_evictcontrol -C o -c 0x%08x` or configure another SRK handle",
			  t->info.srk_handle, what, t->info.srk_handle);
}

void srk_template(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = SRK_ATTRS;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

/* Makes the H-2 primary in the configured hierarchy and persists it at the SRK
 * handle; with hierarchy null it stays transient (t->srk) and is made at every start. */
static int srk_create(struct tpm *t, struct errmsg *e)
{
	const char *owner_remedy = t->info.hierarchy == TPM_HIER_ENDORSEMENT ?
		"does the endorsement or owner hierarchy have a password? then create the "
		"SRK yourself: tpm2_createprimary -C e -g sha256 -G ecc256:aes128cfb -c srk.ctx "
		"&& tpm2_evictcontrol -C o -c srk.ctx <handle>" :
		"does the owner hierarchy have a password? then create the "
		"SRK yourself: tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -c srk.ctx "
		"&& tpm2_evictcontrol -C o -c srk.ctx <handle>";
	ESYS_TR hier = t->info.hierarchy == TPM_HIER_ENDORSEMENT ? ESYS_TR_RH_ENDORSEMENT :
		       t->info.hierarchy == TPM_HIER_NULL ? ESYS_TR_RH_NULL : ESYS_TR_RH_OWNER;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *out_pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = 0;

	srk_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, hier, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &primary,
				&out_pub, &cdata, &chash, &ticket);
	Esys_Free(out_pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_class(rc) == TPM_E_AUTH_FAIL ? owner_remedy :
			       rc_base(rc) == TPM2_RC_OBJECT_MEMORY ? "other programs hold all "
			       "transient slots; use the kernel resource manager (device:/dev/tpmrm0)"
			       : NULL, "cannot create the SRK (%s hierarchy primary)",
			       tpm_hierarchy_name(t->info.hierarchy));
	if (t->info.hierarchy == TPM_HIER_NULL) {
		/* The null seed changes at every TPM reset: nothing to persist. */
		t->srk = primary;
		rc = Esys_TR_GetTpmHandle(t->esys, primary, &t->srk_tpm);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, NULL, "cannot read the null hierarchy SRK's handle");
		return 0;
	}
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, t->info.srk_handle, &t->srk);
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		r = tpm_err(e, rc, rc_class(rc) == TPM_E_AUTH_FAIL ? owner_remedy : NULL,
			    "cannot make the SRK persistent at 0x%08x", t->info.srk_handle);
	}
	/* The persistent copy is what we use; the transient one would take a slot. */
	Esys_FlushContext(t->esys, primary);
	return r;
}

int srk_setup(struct tpm *t, struct errmsg *e)
{
	TSS2_RC rc;
	int r;

	t->srk_tpm = t->info.srk_handle;
	if (t->info.hierarchy == TPM_HIER_NULL) {
		if ((r = srk_create(t, e)) != 0)
			return r;
		return srk_check(t, e);
	}
	rc = Esys_TR_FromTPMPublic(t->esys, t->info.srk_handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &t->srk);
	if (rc == TSS2_RC_SUCCESS)
		return srk_check(t, e);
	t->srk = ESYS_TR_NONE;
	if (rc_base(rc) != TPM2_RC_HANDLE)
		return tpm_err(e, rc, NULL, "cannot look up the SRK at 0x%08x", t->info.srk_handle);
	if (t->srk_pin_len > 0)
		return srk_refuse(t, e, "tpm: refusing this TPM: the pinned SRK at 0x%08x is gone. "
				  "If you cleared the TPM on purpose, `tpm-key init --repin` makes "
				  "and pins a new one (keys made under the old SRK are lost)",
				  t->info.srk_handle);
	if ((r = srk_create(t, e)) != 0)
		return r;
	return srk_check(t, e);
}

int tpm_srk_repin(struct tpm *t, uint8_t *name, size_t cap, size_t *len, struct errmsg *e)
{
	int r;

	*len = 0;
	if (t->info.hierarchy == TPM_HIER_NULL)
		return errmsg_set(e, "tpm: hierarchy = null makes a new SRK at every TPM reset: "
				  "there is nothing to pin");
	while (t->n_loaded > 0)
		tpm_flush_slot(t, t->n_loaded - 1);
	if (!t->plain && t->sys != NULL)
		tpm_session_close(t);
	t->srk_pin_len = 0;
	t->srk_refused = 0;
	srk_refusal_forget();
	if (t->sys == NULL) {
		r = tpm_reconnect(t, e);
	} else {
		if (t->srk != ESYS_TR_NONE)
			(void)Esys_TR_Close(t->esys, &t->srk);
		t->srk = ESYS_TR_NONE;
		r = srk_setup(t, e);
	}
	if (r == 0)
		r = tpm_session_open(t, e);
	if (r != 0)
		return r == TPM_E_CONN ? r : TPM_E_FAIL;
	return tpm_srk_name(t, name, cap, len) == 0 ? 0 :
	       errmsg_set(e, "tpm: the SRK name does not fit");
}

