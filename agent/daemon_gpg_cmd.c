/* daemon_gpg_cmd: the gpg-agent commands gpg 2.2 uses, answered with exactly the
 * replies it expects (shared/REFERENCE.md §5), over keys held in the TPM. */
#include "daemon_gpg_int.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keystore/store.h"
#include "../protocol/sexp.h"
#include "daemon_offer.h"
#include "daemon_sshcontrol.h"
#include "../keystore/log.h"

struct gpg_session *gpg_sess(assuan_context_t ctx)
{
	return assuan_get_pointer(ctx);
}

void gpg_session_reset(struct gpg_session *s)
{
	s->have_grip = 0;
	s->grip[0] = '\0';
	s->hash_algo = 0;
	explicit_bzero(s->digest, sizeof(s->digest));
	s->digest_len = 0;
	free(s->keydesc);
	s->keydesc = NULL;
	gpg_import_reset(s);
}

/* ---------------------------------------------------------------- parsing helpers */

const char *gpg_skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* 1 if the line holds the option word opt ("--list" matches "--list" and "--list=5"
 * when prefix_ok), before the first non-option word. */
int gpg_has_option(const char *line, const char *opt, int prefix_ok)
{
	size_t n = strlen(opt);

	for (const char *p = gpg_skip_blanks(line); p[0] == '-' && p[1] == '-'; ) {
		size_t w = strcspn(p, " \t");

		if ((w == n || (prefix_ok && w > n && p[n] == '=')) && strncmp(p, opt, n) == 0)
			return 1;
		if (w == 2)
			break; /* "--" ends the options */
		p = gpg_skip_blanks(p + w);
	}
	return 0;
}

/* The first word after the options (and after a "--"). */
const char *gpg_skip_options(const char *line)
{
	const char *p = gpg_skip_blanks(line);

	while (p[0] == '-' && p[1] == '-') {
		size_t w = strcspn(p, " \t");

		p = gpg_skip_blanks(p + w);
		if (w == 2)
			break;
	}
	return p;
}

void gpg_option_value(const char *line, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = gpg_skip_blanks(line); p[0] == '-' && p[1] == '-'; ) {
		size_t w = strcspn(p, " \t");

		if (w > n && p[n] == '=' && strncmp(p, name, n) == 0) {
			snprintf(out, len, "%.*s", (int)(w - n - 1), p + n + 1);
			return;
		}
		if (w == 2)
			break;
		p = gpg_skip_blanks(p + w);
	}
}

/* A keygrip: exactly 40 hex digits, then the end or a blank. Upper-cased into out. */
int gpg_parse_grip(const char *p, char out[41])
{
	for (int i = 0; i < 40; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		out[i] = (char)toupper((unsigned char)p[i]);
	}
	out[40] = '\0';
	return (p[40] == '\0' || p[40] == ' ' || p[40] == '\t') ? 0 : -1;
}

gpg_error_t gpg_grip_error(assuan_context_t ctx)
{
	return set_error(ctx, GPG_ERR_ASS_PARAMETER, "invalid keygrip (40 hex digits)");
}

/* ---------------------------------------------------------------- key access */

/* Under a->lock: the key gpg may use under this grip, or NULL. Keys removed with
 * ssh-add -d are gone for gpg too, a locked agent (ssh-add -x) holds none, and keys
 * this TPM cannot use (offer_usable) are none either: gpg gets "no secret key" and may
 * try another, before any PIN prompt. */
struct ks_key *gpg_usable_key(struct agent *a, const char *grip)
{
	struct ks_key *k;

	if (a->lock_hash != NULL)
		return NULL;
	k = keystore_find_grip(a->ks, grip);
	return (k != NULL && !k->hidden && offer_usable(a, k)) ? k : NULL;
}

gpg_error_t gpg_no_key(assuan_context_t ctx, struct agent *a)
{
	if (a->lock_hash != NULL)
		return set_error(ctx, GPG_ERR_LOCKED, "the agent is locked (ssh-add -X unlocks it)");
	return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
}

/* Maps a keystore/TPM failure to the gpg error gpg reports best. assuan_set_error keeps
 * the text pointer until the handler has returned and the ERR line is written, and e is
 * on the caller's stack: the text is copied to this thread's (connection's) buffer. */
