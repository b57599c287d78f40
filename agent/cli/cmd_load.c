/* cmd_load: tpm-key load [-c] [-t SECONDS] [-H FILE] [-h DEST]... NAME... — (re)reads
 * keys from the store into the agent, e.g. after ssh-add -d or -D removed them; -c, -t,
 * -h and -H as with ssh-add (-h restricts where the key may be used, looking host keys
 * up in known_hosts files). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../keystore/store.h"
#include "../../protocol/destconstraint.h"
#include "../../protocol/knownhosts.h"
#include "client.h"
#include "subcommands.h"

#define MAX_HOSTS_FILES 8
#define HOSTS_FILE_MAX (16 * 1024 * 1024)

static void load_usage(FILE *f)
{
	cli_usage("load", f); /* the text: tpm-key.c */
}

struct hop_keys {
	struct dest_key keys[DEST_MAX_KEYS];
	size_t n;
};

static int add_key(void *arg, const uint8_t *blob, size_t len, int is_ca)
{
	struct hop_keys *h = arg;
	uint8_t *copy;

	if (h->n == DEST_MAX_KEYS)
		return 0; /* the first DEST_MAX_KEYS are plenty for one host */
	if ((copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, blob, len);
	h->keys[h->n].blob = copy;
	h->keys[h->n].len = len;
	h->keys[h->n++].is_ca = is_ca;
	return 0;
}

static void free_keys(struct hop_keys *h)
{
	for (size_t i = 0; i < h->n; i++)
		free((void *)h->keys[i].blob);
	h->n = 0;
}

/* Collects host's keys from the known_hosts files (missing default files are fine). */
static int host_keys(const char *host, char **files, size_t n_files, int defaults,
		     struct hop_keys *h)
{
	struct errmsg e;
	char *text;
	size_t len;

	for (size_t i = 0; i < n_files; i++) {
		if (store_read_file(files[i], HOSTS_FILE_MAX, &text, &len, &e) != 0) {
			if (defaults)
				continue;
			return cli_fail("load: -H %s: %s", files[i], e.text);
		}
		if (knownhosts_lookup(text, len, host, add_key, h) < 0) {
			free(text);
			return cli_fail("load: out of memory");
		}
		free(text);
	}
	if (h->n == 0)
		return cli_fail("load: -h: no host keys for '%s' in the known_hosts files", host);
	return 0;
}

/* One -h DEST: [user@]host, or host>[user@]host, appended as one constraint. */
static int add_dest(const char *spec, char **files, size_t n_files, int defaults,
		    struct sshbuf *cons)
{
	char buf[2 * DEST_NAME_MAX], *to, *from = NULL, *user = NULL, *at;
	struct hop_keys fk = { .n = 0 }, tk = { .n = 0 };
	int rc;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return cli_fail("load: -h %s: too long", spec);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	to = buf;
	if ((at = strrchr(buf, '>')) != NULL) {
		*at = '\0';
		from = buf;
		to = at + 1;
	}
	if ((at = strrchr(to, '@')) != NULL) {
		*at = '\0';
		user = to;
		to = at + 1;
	}
	if (*to == '\0' || (from != NULL && (*from == '\0' || strchr(from, '@') != NULL)) ||
	    strpbrk(to, "*?") != NULL || (from != NULL && strpbrk(from, "*?") != NULL))
		return cli_fail("load: -h %s: not [user@]host or host>[user@]host", spec);
	rc = (from != NULL && host_keys(from, files, n_files, defaults, &fk) != 0) ||
	     host_keys(to, files, n_files, defaults, &tk) != 0 ||
	     dest_put_constraint(cons, from, fk.keys, fk.n, user, to, tk.keys, tk.n) != 0;
	free_keys(&fk);
	free_keys(&tk);
	return rc ? 1 : 0;
}

static int load_one(const char *name, uint32_t flags, uint32_t lifetime,
		    const struct sshbuf *cons)
{
	struct sshbuf *args = sshbuf_new(SSHBUF_SIZE_MAX), *reply = sshbuf_new(64 * 1024);
	struct errmsg e;
	int rc = 0;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, name) != 0 ||
	    sshbuf_put_u32(args, flags) != 0 || sshbuf_put_u32(args, lifetime) != 0 ||
	    (sshbuf_len(cons) > 0 && sshbuf_put_stringb(args, cons) != 0))
		rc = cli_fail("load: bad key name '%s'", name);
	else if (cli_control(CTL_LOAD, args, reply, &e) != 0)
		rc = cli_fail("load: %s", e.text);
	else
		fprintf(stderr, "tpm-key: loaded key '%s'%s\n", name,
			sshbuf_len(cons) > 0 ? " (restricted to destinations)" : "");
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}

/* The default known_hosts files, as ssh-add uses them. */
static size_t default_files(char *files[MAX_HOSTS_FILES], char store[2][4200])
{
	const char *home = getenv("HOME");
	size_t n = 0;

	if (home != NULL && home[0] != '\0') {
		snprintf(store[0], sizeof(store[0]), "%s/.ssh/known_hosts", home);
		snprintf(store[1], sizeof(store[1]), "%s/.ssh/known_hosts2", home);
		files[n++] = store[0];
		files[n++] = store[1];
	}
	files[n++] = "/etc/ssh/ssh_known_hosts";
	files[n++] = "/etc/ssh/ssh_known_hosts2";
	return n;
}

int cmd_load(int argc, char **argv)
{
	uint32_t flags = 0, lifetime = 0;
	char *end, *files[MAX_HOSTS_FILES], *dests[DEST_MAX_CONSTRAINTS], home_files[2][4200];
	size_t n_files = 0, n_dests = 0;
	struct sshbuf *cons;
	int ch, rc = 0, defaults = 0;

	if (argc == 2 && strcmp(argv[1], "-h") == 0) { /* tpm-key COMMAND -h: the help */
		load_usage(stdout);
		return 0;
	}
	optind = 1;
	while ((ch = getopt(argc, argv, "ct:h:H:")) != -1) {
		switch (ch) {
		case 'c': flags |= CTL_LOAD_CONFIRM; break;
		case 't':
			lifetime = (uint32_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || lifetime == 0 || lifetime > 86400 * 365)
				return cli_fail("load: -t %s: not a number of seconds", optarg);
			break;
		case 'h':
			if (n_dests == DEST_MAX_CONSTRAINTS)
				return cli_fail("load: more than %d -h options", DEST_MAX_CONSTRAINTS);
			dests[n_dests++] = optarg;
			break;
		case 'H':
			if (n_files == MAX_HOSTS_FILES)
				return cli_fail("load: more than %d -H files", MAX_HOSTS_FILES);
			files[n_files++] = optarg;
			break;
		default: load_usage(stderr); return 1;
		}
	}
	if (optind == argc) {
		load_usage(stderr);
		return 1;
	}
	if (n_files == 0) {
		n_files = default_files(files, home_files);
		defaults = 1;
	}
	if ((cons = sshbuf_new(SSHBUF_SIZE_MAX)) == NULL)
		return cli_fail("load: out of memory");
	for (size_t i = 0; rc == 0 && i < n_dests; i++)
		rc = add_dest(dests[i], files, n_files, defaults, cons);
	for (int i = optind; rc == 0 && i < argc; i++)
		rc = load_one(argv[i], flags, lifetime, cons);
	sshbuf_free(cons);
	return rc;
}
