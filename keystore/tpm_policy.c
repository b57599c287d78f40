/* tpm_policy: PCR-bound keys. PCR selections and reads, policy digests in software, the
 * key file's policy fields (the policy session a key's command runs in: tpm_policy_session.c). */
#include "tpm_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>

#include "tpm_internal.h"
#include "tpm_policy_internal.h"

/* ---- PCR selections ---- */

static const struct { const char *name; uint16_t alg; size_t len; } banks[] = {
	{ "sha1", TPM2_ALG_SHA1, 20 },
	{ "sha256", TPM2_ALG_SHA256, 32 },
	{ "sha384", TPM2_ALG_SHA384, 48 },
	{ "sha512", TPM2_ALG_SHA512, 64 },
};
#define N_BANKS (sizeof(banks) / sizeof(banks[0]))

size_t tpm_pcr_bank_len(uint16_t bank)
{
	for (size_t i = 0; i < N_BANKS; i++)
		if (banks[i].alg == bank)
			return banks[i].len;
	return 0;
}

static const char *bank_name(uint16_t bank)
{
	for (size_t i = 0; i < N_BANKS; i++)
		if (banks[i].alg == bank)
			return banks[i].name;
	return "unknown-bank";
}

/* One PCR number of a list; *p moves past it. */
static int parse_pcr_number(const char **p, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9' && digits < 3) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0 || v >= TPM_PCR_MAX)
		return -1;
	*out = v;
	return 0;
}

static int parse_pcr_list(const char *list, uint32_t *mask)
{
	const char *p = list;
	unsigned lo, hi;

	*mask = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (parse_pcr_number(&p, &lo) != 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_pcr_number(&p, &hi) != 0 || hi < lo)
				return -1;
		}
		for (unsigned i = lo; i <= hi; i++)
			*mask |= 1u << i;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

int tpm_pcr_parse(const char *list, const char *bank, struct tpm_pcr_sel *sel,
		  struct errmsg *e)
{
	memset(sel, 0, sizeof(*sel));
	sel->bank = 0;
	for (size_t i = 0; i < N_BANKS; i++)
		if (strcmp(bank != NULL && bank[0] ? bank : "sha256", banks[i].name) == 0)
			sel->bank = banks[i].alg;
	if (sel->bank == 0)
		return errmsg_set(e, "PCR bank '%s' is not one of sha1, sha256, sha384, sha512",
				  bank);
	if (list == NULL || parse_pcr_list(list, &sel->mask) != 0 || sel->mask == 0)
		return errmsg_set(e, "PCR list '%s' is not like 0,1,2,3,7 or 0-7 (PCRs 0 to %d)",
				  list ? list : "", TPM_PCR_MAX - 1);
	return 0;
}

