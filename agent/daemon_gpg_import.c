/* daemon_gpg_import: `gpg --import` of secret keys into the TPM. KEYWRAP_KEY --import
 * hands gpg a fresh AES-128 key; IMPORT_KEY inquires KEYDATA, the transfer-format key
 * wrapped with it (RFC 3394), which is unwrapped, unprotected with its passphrase
 * (pinentry or loopback; gpg's S2K and checksum, protocol/pgpkey.c), then wrapped for
 * our SRK and imported with TPM2_Import under a PIN of the user's choice (the OpenPGP
 * passphrase by default). Every software copy of the key is in sodium memory and is
 * wiped before the command returns. */
#include "daemon_gpg_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../protocol/keygrip.h"
#include "../protocol/pgpkey.h"
#include "../keystore/log.h"

#define KEK_LEN 16 /* AES-128, as gpg-agent's KEYWRAP_KEYSIZE */
void gpg_import_reset(struct gpg_session *s)
{
	if (s->import_kek != NULL)
		sodium_free(s->import_kek);
	if (s->nonces != NULL)
		sodium_free(s->nonces);
	s->import_kek = NULL;
	s->nonces = NULL;
}

struct gpg_nonces *gpg_nonces_get(struct gpg_session *s)
{
	if (s->nonces == NULL && (s->nonces = sodium_malloc(sizeof(*s->nonces))) != NULL)
		memset(s->nonces, 0, sizeof(*s->nonces));
	return s->nonces;
}

void gpg_nonce_issue(assuan_context_t ctx, const char *keyword, const char *given,
		     char nonce[GPG_NONCE_HEX + 1])
{
	uint8_t raw[GPG_NONCE_HEX / 2];

	if (given[0] && strlen(given) <= GPG_NONCE_HEX) {
		snprintf(nonce, GPG_NONCE_HEX + 1, "%s", given);
	} else {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(nonce, GPG_NONCE_HEX + 1, raw, sizeof(raw));
	}
	assuan_write_status(ctx, keyword, nonce);
}

/* KEYWRAP_KEY [--clear] --import|--export */
gpg_error_t gpg_cmd_keywrap_key(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	unsigned char *kek;
	gpg_error_t rc;

	if (!gpg_has_option(line, "--import", 0) && !gpg_has_option(line, "--export", 0))
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "unknown value for MODE");
	/* --export: gpg asks for a key before EXPORT_KEY; that command then says why no
	 * key ever comes, so a key is handed out alike and never used. */
	if (s->import_kek != NULL && gpg_has_option(line, "--import", 0)) {
		sodium_free(s->import_kek);
		s->import_kek = NULL;
	}
	if (gpg_has_option(line, "--clear", 0))
		return 0;
	if ((kek = sodium_malloc(KEK_LEN)) == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	randombytes_buf(kek, KEK_LEN);
	assuan_begin_confidential(ctx);
	rc = assuan_send_data(ctx, kek, KEK_LEN);
	assuan_end_confidential(ctx);
	if (gpg_has_option(line, "--import", 0))
		s->import_kek = kek;
	else
		sodium_free(kek);
	return rc;
}

