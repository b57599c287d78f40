/* daemon_gpg_cmd: the gpg-agent commands gpg 2.2 uses, answered with exactly the
 * replies it expects (shared/REFERENCE.md §5), over keys held in the TPM. */
#include "daemon_gpg.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keystore/store.h"
#include "../protocol/sexp.h"
#include "daemon_pin.h"
#include "log.h"

#define MAXLEN_CIPHERTEXT 4096  /* gpg-agent's INQUIRE limits */
#define MAXLEN_KEYPARAM   1024
#define MAXLEN_PASSPHRASE 255
#define REPLY_MAX         4096

/* Generation flags for GENKEY. gpg's key parameters do not say whether a key will sign
 * or decrypt, so GENKEY makes keys that can do both. */
#define GENKEY_FLAGS KS_GEN_DECRYPT

#define set_error(ctx, code, text) assuan_set_error((ctx), GPG_AGENT_ERR(code), (text))

static struct gpg_session *session(assuan_context_t ctx)
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
}

/* ---------------------------------------------------------------- parsing helpers */

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* 1 if the line holds the option word opt ("--list" matches "--list" and "--list=5"
 * when prefix_ok), before the first non-option word. */
static int has_option(const char *line, const char *opt, int prefix_ok)
{
	size_t n = strlen(opt);

	for (const char *p = skip_blanks(line); p[0] == '-' && p[1] == '-'; ) {
		size_t w = strcspn(p, " \t");

		if ((w == n || (prefix_ok && w > n && p[n] == '=')) && strncmp(p, opt, n) == 0)
			return 1;
		if (w == 2)
			break; /* "--" ends the options */
		p = skip_blanks(p + w);
	}
	return 0;
}

/* The first word after the options (and after a "--"). */
static const char *skip_options(const char *line)
{
	const char *p = skip_blanks(line);

	while (p[0] == '-' && p[1] == '-') {
		size_t w = strcspn(p, " \t");

		p = skip_blanks(p + w);
		if (w == 2)
			break;
	}
	return p;
}

/* A keygrip: exactly 40 hex digits, then the end or a blank. Upper-cased into out. */
static int parse_grip(const char *p, char out[41])
{
	for (int i = 0; i < 40; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		out[i] = (char)toupper((unsigned char)p[i]);
	}
	out[40] = '\0';
	return (p[40] == '\0' || p[40] == ' ' || p[40] == '\t') ? 0 : -1;
}

static gpg_error_t grip_error(assuan_context_t ctx)
{
	return set_error(ctx, GPG_ERR_ASS_PARAMETER, "invalid keygrip (40 hex digits)");
}

/* ---------------------------------------------------------------- key access */

/* Under a->lock: the key gpg may use under this grip, or NULL. Keys removed with
 * ssh-add -d are gone for gpg too, and a locked agent (ssh-add -x) holds none. */
static struct ks_key *usable_key(struct agent *a, const char *grip)
{
	struct ks_key *k;

	if (a->lock_hash != NULL)
		return NULL;
	k = keystore_find_grip(a->ks, grip);
	return (k != NULL && !k->hidden) ? k : NULL;
}

static gpg_error_t no_key(assuan_context_t ctx, struct agent *a)
{
	if (a->lock_hash != NULL)
		return set_error(ctx, GPG_ERR_LOCKED, "the agent is locked (ssh-add -X unlocks it)");
	return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
}

/* Maps a keystore/TPM failure to the gpg error gpg reports best. assuan_set_error keeps
 * the text pointer until the handler has returned and the ERR line is written, and e is
 * on the caller's stack: the text is copied to this thread's (connection's) buffer. */
static gpg_error_t key_op_error(assuan_context_t ctx, int r, const struct errmsg *e)
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
static gpg_error_t send_reply(assuan_context_t ctx, struct sshbuf *out)
{
	gpg_error_t rc = assuan_send_data(ctx, sshbuf_ptr(out), sshbuf_len(out));

	sshbuf_reset(out);
	return rc;
}

/* INQUIRE keyword: the reply (malloc'd by libassuan; free with assuan_free). A client
 * that stays silent times out (see hook_read); confidential hides it from logs. */