gpg_error_t gpg_key_op_error(assuan_context_t ctx, int r, const struct errmsg *e)
{
	static _Thread_local char text[sizeof(e->text)];
	gpg_err_code_t code;

	switch (r) {
	case TPM_E_AUTH_FAIL: code = GPG_ERR_BAD_PASSPHRASE; break;
	case TPM_E_LOCKOUT: code = GPG_ERR_PIN_BLOCKED; break;
	case TPM_E_UNSUPPORTED: code = GPG_ERR_NOT_SUPPORTED; break;
	case KS_E_NOT_IMPLEMENTED: code = GPG_ERR_NOT_IMPLEMENTED; break;
	case TPM_E_BAD_DATA: code = GPG_ERR_BAD_DATA; break;
	case PIN_E_CANCELED: code = GPG_ERR_CANCELED; break;
	case PIN_E_NOT_CONFIRMED: code = GPG_ERR_NOT_CONFIRMED; break;
	case PIN_E_NO_KEY: code = GPG_ERR_NO_SECKEY; break;
	case PIN_E_PINENTRY: code = GPG_ERR_NO_PIN_ENTRY; break;
	default: code = GPG_ERR_HARDWARE; break;
	}
	snprintf(text, sizeof(text), "%s", e->text);
	return set_error(ctx, code, text);
}

/* Sends out as the command's data, then wipes it. */
gpg_error_t gpg_send_reply(assuan_context_t ctx, struct sshbuf *out)
{
	gpg_error_t rc = assuan_send_data(ctx, sshbuf_ptr(out), sshbuf_len(out));

	sshbuf_reset(out);
	return rc;
}

/* INQUIRE keyword: the reply (malloc'd by libassuan; free with assuan_free). A client
 * that stays silent times out (see hook_read); confidential hides it from logs. */
gpg_error_t gpg_inquire(assuan_context_t ctx, const char *keyword, size_t maxlen,
			   int confidential, unsigned char **buf, size_t *len)
{
	struct gpg_session *s = gpg_sess(ctx);
	gpg_error_t rc = 0;

	char max[24];

	snprintf(max, sizeof(max), "%zu", maxlen);
	if (!confidential && (rc = assuan_write_status(ctx, "INQUIRE_MAXLEN", max)) != 0)
		return rc;
	if (confidential)
		assuan_begin_confidential(ctx);
	s->bad_escape = 0;
	s->inquiring = 1;
	rc = assuan_inquire(ctx, keyword, buf, len, maxlen);
	s->inquiring = 0;
	if (confidential)
		assuan_end_confidential(ctx);
	if (rc == 0 && s->bad_escape) {
		explicit_bzero(*buf, *len);
		assuan_free(ctx, *buf);
		*buf = NULL;
		*len = 0;
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "bad %-escape in the INQUIRE data");
	}
	if (gpg_err_code(rc) == GPG_ERR_ETIMEDOUT) {
		log_warn("gpg: pid %d did not answer INQUIRE %s in time", (int)s->pid, keyword);
		return set_error(ctx, GPG_ERR_TIMEOUT, "no answer to the INQUIRE in time");
	}
	return rc != 0 ? GPG_AGENT_ERR(gpg_err_code(rc)) : 0;
}

gpg_error_t gpg_inquire_secret(assuan_context_t ctx, const char *keyword, char **out,
			       size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	gpg_error_t rc = gpg_inquire(ctx, keyword, MAXLEN_PASSPHRASE, 1, &buf, &len);

	*out = NULL;
	if (rc == 0 && (*out = sodium_malloc(len + 1)) == NULL)
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	if (rc == 0) {
		memcpy(*out, buf, len);
		(*out)[len] = '\0';
		*out_len = len;
	}
	if (buf != NULL) {
		explicit_bzero(buf, len);
		assuan_free(ctx, buf);
	}
	return rc;
}

void gpg_drop_keydesc(struct gpg_session *s)
{
	free(s->keydesc);
	s->keydesc = NULL;
}

/* ---------------------------------------------------------------- handshake and admin */

