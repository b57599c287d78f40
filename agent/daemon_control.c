/* daemon_control: the control commands tpm-key sends as ssh-agent EXTENSION messages
 * ("<cmd>@tpm-agent"), so tpm-key reaches the TPM through the agent that owns it.
 * Success: SSH_AGENT_SUCCESS + payload. Failure: SSH_AGENT_EXTENSION_FAILURE + string
 * message. Payloads:
 *   list:   -> uint32 n, n x (string name, string comment, string key blob, uint32 flags)
 *   gen:    string type ("ecdsa"|"rsa"|...), uint32 bits, string name, string comment
 *           [, uint32 flags (CTL_GEN_DECRYPT)] -> string name, string key blob, string comment
 *   rm:     string name -> (nothing)
 *   load:   string name -> string name, string key blob, string comment
 *   status: -> uint32 n, n x (string label, string value)
 *   cert-add, cert-list, cert-rm: see their handlers below.
 *   import: see agent/daemon_import.c. */
#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>

#include "../protocol/agentmsg.h"
#include "../pinentry/pincache.h"
#include "../protocol/control.h"
#include "daemon_ops.h"
#include "daemon_sandbox.h"
#include "daemon_hostkeys.h"
#include "daemon_pin.h"
#include "daemon_policy.h"
#include "daemon_renew.h"
#include "daemon_restrict.h"
#include "daemon_softkeys.h"
#include "daemon_srkpin.h"
#include "daemon_sshcontrol.h"
#include "../keystore/log.h"

typedef int (*control_handler)(struct agent *a, struct sshbuf *body, struct sshbuf *out,
			       struct errmsg *e);

static int put_key(struct sshbuf *out, const struct ks_key *k)
{
	int r;

	if ((r = sshbuf_put_cstring(out, k->name)) != 0 ||
	    (r = sshbuf_put_string(out, k->blob, k->blob_len)) != 0)
		return r;
	return sshbuf_put_cstring(out, k->comment);
}

/* CTL_KEY_GPG for gpg's keys; then the origin record (keyorigin.h): CTL_KEY_WRAPPED,
 * CTL_KEY_IMPORTED or 0 (made in a TPM); without one, CTL_KEY_IMPORTED for a key the
 * TPM did not make (its public area lacks sensitiveDataOrigin: TPM2_Import). */
static uint32_t key_origin(const struct ks_key *k)
{
	TPM2B_PUBLIC pub = { 0 };
	size_t off = 0;

	if (ks_key_from_gpg(k))
		return CTL_KEY_GPG;
	if (k->origin.kind != KS_ORIGIN_UNKNOWN)
		return k->origin.kind == KS_ORIGIN_WRAPPED  ? CTL_KEY_WRAPPED | CTL_KEY_IMPORTED :
		       k->origin.kind == KS_ORIGIN_IMPORTED ? CTL_KEY_IMPORTED : 0;
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(k->tk.pub, k->tk.pub_len, &off, &pub) != TSS2_RC_SUCCESS)
		return 0;
	return (pub.publicArea.objectAttributes & TPMA_OBJECT_SENSITIVEDATAORIGIN) ? 0 :
	       CTL_KEY_IMPORTED;
}

static int ctl_list(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		    struct errmsg *e)
{
	size_t n = keystore_count(a->ks);
	/* TPM keys, then the software keys (daemon_softkeys.c) */
	int r = sshbuf_put_u32(out, (uint32_t)(n + softkeys_count()));

	(void)body;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct ks_key *k = keystore_get(a->ks, i);
		uint32_t flags = (k->hidden ? CTL_KEY_HIDDEN : 0) |
				 (k->empty_auth ? CTL_KEY_EMPTY_AUTH : 0) |
				 (k->policy != NULL ? CTL_KEY_PCR : 0) |
				 (hostkey_is_host(a, k->name) ? CTL_KEY_HOST : 0) |
				 (srkpin_keys_unusable(a, NULL) || keystore_key_foreign(a->ks, k, NULL) ?
				  CTL_KEY_UNUSABLE : 0) |
				 key_origin(k);

		if ((r = sshbuf_put_cstring(out, k->name)) == 0 &&
		    (r = sshbuf_put_cstring(out, k->comment)) == 0 &&
		    (r = sshbuf_put_string(out, k->blob, k->blob_len)) == 0)
			r = sshbuf_put_u32(out, flags);
	}
	if (r == 0)
		r = softkeys_put_list(out);
	return r == 0 ? 0 : errmsg_set(e, "list: %s", sshbuf_strerror(r));
}

