/* tpm-bench: `make bench`. Starts its own swtpm and agent, then measures signatures
 * through the agent socket against the floor of a bare Esys_Sign on the same swtpm. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/cli/client.h"
#include "../../keystore/simulator.h"
#include "../../keystore/store.h"
#include "../../keystore/tpm.h"
#include "../../protocol/agentmsg.h"
#include "../../protocol/keygrip.h"
#include "../../protocol/tss2key.h"
#include "peer_seq.h"

#define CLIENTS 4

struct keydef {
	const char *label, *type;
	unsigned bits;
	int iters;
	uint32_t flags;
	uint8_t blob[1024]; size_t blob_len;
	double floor_p50, one_p50, one_p99, conc_rate, one_rate, conc_p99;
	int conc_fail;
};

static struct keydef keys[] = {
	{ .label = "ECDSA P-256", .type = "ecdsa", .bits = 256, .iters = 400 },
	{ .label = "ECDSA P-384", .type = "ecdsa", .bits = 384, .iters = 300 },
	{ .label = "ECDSA P-521", .type = "ecdsa", .bits = 521, .iters = 300 },
	{ .label = "RSA 2048", .type = "rsa", .bits = 2048, .iters = 200, .flags = SSH_AGENT_RSA_SHA2_256 },
	{ .label = "RSA 3072", .type = "rsa", .bits = 3072, .iters = 100, .flags = SSH_AGENT_RSA_SHA2_256 },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char home[256], sock[512], gpg_sock[512];
static pid_t agent_pid, proxy_pid;
static struct simulator sim;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(p * (n - 1) + 0.5)];
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "tpm-bench: %s: %s\n", what, why);
	if (agent_pid > 0)
		kill(agent_pid, SIGTERM);
	if (proxy_pid > 0)
		kill(proxy_pid, SIGTERM);
	simulator_stop(&sim);
	exit(1);
}

/* extra: NULL, or one more agent option (e.g. --no-encrypt-sessions); tcti NULL: the
 * simulator's. */
