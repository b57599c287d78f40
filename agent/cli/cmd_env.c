/* cmd_env: what tpm-key tells the agent about where a PIN prompt must appear: the
 * terminal, display and locale of this process, sent before a command that prompts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../pinentry/pinentry.h"
#include "client.h"
#include "subcommands.h"


/* GPG_TTY, else the terminal on stdin: where a terminal pinentry must draw. */
static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	if (strcmp(name, "GPG_TTY") == 0 && (v == NULL || v[0] == '\0') && isatty(0))
		v = ttyname(0);
	if (strcmp(name, "LC_CTYPE") == 0 && (v == NULL || v[0] == '\0'))
		v = getenv("LC_ALL") ? getenv("LC_ALL") : getenv("LANG");
	return (v != NULL && v[0] != '\0') ? v : NULL;
}

int cli_put_env(struct sshbuf *args)
{
	size_t n = 0, count_pos = args->size; /* absolute, for sshbuf_poke_u32 */
	int r = sshbuf_put_u32(args, 0);

	for (size_t i = 0; r == 0 && i < PE_COUNT; i++) {
		const char *v = env_value(pin_env_names[i]);

		if (v == NULL)
			continue; /* not sent: unset for the prompt */
		if ((r = sshbuf_put_cstring(args, pin_env_names[i])) == 0 &&
		    (r = sshbuf_put_cstring(args, v)) == 0)
			n++;
	}
	return r != 0 ? r : sshbuf_poke_u32(args, count_pos, (uint32_t)n);
}

/* One control message on fd: 0 with the reply body in reply, or -1 with e. */
static int control_on(int fd, const char *name, const struct sshbuf *args, struct sshbuf *reply,
		      struct errmsg *e)
{
	struct sshbuf *msg = sshbuf_new(64 * 1024);
	int r = -1;

	if (msg == NULL)
		return errmsg_set(e, "out of memory");
	if (client_begin_extension(msg, name) != 0 ||
	    (args != NULL && sshbuf_put(msg, sshbuf_ptr(args), sshbuf_len(args)) != 0))
		errmsg_set(e, "request too large");
	else
		r = client_control(fd, msg, reply, e);
	sshbuf_free(msg);
	return r;
}

int cli_control_env(const char *name, const struct sshbuf *args, struct sshbuf *reply,
		    struct errmsg *e)
{
	struct sshbuf *env = sshbuf_new(16 * 1024);
	int fd, r = -1;

	if (env == NULL || cli_put_env(env) != 0) {
		sshbuf_free(env);
		return errmsg_set(e, "environment too large");
	}
	if ((fd = client_connect(client_socket_path(), e)) >= 0) {
		r = control_on(fd, CTL_ENV, env, reply, e);
		if (r != 0)
			errmsg_prefix(e, "the agent does not take our environment (is it current?)");
		else
			r = control_on(fd, name, args, reply, e);
		close(fd);
	}
	sshbuf_free(env);
	return r;
}
