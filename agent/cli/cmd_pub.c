/* cmd_pub: tpm-key pub NAME — prints the key's OpenSSH public key line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subcommands.h"

int cmd_pub(int argc, char **argv)
{
	struct cli_key *keys;
	size_t n;
	struct errmsg e;
	int rc = -1;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage_fail("pub");
	if (cli_list_keys(&keys, &n, &e) != 0)
		return cli_fail("pub: %s", e.text);
	for (size_t i = 0; i < n && rc < 0; i++)
		if (cli_key_is(&keys[i], argv[1]))
			rc = cli_print_pub(keys[i].blob, keys[i].blob_len, keys[i].comment);
	free(keys);
	if (rc < 0)
		return cli_fail("pub: no key named '%s' (see tpm-key list)", argv[1]);
	return rc;
}
