/* daemon_proxy: talks to the --proxy upstream agent, one short connection per request
 * under a hard deadline. */
#include "daemon_proxy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon_softkeys.h"
#include "../keystore/log.h"

#define PROXY_BACKOFF_S 30
#define PROXY_COMMENT_MAX 1024

/* The ssh event loop is single-threaded: while we wait for the upstream no other ssh
 * client is served. So the wait is bounded by proxy-timeout (default 5 s), and an
 * upstream that timed out is skipped for PROXY_BACKOFF_S: a hung upstream costs one
 * delay, not one per request. (A thread per forwarded request would lift this, at the
 * price of the reply ordering the loop now gets for free.) */
static uint64_t backoff_until_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int proxy_on(const struct agent *a)
{
	return a->settings.proxy[0] != '\0' && !a->settings.host;
}

/* 1 if path and ours are the same socket (same file, or the same name). */
static int same_socket(const char *path, const char *ours)
{
	struct stat s1, s2;

	if (strcmp(path, ours) == 0)
		return 1;
	return stat(path, &s1) == 0 && stat(ours, &s2) == 0 && s1.st_dev == s2.st_dev &&
	       s1.st_ino == s2.st_ino;
}

int proxy_check(struct agent *a, struct errmsg *e)
{
	if (a->settings.proxy[0] == '\0')
		return 0;
	if (a->settings.host)
		return errmsg_set(e, "--proxy does not go with --host: a host-key agent serves "
				  "its TPM host keys only");
	if (same_socket(a->settings.proxy, a->socket_path))
		return errmsg_set(e, "--proxy %s is this agent's own socket: refusing to proxy to "
				  "ourselves (it would loop)", a->settings.proxy);
	log_info("identities we do not hold are proxied to %s", a->settings.proxy);
	return 0;
}

/* ---- one request/reply with a deadline ---- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0; /* ready, or an error the next call reports */
		if (r == 0)
			errno = ETIMEDOUT;
		if (r == 0 || errno != EINTR)
			return -1;
	}
}

static int io_all(int fd, uint8_t *p, size_t len, int writing, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) != 0)
			return -1;
	}
	return 0;
}

/* Connects without blocking past the deadline; refuses an upstream that is this very
 * process (a proxy loop through a symlink or a second name of our socket). */
