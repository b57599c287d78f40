/* keyorigin: where a key in the store came from and under which SRK it was made, kept
 * beside it in keys/<name>.origin (text: "origin generated|imported|wrapped" and
 * "srk-name <hex>" lines). It tells `tpm-key list` a wrapped key from an imported one,
 * and it lets the agent stop offering keys made under an SRK this TPM no longer has (a
 * TPM clear, then `tpm-key init --repin`) before a signature fails. Keys from before
 * the record, and key-dirs files, have none: their origin is read off the public area
 * and a foreign parent shows only when TPM2_Load fails (TPM_E_FOREIGN). */
#ifndef TPM_AGENT_KEYORIGIN_H
#define TPM_AGENT_KEYORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"

#define KS_ORIGIN_SUFFIX ".origin"
#define KS_ORIGIN_NAME_MAX 68 /* a TPM2B_NAME's contents */

enum ks_origin_kind {
	KS_ORIGIN_UNKNOWN = 0, /* no record: ask the public area (sensitiveDataOrigin) */
	KS_ORIGIN_GENERATED,   /* made in the TPM (gen, gpg GENKEY) */
	KS_ORIGIN_IMPORTED,    /* a private key from outside, TPM2_Import by the agent */
	KS_ORIGIN_WRAPPED,     /* wrapped to this TPM elsewhere (tpm-key wrap), then added */
};

struct ks_origin {
	enum ks_origin_kind kind;
	uint8_t srk_name[KS_ORIGIN_NAME_MAX]; /* the SRK the key was made under */
	size_t srk_name_len;                  /* 0: not recorded (or hierarchy null) */
};

/* "generated", "imported", "wrapped" or "" (unknown). */
const char *keyorigin_kind_name(enum ks_origin_kind kind);
/* Reads dir/keys/<name>.origin into o: 0 when read, 1 when there is none, -1 (e set)
 * when it is unreadable, breaks the store's file rules or is malformed. Unless 0, o is
 * unknown: the key still loads. */
int keyorigin_load(const char *dir, const char *name, struct ks_origin *o, struct errmsg *e);
/* Writes it atomically (0600); an unknown origin without an SRK name removes it. */
int keyorigin_store(const char *dir, const char *name, const struct ks_origin *o,
		    struct errmsg *e);
/* 1 when o names an SRK and it is not srk (the TPM's now; srk_len 0: unknown, no
 * verdict), with both names in why. */
int keyorigin_foreign(const struct ks_origin *o, const uint8_t *srk, size_t srk_len,
		      struct errmsg *why);

#endif
