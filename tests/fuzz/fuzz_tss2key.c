/* fuzz_tss2key: libFuzzer harness for TSS2 PRIVATE KEY files, PEM and DER (protocol/tss2key.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "../../protocol/tss2key.h"

/* A decoded key must encode and decode again to the same contents. */
static void roundtrip(const struct tss2key *k)
{
	struct tss2key *k2 = malloc(sizeof(*k2));
	struct errmsg e;
	uint8_t *der = NULL;
	char *pem = NULL;
	size_t len = 0;

	if (k2 == NULL)
		return;
	if (tss2key_to_der(k, &der, &len, &e) == 0) {
		if (tss2key_from_der(der, len, k2, &e) != 0 || k2->pub_len != k->pub_len ||
		    k2->priv_len != k->priv_len || k2->parent != k->parent ||
		    memcmp(k2->pub, k->pub, k->pub_len) != 0 ||
		    memcmp(k2->priv, k->priv, k->priv_len) != 0)
			abort();
		free(der);
	}
	if (tss2key_to_pem(k, &pem, &len, &e) == 0) {
		if (tss2key_from_pem(pem, len, k2, &e) != 0 || k2->pub_len != k->pub_len)
			abort();
		free(pem);
	}
	free(k2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tss2key *k = malloc(sizeof(*k));
	struct errmsg e;

	if (k == NULL)
		return 0;
	if (tss2key_from_der(data, size, k, &e) == 0)
		roundtrip(k);
	if (tss2key_from_pem((const char *)data, size, k, &e) == 0)
		roundtrip(k);
	ERR_clear_error(); /* OpenSSL's per-thread error queue would otherwise grow */
	free(k);
	return 0;
}
