/* tpm-agent: the daemon's entry point. Parses ssh-agent-style options, opens the TPM
 * (or a private swtpm with --simulator), loads the key store and serves the socket. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../keystore/simulator.h"
#include "../keystore/store.h"
#include "daemon_gpg.h"
#include "daemon_gpghome.h"
#include "daemon_hostkeys.h"
#include "daemon_ops.h"
#include "daemon_options.h"
#include "daemon_sandbox.h"
#include "daemon_pinjob.h"
#include "daemon_proxy.h"
#include "daemon_renew.h"
#include "daemon_sdlisten.h"
#include "daemon_settings.h"
#include "daemon_restrict.h"
#include "daemon_softkeys.h"
#include "daemon_srkpin.h"
#include "../protocol/control.h"
#include "../keystore/log.h"

static struct agent agent = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .tpm_lock = PTHREAD_MUTEX_INITIALIZER, .datadir_lock_fd = -1 };
static struct simulator simulator;
static char gpg_socket_path[PATH_MAX];
/* Sockets passed by systemd (socket activation); -1 when we bind our own. */
static struct sd_sockets sd = { -1, -1 };
static int ssh_socket_owned; /* 1 when we bound the ssh socket (and remove it at exit) */
static char ephemeral[PATH_MAX]; /* TPM_AGENT_SIMULATOR=ephemeral: removed at exit */

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

/* The socket's directory must be ours and closed to others: whoever can write to it
 * can swap our socket for theirs and collect every signing request. */
