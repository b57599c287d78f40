/* daemon_renew: the renewal thread and the enrolled@tpm-agent record (daemon_renew.h). */
#include "daemon_renew.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon_ops.h"
#include "../keystore/log.h"

#define RENEW_SLOTS 64
#define RENEW_RUN_MAX 300 /* seconds a tpm-key enroll may take */

extern char **environ;

struct renew_slot {
	char name[STORE_NAME_MAX];
	time_t last_try, last_ok, next_try;
	unsigned backoff;
	char last_error[256];
};

static struct {
	pthread_t thread;
	int running, stopping;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct agent *a;
	char program[PATH_MAX];
	struct renew_slot slot[RENEW_SLOTS];
	pid_t child;
} rn = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int enroll_path(const struct agent *a, const char *name, char *out, size_t len)
{
	return snprintf(out, len, "%s/enroll%s%s", a->data_dir, name ? "/" : "",
			name ? name : "") < (int)len ? 0 : -1;
}

int ctl_enrolled(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], arg[1024], path[PATH_MAX + 64], text[8192];
	size_t used = 0;
	uint32_t n;

	(void)out;
	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 || sshbuf_get_u32(body, &n) != 0 ||
	    n > RENEW_ARGS_MAX)
		return errmsg_set(e, "enrolled: malformed request");
	if (keystore_find_name(a->ks, name) == NULL)
		return errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
	for (uint32_t i = 0; i < n; i++) {
		if (sshbuf_get_cstring(body, arg, sizeof(arg)) != 0 || strchr(arg, '\n') != NULL)
			return errmsg_set(e, "enrolled: malformed argument");
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s\n", arg);
		if (used >= sizeof(text))
			return errmsg_set(e, "enrolled: arguments too long");
	}
	if (enroll_path(a, NULL, path, sizeof(path)) != 0 ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST))
		return errmsg_set(e, "cannot create %s: %s", path, strerror(errno));
	if (enroll_path(a, name, path, sizeof(path)) != 0 ||
	    store_write_atomic(path, text, used, 0600, e) != 0)
		return -1;
	log_info("key '%s' enrolled: its certificate is renewed in its last %u%% of validity",
		 name, a->settings.renew_at);
	return 0;
}

static struct renew_slot *slot_of(const char *name)
{
	struct renew_slot *free_slot = NULL;

	for (size_t i = 0; i < RENEW_SLOTS; i++) {
		if (strcmp(rn.slot[i].name, name) == 0)
			return &rn.slot[i];
		if (free_slot == NULL && rn.slot[i].name[0] == '\0')
			free_slot = &rn.slot[i];
	}
	if (free_slot != NULL)
		snprintf(free_slot->name, sizeof(free_slot->name), "%.*s",
			 (int)sizeof(free_slot->name) - 1, name);
	return free_slot;
}

/* The moment the certificate enters its last renew-at per cent; 0 when it never does. */
static time_t renew_point(uint64_t after, uint64_t before, unsigned pct)
{
	if (pct == 0 || before == UINT64_MAX || before <= after || before > (uint64_t)INT64_MAX)
		return 0;
	return (time_t)(before - (before - after) * pct / 100);
}

/* Reads the recorded arguments into argv (after "tpm-key enroll NAME"). */
static int read_args(struct agent *a, const char *name, char *buf, size_t cap, char **argv,
		     size_t max)
{
	char path[PATH_MAX + 64];
	size_t n = 0;
	ssize_t len;
	int fd;

	if (enroll_path(a, name, path, sizeof(path)) != 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	len = read(fd, buf, cap - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	for (char *save = NULL, *p = strtok_r(buf, "\n", &save); p && n + 1 < max;
	     p = strtok_r(NULL, "\n", &save))
		argv[n++] = p;
	argv[n] = NULL;
	return (int)n;
}

/* The environment of the child: ours, with SSH_AUTH_SOCK this agent's socket. */
static char **child_env(const struct agent *a, char *sock)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SSH_AUTH_SOCK=", 14) != 0 &&
		    strncmp(environ[i], "TPM_AGENT_SOCK=", 15) != 0)
			env[k++] = environ[i];
	snprintf(sock, PATH_MAX + 32, "SSH_AUTH_SOCK=%s", a->socket_path);
	env[k++] = sock;
	env[k] = NULL;
	return env;
}

