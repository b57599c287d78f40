/* tss2key: the TSS2 PRIVATE KEY file (draft-bottomley-tpm2-keys), DER inside PEM,
 * encoded and decoded with OpenSSL's ASN.1 templates and PEM routines.
 * The TPM blobs inside are kept opaque (marshalled TPM2B_PUBLIC / TPM2B_PRIVATE). */
#ifndef TPM_AGENT_TSS2KEY_H
#define TPM_AGENT_TSS2KEY_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"

#define TSS2KEY_OID_LOADABLE   "2.23.133.10.1.3"
#define TSS2KEY_OID_IMPORTABLE "2.23.133.10.1.4"
#define TSS2KEY_OID_SEALED     "2.23.133.10.1.5"

#define TSS2KEY_BLOB_MAX    4096  /* any one marshalled TPM2B */
#define TSS2KEY_DESC_MAX    256   /* description (we store the key's comment there) */
#define TSS2KEY_POLICY_MAX  8     /* policy commands per policy */
#define TSS2KEY_POLICY_DATA_MAX 1024
#define TSS2KEY_AUTHPOL_MAX 4     /* authPolicy entries */
#define TSS2KEY_FILE_MAX    (64 * 1024) /* a PEM file larger than this is refused */

enum tss2key_type {
	TSS2KEY_LOADABLE = 1,
	TSS2KEY_IMPORTABLE,
	TSS2KEY_SEALED,
};

struct tss2key_policy {
	uint32_t command_code;
	uint8_t data[TSS2KEY_POLICY_DATA_MAX]; size_t data_len;
};

struct tss2key_authpolicy {
	char name[TSS2KEY_DESC_MAX]; int has_name;
	struct tss2key_policy policy[TSS2KEY_POLICY_MAX]; size_t n_policy;
};

/* About 50 KiB: allocate it on the heap, not the stack. */
struct tss2key {
	enum tss2key_type type;
	int empty_auth;                 /* emptyAuth TRUE: the key has no auth value */
	struct tss2key_policy policy[TSS2KEY_POLICY_MAX]; size_t n_policy;
	uint8_t secret[TSS2KEY_BLOB_MAX]; size_t secret_len; /* importable keys only */
	struct tss2key_authpolicy authpolicy[TSS2KEY_AUTHPOL_MAX]; size_t n_authpolicy;
	char description[TSS2KEY_DESC_MAX]; int has_description;
	int rsa_parent;
	uint32_t parent;                /* 0x40000001 or a persistent 0x81xxxxxx handle */
	uint8_t pub[TSS2KEY_BLOB_MAX]; size_t pub_len;   /* marshalled TPM2B_PUBLIC */
	uint8_t priv[TSS2KEY_BLOB_MAX]; size_t priv_len; /* marshalled TPM2B_PRIVATE */
};

/* DER <-> struct. Decoding treats input as hostile: every length is bounded by the
 * limits above, unknown optional tags above [5] are skipped. */
int tss2key_from_der(const uint8_t *der, size_t len, struct tss2key *k, struct errmsg *e);
/* *der is malloc'd (OPENSSL_free-compatible: use free()). */
int tss2key_to_der(const struct tss2key *k, uint8_t **der, size_t *len, struct errmsg *e);

/* PEM ("-----BEGIN TSS2 PRIVATE KEY-----") <-> struct. *pem is malloc'd and
 * NUL-terminated; *len excludes the NUL. */
int tss2key_from_pem(const char *pem, size_t len, struct tss2key *k, struct errmsg *e);
int tss2key_to_pem(const struct tss2key *k, char **pem, size_t *len, struct errmsg *e);

#endif
