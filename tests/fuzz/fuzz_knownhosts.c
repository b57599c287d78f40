/* fuzz_knownhosts: libFuzzer harness for known_hosts text (protocol/knownhosts.c), as
 * `tpm-key load -h` reads it: every key found must be a non-empty blob. */
#include <stdint.h>
#include <stdlib.h>

#include "../../protocol/knownhosts.h"

static int found(void *arg, const uint8_t *blob, size_t len, int is_ca)
{
	(void)arg;
	if (blob == NULL || len == 0 || (is_ca != 0 && is_ca != 1))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = { "hosta", "example.com", "[127.0.0.1]:2222", "" };

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (knownhosts_lookup((const char *)data, size, hosts[i], found, NULL) < 0)
			abort();
	return 0;
}
