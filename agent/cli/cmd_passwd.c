/* cmd_passwd: tpm-key passwd NAME — the agent asks the old PIN and the new one twice
 * through pinentry and re-wraps the key in the TPM (TPM2_ObjectChangeAuth). */
#include <getopt.h>
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

static void passwd_usage(FILE *f)
{
	cli_usage("passwd", f); /* the text: tpm-key.c */
}

int cmd_passwd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-pin", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sshbuf *args = sshbuf_new(1024), *reply = sshbuf_new(64 * 1024);
	uint32_t flags = 0;
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'N': flags |= CTL_PASSWD_NO_PIN; break;
		case 'h': passwd_usage(stdout); rc = 0; goto done;
		default: passwd_usage(stderr); goto done;
		}
	}
	if (optind != argc - 1) {
		passwd_usage(stderr);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[optind]) != 0 ||
	    sshbuf_put_u32(args, flags) != 0)
		rc = cli_fail("passwd: bad key name");
	else if (cli_control_env(CTL_PASSWD, args, reply, &e) != 0)
		rc = cli_fail("%s", e.text);
	else {
		fprintf(stderr, "tpm-key: %s the PIN of key '%s'\n",
			(flags & CTL_PASSWD_NO_PIN) ? "removed" : "changed", argv[optind]);
		rc = 0;
	}
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
