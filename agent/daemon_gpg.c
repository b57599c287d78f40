/* daemon_gpg: the gpg-agent socket. An accept thread hands each connection to its own
 * detached thread running a libassuan server (libassuan blocks on INQUIRE). */
#include "daemon_gpg.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../protocol/control.h"
#include "daemon_gpg_int.h"
#include "daemon_gpghome.h"
#include "../keystore/log.h"

static struct {
	struct agent *a;
	int listen_fd;
	char path[PATH_MAX];
	pthread_t accept_thread;
	int accept_running;
	int inherited;               /* listen_fd came from systemd: never unlink path */
	volatile int stopping;
	pthread_mutex_t mu;          /* guards conn_fds and n_conns */
	pthread_cond_t idle;         /* signalled when a connection ends */
	int conn_fds[GPG_MAX_CONNS];
	int n_conns;
	int inquire_timeout_ms;
} gs = {
	.listen_fd = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

const char *gpg_server_socket(void)
{
	return gs.path;
}

/* ---------------------------------------------------------------- listening */

int gpg_socket_check(const char *path, struct errmsg *e)
{
	struct sockaddr_un sun;

	if (strlen(path) >= sizeof(sun.sun_path))
		return errmsg_set(e, "gpg socket path too long: %s", path);
	if (server_socket_in_use(path))
		return errmsg_set(e, "a gpg-agent already answers on %s. Stop it first: "
				  "`gpgconf --kill gpg-agent`; on Debian 12 systemd restarts it, so also "
				  "`systemctl --user stop gpg-agent.socket gpg-agent-extra.socket "
				  "gpg-agent-browser.socket gpg-agent-ssh.socket` (or `systemctl --user "
				  "mask` them to keep them off). Or serve another path with --gpg-socket",
				  path);
	return 0;
}

static int gpg_listen(const char *path, struct errmsg *e)
{
	if (gpg_socket_check(path, e) != 0)
		return -1;
	return server_listen_unix(path, 0, e);
}

/* ---------------------------------------------------------------- one connection */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long the next read may wait: an INQUIRE answer inquire_timeout_ms; otherwise
 * what is left of client-idle-timeout since the last whole line (-1: forever). */
static int read_wait_ms(const struct gpg_session *s)
{
	int64_t left;

	if (s->inquiring)
		return s->inquire_timeout_ms;
	if (s->idle_timeout_ms <= 0)
		return -1;
	left = s->last_line_ms + s->idle_timeout_ms - mono_ms();
	return left > 0 ? (int)left : 0;
}

/* libassuan's read, but a silent client times out: while an INQUIRE is pending, and
 * after client-idle-timeout without a whole line, so dribbling clients cannot hold
 * the connection slots (ETIMEDOUT, not EAGAIN: libassuan retries EAGAIN forever). */
static ssize_t hook_read(assuan_context_t ctx, assuan_fd_t fd, void *buf, size_t size)
{
	struct gpg_session *s = assuan_get_pointer(ctx);
	int wait_ms = s != NULL ? read_wait_ms(s) : -1;

	if (wait_ms >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, wait_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			if (!s->inquiring)
				log_info("gpg: client pid %d idle for %d s; closing its connection",
					 (int)s->pid, s->idle_timeout_ms / 1000);
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return __assuan_read(ctx, fd, buf, size);
}

static struct assuan_system_hooks hooks = {
	ASSUAN_SYSTEM_HOOKS_VERSION, __assuan_usleep, __assuan_pipe, __assuan_close,
	hook_read, __assuan_write, __assuan_recvmsg, __assuan_sendmsg, __assuan_spawn,
	__assuan_waitpid, __assuan_socketpair, __assuan_socket, __assuan_connect,
};

/* 1 if every '%' in line[0..len) starts a %XX escape with two hex digits. */
static int escapes_ok(const char *line, size_t len)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	for (size_t i = 0; i < len; i++)
		if (line[i] == '%' && (i + 2 >= len || !strchr(hex, line[i + 1]) ||
				       !strchr(hex, line[i + 2]) || !line[i + 1] || !line[i + 2]))
			return 0;
	return 1;
}

/* Sees every line before libassuan does. libassuan 2.5's INQUIRE decoder loops forever
 * on a D line ending in "%" or "%X", so such a line is dropped here and remembered:
 * the command then answers ERR instead of using the rest. */
static unsigned io_monitor(assuan_context_t ctx, void *hook, int inout, const char *line,
			   size_t len)
{
	struct gpg_session *s = hook;

	(void)ctx;
	s->last_line_ms = mono_ms(); /* a whole line, either way: the client is not idle */
	if (inout != ASSUAN_IO_FROM_PEER || !s->inquiring || len < 2 || line[0] != 'D' ||
	    line[1] != ' ' || escapes_ok(line + 2, len - 2))
		return 0;
	s->bad_escape = 1;
	return ASSUAN_IO_MONITOR_IGNORE;
}

/* After a line over 1000 bytes: answer ERR and drop the rest of that line, so its tail
 * is never taken for a command. */
static void skip_long_line(assuan_context_t ctx)
{
	gpg_error_t err = GPG_AGENT_ERR(GPG_ERR_ASS_LINE_TOO_LONG), rc;
	char line[160], *l;
	size_t n;

	snprintf(line, sizeof(line), "ERR %u %s <%s>", err, gpg_strerror(err), gpg_strsource(err));
	if (assuan_write_line(ctx, line) != 0)
		return;
	do
		rc = assuan_read_line(ctx, &l, &n);
	while (gpg_err_code(rc) == GPG_ERR_ASS_LINE_TOO_LONG && !gs.stopping);
}

static void conn_register_drop(int fd)
{
	pthread_mutex_lock(&gs.mu);
	for (int i = 0; i < gs.n_conns; i++)
		if (gs.conn_fds[i] == fd) {
			gs.conn_fds[i] = gs.conn_fds[--gs.n_conns];
			break;
		}
	pthread_cond_broadcast(&gs.idle);
	pthread_mutex_unlock(&gs.mu);
}

static void serve(struct gpg_session *s)
{
	assuan_context_t ctx = NULL;
	gpg_error_t rc;

	if ((rc = assuan_new(&ctx)) != 0) {
		log_error("gpg: cannot make an Assuan context: %s", gpg_strerror(rc));
		conn_register_drop(s->fd);
		close(s->fd);
		return;
	}
	assuan_set_pointer(ctx, s);
	assuan_ctx_set_system_hooks(ctx, &hooks);
	assuan_set_io_monitor(ctx, io_monitor, s);
	if ((rc = assuan_init_socket_server(ctx, s->fd, ASSUAN_SOCKET_SERVER_ACCEPTED)) != 0 ||
	    (rc = gpg_register_commands(ctx)) != 0 || (rc = assuan_accept(ctx)) != 0) {
		log_warn("gpg: cannot start serving pid %d: %s", (int)s->pid, gpg_strerror(rc));
		conn_register_drop(s->fd);
		assuan_release(ctx);
		return;
	}
	for (;;) {
		rc = assuan_process(ctx);
		if (gpg_err_code(rc) != GPG_ERR_ASS_LINE_TOO_LONG || gs.stopping)
			break;
		log_info("gpg: pid %d sent a line over 1000 bytes", (int)s->pid);
		skip_long_line(ctx);
	}
	if (rc != 0 && gpg_err_code(rc) != GPG_ERR_EOF && !gs.stopping)
		log_debug("gpg: connection of pid %d ended: %s", (int)s->pid, gpg_strerror(rc));
	/* Out of the registry before the fd closes: stop's shutdown() must never reach a
	 * number the kernel has handed out again. */
	conn_register_drop(s->fd);
	assuan_release(ctx); /* closes s->fd */
}

static void *conn_thread(void *arg)
{
	struct gpg_session *s = arg;

	log_debug("gpg: client connected: pid %d", (int)s->pid);
	serve(s);
	gpg_session_reset(s);
	explicit_bzero(s, sizeof(*s));
	free(s);
	return NULL;
}

/* ---------------------------------------------------------------- accepting */

static int peer_allowed(int fd, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	*pid = cred.pid;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("gpg: refusing connection from uid %u (pid %d): not our user",
			 (unsigned)cred.uid, (int)cred.pid);
		return 0;
	}
	return 1;
}

