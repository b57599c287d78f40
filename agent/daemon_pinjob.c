/* daemon_pinjob: ssh requests that need a prompt run as jobs on their own threads
 * (daemon_jobs.c), so the event loop keeps serving other clients. Also our PIN control
 * extensions. */
#include "daemon_pinjob.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pinentry/pincache.h"
#include "../protocol/agentmsg.h"
#include "../keystore/tpm_seal.h"
#include "../protocol/control.h"
#include "daemon_jobs.h"
#include "daemon_offer.h"
#include "daemon_ops.h"
#include "daemon_softkeys.h"
#include "daemon_srkpin.h"
#include "../keystore/log.h"

/* ---------------------------------------------------------------- replies */

static int put_ext_failure(struct sshbuf *out, const char *text)
{
	return agentmsg_put_ext_failure(out, text);
}

static int ctl_reply(struct sshbuf *out, int ok, const char *note);
static int control_or_job(struct agent *a, struct conn *c, const char *name,
			  struct sshbuf *body, struct sshbuf *out);

/* ---------------------------------------------------------------- ssh sign */

int pin_sign_needs_job(const struct agent *a, const struct ks_key *k)
{
	(void)a;
	return !k->empty_auth || k->confirm;
}

int pin_defer_sign(struct agent *a, struct conn *c, struct sshbuf *out)
{
	struct errmsg e;

	if (a->worker == NULL) {
		log_warn("sign request from pid %d: the key needs a PIN or a confirmation and "
			 "this agent cannot prompt", (int)c->pid);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	if (job_start(a, c, JOB_SIGN, &e) != 0) {
		log_error("sign request from pid %d: %s", (int)c->pid, e.text);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	return SSH_DISPATCH_DEFERRED;
}

struct sign_job {
	struct agentmsg_sign_request req;
	uint32_t flags; /* ssh_sign_flags: the client's, maybe with legacy SHA-1 allowed */
	struct sshbuf *sig;
};

static struct ks_key *sign_find(struct agent *a, void *arg)
{
	struct sign_job *s = arg;

	if (a->lock_hash != NULL)
		return NULL;
	return offer_signing_key(a, s->req.key_blob, s->req.key_blob_len);
}

static int sign_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		   void *arg, struct errmsg *e)
{
	struct sign_job *s = arg;

	sshbuf_reset(s->sig);
	return keystore_sign_ssh_auth(a->ks, k, pin, pin_len, s->req.data, s->req.data_len,
				      s->flags, s->sig, e);
}

static void job_sign(struct pin_job *j)
{
	struct sign_job s = { .sig = sshbuf_new(SSHKEY_BLOB_MAX) };
	struct pin_use u = { .a = j->a, .pid = j->client.pid, .env = j->env,
			     .action = "sign with", .find = sign_find, .op = sign_op, .arg = &s };
	struct sshbuf body;
	struct errmsg e = { "" };
	int r = -1;

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (s.sig == NULL || agentmsg_parse_sign_request(&body, &s.req) != 0)
		errmsg_set(&e, "cannot parse the request again");
	else {
		s.flags = ssh_sign_flags(j->a, &j->client, &s.req);
		r = pin_use_key(&u, &e);
	}
	if (r == 0) {
		log_debug("signed for pid %d after a PIN prompt or confirmation", (int)j->client.pid);
		agentmsg_put_sign_response(j->reply, sshbuf_ptr(s.sig), sshbuf_len(s.sig));
	} else {
		log_warn("sign request from pid %d failed: %s", (int)j->client.pid, e.text);
		agentmsg_put_simple(j->reply, SSH_AGENT_FAILURE);
	}
	sshbuf_free(s.sig);
}

/* ---------------------------------------------------------------- gen with a PIN */

/* gen@tpm-agent payload up to its flags (see daemon_control.c). */
struct gen_args {
	char type[32], name[STORE_NAME_MAX], comment[TSS2KEY_DESC_MAX];
	uint32_t bits, flags;
};

static int gen_peek(const struct sshbuf *body, struct gen_args *g)
{
	struct sshbuf b = *body;

	memset(g, 0, sizeof(*g));
	if (sshbuf_get_cstring(&b, g->type, sizeof(g->type)) != 0 ||
	    sshbuf_get_u32(&b, &g->bits) != 0 ||
	    sshbuf_get_cstring(&b, g->name, sizeof(g->name)) != 0 ||
	    sshbuf_get_cstring(&b, g->comment, sizeof(g->comment)) != 0)
		return -1;
	if (sshbuf_len(&b) > 0 && sshbuf_get_u32(&b, &g->flags) != 0)
		return -1;
	return 0;
}

/* Asks a new PIN (twice) described by desc, then runs the ordinary control handler for
 * name with it in a->op_pin; what names the command in messages. */
static void run_with_new_pin(struct pin_job *j, const char *what, const char *name,
			     struct sshbuf *body, const char *desc)
{
	struct agent *a = j->a;
	char *pin = NULL;
	size_t pin_len = 0;
	struct errmsg e;

	if (pin_ask_new(a, j->env, desc, &pin, &pin_len, &e) != 0) {
		errmsg_prefix(&e, "%s", what);
		log_warn("%s (pid %d)", e.text, (int)j->client.pid);
		put_ext_failure(j->reply, e.text);
		return;
	}
	agent_tpm_lock(a);
	j->client.tpm_ok = 1;
	a->op_pin = pin;
	a->op_pin_len = pin_len;
	if (a->quit) {
		errmsg_set(&e, "%s: the agent is shutting down", what);
		put_ext_failure(j->reply, e.text);
	} else if (control_or_job(a, &j->client, name, body, j->reply) != 0) {
		errmsg_set(&e, "%s: internal error", what);
		put_ext_failure(j->reply, e.text);
	}
	a->op_pin = NULL;
	a->op_pin_len = 0;
	agent_tpm_unlock(a);
	sodium_free(pin);
}

/* The request checked and the key's name known before anyone types a PIN. */
static int new_key_name(struct pin_job *j, const char *what, struct gen_args *g,
			const struct sshbuf *body, char *name, size_t len)
{
	struct errmsg e;
	uint32_t flags;
	int r;

	pthread_mutex_lock(&j->a->lock);
	r = j->a->quit ? errmsg_set(&e, "the agent is shutting down") :
	    g != NULL ? ctl_gen_name(j->a, g->type, g->bits, g->name, name, len, &e) :
	    ctl_import_peek(j->a, body, name, len, &flags, &e);
	pthread_mutex_unlock(&j->a->lock);
	if (r != 0) {
		errmsg_prefix(&e, "%s", what);
		put_ext_failure(j->reply, e.text);
	}
	return r;
}

/* Asks the new PIN, then runs the ordinary gen handler with it (a->op_pin). */
static void job_gen(struct pin_job *j)
{
	struct sshbuf body;
	struct gen_args g;
	char name[128], key[STORE_NAME_MAX], desc[512];

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0 || gen_peek(&body, &g) != 0) {
		put_ext_failure(j->reply, "gen: malformed request");
		return;
	}
	if (new_key_name(j, "gen", &g, &body, key, sizeof(key)) != 0)
		return;
	snprintf(desc, sizeof(desc), "Choose a PIN for the new TPM key \"%s\"%s%s%s.\n"
		 "The TPM locks out after a few wrong PINs, so a short PIN is fine.",
		 key, g.comment[0] ? " (" : "", g.comment, g.comment[0] ? ")" : "");
	run_with_new_pin(j, "gen", name, &body, desc);
}

