/* daemon_restrict: the lock and forwarding gate, session-bind, and destination
 * constraints (see daemon_restrict.h). */
#include "daemon_restrict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keystore/store.h"
#include "../protocol/sshverify.h"
#include "../protocol/control.h"
#include "../keystore/log.h"

/* What a command does, from the point of view of someone who holds only the socket. */
enum access_class {
	ACCESS_READ,     /* shows public facts: names, public keys, status */
	ACCESS_SIGN,     /* makes a signature with a key */
	ACCESS_MUTATE,   /* creates, deletes, loads or changes keys, objects or settings */
	ACCESS_REVEAL,   /* returns a secret: unseal, decrypt */
	ACCESS_PROMPT,   /* puts a dialogue in front of the user, or says where it goes */
};

/* Every control command, with its class. A command missing here is refused
 * everywhere: a new command must choose. */
static const struct {
	const char *name;
	enum access_class cls;
} control_classes[] = {
	{ CTL_LIST, ACCESS_READ },
	{ CTL_STATUS, ACCESS_READ },
	{ CTL_CERT_LIST, ACCESS_READ },
	{ CTL_SEAL_LIST, ACCESS_READ },
	{ CTL_SRK, ACCESS_READ },          /* the SRK's public key */
	{ CTL_SUPPORTED, ACCESS_READ },
	{ CTL_HIERARCHY_PUB, ACCESS_READ }, /* a hierarchy key's public key, not served */
	{ CTL_ADD, ACCESS_MUTATE },
	{ CTL_SANDBOX_PROBE, ACCESS_MUTATE }, /* tries to open a path: not over forwarding */
	{ CTL_GEN, ACCESS_MUTATE },        /* and prompts for the new PIN */
	{ CTL_PCR_SEAL, ACCESS_MUTATE },
	{ CTL_RM, ACCESS_MUTATE },
	{ CTL_LOAD, ACCESS_MUTATE },       /* adds an identity */
	{ CTL_CERT_ADD, ACCESS_MUTATE },
	{ CTL_CERT_RM, ACCESS_MUTATE },
	{ CTL_SEAL, ACCESS_MUTATE },
	{ CTL_SEAL_RM, ACCESS_MUTATE },
	{ CTL_ATTEST, ACCESS_MUTATE },     /* may make and store the attestation key */
	{ CTL_ACTIVATE, ACCESS_MUTATE },   /* enrolment: proves this TPM to a CA */
	{ CTL_ENROLLED, ACCESS_MUTATE },   /* records how to renew (runs ssh later) */
	{ CTL_IMPORT, ACCESS_MUTATE },
	{ CTL_INIT, ACCESS_MUTATE },
	{ CTL_FORGET, ACCESS_MUTATE },
	{ CTL_DECRYPT, ACCESS_REVEAL },
	{ CTL_UNSEAL, ACCESS_REVEAL },
	{ CTL_PASSWD, ACCESS_PROMPT },
	{ CTL_ENV, ACCESS_PROMPT },
	{ CTL_UPDATE_ENV, ACCESS_PROMPT },
};

static const char *const class_names[] = { "read-only", "sign", "mutating", "revealing",
					   "prompting" };

/* The class of control command name; -1 when it has none. */
static int control_class(const char *name)
{
	for (size_t i = 0; i < sizeof(control_classes) / sizeof(control_classes[0]); i++)
		if (strcmp(control_classes[i].name, name) == 0)
			return (int)control_classes[i].cls;
	return -1;
}

static int is_control_name(const char *name)
{
	size_t n = strlen(name), s = strlen("@tpm-agent");

	return n > s && strcmp(name + n - s, "@tpm-agent") == 0;
}

/* A connection that sent session-bind came from ssh: a login or a forwarded agent. */
static int from_ssh(const struct conn *c)
{
	return c->bind_attempted;
}

static int refuse(struct sshbuf *out)
{
	int r = agentmsg_put_simple(out, SSH_AGENT_FAILURE);

	return r == 0 ? 1 : r;
}

