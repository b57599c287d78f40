/* daemon_options: tpm-agent's command line, parsed into struct options, and the
 * settings made from defaults, the config file and the flags. */
#include "daemon_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../keystore/tpm.h"
#include "../protocol/control.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tpm-agent [-c | -s] [-Dd] [-a SOCKET] [-E HASH] [-O OPTION] [-P PROVIDERS]\n"
		"                 [-t LIFE] [--tcti TCTI | --simulator[=DIR]] [--srk-handle HANDLE]\n"
		"                 [--gpg] [--gpg-socket PATH] [--config FILE] [--KEY=VALUE ...]\n"
		"       tpm-agent [-a SOCKET] [-E HASH] [-O OPTION] [-P PROVIDERS] [-t LIFE]\n"
		"                 [--KEY=VALUE ...] COMMAND [ARG...]\n"
		"       tpm-agent [-c | -s] -k\n"
		"       tpm-agent --check-config [--config FILE] [--KEY=VALUE ...]\n"
		"\n"
		"An ssh-agent and gpg-agent whose keys are made inside the TPM and never leave it.\n"
		"\n"
		"  -a SOCKET          bind the agent socket to SOCKET\n"
		"                     (default $XDG_RUNTIME_DIR/tpm-agent/agent.sock)\n"
		"  -c, -s             print C-shell or Bourne-shell commands for the environment\n"
		"  -D                 stay in the foreground\n"
		"  -d                 debug: stay in the foreground and log to stderr\n"
		"  -k                 kill the agent named by $SSH_AGENT_PID\n"
		"  -E HASH            fingerprint hash in log lines: sha256 (default) or md5\n"
		"  -O OPTION          allow-remote-pkcs11 or no-restrict-websafe, as ssh-agent\n"
		"  -P PROVIDERS       PKCS#11 and FIDO providers ssh-add may load (pattern list,\n"
		"                     default %s)\n"
		"  -t LIFE            default lifetime of added keys (seconds or 1h30m; key-lifetime)\n"
		"  --pin-cache-ttl=S  forget a cached PIN after S seconds (default 600; 0 asks\n"
		"                     every time)\n"
		"  COMMAND [ARG...]   run COMMAND with the agent's environment; the agent exits\n"
		"                     when it does\n"
		"  --tcti TCTI        TPM to use (default $TPM_AGENT_TCTI, else %s)\n"
		"  --simulator[=DIR]  run a private swtpm (state in DIR, default <data dir>/simulator);\n"
		"                     keys are then NOT hardware-protected\n"
		"  --srk-handle H     persistent handle of the storage root key (default 0x%08x)\n"
		"  --no-encrypt-sessions  plain password sessions: PINs and digests cross the\n"
		"                     TPM bus in clear (default: salted AES-128-CFB sessions)\n"
		"  --gpg              also be gpg's agent, on the socket gpgconf --list-dirs\n"
		"                     agent-socket names (stop gpg-agent first)\n"
		"  --gpg-socket PATH  serve the gpg-agent protocol on PATH (implies --gpg)\n"
		"  --no-software-keys refuse keys added with ssh-add FILE (software-keys = no)\n"
		"  --proxy SOCKET     keys we do not hold: list and forward them to the agent on\n"
		"                     SOCKET (e.g. ssh-agent with a FIDO key; proxy-timeout)\n"
		"  --host             serve only host keys (tpm-key gen --host) for sshd's\n"
		"                     HostKeyAgent\n"
		"  --config FILE      settings file (default $XDG_CONFIG_HOME/tpm-agent/config)\n"
		"  --check-config     check the settings, print the effective ones and exit\n"
		"  --KEY=VALUE        any setting of the config file, e.g. --pin-cache-ttl=0;\n"
		"                     the command line wins over the file\n"
		"  --version          print the version\n"
		"  -h, --help         this help\n"
		"\n"
		"Settings (config file lines 'key = value'):",
		SETTINGS_PROVIDERS_DEFAULT, TPM_TCTI_DEFAULT, TPM_SRK_HANDLE_DEFAULT);
	for (size_t i = 0; settings_key_at(i) != NULL; i++)
		fprintf(f, "%s %s", i % 6 == 0 ? "\n   " : "", settings_key_at(i));
	fprintf(f, "\n");
}