/* Likewise for import: the software key becomes a TPM key with the new PIN. */
static void job_import(struct pin_job *j)
{
	struct sshbuf body;
	char name[128], key[STORE_NAME_MAX], desc[512];

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0) {
		put_ext_failure(j->reply, "import: malformed request");
		return;
	}
	if (new_key_name(j, "import", NULL, &body, key, sizeof(key)) != 0)
		return;
	snprintf(desc, sizeof(desc), "Choose a PIN for the imported TPM key \"%s\".\n"
		 "The TPM locks out after a few wrong PINs, so a short PIN is fine.", key);
	run_with_new_pin(j, "import", name, &body, desc);
}

/* ---------------------------------------------------------------- passwd */

struct passwd_job {
	struct pin_job *job;
	char name[STORE_NAME_MAX];
	uint32_t flags;
	char *new_pin; size_t new_len;
	int changed;
};

static struct ks_key *passwd_find(struct agent *a, void *arg)
{
	return keystore_find_name(a->ks, ((struct passwd_job *)arg)->name);
}

/* Under the lock, with the old PIN: ObjectChangeAuth, file, key. */
static int passwd_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		     void *arg, struct errmsg *e)
{
	struct passwd_job *p = arg;
	int r = keystore_change_auth(a->ks, k, pin, pin_len, (const uint8_t *)p->new_pin,
				     p->new_len, e);

	pin_forget(a, p->name);
	p->changed = r == 0;
	return r;
}

