/* cmd_gen: tpm-key gen — asks the agent to make a key inside the TPM and prints its
 * OpenSSH public key. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "subcommands.h"

static void gen_usage(FILE *f)
{
	fprintf(f, "usage: tpm-key gen [-t ecdsa|rsa] [-b BITS] [-n NAME] [-C COMMENT] [--decrypt]\n"
		"  -t TYPE     ecdsa (default) or rsa\n"
		"  -b BITS     ecdsa: 256 (default), 384, 521; rsa: 2048, 3072 (default)\n"
		"  -n NAME     the key's name in the store (default from the type, e.g. ecdsa-p256)\n"
		"  -C COMMENT  comment shown by ssh-add -l and in the public key\n"
		"  --decrypt   the key can also decrypt (RSA) or do ECDH (ECC), e.g. for gpg\n");
}

int cmd_gen(int argc, char **argv)
{
	const char *type = "ecdsa", *name = "", *comment = "";
	unsigned long bits = 0;
	uint32_t flags = 0;
	static const struct option longopts[] = {
		{ "decrypt", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sshbuf *args = sshbuf_new(4096), *reply = sshbuf_new(64 * 1024);
	char got_name[64], got_comment[256];
	const uint8_t *blob;
	size_t blob_len;
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:b:n:C:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': type = optarg; break;
		case 'b': {
			char *end;

			bits = strtoul(optarg, &end, 10);
			if (*end != '\0' || bits == 0 || bits > 65536) {
				rc = cli_fail("gen: -b %s: not a key size", optarg);
				goto done;
			}
			break;
		}
		case 'n': name = optarg; break;
		case 'C': comment = optarg; break;
		case 'X': flags |= CTL_GEN_DECRYPT; break;
		case 'h': gen_usage(stdout); rc = 0; goto done;
		default: gen_usage(stderr); goto done;
		}
	}
	if (optind != argc) {
		rc = cli_fail("gen: unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, type) != 0 ||
	    sshbuf_put_u32(args, (uint32_t)bits) != 0 || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_cstring(args, comment) != 0 || sshbuf_put_u32(args, flags) != 0) {
		rc = cli_fail("gen: arguments too long");
		goto done;
	}
	if (cli_control(CTL_GEN, args, reply, &e) != 0) {
		rc = cli_fail("gen: %s", e.text);
		goto done;
	}
	if (sshbuf_get_cstring(reply, got_name, sizeof(got_name)) != 0 ||
	    sshbuf_get_string(reply, &blob, &blob_len) != 0 ||
	    sshbuf_get_cstring(reply, got_comment, sizeof(got_comment)) != 0) {
		rc = cli_fail("gen: the agent sent a malformed reply");
		goto done;
	}
	fprintf(stderr, "tpm-key: made key '%s' in the TPM\n", got_name);
	rc = cli_print_pub(blob, blob_len, got_comment);
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
