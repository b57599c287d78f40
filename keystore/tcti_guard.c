/* tcti_guard: deadlines, abort and transport-state tracking for every TPM command;
 * swtpm's socket protocol spoken directly, other TCTIs loaded and wrapped. */
#include "tcti_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_tpm2_types.h>

#define GUARD_MAGIC 0x7470616775617264ull /* "tpaguard" */
#define SLICE_MS 100                      /* abort latency, at most */
#define HEADER_LEN 10
#define SWTPM_PORT_DEFAULT 2321

struct tcti_guard {
	TSS2_TCTI_CONTEXT_COMMON_V2 v2; /* first: ESAPI and SAPI see this */
	char conf[256];
	/* swtpm spoken directly (inner == NULL): where, and the socket of the command
	 * in flight (one connection per command, as tpm2-tss's swtpm TCTI does). */
	int own_swtpm;
	char host[128], port[8], path[108];
	int sock;
	size_t rsp_size;      /* from the response header, once read */
	uint8_t header[HEADER_LEN];
	TSS2_TCTI_CONTEXT *inner;
	unsigned cmd_ms, create_ms, cur_ms;
	struct timespec start;
	int dirty;
	int missed, probing;
	unsigned missed_s;
	uint64_t sent;
	atomic_int aborted;
	int lock_fd;
};

static struct tcti_guard *guard_of(TSS2_TCTI_CONTEXT *c)
{
	struct tcti_guard *g = (struct tcti_guard *)c;

	return g != NULL && g->v2.v1.magic == GUARD_MAGIC ? g : NULL;
}

/* Milliseconds left before the deadline of the command in flight (<= 0: passed). */
static long ms_left(const struct tcti_guard *g)
{
	struct timespec now;
	long spent;

	clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (now.tv_sec - g->start.tv_sec) * 1000L + (now.tv_nsec - g->start.tv_nsec) / 1000000L;
	return (long)g->cur_ms - spent;
}

static _Thread_local unsigned last_miss_s;

unsigned tcti_guard_last_miss_s(void)
{
	return last_miss_s;
}

/* Why the command cannot go on (abort, deadline), or 0. */
static TSS2_RC stop_reason(const struct tcti_guard *g)
{
	if (atomic_load(&((struct tcti_guard *)g)->aborted))
		return GUARD_RC_ABORTED;
	if (ms_left(g) <= 0) {
		struct tcti_guard *w = (struct tcti_guard *)g;

		if (!w->missed)
			w->missed_s = w->cur_ms / 1000u;
		w->missed = 1;
		last_miss_s = w->missed_s;
		return GUARD_RC_NO_ANSWER;
	}
	return TSS2_RC_SUCCESS;
}

/* ---- swtpm's socket, spoken directly ---- */

static void sock_close(struct tcti_guard *g)
{
	if (g->sock >= 0)
		close(g->sock);
	g->sock = -1;
	g->rsp_size = 0;
}

/* Waits until fd is ready for ev, in slices so that an abort is seen quickly. */
static TSS2_RC wait_fd(const struct tcti_guard *g, int fd, short ev)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		TSS2_RC rc = stop_reason(g);
		long left = ms_left(g);
		int n;

		if (rc != TSS2_RC_SUCCESS)
			return rc;
		n = poll(&p, 1, left < SLICE_MS ? (int)left : SLICE_MS);
		if (n > 0)
			return TSS2_RC_SUCCESS; /* errors and hang-ups show in the read or write */
		if (n < 0 && errno != EINTR)
			return TSS2_TCTI_RC_IO_ERROR;
	}
}

