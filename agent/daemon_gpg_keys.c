/* daemon_gpg_keys: gpg-agent's key management over TPM keys: GENKEY (with a PIN from
 * pinentry or gpg), PASSWD (TPM2_ObjectChangeAuth), DELETE_KEY, EXPORT_KEY (refused),
 * and the names gpg-made keys get. */
#include "daemon_gpg_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/sexp.h"
#include "daemon_sshcontrol.h"
#include "../keystore/log.h"

/* Generation flags for GENKEY. gpg's key parameters do not say whether a key will sign
 * or decrypt, so GENKEY makes keys that can do both. */
#define GENKEY_FLAGS KS_GEN_DECRYPT

/* Small decimal atom ("3072") into *v. */
static int atom_uint(const uint8_t *p, size_t len, unsigned *v)
{
	*v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

static int is_25519(const uint8_t *p, size_t len)
{
	static const char *const names[] = { "Ed25519", "Curve25519", "cv25519", "ed25519",
					     "X25519", "Ed448", "X448" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
			return 1;
	return 0;
}

static gpg_error_t keyparam_rsa(assuan_context_t ctx, const struct sexp_tree *t, int alg,
				enum sshkey_type *type, unsigned *bits)
{
	const uint8_t *p;
	size_t len;

	if (sexp_find_value(t, alg, "nbits", &p, &len) != 0 || atom_uint(p, len, bits) != 0)
		return set_error(ctx, GPG_ERR_INV_DATA, "rsa key parameters lack nbits");
	*type = SSHKEY_RSA;
	if (*bits > 3072)
		return set_error(ctx, GPG_ERR_NOT_SUPPORTED,
				 "TPMs make RSA keys of at most 3072 bits; use rsa3072 or nistp256");
	if (*bits != 2048 && *bits != 3072)
		return set_error(ctx, GPG_ERR_INV_VALUE, "RSA keys are 2048 or 3072 bits");
	return 0;
}

static gpg_error_t keyparam_ecc(assuan_context_t ctx, const struct sexp_tree *t, int alg,
				enum sshkey_type *type, unsigned *bits)
{
	const uint8_t *p;
	size_t len;

	if (sexp_find_value(t, alg, "curve", &p, &len) != 0)
		return set_error(ctx, GPG_ERR_INV_DATA, "ecc key parameters lack a curve");
	*type = sexp_curve_type(p, len);
	if (*type != SSHKEY_UNSPEC) {
		*bits = *type == SSHKEY_ECDSA_P256 ? 256 : *type == SSHKEY_ECDSA_P384 ? 384 : 521;
		return 0;
	}
	if (is_25519(p, len))
		return set_error(ctx, GPG_ERR_NOT_SUPPORTED,
				 "TPM 2.0 has no Curve25519/Ed25519/448; use nistp256, nistp384 or nistp521");
	return set_error(ctx, GPG_ERR_UNKNOWN_CURVE, "use nistp256, nistp384 or nistp521");
}

/* (genkey(rsa(nbits 4:3072))) or (genkey(ecc(curve 10:NIST P-256)(flags nocomp))). */
static gpg_error_t parse_keyparam(assuan_context_t ctx, const unsigned char *buf, size_t len,
				  enum sshkey_type *type, unsigned *bits)
{
	struct sexp_tree *t = malloc(sizeof(*t));
	gpg_error_t rc;
	int alg, r;

	if (t == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	if ((r = sexp_parse(buf, len, SEXP_ALLOW_TOKENS, t)) != 0)
		rc = set_error(ctx, GPG_ERR_INV_DATA, sexp_strerror(r));
	else if (!sexp_list_named(t, 0, "genkey") || (alg = sexp_nth(t, 0, 1)) == SEXP_NONE)
		rc = set_error(ctx, GPG_ERR_INV_DATA, "not a genkey S-expression");
	else if (sexp_list_named(t, alg, "rsa"))
		rc = keyparam_rsa(ctx, t, alg, type, bits);
	else if (sexp_list_named(t, alg, "ecc") || sexp_list_named(t, alg, "ecdsa") ||
		 sexp_list_named(t, alg, "ecdh"))
		rc = keyparam_ecc(ctx, t, alg, type, bits);
	else
		rc = set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM, "TPM keys are rsa or ecc (NIST)");
	free(t);
	return rc;
}

/* ---------------------------------------------------------------- new passphrases */

/* gpg-agent's texts (agent/genkey.c), so a gpg user sees the dialog they know. */
static const char no_passphrase_text[] =
	"You have not entered a passphrase - this is in general a bad idea!\n"
	"Please confirm that you do not want to have any protection on your key.";

int gpg_ask_new_pin(struct gpg_session *s, const char *desc, int confirm_empty, char **pin,
		    size_t *pin_len, struct errmsg *e)
{
	struct pin_env_store *env = gpg_prompt_env(s);
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .prompt = "Passphrase:",
				     .repeat_prompt = "Repeat:" };
	int r;

	*pin = NULL;
	*pin_len = 0;
	for (int tries = 0; tries < PIN_MAX_PROMPTS; tries++) {
		if ((r = pin_dialog_new(s->a, env, &p, pin, pin_len, e)) != 0)
			break;
		if (*pin_len > PIN_AUTH_MAX) {
			sodium_free(*pin);
			*pin = NULL;
			p.error = "A TPM key's PIN (passphrase) has at most 32 bytes";
			r = errmsg_set(e, "%s", p.error);
			continue;
		}
		if (*pin_len > 0 || !confirm_empty)
			break;
		sodium_free(*pin);
		*pin = NULL;
		r = pin_confirm(s->a, env, no_passphrase_text, "Yes, protection is not needed",
				"Enter new passphrase", e);
		if (r != PIN_E_NOT_CONFIRMED)
			break; /* 0: no protection, as the user confirmed */
		p.error = NULL;
	}
	pin_env_free(env);
	if (r != 0 && *pin != NULL) {
		sodium_free(*pin);
		*pin = NULL;
	}
	return r;
}

/* The passphrase step of GENKEY, as gpg-agent: --inq-passwd asks NEWPASSWD, loopback
 * mode NEW_PASSPHRASE, else pinentry asks it twice (an empty one must be confirmed).
 * A non-empty answer becomes the key's PIN (*pin, sodium memory; NULL for none). */
static gpg_error_t genkey_passphrase(assuan_context_t ctx, int inq_passwd, char **pin,
				     size_t *pin_len)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct errmsg e = { "" };
	gpg_error_t rc = 0;
	int r;

	if (inq_passwd)
		rc = gpg_inquire_secret(ctx, "NEWPASSWD", pin, pin_len);
	else if (s->pinentry_mode == PINENTRY_LOOPBACK)
		rc = gpg_inquire_secret(ctx, "NEW_PASSPHRASE", pin, pin_len);
	else if (s->pinentry_mode != PINENTRY_ASK)
		return 0; /* cancel / error: gpg-agent makes the key without a passphrase */
	else if ((r = gpg_ask_new_pin(s, "Please enter the passphrase to\nprotect your new key",
				      1, pin, pin_len, &e)) != 0)
		return gpg_key_op_error(ctx, r, &e);
	if (rc == 0 && *pin != NULL && *pin_len > PIN_AUTH_MAX)
		rc = set_error(ctx, GPG_ERR_TOO_LARGE, "a TPM key's PIN (passphrase) has at most 32 bytes");
	if ((rc != 0 || *pin_len == 0) && *pin != NULL) {
		sodium_free(*pin);
		*pin = NULL;
		*pin_len = 0;
	}
	return rc;
}

