/* pinentry: one Assuan dialogue with a pinentry child per call (GETPIN or CONFIRM),
 * with every libassuan buffer in sodium memory and a hard deadline on the whole talk. */
#include "pinentry.h"
#include "pinentry_internal.h"

#include <assuan.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const pin_env_names[PE_COUNT] = {
	"GPG_TTY", "TERM", "DISPLAY", "WAYLAND_DISPLAY", "LC_CTYPE", "LC_MESSAGES",
	"XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS",
};

typedef gpg_error_t (*dialog_fn)(struct session *s, const struct pinentry_prompt *p);

/* ---- secure memory for libassuan ------------------------------------------- */

/* sodium_free needs no size but realloc does, so each block carries its size in a
 * 16-byte prefix. Rounding the total to 16 keeps the user pointer 16-aligned (sodium
 * puts the end of the block against its guard page). */
#define SECURE_PREFIX 16

static void *secure_malloc(size_t n)
{
	unsigned char *base;
	size_t total;

	if (n > SIZE_MAX - 2 * SECURE_PREFIX)
		return NULL;
	total = (n + SECURE_PREFIX + 15) & ~(size_t)15;
	base = sodium_malloc(total);
	if (base == NULL)
		return NULL;
	memcpy(base, &n, sizeof(n));
	return base + SECURE_PREFIX;
}

static void secure_free(void *p)
{
	if (p != NULL)
		sodium_free((unsigned char *)p - SECURE_PREFIX); /* wipes, then unmaps */
}

static void *secure_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return secure_malloc(n);
	memcpy(&old, (unsigned char *)p - SECURE_PREFIX, sizeof(old));
	q = secure_malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	secure_free(p);
	return q;
}

static struct assuan_malloc_hooks secure_hooks = {
	secure_malloc, secure_realloc, secure_free
};