void tpm_pcr_format_mask(uint32_t mask, char *out, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < TPM_PCR_MAX; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(out + used, len - used, "%s%u", used ? "," : "", i);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

void tpm_pcr_format(const struct tpm_pcr_sel *sel, char *out, size_t len)
{
	char pcrs[96];

	tpm_pcr_format_mask(sel->mask, pcrs, sizeof(pcrs));
	snprintf(out, len, "%s:%s", bank_name(sel->bank), pcrs);
}

void sel_to_tpml(const struct tpm_pcr_sel *sel, TPML_PCR_SELECTION *out)
{
	memset(out, 0, sizeof(*out));
	out->count = 1;
	out->pcrSelections[0].hash = sel->bank;
	out->pcrSelections[0].sizeofSelect = 3;
	for (unsigned i = 0; i < 3; i++)
		out->pcrSelections[0].pcrSelect[i] = (uint8_t)(sel->mask >> (8 * i));
}

/* Only the one-bank selections we write (and PCRs 0..23) are understood. */
static int sel_from_tpml(const TPML_PCR_SELECTION *in, struct tpm_pcr_sel *sel)
{
	const TPMS_PCR_SELECTION *s = &in->pcrSelections[0];

	memset(sel, 0, sizeof(*sel));
	if (in->count != 1 || s->sizeofSelect < 1 || s->sizeofSelect > 3 ||
	    tpm_pcr_bank_len(s->hash) == 0)
		return -1;
	sel->bank = s->hash;
	for (unsigned i = 0; i < s->sizeofSelect; i++)
		sel->mask |= (uint32_t)s->pcrSelect[i] << (8 * i);
	return sel->mask != 0 ? 0 : -1;
}

/* ---- reading PCRs ---- */

/* Takes the values the TPM returned for the selection it says it returned. */
static int take_values(const TPML_PCR_SELECTION *got, const TPML_DIGEST *vals,
		       struct tpm_pcr_values *out, uint32_t *left)
{
	struct tpm_pcr_sel s;
	uint32_t n = 0;

	if (got->count == 0)
		return -1;
	if (sel_from_tpml(got, &s) != 0 || s.bank != out->sel.bank || (s.mask & ~*left))
		return -1;
	for (unsigned i = 0; i < TPM_PCR_MAX; i++) {
		if (!(s.mask & (1u << i)))
			continue;
		if (n >= vals->count || vals->digests[n].size != out->len)
			return -1;
		memcpy(out->v[i], vals->digests[n++].buffer, out->len);
	}
	*left &= ~s.mask;
	return 0;
}

int tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, struct tpm_pcr_values *out,
		 struct errmsg *e)
{
	uint32_t left = sel->mask, counter;
	int rounds = 0;

	memset(out, 0, sizeof(*out));
	out->sel = *sel;
	out->len = tpm_pcr_bank_len(sel->bank);
	if (out->len == 0)
		return errmsg_set(e, "tpm: unknown PCR bank 0x%04x", sel->bank);
	while (left != 0 && rounds++ < TPM_PCR_MAX) {
		struct tpm_pcr_sel want = { sel->bank, left };
		TPML_PCR_SELECTION in, got = { 0 };
		TPML_DIGEST vals = { 0 };
		TSS2_RC rc;

		sel_to_tpml(&want, &in);
		RETRIED(rc, Tss2_Sys_PCR_Read(t->sys, NULL, &in, &counter, &got, &vals, NULL));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, NULL, "cannot read PCRs");
		if (take_values(&got, &vals, out, &left) != 0)
			return errmsg_set(e, "tpm: this TPM has no %s bank (or not all of PCRs %s in it)",
					  bank_name(sel->bank), "selected");
	}
	return left == 0 ? 0 : errmsg_set(e, "tpm: the TPM did not return every PCR asked for");
}

/* ---- digests ---- */

/* SHA-256 over up to three pieces. */
int sha256_3(const void *a, size_t a_len, const void *b, size_t b_len,
	     const void *c, size_t c_len, uint8_t out[TPM_POLICY_DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, a, a_len) == 1 && EVP_DigestUpdate(md, b, b_len) == 1 &&
		 EVP_DigestUpdate(md, c, c_len) == 1 && EVP_DigestFinal_ex(md, out, &len) == 1;

	EVP_MD_CTX_free(md);
	return ok && len == TPM_POLICY_DIGEST_LEN ? 0 : -1;
}

int tpm_pcr_digest(const struct tpm_pcr_values *v, uint8_t out[TPM_POLICY_DIGEST_LEN])
{
	uint8_t cat[TPM_PCR_MAX * TPM_PCR_DIGEST_MAX];
	size_t n = 0;

	if (v->len == 0 || v->len > TPM_PCR_DIGEST_MAX)
		return -1;
	for (unsigned i = 0; i < TPM_PCR_MAX; i++)
		if (v->sel.mask & (1u << i)) {
			memcpy(cat + n, v->v[i], v->len);
			n += v->len;
		}
	return sha256_3(cat, n, "", 0, "", 0, out);
}

static void put_u32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

