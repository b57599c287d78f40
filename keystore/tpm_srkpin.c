/* tpm_srkpin: the SRK pin inside the TPM module: the name of the SRK computed from the
 * public area ESAPI holds for it (the one its salted sessions encrypt to), compared with
 * the pin, and the refusal that follows a mismatch (tpm.h: tpm_srk_refused). */
#include "tpm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "srkpin.h"
#include "tpm_internal.h"

/* The last refusal, for tpm_err's message (the agent has one TPM, used under its lock). */
static char srk_refusal_text[ERRMSG_MAX];

const char *srk_refusal_last(void)
{
	return srk_refusal_text[0] ? srk_refusal_text :
	       "tpm: refusing this TPM: its SRK is not the pinned one";
}

void srk_refusal_forget(void)
{
	srk_refusal_text[0] = '\0';
}

/* The public area and name ESAPI keeps for the SRK (Esys_TR_Serialize: handle,
 * TPM2B_NAME, resource type 1 = key, TPM2B_PUBLIC): its salted sessions encrypt to
 * that public area, so that, not a second answer of the TPM, is what must match the pin. */
static int srk_esys_view(struct tpm *t, TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
	uint8_t *buf = NULL;
	size_t len = 0, off = 4;
	uint32_t type = 0;
	TSS2_RC rc;

	memset(pub, 0, sizeof(*pub));
	memset(name, 0, sizeof(*name));
	if (Esys_TR_Serialize(t->esys, t->srk, &buf, &len) != TSS2_RC_SUCCESS)
		return -1;
	rc = Tss2_MU_TPM2B_NAME_Unmarshal(buf, len, &off, name);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_UINT32_Unmarshal(buf, len, &off, &type);
	if (rc == TSS2_RC_SUCCESS && type == 1)
		rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub);
	Esys_Free(buf);
	return rc == TSS2_RC_SUCCESS && type == 1 && off == len ? 0 : -1;
}

/* name = nameAlg || H(marshalled TPMT_PUBLIC), computed here: a name the TPM (or an
 * interposer) sends along proves nothing about the public area. */
static int public_name(const TPMT_PUBLIC *p, TPM2B_NAME *name)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	const EVP_MD *md = p->nameAlg == TPM2_ALG_SHA256 ? EVP_sha256() :
			   p->nameAlg == TPM2_ALG_SHA384 ? EVP_sha384() :
			   p->nameAlg == TPM2_ALG_SHA512 ? EVP_sha512() :
			   p->nameAlg == TPM2_ALG_SHA1 ? EVP_sha1() : NULL;
	size_t off = 0;
	unsigned len = 0;

	if (md == NULL ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(p, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    EVP_Digest(buf, off, name->name + 2, &len, md, NULL) != 1)
		return -1;
	name->name[0] = (uint8_t)(p->nameAlg >> 8);
	name->name[1] = (uint8_t)p->nameAlg;
	name->size = (UINT16)(2 + len);
	return 0;
}

int srk_refuse(struct tpm *t, struct errmsg *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->srk_refusal, sizeof(t->srk_refusal), fmt, ap);
	va_end(ap);
	snprintf(srk_refusal_text, sizeof(srk_refusal_text), "%s", t->srk_refusal);
	t->srk_refused = 1;
	errmsg_set(e, "%s", t->srk_refusal);
	return TPM_E_SRK_REFUSED;
}

/* Compares the SRK ESAPI holds with the pin (adopting it when there is none yet). */
static int srk_pin_check(struct tpm *t, const TPM2B_NAME *esys_name, const TPM2B_NAME *name,
			 struct errmsg *e)
{
	char got[2 * TPM_KEY_NAME_MAX + 1], want[2 * TPM_KEY_NAME_MAX + 1];

	srkpin_hex(name->name, name->size, got, sizeof(got));
	if (esys_name->size != name->size || memcmp(esys_name->name, name->name, name->size) != 0)
		return srk_refuse(t, e, "tpm: refusing this TPM: the SRK at 0x%08x came with a "
				  "name that is not the hash of its public area (%s): something "
				  "between the agent and the TPM tampers with its answers",
				  t->info.srk_handle, got);
	if (t->info.hierarchy == TPM_HIER_NULL)
		return 0;
	if (t->srk_pin_len == 0) {
		memcpy(t->srk_pin, name->name, name->size);
		t->srk_pin_len = name->size;
		return 0;
	}
	if (t->srk_pin_len == name->size && memcmp(t->srk_pin, name->name, name->size) == 0)
		return 0;
	srkpin_hex(t->srk_pin, t->srk_pin_len, want, sizeof(want));
	return srk_refuse(t, e, "tpm: refusing this TPM: the SRK at 0x%08x has name %s, but "
			  "the pinned name is %s. Something between the agent and the TPM may "
			  "substitute its key; if you cleared the TPM on purpose, re-pin with "
			  "`tpm-key init --repin`", t->info.srk_handle, got, want);
}

int srk_view_check(struct tpm *t, TPM2B_PUBLIC *view, TPM2B_NAME *name, struct errmsg *e)
{
	TPM2B_NAME esys_name;

	if (srk_esys_view(t, view, &esys_name) != 0 || public_name(&view->publicArea, name) != 0)
		return errmsg_set(e, "tpm: cannot read ESAPI's record of the SRK at 0x%08x",
				  t->info.srk_handle);
	return srk_pin_check(t, &esys_name, name, e);
}

TSS2_RC tpm_srk_gate(const struct tpm *t)
{
	return t->srk_refused ? TPM_RC_SRK_REFUSED : TSS2_RC_SUCCESS;
}

int tpm_srk_refused(const struct tpm *t, struct errmsg *e)
{
	if (t == NULL || !t->srk_refused)
		return 0;
	errmsg_set(e, "%s", t->srk_refusal);
	return 1;
}

int tpm_srk_name(const struct tpm *t, uint8_t *name, size_t cap, size_t *len)
{
	*len = 0;
	if (t == NULL || t->info.hierarchy == TPM_HIER_NULL || t->srk_pin_len > cap)
		return -1;
	memcpy(name, t->srk_pin, t->srk_pin_len);
	*len = t->srk_pin_len;
	return 0;
}

int tpm_srk_distrust(struct tpm *t, const char *why, struct errmsg *e)
{
	return srk_refuse(t, e, "tpm: refusing this TPM: %s", why);
}