/* ---- deadline-aware I/O hooks ------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready or the dialogue's deadline passes (sets timed_out). */
static int wait_ready(struct session *s, int fd, short events)
{
	for (;;) {
		int64_t left = s->deadline_ms - now_ms();
		struct pollfd pfd = { .fd = fd, .events = events };
		int r;

		if (left <= 0 || s->timed_out) {
			s->timed_out = 1;
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 0; /* readable, writable, or hung up: read/write tells which */
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static ssize_t hook_read(assuan_context_t ctx, assuan_fd_t fd, void *buf, size_t size)
{
	struct session *s = assuan_get_pointer(ctx);
	ssize_t n;

	if (wait_ready(s, fd, POLLIN) < 0)
		return -1;
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		s->peer_gone = 1;
	return n;
}

static ssize_t hook_write(assuan_context_t ctx, assuan_fd_t fd, const void *buf,
			  size_t size)
{
	struct session *s = assuan_get_pointer(ctx);
	ssize_t n;

	if (wait_ready(s, fd, POLLOUT) < 0)
		return -1;
	do
		n = write(fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		s->peer_gone = 1;
	return n;
}

/* Records the child's pid: libassuan forgets it when the greeting fails, and we
 * must still reap the child. */
static int hook_spawn(assuan_context_t ctx, pid_t *r_pid, const char *name,
		      const char **argv, assuan_fd_t fd_in, assuan_fd_t fd_out,
		      assuan_fd_t *fd_child_list, void (*atfork)(void *, int),
		      void *atforkvalue, unsigned int flags)
{
	struct session *s = assuan_get_pointer(ctx);
	int rc = __assuan_spawn(ctx, r_pid, name, argv, fd_in, fd_out, fd_child_list,
				atfork, atforkvalue, flags);

	if (rc == 0)
		s->pid = *r_pid;
	return rc;
}

/* libassuan's own waitpid would block on a hung child; session_reap does it. */
static pid_t hook_waitpid(assuan_context_t ctx, pid_t pid, int nowait, int *status,
			  int options)
{
	(void)ctx; (void)pid; (void)nowait; (void)status; (void)options;
	return 0;
}

static struct assuan_system_hooks io_hooks = {
	.version = ASSUAN_SYSTEM_HOOKS_VERSION,
	.usleep = __assuan_usleep,
	.pipe = __assuan_pipe,
	.close = __assuan_close,
	.read = hook_read,
	.write = hook_write,
	.recvmsg = __assuan_recvmsg,
	.sendmsg = __assuan_sendmsg,
	.spawn = hook_spawn,
	.waitpid = hook_waitpid,
	.socketpair = __assuan_socketpair,
	.socket = __assuan_socket,
	.connect = __assuan_connect,
};

/* Nothing libassuan would log may reach the agent's log (it could hold the PIN). */
static int quiet_log(assuan_context_t ctx, void *hook, unsigned int cat, const char *msg)
{
	(void)ctx; (void)hook; (void)cat; (void)msg;
	return 0;
}

/* ---- Assuan commands ------------------------------------------------------------ */

size_t pinentry_escape(char *out, size_t len, const char *text)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t o = 0;

	if (len == 0)
		return 0;
	while (*t != '\0') {
		size_t seq = 1;

		if (*t == '%' || *t < 0x20 || *t == 0x7f) {
			if (o + 3 >= len)
				break;
			o += (size_t)snprintf(out + o, len - o, "%%%02X", *t++);
			continue;
		}
		if (*t >= 0xc0) /* keep a UTF-8 character whole or leave it out */
			seq = *t >= 0xf0 ? 4 : *t >= 0xe0 ? 3 : 2;
		if (strnlen((const char *)t, seq) < seq || o + seq >= len)
			break;
		memcpy(out + o, t, seq);
		o += seq;
		t += seq;
	}
	out[o] = '\0';
	return o;
}

static void note_step(struct session *s, const char *line)
{
	size_t n = strcspn(line, " ");

	if (n >= sizeof(s->step))
		n = sizeof(s->step) - 1;
	memcpy(s->step, line, n);
	s->step[n] = '\0';
}

static gpg_error_t transact(struct session *s, const char *line,
			    gpg_error_t (*data_cb)(void *, const void *, size_t),
			    gpg_error_t (*status_cb)(void *, const char *))
{
	note_step(s, line);
	return assuan_transact(s->ctx, line, data_cb, s, NULL, NULL, status_cb, s);
}

/* Sends "CMD <escaped text>"; a NULL text sends nothing. */
static gpg_error_t send_text(struct session *s, const char *cmd, const char *text)
{
	char line[LINE_MAX_BYTES];
	size_t n;

	if (text == NULL)
		return 0;
	n = (size_t)snprintf(line, sizeof(line), "%s ", cmd);
	pinentry_escape(line + n, sizeof(line) - n, text);
	return transact(s, line, NULL, NULL);
}

/* For commands an older or simpler pinentry may not know: an ERR reply is fine,
 * a dead or silent pinentry is not. */
static gpg_error_t optional(struct session *s, gpg_error_t err)
{
	return (s->timed_out || s->peer_gone) ? err : 0;
}

static int has_control_chars(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

static gpg_error_t send_option(struct session *s, const char *name, const char *value)
{
	char line[LINE_MAX_BYTES];

	if (value == NULL || *value == '\0' || has_control_chars(value))
		return 0;
	if (snprintf(line, sizeof(line), "OPTION %s=%s", name, value) >= (int)sizeof(line))
		return 0;
	return optional(s, transact(s, line, NULL, NULL));
}

static gpg_error_t send_options(struct session *s, const struct pinentry_env *env)
{
	char line[32];
	gpg_error_t err;

	if (env != NULL) {
		if ((err = send_option(s, "ttyname", env->ttyname)) ||
		    (err = send_option(s, "ttytype", env->ttytype)) ||
		    (err = send_option(s, "lc-ctype", env->lc_ctype)) ||
		    (err = send_option(s, "lc-messages", env->lc_messages)))
			return err;
	}
	/* Let pinentry close its own dialog (restoring the terminal) just before we
	 * would have to kill it. */
	snprintf(line, sizeof(line), "SETTIMEOUT %d", s->timeout_s > 2 ? s->timeout_s - 2 : 1);
	return optional(s, transact(s, line, NULL, NULL));
}

static gpg_error_t send_texts(struct session *s, const struct pinentry_prompt *p)
{
	gpg_error_t err;

	if (p->keyinfo != NULL && (err = optional(s, send_text(s, "SETKEYINFO", p->keyinfo))))
		return err;
	if ((err = send_text(s, "SETTITLE", p->title)) ||
	    (err = send_text(s, "SETDESC", p->desc)) ||
	    (err = send_text(s, "SETPROMPT", p->prompt)) ||
	    (err = send_text(s, "SETERROR", p->error)))
		return err;
	return 0;
}

/* ---- GETPIN ------------------------------------------------------------------------ */

/* libassuan hands over the D line already percent-decoded, in place, in its own
 * sodium-backed line buffer; this copies it straight into our sodium buffer. */
static gpg_error_t collect_pin(void *opaque, const void *buf, size_t len)
{
	struct session *s = opaque;

	if (len > PINENTRY_PIN_MAX - s->pin_len) {
		s->pin_too_long = 1;
		return gpg_error(GPG_ERR_TOO_LARGE);
	}
	memcpy(s->pin + s->pin_len, buf, len);
	s->pin_len += len;
	s->pin[s->pin_len] = '\0';
	return 0;
}

static gpg_error_t note_status(void *opaque, const char *line)
{
	struct session *s = opaque;

	if (strncmp(line, "PIN_REPEATED", 12) == 0 && (line[12] == '\0' || line[12] == ' '))
		s->pin_repeated = 1;
	return 0;
}

/* One GETPIN into a fresh s->pin (a previous one must have been taken away). */
static gpg_error_t read_pin(struct session *s)
{
	gpg_error_t err;

	s->pin = sodium_malloc(PINENTRY_PIN_MAX + 1);
	if (s->pin == NULL)
		return gpg_error(GPG_ERR_ENOMEM);
	s->pin_len = 0;
	s->pin[0] = '\0';
	s->pin_repeated = 0;
	assuan_begin_confidential(s->ctx);
	err = transact(s, "GETPIN", collect_pin, note_status);
	assuan_end_confidential(s->ctx);
	return err;
}

static gpg_error_t dialog_getpin(struct session *s, const struct pinentry_prompt *p)
{
	gpg_error_t err = send_texts(s, p);

	return err ? err : read_pin(s);
}

/* The fallback when pinentry cannot repeat by itself: a second GETPIN, compared in
 * constant time with the first. */
static gpg_error_t ask_again(struct session *s, const struct pinentry_prompt *p)
{
	char *first = s->pin, desc[LINE_MAX_BYTES];
	size_t first_len = s->pin_len;
	gpg_error_t err;

	s->pin = NULL;
	snprintf(desc, sizeof(desc), "%s%sPlease enter the same PIN again.",
		 p->desc ? p->desc : "", p->desc ? "\n\n" : "");
	err = send_text(s, "SETDESC", desc);
	if (!err)
		err = send_text(s, "SETPROMPT", p->repeat_prompt ? p->repeat_prompt : "Repeat:");
	if (!err)
		err = read_pin(s);
	if (!err && (s->pin_len != first_len ||
		     sodium_memcmp(s->pin, first, first_len) != 0)) {
		s->pins_differ = 1;
		err = gpg_error(GPG_ERR_BAD_PIN);
	}
	sodium_free(first);
	return err;
}

static gpg_error_t dialog_getpin_new(struct session *s, const struct pinentry_prompt *p)
{
	gpg_error_t err = send_texts(s, p);

	if (!err)
		err = optional(s, send_text(s, "SETREPEAT",
					    p->repeat_prompt ? p->repeat_prompt : "Repeat:"));
	if (!err)
		err = read_pin(s);
	if (err || s->pin_repeated)
		return err;
	return ask_again(s, p);
}

static gpg_error_t dialog_confirm(struct session *s, const struct pinentry_prompt *p)
{
	gpg_error_t err;

	if ((err = send_texts(s, p)) ||
	    (err = send_text(s, "SETOK", p->ok)) ||
	    (err = send_text(s, "SETNOTOK", p->notok)))
		return err;
	return transact(s, "CONFIRM", NULL, NULL);
}

/* ---- session lifecycle ----------------------------------------------------------- */

static gpg_error_t session_connect(struct session *s)
{
	const char *argv[] = { s->program, NULL };
	gpg_error_t err;

	err = assuan_new_ext(&s->ctx, GPG_ERR_SOURCE_USER_1, &secure_hooks, quiet_log, NULL);
	if (err) {
		s->ctx = NULL;
		return err;
	}
	assuan_set_pointer(s->ctx, s);
	assuan_ctx_set_system_hooks(s->ctx, &io_hooks);
	assuan_set_flag(s->ctx, ASSUAN_NO_WAITPID, 1);
	assuan_set_flag(s->ctx, ASSUAN_NO_LOGGING, 1);
	note_step(s, "startup");
	/* Reads the "OK" greeting too, under the same deadline. */
	return assuan_pipe_connect(s->ctx, s->path, argv, NULL, child_setup, s, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits for the child without ever blocking on a stuck one: a killed or timed-out
 * pinentry is killed at once, a healthy one gets EXIT_GRACE_MS to exit. */
static void session_reap(struct session *s)
{
	int waited = 0;
	pid_t r;

	if (s->pid <= 0)
		return;
	if (s->timed_out)
		kill(s->pid, SIGKILL);
	for (;;) {
		r = waitpid(s->pid, &s->wait_status, WNOHANG);
		if (r == s->pid || (r < 0 && errno != EINTR))
			break; /* reaped, or someone else reaped it (ECHILD) */
		if (waited >= EXIT_GRACE_MS) {
			kill(s->pid, SIGKILL);
			while (waitpid(s->pid, &s->wait_status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sleep_ms(10);
		waited += 10;
	}
	s->reaped = (r == s->pid);
	s->pid = 0;
}

/* Says BYE to a healthy pinentry and releases the context, briefly: the outcome is
 * already known, so nothing here (the pinentry leaving before libassuan's own
 * goodbye write, or not answering) may change it. session_reap deals with a
 * pinentry that does not leave. */
static void session_close(struct session *s)
{
	int timed_out = s->timed_out, peer_gone = s->peer_gone;
	int64_t soon = now_ms() + 1000;

	if (s->ctx != NULL) {
		if (soon < s->deadline_ms)
			s->deadline_ms = soon;
		if (!timed_out && !peer_gone && s->pid > 0)
			assuan_transact(s->ctx, "BYE", NULL, NULL, NULL, NULL, NULL, NULL);
		assuan_release(s->ctx); /* closes the pipes; sodium_free wipes its buffers */
		s->ctx = NULL;
	}
	s->timed_out = timed_out;
	s->peer_gone = peer_gone;
	session_reap(s);
}

static void describe_exit(const struct session *s, char *out, size_t len)
{
	if (!s->reaped)
		snprintf(out, len, "it exited");
	else if (WIFEXITED(s->wait_status))
		snprintf(out, len, "exit status %d", WEXITSTATUS(s->wait_status));
	else if (WIFSIGNALED(s->wait_status))
		snprintf(out, len, "killed by signal %d", WTERMSIG(s->wait_status));
	else
		snprintf(out, len, "it stopped");
}

static int is_io_failure(gpg_error_t err)
{
	switch (gpg_err_code(err)) {
	case GPG_ERR_EOF:
	case GPG_ERR_ASS_READ_ERROR:
	case GPG_ERR_ASS_WRITE_ERROR:
	case GPG_ERR_ASS_CONNECT_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Turns the dialogue's outcome into a return code and a message naming the cause. */
static int session_result(const struct session *s, gpg_error_t err, struct errmsg *e)
{
	char how[64];

	if (!err)
		return PINENTRY_OK;
	if (s->timed_out) {
		errmsg_set(e, "pinentry \"%s\" did not answer within %d s (at %s); stopped it",
			   s->program, s->timeout_s, s->step);
		return PINENTRY_E_TIMEOUT;
	}
	if (s->pins_differ) {
		errmsg_set(e, "the PINs do not match");
		return PINENTRY_E_MISMATCH;
	}
	if (s->pin_too_long)
		return errmsg_set(e, "the PIN is longer than %d bytes", PINENTRY_PIN_MAX);
	if (s->peer_gone || is_io_failure(err)) {
		describe_exit(s, how, sizeof(how));
		return errmsg_set(e, "pinentry \"%s\" ended without answering (%s, at %s)",
				  s->program, how, s->step);
	}
	switch (gpg_err_code(err)) {
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
		errmsg_set(e, "cancelled by the user");
		return PINENTRY_E_CANCELED;
	case GPG_ERR_NOT_CONFIRMED:
		errmsg_set(e, "not confirmed by the user");
		return PINENTRY_E_NOT_CONFIRMED;
	case GPG_ERR_TIMEOUT:
		errmsg_set(e, "no answer from the user within %d s", s->timeout_s);
		return PINENTRY_E_TIMEOUT;
	default:
		return errmsg_set(e, "pinentry \"%s\" refused %s: %s", s->program, s->step,
				  gpg_strerror(err));
	}
}

static int session_prepare(struct session *s, const char *program,
			   const struct pinentry_env *env, const struct pinentry_prompt *p,
			   struct errmsg *e)
{
	memset(s, 0, sizeof(*s));
	s->program = program != NULL ? program : PINENTRY_DEFAULT_PROGRAM;
	s->timeout_s = p->timeout_s > 0 ? p->timeout_s : PINENTRY_DEFAULT_TIMEOUT_S;
	if (sodium_init() < 0)
		return errmsg_set(e, "libsodium failed to initialise");
	if (resolve_program(s->program, s->path, sizeof(s->path)) < 0)
		return errmsg_set(e, "pinentry program \"%s\" not found or not executable: "
				  "install one (apt-get install pinentry-curses) or name "
				  "another with --pinentry PROGRAM", s->program);
	if (build_envp(s, env) < 0) {
		free_envp(s);
		return errmsg_set(e, "out of memory preparing the pinentry environment");
	}
	return 0;
}

/* Spawns the program, runs one dialogue, says BYE and reaps the child. On success
 * s->pin (if the dialogue read one) is left for the caller. */
static int run_dialogue(struct session *s, const char *program,
			const struct pinentry_env *env, const struct pinentry_prompt *p,
			dialog_fn dialog, struct errmsg *e)
{
	gpg_error_t err;
	int rc;

	if (p == NULL)
		return errmsg_set(e, "pinentry: no prompt given");
	if (session_prepare(s, program, env, p, e) < 0)
		return PINENTRY_E_FAIL;
	s->deadline_ms = now_ms() + (int64_t)s->timeout_s * 1000;
	err = session_connect(s);
	if (!err)
		err = send_options(s, env);
	if (!err)
		err = dialog(s, p);
	session_close(s);
	free_envp(s);
	rc = session_result(s, err, e);
	if (rc != PINENTRY_OK && s->pin != NULL) {
		sodium_free(s->pin);
		s->pin = NULL;
	}
	return rc;
}

/* ---- a notice left open while the agent works (FIDO touch) ---------------------- */

struct pinentry_notice {
	struct session s;
};

struct pinentry_notice *pinentry_notice_start(const char *program,
					      const struct pinentry_env *env,
					      const struct pinentry_prompt *p, struct errmsg *e)
{
	struct pinentry_notice *n = calloc(1, sizeof(*n));
	gpg_error_t err;

	if (n == NULL) {
		errmsg_set(e, "out of memory for a pinentry notice");
		return NULL;
	}
	if (session_prepare(&n->s, program, env, p, e) < 0) {
		free(n);
		return NULL;
	}
	n->s.deadline_ms = now_ms() + (int64_t)n->s.timeout_s * 1000;
	err = session_connect(&n->s);
	if (!err)
		err = send_options(&n->s, env);
	if (!err)
		err = send_texts(&n->s, p);
	if (!err) /* no answer awaited: the notice stays up until pinentry_notice_end */
		err = assuan_write_line(n->s.ctx, "MESSAGE");
	if (err) {
		session_close(&n->s);
		free_envp(&n->s);
		session_result(&n->s, err, e);
		free(n);
		return NULL;
	}
	return n;
}

void pinentry_notice_end(struct pinentry_notice *n)
{
	if (n == NULL)
		return;
	if (n->s.pid > 0)
		kill(n->s.pid, SIGTERM);
	n->s.timed_out = 1; /* no BYE; reap kills at once what SIGTERM left */
	session_close(&n->s);
	free_envp(&n->s);
	free(n);
}

static int getpin_with(dialog_fn dialog, const char *program,
		       const struct pinentry_env *env, const struct pinentry_prompt *p,
		       char **pin, size_t *pin_len, struct errmsg *e)
{
	struct session s;
	int rc;

	*pin = NULL;
	*pin_len = 0;
	rc = run_dialogue(&s, program, env, p, dialog, e);
	if (rc == PINENTRY_OK) {
		*pin = s.pin;
		*pin_len = s.pin_len;
	}
	return rc;
}

int pinentry_getpin(const char *program, const struct pinentry_env *env,
		    const struct pinentry_prompt *p, char **pin, size_t *pin_len,
		    struct errmsg *e)
{
	return getpin_with(dialog_getpin, program, env, p, pin, pin_len, e);
}

int pinentry_getpin_new(const char *program, const struct pinentry_env *env,
			const struct pinentry_prompt *p, char **pin, size_t *pin_len,
			struct errmsg *e)
{
	return getpin_with(dialog_getpin_new, program, env, p, pin, pin_len, e);
}

int pinentry_confirm(const char *program, const struct pinentry_env *env,
		     const struct pinentry_prompt *p, struct errmsg *e)
{
	struct session s;

	return run_dialogue(&s, program, env, p, dialog_confirm, e);
}
