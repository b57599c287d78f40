/* daemon_jobs: the job machinery (see daemon_jobs.h): prompting jobs on threads of
 * their own, TPM jobs in order on the TPM worker, each reply back to the event loop
 * through one queue and an eventfd; the TPM lock and the deadline of TPM requests. */
#include "daemon_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../pinentry/pincache.h"
#include "../protocol/agentmsg.h"
#include "daemon_pin.h"
#include "../keystore/log.h"

#define REPLY_MAX (AGENTMSG_MAX + 1024)
#define STOP_WAIT_MS 500 /* at shutdown, for prompts and the TPM worker each */
#define DEADLINE_MARGIN_S 1 /* the agent's deadline is the TPM's own plus this */

struct pin_worker {
	pthread_mutex_t mu;
	pthread_cond_t idle;         /* a prompting job ended */
	int efd;
	int running;                 /* prompting jobs started and not yet posted */
	struct pin_job *done, **done_tail;
	/* the TPM worker */
	pthread_t tpm_thread;
	int tpm_thread_started;
	pthread_cond_t queued;       /* a TPM job was queued, or stop */
	pthread_cond_t tpm_idle;     /* the TPM worker finished a job or ended */
	struct pin_job *queue, **queue_tail;
	struct pin_job *current;     /* the TPM job running now, NULL when none */
	int stopping, tpm_thread_done;
	uint64_t tickets;
	struct job_runners run;
};

/* ---------------------------------------------------------------- the TPM lock */

/* The agent whose TPM lock this thread holds (the wait hooks release a->lock then). */
static __thread struct agent *tpm_holder;

void agent_tpm_lock(struct agent *a)
{
	pthread_mutex_lock(&a->tpm_lock);
	tpm_holder = a;
	pthread_mutex_lock(&a->lock);
}

void agent_tpm_unlock(struct agent *a)
{
	pthread_mutex_unlock(&a->lock);
	tpm_holder = NULL;
	pthread_mutex_unlock(&a->tpm_lock);
}

static void tpm_wait_enter(void *arg)
{
	struct agent *a = arg;

	if (tpm_holder == a)
		pthread_mutex_unlock(&a->lock);
	else
		log_error("internal error: a TPM command from a thread that does not hold the "
			  "TPM lock");
}

static void tpm_wait_leave(void *arg)
{
	struct agent *a = arg;

	if (tpm_holder == a)
		pthread_mutex_lock(&a->lock);
}

void agent_certs_refresh(struct agent *a)
{
	if (tpm_holder == a) {
		certstore_refresh(a->certs);
	} else if (pthread_mutex_trylock(&a->tpm_lock) == 0) { /* never waits: see daemon.h */
		certstore_refresh(a->certs);
		pthread_mutex_unlock(&a->tpm_lock);
	}
}

/* ---------------------------------------------------------------- jobs and replies */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct pin_job *j)
{
	if (j == NULL)
		return;
	if (j->msg != NULL)
		sodium_memzero(j->msg, j->len);
	if (j->reply_fd >= 0)
		close(j->reply_fd);
	free(j->msg);
	pin_env_free(j->env);
	sshbuf_free(j->reply);
	free(j);
}

/* Under w->mu: j's reply goes to the loop. */
static void post_locked(struct pin_worker *w, struct pin_job *j)
{
	uint64_t one = 1;

	j->next = NULL;
	*w->done_tail = j;
	w->done_tail = &j->next;
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("cannot wake the event loop: %s", strerror(errno));
}

static void job_post(struct pin_job *j)
{
	struct pin_worker *w = j->a->worker;

	pthread_mutex_lock(&w->mu);
	post_locked(w, j);
	w->running--;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
}

int pin_event_fd(const struct agent *a)
{
	return a->worker != NULL ? a->worker->efd : -1;
}

int pin_next_reply(struct agent *a, uint64_t *conn_id, uint64_t *ticket,
		   struct sshbuf **reply)
{
	struct pin_worker *w = a->worker;
	struct pin_job *j;
	uint64_t n;