/* RFC 3394 unwrap of in (a multiple of 8, at least 24 bytes) into out (in_len - 8). */
static int unwrap(const unsigned char *kek, const unsigned char *in, size_t in_len,
		  unsigned char *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, fin = 0, ok;

	if (c == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = in_len <= MAXLEN_KEYDATA && EVP_DecryptInit_ex(c, EVP_aes_128_wrap(), NULL, kek, NULL) == 1 &&
	     EVP_DecryptUpdate(c, out, &outl, in, (int)in_len) == 1 &&
	     EVP_DecryptFinal_ex(c, out + outl, &fin) == 1 && (size_t)(outl + fin) == in_len - 8;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* An import refused for a reason the user must see: gpg prints only the error code's
 * text, so the reason goes to the log as well. */
static gpg_error_t refuse(assuan_context_t ctx, gpg_err_code_t code, const char *text)
{
	log_warn("gpg: IMPORT_KEY for pid %d refused: %s", (int)gpg_sess(ctx)->pid, text);
	return set_error(ctx, code, text);
}

/* One import in progress; lives in sodium memory. */
struct import_job {
	struct pgpkey key;
	struct tpm_import_in in;
	char pass[MAXLEN_PASSPHRASE + 1]; size_t pass_len;
	uint8_t pin[PIN_AUTH_MAX]; size_t pin_len;  /* the new TPM key's */
	unsigned char plain[MAXLEN_KEYDATA];
};

static gpg_error_t pgp_error(assuan_context_t ctx, int r, const char *msg)
{
	static _Thread_local char text[256];
	gpg_err_code_t code = r == PGPKEY_E_PASSPHRASE ? GPG_ERR_BAD_PASSPHRASE :
			      r == PGPKEY_E_UNSUPPORTED ? GPG_ERR_NOT_SUPPORTED :
			      r == PGPKEY_E_BAD_KEY ? GPG_ERR_BAD_SECKEY :
			      r == PGPKEY_E_CRYPTO ? GPG_ERR_INTERNAL : GPG_ERR_INV_SEXP;

	snprintf(text, sizeof(text), "%s", msg ? msg : "bad key data");
	return refuse(ctx, code, text);
}

/* Inquires KEYDATA and unwraps it into j->plain; *len its length. */
static gpg_error_t read_keydata(assuan_context_t ctx, struct import_job *j, size_t *len)
{
	struct gpg_session *s = gpg_sess(ctx);
	unsigned char *wrapped = NULL;
	size_t wlen = 0;
	gpg_error_t rc;

	assuan_begin_confidential(ctx);
	rc = gpg_inquire(ctx, "KEYDATA", MAXLEN_KEYDATA, 1, &wrapped, &wlen);
	assuan_end_confidential(ctx);
	if (rc != 0)
		return rc;
	if (wlen < 24 || wlen % 8 != 0)
		rc = GPG_AGENT_ERR(GPG_ERR_INV_LENGTH);
	else if (unwrap(s->import_kek, wrapped, wlen, j->plain) != 0)
		rc = set_error(ctx, GPG_ERR_CHECKSUM, "the key data does not unwrap with the "
			       "KEYWRAP_KEY key");
	else
		*len = wlen - 8;
	explicit_bzero(wrapped, wlen);
	assuan_free(ctx, wrapped);
	return rc;
}

/* The passphrase for a protected key, tried until the checksum matches: the cached one
 * of the previous subkey, then loopback (once) or pinentry (PIN_MAX_PROMPTS times). */
static gpg_error_t unprotect(assuan_context_t ctx, struct import_job *j, const char *nonce)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct gpg_nonces *c = s->nonces;
	struct pin_env_store *env = NULL;
	char *desc = NULL, text[1024], *pw = NULL;
	const char *msg = NULL;
	size_t pw_len = 0;
	struct errmsg e = { "" };
	gpg_error_t rc = 0;
	int r = PGPKEY_E_PASSPHRASE;

	if (!pgpkey_is_protected(&j->key))
		return (r = pgpkey_unprotect(&j->key, "", 0, &msg)) == 0 ? 0 : pgp_error(ctx, r, msg);
	if (c != NULL && nonce[0] && strcmp(c->cache_nonce, nonce) == 0 &&
	    (r = pgpkey_unprotect(&j->key, c->old, c->old_len, &msg)) == 0) {
		memcpy(j->pass, c->old, j->pass_len = c->old_len);
		return 0;
	}
	if (s->pinentry_mode != PINENTRY_ASK && s->pinentry_mode != PINENTRY_LOOPBACK)
		return set_error(ctx, GPG_ERR_NO_PIN_ENTRY, "the key's passphrase is needed and "
				 "the client's pinentry-mode allows no prompt");
	desc = gpg_prompt_desc(s->keydesc);
	env = gpg_prompt_env(s);
	for (int tries = 0; r == PGPKEY_E_PASSPHRASE && rc == 0; tries++) {
		if (s->pinentry_mode == PINENTRY_LOOPBACK) {
			if (tries > 0)
				break;
			rc = gpg_inquire_secret(ctx, "PASSPHRASE", &pw, &pw_len);
		} else {
			if (tries == PIN_MAX_PROMPTS)
				break;
			snprintf(text, sizeof(text), "%s%s", tries ? "Bad passphrase, try again.\n\n" : "",
				 desc ? desc : "Please enter the passphrase of the OpenPGP secret "
				 "key to import into the TPM");
			if ((r = pin_ask_secret(s->a, env, text, "Passphrase:", &pw, &pw_len, &e)) != 0)
				rc = gpg_key_op_error(ctx, r, &e);
		}
		if (rc == 0 && pw_len > MAXLEN_PASSPHRASE)
			rc = GPG_AGENT_ERR(GPG_ERR_TOO_LARGE);
		if (rc == 0 && (r = pgpkey_unprotect(&j->key, pw, pw_len, &msg)) == 0)
			memcpy(j->pass, pw, j->pass_len = pw_len);
		if (pw != NULL)
			sodium_free(pw);
		pw = NULL;
	}
	pin_env_free(env);
	free(desc);
	if (rc == 0 && r != 0)
		rc = pgp_error(ctx, r, msg);
	return rc;
}

/* The new TPM key's PIN into j->pin: the same as the last subkey's, the passphrase
 * in loopback mode, else asked (empty = keep the OpenPGP passphrase). */
static gpg_error_t choose_pin(assuan_context_t ctx, struct import_job *j, const char *nonce)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct gpg_nonces *c = s->nonces;
	char *pin = NULL, desc[512];
	size_t len = 0;
	struct errmsg e = { "" };
	int r;

	if (c != NULL && nonce[0] && strcmp(c->cache_nonce, nonce) == 0) {
		memcpy(j->pin, c->new, j->pin_len = c->new_len);
		return 0;
	}
	if (s->pinentry_mode != PINENTRY_ASK) {
		if (j->pass_len > PIN_AUTH_MAX)
			return set_error(ctx, GPG_ERR_TOO_LARGE, "the passphrase is longer than the 32 "
					 "bytes a TPM key's PIN can have; import with pinentry to "
					 "choose a shorter PIN");
		memcpy(j->pin, j->pass, j->pin_len = j->pass_len);
		return 0;
	}
	snprintf(desc, sizeof(desc), "The key goes into the TPM. Choose the PIN (passphrase) "
		 "the TPM will ask for it, at most %d bytes.\n\n%s", PIN_AUTH_MAX,
		 j->pass_len ? "Leave it empty to keep the passphrase you just entered." :
		 "Leave it empty for a key without a PIN.");
	for (int tries = 0;; tries++) {
		if ((r = gpg_ask_new_pin(s, desc, 0, &pin, &len, &e)) != 0)
			return gpg_key_op_error(ctx, r, &e);
		if (len > 0 || j->pass_len <= PIN_AUTH_MAX)
			break;
		if (tries == PIN_MAX_PROMPTS - 1)
			return set_error(ctx, GPG_ERR_TOO_LARGE, "the passphrase is longer than a TPM "
					 "key's PIN can be (32 bytes)");
		snprintf(desc, sizeof(desc), "The passphrase is longer than the %d bytes a TPM key's "
			 "PIN can have: choose a shorter PIN.", PIN_AUTH_MAX);
	}
	if (len > 0)
		memcpy(j->pin, pin, j->pin_len = len);
	else
		memcpy(j->pin, j->pass, j->pin_len = j->pass_len);
	if (pin != NULL)
		sodium_free(pin);
	return 0;
}

