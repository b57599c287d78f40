/* cmd_hierarchy: tpm-key gen --hierarchy H — the public key of a hierarchy key (made
 * from the hierarchy's seed with a fixed template; no key file), to put in
 * authorized_keys or known_hosts before the agent serves it (hierarchy-keys). */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "subcommands.h"

int cli_hierarchy_pub(const char *hierarchy, const char *type, unsigned bits)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(8192);
	char tname[32], comment[64];
	const uint8_t *blob;
	size_t blob_len;
	struct errmsg e;
	int rc = 1;

	if (strcmp(type, "ecdsa") == 0)
		snprintf(tname, sizeof(tname), "ecdsa%u", bits ? bits : 256);
	else if (strcmp(type, "rsa") == 0)
		snprintf(tname, sizeof(tname), "rsa%u", bits ? bits : 3072);
	else {
		rc = cli_fail("gen: -t %s: hierarchy keys are ecdsa or rsa", type);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, hierarchy) != 0 ||
	    sshbuf_put_cstring(args, tname) != 0)
		rc = cli_fail("gen: arguments too long");
	else if (cli_control(CTL_HIERARCHY_PUB, args, reply, &e) != 0)
		rc = cli_fail("gen: %s", e.text);
	else if (sshbuf_get_string(reply, &blob, &blob_len) != 0 ||
		 sshbuf_get_cstring(reply, comment, sizeof(comment)) != 0)
		rc = cli_fail("gen: the agent sent a malformed reply");
	else {
		fprintf(stderr, "tpm-key: the %s hierarchy's %s key (served as '%s-%s' with "
			"hierarchy-keys = %s:%s)\n", hierarchy, tname, hierarchy, tname, hierarchy,
			tname);
		rc = cli_print_pub(blob, blob_len, comment);
	}
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
