/* daemon_options: tpm-agent's command line (ssh-agent's options, ours, and settings
 * given as flags) and the settings it makes with the config file. */
#ifndef TPM_AGENT_DAEMON_OPTIONS_H
#define TPM_AGENT_DAEMON_OPTIONS_H

#include <stddef.h>

#include "../protocol/errmsg.h"
#include "daemon_settings.h"

#define MAX_FLAG_SETTINGS 64

struct options {
	const char *socket;
	int foreground;
	int debug;
	int shell; /* 's' Bourne, 'c' csh, 0 guess from $SHELL */
	int kill;
	int check_config;
	const char *config;     /* --config FILE; NULL = the default path, if present */
	char **command;         /* tpm-agent [options] COMMAND [ARG...]; NULL = none */
	char lifetime[16];      /* -t in seconds (ssh-agent's time format converted) */
	/* settings given as flags, applied after the config file (the command line wins) */
	struct { const char *key, *value; } flags[MAX_FLAG_SETTINGS];
	size_t n_flags;
};

/* Parses argv into o (-h prints the usage and exits 0). 0, or -1 after a usage message
 * on stderr. */
int parse_options(int argc, char **argv, struct options *o);
/* Defaults, then the config file (--config, else the default path if present), then the
 * settings given on the command line. */
int load_settings(const struct options *o, struct settings *s, struct errmsg *e);

#endif
