/* daemon_softkeys: the agent side of software keys (ssh-add FILE): adding them with
 * their constraints, listing, signing (with confirm), removing and expiring them. */
#include "daemon_softkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../keystore/softkey.h"
#include "../pinentry/pinentry.h"
#include "../protocol/control.h"
#include "daemon_fido.h"
#include "daemon_helper.h"
#include "daemon_pkcs11.h"
#include "daemon_pin.h"
#include "daemon_restrict.h"
#include "../keystore/log.h"

/* Key constraints (draft-miller-ssh-agent 4.2.6). */
#define CONSTRAIN_LIFETIME  1
#define CONSTRAIN_CONFIRM   2
#define CONSTRAIN_MAXSIGN   3
#define CONSTRAIN_EXTENSION 255

/* What IDENTITIES_ANSWER may carry beyond our TPM keys: well under the 256 KiB a
 * client accepts, leaving room for those. */
#define EXTRA_IDENTITIES_MAX (128 * 1024)

struct soft_entry {
	struct softkey *key;
	uint32_t id;          /* "software-<id>" in tpm-key list */
	uint64_t expires;     /* CLOCK_MONOTONIC second; 0 = never */
	int confirm;
	char provider[PATH_MAX]; /* FIDO keys: canonical middleware path or "internal" */
	struct dest_set *dest; /* ssh-add -h; NULL: unrestricted */
};

struct constraints {
	uint32_t lifetime;
	int confirm;
	char provider[PATH_MAX]; /* sk-provider@openssh.com; "" = none given */
	struct dest_set *dest;
};

static struct soft_entry soft[SOFTKEYS_MAX];
static size_t n_soft;
static uint32_t last_id;
static struct sshbuf *extra;
static int fp_md5; /* -E md5: log MD5 fingerprints (refreshed from the settings) */

static uint64_t now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static int expired(const struct soft_entry *s, uint64_t now)
{
	return s->expires != 0 && now >= s->expires;
}

/* "MD5:aa:bb:..." of the listed blob, as ssh-keygen -E md5 -l prints it. */
static void fingerprint_md5(const struct softkey *k, char *out, size_t len)
{
	uint8_t d[16];
	size_t blen, n;
	const uint8_t *blob = softkey_blob(k, &blen);

	if (!EVP_Digest(blob, blen, d, NULL, EVP_md5(), NULL)) {
		snprintf(out, len, "?");
		return;
	}
	n = (size_t)snprintf(out, len, "MD5");
	for (size_t i = 0; i < sizeof(d) && n + 3 < len; i++)
		n += (size_t)snprintf(out + n, len - n, ":%02x", d[i]);
}

/* "TYPE SHA256:... (comment)" for log lines and the confirm dialog. */
static void describe_key(const struct softkey *k, char *out, size_t len)
{
	char fp[SSHKEY_FP_MAX] = "?";

	if (fp_md5)
		fingerprint_md5(k, fp, sizeof(fp));
	else
		softkey_fingerprint(k, fp);
	snprintf(out, len, "%s %s (%s)", softkey_type_name(k), fp,
		 softkey_comment(k)[0] ? softkey_comment(k) : "no comment");
}

static void describe(const struct soft_entry *s, char *out, size_t len)
{
	describe_key(s->key, out, len);
}

static void drop_at(size_t i, const char *why)
{
	char what[SSHKEY_FP_MAX + SOFTKEY_COMMENT_MAX + 64];

	describe(&soft[i], what, sizeof(what));
	log_info("software key %s %s", what, why);
	softkey_free(soft[i].key);
	dest_free(soft[i].dest);
	soft[i] = soft[--n_soft];
	memset(&soft[n_soft], 0, sizeof(soft[n_soft]));
}

/* Index of the live key with this blob, or -1. */
static long find_blob(const uint8_t *blob, size_t len)
{
	uint64_t now = now_monotonic();

	for (size_t i = 0; i < n_soft; i++) {
		size_t blen;
		const uint8_t *b = softkey_blob(soft[i].key, &blen);

		if (blen == len && memcmp(b, blob, len) == 0 && !expired(&soft[i], now))
			return (long)i;
	}
	return -1;
}

