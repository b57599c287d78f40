/* cmd_setup_host: tpm-key setup --host — sshd's host keys in the TPM as a system
 * service: the units of tpm-agent --host (socket + service, data in /var/lib/tpm-agent),
 * its settings (/etc/tpm-agent/host.conf), the host keys' public files and an
 * sshd_config.d drop-in (HostKeyAgent + HostKey), checked with sshd -t. --root DIR puts
 * everything, and every path the files name, under DIR (tests, trying it out); then no
 * systemctl runs. --dry-run prints the actions only. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../keystore/store.h"
#include "../../protocol/sshkey.h"
#include "client.h"
#include "host_units.h" /* generated from contrib/systemd/system by contrib/embed.sh */
#include "subcommands.h"

struct host_setup {
	const char *root;          /* "" or the --root DIR */
	char bindir[PATH_MAX];     /* where tpm-agent is: beside this tpm-key */
	char socket[PATH_MAX];
	const char *hierarchy_key; /* for a new host.conf; "none": only tpm-key gen --host keys */
	const char *sshd;
	int dry;
};

static void host_usage(FILE *f)
{
	cli_usage("setup", f); /* the text: tpm-key.c */
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* root + path into out. */
static int rooted(const struct host_setup *h, const char *path, char *out, size_t len)
{
	return snprintf(out, len, "%s%s", h->root, path) < (int)len ? 0 : -1;
}

/* Writes text to root+path (parents made), or says it would. */
static int put_file(const struct host_setup *h, const char *path, const char *text, int mode)
{
	char full[PATH_MAX], dir[PATH_MAX], *slash;
	struct errmsg e;

	if (rooted(h, path, full, sizeof(full)) != 0)
		return cli_fail("setup: %s%s: path too long", h->root, path);
	printf("%s %s\n", h->dry ? "would write" : "writing", full);
	if (h->dry)
		return 0;
	snprintf(dir, sizeof(dir), "%s", full);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0755) != 0)
			return cli_fail("setup: cannot create %s: %m", dir);
	}
	if (store_write_atomic(full, text, strlen(text), mode, &e) != 0)
		return cli_fail("setup: %s", e.text);
	return 0;
}

