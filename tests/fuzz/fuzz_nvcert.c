/* fuzz_nvcert: libFuzzer harness for NV certificate images (protocol/nvcert.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/nvcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[NVCERT_NAME_MAX], comment[NVCERT_COMMENT_MAX];
	const uint8_t *blob = NULL;
	size_t blob_len = 0, len = 0;
	uint8_t *again;

	if (nvcert_decode(data, size, name, comment, &blob, &blob_len) != 0)
		return 0;
	if (blob_len > 0 && (blob < data || blob + blob_len > data + size))
		abort();
	if (memchr(name, '\0', sizeof(name)) == NULL || memchr(comment, '\0', sizeof(comment)) == NULL)
		abort();
	/* what decodes must encode back to an image that decodes to the same contents */
	if ((again = malloc(size + NVCERT_HEADER_LEN + 1)) == NULL)
		return 0;
	if (nvcert_encode(name, comment, blob, blob_len, again, size + NVCERT_HEADER_LEN + 1, &len) == 0) {
		char n2[NVCERT_NAME_MAX], c2[NVCERT_COMMENT_MAX];
		const uint8_t *b2;
		size_t b2_len;

		if (nvcert_decode(again, len, n2, c2, &b2, &b2_len) != 0 || strcmp(n2, name) != 0 ||
		    strcmp(c2, comment) != 0 || b2_len != blob_len ||
		    (blob_len > 0 && memcmp(b2, blob, blob_len) != 0))
			abort();
	}
	(void)nvcert_index(NVCERT_BASE_INDEX, name, 0);
	free(again);
	return 0;
}
