/* daemon_ops: control handlers kept outside daemon_control.c (which registers them):
 * RSA decryption for scripts, sealed secrets, key attestation. Same contract as the
 * handlers there: parse body, append the reply payload to out, or fail with e. */
#ifndef TPM_AGENT_DAEMON_OPS_H
#define TPM_AGENT_DAEMON_OPS_H

#include "daemon.h"

/* A handler's answer when the key named first in its request has a PIN and none is at
 * hand (a->op_pin NULL): nothing was sent to the TPM; control_dispatch hands the
 * request to a PIN job (pin_defer_key_pin) that asks the key's PIN and runs the
 * handler again with it in a->op_pin (control_run_with_key_pin). */
#define CTL_E_KEY_PIN -33

/* Under a->lock, in a handler about to use k: 0 with *pin (NULL/0 for a key without a
 * PIN) set from a->op_pin, or CTL_E_KEY_PIN (with e) when k needs one not yet asked. */
int ctl_key_pin(struct agent *a, const struct ks_key *k, const uint8_t **pin, size_t *len,
		struct errmsg *e);

/* decrypt: string key name, uint32 padding (CTL_PAD_*), string OAEP hash ("sha1",
 * "sha256", "sha384", "sha512"; ignored for PKCS#1), string ciphertext (exactly the
 * modulus long) -> string plaintext. */
int ctl_decrypt(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);

/* seal: string name, uint32 flags (CTL_SEAL_*), string secret (1..128 bytes) -> nothing.
 * unseal: string name -> string secret. seal-list: -> uint32 n, n x (string name,
 * uint32 flags). seal-rm: string name -> nothing. */
int ctl_seal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_unseal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_seal_list(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_seal_rm(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
/* daemon_import.c: import@tpm-agent */
int ctl_import(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
/* Under a->lock, before the PIN job asks a PIN: checks the import request (a copy) and
 * gives the name the key will get and the request's flags. */
int ctl_import_peek(struct agent *a, const struct sshbuf *body, char *name, size_t len,
		    uint32_t *flags, struct errmsg *e);
/* Under a->lock, before the PIN job asks a PIN: checks a gen request's type and size
 * and gives the name the key will get. */
int ctl_gen_name(struct agent *a, const char *type, uint32_t bits, const char *name,
		 char *out, size_t len, struct errmsg *e);
/* daemon_peer.c: srk@tpm-agent, add@tpm-agent (payloads there) */
int ctl_srk(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_add(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_supported(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_hierarchy_pub(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		      struct errmsg *e);
/* At start, after the store: serves the key-dirs files too, then hides every key when
 * load-keys = no (tpm-key load / add show them). */
int peer_key_locations(struct agent *a, struct errmsg *e);
/* seal without CTL_SEAL_NO_PIN takes the new PIN from a->op_pin (a PIN job). */

/* Under a->lock: 1 if sealed object name has a PIN, 0 if not, -1 (e) if unreadable. */
int seal_has_pin(struct agent *a, const char *name, struct errmsg *e);
/* Under a->lock: unseals name into out (TPM_SEAL_MAX bytes, sodium memory) with pin
 * (ignored for an object without a PIN; NULL refused for one with a PIN, nothing sent).
 * sel (may be NULL) gets the object's PCR selection (mask 0: none). Returns 0,
 * TPM_E_POLICY (PCRs changed), TPM_E_AUTH_FAIL (wrong PIN) or another TPM_E_* / -1. */
struct tpm_pcr_sel;
int seal_unseal(struct agent *a, const char *name, const uint8_t *pin, size_t pin_len,
		uint8_t *out, size_t *out_len, struct tpm_pcr_sel *sel, struct errmsg *e);

/* attest: string key name, string qualifying data (0..64 bytes) -> string attestation
 * file (text, see protocol/attestation.h). */
int ctl_attest(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);
int ctl_activate(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);

#endif
