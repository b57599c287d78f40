/* tpm_policy: keys bound to the platform state. PCR selections, the policy digests of
 * PolicyPCR / PolicyAuthValue / PolicyAuthorize computed in software, the policy as the
 * TSS2 key file records it (draft-bottomley-tpm2-keys, laid out as openssl_tpm2_engine
 * writes it), and running it in a salted, AES-128-CFB policy session before a command. */
#ifndef TPM_AGENT_TPM_POLICY_H
#define TPM_AGENT_TPM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/tss2key.h"
#include "tpm.h"

#define TPM_PCR_MAX 24           /* PCRs 0..23 (PC Client) */
#define TPM_PCR_DIGEST_MAX 64    /* SHA-512, the largest bank */
#define TPM_POLICY_DIGEST_LEN 32 /* policies are SHA-256 (our keys' nameAlg) */
#define TPM_POLICY_PUB_MAX 1024  /* a signer's marshalled TPM2B_PUBLIC */
#define TPM_POLICY_SIG_MAX 1024  /* a marshalled TPMT_SIGNATURE */
#define TPM_POLICY_REF_MAX 32
#define TPM_POLICY_NAME_MAX 64   /* an authPolicy entry's name */

/* The key's policy could not be satisfied (PCRs differ, no sealed policy matches).
 * Not a wrong PIN: the TPM counted nothing. */
#define TPM_E_POLICY -20

/* TPM command codes as the key file records them. */
#define TPM_POLICY_CC_PCR       0x0000017Fu
#define TPM_POLICY_CC_AUTHVALUE 0x0000016Bu
#define TPM_POLICY_CC_AUTHORIZE 0x0000016Au

struct tpm_pcr_sel {
	uint16_t bank;  /* TPM2_ALG_SHA1 / SHA256 / SHA384 / SHA512 */
	uint32_t mask;  /* bit i: PCR i */
};

struct tpm_pcr_values {
	struct tpm_pcr_sel sel;
	size_t len;     /* digest size of the bank */
	uint8_t v[TPM_PCR_MAX][TPM_PCR_DIGEST_MAX];
};

/* One PolicyPCR assertion: the selection and SHA-256 over the selected values. */
struct tpm_pcr_policy {
	struct tpm_pcr_sel sel;
	uint8_t digest[TPM_POLICY_DIGEST_LEN];
};

enum tpm_step_kind { TPM_STEP_PCR = 1, TPM_STEP_AUTHVALUE, TPM_STEP_AUTHORIZE };

struct tpm_policy_step {
	enum tpm_step_kind kind;
	struct tpm_pcr_policy pcr; /* TPM_STEP_PCR */
};

/* A policy signed for PolicyAuthorize (the file's authPolicy list): PolicyPCR, then
 * PolicyAuthorize with sig over SHA-256(approvedPolicy || policyRef). */
struct tpm_signed_policy {
	char name[TPM_POLICY_NAME_MAX];
	struct tpm_pcr_policy pcr;
	uint8_t sig[TPM_POLICY_SIG_MAX]; size_t sig_len; /* marshalled TPMT_SIGNATURE */
	int usable; /* 0: a shape we do not run (still kept in the file) */
};

/* A key's policy, in execution order. A TPM_STEP_AUTHORIZE step comes first and stands
 * for "one of signed[] authorised by signer". */
struct tpm_policy {
	struct tpm_policy_step steps[TSS2KEY_POLICY_MAX]; size_t n_steps;
	uint32_t unsupported_cc; /* != 0: a command we cannot run; the key cannot be used */
	uint8_t signer[TPM_POLICY_PUB_MAX]; size_t signer_len; /* marshalled TPM2B_PUBLIC */
	uint8_t ref[TPM_POLICY_REF_MAX]; size_t ref_len;        /* policyRef */
	struct tpm_signed_policy signed_pol[TSS2KEY_AUTHPOL_MAX]; size_t n_signed;
};

/* "0,1,2,3,7" or "0-3,7" and a bank name (sha1|sha256|sha384|sha512; NULL = sha256). */
int tpm_pcr_parse(const char *list, const char *bank, struct tpm_pcr_sel *sel,
		  struct errmsg *e);
