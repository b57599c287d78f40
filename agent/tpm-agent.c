/* tpm-agent: the daemon's entry point. Parses ssh-agent-style options, opens the TPM
 * (or a private swtpm with --simulator), loads the key store and serves the socket. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../keystore/simulator.h"
#include "../keystore/store.h"
#include "daemon_gpg.h"
#include "log.h"

struct options {
	const char *socket;
	const char *tcti;
	const char *simulator_dir;
	int simulator;
	int foreground;
	int debug;
	int shell; /* 's' Bourne, 'c' csh, 0 guess from $SHELL */
	int kill;
	uint32_t srk_handle;
	int plain_sessions;     /* --no-encrypt-sessions */
	int gpg;                /* --gpg: also serve the gpg-agent protocol */
	const char *gpg_socket; /* --gpg-socket PATH (implies --gpg) */
};

static struct agent agent = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct simulator simulator;
static char gpg_socket_path[PATH_MAX];

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tpm-agent [-c | -s] [-Dd] [-a SOCKET] [--tcti TCTI | --simulator[=DIR]]\n"
		"                 [--srk-handle HANDLE] [--gpg] [--gpg-socket PATH]\n"
		"       tpm-agent [-c | -s] -k\n"
		"\n"
		"An ssh-agent whose keys are made inside the TPM and never leave it.\n"
		"\n"
		"  -a SOCKET          bind the agent socket to SOCKET\n"
		"                     (default $XDG_RUNTIME_DIR/tpm-agent/agent.sock)\n"
		"  -c, -s             print C-shell or Bourne-shell commands for the environment\n"
		"  -D                 stay in the foreground\n"
		"  -d                 debug: stay in the foreground and log to stderr\n"
		"  -k                 kill the agent named by $SSH_AGENT_PID\n"
		"  --tcti TCTI        TPM to use (default $TPM_AGENT_TCTI, else %s)\n"
		"  --simulator[=DIR]  run a private swtpm (state in DIR, default <data dir>/simulator);\n"
		"                     keys are then NOT hardware-protected\n"
		"  --srk-handle H     persistent handle of the storage root key (default 0x%08x)\n"
		"  --no-encrypt-sessions  plain password sessions: PINs and digests cross the\n"
		"                     TPM bus in clear (default: salted AES-128-CFB sessions)\n"
		"  --gpg              also be gpg's agent, on the socket gpgconf --list-dirs\n"
		"                     agent-socket names (stop gpg-agent first)\n"
		"  --gpg-socket PATH  serve the gpg-agent protocol on PATH (implies --gpg)\n"
		"  --version          print the version\n"
		"  -h, --help         this help\n",
		TPM_TCTI_DEFAULT, TPM_SRK_HANDLE_DEFAULT);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "tcti", required_argument, NULL, 'T' },
		{ "simulator", optional_argument, NULL, 'S' },
		{ "srk-handle", required_argument, NULL, 'H' },
		{ "no-encrypt-sessions", no_argument, NULL, 'P' },
		{ "gpg", no_argument, NULL, 'G' },
		{ "gpg-socket", required_argument, NULL, 'g' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->srk_handle = TPM_SRK_HANDLE_DEFAULT;
	o->tcti = getenv("TPM_AGENT_TCTI");
	while ((ch = getopt_long(argc, argv, "a:cDdhks", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->socket = optarg; break;
		case 'c': o->shell = 'c'; break;
		case 's': o->shell = 's'; break;
		case 'D': o->foreground = 1; break;
		case 'd': o->foreground = o->debug = 1; break;
		case 'k': o->kill = 1; break;
		case 'T': o->tcti = optarg; break;
		case 'P': o->plain_sessions = 1; break;
		case 'G': o->gpg = 1; break;
		case 'g': o->gpg = 1; o->gpg_socket = optarg; break;
		case 'S': o->simulator = 1; o->simulator_dir = optarg; break;
		case 'H': {
			char *end;
			unsigned long h = strtoul(optarg, &end, 0);

			if (*end != '\0' || (h & 0xff000000ul) != 0x81000000ul) {
				fprintf(stderr, "tpm-agent: --srk-handle %s: not a persistent handle "
					"(0x81000000-0x81ffffff)\n", optarg);
				return -1;
			}
			o->srk_handle = (uint32_t)h;
			break;
		}
		case 'V': printf("tpm-agent %s\n", TPM_AGENT_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tpm-agent: unexpected argument '%s' (running a command under the "
			"agent is not supported)\n", argv[optind]);
		return -1;
	}
	if (o->shell == 0) {
		const char *sh = getenv("SHELL");
		size_t n = sh ? strlen(sh) : 0;

		o->shell = (n >= 3 && strcmp(sh + n - 3, "csh") == 0) ? 'c' : 's';
	}
	return 0;
}

static void print_env(int shell, const char *name, const char *value)
{
	if (shell == 'c')
		printf("setenv %s %s;\n", name, value);
	else
		printf("%s=%s; export %s;\n", name, value, name);
}

static int kill_agent(const struct options *o)
{
	const char *s = getenv("SSH_AGENT_PID");
	char *end;
	long pid = s ? strtol(s, &end, 10) : 0;

	if (s == NULL || *end != '\0' || pid <= 1) {
		fprintf(stderr, "tpm-agent: SSH_AGENT_PID is not set, cannot kill the agent\n");
		return 1;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		fprintf(stderr, "tpm-agent: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	const char *unset = o->shell == 'c' ? "unsetenv" : "unset";
	printf("%s SSH_AUTH_SOCK;\n%s SSH_AGENT_PID;\n%s TPM_AGENT_SOCK;\n", unset, unset, unset);
	printf("echo Agent pid %ld killed;\n", pid);
	return 0;
}

/* Picks the default socket: $XDG_RUNTIME_DIR/tpm-agent/agent.sock, else a fresh 0700
 * directory in /tmp. */
static int default_socket(struct agent *a, struct errmsg *e)
{
	const char *run = getenv("XDG_RUNTIME_DIR");

	if (run != NULL && run[0] == '/') {
		snprintf(a->socket_dir, sizeof(a->socket_dir), "%s/tpm-agent", run);
		if (mkdir(a->socket_dir, 0700) != 0 && errno != EEXIST)
			return errmsg_set(e, "cannot create %s: %s", a->socket_dir, strerror(errno));
		a->socket_dir[0] = '\0'; /* shared, long-lived: not ours to remove */
		snprintf(a->socket_path, sizeof(a->socket_path), "%s/tpm-agent/agent.sock", run);
		return 0;
	}
	snprintf(a->socket_dir, sizeof(a->socket_dir), "/tmp/tpm-agent-XXXXXX");
	if (mkdtemp(a->socket_dir) == NULL)
		return errmsg_set(e, "cannot create a socket directory in /tmp: %s", strerror(errno));
	snprintf(a->socket_path, sizeof(a->socket_path), "%s/agent.%d", a->socket_dir,
		 (int)getpid());
	return 0;
}

/* 1 if something accepts connections on path. */
static int socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), alive;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	alive = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return alive;
}

static int listen_socket(const char *path, struct errmsg *e)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return errmsg_set(e, "socket path too long: %s", path);
	if (socket_alive(path))
		return errmsg_set(e, "an agent already listens on %s (stop it, or use -a)", path);
	unlink(path); /* a stale socket from an agent that died */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return errmsg_set(e, "socket: %s", strerror(errno));
	old_mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (r != 0 || listen(fd, 64) != 0) {
		errmsg_set(e, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	agent.quit = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a file-size limit must give EFBIG, not kill us */
}

/* No core dumps and no ptrace by other processes of ours: memory may hold PINs. */
static void harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int open_tpm(const struct options *o, struct agent *a, struct errmsg *e)
{
	struct tpm_options to = { .srk_handle = o->srk_handle,
				  .plain_sessions = o->plain_sessions };
	char dir[PATH_MAX];

	if (o->simulator) {
		if (o->simulator_dir != NULL)
			snprintf(dir, sizeof(dir), "%s", o->simulator_dir);
		else if (snprintf(dir, sizeof(dir), "%s/simulator", a->data_dir) >= (int)sizeof(dir))
			return errmsg_set(e, "data dir path too long: %s", a->data_dir);
		if (simulator_start(dir, &simulator, e) != 0)
			return -1;
		log_warn("using a private swtpm simulator (state in %s): keys are NOT "
			 "hardware-protected", dir);
		to.tcti = simulator.tcti;
		a->simulator = 1;
	} else {
		to.tcti = o->tcti ? o->tcti : TPM_TCTI_DEFAULT;
	}
	snprintf(a->tcti, sizeof(a->tcti), "%s", to.tcti);
	if (o->plain_sessions)
		log_warn("encrypted TPM sessions are off (--no-encrypt-sessions): PINs and "
			 "signed digests cross the TPM bus in clear");
	a->srk_handle = o->srk_handle;
	return tpm_open(&to, &a->tpm, e);
}

/* Decides the data dir and socket path (before forking: the parent prints them). */
static int resolve_paths(const struct options *o, struct agent *a, struct errmsg *e)
{
	if (store_default_dir(a->data_dir, sizeof(a->data_dir), e) != 0 ||
	    store_prepare(a->data_dir, e) != 0)
		return -1;
	if (o->gpg && o->gpg_socket != NULL)
		snprintf(gpg_socket_path, sizeof(gpg_socket_path), "%s", o->gpg_socket);
	else if (o->gpg && gpg_default_socket_path(gpg_socket_path, sizeof(gpg_socket_path), e) != 0)
		return -1;
	if (o->gpg && gpg_socket_check(gpg_socket_path, e) != 0)
		return -1; /* before the TPM is touched: a busy gpg socket is the user's to fix */
	if (o->socket != NULL) {
		snprintf(a->socket_path, sizeof(a->socket_path), "%s", o->socket);
		return 0;
	}
	return default_socket(a, e);
}

/* Everything that can fail before we serve; on failure e says why. */
static int agent_setup(const struct options *o, struct agent *a, int *listen_fd,
		       struct errmsg *e)
{
	if ((*listen_fd = listen_socket(a->socket_path, e)) < 0)
		return -1;
	if (open_tpm(o, a, e) != 0 || keystore_open(a->data_dir, a->tpm, &a->ks, e) != 0 ||
	    certstore_open(a->data_dir, &a->certs, e) != 0)
		return -1;
	if (o->gpg && gpg_server_start(a, gpg_socket_path, e) != 0)
		return -1;
	log_info("serving %zu key(s) from %s on %s", keystore_count(a->ks), a->data_dir,
		 a->socket_path);
	return 0;
}

static void agent_cleanup(struct agent *a, int listen_fd)
{
	gpg_server_stop(); /* its threads use the keystore: they end first */
	certstore_close(a->certs);
	keystore_close(a->ks);
	tpm_close(a->tpm);
	if (a->simulator)
		simulator_stop(&simulator);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(a->socket_path);
	}
	if (a->socket_dir[0] != '\0')
		rmdir(a->socket_dir);
	if (a->lock_hash != NULL)
		sodium_free(a->lock_hash);
}

static void print_startup_env(const struct options *o, const struct agent *a)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)a->pid);
	print_env(o->shell, "SSH_AUTH_SOCK", a->socket_path);
	print_env(o->shell, "SSH_AGENT_PID", pid);
	print_env(o->shell, "TPM_AGENT_SOCK", a->socket_path);
	printf("echo Agent pid %s;\n", pid);
	fflush(stdout);
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Runs the agent in this process. ready_fd (or -1) gets "OK" or the error once set up. */
static int agent_main(const struct options *o, int ready_fd)
{
	struct errmsg e = { "" };
	int listen_fd = -1, r;

	agent.pid = getpid();
	if (ready_fd >= 0 && !o->debug)
		log_init("tpm-agent", 0, LOG_LVL_INFO);
	install_signals();
	if (agent_setup(o, &agent, &listen_fd, &e) != 0) {
		if (ready_fd >= 0) {
			if (write(ready_fd, e.text, strlen(e.text)) < 0)
				log_error("%s", e.text);
		} else {
			fprintf(stderr, "tpm-agent: %s\n", e.text);
		}
		agent_cleanup(&agent, listen_fd);
		return 1;
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "OK", 2) != 2)
			log_warn("cannot report readiness to the parent");
		close(ready_fd);
		if (!o->debug)
			detach_stdio();
	} else {
		print_startup_env(o, &agent);
	}
	r = server_run(&agent, listen_fd);
	log_info("shutting down");
	agent_cleanup(&agent, listen_fd);
	return r == 0 ? 0 : 1;
}