static int conn_register(int fd)
{
	int ok;

	pthread_mutex_lock(&gs.mu);
	ok = gs.n_conns < GPG_MAX_CONNS && !gs.stopping;
	if (ok)
		gs.conn_fds[gs.n_conns++] = fd;
	pthread_mutex_unlock(&gs.mu);
	return ok;
}

static void start_connection(int fd, pid_t pid)
{
	struct gpg_session *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	pthread_t th;

	if (s == NULL || !conn_register(fd)) {
		log_warn("gpg: refusing connection from pid %d: %s", (int)pid,
			 s == NULL ? "out of memory" : "too many connections");
		free(s);
		close(fd);
		return;
	}
	s->a = gs.a;
	s->fd = fd;
	s->pid = pid;
	s->inquire_timeout_ms = gs.inquire_timeout_ms;
	s->idle_timeout_ms = (int)gs.a->settings.client_idle_timeout * 1000;
	s->last_line_ms = mono_ms();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, conn_thread, s) != 0) {
		log_error("gpg: cannot start a connection thread: %s", strerror(errno));
		conn_register_drop(fd);
		close(fd);
		free(s);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_thread(void *arg)
{
	(void)arg;
	while (!gs.stopping) {
		struct pollfd p = { .fd = gs.listen_fd, .events = POLLIN };
		pid_t pid = 0;
		int fd;

		if (poll(&p, 1, 500) <= 0 || gs.stopping)
			continue;
		if ((fd = accept4(gs.listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("gpg: accept: %s", strerror(errno));
			continue;
		}
		if (!peer_allowed(fd, &pid)) {
			close(fd);
			continue;
		}
		start_connection(fd, pid);
	}
	return NULL;
}

static int inquire_timeout_ms(void)
{
	const char *s = getenv("TPM_AGENT_INQUIRE_TIMEOUT");
	char *end;
	long v = s ? strtol(s, &end, 10) : 0;

	if (s == NULL || *end != '\0' || v < 1 || v > 3600)
		v = GPG_INQUIRE_TIMEOUT_DEFAULT;
	return (int)v * 1000;
}

/* Serves gs.listen_fd (bound to path) from a new accept thread. */
static int start_accepting(struct agent *a, const char *path, struct errmsg *e)
{
	sigset_t all, old;
	int r;

	gs.a = a;
	gs.stopping = 0;
	gs.inquire_timeout_ms = inquire_timeout_ms();
	snprintf(gs.path, sizeof(gs.path), "%s", path);
	/* Our threads never take the signals: they go to the main thread's poll loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&gs.accept_thread, NULL, accept_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		close(gs.listen_fd);
		gs.listen_fd = -1;
		if (!gs.inherited)
			unlink(gs.path);
		gs.path[0] = '\0';
		return errmsg_set(e, "cannot start the gpg accept thread: %s", strerror(r));
	}
	gs.accept_running = 1;
	log_info("gpg-agent protocol on %s%s", gs.path,
		 gs.inherited ? " (socket from systemd)" : "");
	return 0;
}

int gpg_server_start(struct agent *a, const char *socket_path, struct errmsg *e)
{
	if (assuan_check_version(NULL) == NULL)
		return errmsg_set(e, "libassuan is not usable");
	if ((gs.listen_fd = gpg_listen(socket_path, e)) < 0)
		return -1;
	gs.inherited = 0;
	return start_accepting(a, socket_path, e);
}

int gpg_server_start_fd(struct agent *a, int listen_fd, const char *socket_path,
			struct errmsg *e)
{
	if (assuan_check_version(NULL) == NULL) {
		close(listen_fd);
		return errmsg_set(e, "libassuan is not usable");
	}
	gs.listen_fd = listen_fd;
	gs.inherited = 1;
	return start_accepting(a, socket_path[0] != '\0' ? socket_path : "(inherited socket)", e);
}

/* Waits up to timeout_s for the connection threads to end. */
static void wait_connections(int timeout_s)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&gs.mu);
	for (int i = 0; i < gs.n_conns; i++)
		shutdown(gs.conn_fds[i], SHUT_RDWR); /* wakes a thread blocked on the client */
	while (gs.n_conns > 0)
		if (pthread_cond_timedwait(&gs.idle, &gs.mu, &until) != 0)
			break;
	if (gs.n_conns > 0)
		log_warn("gpg: %d connection(s) still busy at shutdown", gs.n_conns);
	pthread_mutex_unlock(&gs.mu);
}

void gpg_server_stop(void)
{
	if (!gs.accept_running)
		return;
	gs.stopping = 1;
	pthread_join(gs.accept_thread, NULL);
	gs.accept_running = 0;
	close(gs.listen_fd);
	gs.listen_fd = -1;
	wait_connections(1); /* one stuck in the TPM must not hold up the exit */
	gpg_scd_stop();
	if (!gs.inherited)
		unlink(gs.path); /* an inherited socket is systemd's: it stays */
	gs.path[0] = '\0';
}