static TSS2_RC sock_connect(struct tcti_guard *g)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *p;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	TSS2_RC rc = TSS2_TCTI_RC_IO_ERROR;
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (g->path[0] == '\0' && getaddrinfo(g->host, g->port, &hints, &ai) != 0)
		return TSS2_TCTI_RC_IO_ERROR;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", g->path);
	for (p = ai; g->path[0] != '\0' || p != NULL; p = p->ai_next) {
		int fam = g->path[0] ? AF_UNIX : p->ai_family;
		const struct sockaddr *sa = g->path[0] ? (const struct sockaddr *)&un : p->ai_addr;
		socklen_t salen = g->path[0] ? sizeof(un) : p->ai_addrlen;

		g->sock = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (g->sock >= 0 && (connect(g->sock, sa, salen) == 0 || errno == EINPROGRESS) &&
		    (rc = wait_fd(g, g->sock, POLLOUT)) == TSS2_RC_SUCCESS &&
		    getsockopt(g->sock, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			break;
		if (rc == TSS2_RC_SUCCESS)
			rc = TSS2_TCTI_RC_IO_ERROR;
		sock_close(g);
		if (g->path[0] != '\0' || rc == GUARD_RC_ABORTED || rc == GUARD_RC_NO_ANSWER)
			break;
	}
	if (ai != NULL)
		freeaddrinfo(ai);
	if (g->sock < 0)
		return rc;
	if (g->path[0] == '\0')
		setsockopt(g->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return TSS2_RC_SUCCESS;
}

static TSS2_RC sock_write(struct tcti_guard *g, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		TSS2_RC rc = wait_fd(g, g->sock, POLLOUT);
		ssize_t n;

		if (rc != TSS2_RC_SUCCESS)
			return rc;
		n = send(g->sock, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return TSS2_TCTI_RC_IO_ERROR;
		buf += n;
		len -= (size_t)n;
	}
	return TSS2_RC_SUCCESS;
}

static TSS2_RC sock_read(struct tcti_guard *g, uint8_t *buf, size_t len)
{
	while (len > 0) {
		TSS2_RC rc = wait_fd(g, g->sock, POLLIN);
		ssize_t n;

		if (rc != TSS2_RC_SUCCESS)
			return rc;
		n = recv(g->sock, buf, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return TSS2_TCTI_RC_IO_ERROR; /* 0: the peer closed mid-response */
		buf += n;
		len -= (size_t)n;
	}
	return TSS2_RC_SUCCESS;
}

static TSS2_RC swtpm_transmit(struct tcti_guard *g, size_t size, const uint8_t *cmd)
{
	TSS2_RC rc;

	sock_close(g);
	rc = sock_connect(g);
	if (rc == TSS2_RC_SUCCESS)
		rc = sock_write(g, cmd, size);
	if (rc != TSS2_RC_SUCCESS)
		sock_close(g);
	return rc;
}

/* SAPI asks the size first (rsp NULL), then the response. A header whose size is not
 * that of a TPM response (size field 4, 0x7fffffff) ends the exchange. */
static TSS2_RC swtpm_receive(struct tcti_guard *g, size_t *size, uint8_t *rsp)
{
	TSS2_RC rc = TSS2_RC_SUCCESS;

	if (g->sock < 0)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	if (g->rsp_size == 0) {
		rc = sock_read(g, g->header, HEADER_LEN);
		if (rc == TSS2_RC_SUCCESS) {
			g->rsp_size = (size_t)g->header[2] << 24 | (size_t)g->header[3] << 16 |
				      (size_t)g->header[4] << 8 | g->header[5];
			if (g->rsp_size < HEADER_LEN || g->rsp_size > TPM2_MAX_COMMAND_SIZE)
				rc = TSS2_TCTI_RC_MALFORMED_RESPONSE;
		}
	}
	if (rc == TSS2_RC_SUCCESS && rsp == NULL) {
		*size = g->rsp_size;
		return TSS2_RC_SUCCESS;
	}
	if (rc == TSS2_RC_SUCCESS && *size < g->rsp_size)
		rc = TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	if (rc == TSS2_RC_SUCCESS) {
		memcpy(rsp, g->header, HEADER_LEN);
		rc = sock_read(g, rsp + HEADER_LEN, g->rsp_size - HEADER_LEN);
		*size = g->rsp_size;
	}
	sock_close(g);
	return rc;
}

/* ---- the TCTI functions ESAPI and SAPI call ---- */

static int is_create(const uint8_t *cmd, size_t size)
{
	uint32_t cc;

	if (size < HEADER_LEN)
		return 0;
	cc = (uint32_t)cmd[6] << 24 | (uint32_t)cmd[7] << 16 | (uint32_t)cmd[8] << 8 | cmd[9];
	return cc == TPM2_CC_Create || cc == TPM2_CC_CreatePrimary || cc == TPM2_CC_CreateLoaded;
}

static TSS2_RC guard_transmit(TSS2_TCTI_CONTEXT *c, size_t size, const uint8_t *cmd)
{
	struct tcti_guard *g = guard_of(c);
	TSS2_RC rc;

	if (g == NULL)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (atomic_load(&g->aborted))
		return GUARD_RC_ABORTED;
	if (!g->own_swtpm && g->inner == NULL)
		return TSS2_TCTI_RC_NO_CONNECTION;
	g->cur_ms = is_create(cmd, size) ? g->create_ms : g->cmd_ms;
	if (g->probing && g->cur_ms > GUARD_PROBE_MS)
		g->cur_ms = GUARD_PROBE_MS;
	clock_gettime(CLOCK_MONOTONIC, &g->start);
	g->dirty = 1;
	rc = g->own_swtpm ? swtpm_transmit(g, size, cmd) : Tss2_Tcti_Transmit(g->inner, size, cmd);
	if (rc == TSS2_RC_SUCCESS)
		g->sent++;
	return rc;
}

static TSS2_RC guard_receive(TSS2_TCTI_CONTEXT *c, size_t *size, uint8_t *rsp, int32_t timeout)
{
	struct tcti_guard *g = guard_of(c);
	TSS2_RC rc;

	(void)timeout; /* the guard's deadline stands for whatever the caller asked */
	if (g == NULL || size == NULL)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (g->own_swtpm) {
		rc = swtpm_receive(g, size, rsp);
	} else if (g->inner == NULL) {
		rc = TSS2_TCTI_RC_NO_CONNECTION;
	} else {
		do {
			long left = ms_left(g);

			if ((rc = stop_reason(g)) != TSS2_RC_SUCCESS)
				break;
			rc = Tss2_Tcti_Receive(g->inner, size, rsp,
					       left < SLICE_MS ? (int32_t)left : SLICE_MS);
		} while (rc == TSS2_TCTI_RC_TRY_AGAIN);
	}
	if (rc == TSS2_RC_SUCCESS && rsp != NULL)
		g->dirty = g->missed = 0;
	return rc;
}

static void guard_finalize(TSS2_TCTI_CONTEXT *c)
{
	(void)c; /* tcti_guard_free does it: ESAPI never finalizes a TCTI it was given */
}

static TSS2_RC guard_cancel(TSS2_TCTI_CONTEXT *c)
{
	(void)c;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC guard_poll_handles(TSS2_TCTI_CONTEXT *c, TSS2_TCTI_POLL_HANDLE *h, size_t *n)
{
	(void)c; (void)h; (void)n;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC guard_set_locality(TSS2_TCTI_CONTEXT *c, uint8_t locality)
{
	struct tcti_guard *g = guard_of(c);

	if (g == NULL || g->inner == NULL)
		return TSS2_TCTI_RC_NOT_IMPLEMENTED;
	return Tss2_Tcti_SetLocality(g->inner, locality);
}

static TSS2_RC guard_make_sticky(TSS2_TCTI_CONTEXT *c, TPM2_HANDLE *h, uint8_t sticky)
{
	(void)c; (void)h; (void)sticky;
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

/* ---- configuration ---- */

/* "swtpm[:host=H,port=P | :path=P]"; 0 if conf names no swtpm, -1 if it is malformed. */
static int parse_swtpm(struct tcti_guard *g, const char *conf)
{
	const char *p;

	if (strncmp(conf, "swtpm", 5) != 0 || (conf[5] != '\0' && conf[5] != ':'))
		return 0;
	snprintf(g->host, sizeof(g->host), "localhost");
	snprintf(g->port, sizeof(g->port), "%d", SWTPM_PORT_DEFAULT);
	for (p = conf[5] ? conf + 6 : conf + 5; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		size_t klen = eq ? (size_t)(eq - p) : 0, vlen = eq ? n - klen - 1 : 0;
		char *dst = NULL;
		size_t cap = 0;

		if (eq != NULL && klen == 4 && strncmp(p, "host", 4) == 0)
			dst = g->host, cap = sizeof(g->host);
		else if (eq != NULL && klen == 4 && strncmp(p, "port", 4) == 0)
			dst = g->port, cap = sizeof(g->port);
		else if (eq != NULL && klen == 4 && strncmp(p, "path", 4) == 0)
			dst = g->path, cap = sizeof(g->path);
		if (dst == NULL || vlen == 0 || vlen >= cap)
			return -1;
		memcpy(dst, eq + 1, vlen);
		dst[vlen] = '\0';
		p += n + (p[n] == ',');
	}
	return 1;
}

struct tcti_guard *tcti_guard_new(const char *conf)
{
	struct tcti_guard *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->v2.v1.magic = GUARD_MAGIC;
	g->v2.v1.version = 2;
	g->v2.v1.transmit = guard_transmit;
	g->v2.v1.receive = guard_receive;
	g->v2.v1.finalize = guard_finalize;
	g->v2.v1.cancel = guard_cancel;
	g->v2.v1.getPollHandles = guard_poll_handles;
	g->v2.v1.setLocality = guard_set_locality;
	g->v2.makeSticky = guard_make_sticky;
	g->sock = -1;
	g->lock_fd = -1;
	g->cmd_ms = GUARD_TIMEOUT_DEFAULT_S * 1000u;
	g->create_ms = GUARD_CREATE_TIMEOUT_DEFAULT_S * 1000u;
	g->cur_ms = g->cmd_ms;
	snprintf(g->conf, sizeof(g->conf), "%s", conf);
	atomic_init(&g->aborted, 0);
	return g;
}

TSS2_RC tcti_guard_connect(struct tcti_guard *g)
{
	int sw;

	tcti_guard_disconnect(g);
	if (atomic_load(&g->aborted))
		return GUARD_RC_ABORTED;
	sw = parse_swtpm(g, g->conf);
	if (sw < 0)
		return TSS2_TCTI_RC_BAD_VALUE;
	g->own_swtpm = sw;
	if (!sw)
		return Tss2_TctiLdr_Initialize(g->conf, &g->inner);
	return TSS2_RC_SUCCESS;
}

void tcti_guard_disconnect(struct tcti_guard *g)
{
	sock_close(g);
	if (g->inner != NULL)
		Tss2_TctiLdr_Finalize(&g->inner);
	g->inner = NULL;
	g->dirty = 0;
}

void tcti_guard_free(struct tcti_guard *g)
{
	if (g == NULL)
		return;
	tcti_guard_disconnect(g);
	if (g->lock_fd >= 0)
		close(g->lock_fd);
	free(g);
}

TSS2_TCTI_CONTEXT *tcti_guard_tcti(struct tcti_guard *g)
{
	return (TSS2_TCTI_CONTEXT *)&g->v2;
}

void tcti_guard_set_deadlines(struct tcti_guard *g, unsigned cmd_s, unsigned create_s)
{
	if (cmd_s > 0)
		g->cmd_ms = cmd_s * 1000u;
	if (create_s > 0)
		g->create_ms = create_s * 1000u;
}

unsigned tcti_guard_deadline_s(const struct tcti_guard *g)
{
	return g->cur_ms / 1000u;
}

void tcti_guard_abort(struct tcti_guard *g)
{
	if (g != NULL)
		atomic_store(&g->aborted, 1);
}

int tcti_guard_aborted(const struct tcti_guard *g)
{
	return atomic_load(&((struct tcti_guard *)g)->aborted);
}

int tcti_guard_missed(const struct tcti_guard *g, unsigned *deadline_s)
{
	if (deadline_s != NULL)
		*deadline_s = g->missed_s;
	return g->missed;
}

void tcti_guard_probe(struct tcti_guard *g, int on)
{
	g->probing = on;
}

int tcti_guard_dirty(const struct tcti_guard *g)
{
	return g->dirty;
}

uint64_t tcti_guard_sent(const struct tcti_guard *g)
{
	return g->sent;
}

int tcti_guard_lock(struct tcti_guard *g, long *holder)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char path[4096], pid[32];
	uint32_t h = 2166136261u;
	ssize_t n;
	int fd;

	*holder = 0;
	if (g->lock_fd >= 0)
		return 0;
	for (const char *c = g->conf; *c != '\0'; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/tpm-agent-tpm-%08x.lock", dir, h) >= (int)sizeof(path))
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		*holder = strtol(pid, NULL, 10);
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		(void)0; /* the pid is only for the message of the next agent */
	g->lock_fd = fd;
	return 0;
}

int tcti_guard_locked(const struct tcti_guard *g)
{
	return g->lock_fd >= 0;
}

int tcti_guard_raw_tpm(const struct tcti_guard *g)
{
	const char *c = g->conf;

	if (strncmp(c, "swtpm", 5) == 0 || strncmp(c, "mssim", 5) == 0 ||
	    strncmp(c, "libtpms", 7) == 0)
		return 1;
	/* device:/dev/tpm0 talks to the TPM itself; /dev/tpmrm0 is the kernel's manager. */
	return strncmp(c, "device:", 7) == 0 && strncmp(c + 7, "/dev/tpm", 8) == 0 &&
	       c[15] >= '0' && c[15] <= '9';
}
