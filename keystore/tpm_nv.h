/* tpm_nv: ordinary NV indices in the owner hierarchy (define, chunked write/read,
 * undefine, list, limits), the TPM side of OpenSSH certificates kept in NV RAM. */
#ifndef TPM_AGENT_TPM_NV_H
#define TPM_AGENT_TPM_NV_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "tpm.h"

/* Return codes beyond tpm.h's TPM_E_* (which these functions also return). They
 * start at -16 so that tpm.h's own list (-1 .. -6 today) can grow without a clash. */
#define TPM_E_NV_SPACE   -16 /* TPM_RC_NV_SPACE: the TPM has no NV memory left */
#define TPM_E_NV_DEFINED -17 /* TPM_RC_NV_DEFINED: the index is already defined */

#define TPM_NV_AUTH_MAX 64  /* longest owner authorization (sizeof TPM2B_AUTH.buffer) */

/* The largest NV index data area (TPM2_PT_NV_INDEX_MAX) and the most bytes one
 * TPM2_NV_Write/NV_Read carries (TPM2_PT_NV_BUFFER_MAX). Asked of the TPM each call;
 * either pointer may be NULL. */
int tpm_nv_limits(struct tpm *t, uint32_t *index_max, uint32_t *buffer_max,
		  struct errmsg *e);

/* The NV indices defined in [first, last] (both 0x01xxxxxx), ascending, into
 * indices[0..*count). More than max of them is an error (TPM_E_FAIL), with the
 * first max stored and *count = max. */
int tpm_nv_list(struct tpm *t, uint32_t first, uint32_t last, uint32_t *indices,
		size_t max, size_t *count, struct errmsg *e);

/* Defines an ordinary index of size bytes authorised by the owner hierarchy
 * (OWNERWRITE | OWNERREAD | AUTHREAD | NO_DA, empty index auth, nameAlg SHA-256).
 * owner_auth NULL/0: empty owner authorization. A size over TPM2_PT_NV_INDEX_MAX is
 * refused before the TPM is asked (TPM_E_FAIL, the message names the limit).
 * TPM_E_NV_SPACE when the TPM is full, TPM_E_NV_DEFINED when index exists. */
int tpm_nv_define(struct tpm *t, uint32_t index, size_t size,
		  const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e);

/* Writes data at offset 0 of index, in chunks of TPM2_PT_NV_BUFFER_MAX, authorised
 * by the owner. len must not exceed the index's size. Not atomic: a failure part-way
 * leaves the first chunks written. */
int tpm_nv_write(struct tpm *t, uint32_t index, const uint8_t *data, size_t len,
		 const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e);

/* Reads the whole index (its size from TPM2_NV_ReadPublic) into out, chunked, with
 * the index's own empty authorization (AUTHREAD): no owner auth needed. An index
 * larger than cap is refused before reading, with *len = its size; other failures
 * leave *len = 0. */
int tpm_nv_read(struct tpm *t, uint32_t index, uint8_t *out, size_t cap, size_t *len,
		struct errmsg *e);

/* 1 if index exists with the attributes tpm_nv_define gives (whether written or not),
 * 0 if it exists with others (someone else's), TPM_E_* on failure (no such index:
 * TPM_E_FAIL). *written: TPMA_NV_WRITTEN, the index was written since defined. */
int tpm_nv_ours(struct tpm *t, uint32_t index, int *written, struct errmsg *e);

/* Deletes index, authorised by the owner. */
int tpm_nv_undefine(struct tpm *t, uint32_t index,
		    const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e);

/* What the TPM says about its NV usage. *defined: NV indices defined, ours or not
 * (TPM2_PT_HR_NV_INDEX). *avail_hint: TPM2_PT_HR_PERSISTENT_AVAIL, the TPM's estimate
 * of how many more persistent objects fit in the NV memory that persistent objects
 * and NV indices share. No TPM property gives free NV bytes, so this is only a hint
 * that falls as indices are defined: on swtpm/libtpms it reads 64 with only the SRK
 * persisted and still 6 when TPM2_NV_DefineSpace starts failing (libtpms keeps room
 * back), one unit being ~2.4 KiB there. The only sure test of room is defining.
 * Either pointer may be NULL. */
int tpm_nv_space(struct tpm *t, uint32_t *defined, uint32_t *avail_hint, struct errmsg *e);

#endif
