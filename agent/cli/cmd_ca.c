/* cmd_ca: tpm-key ca --config FILE, the enrolment CA. It runs as an sshd ForceCommand,
 * one process per request, and speaks protocol/caproto.h on stdin/stdout: a fresh
 * nonce, the client's attestation checked against it and the EK CAs, a credential
 * challenge only the TPM holding that EK and AK can answer, then an OpenSSH user
 * certificate signed by `ssh-keygen -s CA.pub -U` through the CA host's tpm-agent. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "../../keystore/store.h"
#include "../../keystore/tpm_attest.h"
#include "../../protocol/sshcert.h"
#include "caio.h"
#include "subcommands.h"

#define CA_LIST_MAX 16
#define CA_RULES_MAX 64
#define CA_TIMEOUT 120 /* seconds for a whole enrolment */

struct ca_rule {
	char user[64];        /* "*" = any */
	char ek[65];          /* SHA-256 hex of the EK certificate, "*" = any */
	char principals[512]; /* comma list; %u = the ssh user */
};

struct ca_config {
	char ca_key[PATH_MAX], agent_sock[PATH_MAX], log[PATH_MAX];
	char ek_ca[CA_LIST_MAX][PATH_MAX]; size_t n_ek_ca;
	char ek_allow[CA_LIST_MAX][65]; size_t n_ek_allow;
	int require_fixedtpm;
	unsigned long validity;
	struct ca_rule rule[CA_RULES_MAX]; size_t n_rules;
};

/* One enrolment's facts, for the certificate, the log and the refusals. */
struct ca_request {
	char user[64], cmd[256], ek_hex[65], ak_name_hex[2 * 68 + 1], fp[SSHKEY_FP_MAX];
	char principals[512];
	int imported;
};

static int copy_word(char *dst, size_t cap, const char *src)
{
	return snprintf(dst, cap, "%s", src) < (int)cap ? 0 : -1;
}

static int is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int config_line(struct ca_config *c, char *line, unsigned no, struct errmsg *e)
{
	char *save = NULL, *kw = strtok_r(line, " \t", &save), *v = strtok_r(NULL, " \t", &save);
	char *v2 = strtok_r(NULL, " \t", &save), *v3 = strtok_r(NULL, " \t", &save);
	int bad = 0;

	if (kw == NULL || kw[0] == '#')
		return 0;
	if (v == NULL)
		bad = 1;
	else if (strcmp(kw, "ca-key") == 0)
		bad = copy_word(c->ca_key, sizeof(c->ca_key), v);
	else if (strcmp(kw, "agent-socket") == 0)
		bad = copy_word(c->agent_sock, sizeof(c->agent_sock), v);
	else if (strcmp(kw, "log") == 0)
		bad = copy_word(c->log, sizeof(c->log), v);
	else if (strcmp(kw, "ek-ca") == 0)
		bad = c->n_ek_ca >= CA_LIST_MAX ||
		      copy_word(c->ek_ca[c->n_ek_ca++], sizeof(c->ek_ca[0]), v);
	else if (strcmp(kw, "ek-allow") == 0)
		bad = c->n_ek_allow >= CA_LIST_MAX || !is_hex64(v) ||
		      copy_word(c->ek_allow[c->n_ek_allow++], sizeof(c->ek_allow[0]), v);
	else if (strcmp(kw, "require-fixedtpm") == 0)
		bad = strcmp(v, "yes") != 0 && strcmp(v, "no") != 0,
		c->require_fixedtpm = strcmp(v, "yes") == 0;
	else if (strcmp(kw, "validity") == 0) {
		char *end;

		errno = 0;
		c->validity = strtoul(v, &end, 10);
		bad = errno != 0 || *end != '\0' || c->validity < 60 || c->validity > 366UL * 86400;
	} else if (strcmp(kw, "allow") == 0) {
		struct ca_rule *r = &c->rule[c->n_rules];

		bad = c->n_rules >= CA_RULES_MAX || v2 == NULL || v3 == NULL ||
		      (strcmp(v2, "*") != 0 && !is_hex64(v2)) ||
		      copy_word(r->user, sizeof(r->user), v) != 0 ||
		      copy_word(r->ek, sizeof(r->ek), v2) != 0 ||
		      copy_word(r->principals, sizeof(r->principals), v3) != 0;
		v3 = NULL;
		if (!bad)
			c->n_rules++;
	} else
		return errmsg_set(e, "line %u: unknown keyword '%s'", no, kw);
	if (!bad && v3 != NULL && strcmp(kw, "allow") != 0 && v2 != NULL && v2[0] != '#')
		bad = 1;
	return bad ? errmsg_set(e, "line %u: bad value for '%s' (see tpm-key(1), CA)", no, kw) : 0;
}

