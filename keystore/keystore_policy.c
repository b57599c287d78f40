/* keystore_policy: PCR-bound keys in the store: making them, checking their policy before
 * use, naming the changed PCRs, and pcr-seal for authorised keys (above keystore.c). */
#include "keystore_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "log.h"

/* ---- making PCR-bound keys ---- */

static void seal_name(const struct tpm_pcr_sel *sel, char *out, size_t len)
{
	char when[32], s[96];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "unknown time");
	char buf[160];
	size_t n;

	tpm_pcr_format(sel, s, sizeof(s));
	snprintf(buf, sizeof(buf), "sealed %s %s", when, s);
	/* The name is only a mnemonic: cut it to what the file's field holds. */
	n = strlen(buf) < len ? strlen(buf) : len - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
}

/* A signed policy for the current values v: signer signs H(PolicyPCR digest || ref). */
static int sign_policy(struct keystore *ks, struct ks_key *signer, const uint8_t *pin,
		       size_t pin_len, const struct tpm_policy *tp,
		       const struct tpm_pcr_values *v, struct tpm_signed_policy *out,
		       struct errmsg *e)
{
	uint8_t ahash[TPM_POLICY_DIGEST_LEN];
	struct tpm_signature sig;
	int r;

	memset(out, 0, sizeof(*out));
	out->pcr.sel = v->sel;
	if (tpm_pcr_digest(v, out->pcr.digest) != 0 ||
	    tpm_policy_approval_hash(&out->pcr, tp->ref, tp->ref_len, ahash) != 0)
		return errmsg_set(e, "keystore: cannot compute the policy to sign");
	r = keystore_sign_digest_auth(ks, signer, pin, pin_len, SSHKEY_HASH_SHA256, ahash,
				      sizeof(ahash), &sig, e);
	if (r != 0) {
		errmsg_prefix(e, "signing the policy with key '%s'", signer->name);
		return r;
	}
	if (tpm_policy_signature(signer->tk.pub, signer->tk.pub_len, &sig, out->sig,
				 &out->sig_len, e) != 0)
		return -1;
	seal_name(&v->sel, out->name, sizeof(out->name));
	out->usable = 1;
	return 0;
}

/* --signer NAME, or a new "<name>-policy-signer" (ECDSA P-256, no PIN). */
static int find_signer(struct keystore *ks, const char *name, const struct ks_bind *b,
		       struct ks_key **out, struct errmsg *e)
{
	char sname[STORE_NAME_MAX];

	if (b->signer[0]) {
		if ((*out = keystore_find_name(ks, b->signer)) == NULL)
			return errmsg_set(e, "no key named '%s' to sign policies (see tpm-key list)",
					  b->signer);
		if ((*out)->policy != NULL)
			return errmsg_set(e, "the policy signer '%s' is itself PCR-bound; after an "
					  "update it could not sign", b->signer);
		if (!(*out)->empty_auth)
			return errmsg_set(e, "the policy signer '%s' has a PIN; pcr-seal signs "
					  "without asking one, so pick a key made with --no-pin",
					  b->signer);
		return 0;
	}
	if (name == NULL || name[0] == '\0')
		return errmsg_set(e, "--pcr-authorized needs -n NAME (or --signer)");
	if ((size_t)snprintf(sname, sizeof(sname), "%s-policy-signer", name) >= sizeof(sname))
		return errmsg_set(e, "key name '%s' is too long for its policy signer's name", name);
	if ((*out = keystore_find_name(ks, sname)) != NULL)
		return 0;
	return keystore_generate_auth(ks, SSHKEY_ECDSA_P256, 256, sname,
				      "signs PCR policies (tpm-key pcr-seal)", 0, NULL, 0, out, e);
}

static int build_policy(struct keystore *ks, const char *name, const struct ks_bind *b,
			struct ks_policy *p, struct errmsg *e)
{
	struct ks_key *signer;

