/* subcommands: one function per tpm-key subcommand (one file each, agent/cmd_*.c),
 * plus the few helpers they share. Each returns the process exit code: 0 ok, 1 error. */
#ifndef TPM_AGENT_SUBCOMMANDS_H
#define TPM_AGENT_SUBCOMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "../protocol/errmsg.h"
#include "../protocol/sshbuf.h"

int cmd_gen(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_cert(int argc, char **argv);

/* Prints "tpm-key: <message>" to stderr and returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One key as the agent lists it. */
struct cli_key {
	char name[64];
	char comment[256];
	uint8_t blob[1024]; size_t blob_len;
	uint32_t flags;
};

/* Connects to the agent and runs control command `name` whose arguments are already
 * in args (may be NULL); leaves the reply payload in reply. 0 or -1 with e set. */
int cli_control(const char *name, const struct sshbuf *args, struct sshbuf *reply,
		struct errmsg *e);
/* Fetches the agent's key list into *keys (malloc'd) and *n. */
int cli_list_keys(struct cli_key **keys, size_t *n, struct errmsg *e);
/* Prints the OpenSSH public key line of a listed key. */
int cli_print_pub(const uint8_t *blob, size_t blob_len, const char *comment);

#endif
