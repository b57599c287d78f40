/* cmd_cert: tpm-key cert add|list|rm|show — OpenSSH certificates kept beside their
 * keys (as files under the data dir, or in TPM NV RAM) and served by the agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../keystore/store.h"
#include "../../protocol/json.h"
#include "../../protocol/sshcert.h"
#include "client.h"
#include "subcommands.h"

static const char *where_name(uint32_t where)
{
	return where == CTL_CERT_NV ? "nv" : where == CTL_CERT_FILE ? "file" : "?";
}

static void format_time(uint64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == UINT64_MAX)
		snprintf(out, len, "forever");
	else if (t == 0)
		snprintf(out, len, "always");
	else if (t > (uint64_t)INT64_MAX || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, len, "%llu", (unsigned long long)t);
	else
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int cert_add(int argc, char **argv)
{
	uint32_t where = CTL_CERT_FILE;
	const char *name = NULL, *file = NULL;
	struct sshbuf *args = sshbuf_new(SSHCERT_BLOB_MAX * 2 + 512), *reply = sshbuf_new(4096);
	char *text = NULL, note[512];
	size_t len;
	struct errmsg e;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nv") == 0)
			where = CTL_CERT_NV;
		else if (strcmp(argv[i], "--file") == 0)
			where = CTL_CERT_FILE;
		else if (strcmp(argv[i], "--auto") == 0)
			where = CTL_CERT_AUTO;
		else if (name == NULL)
			name = argv[i];
		else if (file == NULL)
			file = argv[i];
		else
			return cli_usage_fail("cert");
	}
	if (name == NULL || file == NULL)
		return cli_usage_fail("cert");
	if (store_read_file(file, SSHCERT_BLOB_MAX * 2, &text, &len, &e) != 0) {
		rc = cli_fail("cert add: %s", e.text);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_cstring(args, text) != 0 || sshbuf_put_u32(args, where) != 0) {
		rc = cli_fail("cert add: %s is too large for a certificate", file);
		goto done;
	}
	if (cli_control(CTL_CERT_ADD, args, reply, &e) != 0) {
		rc = cli_fail("cert add: %s", e.text);
		goto done;
	}
	if (sshbuf_get_cstring(reply, note, sizeof(note)) == 0)
		fprintf(stderr, "tpm-key: %s\n", note);
	rc = 0;
done:
	free(text);
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

/* Calls fn for each certificate the agent holds; stops at the first non-zero return. */
static int cert_each(int (*fn)(const char *key, const struct sshcert *c, const char *comment,
			       uint32_t where, uint32_t nv_index, void *arg), void *arg)
{
	struct sshbuf *reply = sshbuf_new(1024 * 1024);
	struct sshcert *c = calloc(1, sizeof(*c));
	char key[64], comment[256];
	const uint8_t *blob;
	size_t blob_len;
	uint32_t n, where, nv_index;
	struct errmsg e;
	int rc = 0;

	if (reply == NULL || c == NULL || cli_control(CTL_CERT_LIST, NULL, reply, &e) != 0)
		rc = cli_fail("cert: %s", reply && c ? e.text : "out of memory");
	else if (sshbuf_get_u32(reply, &n) != 0)
		rc = cli_fail("cert: the agent sent a malformed list");
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (sshbuf_get_cstring(reply, key, sizeof(key)) != 0 ||
		    sshbuf_get_string(reply, &blob, &blob_len) != 0 ||
		    sshbuf_get_cstring(reply, comment, sizeof(comment)) != 0 ||
		    sshbuf_get_u32(reply, &where) != 0 || sshbuf_get_u32(reply, &nv_index) != 0 ||
		    sshcert_from_blob(blob, blob_len, c) != 0)
			rc = cli_fail("cert: the agent sent a malformed list");
		else
			rc = fn(key, c, comment, where, nv_index, arg);
	}
	free(c);
	sshbuf_free(reply);
	return rc < 0 ? 0 : rc;
}

static void principals_text(const struct sshcert *c, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->n_principals && used < len; i++)
		used += snprintf(out + used, len - used, "%s%s", i ? "," : "", c->principals[i]);
	if (c->n_principals == 0)
		snprintf(out, len, "(any)");
}

static int print_cert_row(const char *key, const struct sshcert *c, const char *comment,
			  uint32_t where, uint32_t nv_index, void *arg)
{
	char from[32], to[32], princ[512], loc[32];
	uint64_t now = (uint64_t)time(NULL);

	(void)comment;
	(void)arg;
	format_time(c->valid_after, from, sizeof(from));
	format_time(c->valid_before, to, sizeof(to));
	principals_text(c, princ, sizeof(princ));
	if (where == CTL_CERT_NV)
		snprintf(loc, sizeof(loc), "nv:0x%08x", nv_index);
	else
		snprintf(loc, sizeof(loc), "%s", where_name(where));
	printf("%-16s %-5s serial=%-6llu id=\"%s\" principals=%s valid=%s..%s %s %s\n", key,
	       c->cert_type == SSHCERT_TYPE_HOST ? "host" : "user",
	       (unsigned long long)c->serial, c->key_id, princ, from, to, loc,
	       sshcert_valid_at(c, now) ? "valid" :
	       (now < c->valid_after ? "NOT-YET-VALID" : "EXPIRED"));
	return 0;
}

