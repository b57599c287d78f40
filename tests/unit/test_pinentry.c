/* test_pinentry: the pinentry client against tests/pinentry/fake-pinentry, a scripted
 * pinentry speaking real Assuan: PINs, escaping, env, cancel/crash/hang, confirm, repeat. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../pinentry/pinentry.h"

static char fake[PATH_MAX];     /* absolute path of the fake pinentry */
static char fake_dir[PATH_MAX];
static char tmpdir[PATH_MAX];
static char log_path[PATH_MAX + 16];
static char pins_path[PATH_MAX + 16];
static char logbuf[65536];

static const char *const fake_vars[] = {
	"FAKE_PINENTRY_PIN", "FAKE_PINENTRY_PINS", "FAKE_PINENTRY_CONFIRM",
	"FAKE_PINENTRY_MODE", "FAKE_PINENTRY_REPEAT", "FAKE_PINENTRY_LOG",
};

/* The fake lives at <repo>/tests/pinentry, this binary at <repo>/build/tests;
 * $TEST_FAKE_PINENTRY overrides. Returns 0 when found. */
static int locate_fake(void)
{
	const char *override = getenv("TEST_FAKE_PINENTRY");
	char exe[PATH_MAX];
	ssize_t n;
	int up;

	if (override != NULL) {
		snprintf(fake, sizeof(fake), "%s", override);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		for (up = 0; up < 3 && strrchr(exe, '/') != NULL; up++)
			*strrchr(exe, '/') = '\0';
		snprintf(fake, sizeof(fake), "%.*s/tests/pinentry/fake-pinentry",
			 PATH_MAX - 64, exe);
	}
	snprintf(fake_dir, sizeof(fake_dir), "%s", fake);
	*strrchr(fake_dir, '/') = '\0';
	if (access(fake, X_OK) != 0) {
		fprintf(stderr, "test_pinentry: %s is not executable\n", fake);
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_pinentry.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	snprintf(pins_path, sizeof(pins_path), "%s/pins", tmpdir);
	setenv("FAKE_PINENTRY_LOG", log_path, 1);
	return 0;
}

/* Every dialogue must have reaped its pinentry: no child may be left, zombie or not. */
static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];
	size_t i;
	int status;
	pid_t r;

	(void)state;
	r = waitpid(-1, &status, WNOHANG);
	for (i = 0; i < sizeof(fake_vars) / sizeof(fake_vars[0]); i++)
		unsetenv(fake_vars[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	if (!(r == -1 && errno == ECHILD)) {
		fprintf(stderr, "a pinentry child was left behind (waitpid -> %d)\n", (int)r);
		return -1;
	}
	return 0;
}

/* The fake's log with a leading newline, so "\nLINE\n" finds whole lines. */
static const char *read_log(void)
{
	FILE *f = fopen(log_path, "r");
	size_t n = 0;

	logbuf[0] = '\n';
	if (f != NULL) {
		n = fread(logbuf + 1, 1, sizeof(logbuf) - 2, f);
		fclose(f);
	}
	logbuf[n + 1] = '\0';
	return logbuf;
}

static int log_has_line(const char *line)
{
	char needle[1100];

	snprintf(needle, sizeof(needle), "\n%s\n", line);
	return strstr(read_log(), needle) != NULL;
}

static int log_count(const char *prefix)
{
	char needle[256];
	const char *p = read_log();
	int n = 0;

	snprintf(needle, sizeof(needle), "\n%s", prefix);
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p++;
	}
	return n;
}

