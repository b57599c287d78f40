/* cmd_pcr: tpm-key pcr-seal NAME — after an update, once you trust the new platform
 * state, has the agent sign a policy for the current PCR values into a --pcr-authorized
 * key's file, so the key works again. */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

static void pcr_seal_usage(FILE *f)
{
	cli_usage("pcr-seal", f); /* the text: tpm-key.c */
}

int cmd_pcr_seal(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(1024), *reply = sshbuf_new(4096);
	char note[512];
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt(argc, argv, "h")) != -1) {
		if (ch == 'h') {
			pcr_seal_usage(stdout);
			rc = 0;
		} else {
			pcr_seal_usage(stderr);
		}
		goto done;
	}
	if (optind + 1 != argc) {
		pcr_seal_usage(stderr);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[optind]) != 0) {
		rc = cli_fail("pcr-seal: arguments too long");
		goto done;
	}
	if (cli_control(CTL_PCR_SEAL, args, reply, &e) != 0) {
		rc = cli_fail("%s", e.text);
		goto done;
	}
	if (sshbuf_get_cstring(reply, note, sizeof(note)) != 0) {
		rc = cli_fail("pcr-seal: the agent sent a malformed reply");
		goto done;
	}
	printf("%s\n", note);
	rc = 0;
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