/* Under the lock: 1 if the key has a PIN now, 0 if not, -1 if there is no such key. */
static int passwd_key_has_pin(struct agent *a, const char *name)
{
	struct ks_key *k;
	int r;

	pthread_mutex_lock(&a->lock);
	k = keystore_find_name(a->ks, name);
	r = k == NULL ? -1 : !k->empty_auth;
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* After the old PIN: the new one, twice (once per passwd, whatever happens next). */
static int passwd_new_pin(void *arg, struct errmsg *e)
{
	struct passwd_job *p = arg;
	struct pin_job *j = p->job;
	char desc[512];

	if ((p->flags & CTL_PASSWD_NO_PIN) || p->new_pin != NULL)
		return 0;
	snprintf(desc, sizeof(desc), "Choose the new PIN for the TPM key \"%s\".", p->name);
	return pin_ask_new(j->a, j->env, desc, &p->new_pin, &p->new_len, e);
}

/* Old PIN (one prompt: a wrong one fails the command), new PIN twice, change. */
static void job_passwd(struct pin_job *j)
{
	struct passwd_job p = { .job = j };
	struct pin_use u = { .a = j->a, .pid = j->client.pid, .env = j->env,
			     .action = "change the PIN of", .find = passwd_find, .op = passwd_op,
			     .before_op = passwd_new_pin, .arg = &p, .max_prompts = 1,
			     .no_cache = 1, .no_confirm = 1 };
	struct sshbuf body;
	char name[128];
	struct errmsg e = { "" };
	int has_pin, r = -1;

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0 ||
	    sshbuf_get_cstring(&body, p.name, sizeof(p.name)) != 0 ||
	    sshbuf_get_u32(&body, &p.flags) != 0)
		errmsg_set(&e, "malformed request");
	else if ((has_pin = passwd_key_has_pin(j->a, p.name)) < 0)
		errmsg_set(&e, "no key named '%s' (see tpm-key list)", p.name);
	else if (has_pin == 0 && (p.flags & CTL_PASSWD_NO_PIN))
		errmsg_set(&e, "key '%s' has no PIN already", p.name);
	else
		r = pin_use_key(&u, &e);
	if (p.new_pin != NULL)
		sodium_free(p.new_pin);
	if (r == 0) {
		agentmsg_put_simple(j->reply, SSH_AGENT_SUCCESS);
		return;
	}
	errmsg_prefix(&e, "passwd");
	log_warn("%s (pid %d)", e.text, (int)j->client.pid);
	put_ext_failure(j->reply, e.text);
}

/* ---------------------------------------------------------------- init (SO PIN) */

