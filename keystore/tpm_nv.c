/* tpm_nv: owner-hierarchy NV indices through ESAPI: limits, list, define, chunked write and read, undefine. */
#include "tpm_nv.h"

#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>

#include "tpm_internal.h"

#ifdef TPM_E_BAD_DATA
_Static_assert(TPM_E_NV_SPACE != TPM_E_BAD_DATA && TPM_E_NV_DEFINED != TPM_E_BAD_DATA,
	       "tpm.h and tpm_nv.h return codes clash");
#endif

/* Owner writes (and deletes); anyone reads with the index's empty auth. NO_DA: the
 * empty index auth guards nothing, so a failure must not count towards lockout. */
#define NV_ATTRS (TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | \
		  TPMA_NV_NO_DA | (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT))

/* Owner-authorised commands (define, write, undefine) run in a salted HMAC session
 * (tpm_owner_session), so a set owner authorization (SO PIN) only keys the HMAC and
 * never crosses the bus. Reads use the index's own empty auth: certificates are
 * public. */

/* ---- errors ---- */

static const char *nv_remedy(TSS2_RC rc)
{
	switch (rc_base(rc)) {
	case TPM2_RC_AUTH_FAIL: case TPM2_RC_BAD_AUTH:
		return "wrong owner authorization (SO PIN); the TPM counts it towards its "
		       "dictionary-attack lockout";
	case TPM2_RC_HANDLE:
		return "no such NV index";
	case TPM2_RC_NV_UNINITIALIZED:
		return "the index was defined but never written";
	case TPM2_RC_NV_AUTHORIZATION:
		return "the index does not allow this authorization (created by someone else?)";
	}
	return NULL;
}

static int nv_bad_index(uint32_t index, struct errmsg *e)
{
	if ((index >> TPM2_HR_SHIFT) == TPM2_HT_NV_INDEX)
		return 0;
	return errmsg_set(e, "tpm: 0x%08x is not an NV index handle (0x01xxxxxx)", index);
}

/* ---- properties ---- */

/* One TPM property; an error if the TPM does not report it. */
static int get_prop(struct tpm *t, TPM2_PT prop, const char *name, uint32_t *value,
		    struct errmsg *e)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	int found, r;

	if ((r = tpm_ready(t, e)) != 0)
		return r;
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, prop, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read %s", name);
	found = cap->data.tpmProperties.count >= 1 &&
		cap->data.tpmProperties.tpmProperty[0].property == prop;
	if (found)
		*value = cap->data.tpmProperties.tpmProperty[0].value;
	Esys_Free(cap);
	if (!found)
		return errmsg_set(e, "tpm: the TPM does not report %s", name);
	return 0;
}

int tpm_nv_limits(struct tpm *t, uint32_t *index_max, uint32_t *buffer_max,
		  struct errmsg *e)
{
	uint32_t v;
	int r;

	if (index_max != NULL) {
		if ((r = get_prop(t, TPM2_PT_NV_INDEX_MAX, "TPM2_PT_NV_INDEX_MAX", &v, e)) != 0)
			return r;
		*index_max = v;
	}
	if (buffer_max != NULL) {
		if ((r = get_prop(t, TPM2_PT_NV_BUFFER_MAX, "TPM2_PT_NV_BUFFER_MAX", &v, e)) != 0)
			return r;
		/* Never more than a TPM2B_MAX_NV_BUFFER holds, whatever the TPM says. */
		*buffer_max = v < TPM2_MAX_NV_BUFFER_SIZE ? v : TPM2_MAX_NV_BUFFER_SIZE;
		if (*buffer_max == 0)
			return errmsg_set(e, "tpm: the TPM reports TPM2_PT_NV_BUFFER_MAX = 0");
	}
	return 0;
}

