/* daemon_gpg_int: what the gpg command files share (daemon_gpg_cmd.c: handshake and
 * queries; daemon_gpg_sign.c: signing, decryption and PIN use; daemon_gpg_keys.c:
 * generation, passphrases, deletion; daemon_gpg_import.c: secret-key import;
 * daemon_gpg_scd.c: the scdaemon pass-through). Not for other modules. */
#ifndef TPM_AGENT_DAEMON_GPG_INT_H
#define TPM_AGENT_DAEMON_GPG_INT_H

#include "daemon_gpg.h"
#include "daemon_pin.h"

#define MAXLEN_CIPHERTEXT 4096  /* gpg-agent's INQUIRE limits */
#define MAXLEN_KEYPARAM   1024
#define MAXLEN_KEYDATA    8192
#define MAXLEN_PASSPHRASE 255
#define REPLY_MAX         4096

#define set_error(ctx, code, text) assuan_set_error((ctx), GPG_AGENT_ERR(code), (text))

struct gpg_session *gpg_sess(assuan_context_t ctx);

#define GPG_NONCE_HEX 24

/* What gpg's nonces stand for (gpg-agent keeps them in its cache for a minute; we keep
 * them for the connection, which is how long gpg uses them). */
struct gpg_nonces {
	char cache_nonce[GPG_NONCE_HEX + 1];   /* -> old: the passphrase that unlocked */
	char passwd_nonce[GPG_NONCE_HEX + 1];  /* -> new: the PIN a key was given */
	char old[MAXLEN_PASSPHRASE + 1]; size_t old_len;
	char new[PIN_AUTH_MAX + 1]; size_t new_len;
};
/* s->nonces, made (zeroed) when missing; NULL when out of secure memory. */
struct gpg_nonces *gpg_nonces_get(struct gpg_session *s);
/* Sets *nonce to given (when it fits) or to a fresh random one, and sends it as status
 * keyword (CACHE_NONCE, PASSWD_NONCE). */
void gpg_nonce_issue(assuan_context_t ctx, const char *keyword, const char *given,
		     char nonce[GPG_NONCE_HEX + 1]);
/* The value of option name ("--cache-nonce") into out, "" when absent. */
void gpg_option_value(const char *line, const char *name, char *out, size_t len);

/* ---- line parsing ---- */
const char *gpg_skip_blanks(const char *p);
/* 1 if the line holds the option word opt ("--list" matches "--list" and "--list=5"
 * when prefix_ok), before the first non-option word. */
int gpg_has_option(const char *line, const char *opt, int prefix_ok);
/* The first word after the options (and after a "--"). */
const char *gpg_skip_options(const char *line);
/* A keygrip: exactly 40 hex digits, then the end or a blank. Upper-cased into out. */
int gpg_parse_grip(const char *p, char out[41]);
gpg_error_t gpg_grip_error(assuan_context_t ctx);

/* ---- keys (under a->lock) ---- */
/* The key gpg may use under this grip, or NULL (hidden, agent locked). */
struct ks_key *gpg_usable_key(struct agent *a, const char *grip);
gpg_error_t gpg_no_key(assuan_context_t ctx, struct agent *a);
/* Copies the public key of grip out from under the lock. */
gpg_error_t gpg_copy_public(assuan_context_t ctx, const char *grip, struct sshkey_pub *pub);

/* ---- replies ---- */
/* A keystore/TPM/PIN result as the gpg error gpg reports best, with e's text. */
gpg_error_t gpg_key_op_error(assuan_context_t ctx, int r, const struct errmsg *e);
/* Sends out as the command's data, then wipes it. */
gpg_error_t gpg_send_reply(assuan_context_t ctx, struct sshbuf *out);
gpg_error_t gpg_send_string(assuan_context_t ctx, const char *s);
gpg_error_t gpg_send_public_key(assuan_context_t ctx, const struct sshkey_pub *pub);
/* INQUIRE keyword: the reply (malloc'd by libassuan; free with assuan_free). A client
 * that stays silent times out; confidential hides it from logs. */