/* Maps "-t TYPE -b BITS" to a key type; 0 bits picks the type's default. */
static int gen_type(const char *type, unsigned *bits, enum sshkey_type *t, struct errmsg *e)
{
	if (strcmp(type, "ecdsa") == 0) {
		if (*bits == 0)
			*bits = 256;
		if (*bits == 256)
			*t = SSHKEY_ECDSA_P256;
		else if (*bits == 384)
			*t = SSHKEY_ECDSA_P384;
		else if (*bits == 521)
			*t = SSHKEY_ECDSA_P521;
		else
			return errmsg_set(e, "ECDSA keys are 256, 384 or 521 bits, not %u", *bits);
		return 0;
	}
	if (strcmp(type, "rsa") == 0) {
		if (*bits == 0)
			*bits = 3072;
		*t = SSHKEY_RSA;
		return 0;
	}
	if (strcmp(type, "ed25519") == 0 || strcmp(type, "ed25519-sk") == 0)
		return errmsg_set(e, "Ed25519 (-t ed25519) is not supported: TPM 2.0 devices have no Ed25519; "
				  "use -t ecdsa (P-256) instead");
	return errmsg_set(e, "unknown key type '%s' (use ecdsa or rsa)", type);
}

static int ctl_gen(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		   struct errmsg *e)
{
	char type[32], name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX];
	uint32_t bits, flags = 0;
	unsigned b;
	enum sshkey_type t;
	struct ks_key *k;
	struct ks_bind bind_req, *bind;
	int r;

	if ((r = sshbuf_get_cstring(body, type, sizeof(type))) != 0 ||
	    (r = sshbuf_get_u32(body, &bits)) != 0 ||
	    (r = sshbuf_get_cstring(body, name, sizeof(name))) != 0 ||
	    (r = sshbuf_get_cstring(body, comment, sizeof(comment))) != 0)
		return errmsg_set(e, "gen: malformed request: %s", sshbuf_strerror(r));
	if (sshbuf_len(body) > 0 && sshbuf_get_u32(body, &flags) != 0)
		return errmsg_set(e, "gen: malformed flags");
	if (gen_pcr_request(a, body, flags, &bind_req, &bind, e) != 0)
		return -1;
	b = bits;
	/* A PIN key's new PIN comes from the PIN job that runs this handler (daemon_pinjob.c). */
	if (!(flags & CTL_GEN_NO_PIN) && a->op_pin == NULL)
		return errmsg_set(e, "gen: the key needs a PIN and this agent cannot prompt for "
				  "one; tpm-key gen --no-pin makes a key without a PIN");
	if (gen_type(type, &b, &t, e) != 0 ||
	    keystore_generate_bound(a->ks, t, b, name, comment,
				    (flags & CTL_GEN_DECRYPT) ? KS_GEN_DECRYPT : 0,
				    (flags & CTL_GEN_NO_PIN) ? NULL : (const uint8_t *)a->op_pin,
				    (flags & CTL_GEN_NO_PIN) ? 0 : a->op_pin_len, bind, &k, e) != 0)
		return -1;
	if (hostkey_after_gen(a, k, (flags & CTL_GEN_HOST) != 0, e) != 0) /* --host */
		return -1;
	return put_key(out, k) == 0 ? 0 : errmsg_set(e, "gen: reply too large");
}

