/* daemon_server: the agent's event loop. Non-blocking sockets under poll(), one input
 * and one output buffer per client, so a slow client never blocks the others. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../protocol/agentmsg.h"
#include "daemon_pin.h"
#include "daemon_softkeys.h"
#include "../keystore/log.h"

#define CONN_OUT_MAX (2 * AGENTMSG_MAX + 4096)
#define CONN_IN_MAX  (AGENTMSG_MAX + 4)

static struct conn *conns[SERVER_MAX_CONNS];
static size_t n_conns;
static uint64_t last_conn_id;

/* Monotonic: idle limits must not jump with the wall clock. */
static time_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void conn_free(struct conn *c)
{
	pin_env_free(c->env);
	close(c->fd);
	sshbuf_free(c->in);
	sshbuf_free(c->out);
	free(c);
}

/* Refuses peers that are neither us nor root, as ssh-agent does. */
static int conn_peer_allowed(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("cannot read peer credentials: %s", strerror(errno));
		return 0;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("refusing connection from uid %u (pid %d): not our user",
			 (unsigned)cred.uid, (int)cred.pid);
		return 0;
	}
	return 1;
}

static void server_drop(size_t i)
{
	log_debug("client disconnected: pid %d", (int)conns[i]->pid);
	conn_free(conns[i]);
	conns[i] = conns[--n_conns];
}

/* The cap is reached: the client idle longest (no request for a second at least, none
 * in a job) makes room, so clients that hold connections without finishing a request
 * cannot lock the others out. 1 if one was dropped. */
static int server_make_room(void)
{
	time_t now = now_sec(), oldest = now;
	size_t victim = n_conns;

	for (size_t i = 0; i < n_conns; i++)
		if (!conns[i]->busy && conns[i]->last_active < oldest) {
			oldest = conns[i]->last_active;
			victim = i;
		}
	if (victim == n_conns)
		return 0;
	log_info("%d clients connected: closing the connection of pid %d, idle for %lld s, "
		 "to make room", SERVER_MAX_CONNS, (int)conns[victim]->pid,
		 (long long)(now - oldest));
	server_drop(victim);
	return 1;
}

static void server_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c;
	uid_t uid;
	pid_t pid;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("accept: %s", strerror(errno));
		return;
	}
	if (!conn_peer_allowed(fd, &uid, &pid)) {
		close(fd);
		return;
	}
	if (n_conns == SERVER_MAX_CONNS && !server_make_room()) {
		log_warn("refusing connection from pid %d: %d clients connected already",
			 (int)pid, SERVER_MAX_CONNS);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->in = sshbuf_new(CONN_IN_MAX)) == NULL ||
	    (c->out = sshbuf_new(CONN_OUT_MAX)) == NULL) {
		log_error("out of memory accepting a client");
		if (c != NULL) {
			sshbuf_free(c->in);
			free(c);
		}
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++last_conn_id;
	c->uid = uid;
	c->pid = pid;
	c->last_active = now_sec();
	conns[n_conns++] = c;
	log_debug("client connected: pid %d", (int)pid);
}

/* Compacts the input buffer so reads can append after a consumed prefix. */
static void conn_compact(struct sshbuf *b)
{
	size_t len = sshbuf_len(b);

	if (b->off == 0)
		return;
	memmove(b->d, b->d + b->off, len);
	/* The moved bytes also stay at their old place: wipe that (it may hold part of a
	 * private key still arriving, see conn_process). */
	sodium_memzero(b->d + len, b->size - len);
	b->off = 0;
	b->size = len;
}

/* Handles every complete frame in c->in. Returns -1 to drop the client now. */
static int conn_process(struct agent *a, struct conn *c)
{
	size_t frame_len;
	int r;

	/* Stop once a whole reply is queued: the client must read before we do more. And
	 * while a PIN job holds a request: replies go out in order. */
	while (!c->close_after_write && !c->busy && sshbuf_len(c->out) <= AGENTMSG_MAX) {
		r = agentmsg_frame_peek(sshbuf_ptr(c->in), sshbuf_len(c->in), &frame_len);
		if (r == SSHBUF_E_SHORT)
			break;
		if (r != 0) {
			if (r == SSHBUF_E_TOOBIG)
				log_warn("client pid %d: frame over the %u KiB message limit; "
					 "closing its connection", (int)c->pid,
					 (unsigned)(AGENTMSG_MAX / 1024));
			else
				log_warn("client pid %d: malformed frame; closing its connection",
					 (int)c->pid);
			agentmsg_put_simple(c->out, SSH_AGENT_FAILURE);
			c->close_after_write = 1;
			break;
		}
		c->ticket = 0;
		c->last_active = now_sec(); /* the idle clock counts from the last request */
		pthread_mutex_lock(&a->lock);
		r = ssh_dispatch(a, c, sshbuf_ptr(c->in) + 4, frame_len - 4, c->out);
		pthread_mutex_unlock(&a->lock);
		if (r == SSH_DISPATCH_DEFERRED)
			c->busy = 1;
		else if (r != 0)
			c->close_after_write = 1;
		/* ADD_IDENTITY carries a private key, which daemon_softkeys.c copied into
		 * sodium memory: wipe the frame here so no copy outlives the request. */
		if (sshbuf_ptr(c->in)[4] == SSH_AGENTC_ADD_IDENTITY ||
		    sshbuf_ptr(c->in)[4] == SSH_AGENTC_ADD_ID_CONSTRAINED)
			sodium_memzero((uint8_t *)sshbuf_ptr(c->in), frame_len);
		sshbuf_consume(c->in, frame_len);
	}
	conn_compact(c->in);
	return 0;
}

