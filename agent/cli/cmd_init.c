/* cmd_init: tpm-key init [--srk-handle H] [--repin] — makes sure the storage root key
 * exists at its persistent handle and says whether it was created; the agent asks the
 * owner authorization (SO PIN) through pinentry only when the TPM has one. --repin
 * pins the SRK the TPM has now, after a deliberate TPM clear. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "subcommands.h"

static void init_usage(FILE *f)
{
	cli_usage("init", f); /* the text: tpm-key.c */
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "srk-handle", required_argument, NULL, 'H' },
		{ "repin", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sshbuf *args = sshbuf_new(64), *reply = sshbuf_new(4096);
	unsigned long handle = 0;
	uint32_t flags = 0;
	char note[1024], *end;
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			handle = strtoul(optarg, &end, 0);
			if (*end != '\0' || (handle >> 24) != 0x81 || handle > 0x81ffffffUL) {
				rc = cli_fail("init: --srk-handle %s: not a persistent handle (0x81xxxxxx)",
					      optarg);
				goto done;
			}
			break;
		case 'R': flags |= CTL_INIT_REPIN; break;
		case 'h': init_usage(stdout); rc = 0; goto done;
		default: init_usage(stderr); goto done;
		}
	}
	if (optind != argc) {
		init_usage(stderr);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_u32(args, (uint32_t)handle) != 0 ||
	    (flags != 0 && sshbuf_put_u32(args, flags) != 0))
		rc = cli_fail("init: out of memory");
	else if (cli_control_env(CTL_INIT, args, reply, &e) != 0)
		rc = cli_fail("%s", e.text);
	else {
		if (sshbuf_get_cstring(reply, note, sizeof(note)) == 0)
			printf("%s\n", note);
		rc = 0;
	}
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