/* cli_cert_json: one certificate of the key named in *arg as a JSON object. */
struct json_arg {
	const char *name;
	int n;
};

static int print_cert_json(const char *key, const struct sshcert *c, const char *comment,
			   uint32_t where, uint32_t nv_index, void *arg)
{
	struct json_arg *j = arg;
	char from[32], to[32], q[2 * SSHCERT_BLOB_MAX];
	uint64_t now = (uint64_t)time(NULL);

	(void)comment;
	if (strcmp(key, j->name) != 0)
		return 0;
	format_time(c->valid_after, from, sizeof(from));
	format_time(c->valid_before, to, sizeof(to));
	printf("%s{\"serial\": %llu, \"type\": \"%s\", ", j->n++ ? ", " : "",
	       (unsigned long long)c->serial, c->cert_type == SSHCERT_TYPE_HOST ? "host" : "user");
	printf("\"key_id\": %s, \"principals\": [",
	       json_quote(c->key_id, q, sizeof(q)) < 0 ? "\"\"" : q);
	for (size_t i = 0; i < c->n_principals; i++)
		printf("%s%s", i ? ", " : "",
		       json_quote(c->principals[i], q, sizeof(q)) < 0 ? "\"\"" : q);
	printf("], \"valid_after\": \"%s\", \"valid_before\": \"%s\", \"state\": \"%s\", ",
	       from, to, sshcert_valid_at(c, now) ? "valid" :
	       (now < c->valid_after ? "not-yet-valid" : "expired"));
	if (where == CTL_CERT_NV)
		printf("\"stored\": \"nv\", \"nv_index\": \"0x%08x\"}", nv_index);
	else
		printf("\"stored\": \"file\"}");
	return 0;
}

int cli_cert_json(const char *name)
{
	struct json_arg j = { name, 0 };
	int rc;

	printf("[");
	rc = cert_each(print_cert_json, &j);
	printf("]");
	return rc;
}

struct show_arg {
	const char *name;
	int found;
};

static int print_cert_long(const char *key, const struct sshcert *c, const char *comment,
			   uint32_t where, uint32_t nv_index, void *arg)
{
	struct show_arg *s = arg;
	char from[32], to[32];

	if (strcmp(key, s->name) != 0)
		return 0;
	s->found = 1;
	format_time(c->valid_after, from, sizeof(from));
	format_time(c->valid_before, to, sizeof(to));
	printf("%s:\n", key);
	printf("        Type: %s %s certificate\n", sshcert_type_name(c->key_type),
	       c->cert_type == SSHCERT_TYPE_HOST ? "host" : "user");
	printf("        Signing CA: %s\n", c->ca_fingerprint);
	printf("        Key ID: \"%s\"\n", c->key_id);
	printf("        Serial: %llu\n", (unsigned long long)c->serial);
	printf("        Valid: from %s to %s\n", from, to);
	printf("        Principals:%s\n", c->n_principals ? "" : " (none)");
	for (size_t i = 0; i < c->n_principals; i++)
		printf("                %s\n", c->principals[i]);
	printf("        Comment: %s\n", comment);
	if (where == CTL_CERT_NV)
		printf("        Stored: TPM NV index 0x%08x\n", nv_index);
	else
		printf("        Stored: file\n");
	return 0;
}

static int cert_rm(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(4096);
	unsigned long long serial = 0;
	struct errmsg e;
	char *end;
	int rc = 0;

	if (argc < 2 || argc > 3)
		rc = cli_usage_fail("cert");
	else if (argc == 3 && ((serial = strtoull(argv[2], &end, 10)) == 0 || *end != '\0'))
		rc = cli_fail("cert rm: '%s' is not a serial number", argv[2]);
	else if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[1]) != 0 ||
		 sshbuf_put_u64(args, serial) != 0)
		rc = cli_fail("cert rm: bad key name");
	else if (cli_control(CTL_CERT_RM, args, reply, &e) != 0)
		rc = cli_fail("cert rm: %s", e.text);
	else
		fprintf(stderr, "tpm-key: removed the certificate of key '%s'\n", argv[1]);
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

int cmd_cert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cert_add(argc - 1, argv + 1);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return cert_each(print_cert_row, NULL);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return cert_rm(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "show") == 0) {
		struct show_arg s = { argv[2], 0 };
		int rc = cert_each(print_cert_long, &s);

		if (rc == 0 && !s.found)
			return cli_fail("cert show: key '%s' has no certificate", argv[2]);
		return rc;
	}
	return cli_usage_fail("cert");
}
