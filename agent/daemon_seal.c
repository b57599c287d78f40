/* daemon_seal: the seal/unseal/seal-list/seal-rm control commands behind tpm-key seal
 * and unseal: secrets of up to 128 bytes sealed by the TPM under the SRK, optionally
 * bound to PCR values, kept in <data dir>/sealed apart from the keys. */
#include "daemon_ops.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../keystore/sealstore.h"
#include "../keystore/tpm_policy.h"
#include "../keystore/tpm_seal.h"
#include "../protocol/control.h"
#include "daemon_pin.h"
#include "../keystore/log.h"

#define PCR_SPEC_MAX 128

/* "sha256:0,7" or "0,7" (SHA-256 bank) into a selection. */
static int parse_pcr_spec(const char *spec, struct tpm_pcr_sel *sel, struct errmsg *e)
{
	char bank[16];
	const char *colon = strchr(spec, ':');

	if (colon == NULL)
		return tpm_pcr_parse(spec, NULL, sel, e);
	if ((size_t)(colon - spec) >= sizeof(bank))
		return errmsg_set(e, "unknown PCR bank in '%s'", spec);
	memcpy(bank, spec, (size_t)(colon - spec));
	bank[colon - spec] = '\0';
	return tpm_pcr_parse(colon + 1, bank, sel, e);
}

/* A PolicyPCR over the PCRs' values now: the secret unseals only while they stay. With
 * a PIN, PolicyAuthValue follows (both needed, as for keys). */
static int pcr_policy_now(struct agent *a, const char *spec, int with_pin, struct tpm_policy *p,
			  uint8_t digest[TPM_POLICY_DIGEST_LEN], struct errmsg *e)
{
	struct tpm_pcr_values v;

	memset(p, 0, sizeof(*p));
	p->steps[0].kind = TPM_STEP_PCR;
	p->n_steps = 1;
	if (parse_pcr_spec(spec, &p->steps[0].pcr.sel, e) != 0 ||
	    tpm_pcr_read(a->tpm, &p->steps[0].pcr.sel, &v, e) != 0)
		return -1;
	if (tpm_pcr_digest(&v, p->steps[0].pcr.digest) != 0)
		return errmsg_set(e, "cannot hash the PCR values");
	if (with_pin)
		p->steps[p->n_steps++].kind = TPM_STEP_AUTHVALUE;
	return tpm_policy_digest(p, digest, e);
}

/* The key file of a new sealed object (no PIN: emptyAuth TRUE). */
static int sealed_file(struct agent *a, const struct tpm_key *k, const struct tpm_policy *p,
		       int with_pin, struct tss2key *f, struct errmsg *e)
{
	memset(f, 0, sizeof(*f));
	f->type = TSS2KEY_SEALED;
	f->empty_auth = !with_pin;
	{
		struct tpm_info info;
		struct errmsg ignored;

		/* The running hierarchy's parent (0x40000007 with hierarchy = null). */
		f->parent = tpm_get_info(a->tpm, &info, &ignored) == 0 ? info.parent : a->srk_handle;
	}
	memcpy(f->pub, k->pub, k->pub_len);
	f->pub_len = k->pub_len;
	memcpy(f->priv, k->priv, k->priv_len);
	f->priv_len = k->priv_len;
	return p != NULL && p->n_steps > 0 ? tpm_policy_to_tss2(p, f, e) : 0;
}

/* pin NULL: no PIN. */
static int seal_and_store(struct agent *a, const char *name, const char *pcrs,
			  const uint8_t *secret, size_t len, const uint8_t *pin, size_t pin_len,
			  struct errmsg *e)
{
	struct tpm_policy *p = calloc(1, sizeof(*p));
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct tss2key *f = calloc(1, sizeof(*f));
	uint8_t digest[TPM_POLICY_DIGEST_LEN];
	int bound = pcrs[0] != '\0', r = -1;

	if (p == NULL || k == NULL || f == NULL)
		errmsg_set(e, "seal: out of memory");
	else if (!store_name_valid(name))
		errmsg_set(e, "invalid sealed object name '%s'", name);
	else if ((!bound || pcr_policy_now(a, pcrs, pin != NULL, p, digest, e) == 0) &&
		 tpm_seal(a->tpm, secret, len, pin, pin != NULL ? pin_len : 0,
			  bound ? digest : NULL, k, e) == 0 &&
		 sealed_file(a, k, bound ? p : NULL, pin != NULL, f, e) == 0)
		r = sealstore_write(a->data_dir, name, f, e);
	free(p);
	free(k);
	free(f);
	return r;
}

