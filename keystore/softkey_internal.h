/* softkey_internal: what the files of the softkey module share (softkey.c: parsing and
 * checking ssh-add's keys; softkey_sign.c: OpenSSL keys and signing). Not for use
 * outside keystore/softkey*.c. */
#ifndef TPM_AGENT_SOFTKEY_INTERNAL_H
#define TPM_AGENT_SOFTKEY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/sshkey.h"
#include "softkey.h"

#define ED25519_PUB_LEN  32
#define ED25519_SK_LEN   64   /* seed || public key */
#define RSA_MAX_BYTES    (SOFTKEY_RSA_MAX_BITS / 8)

/* One big-endian magnitude of a private RSA part. */
struct secret_num {
	uint8_t v[RSA_MAX_BYTES];
	size_t len;
};

/* The private parts: one sodium_malloc block (guard pages, mlock'd, wiped on free),
 * inaccessible (PROT_NONE) except while a key is parsed or signs, so a stray read, a
 * core or a scan of readable memory finds nothing. */
struct softkey_secret {
	uint8_t ed_sk[ED25519_SK_LEN];
	struct secret_num ec_d;
	struct { struct secret_num d, p, q, dmp1, dmq1, iqmp; } rsa;
};

struct softkey {
	enum softkey_kind kind;
	uint8_t *cert;                /* certificate blob (listed instead of blob); or NULL */
	size_t cert_len;
	char cert_type[64];
	/* FIDO (sk-*) keys: the private serialization as ssh-add sent it (key handle, no
	 * secret: the authenticator holds that), handed to ssh-sk-helper for each signature */
	uint8_t *sk_raw;
	size_t sk_raw_len;
	char sk_application[SOFTKEY_SK_APP_MAX];
	uint8_t sk_flags;
	struct sshkey_pub pub;        /* ECDSA: type and Q; RSA: n and e */
	uint8_t ed_pub[ED25519_PUB_LEN];
	uint8_t blob[SSHKEY_BLOB_MAX];
	size_t blob_len;
	char comment[SOFTKEY_COMMENT_MAX];
	struct softkey_secret *sec;
};

/* Public point on the curve, scalar in range, Q = dG; RSA: n = pq, d, CRT values and
 * primes consistent (1 when so). */
int openssl_pair_ok(const struct softkey *k);

#endif
