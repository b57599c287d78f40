/* store: the on-disk key store. A data dir (0700) holding keys/<name>.tss (TSS2
 * PRIVATE KEY) and keys/<name>.pub (OpenSSH public line). Every write is atomic:
 * temp file, fsync, rename, fsync of the directory. */
#ifndef TPM_AGENT_STORE_H
#define TPM_AGENT_STORE_H

#include <stddef.h>

#include "../protocol/errmsg.h"

#define STORE_NAME_MAX 64
#define STORE_MAX_KEYS 1024
#define STORE_FILE_MAX (STORE_NAME_MAX + 4) /* "<name>.tss" with its NUL */

/* $TPM_AGENT_HOME, else $XDG_DATA_HOME/tpm-agent, else ~/.local/share/tpm-agent. */
int store_default_dir(char *out, size_t len, struct errmsg *e);
/* Creates dir and dir/keys with mode 0700 when missing; fails clearly when the
 * directory is not writable. */
int store_prepare(const char *dir, struct errmsg *e);
/* 1 if name is a valid key name: 1..63 of [A-Za-z0-9._@+-], not starting with '.' or '-'. */
int store_name_valid(const char *name);
/* dir/keys/<name><suffix> into out. */
int store_key_path(const char *dir, const char *name, const char *suffix,
		   char *out, size_t len, struct errmsg *e);

/* Atomic write with the given mode (0600 for keys). */
int store_write_atomic(const char *path, const void *data, size_t len, int mode,
		       struct errmsg *e);
/* The same for a file that must not exist yet: it appears whole (temp file, fsync,
 * link) or not at all, and of two writers of one path exactly one succeeds; the other
 * gets STORE_E_EXISTS. */
#define STORE_E_EXISTS -2
int store_write_new(const char *path, const void *data, size_t len, int mode,
		    struct errmsg *e);
/* Reads a whole regular file of at most max bytes into *data (malloc'd, NUL-terminated). */
int store_read_file(const char *path, size_t max, char **data, size_t *len, struct errmsg *e);

/* The rules keys/ follows, for any file or directory the agent trusts (keys, certs/,
 * sealed/, the config): a directory that is no symbolic link, owned by you (or by
 * root when root_ok) and not writable by group or others. A refusal names the path. */
int store_check_dir(const char *dir, int root_ok, struct errmsg *e);
/* store_read_file for a trusted file: its directory passes store_check_dir, and the
 * file is a regular file (no symbolic link) with the same owner and mode rules. */
int store_read_private(const char *path, size_t max, int root_ok, char **data, size_t *len,
		       struct errmsg *e);

/* key-dirs (key files outside the store): the regular files "<name>.tss" and
 * "<name>.tpm" (valid names) in dir, sorted. */
int store_list_dir_keys(const char *dir, char (*files)[STORE_FILE_MAX], size_t max,
			size_t *count, struct errmsg *e);

/* Names of the keys in dir/keys (files *.tss with valid names), sorted. */
int store_list_keys(const char *dir, char (*names)[STORE_NAME_MAX], size_t max,
		    size_t *count, struct errmsg *e);
/* 1 if dir/keys/<name>.tss exists. */
int store_key_exists(const char *dir, const char *name);
/* Removes every dir/keys/<name>.pub whose <name>.tss is missing (left by a crash
 * in an older version's gen or import); *removed counts them. */
int store_remove_orphans(const char *dir, size_t *removed, struct errmsg *e);
/* Removes dir/keys/<name>.tss, .pub and the side files .pcr and .origin (missing
 * ones are fine). */
int store_remove_key(const char *dir, const char *name, struct errmsg *e);

#endif
