/* daemon_settings: the agent's configurable settings, one table for the config file
 * ($XDG_CONFIG_HOME/tpm-agent/config) and the matching --KEY=VALUE flags. The command
 * line wins over the file; the file wins over the defaults. */
#ifndef TPM_AGENT_DAEMON_SETTINGS_H
#define TPM_AGENT_DAEMON_SETTINGS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "../protocol/errmsg.h"

struct settings {
	char tcti[256];
	int simulator;                  /* run a private swtpm */
	char simulator_dir[PATH_MAX];   /* "" = <data dir>/simulator */
	uint32_t srk_handle;
	int hierarchy;                  /* enum tpm_hierarchy (owner, endorsement, null) */
	int encrypt_sessions;
	unsigned pin_cache_ttl;         /* seconds; 0 = ask every time */
	char pinentry_program[PATH_MAX];
	unsigned max_nv_certs;
	uint32_t nv_base_index;
	int gpg;
	char gpg_socket[PATH_MAX];      /* "" = what gpgconf --list-dirs agent-socket names */
	int log_level;                  /* enum log_level */
	/* ssh-add'ed software keys, --proxy and --host (daemon_softkeys.c, daemon_proxy.c,
	 * daemon_hostkeys.c) */
	int software_keys;              /* accept ssh-add FILE (in memory only) */
	char proxy[PATH_MAX];           /* upstream agent socket for keys we do not hold; "" = none */
	unsigned proxy_timeout;         /* seconds one upstream request may take */
	int host;                       /* serve only host keys (tpm-key gen --host), for sshd */
	int platform_policy;            /* new keys bound to pcr_selection (tpm-key gen --pcr) */
	char pcr_selection[96];         /* "0,1,2,3,7" or "sha256:0,1,2,3,7" */
	unsigned client_idle_timeout;   /* seconds an ssh client may sit idle; 0 = forever */
	char pin_from_sealed[512];      /* "KEY:SEALED[,KEY:SEALED...]" ("" = none) */
	unsigned tpm_timeout;           /* seconds one TPM command may take */
	unsigned tpm_create_timeout;    /* seconds one key creation may take */
	/* key locations (daemon_peer.c) */
	char key_dirs[2048];            /* "DIR[,DIR...]" of .tss/.tpm files, ~ allowed ("" = none) */
	int load_keys;                  /* 0: serve only keys tpm-key load/add names */
	char hierarchy_keys[256];       /* "HIER:TYPE[,HIER:TYPE...]", e.g. "owner:ecdsa256" */
	int sandbox;                    /* Landlock + seccomp after start (daemon_sandbox.c) */
	char sandbox_allow[1024];       /* more paths the sandbox leaves writable ("" = none) */
	/* ssh-agent parity (ssh-agent -t, -E, -P, -O; daemon_softkeys.c, daemon_helper.c) */
	unsigned key_lifetime;          /* default lifetime of added keys, s; 0 = forever */
	unsigned renew_at;              /* renew enrolled certificates in their last N%; 0 = never */
	unsigned renew_check;           /* seconds between renewal checks */
	char fingerprint_hash[8];       /* "sha256" or "md5", for log lines */
	char allowed_providers[1024];   /* pattern list of PKCS#11 / FIDO provider paths */
	int allow_remote_pkcs11;        /* PKCS#11 adds through a forwarded agent */
	int restrict_websafe;           /* FIDO keys sign only SSH-shaped data */
	int legacy_rsa_sha1;            /* make ssh-rsa (SHA-1) signatures when asked */
	/* Not a file setting: $TPM_AGENT_SIMULATOR=ephemeral (a throwaway swtpm and store) */
	int simulator_ephemeral;
};

/* ssh-agent's default -P: providers in the system's library directories. */
#define SETTINGS_PROVIDERS_DEFAULT "/usr/lib*/*,/usr/local/lib*/*"

/* Defaults, with $TPM_AGENT_TCTI, $TPM_AGENT_SIMULATOR and $PINENTRY_PROGRAM applied. */
void settings_defaults(struct settings *s);

/* Sets one setting by its config-file key; e says what is wrong with value. */
int settings_set(struct settings *s, const char *key, const char *value, struct errmsg *e);
/* 1 if key names a setting. */
int settings_known(const char *key);
/* The settings' keys, for building --KEY=VALUE flags: i from 0 while not NULL. */
const char *settings_key_at(size_t i);

/* The config file: $XDG_CONFIG_HOME/tpm-agent/config, else ~/.config/tpm-agent/config. */
int settings_default_path(char *out, size_t len, struct errmsg *e);
/* Applies a config file. A missing file is fine when optional; an unreadable one,
 * an unknown key or a bad value is an error "config:LINE: message" naming the file. */
int settings_load_file(struct settings *s, const char *path, int optional, struct errmsg *e);

/* Prints the effective settings as config-file lines. */
void settings_print(const struct settings *s, FILE *f);
/* Calls fn(arg, key, value) for each setting, value formatted as in the file. */
void settings_each(const struct settings *s, void (*fn)(void *arg, const char *key,
							 const char *value), void *arg);

/* pcr-selection "[BANK:]PCRS" (bank sha256 when absent) as a selection; sel may be NULL
 * to check only. */
struct tpm_pcr_sel;
int settings_pcr_sel(const char *value, struct tpm_pcr_sel *sel, struct errmsg *e);

/* pin-from-sealed: the sealed object that holds key's PIN, copied into sealed (at least
 * STORE_NAME_MAX bytes); 1 if there is one, 0 if not. */
int settings_pin_sealed(const struct settings *s, const char *key, char *sealed, size_t len);

#endif
