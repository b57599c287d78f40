/* test_sshcert: certificates made by ssh-keygen at test time, parsed and checked field by
 * field against `ssh-keygen -L` / `-lf`, plus hostile blobs and lines and validity bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../protocol/sshcert.h"

#define T_2020 UINT64_C(1577836800) /* 2020-01-01T00:00:00Z */
#define T_2030 UINT64_C(1893456000) /* 2030-01-01T00:00:00Z */
#define CMD_MAX 8192

static char dir[64]; /* the temp dir all keys and certificates live in */

static const char *const user_keys[] = { "u256", "u384", "u521", "ursa" };
#define N_USER_KEYS (sizeof(user_keys) / sizeof(user_keys[0]))

/* Runs a shell command built from fmt; it must succeed. */
static void run(const char *fmt, ...)
{
	char cmd[CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	assert_int_equal(system(cmd), 0);
}

/* All of a command's stdout, malloc'd and NUL-terminated. */
static char *capture(const char *fmt, ...)
{
	char cmd[CMD_MAX], *out = calloc(1, 65536);
	size_t n = 0, got;
	va_list ap;
	FILE *f;

	assert_non_null(out);
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_non_null(f = popen(cmd, "r"));
	while ((got = fread(out + n, 1, 65535 - n, f)) > 0)
		n += got;
	assert_int_equal(pclose(f), 0);
	return out;
}

static char *read_text(const char *name)
{
	return capture("cat '%s/%s'", dir, name);
}

static int group_setup(void **state)
{
	size_t i;

	(void)state;
	setenv("TZ", "UTC", 1); /* ssh-keygen -V and -L use local time */
	strcpy(dir, "/tmp/test_sshcert.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	run("ssh-keygen -q -t ecdsa -b 256 -N '' -C ca -f %s/ca", dir);
	run("ssh-keygen -q -t ed25519 -N '' -C ca-ed -f %s/caed", dir);
	run("ssh-keygen -q -t ecdsa -b 256 -N '' -C u256@host -f %s/u256", dir);
	run("ssh-keygen -q -t ecdsa -b 384 -N '' -C 'u384 comment' -f %s/u384", dir);
	run("ssh-keygen -q -t ecdsa -b 521 -N '' -C u521 -f %s/u521", dir);
	run("ssh-keygen -q -t rsa -b 2048 -N '' -C ursa -f %s/ursa", dir);
	run("ssh-keygen -q -t ed25519 -N '' -C ued -f %s/ued", dir);
	for (i = 0; i < N_USER_KEYS; i++)
		run("ssh-keygen -q -s %s/ca -I alice-id -n alice,bob -V 20200101:20300101 -z 42 "
		    "%s/%s.pub", dir, dir, user_keys[i]);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Signs DIR/<key>.pub into DIR/<out>-cert.pub with extra ssh-keygen options. */
static void sign(const char *key, const char *out, const char *ca, const char *opts)
{
	run("cp %s/%s.pub %s/%s.pub && ssh-keygen -q -s %s/%s %s %s/%s.pub",
	    dir, key, dir, out, dir, ca, opts, dir, out);
}

/* Parses DIR/<name>-cert.pub; the caller frees the blob. */
static uint8_t *parse_cert_file(const char *name, struct sshcert *c, size_t *len, char *comment)
{
	char file[128], *line;
	uint8_t *blob;

	snprintf(file, sizeof(file), "%s-cert.pub", name);
	line = read_text(file);
	assert_int_equal(sshcert_from_line(line, &blob, len, c, comment, 64), 0);
	free(line);
	return blob;
}

/* Second word of `ssh-keygen -lf DIR/<name>.pub`. */
static void keygen_fingerprint(const char *name, char fp[SSHKEY_FP_MAX])
{
	char *out = capture("ssh-keygen -lf %s/%s.pub", dir, name), *sp = strchr(out, ' ');

	assert_non_null(sp);
	sp[strcspn(sp + 1, " ") + 1] = '\0';
	assert_true(strlen(sp + 1) < SSHKEY_FP_MAX);
	strcpy(fp, sp + 1);
	free(out);
}

static void utc(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(gmtime_r(&tt, &tm));
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* The principal lines of an `ssh-keygen -L` listing must be exactly c's principals. */
static void check_listed_principals(const struct sshcert *c, const char *listing)
{
	const char *p = strstr(listing, "Principals:");
	size_t i = 0, n;

	assert_non_null(p);
	p += strlen("Principals:");
	if (strncmp(p, " (none)\n", 8) == 0) {
		assert_int_equal(c->n_principals, 0);
		return;
	}
	for (p = strchr(p, '\n') + 1;; p += n + 1) {
		p += strspn(p, " \t");
		if (strncmp(p, "Critical Options:", 17) == 0)
			break;
		n = strcspn(p, "\n");
		assert_true(i < c->n_principals);
		assert_int_equal(strlen(c->principals[i]), n);
		assert_memory_equal(c->principals[i], p, n);
		i++;
	}
	assert_int_equal(i, c->n_principals);
}

/* Every field ssh-keygen -L prints for DIR/<name>-cert.pub equals the parsed one. */
static void check_listing(const char *name, const struct sshcert *c)
{
	char *listing = capture("ssh-keygen -L -f %s/%s-cert.pub", dir, name);
	char want[512], a[32], b[32];

	snprintf(want, sizeof(want), "Type: %s %s certificate\n", sshcert_type_name(c->key_type),
		 c->cert_type == SSHCERT_TYPE_USER ? "user" : "host");
	assert_non_null(strstr(listing, want));
	snprintf(want, sizeof(want), "Key ID: \"%s\"\n", c->key_id);
	assert_non_null(strstr(listing, want));
	snprintf(want, sizeof(want), "Serial: %" PRIu64 "\n", c->serial);
	assert_non_null(strstr(listing, want));
	if (c->valid_after == 0 && c->valid_before == UINT64_MAX) {
		snprintf(want, sizeof(want), "Valid: forever\n");
	} else {
		utc(c->valid_after, a, sizeof(a));
		utc(c->valid_before, b, sizeof(b));
		snprintf(want, sizeof(want), "Valid: from %s to %s\n", a, b);
	}
	assert_non_null(strstr(listing, want));
	snprintf(want, sizeof(want), " %s (using ", c->ca_fingerprint);
	assert_non_null(strstr(strstr(listing, "Signing CA:"), want));
	check_listed_principals(c, listing);
	free(listing);
}

/* The certified key equals the user key, the CA fingerprint is ssh-keygen's, the comment
 * is the user key's, and the blob parses to the same certificate. */
static void check_keys(const char *user, const char *ca, const struct sshcert *c,
		       const uint8_t *blob, size_t len, const char *comment)
{
	char fp[SSHKEY_FP_MAX], user_comment[64], file[64], *line;
	struct sshkey_pub k;
	struct sshcert again;

	snprintf(file, sizeof(file), "%s.pub", user);
	line = read_text(file);
	assert_int_equal(sshkey_pub_from_line(line, &k, user_comment, sizeof(user_comment)), 0);
	free(line);
	assert_int_equal(c->key_type, k.type);
	assert_true(sshkey_pub_equal(&c->key, &k));
	assert_string_equal(comment, user_comment);
	keygen_fingerprint(ca, fp);
	assert_string_equal(c->ca_fingerprint, fp);
	assert_int_equal(sshcert_from_blob(blob, len, &again), 0);
	assert_memory_equal(&again, c, sizeof(again));
}

static void check_alice(const struct sshcert *c)
{
	assert_int_equal(c->serial, 42);
	assert_int_equal(c->cert_type, SSHCERT_TYPE_USER);
	assert_string_equal(c->key_id, "alice-id");
	assert_int_equal(c->n_principals, 2);
	assert_string_equal(c->principals[0], "alice");
	assert_string_equal(c->principals[1], "bob");
	assert_int_equal(c->valid_after, T_2020);
	assert_int_equal(c->valid_before, T_2030);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(sshcert_type_name(SSHKEY_ECDSA_P256),
			    "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	assert_string_equal(sshcert_type_name(SSHKEY_ECDSA_P384),
			    "ecdsa-sha2-nistp384-cert-v01@openssh.com");
	assert_string_equal(sshcert_type_name(SSHKEY_ECDSA_P521),
			    "ecdsa-sha2-nistp521-cert-v01@openssh.com");
	assert_string_equal(sshcert_type_name(SSHKEY_RSA), "ssh-rsa-cert-v01@openssh.com");
	assert_null(sshcert_type_name(SSHKEY_UNSPEC));
}

/* ECDSA CA: every user key type, checked against ssh-keygen. */
static void test_ecdsa_ca_certs(void **state)
{
	char comment[64];
	struct sshcert c;
	uint8_t *blob;
	size_t i, len;

	(void)state;
	for (i = 0; i < N_USER_KEYS; i++) {
		blob = parse_cert_file(user_keys[i], &c, &len, comment);
		check_alice(&c);
		check_listing(user_keys[i], &c);
		check_keys(user_keys[i], "ca", &c, blob, len, comment);
		free(blob);
	}
}

/* An ed25519 CA: the signature key is only fingerprinted, never parsed. */
static void test_ed25519_ca_certs(void **state)
{
	char comment[64], name[32];
	struct sshcert c;
	uint8_t *blob;
	size_t i, len;

	(void)state;
	for (i = 0; i < N_USER_KEYS; i++) {
		snprintf(name, sizeof(name), "%s_ed", user_keys[i]);
		sign(user_keys[i], name, "caed", "-I alice-id -n alice,bob -V 20200101:20300101 -z 42");
		blob = parse_cert_file(name, &c, &len, comment);
		check_alice(&c);
		check_listing(name, &c);
		check_keys(user_keys[i], "caed", &c, blob, len, comment);
		free(blob);
	}
}

/* A host certificate valid forever with no principals, and a large serial. */
static void test_host_forever_cert(void **state)
{
	char comment[64];
	struct sshcert c;
	uint8_t *blob;
	size_t len;

	(void)state;
	sign("ursa", "host", "ca", "-h -I 'web host' -V always:forever -z 18446744073709551615");
	blob = parse_cert_file("host", &c, &len, comment);
	assert_int_equal(c.cert_type, SSHCERT_TYPE_HOST);
	assert_int_equal(c.n_principals, 0);
	assert_string_equal(c.key_id, "web host");
	assert_true(c.serial == UINT64_MAX);
	assert_int_equal(c.valid_after, 0);
	assert_true(c.valid_before == UINT64_MAX);
	check_listing("host", &c);
	check_keys("ursa", "ca", &c, blob, len, comment);
	assert_true(sshcert_valid_at(&c, 0));
	assert_true(sshcert_valid_at(&c, UINT64_MAX - 1));
	free(blob);
}

/* "p0,p1,...": n principal names. */
static void principal_list(size_t n, char *out, size_t len)
{
	size_t i, off = 0;

	for (i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%sp%zu", i ? "," : "", i);
}

static int parse_file_rc(const char *name)
{
	char file[128], *line;
	struct sshcert c;
	uint8_t *blob = (uint8_t *)"x";
	size_t len = 1;
	int r;

	snprintf(file, sizeof(file), "%s-cert.pub", name);
	line = read_text(file);
	r = sshcert_from_line(line, &blob, &len, &c, NULL, 0);
	if (r != 0) {
		assert_null(blob);
		assert_int_equal(len, 0);
	}
	free(blob);
	free(line);
	return r;
}

/* Exactly SSHCERT_PRINCIPALS_MAX principals fit; one more is an error, not a truncation. */
static void test_principal_count_limit(void **state)
{
	char opts[1024], list[900];

	(void)state;
	principal_list(SSHCERT_PRINCIPALS_MAX, list, sizeof(list));
	snprintf(opts, sizeof(opts), "-I id -n %s", list);
	sign("u256", "max", "ca", opts);
	assert_int_equal(parse_file_rc("max"), 0);
	principal_list(SSHCERT_PRINCIPALS_MAX + 1, list, sizeof(list));
	snprintf(opts, sizeof(opts), "-I id -n %s", list);
	sign("u256", "over", "ca", opts);
	assert_int_equal(parse_file_rc("over"), SSHBUF_E_TOOBIG);
}

/* A principal of SSHCERT_PRINCIPAL_MAX-1 bytes fits, one byte more does not; same for key ids. */
static void test_string_length_limits(void **state)
{
	char opts[1024], s[SSHCERT_KEYID_MAX + 1];

	(void)state;
	memset(s, 'a', sizeof(s));
	s[SSHCERT_PRINCIPAL_MAX - 1] = '\0';
	snprintf(opts, sizeof(opts), "-I id -n x,%s", s);
	sign("u384", "plong", "ca", opts);
	assert_int_equal(parse_file_rc("plong"), 0);
	s[SSHCERT_PRINCIPAL_MAX - 1] = 'a';
	s[SSHCERT_PRINCIPAL_MAX] = '\0';
	snprintf(opts, sizeof(opts), "-I id -n x,%s", s);
	sign("u384", "ptoolong", "ca", opts);
	assert_int_equal(parse_file_rc("ptoolong"), SSHBUF_E_TOOBIG);
	s[SSHCERT_PRINCIPAL_MAX] = 'a';
	s[SSHCERT_KEYID_MAX - 1] = '\0';
	snprintf(opts, sizeof(opts), "-I %s -n x", s);
	sign("u384", "idlong", "ca", opts);
	assert_int_equal(parse_file_rc("idlong"), 0);
	s[SSHCERT_KEYID_MAX - 1] = 'a';
	s[SSHCERT_KEYID_MAX] = '\0';
	snprintf(opts, sizeof(opts), "-I %s -n x", s);
	sign("u384", "idtoolong", "ca", opts);
	assert_int_equal(parse_file_rc("idtoolong"), SSHBUF_E_TOOBIG);
}

/* Certificates for key types we do not hold are FORMAT errors. */
static void test_ed25519_user_cert(void **state)
{
	char comment[64];
	struct sshcert c;
	size_t len;
	uint8_t *blob;
	char *line;

	(void)state;
	sign("ued", "uedc", "ca", "-I alice-id -n alice");
	assert_int_equal(parse_file_rc("uedc"), SSHBUF_E_FORMAT);
	line = read_text("uedc-cert.pub");
	assert_int_equal(sshcert_from_line(line, &blob, &len, &c, comment, sizeof(comment)),
			 SSHBUF_E_FORMAT);
	free(line);
	/* the plain (non-certificate) key is refused too */
	line = read_text("u256.pub");
	assert_int_equal(sshcert_from_line(line, &blob, &len, &c, NULL, 0), SSHBUF_E_FORMAT);
	assert_null(blob);
	free(line);
}

/* The p256 certificate signed in group setup, decoded. */
static uint8_t *fixture_blob(size_t *len)
{
	struct sshcert c;

	return parse_cert_file("u256", &c, len, (char[64]){ 0 });
}

static int is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0 && b[len - 1] == 0)
		len--;
	return len == 0;
}

/* Every proper prefix of a real certificate is SHORT; a trailing byte is FORMAT. */
static void test_truncated_and_trailing(void **state)
{
	struct sshcert c;
	uint8_t *blob, *copy;
	size_t i, n, len;

	(void)state;
	for (n = 0; n < N_USER_KEYS; n++) {
		blob = parse_cert_file(user_keys[n], &c, &len, (char[64]){ 0 });
		for (i = 0; i < len; i++) {
			copy = malloc(i + 1); /* exact-size copy so ASan sees any over-read */
			assert_non_null(copy);
			memcpy(copy, blob, i);
			assert_int_equal(sshcert_from_blob(copy, i, &c), SSHBUF_E_SHORT);
			assert_true(is_zero(&c, sizeof(c)));
			free(copy);
		}
		copy = malloc(len + 1);
		assert_non_null(copy);
		memcpy(copy, blob, len);
		copy[len] = 0;
		assert_int_equal(sshcert_from_blob(copy, len + 1, &c), SSHBUF_E_FORMAT);
		free(copy);
		free(blob);
	}
}

/* Every line whose base64 word is cut short is refused (and frees everything). */
static void test_truncated_lines(void **state)
{
	char *line = read_text("u521-cert.pub"), *copy;
	size_t i, end = strchr(strchr(line, ' ') + 1, ' ') - line;
	struct sshcert c;
	uint8_t *blob;
	size_t len;

	(void)state;
	for (i = 0; i < end; i++) {
		assert_non_null(copy = strndup(line, i));
		assert_true(sshcert_from_line(copy, &blob, &len, &c, NULL, 0) < 0);
		assert_null(blob);
		free(copy);
	}
	assert_non_null(copy = strndup(line, end));
	assert_int_equal(sshcert_from_line(copy, &blob, &len, &c, NULL, 0), 0);
	free(blob);
	free(copy);
	free(line);
}

/* Flipping bits anywhere never crashes; a flip inside the type name is FORMAT. */
static void test_bit_flips(void **state)
{
	uint8_t *blob, *copy;
	struct sshcert c;
	size_t i, len;
	int bit, r;

	(void)state;
	blob = fixture_blob(&len);
	assert_non_null(copy = malloc(len));
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, blob, len);
			copy[i] ^= (uint8_t)(1u << bit);
			r = sshcert_from_blob(copy, len, &c);
			assert_true(r <= 0);
			if (i >= 4 && i < 4 + strlen(sshcert_type_name(SSHKEY_ECDSA_P256)))
				assert_int_equal(r, SSHBUF_E_FORMAT);
			if (r < 0)
				assert_true(is_zero(&c, sizeof(c)));
		}
	}
	free(copy);
	free(blob);
}

