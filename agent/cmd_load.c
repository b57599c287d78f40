/* cmd_load: tpm-key load [-c] [-t SECONDS] NAME... — (re)reads keys from the store into
 * the agent, e.g. after ssh-add -d or -D removed them; -c and -t as with ssh-add. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client.h"
#include "subcommands.h"

static void load_usage(FILE *f)
{
	fprintf(f, "usage: tpm-key load [-c] [-t SECONDS] NAME...\n"
		"  -c          confirm each use: the agent asks (pinentry) before every signature\n"
		"  -t SECONDS  remove the key from the agent after SECONDS\n");
}

static int load_one(const char *name, uint32_t flags, uint32_t lifetime)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(64 * 1024);
	struct errmsg e;
	int rc = 0;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_u32(args, flags) != 0 || sshbuf_put_u32(args, lifetime) != 0)
		rc = cli_fail("load: bad key name '%s'", name);
	else if (cli_control(CTL_LOAD, args, reply, &e) != 0)
		rc = cli_fail("load: %s", e.text);
	else
		fprintf(stderr, "tpm-key: loaded key '%s'\n", name);
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

int cmd_load(int argc, char **argv)
{
	uint32_t flags = 0, lifetime = 0;
	char *end;
	int ch, rc = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "ct:h")) != -1) {
		switch (ch) {
		case 'c': flags |= CTL_LOAD_CONFIRM; break;
		case 't':
			lifetime = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || lifetime == 0 || lifetime > 86400 * 365)
				return cli_fail("load: -t %s: not a number of seconds", optarg);
			break;
		case 'h': load_usage(stdout); return 0;
		default: load_usage(stderr); return 1;
		}
	}
	if (optind == argc) {
		load_usage(stderr);
		return 1;
	}
	for (int i = optind; rc == 0 && i < argc; i++)
		rc = load_one(argv[i], flags, lifetime);
	return rc;
}