int ctl_gen_name(struct agent *a, const char *type, uint32_t bits, const char *name,
		 char *out, size_t len, struct errmsg *e)
{
	unsigned b = bits;
	enum sshkey_type t;

	if (gen_type(type, &b, &t, e) != 0)
		return -1;
	if (name[0] != '\0') {
		snprintf(out, len, "%s", name);
		return 0;
	}
	return keystore_default_name(a->ks, t, b, out, len, e);
}

static int ctl_name_arg(struct sshbuf *body, char name[STORE_NAME_MAX], struct errmsg *e)
{
	int r = sshbuf_get_cstring(body, name, STORE_NAME_MAX);

	return r == 0 ? 0 : errmsg_set(e, "malformed key name: %s", sshbuf_strerror(r));
}

static int ctl_rm(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		  struct errmsg *e)
{
	char name[STORE_NAME_MAX];

	(void)out;
	if (ctl_name_arg(body, name, e) != 0)
		return -1;
	pin_forget(a, name);
	if (keystore_delete(a->ks, name, e) != 0 || restrict_tpm_set(a, name, NULL, e) != 0)
		return -1;
	return hostkey_set(a, name, 0, e); /* a later key of that name is no host key */
}

static int ctl_load(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		    struct errmsg *e)
{
	char name[STORE_NAME_MAX];
	struct ks_key *k;

	struct cert_entry *c;
	struct dest_set *dest = NULL;
	uint32_t flags = 0, lifetime = 0;

	if (ctl_name_arg(body, name, e) != 0)
		return -1;
	if (sshbuf_len(body) > 0 && (sshbuf_get_u32(body, &flags) != 0 ||
				     sshbuf_get_u32(body, &lifetime) != 0))
		return errmsg_set(e, "load: malformed constraints");
	/* -h: destination constraints, in restrict-destination-v00@openssh.com's form */
	if (sshbuf_len(body) > 0 && dest_parse(body, &dest, e) != 0)
		return errmsg_prefix(e, "load -h");
	if (keystore_load(a->ks, name, &k, e) != 0) {
		dest_free(dest);
		return -1;
	}
	if (restrict_tpm_set(a, name, dest, e) != 0) {
		k->hidden = 1; /* never served less restricted than asked */
		return errmsg_prefix(e, "load -h");
	}
	/* Constraints are those of the latest load (ssh-add -c / -t habits). */
	k->confirm = (flags & CTL_LOAD_CONFIRM) != 0;
	k->lifetime_end = lifetime ? pincache_now() + lifetime : 0;
	agent_certs_refresh(a);
	if ((c = certstore_find_key(a->certs, name)) != NULL)
		c->hidden = 0;
	hostkeys_apply(a); /* a host key is only for tpm-agent --host, and vice versa */
	log_info("key '%s' loaded into the agent%s%s%s", name,
		 k->confirm ? " (confirm each use)" : "", lifetime ? " (with a lifetime)" : "",
		 restrict_tpm_get(name) ? " (restricted to destinations)" : "");
	return put_key(out, k) == 0 ? 0 : errmsg_set(e, "load: reply too large");
}

/* The status reply: a count, then (label, value) pairs; the count is patched in at the end. */
struct status_reply {
	struct sshbuf *out;
	size_t count_pos;   /* absolute offset of the count */
	uint32_t n;
	int r;
};

