/* cmd_list: tpm-key list — one line per key: name, type/bits, SHA256 fingerprint,
 * keygrip, protection (PIN, PCR policy) and comment. The agent answers from memory; the TPM is not used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../protocol/json.h"
#include "../../protocol/keygrip.h"
#include "../../protocol/sshkey.h"
#include "client.h"
#include "subcommands.h"

/* What the agent says about the key, after the comment. */
static void key_tags(uint32_t flags, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s%s",
		 (flags & CTL_KEY_UNUSABLE) ? " [unusable: not this TPM's SRK, see tpm-key status]" : "",
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

/* Ed25519 software keys, which sshkey (TPM key types only) does not parse: the
 * fingerprint of the blob itself. 0, or -1 if the blob is no Ed25519 key. */
static int other_key_fp(const struct cli_key *k, char fp[SSHKEY_FP_MAX])
{
	struct sshbuf blob;
	char word[32];
	unsigned char digest[32], b64[48];
	int n;

	sshbuf_view(&blob, k->blob, k->blob_len);
	if (sshbuf_get_cstring(&blob, word, sizeof(word)) != 0 || strcmp(word, "ssh-ed25519") != 0 ||
	    !EVP_Digest(k->blob, k->blob_len, digest, NULL, EVP_sha256(), NULL))
		return -1;
	n = EVP_EncodeBlock(b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(fp, SSHKEY_FP_MAX, "SHA256:%.*s", n, (const char *)b64);
	return 0;
}

static int print_other_key(const struct cli_key *k, const char *tags)
{
	char fp[SSHKEY_FP_MAX];

	if (other_key_fp(k, fp) != 0)
		return -1;
	printf(LIST_FMT, k->name, "ED25519/256", fp, "-", protection(k->flags), k->comment, tags);
	return 0;
}

static void print_key(const struct cli_key *k)
{
	struct sshkey_pub pub;
	char fp[SSHKEY_FP_MAX], grip[KEYGRIP_HEX_LEN], type[32], tags[256];

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

/* One key as a JSON object (schema in tpm-key(1), JSON OUTPUT). */
static void print_key_json(const struct cli_key *k, int first)
{
	struct sshkey_pub pub;
	char fp[SSHKEY_FP_MAX], grip[KEYGRIP_HEX_LEN], qn[200], qc[800];
	const char *family = "unknown";
	unsigned bits = 0;
	int have = sshkey_pub_from_blob(k->blob, k->blob_len, &pub) == 0 &&
		   sshkey_fingerprint_sha256(&pub, fp) == 0 && keygrip_hex(&pub, grip) == 0;

	if (have) {
		family = sshkey_family_name(pub.type);
		bits = sshkey_bits(&pub);
	} else if (other_key_fp(k, fp) == 0) {
		family = "ED25519";
		bits = 256;
	} else {
		fp[0] = '\0';
	}
	if (json_quote(k->name, qn, sizeof(qn)) < 0 || json_quote(k->comment, qc, sizeof(qc)) < 0)
		snprintf(qc, sizeof(qc), "\"\"");
	printf("%s\n    {\"name\": %s, \"type\": \"%s\", \"bits\": %u, \"fingerprint\": \"%s\", ",
	       first ? "" : ",", qn, family, bits, fp);
	printf(have ? "\"keygrip\": \"%s\", " : "\"keygrip\": null, ", grip);
	printf("\"comment\": %s, \"protection\": \"%s\", \"pin\": %s, \"pcr\": %s, ", qc,
	       protection(k->flags),
	       !(k->flags & (CTL_KEY_EMPTY_AUTH | CTL_KEY_SOFTWARE)) ? "true" : "false",
	       (k->flags & CTL_KEY_PCR) ? "true" : "false");
	printf("\"origin\": \"%s\", ", (k->flags & CTL_KEY_SOFTWARE) ? "software" :
	       (k->flags & CTL_KEY_GPG) ? "gpg" : (k->flags & CTL_KEY_WRAPPED) ? "wrapped" :
	       (k->flags & CTL_KEY_IMPORTED) ? "imported" : "generated");
	printf("\"software\": %s, \"host\": %s, \"in_agent\": %s, \"usable\": %s, "
	       "\"certificates\": ", (k->flags & CTL_KEY_SOFTWARE) ? "true" : "false",
	       (k->flags & CTL_KEY_HOST) ? "true" : "false",
	       (k->flags & CTL_KEY_HIDDEN) ? "false" : "true",
	       (k->flags & CTL_KEY_UNUSABLE) ? "false" : "true");
	cli_cert_json(k->name);
	printf("}");
}

static int list_json(const struct cli_key *keys, size_t n)
{
	int rc;

	printf("{\"version\": 1,\n  \"keys\": [");
	for (size_t i = 0; i < n; i++)
		print_key_json(&keys[i], i == 0);
	printf("%s],\n  \"sealed\": ", n ? "\n  " : "");
	rc = cli_list_sealed(SEALED_JSON);
	printf("\n}\n");
	return rc;
}

int cmd_list(int argc, char **argv)
{
	struct cli_key *keys;
	size_t n;
	struct errmsg e;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0, rc;

	if (argc > 1 && !json)
		return cli_usage_fail("list");
	if (cli_list_keys(&keys, &n, &e) != 0)
		return cli_fail("list: %s", e.text);
	if (json) {
		rc = list_json(keys, n);
		free(keys);
		return rc;
	}
	if (n == 0)
		fprintf(stderr, "tpm-key: no keys (make one with: tpm-key gen)\n");
	else
		printf(LIST_FMT, "NAME", "TYPE", "FINGERPRINT", "KEYGRIP", "PROTECT", "COMMENT", "");
	for (size_t i = 0; i < n; i++)
		print_key(&keys[i]);
	free(keys);
	return cli_list_sealed(SEALED_TABLE); /* cmd_seal.c: sealed objects, in their own table */
}