int tpm_policy_update_pcr(uint8_t d[TPM_POLICY_DIGEST_LEN], const struct tpm_pcr_policy *p)
{
	uint8_t buf[4 + sizeof(TPML_PCR_SELECTION) + TPM_POLICY_DIGEST_LEN];
	TPML_PCR_SELECTION sel;
	size_t off = 4;

	/* policyDigest' = H(policyDigest || TPM_CC_PolicyPCR || pcrs || pcrDigest) */
	put_u32(buf, TPM_POLICY_CC_PCR);
	sel_to_tpml(&p->sel, &sel);
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return -1;
	memcpy(buf + off, p->digest, TPM_POLICY_DIGEST_LEN);
	return sha256_3(d, TPM_POLICY_DIGEST_LEN, buf, off + TPM_POLICY_DIGEST_LEN, "", 0, d);
}

int tpm_policy_update_authvalue(uint8_t d[TPM_POLICY_DIGEST_LEN])
{
	uint8_t cc[4];

	put_u32(cc, TPM_POLICY_CC_AUTHVALUE);
	return sha256_3(d, TPM_POLICY_DIGEST_LEN, cc, 4, "", 0, d);
}

int tpm_policy_update_authorize(uint8_t d[TPM_POLICY_DIGEST_LEN], const uint8_t *name,
				size_t name_len, const uint8_t *ref, size_t ref_len)
{
	uint8_t cc[4];

	/* PolicyAuthorize replaces the digest: it starts again from zeros. */
	memset(d, 0, TPM_POLICY_DIGEST_LEN);
	put_u32(cc, TPM_POLICY_CC_AUTHORIZE);
	if (sha256_3(d, TPM_POLICY_DIGEST_LEN, cc, 4, name, name_len, d) != 0)
		return -1;
	return sha256_3(d, TPM_POLICY_DIGEST_LEN, ref, ref_len, "", 0, d);
}

int tpm_policy_pub_name(const uint8_t *pub, size_t pub_len, uint8_t *name, size_t *name_len,
			struct errmsg *e)
{
	TPM2B_PUBLIC p = { 0 };
	uint8_t area[sizeof(TPMT_PUBLIC)];
	size_t off = 0, alen = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, pub_len, &off, &p) != TSS2_RC_SUCCESS ||
	    off != pub_len ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&p.publicArea, area, sizeof(area), &alen) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "policy: the signer's public key is malformed");
	if (p.publicArea.nameAlg != TPM2_ALG_SHA256)
		return errmsg_set(e, "policy: the signer's name algorithm is not SHA-256");
	name[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
	name[1] = (uint8_t)TPM2_ALG_SHA256;
	if (sha256_3(area, alen, "", 0, "", 0, name + 2) != 0)
		return errmsg_set(e, "policy: SHA-256 failed");
	*name_len = 2 + TPM_POLICY_DIGEST_LEN;
	return 0;
}

int tpm_policy_approval_hash(const struct tpm_pcr_policy *pp, const uint8_t *ref,
			     size_t ref_len, uint8_t out[TPM_POLICY_DIGEST_LEN])
{
	uint8_t approved[TPM_POLICY_DIGEST_LEN] = { 0 };

	if (tpm_policy_update_pcr(approved, pp) != 0)
		return -1;
	return sha256_3(approved, sizeof(approved), ref, ref_len, "", 0, out);
}

int tpm_policy_digest(const struct tpm_policy *p, uint8_t out[TPM_POLICY_DIGEST_LEN],
		      struct errmsg *e)
{
	uint8_t name[2 + TPM_POLICY_DIGEST_LEN];
	size_t name_len;
	int r = 0;

	memset(out, 0, TPM_POLICY_DIGEST_LEN);
	for (size_t i = 0; r == 0 && i < p->n_steps; i++) {
		switch (p->steps[i].kind) {
		case TPM_STEP_PCR:
			r = tpm_policy_update_pcr(out, &p->steps[i].pcr);
			break;
		case TPM_STEP_AUTHVALUE:
			r = tpm_policy_update_authvalue(out);
			break;
		case TPM_STEP_AUTHORIZE:
			if (tpm_policy_pub_name(p->signer, p->signer_len, name, &name_len, e) != 0)
				return -1;
			r = tpm_policy_update_authorize(out, name, name_len, p->ref, p->ref_len);
			break;
		}
	}
	return r == 0 ? 0 : errmsg_set(e, "policy: cannot compute the policy digest");
}

