/* cmd_common: what the tpm-key subcommands share: error output, one control round
 * trip to the agent, decoding of the key list, and running a helper program. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../protocol/sshkey.h"
#include "client.h"
#include "../../protocol/keygrip.h"
#include "subcommands.h"

/* "A: B...: rest" where B begins with A (the agent already named the command: "gen:
 * gen: ...", "init: init --repin: ...") loses its outer "A: ". */
static const char *one_prefix(const char *msg)
{
	const char *colon = strstr(msg, ": ");
	size_t n = colon ? (size_t)(colon - msg) : 0;

	if (n > 0 && n < 40 && memchr(msg, ' ', n) == NULL && strncmp(colon + 2, msg, n) == 0 &&
	    (colon[2 + n] == ':' || colon[2 + n] == ' '))
		return colon + 2;
	return msg;
}

int cli_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tpm-key: %s\n", one_prefix(msg));
	return 1;
}

int cli_control(const char *name, const struct sshbuf *args, struct sshbuf *reply,
		struct errmsg *e)
{
	struct sshbuf *msg = sshbuf_new(64 * 1024);
	int fd, r = -1;

	if (msg == NULL)
		return errmsg_set(e, "out of memory");
	if (client_begin_extension(msg, name) != 0 ||
	    (args != NULL && sshbuf_put(msg, sshbuf_ptr(args), sshbuf_len(args)) != 0)) {
		sshbuf_free(msg);
		return errmsg_set(e, "request too large");
	}
	if ((fd = client_connect(client_socket_path(), e)) >= 0) {
		r = client_control(fd, msg, reply, e);
		close(fd);
	}
	sshbuf_free(msg);
	return r;
}

int cli_list_keys(struct cli_key **keys, size_t *n, struct errmsg *e)
{
	struct sshbuf *reply = sshbuf_new(1024 * 1024);
	uint32_t count;
	int r = -1;

	*keys = NULL;
	*n = 0;
	if (reply == NULL)
		return errmsg_set(e, "out of memory");
	if (cli_control(CTL_LIST, NULL, reply, e) != 0)
		goto done;
	if (sshbuf_get_u32(reply, &count) != 0 || count > 100000 ||
	    (*keys = calloc(count ? count : 1, sizeof(**keys))) == NULL) {
		errmsg_set(e, "the agent sent a malformed key list");
		goto done;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct cli_key *k = &(*keys)[i];
		const uint8_t *blob;

		if (sshbuf_get_cstring(reply, k->name, sizeof(k->name)) != 0 ||
		    sshbuf_get_cstring(reply, k->comment, sizeof(k->comment)) != 0 ||
		    sshbuf_get_string(reply, &blob, &k->blob_len) != 0 ||
		    k->blob_len > sizeof(k->blob) || sshbuf_get_u32(reply, &k->flags) != 0) {
			errmsg_set(e, "the agent sent a malformed key list");
			goto done;
		}
		memcpy(k->blob, blob, k->blob_len);
	}
	*n = count;
	r = 0;
done:
	if (r != 0) {
		free(*keys);
		*keys = NULL;
	}
	sshbuf_free(reply);
	return r;
}

int cli_key_is(const struct cli_key *k, const char *name)
{
	struct sshkey_pub pub;
	char grip[KEYGRIP_HEX_LEN];

	if (strcmp(k->name, name) == 0)
		return 1;
	return strlen(name) == 40 && sshkey_pub_from_blob(k->blob, k->blob_len, &pub) == 0 &&
	       keygrip_hex(&pub, grip) == 0 && strcasecmp(grip, name) == 0;
}

int cli_print_pub(const uint8_t *blob, size_t blob_len, const char *comment)
{
	struct sshkey_pub pub;
	char *line = NULL;

	if (sshkey_pub_from_blob(blob, blob_len, &pub) != 0 ||
	    sshkey_pub_to_line(&pub, comment[0] ? comment : NULL, &line) != 0)
		return cli_fail("cannot encode the public key");
	printf("%s\n", line);
	free(line);
	return 0;
}

int cli_run(const char *const *argv, int quiet)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return 127;
	if (pid == 0) {
		if (quiet) {
			FILE *null = freopen("/dev/null", "w", stdout);

			if (null == NULL || dup2(1, 2) < 0)
				_exit(127);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