/* Key material for tpm_import_key from the unprotected key. */
static gpg_error_t fill_import(assuan_context_t ctx, struct import_job *j)
{
	struct tpm_import_in *in = &j->in;
	const struct pgpkey *k = &j->key;
	size_t coord;

	in->type = k->type;
	if (k->type == SSHKEY_RSA) {
		if (k->pub[0].len > sizeof(in->n) || k->pub[1].len > 4 || k->sec[1].len > sizeof(in->p))
			return set_error(ctx, GPG_ERR_NOT_SUPPORTED, "RSA keys over 3072 bits cannot "
					 "live in a TPM: TPM 2.0 holds RSA 2048 and 3072 only");
		memcpy(in->n, k->pub[0].b, in->n_len = k->pub[0].len);
		for (size_t i = 0; i < k->pub[1].len; i++)
			in->e = (in->e << 8) | k->pub[1].b[i];
		memcpy(in->p, k->sec[1].b, in->p_len = k->sec[1].len);
		return 0;
	}
	coord = sshkey_ec_field_len(k->type);
	if (k->sec[0].len > sizeof(in->d))
		return GPG_AGENT_ERR(GPG_ERR_BAD_SECKEY);
	memcpy(in->x, k->pub[0].b + 1, in->x_len = coord);
	memcpy(in->y, k->pub[0].b + 1 + coord, in->y_len = coord);
	memcpy(in->d, k->sec[0].b, in->d_len = k->sec[0].len);
	if (k->algo == PGPKEY_ECDH)
		in->flags |= TPM_KEY_DECRYPT;
	return 0;
}

