/* errmsg: one fixed-size, human-readable error message carried out of a failing call.
 * Messages name the cause and the remedy; they never contain secrets. */
#ifndef TPM_AGENT_ERRMSG_H
#define TPM_AGENT_ERRMSG_H

#include <stddef.h>

#define ERRMSG_MAX 512

struct errmsg {
	char text[ERRMSG_MAX];
};

/* Formats into e (if e is not NULL); always returns -1 so callers can write
 * `return errmsg_set(e, "...")`. */
int errmsg_set(struct errmsg *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to the message already in e; returns -1. */
int errmsg_prefix(struct errmsg *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
