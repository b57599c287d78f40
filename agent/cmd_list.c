/* cmd_list: tpm-key list — one line per key: name, type/bits, SHA256 fingerprint,
 * keygrip and comment. The agent answers from memory; the TPM is not used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../protocol/keygrip.h"
#include "../protocol/sshkey.h"
#include "client.h"
#include "subcommands.h"

static void print_key(const struct cli_key *k)
{
	struct sshkey_pub pub;
	char fp[SSHKEY_FP_MAX], grip[KEYGRIP_HEX_LEN], type[32];

	if (sshkey_pub_from_blob(k->blob, k->blob_len, &pub) != 0 ||
	    sshkey_fingerprint_sha256(&pub, fp) != 0 || keygrip_hex(&pub, grip) != 0) {
		printf("%-16s (unreadable public key)\n", k->name);
		return;
	}
	snprintf(type, sizeof(type), "%s/%u", sshkey_family_name(pub.type), sshkey_bits(&pub));
	printf("%-16s %-10s %-51s %s %s%s\n", k->name, type, fp, grip, k->comment,
	       (k->flags & CTL_KEY_HIDDEN) ? " [removed from agent]" : "");
}

int cmd_list(int argc, char **argv)
{
	struct cli_key *keys;
	size_t n;
	struct errmsg e;

	(void)argv;
	if (argc > 1)
		return cli_fail("list: takes no arguments");
	if (cli_list_keys(&keys, &n, &e) != 0)
		return cli_fail("list: %s", e.text);
	if (n == 0)
		fprintf(stderr, "tpm-key: no keys (make one with: tpm-key gen)\n");
	else
		printf("%-16s %-10s %-51s %-40s %s\n", "NAME", "TYPE", "FINGERPRINT", "KEYGRIP",
		       "COMMENT");
	for (size_t i = 0; i < n; i++)
		print_key(&keys[i]);
	free(keys);
	return 0;
}
