/* cmd_seal: tpm-key seal (a secret from stdin sealed by the TPM, optionally bound to
 * PCRs), tpm-key unseal (the secret to stdout) and the sealed part of tpm-key list. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../../protocol/json.h"
#include "client.h"
#include "subcommands.h"

#define SEAL_MAX 128 /* what a TPM sealed-data object holds */

static void seal_usage(FILE *f)
{
	cli_usage("seal", f); /* the text: tpm-key.c */
}

static int seal_rm(const char *name)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(256);
	struct errmsg e;
	int rc = 1;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0)
		rc = cli_fail("seal: bad name '%s'", name);
	else if (cli_control(CTL_SEAL_RM, args, reply, &e) != 0)
		rc = cli_fail("seal --rm: %s", e.text);
	else {
		fprintf(stderr, "tpm-key: removed sealed object '%s'\n", name);
		rc = 0;
	}
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

static int seal_send(const char *name, const char *pcrs, uint32_t flags, const uint8_t *secret,
		     size_t len)
{
	struct sshbuf *args = sshbuf_new(SEAL_MAX + 512), *reply = sshbuf_new(256);
	struct errmsg e;
	int rc = 1;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_u32(args, flags) != 0 || sshbuf_put_cstring(args, pcrs) != 0 ||
	    sshbuf_put_string(args, secret, len) != 0)
		rc = cli_fail("seal: bad arguments (name or PCR list too long?)");
	else if (cli_control_env(CTL_SEAL, args, reply, &e) != 0)
		rc = cli_fail("seal: %s", e.text);
	else {
		fprintf(stderr, "tpm-key: sealed %zu bytes as '%s'%s%s\n", len, name,
			pcrs[0] ? " bound to PCRs " : "", pcrs);
		rc = 0;
	}
	sshbuf_free(args); /* wipes the copy of the secret */
	sshbuf_free(reply);
	return rc;
}

int cmd_seal(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pcr", required_argument, NULL, 'p' },
		{ "no-pin", no_argument, NULL, 'N' },
		{ "rm", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pcrs = "";
	uint8_t *secret;
	size_t len;
	struct errmsg e;
	uint32_t flags = 0;
	int ch, rm = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': pcrs = optarg; break;
		case 'N': flags |= CTL_SEAL_NO_PIN; break;
		case 'r': rm = 1; break;
		case 'h': seal_usage(stdout); return 0;
		default: seal_usage(stderr); return 1;
		}
	}
	if (optind + 1 != argc) {
		seal_usage(stderr);
		return 1;
	}
	if (rm)
		return seal_rm(argv[optind]);
	if (cli_read_stdin(SEAL_MAX, &secret, &len, &e) != 0)
		return cli_fail("seal: secret %s (a sealed secret is at most %d bytes)", e.text,
				SEAL_MAX);
	rc = len == 0 ? cli_fail("seal: no secret on stdin") :
	     seal_send(argv[optind], pcrs, flags, secret, len);
	sodium_free(secret);
	return rc;
}

int cmd_unseal(int argc, char **argv)
{
	struct sshbuf *args = sshbuf_new(256), *reply = sshbuf_new(4096);
	const uint8_t *secret;
	size_t len;
	struct errmsg e;
	int rc = 1;

	if (argc != 2 || argv[1][0] == '-')
		rc = cli_usage_fail("unseal");
	else if (args == NULL || reply == NULL || sshbuf_put_cstring(args, argv[1]) != 0)
		rc = cli_fail("unseal: bad name '%s'", argv[1]);
	else if (cli_control_env(CTL_UNSEAL, args, reply, &e) != 0)
		rc = cli_fail("unseal: %s", e.text);
	else if (sshbuf_get_string(reply, &secret, &len) != 0)
		rc = cli_fail("unseal: the agent sent a malformed reply");
	else if (cli_write_stdout(secret, len, &e) != 0)
		rc = cli_fail("unseal: %s", e.text);
	else
		rc = 0;
	sshbuf_free(args);
	sshbuf_free(reply); /* wipes the secret */
	return rc;
}

int cli_list_sealed(int json)
{
	struct sshbuf *reply = sshbuf_new(256 * 1024);
	char name[64], info[128], qn[400], qi[800];
	uint32_t n = 0;
	struct errmsg e;
	int rc = 0;

	if (reply == NULL || cli_control(CTL_SEAL_LIST, NULL, reply, &e) != 0)
		rc = cli_fail("list: sealed objects: %s", reply ? e.text : "out of memory");
	else if (sshbuf_get_u32(reply, &n) != 0 || n > 100000)
		rc = cli_fail("list: the agent sent a malformed list of sealed objects");
	if (rc == 0 && n > 0 && json == SEALED_TABLE)
		printf("\n%-16s %s\n", "SEALED", "POLICY");
	if (json == SEALED_JSON)
		printf("[");
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		if (sshbuf_get_cstring(reply, name, sizeof(name)) != 0 ||
		    sshbuf_get_cstring(reply, info, sizeof(info)) != 0)
			rc = cli_fail("list: the agent sent a malformed list of sealed objects");
		else if (json == SEALED_JSON && json_quote(name, qn, sizeof(qn)) > 0 &&
			 json_quote(info, qi, sizeof(qi)) > 0)
			printf("%s{\"name\": %s, \"policy\": %s}", i ? ", " : "", qn, qi);
		else if (json == SEALED_NAMES)
			printf("%s\n", name);
		else if (!json)
			printf("%-16s %s\n", name, info[0] ? info : "-");
	}
	if (json == SEALED_JSON)
		printf("]");
	sshbuf_free(reply);
	return rc;
}
