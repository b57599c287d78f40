/* daemon_settings: one table drives the config file, the --KEY=VALUE flags and
 * --check-config, so a setting cannot exist in one place and be missing in another. */
#include "daemon_settings.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../keystore/store.h"
#include "../keystore/tpm.h"
#include "../keystore/tpm_policy.h"
#include "../pinentry/pinentry.h"
#include "../protocol/config.h"
#include "../keystore/log.h"

enum setting_kind { SET_STRING, SET_BOOL, SET_UINT, SET_HANDLE, SET_LOGLEVEL, SET_PCRS,
		    SET_HIERARCHY, SET_PINSEAL, SET_FPHASH };

struct setting_def {
	const char *key;
	enum setting_kind kind;
	size_t offset, size;
	uint32_t min, max;    /* SET_UINT / SET_HANDLE bounds */
};

#define STR(f) SET_STRING, offsetof(struct settings, f), sizeof(((struct settings *)0)->f), 0, 0
#define BOOL(f) SET_BOOL, offsetof(struct settings, f), sizeof(int), 0, 1
#define UINT(f, lo, hi) SET_UINT, offsetof(struct settings, f), sizeof(unsigned), lo, hi
#define HANDLE(f, lo, hi) SET_HANDLE, offsetof(struct settings, f), sizeof(uint32_t), lo, hi

static const struct setting_def defs[] = {
	{ "tcti", STR(tcti) },
	{ "simulator", BOOL(simulator) },
	{ "simulator-dir", STR(simulator_dir) },
	{ "srk-handle", HANDLE(srk_handle, 0x81000000u, 0x81ffffffu) },
	{ "hierarchy", SET_HIERARCHY, offsetof(struct settings, hierarchy), sizeof(int), 0, 0 },
	{ "encrypt-sessions", BOOL(encrypt_sessions) },
	{ "pin-cache-ttl", UINT(pin_cache_ttl, 0, 86400 * 365) },
	{ "pinentry-program", STR(pinentry_program) },
	{ "max-nv-certs", UINT(max_nv_certs, 0, 64) },
	{ "nv-base-index", HANDLE(nv_base_index, 0x01800000u, 0x01bf0000u) },
	{ "gpg", BOOL(gpg) },
	{ "gpg-socket", STR(gpg_socket) },
	{ "log-level", SET_LOGLEVEL, offsetof(struct settings, log_level), sizeof(int), 0, 0 },
	{ "software-keys", BOOL(software_keys) },
	{ "proxy", STR(proxy) },
	{ "proxy-timeout", UINT(proxy_timeout, 1, 120) },
	{ "host", BOOL(host) },
	{ "platform-policy", BOOL(platform_policy) },
	{ "pcr-selection", SET_PCRS, offsetof(struct settings, pcr_selection),
	  sizeof(((struct settings *)0)->pcr_selection), 0, 0 },
	{ "client-idle-timeout", UINT(client_idle_timeout, 0, 86400) },
	{ "pin-from-sealed", SET_PINSEAL, offsetof(struct settings, pin_from_sealed),
	  sizeof(((struct settings *)0)->pin_from_sealed), 0, 0 },
	{ "key-lifetime", UINT(key_lifetime, 0, 86400u * 365 * 10) },
	{ "renew-at", UINT(renew_at, 0, 99) },
	{ "renew-check", UINT(renew_check, 1, 86400) },
	{ "fingerprint-hash", SET_FPHASH, offsetof(struct settings, fingerprint_hash),
	  sizeof(((struct settings *)0)->fingerprint_hash), 0, 0 },
	{ "allowed-providers", STR(allowed_providers) },
	{ "allow-remote-pkcs11", BOOL(allow_remote_pkcs11) },
	{ "restrict-websafe", BOOL(restrict_websafe) },
	{ "legacy-rsa-sha1", BOOL(legacy_rsa_sha1) },
	{ "tpm-timeout", UINT(tpm_timeout, 1, 3600) },
	{ "tpm-create-timeout", UINT(tpm_create_timeout, 1, 3600) },
	{ "key-dirs", STR(key_dirs) },
	{ "load-keys", BOOL(load_keys) },
	{ "hierarchy-keys", STR(hierarchy_keys) },
	{ "sandbox", BOOL(sandbox) },
	{ "sandbox-allow", STR(sandbox_allow) },
};
#define N_DEFS (sizeof(defs) / sizeof(defs[0]))