static gpg_error_t genkey_make(assuan_context_t ctx, enum sshkey_type type, unsigned bits,
			       const char *pin, size_t pin_len, struct sshkey_pub *pub)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct ks_key *k;
	struct errmsg e;
	char comment[TSS2KEY_DESC_MAX];
	gpg_error_t rc = 0;
	int r;

	gpg_key_comment(s, comment, sizeof(comment));
	agent_tpm_lock(s->a);
	r = keystore_generate_auth(s->a->ks, type, bits, NULL, comment, GENKEY_FLAGS,
				   (const uint8_t *)pin, pin_len, &k, &e);
	if (r == 0) {
		*pub = k->pub;
		pin_cache_new_key(s->a, k->name, pin, pin_len);
		log_info("gpg: GENKEY for pid %d made key '%s' (keygrip %s, %s)", (int)s->pid,
			 k->name, k->keygrip, pin_len ? "with a PIN" : "no PIN");
	} else {
		log_warn("gpg: GENKEY for pid %d failed: %s", (int)s->pid, e.text);
		rc = gpg_key_op_error(ctx, r, &e);
	}
	agent_tpm_unlock(s->a);
	return rc;
}

gpg_error_t gpg_cmd_genkey(assuan_context_t ctx, char *line)
{
	int inq_passwd = gpg_has_option(line, "--inq-passwd", 0);
	int no_protection = gpg_has_option(line, "--no-protection", 0);
	unsigned char *param = NULL;
	size_t param_len = 0;
	enum sshkey_type type = SSHKEY_UNSPEC;
	unsigned bits = 0;
	struct sshkey_pub pub = { 0 };
	char *pin = NULL;
	size_t pin_len = 0;
	gpg_error_t rc;

	/* --timestamp: gpg records the OpenPGP creation time itself; the TPM key has none. */
	if ((rc = gpg_inquire(ctx, "KEYPARAM", MAXLEN_KEYPARAM, 0, &param, &param_len)) != 0)
		return rc;
	rc = parse_keyparam(ctx, param, param_len, &type, &bits);
	assuan_free(ctx, param);
	if (rc == 0 && !no_protection)
		rc = genkey_passphrase(ctx, inq_passwd, &pin, &pin_len);
	if (rc == 0)
		rc = genkey_make(ctx, type, bits, pin, pin_len, &pub);
	if (pin != NULL)
		sodium_free(pin);
	return rc != 0 ? rc : gpg_send_public_key(ctx, &pub);
}