static gpg_error_t option_handler(assuan_context_t ctx, const char *key, const char *value)
{
	struct gpg_session *s = gpg_sess(ctx);
	static const struct { const char *name; size_t off; } kept[] = {
		{ "ttyname", offsetof(struct gpg_session, ttyname) },
		{ "ttytype", offsetof(struct gpg_session, ttytype) },
		{ "display", offsetof(struct gpg_session, display) },
		{ "lc-ctype", offsetof(struct gpg_session, lc_ctype) },
		{ "lc-messages", offsetof(struct gpg_session, lc_messages) },
	};

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (strcmp(key, kept[i].name) == 0) {
			snprintf((char *)s + kept[i].off, GPG_OPT_LEN, "%s", value);
			return 0;
		}
	if (strcmp(key, "pinentry-mode") == 0) {
		static const char *const modes[] = { "ask", "cancel", "error", "loopback" };

		for (int m = 0; m < 4; m++)
			if (strcmp(value, modes[m]) == 0) {
				s->pinentry_mode = (enum gpg_pinentry_mode)m;
				return 0;
			}
		return set_error(ctx, GPG_ERR_INV_VALUE, "pinentry-mode: ask, cancel, error or loopback");
	}
	return 0; /* every other option gpg-agent knows is accepted and has no effect here */
}

static gpg_error_t reset_notify(assuan_context_t ctx, char *line)
{
	(void)line;
	gpg_session_reset(gpg_sess(ctx));
	return 0;
}

gpg_error_t gpg_send_string(assuan_context_t ctx, const char *s)
{
	return assuan_send_data(ctx, s, strlen(s));
}

/* Major, minor, micro of "X.Y.Z..." into v; 0 when it does not parse. */
static int parse_version(const char *s, int v[3])
{
	return sscanf(s, "%d.%d.%d", &v[0], &v[1], &v[2]) == 3;
}

static char agent_version[32] = GPG_AGENT_COMPAT_VERSION;

/* gpg 2.2 and 2.4 alike (warn_version_mismatch, compare_version_strings) warn when the
 * agent's version is below their own, so we report the installed gpg's version when it
 * is above GPG_AGENT_COMPAT_VERSION: gpg gates no feature on the agent's version (only
 * 2.4's migrate.c wants >= 2.1.0), it asks GETINFO cmd_has_option instead. */
static void find_agent_version(void)
{
	FILE *f = popen("gpg --version 2>/dev/null", "r");
	char line[128];
	int have[3], min[3];
	const char *p;

	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL && (p = strstr(line, ") ")) != NULL &&
	    parse_version(p + 2, have) && parse_version(GPG_AGENT_COMPAT_VERSION, min) &&
	    (have[0] > min[0] || (have[0] == min[0] && (have[1] > min[1] ||
	     (have[1] == min[1] && have[2] > min[2])))))
		snprintf(agent_version, sizeof(agent_version), "%d.%d.%d", have[0], have[1], have[2]);
	pclose(f);
}

static gpg_error_t cmd_getinfo(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	char pid[32];

	line = (char *)gpg_skip_blanks(line);
	if (strcmp(line, "version") == 0) {
		static pthread_once_t once = PTHREAD_ONCE_INIT;

		pthread_once(&once, find_agent_version);
		return gpg_send_string(ctx, agent_version);
	}
	if (strcmp(line, "pid") == 0) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		return gpg_send_string(ctx, pid);
	}
	if (strcmp(line, "socket_name") == 0)
		return gpg_send_string(ctx, gpg_server_socket());
	if (strcmp(line, "ssh_socket_name") == 0)
		return gpg_send_string(ctx, s->a->socket_path);
	if (strcmp(line, "scd_running") == 0)
		return gpg_scd_running() ? 0 : GPG_AGENT_ERR(GPG_ERR_FALSE);
	if (strcmp(line, "restricted") == 0)
		return GPG_AGENT_ERR(GPG_ERR_FALSE);
	if (strncmp(line, "cmd_has_option", 14) == 0)
		return GPG_AGENT_ERR(GPG_ERR_FALSE); /* none of the optional extras */
	return set_error(ctx, GPG_ERR_ASS_PARAMETER, "unknown value for WHAT");
}

