/* caproto: the enrolment protocol between `tpm-key enroll` (client) and `tpm-key ca`
 * (the CA, an sshd ForceCommand), spoken over the stdin/stdout of one ssh session.
 * Pure codec: no I/O, no TPM. Format (README "Fleet enrolment"):
 *
 *   frame   = uint32 length || body          (length <= CAPROTO_FRAME_MAX)
 *   body    = byte type || fields            (SSH wire strings, PROTOCOL.agent style)
 *
 *   CA -> client   HELLO      string version "tpm-ca-1", string nonce (32 bytes)
 *   client -> CA   ATTEST     string key name, string OpenSSH public key line,
 *                             string attestation file (protocol/attestation.h) whose
 *                             TPM2_Certify carries the HELLO nonce as qualifying data
 *   CA -> client   CHALLENGE  string TPM2B_ID_OBJECT, string TPM2B_ENCRYPTED_SECRET:
 *                             MakeCredential to the certified EK for the AK's name
 *   client -> CA   ACTIVATE   string the credential ActivateCredential released
 *   CA -> client   CERT       string OpenSSH certificate line, uint64 serial
 *   either way     ERROR      string message (the sender then closes)
 *
 * Any other type, a short or long field, or trailing bytes is an error. */
#ifndef TPM_AGENT_CAPROTO_H
#define TPM_AGENT_CAPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "attestation.h"
#include "errmsg.h"
#include "sshbuf.h"

#define CAPROTO_VERSION "tpm-ca-1"
#define CAPROTO_FRAME_MAX (ATT_FILE_MAX + 8192)
#define CAPROTO_NONCE_LEN 32
#define CAPROTO_NAME_MAX 64
#define CAPROTO_LINE_MAX 4096        /* an OpenSSH public key line */
#define CAPROTO_CERT_MAX (16384 * 2) /* a certificate line (base64 of SSHCERT_BLOB_MAX) */
#define CAPROTO_BLOB_MAX 1024        /* TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET */
#define CAPROTO_CRED_MAX 64          /* a TPM2B_DIGEST's contents */

enum caproto_type {
	CA_HELLO = 1,
	CA_ATTEST = 2,
	CA_CHALLENGE = 3,
	CA_ACTIVATE = 4,
	CA_CERT = 5,
	CA_ERROR = 6,
};

struct caproto_msg {
	uint8_t type;
	/* HELLO */
	char version[16];
	uint8_t nonce[CAPROTO_NONCE_LEN];
	/* ATTEST */
	char name[CAPROTO_NAME_MAX];
	char pubkey[CAPROTO_LINE_MAX];
	char attestation[ATT_FILE_MAX + 1];
	/* CHALLENGE */
	uint8_t id_object[CAPROTO_BLOB_MAX]; size_t id_object_len;
	uint8_t secret[CAPROTO_BLOB_MAX]; size_t secret_len;
	/* ACTIVATE */
	uint8_t cred[CAPROTO_CRED_MAX]; size_t cred_len;
	/* CERT */
	char cert[CAPROTO_CERT_MAX + 1];
	uint64_t serial;
	/* ERROR */
	char error[ERRMSG_MAX];
};

/* Appends m as one frame (length included) to out. */
int caproto_encode(const struct caproto_msg *m, struct sshbuf *out, struct errmsg *e);
/* The frame length from its first 4 bytes; -1 when it is 0 or over CAPROTO_FRAME_MAX. */
int caproto_frame_len(const uint8_t hdr[4], size_t *len);
/* Decodes one frame body (without the length); every field bounded, NUL-terminated. */
int caproto_decode(const uint8_t *body, size_t len, struct caproto_msg *m, struct errmsg *e);
/* "HELLO", "ATTEST", ... or "unknown". */
const char *caproto_type_name(uint8_t type);

#endif