static gpg_error_t inquire(assuan_context_t ctx, const char *keyword, size_t maxlen,
			   int confidential, unsigned char **buf, size_t *len)
{
	struct gpg_session *s = session(ctx);
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

/* ---------------------------------------------------------------- handshake and admin */

static gpg_error_t option_handler(assuan_context_t ctx, const char *key, const char *value)
{
	struct gpg_session *s = session(ctx);
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
	gpg_session_reset(session(ctx));
	return 0;
}

static gpg_error_t send_string(assuan_context_t ctx, const char *s)
{
	return assuan_send_data(ctx, s, strlen(s));
}

static gpg_error_t cmd_getinfo(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);
	char pid[32];

	line = (char *)skip_blanks(line);
	if (strcmp(line, "version") == 0)
		return send_string(ctx, GPG_AGENT_COMPAT_VERSION);
	if (strcmp(line, "pid") == 0) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		return send_string(ctx, pid);
	}
	if (strcmp(line, "socket_name") == 0)
		return send_string(ctx, gpg_server_socket());
	if (strcmp(line, "ssh_socket_name") == 0)
		return send_string(ctx, s->a->socket_path);
	if (strcmp(line, "restricted") == 0)
		return GPG_AGENT_ERR(GPG_ERR_FALSE);
	if (strncmp(line, "cmd_has_option", 14) == 0)
		return GPG_AGENT_ERR(GPG_ERR_FALSE); /* none of the optional extras */
	return set_error(ctx, GPG_ERR_ASS_PARAMETER, "unknown value for WHAT");
}

static gpg_error_t cmd_killagent(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);

	(void)line;
	log_info("gpg: KILLAGENT from pid %d: shutting down", (int)s->pid);
	s->a->quit = 1; /* the main loop polls with a timeout and notices */
	assuan_set_flag(ctx, ASSUAN_FORCE_CLOSE, 1);
	return 0;
}

/* Loads key files added to the store since we started (tpm-key gen by another agent,
 * or copied in). Keys already held are left as they are. */
static gpg_error_t cmd_reloadagent(assuan_context_t ctx, char *line)
{
	struct agent *a = session(ctx)->a;
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
	struct agent *a = session(ctx)->a;
	const char *eq = strstr(line, "--list=");
	long limit = eq ? strtol(eq + 7, NULL, 10) : -1;
	uint8_t grips[64 * 20];
	size_t n = 0;
	gpg_error_t rc = 0;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; a->lock_hash == NULL && i < keystore_count(a->ks); i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		if (k->hidden || (limit >= 0 && (long)(n / 20) >= limit))
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
	struct agent *a = session(ctx)->a;
	char grip[41];
	int found = 0;

	if (has_option(line, "--list", 1))
		return havekey_list(ctx, line);
	line = (char *)skip_options(line);
	if (*line == '\0')
		return grip_error(ctx);
	for (const char *p = line; *p != '\0'; p = skip_blanks(p + strcspn(p, " \t"))) {
		if (parse_grip(p, grip) != 0)
			return grip_error(ctx);
		pthread_mutex_lock(&a->lock);
		found |= usable_key(a, grip) != NULL;
		pthread_mutex_unlock(&a->lock);
	}
	return found ? 0 : GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
}

/* One KEYINFO line (without "KEYINFO "), appended to lines: grip, type D (a key "on
 * disk" to gpg), serialno, idstr, cached, protection (C: no PIN; P: PIN), ssh
 * fingerprint, ttl, flags. */
