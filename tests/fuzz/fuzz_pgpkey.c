/* fuzz_pgpkey: libFuzzer harness for gpg's secret-key transfer format (protocol/pgpkey.c):
 * parse, then unprotect with a fixed passphrase, then the public key. */
#include <stdint.h>
#include <stdlib.h>

#include "../../protocol/pgpkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pgpkey k;
	struct sshkey_pub pub;
	const char *msg = NULL;

	if (pgpkey_parse(data, size, &k, &msg) != 0) {
		if (msg == NULL)
			abort(); /* every refusal says why */
		return 0;
	}
	if (k.enc_len > sizeof(k.enc) || k.iv_len > sizeof(k.iv) || k.pub[0].len > PGPKEY_MPI_MAX)
		abort();
	(void)pgpkey_public(&k, &pub);
	if (k.s2k_count <= 65536) /* the fuzzer's time goes to parsing, not hashing */
		(void)pgpkey_unprotect(&k, "pw", 2, &msg);
	return 0;
}
