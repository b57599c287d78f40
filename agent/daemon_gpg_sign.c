/* daemon_gpg_sign: gpg-agent's signing and decryption (SIGKEY, SETKEYDESC, SETHASH,
 * PKSIGN, PKDECRYPT) with a key's PIN from pinentry or, in loopback mode, from gpg. */
#include "daemon_gpg_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/sexp.h"
#include "../keystore/log.h"

gpg_error_t gpg_cmd_sigkey(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);

	if (gpg_parse_grip(gpg_skip_blanks(line), s->grip) != 0) {
		s->have_grip = 0;
		return gpg_grip_error(ctx);
	}
	s->have_grip = 1;
	return 0;
}

/* SETKEYDESC: kept ('+' decoded, %-escapes left for pinentry) for the PIN prompt. */
gpg_error_t gpg_cmd_setkeydesc(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	const char *desc = gpg_skip_blanks(line);
	size_t n = strcspn(desc, " \t");

	if (n == 0)
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "no description given");
	free(s->keydesc);
	if ((s->keydesc = strndup(desc, n)) == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	for (char *p = s->keydesc; *p; p++)
		if (*p == '+')
			*p = ' ';
	return 0;
}

static const struct {
	int algo;               /* libgcrypt's number, as gpg sends it */
	const char *name;
	size_t len;
	enum sshkey_hash hash;  /* SSHKEY_HASH_NONE: no TPM equivalent */
} hashes[] = {
	{ 2, "sha1", 20, SSHKEY_HASH_SHA1 },
	{ 8, "sha256", 32, SSHKEY_HASH_SHA256 },
	{ 9, "sha384", 48, SSHKEY_HASH_SHA384 },
	{ 10, "sha512", 64, SSHKEY_HASH_SHA512 },
	{ 11, "sha224", 28, SSHKEY_HASH_NONE },
};

static int hash_index(int algo, const char *name, size_t name_len)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if ((name == NULL && hashes[i].algo == algo) ||
		    (name != NULL && strlen(hashes[i].name) == name_len &&
		     strncmp(hashes[i].name, name, name_len) == 0))
			return (int)i;
	return -1;
}

/* The hash algorithm of "SETHASH --hash=<name> ..." or "SETHASH <number> ...". */
static int sethash_algo(const char *line, const char **rest)
{
	const char *p = gpg_skip_blanks(line);
	char *end;
	long algo;

	if (strncmp(p, "--hash=", 7) == 0) {
		size_t w = strcspn(p + 7, " \t");

		*rest = gpg_skip_options(p);
		return hash_index(0, p + 7, w);
	}
	*rest = p;
	algo = strtol(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\t'))
		return -1;
	*rest = gpg_skip_blanks(end);
	return hash_index((int)algo, NULL, 0);
}

gpg_error_t gpg_cmd_sethash(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	const char *hex;
	int i = sethash_algo(line, &hex);
	size_t n;

	s->digest_len = 0;
	if (i < 0)
		return set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM,
				 "hash algorithm: 2 (SHA1), 8, 9, 10 (SHA2-256/384/512) or 11 (SHA224)");
	n = strspn(hex, "0123456789abcdefABCDEF");
	if (hex[n] != '\0' && hex[n] != ' ' && hex[n] != '\t')
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "invalid hexstring");
	if (n != 2 * hashes[i].len)
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "digest length does not match the algorithm");
	for (size_t j = 0; j < hashes[i].len; j++) {
		unsigned v;

		sscanf(hex + 2 * j, "%2x", &v);
		s->digest[j] = (uint8_t)v;
	}
	s->digest_len = hashes[i].len;
	s->hash_algo = i;
	return 0;
}

/* gpg-agent's rule (pksign.c): an ECDSA digest shorter than the key, capped at 512
 * bits, is refused; a longer one is cut by the signer. */
static gpg_error_t check_digest_for(assuan_context_t ctx, const struct gpg_session *s,
				    enum sshkey_type type)
{
	size_t need;

	if (type == SSHKEY_RSA)
		return hashes[s->hash_algo].hash == SSHKEY_HASH_NONE ?
			set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM, "the TPM has no SHA-224") : 0;
	need = sshkey_ec_field_len(type);
	if (need > 64)
		need = 64;
	if (s->digest_len < need)
		return set_error(ctx, GPG_ERR_INV_LENGTH, "hash shorter than the key");
	return 0;
}