static int empty_list(struct sshbuf *out)
{
	size_t start;
	int r;

	if ((r = agentmsg_identities_begin(out, 0, &start)) != 0 ||
	    (r = agentmsg_end(out, start)) != 0)
		return r;
	return 1;
}

/* A locked agent: an empty list, FAILURE for the rest. A session-bind is still
 * recorded (and answered FAILURE, as OpenSSH does), so a forwarded connection opened
 * while locked stays a forwarded one after UNLOCK. */
static int gate_locked(struct agent *a, struct conn *c, uint8_t type, const char *ext,
		       const struct sshbuf *body, struct sshbuf *out)
{
	if (type == SSH_AGENTC_REQUEST_IDENTITIES)
		return empty_list(out);
	if (ext != NULL && strcmp(ext, "session-bind@openssh.com") == 0) {
		struct sshbuf b = *body;
		char name[128];
		size_t keep = sshbuf_len(out);

		if (agentmsg_parse_extension(&b, name, sizeof(name)) == 0) {
			restrict_session_bind(a, c, &b, out);
			out->size = out->off + keep; /* drop its reply: ours is FAILURE */
		}
	}
	log_info("pid %d: %s refused: the agent is locked (ssh-add -X unlocks it)", (int)c->pid,
		 ext != NULL ? ext : "request");
	return refuse(out);
}

/* A connection from ssh: lists and signs; read-only control commands pass too. */
static int gate_forwarded(struct conn *c, uint8_t type, const char *ext, struct sshbuf *out)
{
	char text[ERRMSG_MAX];
	int cls;

	if (type == SSH_AGENTC_REQUEST_IDENTITIES || type == SSH_AGENTC_SIGN_REQUEST)
		return 0;
	if (type != SSH_AGENTC_EXTENSION) {
		log_warn("pid %d: message type %u refused on a connection from ssh (agent "
			 "forwarding or a login): it may only list keys and sign", (int)c->pid, type);
		return refuse(out);
	}
	if (!is_control_name(ext))
		return 0; /* session-bind, query, unknown: their handlers answer */
	cls = control_class(ext);
	if (cls == ACCESS_READ)
		return 0;
	snprintf(text, sizeof(text), RESTRICT_FORWARDED_MSG ": %s is %s and this connection "
		 "came through ssh agent forwarding, which may only list keys and sign; run "
		 "tpm-key on the machine that holds the TPM", ext,
		 cls < 0 ? "not classified" : class_names[cls]);
	log_warn("pid %d: %s", (int)c->pid, text);
	return agentmsg_put_ext_failure(out, text) == 0 ? 1 : -1;
}

int restrict_gate(struct agent *a, struct conn *c, uint8_t type, const struct sshbuf *body,
		  struct sshbuf *out)
{
	char name[128];
	const char *ext = NULL;
	struct sshbuf b = *body;
	int r;

	if (type == SSH_AGENTC_EXTENSION) {
		if ((r = agentmsg_parse_extension(&b, name, sizeof(name))) != 0)
			return r;
		ext = name;
	}
	if (a->lock_hash != NULL && type != SSH_AGENTC_UNLOCK)
		return gate_locked(a, c, type, ext, body, out);
	if (from_ssh(c))
		return gate_forwarded(c, type, ext, out);
	if (ext != NULL && is_control_name(ext) && control_class(ext) < 0) {
		log_error("control command %s has no access class (daemon_restrict.c)", ext);
		return agentmsg_put_ext_failure(out, "internal error: this control command has no access "
				   "class; it is refused") == 0 ? 1 : -1;
	}
	return 0;
}

/* ---- session-bind@openssh.com ---- */

static int bind_refused(struct conn *c, struct sshbuf *out, const char *why)
{
	log_warn("pid %d: session-bind refused: %s", (int)c->pid, why);
	return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
}

/* Why a verified binding cannot join c's chain, or NULL. */
static const char *chain_refusal(const struct conn *c, const struct agentmsg_session_bind *sb)
{
	for (size_t i = 0; i < c->n_bindings; i++) {
		const struct conn_binding *b = &c->bindings[i];

		if (!b->is_forwarding)
			return "the connection is already bound for authentication";
		if (b->session_id_len == sb->session_id_len &&
		    memcmp(b->session_id, sb->session_id, sb->session_id_len) == 0)
			return "that session identifier is already bound (a replay)";
	}
	if (c->n_bindings == CONN_MAX_BINDINGS)
		return "too many hops on one connection (16)";
	return NULL;
}