/* ---------------------------------------------------------------- PASSWD */

struct passwd_state {
	char cache_nonce[GPG_NONCE_HEX + 2], passwd_nonce[GPG_NONCE_HEX + 2];
	char *new_pin; size_t new_len;
	char *old_pin; size_t old_len;    /* the PIN that worked, for the next subkey */
	int asked;
};

/* The old PIN of the previous key (gpg's --cache-nonce), else pinentry or loopback. */
static int passwd_old_pin(void *arg, const char *error, char **pin, size_t *pin_len,
			  struct errmsg *e)
{
	struct gpg_key_use *g = arg;
	struct passwd_state *p = g->arg;
	struct gpg_nonces *c = g->s->nonces;

	(void)error;
	if (c == NULL || (*pin = sodium_malloc(c->old_len + 1)) == NULL)
		return errmsg_set(e, "out of secure memory");
	memcpy(*pin, c->old, c->old_len);
	(*pin)[c->old_len] = '\0';
	*pin_len = c->old_len;
	p->cache_nonce[0] = '\0'; /* once */
	return 0;
}

/* After the old PIN: the new one (gpg's --passwd-nonce, NEW_PASSPHRASE in loopback,
 * else pinentry twice). */
static int passwd_new_pin(void *arg, struct errmsg *e)
{
	struct gpg_key_use *g = arg;
	struct passwd_state *p = g->arg;
	struct gpg_nonces *c = g->s->nonces;
	gpg_error_t rc;

	if (p->asked)
		return 0;
	p->asked = 1;
	if (c != NULL && p->passwd_nonce[0] && strcmp(c->passwd_nonce, p->passwd_nonce) == 0) {
		if ((p->new_pin = sodium_malloc(c->new_len + 1)) == NULL)
			return errmsg_set(e, "out of secure memory");
		memcpy(p->new_pin, c->new, p->new_len = c->new_len);
		return 0;
	}
	if (g->s->pinentry_mode == PINENTRY_LOOPBACK) {
		if ((rc = gpg_inquire_secret(g->ctx, "NEW_PASSPHRASE", &p->new_pin, &p->new_len)) != 0)
			return errmsg_set(e, "no new passphrase from the client (%s)", gpg_strerror(rc));
		if (p->new_len > PIN_AUTH_MAX)
			return errmsg_set(e, "a TPM key's PIN (passphrase) has at most %d bytes",
					  PIN_AUTH_MAX);
		return 0;
	}
	return gpg_ask_new_pin(g->s, "Please enter the new passphrase", 1, &p->new_pin,
			       &p->new_len, e);
}

static int passwd_op(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin,
		     size_t pin_len, struct errmsg *e)
{
	struct passwd_state *p = g->arg;
	int r = keystore_change_auth(g->s->a->ks, k, pin, pin_len, (const uint8_t *)p->new_pin,
				     p->new_len, e);

	pin_forget(g->s->a, k->name);
	if (r == 0) {
		log_info("gpg: PASSWD for pid %d: key '%s' has %s", (int)g->s->pid, k->name,
			 p->new_len ? "a new PIN" : "no PIN any more");
		if (pin_len > 0 && (p->old_pin = sodium_malloc(pin_len + 1)) != NULL)
			memcpy(p->old_pin, pin, p->old_len = pin_len);
	}
	return r;
}