/* ---------------------------------------------------------------- keys with a PIN */

/* The PIN of a key comes from pinentry, shown where this client's OPTIONs say, with
 * its SETKEYDESC text; in pinentry-mode loopback from an INQUIRE PASSPHRASE that gpg
 * answers (--passphrase), only once per operation since gpg would resend the same. */

static struct ks_key *gpg_use_find(struct agent *a, void *arg)
{
	return gpg_usable_key(a, ((struct gpg_key_use *)arg)->s->grip);
}

static int gpg_use_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		      void *arg, struct errmsg *e)
{
	(void)a;
	return ((struct gpg_key_use *)arg)->op(arg, k, pin, pin_len, e);
}

/* INQUIRE PASSPHRASE (loopback): the answer goes to sodium memory at once. */
static int gpg_ask_loopback(void *arg, const char *error, char **pin, size_t *pin_len,
			    struct errmsg *e)
{
	struct gpg_key_use *g = arg;
	gpg_error_t rc;

	(void)error;
	if ((rc = gpg_inquire_secret(g->ctx, "PASSPHRASE", pin, pin_len)) != 0) {
		errmsg_set(e, "no passphrase from the client (INQUIRE PASSPHRASE: %s)",
			   gpg_strerror(rc));
		return PIN_E_CANCELED;
	}
	return 0;
}

/* pinentry-mode cancel / error: a key that needs a PIN cannot be used. */
static int gpg_ask_refused(void *arg, const char *error, char **pin, size_t *pin_len,
			   struct errmsg *e)
{
	(void)arg;
	(void)error;
	(void)pin;
	(void)pin_len;
	errmsg_set(e, "the key needs a PIN and the client's pinentry-mode allows no prompt");
	return PIN_E_PINENTRY;
}

/* The client's OPTIONs as a prompt environment; NULL when it sent none. */
struct pin_env_store *gpg_prompt_env(const struct gpg_session *s)
{
	const char *v[PE_COUNT] = { [PE_GPG_TTY] = s->ttyname, [PE_TERM] = s->ttytype,
				    [PE_DISPLAY] = s->display, [PE_LC_CTYPE] = s->lc_ctype,
				    [PE_LC_MESSAGES] = s->lc_messages };
	struct pin_env_store *env = NULL;

	for (int i = 0; i < PE_COUNT; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			continue;
		if (env == NULL && (env = calloc(1, sizeof(*env))) == NULL)
			return NULL;
		env->value[i] = strdup(v[i]);
	}
	return env;
}