static int config_load(const char *path, struct ca_config *c, struct errmsg *e)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	unsigned no = 0;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->require_fixedtpm = 1;
	c->validity = 86400;
	if (store_read_file(path, 64 * 1024, &text, &len, e) != 0)
		return -1;
	for (char *p = text; r == 0 && (line = strtok_r(p, "\n", &save)) != NULL; p = NULL)
		r = config_line(c, line, ++no, e);
	free(text);
	if (r != 0)
		return errmsg_prefix(e, "%s", path);
	if (c->ca_key[0] == '\0' || c->log[0] == '\0')
		return errmsg_set(e, "%s: 'ca-key' and 'log' are required", path);
	if (c->n_ek_ca == 0 && c->n_ek_allow == 0)
		return errmsg_set(e, "%s: no 'ek-ca' nor 'ek-allow': no TPM could be trusted", path);
	return 0;
}

static void hex(const uint8_t *d, size_t n, char *out, size_t cap)
{
	for (size_t i = 0; i < n && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The EK certificate is trusted: in the allow-list, or chaining to one of the CAs. */
static int check_attestation(const struct ca_config *c, const struct attestation *a,
			     const struct sshkey_pub *key, const uint8_t *nonce,
			     struct ca_request *q, struct errmsg *e)
{
	struct att_verify_opts o = { .key = key, .nonce = nonce, .nonce_len = CAPROTO_NONCE_LEN,
				     .allow_imported = !c->require_fixedtpm,
				     .imported = &q->imported };
	uint8_t h[32];
	int allowed = 0;

	if (a->ek_cert.len == 0)
		return errmsg_set(e, "the client's TPM has no EK certificate; this CA needs one");
	EVP_Digest(a->ek_cert.d, a->ek_cert.len, h, NULL, EVP_sha256(), NULL);
	hex(h, sizeof(h), q->ek_hex, sizeof(q->ek_hex));
	for (size_t i = 0; i < c->n_ek_allow; i++)
		allowed |= strcmp(c->ek_allow[i], q->ek_hex) == 0;
	if (allowed || c->n_ek_ca == 0) {
		if (!allowed)
			return errmsg_set(e, "EK %s is not in the CA's allow-list", q->ek_hex);
		return attestation_verify(a, &o, NULL, 0, e);
	}
	for (size_t i = 0; i < c->n_ek_ca; i++) {
		o.ek_ca_file = c->ek_ca[i];
		if (attestation_verify(a, &o, NULL, 0, e) == 0)
			return 0;
		if (strstr(e->text, "does not chain") == NULL)
			return -1; /* a failure that no other CA file can mend */
	}
	return errmsg_set(e, "the EK certificate chains to none of the CA's manufacturer CA "
			  "files (is this a TPM the CA knows?)");
}

/* The principals of the first rule for (user, EK), %u replaced by the user. */
static int map_principals(const struct ca_config *c, struct ca_request *q, struct errmsg *e)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct ca_rule *r = &c->rule[i];
		size_t o = 0;

		if ((strcmp(r->user, "*") != 0 && strcmp(r->user, q->user) != 0) ||
		    (strcmp(r->ek, "*") != 0 && strcmp(r->ek, q->ek_hex) != 0))
			continue;
		for (const char *p = r->principals; *p && o + 1 < sizeof(q->principals); p++) {
			if (p[0] == '%' && p[1] == 'u') {
				o += (size_t)snprintf(q->principals + o, sizeof(q->principals) - o,
						      "%s", q->user);
				p++;
			} else
				q->principals[o++] = *p;
		}
		q->principals[o < sizeof(q->principals) ? o : sizeof(q->principals) - 1] = '\0';
		return 0;
	}
	return errmsg_set(e, "no policy rule gives principals to user '%s' with EK %.16s...",
			  q->user, q->ek_hex);
}

