/* daemon_gpghome: where gnupg keeps its files, computed as gnupg does: the home
 * directory and the socket directory under /run/user. Below the gpg front end and
 * daemon_sshcontrol (which reads <homedir>/sshcontrol). */
#include "daemon_gpghome.h"

#include <errno.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* zbase32 (RFC 6189 alphabet) of the first nbits of data, as gnupg's zb32_encode. */
static void zb32_encode(const uint8_t *data, size_t nbits, char *out)
{
	static const char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
	size_t i, o = 0;

	for (i = 0; i < nbits; i += 5) {
		unsigned v = 0;

		for (size_t b = 0; b < 5; b++) {
			size_t bit = i + b;

			v <<= 1;
			if (bit < nbits && (data[bit / 8] & (0x80 >> (bit % 8))))
				v |= 1;
		}
		out[o++] = alphabet[v];
	}
	out[o] = '\0';
}

/* The absolute homedir as gnupg computes it: $GNUPGHOME (trailing slashes removed,
 * "~/" expanded, made absolute) or ~/.gnupg. *non_default is 1 unless it is ~/.gnupg. */
static int gpg_homedir(char *out, size_t len, int *non_default, struct errmsg *e)
{
	const char *env = getenv("GNUPGHOME"), *home = getenv("HOME");
	char dir[PATH_MAX], cwd[PATH_MAX], def[PATH_MAX];
	size_t n;

	if (home == NULL || home[0] == '\0')
		return errmsg_set(e, "HOME is not set: cannot find the gpg home directory");
	snprintf(def, sizeof(def), "%s/.gnupg", home);
	if (env == NULL || env[0] == '\0') {
		*non_default = 0;
		return snprintf(out, len, "%s", def) >= (int)len ? errmsg_set(e, "path too long") : 0;
	}
	snprintf(dir, sizeof(dir), "%s", env);
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	if (dir[0] == '~' && (dir[1] == '/' || dir[1] == '\0'))
		n = (size_t)snprintf(out, len, "%s%s", home, dir + 1);
	else if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
		n = (size_t)snprintf(out, len, "%s/%s", cwd, dir);
	else
		n = (size_t)snprintf(out, len, "%s", dir);
	if (n >= len)
		return errmsg_set(e, "GNUPGHOME too long");
	*non_default = strcmp(out, def) != 0;
	return 0;
}

int gpg_home_dir(char *out, size_t len, struct errmsg *e)
{
	int non_default;

	return gpg_homedir(out, len, &non_default, e);
}

/* A directory owned by us and closed to others (gnupg's test), created 0700 if missing. */
static int private_dir(const char *path, int create)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno != ENOENT || !create || mkdir(path, 0700) != 0 || stat(path, &st) != 0)
			return 0;
	}
	return S_ISDIR(st.st_mode) && st.st_uid == getuid() && (st.st_mode & 077) == 0;
}

/* gnupg's _gnupg_socketdir_internal: /run/user/<uid>/gnupg[/d.<hash>], or "" when it
 * falls back to the homedir. */
static void gpg_run_socketdir(const char *homedir, int non_default, char *out, size_t len)
{
	static const char *const bases[] = { "/run", "/var/run" };
	char prefix[PATH_MAX], suffix[32];
	uint8_t sha1[SHA_DIGEST_LENGTH];
	struct stat st;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < 2; i++) {
		snprintf(prefix, sizeof(prefix), "%s/user/%u", bases[i], (unsigned)getuid());
		if (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode))
			break;
	}
	if (i == 2 || st.st_uid != getuid())
		return;
	strcat(prefix, "/gnupg");
	if (!private_dir(prefix, 1))
		return;
	if (!non_default) {
		snprintf(out, len, "%s", prefix);
		return;
	}
	SHA1((const uint8_t *)homedir, strlen(homedir), sha1);
	zb32_encode(sha1, 8 * 15, suffix);
	snprintf(out, len, "%s/d.%s", prefix, suffix);
	if (!private_dir(out, 1))
		out[0] = '\0';
}

int gpg_default_socket_path(char *out, size_t len, struct errmsg *e)
{
	char home[PATH_MAX], dir[PATH_MAX];
	int non_default;

	if (gpg_homedir(home, sizeof(home), &non_default, e) != 0)
		return -1;
	gpg_run_socketdir(home, non_default, dir, sizeof(dir));
	if (snprintf(out, len, "%s/S.gpg-agent", dir[0] ? dir : home) >= (int)len)
		return errmsg_set(e, "gpg socket path too long");
	return 0;
}