/* A type name claiming another curve, and a type word disagreeing with the blob. */
static void test_type_mismatch(void **state)
{
	char *line = read_text("u256-cert.pub"), *alt, *p;
	uint8_t *blob;
	struct sshcert c;
	size_t len;

	(void)state;
	blob = fixture_blob(&len);
	memcpy(blob + 4 + strlen("ecdsa-sha2-nistp"), "384", 3);
	assert_int_equal(sshcert_from_blob(blob, len, &c), SSHBUF_E_FORMAT);
	free(blob);
	assert_non_null(alt = malloc(strlen(line) + 64));
	p = strchr(line, ' ');
	sprintf(alt, "ecdsa-sha2-nistp384-cert-v01@openssh.com%s", p);
	assert_int_equal(sshcert_from_line(alt, &blob, &len, &c, NULL, 0), SSHBUF_E_FORMAT);
	assert_null(blob);
	sprintf(alt, "ecdsa-sha2-nistp256%s", p);
	assert_int_equal(sshcert_from_line(alt, &blob, &len, &c, NULL, 0), SSHBUF_E_FORMAT);
	sprintf(alt, "  \tecdsa-sha2-nistp256-cert-v01@openssh.com%s", p);
	assert_int_equal(sshcert_from_line(alt, &blob, &len, &c, NULL, 0), 0);
	free(blob);
	free(alt);
	free(line);
}

