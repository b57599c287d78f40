/* daemon_gpg_scd: smartcards stay gpg-agent's business: SCD <command> and LEARN go to
 * scdaemon, started on demand over a pipe (`scdaemon --multi-server`, as gnupg's
 * call-scd.c does) and shared by all gpg connections under one lock. Status and data
 * lines come back to the client verbatim; the card's PIN (INQUIRE NEEDPIN) is asked
 * through our pinentry; other inquiries go to the client. */
#include "daemon_gpg_int.h"
#include "daemon_gpghome.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../keystore/log.h"

#define SCDAEMON_DEFAULT "/usr/lib/gnupg/scdaemon" /* gnupg_module_name(SCDAEMON) */
#define SCD_INQUIRE_MAX 8096                       /* as call-scd.c */

static struct {
	pthread_mutex_t mu;          /* one command at a time on the pipe */
	assuan_context_t ctx;        /* NULL: not running */
} scd = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* gpg-agent.conf's scdaemon-program / disable-scdaemon, so that tpm-agent and a stock
 * gpg-agent agree on what runs. */
static int scd_config(char *program, size_t len)
{
	char home[PATH_MAX], path[PATH_MAX + 32], line[PATH_MAX + 64];
	struct errmsg e;
	int disabled = 0;
	FILE *f;

	snprintf(program, len, "%s", SCDAEMON_DEFAULT);
	if (gpg_home_dir(home, sizeof(home), &e) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/gpg-agent.conf", home);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t"), *v;

		p[strcspn(p, "\r\n")] = '\0';
		if (strcmp(p, "disable-scdaemon") == 0) {
			disabled = 1;
		} else if (strncmp(p, "scdaemon-program", 16) == 0 && (p[16] == ' ' || p[16] == '\t')) {
			v = p + 16 + strspn(p + 16, " \t");
			snprintf(program, len, "%s", v);
		}
	}
	fclose(f);
	return disabled ? -1 : 0;
}

/* Under scd.mu: scdaemon running, or gpg-agent's error for why not. */
static gpg_error_t scd_start(void)
{
	char program[PATH_MAX], home[PATH_MAX];
	const char *argv[5];
	struct errmsg e;
	assuan_fd_t no_close[2] = { assuan_fd_from_posix_fd(STDERR_FILENO), ASSUAN_INVALID_FD };
	gpg_error_t rc;
	int n = 0;

	if (scd.ctx != NULL)
		return 0;
	if (scd_config(program, sizeof(program)) != 0)
		return GPG_AGENT_ERR(GPG_ERR_NOT_SUPPORTED); /* disable-scdaemon */
	argv[n++] = "scdaemon";
	argv[n++] = "--multi-server";
	if (gpg_home_dir(home, sizeof(home), &e) == 0) {
		argv[n++] = "--homedir";
		argv[n++] = home;
	}
	argv[n] = NULL;
	if (access(program, X_OK) != 0) {
		log_info("gpg: no scdaemon at %s (Debian package scdaemon): %s", program,
			 strerror(errno));
		return GPG_AGENT_ERR(GPG_ERR_NO_SCDAEMON);
	}
	if ((rc = assuan_new(&scd.ctx)) != 0) {
		scd.ctx = NULL;
		return GPG_AGENT_ERR(gpg_err_code(rc));
	}
	rc = assuan_pipe_connect(scd.ctx, program, argv, no_close, NULL, NULL,
				 ASSUAN_PIPE_CONNECT_DETACHED);
	if (rc != 0) {
		log_warn("gpg: cannot start %s: %s", program, gpg_strerror(rc));
		assuan_release(scd.ctx);
		scd.ctx = NULL;
		return GPG_AGENT_ERR(GPG_ERR_NO_SCDAEMON);
	}
	log_info("gpg: started %s for a smartcard request", program);
	return 0;
}

int gpg_scd_running(void)
{
	int r;

	pthread_mutex_lock(&scd.mu);
	r = scd.ctx != NULL;
	pthread_mutex_unlock(&scd.mu);
	return r;
}

void gpg_scd_stop(void)
{
	pthread_mutex_lock(&scd.mu);
	if (scd.ctx != NULL) {
		assuan_transact(scd.ctx, "KILLSCD", NULL, NULL, NULL, NULL, NULL, NULL);
		assuan_release(scd.ctx);
		scd.ctx = NULL;
	}
	pthread_mutex_unlock(&scd.mu);
}

struct scd_call {
	assuan_context_t client;
	struct gpg_session *s;
};

static gpg_error_t pass_data(void *arg, const void *buf, size_t len)
{
	return assuan_send_data(((struct scd_call *)arg)->client, buf, len);
}

