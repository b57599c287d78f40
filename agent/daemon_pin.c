/* daemon_pin: one use of a key with its PIN: confirm-on-use, the cache, the pinentry
 * dialog, wrong-PIN and lockout handling. */
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
#include "../keystore/log.h"

/* One dialog at a time, for ssh jobs and gpg threads alike: two prompts fighting over
 * one terminal would help nobody. */
static pthread_mutex_t dialog_lock = PTHREAD_MUTEX_INITIALIZER;

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
	case PINENTRY_E_MISMATCH: return PIN_E_MISMATCH;
	default: return PIN_E_PINENTRY;
	}
}

/* 1 when the prompt has somewhere to appear: a terminal (GPG_TTY) or a display. */
static int env_can_prompt(const struct pin_env_store *s)
{
	static const int where[] = { PE_GPG_TTY, PE_DISPLAY, PE_WAYLAND_DISPLAY };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		const char *v = s != NULL && s->value[where[i]] != NULL ? s->value[where[i]] :
				getenv(pin_env_names[where[i]]);

		if (v != NULL && v[0] != '\0')
			return 1;
	}
	return 0;
}

/* pinentry failed: with nowhere to draw, say what the user can do. */
static void dialog_hint(const struct dialog_ctx *d, int rc, struct errmsg *e)
{
	size_t n;

	errmsg_prefix(e, "pinentry (%s)", d->program);
	n = strlen(e->text);
	if (rc == PINENTRY_E_FAIL && !env_can_prompt(d->env) && n < sizeof(e->text))
		snprintf(e->text + n, sizeof(e->text) - n, "; no terminal (GPG_TTY) and no display "
			 "for the PIN prompt: run `tpm-key update-env` in your terminal, or "
			 "`export GPG_TTY=$(tty)` first, or use --no-pin for a key without a PIN");
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
	if (rc != PINENTRY_OK && rc != PINENTRY_E_MISMATCH)
		dialog_hint(d, rc, e);
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
		dialog_hint(d, rc, e);
	return pinentry_result(rc);
}

int pin_ask_secret(struct agent *a, const struct pin_env_store *env, const char *desc,
		   const char *prompt, char **pin, size_t *pin_len, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .prompt = prompt };
	struct dialog_ctx d;
	int r;

	/* The owner authorization (SO PIN) is DA-protected too. */
	if ((r = pin_da_gate(a, env, "the SO PIN", e)) != 0)
		return r;
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
	int r = PIN_E_MISMATCH;

	pthread_mutex_lock(&a->lock);
	dialog_ctx_take(a, env, &d);
	pthread_mutex_unlock(&a->lock);
	/* A typo in the repetition is no reason to start over: ask again. */
	for (int i = 0; i < PIN_MAX_PROMPTS && r == PIN_E_MISMATCH; i++) {
		r = dialog_getpin(&d, &p, 1, pin, pin_len, e);
		p.error = "The PINs do not match; enter the new PIN again";
	}
	pin_env_free(d.env);
	if (r == PIN_E_MISMATCH)
		errmsg_set(e, "the PINs did not match %d times; nothing was made", PIN_MAX_PROMPTS);
	else if (r == 0 && *pin_len == 0)
		r = errmsg_set(e, "no PIN entered (use --no-pin for a key without a PIN)");
	else if (r == 0 && *pin_len > PIN_AUTH_MAX)
		r = errmsg_set(e, "the PIN is %zu bytes long; a TPM key's PIN has at most %d",
			       *pin_len, PIN_AUTH_MAX);
	if (r != 0 && *pin != NULL) {
		sodium_free(*pin);
		*pin = NULL;
	}
	return r;
}