/* Runs tpm-key enroll NAME ARGS...; its last output line into msg. 0 on success. */
static int run_enroll(struct agent *a, const char *name, char *msg, size_t msg_len)
{
	char buf[8192], out[2048] = "", sock[PATH_MAX + 32];
	char *argv[RENEW_ARGS_MAX + 4] = { "tpm-key", "enroll", (char *)name };
	char **env = child_env(a, sock);
	size_t used = 0;
	int p[2], status = -1, nargs;
	time_t end = time(NULL) + RENEW_RUN_MAX;
	pid_t pid;

	nargs = read_args(a, name, buf, sizeof(buf), argv + 3, RENEW_ARGS_MAX);
	if (env == NULL || nargs < 0 || pipe2(p, O_CLOEXEC) != 0) {
		free(env);
		snprintf(msg, msg_len, "cannot read the enrolment record of '%.64s'", name);
		return -1;
	}
	if ((pid = fork()) == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve(rn.program, argv, env);
		_exit(127);
	}
	free(env);
	close(p[1]);
	pthread_mutex_lock(&rn.mu);
	rn.child = pid;
	pthread_mutex_unlock(&rn.mu);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (pid < 0 || poll(&pfd, 1, 200) < 0 || time(NULL) > end ||
		    __atomic_load_n(&rn.stopping, __ATOMIC_RELAXED))
			break; /* the agent stops within its 2 s: the child gets SIGTERM below */
		if (pfd.revents == 0)
			continue;
		if ((r = read(p[0], out + used, sizeof(out) - 1 - used)) <= 0)
			break;
		used += (size_t)r;
		if (used == sizeof(out) - 1)
			used = 0; /* keep the tail */
	}
	out[used] = '\0';
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGTERM); /* no-op when it has ended */
		waitpid(pid, &status, 0);
	}
	pthread_mutex_lock(&rn.mu);
	rn.child = 0;
	pthread_mutex_unlock(&rn.mu);
	while (used > 0 && out[used - 1] == '\n')
		out[--used] = '\0';
	if (used > 0)
		snprintf(msg, msg_len, "%s", strrchr(out, '\n') ? strrchr(out, '\n') + 1 : out);
	else if (pid > 0 && WIFEXITED(status))
		snprintf(msg, msg_len, "%.160s exited %d without a word", rn.program, WEXITSTATUS(status));
	else
		snprintf(msg, msg_len, "%.160s: %s", rn.program, pid < 0 ? strerror(errno) :
			 "killed (did not finish in time?)");
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void renew_one(struct agent *a, const char *name, time_t now)
{
	struct cert_entry *c;
	struct renew_slot *s;
	uint64_t after = 0, before = 0, serial = 0;
	time_t due;
	char msg[256];

	pthread_mutex_lock(&a->lock);
	if ((c = certstore_find_key(a->certs, name)) != NULL) {
		after = c->cert.valid_after;
		before = c->cert.valid_before;
		serial = c->cert.serial;
	}
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_lock(&rn.mu);
	s = slot_of(name);
	due = renew_point(after, before, a->settings.renew_at);
	if (c == NULL || s == NULL || due == 0 || now < due || now < s->next_try) {
		pthread_mutex_unlock(&rn.mu);
		return;
	}
	s->last_try = now;
	pthread_mutex_unlock(&rn.mu);
	log_info("renewing the certificate of key '%s' (serial %llu)", name,
		 (unsigned long long)serial);
	int r = run_enroll(a, name, msg, sizeof(msg));
	pthread_mutex_lock(&rn.mu);
	if (r == 0) {
		s->last_ok = time(NULL);
		s->backoff = 0;
		s->next_try = 0;
		s->last_error[0] = '\0';
		log_info("renewed the certificate of key '%s': %s", name, msg);
	} else {
		s->backoff = s->backoff == 0 ? a->settings.renew_check :
			     s->backoff * 2 > RENEW_BACKOFF_MAX ? RENEW_BACKOFF_MAX : s->backoff * 2;
		s->next_try = time(NULL) + (time_t)s->backoff;
		snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
		log_warn("renewal of key '%s' failed (retry in %u s): %s", name, s->backoff, msg);
	}
	pthread_mutex_unlock(&rn.mu);
}