int tpm_policy_needs_auth(const struct tpm_policy *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == TPM_STEP_AUTHVALUE)
			return 1;
	return 0;
}

int tpm_policy_signature(const uint8_t *signer_pub, size_t signer_len,
			 const struct tpm_signature *sig, uint8_t *out, size_t *out_len,
			 struct errmsg *e)
{
	TPM2B_PUBLIC p = { 0 };
	TPMT_SIGNATURE s;
	size_t off = 0;

	memset(&s, 0, sizeof(s));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(signer_pub, signer_len, &off, &p) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "policy: the signer's public key is malformed");
	if (p.publicArea.type == TPM2_ALG_ECC && sig->r_len <= sizeof(s.signature.ecdsa.signatureR.buffer) &&
	    sig->s_len <= sizeof(s.signature.ecdsa.signatureS.buffer)) {
		s.sigAlg = TPM2_ALG_ECDSA;
		s.signature.ecdsa.hash = TPM2_ALG_SHA256;
		s.signature.ecdsa.signatureR.size = (UINT16)sig->r_len;
		memcpy(s.signature.ecdsa.signatureR.buffer, sig->r, sig->r_len);
		s.signature.ecdsa.signatureS.size = (UINT16)sig->s_len;
		memcpy(s.signature.ecdsa.signatureS.buffer, sig->s, sig->s_len);
	} else if (p.publicArea.type == TPM2_ALG_RSA && sig->s_len <= sizeof(s.signature.rsassa.sig.buffer)) {
		s.sigAlg = TPM2_ALG_RSASSA;
		s.signature.rsassa.hash = TPM2_ALG_SHA256;
		s.signature.rsassa.sig.size = (UINT16)sig->s_len;
		memcpy(s.signature.rsassa.sig.buffer, sig->s, sig->s_len);
	} else {
		return errmsg_set(e, "policy: the signer is neither an ECDSA nor an RSA key");
	}
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&s, out, TPM_POLICY_SIG_MAX, &off) != TSS2_RC_SUCCESS)
		return errmsg_set(e, "policy: cannot marshal the signature");
	*out_len = off;
	return 0;
}

/* ---- the key file's fields ---- */

/* PolicyPCR's commandPolicy as openssl_tpm2_engine writes it: TPML_PCR_SELECTION then
 * the raw SHA-256 pcrDigest. The draft's literal order (TPM2B_DIGEST first, as GRUB
 * writes it) is accepted when reading. */
static int pcr_from_data(const uint8_t *d, size_t len, struct tpm_pcr_policy *pp)
{
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST dig = { 0 };
	size_t off = 0;

	memset(&sel, 0, sizeof(sel));
	if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(d, len, &off, &sel) == TSS2_RC_SUCCESS &&
	    len - off == TPM_POLICY_DIGEST_LEN && sel_from_tpml(&sel, &pp->sel) == 0) {
		memcpy(pp->digest, d + off, TPM_POLICY_DIGEST_LEN);
		return 0;
	}
	off = 0;
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(d, len, &off, &dig) == TSS2_RC_SUCCESS &&
	    dig.size == TPM_POLICY_DIGEST_LEN &&
	    Tss2_MU_TPML_PCR_SELECTION_Unmarshal(d, len, &off, &sel) == TSS2_RC_SUCCESS &&
	    off == len && sel_from_tpml(&sel, &pp->sel) == 0) {
		memcpy(pp->digest, dig.buffer, TPM_POLICY_DIGEST_LEN);
		return 0;
	}
	return -1;
}

