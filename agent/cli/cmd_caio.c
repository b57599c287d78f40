/* cmd_caio: reading and writing enrolment frames on a pipe or socket (caio.h). */
#include "caio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "client.h"

int caio_send(int fd, const struct caproto_msg *m, struct errmsg *e)
{
	struct sshbuf *b = sshbuf_new(CAPROTO_FRAME_MAX + 4);
	int r = -1;

	if (b == NULL)
		return errmsg_set(e, "enrol: out of memory");
	if (caproto_encode(m, b, e) == 0)
		r = client_write_all(fd, sshbuf_ptr(b), sshbuf_len(b)) == 0 ? 0 :
		    errmsg_set(e, "enrol: cannot send %s: %s", caproto_type_name(m->type),
			       errno ? strerror(errno) : "connection closed");
	sshbuf_free(b);
	return r;
}

int caio_recv(int fd, uint8_t want, const char *peer, struct caproto_msg *m, struct errmsg *e)
{
	uint8_t hdr[4], *body;
	size_t len;
	int r;

	if (client_read_all(fd, hdr, sizeof(hdr)) != 0)
		return errmsg_set(e, "enrol: %s closed the connection before its %s", peer,
				  caproto_type_name(want));
	if (caproto_frame_len(hdr, &len) != 0)
		return errmsg_set(e, "enrol: %s sent a frame of implausible length (not the "
				  "tpm-ca protocol: is the ForceCommand `tpm-key ca`?)", peer);
	if ((body = malloc(len)) == NULL)
		return errmsg_set(e, "enrol: out of memory");
	r = client_read_all(fd, body, len) == 0 ? caproto_decode(body, len, m, e) :
	    errmsg_set(e, "enrol: %s closed the connection in the middle of a message", peer);
	free(body);
	if (r != 0)
		return -1;
	if (m->type == CA_ERROR)
		return errmsg_set(e, "%s: %s", peer, m->error);
	if (m->type != want)
		return errmsg_set(e, "enrol: %s sent %s where %s was due", peer,
				  caproto_type_name(m->type), caproto_type_name(want));
	return 0;
}

int caio_send_error(int fd, const struct errmsg *e)
{
	struct caproto_msg *m = calloc(1, sizeof(*m));
	struct errmsg ignored;

	if (m != NULL) {
		m->type = CA_ERROR;
		snprintf(m->error, sizeof(m->error), "%s", e->text);
		caio_send(fd, m, &ignored);
		free(m);
	}
	return -1;
}
