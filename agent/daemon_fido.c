/* daemon_fido: FIDO-key signatures through ssh-sk-helper (OpenSSH ssh-sk-client.c's
 * protocol, version 5), with the provider allow-list and the web-safe check. */
#include "daemon_fido.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_helper.h"
#include "daemon_settings.h"
#include "../keystore/log.h"

#define SK_HELPER_VERSION 5
#define SK_HELPER_ERROR   0
#define SK_HELPER_SIGN    1
#define USERAUTH_REQUEST  50  /* SSH2_MSG_USERAUTH_REQUEST */

int fido_provider_check(const struct agent *a, const char *provider, char *out, size_t len,
			struct errmsg *e)
{
	char canon[PATH_MAX];

	if (strcasecmp(provider, "internal") == 0) {
		snprintf(out, len, "internal");
		return 0;
	}
	if (realpath(provider, canon) == NULL)
		return errmsg_set(e, "FIDO provider %s: %s", provider, strerror(errno));
	if (!helper_provider_allowed(canon, a->settings.allowed_providers))
		return errmsg_set(e, "FIDO provider %s is not allowed (allowed-providers = %s; "
				  "tpm-agent -P)", canon, a->settings.allowed_providers);
	if (strlen(canon) >= len)
		return errmsg_set(e, "FIDO provider path too long");
	snprintf(out, len, "%s", canon);
	return 0;
}

int fido_data_websafe(const uint8_t *data, size_t len)
{
	struct sshbuf b;
	const uint8_t *sid;
	size_t sid_len;
	uint8_t type;

	if (len >= 6 && memcmp(data, "SSHSIG", 6) == 0)
		return 1;
	sshbuf_view(&b, data, len);
	return sshbuf_get_string(&b, &sid, &sid_len) == 0 && sid_len >= 20 && sid_len <= 64 &&
	       sshbuf_get_u8(&b, &type) == 0 && type == USERAUTH_REQUEST;
}

static int sign_request(const struct softkey *k, const char *provider, const char *pin,
			const uint8_t *data, size_t len, struct sshbuf *req)
{
	size_t raw_len;
	const uint8_t *raw = softkey_sk_private(k, &raw_len);
	int r;

	if (raw == NULL)
		return SSHBUF_E_FORMAT;
	if ((r = sshbuf_put_u8(req, SK_HELPER_VERSION)) != 0 ||
	    (r = sshbuf_put_u32(req, SK_HELPER_SIGN)) != 0 ||
	    (r = sshbuf_put_u8(req, 0)) != 0 ||          /* helper logs to syslog */
	    (r = sshbuf_put_u32(req, 0)) != 0 ||         /* quietly */
	    (r = sshbuf_put_string(req, raw, raw_len)) != 0 ||
	    (r = sshbuf_put_cstring(req, provider)) != 0 ||
	    (r = sshbuf_put_string(req, data, len)) != 0 ||
	    (r = sshbuf_put_cstring(req, "")) != 0 ||    /* algorithm: the key's */
	    (r = sshbuf_put_u32(req, 0)) != 0 ||         /* compat */
	    (r = sshbuf_put_cstring(req, pin != NULL ? pin : "")) != 0)
		return r;
	return 0;
}

static int parse_answer(struct sshbuf *resp, struct sshbuf *sig, struct errmsg *e)
{
	uint8_t version;
	uint32_t type, err;
	const uint8_t *s;
	size_t s_len;

	if (sshbuf_get_u8(resp, &version) != 0 || version != SK_HELPER_VERSION ||
	    sshbuf_get_u32(resp, &type) != 0)
		return errmsg_set(e, "ssh-sk-helper: malformed answer (another OpenSSH version?)");
	if (type == SK_HELPER_ERROR) {
		if (sshbuf_get_u32(resp, &err) != 0)
			err = 0;
		return errmsg_set(e, "ssh-sk-helper: the authenticator refused (OpenSSH error "
				  "-%u%s)", err, err == 43 ? ": wrong PIN or no touch" : "");
	}
	if (type != SK_HELPER_SIGN || sshbuf_get_string(resp, &s, &s_len) != 0 || s_len == 0)
		return errmsg_set(e, "ssh-sk-helper: malformed answer");
	return sshbuf_put(sig, s, s_len) == 0 ? 0 : errmsg_set(e, "signature too large");
}

int fido_sign(struct agent *a, const struct softkey *k, const char *provider,
	      const char *pin, const struct fido_notice *notice, const uint8_t *data,
	      size_t len, struct sshbuf *sig, struct errmsg *e)
{
	struct sshbuf *req = sshbuf_new(HELPER_FRAME_MAX), *resp = sshbuf_new(HELPER_FRAME_MAX);
	struct helper h = { -1, -1 };
	struct pinentry_notice *shown = NULL;
	struct errmsg ne;
	int r = -1;

	if (req == NULL || resp == NULL || sign_request(k, provider, pin, data, len, req) != 0) {
		errmsg_set(e, "cannot build the ssh-sk-helper request");
		goto out;
	}
	log_info("FIDO key %s: confirm user presence on the authenticator if it asks",
		 softkey_type_name(k));
	/* The authenticator may wait for a touch: gpg clients and PIN jobs go on. */
	pthread_mutex_unlock(&a->lock);
	if (notice != NULL && notice->desc != NULL) {
		struct pinentry_prompt p = { .title = "tpm-agent", .desc = notice->desc,
					     .timeout_s = FIDO_TOUCH_TIMEOUT_MS / 1000 };

		if ((shown = pinentry_notice_start(notice->program, notice->env, &p, &ne)) == NULL)
			log_warn("cannot show the touch notice: %s", ne.text);
	}
	if (helper_start(helper_path("SSH_SK_HELPER", FIDO_HELPER_DEFAULT), &h, e) == 0 &&
	    helper_send(&h, sshbuf_ptr(req), sshbuf_len(req), e) == 0 &&
	    helper_recv(&h, resp, FIDO_TOUCH_TIMEOUT_MS, e) == 0)
		r = parse_answer(resp, sig, e);
	helper_stop(&h);
	pinentry_notice_end(shown);
	pthread_mutex_lock(&a->lock);
out:
	sshbuf_free(req); /* wipes the PIN */
	sshbuf_free(resp);
	return r;
}