/* ---- adding ---- */

static int refuse_constraint(struct errmsg *e, const char *what)
{
	errmsg_set(e, "%s", what);
	return SOFTKEY_E_REFUSED;
}

/* Lifetime, confirm and destination restrictions (ssh-add -h) are honoured; anything
 * else (maximum signatures, unknown extensions) would be a promise we cannot keep:
 * refused. On failure the caller frees con->dest. */
static int parse_constraints(struct sshbuf *b, struct constraints *con, struct errmsg *e)
{
	char ext[128];
	uint8_t type;
	int r;

	memset(con, 0, sizeof(*con));
	while (sshbuf_len(b) > 0) {
		if ((r = sshbuf_get_u8(b, &type)) != 0)
			return r;
		switch (type) {
		case CONSTRAIN_LIFETIME:
			if (con->lifetime != 0)
				return refuse_constraint(e, "lifetime constraint given twice");
			if ((r = sshbuf_get_u32(b, &con->lifetime)) != 0)
				return r;
			if (con->lifetime == 0)
				return refuse_constraint(e, "lifetime constraint of 0 seconds");
			break;
		case CONSTRAIN_CONFIRM:
			if (con->confirm)
				return refuse_constraint(e, "confirm constraint given twice");
			con->confirm = 1;
			break;
		case CONSTRAIN_MAXSIGN:
			return refuse_constraint(e, "maximum-signatures constraint (XMSS) not supported");
		case CONSTRAIN_EXTENSION:
			if ((r = sshbuf_get_cstring(b, ext, sizeof(ext))) == SSHBUF_E_TOOBIG ||
			    r == SSHBUF_E_FORMAT)
				return refuse_constraint(e, "unknown constraint extension");
			if (r != 0)
				return r;
			if (strcmp(ext, "sk-provider@openssh.com") == 0 && con->provider[0] == '\0') {
				r = sshbuf_get_cstring(b, con->provider, sizeof(con->provider));
				if (r == SSHBUF_E_TOOBIG || (r == 0 && con->provider[0] == '\0'))
					return refuse_constraint(e, "bad FIDO provider name");
				if (r != 0)
					return r;
				break;
			}
			if (strcmp(ext, DEST_EXT_NAME) == 0 && con->dest == NULL) {
				if ((r = dest_parse(b, &con->dest, e)) == 0)
					break;
				return r == SSHBUF_E_NOMEM ? r : SOFTKEY_E_REFUSED;
			}
			errmsg_set(e, "constraint extension '%s' not supported%s", ext,
				   con->dest != NULL ? " (or given twice)" : "");
			return SOFTKEY_E_REFUSED;
		default:
			errmsg_set(e, "unknown constraint type %u", type);
			return SOFTKEY_E_REFUSED;
		}
	}
	return 0;
}

/* Why this agent takes no software key at all, or NULL. */
static const char *adding_refused(const struct agent *a)
{
	if (!a->settings.software_keys)
		return "software keys are off (--no-software-keys / software-keys = no)";
	if (a->settings.host)
		return "a host-key agent (--host) serves TPM host keys only";
	if (a->lock_hash != NULL)
		return "the agent is locked";
	return NULL;
}

/* Puts k in the list: replaces the same key (new comment and constraints, as
 * ssh-agent does), else takes a free slot. On success the list owns k. */
static int store_key(struct softkey *k, const struct constraints *con, struct errmsg *e)
{
	size_t len;
	const uint8_t *blob = softkey_blob(k, &len);
	long i = find_blob(blob, len);
	struct soft_entry *s;

	if (i < 0 && n_soft == SOFTKEYS_MAX)
		return errmsg_set(e, "already %d software keys in the agent", SOFTKEYS_MAX);
	if (i >= 0) {
		s = &soft[i];
		softkey_free(s->key);
	} else {
		s = &soft[n_soft++];
		s->id = ++last_id;
	}
	dest_free(s->dest);
	s->key = k;
	s->dest = con->dest;
	s->confirm = con->confirm;
	snprintf(s->provider, sizeof(s->provider), "%s", con->provider);
	s->expires = con->lifetime ? now_monotonic() + con->lifetime : 0;
	return 0;
}

