/* cmd_forget: tpm-key forget [NAME] — the agent drops the cached PIN of one key, or all
 * of them; the next use asks again. */
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

int cmd_forget(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(4096);
	char note[128];
	struct errmsg e;
	int rc = 1;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		cli_usage("forget", argc == 2 && argv[1][1] == 'h' ? stdout : stderr);
		rc = argc == 2 && argv[1][1] == 'h' ? 0 : 1;
	} else if (args == NULL || reply == NULL ||
		   sshbuf_put_cstring(args, argc == 2 ? argv[1] : "") != 0) {
		rc = cli_fail("forget: bad key name");
	} else if (cli_control(CTL_FORGET, args, reply, &e) != 0) {
		rc = cli_fail("forget: %s", e.text);
	} else {
		if (sshbuf_get_cstring(reply, note, sizeof(note)) == 0)
			fprintf(stderr, "tpm-key: %s\n", note);
		rc = 0;
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
