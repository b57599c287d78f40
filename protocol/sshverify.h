/* sshverify: verifies an SSH signature blob (RFC 4253 6.6, RFC 5656, RFC 8332,
 * RFC 8709) made by an SSH public key blob of the host-key types sshd uses:
 * ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa with rsa-sha2-256/512
 * signatures (SHA-1 "ssh-rsa" signatures are refused), and certificates of those
 * (*-cert-v01@openssh.com): their CA signature is checked too, then the certified key's
 * signature, as OpenSSH's sshkey_froms + sshkey_verify. For session-bind@openssh.com,
 * whose host key signs the session identifier. Pure OpenSSL; no I/O. */
#ifndef TPM_AGENT_SSHVERIFY_H
#define TPM_AGENT_SSHVERIFY_H

#include <stddef.h>
#include <stdint.h>

#define SSHVERIFY_E_BADSIG  -40 /* well formed, but the signature does not verify */
#define SSHVERIFY_E_UNSUPP  -41 /* a key or signature type we do not verify */
#define SSHVERIFY_E_BADCA   -42 /* a certificate whose CA signature does not verify */

/* 0 when sig is key's valid signature over data; a negative SSHBUF_E_* code when key
 * or sig is malformed (trailing bytes included), SSHVERIFY_E_UNSUPP or
 * SSHVERIFY_E_BADSIG otherwise. */
int sshverify(const uint8_t *key, size_t key_len, const uint8_t *sig, size_t sig_len,
	      const uint8_t *data, size_t data_len);

/* "signature does not verify", ...: for log lines. */
const char *sshverify_strerror(int r);

#endif