int restrict_session_bind(struct agent *a, struct conn *c, struct sshbuf *body,
			  struct sshbuf *out)
{
	struct agentmsg_session_bind sb;
	struct conn_binding *b;
	const char *why;
	int r;

	(void)a;
	c->bind_attempted = 1; /* from now on: list and sign only, whatever follows */
	if (agentmsg_parse_session_bind(body, &sb) != 0 || sshbuf_len(body) != 0)
		return bind_refused(c, out, "malformed message");
	if (sb.session_id_len == 0 || sb.session_id_len > CONN_SESSION_ID_MAX ||
	    sb.hostkey_len > CONN_HOSTKEY_MAX)
		return bind_refused(c, out, "session identifier or host key of a bad size");
	if ((r = sshverify(sb.hostkey, sb.hostkey_len, sb.signature, sb.signature_len,
			   sb.session_id, sb.session_id_len)) != 0) {
		log_warn("pid %d: session-bind refused: host key signature over the session "
			 "identifier: %s", (int)c->pid, sshverify_strerror(r));
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	}
	if ((why = chain_refusal(c, &sb)) != NULL)
		return bind_refused(c, out, why);
	b = &c->bindings[c->n_bindings++];
	memcpy(b->hostkey, sb.hostkey, sb.hostkey_len);
	b->hostkey_len = sb.hostkey_len;
	memcpy(b->session_id, sb.session_id, sb.session_id_len);
	b->session_id_len = sb.session_id_len;
	b->is_forwarding = sb.is_forwarding;
	log_debug("pid %d bound to a session, hop %zu (%s)", (int)c->pid, c->n_bindings,
		  sb.is_forwarding ? "forwarding" : "authentication");
	return agentmsg_put_simple(out, SSH_AGENT_SUCCESS);
}

/* ---- destination constraints ---- */

static size_t view_chain(const struct conn *c, struct dest_binding v[CONN_MAX_BINDINGS])
{
	for (size_t i = 0; i < c->n_bindings; i++) {
		v[i].hostkey = c->bindings[i].hostkey;
		v[i].hostkey_len = c->bindings[i].hostkey_len;
		v[i].forwarded = c->bindings[i].is_forwarding;
	}
	return c->n_bindings;
}

int restrict_may_list(const struct conn *c, const struct dest_set *d)
{
	struct dest_binding v[CONN_MAX_BINDINGS];

	if (d == NULL || !from_ssh(c))
		return 1; /* unrestricted, or local use */
	return dest_permitted(d, v, view_chain(c, v), NULL, NULL);
}

int restrict_may_sign(const struct conn *c, const struct dest_set *d,
		      const struct agentmsg_sign_request *req, const char *what)
{
	struct dest_binding v[CONN_MAX_BINDINGS];
	struct dest_userauth ua;
	const struct conn_binding *last;
	const char *why = NULL;
	size_t n;

	if (d == NULL)
		return 1;
	n = view_chain(c, v);
	if (n == 0)
		why = "the connection is bound to no ssh session";
	else if (dest_parse_userauth(req->data, req->data_len, req->key_blob, req->key_blob_len,
				     &ua) != 0)
		why = "the data is not an ssh user authentication request";
	else if (!dest_permitted(d, v, n, ua.user, &why))
		;
	else if ((last = &c->bindings[n - 1])->session_id_len != ua.session_id_len ||
		 memcmp(last->session_id, ua.session_id, ua.session_id_len) != 0)
		why = "the request is for another session than the one last bound";
	else if (n > 1 && ua.hostkey == NULL)
		why = "no host key in the request on a forwarded connection";
	else if (ua.hostkey != NULL && (ua.hostkey_len != last->hostkey_len ||
					memcmp(ua.hostkey, last->hostkey, ua.hostkey_len) != 0))
		why = "the host key in the request is not the one last bound";
	if (why == NULL)
		return 1;
	log_warn("pid %d: signature with destination-restricted key %s refused: %s", (int)c->pid,
		 what, why);
	return 0;
}