int tpm_nv_space(struct tpm *t, uint32_t *defined, uint32_t *avail_hint, struct errmsg *e)
{
	int r;

	if (defined != NULL &&
	    (r = get_prop(t, TPM2_PT_HR_NV_INDEX, "TPM2_PT_HR_NV_INDEX", defined, e)) != 0)
		return r;
	if (avail_hint != NULL &&
	    (r = get_prop(t, TPM2_PT_HR_PERSISTENT_AVAIL, "TPM2_PT_HR_PERSISTENT_AVAIL",
			  avail_hint, e)) != 0)
		return r;
	return 0;
}

/* ---- list ---- */

/* Appends the handles of cap that are <= last; *done once past last. */
static int list_take(const TPML_HANDLE *h, uint32_t first, uint32_t last,
		     uint32_t *indices, size_t max, size_t *count, int *done,
		     struct errmsg *e)
{
	UINT32 i;

	for (i = 0; i < h->count; i++) {
		if (h->handle[i] > last) {
			*done = 1;
			return 0;
		}
		if (*count == max)
			return errmsg_set(e, "tpm: more than %zu NV indices defined in "
					  "[0x%08x, 0x%08x]", max, first, last);
		indices[(*count)++] = h->handle[i];
	}
	return 0;
}

int tpm_nv_list(struct tpm *t, uint32_t first, uint32_t last, uint32_t *indices,
		size_t max, size_t *count, struct errmsg *e)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_YES;
	uint32_t next = first;
	int r = 0, done = 0;
	TSS2_RC rc;

	*count = 0;
	if ((r = nv_bad_index(first, e)) != 0 || (r = nv_bad_index(last, e)) != 0 ||
	    (r = tpm_ready(t, e)) != 0)
		return r;
	while (more && !done && r == 0 && next <= last) {
		rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					TPM2_CAP_HANDLES, next, TPM2_MAX_CAP_HANDLES,
					&more, &cap);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, NULL, "cannot list NV indices from 0x%08x", next);
		r = list_take(&cap->data.handles, first, last, indices, max, count, &done, e);
		if (cap->data.handles.count == 0)
			done = 1;
		else
			next = cap->data.handles.handle[cap->data.handles.count - 1] + 1;
		Esys_Free(cap);
		cap = NULL;
	}
	return r;
}

/* ---- owner authorization and index objects ---- */

static int owner_auth_set(struct tpm *t, const uint8_t *auth, size_t len, struct errmsg *e)
{
	TPM2B_AUTH a = { .size = 0 };
	TSS2_RC rc;

	if (auth == NULL)
		len = 0;
	if (len > sizeof(a.buffer))
		return errmsg_set(e, "tpm: owner authorization longer than %zu bytes",
				  sizeof(a.buffer));
	a.size = (UINT16)len;
	if (len > 0)
		memcpy(a.buffer, auth, len);
	rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot set the owner authorization");
	return 0;
}

/* Leaves no owner auth behind in the ESAPI context. */
static void owner_auth_clear(struct tpm *t)
{
	TPM2B_AUTH a = { .size = 0 };

	Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &a);
}

/* An ESYS_TR for an existing index (Esys_TR_Close it) and its data size. */
static int nv_open(struct tpm *t, uint32_t index, ESYS_TR *tr, uint16_t *size,
		   struct errmsg *e)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int r;

	if ((r = nv_bad_index(index, e)) != 0 || (r = tpm_ready(t, e)) != 0)
		return r;
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, tr);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, nv_remedy(rc), "cannot open NV index 0x%08x", index);
	rc = Esys_NV_ReadPublic(t->esys, *tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				&pub, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_TR_Close(t->esys, tr);
		return tpm_err(e, rc, NULL, "cannot read the public area of NV index 0x%08x",
			       index);
	}
	*size = pub->nvPublic.dataSize;
	Esys_Free(pub);
	return 0;
}