static int line_rc(const char *line)
{
	struct sshcert c;
	uint8_t *blob;
	size_t len;
	int r = sshcert_from_line(line, &blob, &len, &c, NULL, 0);

	if (r != 0)
		assert_null(blob);
	free(blob);
	return r;
}

#define CT "ecdsa-sha2-nistp256-cert-v01@openssh.com "

static void test_garbage_base64(void **state)
{
	char *line = read_text("u256-cert.pub"), *b64 = strchr(line, ' ') + 1, *big;
	size_t n = strcspn(b64, " \n");

	(void)state;
	assert_int_equal(line_rc(""), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "!!!!"), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "AAA"), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "AA=A"), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "===="), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "AAAA"), SSHBUF_E_SHORT);
	/* canonical padding decodes (and is then too short); set unused low bits are refused */
	assert_int_equal(line_rc(CT "AAA="), SSHBUF_E_SHORT);
	assert_int_equal(line_rc(CT "AA=="), SSHBUF_E_SHORT);
	assert_int_equal(line_rc(CT "AAB="), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "AB=="), SSHBUF_E_FORMAT);
	assert_int_equal(line_rc(CT "AAAA AAB="), SSHBUF_E_SHORT); /* comment is not decoded */
	/* a whole certificate with one more base64 group appended */
	assert_non_null(big = malloc(strlen(line) + 8));
	memcpy(big, line, (size_t)(b64 - line) + n);
	memcpy(big + (b64 - line) + n, "AAAA", 5);
	assert_true(line_rc(big) < 0);
	free(big);
	free(line);
	/* a base64 word longer than any certificate we accept */
	n = 4 * (SSHCERT_BLOB_MAX / 3 + 2);
	assert_non_null(big = malloc(sizeof(CT) + n));
	memcpy(big, CT, sizeof(CT) - 1);
	memset(big + sizeof(CT) - 1, 'A', n);
	big[sizeof(CT) - 1 + n] = '\0';
	assert_int_equal(line_rc(big), SSHBUF_E_TOOBIG);
	free(big);
}