static int add_flag(struct options *o, const char *key, const char *value)
{
	if (o->n_flags == MAX_FLAG_SETTINGS) {
		fprintf(stderr, "tpm-agent: too many settings on the command line\n");
		return -1;
	}
	o->flags[o->n_flags].key = key;
	o->flags[o->n_flags].value = value;
	o->n_flags++;
	return 0;
}

enum { OPT_TCTI = 256, OPT_SIMULATOR, OPT_SRK, OPT_PLAIN, OPT_GPG, OPT_GPG_SOCKET,
       OPT_CONFIG, OPT_CHECK, OPT_VERSION, OPT_SETTING };
enum { OPT_NO_SOFTKEYS = 200, OPT_HOST }; /* below 256: no short option uses these */

/* The fixed options, then one --KEY=VALUE per setting not spelled otherwise. */
static struct option *build_longopts(void)
{
	static const struct option fixed[] = {
		{ "tcti", required_argument, NULL, OPT_TCTI },
		{ "simulator", optional_argument, NULL, OPT_SIMULATOR },
		{ "srk-handle", required_argument, NULL, OPT_SRK },
		{ "no-encrypt-sessions", no_argument, NULL, OPT_PLAIN },
		{ "gpg", no_argument, NULL, OPT_GPG },
		{ "no-software-keys", no_argument, NULL, OPT_NO_SOFTKEYS },
		{ "host", no_argument, NULL, OPT_HOST },
		{ "gpg-socket", required_argument, NULL, OPT_GPG_SOCKET },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
	};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]), n = nf;
	static struct option all[64];

	memcpy(all, fixed, sizeof(fixed));
	for (size_t i = 0; settings_key_at(i) != NULL && n < 63; i++) {
		int taken = 0;

		for (size_t j = 0; j < nf; j++)
			taken |= strcmp(fixed[j].name, settings_key_at(i)) == 0;
		if (!taken)
			all[n++] = (struct option){ settings_key_at(i), required_argument, NULL,
						    OPT_SETTING + (int)i };
	}
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	return all;
}

/* ssh-agent's -t: seconds, or a sequence of NUMBER[smhdw] (convtime in OpenSSH). */
static int parse_lifetime(struct options *o, const char *arg)
{
	unsigned long long total = 0, n;
	const char *p = arg;
	char *end;

	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			goto bad;
		n = strtoull(p, &end, 10);
		switch (*end) {
		case 'w': case 'W': n *= 7; /* fall through */
		case 'd': case 'D': n *= 24; /* fall through */
		case 'h': case 'H': n *= 60; /* fall through */
		case 'm': case 'M': n *= 60; /* fall through */
		case 's': case 'S': end++; /* fall through */
		case '\0': break;
		default: goto bad;
		}
		total += n;
		if (n > 86400ULL * 365 * 10 || total > 86400ULL * 365 * 10)
			goto bad;
		p = end;
	}
	if (p == arg)
		goto bad;
	snprintf(o->lifetime, sizeof(o->lifetime), "%llu", total);
	return add_flag(o, "key-lifetime", o->lifetime);
bad:
	fprintf(stderr, "tpm-agent: -t %s: not a lifetime (seconds, or e.g. 1h30m)\n", arg);
	return -1;
}

/* ssh-agent's -O options. */
static int parse_agent_option(struct options *o, const char *arg)
{
	if (strcmp(arg, "allow-remote-pkcs11") == 0)
		return add_flag(o, "allow-remote-pkcs11", "yes");
	if (strcmp(arg, "no-restrict-websafe") == 0)
		return add_flag(o, "restrict-websafe", "no");
	fprintf(stderr, "tpm-agent: unknown -O option '%s' (allow-remote-pkcs11, "
		"no-restrict-websafe)\n", arg);
	return -1;
}

