/* tpm: every command the agent sends to the TPM: the connection and SRK (ESAPI), and the
 * hot commands (create, load, sign, RSA decrypt, ECDH, context save/load) through SAPI
 * inside one salted, AES-128-CFB-encrypted HMAC session whose arithmetic is
 * tpmsession.c's. */
#include "tpm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "tcti_guard.h"
#include "tpm_internal.h"
#include "tpmsession.h"

#define TPM_AUTH_CREATE_MAX 32 /* the TPM caps authValue at the nameAlg (SHA-256) size */

/* Attributes of every key we create; deliberately without noDA so that wrong
 * PINs count towards the TPM's dictionary-attack lockout. */
#define KEY_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
		   TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
		   TPMA_OBJECT_SIGN_ENCRYPT)
/* TCG "H-2" storage primary (REFERENCE.md §2). */
#define SRK_ATTRS (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | \
		   TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
		   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA)

/* Our code for "the response HMAC did not verify" (ESAPI's name for the same event). */
#define RC_RSP_HMAC TSS2_ESYS_RC_RSP_AUTH_FAILED
#define RC_SESSION_CRYPTO TSS2_ESYS_RC_GENERAL_FAILURE


/* ---- response codes ---- */

/* A TPM response code with the handle/session/parameter number masked off, so it
 * compares equal to the TPM2_RC_* constants; other layers' codes are returned as is. */
TSS2_RC rc_base(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
		return rc;
	rc &= ~TSS2_RC_LAYER_MASK;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3F);
	return rc & 0xFFF;
}

/* The TPM asks to send the command again (NV busy, self-test, yield); ESAPI retries
 * these itself and SAPI does not, so we do. */
#define RETRY_MAX 16
int rc_is_retry(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, b = rc & 0xFFF;

	if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	return b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED || b == TPM2_RC_TESTING;
}

/* The TPM itself answered rc (a response code, not a failure of the layers above). */
static int rc_from_tpm(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	return layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER;
}

/* The TCTI (or the layers above it, passing its code on) lost the TPM. */
static int rc_is_conn(TSS2_RC rc)
{
	TSS2_RC base = rc & 0xFFFF;

	if (rc_from_tpm(rc))
		return 0;
	return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
	       base == TSS2_BASE_RC_NO_TPM;
}

static int rc_class(TSS2_RC rc)
{
	TSS2_RC b = rc_base(rc);

	if (rc == GUARD_RC_NO_ANSWER || rc == GUARD_RC_ABORTED)
		return TPM_E_NO_ANSWER;
	if (b == TPM2_RC_AUTH_FAIL || b == TPM2_RC_BAD_AUTH)
		return TPM_E_AUTH_FAIL;
	if (b == TPM2_RC_LOCKOUT)
		return TPM_E_LOCKOUT;
	if (rc_is_conn(rc))
		return TPM_E_CONN;
	return TPM_E_FAIL;
}

/* A failure above the TPM (TCTI, SAPI, ESAPI, marshalling) was reported: ESAPI may be
 * wedged in its internal-error state, which only a new context clears. tpm_ready
 * reconnects before the next command. One agent, one TPM worker thread: per thread. */
static _Thread_local int layers_suspect;
/* The failure with_recovery already recovered from, so tpm_err need not suspect it. */
static _Thread_local TSS2_RC recovered_rc;

static const char *rc_default_remedy(TSS2_RC rc)
{
	switch (rc_class(rc)) {
	case TPM_E_AUTH_FAIL:
		return "wrong PIN; the TPM counts it towards its dictionary-attack lockout";
	case TPM_E_LOCKOUT:
		return "the TPM locked out after too many wrong PINs: wait for it to recover "
		       "or clear it with `tpm2_dictionarylockout --clear-lockout`";
	}
	return NULL;
}

/* Formats "tpm: <what>: <decoded rc> (<remedy>)" into e and returns the TPM_E_*
 * class of rc. remedy NULL picks one from the class, if any. */
int tpm_err(struct errmsg *e, TSS2_RC rc, const char *remedy, const char *fmt, ...)
{
	char what[ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc != TSS2_RC_SUCCESS && !rc_from_tpm(rc) && rc != recovered_rc)
		layers_suspect = 1;
	recovered_rc = TSS2_RC_SUCCESS;
	if (rc == GUARD_RC_NO_ANSWER) {
		errmsg_set(e, "tpm: no answer in %u s (%s); the agent reconnects at the next "
			   "request (tpm-timeout)", tcti_guard_last_miss_s(), what);
		return TPM_E_NO_ANSWER;
	}
	if (rc == GUARD_RC_ABORTED) {
		errmsg_set(e, "tpm: %s: the agent is stopping", what);
		return TPM_E_NO_ANSWER;
	}
	if (rc == RC_RSP_HMAC)
		return errmsg_set(e, "tpm: %s: response HMAC mismatch: possible tampering on "
				  "the TPM bus; the session was restarted", what);
	if (rc == TPM_RC_SRK_REFUSED) {
		errmsg_set(e, "%s", srk_refusal_last());
		return TPM_E_SRK_REFUSED;
	}
	if (rc_class(rc) == TPM_E_CONN && remedy == NULL) {
		errmsg_set(e, "tpm: connection lost (%s: %s); the agent reconnects at the next "
			   "request", what, Tss2_RC_Decode(rc));
		return TPM_E_CONN;
	}
	if (remedy == NULL)
		remedy = rc_default_remedy(rc);
	if (remedy != NULL)
		errmsg_set(e, "tpm: %s: %s (%s)", what, Tss2_RC_Decode(rc), remedy);
	else
		errmsg_set(e, "tpm: %s: %s", what, Tss2_RC_Decode(rc));
	return rc_class(rc);
}

static int unsupported(struct errmsg *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int unsupported(struct errmsg *e, const char *fmt, ...)
{
	char what[ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errmsg_set(e, "tpm: %s", what);
	return TPM_E_UNSUPPORTED;
}

/* ---- connection and properties ---- */

/* For a device TCTI that cannot open: the remedy the device file suggests (missing or
 * not ours to open) into buf, or the generic one. */
static const char *device_remedy(const char *tcti, char *buf, size_t len)
{
	const char *path = "/dev/tpmrm0";

	if (strncmp(tcti, "device", 6) != 0 || (tcti[6] != '\0' && tcti[6] != ':'))
		return "is a TPM present and may you use it? try --simulator";
	if (tcti[6] == ':' && tcti[7] != '\0')
		path = tcti + 7;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		snprintf(buf, len, "%s does not exist: this machine has no TPM 2.0, it is off in "
			 "the firmware setup, or the kernel lacks its driver (tpm_crb, tpm_tis); "
			 "without a TPM, try --simulator", path);
	else if (access(path, R_OK | W_OK) != 0 && errno == EACCES)
		snprintf(buf, len, "permission denied on %s: add yourself to its group, "
			 "usually tss (`sudo usermod -aG tss $USER`, then log in again; "
			 "`ls -l %s` shows the group)", path, path);
	else
		return "is a TPM present and may you use it? try --simulator";
	return buf;
}

/* Ends the connection without a word to the TPM: ESAPI and SAPI contexts, the TCTI
 * and every ESYS_TR go; t->sys NULL means "reconnect before the next command". */
static void drop_connection(struct tpm *t)
{
	if (t->esys != NULL)
		Esys_Finalize(&t->esys);
	t->esys = NULL;
	t->sys = NULL;
	t->srk = ESYS_TR_NONE;
	tcti_guard_disconnect(t->guard);
}

/* Flushes every handle the TPM lists from first (a whole handle type, or both session
 * types from 0x02000000); returns how many went. */
static unsigned flush_listed(struct tpm *t, TPM2_HANDLE first)
{
	TPMS_CAPABILITY_DATA cap;
	TPMI_YES_NO more = TPM2_NO;
	unsigned n = 0;
	UINT32 i;

	if (Tss2_Sys_GetCapability(t->sys, NULL, TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES,
				   &more, &cap, NULL) != TSS2_RC_SUCCESS)
		return 0;
	for (i = 0; i < cap.data.handles.count && i < TPM2_MAX_CAP_HANDLES; i++) {
		TPM2_HANDLE h = cap.data.handles.handle[i];

		if ((h >> TPM2_HR_SHIFT) != (first >> TPM2_HR_SHIFT))
			break;
		if (Tss2_Sys_FlushContext(t->sys, h) == TSS2_RC_SUCCESS)
			n++;
	}
	return n;
}

/* Without a resource manager whatever sessions and transient objects the TPM holds
 * were left by an agent that died (the agent owns that TPM): they would fill its few
 * session and object slots. At a reconnect they are our own, and not counted. */
static void sweep_leftovers(struct tpm *t)
{
	/* tss2's TPM2_HR_* shift a signed int into the sign bit (UBSan): spelt out here. */
	unsigned sessions = flush_listed(t, (TPM2_HC)TPM2_HT_HMAC_SESSION << TPM2_HR_SHIFT) +
			    flush_listed(t, (TPM2_HC)TPM2_HT_POLICY_SESSION << TPM2_HR_SHIFT);
	unsigned objects = flush_listed(t, (TPM2_HC)TPM2_HT_TRANSIENT << TPM2_HR_SHIFT);

	if (t->info.reconnects == 0) {
		t->info.leftover_sessions = sessions;
		t->info.leftover_objects = objects;
	}
}

static int connect_tpm(struct tpm *t, struct errmsg *e)
{
	char why[512];
	TSS2_RC rc;
	int r;

	rc = tcti_guard_connect(t->guard);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_err(e, rc, device_remedy(t->info.tcti, why, sizeof(why)),
			    "cannot open TCTI '%s'", t->info.tcti);
		drop_connection(t);
		return r;
	}
	tpm_wait_wrap(t->tcti);
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_GetSysContext(t->esys, &t->sys);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_err(e, rc, NULL, "cannot initialise ESAPI on '%s'", t->info.tcti);
		drop_connection(t);
		return r;
	}
	/* Simulators may come up unstarted; a started TPM answers INITIALIZE. */
	rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (rc != TSS2_RC_SUCCESS && rc_base(rc) != TPM2_RC_INITIALIZE) {
		/* Nothing half-open stays behind: the next use starts from the TCTI again.
		 * The swtpm TCTI connects at the first command: this is where it fails. */
		if (rc_is_conn(rc))
			r = tpm_err(e, rc, device_remedy(t->info.tcti, why, sizeof(why)),
				    "cannot open TCTI '%s'", t->info.tcti);
		else
			r = tpm_err(e, rc, NULL, "TPM2_Startup on '%s' failed", t->info.tcti);
		drop_connection(t);
		return r;
	}
	/* Only under the per-TPM lock: with it no other agent's session is there. */
	if (t->info.raw_tpm && tcti_guard_locked(t->guard))
		sweep_leftovers(t);
	layers_suspect = 0;
	return 0;
}

/* Appends the 4 characters packed in v (big-endian) to s, skipping NULs. */
static void append_chars(char *s, size_t size, uint32_t v)
{
	size_t len = strlen(s);
	int i;

	for (i = 3; i >= 0 && len + 1 < size; i--) {
		char c = (char)((v >> (8 * i)) & 0xFF);
		if (c >= 0x20 && c < 0x7F)
			s[len++] = c;
	}
	s[len] = '\0';
}

static void trim_right(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
}

static void take_fixed_prop(struct tpm_info *info, const TPMS_TAGGED_PROPERTY *p)
{
	switch (p->property) {
	case TPM2_PT_MANUFACTURER:
		info->manufacturer[0] = '\0';
		append_chars(info->manufacturer, sizeof(info->manufacturer), p->value);
		break;
	case TPM2_PT_VENDOR_STRING_1: case TPM2_PT_VENDOR_STRING_2:
	case TPM2_PT_VENDOR_STRING_3: case TPM2_PT_VENDOR_STRING_4:
		/* They come sorted by property, so appending keeps the order. */
		append_chars(info->vendor, sizeof(info->vendor), p->value);
		break;
	case TPM2_PT_FIRMWARE_VERSION_1:
		info->firmware1 = p->value;
		break;
	case TPM2_PT_FIRMWARE_VERSION_2:
		info->firmware2 = p->value;
		break;
	}
}