gpg_error_t gpg_inquire(assuan_context_t ctx, const char *keyword, size_t maxlen,
			int confidential, unsigned char **buf, size_t *len);
/* An INQUIRE answer copied into sodium memory (NUL-terminated), the original wiped. */
gpg_error_t gpg_inquire_secret(assuan_context_t ctx, const char *keyword, char **out,
			       size_t *out_len);

/* ---- PINs (daemon_gpg_sign.c) ---- */
/* One use of the session's key (s->grip) with its PIN. */
struct gpg_key_use {
	assuan_context_t ctx;
	struct gpg_session *s;
	int (*op)(struct gpg_key_use *g, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		  struct errmsg *e);
	void *arg;
};
/* Runs g->op on the session's key with its PIN (none asked for keys without one):
 * pinentry, or INQUIRE PASSPHRASE in loopback mode. */
gpg_error_t gpg_with_key_pin(struct gpg_key_use *g, const char *action, const char *what);
/* Fills u's prompting fields for g's session (loopback, cancel/error modes). */
void gpg_pin_use_mode(struct gpg_key_use *g, struct pin_use *u);
/* pin_use_key on g's key with u's extra settings (before_op, no_cache, ...); the
 * session's prompt environment, description and pinentry mode are filled in here. */
gpg_error_t gpg_use_key(struct gpg_key_use *g, struct pin_use *u, const char *what);
/* The client's OPTIONs as a prompt environment; NULL when it sent none. */
struct pin_env_store *gpg_prompt_env(const struct gpg_session *s);
/* SETKEYDESC text with its %XX escapes decoded; NULL for none. */
char *gpg_prompt_desc(const char *keydesc);
/* Forgets the description (it is for one operation). */
void gpg_drop_keydesc(struct gpg_session *s);

/* ---- new PINs and names (daemon_gpg_keys.c) ---- */
/* A new passphrase through pinentry, asked twice, with desc; at most 32 bytes (a TPM
 * authValue). An empty one is confirmed as gpg-agent does when confirm_empty (then 0
 * with *pin NULL: no protection), else returned as is (*pin NULL). 0 or PIN_E_*. */
int gpg_ask_new_pin(struct gpg_session *s, const char *desc, int confirm_empty, char **pin,
		    size_t *pin_len, struct errmsg *e);
/* The key name for a key gpg makes or imports: the mail address (or name) of the user
 * ID in the session's SETKEYDESC, then "-sign", "-encr" or "-key" for its use; "" when
 * SETKEYDESC names no user ID (the keystore then picks the type's default). */
void gpg_key_name(const struct gpg_session *s, const char *use, char *out, size_t len);
/* The comment of keys gpg makes: "gpg" or "gpg: <user ID>". Such keys are offered to
 * ssh only when sshcontrol lists them. */
void gpg_key_comment(const struct gpg_session *s, char *out, size_t len);
/* Under a->lock: a gpg-made key still under its default name, used with a SETKEYDESC
 * that names a user ID, is renamed gpg_key_name(use) (with "-2", "-3"... if taken). */
void gpg_name_key(struct gpg_session *s, struct ks_key *k, const char *use);

/* ---- handlers in the other files ---- */
gpg_error_t gpg_cmd_sigkey(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_setkeydesc(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_sethash(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_pksign(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_pkdecrypt(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_genkey(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_passwd(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_delete_key(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_export_key(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_keywrap_key(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_import_key(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_scd(assuan_context_t ctx, char *line);
gpg_error_t gpg_cmd_learn(assuan_context_t ctx, char *line);
/* Wipes the session's import state (RESET, end of connection). */
void gpg_import_reset(struct gpg_session *s);
/* Relays line to scdaemon (READKEY --card). */
gpg_error_t gpg_scd_relay(assuan_context_t ctx, const char *line);
/* KILLAGENT stops the scdaemon we started (daemon_gpg_scd.c); also at shutdown. */
void gpg_scd_stop(void);
/* 1 while we run an scdaemon (GETINFO scd_running, as gpgconf --kill scdaemon asks). */
int gpg_scd_running(void);

#endif