/* Lets the next PASSWD of the same gpg command (the subkeys) reuse both PINs. */
static void passwd_remember(assuan_context_t ctx, struct passwd_state *p)
{
	struct gpg_nonces *c = gpg_nonces_get(gpg_sess(ctx));

	if (c == NULL || p->new_len > PIN_AUTH_MAX || p->old_len > MAXLEN_PASSPHRASE)
		return;
	if (p->old_pin != NULL) {
		memcpy(c->old, p->old_pin, c->old_len = p->old_len);
		gpg_nonce_issue(ctx, "CACHE_NONCE", "", c->cache_nonce);
	}
	memcpy(c->new, p->new_pin ? p->new_pin : "", c->new_len = p->new_len);
	gpg_nonce_issue(ctx, "PASSWD_NONCE", p->passwd_nonce, c->passwd_nonce);
}

/* PASSWD [--verify] [--preset] [--cache-nonce=..] [--passwd-nonce=..] <grip>: --verify
 * proves the passphrase (holding a key with no PIN is the whole answer); otherwise
 * the old PIN, then the new one twice, then TPM2_ObjectChangeAuth. */
gpg_error_t gpg_cmd_passwd(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct passwd_state p = { .asked = 0 };
	struct gpg_key_use g = { ctx, s, passwd_op, &p };
	struct pin_use u = { .action = "change the PIN of", .before_op = passwd_new_pin,
			     .max_prompts = 1, .no_cache = 1, .no_confirm = 1 };
	struct sshkey_pub pub = { 0 };
	gpg_error_t rc;

	if (gpg_parse_grip(gpg_skip_options(line), s->grip) != 0)
		return gpg_grip_error(ctx);
	if (gpg_has_option(line, "--verify", 0))
		return gpg_copy_public(ctx, s->grip, &pub);
	gpg_option_value(line, "--cache-nonce", p.cache_nonce, sizeof(p.cache_nonce));
	gpg_option_value(line, "--passwd-nonce", p.passwd_nonce, sizeof(p.passwd_nonce));
	if (s->nonces != NULL && p.cache_nonce[0] &&
	    strcmp(s->nonces->cache_nonce, p.cache_nonce) == 0)
		u.ask = passwd_old_pin;
	s->have_grip = 1;
	rc = gpg_use_key(&g, &u, "changing the PIN");
	if (rc == 0)
		passwd_remember(ctx, &p);
	if (p.new_pin != NULL)
		sodium_free(p.new_pin);
	if (p.old_pin != NULL)
		sodium_free(p.old_pin);
	gpg_drop_keydesc(s);
	return rc;
}

/* ---------------------------------------------------------------- DELETE_KEY, EXPORT_KEY */

/* DELETE_KEY [--force|--stub-only] <grip>: after gpg-agent's confirmation through
 * pinentry (not with --force), the key file goes; the TPM holds no copy of it. */
gpg_error_t gpg_cmd_delete_key(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	int force = gpg_has_option(line, "--force", 0);
	struct pin_env_store *env = NULL;
	char grip[41], name[STORE_NAME_MAX], *desc = NULL, text[512];
	struct errmsg e = { "" };
	struct ks_key *k;
	gpg_error_t rc = 0;
	int r;

	if (gpg_parse_grip(gpg_skip_options(line), grip) != 0) {
		gpg_drop_keydesc(s);
		return gpg_grip_error(ctx);
	}
	if (gpg_has_option(line, "--stub-only", 0)) {
		gpg_drop_keydesc(s);
		return GPG_AGENT_ERR(GPG_ERR_FORBIDDEN); /* not a card stub: gpg-agent's answer */
	}
	pthread_mutex_lock(&s->a->lock);
	if ((k = gpg_usable_key(s->a, grip)) != NULL)
		snprintf(name, sizeof(name), "%s", k->name);
	else
		rc = gpg_no_key(ctx, s->a);
	pthread_mutex_unlock(&s->a->lock);
	if (rc == 0 && !force) {
		if ((desc = gpg_prompt_desc(s->keydesc)) == NULL)
			snprintf(text, sizeof(text), "Do you really want to delete the key identified "
				 "by keygrip\n  %s\n  (TPM key \"%s\")\n?", grip, name);
		else
			snprintf(text, sizeof(text), "%s\n(TPM key \"%s\")", desc, name);
		env = gpg_prompt_env(s);
		if ((r = pin_confirm(s->a, env, text, "Delete key", "No", &e)) != 0)
			rc = gpg_key_op_error(ctx, r, &e);
	}
	if (rc == 0) {
		agent_tpm_lock(s->a); /* the key leaves the keystore (and its TPM slot) */
		/* looked up again: the key may have gone while the dialog was open */
		if ((k = gpg_usable_key(s->a, grip)) == NULL || strcmp(k->name, name) != 0)
			rc = gpg_no_key(ctx, s->a);
		else if (pin_forget(s->a, name), (r = keystore_delete(s->a->ks, name, &e)) != 0)
			rc = gpg_key_op_error(ctx, r, &e);
		else
			log_info("gpg: DELETE_KEY for pid %d deleted key '%s' (keygrip %s)",
				 (int)s->pid, name, grip);
		agent_tpm_unlock(s->a);
	}
	pin_env_free(env);
	free(desc);
	gpg_drop_keydesc(s);
	return rc;
}

