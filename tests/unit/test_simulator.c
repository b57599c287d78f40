/* test_simulator: keystore/simulator.c starts and stops its own swtpm in a temp dir;
 * also the tpm.c paths that need a TPM we may kill or fill (lost connection, bad SRK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../keystore/simulator.h"
#include "../../keystore/tpm.h"

struct fixture {
	char dir[64];          /* mkdtemp */
	char statedir[128];    /* dir/a/state: start must make the parents */
	struct simulator sim;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s/tpm-agent-sim.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (strlen(f->dir) > 40 || mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->statedir, sizeof(f->statedir), "%s/a/state", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	simulator_stop(&f->sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void start(struct fixture *f)
{
	struct errmsg e = { "" };

	if (simulator_start(f->statedir, &f->sim, &e) != 0)
		fail_msg("simulator_start: %s", e.text);
}

static struct tpm *open_on(const char *tcti, uint32_t srk)
{
	struct tpm_options o = { .tcti = tcti, .srk_handle = srk };
	struct errmsg e = { "" };
	struct tpm *t = NULL;

	if (tpm_open(&o, &t, &e) != 0)
		fail_msg("tpm_open(%s): %s", tcti, e.text);
	return t;
}

static int sign_once(struct tpm *t, struct tpm_key *k, struct errmsg *e)
{
	struct tpm_signature sig;
	uint8_t d[32] = { 7 };

	return tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, d, 32, &sig, e);
}

static void test_start_stop_restart(void **state)
{
	struct fixture *f = *state;
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct stat st;
	struct tpm *t;
	pid_t pid;

	start(f);
	assert_int_equal(stat(f->statedir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_non_null(strstr(f->sim.tcti, "swtpm:host=127.0.0.1,port="));
	t = open_on(f->sim.tcti, TPM_SRK_HANDLE_DEFAULT);
	assert_int_equal(tpm_create_key(t, SSHKEY_ECDSA_P256, 256, NULL, 0, k, &pub, &e), 0);
	assert_int_equal(sign_once(t, k, &e), 0);
	tpm_close(t);
	k->state.handle = 0;

	pid = f->sim.pid;
	simulator_stop(&f->sim);
	assert_int_equal(f->sim.pid, 0);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);

	/* Same state dir: the persistent SRK survives, so the key still loads. */
	start(f);
	t = open_on(f->sim.tcti, TPM_SRK_HANDLE_DEFAULT);
	if (sign_once(t, k, &e) != 0)
		fail_msg("sign after restart: %s", e.text);
	tpm_close(t);
	free(k);
}

static void test_connection_lost(void **state)
{
	struct fixture *f = *state;
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct tpm *t;

	start(f);
	t = open_on(f->sim.tcti, TPM_SRK_HANDLE_DEFAULT);
	assert_int_equal(tpm_create_key(t, SSHKEY_ECDSA_P256, 0, NULL, 0, k, &pub, &e), 0);
	assert_int_equal(sign_once(t, k, &e), 0);
	simulator_stop(&f->sim);
	assert_int_equal(sign_once(t, k, &e), TPM_E_CONN);
	print_message("lost TPM: %s\n", e.text);
	tpm_close(t); /* must neither hang nor crash */
	free(k);
}

static void test_unreachable_and_bad_handle(void **state)
{
	struct fixture *f = *state;
	struct tpm_options o = { .srk_handle = TPM_SRK_HANDLE_DEFAULT };
	struct errmsg e = { "" };
	struct tpm *t = NULL;
	char tcti[64];

	start(f);
	/* A port swtpm just left: nothing listens there any more. */
	simulator_stop(&f->sim);
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", f->sim.port);
	o.tcti = tcti;
	assert_int_not_equal(tpm_open(&o, &t, &e), 0);
	assert_null(t);
	print_message("unreachable: %s\n", e.text);
	assert_non_null(strstr(e.text, "try --simulator"));

	o.srk_handle = 0x40000001;
	assert_int_not_equal(tpm_open(&o, &t, &e), 0);
	assert_non_null(strstr(e.text, "not a persistent handle"));
}

/* A signing key persisted where the SRK should be (made with tpm2-tools). */
static void test_srk_handle_taken(void **state)
{
	struct fixture *f = *state;
	struct tpm_options o = { .srk_handle = 0x81000010 };
	struct errmsg e = { "" };
	struct tpm *t = NULL;
	char cmd[1024];

	if (system("command -v tpm2_evictcontrol >/dev/null 2>&1") != 0) {
		print_message("tpm2-tools missing: skipped\n");
		skip();
	}
	start(f);
	snprintf(cmd, sizeof(cmd),
		 "export TPM2TOOLS_TCTI='%s'; cd '%s' && "
		 "tpm2_createprimary -Q -C o -G ecc -a 'fixedtpm|fixedparent|sensitivedataorigin|"
		 "userwithauth|sign' -c p.ctx && tpm2_evictcontrol -Q -C o -c p.ctx 0x81000010",
		 f->sim.tcti, f->dir);
	assert_int_equal(system(cmd), 0);
	o.tcti = f->sim.tcti;
	assert_int_not_equal(tpm_open(&o, &t, &e), 0);
	print_message("taken: %s\n", e.text);
	assert_non_null(strstr(e.text, "0x81000010"));
	assert_non_null(strstr(e.text, "not a storage key"));
}

/* One signature with a PIN key, then a stop of the simulator with or without
 * tpm_set_orderly_shutdown; the DA counter the TPM reports after the restart. */
static uint32_t counter_after_stop(struct fixture *f, int orderly)
{
	static const uint8_t pin[] = "2468";
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct tpm_signature sig;
	struct sshkey_pub pub;
	struct errmsg e = { "" };
	struct tpm_da da;
	uint8_t d[32] = { 7 };
	struct tpm *t;

	start(f);
	t = open_on(f->sim.tcti, TPM_SRK_HANDLE_DEFAULT);
	assert_int_equal(tpm_create_key(t, SSHKEY_ECDSA_P256, 256, pin, 4, k, &pub, &e), 0);
	if (tpm_sign(t, k, pin, 4, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, d, 32, &sig, &e) != 0)
		fail_msg("sign with the PIN: %s", e.text);
	if (orderly)
		tpm_set_orderly_shutdown(t);
	tpm_close(t);
	simulator_stop(&f->sim);
	start(f);
	t = open_on(f->sim.tcti, TPM_SRK_HANDLE_DEFAULT);
	assert_int_equal(tpm_da_state(t, &da, &e), 0);
	tpm_close(t);
	simulator_stop(&f->sim);
	free(k);
	return da.counter;
}

/* REFERENCE §8: a TPM stopped without TPM2_Shutdown after a DA-protected authorization
 * counts a failure at the next Startup; tpm_set_orderly_shutdown prevents that. */
static void test_orderly_shutdown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(counter_after_stop(f, 1), 0);
	assert_int_equal(counter_after_stop(f, 1), 0);
	/* and the test can tell: without it the counter moves */
	assert_int_equal(counter_after_stop(f, 0), 1);
}

static void test_swtpm_missing(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");

	setenv("PATH", "/nonexistent", 1);
	assert_int_not_equal(simulator_start(f->statedir, &f->sim, &e), 0);
	setenv("PATH", path, 1);
	free(path);
	assert_int_equal(f->sim.pid, 0);
	assert_non_null(strstr(e.text, "apt-get install swtpm"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_stop_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_and_bad_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srk_handle_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orderly_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swtpm_missing, setup, teardown),
	};

	return cmocka_run_group_tests_name("simulator", tests, NULL, NULL);
}