int tpm_nv_ours(struct tpm *t, uint32_t index, int *written, struct errmsg *e)
{
	const TPMA_NV state = TPMA_NV_WRITTEN | TPMA_NV_READLOCKED | TPMA_NV_WRITELOCKED;
	TPM2B_NV_PUBLIC *pub = NULL;
	ESYS_TR tr;
	TSS2_RC rc;
	int r;

	*written = 0;
	if ((r = nv_bad_index(index, e)) != 0 || (r = tpm_ready(t, e)) != 0)
		return r;
	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &tr);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_NV_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					&pub, NULL);
		Esys_TR_Close(t->esys, &tr);
	}
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, nv_remedy(rc), "cannot read the public area of NV index "
			       "0x%08x", index);
	*written = (pub->nvPublic.attributes & TPMA_NV_WRITTEN) != 0;
	r = (pub->nvPublic.attributes & ~state) == NV_ATTRS &&
	    pub->nvPublic.nameAlg == TPM2_ALG_SHA256 && pub->nvPublic.authPolicy.size == 0;
	Esys_Free(pub);
	return r;
}

/* ---- define, undefine ---- */

static int define_err(TSS2_RC rc, uint32_t index, size_t size, struct errmsg *e)
{
	TSS2_RC b = rc_base(rc);

	if (b == TPM2_RC_NV_SPACE) {
		tpm_err(e, rc, "undefine unused NV indices, or store certificates as files",
			"TPM out of NV space: cannot define NV index 0x%08x of %zu bytes",
			index, size);
		return TPM_E_NV_SPACE;
	}
	if (b == TPM2_RC_NV_DEFINED) {
		tpm_err(e, rc, "undefine it first, or pick another index",
			"NV index 0x%08x is already defined", index);
		return TPM_E_NV_DEFINED;
	}
	return tpm_err(e, rc, nv_remedy(rc), "cannot define NV index 0x%08x of %zu bytes",
		       index, size);
}

static int check_size(struct tpm *t, size_t size, struct errmsg *e)
{
	uint32_t index_max;
	int r;

	if ((r = tpm_nv_limits(t, &index_max, NULL, e)) != 0)
		return r;
	if (size > index_max)
		return errmsg_set(e, "tpm: certificate is %zu bytes; this TPM's NV indices "
				  "hold at most %u (TPM2_PT_NV_INDEX_MAX)", size, index_max);
	if (size == 0)
		return errmsg_set(e, "tpm: an NV index needs at least 1 byte");
	return 0;
}

int tpm_nv_define(struct tpm *t, uint32_t index, size_t size,
		  const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e)
{
	TPM2B_NV_PUBLIC pub = { .nvPublic = {
		.nvIndex = index, .nameAlg = TPM2_ALG_SHA256, .attributes = NV_ATTRS,
		.authPolicy = { .size = 0 }, .dataSize = (UINT16)size } };
	TPM2B_AUTH index_auth = { .size = 0 };
	ESYS_TR tr = ESYS_TR_NONE, sess;
	TSS2_RC rc;
	int r;

	if ((r = nv_bad_index(index, e)) != 0 || (r = check_size(t, size, e)) != 0)
		return r;
	if ((r = owner_auth_set(t, owner_auth, owner_auth_len, e)) != 0)
		return r;
	rc = tpm_owner_session(t, TPMA_SESSION_DECRYPT, &sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, sess, ESYS_TR_NONE,
					 ESYS_TR_NONE, &index_auth, &pub, &tr);
	tpm_owner_session_end(t, &sess);
	owner_auth_clear(t);
	if (rc != TSS2_RC_SUCCESS)
		return define_err(rc, index, size, e);
	Esys_TR_Close(t->esys, &tr);
	return 0;
}

int tpm_nv_undefine(struct tpm *t, uint32_t index,
		    const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e)
{
	ESYS_TR tr, sess;
	uint16_t size;
	TSS2_RC rc;
	int r;

	if ((r = nv_open(t, index, &tr, &size, e)) != 0)
		return r;
	if ((r = owner_auth_set(t, owner_auth, owner_auth_len, e)) != 0) {
		Esys_TR_Close(t->esys, &tr);
		return r;
	}
	/* On success ESAPI closes tr itself. No parameters: nothing to encrypt. */
	rc = tpm_owner_session(t, 0, &sess);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, tr, sess,
					   ESYS_TR_NONE, ESYS_TR_NONE);
	tpm_owner_session_end(t, &sess);
	owner_auth_clear(t);
	if (rc == TSS2_RC_SUCCESS)
		return 0;
	Esys_TR_Close(t->esys, &tr);
	return tpm_err(e, rc, nv_remedy(rc), "cannot undefine NV index 0x%08x", index);
}

