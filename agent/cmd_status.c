/* cmd_status: tpm-key status — the TPM (vendor, firmware, TCTI, SRK) and the agent
 * (pid, socket, key count), as the agent reports them. */
#include <stdio.h>

#include "client.h"
#include "subcommands.h"

int cmd_status(int argc, char **argv)
{
	struct sshbuf *reply = sshbuf_new(64 * 1024);
	char label[128], value[512];
	uint32_t n;
	struct errmsg e;
	int rc = 0;

	(void)argv;
	if (argc > 1)
		rc = cli_fail("status: takes no arguments");
	else if (reply == NULL || cli_control(CTL_STATUS, NULL, reply, &e) != 0)
		rc = cli_fail("status: %s", reply ? e.text : "out of memory");
	else if (sshbuf_get_u32(reply, &n) != 0 || n > 100)
		rc = cli_fail("status: the agent sent a malformed reply");
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (sshbuf_get_cstring(reply, label, sizeof(label)) != 0 ||
		    sshbuf_get_cstring(reply, value, sizeof(value)) != 0)
			rc = cli_fail("status: the agent sent a malformed reply");
		else
			printf("%-28s %s\n", label, value);
	}
	sshbuf_free(reply);
	return rc;
}