	if (tpm_pcr_read(keystore_tpm(ks), &b->sel, &p->expected, e) != 0)
		return -1;
	p->has_expected = 1;
	if (!b->authorized) {
		p->tp.steps[0].kind = TPM_STEP_PCR;
		p->tp.steps[0].pcr.sel = b->sel;
		p->tp.n_steps = 1;
		return tpm_pcr_digest(&p->expected, p->tp.steps[0].pcr.digest) == 0 ? 0 :
		       errmsg_set(e, "keystore: cannot hash the PCR values");
	}
	if (find_signer(ks, name, b, &signer, e) != 0)
		return -1;
	if (signer->tk.pub_len > sizeof(p->tp.signer))
		return errmsg_set(e, "the signer's public key is too large");
	memcpy(p->tp.signer, signer->tk.pub, signer->tk.pub_len);
	p->tp.signer_len = signer->tk.pub_len;
	p->tp.steps[0].kind = TPM_STEP_AUTHORIZE;
	p->tp.n_steps = 1;
	p->tp.n_signed = 1;
	return sign_policy(ks, signer, NULL, 0, &p->tp, &p->expected, &p->tp.signed_pol[0], e);
}

int keystore_generate_bound(struct keystore *ks, enum sshkey_type type, unsigned bits,
			    const char *name, const char *comment, unsigned flags,
			    const uint8_t *pin, size_t pin_len, const struct ks_bind *b,
			    struct ks_key **out, struct errmsg *e)
{
	struct ks_policy *p;
	int r;

	if (b == NULL)
		return keystore_generate_auth(ks, type, bits, name, comment, flags, pin, pin_len,
					      out, e);
	if (keystore_tpm(ks) == NULL)
		return errmsg_set(e, "keystore: no TPM connection");
	if (name != NULL && name[0] && keystore_find_name(ks, name) != NULL)
		return errmsg_set(e, "a key named '%s' exists already", name);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return errmsg_set(e, "keystore: out of memory");
	if ((r = build_policy(ks, name, b, p, e)) != 0) {
		free(p);
		return r;
	}
	keystore_set_gen_policy(ks, p);
	r = keystore_generate_auth(ks, type, bits, name, comment, flags, pin, pin_len, out, e);
	/* Still pending when the key was not made: ours to free. */
	ks_policy_free(keystore_set_gen_policy(ks, NULL));
	if (r == 0 && out != NULL && *out != NULL) {
		char what[256];

		keystore_policy_describe(ks, *out, what, sizeof(what));
		log_info("key '%s' is bound to the platform state: %s", (*out)->name, what);
	}
	return r;
}

/* 1 if the current PCRs meet pp. */
static int pcr_matches(struct keystore *ks, const struct tpm_pcr_policy *pp, int *err,
		       struct errmsg *e)
{
	struct tpm_pcr_values now;
	uint8_t d[TPM_POLICY_DIGEST_LEN];

	if (tpm_pcr_read(keystore_tpm(ks), &pp->sel, &now, e) != 0 || tpm_pcr_digest(&now, d) != 0) {
		*err = 1;
		return 0;
	}
	return memcmp(d, pp->digest, sizeof(d)) == 0;
}

int keystore_policy_check(struct keystore *ks, struct ks_key *k, struct errmsg *e)
{
	const struct tpm_policy *tp;
	int err = 0, ok = 1;

	if (k->policy == NULL || keystore_tpm(ks) == NULL)
		return 0;
	tp = &k->policy->tp;
	for (size_t i = 0; ok && !err && i < tp->n_steps; i++)
		if (tp->steps[i].kind == TPM_STEP_PCR)
			ok = pcr_matches(ks, &tp->steps[i].pcr, &err, e);
		else if (tp->steps[i].kind == TPM_STEP_AUTHORIZE) {
			ok = 0;
			for (size_t j = 0; !ok && !err && j < tp->n_signed; j++)
				ok = tp->signed_pol[j].usable &&
				     pcr_matches(ks, &tp->signed_pol[j].pcr, &err, e);
		}
	if (err)
		return -1;
	return ok ? 0 : ks_policy_refused(keystore_tpm(ks), k->name, k->policy, e);
}

void keystore_policy_describe(struct keystore *ks, const struct ks_key *k, char *out,
			      size_t len)
{
	const struct tpm_policy *tp;
	const struct tpm_pcr_sel *sel;
	char s[96] = "?";

	out[0] = '\0';
	if (k->policy == NULL)
		return;
	tp = &k->policy->tp;
	if ((sel = ks_policy_sel(tp)) != NULL)
		tpm_pcr_format(sel, s, sizeof(s));
	if (tp->unsupported_cc)
		snprintf(out, len, "policy with unsupported command 0x%x", tp->unsupported_cc);
	else if (tp->n_steps > 0 && tp->steps[0].kind == TPM_STEP_AUTHORIZE) {
		const struct ks_key *signer = NULL;

		for (size_t i = 0; signer == NULL && i < keystore_count(ks); i++) {
			const struct ks_key *c = keystore_get(ks, i);

			if (c->tk.pub_len == tp->signer_len &&
			    memcmp(c->tk.pub, tp->signer, tp->signer_len) == 0)
				signer = c;
		}
		snprintf(out, len, "pcr %s authorized by %s (%zu sealed)", s,
			 signer ? signer->name : "an unknown key", tp->n_signed);
	} else
		snprintf(out, len, "pcr %s", s);
}