static void settings_env_simulator(struct settings *s);

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void settings_defaults(struct settings *s)
{
	const char *tcti = getenv("TPM_AGENT_TCTI"), *pin = getenv("PINENTRY_PROGRAM");

	memset(s, 0, sizeof(*s));
	snprintf(s->tcti, sizeof(s->tcti), "%s", tcti && *tcti ? tcti : TPM_TCTI_DEFAULT);
	s->srk_handle = TPM_SRK_HANDLE_DEFAULT;
	s->encrypt_sessions = 1;
	s->pin_cache_ttl = 600;
	snprintf(s->pinentry_program, sizeof(s->pinentry_program), "%s",
		 pin && *pin ? pin : PINENTRY_DEFAULT_PROGRAM);
	s->max_nv_certs = 4;
	s->nv_base_index = 0x01800000u;
	s->log_level = LOG_LVL_INFO;
	s->software_keys = 1;
	s->proxy_timeout = 5;
	s->renew_at = 20;
	s->renew_check = 60;
	snprintf(s->pcr_selection, sizeof(s->pcr_selection), "0,1,2,3,7");
	s->client_idle_timeout = 300;
	snprintf(s->fingerprint_hash, sizeof(s->fingerprint_hash), "sha256");
	snprintf(s->allowed_providers, sizeof(s->allowed_providers), "%s",
		 SETTINGS_PROVIDERS_DEFAULT);
	s->restrict_websafe = 1;
	s->tpm_timeout = 30;
	s->tpm_create_timeout = 300;
	s->load_keys = 1;
	s->sandbox = 1;
	settings_env_simulator(s);
}

/* $TPM_AGENT_SIMULATOR: "yes" (or 1) is --simulator; "ephemeral" a private swtpm and
 * key store in a fresh temp dir, removed at exit, for test suites that start agents
 * as ssh-agent (OpenSSH's regress). */
static void settings_env_simulator(struct settings *s)
{
	const char *v = getenv("TPM_AGENT_SIMULATOR");

	if (v == NULL || *v == '\0')
		return;
	if (strcmp(v, "ephemeral") == 0)
		s->simulator = s->simulator_ephemeral = 1;
	else if (config_bool(v) == 1)
		s->simulator = 1;
}

static const struct setting_def *find_def(const char *key)
{
	for (size_t i = 0; i < N_DEFS; i++)
		if (strcmp(defs[i].key, key) == 0)
			return &defs[i];
	return NULL;
}

const char *settings_key_at(size_t i)
{
	return i < N_DEFS ? defs[i].key : NULL;
}

int settings_known(const char *key)
{
	return find_def(key) != NULL;
}

static int parse_number(const struct setting_def *d, const char *value, uint32_t *out,
			struct errmsg *e)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 0);
	if (value[0] == '\0' || value[0] == '-' || *end != '\0' || errno != 0 ||
	    v < d->min || v > d->max)
		return errmsg_set(e, "%s: '%s' is not a number from %s%u to %s%u", d->key, value,
				  d->kind == SET_HANDLE ? "0x" : "", d->min,
				  d->kind == SET_HANDLE ? "0x" : "", d->max);
	*out = (uint32_t)v;
	return 0;
}

static int set_level(int *level, const char *value, struct errmsg *e)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(value, level_names[i]) == 0) {
			*level = i;
			return 0;
		}
	return errmsg_set(e, "log-level: '%s' is not one of error, warning, info, debug", value);
}

/* One "KEY:SEALED" of a pin-from-sealed list [p, end) into key and sealed. */
static int pin_sealed_pair(const char *p, const char *end, char key[STORE_NAME_MAX],
			   char sealed[STORE_NAME_MAX])
{
	const char *colon = memchr(p, ':', (size_t)(end - p));

	if (colon == NULL || colon - p >= STORE_NAME_MAX || end - colon - 1 >= STORE_NAME_MAX)
		return -1;
	snprintf(key, STORE_NAME_MAX, "%.*s", (int)(colon - p), p);
	snprintf(sealed, STORE_NAME_MAX, "%.*s", (int)(end - colon - 1), colon + 1);
	return store_name_valid(key) && store_name_valid(sealed) ? 0 : -1;
}

