/* nvcert: the layout of an OpenSSH certificate kept in a TPM NV index: a small header
 * (magic, version, key name, comment) before the binary certificate blob, so that
 * `tpm-key cert list` can say whose certificate an index holds. Pure codec. */
#ifndef TPM_AGENT_NVCERT_H
#define TPM_AGENT_NVCERT_H

#include <stddef.h>
#include <stdint.h>

#define NVCERT_MAGIC      "TPAC"
#define NVCERT_VERSION    1
#define NVCERT_HEADER_LEN 10      /* magic 4, version 1, name len 1, comment len 1, 0, blob len 2 */
#define NVCERT_NAME_MAX   64      /* with the NUL */
#define NVCERT_COMMENT_MAX 256    /* with the NUL */
#define NVCERT_BASE_INDEX 0x01800000u /* start of the owner NV index range */
#define NVCERT_INDEX_SPAN 0x00010000u /* indices from the base that we may use */
#define NVCERT_PROBES     4       /* the hashed index, then up to 3 collision probes */

/* Lays out an NV image of the certificate into out (cap bytes); *len its size. */
int nvcert_encode(const char *key_name, const char *comment, const uint8_t *blob,
		  size_t blob_len, uint8_t *out, size_t cap, size_t *len);

/* Parses an NV image (hostile: it may be anything another program left in the index).
 * blob points into data. */
int nvcert_decode(const uint8_t *data, size_t len, char name[NVCERT_NAME_MAX],
		  char comment[NVCERT_COMMENT_MAX], const uint8_t **blob, size_t *blob_len);

/* FNV-1a (32-bit) of a key name. */
uint32_t nvcert_fnv1a(const char *name);
/* The probe-th candidate index (0 <= probe < NVCERT_PROBES) for key_name from base. */
uint32_t nvcert_index(uint32_t base, const char *key_name, unsigned probe);

#endif