static void status_add(struct status_reply *st, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void status_add(struct status_reply *st, const char *label, const char *fmt, ...)
{
	char value[512];
	va_list ap;

	if (st->r != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if ((st->r = sshbuf_put_cstring(st->out, label)) == 0 &&
	    (st->r = sshbuf_put_cstring(st->out, value)) == 0)
		st->n++;
}

static void status_add_setting(void *arg, const char *key, const char *value)
{
	char label[96];

	snprintf(label, sizeof(label), "setting %s", key);
	status_add(arg, label, "%s", value);
}

static void status_add_pair(void *arg, const char *label, const char *value)
{
	status_add(arg, label, "%s", value);
}

static void status_tpm(struct agent *a, const struct tpm_info *info, struct status_reply *st)
{
	status_add(st, "tpm manufacturer", "%s", info->manufacturer);
	status_add(st, "tpm vendor", "%s", info->vendor);
	status_add(st, "tpm firmware", "%u.%u.%u.%u", info->firmware1 >> 16,
		   info->firmware1 & 0xffff, info->firmware2 >> 16, info->firmware2 & 0xffff);
	status_add(st, "tcti", "%s%s", a->tcti,
		   a->simulator ? " (simulator: keys are NOT hardware-protected)" : "");
	status_add(st, "srk handle", "0x%08x", a->srk_handle);
	if (info->encrypted_sessions)
		status_add(st, "tpm sessions", "salted HMAC, AES-128-CFB parameter encryption "
			   "(handle 0x%08x, %u restarts)", info->session_handle,
			   info->session_restarts);
	else
		status_add(st, "tpm sessions", "plain password sessions (--no-encrypt-sessions): "
			   "PINs cross the TPM bus in clear");
	status_add(st, "tpm deadlines", "%u s per command, %u s per key creation; %u reconnects",
		   info->timeout_s, info->create_timeout_s, info->reconnects);
	if (info->raw_tpm)
		status_add(st, "tpm leftovers", "%u sessions, %u transient objects flushed (no "
			   "resource manager: the agent owns this TPM)", info->leftover_sessions,
			   info->leftover_objects);
}

static void status_nv(struct agent *a, struct status_reply *st)
{
	struct certstore_nv_usage u;
	struct errmsg e;

	if (certstore_nv_usage(a->certs, &u, &e) != 0) {
		status_add(st, "nv certificates", "unknown: %s", e.text);
		return;
	}
	status_add(st, "nv certificate slots", "%u of %u used (max-nv-certs)", u.used, u.max);
	status_add(st, "nv space", "indices up to %u bytes; %u NV indices defined in the TPM; "
		   "room for about %u more persistent objects (the TPM's own estimate)",
		   u.index_max, u.tpm_indices_defined, u.tpm_avail_hint);
	status_add(st, "nv leftovers", "%u indices without a certificate reclaimed at start, "
		   "%u left (they need the SO PIN)", u.orphans_reclaimed, u.orphans_left);
}

static int ctl_status(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		      struct errmsg *e)
{
	struct status_reply st = { .out = out, .count_pos = out->size };
	struct tpm_info info;
	size_t hidden = 0, foreign = 0, orphans, rewritten;
	char names[256] = "";

	(void)body;
	if (tpm_get_info(a->tpm, &info, e) != 0)
		return -1;
	for (size_t i = 0; i < keystore_count(a->ks); i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		hidden += k->hidden;
		if (keystore_key_foreign(a->ks, k, NULL) && foreign++ < 4)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 names[0] ? ", " : "", k->name);
	}
	st.r = sshbuf_put_u32(out, 0);
	status_tpm(a, &info, &st);
	pin_da_status(a, status_add_pair, &st); /* counter, lockout, the last PIN failure */
	if (srkpin_keys_unusable(a, e))
		status_add(&st, "keys", "%zu, none usable: %s", keystore_count(a->ks), e->text);
	else
		status_add(&st, "keys", "%zu (%zu removed from the agent)", keystore_count(a->ks),
			   hidden);
	if (foreign > 0) /* made under an SRK this TPM no longer has (keyorigin.h) */
		status_add(&st, "keys unusable", "%zu (%s%s): not made under this TPM's SRK (a "
			   "cleared TPM, then init --repin); they cannot sign here and are not "
			   "offered; remove them with tpm-key rm", foreign, names,
			   foreign > 4 ? ", ..." : "");
	status_add(&st, "certificates", "%zu", certstore_count(a->certs));
	keystore_repairs(a->ks, &orphans, &rewritten);
	status_add(&st, "store repairs at start", "%zu .pub without .tss removed, %zu missing "
		   ".pub written", orphans, rewritten);
	status_nv(a, &st);
	srkpin_status(a, status_add_pair, &st);
	renew_status(a, status_add_pair, &st); /* each certificate: expiry, last renewal */
	status_add(&st, "data dir", "%s", a->data_dir);
	status_add(&st, "agent pid", "%d", (int)a->pid);
	status_add(&st, "agent socket", "%s", a->socket_path);
	status_add(&st, "agent version", "%s", TPM_AGENT_VERSION);
	status_add(&st, "sandbox", "%s", sandbox_describe());
	settings_each(&a->settings, status_add_setting, &st);
	if (st.r == 0)
		st.r = sshbuf_poke_u32(out, st.count_pos, st.n);
	return st.r == 0 ? 0 : errmsg_set(e, "status: %s", sshbuf_strerror(st.r));
}

static enum cert_mode cert_mode_of(uint32_t where)
{
	return where == CTL_CERT_NV ? CERT_MODE_NV :
	       where == CTL_CERT_AUTO ? CERT_MODE_AUTO : CERT_MODE_FILE;
}

/* Appends to note a warning when cert is not valid now: ssh would not use it. */
static void cert_validity_warning(const struct sshcert *cert, char *note, size_t size)
{
	uint64_t now = (uint64_t)time(NULL);
	size_t used = strlen(note);
	char when[32];
	time_t t;
	struct tm tm;

	if (sshcert_valid_at(cert, now) || used >= size)
		return;
	t = (time_t)(now < cert->valid_after ? cert->valid_after : cert->valid_before);
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	snprintf(note + used, size - used, now < cert->valid_after ?
		 "; WARNING: it is not valid before %s, servers refuse it until then" :
		 "; WARNING: it expired at %s, servers refuse it (ask your CA for a new one)",
		 when);
	log_warn("%s", note);
}

/* cert-add: string key name, string certificate line, uint32 where -> string note */
static int ctl_cert_add(struct agent *a, struct sshbuf *body, struct sshbuf *out,
			struct errmsg *e)
{
	char name[STORE_NAME_MAX], *line = calloc(1, SSHCERT_BLOB_MAX * 2 + 1), note[512];
	uint32_t where;
	struct ks_key *k;
	struct cert_entry *c = NULL;
	int r = -1;

	if (line == NULL)
		return errmsg_set(e, "out of memory");
	if (ctl_name_arg(body, name, e) != 0)
		goto done;
	if (sshbuf_get_cstring(body, line, SSHCERT_BLOB_MAX * 2 + 1) != 0 ||
	    sshbuf_get_u32(body, &where) != 0) {
		errmsg_set(e, "cert add: malformed request (certificate over %d bytes?)",
			   SSHCERT_BLOB_MAX * 2);
		goto done;
	}
	if ((k = keystore_find_name(a->ks, name)) == NULL) {
		errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
		goto done;
	}
	if ((r = certstore_add(a->certs, name, &k->pub, line, cert_mode_of(where), &c, e)) != 0)
		goto done;
	r = -1;
	if (c != NULL && c->where == CERT_IN_NV)
		snprintf(note, sizeof(note), "certificate for key '%s' (serial %llu) stored in TPM "
			 "NV index 0x%08x", name, (unsigned long long)c->cert.serial, c->nv_index);
	else
		snprintf(note, sizeof(note), "certificate for key '%s' (serial %llu) stored as a "
			 "file%s", name, c ? (unsigned long long)c->cert.serial : 0ULL,
			 where == CTL_CERT_AUTO ? " (NV slots or space exhausted)" : "");
	log_info("%s", note);
	if (c != NULL)
		cert_validity_warning(&c->cert, note, sizeof(note));
	r = sshbuf_put_cstring(out, note) == 0 ? 0 : errmsg_set(e, "reply too large");
done:
	free(line);
	return r;
}

/* cert-list: -> uint32 n, n x (string key, string blob, string comment, uint32 where,
 * uint32 nv index) */
static int ctl_cert_list(struct agent *a, struct sshbuf *body, struct sshbuf *out,
			 struct errmsg *e)
{
	size_t n;
	int r;

	(void)body;
	agent_certs_refresh(a);
	n = certstore_count(a->certs);
	r = sshbuf_put_u32(out, (uint32_t)n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct cert_entry *c = certstore_get(a->certs, i);

		if ((r = sshbuf_put_cstring(out, c->key_name)) == 0 &&
		    (r = sshbuf_put_string(out, c->blob, c->blob_len)) == 0 &&
		    (r = sshbuf_put_cstring(out, c->comment)) == 0 &&
		    (r = sshbuf_put_u32(out, c->where == CERT_IN_NV ? CTL_CERT_NV : CTL_CERT_FILE)) == 0)
			r = sshbuf_put_u32(out, c->nv_index);
	}
	return r == 0 ? 0 : errmsg_set(e, "cert list: %s", sshbuf_strerror(r));
}

/* cert-rm: string key name, uint64 serial (0 = any) */
static int ctl_cert_rm(struct agent *a, struct sshbuf *body, struct sshbuf *out,
		       struct errmsg *e)
{
	char name[STORE_NAME_MAX];
	uint64_t serial;

	(void)out;
	if (ctl_name_arg(body, name, e) != 0)
		return -1;
	if (sshbuf_get_u64(body, &serial) != 0)
		return errmsg_set(e, "cert rm: malformed request");
	int r = certstore_remove(a->certs, name, serial, e);

	if (r != 0)
		return r;
	log_info("certificate of key '%s' removed", name);
	return 0;
}

/* tpm: 0 the command needs no TPM (answered on the event loop, also while the TPM is
 * busy), 1 it does (run on the TPM worker), 2 it creates a key (a longer deadline). */
static const struct {
	const char *name;
	control_handler handler;
	int tpm;
} control_handlers[] = {
	{ CTL_LIST, ctl_list, 0 },
	{ CTL_GEN, ctl_gen, 2 },
	{ CTL_PCR_SEAL, ctl_pcr_seal, 1 },
	{ CTL_RM, ctl_rm, 1 },
	{ CTL_LOAD, ctl_load, 1 },
	{ CTL_STATUS, ctl_status, 1 },
	{ CTL_CERT_ADD, ctl_cert_add, 1 },
	{ CTL_CERT_LIST, ctl_cert_list, 0 },
	{ CTL_CERT_RM, ctl_cert_rm, 1 },
	{ CTL_DECRYPT, ctl_decrypt, 1 },
	{ CTL_SEAL, ctl_seal, 1 },
	{ CTL_UNSEAL, ctl_unseal, 1 },
	{ CTL_SEAL_LIST, ctl_seal_list, 0 },
	{ CTL_SEAL_RM, ctl_seal_rm, 0 },
	{ CTL_ATTEST, ctl_attest, 2 },
	{ CTL_ACTIVATE, ctl_activate, 1 },
	{ CTL_ENROLLED, ctl_enrolled, 0 },
	{ CTL_IMPORT, ctl_import, 2 },
	{ CTL_SRK, ctl_srk, 1 },
	{ CTL_ADD, ctl_add, 2 },           /* TPM2_Import */
	{ CTL_SUPPORTED, ctl_supported, 1 },
	{ CTL_HIERARCHY_PUB, ctl_hierarchy_pub, 2 }, /* TPM2_CreatePrimary */
	{ CTL_SANDBOX_PROBE, ctl_sandbox_probe, 0 },
};

int control_put_names(struct sshbuf *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(control_handlers) / sizeof(control_handlers[0]); i++)
		r = sshbuf_put_cstring(out, control_handlers[i].name);
	return r;
}

