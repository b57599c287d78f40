/* cmd_srk: tpm-key srk [-o FILE] — this TPM's SRK public key (PEM) and TPM name, to hand
 * to whoever wraps keys for this machine (tpm-key wrap --srk FILE on their machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../keystore/store.h"
#include "client.h"
#include "subcommands.h"

static void srk_usage(FILE *f)
{
	cli_usage("srk", f); /* the text: tpm-key.c */
}

int cmd_srk(int argc, char **argv)
{
	struct sshbuf *reply = sshbuf_new(8192);
	const char *outfile = NULL;
	char pem[4096], hier[32];
	const uint8_t *name;
	size_t name_len;
	uint32_t handle;
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt(argc, argv, "o:h")) != -1) {
		switch (ch) {
		case 'o': outfile = optarg; break;
		case 'h': srk_usage(stdout); rc = 0; goto done;
		default: srk_usage(stderr); goto done;
		}
	}
	if (optind != argc) {
		srk_usage(stderr);
		goto done;
	}
	if (reply == NULL) {
		rc = cli_fail("srk: out of memory");
		goto done;
	}
	if (cli_control(CTL_SRK, NULL, reply, &e) != 0) {
		rc = cli_fail("srk: %s", e.text);
		goto done;
	}
	if (sshbuf_get_cstring(reply, pem, sizeof(pem)) != 0 ||
	    sshbuf_get_string(reply, &name, &name_len) != 0 ||
	    sshbuf_get_u32(reply, &handle) != 0 ||
	    sshbuf_get_cstring(reply, hier, sizeof(hier)) != 0) {
		rc = cli_fail("srk: the agent sent a malformed reply");
		goto done;
	}
	if (outfile != NULL) {
		if (store_write_atomic(outfile, pem, strlen(pem), 0644, &e) != 0) {
			rc = cli_fail("srk: %s", e.text);
			goto done;
		}
		fprintf(stderr, "tpm-key: wrote the SRK public key to %s\n", outfile);
	} else {
		fputs(pem, stdout);
	}
	printf("name: ");
	for (size_t i = 0; i < name_len; i++)
		printf("%02x", name[i]);
	printf("\nhandle: 0x%08x\nhierarchy: %s\n", handle, hier);
	rc = 0;
done:
	sshbuf_free(reply);
	return rc;
}