/* The live proof: a random credential sealed to the certified EK for the AK's name. */
static int challenge(int in, int out, const struct attestation *a, struct ca_request *q,
		     struct caproto_msg *m, struct errmsg *e)
{
	const unsigned char *p = a->ek_cert.d;
	X509 *x = d2i_X509(NULL, &p, (long)a->ek_cert.len);
	EVP_PKEY *ek = x != NULL ? X509_get_pubkey(x) : NULL;
	uint8_t name[2 + 64], cred[32];
	size_t name_len;
	int r = -1;

	X509_free(x);
	memset(m, 0, sizeof(*m));
	m->type = CA_CHALLENGE;
	if (ek == NULL || attestation_name(a->ak_pub.d, a->ak_pub.len, name, &name_len, e) != 0 ||
	    RAND_bytes(cred, sizeof(cred)) != 1 ||
	    tpm_make_credential_sw(ek, name, name_len, cred, sizeof(cred), m->id_object,
				   sizeof(m->id_object), &m->id_object_len, m->secret,
				   sizeof(m->secret), &m->secret_len) != 0)
		errmsg_set(e, "cannot make the credential challenge for the EK");
	else if (caio_send(out, m, e) == 0 && caio_recv(in, CA_ACTIVATE, "client", m, e) == 0) {
		if (m->cred_len != sizeof(cred) || CRYPTO_memcmp(m->cred, cred, sizeof(cred)) != 0)
			errmsg_set(e, "the credential challenge was answered wrongly: the AK is not "
				   "in the TPM that holds the certified EK");
		else
			r = 0;
	}
	hex(name, name_len, q->ak_name_hex, sizeof(q->ak_name_hex));
	OPENSSL_cleanse(cred, sizeof(cred));
	EVP_PKEY_free(ek);
	return r;
}

/* The next serial: one more than the last "serial=" in the log (read under its lock). */
static uint64_t next_serial(FILE *log)
{
	char line[2048];
	unsigned long long s, last = 0;

	rewind(log);
	while (fgets(line, sizeof(line), log) != NULL)
		if (sscanf(line, "serial=%llu ", &s) == 1 && s > last)
			last = s;
	return (uint64_t)last + 1;
}

static int run_keygen(const struct ca_config *c, char *const argv[], const char *dir,
		      struct errmsg *e)
{
	char errfile[PATH_MAX + 16], buf[256] = "";
	pid_t pid;
	int status, fd;

