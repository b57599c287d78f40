/* tpmsession: the arithmetic of a salted TPM 2.0 HMAC session with AES-128-CFB
 * parameter encryption (TPM 2.0 Library Part 1 §11.4.9-10, §19.6, §21), SHA-256 only.
 * Pure computation over byte buffers: no TPM I/O; tpm_exec.c sends what this computes. */
#ifndef TPM_AGENT_TPMSESSION_H
#define TPM_AGENT_TPMSESSION_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define TPMS_DIGEST_LEN 32   /* SHA-256: authHash, nameAlg of the SRK, sessionKey */
#define TPMS_NONCE_MAX 32    /* TPM nonces are at most the authHash size */
#define TPMS_NONCE_MIN 16    /* Part 1 §19.6.2: at least 16 octets */
#define TPMS_AUTH_MAX 64     /* sizeof(TPMU_HA): the largest authValue a TPM2B_AUTH holds */
#define TPMS_NAME_MAX 68     /* sizeof(TPMU_NAME): 2-byte alg + digest, or a 4-byte handle */
#define TPMS_NAMES_MAX 3     /* a command has at most 3 handles */
#define TPMS_KDF_OUT_MAX 128 /* more derived bytes than any caller needs is an error */
#define TPMS_KDF_IN_MAX 256  /* key, label, contexts: refuse anything longer */
#define TPMS_PARAM_MAX 4096  /* MAX_COMMAND_SIZE: a parameter can be no longer */
#define TPMS_ECC_COORD 32    /* P-256 coordinates */

/* TPMA_SESSION bits we use (Part 2 §8.4). */
#define TPMS_ATTR_CONTINUE 0x01
#define TPMS_ATTR_DECRYPT  0x20 /* first command parameter encrypted */
#define TPMS_ATTR_ENCRYPT  0x40 /* first response parameter encrypted */

#define TPMS_OK 0
#define TPMS_E_INPUT -1    /* a length out of bounds, or a NULL where data is needed */
#define TPMS_E_CRYPTO -2   /* OpenSSL failed */
#define TPMS_E_HMAC -3     /* the response HMAC did not verify */

/* OpenSSL objects fetched once (EVP_*_fetch is the costly part of each call). */
struct tpmsession_crypto {
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	EVP_MAC *hmac;
	EVP_MAC_CTX *mac;
	EVP_CIPHER *aes_cfb;
	EVP_CIPHER_CTX *cipher;
};

/* A session's secrets, in sodium_malloc memory (locked, guarded, wiped when freed):
 * the session key, the nonces, and the scratch where HMAC and CFB keys are derived. */
struct tpmsession_secret {
	uint8_t key[TPMS_DIGEST_LEN];             /* sessionKey */
	uint8_t nonce_tpm[TPMS_NONCE_MAX]; size_t nonce_tpm_len;
	uint8_t nonce_caller[TPMS_NONCE_MAX]; size_t nonce_caller_len;
	uint8_t value[TPMS_DIGEST_LEN + TPMS_AUTH_MAX]; /* sessionKey || authValue */
	uint8_t keyiv[32];                        /* the CFB key and IV */
};

/* One session's state; tpmsession_forget wipes the secrets. Copying the struct copies
 * the pointer to the same secrets (tpm_exec.c swaps sessions that way). */
struct tpmsession {
	struct tpmsession_crypto c;
	uint32_t handle;                          /* TPM session handle (0x02xxxxxx), 0 = none */
	struct tpmsession_secret *sec;
};

/* A TPM name (TPM2B_NAME contents) for cpHash. */
struct tpmsession_name {
	const uint8_t *buf;
	size_t len;
};

int tpmsession_init(struct tpmsession *s);
/* Wipes the secrets and frees the OpenSSL objects. NULL ok. */
void tpmsession_free(struct tpmsession *s);
/* Wipes the session state (key, nonces, handle), keeping the OpenSSL objects. */
void tpmsession_forget(struct tpmsession *s);

/* KDFa (Part 1 §11.4.10.2) with HMAC-SHA256: SP800-108 counter mode. out_len bytes. */
int tpmsession_kdfa(struct tpmsession *s, const uint8_t *key, size_t key_len,
		    const char *label, const uint8_t *u, size_t u_len,
		    const uint8_t *v, size_t v_len, uint8_t *out, size_t out_len);
/* KDFe (Part 1 §11.4.10.3) with SHA-256: SP800-56A concatenation KDF. */
int tpmsession_kdfe(struct tpmsession *s, const uint8_t *z, size_t z_len,
		    const char *label, const uint8_t *u, size_t u_len,
		    const uint8_t *v, size_t v_len, uint8_t *out, size_t out_len);