/* Asks for count properties from first; calls take() on each. */
static int get_props(struct tpm *t, TPM2_PT first, UINT32 count,
		     void (*take)(struct tpm *, const TPMS_TAGGED_PROPERTY *), struct errmsg *e)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	UINT32 i;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, first, count, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read TPM properties");
	for (i = 0; i < cap->data.tpmProperties.count; i++)
		take(t, &cap->data.tpmProperties.tpmProperty[i]);
	Esys_Free(cap);
	return 0;
}

static void take_fixed(struct tpm *t, const TPMS_TAGGED_PROPERTY *p)
{
	take_fixed_prop(&t->info, p);
}

static void take_var(struct tpm *t, const TPMS_TAGGED_PROPERTY *p)
{
	if (p->property == TPM2_PT_HR_TRANSIENT_AVAIL)
		t->info.transient_slots = p->value;
}

static int read_info(struct tpm *t, struct errmsg *e)
{
	int r;

	if ((r = get_props(t, TPM2_PT_MANUFACTURER, TPM2_PT_FIRMWARE_VERSION_2 -
			   TPM2_PT_MANUFACTURER + 1, take_fixed, e)) != 0)
		return r;
	if ((r = get_props(t, TPM2_PT_HR_TRANSIENT_AVAIL, 1, take_var, e)) != 0)
		return r;
	trim_right(t->info.manufacturer);
	trim_right(t->info.vendor);
	/* Every TPM 2.0 holds at least 3; a silent property must not stop us loading. */
	t->slots = t->info.transient_slots ? t->info.transient_slots : 3;
	if (t->slots > TPM_LOADED_MAX)
		t->slots = TPM_LOADED_MAX;
	return 0;
}

/* ---- the SRK ---- */

/* Describes a TPM object for an error message, e.g. "an RSA key (sign)". */
static void describe_object(const TPMT_PUBLIC *p, char *out, size_t size)
{
	const char *type = p->type == TPM2_ALG_RSA ? "RSA" :
			   p->type == TPM2_ALG_ECC ? "ECC" :
			   p->type == TPM2_ALG_KEYEDHASH ? "keyed-hash" :
			   p->type == TPM2_ALG_SYMCIPHER ? "symmetric" : "unknown";
	TPMA_OBJECT a = p->objectAttributes;

	snprintf(out, size, "%s %s object (%s%s%s)",
		 p->type == TPM2_ALG_RSA || p->type == TPM2_ALG_ECC ? "an" : "a", type,
		 a & TPMA_OBJECT_RESTRICTED ? "restricted " : "",
		 a & TPMA_OBJECT_DECRYPT ? "decrypt " : "",
		 a & TPMA_OBJECT_SIGN_ENCRYPT ? "sign" : "no sign");
}

/* Keeps what sessions need: the SRK's name (cpHash) and its P-256 point (salt). */
static void srk_remember(struct tpm *t, const TPMT_PUBLIC *p, const TPM2B_NAME *name)
{
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;

	t->srk_name = *name;
	t->srk_p256 = p->type == TPM2_ALG_ECC &&
		      p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
		      x->size > 0 && x->size <= TPMS_ECC_COORD &&
		      y->size > 0 && y->size <= TPMS_ECC_COORD;
	if (!t->srk_p256)
		return;
	/* Coordinates may come without leading zeros. */
	memset(t->srk_x, 0, sizeof(t->srk_x));
	memset(t->srk_y, 0, sizeof(t->srk_y));
	memcpy(t->srk_x + TPMS_ECC_COORD - x->size, x->buffer, x->size);
	memcpy(t->srk_y + TPMS_ECC_COORD - y->size, y->buffer, y->size);
}

const char *tpm_hierarchy_name(int h)
{
	switch (h) {
	case TPM_HIER_OWNER: return "owner";
	case TPM_HIER_ENDORSEMENT: return "endorsement";
	case TPM_HIER_NULL: return "null";
	}
	return NULL;
}

int tpm_parent_hierarchy(uint32_t parent)
{
	if (parent == TPM2_RH_NULL)
		return TPM_HIER_NULL;
	if (parent == TPM2_RH_ENDORSEMENT)
		return TPM_HIER_ENDORSEMENT;
	return TPM_HIER_OWNER;
}

/* 1 if qname is that of a primary of the endorsement hierarchy: a primary's
 * qualified name is nameAlg || H(hierarchy handle || name). */
static int is_endorsement_primary(const TPM2B_NAME *name, const TPM2B_NAME *qname)
{
	uint8_t buf[4 + sizeof(name->name)], md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	uint32_t h = TPM2_RH_ENDORSEMENT;

	if (name->size < 2 || qname->size != 2 + 32 || name->name[0] != 0x00 ||
	    name->name[1] != 0x0b || qname->name[0] != 0x00 || qname->name[1] != 0x0b)
		return 0;
	buf[0] = (uint8_t)(h >> 24); buf[1] = (uint8_t)(h >> 16);
	buf[2] = (uint8_t)(h >> 8); buf[3] = (uint8_t)h;
	memcpy(buf + 4, name->name, name->size);
	if (EVP_Digest(buf, 4u + name->size, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != 32)
		return 0;
	return memcmp(qname->name + 2, md, 32) == 0;
}

static int srk_check(struct tpm *t, struct errmsg *e)
{
	TPM2B_PUBLIC *pub = NULL, view;
	TPM2B_NAME *name = NULL, *qname = NULL, computed;
	TPMA_OBJECT a;
	char what[128];
	int ok;
	TSS2_RC rc;

	if ((ok = srk_view_check(t, &view, &computed, e)) != 0)
		return ok;
	rc = Esys_ReadPublic(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			     &pub, &name, &qname);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot read the SRK at 0x%08x", t->info.srk_handle);
	Esys_Free(pub);
	Esys_Free(name);
	srk_remember(t, &view.publicArea, &computed);
	if (t->info.hierarchy != TPM_HIER_NULL) {
		int endo = is_endorsement_primary(&computed, qname);

		if ((t->info.hierarchy == TPM_HIER_ENDORSEMENT) != endo) {
			Esys_Free(qname);
			return errmsg_set(e, "tpm: the SRK at 0x%08x is %s, and this agent runs with "
					  "hierarchy = %s; configure another srk-handle (e.g. 0x%08x) "
					  "or free it with `tpm2_evictcontrol -C o -c 0x%08x`",
					  t->info.srk_handle, endo ? "a primary of the endorsement "
					  "hierarchy" : "not a primary of the endorsement hierarchy",
					  tpm_hierarchy_name(t->info.hierarchy),
					  endo ? 0x81000001u : 0x81010001u, t->info.srk_handle);
		}
	}
	Esys_Free(qname);
	a = view.publicArea.objectAttributes;
	ok = (view.publicArea.type == TPM2_ALG_ECC || view.publicArea.type == TPM2_ALG_RSA) &&
	     (a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_DECRYPT) &&
	     !(a & TPMA_OBJECT_SIGN_ENCRYPT);
	describe_object(&view.publicArea, what, sizeof(what));
	if (ok)
		return 0;
	return errmsg_set(e, "tpm: persistent handle 0x%08x holds %s, not a storage key "
			  "(restricted decrypt) that could be the SRK; free it with "
			  "`tpm2_evictcontrol -C o -c 0x%08x` or configure another SRK handle",
			  t->info.srk_handle, what, t->info.srk_handle);
}

void srk_template(TPM2B_PUBLIC *p)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = SRK_ATTRS;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	p->publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	p->publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

/* Makes the H-2 primary in the configured hierarchy and persists it at the SRK
 * handle; with hierarchy null it stays transient (t->srk) and is made at every start. */
static int srk_create(struct tpm *t, struct errmsg *e)
{
	const char *owner_remedy = t->info.hierarchy == TPM_HIER_ENDORSEMENT ?
		"does the endorsement or owner hierarchy have a password? then create the "
		"SRK yourself: tpm2_createprimary -C e -g sha256 -G ecc256:aes128cfb -c srk.ctx "
		"&& tpm2_evictcontrol -C o -c srk.ctx <handle>" :
		"does the owner hierarchy have a password? then create the "
		"SRK yourself: tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -c srk.ctx "
		"&& tpm2_evictcontrol -C o -c srk.ctx <handle>";
	ESYS_TR hier = t->info.hierarchy == TPM_HIER_ENDORSEMENT ? ESYS_TR_RH_ENDORSEMENT :
		       t->info.hierarchy == TPM_HIER_NULL ? ESYS_TR_RH_NULL : ESYS_TR_RH_OWNER;
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, *out_pub = NULL;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = 0;

	srk_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, hier, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &primary,
				&out_pub, &cdata, &chash, &ticket);
	Esys_Free(out_pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_class(rc) == TPM_E_AUTH_FAIL ? owner_remedy :
			       rc_base(rc) == TPM2_RC_OBJECT_MEMORY ? "other programs hold all "
			       "transient slots; use the kernel resource manager (device:/dev/tpmrm0)"
			       : NULL, "cannot create the SRK (%s hierarchy primary)",
			       tpm_hierarchy_name(t->info.hierarchy));
	if (t->info.hierarchy == TPM_HIER_NULL) {
		/* The null seed changes at every TPM reset: nothing to persist. */
		t->srk = primary;
		rc = Esys_TR_GetTpmHandle(t->esys, primary, &t->srk_tpm);
		if (rc != TSS2_RC_SUCCESS)
			return tpm_err(e, rc, NULL, "cannot read the null hierarchy SRK's handle");
		return 0;
	}
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE, t->info.srk_handle, &t->srk);
	if (rc != TSS2_RC_SUCCESS) {
		t->srk = ESYS_TR_NONE;
		r = tpm_err(e, rc, rc_class(rc) == TPM_E_AUTH_FAIL ? owner_remedy : NULL,
			    "cannot make the SRK persistent at 0x%08x", t->info.srk_handle);
	}
	/* The persistent copy is what we use; the transient one would take a slot. */
	Esys_FlushContext(t->esys, primary);
	return r;
}

static int srk_setup(struct tpm *t, struct errmsg *e)
{
	TSS2_RC rc;
	int r;

	t->srk_tpm = t->info.srk_handle;
	if (t->info.hierarchy == TPM_HIER_NULL) {
		if ((r = srk_create(t, e)) != 0)
			return r;
		return srk_check(t, e);
	}
	rc = Esys_TR_FromTPMPublic(t->esys, t->info.srk_handle, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &t->srk);
	if (rc == TSS2_RC_SUCCESS)
		return srk_check(t, e);
	t->srk = ESYS_TR_NONE;
	if (rc_base(rc) != TPM2_RC_HANDLE)
		return tpm_err(e, rc, NULL, "cannot look up the SRK at 0x%08x", t->info.srk_handle);
	if (t->srk_pin_len > 0)
		return srk_refuse(t, e, "tpm: refusing this TPM: the pinned SRK at 0x%08x is gone. "
				  "If you cleared the TPM on purpose, `tpm-key init --repin` makes "
				  "and pins a new one (keys made under the old SRK are lost)",
				  t->info.srk_handle);
	if ((r = srk_create(t, e)) != 0)
		return r;
	return srk_check(t, e);
}

/* TPM2_FlushContext, retried while the TPM asks; other failures mean it is gone. */
static void flush_handle(struct tpm *t, TPM2_HANDLE h)
{
	int n = 0;

	if (t->sys == NULL || tcti_guard_dirty(t->guard))
		return; /* tpm_ready reconnects first; the sweep or the manager cleans up */
	while (rc_is_retry(Tss2_Sys_FlushContext(t->sys, h)) && ++n < RETRY_MAX)
		;
}

/* ---- the encrypted session ---- */

