/* cmd_enroll: tpm-key enroll NAME --ca [USER@]HOST: both rounds of the enrolment
 * protocol (protocol/caproto.h) over one ssh connection to the CA's ForceCommand
 * (`tpm-key ca`); the agent does the TPM parts (attest with the CA's nonce, activate
 * the CA's credential), and the certificate is stored as `tpm-key cert add` does. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../protocol/sshcert.h"
#include "caio.h"
#include "client.h"
#include "subcommands.h"

#define ENROLL_SSH_ARGS 48

struct enroll {
	const char *name, *ca;
	uint32_t where;
	char *ssh_argv[ENROLL_SSH_ARGS];
	size_t n_ssh;
	struct sshkey_pub key;
	char *publine;
	int to_ca, from_ca;
	pid_t ssh;
	char **args; int n_args; /* the command line after NAME: how the agent renews */
};

/* The key's public line, from the agent's list. */
static int key_line(struct enroll *en, struct errmsg *e)
{
	struct cli_key *keys = NULL;
	size_t n = 0;
	int r = -1;

	if (cli_list_keys(&keys, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!cli_key_is(&keys[i], en->name))
			continue;
		if (sshkey_pub_from_blob(keys[i].blob, keys[i].blob_len, &en->key) != 0 ||
		    sshkey_pub_to_line(&en->key, en->name, &en->publine) != 0)
			errmsg_set(e, "key '%s': unusable public key", en->name);
		else
			r = 0;
		break;
	}
	free(keys);
	if (r != 0 && e->text[0] == '\0')
		errmsg_set(e, "no key named '%s' (see tpm-key list)", en->name);
	return r;
}

static int ssh_start(struct enroll *en, struct errmsg *e)
{
	int in[2], out[2];

	if (pipe(in) != 0 || pipe(out) != 0)
		return errmsg_set(e, "pipe: %s", strerror(errno));
	if ((en->ssh = fork()) < 0)
		return errmsg_set(e, "fork: %s", strerror(errno));
	if (en->ssh == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execvp(en->ssh_argv[0], en->ssh_argv);
		fprintf(stderr, "tpm-key: cannot run %s: %s\n", en->ssh_argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	en->to_ca = in[1];
	en->from_ca = out[0];
	return 0;
}

static int ssh_finish(struct enroll *en)
{
	int status = 0;

	if (en->to_ca >= 0)
		close(en->to_ca);
	if (en->from_ca >= 0)
		close(en->from_ca);
	en->to_ca = en->from_ca = -1;
	if (en->ssh > 0)
		while (waitpid(en->ssh, &status, 0) < 0 && errno == EINTR)
			;
	return status;
}

/* Round 1: the agent's TPM2_Certify of the key, qualified by the CA's nonce. */
static int round_attest(struct enroll *en, struct caproto_msg *m, struct errmsg *e)
{
	struct sshbuf *args = sshbuf_new(512), *reply = sshbuf_new(ATT_FILE_MAX + 64);
	int r = -1;

	if (caio_recv(en->from_ca, CA_HELLO, "CA", m, e) != 0)
		goto done;
	if (strcmp(m->version, CAPROTO_VERSION) != 0) {
		errmsg_set(e, "the CA speaks '%s', not %s", m->version, CAPROTO_VERSION);
		goto done;
	}
	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, en->name) != 0 ||
	    sshbuf_put_string(args, m->nonce, sizeof(m->nonce)) != 0) {
		errmsg_set(e, "out of memory");
		goto done;
	}
	if (cli_control_env(CTL_ATTEST, args, reply, e) != 0) {
		errmsg_prefix(e, "attest");
		goto done;
	}
	memset(m, 0, sizeof(*m));
	m->type = CA_ATTEST;
	snprintf(m->name, sizeof(m->name), "%s", en->name);
	snprintf(m->pubkey, sizeof(m->pubkey), "%s", en->publine);
	if (sshbuf_get_cstring(reply, m->attestation, sizeof(m->attestation)) != 0)
		errmsg_set(e, "the agent sent a malformed attestation");
	else
		r = caio_send(en->to_ca, m, e);
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return r;
}

