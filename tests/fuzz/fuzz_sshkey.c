/* fuzz_sshkey: libFuzzer harness for SSH public key blobs, key lines and line splitting (protocol/sshkey.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/sshkey.h"

/* A parsed blob must survive a round trip unchanged: anything else is a codec bug. */
static void roundtrip(const struct sshkey_pub *k, const uint8_t *blob, size_t len)
{
	struct sshbuf *b = sshbuf_new(SSHKEY_BLOB_MAX);
	struct sshkey_pub k2;
	char fp[SSHKEY_FP_MAX], *line = NULL;

	if (b == NULL)
		return;
	if (sshkey_pub_to_blob(k, b) == 0) {
		if (blob != NULL && (sshbuf_len(b) != len || memcmp(sshbuf_ptr(b), blob, len) != 0))
			abort();
		if (sshkey_pub_from_blob(sshbuf_ptr(b), sshbuf_len(b), &k2) != 0 ||
		    !sshkey_pub_equal(k, &k2))
			abort();
	}
	(void)sshkey_fingerprint_sha256(k, fp);
	(void)sshkey_bits(k);
	if (sshkey_pub_to_line(k, "fuzz comment", &line) == 0) {
		if (sshkey_pub_from_line(line, &k2, NULL, 0) != 0 || !sshkey_pub_equal(k, &k2))
			abort();
		free(line);
	}
	sshbuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey_pub k;
	char *str, type[SSHKEY_NAME_MAX], comment[64];
	uint8_t *blob = NULL;
	size_t blob_len = 0;

	if (sshkey_pub_from_blob(data, size, &k) == 0)
		roundtrip(&k, data, size);

	/* The same bytes as a text line (NUL-terminated, as callers read files). */
	if ((str = malloc(size + 1)) == NULL)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	if (sshkey_pub_from_line(str, &k, comment, sizeof(comment)) == 0)
		roundtrip(&k, NULL, 0);
	if (sshkey_line_split(str, type, sizeof(type), &blob, &blob_len, 4096, comment,
			      sizeof(comment)) == 0) {
		if (blob == NULL && blob_len != 0)
			abort();
		free(blob);
	} else if (blob != NULL || blob_len != 0 || type[0] != '\0' || comment[0] != '\0') {
		abort(); /* the contract: on failure nothing is left behind */
	}
	free(str);
	return 0;
}
