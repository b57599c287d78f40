/* sshcert: OpenSSH certificates (PROTOCOL.certkeys) for the key types we hold:
 * parsing of certificate blobs and "*-cert.pub" lines, and the fields an agent needs.
 * The CA signature is not verified here: sshd does that; we only need the contents. */
#ifndef TPM_AGENT_SSHCERT_H
#define TPM_AGENT_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#include "sshkey.h"

#define SSHCERT_BLOB_MAX       16384 /* any certificate blob we accept */
#define SSHCERT_KEYID_MAX      256
#define SSHCERT_PRINCIPALS_MAX 32
#define SSHCERT_PRINCIPAL_MAX  128

#define SSHCERT_TYPE_USER 1
#define SSHCERT_TYPE_HOST 2

struct sshcert {
	enum sshkey_type key_type;      /* type of the certified key */
	struct sshkey_pub key;          /* the certified public key */
	uint64_t serial;
	uint32_t cert_type;             /* SSHCERT_TYPE_USER / _HOST */
	char key_id[SSHCERT_KEYID_MAX];
	char principals[SSHCERT_PRINCIPALS_MAX][SSHCERT_PRINCIPAL_MAX];
	size_t n_principals;
	uint64_t valid_after;           /* seconds since the epoch */
	uint64_t valid_before;          /* 0xffffffffffffffff = forever */
	char ca_fingerprint[SSHKEY_FP_MAX]; /* SHA256 fingerprint of the signature key blob */
};

/* "ecdsa-sha2-nistp256-cert-v01@openssh.com", ..., "ssh-rsa-cert-v01@openssh.com". */
const char *sshcert_type_name(enum sshkey_type t);

/* Parses a whole certificate blob (trailing bytes are an error). Unknown key types
 * (ed25519 certs etc.) fail with SSHBUF_E_FORMAT. */
int sshcert_from_blob(const uint8_t *blob, size_t len, struct sshcert *c);

/* Parses a "*-cert.pub" line "type base64 [comment]" into the decoded blob (malloc'd
 * into *blob) and the parsed certificate; the type word must match the blob. */
int sshcert_from_line(const char *line, uint8_t **blob, size_t *blob_len,
		      struct sshcert *c, char *comment, size_t comment_len);

/* 1 if the certificate is valid at time now (valid_after <= now < valid_before). */
int sshcert_valid_at(const struct sshcert *c, uint64_t now);

#endif