static int keyinfo_line(const struct ks_key *k, int fpr, struct sshbuf *lines)
{
	char text[160];
	int n = snprintf(text, sizeof(text), "%s D - - - %s %s - -\n", k->keygrip,
			 k->empty_auth ? "C" : "P", fpr ? k->fingerprint : "-");

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
	struct agent *a = session(ctx)->a;
	int list = has_option(line, "--list", 0), data = has_option(line, "--data", 0);
	int fpr = has_option(line, "--ssh-fpr", 1), r = 0;
	struct sshbuf *lines;
	gpg_error_t rc = 0;
	char grip[41];
	struct ks_key *k;

	if (has_option(line, "--ssh-list", 0))
		return 0; /* no sshcontrol file: every key is offered to ssh anyway */
	if (!list && parse_grip(skip_options(line), grip) != 0)
		return grip_error(ctx);
	if ((lines = sshbuf_new(SSHBUF_SIZE_MAX)) == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	/* Collected under the lock, sent after it: a client that does not read must
	 * never hold up the other connections. */
	pthread_mutex_lock(&a->lock);
	if (list) {
		for (size_t i = 0; r == 0 && a->lock_hash == NULL && i < keystore_count(a->ks); i++)
			if (!(k = keystore_get(a->ks, i))->hidden)
				r = keyinfo_line(k, fpr, lines);
	} else if ((k = usable_key(a, grip)) != NULL) {
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
static gpg_error_t copy_public(assuan_context_t ctx, const char *grip, struct sshkey_pub *pub)
{
	struct agent *a = session(ctx)->a;
	struct ks_key *k;
	gpg_error_t rc = 0;

	pthread_mutex_lock(&a->lock);
	if ((k = usable_key(a, grip)) != NULL)
		*pub = k->pub;
	else
		rc = no_key(ctx, a);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static gpg_error_t send_public_key(assuan_context_t ctx, const struct sshkey_pub *pub)
{
	struct sshbuf *out = sshbuf_new(REPLY_MAX);
	gpg_error_t rc;

	if (out == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	if (sexp_build_public_key(pub, out) != 0)
		rc = GPG_AGENT_ERR(GPG_ERR_INTERNAL);
	else
		rc = send_reply(ctx, out);
	sshbuf_free(out);
	return rc;
}

static gpg_error_t cmd_readkey(assuan_context_t ctx, char *line)
{
	struct sshkey_pub pub = { 0 };
	char grip[41];
	gpg_error_t rc;

	if (has_option(line, "--card", 0))
		return set_error(ctx, GPG_ERR_NOT_SUPPORTED, "no smartcards here");
	if (parse_grip(skip_options(line), grip) != 0)
		return grip_error(ctx);
	if ((rc = copy_public(ctx, grip, &pub)) != 0)
		return rc;
	return has_option(line, "--no-data", 0) ? 0 : send_public_key(ctx, &pub);
}

/* ---------------------------------------------------------------- signing */

static gpg_error_t cmd_sigkey(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);

	if (parse_grip(skip_blanks(line), s->grip) != 0) {
		s->have_grip = 0;
		return grip_error(ctx);
	}
	s->have_grip = 1;
	return 0;
}

/* SETKEYDESC: kept ('+' decoded, %-escapes left for pinentry) for the PIN prompt. */
static gpg_error_t cmd_setkeydesc(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);
	const char *desc = skip_blanks(line);
	size_t n = strcspn(desc, " \t");

	if (n == 0)
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "no description given");
	free(s->keydesc);
	if ((s->keydesc = strndup(desc, n)) == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	for (char *p = s->keydesc; *p; p++)
		if (*p == '+')
			*p = ' ';
	return 0;
}

static const struct {
	int algo;               /* libgcrypt's number, as gpg sends it */
	const char *name;
	size_t len;
	enum sshkey_hash hash;  /* SSHKEY_HASH_NONE: no TPM equivalent */
} hashes[] = {
	{ 2, "sha1", 20, SSHKEY_HASH_SHA1 },
	{ 8, "sha256", 32, SSHKEY_HASH_SHA256 },
	{ 9, "sha384", 48, SSHKEY_HASH_SHA384 },
	{ 10, "sha512", 64, SSHKEY_HASH_SHA512 },
	{ 11, "sha224", 28, SSHKEY_HASH_NONE },
};

static int hash_index(int algo, const char *name, size_t name_len)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if ((name == NULL && hashes[i].algo == algo) ||
		    (name != NULL && strlen(hashes[i].name) == name_len &&
		     strncmp(hashes[i].name, name, name_len) == 0))
			return (int)i;
	return -1;
}

/* The hash algorithm of "SETHASH --hash=<name> ..." or "SETHASH <number> ...". */
static int sethash_algo(const char *line, const char **rest)
{
	const char *p = skip_blanks(line);
	char *end;
	long algo;

	if (strncmp(p, "--hash=", 7) == 0) {
		size_t w = strcspn(p + 7, " \t");

		*rest = skip_options(p);
		return hash_index(0, p + 7, w);
	}
	*rest = p;
	algo = strtol(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\t'))
		return -1;
	*rest = skip_blanks(end);
	return hash_index((int)algo, NULL, 0);
}

static gpg_error_t cmd_sethash(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);
	const char *hex;
	int i = sethash_algo(line, &hex);
	size_t n;

	s->digest_len = 0;
	if (i < 0)
		return set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM,
				 "hash algorithm: 2 (SHA1), 8, 9, 10 (SHA2-256/384/512) or 11 (SHA224)");
	n = strspn(hex, "0123456789abcdefABCDEF");
	if (hex[n] != '\0' && hex[n] != ' ' && hex[n] != '\t')
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "invalid hexstring");
	if (n != 2 * hashes[i].len)
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "digest length does not match the algorithm");
	for (size_t j = 0; j < hashes[i].len; j++) {
		unsigned v;

		sscanf(hex + 2 * j, "%2x", &v);
		s->digest[j] = (uint8_t)v;
	}
	s->digest_len = hashes[i].len;
	s->hash_algo = i;
	return 0;
}

