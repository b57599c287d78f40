/* keypolicy: the PCR policy of one key: its .pcr record, loading and storing it with the
 * key file, making the key under it, and the policy session around the key's commands. */
#include "keypolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define PCR_FILE_MAX 8192

void ks_policy_free(struct ks_policy *p)
{
	free(p);
}

/* ---- the .pcr file: "sha256:16=<hex>" per PCR ---- */

static int hex_value(const char *s, size_t want, uint8_t *out)
{
	for (size_t i = 0; i < want; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return s[2 * want] == '\0' || s[2 * want] == '\n' ? 0 : -1;
}

/* One line; lines that are not ours (comments, other banks) are skipped. */
static void pcr_line(char *line, struct tpm_pcr_values *v, uint32_t *seen)
{
	char bank[16];
	unsigned idx;
	int off = 0;
	struct tpm_pcr_sel s;
	struct errmsg ignored;

	if (sscanf(line, "%15[a-z0-9]:%u=%n", bank, &idx, &off) != 2 || off == 0 ||
	    idx >= TPM_PCR_MAX || tpm_pcr_parse("0", bank, &s, &ignored) != 0 ||
	    s.bank != v->sel.bank || strlen(line + off) < 2 * v->len)
		return;
	if (hex_value(line + off, v->len, v->v[idx]) == 0)
		*seen |= 1u << idx;
}

static void read_expected(const char *dir, const char *name, struct ks_policy *p,
			  const struct tpm_pcr_sel *sel)
{
	char path[4200], *text = NULL, *line, *save = NULL;
	size_t len;
	uint32_t seen = 0;
	struct errmsg ignored;

	p->has_expected = 0;
	memset(&p->expected, 0, sizeof(p->expected));
	p->expected.sel = *sel;
	p->expected.len = tpm_pcr_bank_len(sel->bank);
	if (store_key_path(dir, name, KS_PCR_SUFFIX, path, sizeof(path), &ignored) != 0 ||
	    store_read_file(path, PCR_FILE_MAX, &text, &len, &ignored) != 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		pcr_line(line, &p->expected, &seen);
	free(text);
	p->has_expected = (seen & sel->mask) == sel->mask;
}

static int write_expected(const char *dir, const char *name, const struct tpm_pcr_values *v,
			  struct errmsg *e)
{
	char path[4200], text[PCR_FILE_MAX], sel[128];
	size_t used;

	tpm_pcr_format(&v->sel, sel, sizeof(sel));
	used = (size_t)snprintf(text, sizeof(text), "# tpm-agent: the PCR values key '%s' was "
				"made or last sealed for (%s); only used to say which changed\n",
				name, sel);
	for (unsigned i = 0; i < TPM_PCR_MAX && used < sizeof(text); i++) {
		if (!(v->sel.mask & (1u << i)))
			continue;
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%.*s:%u=",
					 (int)(strchr(sel, ':') - sel), sel, i);
		for (size_t j = 0; j < v->len && used + 3 < sizeof(text); j++)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%02x", v->v[i][j]);
		if (used + 1 < sizeof(text))
			text[used++] = '\n';
	}
	if (used >= sizeof(text))
		return errmsg_set(e, "keystore: the PCR values do not fit the .pcr file");
	if (store_key_path(dir, name, KS_PCR_SUFFIX, path, sizeof(path), e) != 0)
		return -1;
	return store_write_atomic(path, text, used, 0600, e);
}

/* The selection the key's policy is about (the newest signed one for authorised keys). */
const struct tpm_pcr_sel *ks_policy_sel(const struct tpm_policy *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == TPM_STEP_PCR)
			return &p->steps[i].pcr.sel;
	for (size_t i = 0; i < p->n_signed; i++)
		if (p->signed_pol[i].usable)
			return &p->signed_pol[i].pcr.sel;
	return NULL;
}

/* ---- loading and storing ---- */

int ks_policy_load(const char *dir, const char *name, const struct tss2key *f,
		   struct ks_policy **out, struct errmsg *e)
{
	const struct tpm_pcr_sel *sel;
	struct ks_policy *p;

	*out = NULL;
	if (f->n_policy == 0)
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return errmsg_set(e, "keystore: out of memory");
	if (tpm_policy_from_tss2(f, &p->tp, e) != 0) {
		free(p);
		return -1;
	}
	if ((sel = ks_policy_sel(&p->tp)) != NULL)
		read_expected(dir, name, p, sel);
	*out = p;
	return 0;
}

