/* cmd_stdio: binary-safe stdin/stdout for the tpm-key commands that move secrets
 * (decrypt, encrypt, seal, unseal): input lands in sodium memory, output is written
 * whole or not at all by the caller. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "subcommands.h"

int cli_read_stdin(size_t max, uint8_t **out, size_t *len, struct errmsg *e)
{
	uint8_t *buf;
	size_t have = 0;
	ssize_t n;

	*out = NULL;
	*len = 0;
	/* One byte beyond max tells "exactly max" from "too long" without reading on. */
	if (sodium_init() < 0 || (buf = sodium_malloc(max + 1)) == NULL)
		return errmsg_set(e, "out of (locked) memory");
	while (have <= max) {
		n = read(STDIN_FILENO, buf + have, max + 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sodium_free(buf);
			return errmsg_set(e, "cannot read stdin: %s", strerror(errno));
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have > max) {
		sodium_free(buf);
		return errmsg_set(e, "input too long: more than %zu bytes on stdin", max);
	}
	*out = buf;
	*len = have;
	return 0;
}

int cli_write_stdout(const uint8_t *data, size_t len, struct errmsg *e)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errmsg_set(e, "cannot write stdout: %s", strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}
