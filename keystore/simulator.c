/* simulator: runs a private swtpm (not daemonised, so we own its pid) on a free
 * loopback port pair with its state in a directory of ours, and stops it again. */
#include "simulator.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SIM_START_TRIES   5     /* port races: another program may grab our pair */
#define SIM_WAIT_MS       5000  /* for swtpm to accept connections */
#define SIM_STOP_MS       2000  /* grace period between SIGTERM and SIGKILL */
#define SIM_POLL_MS       20

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* mkdir -p, new components 0700. */
static int make_dirs(const char *path, struct errmsg *e)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);
	struct stat st;

	if (len == 0 || len >= sizeof(buf))
		return errmsg_set(e, "simulator: bad state directory '%s'", path);
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return errmsg_set(e, "simulator: cannot create '%s': %s", buf, strerror(errno));
		buf[i] = i < len ? '/' : '\0';
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return errmsg_set(e, "simulator: '%s' is not a directory", path);
	return 0;
}

static int bind_loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A port P with P and P+1 both free on 127.0.0.1 (at this moment: swtpm may still
 * lose a race for them, which the caller retries). */
static int pick_port_pair(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int tries, fd, fd2, port;

	for (tries = 0; tries < 50; tries++) {
		if ((fd = bind_loopback(0)) < 0)
			return -1;
		port = getsockname(fd, (struct sockaddr *)&a, &alen) == 0 ? ntohs(a.sin_port) : 0;
		fd2 = port > 0 && port < 65535 ? bind_loopback(port + 1) : -1;
		close(fd);
		if (fd2 >= 0) {
			close(fd2);
			return port;
		}
	}
	return -1;
}

/* In the child: detach from our terminal's signals, die with us, log to the state
 * dir, keep none of our descriptors, exec swtpm. Reports exec's errno on errfd. */
static void child_exec(const struct simulator *s, pid_t parent, int errfd)
{
	char state[PATH_MAX + 16], server[80], ctrl[80], log[PATH_MAX + 16];
	char *argv[] = { "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
			 "--ctrl", ctrl, "--flags", "not-need-init,startup-clear", NULL };
	sigset_t none;
	int fd, err;

	/* Own process group: a ^C meant for the agent must not kill the TPM under it. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* we died before prctl took effect */
		_exit(127);
	/* The agent's blocked or ignored SIGTERM would otherwise outlive exec. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	snprintf(state, sizeof(state), "dir=%s", s->statedir);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", s->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", s->port + 1);
	snprintf(log, sizeof(log), "%s/swtpm.log", s->statedir);
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	/* The agent's sockets must not live on in swtpm; errfd closes on exec too. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		for (fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	execvp(argv[0], argv);
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* Forks swtpm; on exec failure returns its errno (and reaps the child), else 0. */
static int spawn(struct simulator *s, struct errmsg *e)
{
	pid_t parent = getpid();
	int p[2], err = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0)
		return errmsg_set(e, "simulator: pipe: %s", strerror(errno));
	s->pid = fork();
	if (s->pid < 0) {
		close(p[0]);
		close(p[1]);
		return errmsg_set(e, "simulator: fork: %s", strerror(errno));
	}
	if (s->pid == 0)
		child_exec(s, parent, p[1]);
	close(p[1]);
	do
		n = read(p[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(err)) {
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return errmsg_set(e, "simulator: cannot run swtpm: %s (install it: "
				  "apt-get install swtpm)", strerror(err));
	}
	return 0;
}

static int port_accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* 0 once swtpm accepts; 1 if it exited (reaped; worth another port); -1 on timeout. */
static int wait_ready(struct simulator *s, struct errmsg *e)
{
	int waited, status;

	for (waited = 0; waited < SIM_WAIT_MS; waited += SIM_POLL_MS) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			errmsg_set(e, "simulator: swtpm exited at start (status %d); see %s/swtpm.log",
				   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				   s->statedir);
			return 1;
		}
		if (port_accepts(s->port))
			return 0;
		sleep_ms(SIM_POLL_MS);
	}
	simulator_stop(s);
	return errmsg_set(e, "simulator: swtpm did not accept connections on 127.0.0.1:%d "
			  "within %d s; see %s/swtpm.log", s->port, SIM_WAIT_MS / 1000, s->statedir);
}

int simulator_start(const char *statedir, struct simulator *s, struct errmsg *e)
{
	int tries, r = -1;

	memset(s, 0, sizeof(*s));
	if (strlen(statedir) >= sizeof(s->statedir))
		return errmsg_set(e, "simulator: state directory path too long");
	snprintf(s->statedir, sizeof(s->statedir), "%s", statedir);
	if (make_dirs(statedir, e) != 0)
		return -1;
	for (tries = 0; tries < SIM_START_TRIES; tries++) {
		if ((s->port = pick_port_pair()) < 0)
			return errmsg_set(e, "simulator: no free loopback port pair: %s",
					  strerror(errno));
		if (spawn(s, e) != 0)
			return -1;
		if ((r = wait_ready(s, e)) <= 0)
			break;
	}
	if (r != 0)
		return -1;
	snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d", s->port);
	return 0;
}

void simulator_stop(struct simulator *s)
{
	int waited;
	pid_t r;

	if (s == NULL || s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (waited = 0; waited < SIM_STOP_MS; waited += SIM_POLL_MS) {
		r = waitpid(s->pid, NULL, WNOHANG);
		/* ECHILD: someone else reaped it; either way it is gone. */
		if (r == s->pid || (r < 0 && errno != EINTR)) {
			s->pid = 0;
			return;
		}
		sleep_ms(SIM_POLL_MS);
	}
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
}