/* gpg-agent's rule (pksign.c): an ECDSA digest shorter than the key, capped at 512
 * bits, is refused; a longer one is cut by the signer. */
static gpg_error_t check_digest_for(assuan_context_t ctx, const struct gpg_session *s,
				    enum sshkey_type type)
{
	size_t need;

	if (type == SSHKEY_RSA)
		return hashes[s->hash_algo].hash == SSHKEY_HASH_NONE ?
			set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM, "the TPM has no SHA-224") : 0;
	need = sshkey_ec_field_len(type);
	if (need > 64)
		need = 64;
	if (s->digest_len < need)
		return set_error(ctx, GPG_ERR_INV_LENGTH, "hash shorter than the key");
	return 0;
}

/* ---------------------------------------------------------------- keys with a PIN */

/* The PIN of a key comes from pinentry, shown where this client's OPTIONs say, with
 * its SETKEYDESC text; in pinentry-mode loopback from an INQUIRE PASSPHRASE that gpg
 * answers (--passphrase), only once per operation since gpg would resend the same. */
struct gpg_key_use {
	assuan_context_t ctx;
	struct gpg_session *s;
	int (*op)(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		  struct errmsg *e);
	void *arg;
};

static struct ks_key *gpg_use_find(struct agent *a, void *arg)
{
	return usable_key(a, ((struct gpg_key_use *)arg)->s->grip);
}

static int gpg_use_op(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		      void *arg, struct errmsg *e)
{
	(void)a;
	return ((struct gpg_key_use *)arg)->op(arg, k, pin, pin_len, e);
}

/* INQUIRE PASSPHRASE (loopback): the answer goes to sodium memory at once. */
static int gpg_ask_loopback(void *arg, const char *error, char **pin, size_t *pin_len,
			    struct errmsg *e)
{
	struct gpg_key_use *g = arg;
	unsigned char *buf = NULL;
	size_t len = 0;
	gpg_error_t rc;

	(void)error;
	rc = inquire(g->ctx, "PASSPHRASE", MAXLEN_PASSPHRASE, 1, &buf, &len);
	if (rc == 0 && (*pin = sodium_malloc(len + 1)) != NULL) {
		memcpy(*pin, buf, len);
		(*pin)[len] = '\0';
		*pin_len = len;
	}
	if (buf != NULL) {
		explicit_bzero(buf, len);
		assuan_free(g->ctx, buf);
	}
	if (rc != 0) {
		errmsg_set(e, "no passphrase from the client (INQUIRE PASSPHRASE: %s)",
			   gpg_strerror(rc));
		return PIN_E_CANCELED;
	}
	return *pin != NULL ? 0 : errmsg_set(e, "out of secure memory");
}

/* pinentry-mode cancel / error: a key that needs a PIN cannot be used. */
static int gpg_ask_refused(void *arg, const char *error, char **pin, size_t *pin_len,
			   struct errmsg *e)
{
	(void)arg;
	(void)error;
	(void)pin;
	(void)pin_len;
	errmsg_set(e, "the key needs a PIN and the client's pinentry-mode allows no prompt");
	return PIN_E_PINENTRY;
}

/* The client's OPTIONs as a prompt environment; NULL when it sent none. */
static struct pin_env_store *gpg_prompt_env(const struct gpg_session *s)
{
	const char *v[PE_COUNT] = { [PE_GPG_TTY] = s->ttyname, [PE_TERM] = s->ttytype,
				    [PE_DISPLAY] = s->display, [PE_LC_CTYPE] = s->lc_ctype,
				    [PE_LC_MESSAGES] = s->lc_messages };
	struct pin_env_store *env = NULL;

	for (int i = 0; i < PE_COUNT; i++) {
		if (v[i] == NULL || v[i][0] == '\0')
			continue;
		if (env == NULL && (env = calloc(1, sizeof(*env))) == NULL)
			return NULL;
		env->value[i] = strdup(v[i]);
	}
	return env;
}

