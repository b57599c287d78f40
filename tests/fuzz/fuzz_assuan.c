/* fuzz_assuan: libFuzzer harness for the gpg-agent side: the input is a client's whole Assuan byte stream (command lines, escapes, SETHASH hex, INQUIRE answers), served by the agent's own connection code and command handlers over a TPM-less key store. */
/* The connection code is static in daemon_gpg.c: it is compiled in here so that the
 * harness runs exactly serve() with its read hook and line monitor. */
#include "../../agent/daemon_gpg.c"

#include <fcntl.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include "fixture.h"

struct feeder {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* The client: writes the input, half-closes, and reads every reply until the agent
 * closes, without ever blocking one direction on the other. */
static void *client(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;
	char buf[4096];
	int wr_open = 1;

	if (f->size == 0) {
		shutdown(f->fd, SHUT_WR);
		wr_open = 0;
	}
	for (;;) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN | (wr_open ? POLLOUT : 0) };

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (wr_open && (p.revents & POLLOUT)) {
			ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0)
				off += (size_t)n;
			if ((n < 0 && errno != EAGAIN) || off == f->size) {
				shutdown(f->fd, SHUT_WR);
				wr_open = 0;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fixture_init("fuzz_assuan");
	if (assuan_check_version(NULL) == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent a;
	struct gpg_session *s;
	struct feeder f;
	pthread_t th;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	fixture_open(&a);
	gs.a = &a;
	gs.stopping = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->a = &a;
	s->fd = sv[1];
	s->pid = 4242;
	s->inquire_timeout_ms = 2000;
	f.fd = sv[0];
	f.data = data;
	f.size = size;
	if (pthread_create(&th, NULL, client, &f) != 0)
		abort();
	/* What conn_thread does, in this thread. serve() closes sv[1]. */
	serve(s);
	gpg_session_reset(s);
	free(s);
	pthread_join(th, NULL);
	close(sv[0]);
	fixture_close(&a);
	ERR_clear_error();
	return 0;
}
