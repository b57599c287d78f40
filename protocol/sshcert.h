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

/* A host-key certificate of any type sshd signs session identifiers with
 * (ssh-ed25519, ecdsa-sha2-nistp*, ssh-rsa certificates), split into what checking it
 * takes: for session-bind@openssh.com and destination constraints (ssh-agent's
 * match_key_hop). The pointers point into the parsed blob. */
struct sshcert_any {
	uint8_t key[SSHKEY_BLOB_MAX]; size_t key_len; /* the certified key, as a plain blob */
	uint32_t cert_type;             /* SSHCERT_TYPE_USER / _HOST */
	char principals[SSHCERT_PRINCIPALS_MAX][SSHCERT_PRINCIPAL_MAX];
	size_t n_principals;
	uint64_t valid_after, valid_before;
	size_t critical_len;            /* length of the critical options (0: none) */
	const uint8_t *ca; size_t ca_len;   /* the signature (CA) key blob */
	const uint8_t *sig; size_t sig_len; /* the CA's signature blob */
	size_t signed_len;              /* the CA signed the blob's first signed_len bytes */
};

/* 1 when blob's type name ends in "-cert-v01@openssh.com" (a certificate of any type). */
int sshcert_is_cert_blob(const uint8_t *blob, size_t len);
/* Parses a whole certificate blob of the types above (trailing bytes are an error);
 * SSHBUF_E_FORMAT for other types. The CA signature is not checked (sshverify does). */
int sshcert_any_from_blob(const uint8_t *blob, size_t len, struct sshcert_any *c);

/* 1 if the certificate is valid at time now (valid_after <= now < valid_before). */
int sshcert_valid_at(const struct sshcert *c, uint64_t now);
int sshcert_any_valid_at(const struct sshcert_any *c, uint64_t now);

#endif
