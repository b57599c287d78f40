/* tpm-key: the command-line tool. A tiny main that dispatches to one file per
 * subcommand; every subcommand reaches the TPM through the running agent. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "subcommands.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "gen", cmd_gen, "make a key inside the TPM" },
	{ "import", cmd_import, "make an existing OpenSSH/PEM private key a TPM key" },
	{ "list", cmd_list, "list the keys in the store" },
	{ "pub", cmd_pub, "print a key's OpenSSH public key" },
	{ "rm", cmd_rm, "delete a key (file and agent)" },
	{ "load", cmd_load, "load a key (back) into the agent" },
	{ "status", cmd_status, "show the TPM and the agent" },
	{ "cert", cmd_cert, "OpenSSH certificates: add, list, rm, show" },
	{ "pcr-seal", cmd_pcr_seal, "approve the current PCRs for a --pcr-authorized key" },
	{ "passwd", cmd_passwd, "change a key's PIN (asked through pinentry)" },
	{ "forget", cmd_forget, "forget cached PINs" },
	{ "update-env", cmd_update_env, "send PIN prompts for ssh clients to this terminal" },
	{ "init", cmd_init, "provision the SRK (asks the SO PIN if the TPM has one)" },
	{ "decrypt", cmd_decrypt, "RSA-decrypt stdin with a --decrypt key" },
	{ "encrypt", cmd_encrypt, "RSA-encrypt stdin to a key's public half" },
	{ "seal", cmd_seal, "seal a secret (stdin, <= 128 bytes) in the TPM" },
	{ "unseal", cmd_unseal, "print a sealed secret" },
	{ "attest", cmd_attest, "TPM attestation of a key (for a CA)" },
	{ "verify-attestation", cmd_verify_attestation, "check an attestation file offline" },
	{ "enroll", cmd_enroll, "get a certificate from an enrolment CA over ssh" },
	{ "ca", cmd_ca, "the enrolment CA (an sshd ForceCommand)" },
	{ "setup", cmd_setup, "enable the systemd user units; print the profile line" },
	{ "srk", cmd_srk, "print this TPM's SRK public key (PEM) and name" },
	{ "wrap", cmd_wrap, "wrap a private key for another TPM's SRK (no TPM needed)" },
	{ "add", cmd_add, "add a TSS2 key file (wrapped or loadable) to the store" },
	{ "supported", cmd_supported, "algorithms, curves and RSA sizes this TPM offers" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tpm-key COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'tpm-key COMMAND -h' shows a command's options. tpm-key talks to the\n"
		"agent named by $TPM_AGENT_SOCK or $SSH_AUTH_SOCK.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tpm-key %s\n", TPM_AGENT_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "tpm-key: unknown command '%s' (see tpm-key --help)\n", argv[1]);
	return 1;
}
