/* test_tcti_guard: keystore/tcti_guard.c against a fake swtpm on a loopback socket that
 * answers well, badly or never: the deadline, tpm_abort's path from another thread,
 * malformed headers, and which TCTIs count as a TPM without a resource manager. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../keystore/tcti_guard.h"

enum reply { REPLY_OK, REPLY_NEVER, REPLY_SIZE4, REPLY_CLOSE };

struct fake {
	int listen_fd, port;
	enum reply reply;
	pthread_t thread;
	int stop_pipe[2];
};

/* One connection: reads a command, answers per f->reply; REPLY_NEVER waits for stop. */
static void *serve(void *arg)
{
	struct fake *f = arg;
	uint8_t cmd[4096], ok[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0 };
	uint8_t size4[10] = { 0x80, 0x01, 0, 0, 0, 4, 0, 0, 0, 0 };
	char c;
	int fd = accept(f->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (read(fd, cmd, sizeof(cmd)) > 0) {
		if (f->reply == REPLY_OK && write(fd, ok, sizeof(ok)) != sizeof(ok))
			c = 0;
		if (f->reply == REPLY_SIZE4 && write(fd, size4, sizeof(size4)) != sizeof(size4))
			c = 0;
		if (f->reply == REPLY_NEVER && read(f->stop_pipe[0], &c, 1) < 0)
			c = 0;
	}
	(void)c;
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, enum reply reply)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	f->reply = reply;
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pipe(f->stop_pipe), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	if (write(f->stop_pipe[1], "x", 1) != 1)
		fail_msg("stop pipe");
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
}

static struct tcti_guard *guard_for(const struct fake *f)
{
	char conf[64];
	struct tcti_guard *g;

	snprintf(conf, sizeof(conf), "swtpm:host=127.0.0.1,port=%d", f->port);
	g = tcti_guard_new(conf);
	assert_non_null(g);
	assert_int_equal(tcti_guard_connect(g), TSS2_RC_SUCCESS);
	return g;
}

/* GetRandom(8): a well-formed command. */
static const uint8_t get_random[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8 };

/* Transmits, then receives as SAPI does (size, then the response). */
static TSS2_RC exchange(struct tcti_guard *g, uint8_t *rsp, size_t *len)
{
	TSS2_TCTI_CONTEXT *c = tcti_guard_tcti(g);
	TSS2_RC rc = Tss2_Tcti_Transmit(c, sizeof(get_random), get_random);

	*len = 0;
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Tcti_Receive(c, len, NULL, TSS2_TCTI_TIMEOUT_BLOCK);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Tcti_Receive(c, len, rsp, TSS2_TCTI_TIMEOUT_BLOCK);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_answer(void **state)
{
	struct fake f;
	struct tcti_guard *g;
	uint8_t rsp[4096];
	size_t len = sizeof(rsp);

	(void)state;
	fake_start(&f, REPLY_OK);
	g = guard_for(&f);
	assert_int_equal(exchange(g, rsp, &len), TSS2_RC_SUCCESS);
	assert_int_equal(len, 10);
	assert_int_equal(tcti_guard_dirty(g), 0);
	assert_int_equal(tcti_guard_sent(g), 1);
	tcti_guard_free(g);
	fake_stop(&f);
}

static void test_deadline(void **state)
{
	struct fake f;
	struct tcti_guard *g;
	uint8_t rsp[4096];
	size_t len = sizeof(rsp);
	double t0;

	(void)state;
	fake_start(&f, REPLY_NEVER);
	g = guard_for(&f);
	tcti_guard_set_deadlines(g, 1, 0);
	t0 = now_s();
	assert_int_equal(exchange(g, rsp, &len), GUARD_RC_NO_ANSWER);
	assert_true(now_s() - t0 >= 0.9 && now_s() - t0 < 3.0);
	assert_int_equal(tcti_guard_last_miss_s(), 1);
	assert_int_equal(tcti_guard_dirty(g), 1);
	tcti_guard_free(g);
	fake_stop(&f);
}

static void *abort_later(void *arg)
{
	struct timespec ts = { 0, 200 * 1000000L };

	nanosleep(&ts, NULL);
	tcti_guard_abort(arg);
	return NULL;
}

static void test_abort_from_another_thread(void **state)
{
	struct fake f;
	struct tcti_guard *g;
	uint8_t rsp[4096];
	size_t len = sizeof(rsp);
	pthread_t th;
	double t0;

	(void)state;
	fake_start(&f, REPLY_NEVER);
	g = guard_for(&f); /* deadline 30 s: only the abort can end it soon */
	t0 = now_s();
	assert_int_equal(pthread_create(&th, NULL, abort_later, g), 0);
	assert_int_equal(exchange(g, rsp, &len), GUARD_RC_ABORTED);
	assert_true(now_s() - t0 < 1.0);
	pthread_join(th, NULL);
	assert_true(tcti_guard_aborted(g));
	/* Nothing more goes out, and no reconnect undoes it. */
	assert_int_equal(Tss2_Tcti_Transmit(tcti_guard_tcti(g), sizeof(get_random), get_random),
			 GUARD_RC_ABORTED);
	assert_int_equal(tcti_guard_connect(g), GUARD_RC_ABORTED);
	tcti_guard_free(g);
	fake_stop(&f);
}

static void test_malformed_and_closed(void **state)
{
	struct fake f;
	struct tcti_guard *g;
	uint8_t rsp[4096];
	size_t len = sizeof(rsp);

	(void)state;
	fake_start(&f, REPLY_SIZE4);
	g = guard_for(&f);
	assert_int_equal(exchange(g, rsp, &len), TSS2_TCTI_RC_MALFORMED_RESPONSE);
	assert_int_equal(tcti_guard_dirty(g), 1);
	tcti_guard_free(g);
	fake_stop(&f);

	fake_start(&f, REPLY_CLOSE);
	g = guard_for(&f);
	len = sizeof(rsp);
	assert_int_equal(exchange(g, rsp, &len), TSS2_TCTI_RC_IO_ERROR);
	assert_int_equal(tcti_guard_dirty(g), 1);
	tcti_guard_free(g);
	fake_stop(&f);
}

static void test_raw_tpm(void **state)
{
	static const struct { const char *conf; int raw; } cases[] = {
		{ "swtpm:host=127.0.0.1,port=2321", 1 }, { "mssim", 1 },
		{ "device:/dev/tpm0", 1 }, { "device:/dev/tpmrm0", 0 }, { "device", 0 },
		{ "tabrmd:bus_type=session", 0 }, { "cmd:foo", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tcti_guard *g = tcti_guard_new(cases[i].conf);

		assert_non_null(g);
		assert_int_equal(tcti_guard_raw_tpm(g), cases[i].raw);
		tcti_guard_free(g);
	}
}

static void test_bad_swtpm_conf(void **state)
{
	struct tcti_guard *g = tcti_guard_new("swtpm:hots=1");

	(void)state;
	assert_int_equal(tcti_guard_connect(g), TSS2_TCTI_RC_BAD_VALUE);
	tcti_guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_abort_from_another_thread),
		cmocka_unit_test(test_malformed_and_closed),
		cmocka_unit_test(test_raw_tpm),
		cmocka_unit_test(test_bad_swtpm_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
