/* tpm-key: the command-line tool. A tiny main that dispatches to one file per
 * subcommand; every subcommand reaches the TPM through the running agent. The
 * command table below is the one source of each command's usage text: -h, `help
 * CMD`, the man-page check (tests/integration/test_docs.sh) and the shell
 * completions (--complete-data) all read it. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/control.h"
#include "subcommands.h"

/* args: what the positional arguments are, for completion: "key" (one key name),
 * "keys" (several), "sealed" (a sealed object), "key-or-pub" (a key or a .pub
 * file), "file", "cert" (add|list|rm|show, then a key, then a file) or "" (none).
 * optargs: the options that take a value, each "OPT=WORD WORD..." separated by ';'
 * ("@key" completes key names, "@file" files, nothing: a free value). */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *args;
	const char *optargs;
	const char *usage;
} commands[] = {
	{ "gen", cmd_gen, "make a key inside the TPM", "",
	  "-t=ecdsa rsa;-b=256 384 521 2048 3072;-n=;-C=;--pcr=;"
	  "--pcr-bank=sha256 sha1 sha384 sha512;--signer=@key;--hierarchy=owner endorsement null",
	  "usage: tpm-key gen [-t ecdsa|rsa] [-b BITS] [-n NAME] [-C COMMENT] [--decrypt]\n"
	  "                    [--no-pin]\n"
	  "  -t TYPE     ecdsa (default) or rsa\n"
	  "  -b BITS     ecdsa: 256 (default), 384, 521; rsa: 2048, 3072 (default)\n"
	  "  -n NAME     the key's name in the store (default from the type, e.g. ecdsa-p256)\n"
	  "  -C COMMENT  comment shown by ssh-add -l and in the public key\n"
	  "  --decrypt   the key can also decrypt (RSA) or do ECDH (ECC), e.g. for gpg\n"
	  "  --host      a host key for sshd (no PIN): only tpm-agent --host offers it\n"
	  "              (sshd_config: HostKey <data dir>/keys/NAME.pub, HostKeyAgent SOCKET)\n"
	  "  --no-pin    no PIN: anyone who reaches the agent can use the key (default:\n"
	  "              the agent asks a new PIN twice through pinentry, on this terminal)\n"
	  "  --pcr LIST  bind the key to the current values of these PCRs, e.g. 0,1,2,3,7\n"
	  "              (config: platform-policy, pcr-selection); it then works only in\n"
	  "              this platform state (with a PIN: both are needed)\n"
	  "  --pcr-bank BANK       sha256 (default), sha1, sha384, sha512\n"
	  "  --pcr-authorized      PolicyAuthorize by a signing key of yours instead, so that\n"
	  "              `tpm-key pcr-seal NAME` can approve a new state after an update\n"
	  "  --signer NAME         that signing key (default: a new NAME-policy-signer)\n"
	  "  --no-pcr    not bound, whatever the platform-policy setting says\n"
	  "  --hierarchy H  print the hierarchy key of this type under H (owner,\n"
	  "              endorsement, null): made from the hierarchy's seed, no file\n"
	  "              (the setting hierarchy-keys serves it)\n" },
	{ "import", cmd_import, "make an existing OpenSSH/PEM private key a TPM key", "file",
	  "-n=;-C=",
	  "usage: tpm-key import [-n NAME] [-C COMMENT] [--no-pin] FILE\n"
	  "  FILE        an OpenSSH or PEM (PKCS#1, PKCS#8, SEC1) private key: ECDSA\n"
	  "              P-256/384/521 or RSA 2048/3072 (a passphrase-protected PEM file\n"
	  "              asks the passphrase through pinentry; encrypted OpenSSH-format\n"
	  "              files are refused)\n"
	  "  -n NAME     the key's name in the store (default from the type, e.g. ecdsa-p256)\n"
	  "  -C COMMENT  comment (default: the file's comment, or its name)\n"
	  "  --no-pin    no PIN: anyone who reaches the agent can use the key (default:\n"
	  "              the agent asks a new PIN twice through pinentry, as gen does)\n"
	  "The file is not touched: delete it afterwards so that only the TPM copy remains.\n" },
	{ "list", cmd_list, "list the keys in the store", "", "",
	  "usage: tpm-key list [--json]\n"
	  "  One line per key: name, type/bits, SHA256 fingerprint, keygrip, protection\n"
	  "  (PIN, PCR, none), comment and tags; then the sealed objects.\n"
	  "  --json      one JSON document instead (schema in tpm-key(1))\n" },
	{ "pub", cmd_pub, "print a key's OpenSSH public key", "key", "",
	  "usage: tpm-key pub NAME\n"
	  "  Prints the OpenSSH public key line of key NAME (its name or keygrip).\n" },
	{ "rm", cmd_rm, "delete a key (file and agent)", "keys", "",
	  "usage: tpm-key rm [-f] NAME...\n"
	  "  Deletes keys from the store and the agent. A TPM key cannot be exported, so\n"
	  "  a deleted key cannot be recovered. On a terminal rm asks first; without a\n"
	  "  terminal it refuses unless -f is given.\n"
	  "  -f          delete without asking\n" },
	{ "load", cmd_load, "load a key (back) into the agent", "keys", "-t=;-H=@file;-h=",
	  "usage: tpm-key load [-c] [-t SECONDS] [-H FILE] [-h DEST]... NAME...\n"
	  "  -c          confirm each use: the agent asks (pinentry) before every signature\n"
	  "  -t SECONDS  remove the key from the agent after SECONDS\n"
	  "  -h DEST     use the key only for DEST: [user@]host or host>[user@]host, as\n"
	  "              ssh-add -h (repeatable; host keys come from known_hosts)\n"
	  "  -H FILE     known_hosts file for -h (repeatable; default ~/.ssh/known_hosts,\n"
	  "              ~/.ssh/known_hosts2, /etc/ssh/ssh_known_hosts{,2})\n" },
	{ "status", cmd_status, "show the TPM and the agent", "", "",
	  "usage: tpm-key status [--json]\n"
	  "  The TPM (vendor, firmware, TCTI, SRK, lockout) and the agent (pid, socket,\n"
	  "  keys), as the agent reports them.\n"
	  "  --json      one JSON document instead (schema in tpm-key(1))\n" },
	{ "cert", cmd_cert, "OpenSSH certificates: add, list, rm, show", "cert", "",
	  "usage: tpm-key cert add NAME FILE [--nv|--file|--auto]\n"
	  "       tpm-key cert list | rm NAME [SERIAL] | show NAME\n"
	  "  --nv        keep the certificate in TPM NV RAM\n"
	  "  --file      keep it as a file under the data dir (default)\n"
	  "  --auto      NV RAM when there is room, else a file\n" },
	{ "pcr-seal", cmd_pcr_seal, "approve the current PCRs for a --pcr-authorized key", "key",
	  "",
	  "usage: tpm-key pcr-seal NAME\n"
	  "  approves the current values of the PCRs key NAME (made with --pcr-authorized)\n"
	  "  is bound to: its policy signer signs a policy for them, which goes first in the\n"
	  "  key file's list of signed policies (the 4 newest are kept). Run it only once\n"
	  "  you trust the state the machine booted in.\n" },
	{ "passwd", cmd_passwd, "change a key's PIN (asked through pinentry)", "key", "",
	  "usage: tpm-key passwd [--no-pin] NAME\n"
	  "  Changes the PIN of key NAME: the agent asks the current PIN (if any) and the\n"
	  "  new one twice through pinentry, on this terminal or display.\n"
	  "  --no-pin   remove the PIN (the key is then usable by anyone who reaches the agent)\n" },
	{ "forget", cmd_forget, "forget cached PINs", "key", "",
	  "usage: tpm-key forget [NAME]\n"
	  "  Forgets the cached PIN of key NAME (of every key without NAME).\n" },
	{ "update-env", cmd_update_env, "send PIN prompts for ssh clients to this terminal", "", "",
	  "usage: tpm-key update-env\n"
	  "  PIN prompts for ssh clients appear on this terminal (GPG_TTY or stdin's tty)\n"
	  "  and display from now on.\n" },
	{ "init", cmd_init, "provision the SRK (asks the SO PIN if the TPM has one)", "",
	  "--srk-handle=",
	  "usage: tpm-key init [--srk-handle HANDLE] [--repin]\n"
	  "  Provisions the SRK (ECC P-256, TCG H-2 template) at HANDLE (default: the\n"
	  "  agent's, 0x81000001) unless one is there. tpm-agent never sets or changes the\n"
	  "  owner authorization; when the TPM has one, the agent asks it (SO PIN).\n"
	  "  Where the TPM has an EK certificate, proves that the agent's SRK lives in\n"
	  "  that TPM (tpm-key status shows the proof).\n"
	  "  --repin  after a deliberate TPM clear: trust the SRK the TPM has now (make\n"
	  "           one if it has none) and pin its name in place of the old one\n" },
	{ "decrypt", cmd_decrypt, "RSA-decrypt stdin with a --decrypt key", "key", "",
	  "usage: tpm-key decrypt NAME [--oaep[=HASH] | --pkcs1] < input > output\n"
	  "  --oaep[=HASH]  RSAES-OAEP, HASH for the label hash and MGF1: sha1, sha256\n"
	  "                 (default), sha384, sha512 (default padding)\n"
	  "  --pkcs1        RSAES-PKCS1-v1_5 (legacy)\n"
	  "NAME is an RSA key made with tpm-key gen -t rsa --decrypt.\n" },
	{ "encrypt", cmd_encrypt, "RSA-encrypt stdin to a key's public half", "key-or-pub", "",
	  "usage: tpm-key encrypt NAME|FILE.pub [--oaep[=HASH] | --pkcs1] < input > output\n"
	  "  --oaep[=HASH]  RSAES-OAEP, HASH for the label hash and MGF1: sha1, sha256\n"
	  "                 (default), sha384, sha512 (default padding)\n"
	  "  --pkcs1        RSAES-PKCS1-v1_5 (legacy)\n"
	  "NAME is an RSA key made with tpm-key gen -t rsa --decrypt, or the path of an\n"
	  "OpenSSH .pub file of an RSA key (no agent needed then).\n" },
	{ "seal", cmd_seal, "seal a secret (stdin, <= 128 bytes) in the TPM", "sealed", "--pcr=",
	  "usage: tpm-key seal NAME [--pcr [BANK:]LIST] [--no-pin] < secret\n"
	  "       tpm-key seal --rm NAME\n"
	  "  --pcr LIST  bind to the current values of these PCRs, e.g. 0,2,7 or\n"
	  "              sha256:0-7 (unseal fails once any of them changes)\n"
	  "  --no-pin    no PIN (without it the agent asks a new PIN twice through\n"
	  "              pinentry; unseal then asks it)\n"
	  "  --rm        delete the sealed object\n"
	  "The secret is 1 to 128 bytes, read from stdin as is (binary safe).\n" },
	{ "unseal", cmd_unseal, "print a sealed secret", "sealed", "",
	  "usage: tpm-key unseal NAME > secret\n"
	  "  Writes the secret sealed as NAME (see tpm-key list, SEALED) to stdout; the\n"
	  "  agent asks its PIN, if it has one, through pinentry.\n" },
	{ "attest", cmd_attest, "TPM attestation of a key (for a CA)", "key", "-o=@file;--nonce=",
	  "usage: tpm-key attest NAME -o FILE [--nonce HEX]\n"
	  "  -o FILE       write the attestation (TPM2_Certify of the key by the AK, the\n"
	  "                EK certificate chain) to FILE\n"
	  "  --nonce HEX   the CA's challenge, included in the certified data\n" },
	{ "verify-attestation", cmd_verify_attestation, "check an attestation file offline", "file",
	  "--key=@file;--ek-ca=@file;--nonce=",
	  "usage: tpm-key verify-attestation FILE --key NAME.pub [--ek-ca CA.pem] [--nonce HEX]\n"
	  "  --key NAME.pub   the public key the attestation must be about\n"
	  "  --ek-ca CA.pem   the EK CA certificates to check the EK certificate against\n"
	  "  --nonce HEX      the challenge the attestation must include\n" },
	{ "setup", cmd_setup, "enable the systemd user units; print the profile line", "",
	  "--root=@file;--socket=@file;--hierarchy-key=;--sshd=@file",
	  "usage: tpm-key setup [--gpg] [--yes] [--dry-run]\n"
	  "       tpm-key setup --host [--root DIR] [--socket PATH] [--hierarchy-key H:TYPE]\n"
	  "                     [--sshd PATH] [--dry-run]\n"
	  "  --gpg       also serve gpg: enable tpm-agent-gpg.socket, after masking\n"
	  "              gpg-agent's user sockets (that takes --yes)\n"
	  "  --yes       run the gpg-agent masking command instead of only printing it\n"
	  "  --dry-run   print the commands without running any\n"
	  "  --host      sshd's host keys: system units for tpm-agent --host, its settings\n"
	  "              and an sshd_config.d drop-in, checked with sshd -t (see tpm-key(1))\n"
	  "  --root DIR           write everything under DIR, and name paths under DIR (no\n"
	  "                       systemctl): for tests and trying it out\n"
	  "  --socket PATH        the host agent's socket (default\n"
	  "                       <root>/run/tpm-agent-host/agent.sock)\n"
	  "  --hierarchy-key H:TYPE  host key of a new host.conf (default owner:ecdsa256;\n"
	  "                       none: only keys made with tpm-key gen --host)\n"
	  "  --sshd PATH          the sshd that checks the result (default /usr/sbin/sshd)\n" },
	{ "srk", cmd_srk, "print this TPM's SRK public key (PEM) and name", "", "-o=@file",
	  "usage: tpm-key srk [-o FILE]\n"
	  "Prints the SRK's public key (PEM), its TPM name, handle and hierarchy.\n"
	  "  -o FILE  write the PEM public key to FILE instead (to hand to tpm-key wrap)\n" },
	{ "wrap", cmd_wrap, "wrap a private key for another TPM's SRK (no TPM needed)", "file",
	  "--srk=@file;-o=@file;-C=",
	  "usage: tpm-key wrap --srk FILE -o OUT.tss [-C COMMENT] KEYFILE\n"
	  "  KEYFILE     an OpenSSH or PEM private key: ECDSA P-256/384/521 or RSA 2048/3072\n"
	  "  --srk FILE  the target TPM's SRK public key (PEM, from tpm-key srk there)\n"
	  "  -o OUT.tss  the wrapped key (TSS2 PRIVATE KEY, importable); OUT.pub gets the\n"
	  "              public key line\n"
	  "  -C COMMENT  comment of OUT.pub (default: the key file's comment, or its name)\n"
	  "Needs no TPM and no agent. On the target: tpm-key add OUT.tss\n" },
	{ "add", cmd_add, "add a TSS2 key file (wrapped or loadable) to the store", "file",
	  "-n=;-C=",
	  "usage: tpm-key add [-n NAME] [-C COMMENT] FILE\n"
	  "  FILE        a TSS2 PRIVATE KEY file: importable (tpm-key wrap for this TPM's\n"
	  "              SRK) or loadable (ssh-tpm-agent .tpm, tpm2-openssl, .tss)\n"
	  "  -n NAME     the key's name in the store (default: FILE's name without .tss/.tpm)\n"
	  "  -C COMMENT  comment (default: the comment of FILE's .pub, else the file's)\n" },
	{ "enroll", cmd_enroll, "get a certificate from an enrolment CA over ssh", "key",
	  "--ca=;-p=;-F=@file;-o=",
	  "usage: tpm-key enroll NAME --ca [USER@]HOST [-p PORT] [-F SSH_CONFIG]\n"
	  "                      [-o SSH_OPTION]... [--nv|--file|--auto]\n"
	  "  --ca [USER@]HOST  the enrolment CA's ssh account (its sshd runs tpm-key ca)\n"
	  "  -p PORT           ssh port\n"
	  "  -F SSH_CONFIG     ssh configuration file\n"
	  "  -o SSH_OPTION     an ssh option (repeatable)\n"
	  "  --nv | --file | --auto  where the certificate goes, as cert add (default --auto)\n"
	  "The agent renews the certificate near its expiry (renew-at).\n" },
	{ "ca", cmd_ca, "the enrolment CA (an sshd ForceCommand)", "", "--config=@file",
	  "usage: tpm-key ca --config FILE (as an sshd ForceCommand)\n"
	  "  --config FILE  the CA's policy: ca-key, agent-socket, ek-ca or ek-allow,\n"
	  "                 validity, log, allow lines (tpm-key(1), ENROLMENT)\n" },
	{ "supported", cmd_supported, "algorithms, curves and RSA sizes this TPM offers", "", "",
	  "usage: tpm-key supported\n"
	  "Lists the TPM's algorithms, ECC curves and RSA sizes, marking those tpm-agent uses.\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

int cli_usage_fail(const char *cmd)
{
	const struct command *c = find(cmd);
	const char *u = c != NULL ? c->usage : "";
	size_t n = strcspn(u, "\n");
	char bad[48] = "bad arguments";

	if (strncmp(u, "usage: ", 7) == 0)
		u += 7, n -= 7;
	/* getopt's complaint, silenced by opterr = 0 */
	if (optopt > ' ' && optopt < 127 && optopt != '?')
		snprintf(bad, sizeof(bad), "bad option or missing value: -%c", optopt);
	return cli_fail("%s: %s; usage: %.*s (tpm-key help %s explains)", cmd, bad, (int)n, u,
			cmd);
}

void cli_usage(const char *cmd, FILE *f)
{
	const struct command *c = find(cmd);

	if (f == stderr) /* a bad command line: one line, not the whole help */
		(void)cli_usage_fail(cmd);
	else if (c != NULL)
		fputs(c->usage, f);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tpm-key COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-18s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'tpm-key COMMAND -h' or 'tpm-key help COMMAND' shows a command's options.\n"
		"tpm-key talks to the agent named by $TPM_AGENT_SOCK or $SSH_AUTH_SOCK.\n");
}

/* The option at s ("--long" or "-X", followed by a non-word character) into opt;
 * its length, 0 if s is no option. */
static size_t option_at(const char *s, char *opt, size_t size)
{
	size_t n = 0;

	if (s[0] == '-' && s[1] == '-' && islower((unsigned char)s[2]))
		for (n = 2; islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
			    s[n] == '-'; n++)
			;
	else if (s[0] == '-' && isalpha((unsigned char)s[1]) && !isalnum((unsigned char)s[2]))
		n = 2;
	if (n == 0 || n >= size)
		return 0;
	memcpy(opt, s, n);
	opt[n] = '\0';
	return n;
}

/* Prints the options a usage text offers, each once, after " -h --help": those of
 * its synopsis lines ("usage: ...", "       tpm-key ...", "   [...]") and those
 * opening an option line ("  -t TYPE  ...", "  -x, --long ..."); options named in
 * the prose ("ssh-add -l") are not the command's. */
static void print_options(const char *usage)
{
	char seen[1024] = " -h --help ", opt[48], word[52];

	printf("-h --help");
	for (const char *line = usage; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		const char *s = line + strspn(line, " ");
		size_t len = strcspn(line, "\n");
		int synopsis = strncmp(s, "usage:", 6) == 0 || strncmp(s, "tpm-key ", 8) == 0 ||
			       *s == '[';

		for (; s < line + len; s++) {
			size_t n = (s == line || strchr(" [],|(", s[-1])) ? option_at(s, opt, sizeof(opt)) : 0;

			if (n == 0) {
				if (!synopsis && *s != ' ' && *s != ',')
					break; /* an option line ends at its first non-option word */
				continue;
			}
			snprintf(word, sizeof(word), " %s ", opt);
			if (strstr(seen, word) == NULL && strlen(seen) + n + 2 < sizeof(seen)) {
				strcat(strcat(seen, opt), " ");
				printf(" %s", opt);
			}
			s += n - 1;
			if (!synopsis) /* "-t TYPE": skip the value word */
				s += strcspn(s + 1, " ,\n");
		}
	}
}

/* The table for the shell completions (contrib/completion/): one line per command,
 * "cmd NAME<TAB>ARGS<TAB>OPTIONS<TAB>OPTARGS" (ARGS "none" for no arguments). */
static int complete_data(void)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		printf("cmd %s\t%s\t", commands[i].name, /* never empty: read(1) would drop it */
		       commands[i].args[0] ? commands[i].args : "none");
		print_options(commands[i].usage);
		printf("\t%s\n", commands[i].optargs);
	}
	return 0;
}

