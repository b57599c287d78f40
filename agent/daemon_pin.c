/* daemon_pin: one use of a key with its PIN: confirm-on-use, the cache, the pinentry
 * dialog, wrong-PIN and lockout handling; and the prompt environment of clients. */
#include "daemon_pin.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../keystore/tpm_policy.h"
#include "../keystore/tpm_seal.h"
#include "../pinentry/pincache.h"
#include "daemon_ops.h"
#include "log.h"

const char *const pin_env_names[PE_COUNT] = {
	"GPG_TTY", "TERM", "DISPLAY", "WAYLAND_DISPLAY", "LC_CTYPE", "LC_MESSAGES",
	"XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS",
};

/* One dialog at a time, for ssh jobs and gpg threads alike: two prompts fighting over
 * one terminal would help nobody. */
static pthread_mutex_t dialog_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------- environment */

void pin_env_free(struct pin_env_store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < PE_COUNT; i++)
		free(s->value[i]);
	free(s);
}

static int env_index(const char *name)
{
	for (int i = 0; i < PE_COUNT; i++)
		if (strcmp(pin_env_names[i], name) == 0)
			return i;
	return -1;
}

struct pin_env_store *pin_env_parse(struct sshbuf *body, struct errmsg *e)
{
	struct pin_env_store *s = calloc(1, sizeof(*s));
	char name[64], value[1024];
	uint32_t n;
	int i;

	if (s == NULL) {
		errmsg_set(e, "out of memory");
		return NULL;
	}
	if (sshbuf_get_u32(body, &n) != 0 || n > 64)
		goto bad;
	for (uint32_t j = 0; j < n; j++) {
		if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 ||
		    sshbuf_get_cstring(body, value, sizeof(value)) != 0)
			goto bad;
		if ((i = env_index(name)) >= 0 && s->value[i] == NULL &&
		    (s->value[i] = strdup(value)) == NULL)
			goto bad;
	}
	for (i = 0; i < PE_COUNT; i++) /* not sent: not set in the client, so unset */
		if (s->value[i] == NULL && (s->value[i] = strdup("")) == NULL)
			goto bad;
	return s;
bad:
	pin_env_free(s);
	errmsg_set(e, "malformed environment (uint32 n, n x (string name, string value))");
	return NULL;
}

struct pin_env_store *pin_env_dup(const struct pin_env_store *s)
{
	struct pin_env_store *d;

