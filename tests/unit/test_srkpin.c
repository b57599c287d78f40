/* test_srkpin: the pinned SRK names file (keystore/srkpin.c): parsing (comments,
 * blanks, bad handles, bad hex, short names, duplicates, NUL bytes), formatting round
 * trip, set/replace, and the file rules on load (missing file, symlink, group-writable,
 * mode of the written file) in a private temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../keystore/srkpin.h"

static const char name_hex[] =
	"000b" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_parse_ok(void **state)
{
	char text[512];
	struct srkpins p;
	struct errmsg e = { "" };
	const struct srkpin *pin;

	(void)state;
	snprintf(text, sizeof(text), "# comment\n\n   \t\n0x81000001 %s\n  0x81010001\t%s  \r\n",
		 name_hex, name_hex);
	assert_int_equal(srkpin_parse(text, strlen(text), &p, &e), 0);
	assert_int_equal(p.n, 2);
	pin = srkpin_find(&p, 0x81000001);
	assert_non_null(pin);
	assert_int_equal(pin->name_len, 34);
	assert_int_equal(pin->name[0], 0x00);
	assert_int_equal(pin->name[1], 0x0b);
	assert_int_equal(pin->name[33], 0xff);
	assert_non_null(srkpin_find(&p, 0x81010001));
	assert_null(srkpin_find(&p, 0x81000002));
	/* no trailing newline, empty file */
	snprintf(text, sizeof(text), "0x81000001 %s", name_hex);
	assert_int_equal(srkpin_parse(text, strlen(text), &p, &e), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(srkpin_parse("", 0, &p, &e), 0);
	assert_int_equal(p.n, 0);
}

static void expect_bad(const char *text, size_t len, const char *why)
{
	struct srkpins p;
	struct errmsg e = { "" };

	assert_int_equal(srkpin_parse(text, len, &p, &e), -1);
	if (strstr(e.text, why) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", text, e.text, why);
}

static void test_parse_bad(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "0x40000001 %s\n", name_hex); /* not persistent */
	expect_bad(text, strlen(text), "line 1");
	snprintf(text, sizeof(text), "81000001 %s\n", name_hex);   /* no 0x */
	expect_bad(text, strlen(text), "line 1");
	snprintf(text, sizeof(text), "#\n0x81000001 %sz\n", name_hex); /* odd hex */
	expect_bad(text, strlen(text), "line 2");
	expect_bad("0x81000001 000b0011\n", 20, "line 1");           /* too short a name */
	snprintf(text, sizeof(text), "0x81000001 %s%s%s\n", name_hex, name_hex, name_hex);
	expect_bad(text, strlen(text), "line 1");                  /* too long a name */
	snprintf(text, sizeof(text), "0x81000001 %s extra\n", name_hex);
	expect_bad(text, strlen(text), "line 1");
	snprintf(text, sizeof(text), "0x81000001\n");
	expect_bad(text, strlen(text), "line 1");
	snprintf(text, sizeof(text), "0x81000001 %s\n0x81000001 %s\n", name_hex, name_hex);
	expect_bad(text, strlen(text), "pinned twice");
	snprintf(text, sizeof(text), "0x81000001 %s\n", name_hex);
	text[3] = '\0';
	expect_bad(text, strlen(name_hex) + 12, "NUL");
	memset(text, 'a', 300);
	expect_bad(text, 300, "too long");
}

static void test_format_roundtrip_and_set(void **state)
{
	struct srkpins p = { .n = 0 }, q;
	struct errmsg e = { "" };
	uint8_t n1[34], n2[34];
	char text[SRKPIN_FILE_MAX];

	(void)state;
	memset(n1, 0x11, sizeof(n1));
	memset(n2, 0x22, sizeof(n2));
	assert_int_equal(srkpin_set(&p, 0x81000001, n1, sizeof(n1), &e), 0);
	assert_int_equal(srkpin_set(&p, 0x81000005, n2, sizeof(n2), &e), 0);
	assert_int_equal(srkpin_set(&p, 0x81000001, n2, sizeof(n2), &e), 0); /* replaces */
	assert_int_equal(p.n, 2);
	assert_int_equal(srkpin_set(&p, 0x81000001, n2, 1, &e), -1);
	assert_int_equal(srkpin_format(&p, text, sizeof(text), &e), 0);
	assert_non_null(strstr(text, "tpm-key init --repin"));
	assert_int_equal(srkpin_parse(text, strlen(text), &q, &e), 0);
	assert_int_equal(q.n, 2);
	assert_memory_equal(srkpin_find(&q, 0x81000001)->name, n2, sizeof(n2));
	assert_memory_equal(srkpin_find(&q, 0x81000005)->name, n2, sizeof(n2));
	assert_int_equal(srkpin_format(&p, text, 40, &e), -1);
}

static void test_load_save_rules(void **state)
{
	char dir[] = "/tmp/test_srkpin.XXXXXX", path[128], link[128], proof[256];
	struct srkpins p = { .n = 0 }, q;
	struct errmsg e = { "" };
	uint8_t n1[34];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, SRKPIN_FILE);
	snprintf(link, sizeof(link), "%s/elsewhere", dir);
	assert_int_equal(srkpin_load(dir, &q, &e), 0); /* missing: no pins */
	assert_int_equal(q.n, 0);
	memset(n1, 0x33, sizeof(n1));
	assert_int_equal(srkpin_set(&p, 0x81000001, n1, sizeof(n1), &e), 0);
	assert_int_equal(srkpin_save(dir, &p, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(srkpin_load(dir, &q, &e), 0);
	assert_int_equal(q.n, 1);
	chmod(path, 0660);
	assert_int_equal(srkpin_load(dir, &q, &e), -1);
	assert_non_null(strstr(e.text, "writable by group or others"));
	assert_non_null(strstr(e.text, path));
	chmod(path, 0600);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_int_equal(srkpin_load(dir, &q, &e), -1);
	assert_non_null(strstr(e.text, "symbolic link"));
	unlink(path);
	/* a malformed file names itself */
	assert_int_equal(rename(link, path), 0);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("garbage\n", f);
	fclose(f);
	assert_int_equal(srkpin_load(dir, &q, &e), -1);
	assert_non_null(strstr(e.text, SRKPIN_FILE));
	assert_non_null(strstr(e.text, "line 5"));
	/* the proof record */
	assert_int_equal(srkpin_proof_load(dir, proof, sizeof(proof), &e), 0);
	assert_string_equal(proof, "");
	assert_int_equal(srkpin_proof_save(dir, "result ok\n", &e), 0);
	assert_int_equal(srkpin_proof_load(dir, proof, sizeof(proof), &e), 0);
	assert_string_equal(proof, "result ok\n");
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, SRKPIN_PROOF_FILE);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_format_roundtrip_and_set),
		cmocka_unit_test(test_load_save_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
