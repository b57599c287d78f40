/* cmd_add: tpm-key add [-n NAME] [-C COMMENT] FILE — a TSS2 key file made elsewhere joins
 * the store and the agent serves it: a key wrapped for this TPM (tpm-key wrap, ssh-tpm-
 * keygen --wrap) is imported; a loadable one (ssh-tpm-agent's .tpm, tpm2-openssl) is
 * checked by loading it. The agent does the TPM part; the file is left alone. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../keystore/store.h"
#include "../../protocol/sshkey.h"
#include "../../protocol/tss2key.h"
#include "client.h"
#include "subcommands.h"

static void add_usage(FILE *f)
{
	cli_usage("add", f); /* the text: tpm-key.c */
}

/* dir/foo.tss -> foo (also .tpm, .pem, .key); "" when that is no valid key name. */
static void default_name(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot != NULL && (strcmp(dot, ".tss") == 0 || strcmp(dot, ".tpm") == 0 ||
			    strcmp(dot, ".pem") == 0 || strcmp(dot, ".key") == 0))
		snprintf(name, len, "%.*s", (int)(dot - base), base);
	else
		snprintf(name, len, "%s", base);
	if (!store_name_valid(name))
		name[0] = '\0';
}

/* The comment of foo.pub beside foo.tss/foo.tpm (or FILE.pub), when there is one. */
static void pub_comment(const char *path, char *comment, size_t len)
{
	char pub[4200], *line = NULL;
	size_t n = strlen(path), line_len;
	struct sshkey_pub k;
	struct errmsg e;

	if (n > 4 && (strcmp(path + n - 4, ".tss") == 0 || strcmp(path + n - 4, ".tpm") == 0))
		n -= 4;
	if (snprintf(pub, sizeof(pub), "%.*s.pub", (int)n, path) >= (int)sizeof(pub) ||
	    store_read_file(pub, 16384, &line, &line_len, &e) != 0)
		return;
	if (sshkey_pub_from_line(line, &k, comment, len) != 0)
		comment[0] = '\0';
	free(line);
}

int cmd_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sshbuf *args = NULL, *reply = NULL;
	char name[STORE_NAME_MAX] = "", comment[256] = "", got_name[64], got_comment[256];
	const char *path, *base;
	char *pem = NULL;
	size_t pem_len = 0, blob_len;
	const uint8_t *blob;
	struct errmsg e;
	int ch, rc = 1, named = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:C:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': snprintf(name, sizeof(name), "%s", optarg); named = 1; break;
		case 'C': snprintf(comment, sizeof(comment), "%s", optarg); break;
		case 'h': add_usage(stdout); return 0;
		default: add_usage(stderr); return 1;
		}
	}
	if (optind + 1 != argc) {
		add_usage(stderr);
		return 1;
	}
	path = argv[optind];
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!named)
		default_name(path, name, sizeof(name));
	if (comment[0] == '\0')
		pub_comment(path, comment, sizeof(comment));
	if (store_read_file(path, TSS2KEY_FILE_MAX, &pem, &pem_len, &e) != 0)
		return cli_fail("add: %s", e.text);
	args = sshbuf_new(TSS2KEY_FILE_MAX + 1024);
	reply = sshbuf_new(64 * 1024);
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_cstring(args, comment) != 0 || sshbuf_put_cstring(args, base) != 0 ||
	    sshbuf_put_string(args, pem, pem_len) != 0)
		rc = cli_fail("add: request too large");
	else if (cli_control(CTL_ADD, args, reply, &e) != 0)
		rc = cli_fail("%s: %s", path, e.text);
	else if (sshbuf_get_cstring(reply, got_name, sizeof(got_name)) != 0 ||
		 sshbuf_get_string(reply, &blob, &blob_len) != 0 ||
		 sshbuf_get_cstring(reply, got_comment, sizeof(got_comment)) != 0)
		rc = cli_fail("add: the agent sent a malformed reply");
	else {
		fprintf(stderr, "tpm-key: added %s as key '%s'\n", path, got_name);
		rc = cli_print_pub(blob, blob_len, got_comment);
	}
	free(pem);
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
