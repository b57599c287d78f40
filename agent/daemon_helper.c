/* daemon_helper: starts OpenSSH's helper programs on a socketpair and exchanges
 * length-framed messages with them under a deadline. */
#include "daemon_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HELPER_GRACE_MS 2000

const char *helper_path(const char *envvar, const char *dflt)
{
	const char *v = getenv(envvar);

	return v != NULL && v[0] == '/' ? v : dflt;
}

static void child_exec(const char *path, int fd, pid_t parent)
{
	const char *base = strrchr(path, '/');

	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		_exit(1);
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0)
		_exit(1);
	closefrom(STDERR_FILENO + 1);
	signal(SIGPIPE, SIG_DFL);
	execl(path, base != NULL ? base + 1 : path, (char *)NULL);
	_exit(127);
}

int helper_start(const char *path, struct helper *h, struct errmsg *e)
{
	pid_t parent = getpid();
	int sv[2];

	h->pid = -1;
	h->fd = -1;
	if (access(path, X_OK) != 0)
		return errmsg_set(e, "helper %s: %s (install openssh-client, or set the path)",
				  path, strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return errmsg_set(e, "socketpair: %s", strerror(errno));
	if ((h->pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return errmsg_set(e, "fork: %s", strerror(errno));
	}
	if (h->pid == 0)
		child_exec(path, sv[1], parent);
	close(sv[1]);
	h->fd = sv[0];
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline (ms, CLOCK_MONOTONIC). */
static int wait_fd(int fd, short events, int64_t deadline, struct errmsg *e)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return errmsg_set(e, "the helper did not answer in time");
		if ((r = poll(&p, 1, (int)left)) > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return errmsg_set(e, "poll: %s", strerror(errno));
	}
}

static int io_all(int fd, uint8_t *p, size_t len, int writing, int64_t deadline,
		  struct errmsg *e)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline, e) != 0)
			return -1;
		n = writing ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return errmsg_set(e, "the helper %s", n == 0 ? "closed the connection" :
					  strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int helper_send(struct helper *h, const uint8_t *p, size_t len, struct errmsg *e)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			   (uint8_t)len };
	int64_t deadline = now_ms() + 10000;

	if (h->fd < 0)
		return errmsg_set(e, "the helper is not running");
	if (len > HELPER_FRAME_MAX)
		return errmsg_set(e, "request too large for the helper");
	if (io_all(h->fd, hdr, 4, 1, deadline, e) != 0 ||
	    io_all(h->fd, (uint8_t *)p, len, 1, deadline, e) != 0)
		return -1;
	return 0;
}

int helper_recv(struct helper *h, struct sshbuf *out, int timeout_ms, struct errmsg *e)
{
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t hdr[4], *p;
	size_t len;

	sshbuf_reset(out);
	if (h->fd < 0)
		return errmsg_set(e, "the helper is not running");
	if (io_all(h->fd, hdr, 4, 0, deadline, e) != 0)
		return -1;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > HELPER_FRAME_MAX)
		return errmsg_set(e, "the helper sent a frame of %zu bytes", len);
	if (sshbuf_reserve(out, len, &p) != 0)
		return errmsg_set(e, "out of memory for the helper's answer");
	return io_all(h->fd, p, len, 0, deadline, e);
}

void helper_stop(struct helper *h)
{
	int64_t deadline = now_ms() + HELPER_GRACE_MS;

	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	if (h->pid <= 0)
		return;
	while (waitpid(h->pid, NULL, WNOHANG) == 0) { /* it exits on EOF */
		struct timespec ts = { 0, 10 * 1000000 };

		if (now_ms() >= deadline) {
			kill(h->pid, SIGKILL);
			while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
				;
			break;
		}
		nanosleep(&ts, NULL);
	}
	h->pid = -1;
}

int helper_provider_allowed(const char *path, const char *patterns)
{
	char pat[PATH_MAX];
	int allowed = 0;

	for (const char *p = patterns; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		int neg = n > 0 && p[0] == '!';

		if (n - (size_t)neg < sizeof(pat)) {
			snprintf(pat, sizeof(pat), "%.*s", (int)(n - (size_t)neg), p + neg);
			if (fnmatch(pat, path, 0) == 0) {
				if (neg)
					return 0;
				allowed = 1;
			}
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	return allowed;
}