/* "" or "KEY:SEALED[,KEY:SEALED...]". */
static int check_pin_sealed(const char *value, struct errmsg *e)
{
	char key[STORE_NAME_MAX], sealed[STORE_NAME_MAX];

	for (const char *p = value; *value != '\0';) {
		const char *end = strchr(p, ',');

		if (end == NULL)
			end = p + strlen(p);
		if (pin_sealed_pair(p, end, key, sealed) != 0)
			return errmsg_set(e, "'%.*s' is not KEYNAME:SEALNAME (a comma-separated list "
					  "of them)", (int)(end - p), p);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

int settings_pin_sealed(const struct settings *s, const char *key, char *sealed, size_t len)
{
	char k[STORE_NAME_MAX], v[STORE_NAME_MAX];

	for (const char *p = s->pin_from_sealed; *p != '\0';) {
		const char *end = strchr(p, ',');

		if (end == NULL)
			end = p + strlen(p);
		if (pin_sealed_pair(p, end, k, v) == 0 && strcmp(k, key) == 0) {
			snprintf(sealed, len, "%s", v);
			return 1;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

int settings_set(struct settings *s, const char *key, const char *value, struct errmsg *e)
{
	const struct setting_def *d = find_def(key);
	char *field = (char *)s + (d ? d->offset : 0);
	uint32_t n = 0;
	int b;

	if (d == NULL)
		return errmsg_set(e, "unknown setting '%s' (tpm-agent --help lists them)", key);
	switch (d->kind) {
	case SET_STRING:
		if (strlen(value) >= d->size)
			return errmsg_set(e, "%s: value longer than %zu bytes", key, d->size - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case SET_BOOL:
		if ((b = config_bool(value)) < 0)
			return errmsg_set(e, "%s: '%s' is not yes or no", key, value);
		*(int *)field = b;
		return 0;
	case SET_UINT:
	case SET_HANDLE:
		if (parse_number(d, value, &n, e) != 0)
			return -1;
		if (d->kind == SET_UINT)
			*(unsigned *)field = n;
		else
			*(uint32_t *)field = n;
		return 0;
	case SET_LOGLEVEL:
		return set_level((int *)field, value, e);
	case SET_HIERARCHY:
		for (int h = TPM_HIER_OWNER; h <= TPM_HIER_NULL; h++)
			if (strcmp(value, tpm_hierarchy_name(h)) == 0) {
				*(int *)field = h;
				return 0;
			}
		return errmsg_set(e, "%s: '%s' is not one of owner, endorsement, null", key, value);
	case SET_PINSEAL:
		if (check_pin_sealed(value, e) != 0)
			return errmsg_prefix(e, "%s", key);
		if (strlen(value) >= d->size)
			return errmsg_set(e, "%s: value longer than %zu bytes", key, d->size - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case SET_FPHASH:
		if (strcmp(value, "sha256") != 0 && strcmp(value, "md5") != 0)
			return errmsg_set(e, "%s: '%s' is not sha256 or md5", key, value);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case SET_PCRS:
		if (settings_pcr_sel(value, NULL, e) != 0)
			return errmsg_prefix(e, "%s", key);
		if (strlen(value) >= d->size)
			return errmsg_set(e, "%s: value longer than %zu bytes", key, d->size - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	return errmsg_set(e, "%s: internal error", key);
}

int settings_default_path(char *out, size_t len, struct errmsg *e)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, len, "%s/tpm-agent/config", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, len, "%s/.config/tpm-agent/config", home);
	else
		return errmsg_set(e, "config: neither XDG_CONFIG_HOME nor HOME is set");
	return n < (int)len ? 0 : errmsg_set(e, "config: path too long");
}

static int apply_setting(void *arg, const char *key, const char *value, struct errmsg *e)
{
	return settings_set(arg, key, value, e);
}

int settings_load_file(struct settings *s, const char *path, int optional, struct errmsg *e)
{
	char *text = NULL;
	size_t len;
	int r;

	if (optional && access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	/* Settings such as pinentry-program run code: the file and its directory must be
	 * the user's (or root's) and not writable by others, as keys are. */
	if (store_read_private(path, CONFIG_FILE_MAX, 1, &text, &len, e) != 0)
		return errmsg_prefix(e, "config");
	r = config_parse(text, len, apply_setting, s, e);
	free(text);
	return r == 0 ? 0 : errmsg_prefix(e, "%s", path);
}

static void format_value(const struct settings *s, const struct setting_def *d, char *out,
			 size_t len)
{
	const char *field = (const char *)s + d->offset;

	switch (d->kind) {
	case SET_STRING: snprintf(out, len, "%s", field); break;
	case SET_BOOL: snprintf(out, len, "%s", *(const int *)field ? "yes" : "no"); break;
	case SET_UINT: snprintf(out, len, "%u", *(const unsigned *)field); break;
	case SET_HANDLE: snprintf(out, len, "0x%08x", *(const uint32_t *)field); break;
	case SET_LOGLEVEL: snprintf(out, len, "%s", level_names[*(const int *)field & 3]); break;
	case SET_PCRS: snprintf(out, len, "%s", field); break;
	case SET_PINSEAL: snprintf(out, len, "%s", field); break;
	case SET_FPHASH: snprintf(out, len, "%s", field); break;
	case SET_HIERARCHY:
		snprintf(out, len, "%s", tpm_hierarchy_name(*(const int *)field)); break;
	}
}

void settings_each(const struct settings *s, void (*fn)(void *arg, const char *key,
							 const char *value), void *arg)
{
	char value[PATH_MAX + 8];

	for (size_t i = 0; i < N_DEFS; i++) {
		format_value(s, &defs[i], value, sizeof(value));
		fn(arg, defs[i].key, value);
	}
}

static void print_line(void *arg, const char *key, const char *value)
{
	fprintf(arg, "%s = %s%s%s\n", key, strchr(value, ' ') ? "\"" : "", value,
		strchr(value, ' ') ? "\"" : "");
}

void settings_print(const struct settings *s, FILE *f)
{
	settings_each(s, print_line, f);
}

int settings_pcr_sel(const char *value, struct tpm_pcr_sel *sel, struct errmsg *e)
{
	struct tpm_pcr_sel ignored;
	const char *colon = strchr(value, ':');
	char bank[16];

	if (sel == NULL)
		sel = &ignored;
	if (colon == NULL)
		return tpm_pcr_parse(value, "sha256", sel, e);
	if ((size_t)(colon - value) >= sizeof(bank))
		return errmsg_set(e, "'%s' is not [BANK:]PCRS like sha256:0,1,2,3,7", value);
	snprintf(bank, sizeof(bank), "%.*s", (int)(colon - value), value);
	return tpm_pcr_parse(colon + 1, bank, sel, e);
}
