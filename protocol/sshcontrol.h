/* sshcontrol: gpg-agent's $GNUPGHOME/sshcontrol, the list of keys it offers to ssh.
 * One entry a line: [!]KEYGRIP [TTL] [FLAGS...]; '!' disables the entry, '#' starts a
 * comment line, blank lines are skipped (gnupg agent/command-ssh.c). */
#ifndef TPM_AGENT_SSHCONTROL_H
#define TPM_AGENT_SSHCONTROL_H

#include <stddef.h>

#define SSHCONTROL_MAX 1024 /* entries kept; more are ignored */

struct sshcontrol_entry {
	char grip[41];  /* upper case */
	int disabled;   /* the line started with '!' */
	long ttl;       /* seconds, 0: the default */
	int confirm;    /* the "confirm" flag */
};

struct sshcontrol {
	struct sshcontrol_entry e[SSHCONTROL_MAX];
	size_t n;
	size_t bad_lines; /* lines that are neither entries nor comments (skipped) */
};

/* Parses the file's text (text[0..len), not NUL-terminated). Never fails: a line that
 * does not parse is counted in bad_lines and skipped, as gpg-agent warns and goes on. */
void sshcontrol_parse(const char *text, size_t len, struct sshcontrol *out);
/* The entry for grip (40 hex digits, any case), or NULL. */
const struct sshcontrol_entry *sshcontrol_find(const struct sshcontrol *c, const char *grip);

#endif