/* Under the lock: provision the SRK at handle with the owner auth (NULL: not known). */
static int init_srk(struct agent *a, uint32_t handle, const char *so_pin, size_t so_len,
		    int *created, struct errmsg *e)
{
	int r;

	agent_tpm_lock(a);
	r = a->quit ? errmsg_set(e, "the agent is shutting down") :
		tpm_srk_provision(a->tpm, handle, (const uint8_t *)so_pin, so_len, created, e);
	agent_tpm_unlock(a);
	return r;
}

/* tpm-key init --repin: a deliberate re-pin of the agent's SRK (after a TPM clear). */
static void job_repin(struct pin_job *j, uint32_t handle)
{
	char note[1024];
	struct errmsg e = { "" };
	int r;

	if (handle != j->a->srk_handle) {
		put_ext_failure(j->reply, "init: --repin re-pins the agent's own SRK handle only");
		return;
	}
	agent_tpm_lock(j->a);
	r = j->a->quit ? errmsg_set(&e, "the agent is shutting down") :
		srkpin_repin(j->a, note, sizeof(note), &e);
	agent_tpm_unlock(j->a);
	if (r != 0) {
		errmsg_prefix(&e, "init --repin");
		log_warn("%s (pid %d)", e.text, (int)j->client.pid);
		put_ext_failure(j->reply, e.text);
		return;
	}
	log_info("init --repin for pid %d", (int)j->client.pid);
	ctl_reply(j->reply, 1, note);
}

/* The SO PIN is asked only when the owner hierarchy has one and the SRK is missing;
 * one try per command (a wrong one counts towards the lockout). */
static void job_init(struct pin_job *j)
{
	struct sshbuf body;
	char name[128], note[1024], desc[512], proof[512], *so_pin = NULL;
	size_t so_len = 0;
	uint32_t handle, flags = 0;
	int created = 0, r;
	struct errmsg e = { "" };

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0 ||
	    sshbuf_get_u32(&body, &handle) != 0 ||
	    (sshbuf_len(&body) > 0 && sshbuf_get_u32(&body, &flags) != 0)) {
		put_ext_failure(j->reply, "init: malformed request");
		return;
	}
	if (handle == 0)
		handle = j->a->srk_handle;
	if (flags & CTL_INIT_REPIN) {
		job_repin(j, handle);
		return;
	}
	r = init_srk(j->a, handle, NULL, 0, &created, &e);
	if (r == TPM_E_OWNER_AUTH) {
		snprintf(desc, sizeof(desc), "Creating the storage root key (SRK) at 0x%08x needs "
			 "the TPM owner authorization (SO PIN).", handle);
		r = pin_ask_secret(j->a, j->env, desc, "SO PIN:", &so_pin, &so_len, &e);
		if (r == 0)
			r = init_srk(j->a, handle, so_pin, so_len, &created, &e);
		if (so_pin != NULL)
			sodium_free(so_pin);
	}
	if (r != 0) {
		errmsg_prefix(&e, "init");
		log_warn("%s (pid %d)", e.text, (int)j->client.pid);
		put_ext_failure(j->reply, e.text);
		return;
	}
	snprintf(note, sizeof(note), created ? "created the SRK (ECC P-256, TCG H-2 template) "
		 "and made it persistent at 0x%08x" : "an SRK is already present at 0x%08x; "
		 "nothing to do", handle);
	proof[0] = '\0';
	if (handle == j->a->srk_handle) {
		agent_tpm_lock(j->a);
		if (!j->a->quit)
			srkpin_prove(j->a, proof, sizeof(proof));
		agent_tpm_unlock(j->a);
	}
	if (proof[0] != '\0')
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "\n%s", proof);
	log_info("init for pid %d: %s", (int)j->client.pid, note);
	ctl_reply(j->reply, 1, note);
}

/* A control request that needs the owner authorization (certificates in NV RAM): ask
 * the SO PIN once, then run the request with it under the lock. */
