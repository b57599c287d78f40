/* knownhosts: looks a host name up in OpenSSH known_hosts text (sshd(8) "SSH_KNOWN_HOSTS
 * FILE FORMAT"): comma-separated patterns with * and ? wildcards and !negation,
 * hashed names (|1|salt|HMAC-SHA1), and the @cert-authority and @revoked markers.
 * For `tpm-key load -h`, which names hosts as ssh-add -h does. Pure; no I/O. */
#ifndef TPM_AGENT_KNOWNHOSTS_H
#define TPM_AGENT_KNOWNHOSTS_H

#include <stddef.h>
#include <stdint.h>

#define KNOWNHOSTS_LINE_MAX 8192

/* Calls found(arg, blob, blob_len, is_ca) for every key listed for host in text
 * (revoked keys are skipped; unparsable lines too). host is matched as given
 * (lower-case it first). Returns the number of keys found, or a negative value when
 * found did. */
int knownhosts_lookup(const char *text, size_t len, const char *host,
		      int (*found)(void *arg, const uint8_t *blob, size_t blob_len, int is_ca),
		      void *arg);

/* 1 when s matches the plen bytes of pattern p ('*' any run, '?' any one character;
 * nothing else is special), as OpenSSH's match_pattern. */
int knownhosts_wild(const char *s, const char *p, size_t plen);

#endif