/* ---- write, read ---- */

static int write_chunks(struct tpm *t, ESYS_TR tr, uint32_t index, const uint8_t *data,
			size_t len, uint32_t chunk_max, struct errmsg *e)
{
	TPM2B_MAX_NV_BUFFER buf;
	ESYS_TR sess;
	size_t off, n;
	TSS2_RC rc;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk_max ? len - off : chunk_max;
		buf.size = (UINT16)n;
		memcpy(buf.buffer, data + off, n);
		rc = tpm_owner_session(t, TPMA_SESSION_DECRYPT, &sess);
		if (rc == TSS2_RC_SUCCESS)
			rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, tr, sess, ESYS_TR_NONE,
					   ESYS_TR_NONE, &buf, (UINT16)off);
		tpm_owner_session_end(t, &sess);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, nv_remedy(rc), "cannot write NV index 0x%08x "
				       "at offset %zu (%zu bytes)", index, off, n);
	}
	return 0;
}

int tpm_nv_write(struct tpm *t, uint32_t index, const uint8_t *data, size_t len,
		 const uint8_t *owner_auth, size_t owner_auth_len, struct errmsg *e)
{
	uint32_t chunk_max;
	uint16_t size;
	ESYS_TR tr;
	int r;

	if ((r = tpm_nv_limits(t, NULL, &chunk_max, e)) != 0)
		return r;
	if ((r = nv_open(t, index, &tr, &size, e)) != 0)
		return r;
	if (len > size)
		r = errmsg_set(e, "tpm: %zu bytes do not fit NV index 0x%08x of %u bytes",
			       len, index, size);
	else if ((r = owner_auth_set(t, owner_auth, owner_auth_len, e)) == 0) {
		r = write_chunks(t, tr, index, data, len, chunk_max, e);
		owner_auth_clear(t);
	}
	Esys_TR_Close(t->esys, &tr);
	return r;
}

static int read_chunks(struct tpm *t, ESYS_TR tr, uint32_t index, uint8_t *out,
		       size_t len, uint32_t chunk_max, struct errmsg *e)
{
	TPM2B_MAX_NV_BUFFER *buf = NULL;
	size_t off, n, got;
	TSS2_RC rc;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk_max ? len - off : chunk_max;
		rc = Esys_NV_Read(t->esys, tr, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, (UINT16)n, (UINT16)off, &buf);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, nv_remedy(rc), "cannot read NV index 0x%08x "
				       "at offset %zu (%zu bytes)", index, off, n);
		got = buf->size;
		if (got == n)
			memcpy(out + off, buf->buffer, n);
		Esys_Free(buf);
		if (got != n)
			return errmsg_set(e, "tpm: NV index 0x%08x: asked %zu bytes at offset "
					  "%zu, got %zu", index, n, off, got);
	}
	return 0;
}

int tpm_nv_read(struct tpm *t, uint32_t index, uint8_t *out, size_t cap, size_t *len,
		struct errmsg *e)
{
	uint32_t chunk_max;
	uint16_t size;
	ESYS_TR tr;
	int r;

	*len = 0;
	if ((r = tpm_nv_limits(t, NULL, &chunk_max, e)) != 0)
		return r;
	if ((r = nv_open(t, index, &tr, &size, e)) != 0)
		return r;
	if (size > cap) {
		*len = size;
		r = errmsg_set(e, "tpm: NV index 0x%08x holds %u bytes, more than the %zu "
			       "bytes room given", index, size, cap);
	} else if ((r = read_chunks(t, tr, index, out, size, chunk_max, e)) == 0)
		*len = size;
	Esys_TR_Close(t->esys, &tr);
	return r;
}
