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
#include "log.h"

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

/* The passphrase step of GENKEY: --inq-passwd asks NEWPASSWD, loopback mode asks
 * NEW_PASSPHRASE (as gpg-agent's pinentry would). A non-empty answer becomes the key's
 * PIN (*pin, sodium memory, NULL for none); without either, the key gets no PIN. */
static gpg_error_t genkey_passphrase(assuan_context_t ctx, int inq_passwd, char **pin,
				     size_t *pin_len)
{
	struct gpg_session *s = gpg_sess(ctx);
	unsigned char *pw = NULL;
	size_t len = 0;
	gpg_error_t rc;

	if (inq_passwd)
		rc = gpg_inquire(ctx, "NEWPASSWD", MAXLEN_PASSPHRASE, 1, &pw, &len);
	else if (s->pinentry_mode == PINENTRY_LOOPBACK)
		rc = gpg_inquire(ctx, "NEW_PASSPHRASE", MAXLEN_PASSPHRASE, 0, &pw, &len);
	else
		return 0;
	if (rc == 0 && len > PIN_AUTH_MAX)
		rc = set_error(ctx, GPG_ERR_TOO_LARGE, "a TPM key's PIN (passphrase) has at most 32 bytes");
	else if (rc == 0 && len > 0 && (*pin = sodium_malloc(len + 1)) == NULL)
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	else if (rc == 0 && len > 0) {
		memcpy(*pin, pw, len);
		(*pin)[len] = '\0';
		*pin_len = len;
	}
	if (pw != NULL) {
		explicit_bzero(pw, len);
		assuan_free(ctx, pw);
	}
	return rc;
}

static gpg_error_t genkey_make(assuan_context_t ctx, enum sshkey_type type, unsigned bits,
			       const char *pin, size_t pin_len, struct sshkey_pub *pub)
{
	struct gpg_session *s = gpg_sess(ctx);
	struct ks_key *k;
	struct errmsg e;
	gpg_error_t rc = 0;
	int r;

	pthread_mutex_lock(&s->a->lock);
	r = keystore_generate_auth(s->a->ks, type, bits, NULL, "gpg", GENKEY_FLAGS,
				   (const uint8_t *)pin, pin_len, &k, &e);
	if (r == 0) {
		*pub = k->pub;
		log_info("gpg: GENKEY for pid %d made key '%s' (keygrip %s)", (int)s->pid, k->name,
			 k->keygrip);
	} else {
		log_warn("gpg: GENKEY for pid %d failed: %s", (int)s->pid, e.text);
		rc = gpg_key_op_error(ctx, r, &e);
	}
	pthread_mutex_unlock(&s->a->lock);
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

/* PASSWD --verify <grip>: our keys have no passphrase to verify; holding the key is
 * the whole answer. Changing a passphrase waits for PIN support. */
gpg_error_t gpg_cmd_passwd(assuan_context_t ctx, char *line)
{
	struct sshkey_pub pub = { 0 };
	char grip[41];

	if (gpg_parse_grip(gpg_skip_options(line), grip) != 0)
		return gpg_grip_error(ctx);
	if (!gpg_has_option(line, "--verify", 0))
		return set_error(ctx, GPG_ERR_NOT_IMPLEMENTED, "TPM key PINs cannot be changed yet");
	return gpg_copy_public(ctx, grip, &pub);
}