int ctl_seal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], pcrs[PCR_SPEC_MAX];
	const uint8_t *in;
	uint8_t *secret;
	size_t len;
	uint32_t flags;
	int r;

	(void)out;
	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 ||
	    sshbuf_get_u32(body, &flags) != 0 || sshbuf_get_cstring(body, pcrs, sizeof(pcrs)) != 0 ||
	    sshbuf_get_string(body, &in, &len) != 0)
		return errmsg_set(e, "seal: malformed request");
	if (len == 0 || len > TPM_SEAL_MAX) {
		sodium_memzero((void *)in, len);
		return errmsg_set(e, "seal: a secret is 1 to %d bytes, not %zu", TPM_SEAL_MAX, len);
	}
	if (!(flags & CTL_SEAL_NO_PIN) && a->op_pin == NULL) {
		/* The PIN job (daemon_pinjob.c) sets a->op_pin; without it there is none. */
		sodium_memzero((void *)in, len);
		return errmsg_set(e, "seal: a sealed object with a PIN needs a prompt, and this "
				  "agent cannot prompt (use --no-pin)");
	}
	/* The request sits in the connection's own input buffer (a writable view): copy
	 * the secret into locked memory and wipe it there at once. */
	if ((secret = sodium_malloc(len)) == NULL) {
		sodium_memzero((void *)in, len);
		return errmsg_set(e, "seal: out of memory");
	}
	memcpy(secret, in, len);
	sodium_memzero((void *)in, len);
	if (flags & CTL_SEAL_NO_PIN)
		r = seal_and_store(a, name, pcrs, secret, len, NULL, 0, e);
	else
		r = seal_and_store(a, name, pcrs, secret, len, (const uint8_t *)a->op_pin,
				   a->op_pin_len, e);
	sodium_free(secret);
	if (r == 0)
		log_info("sealed %zu bytes as '%s'%s%s%s", len, name,
			 (flags & CTL_SEAL_NO_PIN) ? "" : " with a PIN",
			 pcrs[0] ? " bound to PCRs " : "", pcrs);
	return r;
}

/* Loads f into k and unseals it, running its PCR policy first when it has one. */
static int unseal_file(struct agent *a, const struct tss2key *f, struct tpm_key *k,
		       const uint8_t *pin, size_t pin_len, struct tpm_pcr_sel *sel,
		       uint8_t *out, size_t *out_len, struct errmsg *e)
{
	struct tpm_policy *p = calloc(1, sizeof(*p));
	int r;

	if (p == NULL)
		return errmsg_set(e, "unseal: out of memory");
	memcpy(k->pub, f->pub, f->pub_len);
	k->pub_len = f->pub_len;
	memcpy(k->priv, f->priv, f->priv_len);
	k->priv_len = f->priv_len;
	r = tpm_policy_from_tss2(f, p, e);
	for (size_t i = 0; r == 0 && sel != NULL && i < p->n_steps; i++)
		if (p->steps[i].kind == TPM_STEP_PCR)
			*sel = p->steps[i].pcr.sel;
	if (r == 0 && p->n_steps > 0)
		r = tpm_policy_begin(a->tpm, k, p, e);
	if (r == 0)
		r = tpm_unseal(a->tpm, k, pin, pin_len, out, TPM_SEAL_MAX, out_len, e);
	if (p->n_steps > 0)
		tpm_policy_end(a->tpm);
	tpm_key_unload(a->tpm, k);
	free(p);
	return r;
}

int seal_has_pin(struct agent *a, const char *name, struct errmsg *e)
{
	struct tss2key *f = calloc(1, sizeof(*f));
	int r;

	if (f == NULL)
		return errmsg_set(e, "unseal: out of memory");
	r = sealstore_read(a->data_dir, name, f, e) == 0 ? !f->empty_auth : -1;
	free(f);
	return r;
}