/* Builds a certificate blob field by field so malformed contents can be made. */
struct spec {
	const char *type;
	uint32_t cert_type;
	const char *key_id; size_t key_id_len;
	const uint8_t *principals; size_t principals_len;
	size_t sigkey_len, sig_len;
};

static struct sshbuf *build(const struct spec *s)
{
	struct sshbuf *b = sshbuf_new(SSHCERT_BLOB_MAX * 2), *key = sshbuf_new(SSHKEY_BLOB_MAX);
	char *line = read_text("u256.pub");
	struct sshkey_pub k;
	uint8_t zeros[SSHCERT_BLOB_MAX] = { 0 };

	assert_int_equal(sshkey_pub_from_line(line, &k, NULL, 0), 0);
	free(line);
	assert_int_equal(sshkey_pub_to_blob(&k, key), 0);
	assert_int_equal(sshbuf_consume(key, 4 + strlen("ecdsa-sha2-nistp256")), 0);
	assert_int_equal(sshbuf_put_cstring(b, s->type), 0);
	assert_int_equal(sshbuf_put_string(b, "nonce", 5), 0);
	assert_int_equal(sshbuf_put(b, sshbuf_ptr(key), sshbuf_len(key)), 0);
	assert_int_equal(sshbuf_put_u64(b, 7), 0);
	assert_int_equal(sshbuf_put_u32(b, s->cert_type), 0);
	assert_int_equal(sshbuf_put_string(b, s->key_id, s->key_id_len), 0);
	assert_int_equal(sshbuf_put_string(b, s->principals, s->principals_len), 0);
	assert_int_equal(sshbuf_put_u64(b, 1), 0);
	assert_int_equal(sshbuf_put_u64(b, 2), 0);
	assert_int_equal(sshbuf_put_string(b, NULL, 0), 0); /* critical options */
	assert_int_equal(sshbuf_put_string(b, NULL, 0), 0); /* extensions */
	assert_int_equal(sshbuf_put_string(b, NULL, 0), 0); /* reserved */
	assert_int_equal(sshbuf_put_string(b, zeros, s->sigkey_len), 0);
	assert_int_equal(sshbuf_put_string(b, zeros, s->sig_len), 0);
	sshbuf_free(key);
	return b;
}