	if (s == NULL || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	for (int i = 0; i < PE_COUNT; i++)
		if (s->value[i] != NULL && (d->value[i] = strdup(s->value[i])) == NULL) {
			pin_env_free(d);
			return NULL;
		}
	return d;
}

void pin_env_view(const struct pin_env_store *s, struct pinentry_env *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	out->ttyname = s->value[PE_GPG_TTY];
	out->ttytype = s->value[PE_TERM];
	out->display = s->value[PE_DISPLAY];
	out->wayland_display = s->value[PE_WAYLAND_DISPLAY];
	out->lc_ctype = s->value[PE_LC_CTYPE];
	out->lc_messages = s->value[PE_LC_MESSAGES];
	out->xauthority = s->value[PE_XAUTHORITY];
	out->dbus_address = s->value[PE_DBUS_SESSION_BUS_ADDRESS];
}

/* ---------------------------------------------------------------- cache and lifetimes */

static uint64_t mono_now(void)
{
	return pincache_now();
}

size_t pin_forget(struct agent *a, const char *name)
{
	size_t n = pincache_count(a->pins);

	if (name == NULL || name[0] == '\0') {
		pincache_drop_all(a->pins);
		return n;
	}
	return (size_t)pincache_drop(a->pins, name);
}

void pin_housekeeping(struct agent *a)
{
	uint64_t now = mono_now();

	pincache_expire(a->pins, now);
	for (size_t i = 0; a->ks != NULL && i < keystore_count(a->ks); i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		if (k->lifetime_end == 0 || now < k->lifetime_end)
			continue;
		k->lifetime_end = 0;
		k->hidden = 1;
		pin_forget(a, k->name);
		log_info("key '%s' removed from the agent: its lifetime (tpm-key load -t) ended",
			 k->name);
	}
}

int pin_poll_timeout_ms(struct agent *a, int max_ms)
{
	uint64_t now = mono_now();
	int64_t next = pincache_next_expiry(a->pins, now); /* seconds, -1: nothing */

	for (size_t i = 0; a->ks != NULL && i < keystore_count(a->ks); i++) {
		uint64_t end = keystore_get(a->ks, i)->lifetime_end;
		int64_t in = end > now ? (int64_t)(end - now) : 0;

		if (end != 0 && (next < 0 || in < next))
			next = in;
	}
	if (next >= 0 && next * 1000 < max_ms)
		return (int)next * 1000;
	return max_ms;
}

/* ---------------------------------------------------------------- dialogs */

/* What the loop needs to know about the key, copied under the lock (the key itself
 * may change or go while a prompt is open). */
struct key_facts {
	char name[STORE_NAME_MAX];
	char comment[TSS2KEY_DESC_MAX];
	char fingerprint[SSHKEY_FP_MAX];
	int empty_auth, confirm;
};

static void facts_of(const struct ks_key *k, struct key_facts *f)
{
	snprintf(f->name, sizeof(f->name), "%s", k->name);
	snprintf(f->comment, sizeof(f->comment), "%s", k->comment);
	snprintf(f->fingerprint, sizeof(f->fingerprint), "%s", k->fingerprint);
	f->empty_auth = k->empty_auth;
	f->confirm = k->confirm;
}

/* What a dialog needs besides its text, taken under the lock. */
struct dialog_ctx {
	char program[PATH_MAX];
	struct pin_env_store *env; /* a copy (NULL: the agent's own environment) */
};

static void dialog_ctx_take(struct agent *a, const struct pin_env_store *env,
			    struct dialog_ctx *d)
{
	snprintf(d->program, sizeof(d->program), "%s", a->settings.pinentry_program);
	d->env = pin_env_dup(env != NULL ? env : a->ssh_env);
}

static int pinentry_result(int rc)
{
	switch (rc) {
	case PINENTRY_OK: return 0;
	case PINENTRY_E_CANCELED: return PIN_E_CANCELED;
	case PINENTRY_E_NOT_CONFIRMED: return PIN_E_NOT_CONFIRMED;
	default: return PIN_E_PINENTRY;
	}
}

static int dialog_getpin(const struct dialog_ctx *d, const struct pinentry_prompt *p, int is_new,
			 char **pin, size_t *pin_len, struct errmsg *e)
{
	struct pinentry_env env;
	int rc;

	pin_env_view(d->env, &env);
	pthread_mutex_lock(&dialog_lock);
	rc = is_new ? pinentry_getpin_new(d->program, &env, p, pin, pin_len, e) :
		      pinentry_getpin(d->program, &env, p, pin, pin_len, e);
	pthread_mutex_unlock(&dialog_lock);
	if (rc != PINENTRY_OK)
		errmsg_prefix(e, "pinentry (%s)", d->program);
	return pinentry_result(rc);
}

static int dialog_confirm(const struct dialog_ctx *d, const char *desc, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .ok = "Allow",
				     .notok = "Deny" };
	struct pinentry_env env;
	int rc;

	pin_env_view(d->env, &env);
	pthread_mutex_lock(&dialog_lock);
	rc = pinentry_confirm(d->program, &env, &p, e);
	pthread_mutex_unlock(&dialog_lock);
	if (rc == PINENTRY_E_NOT_CONFIRMED)
		errmsg_set(e, "the user refused the use of the key");
	else if (rc != PINENTRY_OK)
		errmsg_prefix(e, "pinentry (%s)", d->program);
	return pinentry_result(rc);
}

