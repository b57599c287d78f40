/* sshcontrol: parses gpg-agent's sshcontrol file. */
#include "sshcontrol.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One line (without its newline) into e; 1 for an entry, 0 for a comment or blank
 * line, -1 for a line that is neither. */
static int parse_line(const char *p, size_t len, struct sshcontrol_entry *e)
{
	const char *end = p + len;
	size_t i;

	memset(e, 0, sizeof(*e));
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p == '#' || *p == '\r')
		return 0;
	if (*p == '!') {
		e->disabled = 1;
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			;
	}
	for (i = 0; i < 40; i++) {
		if (p + i >= end || !isxdigit((unsigned char)p[i]))
			return -1;
		e->grip[i] = (char)toupper((unsigned char)p[i]);
	}
	e->grip[40] = '\0';
	p += 40;
	if (p < end && *p != ' ' && *p != '\t' && *p != '\r')
		return -1;
	while (p < end) {
		char word[32];
		size_t w;

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		for (w = 0; p + w < end && p[w] != ' ' && p[w] != '\t' && p[w] != '\r'; w++)
			;
		if (w == 0)
			break;
		if (w < sizeof(word)) {
			memcpy(word, p, w);
			word[w] = '\0';
			if (isdigit((unsigned char)word[0]) || word[0] == '-')
				e->ttl = strtol(word, NULL, 10);
			else if (strcasecmp(word, "confirm") == 0)
				e->confirm = 1;
		}
		p += w;
	}
	return 1;
}

void sshcontrol_parse(const char *text, size_t len, struct sshcontrol *out)
{
	const char *p = text, *end = text + len;

	out->n = 0;
	out->bad_lines = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct sshcontrol_entry e;
		int r = parse_line(p, l, &e);

		if (r < 0)
			out->bad_lines++;
		else if (r > 0 && out->n < SSHCONTROL_MAX && sshcontrol_find(out, e.grip) == NULL)
			out->e[out->n++] = e; /* the first line for a grip counts, as in gpg-agent */
		p += l + (nl != NULL);
	}
}

const struct sshcontrol_entry *sshcontrol_find(const struct sshcontrol *c, const char *grip)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcasecmp(c->e[i].grip, grip) == 0)
			return &c->e[i];
	return NULL;
}