	snprintf(errfile, sizeof(errfile), "%s/keygen.err", dir);
	if ((pid = fork()) < 0)
		return errmsg_set(e, "cannot fork ssh-keygen: %s", strerror(errno));
	if (pid == 0) {
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		if (c->agent_sock[0] != '\0')
			setenv("SSH_AUTH_SOCK", c->agent_sock, 1);
		execvp("ssh-keygen", argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if ((fd = open(errfile, O_RDONLY)) >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(fd);
	}
	return errmsg_set(e, "ssh-keygen -s %s failed (is the CA key in the agent at %s?): %s",
			  c->ca_key, c->agent_sock[0] ? c->agent_sock : "$SSH_AUTH_SOCK", buf);
}

static void time_arg(time_t t, char *out, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y%m%d%H%M%SZ", &tm);
}

/* ssh-keygen -s CA.pub -U signs key.pub in a private temp dir; the line into cert. */
static int sign_cert(const struct ca_config *c, const struct caproto_msg *att,
		     const struct ca_request *q, uint64_t serial, char *cert, size_t cap,
		     struct errmsg *e)
{
	char dir[] = "/tmp/tpm-ca.XXXXXX", path[PATH_MAX], id[512], ext[700], validity[64];
	char serial_s[24], from[24], to[24], *text = NULL;
	size_t len;
	time_t now = time(NULL);
	int r = -1;

	if (mkdtemp(dir) == NULL)
		return errmsg_set(e, "cannot make a temp dir: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/key.pub", dir);
	snprintf(id, sizeof(id), "tpm:%s:%s:%s", q->user, att->name, q->fp);
	snprintf(ext, sizeof(ext), "extension:tpm-attested@tpm-agent=ek-sha256=%s,ak-name=%s,"
		 "origin=%s", q->ek_hex, q->ak_name_hex, q->imported ? "imported" : "tpm");
	time_arg(now - 60, from, sizeof(from)); /* a minute of clock skew */
	time_arg(now + (time_t)c->validity, to, sizeof(to));
	snprintf(validity, sizeof(validity), "%s:%s", from, to);
	snprintf(serial_s, sizeof(serial_s), "%llu", (unsigned long long)serial);
	{
		char *argv[] = { "ssh-keygen", "-q", "-s", (char *)c->ca_key, "-U", "-I", id,
				 "-n", (char *)q->principals, "-V", validity, "-z", serial_s,
				 "-O", ext, path, NULL };

		if (store_write_atomic(path, att->pubkey, strlen(att->pubkey), 0600, e) == 0 &&
		    run_keygen(c, argv, dir, e) == 0) {
			snprintf(path, sizeof(path), "%s/key-cert.pub", dir);
			if (store_read_file(path, cap - 1, &text, &len, e) == 0) {
				snprintf(cert, cap, "%.*s", (int)strcspn(text, "\n"), text);
				r = 0;
			}
		}
	}
	free(text);
	snprintf(path, sizeof(path), "%s/key.pub", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/key-cert.pub", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/keygen.err", dir);
	unlink(path);
	rmdir(dir);
	return r;
}

static void log_line(FILE *log, const char *what, const struct ca_request *q,
		     const char *name, const char *detail)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(log, "%s time=%s user=%s key=%s fp=%s ek=%s origin=%s %s\n", what, when,
		q->user, name[0] ? name : "-", q->fp[0] ? q->fp : "-",
		q->ek_hex[0] ? q->ek_hex : "-", q->imported ? "imported" : "tpm", detail);
	fflush(log);
	fsync(fileno(log));
}

/* Issues under the log's lock: the serial is unique and logged before it is sent. */
static int issue(const struct ca_config *c, FILE *log, const struct caproto_msg *att,
		 const struct ca_request *q, struct caproto_msg *m, struct errmsg *e)
{
	char detail[1024];
	uint64_t serial;
	int r;

	if (flock(fileno(log), LOCK_EX) != 0)
		return errmsg_set(e, "cannot lock the log %s: %s", c->log, strerror(errno));
	serial = next_serial(log);
	memset(m, 0, sizeof(*m));
	m->type = CA_CERT;
	m->serial = serial;
	r = sign_cert(c, att, q, serial, m->cert, sizeof(m->cert), e);
	if (r == 0) {
		char s[32];

		snprintf(s, sizeof(s), "serial=%llu", (unsigned long long)serial);
		snprintf(detail, sizeof(detail), "principals=%s validity=%lus cmd=%s",
			 q->principals, c->validity, q->cmd[0] ? q->cmd : "-");
		log_line(log, s, q, att->name, detail);
	}
	flock(fileno(log), LOCK_UN);
	return r;
}

/* Everything after the nonce: the attestation, policy, challenge and certificate. */
static int enrol(const struct ca_config *c, FILE *log, struct ca_request *q,
		 struct caproto_msg *att, struct caproto_msg *m, struct errmsg *e)
{
	struct attestation *a = calloc(1, sizeof(*a));
	struct sshkey_pub key;
	int r = -1;