static const char *session_remedy(TSS2_RC rc)
{
	TSS2_RC b = rc_base(rc);

	if (b == TPM2_RC_SYMMETRIC || b == TPM2_RC_MODE || b == TPM2_RC_KEY_SIZE)
		return "this TPM lacks AES-128-CFB for session encryption; --no-encrypt-sessions "
		       "turns encrypted sessions off (PINs then cross the TPM bus in clear)";
	if (b == TPM2_RC_SESSION_HANDLES || b == TPM2_RC_SESSION_MEMORY)
		return "the TPM has no free session slot: other programs hold sessions "
		       "(`tpm2_getcap handles-saved-session`); free them with `tpm2_flushcontext "
		       "--saved-session` or stop those programs, and use device:/dev/tpmrm0, whose "
		       "resource manager flushes the sessions of programs that exit";
	return "--no-encrypt-sessions turns encrypted sessions off (PINs then cross the TPM "
	       "bus in clear)";
}

/* StartAuthSession salted with the SRK (ECC: the salt travels as an ephemeral
 * point), bind TPM_RH_NULL, HMAC type, AES-128-CFB, SHA-256. */
static TSS2_RC session_start(struct tpm *t)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TPM2B_ENCRYPTED_SECRET salt_enc = { 0 };
	TPMS_ECC_POINT eph = { 0 };
	TPM2B_NONCE caller = { .size = TPMS_NONCE_MAX }, tpm_nonce = { 0 };
	TPMI_SH_AUTH_SESSION h = 0;
	uint8_t salt[TPMS_DIGEST_LEN];
	size_t off = 0;
	TSS2_RC rc = RC_SESSION_CRYPTO;
	int tries = 0;

	eph.x.size = eph.y.size = TPMS_ECC_COORD;
	if (tpmsession_ecc_salt(&t->sess, t->srk_x, t->srk_y, salt, eph.x.buffer,
				eph.y.buffer) == TPMS_OK && RAND_bytes(caller.buffer, caller.size) == 1)
		rc = Tss2_MU_TPMS_ECC_POINT_Marshal(&eph, salt_enc.secret, sizeof(salt_enc.secret),
						    &off);
	if (rc == TSS2_RC_SUCCESS) {
		salt_enc.size = (UINT16)off;
		do
			rc = Tss2_Sys_StartAuthSession(t->sys, t->srk_tpm, TPM2_RH_NULL,
						       NULL, &caller, &salt_enc, TPM2_SE_HMAC, &sym,
						       TPM2_ALG_SHA256, &h, &tpm_nonce, NULL);
		while (rc_is_retry(rc) && ++tries < RETRY_MAX);
	}
	if (rc == TSS2_RC_SUCCESS &&
	    tpmsession_start(&t->sess, h, salt, sizeof(salt), tpm_nonce.buffer, tpm_nonce.size,
			     caller.buffer, caller.size) != TPMS_OK) {
		(void)Tss2_Sys_FlushContext(t->sys, h);
		rc = RC_SESSION_CRYPTO;
	}
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc;
}

static int session_open(struct tpm *t, struct errmsg *e)
{
	TSS2_RC rc;

	if (t->srk_refused)
		return errmsg_set(e, "%s", t->srk_refusal);
	if (t->plain)
		return 0;
	if (!t->sess_ready) {
		if (tpmsession_init(&t->sess) != TPMS_OK)
			return errmsg_set(e, "tpm: OpenSSL lacks SHA-256, HMAC, AES-128-CFB, KBKDF "
					  "or SSKDF, needed for encrypted TPM sessions");
		t->sess_ready = 1;
	}
	if (!t->srk_p256)
		return errmsg_set(e, "tpm: encrypted sessions are salted with an ECC P-256 SRK and "
				  "the SRK at 0x%08x is not one; configure an ECC P-256 SRK, or "
				  "--no-encrypt-sessions turns encrypted sessions off (PINs then "
				  "cross the TPM bus in clear)", t->info.srk_handle);
	rc = session_start(t);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, session_remedy(rc), "cannot start the salted AES-128-CFB "
			       "session with the SRK at 0x%08x", t->info.srk_handle);
	t->info.encrypted_sessions = 1;
	t->info.session_handle = t->sess.handle;
	return 0;
}

/* Flushes the session from the TPM (best effort: it may be gone) and wipes its keys. */
static void session_close(struct tpm *t)
{
	if (t->sess.handle != 0 && t->sys != NULL)
		flush_handle(t, t->sess.handle);
	tpmsession_forget(&t->sess);
	t->info.session_handle = 0;
}

/* ---- commands with one authorization ---- */

/* The authorised handle's name and authValue, and whether the first command
 * parameter carries a secret to encrypt (decrypt attribute) and whether the first
 * response parameter does, for the TPM to encrypt (encrypt attribute). */
struct auth_cmd {
	TPM2_CC cc;
	const uint8_t *name; size_t name_len;
	const uint8_t *auth; size_t auth_len;
	int secret_param;
	int secret_response;
};

static TSS2_RC exec_password(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_COMMAND ca = { .count = 1 };
	TSS2_RC rc;

	ca.auths[0].sessionHandle = TPM2_RS_PW;
	if (c->auth_len > 0)
		memcpy(ca.auths[0].hmac.buffer, c->auth, c->auth_len);
	ca.auths[0].hmac.size = (UINT16)c->auth_len;
	rc = Tss2_Sys_SetCmdAuths(t->sys, &ca);
	OPENSSL_cleanse(&ca, sizeof(ca));
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Execute(t->sys);
	return rc;
}

/* AES-CFB over the first command parameter, in SAPI's command buffer. */
static TSS2_RC encrypt_secret_param(struct tpm *t, const struct auth_cmd *c)
{
	uint8_t buf[TPMS_PARAM_MAX];
	const uint8_t *p;
	size_t len;
	TSS2_RC rc = Tss2_Sys_GetDecryptParam(t->sys, &len, &p);

	if (rc != TSS2_RC_SUCCESS)
		return rc;
	if (len > sizeof(buf))
		return RC_SESSION_CRYPTO;
	memcpy(buf, p, len);
	if (tpmsession_encrypt_command_param(&t->sess, c->auth, c->auth_len, buf, len) != TPMS_OK)
		rc = RC_SESSION_CRYPTO;
	else
		rc = Tss2_Sys_SetDecryptParam(t->sys, len, buf);
	OPENSSL_cleanse(buf, len);
	return rc;
}