static int pcr_to_data(const struct tpm_pcr_policy *pp, struct tss2key_policy *out)
{
	TPML_PCR_SELECTION sel;
	size_t off = 0;

	sel_to_tpml(&pp->sel, &sel);
	out->command_code = TPM_POLICY_CC_PCR;
	if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, out->data, sizeof(out->data), &off) !=
	    TSS2_RC_SUCCESS || off + TPM_POLICY_DIGEST_LEN > sizeof(out->data))
		return -1;
	memcpy(out->data + off, pp->digest, TPM_POLICY_DIGEST_LEN);
	out->data_len = off + TPM_POLICY_DIGEST_LEN;
	return 0;
}

/* PolicyAuthorize's commandPolicy (draft): TPM2B_PUBLIC keySign, TPM2B_DIGEST policyRef,
 * TPMT_SIGNATURE (sigAlg NULL in the key's own policy, where nothing is signed yet). */
static int authorize_from_data(const uint8_t *d, size_t len, uint8_t *pub, size_t *pub_len,
			       uint8_t *ref, size_t *ref_len, uint8_t *sig, size_t *sig_len)
{
	TPM2B_PUBLIC p;
	TPM2B_DIGEST r = { 0 };
	TPMT_SIGNATURE s;
	size_t off = 0, start;

	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(d, len, &off, &p) != TSS2_RC_SUCCESS ||
	    off > TPM_POLICY_PUB_MAX)
		return -1;
	memcpy(pub, d, off);
	*pub_len = off;
	if (Tss2_MU_TPM2B_DIGEST_Unmarshal(d, len, &off, &r) != TSS2_RC_SUCCESS ||
	    r.size > TPM_POLICY_REF_MAX)
		return -1;
	memcpy(ref, r.buffer, r.size);
	*ref_len = r.size;
	start = off;
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(d, len, &off, &s) != TSS2_RC_SUCCESS || off != len ||
	    off - start > TPM_POLICY_SIG_MAX)
		return -1;
	memcpy(sig, d + start, off - start);
	*sig_len = off - start;
	return 0;
}

static int authorize_to_data(const struct tpm_policy *p, const uint8_t *sig, size_t sig_len,
			     struct tss2key_policy *out)
{
	static const uint8_t null_sig[2] = { 0x00, 0x10 }; /* TPMT_SIGNATURE, sigAlg NULL */
	TPM2B_DIGEST r = { 0 };
	size_t off;

	if (sig == NULL) {
		sig = null_sig;
		sig_len = sizeof(null_sig);
	}
	out->command_code = TPM_POLICY_CC_AUTHORIZE;
	if (p->signer_len + 2 + p->ref_len + sig_len > sizeof(out->data))
		return -1;
	memcpy(out->data, p->signer, p->signer_len);
	off = p->signer_len;
	r.size = (UINT16)p->ref_len;
	memcpy(r.buffer, p->ref, p->ref_len);
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&r, out->data, sizeof(out->data), &off) != TSS2_RC_SUCCESS)
		return -1;
	memcpy(out->data + off, sig, sig_len);
	out->data_len = off + sig_len;
	return 0;
}

static int step_from_tss2(const struct tss2key_policy *in, struct tpm_policy *p, size_t i)
{
	struct tpm_policy_step *s = &p->steps[p->n_steps];
	uint8_t sig[TPM_POLICY_SIG_MAX];
	size_t sig_len;

	memset(s, 0, sizeof(*s));
	switch (in->command_code) {
	case TPM_POLICY_CC_PCR:
		s->kind = TPM_STEP_PCR;
		if (pcr_from_data(in->data, in->data_len, &s->pcr) != 0)
			return -1;
		break;
	case TPM_POLICY_CC_AUTHVALUE:
		s->kind = TPM_STEP_AUTHVALUE;
		break;
	case TPM_POLICY_CC_AUTHORIZE:
		/* The draft allows it as the first statement only. */
		s->kind = TPM_STEP_AUTHORIZE;
		if (i != 0 || authorize_from_data(in->data, in->data_len, p->signer, &p->signer_len,
						  p->ref, &p->ref_len, sig, &sig_len) != 0)
			return -1;
		break;
	default:
		return -1;
	}
	p->n_steps++;
	return 0;
}

