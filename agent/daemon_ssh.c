/* daemon_ssh: the ssh-agent protocol front end. One handler per message type,
 * dispatched from a table, as in OpenSSH's ssh-agent.c. */
#include "daemon.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "../keystore/keystore_policy.h"
#include "../protocol/agentmsg.h"
#include "daemon_offer.h"
#include "daemon_pinjob.h"
#include "daemon_proxy.h"
#include "daemon_restrict.h"
#include "daemon_softkeys.h"
#include "daemon_sshcontrol.h"
#include "../keystore/log.h"

typedef int (*ssh_handler)(struct agent *a, struct conn *c, struct sshbuf *body,
			   struct sshbuf *out);

static int reply_failure(struct sshbuf *out)
{
	return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
}

static int reply_success(struct sshbuf *out)
{
	return agentmsg_put_simple(out, SSH_AGENT_SUCCESS);
}

/* A key and the certificates offered beside it, when c may see the key. */
static int key_shown(struct agent *a, struct conn *c, struct ks_key *k, uint64_t now,
		     uint32_t *n)
{
	*n = 0;
	if (!offer_key(a, k) || !restrict_may_list(c, restrict_tpm_get(k->name)))
		return 0;
	*n = 1;
	for (size_t i = 0; i < certstore_count(a->certs); i++) {
		struct cert_entry *ce = certstore_get(a->certs, i);

		*n += strcmp(ce->key_name, k->name) == 0 && offer_cert(a, ce, now);
	}
	return 1;
}

static int put_key_identities(struct agent *a, struct ks_key *k, uint64_t now,
			      struct sshbuf *out)
{
	int r = agentmsg_identities_add(out, k->blob, k->blob_len,
					k->comment[0] ? k->comment : k->name);

	for (size_t i = 0; r == 0 && i < certstore_count(a->certs); i++) {
		struct cert_entry *c = certstore_get(a->certs, i);

		if (strcmp(c->key_name, k->name) == 0 && offer_cert(a, c, now))
			r = agentmsg_identities_add(out, c->blob, c->blob_len,
						    c->comment[0] ? c->comment : c->cert.key_id);
	}
	return r;
}

static int handle_request_identities(struct agent *a, struct conn *c, struct sshbuf *body,
				     struct sshbuf *out)
{
	size_t n = keystore_count(a->ks), start;
	uint64_t now = (uint64_t)time(NULL);
	uint32_t shown = 0, n_key, n_extra;
	/* software keys and the --proxy agent's keys, listed after ours (daemon_proxy.c) */
	const struct sshbuf *extra = extra_identities(a, c, &n_extra);
	int r;

	(void)body;
	agent_certs_refresh(a);
	sshcontrol_refresh();
	for (size_t i = 0; i < n; i++) {
		key_shown(a, c, keystore_get(a->ks, i), now, &n_key);
		shown += n_key;
	}
	if ((r = agentmsg_identities_begin(out, shown + n_extra, &start)) != 0)
		return r;
	for (size_t i = 0; shown > 0 && i < n; i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		if (key_shown(a, c, k, now, &n_key) && (r = put_key_identities(a, k, now, out)) != 0)
			return r;
	}
	if (n_extra > 0 && (r = sshbuf_put(out, sshbuf_ptr(extra), sshbuf_len(extra))) != 0)
		return r;
	return agentmsg_end(out, start);
}

static int handle_sign_request(struct agent *a, struct conn *c, struct sshbuf *body,
			       struct sshbuf *out)
{
	struct agentmsg_sign_request req;
	struct ks_key *k;
	struct sshbuf *sig;
	struct errmsg e;
	int r;

