/* pinentry_internal: what pinentry.c, pinentry_spawn.c and pinentry_describe.c share:
 * one dialogue's session and the steps that start its program. Not for other layers. */
#ifndef TPM_AGENT_PINENTRY_INTERNAL_H
#define TPM_AGENT_PINENTRY_INTERNAL_H

#include <assuan.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "pinentry.h"

/* Assuan refuses command lines longer than 1000 bytes. */
#define LINE_MAX_BYTES 1000
#define CMDLINE_MAX 256
/* How long a pinentry may take to exit after BYE (or after we closed its pipes)
 * before it is killed: generous for a curses program restoring the terminal. */
#define EXIT_GRACE_MS 2000


struct session {
	assuan_context_t ctx;
	const char *program;      /* as the caller named it, for argv[0] and messages */
	char path[PATH_MAX];      /* resolved through PATH: libassuan uses execv */
	char **envp;              /* the child's environment, installed after fork */
	char *owned_vars[PE_COUNT];
	pid_t pid;
	int timeout_s;
	int64_t deadline_ms;      /* CLOCK_MONOTONIC, for the whole dialogue */
	int timed_out, peer_gone;
	int reaped, wait_status;
	char step[16];            /* the command in progress, for messages */
	char *pin;                /* sodium_malloc(PINENTRY_PIN_MAX + 1) */
	size_t pin_len;
	int pin_too_long, pin_repeated, pins_differ;
};

/* The program's path: program itself when it holds a '/', else the first executable
 * match in $PATH. 0, or -1 when there is none. */
int resolve_program(const char *program, char *out, size_t len);
/* s->envp: our environment with env's variables set or removed (owned_vars). */
int build_envp(struct session *s, const struct pinentry_env *env);
void free_envp(struct session *s);
/* In the child between fork and exec (libassuan's hook): installs s->envp and gives
 * SIGPIPE back its default. */
void child_setup(void *opaque, int reserved);

#endif
