/* cmd_update_env: tpm-key update-env — tells the agent that PIN prompts for ssh clients
 * belong on this terminal / display (like gpg-connect-agent UPDATESTARTUPTTY): run it
 * from the login shell, e.g. in ~/.profile or after logging in over ssh. */
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

int cmd_update_env(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(16 * 1024), *reply = sshbuf_new(4096);
	char note[512];
	struct errmsg e;
	int rc = 1;

	if (argc != 1) {
		cli_usage("update-env", argv[1][0] == '-' && argv[1][1] == 'h' ? stdout : stderr);
		rc = argv[1][0] == '-' && argv[1][1] == 'h' ? 0 : 1;
	} else if (args == NULL || reply == NULL || cli_put_env(args) != 0) {
		rc = cli_fail("update-env: environment too large");
	} else if (cli_control(CTL_UPDATE_ENV, args, reply, &e) != 0) {
		rc = cli_fail("update-env: %s", e.text);
	} else {
		if (sshbuf_get_cstring(reply, note, sizeof(note)) == 0)
			fprintf(stderr, "tpm-key: %s\n", note);
		rc = 0;
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