/* A response counts only if its HMAC proves it came from the TPM holding our session. */
static TSS2_RC check_response(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_RESPONSE ra = { .count = 1 };
	const TPMS_AUTH_RESPONSE *a = &ra.auths[0];
	uint8_t rp_hash[TPMS_DIGEST_LEN];
	const uint8_t *rp;
	size_t rp_len;
	TSS2_RC rc;
	int r;

	if ((rc = Tss2_Sys_GetRspAuths(t->sys, &ra)) != TSS2_RC_SUCCESS ||
	    (rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS)
		return rc;
	if (ra.count != 1)
		return RC_RSP_HMAC; /* a stripped auth area proves nothing */
	if (tpmsession_rp_hash(&t->sess, c->cc, rp, rp_len, rp_hash) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	r = tpmsession_rsp_check(&t->sess, c->auth, c->auth_len, rp_hash, a->nonce.buffer,
				 a->nonce.size, a->sessionAttributes, a->hmac.buffer, a->hmac.size);
	if (r == TPMS_OK)
		return TSS2_RC_SUCCESS;
	return r == TPMS_E_CRYPTO ? RC_SESSION_CRYPTO : RC_RSP_HMAC;
}

/* The TPM encrypted the first response parameter with the response-direction CFB key
 * (nonceTPM of this response, our nonceCaller): decrypt it in SAPI's response buffer
 * so that _Complete unmarshals the plaintext. Runs after check_response, whose rpHash
 * covers the bytes as they came and which adopts the new nonceTPM. */
static TSS2_RC decrypt_secret_response(struct tpm *t, const struct auth_cmd *c)
{
	uint8_t buf[TPMS_PARAM_MAX];
	const uint8_t *p, *rp;
	size_t len, rp_len;
	TSS2_RC rc;

	if ((rc = Tss2_Sys_GetRpBuffer(t->sys, &rp_len, &rp)) != TSS2_RC_SUCCESS ||
	    (rc = Tss2_Sys_GetEncryptParam(t->sys, &len, &p)) != TSS2_RC_SUCCESS)
		return rc;
	/* SAPI takes the TPM2B's size field on trust: it must lie inside the parameters. */
	if (rp_len < 2 || len > rp_len - 2 || len > sizeof(buf))
		return TSS2_SYS_RC_MALFORMED_RESPONSE;
	memcpy(buf, p, len);
	if (tpmsession_decrypt_response_param(&t->sess, c->auth, c->auth_len, buf, len) !=
	    TPMS_OK)
		rc = RC_SESSION_CRYPTO;
	else
		rc = Tss2_Sys_SetEncryptParam(t->sys, len, buf);
	OPENSSL_cleanse(buf, len);
	return rc;
}

/* Overwrites the first response parameter in SAPI's buffer once _Complete copied it
 * out, so no plaintext stays behind in the context. Best effort: nothing to do when
 * the command failed and there is no parameter. */
static void wipe_response_param(struct tpm *t)
{
	static const uint8_t zeros[TPMS_PARAM_MAX];
	const uint8_t *p;
	size_t len;

	if (Tss2_Sys_GetEncryptParam(t->sys, &len, &p) == TSS2_RC_SUCCESS && len <= sizeof(zeros))
		(void)Tss2_Sys_SetEncryptParam(t->sys, len, zeros);
}

static TSS2_RC exec_session(struct tpm *t, const struct auth_cmd *c)
{
	TSS2L_SYS_AUTH_COMMAND ca = { .count = 1 };
	TPMS_AUTH_COMMAND *a = &ca.auths[0];
	struct tpmsession_name name = { c->name, c->name_len };
	uint8_t attrs = TPMS_ATTR_CONTINUE | (c->secret_param ? TPMS_ATTR_DECRYPT : 0) |
			(c->secret_response ? TPMS_ATTR_ENCRYPT : 0);
	uint8_t cp_hash[TPMS_DIGEST_LEN];
	const uint8_t *cp;
	size_t cp_len;
	TSS2_RC rc;

	if (tpmsession_roll_caller_nonce(&t->sess) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	if (c->secret_param && (rc = encrypt_secret_param(t, c)) != TSS2_RC_SUCCESS)
		return rc;
	if ((rc = Tss2_Sys_GetCpBuffer(t->sys, &cp_len, &cp)) != TSS2_RC_SUCCESS)
		return rc;
	a->sessionHandle = t->sess.handle;
	a->sessionAttributes = attrs;
	a->nonce.size = (UINT16)t->sess.sec->nonce_caller_len;
	memcpy(a->nonce.buffer, t->sess.sec->nonce_caller, t->sess.sec->nonce_caller_len);
	a->hmac.size = TPMS_DIGEST_LEN;
	if (tpmsession_cp_hash(&t->sess, c->cc, &name, 1, cp, cp_len, cp_hash) != TPMS_OK ||
	    tpmsession_cmd_hmac(&t->sess, c->auth, c->auth_len, cp_hash, attrs,
				a->hmac.buffer) != TPMS_OK)
		return RC_SESSION_CRYPTO;
	if ((rc = Tss2_Sys_SetCmdAuths(t->sys, &ca)) != TSS2_RC_SUCCESS)
		return rc;
	/* From here until a response proves itself, the nonces are in doubt. */
	t->sess_unsure = 1;
	rc = Tss2_Sys_Execute(t->sys);
	if (rc != TSS2_RC_SUCCESS && rc_from_tpm(rc))
		t->sess_unsure = 0; /* an error response: the TPM rolled no nonce */
	if (rc != TSS2_RC_SUCCESS || (rc = check_response(t, c)) != TSS2_RC_SUCCESS)
		return rc;
	t->sess_unsure = 0;
	return c->secret_response ? decrypt_secret_response(t, c) : TSS2_RC_SUCCESS;
}

/* A command of a key with a policy (tpm_policy.c ran it in t->prun): the same exchange
 * as exec_session with the policy session's keys and nonces, swapped in for the call.
 * The key's auth value enters the HMAC only when the policy asserted PolicyAuthValue. */
static TSS2_RC exec_policy(struct tpm *t, const struct auth_cmd *c)
{
	struct auth_cmd pc = *c;
	struct tpmsession keep = t->sess;
	TSS2_RC rc;

	if (!t->prun->auth_value) {
		pc.auth = NULL;
		pc.auth_len = 0;
	}
	t->sess = t->prun->sess;
	rc = exec_session(t, &pc);
	t->prun->sess = t->sess;
	t->sess = keep;
	return rc;
}

static int is_policy_key(const struct tpm *t, const struct auth_cmd *c)
{
	return t->prun != NULL && t->prun->name_len == c->name_len &&
	       memcmp(t->prun->name, c->name, c->name_len) == 0;
}

/* Runs the command the caller just prepared with Tss2_Sys_<Cmd>_Prepare. */
static TSS2_RC run_auth(struct tpm *t, const struct auth_cmd *c)
{
	if (c->auth_len > TPMS_AUTH_MAX || c->name_len == 0 || c->name_len > TPMS_NAME_MAX)
		return TSS2_SYS_RC_BAD_VALUE;
	if (is_policy_key(t, c))
		return exec_policy(t, c);
	return t->plain ? exec_password(t, c) : exec_session(t, c);
}

/* ---- losing and regaining the TPM's state ---- */

enum lost { LOST_NONE, LOST_SESSION, LOST_OBJECTS, LOST_CONNECTION };

/* What a response code of the TPM says we lost: the session only, our loaded objects
 * (the TPM restarted: the session went with them), or, for a connection that failed
 * before a command went out, the connection. after_failure handles the rest. */
static enum lost what_was_lost(TSS2_RC rc)
{
	TSS2_RC b = rc_base(rc);

	if (rc_is_conn(rc))
		return LOST_CONNECTION;
	if (!rc_from_tpm(rc))
		return LOST_NONE;
	if (b >= TPM2_RC_REFERENCE_S0 && b <= TPM2_RC_REFERENCE_S0 + 6)
		return LOST_SESSION;
	if (b == TPM2_RC_HANDLE && (rc & TPM2_RC_S))
		return LOST_SESSION;
	if (b == TPM2_RC_INITIALIZE || b == TPM2_RC_HANDLE ||
	    (b >= TPM2_RC_REFERENCE_H0 && b <= TPM2_RC_REFERENCE_H0 + 6))
		return LOST_OBJECTS;
	return LOST_NONE;
}

static int loaded_index(const struct tpm *t, const struct tpm_key *k)
{
	size_t i;

	for (i = 0; i < t->n_loaded; i++)
		if (t->loaded[i] == k)
			return (int)i;
	return -1;
}

/* Drops loaded[i] from our table (not from the TPM). */
static void forget_slot(struct tpm *t, size_t i)
{
	t->loaded[i]->state.handle = 0;
	t->loaded[i] = t->loaded[--t->n_loaded];
}

/* Flushes loaded[i] and forgets it. */
static void flush_slot(struct tpm *t, size_t i)
{
	flush_handle(t, t->loaded[i]->state.handle);
	forget_slot(t, i);
}

/* A new connection, from the TCTI up: a TPM without a resource manager is swept of
 * everything (our old objects and session included); behind a manager they went with
 * the old connection; for a TCTI of unknown kind ours are flushed by handle. Either
 * way nothing of ours stays in the TPM, and the key table starts empty. */
static int reconnect(struct tpm *t, struct errmsg *e)
{
	TPM2_HANDLE old_srk = t->info.hierarchy == TPM_HIER_NULL ? t->srk_tpm : 0;
	int r;

	drop_connection(t);
	t->info.reconnects++;
	if ((r = connect_tpm(t, e)) != 0)
		return r;
	if (!t->info.raw_tpm) {
		for (size_t i = 0; i < t->n_loaded; i++)
			flush_handle(t, t->loaded[i]->state.handle);
		if (old_srk != 0)
			flush_handle(t, old_srk);
		if (t->sess.handle != 0)
			flush_handle(t, t->sess.handle);
	}
	while (t->n_loaded > 0)
		forget_slot(t, t->n_loaded - 1);
	tpmsession_forget(&t->sess);
	t->info.session_handle = 0;
	t->sess_unsure = 0;
	t->srk_tpm = 0;
	return srk_setup(t, e);
}

/* Regains what was lost: a new connection, the TPM's lost objects, or a fresh session
 * (a session is never used again once its nonces are in doubt). */
static int recover(struct tpm *t, enum lost what, struct errmsg *e)
{
	if (what == LOST_CONNECTION && reconnect(t, e) != 0)
		return -1;
	if (what == LOST_OBJECTS && t->sys != NULL)
		(void)Tss2_Sys_Startup(t->sys, TPM2_SU_CLEAR); /* harmless when started */
	if (what == LOST_OBJECTS && t->info.hierarchy == TPM_HIER_NULL) {
		/* The transient SRK went with the reset (and the null seed with it). */
		if (t->srk != ESYS_TR_NONE)
			(void)Esys_TR_Close(t->esys, &t->srk);
		t->srk = ESYS_TR_NONE;
		if (srk_setup(t, e) != 0)
			return -1;
	}
	while (what == LOST_OBJECTS && t->n_loaded > 0)
		forget_slot(t, t->n_loaded - 1);
	if (!t->plain) {
		session_close(t);
		if (session_open(t, e) != 0)
			return -1;
	}
	t->sess_unsure = 0;
	t->info.session_restarts++;
	return 0;
}

int tpm_ready(struct tpm *t, struct errmsg *e)
{
	enum lost what = LOST_NONE;
	unsigned missed_s;
	int r, stuck;

	if (tcti_guard_aborted(t->guard))
		return errmsg_set(e, "tpm: the agent is stopping"), TPM_E_NO_ANSWER;
	if (t->sys == NULL || tcti_guard_dirty(t->guard) || layers_suspect)
		what = LOST_CONNECTION;
	else if (t->sess_unsure)
		what = LOST_SESSION;
	if (what == LOST_NONE || (what == LOST_SESSION && t->plain))
		return 0;
	/* After a missed deadline, a short probe: a TPM still stuck fails this request
	 * at once instead of costing it another full tpm-timeout. */
	stuck = tcti_guard_missed(t->guard, &missed_s);
	tcti_guard_probe(t->guard, stuck);
	r = recover(t, what, e);
	tcti_guard_probe(t->guard, 0);
	if (r == 0)
		return 0;
	if (tcti_guard_missed(t->guard, &missed_s)) {
		drop_connection(t);
		errmsg_set(e, "tpm: no answer in %u s to an earlier request, and still none; the "
			   "agent tries again at the next request (tpm-timeout)", missed_s);
		return TPM_E_NO_ANSWER;
	}
	return t->sys == NULL ? TPM_E_CONN : TPM_E_FAIL;
}

/* After op failed with rc: back to a clean connection and session. Returns 1 when op
 * may run once more: only when the TPM answered that it lost state (the command did
 * not run) or nothing went out. After a bad, missing or late response the request
 * fails: one bad response costs that one request. */
static int after_failure(struct tpm *t, TSS2_RC rc, uint64_t sent_before)
{
	struct errmsg ignored = { "" };
	int sent = tcti_guard_sent(t->guard) != sent_before;
	enum lost what;

	if (rc == GUARD_RC_ABORTED || tcti_guard_aborted(t->guard))
		return 0;
	if (rc == GUARD_RC_NO_ANSWER) {
		/* The TPM may answer late: nothing more on this connection. */
		drop_connection(t);
		return 0;
	}
	if (tcti_guard_dirty(t->guard) || (sent && !rc_from_tpm(rc) && rc != RC_RSP_HMAC)) {
		(void)recover(t, LOST_CONNECTION, &ignored);
		return 0;
	}
	if (rc == RC_RSP_HMAC || t->sess_unsure) {
		if (!t->plain)
			(void)recover(t, LOST_SESSION, &ignored);
		return 0;
	}
	what = what_was_lost(rc);
	if (what == LOST_NONE || (t->plain && what == LOST_SESSION))
		return 0;
	return recover(t, what, &ignored) == 0;
}

/* Runs op; TPM_RC_RETRY and the like are resent at once. */
static TSS2_RC op_retried(struct tpm *t, TSS2_RC (*op)(struct tpm *, void *), void *arg)
{
	TSS2_RC rc;
	int n = 0;

	/* Safe to resend: the TPM did not run the command, so no nonce rolled. */
	do
		rc = op(t, arg);
	while (rc_is_retry(rc) && ++n < RETRY_MAX);
	return rc;
}

/* Runs op on a clean connection; after a failure, regains a clean state and, when
 * after_failure allows, runs it once more. */
static TSS2_RC with_recovery(struct tpm *t, TSS2_RC (*op)(struct tpm *, void *), void *arg)
{
	struct errmsg ignored = { "" };
	uint64_t sent;
	TSS2_RC rc;
	int r;

	if (t->srk_refused)
		return TPM_RC_SRK_REFUSED;
	/* An earlier reconnect failed (the TPM was still away), or the last failure left
	 * the connection or the session in doubt: regain them first. */
	if ((r = tpm_ready(t, &ignored)) != 0)
		return tcti_guard_aborted(t->guard) ? GUARD_RC_ABORTED :
		       r == TPM_E_NO_ANSWER ? GUARD_RC_NO_ANSWER : TSS2_TCTI_RC_NO_CONNECTION;
	sent = tcti_guard_sent(t->guard);
	rc = op_retried(t, op, arg);
	if (rc != TSS2_RC_SUCCESS && after_failure(t, rc, sent)) {
		sent = tcti_guard_sent(t->guard);
		rc = op_retried(t, op, arg);
		if (rc != TSS2_RC_SUCCESS)
			(void)after_failure(t, rc, sent);
	}
	recovered_rc = rc;
	return rc;
}

/* The transient null-hierarchy SRK takes one of the slots counted at read_info. */
static int reserve_srk_slot(struct tpm *t, struct errmsg *e)
{
	if (t->slots <= 1)
		return errmsg_set(e, "tpm: hierarchy = null needs a transient slot for the SRK "
				  "and one for a key; this TPM reports %zu free", t->slots);
	t->slots--;
	return 0;
}

int tpm_open(const struct tpm_options *o, struct tpm **out, struct errmsg *e)
{
	struct tpm *t;
	long holder;
	int r;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return errmsg_set(e, "tpm: out of memory");
	t->srk = ESYS_TR_NONE;
	t->plain = o->plain_sessions != 0;
	snprintf(t->info.tcti, sizeof(t->info.tcti), "%s", o->tcti ? o->tcti : TPM_TCTI_DEFAULT);
	t->info.srk_handle = o->srk_handle ? o->srk_handle : TPM_SRK_HANDLE_DEFAULT;
	t->info.hierarchy = o->hierarchy;
	if (o->srk_pin_len > sizeof(t->srk_pin)) {
		free(t);
		return errmsg_set(e, "tpm: a pinned SRK name of %zu bytes", o->srk_pin_len);
	}
	if (o->srk_pin_len > 0 && o->hierarchy != TPM_HIER_NULL) {
		memcpy(t->srk_pin, o->srk_pin, o->srk_pin_len);
		t->srk_pin_len = (uint16_t)o->srk_pin_len;
	}
	if (tpm_hierarchy_name(o->hierarchy) == NULL) {
		free(t);
		return errmsg_set(e, "tpm: unknown hierarchy %d", o->hierarchy);
	}
	t->info.parent = o->hierarchy == TPM_HIER_NULL ? TPM2_RH_NULL :
			 o->hierarchy == TPM_HIER_ENDORSEMENT ? TPM2_RH_ENDORSEMENT :
			 t->info.srk_handle;
	if ((t->info.srk_handle >> 24) != TPM2_HT_PERSISTENT) {
		free(t);
		return errmsg_set(e, "tpm: SRK handle 0x%08x is not a persistent handle "
				  "(0x81000000-0x81ffffff)", o->srk_handle);
	}
	if ((t->guard = tcti_guard_new(t->info.tcti)) == NULL) {
		free(t);
		return errmsg_set(e, "tpm: out of memory");
	}
	t->tcti = tcti_guard_tcti(t->guard);
	t->info.timeout_s = o->timeout_s ? o->timeout_s : GUARD_TIMEOUT_DEFAULT_S;
	t->info.create_timeout_s = o->create_timeout_s ? o->create_timeout_s :
				   GUARD_CREATE_TIMEOUT_DEFAULT_S;
	tcti_guard_set_deadlines(t->guard, t->info.timeout_s, t->info.create_timeout_s);
	t->info.raw_tpm = tcti_guard_raw_tpm(t->guard);
	if (t->info.raw_tpm && tcti_guard_lock(t->guard, &holder) != 0) {
		tcti_guard_free(t->guard);
		free(t);
		return errmsg_set(e, "tpm: another tpm-agent (pid %ld) uses the TPM at '%s', "
				  "which has no resource manager: two agents there would flush "
				  "each other's sessions (and a reused session handle costs a "
				  "dictionary-attack try); stop that agent, or share the TPM "
				  "through tpm2-abrmd (--tcti tabrmd:bus_type=session)",
				  holder, o->tcti ? o->tcti : TPM_TCTI_DEFAULT);
	}
	/* tpm2-tss logs every failure to stderr; our error messages say it better. */
	setenv("TSS2_LOG", "all+none", 0);
	if ((r = connect_tpm(t, e)) == 0 && (r = read_info(t, e)) == 0 &&
	    (r = srk_setup(t, e)) == TPM_E_SRK_REFUSED) {
		*out = t; /* refusing: see tpm_srk_refused */
		return 0;
	}
	if (r != 0 ||
	    (t->info.hierarchy == TPM_HIER_NULL && (r = reserve_srk_slot(t, e)) != 0) ||
	    (r = session_open(t, e)) != 0) {
		tpm_close(t);
		/* A rejected owner password is no wrong PIN the caller could re-ask. */
		return r == TPM_E_CONN ? r : TPM_E_FAIL;
	}
	*out = t;
	return 0;
}

int tpm_get_info(struct tpm *t, struct tpm_info *info, struct errmsg *e)
{
	if (t == NULL)
		return errmsg_set(e, "tpm: not connected");
	*info = t->info;
	return 0;
}

int tpm_srk_repin(struct tpm *t, uint8_t *name, size_t cap, size_t *len, struct errmsg *e)
{
	int r;

	*len = 0;
	if (t->info.hierarchy == TPM_HIER_NULL)
		return errmsg_set(e, "tpm: hierarchy = null makes a new SRK at every TPM reset: "
				  "there is nothing to pin");
	while (t->n_loaded > 0)
		flush_slot(t, t->n_loaded - 1);
	if (!t->plain && t->sys != NULL)
		session_close(t);
	t->srk_pin_len = 0;
	t->srk_refused = 0;
	srk_refusal_forget();
	if (t->sys == NULL) {
		r = reconnect(t, e);
	} else {
		if (t->srk != ESYS_TR_NONE)
			(void)Esys_TR_Close(t->esys, &t->srk);
		t->srk = ESYS_TR_NONE;
		r = srk_setup(t, e);
	}
	if (r == 0)
		r = session_open(t, e);
	if (r != 0)
		return r == TPM_E_CONN ? r : TPM_E_FAIL;
	return tpm_srk_name(t, name, cap, len) == 0 ? 0 :
	       errmsg_set(e, "tpm: the SRK name does not fit");
}

/* ---- loaded keys ---- */

/* Object contexts (unlike session contexts) may be loaded any number of times, so
 * one save serves every later eviction of the key. */
static void save_context(struct tpm *t, struct tpm_key *k)
{
	TPMS_CONTEXT ctx;
	size_t off = 0;

	k->state.saved_len = 0;
	if (k->state.name_len == 0 ||
	    Tss2_Sys_ContextSave(t->sys, k->state.handle, &ctx) != TSS2_RC_SUCCESS)
		return;
	if (Tss2_MU_TPMS_CONTEXT_Marshal(&ctx, k->state.saved, sizeof(k->state.saved), &off) ==
	    TSS2_RC_SUCCESS)
		k->state.saved_len = (uint16_t)off;
}

/* Evicts the least recently used key; returns 1 so it can sit in a loop condition. */
static int evict_lru(struct tpm *t)
{
	size_t i, lru = 0;

	for (i = 1; i < t->n_loaded; i++)
		if (t->loaded[i]->state.last_use < t->loaded[lru]->state.last_use)
			lru = i;
	if (t->loaded[lru]->state.saved_len == 0)
		save_context(t, t->loaded[lru]);
	flush_slot(t, lru);
	return 1;
}

/* Parses the blobs of k (they came from disk: hostile until proven otherwise). */
static int unmarshal_pub(const struct tpm_key *k, TPM2B_PUBLIC *pub, struct errmsg *e)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(pub, 0, sizeof(*pub));
	if (k->pub_len == 0 || k->pub_len > sizeof(k->pub))
		return errmsg_set(e, "tpm: the key's public blob is empty or too large (%zu bytes)",
				  k->pub_len);
	rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(k->pub, k->pub_len, &off, pub);
	if (rc != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: the key's public blob is malformed: %s", Tss2_RC_Decode(rc));
	if (off != k->pub_len)
		return errmsg_set(e, "tpm: the key's public blob has %zu trailing bytes",
				  k->pub_len - off);
	return 0;
}

static int unmarshal_priv(const struct tpm_key *k, TPM2B_PRIVATE *priv, struct errmsg *e)
{
	size_t off = 0;
	TSS2_RC rc;

	memset(priv, 0, sizeof(*priv));
	if (k->priv_len == 0 || k->priv_len > sizeof(k->priv))
		return errmsg_set(e, "tpm: the key's private blob is empty or too large (%zu bytes)",
				  k->priv_len);
	rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(k->priv, k->priv_len, &off, priv);
	if (rc != TSS2_RC_SUCCESS)
		return errmsg_set(e, "tpm: the key's private blob is malformed: %s", Tss2_RC_Decode(rc));
	if (off != k->priv_len)
		return errmsg_set(e, "tpm: the key's private blob has %zu trailing bytes",
				  k->priv_len - off);
	return 0;
}

static const char *load_remedy(TSS2_RC rc, size_t n_loaded, int hierarchy)
{
	TSS2_RC b = rc_base(rc);

	if (b == TPM2_RC_INTEGRITY && hierarchy == TPM_HIER_NULL)
		return "hierarchy = null: the key was made before the TPM was last reset "
		       "(a reboot), and null-hierarchy keys stop loading then; make a new key";
	if (b == TPM2_RC_INTEGRITY)
		return "the key was made by another TPM or under another SRK: "
		       "was the TPM cleared or the SRK replaced?";
	if (b == TPM2_RC_OBJECT_MEMORY && n_loaded == 0)
		return "other programs hold all transient slots; use the kernel resource "
		       "manager (device:/dev/tpmrm0)";
	return NULL;
}

static TSS2_RC context_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h)
{
	TPMS_CONTEXT ctx;
	size_t off = 0;
	TSS2_RC rc;

	rc = Tss2_MU_TPMS_CONTEXT_Unmarshal(k->state.saved, k->state.saved_len, &off, &ctx);
	if (rc == TSS2_RC_SUCCESS && off != k->state.saved_len)
		rc = TSS2_MU_RC_BAD_SIZE;
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_ContextLoad(t->sys, &ctx, h);
	return rc;
}

/* TPM2_Load under the SRK; the wrapped private part is the encrypted parameter. */
static TSS2_RC blob_load(struct tpm *t, struct tpm_key *k, TPM2_HANDLE *h)
{
	struct auth_cmd c = { .cc = TPM2_CC_Load, .name = t->srk_name.name,
			      .name_len = t->srk_name.size, .secret_param = 1 };
	struct errmsg ignored = { "" };
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_NAME name = { 0 };
	TSS2_RC rc = TSS2_SYS_RC_BAD_VALUE;

	if (unmarshal_pub(k, &pub, &ignored) == 0 && unmarshal_priv(k, &priv, &ignored) == 0)
		rc = Tss2_Sys_Load_Prepare(t->sys, t->srk_tpm, &priv, &pub);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (rc == TSS2_RC_SUCCESS)
		rc = run_auth(t, &c);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Load_Complete(t->sys, h, &name);
	if (rc == TSS2_RC_SUCCESS && (name.size == 0 || name.size > sizeof(k->state.name)))
		rc = TSS2_SYS_RC_MALFORMED_RESPONSE;
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	memcpy(k->state.name, name.name, name.size);
	k->state.name_len = name.size;
	return TSS2_RC_SUCCESS;
}

/* Someone else holds transient slots (another program on a TPM without a resource
 * manager): what TPM2_PT_HR_TRANSIENT_AVAIL says now bounds how many of ours fit, so
 * that later loads evict first instead of failing. */
static void refresh_slots(struct tpm *t)
{
	TPMS_CAPABILITY_DATA cap;
	TPMI_YES_NO more;
	size_t fit;

	if (Tss2_Sys_GetCapability(t->sys, NULL, TPM2_CAP_TPM_PROPERTIES,
				   TPM2_PT_HR_TRANSIENT_AVAIL, 1, &more, &cap, NULL) !=
	    TSS2_RC_SUCCESS || cap.data.tpmProperties.count != 1 ||
	    cap.data.tpmProperties.tpmProperty[0].property != TPM2_PT_HR_TRANSIENT_AVAIL)
		return;
	fit = t->n_loaded + cap.data.tpmProperties.tpmProperty[0].value;
	if (fit < 1)
		fit = 1;
	if (fit < t->slots)
		t->slots = fit;
}

/* Loads k if it is not: ContextLoad of its saved context when it has one (cheap),
 * else Load and ContextSave, once, so that a later miss costs at most FlushContext +
 * ContextLoad. Evicts before loading when our share of the slots is full. */
static TSS2_RC load_op(struct tpm *t, void *arg)
{
	struct tpm_key *k = arg;
	TPM2_HANDLE h = 0;
	TSS2_RC rc;
	int from_saved;

	if (loaded_index(t, k) >= 0) {
		k->state.last_use = ++t->clock;
		return TSS2_RC_SUCCESS;
	}
	k->state.handle = 0;
	while (t->n_loaded > 0 && t->n_loaded >= t->slots)
		evict_lru(t);
	for (;;) {
		from_saved = k->state.saved_len > 0 && k->state.name_len > 0;
		rc = from_saved ? context_load(t, k, &h) :
		     k->primary ? tpm_primary_load(t, k, &h) : blob_load(t, k, &h);
		if (rc == TSS2_RC_SUCCESS)
			break;
		if (rc_base(rc) == TPM2_RC_OBJECT_MEMORY) {
			refresh_slots(t);
			if (t->n_loaded == 0)
				return rc;
			evict_lru(t);
			continue;
		}
		if (!from_saved || !rc_from_tpm(rc))
			return rc;
		k->state.saved_len = 0; /* stale (the TPM was reset): load the blobs instead */
	}
	k->state.handle = h;
	if (!from_saved)
		save_context(t, k);
	k->state.last_use = ++t->clock;
	t->loaded[t->n_loaded++] = k;
	return TSS2_RC_SUCCESS;
}

int tpm_key_load(struct tpm *t, struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TSS2_RC rc;
	int bad;

	if (loaded_index(t, k) >= 0) {
		k->state.last_use = ++t->clock;
		return 0;
	}
	/* A handle we do not know (another connection's, a copied struct) means nothing. */
	k->state.handle = 0;
	bad = unmarshal_pub(k, &pub, e) != 0 || (!k->primary && unmarshal_priv(k, &priv, e) != 0);
	OPENSSL_cleanse(&priv, sizeof(priv));
	if (bad)
		return TPM_E_FAIL;
	rc = with_recovery(t, load_op, k);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, load_remedy(rc, t->n_loaded, t->info.hierarchy),
			       "cannot load the key");
	return 0;
}

void tpm_key_unload(struct tpm *t, struct tpm_key *k)
{
	int i;

	if (t == NULL || k == NULL)
		return;
	i = loaded_index(t, k);
	if (i >= 0)
		flush_slot(t, (size_t)i);
	k->state.handle = 0;
	/* The caller is done with the key: no context of it stays behind. */
	OPENSSL_cleanse(k->state.saved, sizeof(k->state.saved));
	k->state.saved_len = 0;
}

void tpm_close(struct tpm *t)
{
	if (t == NULL)
		return;
	/* Shutting down must not wait a full tpm-timeout on a stuck TPM: after one flush
	 * without an answer the guard is dirty and nothing more is sent. */
	tcti_guard_set_deadlines(t->guard, 1, 1);
	/* Flush only over a connection in a known state; otherwise (aborted, timed out,
	 * garbled) the TPM is swept at the next start when it has no resource manager. */
	if (t->sys == NULL || tcti_guard_dirty(t->guard) || tcti_guard_aborted(t->guard)) {
		while (t->n_loaded > 0)
			forget_slot(t, t->n_loaded - 1);
		tpmsession_forget(&t->sess);
		t->srk_tpm = 0;
	}
	while (t->n_loaded > 0)
		flush_slot(t, t->n_loaded - 1);
	if (t->info.hierarchy == TPM_HIER_NULL && t->srk_tpm != 0 && t->sys != NULL)
		flush_handle(t, t->srk_tpm);
	if (t->sess_ready) {
		session_close(t);
		tpmsession_free(&t->sess);
	}
	/* Last, and only over a connection in a known state: a later command would undo it. */
	if (t->orderly_shutdown && t->esys != NULL && tcti_guard_raw_tpm(t->guard) &&
	    !tcti_guard_dirty(t->guard) && !tcti_guard_aborted(t->guard))
		tpm_send_shutdown(t);
	drop_connection(t);
	tcti_guard_free(t->guard);
	free(t);
}

void tpm_abort(struct tpm *t)
{
	if (t != NULL)
		tcti_guard_abort(t->guard);
}

/* ---- public keys ---- */

static int ecc_pub(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
	size_t flen;

	switch (p->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: pub->type = SSHKEY_ECDSA_P256; flen = 32; break;
	case TPM2_ECC_NIST_P384: pub->type = SSHKEY_ECDSA_P384; flen = 48; break;
	case TPM2_ECC_NIST_P521: pub->type = SSHKEY_ECDSA_P521; flen = 66; break;
	default:
		pub->type = SSHKEY_UNSPEC;
		return errmsg_set(e, "tpm: the key is on ECC curve 0x%04x; only NIST P-256, "
				  "P-384 and P-521 are supported", p->parameters.eccDetail.curveID);
	}
	if (x->size == 0 || x->size > flen || y->size == 0 || y->size > flen)
		return errmsg_set(e, "tpm: the key's EC point has coordinates of %u and %u bytes, "
				  "not at most %zu", x->size, y->size, flen);
	/* Coordinates are left-padded to the field size: 04 || X || Y. */
	memset(pub->q, 0, sizeof(pub->q));
	pub->q[0] = 0x04;
	memcpy(pub->q + 1 + flen - x->size, x->buffer, x->size);
	memcpy(pub->q + 1 + 2 * flen - y->size, y->buffer, y->size);
	pub->q_len = 1 + 2 * flen;
	return 0;
}

static int rsa_pub(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
	unsigned bits = p->parameters.rsaDetail.keyBits;
	uint32_t exp = p->parameters.rsaDetail.exponent;
	size_t skip = 0;
	int i;

	if (bits < 1024 || bits > 8 * SSHKEY_RSA_MAX_BYTES || bits % 8 != 0 || n->size != bits / 8)
		return errmsg_set(e, "tpm: the key's RSA modulus has %u bytes for %u bits",
				  n->size, bits);
	while (skip < n->size && n->buffer[skip] == 0)
		skip++;
	if (skip == n->size)
		return errmsg_set(e, "tpm: the key's RSA modulus is zero");
	pub->type = SSHKEY_RSA;
	memcpy(pub->n, n->buffer + skip, n->size - skip);
	pub->n_len = n->size - skip;
	/* Exponent 0 is the TPM's way of saying the default, 65537. */
	if (exp == 0)
		exp = 65537;
	pub->e_len = 0;
	for (i = 3; i >= 0; i--)
		if (pub->e_len > 0 || (exp >> (8 * i)) & 0xFF)
			pub->e[pub->e_len++] = (uint8_t)(exp >> (8 * i));
	return 0;
}

static int pub_from_tpmt(const TPMT_PUBLIC *p, struct sshkey_pub *pub, struct errmsg *e)
{
	memset(pub, 0, sizeof(*pub));
	switch (p->type) {
	case TPM2_ALG_ECC:
		return ecc_pub(p, pub, e);
	case TPM2_ALG_RSA:
		return rsa_pub(p, pub, e);
	}
	return errmsg_set(e, "tpm: the key blob holds a TPM object of type 0x%04x, not an "
			  "ECC or RSA key", p->type);
}

int tpm_key_public(const struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (unmarshal_pub(k, &p, e) != 0 || pub_from_tpmt(&p.publicArea, pub, e) != 0) {
		memset(pub, 0, sizeof(*pub));
		return TPM_E_FAIL;
	}
	return 0;
}

/* ---- key creation ---- */

static int ecc_template(TPM2B_PUBLIC *p, TPM2_ECC_CURVE curve, unsigned curve_bits,
			unsigned bits, unsigned flags, struct errmsg *e)
{
	if (bits != 0 && bits != curve_bits)
		return unsupported(e, "ECDSA keys on this curve have %u bits, not %u",
				   curve_bits, bits);
	p->publicArea.type = TPM2_ALG_ECC;
	/* sign|decrypt is allowed for an unrestricted key whose scheme and KDF are NULL:
	 * the scheme is then chosen per command (ECDSA in Sign; ECDH_ZGen needs none). */
	if (flags & TPM_KEY_DECRYPT)
		p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.curveID = curve;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	return 0;
}

static int rsa_template(TPM2B_PUBLIC *p, unsigned bits, struct errmsg *e)
{
	if (bits == 4096)
		return unsupported(e, "RSA 4096 is not supported: the TPM cannot create it "
				   "(TPM 2.0 devices and swtpm top out at 3072); use -b 3072 or ECDSA");
	if (bits != 2048 && bits != 3072)
		return unsupported(e, "RSA %u is not supported: use -b 2048 or -b 3072, or ECDSA",
				   bits);
	p->publicArea.type = TPM2_ALG_RSA;
	/* Also decrypt: gpg uses RSA keys for both (the scheme stays per-operation). */
	p->publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	p->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p->publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)bits;
	p->publicArea.parameters.rsaDetail.exponent = 0;
	return 0;
}

