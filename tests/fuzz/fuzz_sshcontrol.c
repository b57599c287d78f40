/* fuzz_sshcontrol: libFuzzer harness for gpg-agent's sshcontrol file (protocol/sshcontrol.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/sshcontrol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshcontrol sc;

	sshcontrol_parse((const char *)data, size, &sc);
	if (sc.n > SSHCONTROL_MAX)
		abort();
	for (size_t i = 0; i < sc.n; i++)
		if (strlen(sc.e[i].grip) != 40 || sshcontrol_find(&sc, sc.e[i].grip) == NULL)
			abort();
	return 0;
}
