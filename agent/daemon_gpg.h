/* daemon_gpg: the gpg-agent (Assuan) side of the agent. daemon_gpg.c owns the socket,
 * the accept thread and one thread per connection; daemon_gpg_cmd.c holds the command
 * handlers. Every use of a->ks happens under a->lock and every use of a->tpm under
 * agent_tpm_lock, never while waiting for the client. */
#ifndef TPM_AGENT_DAEMON_GPG_H
#define TPM_AGENT_DAEMON_GPG_H

#include <assuan.h>
#include <gpg-error.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"

/* The least version GETINFO version reports: gpg warns about agents older than itself,
 * so a newer installed gpg's version is reported instead (daemon_gpg_cmd.c). */
#define GPG_AGENT_COMPAT_VERSION "2.2.40"
#define GPG_MAX_CONNS SERVER_MAX_CONNS /* the ssh socket's cap */
/* Seconds a client has to answer an INQUIRE; $TPM_AGENT_INQUIRE_TIMEOUT overrides it. */
#define GPG_INQUIRE_TIMEOUT_DEFAULT 60
#define GPG_OPT_LEN 256

/* An error code as gpg-agent sends it: source GPG Agent. */
#define GPG_AGENT_ERR(code) gpg_err_make(GPG_ERR_SOURCE_GPGAGENT, (code))

enum gpg_pinentry_mode { PINENTRY_ASK = 0, PINENTRY_CANCEL, PINENTRY_ERROR, PINENTRY_LOOPBACK };

/* One gpg connection (one thread). */
struct gpg_session {
	struct agent *a;
	int fd;
	pid_t pid;
	volatile int inquiring;           /* an INQUIRE is pending: reads time out */
	int bad_escape;                   /* a D line of the INQUIRE answer had a bad %XX */
	int inquire_timeout_ms;
	/* client-idle-timeout (0: none), counted from the last whole line either way */
	int idle_timeout_ms;
	int64_t last_line_ms;             /* CLOCK_MONOTONIC */
	/* SIGKEY / SETKEY */
	char grip[41]; int have_grip;
	/* SETHASH: gcrypt algorithm number and the digest */
	int hash_algo;
	uint8_t digest[64]; size_t digest_len;
	char *keydesc;                    /* SETKEYDESC, for the PIN prompt */
	/* OPTIONs kept for pinentry */
	char ttyname[GPG_OPT_LEN], ttytype[GPG_OPT_LEN], display[GPG_OPT_LEN];
	char lc_ctype[GPG_OPT_LEN], lc_messages[GPG_OPT_LEN];
	enum gpg_pinentry_mode pinentry_mode;
	/* In sodium memory, NULL when unset: the KEYWRAP_KEY --import key, and the old and
	 * new passphrase of the last IMPORT_KEY or PASSWD, which gpg's CACHE_NONCE and
	 * PASSWD_NONCE let the next subkey of the same key reuse (daemon_gpg_int.h). */
	unsigned char *import_kek;
	struct gpg_nonces *nonces;
};

/* Fails, saying how to stop it, when a gpg-agent (or anything) answers on path. */
int gpg_socket_check(const char *path, struct errmsg *e);
/* Binds socket_path (mode 0600) and starts the accept thread. Refuses, with a message
 * saying how to stop it, when a gpg-agent already answers there. */
int gpg_server_start(struct agent *a, const char *socket_path, struct errmsg *e);
/* The same on a socket already bound and listening (socket activation); socket_path
 * (may be "") is what it is bound to, for messages. The socket is not removed at stop;
 * listen_fd is the server's from here on, also on failure. */
int gpg_server_start_fd(struct agent *a, int listen_fd, const char *socket_path,
			struct errmsg *e);
/* Stops accepting, ends the connection threads and removes the socket. Safe to call
 * when the server never started. */
void gpg_server_stop(void);
/* The socket path served, "" when not serving. */
const char *gpg_server_socket(void);


/* Registers every gpg-agent command on ctx (daemon_gpg_cmd.c). */
int gpg_register_commands(assuan_context_t ctx);
/* Clears the per-operation state (RESET, and at the end of a connection). */
void gpg_session_reset(struct gpg_session *s);

#endif
