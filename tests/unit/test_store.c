/* test_store: the on-disk key store in a private temp dir (TPM_AGENT_HOME): dir
 * resolution and permissions, names, atomic writes (also on a full disk), bounded
 * reads, listing and removal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkstemp, O_NOFOLLOW, fstatat, nftw; the Makefile sets it too */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../keystore/store.h"

struct fixture {
	char root[256];   /* the mkdtemp dir */
	char home[320];   /* root/home: TPM_AGENT_HOME, made by store_prepare */
	char keys[340];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	struct errmsg e = { "" };

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/tpm-agent-store.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->root) == NULL)
		return -1;
	snprintf(f->home, sizeof(f->home), "%s/home", f->root);
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->home);
	setenv("TPM_AGENT_HOME", f->home, 1);
	if (store_prepare(f->home, &e) < 0) {
		fprintf(stderr, "%s\n", e.text);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	chmod(f->keys, 0700); /* in case a test left it read-only */
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void expect_msg(const struct errmsg *e, const char *needle)
{
	if (strstr(e->text, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e->text, needle);
}

static void key_path(const struct fixture *f, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->keys, file);
}

static void put_file(const struct fixture *f, const char *file, const char *text)
{
	char path[512];
	FILE *fp;

	key_path(f, file, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void assert_content(const char *path, const char *want)
{
	struct errmsg e = { "" };
	char *data;
	size_t len;

	if (store_read_file(path, 1 << 20, &data, &len, &e) < 0)
		fail_msg("%s", e.text);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	free(data);
}

/* Temp files start with '.'; none may be left behind. */
static int count_dotfiles(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* ---- where the store is ---- */

static void test_default_dir(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char out[512], *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	assert_int_equal(store_default_dir(out, sizeof(out), &e), 0);
	assert_string_equal(out, f->home);

	unsetenv("TPM_AGENT_HOME");
	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	assert_int_equal(store_default_dir(out, sizeof(out), &e), 0);
	assert_string_equal(out, "/xdg/data/tpm-agent");

	setenv("XDG_DATA_HOME", "relative/data", 1); /* invalid per XDG: ignored */
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(store_default_dir(out, sizeof(out), &e), 0);
	assert_string_equal(out, "/home/someone/.local/share/tpm-agent");

	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME"); /* falls back to the passwd entry */
	assert_int_equal(store_default_dir(out, sizeof(out), &e), 0);
	assert_non_null(strstr(out, "/.local/share/tpm-agent"));

	setenv("TPM_AGENT_HOME", "not/absolute", 1);
	assert_int_equal(store_default_dir(out, sizeof(out), &e), -1);
	expect_msg(&e, "absolute");

	setenv("TPM_AGENT_HOME", f->home, 1);
	assert_int_equal(store_default_dir(out, 8, &e), -1);
	expect_msg(&e, "too long");
	if (home != NULL)
		setenv("HOME", home, 1);
	free(home);
}

static void test_prepare_modes(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char deep[512];

	assert_int_equal(mode_of(f->home), 0700);
	assert_int_equal(mode_of(f->keys), 0700);
	/* readable by others: tightened quietly */
	assert_int_equal(chmod(f->keys, 0755), 0);
	assert_int_equal(store_prepare(f->home, &e), 0);
	assert_int_equal(mode_of(f->keys), 0700);
	/* writable by others: refused, since keys there could have been swapped */
	assert_int_equal(chmod(f->home, 0777), 0);
	assert_int_equal(store_prepare(f->home, &e), -1);
	expect_msg(&e, "writable by group or others");
	expect_msg(&e, "chmod 700");
	assert_int_equal(chmod(f->home, 0700), 0);
	/* missing parents are made, private */
	snprintf(deep, sizeof(deep), "%s/a/b/tpm-agent", f->root);
	assert_int_equal(store_prepare(deep, &e), 0);
	assert_int_equal(mode_of(deep), 0700);
	snprintf(deep, sizeof(deep), "%s/a", f->root);
	assert_int_equal(mode_of(deep), 0700);
}

static void test_prepare_refuses_foreign_and_files(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	snprintf(path, sizeof(path), "%s/plain", f->root);
	fclose(fopen(path, "w"));
	assert_int_equal(store_prepare(path, &e), -1);
	expect_msg(&e, "not a directory");
	if (geteuid() != 0) {
		skip(); /* only root can hand a directory to another uid */
		return;
	}
	snprintf(path, sizeof(path), "%s/foreign", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chown(path, 12345, 12345), 0);
	assert_int_equal(store_prepare(path, &e), -1);
	expect_msg(&e, "belongs to uid 12345");
}

/* ---- names and paths ---- */

static void test_names(void **state)
{
	static const char *good[] = { "a", "ecdsa-p256", "rsa_3072.work", "me@host+1", "A9",
		"123456789012345678901234567890123456789012345678901234567890123" };
	static const char *bad[] = { "", ".hidden", "-x", "a/b", "..", "a b", "tab\t",
		"caf\xc3\xa9", "1234567890123456789012345678901234567890123456789012345678901234" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!store_name_valid(good[i]))
			fail_msg("\"%s\" should be valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (store_name_valid(bad[i]))
			fail_msg("\"%s\" should be invalid", bad[i]);
	assert_false(store_name_valid(NULL));
}

static void test_key_path(void **state)
{
	struct errmsg e = { "" };
	char out[128];

	(void)state;
	assert_int_equal(store_key_path("/d", "k1", ".tss", out, sizeof(out), &e), 0);
	assert_string_equal(out, "/d/keys/k1.tss");
	assert_int_equal(store_key_path("/d", "../etc", ".tss", out, sizeof(out), &e), -1);
	expect_msg(&e, "invalid key name");
	assert_int_equal(store_key_path("/d", "k1", ".tss", out, 10, &e), -1);
	expect_msg(&e, "too long");
}

/* ---- atomic writes ---- */

static void test_write_replaces_atomically(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	key_path(f, "k.tss", path, sizeof(path));
	assert_int_equal(store_write_atomic(path, "first version\n", 14, 0600, &e), 0);
	assert_content(path, "first version\n");
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(store_write_atomic(path, "second\n", 7, 0600, &e), 0);
	assert_content(path, "second\n");
	assert_int_equal(store_write_atomic(path, "", 0, 0644, &e), 0);
	assert_content(path, "");
	assert_int_equal(mode_of(path), 0644); /* fchmod: the umask does not apply */
	assert_int_equal(count_dotfiles(f->keys), 0);
}

/* A new file: whole or not at all, and never over one that exists. */
static void test_write_new_is_exclusive(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	key_path(f, "n.tss", path, sizeof(path));
	assert_int_equal(store_write_new(path, "winner\n", 7, 0600, &e), 0);
	assert_content(path, "winner\n");
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(store_write_new(path, "loser\n", 6, 0600, &e), STORE_E_EXISTS);
	expect_msg(&e, "exists already");
	assert_content(path, "winner\n");
	assert_int_equal(count_dotfiles(f->keys), 0); /* no temp file left either way */
}

/* A .pub without its .tss goes; a pair, a lone .tss and other files stay. */
static void test_remove_orphans(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	const char *files[] = { "pair.tss", "pair.pub", "lone.tss", "orphan.pub", "notes.txt" };
	char path[512];
	size_t n = 99;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		key_path(f, files[i], path, sizeof(path));
		assert_int_equal(store_write_atomic(path, "x", 1, 0600, &e), 0);
	}
	assert_int_equal(store_remove_orphans(f->home, &n, &e), 0);
	assert_int_equal(n, 1);
	key_path(f, "orphan.pub", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(files[i], "orphan.pub") == 0)
			continue;
		key_path(f, files[i], path, sizeof(path));
		assert_int_equal(access(path, F_OK), 0);
	}
	assert_int_equal(store_remove_orphans(f->home, &n, &e), 0);
	assert_int_equal(n, 0);
}

static void test_write_into_missing_dir(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	snprintf(path, sizeof(path), "%s/nowhere/k.tss", f->root);
	assert_int_equal(store_write_atomic(path, "x", 1, 0600, &e), -1);
	expect_msg(&e, "nowhere");
	expect_msg(&e, "No such file or directory");
}

/* A child with RLIMIT_FSIZE below the data size sees EFBIG, as on a full disk. Its
 * message comes back through a pipe. */
static void test_write_disk_full_keeps_old(void **state)
{
	struct fixture *f = *state;
	char path[512], msg[ERRMSG_MAX + 1] = "", big[4096];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	key_path(f, "k.tss", path, sizeof(path));
	assert_int_equal(store_write_atomic(path, "old key\n", 8, 0600, NULL), 0);
	memset(big, 'n', sizeof(big));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 1024, 1024 };
		struct errmsg e = { "" };
		int rc;

		signal(SIGXFSZ, SIG_IGN); /* else the kernel kills us instead of EFBIG */
		setrlimit(RLIMIT_FSIZE, &rl);
		rc = store_write_atomic(path, big, sizeof(big), 0600, &e);
		if (write(fds[1], e.text, strlen(e.text)) < 0)
			_exit(3);
		_exit(rc == -1 ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], msg, ERRMSG_MAX);
	close(fds[0]);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	if (strstr(msg, "free some disk space") == NULL || strstr(msg, path) == NULL ||
	    strstr(msg, "old file is unchanged") == NULL)
		fail_msg("unexpected message: %s", msg);
	assert_content(path, "old key\n");
	assert_int_equal(count_dotfiles(f->keys), 0);
}

static void test_write_readonly_dir_keeps_old(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	key_path(f, "k.tss", path, sizeof(path));
	assert_int_equal(store_write_atomic(path, "old key\n", 8, 0600, &e), 0);
	if (geteuid() == 0) {
		/* root writes through a mode-0500 dir; the disk-full test covers the failure. */
		skip();
		return;
	}
	assert_int_equal(chmod(f->keys, 0500), 0);
	assert_int_equal(store_write_atomic(path, "new key\n", 8, 0600, &e), -1);
	assert_int_equal(chmod(f->keys, 0700), 0);
	expect_msg(&e, f->keys);
	expect_msg(&e, "Permission denied");
	assert_content(path, "old key\n");
	assert_int_equal(count_dotfiles(f->keys), 0);
}

/* ---- bounded reads ---- */

static void test_read_limits(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512], link[512];
	char *data = (char *)"sentinel";
	size_t len;

	put_file(f, "ten.tss", "0123456789");
	key_path(f, "ten.tss", path, sizeof(path));
	assert_int_equal(store_read_file(path, 10, &data, &len, &e), 0);
	assert_int_equal(len, 10);
	assert_int_equal(data[10], '\0');
	free(data);
	assert_int_equal(store_read_file(path, 9, &data, &len, &e), -1);
	assert_null(data);
	expect_msg(&e, "is 10 bytes, more than the 9 allowed");

	key_path(f, "link.tss", link, sizeof(link));
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(store_read_file(link, 100, &data, &len, &e), -1);
	expect_msg(&e, "symbolic link");

	assert_int_equal(store_read_file(f->keys, 100, &data, &len, &e), -1);
	expect_msg(&e, "not a regular file");

	key_path(f, "fifo.tss", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(store_read_file(path, 100, &data, &len, &e), -1); /* no hang */
	expect_msg(&e, "not a regular file");

	key_path(f, "missing.tss", path, sizeof(path));
	assert_int_equal(store_read_file(path, 100, &data, &len, &e), -1);
	expect_msg(&e, "cannot open");
	expect_msg(&e, "missing.tss");
}

/* ---- listing, existence, removal ---- */

static void test_list_sorted_and_filtered(void **state)
{
	struct fixture *f = *state;
	char (*names)[STORE_NAME_MAX] = calloc(STORE_MAX_KEYS, STORE_NAME_MAX);
	struct errmsg e = { "" };
	char path[512], dir[512];
	size_t count = 99;

	assert_non_null(names);
	assert_int_equal(store_list_keys(f->home, names, STORE_MAX_KEYS, &count, &e), 0);
	assert_int_equal(count, 0);
	static const char *files[] = { "b.tss", "a.tss", "Z.tss", "c.pub", ".hidden.tss",
		"-dash.tss", "bad name.tss", ".tss", "a.tss.bak", "m.TSS", "b.pub" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put_file(f, files[i], "x");
	key_path(f, "dir.tss", dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	key_path(f, "a.tss", path, sizeof(path));
	key_path(f, "link.tss", dir, sizeof(dir));
	assert_int_equal(symlink(path, dir), 0);

	assert_int_equal(store_list_keys(f->home, names, STORE_MAX_KEYS, &count, &e), 0);
	assert_int_equal(count, 3);
	assert_string_equal(names[0], "Z");
	assert_string_equal(names[1], "a");
	assert_string_equal(names[2], "b");

	assert_int_equal(store_list_keys(f->home, names, 2, &count, &e), -1);
	expect_msg(&e, "more than 2 keys");
	free(names);
}

static void test_list_without_keys_dir(void **state)
{
	struct fixture *f = *state;
	char names[1][STORE_NAME_MAX];
	struct errmsg e = { "" };
	char dir[512];
	size_t count = 5;

	snprintf(dir, sizeof(dir), "%s/never-prepared", f->root);
	assert_int_equal(store_list_keys(dir, names, 1, &count, &e), 0);
	assert_int_equal(count, 0);
}

static void test_exists_and_remove(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char path[512];

	put_file(f, "k1.tss", "key");
	put_file(f, "k1.pub", "pub");
	put_file(f, "k2.tss", "key"); /* no .pub: still removable */
	assert_true(store_key_exists(f->home, "k1"));
	assert_false(store_key_exists(f->home, "nope"));
	assert_false(store_key_exists(f->home, "../keys/k1"));

	assert_int_equal(store_remove_key(f->home, "k1", &e), 0);
	assert_false(store_key_exists(f->home, "k1"));
	key_path(f, "k1.pub", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(store_remove_key(f->home, "k2", &e), 0);

	assert_int_equal(store_remove_key(f->home, "k1", &e), -1);
	expect_msg(&e, "no key named \"k1\"");
	assert_int_equal(store_remove_key(f->home, "../x", &e), -1);
	expect_msg(&e, "invalid key name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepare_refuses_foreign_and_files, setup,
						teardown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_key_path),
		cmocka_unit_test_setup_teardown(test_write_replaces_atomically, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_into_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_new_is_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_orphans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_disk_full_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_readonly_dir_keeps_old, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_sorted_and_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_without_keys_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exists_and_remove, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
