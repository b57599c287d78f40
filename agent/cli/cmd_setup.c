/* cmd_setup: tpm-key setup — enables the systemd user units and says what to add to the shell profile. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subcommands.h"

#define PROFILE_LINE "export SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/tpm-agent/agent.sock\""

static const char *const mask_gpg[] = {
	"systemctl", "--user", "mask", "--now", "gpg-agent.socket", "gpg-agent-extra.socket",
	"gpg-agent-browser.socket", "gpg-agent-ssh.socket", NULL,
};
static const char *const enable_ssh[] = {
	"systemctl", "--user", "enable", "--now", "tpm-agent.socket", NULL,
};
static const char *const enable_gpg[] = {
	"systemctl", "--user", "enable", "--now", "tpm-agent-gpg.socket", NULL,
};
static const char *const daemon_reload[] = { "systemctl", "--user", "daemon-reload", NULL };

/* Where distributions and `make install` put gpg-agent's user units. */
static const char *const gpg_unit_paths[] = {
	"/usr/lib/systemd/user/gpg-agent.socket", "/lib/systemd/user/gpg-agent.socket",
	"/usr/local/lib/systemd/user/gpg-agent.socket", "/etc/systemd/user/gpg-agent.socket",
};

static void setup_usage(FILE *f)
{
	cli_usage("setup", f); /* the text: tpm-key.c */
}

static void print_cmd(FILE *f, const char *prefix, const char *const *argv)
{
	fputs(prefix, f);
	for (size_t i = 0; argv[i] != NULL; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fputc('\n', f);
}

/* 1 when a user systemd answers (systemctl --user works). */
static int have_user_systemd(void)
{
	static const char *const probe[] = { "systemctl", "--user", "show-environment", NULL };

	return cli_run(probe, 1) == 0;
}

static int gpg_agent_units_present(void)
{
	struct stat st;

	for (size_t i = 0; i < sizeof(gpg_unit_paths) / sizeof(gpg_unit_paths[0]); i++)
		if (stat(gpg_unit_paths[i], &st) == 0)
			return 1;
	return 0;
}

static void print_by_hand(int gpg)
{
	printf("To set up by hand, in a session with a user systemd (systemctl --user):\n");
	print_cmd(stdout, "  ", daemon_reload);
	print_cmd(stdout, "  ", enable_ssh);
	if (gpg) {
		print_cmd(stdout, "  ", mask_gpg);
		print_cmd(stdout, "  ", enable_gpg);
	}
	printf("Without systemd, start the agent from the shell profile instead:\n"
	       "  eval \"$(tpm-agent -s%s)\"\n", gpg ? " --gpg" : "");
}

static void print_profile(void)
{
	printf("Add this line to your shell profile (~/.profile, ~/.bashrc or ~/.zshrc):\n"
	       "  %s\n", PROFILE_LINE);
}

int cmd_setup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "gpg", no_argument, NULL, 'g' },
		{ "yes", no_argument, NULL, 'y' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int gpg = 0, yes = 0, dry = 0, ch, masked = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--host") == 0)
			return cmd_setup_host(argc, argv);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g': gpg = 1; break;
		case 'y': yes = 1; break;
		case 'n': dry = 1; break;
		case 'h': setup_usage(stdout); return 0;
		default: setup_usage(stderr); return 1;
		}
	}
	if (optind != argc)
		return cli_fail("setup: unexpected argument '%s'", argv[optind]);

	if (dry) {
		print_cmd(stdout, "would run: ", daemon_reload);
		print_cmd(stdout, "would run: ", enable_ssh);
		if (gpg) {
			print_cmd(stdout, yes ? "would run: " : "would print (runs with --yes): ",
				  mask_gpg);
			print_cmd(stdout, "would run: ", enable_gpg);
		}
		print_profile();
		return 0;
	}
	if (!have_user_systemd()) {
		fprintf(stderr, "tpm-key: setup: systemctl --user is not available (no user "
			"systemd in this session); nothing was changed\n");
		print_by_hand(gpg);
		print_profile();
		return 1;
	}
	(void)cli_run(daemon_reload, 0);
	print_cmd(stdout, "running: ", enable_ssh);
	if (cli_run(enable_ssh, 0) != 0) {
		fprintf(stderr, "tpm-key: setup: enabling tpm-agent.socket failed; are the units "
			"installed (make install puts them in <prefix>/lib/systemd/user)?\n");
		return 1;
	}
	if (gpg) {
		if (!gpg_agent_units_present()) {
			printf("No gpg-agent user sockets found: nothing to mask. Stop a running "
			       "gpg-agent with: gpgconf --kill gpg-agent\n");
			masked = 1;
		} else if (yes) {
			print_cmd(stdout, "running: ", mask_gpg);
			masked = cli_run(mask_gpg, 0) == 0;
			if (!masked)
				fprintf(stderr, "tpm-key: setup: masking gpg-agent's sockets failed\n");
		} else {
			printf("gpg-agent's user sockets hold the gpg socket. To hand it to tpm-agent, "
			       "run (or rerun with --gpg --yes):\n");
			print_cmd(stdout, "  ", mask_gpg);
			print_cmd(stdout, "  ", enable_gpg);
		}
		if (masked) {
			print_cmd(stdout, "running: ", enable_gpg);
			if (cli_run(enable_gpg, 0) != 0) {
				fprintf(stderr, "tpm-key: setup: enabling tpm-agent-gpg.socket failed\n");
				return 1;
			}
		}
	}
	print_profile();
	return 0;
}