	if (w == NULL)
		return 0;
	if (read(w->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	if ((j = w->done) != NULL) {
		w->done = j->next;
		if (w->done == NULL)
			w->done_tail = &w->done;
	}
	pthread_mutex_unlock(&w->mu);
	if (j == NULL)
		return 0;
	*conn_id = j->client.id;
	*ticket = j->client.ticket;
	*reply = j->reply;
	j->reply = NULL;
	job_free(j);
	return 1;
}

/* The failure a TPM request gets when the TPM does not answer in time. */
static void put_timeout_failure(struct sshbuf *out, int control, unsigned s)
{
	char text[128];
	size_t start;

	sshbuf_reset(out);
	if (!control) {
		agentmsg_put_simple(out, SSH_AGENT_FAILURE);
		return;
	}
	snprintf(text, sizeof(text), "tpm: no answer in %u s (tpm-timeout); the TPM "
		 "connection will be reopened", s);
	start = sshbuf_len(out);
	if (agentmsg_begin(out, SSH_AGENT_EXTENSION_FAILURE) == 0 &&
	    sshbuf_put_cstring(out, text) == 0)
		agentmsg_end(out, start);
}

/* ---------------------------------------------------------------- the TPM worker */

/* Runs j's request again from the start, its handler now on the TPM side
 * (j->client.tpm_ok). 1 when a prompting job took the request over (no reply here). */
static int tpm_job_run(struct pin_job *j)
{
	struct agent *a = j->a;
	int r;

	log_debug("TPM worker: request of pid %d started", (int)j->client.pid);
	agent_tpm_lock(a);
	/* At shutdown nobody reads the reply. */
	r = a->quit ? 0 : a->worker->run.dispatch(a, &j->client, j->msg, j->len, j->reply);
	agent_tpm_unlock(a);
	return r == SSH_DISPATCH_DEFERRED;
}

/* Writes what the client socket takes of j's reply without blocking; the rest, if any,
 * stays in j->reply for the loop. A client that went away just loses it. */
static void send_reply_now(struct pin_job *j)
{
	ssize_t n;

	if (j->reply_fd < 0 || sshbuf_len(j->reply) == 0)
		return;
	n = send(j->reply_fd, sshbuf_ptr(j->reply), sshbuf_len(j->reply),
		 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0) {
		log_debug("TPM worker: %zd of %zu reply bytes sent to pid %d", n,
			  sshbuf_len(j->reply), (int)j->client.pid);
		sshbuf_consume(j->reply, (size_t)n);
	}
}

/* Under w->mu: j will never answer its client (a deadline did): its socket goes now,
 * so a client that hung up is not kept open until the TPM answers. */
static void drop_reply_fd(struct pin_job *j)
{
	if (j->reply_fd >= 0)
		close(j->reply_fd);
	j->reply_fd = -1;
}

static void *tpm_thread(void *arg)
{
	struct agent *a = arg;
	struct pin_worker *w = a->worker;
	sigset_t set;
	int deferred;

	sigfillset(&set); /* signals are the event loop's business */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		struct pin_job *j = w->queue;

		if (j == NULL) {
			pthread_cond_wait(&w->queued, &w->mu);
			continue;
		}
		if ((w->queue = j->next) == NULL)
			w->queue_tail = &w->queue;
		w->current = j;
		pthread_mutex_unlock(&w->mu);
		deferred = tpm_job_run(j);
		pthread_mutex_lock(&w->mu);
		w->current = NULL;
		if (deferred || j->abandoned) {
			job_free(j);
		} else {
			send_reply_now(j); /* under w->mu: the deadline cannot answer it meanwhile */
			post_locked(w, j);
		}
		pthread_cond_broadcast(&w->tpm_idle);
	}
	w->tpm_thread_done = 1;
	pthread_cond_broadcast(&w->tpm_idle);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Under w->mu: the running TPM job passed its deadline (the TPM hangs). */
static int tpm_stuck_locked(const struct pin_worker *w)
{
	return w->current != NULL && w->current->abandoned && w->current->deadline_ms != 0;
}

/* Under w->mu: the running job j passed its deadline. Its client gets the failure now
 * from a stand-in; j's own reply, if the TPM ever answers, is dropped. */
static void expire_current(struct agent *a, struct pin_worker *w, struct pin_job *j)
{
	struct pin_job *stand_in = calloc(1, sizeof(*stand_in));

	if (stand_in == NULL || (stand_in->reply = sshbuf_new(REPLY_MAX)) == NULL) {
		free(stand_in);
		return; /* out of memory: the next round tries again */
	}
	j->abandoned = 1;
	drop_reply_fd(j);
	stand_in->reply_fd = -1;
	stand_in->a = a; /* only what finds the client: the worker is using j->client */
	stand_in->client.id = j->client.id;
	stand_in->client.ticket = j->client.ticket;
	stand_in->client.fd = -1;
	put_timeout_failure(stand_in->reply, j->control, j->timeout_s);
	post_locked(w, stand_in);
	log_error("tpm: no answer in %u s (tpm-timeout) to a request of pid %d; TPM "
		  "requests fail until it answers", j->timeout_s, (int)j->client.pid);
}

int tpm_jobs_expire(struct agent *a, int max_ms)
{
	struct pin_worker *w = a->worker;
	int64_t now = mono_ms(), next = now + max_ms;
	struct pin_job **pp, *j;

	if (w == NULL)
		return max_ms;
	pthread_mutex_lock(&w->mu);
	for (pp = &w->queue; (j = *pp) != NULL;) {
		if (j->deadline_ms > now) {
			next = j->deadline_ms < next ? j->deadline_ms : next;
			pp = &j->next;
			continue;
		}
		*pp = j->next; /* queued behind a TPM that does not answer: fail it now */
		if (w->queue_tail == &j->next)
			w->queue_tail = pp;
		log_warn("request of pid %d: no TPM answer in %u s", (int)j->client.pid,
			 j->timeout_s);
		put_timeout_failure(j->reply, j->control, j->timeout_s);
		post_locked(w, j);
	}
	j = w->current;
	if (j != NULL && !j->abandoned && j->deadline_ms <= now)
		expire_current(a, w, j);
	else if (j != NULL && !j->abandoned && j->deadline_ms < next)
		next = j->deadline_ms;
	pthread_mutex_unlock(&w->mu);
	return next - now > max_ms ? max_ms : (int)(next - now < 0 ? 0 : next - now);
}

/* ---------------------------------------------------------------- starting jobs */

static void *job_thread(void *arg)
{
	struct pin_job *j = arg;
	sigset_t set;

	sigfillset(&set); /* signals are the event loop's business */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	j->a->worker->run.prompt(j);
	job_post(j);
	return NULL;
}

/* A new job with a copy of c's request, or NULL. */
static struct pin_job *job_new(struct agent *a, struct conn *c, enum job_kind kind)
{
	struct pin_job *j = calloc(1, sizeof(*j));

	if (j != NULL)
		j->reply_fd = -1;
	if (j == NULL || (j->msg = malloc(c->cur_len ? c->cur_len : 1)) == NULL ||
	    (j->reply = sshbuf_new(REPLY_MAX)) == NULL) {
		job_free(j);
		return NULL;
	}
	j->a = a;
	j->kind = kind;
	j->client = *c; /* id, uid, pid, ticket, session bindings */
	j->client.fd = -1;
	j->client.in = j->client.out = NULL;
	j->client.tpm_ok = 0;
	memcpy(j->msg, c->cur_msg, c->cur_len);
	j->len = c->cur_len;
	j->client.cur_msg = j->msg;
	j->env = pin_env_dup(c->env);
	j->client.env = j->env; /* borrowed: a prompting job a TPM job starts copies it */
	return j;
}

static int job_queue_tpm(struct agent *a, struct conn *c, struct pin_job *j, struct errmsg *e)
{
	struct pin_worker *w = a->worker;
	/* Key creation has its own, longer deadline (tpm-create-timeout). */
	j->timeout_s = c->tpm_slow ? a->settings.tpm_create_timeout : a->settings.tpm_timeout;
	j->client.tpm_ok = 1; /* on the worker the handlers run the TPM part themselves */
	j->deadline_ms = mono_ms() + (int64_t)(j->timeout_s + DEADLINE_MARGIN_S) * 1000;
	pthread_mutex_lock(&w->mu);
	if (tpm_stuck_locked(w)) {
		pthread_mutex_unlock(&w->mu);
		return errmsg_set(e, "tpm: no answer in %u s (tpm-timeout) to an earlier request",
				  w->current->timeout_s);
	}
	j->next = NULL;
	*w->queue_tail = j;
	w->queue_tail = &j->next;
	pthread_cond_signal(&w->queued);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int job_start(struct agent *a, struct conn *c, enum job_kind kind, struct errmsg *e)
{
	struct pin_worker *w = a->worker;
	struct pin_job *j;
	pthread_attr_t attr;
	pthread_t tid;
	int r;

	if (c->ticket == 0) { /* a request's first job; a job a TPM job starts keeps it */
		pthread_mutex_lock(&w->mu);
		c->ticket = ++w->tickets;
		pthread_mutex_unlock(&w->mu);
	}
	if ((j = job_new(a, c, kind)) == NULL)
		return errmsg_set(e, "out of memory");
	if (kind == JOB_TPM) {
		j->control = c->tpm_control;
		if (c->fd >= 0 && c->out != NULL && sshbuf_len(c->out) == 0)
			j->reply_fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0); /* -1: the loop delivers */
		if (job_queue_tpm(a, c, j, e) != 0) {
			job_free(j);
			return -1;
		}
		return 0;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&w->mu);
	w->running++;
	r = pthread_create(&tid, &attr, job_thread, j);
	if (r != 0)
		w->running--;
	pthread_mutex_unlock(&w->mu);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		job_free(j);
		return errmsg_set(e, "cannot start a thread for the prompt: %s", strerror(r));
	}
	return 0;
}

int tpm_defer(struct agent *a, struct conn *c, int control, int slow, struct sshbuf *out)
{
	struct errmsg e;
	size_t start = sshbuf_len(out);

	if (c->tpm_ok || a->worker == NULL)
		return 1; /* on the TPM worker already, or no worker (fuzz harness): go on here */
	c->tpm_control = control;
	c->tpm_slow = slow;
	if (job_start(a, c, JOB_TPM, &e) == 0)
		return SSH_DISPATCH_DEFERRED;
	log_warn("request of pid %d refused: %s", (int)c->pid, e.text);
	if (!control)
		return agentmsg_put_simple(out, SSH_AGENT_FAILURE);
	if (agentmsg_begin(out, SSH_AGENT_EXTENSION_FAILURE) != 0 ||
	    sshbuf_put_cstring(out, e.text) != 0)
		return -1;
	return agentmsg_end(out, start);
}

/* ---------------------------------------------------------------- start and stop */

int pin_start(struct agent *a, const struct job_runners *run, struct errmsg *e)
{
	struct pin_worker *w = calloc(1, sizeof(*w));
	int r;

	if ((a->pins = pincache_new()) == NULL || w == NULL) {
		free(w);
		return errmsg_set(e, "cannot set up the PIN cache (secure memory)");
	}
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(w);
		return errmsg_set(e, "eventfd: %s", strerror(errno));
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->queued, NULL);
	pthread_cond_init(&w->tpm_idle, NULL);
	w->run = *run;
	w->done_tail = &w->done;
	w->queue_tail = &w->queue;
	a->worker = w;
	tpm_set_wait_hooks(tpm_wait_enter, tpm_wait_leave, a);
	if ((r = pthread_create(&w->tpm_thread, NULL, tpm_thread, a)) != 0)
		return errmsg_set(e, "cannot start the TPM worker thread: %s", strerror(r));
	w->tpm_thread_started = 1;
	return 0;
}

