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
		"                    [--no-pin]\n"
		"  -t TYPE     ecdsa (default) or rsa\n"
		"  -b BITS     ecdsa: 256 (default), 384, 521; rsa: 2048, 3072 (default)\n"
		"  -n NAME     the key's name in the store (default from the type, e.g. ecdsa-p256)\n"
		"  -C COMMENT  comment shown by ssh-add -l and in the public key\n"
		"  --decrypt   the key can also decrypt (RSA) or do ECDH (ECC), e.g. for gpg\n"
		"  --host      a host key for sshd (no PIN): only tpm-agent --host offers it\n"
		"              (sshd_config: HostKey <data dir>/keys/NAME.pub, HostKeyAgent SOCKET)\n"
		"  --no-pin    no PIN: anyone who reaches the agent can use the key (default:\n"
		"              the agent asks a new PIN twice through pinentry, on this terminal)\n"
		"  --pcr LIST  bind the key to the current values of these PCRs, e.g. 0,1,2,3,7\n"
		"              (config: platform-policy, pcr-selection); it then works only in\n"
		"              this platform state (with a PIN: both are needed)\n"
		"  --pcr-bank BANK       sha256 (default), sha1, sha384, sha512\n"
		"  --pcr-authorized      PolicyAuthorize by a signing key of yours instead, so that\n"
		"              `tpm-key pcr-seal NAME` can approve a new state after an update\n"
		"  --signer NAME         that signing key (default: a new NAME-policy-signer)\n"
		"  --no-pcr    not bound, whatever the platform-policy setting says\n"
		"  --hierarchy H  print the hierarchy key of this type under H (owner,\n"
		"              endorsement, null): made from the hierarchy's seed, no file\n"
		"              (the setting hierarchy-keys serves it)\n");
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
