/* json: quoting a string for a JSON document (RFC 8259): the only part of writing
 * JSON that is easy to get wrong. Pure; the caller prints. */
#ifndef TPM_AGENT_JSON_H
#define TPM_AGENT_JSON_H

#include <stddef.h>

/* Writes s as a quoted JSON string ("..." with \" \\ \n \r \t \b \f and \u00XX for the
 * other control characters; bytes >= 0x80 pass unchanged, so UTF-8 stays UTF-8) into
 * out, NUL-terminated. Returns its length, or -1 if it does not fit in size. */
int json_quote(const char *s, char *out, size_t size);

#endif