/* An authPolicy entry we run: PolicyPCR, then PolicyAuthorize by the key's signer. */
static void signed_from_tss2(const struct tss2key_authpolicy *in, const struct tpm_policy *p,
			     struct tpm_signed_policy *out)
{
	uint8_t pub[TPM_POLICY_PUB_MAX], ref[TPM_POLICY_REF_MAX];
	size_t pub_len, ref_len;

	memset(out, 0, sizeof(*out));
	if (in->has_name) /* a mnemonic only: a longer one is cut */
		memcpy(out->name, in->name, strnlen(in->name, sizeof(out->name) - 1));
	if (in->n_policy != 2 || in->policy[0].command_code != TPM_POLICY_CC_PCR ||
	    in->policy[1].command_code != TPM_POLICY_CC_AUTHORIZE ||
	    pcr_from_data(in->policy[0].data, in->policy[0].data_len, &out->pcr) != 0 ||
	    authorize_from_data(in->policy[1].data, in->policy[1].data_len, pub, &pub_len, ref,
				&ref_len, out->sig, &out->sig_len) != 0)
		return;
	out->usable = pub_len == p->signer_len && memcmp(pub, p->signer, pub_len) == 0 &&
		      ref_len == p->ref_len && memcmp(ref, p->ref, ref_len) == 0;
}

int tpm_policy_from_tss2(const struct tss2key *f, struct tpm_policy *p, struct errmsg *e)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < f->n_policy && i < TSS2KEY_POLICY_MAX; i++)
		if (step_from_tss2(&f->policy[i], p, i) != 0) {
			p->unsupported_cc = f->policy[i].command_code ? f->policy[i].command_code : 1;
			return 0; /* the key is listed, but refused when used */
		}
	if (p->n_steps > 0 && p->steps[0].kind == TPM_STEP_AUTHORIZE)
		for (size_t i = 0; i < f->n_authpolicy && i < TSS2KEY_AUTHPOL_MAX; i++)
			signed_from_tss2(&f->authpolicy[i], p, &p->signed_pol[p->n_signed++]);
	(void)e;
	return 0;
}

static int signed_to_tss2(const struct tpm_policy *p, const struct tpm_signed_policy *sp,
			  struct tss2key_authpolicy *out)
{
	memset(out, 0, sizeof(*out));
	if (sp->name[0]) {
		snprintf(out->name, sizeof(out->name), "%s", sp->name);
		out->has_name = 1;
	}
	out->n_policy = 2;
	if (pcr_to_data(&sp->pcr, &out->policy[0]) != 0 ||
	    authorize_to_data(p, sp->sig, sp->sig_len, &out->policy[1]) != 0)
		return -1;
	return 0;
}

int tpm_policy_to_tss2(const struct tpm_policy *p, struct tss2key *f, struct errmsg *e)
{
	f->n_policy = f->n_authpolicy = 0;
	if (p->unsupported_cc != 0)
		return errmsg_set(e, "policy: cannot write a policy with command 0x%x",
				  p->unsupported_cc);
	for (size_t i = 0; i < p->n_steps && i < TSS2KEY_POLICY_MAX; i++) {
		const struct tpm_policy_step *s = &p->steps[i];
		struct tss2key_policy *out = &f->policy[f->n_policy++];
		int r = 0;

		memset(out, 0, sizeof(*out));
		if (s->kind == TPM_STEP_PCR)
			r = pcr_to_data(&s->pcr, out);
		else if (s->kind == TPM_STEP_AUTHVALUE)
			out->command_code = TPM_POLICY_CC_AUTHVALUE;
		else
			r = authorize_to_data(p, NULL, 0, out);
		if (r != 0)
			return errmsg_set(e, "policy: a policy statement does not fit the key file");
	}
	for (size_t i = 0; i < p->n_signed && i < TSS2KEY_AUTHPOL_MAX; i++)
		if (signed_to_tss2(p, &p->signed_pol[i], &f->authpolicy[f->n_authpolicy++]) != 0)
			return errmsg_set(e, "policy: a signed policy does not fit the key file");
	return 0;
}