/* Fills the template of a signing key (ECC also decrypt with TPM_KEY_DECRYPT);
 * TPM_E_UNSUPPORTED for what we do not make. */
static int key_template(enum sshkey_type type, unsigned bits, unsigned flags,
			TPM2B_PUBLIC *p, struct errmsg *e)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = KEY_ATTRS;
	if (flags & ~TPM_KEY_DECRYPT)
		return unsupported(e, "unknown key flags 0x%x", flags & ~TPM_KEY_DECRYPT);
	switch (type) {
	case SSHKEY_ECDSA_P256: return ecc_template(p, TPM2_ECC_NIST_P256, 256, bits, flags, e);
	case SSHKEY_ECDSA_P384: return ecc_template(p, TPM2_ECC_NIST_P384, 384, bits, flags, e);
	case SSHKEY_ECDSA_P521: return ecc_template(p, TPM2_ECC_NIST_P521, 521, bits, flags, e);
	case SSHKEY_RSA: return rsa_template(p, bits, e);
	default: break;
	}
	return unsupported(e, "key type %d is not supported: the TPM makes ECDSA "
			   "P-256/384/521 and RSA 2048/3072 keys", (int)type);
}

/* Marshals the TPM's output into k's blobs. */
static int store_blobs(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
		       struct tpm_key *k, struct errmsg *e)
{
	size_t pub_off = 0, priv_off = 0;
	TSS2_RC rc;

	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, k->pub, sizeof(k->pub), &pub_off);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, k->priv, sizeof(k->priv), &priv_off);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, NULL, "cannot marshal the new key");
	k->pub_len = pub_off;
	k->priv_len = priv_off;
	return 0;
}

