/* tpm_caps: the TPM's algorithms, curves and RSA sizes (see tpm_caps.h). */
#include "tpm_caps.h"

#include <string.h>

#include "tpm_internal.h"

/* Reads one capability from property on, following moreData, through fill. */
static int read_cap(struct tpm *t, TPM2_CAP cap, UINT32 property,
		    void (*fill)(const TPMS_CAPABILITY_DATA *, struct tpm_caps *, UINT32 *),
		    struct tpm_caps *c, struct errmsg *e)
{
	TPMI_YES_NO more = TPM2_YES;

	for (int rounds = 0; more == TPM2_YES && rounds < 16; rounds++) {
		TPMS_CAPABILITY_DATA *data = NULL;
		TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
						cap, property, 256, &more, &data);

		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, NULL, "TPM2_GetCapability(0x%x)", (unsigned)cap);
		fill(data, c, &property);
		Esys_Free(data);
	}
	return 0;
}

static void fill_algs(const TPMS_CAPABILITY_DATA *d, struct tpm_caps *c, UINT32 *next)
{
	const TPML_ALG_PROPERTY *l = &d->data.algorithms;

	for (UINT32 i = 0; i < l->count && c->n_algs < TPM_CAPS_ALGS_MAX; i++) {
		c->algs[c->n_algs].alg = l->algProperties[i].alg;
		c->algs[c->n_algs++].attrs = l->algProperties[i].algProperties;
		*next = (UINT32)l->algProperties[i].alg + 1;
	}
}

static void fill_curves(const TPMS_CAPABILITY_DATA *d, struct tpm_caps *c, UINT32 *next)
{
	const TPML_ECC_CURVE *l = &d->data.eccCurves;

	for (UINT32 i = 0; i < l->count && c->n_curves < TPM_CAPS_CURVES_MAX; i++) {
		c->curves[c->n_curves++] = l->eccCurves[i];
		*next = (UINT32)l->eccCurves[i] + 1;
	}
}

/* An RSA signing key of bits: TPM_RC_SUCCESS when the TPM could make one. */
static TSS2_RC test_rsa(struct tpm *t, unsigned bits)
{
	TPMT_PUBLIC_PARMS p;

	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_RSA;
	p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
	return Esys_TestParms(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p);
}

int tpm_caps_read(struct tpm *t, struct tpm_caps *c, struct errmsg *e)
{
	static const unsigned sizes[TPM_CAPS_RSA_PROBES] = { 1024, 2048, 3072, 4096 };

	memset(c, 0, sizeof(*c));
	if (read_cap(t, TPM2_CAP_ALGS, TPM2_ALG_FIRST, fill_algs, c, e) != 0 ||
	    read_cap(t, TPM2_CAP_ECC_CURVES, TPM2_ECC_NONE, fill_curves, c, e) != 0)
		return -1;
	for (size_t i = 0; i < TPM_CAPS_RSA_PROBES; i++) {
		TSS2_RC rc = test_rsa(t, sizes[i]);

		c->rsa[i].bits = sizes[i];
		c->rsa[i].ok = rc == TSS2_RC_SUCCESS;
		/* a refusal names the parameter; anything else is a TPM we cannot ask */
		if (rc != TSS2_RC_SUCCESS && (rc & TPM2_RC_FMT1) == 0 && rc_base(rc) != TPM2_RC_VALUE)
			return tpm_err(e, rc, NULL, "TPM2_TestParms(RSA %u)", sizes[i]);
	}
	return 0;
}