static void write_pins(const char *content)
{
	FILE *f = fopen(pins_path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	setenv("FAKE_PINENTRY_PINS", pins_path, 1);
}

static const struct pinentry_prompt basic_prompt = {
	.title = "tpm-agent", .desc = "Enter the PIN", .prompt = "PIN:", .timeout_s = 10,
};

/* Runs GETPIN against the fake and checks the PIN that comes back. */
static void expect_pin(const struct pinentry_prompt *p, const char *want)
{
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len = 0;
	int rc = pinentry_getpin(fake, NULL, p, &pin, &len, &e);

	if (rc != PINENTRY_OK)
		fail_msg("getpin: %d %s", rc, e.text);
	assert_non_null(pin);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(pin, want, len);
	assert_int_equal(pin[len], '\0');
	sodium_free(pin);
}

static int expect_getpin_error(const struct pinentry_prompt *p, const char *program,
			       int want_rc, struct errmsg *e)
{
	char *pin = (char *)1;
	size_t len = 99;
	int rc = pinentry_getpin(program, NULL, p, &pin, &len, e);

	if (rc != want_rc)
		fail_msg("getpin returned %d, not %d: %s", rc, want_rc, e->text);
	assert_null(pin);
	assert_int_equal(len, 0);
	return rc;
}

/* A notice stays up (SETDESC, MESSAGE) until taken down, then its child is reaped
 * (teardown checks); a missing program gives NULL and a reason. */
static void test_notice(void **state)
{
	struct pinentry_prompt p = { .title = "t", .desc = "touch it" };
	struct pinentry_notice *n;
	struct errmsg e;

	(void)state;
	n = pinentry_notice_start(fake, NULL, &p, &e);
	assert_non_null(n);
	for (int i = 0; i < 500 && !log_has_line("MESSAGE"); i++) /* the fake reads it */
		usleep(10000);
	assert_true(log_has_line("SETDESC touch it"));
	assert_true(log_has_line("MESSAGE"));
	pinentry_notice_end(n);
	pinentry_notice_end(NULL);
	assert_null(pinentry_notice_start("/nonexistent/pinentry", NULL, &p, &e));
	assert_non_null(strstr(e.text, "not found"));
}

static void test_right_pin(void **state)
{
	(void)state;
	setenv("FAKE_PINENTRY_PIN", "12 34%5 6", 1);
	expect_pin(&basic_prompt, "12 34%5 6");
	assert_true(log_has_line("GETPIN"));
	assert_true(log_has_line("BYE"));
}

static void test_pin_with_cr_lf(void **state)
{
	(void)state;
	setenv("FAKE_PINENTRY_PIN", "a%b\nc d\r%0A", 1);
	expect_pin(&basic_prompt, "a%b\nc d\r%0A");
}

static void test_empty_pin(void **state)
{
	(void)state;
	setenv("FAKE_PINENTRY_PIN", "", 1);
	expect_pin(&basic_prompt, "");
}

static void test_pin_too_long(void **state)
{
	char big[PINENTRY_PIN_MAX + 2];
	struct errmsg e = { "" };

	(void)state;
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("FAKE_PINENTRY_PIN", big, 1);
	expect_getpin_error(&basic_prompt, fake, PINENTRY_E_FAIL, &e);
	assert_non_null(strstr(e.text, "longer than"));
}

static void test_successive_pins_from_file(void **state)
{
	(void)state;
	write_pins("first\nsecond pin\n");
	expect_pin(&basic_prompt, "first");
	expect_pin(&basic_prompt, "second pin");
}

static void test_texts_escaped(void **state)
{
	struct pinentry_prompt p = {
		.title = "tpm-agent: 100%", .desc = "Key \"id\"\r\nline 2\tend %",
		.prompt = "PIN:", .error = "Wrong PIN (2 tries left)",
		.keyinfo = "s/0123ABCD", .timeout_s = 10,
	};

	(void)state;
	expect_pin(&p, "1234");
	assert_true(log_has_line("SETTITLE tpm-agent: 100%25"));
	assert_true(log_has_line("SETDESC Key \"id\"%0D%0Aline 2%09end %25"));
	assert_true(log_has_line("SETPROMPT PIN:"));
	assert_true(log_has_line("SETERROR Wrong PIN (2 tries left)"));
	assert_true(log_has_line("SETKEYINFO s/0123ABCD"));
	assert_true(log_has_line("SETTIMEOUT 8"));
	assert_int_equal(log_count("OPTION allow-external-password-cache"), 0);
}

static void test_escape_bounds(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(pinentry_escape(out, sizeof(out), "a%\x01\x7f\xc3\xa9"), 12);
	assert_string_equal(out, "a%25%01%7F\xc3\xa9");
	/* no room for a whole escape or a whole UTF-8 character: stop before it */
	assert_int_equal(pinentry_escape(out, 4, "ab%"), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(pinentry_escape(out, 3, "a\xc3\xa9"), 1);
	assert_string_equal(out, "a");
}

static void test_long_desc_fits_a_line(void **state)
{
	struct pinentry_prompt p = basic_prompt;
	char desc[3000];

	(void)state;
	memset(desc, '%', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	p.desc = desc;
	expect_pin(&p, "1234");
	assert_int_equal(log_count("SETDESC %25%25"), 1);
}

static void test_env_passed(void **state)
{
	struct pinentry_env env = {
		.ttyname = "/dev/pts/77", .ttytype = "xterm-test", .display = ":42",
		.lc_ctype = "C.UTF-8", .xauthority = "",
	};
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len;

	(void)state;
	setenv("XAUTHORITY", "/agent/xauth", 1);
	setenv("LC_MESSAGES", "agent-value", 1);
	assert_int_equal(pinentry_getpin(fake, &env, &basic_prompt, &pin, &len, &e), PINENTRY_OK);
	sodium_free(pin);
	unsetenv("XAUTHORITY");
	unsetenv("LC_MESSAGES");
	assert_true(log_has_line("ENV GPG_TTY=/dev/pts/77"));
	assert_true(log_has_line("ENV TERM=xterm-test"));
	assert_true(log_has_line("ENV DISPLAY=:42"));
	assert_true(log_has_line("ENV LC_CTYPE=C.UTF-8"));
	assert_true(log_has_line("ENV LC_MESSAGES=agent-value")); /* NULL: inherited */
	assert_int_equal(log_count("ENV XAUTHORITY"), 0);         /* "": removed */
	assert_true(log_has_line("OPTION ttyname=/dev/pts/77"));
	assert_true(log_has_line("OPTION ttytype=xterm-test"));
	assert_true(log_has_line("OPTION lc-ctype=C.UTF-8"));
	assert_int_equal(log_count("OPTION lc-messages"), 0);
}

static void test_program_found_in_path(void **state)
{
	char *old = getenv("PATH"), saved[4096], path[PATH_MAX + 4200];
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len;
	int rc;

	(void)state;
	snprintf(saved, sizeof(saved), "%s", old ? old : "/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s:%s", fake_dir, saved);
	setenv("PATH", path, 1);
	rc = pinentry_getpin("fake-pinentry", NULL, &basic_prompt, &pin, &len, &e);
	setenv("PATH", saved, 1);
	assert_int_equal(rc, PINENTRY_OK);
	assert_string_equal(pin, "1234");
	sodium_free(pin);
}

static void test_cancel(void **state)
{
	struct errmsg e = { "" };

	(void)state;
	setenv("FAKE_PINENTRY_MODE", "cancel", 1);
	expect_getpin_error(&basic_prompt, fake, PINENTRY_E_CANCELED, &e);
	assert_string_equal(e.text, "cancelled by the user");
}

static void test_crash(void **state)
{
	struct errmsg e = { "" };

	(void)state;
	setenv("FAKE_PINENTRY_MODE", "crash", 1);
	expect_getpin_error(&basic_prompt, fake, PINENTRY_E_FAIL, &e);
	assert_non_null(strstr(e.text, "fake-pinentry"));
	assert_non_null(strstr(e.text, "exit status 3"));
	assert_non_null(strstr(e.text, "GETPIN"));
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void expect_timeout(const char *mode)
{
	struct pinentry_prompt p = basic_prompt;
	struct errmsg e = { "" };
	struct timespec t0;
	double took;

	setenv("FAKE_PINENTRY_MODE", mode, 1);
	p.timeout_s = 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_getpin_error(&p, fake, PINENTRY_E_TIMEOUT, &e);
	took = seconds_since(&t0);
	assert_true(took >= 1.9);
	assert_true(took < 3.5);
	assert_non_null(strstr(e.text, "did not answer within 2 s"));
}

static void test_hang_times_out(void **state)
{
	(void)state;
	expect_timeout("hang");
}

static void test_silent_at_startup_times_out(void **state)
{
	(void)state;
	expect_timeout("mute");
}

static void test_missing_program(void **state)
{
	struct errmsg e = { "" };

	(void)state;
	expect_getpin_error(&basic_prompt, "no-such-pinentry-xyz", PINENTRY_E_FAIL, &e);
	assert_non_null(strstr(e.text, "\"no-such-pinentry-xyz\""));
	assert_non_null(strstr(e.text, "apt-get install pinentry-curses"));
	assert_non_null(strstr(e.text, "--pinentry"));
	expect_getpin_error(&basic_prompt, "/nonexistent/pinentry", PINENTRY_E_FAIL, &e);
	assert_non_null(strstr(e.text, "/nonexistent/pinentry"));
}

static const struct pinentry_prompt confirm_prompt = {
	.desc = "Allow a signature?", .ok = "Allow", .notok = "Deny", .timeout_s = 10,
};

static void test_confirm_ok(void **state)
{
	struct errmsg e = { "" };

	(void)state;
	assert_int_equal(pinentry_confirm(fake, NULL, &confirm_prompt, &e), PINENTRY_OK);
	assert_true(log_has_line("SETDESC Allow a signature?"));
	assert_true(log_has_line("SETOK Allow"));
	assert_true(log_has_line("SETNOTOK Deny"));
	assert_true(log_has_line("CONFIRM"));
}

static void test_confirm_refused(void **state)
{
	struct errmsg e = { "" };

	(void)state;
	setenv("FAKE_PINENTRY_CONFIRM", "no", 1);
	assert_int_equal(pinentry_confirm(fake, NULL, &confirm_prompt, &e),
			 PINENTRY_E_NOT_CONFIRMED);
	assert_string_equal(e.text, "not confirmed by the user");
}

static int getpin_new(char **pin, size_t *len, struct errmsg *e)
{
	return pinentry_getpin_new(fake, NULL, &basic_prompt, pin, len, e);
}

static void test_new_pin_with_setrepeat(void **state)
{
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len;

	(void)state;
	/* the fake, like pinentry, asks again by itself after a mismatch */
	write_pins("1111\n2222\n3333\n3333\n");
	assert_int_equal(getpin_new(&pin, &len, &e), PINENTRY_OK);
	assert_string_equal(pin, "3333");
	assert_int_equal(len, 4);
	sodium_free(pin);
	assert_true(log_has_line("SETREPEAT Repeat:"));
	assert_int_equal(log_count("GETPIN"), 1);
}

static void test_new_pin_twice_match(void **state)
{
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len;

	(void)state;
	setenv("FAKE_PINENTRY_REPEAT", "no", 1);
	write_pins("5555\n5555\n");
	assert_int_equal(getpin_new(&pin, &len, &e), PINENTRY_OK);
	assert_string_equal(pin, "5555");
	sodium_free(pin);
	assert_int_equal(log_count("GETPIN"), 2);
	assert_true(log_has_line("SETPROMPT Repeat:"));
}

static void test_new_pin_twice_mismatch(void **state)
{
	struct errmsg e = { "" };
	char *pin = (char *)1;
	size_t len;

	(void)state;
	setenv("FAKE_PINENTRY_REPEAT", "no", 1);
	write_pins("5555\n6666\n");
	assert_int_equal(getpin_new(&pin, &len, &e), PINENTRY_E_MISMATCH);
	assert_null(pin);
	assert_string_equal(e.text, "the PINs do not match");
}

static void test_describe_request(void **state)
{
	char out[1024], small[40];

	(void)state;
	assert_int_equal(pinentry_describe_request(out, sizeof(out), "work\nFAKE LINE",
						   "me@host", "SHA256:abc", getpid(),
						   "Enter the PIN to sign with"), 0);
	assert_non_null(strstr(out, "Enter the PIN to sign with the TPM key \"work?FAKE LINE\" (me@host)\n"));
	assert_non_null(strstr(out, "Fingerprint: SHA256:abc\n"));
	assert_non_null(strstr(out, "Requested by process "));
	assert_non_null(strstr(out, "test_pinentry"));
	assert_null(strchr(strstr(out, "Requested"), '\n'));

	assert_int_equal(pinentry_describe_request(out, sizeof(out), "k", NULL, NULL, 0, "Use"), 0);
	assert_string_equal(out, "Use the TPM key \"k\"\nRequested by an unknown process");
	assert_int_equal(pinentry_describe_request(small, sizeof(small), "k", NULL, NULL, 0,
						   "Use"), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_notice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_right_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_with_cr_lf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_successive_pins_from_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_texts_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escape_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_desc_fits_a_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_passed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_program_found_in_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_at_startup_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_program, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pin_with_setrepeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pin_twice_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pin_twice_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_request, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	if (locate_fake() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