static void job_owner(struct pin_job *j)
{
	struct sshbuf body;
	char name[128], *so_pin = NULL;
	size_t so_len = 0;
	struct errmsg e = { "" };
	int r;

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0) {
		put_ext_failure(j->reply, "malformed request");
		return;
	}
	r = pin_ask_secret(j->a, j->env, "Storing or removing a certificate in TPM NV RAM needs "
			   "the TPM owner authorization (SO PIN).", "SO PIN:", &so_pin, &so_len, &e);
	if (r != 0) {
		errmsg_prefix(&e, "%s", name);
		log_warn("%s (pid %d)", e.text, (int)j->client.pid);
		put_ext_failure(j->reply, e.text);
		return;
	}
	agent_tpm_lock(j->a);
	if (j->a->quit)
		put_ext_failure(j->reply, "the agent is shutting down");
	else
		control_run_with_owner_auth(j->a, name, &body, (const uint8_t *)so_pin, so_len,
					    j->reply);
	agent_tpm_unlock(j->a);
	sodium_free(so_pin);
}

/* ---------------------------------------------------------------- seal / unseal */

/* The seal payload up to its flags: string name, uint32 flags. */
static int seal_peek(const struct sshbuf *body, char *name, size_t len, uint32_t *flags)
{
	struct sshbuf b = *body;

	return sshbuf_get_cstring(&b, name, len) != 0 || sshbuf_get_u32(&b, flags) != 0 ? -1 : 0;
}

/* Asks the new PIN twice, then runs the ordinary seal handler with it (a->op_pin). */
static void job_seal(struct pin_job *j)
{
	struct sshbuf body;
	char name[128], obj[STORE_NAME_MAX], desc[512];
	uint32_t flags;

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0 ||
	    seal_peek(&body, obj, sizeof(obj), &flags) != 0) {
		put_ext_failure(j->reply, "seal: malformed request");
		return;
	}
	snprintf(desc, sizeof(desc), "Choose a PIN for the new sealed object \"%s\".\n"
		 "The TPM locks out after a few wrong PINs, so a short PIN is fine.", obj);
	run_with_new_pin(j, "seal", name, &body, desc);
}

/* pin_use_key wants a key: a stand-in for the sealed object (its name prefixed, so
 * it never meets a key's cache entry; unseal is never cached anyway). */
struct unseal_job {
	struct ks_key k;
	char name[STORE_NAME_MAX];
	uint8_t *secret; size_t len;
};

static struct ks_key *unseal_find(struct agent *a, void *arg)
{
	(void)a;
	return &((struct unseal_job *)arg)->k;
}

static int unseal_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		     void *arg, struct errmsg *e)
{
	struct unseal_job *u = arg;

	(void)k;
	if (pin == NULL)
		return errmsg_set(e, "no PIN");
	return seal_unseal(a, u->name, pin, pin_len, u->secret, &u->len, NULL, e);
}

/* One prompt per request: a wrong PIN fails the command (and counts towards the DA
 * lockout, as for keys). */
static void job_unseal(struct pin_job *j)
{
	struct unseal_job *u = calloc(1, sizeof(*u));
	struct pin_use use = { .a = j->a, .pid = j->client.pid, .env = j->env,
			       .action = "unseal", .find = unseal_find, .op = unseal_op,
			       .arg = u, .max_prompts = 1, .no_cache = 1, .no_confirm = 1 };
	struct sshbuf body;
	char name[128], desc[512];
	struct errmsg e = { "" };
	size_t start;
	int r = -1;

	sshbuf_view(&body, j->msg + 1, j->len - 1);
	if (u == NULL || (u->secret = sodium_malloc(TPM_SEAL_MAX)) == NULL)
		errmsg_set(&e, "out of memory");
	else if (agentmsg_parse_extension(&body, name, sizeof(name)) != 0 ||
		 sshbuf_get_cstring(&body, u->name, sizeof(u->name)) != 0)
		errmsg_set(&e, "malformed request");
	else {
		snprintf(u->k.name, sizeof(u->k.name), "sealed:%.*s", (int)sizeof(u->k.name) - 8,
			 u->name);
		snprintf(desc, sizeof(desc), "Enter the PIN of the sealed object \"%s\" "
			 "(tpm-key unseal, pid %d).", u->name, (int)j->client.pid);
		use.desc = desc;
		r = pin_use_key(&use, &e);
	}
	if (r == 0) {
		start = sshbuf_len(j->reply);
		if (agentmsg_begin(j->reply, SSH_AGENT_SUCCESS) != 0 ||
		    sshbuf_put_string(j->reply, u->secret, u->len) != 0 ||
		    agentmsg_end(j->reply, start) != 0) {
			sshbuf_reset(j->reply);
			put_ext_failure(j->reply, "unseal: reply too large");
		}
	} else {
		errmsg_prefix(&e, "unseal");
		log_warn("%s (pid %d)", e.text, (int)j->client.pid);
		put_ext_failure(j->reply, e.text);
	}
	if (u != NULL && u->secret != NULL)
		sodium_free(u->secret);
	free(u);
}

