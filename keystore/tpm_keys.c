/* tpm_keys: loading, evicting and unloading our keys, and reading their public keys. */
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tpm_internal.h"

/* ---- loaded keys ---- */

int tpm_loaded_index(const struct tpm *t, const struct tpm_key *k)
{
	size_t i;

	for (i = 0; i < t->n_loaded; i++)
		if (t->loaded[i] == k)
			return (int)i;
	return -1;
}

/* Drops loaded[i] from our table (not from the TPM). */
void tpm_forget_slot(struct tpm *t, size_t i)
{
	t->loaded[i]->state.handle = 0;
	t->loaded[i] = t->loaded[--t->n_loaded];
}

/* Flushes loaded[i] and forgets it. */
void tpm_flush_slot(struct tpm *t, size_t i)
{
	tpm_flush_handle(t, t->loaded[i]->state.handle);
	tpm_forget_slot(t, i);
}

/* Object contexts (unlike session contexts) may be loaded any number of times, so
 * one save serves every later eviction of the key. */
static void save_context(struct tpm *t, struct tpm_key *k)
{
	TPMS_CONTEXT ctx;
	size_t off = 0;

	k->state.saved_len = 0;
	if (k->state.name_len == 0 ||
	    Tss2_Sys_ContextSave(t->sys, k->state.handle, &ctx) != TSS2_RC_SUCCESS)
		return;
	if (Tss2_MU_TPMS_CONTEXT_Marshal(&ctx, k->state.saved, sizeof(k->state.saved), &off) ==
	    TSS2_RC_SUCCESS)
		k->state.saved_len = (uint16_t)off;
}

/* Evicts the least recently used key; returns 1 so it can sit in a loop condition. */
static int evict_lru(struct tpm *t)
{
	size_t i, lru = 0;

	for (i = 1; i < t->n_loaded; i++)
		if (t->loaded[i]->state.last_use < t->loaded[lru]->state.last_use)
			lru = i;
	if (t->loaded[lru]->state.saved_len == 0)
		save_context(t, t->loaded[lru]);
	tpm_flush_slot(t, lru);
	return 1;
}

/* Parses the blobs of k (they came from disk: hostile until proven otherwise). */
int tpm_key_unmarshal_pub(const struct tpm_key *k, TPM2B_PUBLIC *pub, struct errmsg *e)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(pub, 0, sizeof(*pub));
	if (k->pub_len == 0 || k->pub_len > sizeof(k->pub))
		return errmsg_set(e, "tpm: the key's public blob is empty or too large (%zu bytes)",
				  k->pub_len);
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(k->pub, k->pub_len, &off, pub);
	if (rc != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: the key's public blob is malformed: %s", Tss2_RC_Decode(rc));
	if (off != k->pub_len)
		return errmsg_set(e, "tpm: the key's public blob has %zu trailing bytes",
				  k->pub_len - off);
	return 0;
}

static int unmarshal_priv(const struct tpm_key *k, TPM2B_PRIVATE *priv, struct errmsg *e)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(priv, 0, sizeof(*priv));
	if (k->priv_len == 0 || k->priv_len > sizeof(k->priv))
		return errmsg_set(e, "tpm: the key's private blob is empty or too large (%zu bytes)",
				  k->priv_len);
	rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(k->priv, k->priv_len, &off, priv);
	if (rc != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: the key's private blob is malformed: %s", Tss2_RC_Decode(rc));
	if (off != k->priv_len)
		return errmsg_set(e, "tpm: the key's private blob has %zu trailing bytes",
				  k->priv_len - off);
	return 0;
}

static const char *load_remedy(TSS2_RC rc, size_t n_loaded, int hierarchy)
{
	TSS2_RC b = rc_base(rc);

	if (b == TPM2_RC_INTEGRITY && hierarchy == TPM_HIER_NULL)
		return "hierarchy = null: the key was made before the TPM was last reset "
		       "(a reboot), and null-hierarchy keys stop loading then; make a new key";
	if (b == TPM2_RC_INTEGRITY)
		return "the key was made by another TPM or under another SRK: "
		       "was the TPM cleared or the SRK replaced?";
	if (b == TPM2_RC_OBJECT_MEMORY && n_loaded == 0)
		return "other programs hold all transient slots; use the kernel resource "
		       "manager (device:/dev/tpmrm0)";
	return NULL;
}

static TSS2_RC context_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h)
{
	TPMS_CONTEXT ctx;
	size_t off = 0;
	TSS2_RC rc;

	rc = Tss2_MU_TPMS_CONTEXT_Unmarshal(k->state.saved, k->state.saved_len, &off, &ctx);
	if (rc == TSS2_RC_SUCCESS && off != k->state.saved_len)
		rc = TSS2_MU_RC_BAD_SIZE;
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_ContextLoad(t->sys, &ctx, h);
	return rc;
}