/* SETKEYDESC text with its %XX escapes decoded (the pinentry module escapes again). */
char *gpg_prompt_desc(const char *keydesc)
{
	char *out = keydesc ? malloc(strlen(keydesc) + 1) : NULL, *o = out;
	unsigned v;

	for (const char *p = keydesc; out != NULL && *p; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
		    sscanf(p + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	if (out != NULL)
		*o = '\0';
	return out;
}

void gpg_pin_use_mode(struct gpg_key_use *g, struct pin_use *u)
{
	u->ask_arg = g;
	if (u->ask != NULL)
		return; /* the caller's own (a PIN gpg's nonce names) */
	if (g->s->pinentry_mode == PINENTRY_LOOPBACK) {
		u->ask = gpg_ask_loopback;
		u->max_prompts = 1;
	} else if (g->s->pinentry_mode != PINENTRY_ASK) {
		u->ask = gpg_ask_refused;
	}
}

gpg_error_t gpg_use_key(struct gpg_key_use *g, struct pin_use *u, const char *what)
{
	struct gpg_session *s = g->s;
	struct pin_env_store *env = gpg_prompt_env(s);
	char *desc = gpg_prompt_desc(s->keydesc);
	struct errmsg e = { "" };
	int r;

	u->a = s->a;
	u->pid = s->pid;
	u->env = env;
	u->desc = desc;
	u->find = gpg_use_find;
	u->op = gpg_use_op;
	u->arg = g;
	gpg_pin_use_mode(g, u);
	r = pin_use_key(u, &e);
	pin_env_free(env);
	free(desc);
	if (r == 0)
		return 0;
	log_warn("gpg: %s for pid %d failed: %s", what, (int)s->pid, e.text);
	return gpg_key_op_error(g->ctx, r, &e);
}

gpg_error_t gpg_with_key_pin(struct gpg_key_use *g, const char *action, const char *what)
{
	struct pin_use u = { .action = action };

	return gpg_use_key(g, &u, what);
}

struct gpg_sign_args {
	enum sshkey_hash hash;
	struct tpm_signature *sig;
};

static int gpg_sign_op(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin,
		       size_t pin_len, struct errmsg *e)
{
	struct gpg_sign_args *a = g->arg;
	int r = keystore_sign_digest_auth(g->s->a->ks, k, pin, pin_len, a->hash, g->s->digest,
					  g->s->digest_len, a->sig, e);

	if (r == 0)
		log_debug("gpg: signed with key '%s' for pid %d", k->name, (int)g->s->pid);
	return r;
}

/* A gpg-made key gets its name at its first use with a user ID in SETKEYDESC: gpg
 * sends none at GENKEY, and the first self-signature says "[User ID not found]". */
static void name_after_use(struct gpg_session *s, const char *use)
{
	struct ks_key *k;

	if (s->keydesc == NULL)
		return;
	agent_tpm_lock(s->a); /* a rename rewrites the key file */
	if ((k = gpg_usable_key(s->a, s->grip)) != NULL)
		gpg_name_key(s, k, use);
	agent_tpm_unlock(s->a);
}

/* Signs (asking the key's PIN if it has one); the signature and the key's shape come
 * back in sig / pub. */
static gpg_error_t sign_locked(assuan_context_t ctx, struct gpg_session *s,
			       struct tpm_signature *sig, struct sshkey_pub *pub)
{
	struct agent *a = s->a;
	struct gpg_sign_args args = { hashes[s->hash_algo].hash, sig };
	struct gpg_key_use g = { ctx, s, gpg_sign_op, &args };
	struct ks_key *k;
	gpg_error_t rc;

	pthread_mutex_lock(&a->lock);
	if ((k = gpg_usable_key(a, s->grip)) == NULL)
		rc = gpg_no_key(ctx, a);
	else if ((rc = check_digest_for(ctx, s, k->pub.type)) == 0)
		*pub = k->pub;
	pthread_mutex_unlock(&a->lock);
	return rc != 0 ? rc : gpg_with_key_pin(&g, "sign with", "signing");
}

gpg_error_t gpg_cmd_pksign(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct tpm_signature sig;
	struct sshkey_pub pub = { 0 };
	struct sshbuf *out;
	gpg_error_t rc;
	int r;

	(void)line; /* options and the cache nonce: we cache no passphrases */
	if (!s->have_grip)
		return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
	if (s->digest_len == 0)
		return set_error(ctx, GPG_ERR_NO_DATA, "no digest (SETHASH) given");
	if ((rc = sign_locked(ctx, s, &sig, &pub)) != 0)
		goto done;
	name_after_use(s, "sign");
	if ((out = sshbuf_new(REPLY_MAX)) == NULL) {
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
		goto done;
	}
	if (pub.type == SSHKEY_RSA)
		r = sexp_build_sig_rsa(sig.s, sig.s_len, pub.n_len, out);
	else
		r = sexp_build_sig_ecdsa(sig.r, sig.r_len, sig.s, sig.s_len, out);
	rc = r != 0 ? GPG_AGENT_ERR(GPG_ERR_INTERNAL) : gpg_send_reply(ctx, out);
	sshbuf_free(out);
done:
	gpg_drop_keydesc(s); /* a description is for one operation */
	return rc;
}

/* ---------------------------------------------------------------- decryption */

struct gpg_decrypt_args {
	int is_rsa;
	const uint8_t *in; size_t in_len;
	uint8_t *out; size_t *out_len;
};

static int gpg_decrypt_op(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin,
			  size_t pin_len, struct errmsg *e)
{
	struct gpg_decrypt_args *a = g->arg;

	if (a->is_rsa)
		return keystore_decrypt_rsa_auth(g->s->a->ks, k, pin, pin_len, a->in, a->in_len,
						 a->out, SSHKEY_RSA_MAX_BYTES, a->out_len, e);
	return keystore_ecdh_zgen_auth(g->s->a->ks, k, pin, pin_len, a->in, a->in_len, a->out,
				       SSHKEY_EC_POINT_MAX, a->out_len, e);
}

/* The key's answer to an enc-val: RSA "(rsa(a ..))" or ECDH "(ecdh(s ..)(e ..))". */
static gpg_error_t decrypt_locked(assuan_context_t ctx, struct gpg_session *s,
				  const struct sexp_tree *t, uint8_t *out, size_t *out_len,
				  int *is_rsa)
{
	int rsa = sexp_find(t, 0, "rsa"), ecdh = sexp_find(t, 0, "ecdh");
	const uint8_t *v;
	size_t vlen;
	struct ks_key *k;
	gpg_error_t rc = 0;

	if ((rsa == SEXP_NONE) == (ecdh == SEXP_NONE))
		return set_error(ctx, GPG_ERR_INV_SEXP, "enc-val holds neither rsa nor ecdh");
	if (sexp_find_value(t, rsa != SEXP_NONE ? rsa : ecdh, rsa != SEXP_NONE ? "a" : "e",
			    &v, &vlen) != 0)
		return set_error(ctx, GPG_ERR_INV_SEXP, "enc-val lacks its value");
	while (vlen > 0 && v[0] == 0) { /* an MPI may carry a sign byte */
		v++;
		vlen--;
	}
	*is_rsa = rsa != SEXP_NONE;
	pthread_mutex_lock(&s->a->lock);
	if ((k = gpg_usable_key(s->a, s->grip)) == NULL)
		rc = gpg_no_key(ctx, s->a);
	else if (*is_rsa != (k->pub.type == SSHKEY_RSA))
		rc = set_error(ctx, GPG_ERR_WRONG_PUBKEY_ALGO, "ciphertext is for another key type");
	pthread_mutex_unlock(&s->a->lock);
	if (rc == 0) {
		struct gpg_decrypt_args args = { *is_rsa, v, vlen, out, out_len };
		struct gpg_key_use g = { ctx, s, gpg_decrypt_op, &args };

		rc = gpg_with_key_pin(&g, "decrypt with", "decryption");
	}
	return rc;
}

gpg_error_t gpg_cmd_pkdecrypt(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct sexp_tree *t = NULL;
	unsigned char *ct = NULL;
	uint8_t plain[SSHKEY_RSA_MAX_BYTES];
	size_t ct_len = 0, plain_len = 0;
	struct sshbuf *out = NULL;
	gpg_error_t rc;
	int is_rsa = 0, r;

	(void)line;
	if (!s->have_grip)
		return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
	if ((rc = gpg_inquire(ctx, "CIPHERTEXT", MAXLEN_CIPHERTEXT, 0, &ct, &ct_len)) != 0)
		goto done;
	if ((t = malloc(sizeof(*t))) == NULL || (out = sshbuf_new(REPLY_MAX)) == NULL) {
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
		goto done;
	}
	if ((r = sexp_parse(ct, ct_len, SEXP_CANONICAL, t)) != 0 || !sexp_list_named(t, 0, "enc-val")) {
		rc = set_error(ctx, GPG_ERR_INV_SEXP, r != 0 ? sexp_strerror(r) : "not an enc-val");
		goto done;
	}
	if ((rc = decrypt_locked(ctx, s, t, plain, &plain_len, &is_rsa)) != 0)
		goto done;
	name_after_use(s, "encr");
	/* RSA: the TPM removed the PKCS#1 padding; tell gpg not to look for it. */
	if (is_rsa && (rc = assuan_write_status(ctx, "PADDING", "0")) != 0)
		goto done;
	rc = sexp_build_value(plain, plain_len, out) != 0 ? GPG_AGENT_ERR(GPG_ERR_INTERNAL) :
		gpg_send_reply(ctx, out);
done:
	explicit_bzero(plain, sizeof(plain));
	sshbuf_free(out);
	free(t);
	assuan_free(ctx, ct);
	gpg_drop_keydesc(s);
	return rc;
}

/* ---------------------------------------------------------------- key generation */

