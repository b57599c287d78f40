/* srkpin: the SRK names the agent trusts, pinned in the data dir (<dir>/srk-pins), one
 * per persistent handle, and the record of the last EK proof (<dir>/srk-proof). The
 * agent salts its sessions to the SRK: a TPM (or anything between it and us) that
 * answers with another SRK than the one pinned is refused before a session starts.
 *
 * srk-pins is text: '#' comment lines, then lines "0x81xxxxxx <name hex>" where the
 * name is the TPM name (nameAlg || digest of the public area). Written atomically,
 * mode 0600; read only when it is a regular file (no symlink) owned by us and not
 * writable by group or others. */
#ifndef TPM_AGENT_SRKPIN_H
#define TPM_AGENT_SRKPIN_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"

#define SRKPIN_MAX 16          /* handles pinned at most */
#define SRKPIN_NAME_MAX 68     /* a TPM2B_NAME's contents */
#define SRKPIN_FILE "srk-pins"
#define SRKPIN_PROOF_FILE "srk-proof"
#define SRKPIN_FILE_MAX 8192
#define SRKPIN_HEX_MAX (2 * SRKPIN_NAME_MAX + 1)

struct srkpin {
	uint32_t handle;
	uint8_t name[SRKPIN_NAME_MAX];
	size_t name_len;
};

struct srkpins {
	struct srkpin pin[SRKPIN_MAX];
	size_t n;
};

/* Parses the file's text; a malformed line is an error naming its number. */
int srkpin_parse(const char *text, size_t len, struct srkpins *p, struct errmsg *e);
/* The file's text (comment header and one line per pin) into out (NUL-terminated). */
int srkpin_format(const struct srkpins *p, char *out, size_t cap, struct errmsg *e);
/* The pin of handle, NULL when none. */
const struct srkpin *srkpin_find(const struct srkpins *p, uint32_t handle);
/* Adds or replaces the pin of handle. */
int srkpin_set(struct srkpins *p, uint32_t handle, const uint8_t *name, size_t len,
	       struct errmsg *e);

/* <dir>/srk-pins into p; a missing file is no pin (p->n = 0), a file failing the
 * owner/mode/symlink rules or malformed is an error naming the file. */
int srkpin_load(const char *dir, struct srkpins *p, struct errmsg *e);
int srkpin_save(const char *dir, const struct srkpins *p, struct errmsg *e);

/* Lower-case hex of a name into out (at least SRKPIN_HEX_MAX bytes). */
void srkpin_hex(const uint8_t *name, size_t len, char *out, size_t cap);

/* The EK proof record (tpm-key init): "key value" lines, written like srk-pins. text is
 * the record's lines; srkpin_proof_load gives "" when there is none. */
int srkpin_proof_save(const char *dir, const char *text, struct errmsg *e);
int srkpin_proof_load(const char *dir, char *text, size_t cap, struct errmsg *e);

#endif