	memset(m, 0, sizeof(*m));
	m->type = CA_HELLO;
	snprintf(m->version, sizeof(m->version), "%s", CAPROTO_VERSION);
	if (a == NULL || RAND_bytes(m->nonce, sizeof(m->nonce)) != 1)
		errmsg_set(e, "cannot make a nonce");
	else if (caio_send(1, m, e) == 0 && caio_recv(0, CA_ATTEST, "client", att, e) == 0) {
		if (sshkey_pub_from_line(att->pubkey, &key, NULL, 0) != 0)
			errmsg_set(e, "the public key line is not an OpenSSH RSA/ECDSA key");
		else if (sshkey_fingerprint_sha256(&key, q->fp) != 0 ||
			 attestation_decode(att->attestation, strlen(att->attestation), a, e) != 0)
			errmsg_prefix(e, "bad attestation");
		else if (check_attestation(c, a, &key, m->nonce, q, e) == 0 &&
			 map_principals(c, q, e) == 0 && challenge(0, 1, a, q, m, e) == 0)
			r = issue(c, log, att, q, m, e);
	}
	free(a);
	return r;
}

static void request_identity(struct ca_request *q)
{
	const char *u = getenv("USER"), *cmd = getenv("SSH_ORIGINAL_COMMAND");
	struct passwd *pw;

	if ((u == NULL || *u == '\0') && (pw = getpwuid(getuid())) != NULL)
		u = pw->pw_name;
	snprintf(q->user, sizeof(q->user), "%s", u ? u : "?");
	/* logged only (never a shell): keep it printable and one word per space */
	snprintf(q->cmd, sizeof(q->cmd), "%s", cmd ? cmd : "");
	for (char *p = q->cmd; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			*p = '_';
}

/* The client closes (accepted) or says why it refused the certificate: logged. */
static void after_issue(FILE *log, const struct ca_request *q, const struct caproto_msg *att,
			uint64_t serial, struct caproto_msg *m)
{
	char detail[ERRMSG_MAX + 64];
	struct errmsg e;

	if (caio_recv(0, CA_ERROR + 1, "client", m, &e) == 0 || m->type != CA_ERROR)
		return;
	snprintf(detail, sizeof(detail), "serial=%llu %s", (unsigned long long)serial, m->error);
	log_line(log, "refused-by-client", q, att->name, detail);
	fprintf(stderr, "tpm-key ca: the client refused serial %llu: %s\n",
		(unsigned long long)serial, m->error);
}

int cmd_ca(int argc, char **argv)
{
	struct ca_config *c = calloc(1, sizeof(*c));
	struct caproto_msg *att = calloc(1, sizeof(*att)), *m = calloc(1, sizeof(*m));
	struct ca_request q = { 0 };
	struct errmsg e;
	FILE *log = NULL;
	int rc = 1;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		cli_usage("ca", stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--config") != 0)
		return cli_usage_fail("ca");
	signal(SIGPIPE, SIG_IGN);
	alarm(CA_TIMEOUT); /* a client that stalls is cut off; sshd ends the session */
	request_identity(&q);
	if (c == NULL || att == NULL || m == NULL)
		errmsg_set(&e, "out of memory");
	else if (config_load(argv[2], c, &e) != 0)
		errmsg_prefix(&e, "CA configuration");
	else if ((log = fopen(c->log, "a+")) == NULL)
		errmsg_set(&e, "cannot open the log %s: %s", c->log, strerror(errno));
	else if (enrol(c, log, &q, att, m, &e) == 0 && caio_send(1, m, &e) == 0) {
		fprintf(stderr, "tpm-key ca: issued serial %llu to %s for key %s (%s)\n",
			(unsigned long long)m->serial, q.user, att->name, q.principals);
		rc = 0;
		after_issue(log, &q, att, m->serial, m);
	}
	if (rc != 0) {
		struct errmsg sent;

		errmsg_set(&sent, "refused: %s", e.text);
		caio_send_error(1, &sent);
		if (log != NULL)
			log_line(log, "refused", &q, att != NULL ? att->name : "", e.text);
		fprintf(stderr, "tpm-key ca: refused %s: %s\n", q.user, e.text);
	}
	if (log != NULL)
		fclose(log);
	free(c);
	free(att);
	free(m);
	return rc;
}