/* ---------------------------------------------------------------- a key's PIN for a control command */

/* attest, decrypt: a control command on the key named first in its request. */
struct key_pin_job {
	char cmd[128], key[STORE_NAME_MAX];
	struct sshbuf body;      /* the request after the command name */
	struct sshbuf *reply;
};

static struct ks_key *key_pin_find(struct agent *a, void *arg)
{
	return keystore_find_name(a->ks, ((struct key_pin_job *)arg)->key);
}

static int key_pin_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		      void *arg, struct errmsg *e)
{
	struct key_pin_job *kj = arg;

	(void)k;
	return control_run_with_key_pin(a, kj->cmd, &kj->body, pin, pin_len, kj->reply, e);
}

/* The key's PIN through the counting dialogue (pin_use_key), then the command with it. */
static void job_key_pin(struct pin_job *j)
{
	struct key_pin_job kj = { .reply = j->reply };
	char action[160];
	struct pin_use u = { .a = j->a, .pid = j->client.pid, .env = j->env, .action = action,
			     .find = key_pin_find, .op = key_pin_op, .arg = &kj, .no_confirm = 1 };
	struct sshbuf peek;
	struct errmsg e = { "" };

	sshbuf_view(&kj.body, j->msg + 1, j->len - 1);
	if (agentmsg_parse_extension(&kj.body, kj.cmd, sizeof(kj.cmd)) != 0) {
		put_ext_failure(j->reply, "malformed request");
		return;
	}
	peek = kj.body; /* the key's name comes first; the handler reads it again */
	if (sshbuf_get_cstring(&peek, kj.key, sizeof(kj.key)) != 0) {
		put_ext_failure(j->reply, "malformed request");
		return;
	}
	snprintf(action, sizeof(action), "%.*s with", (int)strcspn(kj.cmd, "@"), kj.cmd);
	if (pin_use_key(&u, &e) == 0)
		return; /* the handler's success frame is in the reply */
	errmsg_prefix(&e, "%.*s", (int)strcspn(kj.cmd, "@"), kj.cmd);
	log_warn("%s (pid %d)", e.text, (int)j->client.pid);
	sshbuf_reset(j->reply);
	put_ext_failure(j->reply, e.text);
}

void pinjob_run(struct pin_job *j)
{
	switch (j->kind) {
	case JOB_SIGN: job_sign(j); break;
	case JOB_GEN: job_gen(j); break;
	case JOB_PASSWD: job_passwd(j); break;
	case JOB_INIT: job_init(j); break;
	case JOB_OWNER: job_owner(j); break;
	case JOB_SEAL: job_seal(j); break;
	case JOB_UNSEAL: job_unseal(j); break;
	case JOB_TPM: break; /* daemon_jobs.c runs those */
	case JOB_KEY_PIN: job_key_pin(j); break;
	case JOB_IMPORT: job_import(j); break;
	}
}

