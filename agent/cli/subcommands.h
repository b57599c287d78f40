/* subcommands: one function per tpm-key subcommand (one file each, agent/cli/cmd_*.c),
 * plus the few helpers they share. Each returns the process exit code: 0 ok, 1 error. */
#ifndef TPM_AGENT_SUBCOMMANDS_H
#define TPM_AGENT_SUBCOMMANDS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "../../protocol/errmsg.h"
#include "../../protocol/sshbuf.h"

int cmd_gen(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_pcr_seal(int argc, char **argv);    /* cmd_pcr.c */
int cmd_passwd(int argc, char **argv);      /* cmd_passwd.c */
int cmd_forget(int argc, char **argv);      /* cmd_forget.c */
int cmd_update_env(int argc, char **argv);  /* cmd_update_env.c */
int cmd_init(int argc, char **argv);        /* cmd_init.c */
int cmd_import(int argc, char **argv);      /* cmd_import.c */

/* cmd_env.c: appends this process's prompt environment (GPG_TTY or stdin's tty, TERM,
 * DISPLAY, ...) as uint32 n, n x (string name, string value). */
int cli_put_env(struct sshbuf *args);
/* cli_control, but first tells the agent, on the same connection, where prompts for
 * this command must appear (CTL_ENV). For commands that may ask a PIN. */
int cli_control_env(const char *name, const struct sshbuf *args, struct sshbuf *reply,
		    struct errmsg *e);
int cmd_decrypt(int argc, char **argv);  /* cmd_crypt.c */
int cmd_encrypt(int argc, char **argv);
int cmd_seal(int argc, char **argv);     /* cmd_seal.c */
int cmd_unseal(int argc, char **argv);
int cmd_attest(int argc, char **argv);   /* cmd_attest.c */
int cmd_verify_attestation(int argc, char **argv);
int cmd_setup(int argc, char **argv);    /* cmd_setup.c */
int cmd_setup_host(int argc, char **argv); /* cmd_setup_host.c: tpm-key setup --host */
/* cmd_common.c: runs argv (stdin/stdout/stderr shared; quiet: output to /dev/null);
 * its exit status, or 127 when it cannot run. */
int cli_run(const char *const *argv, int quiet);
int cmd_srk(int argc, char **argv);      /* cmd_srk.c */
int cmd_wrap(int argc, char **argv);     /* cmd_wrap.c */
int cmd_add(int argc, char **argv);      /* cmd_add.c */
int cmd_supported(int argc, char **argv); /* cmd_supported.c */
/* cmd_hierarchy.c: tpm-key gen --hierarchy H: prints the hierarchy key of type ("ecdsa",
 * "rsa") and bits (0: the type's default) under H; 0 or 1. */
int cli_hierarchy_pub(const char *hierarchy, const char *type, unsigned bits);

/* cmd_import.c: reads an OpenSSH or PEM private key file (ECDSA or RSA) and appends its
 * type and material to material as import@tpm-agent carries it (keystore/wrap.h
 * wrap_material reads it back); comment gets the file's comment ("" if none). 0 or 1
 * (message printed). */
int cli_read_private_key(const char *path, struct sshbuf *material, char *comment,
			 size_t comment_len);
int cmd_ca(int argc, char **argv);       /* cmd_ca.c */
int cmd_enroll(int argc, char **argv);   /* cmd_enroll.c */

/* cmd_stdio.c: reads all of stdin (at most max bytes, more is an error) into a
 * sodium_malloc'd *out the caller sodium_frees; writes all of data to stdout. */
int cli_read_stdin(size_t max, uint8_t **out, size_t *len, struct errmsg *e);
int cli_write_stdout(const uint8_t *data, size_t len, struct errmsg *e);
/* cmd_seal.c: prints the sealed objects (for tpm-key list): a table, the JSON array
 * of {"name", "policy"}, or only their names, one a line (for completion); 0 or 1. */
enum { SEALED_TABLE, SEALED_JSON, SEALED_NAMES };
int cli_list_sealed(int how);
/* cmd_cert.c: prints the JSON array of key name's certificates (schema: tpm-key(1));
 * 0 or 1. */
int cli_cert_json(const char *name);

/* tpm-key.c: prints command cmd's usage text (from the command table) to f; to stderr
 * (a bad command line) only cli_usage_fail's one line. */
void cli_usage(const char *cmd, FILE *f);
/* One line to stderr for a bad command line: the synopsis and where the help is;
 * returns 1. */
int cli_usage_fail(const char *cmd);

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
/* 1 if name is the listed key's name or its keygrip (40 hex digits). */
int cli_key_is(const struct cli_key *k, const char *name);
/* Prints the OpenSSH public key line of a listed key. */
int cli_print_pub(const uint8_t *blob, size_t blob_len, const char *comment);

#endif
