/* json: quoting a string for a JSON document. */
#include <stdio.h>

#include "json.h"

int json_quote(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (size < 3)
		return -1;
	out[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" :
				  c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b" :
				  c == '\f' ? "\\f" : NULL;
		char hex[8];

		if (esc == NULL && c < 0x20) {
			snprintf(hex, sizeof(hex), "\\u%04x", c);
			esc = hex;
		}
		if (esc == NULL) {
			if (n + 2 >= size)
				return -1;
			out[n++] = (char)c;
			continue;
		}
		for (; *esc; esc++) {
			if (n + 2 >= size)
				return -1;
			out[n++] = *esc;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return (int)n;
}