static gpg_error_t pass_status(void *arg, const char *line)
{
	struct scd_call *c = arg;
	char keyword[200];
	size_t n = strcspn(line, " \t");

	if (n >= sizeof(keyword))
		n = sizeof(keyword) - 1;
	memcpy(keyword, line, n);
	keyword[n] = '\0';
	line += strcspn(line, " \t");
	line += strspn(line, " \t");
	return assuan_write_status(c->client, keyword, line);
}

/* The card's PIN through our pinentry; the text is scdaemon's (%-escaped prompt). */
static gpg_error_t scd_needpin(struct scd_call *c, const char *info)
{
	struct pin_env_store *env = gpg_prompt_env(c->s);
	char *desc = gpg_prompt_desc(info[0] ? info : "Please enter the PIN of your smartcard");
	char *pin = NULL;
	size_t len = 0;
	struct errmsg e = { "" };
	gpg_error_t rc = 0;
	int r;

	if (c->s->pinentry_mode == PINENTRY_LOOPBACK)
		rc = gpg_inquire_secret(c->client, "PASSPHRASE", &pin, &len);
	else if ((r = pin_ask_secret(c->s->a, env, desc, "PIN:", &pin, &len, &e)) != 0)
		rc = gpg_key_op_error(c->client, r, &e);
	pin_env_free(env);
	free(desc);
	if (rc == 0) {
		assuan_begin_confidential(scd.ctx);
		rc = assuan_send_data(scd.ctx, pin, len);
		assuan_end_confidential(scd.ctx);
	}
	if (pin != NULL)
		sodium_free(pin);
	return rc;
}

static gpg_error_t pass_inquire(void *arg, const char *line)
{
	struct scd_call *c = arg;
	unsigned char *value = NULL;
	size_t len = 0;
	gpg_error_t rc;

	if (strncmp(line, "NEEDPIN", 7) == 0 && (line[7] == '\0' || line[7] == ' '))
		return scd_needpin(c, line + 7 + strspn(line + 7, " "));
	if (strncmp(line, "POPUPPINPADPROMPT", 17) == 0 ||
	    strncmp(line, "DISMISSPINPADPROMPT", 19) == 0)
		return 0; /* the card's own pinpad takes the PIN */
	assuan_begin_confidential(c->client);
	rc = gpg_inquire(c->client, line, SCD_INQUIRE_MAX, 1, &value, &len);
	assuan_end_confidential(c->client);
	if (rc == 0) {
		assuan_begin_confidential(scd.ctx);
		rc = assuan_send_data(scd.ctx, value, len);
		assuan_end_confidential(scd.ctx);
	}
	if (value != NULL) {
		explicit_bzero(value, len);
		assuan_free(c->client, value);
	}
	return rc;
}

/* Sends line to scdaemon (started if needed) and relays its answer to the client. */
gpg_error_t gpg_scd_relay(assuan_context_t ctx, const char *line)
{
	struct scd_call c = { ctx, gpg_sess(ctx) };
	gpg_error_t rc;

	pthread_mutex_lock(&scd.mu);
	if ((rc = scd_start()) == 0) {
		rc = assuan_transact(scd.ctx, line, pass_data, &c, pass_inquire, &c, pass_status, &c);
		if (gpg_err_code(rc) == GPG_ERR_ASS_CONNECT_FAILED ||
		    gpg_err_code(rc) == GPG_ERR_EOF || gpg_err_code(rc) == GPG_ERR_ASS_READ_ERROR ||
		    gpg_err_code(rc) == GPG_ERR_ASS_WRITE_ERROR) {
			log_warn("gpg: scdaemon went away: %s", gpg_strerror(rc));
			assuan_release(scd.ctx); /* the next request starts a new one */
			scd.ctx = NULL;
			rc = GPG_AGENT_ERR(GPG_ERR_NO_SCDAEMON);
		}
	}
	pthread_mutex_unlock(&scd.mu);
	/* scdaemon's codes keep their source (SCD), as gpg-agent passes them on */
	return rc;
}

/* SCD <command>: everything after "SCD " goes to scdaemon as it is. */
gpg_error_t gpg_cmd_scd(assuan_context_t ctx, char *line)
{
	line = (char *)gpg_skip_blanks(line);
	if (*line == '\0')
		return set_error(ctx, GPG_ERR_ASS_PARAMETER, "SCD needs a command for scdaemon");
	if (strncasecmp(line, "KILLSCD", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
		gpg_scd_stop(); /* gpgconf --kill scdaemon / all; the next request starts one */
		return 0;
	}
	return gpg_scd_relay(ctx, line);
}

/* LEARN [--send] [--sendinfo] [--force]: what the card holds, as status lines (gpg
 * --card-status). gpg-agent also writes shadow keys for the card's keys; TPM keys
 * are what this agent signs with, so none are written. */
gpg_error_t gpg_cmd_learn(assuan_context_t ctx, char *line)
{
	(void)line;
	return gpg_scd_relay(ctx, "LEARN --force");
}