static int conn_read(struct agent *a, struct conn *c)
{
	uint8_t *p;
	ssize_t n;
	size_t room = c->in->max - c->in->size;

	if (room == 0)
		return -1; /* cannot happen: a full buffer always holds a complete or bad frame */
	if (room > 65536)
		room = 65536;
	if (sshbuf_reserve(c->in, room, &p) != 0)
		return -1;
	n = read(c->fd, p, room);
	c->in->size -= room - (n > 0 ? (size_t)n : 0);
	if (n == 0)
		return -1;
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	return conn_process(a, c);
}

static int conn_write(struct agent *a, struct conn *c)
{
	ssize_t n = write(c->fd, sshbuf_ptr(c->out), sshbuf_len(c->out));

	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	sshbuf_consume(c->out, (size_t)n);
	if (sshbuf_len(c->out) == 0) {
		sshbuf_reset(c->out);
		if (c->close_after_write)
			return -1;
		return conn_process(a, c); /* frames held back while the reply was queued */
	}
	return 0;
}

/* A job finished: its reply goes to its client, if that is still connected and still
 * waits for that request (not after a deadline answered it), and the client's next
 * requests are read again. */
static void deliver_job_replies(struct agent *a)
{
	struct sshbuf *reply;
	uint64_t id, ticket;

	while (pin_next_reply(a, &id, &ticket, &reply)) {
		for (size_t i = 0; i < n_conns; i++) {
			struct conn *c = conns[i];

			if (c->id != id)
				continue;
			if (!c->busy || c->ticket != ticket)
				break; /* a late reply to a request answered already */
			if (sshbuf_put(c->out, sshbuf_ptr(reply), sshbuf_len(reply)) != 0)
				c->close_after_write = 1;
			c->busy = 0;
			c->last_active = now_sec(); /* the idle clock starts when the job ends */
			conn_process(a, c);
			break;
		}
		sshbuf_free(reply); /* a client that went away meanwhile gets nothing */
	}
}

/* Expired PINs and key lifetimes; returns the poll timeout until the next one. */
static int server_housekeeping(struct agent *a)
{
	int ms;

	pthread_mutex_lock(&a->lock);
	pin_housekeeping(a);
	softkeys_expire(); /* ssh-add -t: a second late at most (the poll timeout) */
	ms = pin_poll_timeout_ms(a, 1000);
	pthread_mutex_unlock(&a->lock);
	return tpm_jobs_expire(a, ms); /* TPM requests past their deadline fail here */
}

/* client-idle-timeout: a client that holds a connection without completing a request
 * (nothing sent, or half a frame) would pin one of the SERVER_MAX_CONNS slots forever.
 * A client whose request a PIN job holds is waiting on us, not idle. */
static void server_drop_idle(const struct agent *a)
{
	unsigned limit = a->settings.client_idle_timeout;
	time_t now = now_sec();

	if (limit == 0)
		return;
	for (size_t i = n_conns; i-- > 0;) {
		if (conns[i]->busy || now - conns[i]->last_active < (time_t)limit)
			continue;
		log_info("client pid %d idle for %u s (%zu byte(s) of a request pending); "
			 "closing its connection", (int)conns[i]->pid, limit,
			 sshbuf_len(conns[i]->in));
		server_drop(i);
	}
}

int server_socket_in_use(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, in_use = 0;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >= (int)sizeof(sun.sun_path))
		return 0; /* server_listen_unix refuses such a path with a message */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		in_use = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
	}
	return in_use;
}

int server_listen_unix(const char *path, int sock_flags, struct errmsg *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return errmsg_set(e, "socket path too long: %s", path);
	unlink(path); /* a stale socket from an agent that died */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0)) < 0)
		return errmsg_set(e, "socket: %s", strerror(errno));
	old_mask = umask(0177); /* the socket is born 0600 */
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (r != 0 || listen(fd, SOMAXCONN) != 0) {
		errmsg_set(e, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int server_run(struct agent *a, int listen_fd)
{
	struct pollfd pfd[SERVER_MAX_CONNS + 2];

	while (!a->quit) {
		size_t n = n_conns;
		int timeout = server_housekeeping(a);

		pfd[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			pfd[i + 1].fd = conns[i]->fd;
			pfd[i + 1].revents = 0;
			pfd[i + 1].events = sshbuf_len(conns[i]->out) > 0 ? POLLOUT :
					    ((conns[i]->close_after_write || conns[i]->busy) ? 0 : POLLIN);
		}
		pfd[n + 1] = (struct pollfd){ .fd = pin_event_fd(a), .events = POLLIN };
		if (poll(pfd, n + 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return -1;
		}
		/* Walk backwards: server_drop moves the last client into the hole. */
		for (size_t i = n; i-- > 0;) {
			int drop = 0;

			if (pfd[i + 1].revents & POLLOUT)
				drop = conn_write(a, conns[i]) != 0;
			else if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				drop = conn_read(a, conns[i]) != 0 ||
				       (sshbuf_len(conns[i]->out) > 0 && conn_write(a, conns[i]) != 0);
			if (drop)
				server_drop(i);
		}
		if (pfd[0].revents & POLLIN)
			server_accept(listen_fd);
		if (pfd[n + 1].revents & POLLIN)
			deliver_job_replies(a);
		server_drop_idle(a);
	}
	/* Requests still in a job end with the connection: the client sees it close. */
	while (n_conns > 0)
		server_drop(n_conns - 1);
	return 0;
}