static const struct spec good_spec = {
	"ecdsa-sha2-nistp256-cert-v01@openssh.com", SSHCERT_TYPE_USER, "id", 2,
	(const uint8_t *)"\0\0\0\1a", 5, 51, 100,
};

static int build_rc(const struct spec *s)
{
	struct sshbuf *b = build(s);
	struct sshcert c;
	int r = sshcert_from_blob(sshbuf_ptr(b), sshbuf_len(b), &c);

	sshbuf_free(b);
	return r;
}

/* NULs in key id or principals, bad inner framing, unknown cert type, empty CA fields. */
static void test_malformed_fields(void **state)
{
	struct spec s = good_spec;

	(void)state;
	assert_int_equal(build_rc(&s), 0);
	s.key_id = "i\0d";
	s.key_id_len = 3;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s = good_spec;
	s.principals = (const uint8_t *)"\0\0\0\3a\0b";
	s.principals_len = 7;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s.principals = (const uint8_t *)"\0\0\0\5abc"; /* inner string overruns the list */
	assert_int_equal(build_rc(&s), SSHBUF_E_SHORT);
	s.principals = (const uint8_t *)"\0\0\0\1a\0\0"; /* stray bytes after the last one */
	s.principals_len = 7;
	assert_int_equal(build_rc(&s), SSHBUF_E_SHORT);
	s = good_spec;
	s.cert_type = 3;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s.cert_type = 0;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s = good_spec;
	s.sigkey_len = 0;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s = good_spec;
	s.sig_len = 0;
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s = good_spec;
	s.type = "ssh-ed25519-cert-v01@openssh.com";
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
	s.type = "ssh-rsa-cert-v01@openssh.com"; /* RSA type, ECDSA fields */
	assert_true(build_rc(&s) < 0);
	s.type = "a-type-name-far-longer-than-any-certificate-type-we-know-of-at-all";
	assert_int_equal(build_rc(&s), SSHBUF_E_FORMAT);
}