static int parse_flag(struct options *o, int ch)
{
	switch (ch) {
	case 'a': o->socket = optarg; return 0;
	case 'c': o->shell = 'c'; return 0;
	case 's': o->shell = 's'; return 0;
	case 'D': o->foreground = 1; return 0;
	case 'd': o->foreground = o->debug = 1; return add_flag(o, "log-level", "debug");
	case 'k': o->kill = 1; return 0;
	case 't': return parse_lifetime(o, optarg);
	case 'E': return add_flag(o, "fingerprint-hash", optarg);
	case 'O': return parse_agent_option(o, optarg);
	case 'P': return add_flag(o, "allowed-providers", optarg);
	case OPT_TCTI: return add_flag(o, "tcti", optarg);
	case OPT_SIMULATOR:
		return add_flag(o, "simulator", "yes") ||
		       (optarg != NULL && add_flag(o, "simulator-dir", optarg));
	case OPT_SRK: return add_flag(o, "srk-handle", optarg);
	case OPT_PLAIN: return add_flag(o, "encrypt-sessions", "no");
	case OPT_GPG: return add_flag(o, "gpg", "yes");
	case OPT_NO_SOFTKEYS: return add_flag(o, "software-keys", "no");
	case OPT_HOST: return add_flag(o, "host", "yes");
	case OPT_GPG_SOCKET: return add_flag(o, "gpg", "yes") || add_flag(o, "gpg-socket", optarg);
	case OPT_CONFIG: o->config = optarg; return 0;
	case OPT_CHECK: o->check_config = 1; return 0;
	case OPT_VERSION: printf("tpm-agent %s\n", TPM_AGENT_VERSION); exit(0);
	case 'h': usage(stdout); exit(0);
	default:
		if (ch >= OPT_SETTING && settings_key_at((size_t)(ch - OPT_SETTING)) != NULL)
			return add_flag(o, settings_key_at((size_t)(ch - OPT_SETTING)), optarg);
		usage(stderr);
		return -1;
	}
}

int parse_options(int argc, char **argv, struct options *o)
{
	struct option *longopts = build_longopts();
	int ch;

	/* '+': options end at COMMAND, whose own options are its business */
	while ((ch = getopt_long(argc, argv, "+a:cDdE:hkO:P:st:", longopts, NULL)) != -1)
		if (parse_flag(o, ch) != 0)
			return -1;
	if (optind != argc) {
		if (o->shell != 0 || o->kill || o->foreground || o->check_config) {
			fprintf(stderr, "tpm-agent: COMMAND does not go with -c, -s, -k, -D, -d or "
				"--check-config\n");
			usage(stderr);
			return -1;
		}
		o->command = argv + optind;
	}
	if (o->shell == 0) {
		const char *sh = getenv("SHELL");
		size_t n = sh ? strlen(sh) : 0;

		o->shell = (n >= 3 && strcmp(sh + n - 3, "csh") == 0) ? 'c' : 's';
	}
	return 0;
}

/* Defaults, then the config file, then the command line. */
int load_settings(const struct options *o, struct settings *s, struct errmsg *e)
{
	char path[PATH_MAX];

	settings_defaults(s);
	if (o->config != NULL) {
		if (settings_load_file(s, o->config, 0, e) != 0)
			return -1;
	} else if (settings_default_path(path, sizeof(path), e) == 0 &&
		   settings_load_file(s, path, 1, e) != 0) {
		return -1;
	}
	for (size_t i = 0; i < o->n_flags; i++)
		if (settings_set(s, o->flags[i].key, o->flags[i].value, e) != 0)
			return errmsg_prefix(e, "command line");
	return 0;
}