/* EXPORT_KEY: there is nothing to export, and gpg must say why. */
gpg_error_t gpg_cmd_export_key(assuan_context_t ctx, char *line)
{
	(void)line;
	gpg_drop_keydesc(gpg_sess(ctx));
	return set_error(ctx, GPG_ERR_NOT_SUPPORTED,
			 "the secret key lives in the TPM and cannot be exported "
			 "(export the public key; make a new key elsewhere if you must move it)");
}

/* ---------------------------------------------------------------- names */

/* The user ID gpg put in quotes in a SETKEYDESC text ("...%0A%22Alice <a@b>%22%0A..."),
 * decoded; 0 when there is none (or gpg's "[User ID not found]"). */
static int keydesc_uid(const char *keydesc, char *out, size_t len)
{
	char *desc = gpg_prompt_desc(keydesc), *a, *b;
	int ok = 0;

	if (desc != NULL && (a = strchr(desc, '"')) != NULL && (b = strchr(a + 1, '"')) != NULL &&
	    b > a + 1 && a[1] != '[') {
		*b = '\0';
		snprintf(out, len, "%s", a + 1);
		ok = 1;
	}
	free(desc);
	return ok;
}

void gpg_key_comment(const struct gpg_session *s, char *out, size_t len)
{
	char uid[TSS2KEY_DESC_MAX];

	if (s->keydesc != NULL && keydesc_uid(s->keydesc, uid, sizeof(uid)))
		snprintf(out, len, "gpg: %.*s", (int)(len > 8 ? len - 6 : 1), uid);
	else
		snprintf(out, len, "gpg");
}

void gpg_key_name(const struct gpg_session *s, const char *use, char *out, size_t len)
{
	char uid[TSS2KEY_DESC_MAX], *p = uid, *lt, *gt;
	size_t n = 0, max = len > 8 ? len - strlen(use) - 2 : 0;

	out[0] = '\0';
	if (s->keydesc == NULL || !keydesc_uid(s->keydesc, uid, sizeof(uid)))
		return;
	if ((lt = strchr(uid, '<')) != NULL && (gt = strchr(lt, '>')) != NULL && gt > lt + 1) {
		*gt = '\0';
		p = lt + 1; /* the mail address names the key best */
	}
	for (; *p && n < max; p++) {
		char c = *p;

		if (!isalnum((unsigned char)c) && !strchr("._@+-", c))
			c = '-';
		if (c == '-' && (n == 0 || out[n - 1] == '-'))
			continue;
		if (n == 0 && c == '.')
			continue;
		out[n++] = c;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	if (n == 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out + n, len - n, "-%s", use);
}

/* 1 for the keystore's default names: ecdsa-p256, rsa-3072, ecdsa-p384-2, ... */
static int default_name(const char *name)
{
	static const char *const bases[] = { "ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
					     "rsa-2048", "rsa-3072" };

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		size_t n = strlen(bases[i]);

		if (strncmp(name, bases[i], n) == 0 &&
		    (name[n] == '\0' || (name[n] == '-' && name[n + 1] != '\0' &&
					 strspn(name + n + 1, "0123456789") == strlen(name + n + 1))))
			return 1;
	}
	return 0;
}

void gpg_name_key(struct gpg_session *s, struct ks_key *k, const char *use)
{
	char base[STORE_NAME_MAX], name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX];
	struct errmsg e;

	if (!ks_key_from_gpg(k) || !default_name(k->name))
		return;
	gpg_key_name(s, use, base, sizeof(base));
	if (base[0] == '\0')
		return;
	gpg_key_comment(s, comment, sizeof(comment));
	snprintf(name, sizeof(name), "%s", base);
	for (unsigned i = 2; i < 100 && keystore_find_name(s->a->ks, name) != NULL; i++)
		snprintf(name, sizeof(name), "%.*s-%u", (int)sizeof(base) - 5, base, i);
	pin_forget(s->a, k->name);
	if (keystore_rename(s->a->ks, k, name, comment, &e) != 0)
		log_warn("gpg: cannot name key '%s' after its user ID: %s", k->name, e.text);
}