/* An empty principal list, and blobs over SSHCERT_BLOB_MAX. */
static void test_sizes(void **state)
{
	struct spec s = good_spec;
	struct sshbuf *b;
	struct sshcert c;

	(void)state;
	s.principals_len = 0;
	b = build(&s);
	assert_int_equal(sshcert_from_blob(sshbuf_ptr(b), sshbuf_len(b), &c), 0);
	assert_int_equal(c.n_principals, 0);
	assert_int_equal(c.valid_after, 1);
	assert_int_equal(c.valid_before, 2);
	sshbuf_free(b);
	s = good_spec;
	s.sig_len = SSHCERT_BLOB_MAX - 400;
	b = build(&s);
	assert_true(sshbuf_len(b) <= SSHCERT_BLOB_MAX);
	assert_int_equal(sshcert_from_blob(sshbuf_ptr(b), sshbuf_len(b), &c), 0);
	sshbuf_free(b);
	s.sig_len = SSHCERT_BLOB_MAX;
	b = build(&s);
	assert_int_equal(sshcert_from_blob(sshbuf_ptr(b), sshbuf_len(b), &c), SSHBUF_E_TOOBIG);
	sshbuf_free(b);
}

static void test_valid_at(void **state)
{
	struct sshcert c;
	uint8_t *blob;
	size_t len;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.valid_after = 100;
	c.valid_before = 200;
	assert_false(sshcert_valid_at(&c, 99));
	assert_true(sshcert_valid_at(&c, 100));
	assert_true(sshcert_valid_at(&c, 199));
	assert_false(sshcert_valid_at(&c, 200));
	c.valid_before = 100; /* empty window */
	assert_false(sshcert_valid_at(&c, 100));
	c.valid_after = 0;
	c.valid_before = UINT64_MAX;
	assert_true(sshcert_valid_at(&c, 0));
	assert_false(sshcert_valid_at(&c, UINT64_MAX));
	blob = parse_cert_file("ursa", &c, &len, (char[64]){ 0 });
	assert_false(sshcert_valid_at(&c, T_2020 - 1));
	assert_true(sshcert_valid_at(&c, T_2020));
	assert_true(sshcert_valid_at(&c, T_2030 - 1));
	assert_false(sshcert_valid_at(&c, T_2030));
	assert_true(sshcert_valid_at(&c, (uint64_t)time(NULL)) == (time(NULL) < (time_t)T_2030));
	free(blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_ecdsa_ca_certs),
		cmocka_unit_test(test_ed25519_ca_certs),
		cmocka_unit_test(test_host_forever_cert),
		cmocka_unit_test(test_principal_count_limit),
		cmocka_unit_test(test_string_length_limits),
		cmocka_unit_test(test_ed25519_user_cert),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_truncated_lines),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_type_mismatch),
		cmocka_unit_test(test_garbage_base64),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_valid_at),
	};

	return cmocka_run_group_tests_name("sshcert", tests, group_setup, group_teardown);
}
