/* promptenv: where a client's prompts appear: the environment variables pinentry
 * depends on, as tpm-key sends them (env@tpm-agent, update-env@tpm-agent), kept per
 * client and turned into pinentry options. */
#include "promptenv.h"

#include <stdlib.h>
#include <string.h>


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
