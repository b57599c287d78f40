/* destconstraint: OpenSSH's restrict-destination-v00@openssh.com key constraint
 * (ssh-add -h; PROTOCOL.agent section 2), the checks ssh-agent's identity_permitted
 * makes against a connection's session-bind chain, and the publickey userauth request
 * a restricted key may sign. Pure codecs and matching; no I/O.
 *
 * Wire format (after the extension name), all lengths bounded below:
 *   string constraints: n x string constraint { string from_hop, string to_hop,
 *                                                string reserved (empty) }
 *   hop: string user, string hostname, string reserved (empty),
 *        keys until the end: string key blob, byte is_ca */
#ifndef TPM_AGENT_DESTCONSTRAINT_H
#define TPM_AGENT_DESTCONSTRAINT_H

#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "sshbuf.h"

#define DEST_EXT_NAME        "restrict-destination-v00@openssh.com"
#define DEST_MAX_CONSTRAINTS 64   /* per key (OpenSSH: 1024; ssh-add sends one per -h) */
#define DEST_MAX_KEYS        32   /* host keys per hop */
#define DEST_NAME_MAX        256  /* user and host names, with NUL */
#define DEST_MAX_HOPS        16   /* bindings per connection, as OpenSSH */

struct dest_key {
	const uint8_t *blob; size_t len;  /* points into the set's raw copy */
	int is_ca;
};

struct dest_hop {
	char user[DEST_NAME_MAX];     /* "" = any */
	char host[DEST_NAME_MAX];     /* "" = the origin (a from hop only) */
	struct dest_key keys[DEST_MAX_KEYS];
	size_t n_keys;
};

struct dest_constraint {
	struct dest_hop from, to;
};

/* The constraints of one key. */
struct dest_set {
	uint8_t *raw; size_t raw_len; /* the wire form (string constraints), owned */
	struct dest_constraint *c;
	size_t n;
};

/* Parses the extension's body (string constraints) from b into a new *out. 0, or a
 * negative SSHBUF_E_* for malformed input (truncated, oversized, inconsistent hops:
 * a from user, a from host without keys or keys without host, a to hop without host
 * or keys, non-empty reserved fields); e says which. */
int dest_parse(struct sshbuf *b, struct dest_set **out, struct errmsg *e);
/* Puts the set's wire form (string constraints) back into out (for a copy). */
int dest_put(const struct dest_set *d, struct sshbuf *out);
void dest_free(struct dest_set *d);

/* Builds one constraint's wire form (a string) into out: from_host NULL = the origin. */
int dest_put_constraint(struct sshbuf *out, const char *from_host,
			const struct dest_key *from_keys, size_t n_from, const char *to_user,
			const char *to_host, const struct dest_key *to_keys, size_t n_to);

/* One session-bind@openssh.com binding of a connection. */
struct dest_binding {
	const uint8_t *hostkey; size_t hostkey_len;
	int forwarded;
};

/* OpenSSH's identity_permitted for a key restricted by d on a connection with bindings
 * b[0..n) (n >= 1). user: the target user of a signature request, or NULL when
 * listing. 1 when permitted; 0 otherwise, with why (may be NULL) set to the reason. */
int dest_permitted(const struct dest_set *d, const struct dest_binding *b, size_t n,
		   const char *user, const char **why);

/* A publickey userauth request (RFC 4252 7, or publickey-hostbound-v00@openssh.com)
 * as the data of a SIGN_REQUEST for the key key_blob. */
struct dest_userauth {
	const uint8_t *session_id; size_t session_id_len;
	char user[DEST_NAME_MAX];
	const uint8_t *hostkey; size_t hostkey_len; /* NULL for plain publickey */
};
/* 0 when data is such a request for key_blob (its algorithm fits the key type);
 * SSHBUF_E_FORMAT (or another SSHBUF_E_*) otherwise. */
int dest_parse_userauth(const uint8_t *data, size_t len, const uint8_t *key_blob,
			size_t key_blob_len, struct dest_userauth *ua);

#endif
