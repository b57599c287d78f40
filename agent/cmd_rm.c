/* cmd_rm: tpm-key rm NAME... — deletes keys from the store and from the agent. */
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

int cmd_rm(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(4096);
	struct errmsg e;
	int rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		rc = cli_fail("usage: tpm-key rm NAME...");
	for (int i = 1; rc == 0 && i < argc; i++) {
		sshbuf_reset(args);
		if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[i]) != 0)
			rc = cli_fail("rm: bad key name '%s'", argv[i]);
		else if (cli_control(CTL_RM, args, reply, &e) != 0)
			rc = cli_fail("rm: %s", e.text);
		else
			fprintf(stderr, "tpm-key: deleted key '%s'\n", argv[i]);
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
