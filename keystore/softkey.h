/* softkey: software SSH private keys as ssh-add sends them (SSH_AGENTC_ADD_IDENTITY,
 * draft-miller-ssh-agent 4.2 / OpenSSH PROTOCOL.agent): Ed25519, ECDSA P-256/384/521
 * and RSA, with or without their OpenSSH certificate (PROTOCOL.certkeys). Parsing, checking and signing only: no I/O, no TPM, nothing written
 * anywhere. The private parts live in sodium_malloc memory (guarded, locked, wiped on
 * free, no access while idle); OpenSSL sees them only for the length of one signature. */
#ifndef TPM_AGENT_SOFTKEY_H
#define TPM_AGENT_SOFTKEY_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"
#include "../protocol/sshkey.h"

#define SOFTKEY_COMMENT_MAX   256  /* longer comments are cut (at a UTF-8 boundary) */
#define SOFTKEY_RSA_MIN_BITS  1024 /* OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE */
#define SOFTKEY_RSA_MAX_BITS  4096 /* the largest public key tpm-key list can show */

enum softkey_kind {
	SOFTKEY_ED25519 = 1,
	SOFTKEY_ECDSA,
	SOFTKEY_RSA,
	SOFTKEY_SK,     /* FIDO: sk-ecdsa-sha2-nistp256 / sk-ssh-ed25519 (and certificates) */
	SOFTKEY_TOKEN,  /* PKCS#11: public key only, the token signs (ssh-add -s) */
};

#define SOFTKEY_SK_APP_MAX 256 /* longest FIDO application string ("ssh:..."), with NUL */

struct softkey;

/* Parses the key part of an ADD_IDENTITY body: string type, the type's private fields,
 * string comment; the constraints after it stay unread in body. Private bytes are
 * copied from body straight into sodium memory and checked (the public key must match
 * the private one). Returns 0 with *out set; a negative SSHBUF_E_* code when body is
 * malformed or truncated (the caller drops the client); SOFTKEY_E_REFUSED with e
 * saying why when the message is well formed but the key is unusable (unsupported
 * type, bad size, mismatched halves). */
#define SOFTKEY_E_REFUSED -50
int softkey_parse(struct sshbuf *body, struct softkey **out, struct errmsg *e);
/* A PKCS#11 token's key: the public blob (RSA or ECDSA) and its label; no private
 * part here (the token holds it). Returns 0 or SOFTKEY_E_REFUSED with e. */
int softkey_new_token(const uint8_t *blob, size_t len, const char *comment,
		      struct softkey **out, struct errmsg *e);
/* The public key of an ECDSA, RSA or token key. */
const struct sshkey_pub *softkey_pub(const struct softkey *k);
/* Wipes and frees k (NULL ok). */
void softkey_free(struct softkey *k);

enum softkey_kind softkey_kind(const struct softkey *k);
/* The SSH public key blob, as listed in IDENTITIES_ANSWER. */
const uint8_t *softkey_blob(const struct softkey *k, size_t *len);
const char *softkey_comment(const struct softkey *k);
/* A FIDO key's private serialization (type, public fields or certificate, application,
 * flags, key handle, reserved), as ssh-sk-helper's SIGN request wants it; NULL for
 * other kinds. softkey_sign refuses FIDO keys: the agent asks the helper. */
const uint8_t *softkey_sk_private(const struct softkey *k, size_t *len);
/* A FIDO key's flags (PROTOCOL.u2f: 0x01 user presence, 0x04 user verification). */
uint8_t softkey_sk_flags(const struct softkey *k);
/* A FIDO key's application ("ssh:" for SSH keys), else NULL. */
const char *softkey_sk_application(const struct softkey *k);
/* 1 if k was added with its certificate (a *-cert-v01@openssh.com type): then
 * softkey_blob is the certificate blob and softkey_type_name the certificate type. */
int softkey_is_cert(const struct softkey *k);
/* "ssh-ed25519", "ecdsa-sha2-nistp256", ..., "ssh-rsa". */
const char *softkey_type_name(const struct softkey *k);
/* "SHA256:..." of the public key blob, as ssh-keygen -l prints it. */
int softkey_fingerprint(const struct softkey *k, char out[SSHKEY_FP_MAX]);

/* Signs data for the ssh-agent protocol and appends the signature blob to sig.
 * flags are the SIGN_REQUEST flags: RSA needs rsa-sha2-256 (2) or rsa-sha2-512 (4);
 * SHA-1 ssh-rsa signatures are refused, as for TPM keys, unless flags has
 * SSHKEY_SIGN_LEGACY_SHA1. */
int softkey_sign(const struct softkey *k, const uint8_t *data, size_t len, uint32_t flags,
		 struct sshbuf *sig, struct errmsg *e);

#endif