/* A unit template with @ROOT@ and @BINDIR@ filled in; malloc'd. */
static char *fill_unit(const struct host_setup *h, const char *tmpl)
{
	size_t cap = strlen(tmpl) * 2 + 8192, n = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	for (const char *p = tmpl; *p != '\0' && n + PATH_MAX < cap;) {
		if (strncmp(p, "@ROOT@", 6) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", h->root);
			p += 6;
		} else if (strncmp(p, "@BINDIR@", 8) == 0) {
			n += (size_t)snprintf(out + n, cap - n, "%s", h->bindir);
			p += 8;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	return out;
}

static int put_units(const struct host_setup *h)
{
	char *sock = fill_unit(h, embed_tpm_agent_host_socket);
	char *svc = fill_unit(h, embed_tpm_agent_host_service);
	int rc = sock == NULL || svc == NULL ? cli_fail("setup: out of memory") :
		 put_file(h, "/etc/systemd/system/tpm-agent-host.socket", sock, 0644) ||
		 put_file(h, "/etc/systemd/system/tpm-agent-host.service", svc, 0644);

	free(sock);
	free(svc);
	return rc;
}

/* host.conf: kept when there is one (the admin's), else the default. */
static int put_config(const struct host_setup *h)
{
	char full[PATH_MAX], text[512];
	struct stat st;

	if (rooted(h, "/etc/tpm-agent/host.conf", full, sizeof(full)) != 0)
		return cli_fail("setup: path too long");
	if (stat(full, &st) == 0) {
		printf("keeping %s\n", full);
		return 0;
	}
	snprintf(text, sizeof(text), "# tpm-agent --host (tpm-agent-host.service); see "
		 "tpm-agent.conf(5)\ntcti = device:/dev/tpmrm0\n%s%s\n",
		 strcmp(h->hierarchy_key, "none") ? "hierarchy-keys = " : "# hierarchy-keys = ",
		 strcmp(h->hierarchy_key, "none") ? h->hierarchy_key : "owner:ecdsa256");
	return put_file(h, "/etc/tpm-agent/host.conf", text, 0644);
}

static int make_data_dir(const struct host_setup *h)
{
	char full[PATH_MAX];

	if (rooted(h, "/var/lib/tpm-agent/hostkeys", full, sizeof(full)) != 0)
		return cli_fail("setup: path too long");
	printf("%s %s (mode 0700)\n", h->dry ? "would create" : "creating", full);
	if (h->dry)
		return 0;
	if (mkdir_p(full, 0755) != 0)
		return cli_fail("setup: cannot create %s: %m", full);
	*strrchr(full, '/') = '\0'; /* the data dir itself: root's alone */
	if (chmod(full, 0700) != 0)
		return cli_fail("setup: cannot chmod %s: %m", full);
	return 0;
}

static int systemctl(const struct host_setup *h)
{
	static const char *const reload[] = { "systemctl", "daemon-reload", NULL };
	static const char *const enable[] = { "systemctl", "enable", "--now",
					      "tpm-agent-host.socket", NULL };

	if (h->root[0] != '\0' || h->dry) {
		printf("%s: systemctl daemon-reload; systemctl enable --now tpm-agent-host.socket\n",
		       h->dry ? "would run" : "skipped with --root");
		return 0;
	}
	printf("running: systemctl daemon-reload; systemctl enable --now tpm-agent-host.socket\n");
	if (cli_run(reload, 0) != 0 || cli_run(enable, 0) != 0)
		return cli_fail("setup: systemctl failed: is systemd running as PID 1?");
	return 0;
}

/* Asks the host agent for its host keys; writes each public key and appends a HostKey
 * line for it to dropin. */
static int put_host_keys(const struct host_setup *h, char *dropin, size_t len)
{
	struct cli_key *keys = NULL;
	size_t n = 0, used = 0;
	struct errmsg e;
	int rc = 0;

	printf("%s the host keys from the agent at %s\n", h->dry ? "would fetch" : "fetching",
	       h->socket);
	if (h->dry) {
		snprintf(dropin + strlen(dropin), len - strlen(dropin),
			 "HostKey %s/var/lib/tpm-agent/hostkeys/<each host key>.pub\n", h->root);
		return 0;
	}
	setenv("TPM_AGENT_SOCK", h->socket, 1);
	if (cli_list_keys(&keys, &n, &e) != 0)
		return cli_fail("setup: %s (is tpm-agent-host.socket running?)", e.text);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct sshkey_pub pub;
		char path[PATH_MAX], *line = NULL, *text = NULL;

		if (keys[i].flags & (CTL_KEY_HIDDEN | CTL_KEY_SOFTWARE))
			continue;
		snprintf(path, sizeof(path), "/var/lib/tpm-agent/hostkeys/%s.pub", keys[i].name);
		if (sshkey_pub_from_blob(keys[i].blob, keys[i].blob_len, &pub) != 0 ||
		    sshkey_pub_to_line(&pub, keys[i].name, &line) != 0 ||
		    asprintf(&text, "%s\n", line) < 0) {
			text = NULL;
			rc = cli_fail("setup: cannot encode host key '%s'", keys[i].name);
		} else {
			rc = put_file(h, path, text, 0644);
			snprintf(dropin + strlen(dropin), len - strlen(dropin), "HostKey %s%s\n",
				 h->root, path);
			used++;
		}
		free(line);
		free(text);
	}
	free(keys);
	if (rc == 0 && used == 0)
		rc = cli_fail("setup: the agent at %s serves no host key: set hierarchy-keys in "
			      "%s/etc/tpm-agent/host.conf, or make one with TPM_AGENT_SOCK=%s "
			      "tpm-key gen --host", h->socket, h->root, h->socket);
	return rc;
}

/* sshd -t on the main config (which must Include sshd_config.d); the drop-in goes when
 * it fails. */
static int check_sshd(const struct host_setup *h, const char *dropin_path)
{
	char conf[PATH_MAX], *text = NULL;
	size_t len;
	struct errmsg e;
	const char *argv[] = { h->sshd, "-t", "-f", conf, NULL };

	if (rooted(h, "/etc/ssh/sshd_config", conf, sizeof(conf)) != 0)
		return cli_fail("setup: path too long");
	printf("%s %s -t -f %s\n", h->dry ? "would run" : "running", h->sshd, conf);
	if (h->dry)
		return 0;
	if (store_read_file(conf, 1024 * 1024, &text, &len, &e) == 0 &&
	    strstr(text, "sshd_config.d") == NULL)
		fprintf(stderr, "tpm-key: setup: warning: %s has no Include of sshd_config.d: add "
			"\"Include %s/etc/ssh/sshd_config.d/*.conf\" at its top\n", conf, h->root);
	free(text);
	if (cli_run(argv, 0) != 0) {
		unlink(dropin_path);
		return cli_fail("setup: %s -t rejects the configuration (above); %s removed again",
				h->sshd, dropin_path);
	}
	return 0;
}

static int host_setup(struct host_setup *h)
{
	char dropin[8192], path[PATH_MAX];

	snprintf(dropin, sizeof(dropin), "# sshd's host keys in the TPM, through tpm-agent --host "
		 "(written by tpm-key setup --host)\nHostKeyAgent %s\n", h->socket);
	if (put_units(h) || put_config(h) || make_data_dir(h) || systemctl(h) ||
	    put_host_keys(h, dropin, sizeof(dropin)) ||
	    put_file(h, "/etc/ssh/sshd_config.d/tpm-agent-host.conf", dropin, 0644))
		return 1;
	if (rooted(h, "/etc/ssh/sshd_config.d/tpm-agent-host.conf", path, sizeof(path)) != 0 ||
	    check_sshd(h, path) != 0)
		return 1;
	printf("%s: reload sshd (systemctl reload ssh) to use the TPM host keys; clients see new "
	       "host keys: update their known_hosts\n", h->dry ? "then" : "done");
	return 0;
}

int cmd_setup_host(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", no_argument, NULL, 'H' },
		{ "root", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "hierarchy-key", required_argument, NULL, 'k' },
		{ "sshd", required_argument, NULL, 'S' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct host_setup h = { .root = "", .hierarchy_key = "owner:ecdsa256",
				.sshd = "/usr/sbin/sshd" };
	const char *socket = NULL;
	char self[PATH_MAX];
	ssize_t n;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': break;
		case 'r': h.root = optarg; break;
		case 's': socket = optarg; break;
		case 'k': h.hierarchy_key = optarg; break;
		case 'S': h.sshd = optarg; break;
		case 'n': h.dry = 1; break;
		case 'h': host_usage(stdout); return 0;
		default: host_usage(stderr); return 1;
		}
	}
	if (optind != argc)
		return cli_fail("setup: unexpected argument '%s'", argv[optind]);
	if (h.root[0] != '\0' && h.root[0] != '/')
		return cli_fail("setup: --root %s: give an absolute path", h.root);
	if (strcmp(h.root, "/") == 0)
		h.root = "";
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return cli_fail("setup: cannot find this program's directory: %m");
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(h.bindir, sizeof(h.bindir), "%s", self);
	if (socket != NULL)
		snprintf(h.socket, sizeof(h.socket), "%s", socket);
	else if (snprintf(h.socket, sizeof(h.socket), "%s/run/tpm-agent-host/agent.sock",
			  h.root) >= (int)sizeof(h.socket))
		return cli_fail("setup: --root too long");
	if (!h.dry && geteuid() != 0 && h.root[0] == '\0')
		return cli_fail("setup --host: run it as root (it installs system units and "
				"configures sshd), or try --dry-run");
	return host_setup(&h);
}
