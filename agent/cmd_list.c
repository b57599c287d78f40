/* cmd_list: tpm-key list — one line per key: name, type/bits, SHA256 fingerprint,
 * keygrip, protection (PIN, PCR policy) and comment. The agent answers from memory; the TPM is not used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../protocol/keygrip.h"
#include "../protocol/sshkey.h"
#include "client.h"
#include "subcommands.h"

/* What the agent says about the key, after the comment. */
static void key_tags(uint32_t flags, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s",
		 (flags & CTL_KEY_SOFTWARE) ? ((flags & CTL_KEY_SOFT_CONFIRM) ?
		 " [software key, memory only, confirm]" : " [software key, memory only]") : "",
		 (flags & CTL_KEY_HOST) ? " [host key: tpm-agent --host]" : "",
		 /* a user agent hides host keys: that is not a removal */
		 (flags & CTL_KEY_HIDDEN) && !(flags & CTL_KEY_HOST) ? " [removed from agent]" : "");
}

/* What protects a key's use besides reaching the agent. */
static const char *protection(uint32_t flags)
{
	if (flags & CTL_KEY_SOFTWARE)
		return "memory";
	if (flags & CTL_KEY_PCR)
		return (flags & CTL_KEY_EMPTY_AUTH) ? "PCR" : "PIN+PCR";
	return (flags & CTL_KEY_EMPTY_AUTH) ? "none" : "PIN";
}

#define LIST_FMT "%-16s %-11s %-51s %-40s %-7s %s%s\n"

/* Ed25519 software keys, which sshkey (TPM key types only) does not parse: the type
 * word from the blob and the fingerprint of the blob itself. */
static int print_other_key(const struct cli_key *k, const char *tags)
{
	struct sshbuf blob;
	char word[32], fp[SSHKEY_FP_MAX];
	unsigned char digest[32], b64[48];
	int n;

	sshbuf_view(&blob, k->blob, k->blob_len);
	if (sshbuf_get_cstring(&blob, word, sizeof(word)) != 0 || strcmp(word, "ssh-ed25519") != 0 ||
	    !EVP_Digest(k->blob, k->blob_len, digest, NULL, EVP_sha256(), NULL))
		return -1;
	n = EVP_EncodeBlock(b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(fp, sizeof(fp), "SHA256:%.*s", n, (const char *)b64);
	printf(LIST_FMT, k->name, "ED25519/256", fp, "-", protection(k->flags), k->comment, tags);
	return 0;
}

static void print_key(const struct cli_key *k)
{
	struct sshkey_pub pub;
	char fp[SSHKEY_FP_MAX], grip[KEYGRIP_HEX_LEN], type[32], tags[128];

	key_tags(k->flags, tags, sizeof(tags));
	if (sshkey_pub_from_blob(k->blob, k->blob_len, &pub) != 0 ||
	    sshkey_fingerprint_sha256(&pub, fp) != 0 || keygrip_hex(&pub, grip) != 0) {
		if (print_other_key(k, tags) != 0)
			printf("%-16s (unreadable public key)\n", k->name);
		return;
	}
	snprintf(type, sizeof(type), "%s/%u", sshkey_family_name(pub.type), sshkey_bits(&pub));
	printf(LIST_FMT, k->name, type, fp, grip, protection(k->flags), k->comment, tags);
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
		printf(LIST_FMT, "NAME", "TYPE", "FINGERPRINT", "KEYGRIP", "PROTECT", "COMMENT", "");
	for (size_t i = 0; i < n; i++)
		print_key(&keys[i]);
	free(keys);
	return cli_list_sealed(); /* cmd_seal.c: sealed objects, in their own table */
}