int pin_confirm(struct agent *a, const struct pin_env_store *env, const char *desc,
		const char *ok, const char *notok, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .ok = ok,
				     .notok = notok };
	struct pinentry_env pe;
	struct dialog_ctx d;
	int rc;

	pthread_mutex_lock(&a->lock);
	dialog_ctx_take(a, env, &d);
	pthread_mutex_unlock(&a->lock);
	pin_env_view(d.env, &pe);
	pthread_mutex_lock(&dialog_lock);
	rc = pinentry_confirm(d.program, &pe, &p, e);
	pthread_mutex_unlock(&dialog_lock);
	if (rc != PINENTRY_OK && rc != PINENTRY_E_NOT_CONFIRMED)
		dialog_hint(&d, rc, e);
	pin_env_free(d.env);
	return pinentry_result(rc);
}

/* ---------------------------------------------------------------- the DA lockout */

/* What this agent saw of the DA counter, and the last failed use (tpm-key status);
 * touched only with a->lock held. The TPM resets its self-healing timer at every failure, so the next
 * failure is forgotten interval s after the last one (Part 1, "Dictionary Attack
 * Protection"); the TPM does not say when that was, so we note when we saw it. */
static struct {
	uint32_t counter;
	uint64_t fail_at;        /* pincache_now() s of the last rise; 0: never seen */
	int fail_exact;          /* the rise was our own wrong PIN, seen at once */
	char last_failure[400];
} da_seen;

int pin_da_read(struct agent *a, struct pin_da *v, int after_failure)
{
	struct errmsg ignored;
	uint64_t now = mono_now();

	memset(v, 0, sizeof(*v));
	v->left = -1;
	v->next_s = -1;
	if (a->tpm == NULL || tpm_da_state(a->tpm, &v->da, &ignored) != 0 || v->da.max_tries == 0)
		return -1;
	v->known = 1;
	v->left = v->da.counter >= v->da.max_tries ? 0 : (int)(v->da.max_tries - v->da.counter);
	if (v->da.counter > da_seen.counter || (after_failure && v->da.counter > 0)) {
		da_seen.fail_at = now;
		da_seen.fail_exact = after_failure;
	}
	da_seen.counter = v->da.counter;
	if (v->da.counter == 0 || v->da.interval == 0)
		return 0;
	if (da_seen.fail_at != 0 && da_seen.fail_exact) {
		v->next_s = (int64_t)v->da.interval - (int64_t)((now - da_seen.fail_at) % v->da.interval);
		v->next_exact = 1;
	} else {
		v->next_s = v->da.interval; /* at most: the failure came before we looked */
	}
	return 0;
}

/* "about 998 s" or "at most 1000 s". */
static void da_when(const struct pin_da *v, char *out, size_t len)
{
	snprintf(out, len, "%s %lld s", v->next_exact ? "about" : "at most", (long long)v->next_s);
}

void pin_da_clear_command(const struct agent *a, char *out, size_t len)
{
	int one_client = strncmp(a->tcti, "swtpm", 5) == 0 || strncmp(a->tcti, "mssim", 5) == 0;

	snprintf(out, len, "`tpm2_dictionarylockout --clear-lockout -T %s`%s", a->tcti,
		 a->simulator ? " (the --simulator swtpm serves one client and stops with the "
				"agent: run swtpm on its state directory for that)" :
		 one_client ? " (swtpm serves one client: stop the agent first)" : "");
}

static void lockout_text(const struct agent *a, const struct pin_da *v, char *out, size_t len)
{
	char when[48], clear[512];

	da_when(v, when, sizeof(when));
	pin_da_clear_command(a, clear, sizeof(clear));
	snprintf(out, len, "TPM in dictionary-attack lockout (%u of %u wrong PINs counted): no "
		 "PIN was sent. A PIN is accepted again in %s (one failure forgotten every %u s), "
		 "or clear it now: %s", v->da.counter, v->da.max_tries, when, v->da.interval, clear);
}

/* Under the TPM lock: 1 (with the message in e) when the TPM is in lockout. */
static int in_lockout(struct agent *a, struct pin_da *v, struct errmsg *e)
{
	char text[900];

	if (pin_da_read(a, v, 0) != 0 || !v->da.in_lockout)
		return 0;
	lockout_text(a, v, text, sizeof(text));
	errmsg_set(e, "%s", text);
	return 1;
}