/* TPM keys' constraints: few keys, so a small list by name, each also kept in
 * keys/<name>.dest (the wire form) so that a restart does not lift it. */
static struct tpm_restriction {
	char name[STORE_NAME_MAX];
	struct dest_set *d;
} tpm_r[STORE_MAX_KEYS];
static size_t n_tpm_r;

static int remember(const char *name, struct dest_set *d)
{
	size_t i;

	for (i = 0; i < n_tpm_r && strcmp(tpm_r[i].name, name) != 0; i++)
		;
	if (i < n_tpm_r) {
		dest_free(tpm_r[i].d);
		tpm_r[i] = tpm_r[--n_tpm_r];
	}
	if (d == NULL)
		return 0;
	if (n_tpm_r == STORE_MAX_KEYS) {
		dest_free(d);
		return -1;
	}
	snprintf(tpm_r[n_tpm_r].name, sizeof(tpm_r[n_tpm_r].name), "%s", name);
	tpm_r[n_tpm_r++].d = d;
	return 0;
}

int restrict_tpm_set(struct agent *a, const char *name, struct dest_set *d, struct errmsg *e)
{
	char path[PATH_MAX + STORE_NAME_MAX + 16];
	struct sshbuf *b = NULL;
	int r;

	if (store_key_path(a->data_dir, name, ".dest", path, sizeof(path), e) != 0) {
		dest_free(d);
		return -1;
	}
	if (d == NULL) {
		remember(name, NULL);
		if (unlink(path) != 0 && errno != ENOENT)
			return errmsg_set(e, "cannot remove %s: %s", path, strerror(errno));
		return 0;
	}
	if ((b = sshbuf_new(SSHBUF_SIZE_MAX)) == NULL || dest_put(d, b) != 0 ||
	    store_write_atomic(path, sshbuf_ptr(b), sshbuf_len(b), 0600, e) != 0) {
		if (b == NULL)
			errmsg_set(e, "out of memory");
		sshbuf_free(b);
		dest_free(d);
		return -1;
	}
	sshbuf_free(b);
	if ((r = remember(name, d)) != 0)
		errmsg_set(e, "too many restricted keys (%d)", STORE_MAX_KEYS);
	return r;
}

void restrict_tpm_restore(struct agent *a)
{
	char path[PATH_MAX + STORE_NAME_MAX + 16], *text;
	struct dest_set *d;
	struct sshbuf b;
	struct errmsg e;
	size_t len;

	for (size_t i = 0; i < keystore_count(a->ks); i++) {
		const char *name = keystore_get(a->ks, i)->name;

		if (store_key_path(a->data_dir, name, ".dest", path, sizeof(path), &e) != 0 ||
		    access(path, F_OK) != 0)
			continue;
		if (store_read_private(path, SSHBUF_SIZE_MAX, 0, &text, &len, &e) != 0) {
			/* Unreadable restrictions must not leave the key unrestricted. */
			log_warn("key '%s' hidden: its destination restrictions: %s", name, e.text);
			keystore_get(a->ks, i)->hidden = 1;
			continue;
		}
		sshbuf_view(&b, text, len);
		if (dest_parse(&b, &d, &e) != 0 || remember(name, d) != 0) {
			log_warn("key '%s' hidden: bad destination restrictions in %s: %s", name,
				 path, e.text);
			keystore_get(a->ks, i)->hidden = 1;
		} else {
			log_info("key '%s' restricted to destinations (%s)", name, path);
		}
		free(text);
	}
}

const struct dest_set *restrict_tpm_get(const char *name)
{
	for (size_t i = 0; i < n_tpm_r; i++)
		if (strcmp(tpm_r[i].name, name) == 0)
			return tpm_r[i].d;
	return NULL;
}

void restrict_tpm_clear(void)
{
	while (n_tpm_r > 0) {
		dest_free(tpm_r[n_tpm_r - 1].d);
		n_tpm_r--;
	}
}