/* ---------------------------------------------------------------- control extensions */

static int ctl_reply(struct sshbuf *out, int ok, const char *note)
{
	size_t start = sshbuf_len(out);
	int r;

	if (!ok)
		return put_ext_failure(out, note);
	if ((r = agentmsg_begin(out, SSH_AGENT_SUCCESS)) != 0 ||
	    (note != NULL && (r = sshbuf_put_cstring(out, note)) != 0))
		return r;
	return agentmsg_end(out, start);
}

static int ctl_env(struct conn *c, struct sshbuf *body, struct sshbuf *out)
{
	struct errmsg e;
	struct pin_env_store *env = pin_env_parse(body, &e);

	if (env == NULL)
		return ctl_reply(out, 0, e.text);
	pin_env_free(c->env);
	c->env = env;
	return ctl_reply(out, 1, NULL);
}

static int ctl_update_env(struct agent *a, struct conn *c, struct sshbuf *body,
			  struct sshbuf *out)
{
	struct errmsg e;
	struct pin_env_store *env = pin_env_parse(body, &e);
	char note[512];

	if (env == NULL)
		return ctl_reply(out, 0, e.text);
	pin_env_free(a->ssh_env);
	a->ssh_env = env;
	snprintf(note, sizeof(note), "prompts for ssh clients now appear on %s%s%s",
		 env->value[PE_GPG_TTY][0] ? env->value[PE_GPG_TTY] : "(no terminal)",
		 env->value[PE_DISPLAY][0] ? " / display " : "", env->value[PE_DISPLAY]);
	log_info("update-env from pid %d: %s", (int)c->pid, note);
	return ctl_reply(out, 1, note);
}

static int ctl_forget(struct agent *a, struct sshbuf *body, struct sshbuf *out)
{
	char name[STORE_NAME_MAX], note[128];
	size_t n;

	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0)
		return ctl_reply(out, 0, "forget: malformed key name");
	n = pin_forget(a, name);
	snprintf(note, sizeof(note), "forgot %zu cached PIN(s)", n);
	log_info("%s%s%s", note, name[0] ? " of key " : "", name);
	return ctl_reply(out, 1, note);
}

static int defer_control(struct agent *a, struct conn *c, enum job_kind kind, struct sshbuf *out)
{
	struct errmsg e;

	if (a->worker == NULL)
		return ctl_reply(out, 0, "this agent cannot prompt for PINs");
	if (job_start(a, c, kind, &e) != 0)
		return ctl_reply(out, 0, e.text);
	return SSH_DISPATCH_DEFERRED;
}

/* control_dispatch, with the PIN it asks for (the SO PIN, a key's PIN) asked in a job
 * that then runs the request again. */
static int control_or_job(struct agent *a, struct conn *c, const char *name,
			  struct sshbuf *body, struct sshbuf *out)
{
	int r = control_dispatch(a, c, name, body, out);

	if (r == CONTROL_NEEDS_OWNER_AUTH)
		return defer_control(a, c, JOB_OWNER, out);
	if (r == CONTROL_NEEDS_KEY_PIN)
		return defer_control(a, c, JOB_KEY_PIN, out);
	return r;
}


/* seal without --no-pin asks a new PIN, unseal of an object with a PIN asks it: both
 * in jobs; the rest is control_dispatch's. */
static int seal_dispatch(struct agent *a, struct conn *c, const char *name,
			 struct sshbuf *body, struct sshbuf *out)
{
	char obj[STORE_NAME_MAX];
	uint32_t flags;
	struct errmsg e;
	int r;