static int socket_dir_check(const char *dir, struct errmsg *e)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return errmsg_set(e, "socket directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(e, "socket directory %s is not a directory", dir);
	if (st.st_uid != geteuid())
		return errmsg_set(e, "socket directory %s is owned by uid %u, not by us (uid %u): "
				  "refusing to serve keys there; use a directory of your own (-a)",
				  dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return errmsg_set(e, "socket directory %s is group or world writable (mode %04o): "
				  "refusing to serve keys there; chmod 700 it or use another (-a)",
				  dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* socket_dir_check on the directory part of path ("." when it has none). */
static int socket_path_check(const char *path, struct errmsg *e)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return socket_dir_check(".", e);
	if (slash == path)
		return socket_dir_check("/", e);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return socket_dir_check(dir, e);
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
		return socket_path_check(a->socket_path, e); /* it may have existed already */
	}
	snprintf(a->socket_dir, sizeof(a->socket_dir), "/tmp/tpm-agent-XXXXXX");
	if (mkdtemp(a->socket_dir) == NULL)
		return errmsg_set(e, "cannot create a socket directory in /tmp: %s", strerror(errno));
	snprintf(a->socket_path, sizeof(a->socket_path), "%s/agent.%d", a->socket_dir,
		 (int)getpid());
	return 0;
}

static int listen_socket(const char *path, struct errmsg *e)
{
	if (server_socket_in_use(path))
		return errmsg_set(e, "an agent already listens on %s (stop it, or use -a)", path);
	return server_listen_unix(path, SOCK_NONBLOCK, e);
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
	const struct settings *set = &a->settings;
	struct tpm_options to = { .srk_handle = set->srk_handle,
				  .plain_sessions = !set->encrypt_sessions,
				  .hierarchy = set->hierarchy,
				  .timeout_s = set->tpm_timeout,
				  .create_timeout_s = set->tpm_create_timeout };
	struct srkpins pins;
	char dir[PATH_MAX];

	(void)o;
	if (set->simulator) {
		if (set->simulator_dir[0] != '\0')
			snprintf(dir, sizeof(dir), "%s", set->simulator_dir);
		else if (snprintf(dir, sizeof(dir), "%s/simulator", a->data_dir) >= (int)sizeof(dir))
			return errmsg_set(e, "data dir path too long: %s", a->data_dir);
		if (simulator_start(dir, &simulator, e) != 0)
			return -1;
		log_warn("using a private swtpm simulator (state in %s): keys are NOT "
			 "hardware-protected", dir);
		to.tcti = simulator.tcti;
		a->simulator = 1;
	} else {
		to.tcti = set->tcti;
	}
	snprintf(a->tcti, sizeof(a->tcti), "%s", to.tcti);
	if (!set->encrypt_sessions)
		log_warn("encrypted TPM sessions are off (--no-encrypt-sessions): PINs and "
			 "signed digests cross the TPM bus in clear");
	a->srk_handle = set->srk_handle;
	if (srkpin_prepare(a, &pins, &to, e) != 0 || tpm_open(&to, &a->tpm, e) != 0)
		return -1;
	srkpin_opened(a, &pins); /* a refused SRK is logged; the agent runs to re-pin */
	return 0;
}

/* TPM_AGENT_SIMULATOR=ephemeral: a fresh data dir (keys and swtpm state) of our own. */
static int ephemeral_dir(struct agent *a, struct errmsg *e)
{
	const char *tmp = getenv("TMPDIR");

	if (snprintf(ephemeral, sizeof(ephemeral), "%s/tpm-agent-ephemeral.XXXXXX",
		     tmp != NULL && tmp[0] == '/' ? tmp : "/tmp") >= (int)sizeof(ephemeral) ||
	    mkdtemp(ephemeral) == NULL) {
		ephemeral[0] = '\0';
		return errmsg_set(e, "cannot create an ephemeral data dir in %s: %s",
				  tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", strerror(errno));
	}
	snprintf(a->data_dir, sizeof(a->data_dir), "%s/data", ephemeral);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* One agent per data dir: two would each load the keys, race to create one name and
 * share a TPM that serves one of them. The lock is an flock on <data dir>/agent.lock,
 * held until the process ends; the file says who holds it. */
static int datadir_lock(struct agent *a, struct errmsg *e)
{
	char path[PATH_MAX], who[PATH_MAX + 64] = "";
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/agent.lock", a->data_dir) >= (int)sizeof(path))
		return errmsg_set(e, "data dir path too long: %s", a->data_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return errmsg_set(e, "cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		a->datadir_lock_fd = fd;
		return 0;
	}
	n = errno == EWOULDBLOCK ? pread(fd, who, sizeof(who) - 1, 0) : -1;
	close(fd);
	if (n < 0)
		return errmsg_set(e, "cannot lock %s: %s", path, strerror(errno));
	who[n] = '\0';
	for (char *p = who; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return errmsg_set(e, "another tpm-agent already serves the data dir %s (%s); stop it "
			  "first (tpm-agent -k, or kill that pid), or use it: export SSH_AUTH_SOCK="
			  "<its socket>", a->data_dir, who[0] ? who : "it is starting");
}

/* Writes who holds the data dir lock: "pid N socket PATH". */
static void datadir_lock_note(const struct agent *a)
{
	char note[PATH_MAX + 64];
	int n = snprintf(note, sizeof(note), "pid %d socket %s\n", (int)a->pid, a->socket_path);

	if (a->datadir_lock_fd < 0 || n < 0 || n >= (int)sizeof(note))
		return;
	if (ftruncate(a->datadir_lock_fd, 0) != 0 ||
	    pwrite(a->datadir_lock_fd, note, (size_t)n, 0) != n)
		log_warn("cannot write %s/agent.lock: %s", a->data_dir, strerror(errno));
}

/* Decides the data dir and socket path (before forking: the parent prints them). */
static int resolve_paths(const struct options *o, struct agent *a, struct errmsg *e)
{
	if (a->settings.simulator_ephemeral ? ephemeral_dir(a, e) != 0 :
	    store_default_dir(a->data_dir, sizeof(a->data_dir), e) != 0)
		return -1;
	if (store_prepare(a->data_dir, e) != 0)
		return -1;
	if (sd.gpg_fd >= 0) /* systemd's socket: serve gpg there, whatever the settings */
		sd_socket_path(sd.gpg_fd, gpg_socket_path, sizeof(gpg_socket_path));
	else if (a->settings.gpg && a->settings.gpg_socket[0] != '\0')
		snprintf(gpg_socket_path, sizeof(gpg_socket_path), "%s", a->settings.gpg_socket);
	else if (a->settings.gpg &&
		 gpg_default_socket_path(gpg_socket_path, sizeof(gpg_socket_path), e) != 0)
		return -1;
	if (a->settings.gpg && sd.gpg_fd < 0 && gpg_socket_check(gpg_socket_path, e) != 0)
		return -1; /* before the TPM is touched: a busy gpg socket is the user's to fix */
	if (sd.ssh_fd >= 0) {
		sd_socket_path(sd.ssh_fd, a->socket_path, sizeof(a->socket_path));
		if (a->socket_path[0] == '\0')
			snprintf(a->socket_path, sizeof(a->socket_path), "(inherited socket)");
		return 0;
	}
	if (o->socket != NULL) {
		snprintf(a->socket_path, sizeof(a->socket_path), "%s", o->socket);
		return socket_path_check(a->socket_path, e);
	}
	return default_socket(a, e);
}

/* Landlock and seccomp (daemon_sandbox.c), once the TPM, the keys and the sockets are
 * set up. */
static int agent_sandbox(const struct options *o, struct agent *a, struct errmsg *e)
{
	char config[PATH_MAX] = "";
	struct errmsg ignored;

	if (o->config != NULL)
		snprintf(config, sizeof(config), "%s", o->config);
	else if (settings_default_path(config, sizeof(config), &ignored) != 0)
		config[0] = '\0';
	return sandbox_apply(a, a->settings.gpg ? gpg_socket_path : "", config, e);
}

/* Everything that can fail before we serve; on failure e says why. */
/* The jobs rerun a deferred request through the ssh front end and run prompts with
 * daemon_pinjob.c: handed down here, so daemon_jobs.c calls neither of them by name. */
static const struct job_runners runners = { .dispatch = ssh_dispatch, .prompt = pinjob_run };

static int agent_setup(const struct options *o, struct agent *a, int *listen_fd,
		       struct errmsg *e)
{
	if (sd.ssh_fd >= 0) { /* socket activation: systemd bound it */
		*listen_fd = sd.ssh_fd;
		sd.ssh_fd = -1;
		fcntl(*listen_fd, F_SETFL, fcntl(*listen_fd, F_GETFL) | O_NONBLOCK);
	} else if ((*listen_fd = listen_socket(a->socket_path, e)) < 0) {
		return -1;
	} else {
		ssh_socket_owned = 1;
	}
	if (proxy_check(a, e) != 0) /* before the TPM: a proxy loop is the user's to fix */
		return -1;
	if (datadir_lock(a, e) != 0) /* before the TPM: the running agent owns it */
		return -1;
	if (open_tpm(o, a, e) != 0 || keystore_open(a->data_dir, a->tpm, &a->ks, e) != 0 ||
	    peer_key_locations(a, e) != 0 ||
	    certstore_open(a->data_dir, &a->certs, e) != 0 ||
	    certstore_use_nv(a->certs, a->tpm, a->settings.nv_base_index,
			     a->settings.max_nv_certs, e) != 0)
		return -1;
	if (agent_sandbox(o, a, e) != 0) /* before any thread: they inherit it */
		return -1;
	restrict_tpm_restore(a); /* tpm-key load -h outlives a restart */
	if (pin_start(a, &runners, e) != 0) /* before gpg: its threads use the PIN cache too */
		return -1;
	if (sd.gpg_fd >= 0) {
		int fd = sd.gpg_fd;

		sd.gpg_fd = -1;
		if (gpg_server_start_fd(a, fd, gpg_socket_path, e) != 0)
			return -1;
	} else if (a->settings.gpg && gpg_server_start(a, gpg_socket_path, e) != 0) {
		return -1;
	}
	hostkeys_apply(a); /* --host: host keys only; otherwise all but those */
	log_info("serving %zu key(s) from %s on %s%s", keystore_count(a->ks), a->data_dir,
		 a->socket_path, a->settings.host ? " (host keys only, for sshd)" : "");
	return 0;
}

/* Quick even with the TPM stuck (SIGTERM must end us within 2 s): nothing here waits
 * for the TPM. */
static void agent_cleanup(struct agent *a, int listen_fd)
{
	/* A TPM command in flight (someone holds the TPM lock) fails now instead of at its
	 * deadline, so the threads waiting for it end. */
	if (pthread_mutex_trylock(&a->tpm_lock) == 0)
		pthread_mutex_unlock(&a->tpm_lock);
	else if (a->tpm != NULL)
		tpm_abort(a->tpm);
	renew_stop(); /* its tpm-key child talks to this agent: it ends first */
	gpg_server_stop(); /* its threads use the keystore: they end first */
	softkeys_clear();  /* wipes the software keys */
	restrict_tpm_clear();
	/* So do jobs; those still prompting find a->quit. A TPM worker stuck in the TPM
	 * still uses the TPM and the keystore: they are left to the exit. */
	if (pin_stop(a) == 0) {
		pthread_mutex_lock(&a->lock); /* and must not find the keystore half freed */
		certstore_close(a->certs);
		keystore_close(a->ks);
		/* Without TPM2_Shutdown a TPM we stop (or own without a resource manager)
		 * counts the next start as a dictionary attack once a PIN was used
		 * (REFERENCE §8). */
		tpm_set_orderly_shutdown(a->tpm);
		tpm_close(a->tpm);
	} else {
		log_warn("the TPM is not answering: exiting without closing the connection");
		pthread_mutex_lock(&a->lock);
	}
	if (a->simulator)
		simulator_stop(&simulator);
	if (listen_fd >= 0) {
		close(listen_fd);
		if (ssh_socket_owned) /* an inherited socket is systemd's: it stays */
			unlink(a->socket_path);
	}
	if (a->socket_dir[0] != '\0')
		rmdir(a->socket_dir);
	if (a->lock_hash != NULL)
		sodium_free(a->lock_hash);
	if (ephemeral[0] != '\0')
		nftw(ephemeral, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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

/* TPM_AGENT_SIMULATOR=ephemeral: the sandbox may not remove the ephemeral dir (its
 * parent is not ours), so a process forked before it, holding nothing but a pipe,
 * removes it once the agent is gone (the pipe's write end closes with the agent). */
static void ephemeral_reaper(void)
{
	int p[2];
	pid_t pid;
	char c;

	if (ephemeral[0] == '\0' || pipe2(p, O_CLOEXEC) != 0)
		return;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid > 0) {
		close(p[0]); /* p[1] stays open until the agent exits */
		return;
	}
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	detach_stdio(); /* an eval `tpm-agent -s` must not wait for us */
	if (dup2(p[0], 3) != 3)
		_exit(1);
	closefrom(4);
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	nftw(ephemeral, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	_exit(0);
}

/* Runs the agent in this process. ready_fd (or -1) gets "OK" or the error once set up. */
static int agent_main(const struct options *o, int ready_fd)
{
	struct errmsg e = { "" };
	int listen_fd = -1, r;

	agent.pid = getpid();
	if (ready_fd >= 0 && !o->debug)
		log_init("tpm-agent", 0, (enum log_level)agent.settings.log_level);
	ephemeral_reaper();
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
	datadir_lock_note(&agent);
	if (ready_fd >= 0) {
		if (write(ready_fd, "OK", 2) != 2)
			log_warn("cannot report readiness to the parent");
		close(ready_fd);
		if (!o->debug)
			detach_stdio();
	} else {
		print_startup_env(o, &agent);
	}
	if (renew_start(&agent, &e) != 0)
		log_warn("%s: enrolled certificates are not renewed", e.text);
	r = server_run(&agent, listen_fd);
	log_info("shutting down");
	agent_cleanup(&agent, listen_fd);
	return r == 0 ? 0 : 1;
}

/* COMMAND mode: the parent becomes COMMAND with the agent's environment (as in
 * ssh-agent); the agent, its child, ends when it does (PR_SET_PDEATHSIG). */
static int exec_command(const struct options *o, const struct agent *a)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)a->pid);
	if (setenv("SSH_AUTH_SOCK", a->socket_path, 1) != 0 ||
	    setenv("SSH_AGENT_PID", pid, 1) != 0 ||
	    setenv("TPM_AGENT_SOCK", a->socket_path, 1) != 0) {
		perror("tpm-agent: setenv");
		kill(a->pid, SIGTERM);
		return 1;
	}
	execvp(o->command[0], o->command);
	fprintf(stderr, "tpm-agent: cannot run %s: %s\n", o->command[0], strerror(errno));
	kill(a->pid, SIGTERM);
	return 1;
}

/* Forks like ssh-agent: the parent waits until the child serves, prints the
 * environment and exits (or runs COMMAND); the child carries on as the agent. */
static int agent_daemonize(const struct options *o)
{
	pid_t parent = getpid();
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
		if (o->command != NULL &&
		    (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != parent))
			agent.quit = 1; /* COMMAND already gone: start, then stop at once */
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
	if (agent.settings.simulator)
		fprintf(stderr, "tpm-agent: warning: using a private swtpm simulator: keys are NOT "
			"hardware-protected\n");
	if (!agent.settings.encrypt_sessions)
		fprintf(stderr, "tpm-agent: warning: encrypted TPM sessions are off "
			"(--no-encrypt-sessions): PINs and signed digests cross the TPM bus in clear\n");
	if (o->command != NULL)
		return exec_command(o, &agent);
	print_startup_env(o, &agent);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct errmsg e;

	if (parse_options(argc, argv, &o) != 0)
		return 1;
	if (o.kill)
		return kill_agent(&o);
	if (load_settings(&o, &agent.settings, &e) != 0) {
		fprintf(stderr, "tpm-agent: %s\n", e.text);
		return 1;
	}
	if (o.check_config) {
		settings_print(&agent.settings, stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "tpm-agent: libsodium failed to initialise\n");
		return 1;
	}
	harden_process();
	log_init("tpm-agent", 1, (enum log_level)agent.settings.log_level);
	if (sd_sockets_take(&sd, &e) != 0) {
		fprintf(stderr, "tpm-agent: %s\n", e.text);
		return 1;
	}
	if (sd.gpg_fd >= 0)
		agent.settings.gpg = 1; /* an inherited gpg socket is the opt-in */
	if (resolve_paths(&o, &agent, &e) != 0) {
		fprintf(stderr, "tpm-agent: %s\n", e.text);
		return 1;
	}
	if (o.foreground)
		return agent_main(&o, -1);
	return agent_daemonize(&o);
}
