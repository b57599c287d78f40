/* pgpkey: gpg's secret-key transfer format, the S-expression gpg sends with IMPORT_KEY
 * (gnupg g10/import.c transfer_secret_keys, agent/cvt-openpgp.c):
 *   (openpgp-private-key (version 4) (algo rsa|ecdsa|ecdh|eddsa) [(curve NAME)]
 *     (skey _ PUB... e ENCRYPTED | _ SEC...) (csum N)
 *     (protection sha1|sum|none [CIPHER IV S2KMODE S2KHASH SALT S2KCOUNT]))
 * parsed with every length bounded, then unprotected with the passphrase: OpenPGP S2K
 * (RFC 4880 3.7.1), CFB decryption, the SHA-1 or 16-bit checksum, and a check that the
 * secret matches the public key (RSA: p divides n; ECC: d*G = Q). Everything secret
 * lives in the caller's struct pgpkey (sodium_malloc it), in sodium memory of our own
 * and in OpenSSL's secure, cleansed bignums. */
#ifndef TPM_AGENT_PGPKEY_H
#define TPM_AGENT_PGPKEY_H

#include <stddef.h>
#include <stdint.h>

#include "sshkey.h"

#define PGPKEY_MPI_MAX 520   /* RSA 4096 with a sign byte, and then some */
#define PGPKEY_ENC_MAX 2100  /* the encrypted secret MPIs of an RSA 4096 key + SHA-1 */

#define PGPKEY_E_SYNTAX      -1 /* not the transfer format, or a value out of bounds */
#define PGPKEY_E_UNSUPPORTED -2 /* an algorithm, cipher, hash or S2K mode we do not do */
#define PGPKEY_E_PASSPHRASE  -3 /* the checksum does not match: wrong passphrase */
#define PGPKEY_E_BAD_KEY     -4 /* the secret does not belong to the public key */
#define PGPKEY_E_CRYPTO      -5 /* OpenSSL failed */

enum pgpkey_algo { PGPKEY_RSA = 1, PGPKEY_ECDSA, PGPKEY_ECDH, PGPKEY_EDDSA };

struct pgpkey_mpi {
	uint8_t b[PGPKEY_MPI_MAX];
	size_t len;                /* big-endian magnitude, no leading zeros */
};

struct pgpkey {
	enum pgpkey_algo algo;
	char curve[32];            /* ECC: "NIST P-256", "Ed25519", ... */
	enum sshkey_type type;     /* SSHKEY_RSA or SSHKEY_ECDSA_P*; SSHKEY_UNSPEC: none of ours */
	struct pgpkey_mpi pub[2];  /* RSA: n, e; ECC: q (04||X||Y) */
	struct pgpkey_mpi sec[4];  /* after unprotecting: RSA d, p, q, u; ECC d */
	int protection;            /* 0 none, 1 16-bit sum, 2 SHA-1 */
	unsigned csum;
	/* protected keys */
	uint8_t enc[PGPKEY_ENC_MAX]; size_t enc_len;
	char cipher[16];
	uint8_t iv[16]; size_t iv_len;
	int s2k_mode;              /* 0 simple, 1 salted, 3 iterated and salted */
	char s2k_hash[16];
	uint8_t salt[8];
	unsigned long s2k_count;   /* decoded byte count */
};

/* Parses buf[0..len) (trailing zero padding allowed) into k. 0 or PGPKEY_E_*; on
 * error msg (may be NULL) points to a static text saying what is wrong. */
int pgpkey_parse(const uint8_t *buf, size_t len, struct pgpkey *k, const char **msg);
/* 1 when the key needs a passphrase. */
int pgpkey_is_protected(const struct pgpkey *k);
/* Fills k->sec with the passphrase (ignored for unprotected keys, which have only their
 * checksum checked). 0, PGPKEY_E_PASSPHRASE, PGPKEY_E_BAD_KEY, ... */
int pgpkey_unprotect(struct pgpkey *k, const char *pass, size_t pass_len, const char **msg);
/* The public key as ours (for its keygrip); -1 when the type is not one of ours. */
int pgpkey_public(const struct pgpkey *k, struct sshkey_pub *pub);

/* OpenPGP S2K into key[0..key_len): exposed for the unit test. */
int pgpkey_s2k(const char *hash, int mode, const uint8_t salt[8], unsigned long count,
	       const char *pass, size_t pass_len, uint8_t *key, size_t key_len);

#endif
