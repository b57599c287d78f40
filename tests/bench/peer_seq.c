/* peer_seq: the TPM commands ssh-tpm-agent 0.8 sends per signature (measured by the
 * issue's comparison): CreatePrimary of the SRK template, StartAuthSession (salted with
 * it), Load, StartAuthSession, Sign, FlushContext x2; replayed here with ESAPI on the
 * same swtpm and key, so `make bench` can put it beside the agent's cached signature.
 * A reference figure, not ssh-tpm-agent itself. */
#include "peer_seq.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "../../keystore/tpm_internal.h" /* srk_template: the bench is a test tool */

/* One signature the peer's way. */
static TSS2_RC one(ESYS_CONTEXT *c, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv)
{
	const TPM2B_SENSITIVE_CREATE sens = { 0 };
	const TPM2B_DATA outside = { 0 };
	const TPML_PCR_SELECTION pcrs = { 0 };
	const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				   .mode.aes = TPM2_ALG_CFB };
	const TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA,
					 .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
	const TPMT_TK_HASHCHECK check = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	TPM2B_DIGEST digest = { .size = 32, .buffer = { 1 } };
	TPM2B_PUBLIC tmpl;
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR prim = ESYS_TR_NONE, key = ESYS_TR_NONE, s1 = ESYS_TR_NONE, s2 = ESYS_TR_NONE;
	TSS2_RC rc;

	srk_template(&tmpl); /* the TCG H-2 template ssh-tpm-agent re-makes its SRK from */
	rc = Esys_CreatePrimary(c, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				&sens, &tmpl, &outside, &pcrs, &prim, NULL, NULL, NULL, NULL);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_StartAuthSession(c, prim, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
					   &s1);
	if (rc == TSS2_RC_SUCCESS) /* one command, then the TPM ends it (no continueSession) */
		rc = Esys_TRSess_SetAttributes(c, s1, TPMA_SESSION_DECRYPT, 0xff);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Load(c, prim, s1, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &key);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_StartAuthSession(c, prim, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
					   &s2);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_TRSess_SetAttributes(c, s2, 0, 0xff);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Sign(c, key, s2, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &check,
			       &sig);
	Esys_Free(sig);
	if (key != ESYS_TR_NONE)
		Esys_FlushContext(c, key);
	if (prim != ESYS_TR_NONE)
		Esys_FlushContext(c, prim);
	return rc;
}

struct peer_seq {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
};

struct peer_seq *peer_seq_open(const char *tcti, const struct tss2key *f, const char **why)
{
	struct peer_seq *p = calloc(1, sizeof(*p));
	size_t o1 = 0, o2 = 0;

	*why = "cannot connect";
	if (p == NULL || Tss2_TctiLdr_Initialize(tcti, &p->tcti) != TSS2_RC_SUCCESS ||
	    Esys_Initialize(&p->esys, p->tcti, NULL) != TSS2_RC_SUCCESS)
		goto fail;
	*why = "malformed key blobs";
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(f->pub, f->pub_len, &o1, &p->pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(f->priv, f->priv_len, &o2, &p->priv) != TSS2_RC_SUCCESS)
		goto fail;
	return p;
fail:
	peer_seq_close(p);
	return NULL;
}

int peer_seq_sign(struct peer_seq *p)
{
	return one(p->esys, &p->pub, &p->priv) == TSS2_RC_SUCCESS ? 0 : -1;
}

void peer_seq_close(struct peer_seq *p)
{
	if (p == NULL)
		return;
	if (p->esys != NULL)
		Esys_Finalize(&p->esys);
	if (p->tcti != NULL)
		Tss2_TctiLdr_Finalize(&p->tcti);
	free(p);
}