/* After a wrong PIN: the text for the next prompt or the final error. */
static void wrong_pin_text(const struct pin_da *v, char *text, size_t len)
{
	char when[48];

	if (!v->known)
		snprintf(text, len, "Wrong PIN");
	else if (v->left == 0) {
		da_when(v, when, sizeof(when));
		snprintf(text, len, "Wrong PIN: the TPM is now locked out (it accepts a PIN "
			 "again in %s; tpm-key status shows how to clear it)", when);
	} else {
		snprintf(text, len, "Wrong PIN (%d %s left before the TPM locks out)", v->left,
			 v->left == 1 ? "try" : "tries");
	}
}

int pin_da_gate(struct agent *a, const struct pin_env_store *env, const char *what,
		struct errmsg *e)
{
	struct pin_da v;
	char desc[512], when[48];
	int r = 0;

	agent_tpm_lock(a); /* in_lockout asks the TPM */
	if (in_lockout(a, &v, e))
		r = TPM_E_LOCKOUT;
	agent_tpm_unlock(a);
	if (r != 0 || !v.known || v.left != 1)
		return r;
	snprintf(desc, sizeof(desc), "The TPM has 1 try left: a wrong value now locks every "
		 "PIN key of this TPM (dictionary-attack lockout) for about %u s.\n\nEnter %s "
		 "anyway?", v.da.interval, what);
	r = pin_confirm(a, env, desc, "Continue", "Cancel", e);
	if (r == PIN_E_NOT_CONFIRMED || r == PIN_E_CANCELED) {
		da_when(&v, when, sizeof(when));
		errmsg_set(e, "the TPM has 1 try left before dictionary-attack lockout and the user "
			   "declined the last try: nothing was sent (the TPM forgets one failure in "
			   "%s)", when);
		r = PIN_E_NOT_CONFIRMED;
	}
	return r;
}

void pin_note_failure(struct agent *a, const char *what, const char *why)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32] = "";

	(void)a;
	if (localtime_r(&now, &tm) != NULL)
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(da_seen.last_failure, sizeof(da_seen.last_failure), "%s: %s: %s", stamp, what,
		 why);
}