/* FIDO keys name their middleware (ssh-add sends "internal" or SSH_SK_PROVIDER): it
 * must be on the allow-list, and come from this machine unless allowed otherwise. */
static int check_provider(const struct agent *a, const struct conn *c, struct softkey *k,
			  struct constraints *con, struct errmsg *e)
{
	char canon[PATH_MAX];

	if (softkey_kind(k) != SOFTKEY_SK) {
		if (con->provider[0] != '\0')
			return refuse_constraint(e, "a FIDO provider given for a key that is no FIDO key");
		return 0;
	}
	if (con->provider[0] == '\0')
		snprintf(con->provider, sizeof(con->provider), "internal");
	if (strcasecmp(con->provider, "internal") != 0 && c->n_bindings != 0 &&
	    !a->settings.allow_remote_pkcs11)
		return refuse_constraint(e, "FIDO providers cannot be added through a forwarded "
					 "agent (allow-remote-pkcs11, tpm-agent -O)");
	if (fido_provider_check(a, con->provider, canon, sizeof(canon), e) != 0)
		return SOFTKEY_E_REFUSED;
	snprintf(con->provider, sizeof(con->provider), "%s", canon);
	return 0;
}

int softkeys_handle_add(struct agent *a, struct conn *c, struct sshbuf *body,
			struct sshbuf *out)
{
	const char *why = adding_refused(a);
	struct softkey *k = NULL;
	struct constraints con;
	struct errmsg e;
	char what[SSHKEY_FP_MAX + SOFTKEY_COMMENT_MAX + 64];
	int r;

