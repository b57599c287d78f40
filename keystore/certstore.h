/* certstore: OpenSSH certificates for the agent's keys, kept as files
 * <data dir>/certs/<key>-cert.pub. A renewed file dropped there replaces the old
 * certificate at the next refresh, without an agent restart. */
#ifndef TPM_AGENT_CERTSTORE_H
#define TPM_AGENT_CERTSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshcert.h"
#include "store.h"
#include "tpm.h"

#define CERTSTORE_MAX 1024
#define CERT_DIR_MAX  4096
#define CERT_COMMENT_MAX 256

enum cert_location { CERT_IN_FILE = 1, CERT_IN_NV = 2 };

struct cert_entry {
	char key_name[STORE_NAME_MAX];
	uint8_t *blob; size_t blob_len;
	struct sshcert cert;
	char comment[CERT_COMMENT_MAX];
	enum cert_location where;
	uint32_t nv_index;              /* CERT_IN_NV */
	/* change detection for files */
	ino_t ino; off_t size; struct timespec mtime;
	int warned_expired;
	int hidden;   /* removed from the agent (ssh-add -d); the file stays */
};

struct certstore;

/* Creates <dir>/certs (0700) if missing and reads what is there. */
int certstore_open(const char *dir, struct certstore **out, struct errmsg *e);
void certstore_close(struct certstore *cs);

/* Picks up new, renewed and removed files (a stat per file; no TPM). A file that does
 * not parse is skipped with a log line naming it, once per change of the file. */
void certstore_refresh(struct certstore *cs);

size_t certstore_count(const struct certstore *cs);
struct cert_entry *certstore_get(struct certstore *cs, size_t i);
struct cert_entry *certstore_find_blob(struct certstore *cs, const uint8_t *blob, size_t len);
struct cert_entry *certstore_find_key(struct certstore *cs, const char *key_name);

/* Stores the certificate in `line` (an OpenSSH *-cert.pub line) as the file certificate
 * of key_name, after checking it certifies `key`. Atomic; replaces an older one. */
int certstore_add_file(struct certstore *cs, const char *key_name, const struct sshkey_pub *key,
		       const char *line, struct cert_entry **out, struct errmsg *e);
/* Removes key_name's file certificate (serial 0 = whatever serial it has). */
int certstore_remove_file(struct certstore *cs, const char *key_name, uint64_t serial,
			  struct errmsg *e);

/* Lets the store keep certificates in NV indices of tpm from base (max_nv of them at
 * most), and reads the ones already there. */
int certstore_use_nv(struct certstore *cs, struct tpm *tpm, uint32_t base, unsigned max_nv,
		     struct errmsg *e);

enum cert_mode { CERT_MODE_FILE = 1, CERT_MODE_NV, CERT_MODE_AUTO };

/* The owner authorization (SO PIN) for the NV defines and undefines of the next calls;
 * NULL forgets it (the caller wipes its copy). Without it, an NV operation on a TPM
 * whose owner hierarchy has an authorization fails with TPM_E_OWNER_AUTH. */
void certstore_set_owner_auth(struct certstore *cs, const uint8_t *auth, size_t len);

/* Stores the certificate in `line` for key_name (checked against key) in NV, as a file,
 * or (auto) in NV while the slots and the TPM's space allow, else as a file. Replaces
 * the key's previous certificate wherever it was, only after the new one is stored.
 * *where says where it went. */
int certstore_add(struct certstore *cs, const char *key_name, const struct sshkey_pub *key,
		  const char *line, enum cert_mode mode, struct cert_entry **out,
		  struct errmsg *e);
/* Removes key_name's certificates (file and NV) with that serial (0 = any). */
int certstore_remove(struct certstore *cs, const char *key_name, uint64_t serial,
		     struct errmsg *e);

/* NV usage: certificates in NV, the slot limit, the largest index, the TPM's hint. */
struct certstore_nv_usage {
	unsigned used, max;
	uint32_t index_max;
	uint32_t tpm_indices_defined, tpm_avail_hint;
	/* Indices of ours holding no certificate (a crash during `cert add --nv`) found at
	 * start: undefined, and left (they needed the SO PIN). */
	unsigned orphans_reclaimed, orphans_left;
};
int certstore_nv_usage(struct certstore *cs, struct certstore_nv_usage *u, struct errmsg *e);

#endif