void pin_da_status(struct agent *a, void (*add)(void *arg, const char *label, const char *value),
		   void *arg)
{
	struct pin_da v;
	char text[900], when[48];

	if (pin_da_read(a, &v, 0) != 0) {
		add(arg, "dictionary attack", "unknown: the TPM did not report its DA state");
	} else {
		snprintf(text, sizeof(text), "%u wrong PINs counted (TPM2_PT_LOCKOUT_COUNTER), "
			 "lockout at %u (TPM2_PT_MAX_AUTH_FAIL)", v.da.counter, v.da.max_tries);
		add(arg, "da counter", text);
		snprintf(text, sizeof(text), "%u s per failure (TPM2_PT_LOCKOUT_INTERVAL); "
			 "lockout authorization after a failure: %u s (TPM2_PT_LOCKOUT_RECOVERY)",
			 v.da.interval, v.da.recovery);
		add(arg, "da recovery time", text);
		if (v.da.in_lockout)
			lockout_text(a, &v, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "no: %d %s left", v.left,
				 v.left == 1 ? "try (the next wrong PIN locks out)" : "tries");
		add(arg, "da lockout", text);
		if (v.next_s < 0)
			snprintf(text, sizeof(text), "none counted");
		else {
			da_when(&v, when, sizeof(when));
			snprintf(text, sizeof(text), "the TPM forgets one failure in %s", when);
		}
		add(arg, "da next try in", text);
	}
	if (da_seen.last_failure[0])
		add(arg, "last PIN failure", da_seen.last_failure);
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
	struct pin_da da;  /* read before each prompt (known 0: not read or unknown) */
	char error[300];   /* SETERROR for the next prompt, "" for none */
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
	/* A stale sealed PIN must not be the try that locks the TPM out: the last try
	 * is the user's, with consent. */
	if (pin_da_read(a, &s->da, 0) == 0 && s->da.left <= 1) {
		log_warn("key '%s' for pid %d: not using the PIN sealed in '%s': the TPM has %d "
			 "tries left before lockout", s->f.name, (int)s->u->pid, sealed, s->da.left);
		return;
	}
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

/* Under the lock: the key's facts, a cached PIN, the dialog settings; and, when the PIN
 * must be asked, the DA state: in lockout nothing is asked (TPM_E_LOCKOUT). */
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
	if (s->f.empty_auth)
		return 0;
	if (s->pin == NULL && s->error[0] == '\0' && !s->u->no_cache &&
	    pincache_get(a->pins, s->f.name, mono_now(), &s->pin, &s->pin_len) == 1)
		s->from_cache = 1;
	if (s->pin == NULL && !s->tried_sealed && !s->u->no_cache)
		use_sealed_pin(s);
	if (s->pin == NULL && in_lockout(a, &s->da, e))
		return TPM_E_LOCKOUT;
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

/* The next wrong PIN would lock the TPM out: the user says so first (pinentry CONFIRM),
 * before any PIN is asked or sent. Declining sends nothing. */
static int use_last_try(struct use_state *s, struct errmsg *e)
{
	struct pinentry_prompt p = { .title = "tpm-agent", .ok = "Enter the PIN",
				     .notok = "Cancel" };
	char desc[1024], when[48];
	struct pinentry_env env;
	int rc;

	da_when(&s->da, when, sizeof(when));
	if (s->u->ask != NULL) {
		/* Loopback (gpg --pinentry-mode loopback) has no way to ask a confirmation. */
		errmsg_set(e, "the TPM has 1 try left before dictionary-attack lockout; the agent "
			   "sends that last try only after a confirmation through pinentry, which "
			   "loopback cannot give: no PIN was sent (the TPM forgets one failure in %s)",
			   when);
		return PIN_E_NOT_CONFIRMED;
	}
	snprintf(desc, sizeof(desc), "%s%sThe TPM has 1 try left: one more wrong PIN locks "
		 "every PIN key of this TPM (dictionary-attack lockout) for about %u s.\n\n"
		 "Enter the PIN of the TPM key \"%s\" to %s anyway?", s->error,
		 s->error[0] ? ".\n" : "", s->da.da.interval, s->f.name, s->u->action);
	p.desc = desc;
	pin_env_view(s->d.env, &env);
	pthread_mutex_lock(&dialog_lock);
	rc = pinentry_confirm(s->d.program, &env, &p, e);
	pthread_mutex_unlock(&dialog_lock);
	if (rc == PINENTRY_E_NOT_CONFIRMED || rc == PINENTRY_E_CANCELED) {
		errmsg_set(e, "the TPM has 1 try left before dictionary-attack lockout and the "
			   "user declined the last try: no PIN was sent (the TPM forgets one failure "
			   "in %s)", when);
		return PIN_E_NOT_CONFIRMED;
	}
	if (rc != PINENTRY_OK) {
		errmsg_prefix(e, "pinentry (%s)", s->d.program);
		return pinentry_result(rc);
	}
	snprintf(s->error, sizeof(s->error), "Last try: a wrong PIN locks the TPM out for about "
		 "%u s", s->da.da.interval);
	return 0;
}

static int use_ask(struct use_state *s, struct errmsg *e)
{
	char desc[1200], action[64];
	struct pinentry_prompt p = { .title = "tpm-agent", .prompt = "PIN:" };
	size_t n;
	int r;

	if (s->da.known && s->da.left == 1 && (r = use_last_try(s, e)) != 0)
		return r;
	snprintf(action, sizeof(action), "Enter the PIN to %s", s->u->action);
	if (s->u->desc != NULL)
		snprintf(desc, sizeof(desc), "%s", s->u->desc);
	else
		pinentry_describe_request(desc, sizeof(desc), s->f.name,
					  s->f.comment[0] ? s->f.comment : NULL, s->f.fingerprint,
					  s->u->pid, action);
	/* Failures counted before (other requests, a disorderly restart): say so at once. */
	n = strlen(desc);
	if (s->error[0] == '\0' && s->da.known && s->da.da.counter > 0 && n < sizeof(desc))
		snprintf(desc + n, sizeof(desc) - n, "\nThe TPM has counted %u wrong PIN%s: %d "
			 "tries left before it locks out.", s->da.da.counter,
			 s->da.da.counter == 1 ? "" : "s", s->da.left);
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
	int max = s->u->max_prompts > 0 ? s->u->max_prompts : PIN_MAX_PROMPTS;
	char text[900];
	int r;

	*again = 0;
	if (k == NULL)
		return key_gone(e);
	r = s->u->op(a, k, (const uint8_t *)s->pin, s->pin_len, s->u->arg, e);
	if (r == 0 && s->pin != NULL && !s->from_cache && !s->from_sealed && !s->u->no_cache)
		pincache_put(a->pins, s->f.name, s->pin, s->pin_len, s->ttl, mono_now());
	if (r == TPM_E_LOCKOUT && pin_da_read(a, &s->da, 0) == 0) {
		lockout_text(a, &s->da, text, sizeof(text));
		errmsg_set(e, "%s", text);
	}
	if (r != TPM_E_AUTH_FAIL)
		return r;
	pincache_drop(a->pins, s->f.name);
	pin_da_read(a, &s->da, 1);
	wrong_pin_text(&s->da, s->error, sizeof(s->error));
	log_warn("key '%s' for pid %d: %s%s", s->f.name, (int)s->u->pid, s->error,
		 s->from_cache ? " (the cached PIN was rejected)" :
		 s->from_sealed ? " (the PIN from the sealed object was rejected)" : "");
	/* Never a resend: another prompt, while the TPM still has tries (the last one
	 * only with the user's confirmation, use_last_try). */
	*again = s->prompts < max && s->da.left > 0;
	if (!*again)
		errmsg_set(e, "%s", s->error);
	return r;
}

int pin_use_key(struct pin_use *u, struct errmsg *e)
{
	struct use_state s = { .u = u };
	int r, again = 1;

	while (again) {
		agent_tpm_lock(u->a); /* in_lockout and use_sealed_pin ask the TPM */
		r = u->a->quit ? key_gone(e) : use_prepare(&s, e);
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
	if (r != 0 && r != PIN_E_NO_KEY) {
		pthread_mutex_lock(&u->a->lock);
		char what[STORE_NAME_MAX + 32];

		snprintf(what, sizeof(what), "%s '%s'", u->action, s.f.name);
		pin_note_failure(u->a, what, e->text);
		pthread_mutex_unlock(&u->a->lock);
	}
	drop_pin(&s);
	pin_env_free(s.d.env);
	sodium_memzero(s.error, sizeof(s.error));
	return r;
}

/* ---------------------------------------------------------------- gpg's dialogs */

int pin_dialog_new(struct agent *a, const struct pin_env_store *env,
		   const struct pinentry_prompt *p, char **pin, size_t *pin_len,
		   struct errmsg *e)
{
	struct dialog_ctx d;
	int r;

	pthread_mutex_lock(&a->lock);
	dialog_ctx_take(a, env, &d);
	pthread_mutex_unlock(&a->lock);
	r = dialog_getpin(&d, p, 1, pin, pin_len, e);
	pin_env_free(d.env);
	return r;
}

void pin_cache_new_key(struct agent *a, const char *name, const char *pin, size_t pin_len)
{
	if (a->pins != NULL && pin != NULL && pin_len > 0 && a->settings.pin_cache_ttl > 0)
		pincache_put(a->pins, name, pin, pin_len, a->settings.pin_cache_ttl, mono_now());
}