int ks_policy_store(const char *dir, const char *name, const struct ks_policy *p,
		    struct tss2key *f, struct errmsg *e)
{
	if (p == NULL)
		return 0;
	if (tpm_policy_to_tss2(&p->tp, f, e) != 0)
		return -1;
	if (p->has_expected && write_expected(dir, name, &p->expected, e) != 0)
		return -1;
	return 0;
}

/* ---- creating ---- */

int ks_policy_create(struct tpm *t, struct ks_policy **pending, enum sshkey_type type,
		     unsigned bits, unsigned tflags, const uint8_t *pin, size_t pin_len,
		     struct tpm_key *tk, struct sshkey_pub *pub, struct ks_policy **owned,
		     struct errmsg *e)
{
	struct ks_policy *p = *pending;
	int r;

	if (p == NULL)
		return tpm_create_key_ex(t, type, bits, tflags, pin, pin_len, tk, pub, e);
	/* With a PIN, both are needed: the policy, then the PIN in the session HMAC. */
	if (pin_len > 0 && !tpm_policy_needs_auth(&p->tp)) {
		if (p->tp.n_steps >= TSS2KEY_POLICY_MAX)
			return errmsg_set(e, "keystore: the policy has too many statements");
		p->tp.steps[p->tp.n_steps++].kind = TPM_STEP_AUTHVALUE;
	}
	r = tpm_create_key_policy(t, type, bits, tflags, pin, pin_len, &p->tp, tk, pub, e);
	if (r == 0) {
		*owned = p;
		*pending = NULL;
	}
	return r;
}

/* ---- using them ---- */

/* "PCR 16 (sha256) changed", compared with the values recorded at creation or seal. */
static void changed_pcrs(struct tpm *t, const struct ks_policy *p, char *out, size_t len)
{
	struct tpm_pcr_values now;
	struct errmsg ignored;
	uint32_t changed = 0;
	char list[96], sel[96], *colon;

	tpm_pcr_format(&p->expected.sel, sel, sizeof(sel));
	if (!p->has_expected || tpm_pcr_read(t, &p->expected.sel, &now, &ignored) != 0) {
		snprintf(out, len, "one of its PCRs %s changed", sel);
		return;
	}
	for (unsigned i = 0; i < TPM_PCR_MAX; i++)
		if ((p->expected.sel.mask & (1u << i)) &&
		    memcmp(now.v[i], p->expected.v[i], now.len) != 0)
			changed |= 1u << i;
	if (changed == 0) {
		snprintf(out, len, "its PCRs %s hold the recorded values, yet the TPM refused "
			 "the policy", sel);
		return;
	}
	tpm_pcr_format_mask(changed, list, sizeof(list));
	if ((colon = strchr(sel, ':')) != NULL)
		*colon = '\0';
	snprintf(out, len, "PCR%s %s (%s) changed", (changed & (changed - 1)) ? "s" : "", list, sel);
}

int ks_policy_refused(struct tpm *t, const char *name, const struct ks_policy *p,
		      struct errmsg *e)
{
	char why[256];
	int authorized = p->tp.n_steps > 0 && p->tp.steps[0].kind == TPM_STEP_AUTHORIZE;

	changed_pcrs(t, p, why, sizeof(why));
	if (authorized)
		errmsg_set(e, "key '%s' is bound to the platform state and %s since it was last "
			   "sealed; once you trust the new state, `tpm-key pcr-seal %s` approves it",
			   name, why, name);
	else
		errmsg_set(e, "key '%s' is bound to the platform state and %s since it was made; "
			   "it cannot be used in this state (boot the measured state again, or make "
			   "a new key; --pcr-authorized keys survive updates)", name, why);
	return TPM_E_POLICY;
}

int ks_policy_begin(struct tpm *t, const char *name, struct tpm_key *tk,
		    const struct ks_policy *p, struct errmsg *e)
{
	int r;

	if (p == NULL)
		return 0;
	r = tpm_policy_begin(t, tk, &p->tp, e);
	if (r == TPM_E_POLICY)
		return ks_policy_refused(t, name, p, e);
	return r;
}

void ks_policy_end(struct tpm *t, const struct ks_policy *p)
{
	if (p != NULL)
		tpm_policy_end(t);
}