/* TPM2_Load under the SRK; the wrapped private part is the encrypted parameter. */
static TSS2_RC blob_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h)
{
	struct auth_cmd c = { .cc = TPM2_CC_Load, .name = t->srk_name.name,
			      .name_len = t->srk_name.size, .secret_param = 1 };
	struct errmsg ignored = { "" };
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_NAME name = { 0 };
	TSS2_RC rc = TSS2_SYS_RC_BAD_VALUE;

	if (tpm_key_unmarshal_pub(k, &pub, &ignored) == 0 && unmarshal_priv(k, &priv, &ignored) == 0)
		rc = Tss2_Sys_Load_Prepare(t->sys, t->srk_tpm, &priv, &pub);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (rc == TSS2_RC_SUCCESS)
		rc = tpm_run_auth(t, &c);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Load_Complete(t->sys, h, &name);
	if (rc == TSS2_RC_SUCCESS && (name.size == 0 || name.size > sizeof(k->state.name)))
		rc = TSS2_SYS_RC_MALFORMED_RESPONSE;
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	memcpy(k->state.name, name.name, name.size);
	k->state.name_len = name.size;
	return TSS2_RC_SUCCESS;
}

/* Someone else holds transient slots (another program on a TPM without a resource
 * manager): what TPM2_PT_HR_TRANSIENT_AVAIL says now bounds how many of ours fit, so
 * that later loads evict first instead of failing. */
static void refresh_slots(struct tpm *t)
{
	TPMS_CAPABILITY_DATA cap;
	TPMI_YES_NO more;
	size_t fit;

	if (Tss2_Sys_GetCapability(t->sys, NULL, TPM2_CAP_TPM_PROPERTIES,
				   TPM2_PT_HR_TRANSIENT_AVAIL, 1, &more, &cap, NULL) !=
	    TSS2_RC_SUCCESS || cap.data.tpmProperties.count != 1 ||
	    cap.data.tpmProperties.tpmProperty[0].property != TPM2_PT_HR_TRANSIENT_AVAIL)
		return;
	fit = t->n_loaded + cap.data.tpmProperties.tpmProperty[0].value;
	if (fit < 1)
		fit = 1;
	if (fit < t->slots)
		t->slots = fit;
}

/* Loads k if it is not: ContextLoad of its saved context when it has one (cheap),
 * else Load and ContextSave, once, so that a later miss costs at most FlushContext +
 * ContextLoad. Evicts before loading when our share of the slots is full. */
static TSS2_RC load_op(struct tpm *t, void *arg)
{
	struct tpm_key *k = arg;
	TPM2_HANDLE h = 0;
	TSS2_RC rc;
	int from_saved;

	if (tpm_loaded_index(t, k) >= 0) {
		k->state.last_use = ++t->clock;
		return TSS2_RC_SUCCESS;
	}
	k->state.handle = 0;
	while (t->n_loaded > 0 && t->n_loaded >= t->slots)
		evict_lru(t);
	for (;;) {
		from_saved = k->state.saved_len > 0 && k->state.name_len > 0;
		rc = from_saved ? context_load(t, k, &h) :
		     k->primary ? tpm_primary_load(t, k, &h) : blob_load(t, k, &h);
		if (rc == TSS2_RC_SUCCESS)
			break;
		if (rc_base(rc) == TPM2_RC_OBJECT_MEMORY) {
			refresh_slots(t);
			if (t->n_loaded == 0)
				return rc;
			evict_lru(t);
			continue;
		}
		if (!from_saved || !rc_from_tpm(rc))
			return rc;
		k->state.saved_len = 0; /* stale (the TPM was reset): load the blobs instead */
	}
	k->state.handle = h;
	if (!from_saved)
		save_context(t, k);
	k->state.last_use = ++t->clock;
	t->loaded[t->n_loaded++] = k;
	return TSS2_RC_SUCCESS;
}

int tpm_key_load(struct tpm *t, struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TSS2_RC rc;
	int bad;

	if (tpm_loaded_index(t, k) >= 0) {
		k->state.last_use = ++t->clock;
		return 0;
	}
	/* A handle we do not know (another connection's, a copied struct) means nothing. */
	k->state.handle = 0;
	bad = tpm_key_unmarshal_pub(k, &pub, e) != 0 || (!k->primary && unmarshal_priv(k, &priv, e) != 0);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (bad)
		return TPM_E_FAIL;
	rc = tpm_run_recovering(t, load_op, k);
	if (rc != TSS2_RC_SUCCESS) {
		int r = tpm_err(e, rc, load_remedy(rc, t->n_loaded, t->info.hierarchy),
				"cannot load the key");

		return rc_base(rc) == TPM2_RC_INTEGRITY && t->info.hierarchy != TPM_HIER_NULL ?
		       TPM_E_FOREIGN : r;
	}
	return 0;
}