/* --complete-data keys|sealed: the names the agent has, one a line, nothing (and
 * exit 1) without an agent. Sealed objects are no keys and keys no sealed objects. */
static int complete_names(const char *what)
{
	struct cli_key *keys;
	struct errmsg e;
	size_t n;

	if (strcmp(what, "sealed") == 0) {
		fclose(stderr);
		return cli_list_sealed(SEALED_NAMES);
	}
	if (strcmp(what, "keys") != 0 || cli_list_keys(&keys, &n, &e) != 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		printf("%s\n", keys[i].name);
	free(keys);
	return 0;
}

/* tpm-key CMD -h (alone) or CMD --help: the usage, whatever CMD's own parsing does
 * with -h (load takes -h DEST). */
static int wants_help(int argc, char **argv)
{
	return argc >= 3 && (strcmp(argv[2], "--help") == 0 ||
			     (argc == 3 && strcmp(argv[2], "-h") == 0));
}

int main(int argc, char **argv)
{
	const struct command *c;

	opterr = 0; /* the subcommands' getopt errors become cli_usage_fail's one line */
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if ((c = find(argv[2])) == NULL)
			return cli_fail("unknown command '%s' (see tpm-key --help)", argv[2]);
		fputs(c->usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tpm-key %s\n", TPM_AGENT_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--complete-data") == 0)
		return argc == 2 ? complete_data() : complete_names(argv[2]);
	if ((c = find(argv[1])) == NULL)
		return cli_fail("unknown command '%s' (see tpm-key --help)", argv[1]);
	if (wants_help(argc, argv)) {
		fputs(c->usage, stdout);
		return 0;
	}
	return c->run(argc - 1, argv + 1);
}