/* The salt of a session salted with an ECC P-256 key whose public point is
 * (srk_x, srk_y): ephemeral key, ECDH, KDFe(Z, "SECRET", eph.x, srk.x).
 * Returns the salt and the ephemeral public point the TPM needs. */
int tpmsession_ecc_salt(struct tpmsession *s, const uint8_t srk_x[TPMS_ECC_COORD],
			const uint8_t srk_y[TPMS_ECC_COORD], uint8_t salt[TPMS_DIGEST_LEN],
			uint8_t eph_x[TPMS_ECC_COORD], uint8_t eph_y[TPMS_ECC_COORD]);

/* The P-256 public key with point (x, y) (EVP_PKEY_free it); NULL when the point is not
 * on the curve. */
EVP_PKEY *tpmsession_p256_public(const uint8_t x[TPMS_ECC_COORD], const uint8_t y[TPMS_ECC_COORD]);

/* The same with another KDFe label: "DUPLICATE" makes the seed of a duplication blob's
 * outer wrapper (Part 1 §23.3, TPM2_Import's inSymSeed). */
int tpmsession_ecc_seed(struct tpmsession *s, const char *label,
			const uint8_t srk_x[TPMS_ECC_COORD],
			const uint8_t srk_y[TPMS_ECC_COORD], uint8_t seed[TPMS_DIGEST_LEN],
			uint8_t eph_x[TPMS_ECC_COORD], uint8_t eph_y[TPMS_ECC_COORD]);

/* The outer wrapper of a duplication blob (Part 1 §23.3.2) or of a credential
 * (TPM2_MakeCredential, Part 1 §24): enc = AES-128-CFB(KDFa(seed, "STORAGE", name),
 * IV 0, in); out = TPM2B(HMAC(KDFa(seed, "INTEGRITY"), enc || name)) || enc. */
int tpmsession_outer_wrap(struct tpmsession *s, const uint8_t *seed, size_t seed_len,
			  const uint8_t *name, size_t name_len, const uint8_t *in, size_t in_len,
			  uint8_t *out, size_t cap, size_t *out_len);

/* After StartAuthSession (bind = TPM_RH_NULL): sessionKey = KDFa(salt, "ATH",
 * nonceTPM, nonceCaller); records handle and nonces. */
int tpmsession_start(struct tpmsession *s, uint32_t handle, const uint8_t *salt,
		     size_t salt_len, const uint8_t *nonce_tpm, size_t nonce_tpm_len,
		     const uint8_t *nonce_caller, size_t nonce_caller_len);

/* A fresh random nonceCaller for the next command (same size as nonceTPM). */
int tpmsession_roll_caller_nonce(struct tpmsession *s);

/* cpHash = SHA256(commandCode || names || cpParams). */
int tpmsession_cp_hash(struct tpmsession *s, uint32_t cc,
		       const struct tpmsession_name *names, size_t n_names,
		       const uint8_t *cp, size_t cp_len, uint8_t out[TPMS_DIGEST_LEN]);
/* rpHash = SHA256(responseCode (0) || commandCode || rpParams). */
int tpmsession_rp_hash(struct tpmsession *s, uint32_t cc, const uint8_t *rp, size_t rp_len,
		       uint8_t out[TPMS_DIGEST_LEN]);

/* The command HMAC: HMAC(sessionKey || auth, cpHash || nonceCaller || nonceTPM || attrs).
 * auth is the authorised entity's authValue (trailing zeros are stripped here). */
int tpmsession_cmd_hmac(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			const uint8_t cp_hash[TPMS_DIGEST_LEN], uint8_t attrs,
			uint8_t out[TPMS_DIGEST_LEN]);
/* Checks the response HMAC over rpHash || new nonceTPM || nonceCaller || attrs; on a
 * match adopts the new nonceTPM. TPMS_E_HMAC on mismatch (state unchanged). */
int tpmsession_rsp_check(struct tpmsession *s, const uint8_t *auth, size_t auth_len,
			 const uint8_t rp_hash[TPMS_DIGEST_LEN],
			 const uint8_t *nonce_tpm, size_t nonce_tpm_len, uint8_t attrs,
			 const uint8_t *hmac, size_t hmac_len);

/* AES-128-CFB of a parameter's bytes (after its size field), in place, keyed by
 * KDFa(sessionKey || auth, "CFB", ...): command direction (nonceCaller, nonceTPM)
 * encrypts; response direction (nonceTPM, nonceCaller) decrypts. */
int tpmsession_encrypt_command_param(struct tpmsession *s, const uint8_t *auth,
				     size_t auth_len, uint8_t *buf, size_t len);
int tpmsession_decrypt_response_param(struct tpmsession *s, const uint8_t *auth,
				      size_t auth_len, uint8_t *buf, size_t len);

#endif