/* Round 2: ActivateCredential of the CA's challenge in the agent's TPM. */
static int round_activate(struct enroll *en, struct caproto_msg *m, struct errmsg *e)
{
	struct sshbuf *args = sshbuf_new(4096), *reply = sshbuf_new(1024);
	const uint8_t *cred;
	size_t cred_len;
	int r = -1;

	if (caio_recv(en->from_ca, CA_CHALLENGE, "CA", m, e) != 0)
		goto done;
	if (args == NULL || reply == NULL ||
	    sshbuf_put_string(args, m->id_object, m->id_object_len) != 0 ||
	    sshbuf_put_string(args, m->secret, m->secret_len) != 0) {
		errmsg_set(e, "out of memory");
		goto done;
	}
	if (cli_control(CTL_ACTIVATE, args, reply, e) != 0)
		goto done;
	memset(m, 0, sizeof(*m));
	m->type = CA_ACTIVATE;
	if (sshbuf_get_string(reply, &cred, &cred_len) != 0 || cred_len > sizeof(m->cred)) {
		errmsg_set(e, "the agent sent a malformed credential");
		goto done;
	}
	memcpy(m->cred, cred, cred_len);
	m->cred_len = cred_len;
	r = caio_send(en->to_ca, m, e);
done:
	sshbuf_free(args);
	sshbuf_free(reply);
	return r;
}

/* The CA's answer must certify exactly our key, as a user certificate. */
static int check_cert(const struct enroll *en, const char *line, struct sshcert *c,
		      struct errmsg *e)
{
	uint8_t *blob = NULL;
	size_t len;
	int r;

	if (sshcert_from_line(line, &blob, &len, c, NULL, 0) != 0)
		return errmsg_set(e, "the CA sent something that is not an OpenSSH certificate");
	free(blob);
	r = 0;
	if (!sshkey_pub_equal(&c->key, &en->key))
		r = errmsg_set(e, "the CA's certificate is for another public key than key '%s': "
			       "refused (a substituted answer?)", en->name);
	else if (c->cert_type != SSHCERT_TYPE_USER)
		r = errmsg_set(e, "the CA's certificate is not a user certificate");
	return r;
}

static int store_cert(const struct enroll *en, const char *line, struct errmsg *e)
{
	struct sshbuf *args = sshbuf_new(CAPROTO_CERT_MAX + 512), *reply = sshbuf_new(4096);
	char note[512];
	int r = -1;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, en->name) != 0 ||
	    sshbuf_put_cstring(args, line) != 0 || sshbuf_put_u32(args, en->where) != 0)
		errmsg_set(e, "out of memory");
	else if ((r = cli_control(CTL_CERT_ADD, args, reply, e)) == 0 &&
		 sshbuf_get_cstring(reply, note, sizeof(note)) == 0)
		fprintf(stderr, "tpm-key: %s\n", note);
	sshbuf_free(args);
	sshbuf_free(reply);
	return r;
}

/* Tells the agent how this key was enrolled, so that it renews the certificate. */
static int record_enrolment(const struct enroll *en, struct errmsg *e)
{
	struct sshbuf *args = sshbuf_new(16384), *reply = sshbuf_new(1024);
	int r = -1;

	if (args != NULL && reply != NULL && sshbuf_put_cstring(args, en->name) == 0 &&
	    sshbuf_put_u32(args, (uint32_t)en->n_args) == 0) {
		r = 0;
		for (int i = 0; r == 0 && i < en->n_args; i++)
			r = sshbuf_put_cstring(args, en->args[i]);
		r = r == 0 ? cli_control(CTL_ENROLLED, args, reply, e) :
		    errmsg_set(e, "arguments too long");
	} else
		errmsg_set(e, "out of memory");
	sshbuf_free(args);
	sshbuf_free(reply);
	return r;
}