/* Replaces whatever the handler started with an EXTENSION_FAILURE carrying e. */
static int control_fail(struct sshbuf *out, size_t start, const struct errmsg *e)
{
	int r;

	out->size = out->off + start;
	if ((r = agentmsg_begin(out, SSH_AGENT_EXTENSION_FAILURE)) != 0 ||
	    (r = sshbuf_put_cstring(out, e->text)) != 0)
		return r;
	return agentmsg_end(out, start);
}

int control_dispatch(struct agent *a, struct conn *c, const char *name,
		     struct sshbuf *body, struct sshbuf *out)
{
	size_t start = sshbuf_len(out);
	struct errmsg e;
	int r;

	for (size_t i = 0; i < sizeof(control_handlers) / sizeof(control_handlers[0]); i++) {
		if (strcmp(control_handlers[i].name, name) != 0)
			continue;
		if (c->uid != geteuid()) {
			errmsg_set(&e, "control commands are for the agent's own user only");
			return control_fail(out, start, &e);
		}
		if (control_handlers[i].tpm &&
		    (r = tpm_defer(a, c, 1, control_handlers[i].tpm == 2, out)) != 1)
			return r;
		if ((r = agentmsg_begin(out, SSH_AGENT_SUCCESS)) != 0)
			return r;
		if ((r = control_handlers[i].handler(a, body, out, &e)) != 0) {
			log_debug("%s for pid %d failed: %s", name, (int)c->pid, e.text);
			if (r == TPM_E_OWNER_AUTH || r == CTL_E_KEY_PIN) {
				/* The caller asks the SO PIN or the key's PIN in a job, then
				 * runs the request again (daemon_pinjob.c). */
				out->size = out->off + start;
				return r == TPM_E_OWNER_AUTH ? CONTROL_NEEDS_OWNER_AUTH :
							       CONTROL_NEEDS_KEY_PIN;
			}
			return control_fail(out, start, &e);
		}
		return agentmsg_end(out, start);
	}
	return 1;
}

