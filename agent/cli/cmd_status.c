/* cmd_status: tpm-key status [--json] — the TPM (vendor, firmware, TCTI, SRK, DA state)
 * and the agent (pid, socket, key count), as the agent reports them: label/value rows,
 * or those rows as a JSON document. */
#include <stdio.h>
#include <string.h>

#include "../../protocol/json.h"
#include "client.h"
#include "subcommands.h"

static void print_row(int json, uint32_t i, const char *label, const char *value)
{
	char ql[300], qv[1100];

	if (!json)
		printf("%-28s %s\n", label, value);
	else if (json_quote(label, ql, sizeof(ql)) > 0 && json_quote(value, qv, sizeof(qv)) > 0)
		printf("%s\n    {\"label\": %s, \"value\": %s}", i ? "," : "", ql, qv);
}

int cmd_status(int argc, char **argv)
{
	struct sshbuf *reply = sshbuf_new(64 * 1024);
	char label[128], value[512];
	uint32_t n;
	struct errmsg e;
	int rc = 0, json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 1 && !json)
		rc = cli_usage_fail("status");
	else if (reply == NULL || cli_control(CTL_STATUS, NULL, reply, &e) != 0)
		rc = cli_fail("status: %s", reply ? e.text : "out of memory");
	else if (sshbuf_get_u32(reply, &n) != 0 || n > 100)
		rc = cli_fail("status: the agent sent a malformed reply");
	if (rc == 0 && json)
		printf("{\"version\": 1,\n  \"status\": [");
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (sshbuf_get_cstring(reply, label, sizeof(label)) != 0 ||
		    sshbuf_get_cstring(reply, value, sizeof(value)) != 0)
			rc = cli_fail("status: the agent sent a malformed reply");
		else
			print_row(json, i, label, value);
	}
	if (json)
		printf("%s\n", rc == 0 ? "]}" : "");
	sshbuf_free(reply);
	return rc;
}