static void agent_start_tcti(const char *extra, const char *tcti)
{
	struct errmsg e;
	int fd = -1;

	if ((agent_pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl("bin/tpm-agent", "tpm-agent", "-D", "--tcti", tcti ? tcti : sim.tcti, "-a",
		      sock, "--gpg-socket", gpg_sock, extra, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && fd < 0; i++) {
		usleep(10000);
		fd = client_connect(sock, &e);
	}
	if (fd < 0)
		die("agent did not start", e.text);
	close(fd);
}

static void agent_start(const char *extra)
{
	agent_start_tcti(extra, NULL);
}

static void agent_stop(void)
{
	kill(agent_pid, SIGTERM);
	waitpid(agent_pid, NULL, 0);
	agent_pid = 0;
}

static void gen_key(struct keydef *k, const char *name)
{
	struct sshbuf *msg = sshbuf_new(4096), *reply = sshbuf_new(65536);
	const uint8_t *blob;
	char got[64];
	struct errmsg e;
	int fd = client_connect(sock, &e);

	if (fd < 0)
		die("connect", e.text);
	client_begin_extension(msg, CTL_GEN);
	sshbuf_put_cstring(msg, k->type);
	sshbuf_put_u32(msg, k->bits);
	sshbuf_put_cstring(msg, name);
	sshbuf_put_cstring(msg, "bench");
	sshbuf_put_u32(msg, CTL_GEN_NO_PIN); /* no pinentry in a benchmark */
	if (client_control(fd, msg, reply, &e) != 0)
		die("gen", e.text);
	if (sshbuf_get_cstring(reply, got, sizeof(got)) != 0 ||
	    sshbuf_get_string(reply, &blob, &k->blob_len) != 0 || k->blob_len > sizeof(k->blob))
		die("gen", "malformed reply");
	memcpy(k->blob, blob, k->blob_len);
	close(fd);
	sshbuf_free(msg);
	sshbuf_free(reply);
}

static void sign_request(struct sshbuf *msg, const struct keydef *k)
{
	static const uint8_t data[64] = "tpm-bench: the data an ssh client would have us sign";

	sshbuf_reset(msg);
	sshbuf_put_u8(msg, SSH_AGENTC_SIGN_REQUEST);
	sshbuf_put_string(msg, k->blob, k->blob_len);
	sshbuf_put_string(msg, data, sizeof(data));
	sshbuf_put_u32(msg, k->flags);
}

/* n signatures over one connection; latencies (ms) into lat. Returns failures. */
static int sign_loop(const struct keydef *k, int n, double *lat)
{
	struct sshbuf *msg = sshbuf_new(4096), *reply = sshbuf_new(65536);
	struct errmsg e;
	int fd = client_connect(sock, &e), fails = 0;

	if (fd < 0)
		die("connect", e.text);
	sign_request(msg, k);
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();

		if (client_call(fd, msg, reply, &e) != 0 || sshbuf_ptr(reply)[0] != SSH_AGENT_SIGN_RESPONSE)
			fails++;
		lat[i] = now_ms() - t0;
	}
	close(fd);
	sshbuf_free(msg);
	sshbuf_free(reply);
	return fails;
}

static void bench_one_client(struct keydef *k)
{
	double *lat = calloc(k->iters, sizeof(double)), t0 = now_ms(), total;

	sign_loop(k, 5, lat); /* warm: load the key */
	t0 = now_ms();
	if (sign_loop(k, k->iters, lat) != 0)
		die(k->label, "signatures failed through the agent");
	total = now_ms() - t0;
	k->one_rate = k->iters / (total / 1e3);
	k->one_p50 = percentile(lat, k->iters, 0.5);
	k->one_p99 = percentile(lat, k->iters, 0.99);
	free(lat);
}

/* CLIENTS processes at once; each reports its latencies through a pipe. */
static void bench_concurrent(struct keydef *k)
{
	int per = k->iters / CLIENTS, pipes[CLIENTS][2], n = 0, fails = 0;
	pid_t kids[CLIENTS];
	double *all = calloc(per * CLIENTS, sizeof(double)), t0 = now_ms();

	for (int c = 0; c < CLIENTS; c++) {
		if (pipe(pipes[c]) != 0)
			die("pipe", strerror(errno));
		if ((kids[c] = fork()) == 0) {
			double *lat = calloc(per, sizeof(double));
			int f = sign_loop(k, per, lat);

			if (write(pipes[c][1], &f, sizeof(f)) < 0 ||
			    write(pipes[c][1], lat, per * sizeof(double)) < 0)
				_exit(1);
			_exit(0);
		}
		close(pipes[c][1]);
	}
	for (int c = 0; c < CLIENTS; c++) {
		int f = 0;

		if (read(pipes[c][0], &f, sizeof(f)) != sizeof(f))
			f = per;
		fails += f;
		for (size_t got = 0; got < per * sizeof(double);) {
			ssize_t r = read(pipes[c][0], (char *)(all + n) + got, per * sizeof(double) - got);

			if (r <= 0)
				break;
			got += r;
		}
		n += per;
		close(pipes[c][0]);
	}
	for (int c = 0; c < CLIENTS; c++)
		waitpid(kids[c], NULL, 0);
	k->conc_rate = (per * CLIENTS) / ((now_ms() - t0) / 1e3);
	k->conc_p99 = percentile(all, n, 0.99);
	k->conc_fail = fails;
	free(all);
}

static double first_signature_ms(struct keydef *k)
{
	double lat[1], t0;

	agent_stop();
	t0 = now_ms();
	agent_start(NULL);
	if (sign_loop(k, 1, lat) != 0)
		die("first signature", "failed");
	return now_ms() - t0;
}

static double identities_ms(int *count)
{
	struct sshbuf *msg = sshbuf_new(64), *reply = sshbuf_new(AGENTMSG_MAX);
	struct errmsg e;
	double lat[50];
	int fd = client_connect(sock, &e);
	uint32_t n = 0;

	sshbuf_put_u8(msg, SSH_AGENTC_REQUEST_IDENTITIES);
	for (int i = 0; i < 50; i++) {
		double t0 = now_ms();

		if (client_call(fd, msg, reply, &e) != 0)
			die("identities", e.text);
		lat[i] = now_ms() - t0;
	}
	sshbuf_consume(reply, 1);
	sshbuf_get_u32(reply, &n);
	*count = (int)n;
	close(fd);
	sshbuf_free(msg);
	sshbuf_free(reply);
	return percentile(lat, 50, 0.5);
}

static double ssh_add_l_ms(void)
{
	double lat[10];

	for (int i = 0; i < 10; i++) {
		double t0 = now_ms();
		pid_t p = fork();

		if (p == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			setenv("SSH_AUTH_SOCK", sock, 1);
			execlp("ssh-add", "ssh-add", "-l", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
		lat[i] = now_ms() - t0;
	}
	return percentile(lat, 10, 0.5);
}

static long agent_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)agent_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The floor: our tpm.c's Esys_Sign with password auth, key loaded, no agent. */
static void bench_floor(struct keydef *k, struct tpm *t, const char *name)
{
	char path[1024], *pem;
	size_t len;
	struct tss2key *f = calloc(1, sizeof(*f));
	struct tpm_key *tk = calloc(1, sizeof(*tk));
	struct tpm_signature sig;
	struct errmsg e;
	uint8_t digest[64] = { 1 };
	enum sshkey_hash h = k->bits == 384 ? SSHKEY_HASH_SHA384 :
			     k->bits == 521 ? SSHKEY_HASH_SHA512 : SSHKEY_HASH_SHA256;
	size_t dlen = sshkey_hash_len(h);
	enum tpm_sig_scheme scheme = strcmp(k->type, "rsa") == 0 ? TPM_SIG_RSASSA : TPM_SIG_ECDSA;
	double *lat = calloc(k->iters, sizeof(double));

	snprintf(path, sizeof(path), "%s/keys/%s.tss", home, name);
	if (store_read_file(path, TSS2KEY_FILE_MAX, &pem, &len, &e) != 0 ||
	    tss2key_from_pem(pem, len, f, &e) != 0)
		die(path, e.text);
	memcpy(tk->pub, f->pub, f->pub_len);
	tk->pub_len = f->pub_len;
	memcpy(tk->priv, f->priv, f->priv_len);
	tk->priv_len = f->priv_len;
	for (int i = -5; i < k->iters; i++) {
		double t0 = now_ms();

		if (tpm_sign(t, tk, NULL, 0, scheme, h, digest, dlen, &sig, &e) != 0)
			die("floor sign", e.text);
		if (i >= 0)
			lat[i] = now_ms() - t0;
	}
	k->floor_p50 = percentile(lat, k->iters, 0.5);
	tpm_key_unload(t, tk);
	free(lat);
	free(pem);
	free(f);
	free(tk);
}

/* ---- gpg PKSIGN through Assuan, as gpg does it per signature ---- */

struct assuan_conn {
	int fd;
	char buf[8192];
	size_t len;
};

/* Reads one line (without the newline) into line; 0 or -1. */
static int assuan_line(struct assuan_conn *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);

			snprintf(line, cap, "%.*s", (int)n, c->buf);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Sends cmd and reads up to the final OK; -1 on ERR or a lost connection. */
static int assuan_cmd(struct assuan_conn *c, const char *cmd)
{
	char line[8192];

	if (write(c->fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -1;
	while (assuan_line(c, line, sizeof(line)) == 0) {
		if (strncmp(line, "OK", 2) == 0)
			return 0;
		if (strncmp(line, "ERR", 3) == 0)
			return -1;
	}
	return -1;
}

static double gpg_pksign_p50(const struct keydef *k, int n)
{
	struct assuan_conn c = { .len = 0 };
	struct sshkey_pub pub;
	char grip[KEYGRIP_HEX_LEN], cmd[256], line[512];
	double *lat = calloc(n, sizeof(double)), p50;
	struct errmsg e;

	if (sshkey_pub_from_blob(k->blob, k->blob_len, &pub) != 0 || keygrip_hex(&pub, grip) != 0)
		die("gpg", "cannot compute the keygrip");
	if ((c.fd = client_connect(gpg_sock, &e)) < 0 || assuan_line(&c, line, sizeof(line)) != 0)
		die("gpg socket", e.text);
	for (int i = -5; i < n; i++) {
		double t0 = now_ms();

		snprintf(cmd, sizeof(cmd), "SIGKEY %s\n", grip);
		if (assuan_cmd(&c, cmd) != 0 ||
		    assuan_cmd(&c, "SETHASH 8 0102030405060708091011121314151617181920212223242526272829303132\n") != 0 ||
		    assuan_cmd(&c, "PKSIGN\n") != 0)
			die("gpg", "PKSIGN failed");
		if (i >= 0)
			lat[i] = now_ms() - t0;
	}
	close(c.fd);
	p50 = percentile(lat, n, 0.5);
	free(lat);
	return p50;
}

/* p50 of signatures cycling over n keys, one request each in turn. */
static double round_robin_p50(struct keydef *ks, int n, int rounds)
{
	double *lat = calloc(n * rounds, sizeof(double)), one, p50;

	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			if (sign_loop(&ks[i], 1, &one) != 0)
				die("round robin", "signature failed");
			else
				lat[r * n + i] = one;
	p50 = percentile(lat, n * rounds, 0.5);
	free(lat);
	return p50;
}

/* ---- TPM commands per signature, counted by tests/lib/tpm_proxy.py ---- */

static char proxy_ctl[600], proxy_tcti[128];

/* A loopback port P with P and P + 1 free just now. */
static int free_port_pair(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);
		int s = socket(AF_INET, SOCK_STREAM, 0), s2 = socket(AF_INET, SOCK_STREAM, 0), p = -1;

		if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    getsockname(s, (struct sockaddr *)&a, &len) == 0) {
			p = ntohs(a.sin_port);
			a.sin_port = htons((uint16_t)(p + 1));
			if (p >= 65535 || s2 < 0 || bind(s2, (struct sockaddr *)&a, sizeof(a)) != 0)
				p = -1;
		}
		if (s >= 0)
			close(s);
		if (s2 >= 0)
			close(s2);
		if (p > 0)
			return p;
	}
	die("proxy", "no free port pair");
	return -1;
}

/* One request to the proxy; the number after "ok" (0 when none). */
static long proxy_req(const char *line)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[128] = "";
	ssize_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(proxy_ctl) >= sizeof(a.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(a.sun_path, proxy_ctl, strlen(proxy_ctl) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0 || strncmp(buf, "ok", 2) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	return strtol(buf + 2, NULL, 10);
}

static void proxy_start(void)
{
	char listen[16], target[16];
	int port = free_port_pair();

	snprintf(proxy_ctl, sizeof(proxy_ctl), "%s/proxy.ctl", home);
	snprintf(listen, sizeof(listen), "%d", port);
	snprintf(target, sizeof(target), "%d", sim.port);
	snprintf(proxy_tcti, sizeof(proxy_tcti), "swtpm:host=127.0.0.1,port=%d", port);
	if ((proxy_pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execlp("python3", "python3", "tests/lib/tpm_proxy.py", "--listen", listen,
		       "--target", target, "--ctl", proxy_ctl, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && proxy_req("ping\n") != 0; i++)
		usleep(10000);
	if (proxy_req("ping\n") != 0)
		die("proxy", "tests/lib/tpm_proxy.py did not start");
}

static void proxy_stop(void)
{
	kill(proxy_pid, SIGTERM);
	waitpid(proxy_pid, NULL, 0);
	proxy_pid = 0;
}

/* TPM commands per signature: n signatures with one key (cached), and rounds over the
 * keys of rr in turn (more keys than slots: each one a miss). */
static void commands_per_signature(const struct keydef *one, struct keydef *ks, int nks,
				   double *cached, double *rr, double *rr_sign)
{
	double lat[100];
	long c;

	proxy_start();
	agent_start_tcti(NULL, proxy_tcti);
	sign_loop(one, 5, lat); /* warm: the key loaded */
	proxy_req("reset\n");
	if (sign_loop(one, 100, lat) != 0)
		die("commands per signature", "signatures failed through the proxy");
	*cached = (c = proxy_req("count\n")) < 0 ? -1 : c / 100.0;
	for (int i = 0; i < nks; i++) /* warm: every key loaded once and its context saved */
		sign_loop(&ks[i], 1, lat);
	proxy_req("reset\n");
	for (int r = 0; r < 10; r++)
		for (int i = 0; i < nks; i++)
			if (sign_loop(&ks[i], 1, lat) != 0)
				die("commands per signature", "round-robin signature failed");
	*rr = (c = proxy_req("count\n")) < 0 ? -1 : c / (10.0 * nks);
	*rr_sign = (c = proxy_req("count 0x15d\n")) < 0 ? -1 : c / (10.0 * nks);
	agent_stop();
	proxy_stop();
}

/* n signatures the ssh-tpm-agent way (peer_seq.c) over tcti; their p50 in ms. */
static double peer_loop(const char *tcti, const struct tss2key *f, int n)
{
	const char *why = "out of memory";
	struct peer_seq *p = peer_seq_open(tcti, f, &why);
	double *lat = calloc((size_t)n, sizeof(double)), p50;

	if (p == NULL || lat == NULL)
		die("peer sequence", why);
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();

		if (peer_seq_sign(p) != 0)
			die("peer sequence", "a command of the sequence failed");
		lat[i] = now_ms() - t0;
	}
	p50 = percentile(lat, n, 0.5);
	peer_seq_close(p);
	free(lat);
	return p50;
}

/* ssh-tpm-agent's per-signature sequence with the P-256 bench key: timed on the swtpm,
 * counted through the proxy. */
static void peer_sequence(double *p50, double *cmds)
{
	char path[1024], *pem;
	size_t len;
	struct tss2key *f = calloc(1, sizeof(*f));
	struct errmsg e;
	long c;

	fprintf(stderr, "tpm-bench: ssh-tpm-agent's per-signature sequence, replayed...\n");
	snprintf(path, sizeof(path), "%s/keys/bench0.tss", home);
	if (f == NULL || store_read_file(path, TSS2KEY_FILE_MAX, &pem, &len, &e) != 0 ||
	    tss2key_from_pem(pem, len, f, &e) != 0)
		die(path, f == NULL ? "out of memory" : e.text);
	free(pem);
	*p50 = peer_loop(sim.tcti, f, 200);
	proxy_start();
	proxy_req("reset\n");
	peer_loop(proxy_tcti, f, 20);
	*cmds = (c = proxy_req("count\n")) < 0 ? -1 : c / 20.0;
	proxy_stop();
	free(f);
}

static void gen_extra(int from, int to)
{
	char name[32];

	for (int i = from; i < to; i++) {
		struct keydef extra = { .label = "extra", .type = "ecdsa", .bits = 256 };

		snprintf(name, sizeof(name), "extra%d", i);
		gen_key(&extra, name);
	}
}

static void print_table(void)
{
	printf("\n%-12s %10s %10s %10s %7s %12s %12s %10s %6s\n", "signature", "floor p50",
	       "agent p50", "agent p99", "ratio", "1 client/s", "4 clients/s", "4c p99", "fails");
	for (size_t i = 0; i < NKEYS; i++) {
		struct keydef *k = &keys[i];

		printf("%-12s %8.3fms %8.3fms %8.3fms %6.2fx %12.0f %12.0f %8.3fms %6d\n", k->label,
		       k->floor_p50, k->one_p50, k->one_p99, k->one_p50 / k->floor_p50, k->one_rate,
		       k->conc_rate, k->conc_p99, k->conc_fail);
	}
}

int main(void)
{
	struct errmsg e;
	char state[300], name[32];
	struct keydef rr[10], plain[2];
	int nids50 = 0, nids100 = 0;
	double first, ids50, ids100, addl50, rr_p50, gpg_p50, cmds_cached, cmds_rr, cmds_rr_sign;
	double peer_p50 = 0, peer_cmds = 0;
	long rss;

	snprintf(home, sizeof(home), "%s/tpm-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(home) == NULL)
		die("mkdtemp", strerror(errno));
	snprintf(state, sizeof(state), "%s/swtpm", home);
	snprintf(sock, sizeof(sock), "%s/agent.sock", home);
	snprintf(gpg_sock, sizeof(gpg_sock), "%s/S.gpg-agent", home);
	setenv("TPM_AGENT_HOME", home, 1);
	if (simulator_start(state, &sim, &e) != 0)
		die("swtpm", e.text);
	agent_start(NULL);
	fprintf(stderr, "tpm-bench: generating keys in swtpm...\n");
	for (size_t i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "bench%zu", i);
		gen_key(&keys[i], name);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		fprintf(stderr, "tpm-bench: %s through the agent...\n", keys[i].label);
		bench_one_client(&keys[i]);
		bench_concurrent(&keys[i]);
	}
	fprintf(stderr, "tpm-bench: 10 keys round-robin over 3 transient slots...\n");
	for (int i = 0; i < 10; i++) {
		rr[i] = (struct keydef){ .label = "rr", .type = "ecdsa", .bits = 256 };
		snprintf(name, sizeof(name), "rr%d", i);
		gen_key(&rr[i], name);
	}
	rr_p50 = round_robin_p50(rr, 10, 30);
	gpg_p50 = gpg_pksign_p50(&keys[0], 300);
	first = first_signature_ms(&keys[0]);
	fprintf(stderr, "tpm-bench: filling the store to 50, then 100 keys...\n");
	gen_extra(NKEYS + 10, 50);
	ids50 = identities_ms(&nids50);
	addl50 = ssh_add_l_ms();
	gen_extra(50, 100);
	ids100 = identities_ms(&nids100);
	rss = agent_rss_kb();
	agent_stop();

	fprintf(stderr, "tpm-bench: TPM commands per signature, counted by tests/lib/tpm_proxy.py...\n");
	commands_per_signature(&keys[0], rr, 10, &cmds_cached, &cmds_rr, &cmds_rr_sign);

	fprintf(stderr, "tpm-bench: the same with sessions off (--no-encrypt-sessions)...\n");
	agent_start("--no-encrypt-sessions");
	plain[0] = keys[0];
	plain[1] = keys[3];
	bench_one_client(&plain[0]);
	bench_one_client(&plain[1]);
	agent_stop();

	struct tpm *t;
	struct tpm_options to = { .tcti = sim.tcti, .srk_handle = TPM_SRK_HANDLE_DEFAULT };
	/* The floor is a bare Esys_Sign with password auth: open the TPM with sessions off. */
	to.plain_sessions = 1;
	if (tpm_open(&to, &t, &e) != 0)
		die("floor: tpm_open", e.text);
	for (size_t i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "bench%zu", i);
		bench_floor(&keys[i], t, name);
	}
	tpm_close(t);
	peer_sequence(&peer_p50, &peer_cmds);
	simulator_stop(&sim);

	print_table();
	printf("\nsessions on vs off, through the agent (p50): ECDSA P-256 %.3f vs %.3f ms (%+.0f%%), "
	       "RSA 2048 %.3f vs %.3f ms (%+.0f%%)\n",
	       keys[0].one_p50, plain[0].one_p50, 100 * (keys[0].one_p50 / plain[0].one_p50 - 1),
	       keys[3].one_p50, plain[1].one_p50, 100 * (keys[3].one_p50 / plain[1].one_p50 - 1));
	printf("10 P-256 keys round-robin over 3 transient slots: p50 %.3f ms (%.2fx the cached-key p50)\n",
	       rr_p50, rr_p50 / keys[0].one_p50);
	printf("TPM commands per signature (tpm_proxy.py count): cached key %.2f; 10 keys "
	       "round-robin over 3 slots %.2f (%.2f of them TPM2_Sign; a miss is FlushContext + "
	       "ContextLoad + Sign)\n", cmds_cached, cmds_rr, cmds_rr_sign);
	printf("cached P-256 signature, side by side: tpm-agent %.2f TPM commands, p50 %.3f ms; "
	       "ssh-tpm-agent's sequence replayed (CreatePrimary, StartAuthSession, Load, "
	       "StartAuthSession, Sign, FlushContext x2) %.2f commands, p50 %.3f ms (%.1fx)\n",
	       cmds_cached, keys[0].one_p50, peer_cmds, peer_p50, peer_p50 / keys[0].one_p50);
	printf("gpg PKSIGN (SIGKEY + SETHASH + PKSIGN over Assuan), ECDSA P-256: p50 %.3f ms "
	       "(%.2fx the floor)\n", gpg_p50, gpg_p50 / keys[0].floor_p50);
	printf("first signature after agent start (exec to signature): %.1f ms\n", first);
	printf("REQUEST_IDENTITIES (no TPM command): %d keys p50 %.3f ms, %d keys p50 %.3f ms\n",
	       nids50, ids50, nids100, ids100);
	printf("`ssh-add -l` with %d keys, whole process (fork+exec+list): p50 %.2f ms\n", nids50, addl50);
	printf("agent RSS with %d keys: %ld KiB\n", nids100, rss);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd) != 0)
		fprintf(stderr, "tpm-bench: could not remove %s\n", home);
	return 0;
}