	if ((r = agentmsg_parse_sign_request(body, &req)) != 0)
		return r;
	k = offer_signing_key(a, req.key_blob, req.key_blob_len);
	if (k == NULL && (r = extra_sign(a, c, &req, out)) != 1)
		return r; /* a software key's, or forwarded to the --proxy agent */
	if (k == NULL) {
		log_debug("sign request from pid %d for a key we do not hold", (int)c->pid);
		return reply_failure(out);
	}
	if (!restrict_may_sign(c, restrict_tpm_get(k->name), &req, k->name)) /* load -h */
		return reply_failure(out);
	/* The rest asks the TPM: on the TPM worker, never on the event loop. */
	if ((r = tpm_defer(a, c, 0, 0, out)) != 1)
		return r;
	/* A PCR-bound key in the wrong platform state: say so, and ask no PIN for nothing. */
	if (k->policy != NULL && keystore_policy_check(a->ks, k, &e) != 0) {
		log_warn("sign with key '%s' for pid %d refused: %s", k->name, (int)c->pid, e.text);
		return reply_failure(out);
	}
	if (pin_sign_needs_job(a, k)) /* a prompt must not stop the event loop */
		return pin_defer_sign(a, c, out);
	if ((sig = sshbuf_new(SSHKEY_BLOB_MAX)) == NULL)
		return reply_failure(out);
	if (keystore_sign_ssh(a->ks, k, req.data, req.data_len, ssh_sign_flags(a, c, &req), sig,
			      &e) != 0) {
		log_warn("sign with key '%s' for pid %d failed: %s", k->name, (int)c->pid, e.text);
		sshbuf_free(sig);
		return reply_failure(out);
	}
	log_debug("signed with key '%s' for pid %d", k->name, (int)c->pid);
	r = agentmsg_put_sign_response(out, sshbuf_ptr(sig), sshbuf_len(sig));
	sshbuf_free(sig);
	return r;
}

static int handle_remove_identity(struct agent *a, struct conn *c, struct sshbuf *body,
				  struct sshbuf *out)
{
	const uint8_t *blob;
	size_t len;
	struct ks_key *k;
	int r;

	(void)c;
	if ((r = agentmsg_parse_remove_identity(body, &blob, &len)) != 0)
		return r;
	if (a->lock_hash != NULL)
		return reply_failure(out);
	k = keystore_find_blob(a->ks, blob, len);
	if ((k == NULL || k->hidden) && softkeys_remove(blob, len) == 0)
		return reply_success(out);
	if (k == NULL || k->hidden) {
		struct cert_entry *ce = certstore_find_blob(a->certs, blob, len);

		if (ce == NULL || ce->hidden)
			return reply_failure(out);
		ce->hidden = 1;
		log_info("certificate of key '%s' removed from the agent", ce->key_name);
		return reply_success(out);
	}
	k->hidden = 1;
	log_info("key '%s' removed from the agent (file kept; tpm-key load %s brings it back)",
		 k->name, k->name);
	return reply_success(out);
}

static int handle_remove_all(struct agent *a, struct conn *c, struct sshbuf *body,
			     struct sshbuf *out)
{
	(void)c;
	(void)body;
	if (a->lock_hash != NULL)
		return reply_failure(out);
	for (size_t i = 0; i < keystore_count(a->ks); i++)
		keystore_get(a->ks, i)->hidden = 1;
	for (size_t i = 0; i < certstore_count(a->certs); i++)
		certstore_get(a->certs, i)->hidden = 1;
	softkeys_remove_all(); /* software keys are gone for good: they live in memory only */
	log_info("all keys removed from the agent (files kept; tpm-key load NAME brings one back)");
	return reply_success(out);
}

/* LOCK keeps only an Argon2id hash of the passphrase (libsodium crypto_pwhash_str), in
 * secure memory; UNLOCK verifies in constant time. */
static int handle_lock(struct agent *a, struct conn *c, struct sshbuf *body,
		       struct sshbuf *out)
{
	const uint8_t *pass;
	size_t len;
	int r;

	(void)c;
	if ((r = agentmsg_parse_passphrase(body, &pass, &len)) != 0)
		return r;
	if (a->lock_hash != NULL)
		return reply_failure(out);
	if ((a->lock_hash = sodium_malloc(crypto_pwhash_STRBYTES)) == NULL)
		return reply_failure(out);
	if (crypto_pwhash_str((char *)a->lock_hash, (const char *)pass, len,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		log_error("cannot lock the agent: out of memory for the passphrase hash");
		sodium_free(a->lock_hash);
		a->lock_hash = NULL;
		return reply_failure(out);
	}
	pin_forget(a, NULL);
	log_info("agent locked (cached PINs forgotten)");
	return reply_success(out);
}

static int handle_unlock(struct agent *a, struct conn *c, struct sshbuf *body,
			 struct sshbuf *out)
{
	const uint8_t *pass;
	size_t len;
	int r;