/* "sha256:0,1,2,3,7". */
void tpm_pcr_format(const struct tpm_pcr_sel *sel, char *out, size_t len);
/* "0,1,2,3,7" (PCR numbers of mask only). */
void tpm_pcr_format_mask(uint32_t mask, char *out, size_t len);
/* The digest size of a bank, 0 for an unknown one. */
size_t tpm_pcr_bank_len(uint16_t bank);

/* TPM2_PCR_Read of every selected PCR (chunked: the TPM returns at most 8 at a time). */
int tpm_pcr_read(struct tpm *t, const struct tpm_pcr_sel *sel, struct tpm_pcr_values *out,
		 struct errmsg *e);
/* pcrDigest of PolicyPCR: SHA-256 over the selected values in PCR order. */
int tpm_pcr_digest(const struct tpm_pcr_values *v, uint8_t out[TPM_POLICY_DIGEST_LEN]);

/* Policy digest arithmetic (TPM 2.0 Part 3, SHA-256), in place on d. */
int tpm_policy_update_pcr(uint8_t d[TPM_POLICY_DIGEST_LEN], const struct tpm_pcr_policy *p);
int tpm_policy_update_authvalue(uint8_t d[TPM_POLICY_DIGEST_LEN]);
/* PolicyAuthorize resets d: H(H(0 || CC || keyName) || policyRef). */
int tpm_policy_update_authorize(uint8_t d[TPM_POLICY_DIGEST_LEN], const uint8_t *name,
				size_t name_len, const uint8_t *ref, size_t ref_len);
/* The authPolicy a key with policy p must carry. */
int tpm_policy_digest(const struct tpm_policy *p, uint8_t out[TPM_POLICY_DIGEST_LEN],
		      struct errmsg *e);
/* The TPM name (nameAlg || H(TPMT_PUBLIC)) of a marshalled TPM2B_PUBLIC. */
int tpm_policy_pub_name(const uint8_t *pub, size_t pub_len, uint8_t *name, size_t *name_len,
			struct errmsg *e);
/* The TPMT_SIGNATURE of a signature tpm_sign made with signer over a SHA-256 digest. */
int tpm_policy_signature(const uint8_t *signer_pub, size_t signer_len,
			 const struct tpm_signature *sig, uint8_t *out, size_t *out_len,
			 struct errmsg *e);
/* What a policy signer signs for pp: SHA-256(approvedPolicy || policyRef), where
 * approvedPolicy is PolicyPCR(pp) from an empty digest. */
int tpm_policy_approval_hash(const struct tpm_pcr_policy *pp, const uint8_t *ref,
			     size_t ref_len, uint8_t out[TPM_POLICY_DIGEST_LEN]);

/* The key file's policy and authPolicy <-> p. A file without policy gives n_steps 0. */
int tpm_policy_from_tss2(const struct tss2key *f, struct tpm_policy *p, struct errmsg *e);
int tpm_policy_to_tss2(const struct tpm_policy *p, struct tss2key *f, struct errmsg *e);
/* 1 if the policy ends up needing the key's auth value (PolicyAuthValue). */
int tpm_policy_needs_auth(const struct tpm_policy *p);

/* tpm_create_key_ex for a key whose authPolicy is p's digest, with userWithAuth clear
 * so that only the policy authorises it. */
int tpm_create_key_policy(struct tpm *t, enum sshkey_type type, unsigned bits,
			  unsigned flags, const uint8_t *auth, size_t auth_len,
			  const struct tpm_policy *p, struct tpm_key *k,
			  struct sshkey_pub *pub, struct errmsg *e);

/* Loads k, starts a policy session salted with the SRK (AES-128-CFB) and runs p in it;
 * the next command that k authorises (tpm_sign, tpm_rsa_decrypt, tpm_ecdh_zgen) then
 * goes through that session. TPM_E_POLICY when the PCRs do not match (for an
 * authorised policy: no signed policy matches). Pair with tpm_policy_end. */
int tpm_policy_begin(struct tpm *t, struct tpm_key *k, const struct tpm_policy *p,
		     struct errmsg *e);
/* Flushes the policy session (also after a failed begin). */
void tpm_policy_end(struct tpm *t);

#endif