/* gpgconf --kill gpg-agent / all. gpg-agent would exit; we must not, since gpg's
 * autostart would then start /usr/bin/gpg-agent on our socket, without the TPM keys,
 * and the ssh side would go too. So KILLAGENT does what a restart of gpg-agent means
 * to the user (cached PINs forgotten, scdaemon stopped) and the agent goes on serving
 * on the same socket. `tpm-agent -k` stops it. */
static gpg_error_t cmd_killagent(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = gpg_sess(ctx);
	size_t forgotten;

	(void)line;
	pthread_mutex_lock(&s->a->lock);
	forgotten = pin_forget(s->a, NULL);
	pthread_mutex_unlock(&s->a->lock);
	gpg_scd_stop();
	log_info("gpg: KILLAGENT from pid %d: %zu cached PIN(s) forgotten, scdaemon stopped; "
		 "still serving (tpm-agent -k stops the agent)", (int)s->pid, forgotten);
	assuan_set_flag(ctx, ASSUAN_FORCE_CLOSE, 1);
	return 0;
}

/* Loads key files added to the store since we started (tpm-key gen by another agent,
 * or copied in). Keys already held are left as they are. */
static gpg_error_t cmd_reloadagent(assuan_context_t ctx, char *line)
{
	struct agent *a = gpg_sess(ctx)->a;
	char (*names)[STORE_NAME_MAX] = calloc(STORE_MAX_KEYS, sizeof(*names));
	size_t count = 0, added = 0;
	struct errmsg e;

	(void)line;
	if (names == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	agent_tpm_lock(a); /* keys join the keystore only under both locks */
	if (store_list_keys(keystore_dir(a->ks), names, STORE_MAX_KEYS, &count, &e) != 0)
		log_warn("gpg: RELOADAGENT: %s", e.text);
	for (size_t i = 0; i < count; i++) {
		if (keystore_find_name(a->ks, names[i]) != NULL)
			continue;
		if (keystore_load(a->ks, names[i], NULL, &e) != 0)
			log_warn("gpg: RELOADAGENT: key '%s': %s", names[i], e.text);
		else
			added++;
	}
	agent_tpm_unlock(a);
	free(names);
	log_info("gpg: RELOADAGENT: %zu new key(s)", added);
	return 0;
}

/* ---------------------------------------------------------------- key queries */

static gpg_error_t havekey_list(assuan_context_t ctx, const char *line)
{
	struct agent *a = gpg_sess(ctx)->a;
	const char *eq = strstr(line, "--list=");
	long limit = eq ? strtol(eq + 7, NULL, 10) : -1;
	uint8_t grips[64 * 20];
	size_t n = 0;
	gpg_error_t rc = 0;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; a->lock_hash == NULL && i < keystore_count(a->ks); i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		if (k->hidden || !offer_usable(a, k) || (limit >= 0 && (long)(n / 20) >= limit))
			continue;
		for (int j = 0; j < 20; j++) {
			unsigned v;

			sscanf(k->keygrip + 2 * j, "%2X", &v);
			grips[n++] = (uint8_t)v;
		}
		if (n == sizeof(grips)) {
			pthread_mutex_unlock(&a->lock);
			if ((rc = assuan_send_data(ctx, grips, n)) != 0)
				return rc;
			n = 0;
			pthread_mutex_lock(&a->lock);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return n > 0 ? assuan_send_data(ctx, grips, n) : 0;
}

/* HAVEKEY <grip>...: OK when we hold any of them. --list[=N]: all grips, binary. */
static gpg_error_t cmd_havekey(assuan_context_t ctx, char *line)
{
	struct agent *a = gpg_sess(ctx)->a;
	char grip[41];
	int found = 0;

	if (gpg_has_option(line, "--list", 1))
		return havekey_list(ctx, line);
	line = (char *)gpg_skip_options(line);
	if (*line == '\0')
		return gpg_grip_error(ctx);
	for (const char *p = line; *p != '\0'; p = gpg_skip_blanks(p + strcspn(p, " \t"))) {
		if (gpg_parse_grip(p, grip) != 0)
			return gpg_grip_error(ctx);
		pthread_mutex_lock(&a->lock);
		found |= gpg_usable_key(a, grip) != NULL;
		pthread_mutex_unlock(&a->lock);
	}
	return found ? 0 : GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
}

/* One KEYINFO line (without "KEYINFO "), appended to lines: grip, type D (a key "on
 * disk" to gpg), serialno, idstr, cached, protection (C: no PIN; P: PIN), ssh
 * fingerprint, ttl and flags from sshcontrol (D disabled, S listed, c confirm). */
static int keyinfo_line(const struct ks_key *k, int fpr, struct sshbuf *lines)
{
	char text[200], ttl[24] = "-", flags[4] = "";
	int disabled = 0, confirm = 0;
	long t = 0;

	if (sshcontrol_lookup(k->keygrip, &disabled, &t, &confirm)) {
		if (t > 0)
			snprintf(ttl, sizeof(ttl), "%ld", t);
		strcat(flags, disabled ? "D" : "S");
		if (confirm)
			strcat(flags, "c");
	}
	int n = snprintf(text, sizeof(text), "%s D - - - %s %s %s %s\n", k->keygrip,
			 k->empty_auth ? "C" : "P", fpr ? k->fingerprint : "-", ttl,
			 flags[0] ? flags : "-");

	return sshbuf_put(lines, text, (size_t)n);
}

/* Sends the collected lines as status lines, or as data with --data. */
static gpg_error_t keyinfo_send(assuan_context_t ctx, struct sshbuf *lines, int data)
{
	const char *p = (const char *)sshbuf_ptr(lines), *end = p + sshbuf_len(lines);
	gpg_error_t rc = 0;

	if (data)
		return sshbuf_len(lines) ? assuan_send_data(ctx, p, sshbuf_len(lines)) : 0;
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char one[160];

		snprintf(one, sizeof(one), "%.*s", (int)(nl - p), p);
		rc = assuan_write_status(ctx, "KEYINFO", one);
		p = nl + 1;
	}
	return rc;
}

static gpg_error_t cmd_keyinfo(assuan_context_t ctx, char *line)
{
	struct agent *a = gpg_sess(ctx)->a;
	int list = gpg_has_option(line, "--list", 0), data = gpg_has_option(line, "--data", 0);
	int fpr = gpg_has_option(line, "--ssh-fpr", 1), r = 0;
	int ssh_list = gpg_has_option(line, "--ssh-list", 0);
	struct sshbuf *lines;
	gpg_error_t rc = 0;
	char grip[41];
	struct ks_key *k;

	sshcontrol_refresh();
	if (ssh_list)
		list = 1; /* as gpg-agent: the keys sshcontrol lists (flag D: disabled) */
	if (!list && gpg_parse_grip(gpg_skip_options(line), grip) != 0)
		return gpg_grip_error(ctx);
	if ((lines = sshbuf_new(SSHBUF_SIZE_MAX)) == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	/* Collected under the lock, sent after it: a client that does not read must
	 * never hold up the other connections. */
	pthread_mutex_lock(&a->lock);
	if (list) {
		for (size_t i = 0; r == 0 && a->lock_hash == NULL && i < keystore_count(a->ks); i++)
			if (!(k = keystore_get(a->ks, i))->hidden && offer_usable(a, k) &&
			    (!ssh_list || sshcontrol_listed(k)))
				r = keyinfo_line(k, fpr, lines);
	} else if ((k = gpg_usable_key(a, grip)) != NULL) {
		r = keyinfo_line(k, fpr, lines);
	} else {
		rc = GPG_AGENT_ERR(GPG_ERR_NOT_FOUND);
	}
	pthread_mutex_unlock(&a->lock);
	if (rc == 0)
		rc = r != 0 ? GPG_AGENT_ERR(GPG_ERR_ENOMEM) : keyinfo_send(ctx, lines, data);
	sshbuf_free(lines);
	return rc;
}

/* Copies the public key of grip out from under the lock. */
gpg_error_t gpg_copy_public(assuan_context_t ctx, const char *grip, struct sshkey_pub *pub)
{
	struct agent *a = gpg_sess(ctx)->a;
	struct ks_key *k;
	gpg_error_t rc = 0;

	pthread_mutex_lock(&a->lock);
	if ((k = gpg_usable_key(a, grip)) != NULL)
		*pub = k->pub;
	else
		rc = gpg_no_key(ctx, a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

gpg_error_t gpg_send_public_key(assuan_context_t ctx, const struct sshkey_pub *pub)
{
	struct sshbuf *out = sshbuf_new(REPLY_MAX);
	gpg_error_t rc;

	if (out == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	if (sexp_build_public_key(pub, out) != 0)
		rc = GPG_AGENT_ERR(GPG_ERR_INTERNAL);
	else
		rc = gpg_send_reply(ctx, out);
	sshbuf_free(out);
	return rc;
}

static gpg_error_t cmd_readkey(assuan_context_t ctx, char *line)
{
	struct sshkey_pub pub = { 0 };
	char grip[41];
	gpg_error_t rc;

	if (gpg_has_option(line, "--card", 0)) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "READKEY %s", gpg_skip_options(line));
		return gpg_scd_relay(ctx, cmd);
	}
	if (gpg_parse_grip(gpg_skip_options(line), grip) != 0)
		return gpg_grip_error(ctx);
	if ((rc = gpg_copy_public(ctx, grip, &pub)) != 0)
		return rc;
	return gpg_has_option(line, "--no-data", 0) ? 0 : gpg_send_public_key(ctx, &pub);
}

/* ---------------------------------------------------------------- table */

/* A locked agent (ssh-add -x) serves gpg nothing but the handshake and questions that
 * already answer "no key": one check before every command, so commands added later
 * are covered too. */
static gpg_error_t locked_gate(assuan_context_t ctx, const char *cmd)
{
	static const char *const open_when_locked[] = { "GETINFO", "HAVEKEY", "KEYINFO", "NOP",
							"BYE", "RESET", "OPTION", "END",
							"CANCEL", "KILLAGENT" };
	struct agent *a = gpg_sess(ctx)->a;
	int locked;

	pthread_mutex_lock(&a->lock);
	locked = a->lock_hash != NULL;
	pthread_mutex_unlock(&a->lock);
	for (size_t i = 0; locked && i < sizeof(open_when_locked) / sizeof(open_when_locked[0]); i++)
		if (strcasecmp(cmd, open_when_locked[i]) == 0)
			return 0;
	return locked ? set_error(ctx, GPG_ERR_LOCKED, "the agent is locked (ssh-add -X unlocks it)")
		      : 0;
}

int gpg_register_commands(assuan_context_t ctx)
{
	static const struct {
		const char *name;
		assuan_handler_t handler;
	} table[] = {
		{ "GETINFO", cmd_getinfo },
		{ "HAVEKEY", cmd_havekey },
		{ "KEYINFO", cmd_keyinfo },
		{ "READKEY", cmd_readkey },
		{ "SIGKEY", gpg_cmd_sigkey },
		{ "SETKEY", gpg_cmd_sigkey },
		{ "SETKEYDESC", gpg_cmd_setkeydesc },
		{ "SETHASH", gpg_cmd_sethash },
		{ "PKSIGN", gpg_cmd_pksign },
		{ "PKDECRYPT", gpg_cmd_pkdecrypt },
		{ "GENKEY", gpg_cmd_genkey },
		{ "PASSWD", gpg_cmd_passwd },
		{ "KILLAGENT", cmd_killagent },
		{ "RELOADAGENT", cmd_reloadagent },
		{ "SCD", gpg_cmd_scd },
		{ "LEARN", gpg_cmd_learn },
		{ "DELETE_KEY", gpg_cmd_delete_key },
		{ "EXPORT_KEY", gpg_cmd_export_key },
		{ "KEYWRAP_KEY", gpg_cmd_keywrap_key },
		{ "IMPORT_KEY", gpg_cmd_import_key },
	};
	gpg_error_t rc;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if ((rc = assuan_register_command(ctx, table[i].name, table[i].handler, NULL)) != 0)
			return (int)rc;
	if ((rc = assuan_register_pre_cmd_notify(ctx, locked_gate)) != 0 ||
	    (rc = assuan_register_option_handler(ctx, option_handler)) != 0 ||
	    (rc = assuan_register_reset_notify(ctx, reset_notify)) != 0)
		return (int)rc;
	return 0;
}
