/* caio: frames of the enrolment protocol (protocol/caproto.h) over file descriptors,
 * shared by tpm-key ca (stdin/stdout under sshd) and tpm-key enroll (an ssh child). */
#ifndef TPM_AGENT_CAIO_H
#define TPM_AGENT_CAIO_H

#include "../../protocol/caproto.h"

/* Writes m as one frame to fd. 0 or -1 with e set. */
int caio_send(int fd, const struct caproto_msg *m, struct errmsg *e);
/* Reads one frame from fd into m; -1 with e set at EOF, on a bad frame, or when the
 * peer sent ERROR (e then holds "peer: <its message>"). want is the expected type. */
int caio_recv(int fd, uint8_t want, const char *peer, struct caproto_msg *m, struct errmsg *e);
/* Sends ERROR with e's text (best effort) and returns -1. */
int caio_send_error(int fd, const struct errmsg *e);

#endif
