/* cmd_wrap: tpm-key wrap --srk FILE -o OUT.tss [-C COMMENT] KEYFILE — wraps a software
 * private key for another machine's TPM, given only that TPM's SRK public key. Runs
 * anywhere: no TPM, no agent. Only the TPM holding that SRK can import the result
 * (tpm-key add OUT.tss there). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../keystore/store.h"
#include "../../keystore/wrap.h"
#include "subcommands.h"

static void wrap_usage(FILE *f)
{
	cli_usage("wrap", f); /* the text: tpm-key.c */
}

/* OUT.tss -> OUT.pub (also .tpm); anything else gets .pub appended. */
static int pub_path(const char *out, char *buf, size_t len)
{
	size_t n = strlen(out);

	if (n > 4 && (strcmp(out + n - 4, ".tss") == 0 || strcmp(out + n - 4, ".tpm") == 0))
		n -= 4;
	return snprintf(buf, len, "%.*s.pub", (int)n, out) < (int)len ? 0 : -1;
}

static int write_outputs(const char *out, const struct tss2key *f, const struct sshkey_pub *pub,
			 const char *comment)
{
	char *pem = NULL, *line = NULL, *text = NULL, path[4096];
	size_t pem_len = 0;
	struct errmsg e;
	int rc = 1;

	if (pub_path(out, path, sizeof(path)) != 0)
		return cli_fail("wrap: %s: path too long", out);
	if (tss2key_to_pem(f, &pem, &pem_len, &e) != 0)
		rc = cli_fail("wrap: %s", e.text);
	else if (sshkey_pub_to_line(pub, comment[0] ? comment : NULL, &line) != 0 ||
		 asprintf(&text, "%s\n", line) < 0)
		rc = cli_fail("wrap: cannot encode the public key");
	else if (store_write_atomic(out, pem, pem_len, 0600, &e) != 0 ||
		 store_write_atomic(path, text, strlen(text), 0644, &e) != 0)
		rc = cli_fail("wrap: %s", e.text);
	else {
		fprintf(stderr, "tpm-key: wrote %s and %s: only the TPM with that SRK can use "
			"it (tpm-key add %s there)\n", out, path, out);
		fputs(text, stdout);
		rc = 0;
	}
	free(text);
	free(pem);
	free(line);
	return rc;
}

static int wrap_file(const char *srk_file, const char *out, const char *comment,
		     const char *path)
{
	struct sshbuf *material = sshbuf_new(8192);
	struct tpm_import_in *in = sodium_malloc(sizeof(*in));
	struct tss2key *f = calloc(1, sizeof(*f));
	struct sshkey_pub pub;
	uint8_t x[32], y[32];
	char type[64], file_comment[256] = "", *srk = NULL;
	size_t srk_len = 0;
	struct errmsg e;
	int rc = 1;

	if (material == NULL || in == NULL || f == NULL) {
		rc = cli_fail("wrap: out of memory");
		goto done;
	}
	memset(in, 0, sizeof(*in));
	if (store_read_file(srk_file, 64 * 1024, &srk, &srk_len, &e) != 0 ||
	    wrap_srk_from_pem(srk, srk_len, x, y, &e) != 0) {
		rc = cli_fail("wrap: %s: %s", srk_file, e.text);
		goto done;
	}
	if (cli_read_private_key(path, material, file_comment, sizeof(file_comment)) != 0)
		goto done;
	if (sshbuf_get_cstring(material, type, sizeof(type)) != 0 ||
	    wrap_material(material, type, in, &e) != 0 ||
	    wrap_importable(in, x, y, f, &pub, &e) != 0) {
		rc = cli_fail("wrap: %s: %s", path, e.text);
		goto done;
	}
	if (comment == NULL) {
		const char *base = strrchr(path, '/');

		comment = file_comment[0] ? file_comment : base ? base + 1 : path;
	}
	rc = write_outputs(out, f, &pub, comment);
done:
	free(srk);
	free(f);
	if (in != NULL)
		sodium_free(in);
	sshbuf_free(material); /* wipes */
	return rc;
}

int cmd_wrap(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "srk", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *srk = NULL, *out = NULL, *comment = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:o:C:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': srk = optarg; break;
		case 'o': out = optarg; break;
		case 'C': comment = optarg; break;
		case 'h': wrap_usage(stdout); return 0;
		default: wrap_usage(stderr); return 1;
		}
	}
	if (optind + 1 != argc || srk == NULL || out == NULL) {
		wrap_usage(stderr);
		return 1;
	}
	if (sodium_init() < 0)
		return cli_fail("wrap: cannot initialise libsodium");
	return wrap_file(srk, out, comment, argv[optind]);
}
