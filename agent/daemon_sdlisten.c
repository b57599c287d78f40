/* daemon_sdlisten: takes the listening sockets systemd passes (LISTEN_FDS). */
#include "daemon_sdlisten.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../keystore/log.h"

#define SD_MAX_FDS 16

/* Parses a decimal number in [min, max]; -1 when s is not one. */
static long parse_num(const char *s, long min, long max)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/* 0 if fd is a listening AF_UNIX stream socket; else e says what it is not. */
static int check_listener(int fd, struct errmsg *e)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (fcntl(fd, F_GETFD) < 0)
		return errmsg_set(e, "socket activation: fd %d is not open", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0 || v != AF_UNIX)
		return errmsg_set(e, "socket activation: fd %d is not a unix socket "
				  "(ListenStream= must be a path)", fd);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) != 0 || v != SOCK_STREAM)
		return errmsg_set(e, "socket activation: fd %d is not a stream socket", fd);
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || v != 1)
		return errmsg_set(e, "socket activation: fd %d is not listening "
				  "(Accept=no is needed)", fd);
	return 0;
}

/* The i-th colon-separated field of names into out ("" when missing). */
static void name_at(const char *names, int i, char *out, size_t len)
{
	const char *p = names, *q;

	out[0] = '\0';
	if (names == NULL)
		return;
	for (; i > 0 && p != NULL; i--)
		p = (p = strchr(p, ':')) != NULL ? p + 1 : NULL;
	if (p == NULL)
		return;
	q = strchr(p, ':');
	snprintf(out, len, "%.*s", (int)(q != NULL ? (size_t)(q - p) : strlen(p)), p);
}

static void unset_vars(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int sd_sockets_take(struct sd_sockets *s, struct errmsg *e)
{
	const char *names = getenv("LISTEN_FDNAMES");
	long pid = parse_num(getenv("LISTEN_PID"), 1, 0x7fffffff);
	long n = parse_num(getenv("LISTEN_FDS"), 0, SD_MAX_FDS);
	char names_copy[1024];
	int r = 0;

	s->ssh_fd = s->gpg_fd = -1;
	if (getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL)
		return 0;
	snprintf(names_copy, sizeof(names_copy), "%s", names != NULL ? names : "");
	names = names != NULL ? names_copy : NULL;
	unset_vars();
	if (pid != (long)getpid())
		return 0; /* meant for another process (e.g. a parent that exec'd us) */
	if (n < 0)
		return errmsg_set(e, "socket activation: LISTEN_FDS is not a number from 0 to %d",
				  SD_MAX_FDS);
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i, *slot = NULL;
		char name[256];

		name_at(names, i, name, sizeof(name));
		if (strcmp(name, "ssh") == 0)
			slot = &s->ssh_fd;
		else if (strcmp(name, "gpg") == 0)
			slot = &s->gpg_fd;
		else if (names == NULL || n == 1)
			slot = i == 0 ? &s->ssh_fd : i == 1 ? &s->gpg_fd : NULL;
		if (r == 0 && slot != NULL && *slot >= 0)
			r = errmsg_set(e, "socket activation: two sockets named '%s'", name);
		if (r == 0 && slot != NULL && check_listener(fd, e) != 0)
			r = -1;
		if (r != 0 || slot == NULL) {
			if (r == 0)
				log_warn("socket activation: ignoring fd %d named '%s' (only 'ssh' "
					 "and 'gpg' are used)", fd, name);
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		*slot = fd;
	}
	if (r != 0) {
		if (s->ssh_fd >= 0)
			close(s->ssh_fd);
		if (s->gpg_fd >= 0)
			close(s->gpg_fd);
		s->ssh_fd = s->gpg_fd = -1;
	}
	return r;
}

void sd_socket_path(int fd, char *out, size_t len)
{
	struct sockaddr_un sun;
	socklen_t sl = sizeof(sun);

	memset(&sun, 0, sizeof(sun));
	out[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&sun, &sl) != 0 || sun.sun_family != AF_UNIX ||
	    sl <= offsetof(struct sockaddr_un, sun_path) || sun.sun_path[0] == '\0')
		return;
	snprintf(out, len, "%.*s", (int)(sl - offsetof(struct sockaddr_un, sun_path)),
		 sun.sun_path);
}