void tpm_key_unload(struct tpm *t, struct tpm_key *k)
{
	int i;

	if (t == NULL || k == NULL)
		return;
	i = tpm_loaded_index(t, k);
	if (i >= 0)
		tpm_flush_slot(t, (size_t)i);
	k->state.handle = 0;
	/* The caller is done with the key: no context of it stays behind. */
	OPENSSL_cleanse(k->state.saved, sizeof(k->state.saved));
	k->state.saved_len = 0;
}

/* ---- public keys ---- */

static int ecc_pub(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
	size_t flen;

	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: pub->type = SSHKEY_ECDSA_P256; flen = 32; break;
	case TPM2_ECC_NIST_P384: pub->type = SSHKEY_ECDSA_P384; flen = 48; break;
	case TPM2_ECC_NIST_P521: pub->type = SSHKEY_ECDSA_P521; flen = 66; break;
	default:
		pub->type = SSHKEY_UNSPEC;
		return errmsg_set(e, "tpm: the key is on ECC curve 0x%04x; only NIST P-256, "
				  "P-384 and P-521 are supported", p->parameters.eccDetail.curveID);
	}
	if (x->size == 0 || x->size > flen || y->size == 0 || y->size > flen)
		return errmsg_set(e, "tpm: the key's EC point has coordinates of %u and %u bytes, "
				  "not at most %zu", x->size, y->size, flen);
	/* Coordinates are left-padded to the field size: 04 || X || Y. */
	memset(pub->q, 0, sizeof(pub->q));
	pub->q[0] = 0x04;
	memcpy(pub->q + 1 + flen - x->size, x->buffer, x->size);
	memcpy(pub->q + 1 + 2 * flen - y->size, y->buffer, y->size);
	pub->q_len = 1 + 2 * flen;
	return 0;
}

static int rsa_pub(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
	unsigned bits = p->parameters.rsaDetail.keyBits;
	uint32_t exp = p->parameters.rsaDetail.exponent;
	size_t skip = 0;
	int i;

	if (bits < 1024 || bits > 8 * SSHKEY_RSA_MAX_BYTES || bits % 8 != 0 || n->size != bits / 8)
		return errmsg_set(e, "tpm: the key's RSA modulus has %u bytes for %u bits",
				  n->size, bits);
	while (skip < n->size && n->buffer[skip] == 0)
		skip++;
	if (skip == n->size)
		return errmsg_set(e, "tpm: the key's RSA modulus is zero");
	pub->type = SSHKEY_RSA;
	memcpy(pub->n, n->buffer + skip, n->size - skip);
	pub->n_len = n->size - skip;
	/* Exponent 0 is the TPM's way of saying the default, 65537. */
	if (exp == 0)
		exp = 65537;
	pub->e_len = 0;
	for (i = 3; i >= 0; i--)
		if (pub->e_len > 0 || (exp >> (8 * i)) & 0xFF)
			pub->e[pub->e_len++] = (uint8_t)(exp >> (8 * i));
	return 0;
}

int tpm_pub_from_tpmt(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	memset(pub, 0, sizeof(*pub));
	switch (p->type) {
	case TPM2_ALG_ECC:
		return ecc_pub(p, pub, e);
	case TPM2_ALG_RSA:
		return rsa_pub(p, pub, e);
	}
	return errmsg_set(e, "tpm: the key blob holds a TPM object of type 0x%04x, not an "
			  "ECC or RSA key", p->type);
}

int tpm_key_public(const struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (tpm_key_unmarshal_pub(k, &p, e) != 0 || tpm_pub_from_tpmt(&p.publicArea, pub, e) != 0) {
		memset(pub, 0, sizeof(*pub));
		return TPM_E_FAIL;
	}
	return 0;
}

/* Frees a transient slot for an object that is not ours (tpm_policy.c's LoadExternal);
 * 0 when none of ours is loaded to evict. */
int tpm_evict_one(struct tpm *t)
{
	return t->n_loaded > 0 ? evict_lru(t) : 0;
}

/* ---- for tpm_seal.c and tpm_attest.c (declared in tpm_internal.h) ---- */

TSS2_RC tpm_load_key_op(struct tpm *t, struct tpm_key *k)
{
	return load_op(t, k);
}