struct create_args {
	const TPM2B_SENSITIVE_CREATE *sens;
	const TPM2B_PUBLIC *tmpl;
	TPM2B_PRIVATE *priv;
	TPM2B_PUBLIC *pub;
};

/* TPM2_Create under the SRK; inSensitive (the new key's auth value) is the
 * encrypted parameter, so the PIN never crosses the bus in clear. */
static TSS2_RC create_op(struct tpm *t, void *arg)
{
	struct create_args *a = arg;
	struct auth_cmd c = { .cc = TPM2_CC_Create, .name = t->srk_name.name,
			      .name_len = t->srk_name.size, .secret_param = 1 };
	const TPM2B_DATA outside = { 0 };
	const TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_CREATION_DATA cdata = { 0 };
	TPM2B_DIGEST chash = { 0 };
	TPMT_TK_CREATION ticket = { 0 };
	TSS2_RC rc;

	/* The TPM builds the new object in a transient slot: make room as for a load. */
	do {
		rc = Tss2_Sys_Create_Prepare(t->sys, t->srk_tpm, a->sens, a->tmpl,
					     &outside, &pcrs);
		if (rc == TSS2_RC_SUCCESS)
			rc = run_auth(t, &c);
	} while (rc_base(rc) == TPM2_RC_OBJECT_MEMORY && t->n_loaded > 0 && evict_lru(t));
	if (rc == TSS2_RC_SUCCESS) {
		memset(a->priv, 0, sizeof(*a->priv));
		memset(a->pub, 0, sizeof(*a->pub));
		rc = Tss2_Sys_Create_Complete(t->sys, a->priv, a->pub, &cdata, &chash, &ticket);
	}
	return rc;
}

int tpm_create_key(struct tpm *t, enum sshkey_type type, unsigned bits,
		   const uint8_t *auth, size_t auth_len,
		   struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	return tpm_create_key_ex(t, type, bits, 0, auth, auth_len, k, pub, e);
}

int tpm_create_key_ex(struct tpm *t, enum sshkey_type type, unsigned bits, unsigned flags,
		      const uint8_t *auth, size_t auth_len,
		      struct tpm_key *k, struct sshkey_pub *pub, struct errmsg *e)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl, out_pub;
	TPM2B_PRIVATE out_priv;
	struct create_args a = { &sens, &tmpl, &out_priv, &out_pub };
	TSS2_RC rc;
	int r;

	if ((r = key_template(type, bits, flags, &tmpl, e)) != 0)
		return r;
	if (t->create_policy != NULL) {
		/* tpm_create_key_policy: only the policy may authorise the key. */
		tmpl.publicArea.authPolicy.size = TPMS_DIGEST_LEN;
		memcpy(tmpl.publicArea.authPolicy.buffer, t->create_policy, TPMS_DIGEST_LEN);
		tmpl.publicArea.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
	}
	if (auth_len > TPM_AUTH_CREATE_MAX)
		return unsupported(e, "a PIN of %zu bytes is too long: the TPM takes at most %d",
				   auth_len, TPM_AUTH_CREATE_MAX);
	if (auth_len > 0)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	rc = with_recovery(t, create_op, &a);
	OPENSSL_cleanse(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS)
		r = tpm_err(e, rc, NULL, "cannot create the key");
	else if ((r = store_blobs(&out_pub, &out_priv, k, e)) == 0 &&
		 pub_from_tpmt(&out_pub.publicArea, pub, e) != 0)
		r = TPM_E_FAIL;
	memset(&k->state, 0, sizeof(k->state));
	return r;
}

