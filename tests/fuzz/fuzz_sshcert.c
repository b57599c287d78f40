/* fuzz_sshcert: libFuzzer harness for OpenSSH certificate blobs (sshcert_from_blob and the
 * any-type host certificate parser) and *-cert.pub lines (protocol/sshcert.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/sshcert.h"

static void check(const struct sshcert *c)
{
	if (c->n_principals > SSHCERT_PRINCIPALS_MAX)
		abort();
	for (size_t i = 0; i < c->n_principals; i++)
		if (memchr(c->principals[i], '\0', SSHCERT_PRINCIPAL_MAX) == NULL)
			abort();
	if (memchr(c->key_id, '\0', sizeof(c->key_id)) == NULL ||
	    memchr(c->ca_fingerprint, '\0', sizeof(c->ca_fingerprint)) == NULL)
		abort();
	(void)sshcert_valid_at(c, 1700000000);
	(void)sshcert_type_name(c->key_type);
}

/* The any-type parser: its pointers stay inside the blob, the signed part ends before it. */
static void check_any(const uint8_t *data, size_t size)
{
	struct sshcert_any *a = malloc(sizeof(*a));

	if (a == NULL)
		return;
	if (sshcert_any_from_blob(data, size, a) == 0) {
		if (!sshcert_is_cert_blob(data, size) || a->key_len > sizeof(a->key) ||
		    a->n_principals > SSHCERT_PRINCIPALS_MAX || a->signed_len >= size ||
		    a->ca < data || a->ca + a->ca_len > data + a->signed_len ||
		    a->sig < data + a->signed_len || a->sig + a->sig_len != data + size)
			abort();
		(void)sshcert_any_valid_at(a, 1700000000);
	}
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcert *c = malloc(sizeof(*c));

	check_any(data, size);
	char *str, comment[64];
	uint8_t *blob = NULL;
	size_t blob_len = 0;

	if (c == NULL)
		return 0;
	if (sshcert_from_blob(data, size, c) == 0)
		check(c);
	if ((str = malloc(size + 1)) != NULL) {
		memcpy(str, data, size);
		str[size] = '\0';
		if (sshcert_from_line(str, &blob, &blob_len, c, comment, sizeof(comment)) == 0) {
			struct sshcert *again = malloc(sizeof(*again));

			check(c);
			/* the decoded blob parses the same way on its own */
			if (again != NULL && (sshcert_from_blob(blob, blob_len, again) != 0 ||
					      again->serial != c->serial))
				abort();
			free(again);
		}
		free(blob);
		free(str);
	}
	free(c);
	return 0;
}