int pin_ask_secret(struct agent *a, const struct pin_env_store *env, const char *desc,
		   const char *prompt, char **pin, size_t *pin_len, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .prompt = prompt };
	struct dialog_ctx d;
	int r;

	pthread_mutex_lock(&a->lock);
	dialog_ctx_take(a, env, &d);
	pthread_mutex_unlock(&a->lock);
	r = dialog_getpin(&d, &p, 0, pin, pin_len, e);
	pin_env_free(d.env);
	return r;
}

int pin_ask_new(struct agent *a, const struct pin_env_store *env, const char *desc,
		char **pin, size_t *pin_len, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .prompt = "PIN:",
				     .repeat_prompt = "Repeat:" };
	struct dialog_ctx d;
	int r;

	pthread_mutex_lock(&a->lock);
	dialog_ctx_take(a, env, &d);
	pthread_mutex_unlock(&a->lock);
	r = dialog_getpin(&d, &p, 1, pin, pin_len, e);
	pin_env_free(d.env);
	if (r == 0 && *pin_len == 0)
		r = errmsg_set(e, "no PIN entered");
	else if (r == 0 && *pin_len > PIN_AUTH_MAX)
		r = errmsg_set(e, "the PIN is %zu bytes long; a TPM key's PIN has at most %d",
			       *pin_len, PIN_AUTH_MAX);
	if (r != 0 && *pin != NULL) {
		sodium_free(*pin);
		*pin = NULL;
	}
	return r;
}

/* ---------------------------------------------------------------- the DA lockout */

/* Under a->lock. 1 (with the message in e) when the TPM is in lockout. */
static int in_lockout(struct agent *a, struct errmsg *e)
{
	struct tpm_da da;
	struct errmsg ignored;

	if (a->tpm == NULL || tpm_da_state(a->tpm, &da, &ignored) != 0 || !da.in_lockout)
		return 0;
	errmsg_set(e, "the TPM is in dictionary-attack lockout after %u wrong PINs: it accepts "
		   "a PIN again in about %u s (one failure is forgotten every %u s), or clear it "
		   "with `tpm2_dictionarylockout --clear-lockout`; no PIN was sent",
		   da.counter, da.interval, da.interval);
	return 1;
}

/* Under a->lock, after a wrong PIN: tries left before lockout (-1 unknown), and the
 * text for the next prompt or the final error. */
static int tries_left(struct agent *a, char *text, size_t len)
{
	struct tpm_da da;
	struct errmsg ignored;
	int left;

	if (a->tpm == NULL || tpm_da_state(a->tpm, &da, &ignored) != 0 || da.max_tries == 0) {
		snprintf(text, len, "Wrong PIN");
		return -1;
	}
	left = da.counter >= da.max_tries ? 0 : (int)(da.max_tries - da.counter);
	if (left == 0)
		snprintf(text, len, "Wrong PIN: the TPM is now locked out (it accepts a PIN "
			 "again in about %u s)", da.interval);
	else
		snprintf(text, len, "Wrong PIN (%d %s left before the TPM locks out)", left,
			 left == 1 ? "try" : "tries");
	return left;
}

/* ---------------------------------------------------------------- pin_use_key */

struct use_state {
	struct pin_use *u;
	struct key_facts f;
	struct dialog_ctx d;
	char *pin; size_t pin_len;
	int from_cache;
	int from_sealed, tried_sealed; /* pin-from-sealed */
	int prompts, confirmed;
	char error[200];   /* SETERROR for the next prompt, "" for none */
	unsigned ttl;
};

static int key_gone(struct errmsg *e)
{
	errmsg_set(e, "the key is no longer in the agent (removed, or the agent is locked "
		   "or shutting down)");
	return PIN_E_NO_KEY;
}

static void drop_pin(struct use_state *s)
{
	if (s->pin != NULL)
		sodium_free(s->pin);
	s->pin = NULL;
	s->pin_len = 0;
	s->from_cache = 0;
	s->from_sealed = 0;
}

/* Under the lock, once per use: the key's PIN from its pin-from-sealed object (a
 * PCR-bound object without a PIN of its own). When that fails, s->error says why for
 * the prompt that follows, and the log says it too. */
