/* daemon_ops: control handlers kept outside daemon_control.c (which registers them):
 * RSA decryption for scripts, sealed secrets, key attestation. Same contract as the
 * handlers there: parse body, append the reply payload to out, or fail with e. */
#ifndef TPM_AGENT_DAEMON_OPS_H
#define TPM_AGENT_DAEMON_OPS_H

#include "daemon.h"

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

/* attest: string key name, string qualifying data (0..64 bytes) -> string attestation
 * file (text, see protocol/attestation.h). */
int ctl_attest(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e);

#endif
