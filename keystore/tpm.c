/* tpm: every command the agent sends to the TPM, in six files. This one holds the
 * connection (open, close, properties), the decoding of response codes, and the regaining
 * of a lost connection, session or objects. tpm_srk.c: the SRK; tpm_exec.c: the salted,
 * AES-128-CFB-encrypted HMAC session (arithmetic in tpmsession.c) and the commands run
 * through it; tpm_keys.c: loaded and public keys; tpm_create.c: key creation;
 * tpm_sign.c: signing, RSA decryption and ECDH. */
#include "tpm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_rc.h>

#include "tcti_guard.h"
#include "tpm_internal.h"
#include "tpmsession.h"

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
int rc_is_retry(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, b = rc & 0xFFF;

	if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
		return 0;
	return b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED || b == TPM2_RC_TESTING;
}

/* The TPM itself answered rc (a response code, not a failure of the layers above). */
int rc_from_tpm(TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

	return layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER;
}

/* The TCTI (or the layers above it, passing its code on) lost the TPM. */
int rc_is_conn(TSS2_RC rc)
{
	TSS2_RC base = rc & 0xFFFF;

	if (rc_from_tpm(rc))
		return 0;
	return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
	       base == TSS2_BASE_RC_NO_TPM;
}

int rc_class(TSS2_RC rc)
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
/* The failure tpm_run_recovering already recovered from, so tpm_err need not suspect it. */
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

int tpm_unsupported(struct errmsg *e, const char *fmt, ...)
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
void tpm_drop_connection(struct tpm *t)
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
		tpm_drop_connection(t);
		return r;
	}
	tpm_wait_wrap(t->tcti);
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_GetSysContext(t->esys, &t->sys);
	if (rc != TSS2_RC_SUCCESS) {
		r = tpm_err(e, rc, NULL, "cannot initialise ESAPI on '%s'", t->info.tcti);
		tpm_drop_connection(t);
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
		tpm_drop_connection(t);
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

/* TPM2_FlushContext, retried while the TPM asks; other failures mean it is gone. */
void tpm_flush_handle(struct tpm *t, TPM2_HANDLE h)
{
	int n = 0;

	if (t->sys == NULL || tcti_guard_dirty(t->guard))
		return; /* tpm_ready reconnects first; the sweep or the manager cleans up */
	while (rc_is_retry(Tss2_Sys_FlushContext(t->sys, h)) && ++n < RETRY_MAX)
		;
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

/* A new connection, from the TCTI up: a TPM without a resource manager is swept of
 * everything (our old objects and session included); behind a manager they went with
 * the old connection; for a TCTI of unknown kind ours are flushed by handle. Either
 * way nothing of ours stays in the TPM, and the key table starts empty. */
int tpm_reconnect(struct tpm *t, struct errmsg *e)
{
	TPM2_HANDLE old_srk = t->info.hierarchy == TPM_HIER_NULL ? t->srk_tpm : 0;
	int r;

	tpm_drop_connection(t);
	t->info.reconnects++;
	if ((r = connect_tpm(t, e)) != 0)
		return r;
	if (!t->info.raw_tpm) {
		for (size_t i = 0; i < t->n_loaded; i++)
			tpm_flush_handle(t, t->loaded[i]->state.handle);
		if (old_srk != 0)
			tpm_flush_handle(t, old_srk);
		if (t->sess.handle != 0)
			tpm_flush_handle(t, t->sess.handle);
	}
	while (t->n_loaded > 0)
		tpm_forget_slot(t, t->n_loaded - 1);
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
	if (what == LOST_CONNECTION && tpm_reconnect(t, e) != 0)
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
		tpm_forget_slot(t, t->n_loaded - 1);
	if (!t->plain) {
		tpm_session_close(t);
		if (tpm_session_open(t, e) != 0)
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
		tpm_drop_connection(t);
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
		tpm_drop_connection(t);
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
TSS2_RC tpm_run_recovering(struct tpm *t, TSS2_RC (*op)(struct tpm *, void *), void *arg)
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
	    (r = tpm_session_open(t, e)) != 0) {
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
			tpm_forget_slot(t, t->n_loaded - 1);
		tpmsession_forget(&t->sess);
		t->srk_tpm = 0;
	}
	while (t->n_loaded > 0)
		tpm_flush_slot(t, t->n_loaded - 1);
	if (t->info.hierarchy == TPM_HIER_NULL && t->srk_tpm != 0 && t->sys != NULL)
		tpm_flush_handle(t, t->srk_tpm);
	if (t->sess_ready) {
		tpm_session_close(t);
		tpmsession_free(&t->sess);
	}
	/* Last, and only over a connection in a known state: a later command would undo it. */
	if (t->orderly_shutdown && t->esys != NULL && tcti_guard_raw_tpm(t->guard) &&
	    !tcti_guard_dirty(t->guard) && !tcti_guard_aborted(t->guard))
		tpm_send_shutdown(t);
	tpm_drop_connection(t);
	tcti_guard_free(t->guard);
	free(t);
}

void tpm_abort(struct tpm *t)
{
	if (t != NULL)
		tcti_guard_abort(t->guard);
}