/* Refuses, before any passphrase is asked, what a TPM cannot hold or we hold already. */
static gpg_error_t check_key(assuan_context_t ctx, struct import_job *j, int force,
			     char grip[KEYGRIP_HEX_LEN])
{
	struct gpg_session *s = gpg_sess(ctx);
	struct sshkey_pub pub;
	gpg_error_t rc = 0;

	if (j->key.algo == PGPKEY_EDDSA || strstr(j->key.curve, "25519") != NULL ||
	    strstr(j->key.curve, "448") != NULL)
		return refuse(ctx, GPG_ERR_NOT_SUPPORTED, "Ed25519/Cv25519 keys cannot live in a "
				 "TPM (TPM 2.0 has no Curve25519); keep this key with gpg-agent or "
				 "make a NIST P-256/384/521 or RSA key");
	if (j->key.type == SSHKEY_UNSPEC)
		return refuse(ctx, GPG_ERR_NOT_SUPPORTED, "the TPM holds RSA 2048/3072 and NIST "
				 "P-256/384/521 keys only (not brainpool or secp256k1)");
	if (j->key.type == SSHKEY_RSA && j->key.pub[0].len != 256 && j->key.pub[0].len != 384)
		return refuse(ctx, GPG_ERR_NOT_SUPPORTED, "the TPM holds RSA 2048 and 3072 keys "
				 "only (RSA 4096 and others cannot be imported)");
	if (pgpkey_public(&j->key, &pub) != 0 || keygrip_hex(&pub, grip) != 0)
		return GPG_AGENT_ERR(GPG_ERR_BAD_SECKEY);
	pthread_mutex_lock(&s->a->lock);
	if (!force && keystore_find_grip(s->a->ks, grip) != NULL)
		rc = GPG_AGENT_ERR(GPG_ERR_EEXIST); /* gpg counts it as "unchanged" */
	pthread_mutex_unlock(&s->a->lock);
	return rc;
}

/* Remembers passphrase and PIN for the next subkey and tells gpg the nonce. */
static void remember(assuan_context_t ctx, struct import_job *j, const char *nonce)
{
	struct gpg_nonces *c;

	if (j->pass_len == 0 || (c = gpg_nonces_get(gpg_sess(ctx))) == NULL)
		return;
	memcpy(c->old, j->pass, c->old_len = j->pass_len);
	memcpy(c->new, j->pin, c->new_len = j->pin_len);
	gpg_nonce_issue(ctx, "CACHE_NONCE", nonce, c->cache_nonce);
}

