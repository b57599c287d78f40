/* client: one request, one reply over the agent's socket, with the same framing and
 * limits the agent applies. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../protocol/agentmsg.h"

const char *client_socket_path(void)
{
	const char *p = getenv("TPM_AGENT_SOCK");

	if (p == NULL || p[0] == '\0')
		p = getenv("SSH_AUTH_SOCK");
	return (p == NULL || p[0] == '\0') ? NULL : p;
}

int client_socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, alive;

	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	alive = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return alive;
}

int client_connect(const char *path, struct errmsg *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (path == NULL)
		return errmsg_set(e, "no agent: neither TPM_AGENT_SOCK nor SSH_AUTH_SOCK is set "
				  "(start one with: eval \"$(tpm-agent -s)\")");
	if (strlen(path) >= sizeof(sun.sun_path))
		return errmsg_set(e, "agent socket path too long: %s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errmsg_set(e, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		errmsg_set(e, "cannot reach the agent at %s: %s (start one with: "
			   "eval \"$(tpm-agent -s)\")", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int client_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int client_read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int client_call(int fd, const struct sshbuf *msg, struct sshbuf *reply, struct errmsg *e)
{
	uint8_t hdr[4], *p;
	uint32_t len = (uint32_t)sshbuf_len(msg);
	size_t frame_len;

	hdr[0] = len >> 24; hdr[1] = len >> 16; hdr[2] = len >> 8; hdr[3] = len;
	if (client_write_all(fd, hdr, 4) != 0 || client_write_all(fd, sshbuf_ptr(msg), len) != 0)
		return errmsg_set(e, "cannot write to the agent: %s", strerror(errno));
	if (client_read_all(fd, hdr, 4) != 0)
		return errmsg_set(e, "the agent closed the connection without a reply");
	if (agentmsg_frame_peek(hdr, 4, &frame_len) != SSHBUF_E_SHORT &&
	    agentmsg_frame_peek(hdr, 4, &frame_len) != 0)
		return errmsg_set(e, "the agent sent a malformed reply");
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	sshbuf_reset(reply);
	if (sshbuf_reserve(reply, len, &p) != 0)
		return errmsg_set(e, "the agent's reply is too large (%u bytes)", len);
	if (client_read_all(fd, p, len) != 0)
		return errmsg_set(e, "the agent's reply was cut short");
	return 0;
}

int client_begin_extension(struct sshbuf *msg, const char *name)
{
	int r;

	sshbuf_reset(msg);
	if ((r = sshbuf_put_u8(msg, SSH_AGENTC_EXTENSION)) != 0)
		return r;
	return sshbuf_put_cstring(msg, name);
}

int client_control(int fd, const struct sshbuf *msg, struct sshbuf *reply, struct errmsg *e)
{
	char text[ERRMSG_MAX];
	uint8_t type;

	if (client_call(fd, msg, reply, e) != 0)
		return -1;
	if (sshbuf_get_u8(reply, &type) != 0)
		return errmsg_set(e, "the agent sent an empty reply");
	if (type == SSH_AGENT_SUCCESS)
		return 0;
	if (type == SSH_AGENT_EXTENSION_FAILURE &&
	    sshbuf_get_cstring(reply, text, sizeof(text)) == 0)
		return errmsg_set(e, "%s", text);
	return errmsg_set(e, "the agent refused the request: it is locked (ssh-add -X unlocks "
			  "it), or it is not tpm-agent");
}
