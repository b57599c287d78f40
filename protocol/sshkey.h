/* sshkey: SSH public key blobs, signature blobs, OpenSSH public key lines and
 * SHA256 fingerprints for the key types we hold (ECDSA P-256/384/521, RSA).
 * Pure codecs: no I/O, no TPM. */
#ifndef TPM_AGENT_SSHKEY_H
#define TPM_AGENT_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

#include "sshbuf.h"

enum sshkey_type {
	SSHKEY_UNSPEC = 0,
	SSHKEY_RSA,
	SSHKEY_ECDSA_P256,
	SSHKEY_ECDSA_P384,
	SSHKEY_ECDSA_P521,
};

#define SSHKEY_RSA_MAX_BYTES 512   /* 4096-bit modulus: parsed, never generated */
#define SSHKEY_EC_POINT_MAX  133   /* 04 || X || Y for P-521 */
#define SSHKEY_BLOB_MAX      1024  /* any public key blob we build */
#define SSHKEY_FP_MAX        64    /* "SHA256:" + 43 base64 chars + NUL */
#define SSHKEY_NAME_MAX      32

/* A public key. Magnitudes are unsigned big-endian without leading zero bytes. */
struct sshkey_pub {
	enum sshkey_type type;
	uint8_t n[SSHKEY_RSA_MAX_BYTES]; size_t n_len; /* RSA modulus */
	uint8_t e[8]; size_t e_len;                   /* RSA public exponent */
	uint8_t q[SSHKEY_EC_POINT_MAX]; size_t q_len;  /* EC point, uncompressed 04||X||Y */
};

/* Hash algorithms as used for signatures. */
enum sshkey_hash {
	SSHKEY_HASH_NONE = 0,
	SSHKEY_HASH_SHA1,
	SSHKEY_HASH_SHA256,
	SSHKEY_HASH_SHA384,
	SSHKEY_HASH_SHA512,
};

/* "ecdsa-sha2-nistp256", ..., "ssh-rsa"; NULL for SSHKEY_UNSPEC. */
const char *sshkey_type_name(enum sshkey_type t);
/* Inverse of sshkey_type_name; SSHKEY_UNSPEC for an unknown name. */
enum sshkey_type sshkey_type_from_name(const char *name);
/* "nistp256" etc. for ECDSA types, NULL otherwise. */
const char *sshkey_curve_name(enum sshkey_type t);
/* Field size in bytes (32/48/66) for ECDSA types, 0 otherwise. */
size_t sshkey_ec_field_len(enum sshkey_type t);
/* Key size in bits: 256/384/521 for ECDSA, modulus bits for RSA. */
unsigned sshkey_bits(const struct sshkey_pub *k);
/* "ECDSA" or "RSA" (as ssh-keygen -l prints). */
const char *sshkey_family_name(enum sshkey_type t);

/* Public key blob, as sent in IDENTITIES_ANSWER and written in .pub lines. */
int sshkey_pub_to_blob(const struct sshkey_pub *k, struct sshbuf *out);
/* Parses a blob completely (trailing bytes are an error); checks the curve name
 * matches the type and the point is uncompressed and the right length. */
int sshkey_pub_from_blob(const uint8_t *blob, size_t len, struct sshkey_pub *k);
/* 1 if two keys are the same key. */
int sshkey_pub_equal(const struct sshkey_pub *a, const struct sshkey_pub *b);

/* "SHA256:<base64 without padding>" of the blob, exactly as ssh-keygen -l prints it. */
int sshkey_fingerprint_sha256(const struct sshkey_pub *k, char out[SSHKEY_FP_MAX]);

/* OpenSSH public key line "type base64 [comment]" with no trailing newline;
 * malloc'd into *line (caller frees). */
int sshkey_pub_to_line(const struct sshkey_pub *k, const char *comment, char **line);
/* Splits an OpenSSH key or certificate line "type base64 [comment]" (leading and
 * trailing whitespace tolerated, words separated by blanks): the type word into type
 * (type_len bytes with NUL; SSHBUF_E_TOOBIG if longer), the strictly-decoded base64
 * (canonical form only: standard alphabet, '=' padding only at the end, unused low bits
 * zero) into a malloc'd *blob of at most blob_max bytes (SSHBUF_E_TOOBIG if larger;
 * caller frees), and the comment (whitespace-trimmed, truncated to comment_len-1;
 * comment may be NULL). A missing word or bad base64 is SSHBUF_E_FORMAT. On failure
 * *blob is NULL, *blob_len 0, and type and comment are empty. */
int sshkey_line_split(const char *line, char *type, size_t type_len, uint8_t **blob,
		      size_t *blob_len, size_t blob_max, char *comment, size_t comment_len);
/* Parses an OpenSSH public key line; comment (may be NULL) receives the comment,
 * truncated to comment_len-1. Leading/trailing whitespace is tolerated. */
int sshkey_pub_from_line(const char *line, struct sshkey_pub *k,
			 char *comment, size_t comment_len);

/* Not a wire flag: the agent adds it to a SIGN_REQUEST's flags when its legacy-rsa-sha1
 * setting allows ssh-rsa (SHA-1) signatures; parsers clear it from what clients send. */
#define SSHKEY_SIGN_LEGACY_SHA1 0x80000000u

/* Hash used to sign for key k given the agent SIGN_REQUEST flags
 * (2 = rsa-sha2-256, 4 = rsa-sha2-512). ECDSA: by curve. RSA without flag:
 * SSHKEY_HASH_NONE (we do not make ssh-rsa SHA-1 signatures), unless
 * SSHKEY_SIGN_LEGACY_SHA1 is set: then SHA-1. */
enum sshkey_hash sshkey_sign_hash(enum sshkey_type t, uint32_t flags);
/* Signature algorithm name for the signature blob: "ecdsa-sha2-nistp256",
 * "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa" (RSA with SHA-1). NULL when there is none. */
const char *sshkey_sig_alg(enum sshkey_type t, enum sshkey_hash h);
/* Digest length in bytes of h (0 for NONE). */
size_t sshkey_hash_len(enum sshkey_hash h);
/* Hashes data with h using OpenSSL; out must hold 64 bytes. */
int sshkey_hash(enum sshkey_hash h, const uint8_t *data, size_t len, uint8_t *out, size_t *out_len);

/* ECDSA signature blob: string alg, string (mpint r, mpint s). r and s are unsigned
 * big-endian magnitudes (leading zeros allowed, they are stripped). */
int sshkey_sig_ecdsa_to_blob(enum sshkey_type t, const uint8_t *r, size_t r_len,
			     const uint8_t *s, size_t s_len, struct sshbuf *out);
/* RSA signature blob: string alg ("rsa-sha2-256"/"rsa-sha2-512"), string sig where sig
 * is left-padded with zeros to exactly mod_len bytes. */
int sshkey_sig_rsa_to_blob(enum sshkey_hash h, const uint8_t *sig, size_t sig_len,
			   size_t mod_len, struct sshbuf *out);

#endif