	if ((r = agentmsg_parse_passphrase(body, &pass, &len)) != 0)
		return r;
	if (a->lock_hash == NULL)
		return reply_failure(out);
	if (crypto_pwhash_str_verify((const char *)a->lock_hash, (const char *)pass, len) != 0) {
		log_warn("unlock with a wrong passphrase from pid %d", (int)c->pid);
		return reply_failure(out);
	}
	sodium_free(a->lock_hash);
	a->lock_hash = NULL;
	log_info("agent unlocked");
	return reply_success(out);
}

static int ext_query(struct sshbuf *out)
{
	size_t start = sshbuf_len(out);
	int r;

	if ((r = agentmsg_begin(out, SSH_AGENT_SUCCESS)) != 0 ||
	    (r = sshbuf_put_cstring(out, "query")) != 0 ||
	    (r = sshbuf_put_cstring(out, "session-bind@openssh.com")) != 0 ||
	    (r = control_put_names(out)) != 0 || (r = pin_control_put_names(out)) != 0)
		return r;
	return agentmsg_end(out, start);
}

static int handle_extension(struct agent *a, struct conn *c, struct sshbuf *body,
			    struct sshbuf *out)
{
	char name[128];
	int r;

	if ((r = agentmsg_parse_extension(body, name, sizeof(name))) != 0)
		return r;
	if (strcmp(name, "session-bind@openssh.com") == 0)
		return restrict_session_bind(a, c, body, out);
	if (strcmp(name, "query") == 0)
		return ext_query(out);
	if ((r = pin_control_dispatch(a, c, name, body, out)) != 1)
		return r;
	log_debug("pid %d: unknown extension '%s'", (int)c->pid, name);
	return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
}

static const struct {
	uint8_t type;
	ssh_handler handler;
} ssh_handlers[] = {
	{ SSH_AGENTC_REQUEST_IDENTITIES, handle_request_identities },
	{ SSH_AGENTC_SIGN_REQUEST, handle_sign_request },
	{ SSH_AGENTC_ADD_IDENTITY, softkeys_handle_add },
	{ SSH_AGENTC_ADD_ID_CONSTRAINED, softkeys_handle_add },
	{ SSH_AGENTC_REMOVE_IDENTITY, handle_remove_identity },
	{ SSH_AGENTC_REMOVE_ALL_IDENTITIES, handle_remove_all },
	{ SSH_AGENTC_ADD_SMARTCARD_KEY, softkeys_handle_smartcard_add },
	{ SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED, softkeys_handle_smartcard_add },
	{ SSH_AGENTC_REMOVE_SMARTCARD_KEY, softkeys_handle_smartcard_remove },
	{ SSH_AGENTC_LOCK, handle_lock },
	{ SSH_AGENTC_UNLOCK, handle_unlock },
	{ SSH_AGENTC_EXTENSION, handle_extension },
};

int ssh_dispatch(struct agent *a, struct conn *c, const uint8_t *msg, size_t len,
		 struct sshbuf *out)
{
	struct sshbuf body;
	size_t start = sshbuf_len(out);
	uint8_t type;
	int r;

	sshbuf_view(&body, msg, len);
	c->cur_msg = msg; /* a PIN job copies the whole request */
	c->cur_len = len;
	if (sshbuf_get_u8(&body, &type) != 0)
		return reply_failure(out) == 0 ? -1 : -1;
	/* locked, or from ssh (forwarding): most messages stop here (daemon_restrict.c) */
	if ((r = restrict_gate(a, c, type, &body, out)) == 1)
		return 0;
	if (r < 0) {
		out->size = out->off + start;
		reply_failure(out);
		return -1;
	}
	for (size_t i = 0; i < sizeof(ssh_handlers) / sizeof(ssh_handlers[0]); i++) {
		if (ssh_handlers[i].type != type)
			continue;
		r = ssh_handlers[i].handler(a, c, &body, out);
		if (r == 0 || r == SSH_DISPATCH_DEFERRED)
			return r;
		/* A parse error: drop any partial reply, answer FAILURE, close. */
		out->size = out->off + start;
		log_warn("pid %d sent a malformed message of type %u: %s; closing its connection",
			 (int)c->pid, type, sshbuf_strerror(r));
		reply_failure(out);
		return -1;
	}
	log_debug("pid %d sent unknown message type %u", (int)c->pid, type);
	return reply_failure(out);
}