int ctl_key_pin(struct agent *a, const struct ks_key *k, const uint8_t **pin, size_t *len,
		struct errmsg *e)
{
	*pin = NULL;
	*len = 0;
	if (k->empty_auth)
		return 0;
	if (a->op_pin == NULL) {
		errmsg_set(e, "key '%s' has a PIN: it is asked through pinentry", k->name);
		return CTL_E_KEY_PIN;
	}
	*pin = (const uint8_t *)a->op_pin;
	*len = a->op_pin_len;
	return 0;
}

int control_run_with_key_pin(struct agent *a, const char *name, const struct sshbuf *body,
			     const uint8_t *pin, size_t len, struct sshbuf *out, struct errmsg *e)
{
	size_t start = sshbuf_len(out);
	struct sshbuf b = *body; /* the handler consumes its copy: a retry starts afresh */
	int r;

	for (size_t i = 0; i < sizeof(control_handlers) / sizeof(control_handlers[0]); i++) {
		if (strcmp(control_handlers[i].name, name) != 0)
			continue;
		if ((r = agentmsg_begin(out, SSH_AGENT_SUCCESS)) != 0)
			return errmsg_set(e, "%s: %s", name, sshbuf_strerror(r));
		a->op_pin = (const char *)pin;
		a->op_pin_len = len;
		r = control_handlers[i].handler(a, &b, out, e);
		a->op_pin = NULL;
		a->op_pin_len = 0;
		if (r == CTL_E_KEY_PIN) /* asked again without a PIN: never loop */
			r = -1;
		if (r == 0 && agentmsg_end(out, start) == 0)
			return 0;
		out->size = out->off + start;
		return r != 0 ? r : errmsg_set(e, "%s: reply too large", name);
	}
	return errmsg_set(e, "%s: not a control command", name);
}

int control_run_with_owner_auth(struct agent *a, const char *name, struct sshbuf *body,
				const uint8_t *auth, size_t len, struct sshbuf *out)
{
	size_t start = sshbuf_len(out);
	struct errmsg e;
	int r = -1;

	for (size_t i = 0; i < sizeof(control_handlers) / sizeof(control_handlers[0]); i++) {
		if (strcmp(control_handlers[i].name, name) != 0)
			continue;
		if ((r = agentmsg_begin(out, SSH_AGENT_SUCCESS)) != 0)
			return r;
		certstore_set_owner_auth(a->certs, auth, len);
		r = control_handlers[i].handler(a, body, out, &e);
		certstore_set_owner_auth(a->certs, NULL, 0);
		if (r != 0)
			return control_fail(out, start, &e);
		return agentmsg_end(out, start);
	}
	errmsg_set(&e, "%s: not a control command", name);
	return control_fail(out, start, &e);
}