int seal_unseal(struct agent *a, const char *name, const uint8_t *pin, size_t pin_len,
		uint8_t *out, size_t *out_len, struct tpm_pcr_sel *sel, struct errmsg *e)
{
	struct tss2key *f = calloc(1, sizeof(*f));
	struct tpm_key *k = calloc(1, sizeof(*k));
	int r = -1;

	*out_len = 0;
	if (sel != NULL)
		memset(sel, 0, sizeof(*sel));
	if (f == NULL || k == NULL)
		errmsg_set(e, "unseal: out of memory");
	else if (sealstore_read(a->data_dir, name, f, e) != 0)
		r = -1;
	else if (!f->empty_auth && pin == NULL)
		/* Never send an empty PIN: it would count towards the DA lockout. */
		errmsg_set(e, "sealed object '%s' has a PIN", name);
	else {
		r = unseal_file(a, f, k, f->empty_auth ? NULL : pin, f->empty_auth ? 0 : pin_len,
				sel, out, out_len, e);
		if (r == TPM_E_POLICY)
			errmsg_prefix(e, "sealed object '%s' is bound to PCRs whose values changed "
				      "since it was sealed", name);
	}
	if (r == 0)
		log_info("unsealed '%s'", name);
	free(f);
	free(k);
	return r;
}

int ctl_unseal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX];
	uint8_t *secret = sodium_malloc(TPM_SEAL_MAX);
	size_t len = 0;
	int r = -1;

	/* Objects with a PIN go through a PIN job (daemon_pinjob.c) instead. */
	if (secret == NULL)
		errmsg_set(e, "unseal: out of memory");
	else if (sshbuf_get_cstring(body, name, sizeof(name)) != 0)
		errmsg_set(e, "unseal: malformed request");
	else if ((r = seal_has_pin(a, name, e)) == 1)
		r = errmsg_set(e, "sealed object '%s' has a PIN and this agent cannot prompt",
			       name);
	else if (r == 0 && (r = seal_unseal(a, name, NULL, 0, secret, &len, NULL, e)) == 0 &&
		 sshbuf_put_string(out, secret, len) != 0)
		r = errmsg_set(e, "unseal: reply too large");
	if (secret != NULL)
		sodium_free(secret);
	return r == 0 ? 0 : -1;
}

/* "pcr sha256:0,7" for a PCR-bound object, "" for one without policy. */
static void describe_sealed(struct agent *a, const char *name, char *out, size_t len)
{
	struct tss2key *f = calloc(1, sizeof(*f));
	struct tpm_policy *p = calloc(1, sizeof(*p));
	char sel[64];
	struct errmsg e;

	snprintf(out, len, "unreadable");
	if (f != NULL && p != NULL && sealstore_read(a->data_dir, name, f, &e) == 0 &&
	    tpm_policy_from_tss2(f, p, &e) == 0) {
		out[0] = '\0';
		for (size_t i = 0; i < p->n_steps; i++)
			if (p->steps[i].kind == TPM_STEP_PCR) {
				tpm_pcr_format(&p->steps[i].pcr.sel, sel, sizeof(sel));
				snprintf(out, len, "pcr %s", sel);
			}
	}
	free(f);
	free(p);
}

int ctl_seal_list(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char (*names)[STORE_NAME_MAX] = calloc(SEALSTORE_MAX, STORE_NAME_MAX), info[96];
	size_t n = 0;
	int r = -1;

	(void)body;
	if (names == NULL)
		return errmsg_set(e, "seal-list: out of memory");
	if (sealstore_list(a->data_dir, names, SEALSTORE_MAX, &n, e) == 0) {
		r = sshbuf_put_u32(out, (uint32_t)n);
		for (size_t i = 0; r == 0 && i < n; i++) {
			describe_sealed(a, names[i], info, sizeof(info));
			if ((r = sshbuf_put_cstring(out, names[i])) == 0)
				r = sshbuf_put_cstring(out, info);
		}
		if (r != 0)
			errmsg_set(e, "seal-list: reply too large");
	}
	free(names);
	return r == 0 ? 0 : -1;
}

int ctl_seal_rm(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX];

	(void)out;
	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0)
		return errmsg_set(e, "seal-rm: malformed request");
	if (sealstore_remove(a->data_dir, name, e) != 0)
		return -1;
	log_info("removed sealed object '%s'", name);
	return 0;
}