/* ---- signing ---- */

/* No key can hold an auth value this long (a TPM2B_AUTH holds the largest digest). */
static int check_auth_len(size_t auth_len, struct errmsg *e)
{
	if (auth_len <= sizeof(((TPM2B_AUTH *)0)->buffer))
		return 0;
	errmsg_set(e, "tpm: wrong PIN (%zu bytes is longer than any TPM auth value)", auth_len);
	return TPM_E_AUTH_FAIL;
}

static int hash_alg(enum sshkey_hash h, TPMI_ALG_HASH *alg, size_t *len)
{
	switch (h) {
	case SSHKEY_HASH_SHA1:   *alg = TPM2_ALG_SHA1;   *len = 20; return 0;
	case SSHKEY_HASH_SHA256: *alg = TPM2_ALG_SHA256; *len = 32; return 0;
	case SSHKEY_HASH_SHA384: *alg = TPM2_ALG_SHA384; *len = 48; return 0;
	case SSHKEY_HASH_SHA512: *alg = TPM2_ALG_SHA512; *len = 64; return 0;
	default: return -1;
	}
}

static int sig_scheme(enum tpm_sig_scheme scheme, TPMI_ALG_HASH alg, TPMT_SIG_SCHEME *s)
{
	memset(s, 0, sizeof(*s));
	switch (scheme) {
	case TPM_SIG_ECDSA:
		s->scheme = TPM2_ALG_ECDSA;
		s->details.ecdsa.hashAlg = alg;
		return 0;
	case TPM_SIG_RSASSA:
		s->scheme = TPM2_ALG_RSASSA;
		s->details.rsassa.hashAlg = alg;
		return 0;
	case TPM_SIG_RSAPSS:
		s->scheme = TPM2_ALG_RSAPSS;
		s->details.rsapss.hashAlg = alg;
		return 0;
	}
	return -1;
}

static int sig_out(const TPMT_SIGNATURE *in, struct tpm_signature *sig, struct errmsg *e)
{
	const TPM2B_PUBLIC_KEY_RSA *rsa;

	switch (in->sigAlg) {
	case TPM2_ALG_ECDSA:
		if (in->signature.ecdsa.signatureR.size > sizeof(sig->r) ||
		    in->signature.ecdsa.signatureS.size > sizeof(sig->s))
			break;
		sig->r_len = in->signature.ecdsa.signatureR.size;
		memcpy(sig->r, in->signature.ecdsa.signatureR.buffer, sig->r_len);
		sig->s_len = in->signature.ecdsa.signatureS.size;
		memcpy(sig->s, in->signature.ecdsa.signatureS.buffer, sig->s_len);
		return 0;
	case TPM2_ALG_RSASSA:
	case TPM2_ALG_RSAPSS:
		rsa = in->sigAlg == TPM2_ALG_RSASSA ? &in->signature.rsassa.sig :
						      &in->signature.rsapss.sig;
		if (rsa->size > sizeof(sig->s))
			break;
		sig->s_len = rsa->size;
		memcpy(sig->s, rsa->buffer, sig->s_len);
		return 0;
	}
	return errmsg_set(e, "tpm: the TPM returned an unexpected signature (algorithm 0x%04x)",
			  in->sigAlg);
}

struct sign_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_DIGEST *digest;
	const TPMT_SIG_SCHEME *scheme;
	TPMT_SIGNATURE *out;
};

/* Loads the key if needed, then TPM2_Sign: the key's auth value keys the session
 * HMAC (it never crosses the bus) and the digest is the encrypted parameter. */
static TSS2_RC sign_op(struct tpm *t, void *arg)
{
	struct sign_args *a = arg;
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	struct auth_cmd c = { .cc = TPM2_CC_Sign, .auth = a->auth, .auth_len = a->auth_len,
			      .secret_param = 1 };
	TSS2_RC rc = load_op(t, a->k);

	if (rc != TSS2_RC_SUCCESS)
		return rc;
	c.name = a->k->state.name;
	c.name_len = a->k->state.name_len;
	rc = Tss2_Sys_Sign_Prepare(t->sys, a->k->state.handle, a->digest, a->scheme, &ticket);
	if (rc == TSS2_RC_SUCCESS)
		rc = run_auth(t, &c);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_Sign_Complete(t->sys, a->out);
	a->k->state.last_use = ++t->clock;
	return rc;
}

int tpm_sign(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
	     enum tpm_sig_scheme scheme, enum sshkey_hash hash,
	     const uint8_t *digest, size_t digest_len,
	     struct tpm_signature *sig, struct errmsg *e)
{
	TPM2B_DIGEST d = { 0 };
	TPMT_SIG_SCHEME s;
	TPMI_ALG_HASH alg;
	TPMT_SIGNATURE out;
	struct sign_args a = { k, auth, auth_len, &d, &s, &out };
	size_t hlen;
	TSS2_RC rc;
	int r;

	memset(sig, 0, sizeof(*sig));
	if (hash_alg(hash, &alg, &hlen) != 0 || sig_scheme(scheme, alg, &s) != 0)
		return unsupported(e, "signature scheme %d with hash %d is not supported",
				   (int)scheme, (int)hash);
	if (digest_len != hlen)
		return errmsg_set(e, "tpm: a digest of %zu bytes for a %zu-byte hash",
				  digest_len, hlen);
	if ((r = check_auth_len(auth_len, e)) != 0)
		return r;
	/* Same checks as tpm_key_load, with its messages, before any TPM command. */
	if (loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memcpy(d.buffer, digest, digest_len);
	d.size = (UINT16)digest_len;
	memset(&out, 0, sizeof(out));
	rc = with_recovery(t, sign_op, &a);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_err(e, rc, rc_base(rc) == TPM2_RC_SCHEME || rc_base(rc) == TPM2_RC_KEY ?
			       "the signature scheme does not fit the key type" : NULL,
			       "cannot sign");
	return sig_out(&out, sig, e);
}

/* ---- decryption: RSA_Decrypt and ECDH_ZGen ---- */

#define MSG_NO_DECRYPT "key was made without --decrypt; it can only sign"
#define MSG_BAD_CIPHER "decryption failed: the ciphertext does not fit this key or its " \
		       "padding is wrong"

/* RSA_Decrypt and ECDH_ZGen take only unrestricted decrypt keys (a restricted one
 * decrypts only what the TPM itself made: a storage key). */
static int attrs_can_decrypt(TPMA_OBJECT a)
{
	return (a & TPMA_OBJECT_DECRYPT) && !(a & TPMA_OBJECT_RESTRICTED);
}

int tpm_key_can_decrypt(const struct tpm_key *k, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (unmarshal_pub(k, &p, e) != 0)
		return TPM_E_FAIL;
	return attrs_can_decrypt(p.publicArea.objectAttributes);
}

/* The public area of k if it is an unrestricted decrypt key of the given type: the TPM
 * would refuse anything else, and this way the refusal says why, before any command. */
static int decrypt_key_public(const struct tpm_key *k, TPMI_ALG_PUBLIC type,
			      TPMT_PUBLIC *out, struct errmsg *e)
{
	TPM2B_PUBLIC p;

	if (unmarshal_pub(k, &p, e) != 0)
		return TPM_E_FAIL;
	if (p.publicArea.type != type)
		return unsupported(e, "%s needs an %s key and this is an %s key",
				   type == TPM2_ALG_RSA ? "RSA decryption" : "ECDH",
				   type == TPM2_ALG_RSA ? "RSA" : "ECC",
				   type == TPM2_ALG_RSA ? "ECC" : "RSA");
	if (!attrs_can_decrypt(p.publicArea.objectAttributes))
		return unsupported(e, MSG_NO_DECRYPT);
	*out = p.publicArea;
	return 0;
}

/* Runs one decrypt-side command on k: the key's auth value keys the session HMAC, the
 * first parameter (ciphertext or peer point) travels encrypted, and so does the
 * response's first parameter (the plaintext or shared point): both are secrets. */
static TSS2_RC key_secret_cmd(struct tpm *t, struct tpm_key *k, TPM2_CC cc,
			      const uint8_t *auth, size_t auth_len)
{
	struct auth_cmd c = { .cc = cc, .auth = auth, .auth_len = auth_len,
			      .name = k->state.name, .name_len = k->state.name_len,
			      .secret_param = 1, .secret_response = 1 };

	k->state.last_use = ++t->clock;
	return run_auth(t, &c);
}

struct rsa_decrypt_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_PUBLIC_KEY_RSA *cipher;
	const TPMT_RSA_DECRYPT *scheme;
	const TPM2B_DATA *label;
	TPM2B_PUBLIC_KEY_RSA *out;
};

static TSS2_RC rsa_decrypt_op(struct tpm *t, void *arg)
{
	struct rsa_decrypt_args *a = arg;
	TSS2_RC rc = load_op(t, a->k);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_RSA_Decrypt_Prepare(t->sys, a->k->state.handle, a->cipher,
						  a->scheme, a->label);
	if (rc == TSS2_RC_SUCCESS)
		rc = key_secret_cmd(t, a->k, TPM2_CC_RSA_Decrypt, a->auth, a->auth_len);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_Sys_RSA_Decrypt_Complete(t->sys, a->out);
		wipe_response_param(t);
	}
	return rc;
}

static int rsa_scheme(enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
		      TPMT_RSA_DECRYPT *s, struct errmsg *e)
{
	size_t hlen;

	memset(s, 0, sizeof(*s));
	switch (pad) {
	case TPM_RSA_RAW: s->scheme = TPM2_ALG_NULL; return 0;
	case TPM_RSA_PKCS1: s->scheme = TPM2_ALG_RSAES; return 0;
	case TPM_RSA_OAEP:
		s->scheme = TPM2_ALG_OAEP;
		if (hash_alg(oaep_hash, &s->details.oaep.hashAlg, &hlen) == 0)
			return 0;
		return unsupported(e, "OAEP with hash %d is not supported", (int)oaep_hash);
	}
	return unsupported(e, "RSA padding %d is not supported", (int)pad);
}

/* The TPM takes a label only as a NUL-terminated string (the NUL is part of it). */
static int rsa_label(enum tpm_rsa_padding pad, const uint8_t *label, size_t label_len,
		     TPM2B_DATA *out, struct errmsg *e)
{
	memset(out, 0, sizeof(*out));
	if (label_len == 0)
		return 0;
	if (pad != TPM_RSA_OAEP)
		return unsupported(e, "a label goes with OAEP only");
	if (label_len > sizeof(out->buffer) || label[label_len - 1] != 0)
		return unsupported(e, "the TPM takes an OAEP label of at most %zu bytes that ends "
				   "in a NUL byte, not %zu bytes ending in 0x%02x",
				   sizeof(out->buffer), label_len, label[label_len - 1]);
	memcpy(out->buffer, label, label_len);
	out->size = (UINT16)label_len;
	return 0;
}

/* The ciphertext as the TPM wants it: exactly the modulus long. */
static int rsa_cipher(const TPMT_PUBLIC *p, const uint8_t *cipher, size_t cipher_len,
		      TPM2B_PUBLIC_KEY_RSA *out, struct errmsg *e)
{
	size_t n_len = p->unique.rsa.size;

	memset(out, 0, sizeof(*out));
	if (cipher_len == 0 || cipher_len > n_len || n_len > sizeof(out->buffer)) {
		errmsg_set(e, "tpm: " MSG_BAD_CIPHER " (%zu bytes for a %zu-byte modulus)",
			   cipher_len, n_len);
		return TPM_E_BAD_DATA;
	}
	memcpy(out->buffer + n_len - cipher_len, cipher, cipher_len);
	out->size = (UINT16)n_len;
	return 0;
}