/* ---- pcr-seal ---- */

static struct ks_key *signer_of(struct keystore *ks, const struct tpm_policy *tp)
{
	for (size_t i = 0; i < keystore_count(ks); i++) {
		struct ks_key *c = keystore_get(ks, i);

		if (c->tk.pub_len == tp->signer_len && memcmp(c->tk.pub, tp->signer, tp->signer_len) == 0)
			return c;
	}
	return NULL;
}

/* The new policy goes first (the most likely to match next time); the oldest drops out. */
static void push_signed(struct tpm_policy *tp, const struct tpm_signed_policy *sp)
{
	size_t n = tp->n_signed < TSS2KEY_AUTHPOL_MAX ? tp->n_signed : TSS2KEY_AUTHPOL_MAX - 1;

	memmove(&tp->signed_pol[1], &tp->signed_pol[0], n * sizeof(tp->signed_pol[0]));
	tp->signed_pol[0] = *sp;
	tp->n_signed = n + 1;
}

static int seal_args(struct keystore *ks, const char *name, struct ks_key **k,
		     struct ks_key **signer, struct tpm_pcr_sel *sel, struct errmsg *e)
{
	const struct tpm_pcr_sel *cur;

	if ((*k = keystore_find_name(ks, name)) == NULL)
		return errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
	if ((*k)->policy == NULL || (*k)->policy->tp.n_steps == 0 ||
	    (*k)->policy->tp.steps[0].kind != TPM_STEP_AUTHORIZE)
		return errmsg_set(e, "key '%s' was not made with --pcr-authorized: its PCR policy is "
				  "fixed and nothing can re-seal it", name);
	/* A copy: the policy it comes from is replaced below. */
	if ((cur = ks_policy_sel(&(*k)->policy->tp)) == NULL)
		return errmsg_set(e, "key '%s' has no signed PCR policy to take the PCRs from", name);
	*sel = *cur;
	if ((*signer = signer_of(ks, &(*k)->policy->tp)) == NULL)
		return errmsg_set(e, "the key that signs the policies of '%s' is not in the store; "
				  "without it no new state can be approved", name);
	return 0;
}

int keystore_pcr_seal(struct keystore *ks, const char *name, const uint8_t *signer_pin,
		      size_t signer_pin_len, char *note, size_t note_len, struct errmsg *e)
{
	struct ks_key *k, *signer;
	struct tpm_pcr_sel sel;
	struct tpm_signed_policy sp;
	struct ks_policy *fresh;
	char s[96];
	int r;

	if ((r = seal_args(ks, name, &k, &signer, &sel, e)) != 0)
		return r;
	if ((fresh = malloc(sizeof(*fresh))) == NULL)
		return errmsg_set(e, "keystore: out of memory");
	*fresh = *k->policy;
	if ((r = tpm_pcr_read(keystore_tpm(ks), &sel, &fresh->expected, e)) != 0 ||
	    (r = sign_policy(ks, signer, signer_pin, signer_pin_len, &fresh->tp, &fresh->expected,
			     &sp, e)) != 0) {
		free(fresh);
		return r;
	}
	fresh->has_expected = 1;
	push_signed(&fresh->tp, &sp);
	/* On disk first; the key in memory changes only once the file has. */
	struct ks_policy *old = k->policy;
	k->policy = fresh;
	if ((r = keystore_rewrite_key(ks, k, e)) != 0) {
		k->policy = old;
		free(fresh);
		return r;
	}
	free(old);
	tpm_pcr_format(&sel, s, sizeof(s));
	snprintf(note, note_len, "key '%s': signed with '%s' a policy for the current values "
		 "of %s (%zu signed polic%s kept)", name, signer->name, s, fresh->tp.n_signed,
		 fresh->tp.n_signed == 1 ? "y" : "ies");
	log_info("%s", note);
	return 0;
}
