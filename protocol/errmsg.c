/* errmsg: fixed-size error messages, formatted once where the failure is known. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errmsg_set(struct errmsg *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

int errmsg_prefix(struct errmsg *e, const char *fmt, ...)
{
	char prefix[ERRMSG_MAX], joined[2 * ERRMSG_MAX + 3];
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, e->text);
	memcpy(e->text, joined, sizeof(e->text) - 1);
	e->text[sizeof(e->text) - 1] = '\0';
	return -1;
}