static int upstream_connect(const char *path, uint64_t deadline, struct errmsg *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return errmsg_set(e, "socket path too long");
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return errmsg_set(e, "socket: %s", strerror(errno));
	/* A unix socket with a full backlog says EAGAIN: try again until the deadline. */
	while ((r = connect(fd, (struct sockaddr *)&sun, sizeof(sun))) != 0 &&
	       (errno == EAGAIN || errno == EINTR) && now_ms() + 10 < deadline)
		poll(NULL, 0, 10);
	if (r != 0) {
		errmsg_set(e, "cannot connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid == getpid()) {
		errmsg_set(e, "it is this agent itself: refusing a proxy loop");
		close(fd);
		return -1;
	}
	return fd;
}

static int send_frame(int fd, const struct sshbuf *msg, uint64_t deadline)
{
	uint32_t len = (uint32_t)sshbuf_len(msg);
	uint8_t hdr[4] = { len >> 24, len >> 16, len >> 8, len };

	return io_all(fd, hdr, 4, 1, deadline) != 0 ||
	       io_all(fd, (uint8_t *)sshbuf_ptr(msg), len, 1, deadline) != 0 ? -1 : 0;
}

/* One reply frame's contents (type byte + body) into reply; a length of 0 or over
 * AGENTMSG_MAX is refused before anything is allocated. */
static int read_frame(int fd, struct sshbuf *reply, uint64_t deadline, struct errmsg *e)
{
	uint8_t hdr[4], *p;
	size_t frame_len;
	uint32_t len;

	if (io_all(fd, hdr, 4, 0, deadline) != 0)
		return -1;
	if (agentmsg_frame_peek(hdr, 4, &frame_len) != SSHBUF_E_SHORT) {
		errno = EPROTO;
		return errmsg_set(e, "it sent a malformed reply");
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	sshbuf_reset(reply);
	if (sshbuf_reserve(reply, len, &p) != 0) {
		errno = ENOMEM;
		return -1;
	}
	return io_all(fd, p, len, 0, deadline);
}

/* Sends msg (type byte + body) and reads one reply (type byte + body) into reply. */
static int upstream_call(struct agent *a, const struct sshbuf *msg, struct sshbuf *reply,
			 struct errmsg *e)
{
	uint64_t deadline = now_ms() + (uint64_t)a->settings.proxy_timeout * 1000;
	int fd, r;

	e->text[0] = '\0';
	if (now_ms() < backoff_until_ms)
		return errmsg_set(e, "skipped: it did not answer in time a moment ago");
	/* a->lock (held by the dispatcher) is released while we wait: gpg clients and PIN
	 * jobs go on. Nothing here needs it; the caller's state is this thread's. */
	pthread_mutex_unlock(&a->lock);
	if ((fd = upstream_connect(a->settings.proxy, deadline, e)) < 0) {
		pthread_mutex_lock(&a->lock);
		return -1;
	}
	r = send_frame(fd, msg, deadline) == 0 && read_frame(fd, reply, deadline, e) == 0;
	pthread_mutex_lock(&a->lock);
	if (!r && errno == ETIMEDOUT) {
		backoff_until_ms = now_ms() + PROXY_BACKOFF_S * 1000;
		errmsg_set(e, "no answer within %u s (proxy-timeout); not asked again for %d s",
			   a->settings.proxy_timeout, PROXY_BACKOFF_S);
	} else if (!r && e->text[0] == '\0') {
		errmsg_set(e, "%s", strerror(errno));
	}
	close(fd);
	return r ? 0 : -1;
}

/* ---- identities ---- */

static int we_hold(struct agent *a, const uint8_t *blob, size_t len)
{
	struct ks_key *k = keystore_find_blob(a->ks, blob, len);

	return (k != NULL && !k->hidden) || softkeys_has_blob(blob, len);
}

/* Appends the entries of an IDENTITIES_ANSWER body; stops quietly when out is full. */
static uint32_t merge_identities(struct agent *a, struct sshbuf *reply, struct sshbuf *out)
{
	char comment[PROXY_COMMENT_MAX];
	const uint8_t *blob;
	size_t blob_len;
	uint32_t n, added = 0;
	uint8_t type;

	if (sshbuf_get_u8(reply, &type) != 0 || type != SSH_AGENT_IDENTITIES_ANSWER ||
	    agentmsg_parse_identities_count(reply, &n) != 0) {
		log_warn("proxy %s: not an identities answer; listing our own keys only",
			 a->settings.proxy);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (agentmsg_identities_next(reply, &blob, &blob_len, comment, sizeof(comment)) != 0) {
			log_warn("proxy %s: malformed identity %u; listing the ones before it",
				 a->settings.proxy, i);
			break;
		}
		if (we_hold(a, blob, blob_len))
			continue;
		if (agentmsg_identities_add(out, blob, blob_len, comment) != 0) {
			log_warn("proxy %s: too many identities; listing %u of %u",
				 a->settings.proxy, added, n);
			break;
		}
		added++;
	}
	return added;
}

static uint32_t proxy_identities(struct agent *a, struct sshbuf *out)
{
	struct sshbuf *msg = sshbuf_new(16), *reply = sshbuf_new(AGENTMSG_MAX);
	struct errmsg e;
	uint32_t n = 0;

	if (!proxy_on(a) || msg == NULL || reply == NULL ||
	    sshbuf_put_u8(msg, SSH_AGENTC_REQUEST_IDENTITIES) != 0)
		goto done;
	if (upstream_call(a, msg, reply, &e) != 0)
		log_warn("proxy %s: %s; listing our own keys only", a->settings.proxy, e.text);
	else
		n = merge_identities(a, reply, out);
done:
	sshbuf_free(msg);
	sshbuf_free(reply);
	return n;
}

/* ---- signatures ---- */

/* The request as the client sent it: a SIGN_REQUEST is exactly these three fields
 * (agentmsg_parse_sign_request refuses trailing bytes), so this is byte for byte. */
static int encode_sign_request(const struct agentmsg_sign_request *req, struct sshbuf *msg)
{
	int r;

	if ((r = sshbuf_put_u8(msg, SSH_AGENTC_SIGN_REQUEST)) != 0 ||
	    (r = sshbuf_put_string(msg, req->key_blob, req->key_blob_len)) != 0 ||
	    (r = sshbuf_put_string(msg, req->data, req->data_len)) != 0)
		return r;
	return sshbuf_put_u32(msg, req->flags);
}

/* Relays a SIGN_RESPONSE or FAILURE whole; anything else becomes FAILURE. */
static int relay_sign_reply(const struct sshbuf *reply, struct sshbuf *out)
{
	uint8_t type = sshbuf_len(reply) > 0 ? sshbuf_ptr(reply)[0] : 0;
	size_t start = sshbuf_len(out);
	int r;

	if (type != SSH_AGENT_SIGN_RESPONSE)
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	if ((r = sshbuf_put_u32(out, (uint32_t)sshbuf_len(reply))) != 0 ||
	    (r = sshbuf_put(out, sshbuf_ptr(reply), sshbuf_len(reply))) != 0)
		out->size = out->off + start;
	return r;
}

static int proxy_sign(struct agent *a, struct conn *c,
		      const struct agentmsg_sign_request *req, struct sshbuf *out)
{
	struct sshbuf *msg, *reply;
	struct errmsg e;
	int r;

	if (!proxy_on(a))
		return 1;
	msg = sshbuf_new(AGENTMSG_MAX);
	reply = sshbuf_new(AGENTMSG_MAX);
	if (msg == NULL || reply == NULL || encode_sign_request(req, msg) != 0) {
		r = agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	} else if (upstream_call(a, msg, reply, &e) != 0) {
		log_warn("proxy %s: sign request from pid %d not forwarded: %s",
			 a->settings.proxy, (int)c->pid, e.text);
		r = agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	} else {
		log_debug("sign request from pid %d forwarded to %s", (int)c->pid,
			  a->settings.proxy);
		r = relay_sign_reply(reply, out);
	}
	sshbuf_free(msg);
	sshbuf_free(reply);
	return r;
}

/* ---- after the TPM keys: software keys, then the upstream's ---- */

const struct sshbuf *extra_identities(struct agent *a, const struct conn *c, uint32_t *count)
{
	struct sshbuf *b = softkeys_identities(a, c, count);

	if (b != NULL && a->lock_hash == NULL)
		*count += proxy_identities(a, b);
	return b;
}

int extra_sign(struct agent *a, struct conn *c, const struct agentmsg_sign_request *req,
	       struct sshbuf *out)
{
	int r = softkeys_sign(a, c, req, out);

	return r != 1 ? r : proxy_sign(a, c, req, out);
}
