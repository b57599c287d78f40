/* pinentry_spawn: finding the pinentry program and the environment it runs with (the
 * caller's tty and display for it, nothing else of ours). */
#include "pinentry.h"

#include <assuan.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pinentry_internal.h"

/* ---- program and environment -------------------------------------------------- */

static int is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* libassuan execs with execv, so a bare name must be looked up in PATH here. */
int resolve_program(const char *program, char *out, size_t len)
{
	const char *dirs = getenv("PATH"), *p;

	if (strchr(program, '/') != NULL) {
		snprintf(out, len, "%s", program);
		return is_executable_file(out) ? 0 : -1;
	}
	if (dirs == NULL || *dirs == '\0')
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (p = dirs;; p++) {
		const char *end = strchrnul(p, ':');
		int dlen = (int)(end - p);

		if (dlen == 0) /* an empty PATH entry means the current directory */
			snprintf(out, len, "./%s", program);
		else
			snprintf(out, len, "%.*s/%s", dlen, p, program);
		if (is_executable_file(out))
			return 0;
		if (*end == '\0')
			return -1;
		p = end;
	}
}

static const char *env_value(const struct pinentry_env *env, enum pin_env_var v)
{
	if (env == NULL)
		return NULL;
	switch (v) {
	case PE_GPG_TTY: return env->ttyname;
	case PE_TERM: return env->ttytype;
	case PE_DISPLAY: return env->display;
	case PE_WAYLAND_DISPLAY: return env->wayland_display;
	case PE_LC_CTYPE: return env->lc_ctype;
	case PE_LC_MESSAGES: return env->lc_messages;
	case PE_XAUTHORITY: return env->xauthority;
	case PE_DBUS_SESSION_BUS_ADDRESS: return env->dbus_address;
	default: return NULL;
	}
}

/* True when the agent's variable `entry` is replaced or removed by env. */
static int overridden(const struct pinentry_env *env, const char *entry)
{
	int v;

	for (v = 0; v < PE_COUNT; v++) {
		size_t n = strlen(pin_env_names[v]);

		if (strncmp(entry, pin_env_names[v], n) == 0 && entry[n] == '=')
			return env_value(env, (enum pin_env_var)v) != NULL;
	}
	return 0;
}

/* The agent's environment with the caller's display/tty/locale settings applied. */
int build_envp(struct session *s, const struct pinentry_env *env)
{
	size_t n = 0, i, out = 0;
	int v;

	while (environ != NULL && environ[n] != NULL)
		n++;
	s->envp = calloc(n + PE_COUNT + 1, sizeof(char *));
	if (s->envp == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (!overridden(env, environ[i]))
			s->envp[out++] = environ[i];
	for (v = 0; v < PE_COUNT; v++) {
		const char *val = env_value(env, (enum pin_env_var)v);

		if (val == NULL || *val == '\0')
			continue;
		if (asprintf(&s->owned_vars[v], "%s=%s", pin_env_names[v], val) < 0) {
			s->owned_vars[v] = NULL;
			return -1;
		}
		s->envp[out++] = s->owned_vars[v];
	}
	return 0;
}

void free_envp(struct session *s)
{
	int v;

	for (v = 0; v < PE_COUNT; v++)
		free(s->owned_vars[v]);
	free(s->envp);
}

/* Runs in the child between fork and exec: only async-signal-safe work. */
void child_setup(void *opaque, int reserved)
{
	struct session *s = opaque;
	struct sigaction dfl;

	(void)reserved;
	environ = s->envp;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &dfl, NULL); /* the agent ignores it; pinentry should not */
}