static gpg_error_t store_key(assuan_context_t ctx, struct import_job *j, int force,
			     const char *grip)
{
	struct gpg_session *s = gpg_sess(ctx);
	char name[STORE_NAME_MAX], base[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX];
	struct ks_key *k, *old;
	struct errmsg e;
	gpg_error_t rc = 0;
	int r;

	/* ECDSA signs, ECDH decrypts; an RSA key gets its name at its first use */
	gpg_key_name(s, j->key.algo == PGPKEY_ECDH ? "encr" : "sign", base, sizeof(base));
	if (j->key.algo == PGPKEY_RSA)
		base[0] = '\0';
	gpg_key_comment(s, comment, sizeof(comment));
	snprintf(name, sizeof(name), "%s", base);
	agent_tpm_lock(s->a);
	for (unsigned i = 2; base[0] && i < 100 && keystore_find_name(s->a->ks, name) != NULL; i++)
		snprintf(name, sizeof(name), "%.*s-%u", (int)sizeof(base) - 5, base, i);
	if (force && (old = keystore_find_grip(s->a->ks, grip)) != NULL) {
		pin_forget(s->a, old->name);
		if (keystore_delete(s->a->ks, old->name, &e) != 0)
			log_warn("gpg: IMPORT_KEY --force: %s", e.text);
	}
	r = keystore_import(s->a->ks, &j->in, name, comment, j->pin, j->pin_len, &k, &e);
	if (r == 0)
		log_info("gpg: IMPORT_KEY for pid %d made TPM key '%s' (keygrip %s, %s)",
			 (int)s->pid, k->name, k->keygrip, j->pin_len ? "with a PIN" : "no PIN");
	else
		log_warn("gpg: IMPORT_KEY for pid %d failed: %s", (int)s->pid, e.text);
	agent_tpm_unlock(s->a);
	if (r != 0)
		rc = gpg_key_op_error(ctx, r, &e);
	return rc;
}

/* IMPORT_KEY [--unattended] [--force] [--timestamp=ISO] [CACHE_NONCE]. --unattended
 * (gpg --batch) would keep the key protected as it is: a TPM needs it in the clear to
 * import it, so the passphrase is asked anyway. --timestamp is gpg's to keep. */
gpg_error_t gpg_cmd_import_key(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	int force = gpg_has_option(line, "--force", 0);
	const char *rest = gpg_skip_options(line);
	char nonce[GPG_NONCE_HEX + 2], grip[KEYGRIP_HEX_LEN];
	struct import_job *j = NULL;
	size_t len = 0;
	const char *msg = NULL;
	gpg_error_t rc;
	int r;

	snprintf(nonce, sizeof(nonce), "%.*s", (int)strcspn(rest, " \t"), rest);
	if (s->import_kek == NULL)
		rc = set_error(ctx, GPG_ERR_MISSING_KEY, "no KEYWRAP_KEY --import before IMPORT_KEY");
	else if ((j = sodium_malloc(sizeof(*j))) == NULL)
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	else if (memset(j, 0, sizeof(*j)), (rc = read_keydata(ctx, j, &len)) != 0)
		;
	else if ((r = pgpkey_parse(j->plain, len, &j->key, &msg)) != 0)
		rc = pgp_error(ctx, r, msg);
	if (rc == 0)
		rc = check_key(ctx, j, force, grip);
	if (rc == 0)
		rc = unprotect(ctx, j, nonce);
	if (rc == 0)
		rc = fill_import(ctx, j);
	if (rc == 0)
		rc = choose_pin(ctx, j, nonce);
	if (rc == 0)
		rc = store_key(ctx, j, force, grip);
	if (rc == 0)
		remember(ctx, j, nonce);
	if (j != NULL)
		sodium_free(j); /* wipes the key, its passphrase and the PIN */
	gpg_drop_keydesc(s);
	return rc;
}
