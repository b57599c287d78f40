/* cmd_rm: tpm-key rm [-f] NAME... — deletes keys from the store and from the agent.
 * A TPM key cannot be exported, so a deleted key is gone for good: on a terminal rm
 * asks first; without one (a script) it deletes only with -f. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "subcommands.h"

/* 1 if the user answers yes on the terminal, 0 otherwise. */
static int confirm(const char *name)
{
	char answer[16];

	fprintf(stderr, "tpm-key: delete key '%s'? It cannot be recovered: the TPM never lets "
		"it out, so there is no copy. [y/N] ", name);
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

int cmd_rm(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(4096);
	struct errmsg e;
	int rc = 0, force = 0, first = 1;

	if (argc >= 2 && strcmp(argv[1], "-f") == 0)
		force = 1, first = 2;
	if (argc <= first || argv[first][0] == '-')
		rc = cli_usage_fail("rm");
	else if (!force && !(isatty(STDIN_FILENO) && isatty(STDERR_FILENO)))
		rc = cli_fail("rm: not on a terminal, so not deleting '%s' unasked: a deleted key "
			      "cannot be recovered (add -f to delete it anyway)", argv[first]);
	for (int i = first; rc == 0 && i < argc; i++) {
		sshbuf_reset(args);
		if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[i]) != 0)
			rc = cli_fail("rm: bad key name '%s'", argv[i]);
		else if (!force && !confirm(argv[i]))
			fprintf(stderr, "tpm-key: kept key '%s'\n", argv[i]);
		else if (cli_control(CTL_RM, args, reply, &e) != 0)
			rc = cli_fail("rm: %s", e.text);
		else
			fprintf(stderr, "tpm-key: deleted key '%s' (it cannot be recovered)\n", argv[i]);
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
