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
	cli_usage("gen", f); /* the text: tpm-key.c */
}

/* The PCR part of the request (CTL_GEN_PCR): "[BANK:]LIST", then the signer. */
static int gen_put_pcr(struct sshbuf *args, const char *pcr, const char *bank,
		       const char *signer)
{
	char sel[128];

	if ((size_t)snprintf(sel, sizeof(sel), "%s%s%s", bank ? bank : "", bank ? ":" : "",
			     pcr) >= sizeof(sel))
		return -1;
	if (sshbuf_put_cstring(args, sel) != 0 || sshbuf_put_cstring(args, signer) != 0)
		return -1;
	return 0;
}

int cmd_gen(int argc, char **argv)
{
	const char *type = "ecdsa", *name = "", *comment = "";
	const char *pcr = NULL, *bank = NULL, *signer = "", *hierarchy = NULL;
	unsigned long bits = 0;
	uint32_t flags = 0;
	static const struct option longopts[] = {
		{ "decrypt", no_argument, NULL, 'X' },
		{ "no-pin", no_argument, NULL, 'N' },
		{ "host", no_argument, NULL, 'H' },
		{ "pcr", required_argument, NULL, 'P' },
		{ "pcr-bank", required_argument, NULL, 'B' },
		{ "pcr-authorized", no_argument, NULL, 'A' },
		{ "signer", required_argument, NULL, 'S' },
		{ "no-pcr", no_argument, NULL, 'O' },
		{ "hierarchy", required_argument, NULL, 'Y' },
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
		case 'N': flags |= CTL_GEN_NO_PIN; break;
		case 'H': flags |= CTL_GEN_HOST | CTL_GEN_NO_PIN; break; /* sshd types no PIN */
		case 'P': pcr = optarg; flags |= CTL_GEN_PCR; break;
		case 'B': bank = optarg; break;
		case 'A': flags |= CTL_GEN_PCR_AUTHORIZED; break;
		case 'S': signer = optarg; break;
		case 'O': flags |= CTL_GEN_NO_PCR; break;
		case 'Y': hierarchy = optarg; break;
		case 'h': gen_usage(stdout); rc = 0; goto done;
		default: gen_usage(stderr); goto done;
		}
	}
	if (optind != argc) {
		rc = cli_fail("gen: unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (hierarchy != NULL) {
		rc = cli_hierarchy_pub(hierarchy, type, (unsigned)bits);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, type) != 0 ||
	    sshbuf_put_u32(args, (uint32_t)bits) != 0 || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_cstring(args, comment) != 0 || sshbuf_put_u32(args, flags) != 0 ||
	    (pcr != NULL && gen_put_pcr(args, pcr, bank, signer) != 0)) {
		rc = cli_fail("gen: arguments too long");
		goto done;
	}
	if (pcr == NULL && (bank != NULL || signer[0])) {
		rc = cli_fail("gen: --pcr-bank and --signer go with --pcr");
		goto done;
	}
	if (cli_control_env(CTL_GEN, args, reply, &e) != 0) {
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