/* The TPM's refusals of the input, said in the caller's terms. */
static int decrypt_err(struct errmsg *e, TSS2_RC rc, const char *what, const char *bad_data)
{
	TSS2_RC b = rc_base(rc);

	/* About the key handle, not the session (whose attributes the TPM may refuse too). */
	if ((b == TPM2_RC_ATTRIBUTES || b == TPM2_RC_KEY) && !(rc & (TPM2_RC_P | TPM2_RC_S))) {
		errmsg_set(e, "tpm: %s: " MSG_NO_DECRYPT " (%s)", what, Tss2_RC_Decode(rc));
		return TPM_E_UNSUPPORTED;
	}
	/* The input parameter was refused (NO_RESULT: ZGen landed on the point at infinity). */
	if (((b == TPM2_RC_VALUE || b == TPM2_RC_SIZE || b == TPM2_RC_ECC_POINT) &&
	     (rc & TPM2_RC_P)) || b == TPM2_RC_NO_RESULT) {
		errmsg_set(e, "tpm: %s (%s)", bad_data, Tss2_RC_Decode(rc));
		return TPM_E_BAD_DATA;
	}
	if (b == TPM2_RC_SCHEME || b == TPM2_RC_HASH) {
		tpm_err(e, rc, "this TPM lacks the padding or hash asked for", "%s", what);
		return TPM_E_UNSUPPORTED;
	}
	return tpm_err(e, rc, NULL, "%s", what);
}

/* Copies the TPM's message out; RAW is left-padded to the modulus, like c^d mod n
 * written as a block of the key's size, whatever leading zeros the TPM dropped. */
static int rsa_out(const TPM2B_PUBLIC_KEY_RSA *m, enum tpm_rsa_padding pad, size_t n_len,
		   uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	size_t len = pad == TPM_RSA_RAW ? n_len : m->size;

	if (m->size > len)
		return errmsg_set(e, "tpm: the TPM returned %u bytes for a %zu-byte modulus",
				  m->size, n_len);
	if (len > out_cap)
		return errmsg_set(e, "tpm: the plaintext of %zu bytes does not fit in %zu",
				  len, out_cap);
	memset(out, 0, len - m->size);
	memcpy(out + len - m->size, m->buffer, m->size);
	*out_len = len;
	return 0;
}

/* Older libtpms (Debian 12's 0.9.2; changed by libtpms PR #444, 2024) answers a failed
 * RSA decryption with TPM_RC_FAILURE, the code of failure mode, without entering it. A TPM
 * really in failure mode says so in GetTestResult, which it must still answer. */
static int failure_was_bad_data(struct tpm *t, TSS2_RC rc)
{
	TPM2B_MAX_BUFFER out = { 0 };
	TPM2_RC result = TPM2_RC_FAILURE;

	if (rc_base(rc) != TPM2_RC_FAILURE)
		return 0;
	return Tss2_Sys_GetTestResult(t->sys, NULL, &out, &result, NULL) == TSS2_RC_SUCCESS &&
	       result == TPM2_RC_SUCCESS;
}

int tpm_rsa_decrypt(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		    enum tpm_rsa_padding pad, enum sshkey_hash oaep_hash,
		    const uint8_t *label, size_t label_len,
		    const uint8_t *cipher, size_t cipher_len,
		    uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	TPMT_PUBLIC p;
	TPM2B_PUBLIC_KEY_RSA c, m;
	TPMT_RSA_DECRYPT s;
	TPM2B_DATA l;
	struct rsa_decrypt_args a = { k, auth, auth_len, &c, &s, &l, &m };
	TSS2_RC rc;
	int r;

	*out_len = 0;
	if ((r = decrypt_key_public(k, TPM2_ALG_RSA, &p, e)) != 0 ||
	    (r = rsa_scheme(pad, oaep_hash, &s, e)) != 0 ||
	    (r = rsa_label(pad, label, label_len, &l, e)) != 0 ||
	    (r = rsa_cipher(&p, cipher, cipher_len, &c, e)) != 0 ||
	    (r = check_auth_len(auth_len, e)) != 0)
		return r;
	/* Same checks as tpm_key_load, with its messages, before any TPM command. */
	if (loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memset(&m, 0, sizeof(m));
	rc = with_recovery(t, rsa_decrypt_op, &a);
	if (rc != TSS2_RC_SUCCESS && failure_was_bad_data(t, rc)) {
		errmsg_set(e, "tpm: " MSG_BAD_CIPHER);
		r = TPM_E_BAD_DATA;
	} else if (rc != TSS2_RC_SUCCESS)
		r = decrypt_err(e, rc, "cannot decrypt", MSG_BAD_CIPHER);
	else
		r = rsa_out(&m, pad, p.unique.rsa.size, out, out_cap, out_len, e);
	OPENSSL_cleanse(&m, sizeof(m));
	return r;
}

/* ---- ECDH ---- */

static size_t curve_field_len(TPM2_ECC_CURVE curve)
{
	switch (curve) {
	case TPM2_ECC_NIST_P256: return 32;
	case TPM2_ECC_NIST_P384: return 48;
	case TPM2_ECC_NIST_P521: return 66;
	}
	return 0;
}

/* 04 || X || Y of exactly the key's field length, split into the TPM's point. */
static int ecc_in_point(size_t flen, const uint8_t *point, size_t point_len,
			TPM2B_ECC_POINT *out, struct errmsg *e)
{
	memset(out, 0, sizeof(*out));
	if (flen == 0 || flen > sizeof(out->point.x.buffer) || point_len != 1 + 2 * flen ||
	    point[0] != 0x04) {
		errmsg_set(e, "tpm: the peer's EC point is %zu bytes starting 0x%02x; this key's "
			   "curve needs an uncompressed point 04||X||Y of %zu bytes", point_len,
			   point_len > 0 ? point[0] : 0, 1 + 2 * flen);
		return TPM_E_BAD_DATA;
	}
	memcpy(out->point.x.buffer, point + 1, flen);
	memcpy(out->point.y.buffer, point + 1 + flen, flen);
	out->point.x.size = out->point.y.size = (UINT16)flen;
	return 0;
}

/* The shared point as 04 || X || Y, coordinates left-padded to the field length. */
static int ecc_out_point(const TPM2B_ECC_POINT *z, size_t flen, uint8_t *out,
			 size_t out_cap, size_t *out_len, struct errmsg *e)
{
	const TPM2B_ECC_PARAMETER *x = &z->point.x, *y = &z->point.y;

	if (x->size == 0 || x->size > flen || y->size == 0 || y->size > flen)
		return errmsg_set(e, "tpm: the TPM returned a point with coordinates of %u and "
				  "%u bytes, not at most %zu", x->size, y->size, flen);
	if (1 + 2 * flen > out_cap)
		return errmsg_set(e, "tpm: the shared point of %zu bytes does not fit in %zu",
				  1 + 2 * flen, out_cap);
	memset(out, 0, 1 + 2 * flen);
	out[0] = 0x04;
	memcpy(out + 1 + flen - x->size, x->buffer, x->size);
	memcpy(out + 1 + 2 * flen - y->size, y->buffer, y->size);
	*out_len = 1 + 2 * flen;
	return 0;
}

struct zgen_args {
	struct tpm_key *k;
	const uint8_t *auth; size_t auth_len;
	const TPM2B_ECC_POINT *in;
	TPM2B_ECC_POINT *out;
};

static TSS2_RC zgen_op(struct tpm *t, void *arg)
{
	struct zgen_args *a = arg;
	TSS2_RC rc = load_op(t, a->k);

	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_ECDH_ZGen_Prepare(t->sys, a->k->state.handle, a->in);
	if (rc == TSS2_RC_SUCCESS)
		rc = key_secret_cmd(t, a->k, TPM2_CC_ECDH_ZGen, a->auth, a->auth_len);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Tss2_Sys_ECDH_ZGen_Complete(t->sys, a->out);
		wipe_response_param(t);
	}
	return rc;
}

int tpm_ecdh_zgen(struct tpm *t, struct tpm_key *k, const uint8_t *auth, size_t auth_len,
		  const uint8_t *point, size_t point_len,
		  uint8_t *out, size_t out_cap, size_t *out_len, struct errmsg *e)
{
	TPMT_PUBLIC p;
	TPM2B_ECC_POINT in, z;
	struct zgen_args a = { k, auth, auth_len, &in, &z };
	size_t flen;
	TSS2_RC rc;
	int r;

	*out_len = 0;
	if ((r = decrypt_key_public(k, TPM2_ALG_ECC, &p, e)) != 0)
		return r;
	flen = curve_field_len(p.parameters.eccDetail.curveID);
	if ((r = ecc_in_point(flen, point, point_len, &in, e)) != 0 ||
	    (r = check_auth_len(auth_len, e)) != 0)
		return r;
	if (loaded_index(t, k) < 0 && (r = tpm_key_load(t, k, e)) != 0)
		return r;
	memset(&z, 0, sizeof(z));
	rc = with_recovery(t, zgen_op, &a);
	if (rc != TSS2_RC_SUCCESS)
		r = decrypt_err(e, rc, "ECDH failed",
				"ECDH failed: the peer's point is not on this key's curve");
	else
		r = ecc_out_point(&z, flen, out, out_cap, out_len, e);
	OPENSSL_cleanse(&z, sizeof(z));
	return r;
}

/* Frees a transient slot for an object that is not ours (tpm_policy.c's LoadExternal);
 * 0 when none of ours is loaded to evict. */
int tpm_evict_one(struct tpm *t)
{
	return t->n_loaded > 0 ? evict_lru(t) : 0;
}

/* ---- for tpm_seal.c and tpm_attest.c (declared in tpm_internal.h) ---- */

TSS2_RC tpm_run_recovering(struct tpm *t, TSS2_RC (*op)(struct tpm *, void *), void *arg)
{
	return with_recovery(t, op, arg);
}

TSS2_RC tpm_load_key_op(struct tpm *t, struct tpm_key *k)
{
	return load_op(t, k);
}

TSS2_RC tpm_create_object(struct tpm *t, const TPM2B_SENSITIVE_CREATE *sens,
			  const TPM2B_PUBLIC *tmpl, TPM2B_PRIVATE *priv, TPM2B_PUBLIC *pub)
{
	struct create_args a = { sens, tmpl, priv, pub };

	return with_recovery(t, create_op, &a);
}

TSS2_RC tpm_run_key_cmd(struct tpm *t, struct tpm_key *k, TPM2_CC cc, const uint8_t *auth,
			size_t auth_len, int secret_param, int secret_response)
{
	struct auth_cmd c = { .cc = cc, .auth = auth, .auth_len = auth_len,
			      .name = k->state.name, .name_len = k->state.name_len,
			      .secret_param = secret_param, .secret_response = secret_response };

	k->state.last_use = ++t->clock;
	return run_auth(t, &c);
}

void tpm_wipe_response(struct tpm *t)
{
	wipe_response_param(t);
}

int tpm_key_unmarshal_pub(const struct tpm_key *k, TPM2B_PUBLIC *pub, struct errmsg *e)
{
	return unmarshal_pub(k, pub, e);
}

int tpm_key_store_blobs(const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
			struct tpm_key *k, struct errmsg *e)
{
	return store_blobs(pub, priv, k, e);
}

int tpm_check_auth_len(size_t auth_len, struct errmsg *e)
{
	return check_auth_len(auth_len, e);
}

TSS2_RC tpm_run_srk_cmd(struct tpm *t, TPM2_CC cc, int secret_response)
{
	struct auth_cmd c = { .cc = cc, .name = t->srk_name.name, .name_len = t->srk_name.size,
			      .secret_response = secret_response };

	return run_auth(t, &c);
}
