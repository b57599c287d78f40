/* cmd_load: tpm-key load NAME... — (re)reads keys from the store into the agent, e.g.
 * after ssh-add -d or -D removed them. */
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

int cmd_load(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(64 * 1024);
	struct errmsg e;
	int rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		rc = cli_fail("usage: tpm-key load NAME...");
	for (int i = 1; rc == 0 && i < argc; i++) {
		sshbuf_reset(args);
		if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[i]) != 0)
			rc = cli_fail("load: bad key name '%s'", argv[i]);
		else if (cli_control(CTL_LOAD, args, reply, &e) != 0)
			rc = cli_fail("load: %s", e.text);
		else
			fprintf(stderr, "tpm-key: loaded key '%s'\n", argv[i]);
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
