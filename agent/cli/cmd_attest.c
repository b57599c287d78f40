/* cmd_attest: tpm-key attest (the agent's TPM certifies a key with its attestation
 * key; the file goes to -o) and tpm-key verify-attestation (the offline check a CA
 * runs before it signs a certificate for the key; no TPM, no agent). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../keystore/store.h"
#include "../../protocol/attestation.h"
#include "../../protocol/sshkey.h"
#include "client.h"
#include "subcommands.h"

static int parse_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int attest_request(const char *name, const uint8_t *nonce, size_t nonce_len,
			  const char *file)
{
	struct sshbuf *args = sshbuf_new(512), *reply = sshbuf_new(ATT_FILE_MAX + 64);
	char *text = calloc(1, ATT_FILE_MAX + 1);
	struct errmsg e;
	int rc = 1;

	if (args == NULL || reply == NULL || text == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_string(args, nonce, nonce_len) != 0)
		rc = cli_fail("attest: bad arguments");
	else if (cli_control_env(CTL_ATTEST, args, reply, &e) != 0)
		rc = cli_fail("attest: %s", e.text);
	else if (sshbuf_get_cstring(reply, text, ATT_FILE_MAX + 1) != 0)
		rc = cli_fail("attest: the agent sent a malformed reply");
	else if (store_write_atomic(file, text, strlen(text), 0644, &e) != 0)
		rc = cli_fail("attest: %s", e.text);
	else {
		fprintf(stderr, "tpm-key: attestation of '%s' written to %s\n", name, file);
		rc = 0;
	}
	free(text);
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

int cmd_attest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "nonce", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	uint8_t nonce[ATT_NONCE_MAX];
	size_t nonce_len = 0;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'n':
			if (parse_hex(optarg, nonce, sizeof(nonce), &nonce_len) != 0)
				return cli_fail("attest: --nonce takes up to %d bytes in hex",
						ATT_NONCE_MAX);
			break;
		case 'h': cli_usage("attest", stdout); return 0;
		default: return cli_usage_fail("attest");
		}
	}
	if (optind + 1 != argc || out == NULL)
		return cli_usage_fail("attest");
	return attest_request(argv[optind], nonce, nonce_len, out);
}

static int verify_file(const char *file, struct att_verify_opts *o)
{
	struct attestation *a = calloc(1, sizeof(*a));
	char *text = NULL, report[2048];
	size_t len;
	struct errmsg e;
	int rc = 1;

	if (a == NULL)
		return cli_fail("verify-attestation: out of memory");
	if (store_read_file(file, ATT_FILE_MAX, &text, &len, &e) != 0 ||
	    attestation_decode(text, len, a, &e) != 0 ||
	    attestation_verify(a, o, report, sizeof(report), &e) != 0)
		rc = cli_fail("verify-attestation: FAILED: %s", e.text);
	else {
		printf("%s%s\n", report, o->ek_ca_file ?
		       "attestation verified: the key was generated in, and cannot leave, a TPM "
		       "whose EK the given CA certified" :
		       "attestation consistent, but NOT verified: without --ek-ca nothing shows "
		       "that a real TPM made it");
		rc = 0;
	}
	free(text);
	free(a);
	return rc;
}

int cmd_verify_attestation(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "ek-ca", required_argument, NULL, 'c' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct att_verify_opts o = { 0 };
	struct sshkey_pub key;
	uint8_t nonce[ATT_NONCE_MAX];
	char *line = NULL;
	size_t len;
	struct errmsg e;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (store_read_file(optarg, 16384, &line, &len, &e) != 0 ||
			    sshkey_pub_from_line(line, &key, NULL, 0) != 0) {
				free(line);
				return cli_fail("verify-attestation: %s: not an OpenSSH public key",
						optarg);
			}
			free(line);
			line = NULL;
			o.key = &key;
			break;
		case 'c': o.ek_ca_file = optarg; break;
		case 'n':
			if (parse_hex(optarg, nonce, sizeof(nonce), &o.nonce_len) != 0)
				return cli_fail("verify-attestation: bad --nonce");
			o.nonce = nonce;
			break;
		case 'h': cli_usage("verify-attestation", stdout); return 0;
		default: return cli_usage_fail("verify-attestation");
		}
	}
	if (optind + 1 != argc || o.key == NULL)
		return cli_usage_fail("verify-attestation");
	rc = verify_file(argv[optind], &o);
	return rc;
}