	if (c->uid != geteuid() || a->worker == NULL)
		return 1;
	if (strcmp(name, CTL_SEAL) == 0) {
		if (seal_peek(body, obj, sizeof(obj), &flags) != 0 || (flags & CTL_SEAL_NO_PIN))
			return 1;
		r = defer_control(a, c, JOB_SEAL, out);
		/* The job has its own copy: wipe the secret in the connection's buffer. */
		if (r == SSH_DISPATCH_DEFERRED)
			sodium_memzero((void *)c->cur_msg, c->cur_len);
		return r;
	}
	{
		struct sshbuf b = *body;

		if (sshbuf_get_cstring(&b, obj, sizeof(obj)) != 0 || !store_name_valid(obj) ||
		    seal_has_pin(a, obj, &e) != 1)
			return 1;
	}
	return defer_control(a, c, JOB_UNSEAL, out);
}

/* An import with a PIN (the default) asks it in a job; --no-pin is control_dispatch's. */
static int import_dispatch(struct agent *a, struct conn *c, struct sshbuf *body,
			   struct sshbuf *out)
{
	struct sshbuf b = *body;
	char skip[TSS2KEY_DESC_MAX];
	uint32_t flags;
	int r;

	if (c->uid != geteuid() || a->worker == NULL ||
	    sshbuf_get_cstring(&b, skip, sizeof(skip)) != 0 ||
	    sshbuf_get_cstring(&b, skip, sizeof(skip)) != 0 || sshbuf_get_u32(&b, &flags) != 0 ||
	    (flags & CTL_IMPORT_NO_PIN))
		return 1;
	r = defer_control(a, c, JOB_IMPORT, out);
	/* The job has its own copy: wipe the key material in the connection's buffer. */
	if (r == SSH_DISPATCH_DEFERRED)
		sodium_memzero((void *)c->cur_msg, c->cur_len);
	return r;
}

/* The PIN steps of the control extensions; 1: not one, control_dispatch's. */
static int pin_steps(struct agent *a, struct conn *c, const char *name, struct sshbuf *body,
		     struct sshbuf *out)
{
	struct gen_args g;
	int ours = strcmp(name, CTL_ENV) == 0 || strcmp(name, CTL_UPDATE_ENV) == 0 ||
		   strcmp(name, CTL_FORGET) == 0 || strcmp(name, CTL_PASSWD) == 0 ||
		   strcmp(name, CTL_INIT) == 0;

	if (strcmp(name, CTL_GEN) == 0)
		/* A gen that needs a new PIN asks it in a job; the rest is control_dispatch's. */
		return (c->uid == geteuid() && a->worker != NULL && gen_peek(body, &g) == 0 &&
			!(g.flags & CTL_GEN_NO_PIN)) ? defer_control(a, c, JOB_GEN, out) : 1;
	if (strcmp(name, CTL_SEAL) == 0 || strcmp(name, CTL_UNSEAL) == 0)
		return seal_dispatch(a, c, name, body, out);
	if (strcmp(name, CTL_IMPORT) == 0)
		return import_dispatch(a, c, body, out);
	if (!ours)
		return 1;
	if (c->uid != geteuid())
		return ctl_reply(out, 0, "control commands are for the agent's own user only");
	if (strcmp(name, CTL_ENV) == 0)
		return ctl_env(c, body, out);
	if (strcmp(name, CTL_UPDATE_ENV) == 0)
		return ctl_update_env(a, c, body, out);
	if (strcmp(name, CTL_FORGET) == 0)
		return ctl_forget(a, body, out);
	if (strcmp(name, CTL_INIT) == 0)
		return defer_control(a, c, JOB_INIT, out);
	return defer_control(a, c, JOB_PASSWD, out);
}

int pin_control_dispatch(struct agent *a, struct conn *c, const char *name,
			 struct sshbuf *body, struct sshbuf *out)
{
	int r = pin_steps(a, c, name, body, out);

	return r != 1 ? r : control_or_job(a, c, name, body, out);
}

int pin_control_put_names(struct sshbuf *out)
{
	static const char *const names[] = { CTL_ENV, CTL_UPDATE_ENV, CTL_FORGET, CTL_PASSWD,
					     CTL_INIT };
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(names) / sizeof(names[0]); i++)
		r = sshbuf_put_cstring(out, names[i]);
	return r;
}