	if (why != NULL) {
		log_warn("pid %d tried to add a software key: refused: %s", (int)c->pid, why);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	memset(&con, 0, sizeof(con));
	fp_md5 = strcmp(a->settings.fingerprint_hash, "md5") == 0;
	if ((r = softkey_parse(body, &k, &e)) == 0 && (r = parse_constraints(body, &con, &e)) == 0 &&
	    con.lifetime == 0) /* ssh-agent -t: the default for keys added without one */
		con.lifetime = a->settings.key_lifetime;
	if (r == 0)
		r = check_provider(a, c, k, &con, &e);
	if (r == 0 && (r = store_key(k, &con, &e)) != 0)
		r = SOFTKEY_E_REFUSED;
	if (r != 0) {
		softkey_free(k);
		dest_free(con.dest);
		if (r != SOFTKEY_E_REFUSED)
			return r;
		log_warn("pid %d: software key refused: %s", (int)c->pid, e.text);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	describe_key(k, what, sizeof(what));
	log_info("software key %s added by pid %d (in memory only)%s%s%s", what, (int)c->pid,
		 con.confirm ? ", confirm each use" : "", con.lifetime ? ", with a lifetime" : "",
		 con.dest ? ", restricted to destinations (ssh-add -h)" : "");
	return agentmsg_put_simple(out, SSH_AGENT_SUCCESS);
}

/* ---- PKCS#11 tokens (ssh-add -s / -e) ---- */

/* The provider path ssh-add names, canonical, allowed and (unless allowed) local. */
static int token_provider(const struct agent *a, const struct conn *c, const char *provider,
			  char canon[PATH_MAX], struct errmsg *e)
{
	if (c->n_bindings != 0 && !a->settings.allow_remote_pkcs11)
		return errmsg_set(e, "PKCS#11 providers cannot be added through a forwarded agent "
				  "(allow-remote-pkcs11, tpm-agent -O)");
	if (realpath(provider, canon) == NULL)
		return errmsg_set(e, "PKCS#11 provider %s: %s", provider, strerror(errno));
	if (!helper_provider_allowed(canon, a->settings.allowed_providers))
		return errmsg_set(e, "PKCS#11 provider %s is not allowed (allowed-providers = %s; "
				  "tpm-agent -P)", canon, a->settings.allowed_providers);
	return 0;
}

/* The helper's list (uint32 n, n × (blob, label)) into the key list. */
static int store_token_keys(struct sshbuf *ids, const struct constraints *con, size_t *added,
			    struct errmsg *e)
{
	const uint8_t *blob;
	size_t len;
	char label[SOFTKEY_COMMENT_MAX];
	uint32_t n;
	int r;

	if ((r = sshbuf_get_u32(ids, &n)) != 0)
		return errmsg_set(e, "malformed answer from ssh-pkcs11-helper");
	for (uint32_t i = 0; i < n; i++) {
		struct softkey *k;

		if (sshbuf_get_string(ids, &blob, &len) != 0 ||
		    sshbuf_get_cstring(ids, label, sizeof(label)) != 0)
			return errmsg_set(e, "malformed answer from ssh-pkcs11-helper");
		if (softkey_new_token(blob, len, label, &k, e) != 0) {
			log_warn("PKCS#11 key '%s' skipped: %s", label, e->text);
			continue;
		}
		if (store_key(k, con, e) != 0) {
			softkey_free(k);
			return -1;
		}
		(*added)++;
	}
	return 0;
}

/* string provider, string PIN: what ADD and REMOVE_SMARTCARD_KEY begin with. */
static int parse_provider_pin(struct sshbuf *body, char provider[PATH_MAX],
			      const uint8_t **pin, size_t *pin_len)
{
	int r = sshbuf_get_cstring(body, provider, PATH_MAX);

	if (r == SSHBUF_E_TOOBIG)
		return SOFTKEY_E_REFUSED;
	return r != 0 ? r : sshbuf_get_string(body, pin, pin_len);
}

int softkeys_handle_smartcard_add(struct agent *a, struct conn *c, struct sshbuf *body,
				  struct sshbuf *out)
{
	const char *why = adding_refused(a);
	char provider[PATH_MAX], canon[PATH_MAX];
	const uint8_t *pin;
	size_t pin_len, added = 0;
	struct constraints con;
	struct sshbuf *ids = NULL;
	struct errmsg e;
	int r;

	if ((r = parse_provider_pin(body, provider, &pin, &pin_len)) != 0)
		return r == SOFTKEY_E_REFUSED ? agentmsg_put_simple(out, SSH_AGENT_FAILURE) : r;
	memset(&con, 0, sizeof(con));
	if ((r = parse_constraints(body, &con, &e)) < 0 && r != SOFTKEY_E_REFUSED) {
		dest_free(con.dest);
		return r;
	}
	if (r == 0 && con.dest != NULL) /* one set per key would be needed: not (yet) */
		why = "destination restrictions (ssh-add -h) are not supported for PKCS#11 keys";
	dest_free(con.dest);
	con.dest = NULL;
	if (why != NULL)
		errmsg_set(&e, "%s", why);
	if (why == NULL && r == 0 && con.lifetime == 0)
		con.lifetime = a->settings.key_lifetime;
	if (why == NULL && r == 0 && token_provider(a, c, provider, canon, &e) == 0 &&
	    (ids = sshbuf_new(HELPER_FRAME_MAX)) != NULL &&
	    pkcs11_load(canon, pin, pin_len, ids, &e) == 0) {
		snprintf(con.provider, sizeof(con.provider), "%s", canon);
		if (store_token_keys(ids, &con, &added, &e) == 0 && added == 0)
			errmsg_set(&e, "the token offers no usable key");
	}
	sshbuf_free(ids);
	if (added == 0) {
		log_warn("pid %d: PKCS#11 provider %s refused: %s", (int)c->pid, provider, e.text);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	log_info("%zu PKCS#11 key(s) of %s added by pid %d", added, canon, (int)c->pid);
	return agentmsg_put_simple(out, SSH_AGENT_SUCCESS);
}

int softkeys_handle_smartcard_remove(struct agent *a, struct conn *c, struct sshbuf *body,
				     struct sshbuf *out)
{
	char provider[PATH_MAX], canon[PATH_MAX];
	const uint8_t *pin;
	size_t pin_len;
	struct errmsg e;
	int r;

	if ((r = parse_provider_pin(body, provider, &pin, &pin_len)) != 0)
		return r == SOFTKEY_E_REFUSED ? agentmsg_put_simple(out, SSH_AGENT_FAILURE) : r;
	if (a->lock_hash != NULL || realpath(provider, canon) == NULL)
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	for (size_t i = n_soft; i-- > 0;)
		if (softkey_kind(soft[i].key) == SOFTKEY_TOKEN && strcmp(soft[i].provider, canon) == 0)
			drop_at(i, "removed with its PKCS#11 provider");
	if (pkcs11_unload(canon, &e) != 0) {
		log_warn("pid %d: removing PKCS#11 provider %s: %s", (int)c->pid, canon, e.text);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	log_info("PKCS#11 provider %s removed by pid %d", canon, (int)c->pid);
	return agentmsg_put_simple(out, SSH_AGENT_SUCCESS);
}

/* ---- listing ---- */

static int put_soft_identities(const struct conn *c, struct sshbuf *b, uint32_t *count)
{
	uint64_t now = now_monotonic();
	int r;

	for (size_t i = 0; i < n_soft; i++) {
		size_t len;
		const uint8_t *blob = softkey_blob(soft[i].key, &len);

		if (expired(&soft[i], now) || !restrict_may_list(c, soft[i].dest))
			continue;
		if ((r = agentmsg_identities_add(b, blob, len, softkey_comment(soft[i].key))) != 0)
			return r;
		(*count)++;
	}
	return 0;
}

struct sshbuf *softkeys_identities(struct agent *a, const struct conn *c, uint32_t *count)
{
	*count = 0;
	if (extra == NULL && (extra = sshbuf_new(EXTRA_IDENTITIES_MAX)) == NULL)
		return NULL;
	sshbuf_reset(extra);
	if (a->lock_hash != NULL)
		return extra;
	if (put_soft_identities(c, extra, count) != 0) {
		log_warn("too many software keys to list");
		sshbuf_reset(extra);
		*count = 0;
	}
	return extra;
}

int softkeys_has_blob(const uint8_t *blob, size_t len)
{
	return find_blob(blob, len) >= 0;
}

size_t softkeys_count(void)
{
	return n_soft;
}

int softkeys_put_list(struct sshbuf *out)
{
	uint64_t now = now_monotonic();
	char name[32];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n_soft; i++) {
		size_t len;
		const uint8_t *blob = softkey_blob(soft[i].key, &len);
		uint32_t flags = CTL_KEY_SOFTWARE | (expired(&soft[i], now) ? CTL_KEY_HIDDEN : 0) |
				 (soft[i].confirm ? CTL_KEY_SOFT_CONFIRM : 0);

		snprintf(name, sizeof(name), "software-%u", soft[i].id);
		if ((r = sshbuf_put_cstring(out, name)) == 0 &&
		    (r = sshbuf_put_cstring(out, softkey_comment(soft[i].key))) == 0 &&
		    (r = sshbuf_put_string(out, blob, len)) == 0)
			r = sshbuf_put_u32(out, flags);
	}
	return r;
}

/* ---- signing ---- */

/* /proc/PID/comm with control characters replaced, for the dialog. */
static void process_name(pid_t pid, char *out, size_t len)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (pid > 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, out, len - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(out, len, "unknown");
		return;
	}
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = i == n - 1 ? '\0' : '?';
}

/* Asks pinentry CONFIRM (program from the settings, the client's prompt environment).
 * There is no PIN, so no PIN job: the prompt runs here, blocking the ssh event loop
 * up to the pinentry deadline; a->lock is released meanwhile so gpg clients and PIN
 * jobs go on. The key list is only touched on this thread, so it cannot change. */
/* Runs one pinentry dialog about s for c: CONFIRM, or GETPIN when pin is not NULL
 * (then *pin is sodium memory the caller frees). Returns the PINENTRY_* code. */
static int ask_user(struct agent *a, struct conn *c, const struct soft_entry *s,
		    const char *action, char **pin, size_t *pin_len, struct errmsg *e)
{
	char desc[1024], what[SSHKEY_FP_MAX + SOFTKEY_COMMENT_MAX + 64], comm[64];
	struct pin_env_store *env = pin_env_dup(c->env != NULL ? c->env : a->ssh_env);
	struct pinentry_prompt p = { .title = "tpm-agent", .desc = desc, .ok = "Allow",
				     .notok = "Deny", .prompt = "PIN:" };
	struct pinentry_env view;
	int rc;

	describe(s, what, sizeof(what));
	process_name(c->pid, comm, sizeof(comm));
	for (char *q = what; *q; q++)
		if ((unsigned char)*q < 0x20)
			*q = '?';
	snprintf(desc, sizeof(desc), "%s\n%s\nRequested by process %d (%s)", action, what,
		 (int)c->pid, comm);
	pin_env_view(env, &view);
	pthread_mutex_unlock(&a->lock);
	rc = pin != NULL ? pinentry_getpin(a->settings.pinentry_program, &view, &p, pin,
					   pin_len, e) :
			   pinentry_confirm(a->settings.pinentry_program, &view, &p, e);
	pthread_mutex_lock(&a->lock);
	pin_env_free(env);
	return rc;
}

static int confirm_use(struct agent *a, struct conn *c, const struct soft_entry *s)
{
	struct errmsg e;
	int rc = ask_user(a, c, s, "Allow a signature with the software key", NULL, NULL, &e);

	if (rc == PINENTRY_OK)
		return 0;
	log_warn("signature with a software key for pid %d refused: %s", (int)c->pid,
		 rc == PINENTRY_E_NOT_CONFIRMED ? "the user denied it" : e.text);
	return -1;
}

/* fido_sign with a "touch your security key" notice through pinentry, as ssh-agent
 * shows one through ssh-askpass, unless the key needs no touch. */
static int sk_sign_noticed(struct agent *a, struct conn *c, const struct soft_entry *s,
			   const char *provider, const char *pin,
			   const struct agentmsg_sign_request *req, struct sshbuf *sig,
			   struct errmsg *e)
{
	char desc[1024], what[SSHKEY_FP_MAX + SOFTKEY_COMMENT_MAX + 64];
	struct pin_env_store *env = pin_env_dup(c->env != NULL ? c->env : a->ssh_env);
	struct pinentry_env view;
	struct fido_notice n = { .program = a->settings.pinentry_program, .env = &view };
	int r;

	describe(s, what, sizeof(what));
	for (char *q = what; *q; q++)
		if ((unsigned char)*q < 0x20)
			*q = '?';
	snprintf(desc, sizeof(desc), "Confirm user presence for key\n%s\n(touch your security "
		 "key; this closes by itself)", what);
	if (softkey_sk_flags(s->key) & SK_USER_PRESENCE_REQD)
		n.desc = desc;
	pin_env_view(env, &view);
	r = fido_sign(a, s->key, provider, pin, &n, req->data, req->data_len, sig, e);
	pin_env_free(env);
	return r;
}

/* A FIDO key: web-safe data only (unless its application is "ssh:..." or
 * restrict-websafe is off), its PIN through pinentry when it was made with
 * verify-required (ssh-keygen -O verify-required), then the helper. */
static int sk_sign(struct agent *a, struct conn *c, const struct soft_entry *s,
		   const struct agentmsg_sign_request *req, struct sshbuf *sig, struct errmsg *e)
{
	const char *app = softkey_sk_application(s->key);
	char provider[PATH_MAX], *pin = NULL;
	size_t pin_len = 0;
	int r;

	if (a->settings.restrict_websafe && strncmp(app, "ssh:", 4) != 0 &&
	    !fido_data_websafe(req->data, req->data_len))
		return errmsg_set(e, "FIDO key for application '%s' asked to sign data that is "
				  "no SSH authentication or signature (restrict-websafe)", app);
	/* the entry may be replaced while the helper runs unlocked: keep the provider */
	snprintf(provider, sizeof(provider), "%s", s->provider);
	if ((softkey_sk_flags(s->key) & SK_USER_VERIFICATION_REQD) &&
	    (r = ask_user(a, c, s, "Enter the PIN of the security key to sign with", &pin,
			  &pin_len, e)) != PINENTRY_OK)
		return -1;
	r = sk_sign_noticed(a, c, s, provider, pin, req, sig, e);
	sodium_free(pin);
	return r;
}

int softkeys_sign(struct agent *a, struct conn *c, const struct agentmsg_sign_request *req,
		  struct sshbuf *out)
{
	long i = find_blob(req->key_blob, req->key_blob_len);
	struct sshbuf *sig;
	struct errmsg e;
	int r;

	if (i < 0)
		return 1;
	if (!restrict_may_sign(c, soft[i].dest, req, "(software key)"))
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	if (soft[i].confirm && (confirm_use(a, c, &soft[i]) != 0 ||
				(i = find_blob(req->key_blob, req->key_blob_len)) < 0 ||
				a->lock_hash != NULL))
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	if ((sig = sshbuf_new(SSHKEY_BLOB_MAX)) == NULL)
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	if (softkey_kind(soft[i].key) == SOFTKEY_SK) {
		r = sk_sign(a, c, &soft[i], req, sig, &e);
	} else if (softkey_kind(soft[i].key) == SOFTKEY_TOKEN) {
		r = pkcs11_sign(soft[i].key, req->data, req->data_len, ssh_sign_flags(a, c, req),
				sig, &e);
	} else {
		r = softkey_sign(soft[i].key, req->data, req->data_len,
				 ssh_sign_flags(a, c, req), sig, &e);
	}
	if (r != 0) {
		log_warn("sign with a software key for pid %d failed: %s", (int)c->pid, e.text);
		sshbuf_free(sig);
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	log_debug("signed with software key %u for pid %d", soft[i].id, (int)c->pid);
	r = agentmsg_put_sign_response(out, sshbuf_ptr(sig), sshbuf_len(sig));
	sshbuf_free(sig);
	return r;
}

/* An RSA key blob (plain or certificate). */
static int blob_is_rsa(const uint8_t *blob, size_t len)
{
	struct sshbuf b;
	char type[64];

	sshbuf_view(&b, blob, len);
	return sshbuf_get_cstring(&b, type, sizeof(type)) == 0 &&
	       (strcmp(type, "ssh-rsa") == 0 || strcmp(type, "ssh-rsa-cert-v01@openssh.com") == 0);
}

uint32_t ssh_sign_flags(const struct agent *a, const struct conn *c,
			const struct agentmsg_sign_request *req)
{
	if ((req->flags & 0x06) != 0 || !blob_is_rsa(req->key_blob, req->key_blob_len))
		return req->flags;
	if (!a->settings.legacy_rsa_sha1) {
		/* No SHA-1: rsa-sha2-512 instead. A client that asked for ssh-rsa sees the
		 * other type and fails; one that named no algorithm (ssh-add -T) verifies it. */
		log_info("pid %d asked an RSA key for no rsa-sha2 hash: signing rsa-sha2-512, "
			 "not ssh-rsa (SHA-1 needs legacy-rsa-sha1 = yes)", (int)c->pid);
		return req->flags | 0x04;
	}
	log_warn("making a legacy ssh-rsa (SHA-1) signature for pid %d (legacy-rsa-sha1 = yes): "
		 "SHA-1 signatures can be forged; upgrade the server and turn the setting off",
		 (int)c->pid);
	return req->flags | SSHKEY_SIGN_LEGACY_SHA1;
}


/* ---- removing ---- */

int softkeys_remove(const uint8_t *blob, size_t len)
{
	long i = find_blob(blob, len);

	if (i < 0)
		return 1;
	drop_at((size_t)i, "removed from the agent");
	return 0;
}

void softkeys_remove_all(void)
{
	while (n_soft > 0)
		drop_at(n_soft - 1, "removed from the agent");
}

void softkeys_expire(void)
{
	uint64_t now = now_monotonic();

	for (size_t i = n_soft; i-- > 0;)
		if (expired(&soft[i], now))
			drop_at(i, "removed: its lifetime is over");
}

void softkeys_clear(void)
{
	while (n_soft > 0) {
		softkey_free(soft[n_soft - 1].key);
		dest_free(soft[n_soft - 1].dest);
		soft[n_soft - 1].dest = NULL;
		soft[--n_soft].key = NULL;
	}
	sshbuf_free(extra);
	extra = NULL;
	pkcs11_stop();
}