/* SETKEYDESC text with its %XX escapes decoded (the pinentry module escapes again). */
static char *gpg_prompt_desc(const char *keydesc)
{
	char *out = keydesc ? malloc(strlen(keydesc) + 1) : NULL, *o = out;
	unsigned v;

	for (const char *p = keydesc; out != NULL && *p; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
		    sscanf(p + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	if (out != NULL)
		*o = '\0';
	return out;
}

/* Runs g->op on the session's key with its PIN (none asked for keys without one). */
static gpg_error_t with_key_pin(struct gpg_key_use *g, const char *action, const char *what)
{
	struct gpg_session *s = g->s;
	struct pin_env_store *env = gpg_prompt_env(s);
	char *desc = gpg_prompt_desc(s->keydesc);
	struct pin_use u = { .a = s->a, .pid = s->pid, .env = env, .desc = desc, .action = action,
			     .find = gpg_use_find, .op = gpg_use_op, .arg = g, .ask_arg = g };
	struct errmsg e = { "" };
	int r;

	if (s->pinentry_mode == PINENTRY_LOOPBACK) {
		u.ask = gpg_ask_loopback;
		u.max_prompts = 1;
	} else if (s->pinentry_mode != PINENTRY_ASK) {
		u.ask = gpg_ask_refused;
	}
	r = pin_use_key(&u, &e);
	pin_env_free(env);
	free(desc);
	if (r == 0)
		return 0;
	log_warn("gpg: %s for pid %d failed: %s", what, (int)s->pid, e.text);
	return key_op_error(g->ctx, r, &e);
}

struct gpg_sign_args {
	enum sshkey_hash hash;
	struct tpm_signature *sig;
};

static int gpg_sign_op(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin,
		       size_t pin_len, struct errmsg *e)
{
	struct gpg_sign_args *a = g->arg;
	int r = keystore_sign_digest_auth(g->s->a->ks, k, pin, pin_len, a->hash, g->s->digest,
					  g->s->digest_len, a->sig, e);

	if (r == 0)
		log_debug("gpg: signed with key '%s' for pid %d", k->name, (int)g->s->pid);
	return r;
}

/* Signs (asking the key's PIN if it has one); the signature and the key's shape come
 * back in sig / pub. */
static gpg_error_t sign_locked(assuan_context_t ctx, struct gpg_session *s,
			       struct tpm_signature *sig, struct sshkey_pub *pub)
{
	struct agent *a = s->a;
	struct gpg_sign_args args = { hashes[s->hash_algo].hash, sig };
	struct gpg_key_use g = { ctx, s, gpg_sign_op, &args };
	struct ks_key *k;
	gpg_error_t rc;

	pthread_mutex_lock(&a->lock);
	if ((k = usable_key(a, s->grip)) == NULL)
		rc = no_key(ctx, a);
	else if ((rc = check_digest_for(ctx, s, k->pub.type)) == 0)
		*pub = k->pub;
	pthread_mutex_unlock(&a->lock);
	return rc != 0 ? rc : with_key_pin(&g, "sign with", "signing");
}

static gpg_error_t cmd_pksign(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);
	struct tpm_signature sig;
	struct sshkey_pub pub = { 0 };
	struct sshbuf *out;
	gpg_error_t rc;
	int r;

	(void)line; /* options and the cache nonce: we cache no passphrases */
	if (!s->have_grip)
		return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
	if (s->digest_len == 0)
		return set_error(ctx, GPG_ERR_NO_DATA, "no digest (SETHASH) given");
	if ((rc = sign_locked(ctx, s, &sig, &pub)) != 0)
		goto done;
	if ((out = sshbuf_new(REPLY_MAX)) == NULL) {
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
		goto done;
	}
	if (pub.type == SSHKEY_RSA)
		r = sexp_build_sig_rsa(sig.s, sig.s_len, pub.n_len, out);
	else
		r = sexp_build_sig_ecdsa(sig.r, sig.r_len, sig.s, sig.s_len, out);
	rc = r != 0 ? GPG_AGENT_ERR(GPG_ERR_INTERNAL) : send_reply(ctx, out);
	sshbuf_free(out);
done:
	free(s->keydesc); /* a description is for one operation */
	s->keydesc = NULL;
	return rc;
}

/* ---------------------------------------------------------------- decryption */

struct gpg_decrypt_args {
	int is_rsa;
	const uint8_t *in; size_t in_len;
	uint8_t *out; size_t *out_len;
};

static int gpg_decrypt_op(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin,
			  size_t pin_len, struct errmsg *e)
{
	struct gpg_decrypt_args *a = g->arg;

	if (a->is_rsa)
		return keystore_decrypt_rsa_auth(g->s->a->ks, k, pin, pin_len, a->in, a->in_len,
						 a->out, SSHKEY_RSA_MAX_BYTES, a->out_len, e);
	return keystore_ecdh_zgen_auth(g->s->a->ks, k, pin, pin_len, a->in, a->in_len, a->out,
				       SSHKEY_EC_POINT_MAX, a->out_len, e);
}

/* The key's answer to an enc-val: RSA "(rsa(a ..))" or ECDH "(ecdh(s ..)(e ..))". */
static gpg_error_t decrypt_locked(assuan_context_t ctx, struct gpg_session *s,
				  const struct sexp_tree *t, uint8_t *out, size_t *out_len,
				  int *is_rsa)
{
	int rsa = sexp_find(t, 0, "rsa"), ecdh = sexp_find(t, 0, "ecdh");
	const uint8_t *v;
	size_t vlen;
	struct ks_key *k;
	gpg_error_t rc = 0;

	if ((rsa == SEXP_NONE) == (ecdh == SEXP_NONE))
		return set_error(ctx, GPG_ERR_INV_SEXP, "enc-val holds neither rsa nor ecdh");
	if (sexp_find_value(t, rsa != SEXP_NONE ? rsa : ecdh, rsa != SEXP_NONE ? "a" : "e",
			    &v, &vlen) != 0)
		return set_error(ctx, GPG_ERR_INV_SEXP, "enc-val lacks its value");
	while (vlen > 0 && v[0] == 0) { /* an MPI may carry a sign byte */
		v++;
		vlen--;
	}
	*is_rsa = rsa != SEXP_NONE;
	pthread_mutex_lock(&s->a->lock);
	if ((k = usable_key(s->a, s->grip)) == NULL)
		rc = no_key(ctx, s->a);
	else if (*is_rsa != (k->pub.type == SSHKEY_RSA))
		rc = set_error(ctx, GPG_ERR_WRONG_PUBKEY_ALGO, "ciphertext is for another key type");
	pthread_mutex_unlock(&s->a->lock);
	if (rc == 0) {
		struct gpg_decrypt_args args = { *is_rsa, v, vlen, out, out_len };
		struct gpg_key_use g = { ctx, s, gpg_decrypt_op, &args };

		rc = with_key_pin(&g, "decrypt with", "decryption");
	}
	return rc;
}

static gpg_error_t cmd_pkdecrypt(assuan_context_t ctx, char *line)
{
	struct gpg_session *s = session(ctx);
	struct sexp_tree *t = NULL;
	unsigned char *ct = NULL;
	uint8_t plain[SSHKEY_RSA_MAX_BYTES];
	size_t ct_len = 0, plain_len = 0;
	struct sshbuf *out = NULL;
	gpg_error_t rc;
	int is_rsa = 0, r;

	(void)line;
	if (!s->have_grip)
		return GPG_AGENT_ERR(GPG_ERR_NO_SECKEY);
	if ((rc = inquire(ctx, "CIPHERTEXT", MAXLEN_CIPHERTEXT, 0, &ct, &ct_len)) != 0)
		goto done;
	if ((t = malloc(sizeof(*t))) == NULL || (out = sshbuf_new(REPLY_MAX)) == NULL) {
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
		goto done;
	}
	if ((r = sexp_parse(ct, ct_len, SEXP_CANONICAL, t)) != 0 || !sexp_list_named(t, 0, "enc-val")) {
		rc = set_error(ctx, GPG_ERR_INV_SEXP, r != 0 ? sexp_strerror(r) : "not an enc-val");
		goto done;
	}
	if ((rc = decrypt_locked(ctx, s, t, plain, &plain_len, &is_rsa)) != 0)
		goto done;
	/* RSA: the TPM removed the PKCS#1 padding; tell gpg not to look for it. */
	if (is_rsa && (rc = assuan_write_status(ctx, "PADDING", "0")) != 0)
		goto done;
	rc = sexp_build_value(plain, plain_len, out) != 0 ? GPG_AGENT_ERR(GPG_ERR_INTERNAL) :
		send_reply(ctx, out);
done:
	explicit_bzero(plain, sizeof(plain));
	sshbuf_free(out);
	free(t);
	assuan_free(ctx, ct);
	free(s->keydesc);
	s->keydesc = NULL;
	return rc;
}

/* ---------------------------------------------------------------- key generation */

/* Small decimal atom ("3072") into *v. */
static int atom_uint(const uint8_t *p, size_t len, unsigned *v)
{
	*v = 0;
	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

static int is_25519(const uint8_t *p, size_t len)
{
	static const char *const names[] = { "Ed25519", "Curve25519", "cv25519", "ed25519",
					     "X25519", "Ed448", "X448" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
			return 1;
	return 0;
}

static gpg_error_t keyparam_rsa(assuan_context_t ctx, const struct sexp_tree *t, int alg,
				enum sshkey_type *type, unsigned *bits)
{
	const uint8_t *p;
	size_t len;

	if (sexp_find_value(t, alg, "nbits", &p, &len) != 0 || atom_uint(p, len, bits) != 0)
		return set_error(ctx, GPG_ERR_INV_DATA, "rsa key parameters lack nbits");
	*type = SSHKEY_RSA;
	if (*bits > 3072)
		return set_error(ctx, GPG_ERR_NOT_SUPPORTED,
				 "TPMs make RSA keys of at most 3072 bits; use rsa3072 or nistp256");
	if (*bits != 2048 && *bits != 3072)
		return set_error(ctx, GPG_ERR_INV_VALUE, "RSA keys are 2048 or 3072 bits");
	return 0;
}

static gpg_error_t keyparam_ecc(assuan_context_t ctx, const struct sexp_tree *t, int alg,
				enum sshkey_type *type, unsigned *bits)
{
	const uint8_t *p;
	size_t len;

	if (sexp_find_value(t, alg, "curve", &p, &len) != 0)
		return set_error(ctx, GPG_ERR_INV_DATA, "ecc key parameters lack a curve");
	*type = sexp_curve_type(p, len);
	if (*type != SSHKEY_UNSPEC) {
		*bits = *type == SSHKEY_ECDSA_P256 ? 256 : *type == SSHKEY_ECDSA_P384 ? 384 : 521;
		return 0;
	}
	if (is_25519(p, len))
		return set_error(ctx, GPG_ERR_NOT_SUPPORTED,
				 "TPM 2.0 has no Curve25519/Ed25519/448; use nistp256, nistp384 or nistp521");
	return set_error(ctx, GPG_ERR_UNKNOWN_CURVE, "use nistp256, nistp384 or nistp521");
}

/* (genkey(rsa(nbits 4:3072))) or (genkey(ecc(curve 10:NIST P-256)(flags nocomp))). */
static gpg_error_t parse_keyparam(assuan_context_t ctx, const unsigned char *buf, size_t len,
				  enum sshkey_type *type, unsigned *bits)
{
	struct sexp_tree *t = malloc(sizeof(*t));
	gpg_error_t rc;
	int alg, r;

	if (t == NULL)
		return GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	if ((r = sexp_parse(buf, len, SEXP_ALLOW_TOKENS, t)) != 0)
		rc = set_error(ctx, GPG_ERR_INV_DATA, sexp_strerror(r));
	else if (!sexp_list_named(t, 0, "genkey") || (alg = sexp_nth(t, 0, 1)) == SEXP_NONE)
		rc = set_error(ctx, GPG_ERR_INV_DATA, "not a genkey S-expression");
	else if (sexp_list_named(t, alg, "rsa"))
		rc = keyparam_rsa(ctx, t, alg, type, bits);
	else if (sexp_list_named(t, alg, "ecc") || sexp_list_named(t, alg, "ecdsa") ||
		 sexp_list_named(t, alg, "ecdh"))
		rc = keyparam_ecc(ctx, t, alg, type, bits);
	else
		rc = set_error(ctx, GPG_ERR_UNSUPPORTED_ALGORITHM, "TPM keys are rsa or ecc (NIST)");
	free(t);
	return rc;
}

/* The passphrase step of GENKEY: --inq-passwd asks NEWPASSWD, loopback mode asks
 * NEW_PASSPHRASE (as gpg-agent's pinentry would). A non-empty answer becomes the key's
 * PIN (*pin, sodium memory, NULL for none); without either, the key gets no PIN. */
static gpg_error_t genkey_passphrase(assuan_context_t ctx, int inq_passwd, char **pin,
				     size_t *pin_len)
{
	struct gpg_session *s = session(ctx);
	unsigned char *pw = NULL;
	size_t len = 0;
	gpg_error_t rc;

	if (inq_passwd)
		rc = inquire(ctx, "NEWPASSWD", MAXLEN_PASSPHRASE, 1, &pw, &len);
	else if (s->pinentry_mode == PINENTRY_LOOPBACK)
		rc = inquire(ctx, "NEW_PASSPHRASE", MAXLEN_PASSPHRASE, 0, &pw, &len);
	else
		return 0;
	if (rc == 0 && len > PIN_AUTH_MAX)
		rc = set_error(ctx, GPG_ERR_TOO_LARGE, "a TPM key's PIN (passphrase) has at most 32 bytes");
	else if (rc == 0 && len > 0 && (*pin = sodium_malloc(len + 1)) == NULL)
		rc = GPG_AGENT_ERR(GPG_ERR_ENOMEM);
	else if (rc == 0 && len > 0) {
		memcpy(*pin, pw, len);
		(*pin)[len] = '\0';
		*pin_len = len;
	}
	if (pw != NULL) {
		explicit_bzero(pw, len);
		assuan_free(ctx, pw);
	}
	return rc;
}

static gpg_error_t genkey_make(assuan_context_t ctx, enum sshkey_type type, unsigned bits,
			       const char *pin, size_t pin_len, struct sshkey_pub *pub)
{
	struct gpg_session *s = session(ctx);
	struct ks_key *k;
	struct errmsg e;
	gpg_error_t rc = 0;
	int r;

	agent_tpm_lock(s->a);
	r = keystore_generate_auth(s->a->ks, type, bits, NULL, "gpg", GENKEY_FLAGS,
				   (const uint8_t *)pin, pin_len, &k, &e);
	if (r == 0) {
		*pub = k->pub;
		log_info("gpg: GENKEY for pid %d made key '%s' (keygrip %s)", (int)s->pid, k->name,
			 k->keygrip);
	} else {
		log_warn("gpg: GENKEY for pid %d failed: %s", (int)s->pid, e.text);
		rc = key_op_error(ctx, r, &e);
	}
	agent_tpm_unlock(s->a);
	return rc;
}

static gpg_error_t cmd_genkey(assuan_context_t ctx, char *line)
{
	int inq_passwd = has_option(line, "--inq-passwd", 0);
	int no_protection = has_option(line, "--no-protection", 0);
	unsigned char *param = NULL;
	size_t param_len = 0;
	enum sshkey_type type = SSHKEY_UNSPEC;
	unsigned bits = 0;
	struct sshkey_pub pub = { 0 };
	char *pin = NULL;
	size_t pin_len = 0;
	gpg_error_t rc;

	/* --timestamp: gpg records the OpenPGP creation time itself; the TPM key has none. */
	if ((rc = inquire(ctx, "KEYPARAM", MAXLEN_KEYPARAM, 0, &param, &param_len)) != 0)
		return rc;
	rc = parse_keyparam(ctx, param, param_len, &type, &bits);
	assuan_free(ctx, param);
	if (rc == 0 && !no_protection)
		rc = genkey_passphrase(ctx, inq_passwd, &pin, &pin_len);
	if (rc == 0)
		rc = genkey_make(ctx, type, bits, pin, pin_len, &pub);
	if (pin != NULL)
		sodium_free(pin);
	return rc != 0 ? rc : send_public_key(ctx, &pub);
}

/* PASSWD --verify <grip>: our keys have no passphrase to verify; holding the key is
 * the whole answer. Changing a passphrase waits for PIN support. */
static gpg_error_t cmd_passwd(assuan_context_t ctx, char *line)
{
	struct sshkey_pub pub = { 0 };
	char grip[41];

	if (parse_grip(skip_options(line), grip) != 0)
		return grip_error(ctx);
	if (!has_option(line, "--verify", 0))
		return set_error(ctx, GPG_ERR_NOT_IMPLEMENTED, "TPM key PINs cannot be changed yet");
	return copy_public(ctx, grip, &pub);
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
	struct agent *a = session(ctx)->a;
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
		{ "SIGKEY", cmd_sigkey },
		{ "SETKEY", cmd_sigkey },
		{ "SETKEYDESC", cmd_setkeydesc },
		{ "SETHASH", cmd_sethash },
		{ "PKSIGN", cmd_pksign },
		{ "PKDECRYPT", cmd_pkdecrypt },
		{ "GENKEY", cmd_genkey },
		{ "PASSWD", cmd_passwd },
		{ "KILLAGENT", cmd_killagent },
		{ "RELOADAGENT", cmd_reloadagent },
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