static void renew_pass(struct agent *a)
{
	char dir[PATH_MAX + 16];
	struct dirent *d;
	DIR *dp;

	if (enroll_path(a, NULL, dir, sizeof(dir)) != 0 || (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL && !__atomic_load_n(&rn.stopping, __ATOMIC_RELAXED))
		if (store_name_valid(d->d_name))
			renew_one(a, d->d_name, time(NULL));
	closedir(dp);
}

static void *renew_main(void *arg)
{
	struct agent *a = arg;

	pthread_mutex_lock(&rn.mu);
	while (!rn.stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += a->settings.renew_check;
		pthread_cond_timedwait(&rn.cond, &rn.mu, &ts);
		if (rn.stopping)
			break;
		pthread_mutex_unlock(&rn.mu);
		renew_pass(a);
		pthread_mutex_lock(&rn.mu);
	}
	pthread_mutex_unlock(&rn.mu);
	return NULL;
}

int renew_start(struct agent *a, struct errmsg *e)
{
	const char *env = getenv("TPM_AGENT_TPM_KEY");
	char self[PATH_MAX];
	ssize_t n;

	if (a->settings.renew_at == 0)
		return 0;
	if (env != NULL && env[0] == '/')
		snprintf(rn.program, sizeof(rn.program), "%s", env);
	else if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(rn.program, sizeof(rn.program), "%.*s/tpm-key", PATH_MAX - 16, self);
	}
	rn.a = a;
	if (pthread_create(&rn.thread, NULL, renew_main, a) != 0)
		return errmsg_set(e, "cannot start the renewal thread");
	rn.running = 1;
	return 0;
}

void renew_stop(void)
{
	if (!rn.running)
		return;
	pthread_mutex_lock(&rn.mu);
	rn.stopping = 1;
	if (rn.child > 0)
		kill(rn.child, SIGTERM);
	pthread_cond_signal(&rn.cond);
	pthread_mutex_unlock(&rn.mu);
	pthread_join(rn.thread, NULL);
	rn.running = 0;
}

static void fmt_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, len, "never");
	else
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void renew_status(struct agent *a, void (*add)(void *ctx, const char *label,
					       const char *value), void *ctx)
{
	char label[STORE_NAME_MAX + 32], value[700], exp[32], at[32], ok[32], next[32];
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < certstore_count(a->certs); i++) {
		const struct cert_entry *c = certstore_get(a->certs, i);
		const struct renew_slot *s;
		time_t due = renew_point(c->cert.valid_after, c->cert.valid_before,
					 a->settings.renew_at);
		int enrolled = enroll_path(a, c->key_name, path, sizeof(path)) == 0 &&
			       access(path, F_OK) == 0;

		snprintf(label, sizeof(label), "certificate %s", c->key_name);
		if (c->cert.valid_before == UINT64_MAX)
			snprintf(exp, sizeof(exp), "never");
		else
			fmt_time((time_t)c->cert.valid_before, exp, sizeof(exp));
		fmt_time(due, at, sizeof(at));
		pthread_mutex_lock(&rn.mu);
		s = NULL;
		for (size_t k = 0; k < RENEW_SLOTS; k++)
			if (strcmp(rn.slot[k].name, c->key_name) == 0)
				s = &rn.slot[k];
		fmt_time(s ? s->last_ok : 0, ok, sizeof(ok));
		fmt_time(s ? s->next_try : 0, next, sizeof(next));
		if (!enrolled)
			snprintf(value, sizeof(value), "serial %llu, expires %s; not enrolled (no "
				 "renewal)", (unsigned long long)c->cert.serial, exp);
		else
			snprintf(value, sizeof(value), "serial %llu, expires %s; renews from %s; "
				 "last renewal %s%s%s%s%s", (unsigned long long)c->cert.serial, exp,
				 at, ok, s && s->last_error[0] ? "; last attempt failed: " : "",
				 s && s->last_error[0] ? s->last_error : "",
				 s && s->next_try ? "; retry at " : "", s && s->next_try ? next : "");
		pthread_mutex_unlock(&rn.mu);
		add(ctx, label, value);
	}
}