static int enroll_run(struct enroll *en, struct errmsg *e)
{
	struct caproto_msg *m = calloc(1, sizeof(*m));
	struct sshcert *c = calloc(1, sizeof(*c));
	int r = -1;

	if (m == NULL || c == NULL)
		errmsg_set(e, "out of memory");
	else if (key_line(en, e) == 0 && ssh_start(en, e) == 0 && round_attest(en, m, e) == 0 &&
		 round_activate(en, m, e) == 0 && caio_recv(en->from_ca, CA_CERT, "CA", m, e) == 0) {
		if (check_cert(en, m->cert, c, e) != 0) {
			struct errmsg sent;

			errmsg_set(&sent, "client refused the certificate: %s", e->text);
			caio_send_error(en->to_ca, &sent);
			m->type = CA_ERROR; /* told */
		} else if (store_cert(en, m->cert, e) == 0) {
			printf("enrolled '%s': certificate serial %llu, principals", en->name,
			       (unsigned long long)c->serial);
			for (size_t i = 0; i < c->n_principals; i++)
				printf("%s%s", i ? "," : " ", c->principals[i]);
			printf(", key id %s\n", c->key_id);
			r = 0;
			if (record_enrolment(en, e) != 0)
				fprintf(stderr, "tpm-key: the agent will not renew it: %s\n", e->text);
		}
	}
	/* The CA hears why the client gave up (unless it was the CA's own refusal). */
	if (r != 0 && en->to_ca >= 0 && m != NULL && m->type != CA_ERROR) {
		struct errmsg sent;

		errmsg_set(&sent, "client gave up: %s", e->text);
		caio_send_error(en->to_ca, &sent);
	}
	free(m);
	free(c);
	return r;
}

static int ssh_arg(struct enroll *en, const char *a)
{
	if (en->n_ssh + 2 >= ENROLL_SSH_ARGS)
		return -1;
	en->ssh_argv[en->n_ssh++] = (char *)a;
	return 0;
}

int cmd_enroll(int argc, char **argv)
{
	struct enroll en = { .where = CTL_CERT_AUTO, .to_ca = -1, .from_ca = -1 };
	const char *ssh = getenv("TPM_KEY_SSH");
	struct errmsg e = { "" };
	char *rest[ENROLL_SSH_ARGS];
	int bad = 0, rc;

	ssh_arg(&en, ssh != NULL && *ssh ? ssh : "ssh");
	ssh_arg(&en, "-T");
	for (int i = 1; i < argc && !bad; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_usage("enroll", stdout);
			return 0;
		} else if (strcmp(a, "--nv") == 0)
			en.where = CTL_CERT_NV;
		else if (strcmp(a, "--file") == 0)
			en.where = CTL_CERT_FILE;
		else if (strcmp(a, "--auto") == 0)
			en.where = CTL_CERT_AUTO;
		else if (strcmp(a, "--ca") == 0 && i + 1 < argc)
			en.ca = argv[++i];
		else if ((strcmp(a, "-p") == 0 || strcmp(a, "-F") == 0 || strcmp(a, "-o") == 0) &&
			 i + 1 < argc)
			bad = ssh_arg(&en, a) != 0 || ssh_arg(&en, argv[++i]) != 0;
		else if (a[0] != '-' && en.name == NULL)
			en.name = a;
		else
			bad = 1;
		if (a != en.name && en.n_args < ENROLL_SSH_ARGS)
			rest[en.n_args++] = (char *)a;
		if (i > 0 && argv[i] != a && en.n_args < ENROLL_SSH_ARGS) /* an option's value */
			rest[en.n_args++] = argv[i];
	}
	en.args = rest;
	if (bad || en.name == NULL || en.ca == NULL || en.ca[0] == '-')
		return cli_usage_fail("enroll");
	ssh_arg(&en, "--");
	ssh_arg(&en, en.ca);
	ssh_arg(&en, "tpm-key-enroll"); /* the ForceCommand runs anyway; sshd logs this */
	ssh_arg(&en, en.name);
	en.ssh_argv[en.n_ssh] = NULL;
	signal(SIGPIPE, SIG_IGN);
	rc = enroll_run(&en, &e);
	ssh_finish(&en);
	free(en.publine);
	return rc == 0 ? 0 : cli_fail("enroll: %s", e.text);
}