/* Waits until cond holds or STOP_WAIT_MS passed; under w->mu. */
static void wait_until(struct pin_worker *w, pthread_cond_t *cv, int (*cond)(struct pin_worker *))
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)STOP_WAIT_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (!cond(w) && pthread_cond_timedwait(cv, &w->mu, &until) == 0)
		;
}

static int prompts_done(struct pin_worker *w) { return w->running == 0; }
static int tpm_worker_done(struct pin_worker *w) { return w->tpm_thread_done; }

/* TPM jobs still queued end with a failure nobody reads; a job stuck in the TPM and
 * prompts still open keep the worker (leaked on purpose): they find a->quit set, touch
 * nothing, and post into a queue nobody reads. */
int pin_stop(struct agent *a)
{
	struct pin_worker *w = a->worker;
	int busy, tpm_busy = 0;

	if (w != NULL) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_broadcast(&w->queued);
		wait_until(w, &w->idle, prompts_done);
		if (w->tpm_thread_started)
			wait_until(w, &w->tpm_idle, tpm_worker_done);
		if (w->tpm_thread_started && !w->tpm_thread_done && a->tpm != NULL) {
			/* Stuck in a TPM command: make it fail now (tpm.h), then the worker
			 * ends and the TPM is closed without sending anything more. */
			tpm_abort(a->tpm);
			wait_until(w, &w->tpm_idle, tpm_worker_done);
		}
		busy = w->running;
		tpm_busy = w->tpm_thread_started && !w->tpm_thread_done;
		while (w->queue != NULL) {
			struct pin_job *j = w->queue;

			w->queue = j->next;
			job_free(j);
		}
		while (w->done != NULL) {
			struct pin_job *j = w->done;

			w->done = j->next;
			job_free(j);
		}
		w->done_tail = &w->done;
		pthread_mutex_unlock(&w->mu);
		if (w->tpm_thread_started && !tpm_busy)
			pthread_join(w->tpm_thread, NULL);
		else if (tpm_busy)
			pthread_detach(w->tpm_thread);
		if (busy == 0 && !tpm_busy) {
			close(w->efd);
			pthread_cond_destroy(&w->queued);
			pthread_cond_destroy(&w->tpm_idle);
			pthread_mutex_destroy(&w->mu);
			pthread_cond_destroy(&w->idle);
			free(w);
		} else {
			log_warn("at shutdown: %d PIN prompt(s) still open%s", busy,
				 tpm_busy ? ", and the TPM has not answered the current request" : "");
		}
	}
	a->worker = NULL;
	if (tpm_busy)
		return -1; /* the TPM and what uses it must stay as they are */
	tpm_set_wait_hooks(NULL, NULL, NULL);
	pincache_free(a->pins);
	a->pins = NULL;
	pin_env_free(a->ssh_env);
	a->ssh_env = NULL;
	return 0;
}