/* Forks like ssh-agent: the parent waits until the child serves, prints the
 * environment and exits; the child carries on as the agent. */
static int agent_daemonize(const struct options *o)
{
	int pipefd[2];
	char status[ERRMSG_MAX];
	ssize_t n;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		perror("tpm-agent: pipe");
		return 1;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("tpm-agent: fork");
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		if (chdir("/") != 0)
			return 1;
		return agent_main(o, pipefd[1]);
	}
	close(pipefd[1]);
	n = read(pipefd[0], status, sizeof(status) - 1);
	close(pipefd[0]);
	status[n > 0 ? n : 0] = '\0';
	if (strcmp(status, "OK") != 0) {
		fprintf(stderr, "tpm-agent: %s\n", n > 0 ? status : "the agent exited during start-up");
		return 1;
	}
	agent.pid = pid;
	if (o->simulator)
		fprintf(stderr, "tpm-agent: warning: using a private swtpm simulator: keys are NOT "
			"hardware-protected\n");
	if (o->plain_sessions)
		fprintf(stderr, "tpm-agent: warning: encrypted TPM sessions are off "
			"(--no-encrypt-sessions): PINs and signed digests cross the TPM bus in clear\n");
	print_startup_env(o, &agent);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };

	if (parse_options(argc, argv, &o) != 0)
		return 1;
	if (o.kill)
		return kill_agent(&o);
	if (sodium_init() < 0) {
		fprintf(stderr, "tpm-agent: libsodium failed to initialise\n");
		return 1;
	}
	harden_process();
	log_init("tpm-agent", 1, o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	struct errmsg e;
	if (resolve_paths(&o, &agent, &e) != 0) {
		fprintf(stderr, "tpm-agent: %s\n", e.text);
		return 1;
	}
	if (o.foreground)
		return agent_main(&o, -1);
	return agent_daemonize(&o);
}
