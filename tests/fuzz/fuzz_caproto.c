/* fuzz_caproto: libFuzzer harness for enrolment protocol frames (protocol/caproto.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/caproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct caproto_msg *m = malloc(sizeof(*m)), *m2 = malloc(sizeof(*m2));
	struct sshbuf *b = sshbuf_new(CAPROTO_FRAME_MAX + 4);
	struct errmsg e;
	size_t len;

	if (m == NULL || m2 == NULL || b == NULL)
		goto done;
	if (size >= 4)
		(void)caproto_frame_len(data, &len);
	if (caproto_decode(data, size, m, &e) != 0)
		goto done;
	if (m->type == CA_ATTEST) { /* the CA decodes the attestation it carries next */
		struct attestation *a = malloc(sizeof(*a));

		if (a != NULL)
			(void)attestation_decode(m->attestation, strlen(m->attestation), a, &e);
		free(a);
	}
	/* what decodes encodes back to the same bytes */
	if (caproto_encode(m, b, &e) != 0 || sshbuf_len(b) != size + 4 ||
	    memcmp(sshbuf_ptr(b) + 4, data, size) != 0 ||
	    caproto_frame_len(sshbuf_ptr(b), &len) != 0 || len != size ||
	    caproto_decode(sshbuf_ptr(b) + 4, len, m2, &e) != 0 || m2->type != m->type)
		abort();
done:
	sshbuf_free(b);
	free(m);
	free(m2);
	return 0;
}