static void use_sealed_pin(struct use_state *s)
{
	struct agent *a = s->u->a;
	char sealed[STORE_NAME_MAX], sel[64];
	struct tpm_pcr_sel ps = { 0 };
	struct errmsg e = { "" };
	uint8_t *buf;
	size_t len = 0;
	int r;

	s->tried_sealed = 1;
	if (!settings_pin_sealed(&a->settings, s->f.name, sealed, sizeof(sealed)))
		return;
	if ((buf = sodium_malloc(TPM_SEAL_MAX)) == NULL)
		r = errmsg_set(&e, "out of memory");
	else if ((r = seal_has_pin(a, sealed, &e)) == 1)
		r = errmsg_set(&e, "sealed object '%s' has a PIN of its own (seal the key's PIN "
			       "with --no-pin)", sealed);
	else if (r == 0)
		r = seal_unseal(a, sealed, NULL, 0, buf, &len, &ps, &e);
	/* A PIN sealed from `echo PIN |` ends in a newline that is no part of it. */
	if (r == 0 && len > 0 && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	if (r == 0 && (len == 0 || len > PIN_AUTH_MAX))
		r = errmsg_set(&e, "sealed object '%s' holds %zu bytes, not a PIN of 1 to %d",
			       sealed, len, PIN_AUTH_MAX);
	if (r == 0) {
		s->pin = (char *)buf;
		s->pin_len = len;
		s->from_sealed = 1;
		log_info("key '%s' for pid %d: PIN taken from sealed object '%s'", s->f.name,
			 (int)s->u->pid, sealed);
		return;
	}
	if (buf != NULL)
		sodium_free(buf);
	if (r == TPM_E_POLICY && ps.mask != 0) {
		tpm_pcr_format_mask(ps.mask, sel, sizeof(sel));
		snprintf(s->error, sizeof(s->error), "%s %s changed; the PIN could not be taken "
			 "from the sealed object", strchr(sel, ',') ? "PCRs" : "PCR", sel);
	} else {
		snprintf(s->error, sizeof(s->error), "The PIN could not be taken from the sealed "
			 "object '%s'", sealed);
	}
	log_warn("key '%s' for pid %d: %s (%s); asking for the PIN instead", s->f.name,
		 (int)s->u->pid, s->error, e.text);
}

/* Under the lock: the key's facts, a cached PIN, the dialog settings. */
static int use_prepare(struct use_state *s, struct errmsg *e)
{
	struct agent *a = s->u->a;
	struct ks_key *k = s->u->find(a, s->u->arg);

	if (k == NULL)
		return key_gone(e);
	facts_of(k, &s->f);
	s->ttl = a->settings.pin_cache_ttl;
	pin_env_free(s->d.env);
	dialog_ctx_take(a, s->u->env, &s->d);
	if (!s->f.empty_auth && s->pin == NULL && s->error[0] == '\0' && !s->u->no_cache &&
	    pincache_get(a->pins, s->f.name, mono_now(), &s->pin, &s->pin_len) == 1)
		s->from_cache = 1;
	if (!s->f.empty_auth && s->pin == NULL && !s->tried_sealed && !s->u->no_cache)
		use_sealed_pin(s);
	return 0;
}

static int use_confirm(struct use_state *s, struct errmsg *e)
{
	char desc[1024], action[64];

	snprintf(action, sizeof(action), "Allow tpm-agent to %s", s->u->action);
	pinentry_describe_request(desc, sizeof(desc), s->f.name, s->f.comment[0] ? s->f.comment : NULL,
				  s->f.fingerprint, s->u->pid, action);
	return dialog_confirm(&s->d, desc, e);
}

static int use_ask(struct use_state *s, struct errmsg *e)
{
	char desc[1024], action[64];
	struct pinentry_prompt p = { .title = "tpm-agent", .prompt = "PIN:" };
	int r;

	snprintf(action, sizeof(action), "Enter the PIN to %s", s->u->action);
	if (s->u->desc != NULL)
		snprintf(desc, sizeof(desc), "%s", s->u->desc);
	else
		pinentry_describe_request(desc, sizeof(desc), s->f.name,
					  s->f.comment[0] ? s->f.comment : NULL, s->f.fingerprint,
					  s->u->pid, action);
	p.desc = desc;
	p.error = s->error[0] ? s->error : NULL;
	s->prompts++;
	if (s->u->ask != NULL)
		r = s->u->ask(s->u->ask_arg, p.error, &s->pin, &s->pin_len, e);
	else
		r = dialog_getpin(&s->d, &p, 0, &s->pin, &s->pin_len, e);
	return r;
}

/* Under the lock: the operation itself, and what a wrong PIN means. */
static int use_run(struct use_state *s, int *again, struct errmsg *e)
{
	struct agent *a = s->u->a;
	struct ks_key *k = s->u->find(a, s->u->arg);
	int max = s->u->max_prompts > 0 ? s->u->max_prompts : PIN_MAX_PROMPTS, left, r;

	*again = 0;
	if (k == NULL)
		return key_gone(e);
	r = s->u->op(a, k, (const uint8_t *)s->pin, s->pin_len, s->u->arg, e);
	if (r == 0 && s->pin != NULL && !s->from_cache && !s->from_sealed && !s->u->no_cache)
		pincache_put(a->pins, s->f.name, s->pin, s->pin_len, s->ttl, mono_now());
	if (r == TPM_E_LOCKOUT)
		in_lockout(a, e);
	if (r != TPM_E_AUTH_FAIL)
		return r;
	pincache_drop(a->pins, s->f.name);
	left = tries_left(a, s->error, sizeof(s->error));
	log_warn("key '%s' for pid %d: %s%s", s->f.name, (int)s->u->pid, s->error,
		 s->from_cache ? " (the cached PIN was rejected)" :
		 s->from_sealed ? " (the PIN from the sealed object was rejected)" : "");
	*again = s->prompts < max && left != 0 && left != 1;
	if (!*again)
		errmsg_set(e, "%s%s", s->error, left == 1 ? "; not asking again in this request" : "");
	return r;
}

int pin_use_key(struct pin_use *u, struct errmsg *e)
{
	struct use_state s = { .u = u };
	int r, again = 1;

	while (again) {
		agent_tpm_lock(u->a); /* in_lockout and use_sealed_pin ask the TPM */
		r = u->a->quit ? key_gone(e) : use_prepare(&s, e);
		if (r == 0 && !s.f.empty_auth && s.pin == NULL && in_lockout(u->a, e))
			r = TPM_E_LOCKOUT;
		agent_tpm_unlock(u->a);
		if (r == 0 && s.f.confirm && !u->no_confirm && !s.confirmed &&
		    (r = use_confirm(&s, e)) == 0)
			s.confirmed = 1;
		if (r == 0 && !s.f.empty_auth && s.pin == NULL)
			r = use_ask(&s, e);
		if (r == 0 && s.pin_len > PIN_AUTH_MAX) {
			/* No key can have it: say so without spending a TPM try. */
			snprintf(s.error, sizeof(s.error), "A TPM key's PIN has at most %d bytes",
				 PIN_AUTH_MAX);
			drop_pin(&s);
			if (s.prompts < (u->max_prompts > 0 ? u->max_prompts : PIN_MAX_PROMPTS))
				continue; /* again is still 1 */
			r = errmsg_set(e, "%s", s.error);
		}
		if (r == 0 && u->before_op != NULL)
			r = u->before_op(u->arg, e);
		if (r != 0)
			break;
		agent_tpm_lock(u->a);
		r = u->a->quit ? key_gone(e) : use_run(&s, &again, e);
		agent_tpm_unlock(u->a);
		drop_pin(&s);
	}
	drop_pin(&s);
	pin_env_free(s.d.env);
	sodium_memzero(s.error, sizeof(s.error));
	return r;
}
