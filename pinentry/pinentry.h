/* pinentry: asks the user for a PIN or a confirmation through a pinentry program
 * spoken to over Assuan (libassuan). The PIN only ever lives in sodium_malloc memory. */
#ifndef TPM_AGENT_PINENTRY_H
#define TPM_AGENT_PINENTRY_H

#include <stddef.h>
#include <sys/types.h>

#include "../protocol/errmsg.h"

/* Return codes of every pinentry_* call. */
#define PINENTRY_OK               0
#define PINENTRY_E_FAIL          -1 /* missing program, crash, protocol error, no memory */
#define PINENTRY_E_CANCELED      -2 /* the user cancelled the dialog (ERR 83886179) */
#define PINENTRY_E_NOT_CONFIRMED -3 /* the user refused a CONFIRM (ERR 83886194) */
#define PINENTRY_E_TIMEOUT       -4 /* no answer before the deadline; the program was killed */
#define PINENTRY_E_MISMATCH      -5 /* pinentry_getpin_new: the two PINs differ */

#define PINENTRY_DEFAULT_PROGRAM   "pinentry"
#define PINENTRY_DEFAULT_TIMEOUT_S 60
#define PINENTRY_PIN_MAX           1024 /* bytes, longer PINs are refused */

/* Where the dialog must appear. Each field: NULL = keep the agent's own environment
 * variable, "" = remove it from the child's environment, else set it. ttyname and
 * ttytype are also sent as OPTION ttyname= / ttytype= (as are lc_ctype, lc_messages). */
struct pinentry_env {
	const char *ttyname;         /* GPG_TTY, OPTION ttyname=, e.g. /dev/pts/3 */
	const char *ttytype;         /* TERM, OPTION ttytype= */
	const char *display;         /* DISPLAY */
	const char *wayland_display; /* WAYLAND_DISPLAY */
	const char *lc_ctype;        /* LC_CTYPE, OPTION lc-ctype= */
	const char *lc_messages;     /* LC_MESSAGES, OPTION lc-messages= */
	const char *xauthority;      /* XAUTHORITY */
	const char *dbus_address;    /* DBUS_SESSION_BUS_ADDRESS */
};

/* The environment variables pinentry depends on (the fields above), in the order
 * tpm-key sends them (env@tpm-agent, pinentry/promptenv.h). */
enum pin_env_var {
	PE_GPG_TTY, PE_TERM, PE_DISPLAY, PE_WAYLAND_DISPLAY, PE_LC_CTYPE, PE_LC_MESSAGES,
	PE_XAUTHORITY, PE_DBUS_SESSION_BUS_ADDRESS, PE_COUNT
};
extern const char *const pin_env_names[PE_COUNT];

/* What the dialog says. Every text is optional (NULL = not sent) and %-escaped on the
 * wire; lines longer than Assuan's 1000 bytes are cut at a character boundary. */
struct pinentry_prompt {
	const char *title;         /* SETTITLE */
	const char *desc;          /* SETDESC, see pinentry_describe_request */
	const char *prompt;        /* SETPROMPT, e.g. "PIN:" */
	const char *error;         /* SETERROR, set when retrying after a wrong PIN */
	const char *keyinfo;       /* SETKEYINFO, e.g. "s/<keygrip>" (lets pinentry tag it) */
	const char *ok;            /* SETOK (confirm), e.g. "Allow" */
	const char *notok;         /* SETNOTOK (confirm), e.g. "Deny" */
	const char *repeat_prompt; /* SETREPEAT (getpin_new), default "Repeat:" */
	int timeout_s;             /* whole dialogue, <= 0 means PINENTRY_DEFAULT_TIMEOUT_S */
};

/* Runs `program` (a name searched in PATH, or a path; NULL = "pinentry") for one GETPIN.
 * On PINENTRY_OK *pin is a NUL-terminated sodium_malloc buffer owned by the caller
 * (release it with sodium_free, which wipes it) and *pin_len its length without the
 * NUL. On error *pin is NULL and e names the cause. Never blocks longer than the
 * prompt's timeout; the child is always reaped before returning. */
int pinentry_getpin(const char *program, const struct pinentry_env *env,
		    const struct pinentry_prompt *p, char **pin, size_t *pin_len,
		    struct errmsg *e);

/* Like pinentry_getpin but for a new PIN: asks twice (SETREPEAT when the program
 * supports it, else a second GETPIN) and returns it only when both entries match;
 * otherwise PINENTRY_E_MISMATCH with "the PINs do not match". */
int pinentry_getpin_new(const char *program, const struct pinentry_env *env,
			const struct pinentry_prompt *p, char **pin, size_t *pin_len,
			struct errmsg *e);

/* Asks for a yes/no decision (SETDESC, SETOK, SETNOTOK, CONFIRM). PINENTRY_OK when
 * the user confirmed, PINENTRY_E_NOT_CONFIRMED when refused, else an error. */
int pinentry_confirm(const char *program, const struct pinentry_env *env,
		     const struct pinentry_prompt *p, struct errmsg *e);

/* A notice (SETDESC, then MESSAGE) left on screen while the caller works, e.g. "touch
 * your security key": the answer is not awaited. NULL when it cannot be shown (e says
 * why). pinentry_notice_end takes it down (SIGTERM, then reaped; NULL ok). */
struct pinentry_notice;
struct pinentry_notice *pinentry_notice_start(const char *program,
					      const struct pinentry_env *env,
					      const struct pinentry_prompt *p, struct errmsg *e);
void pinentry_notice_end(struct pinentry_notice *n);

/* Writes the dialog text for a request into out (always NUL-terminated):
 *   <action> the TPM key "<name>" (<comment>)
 *   Fingerprint: <fingerprint>
 *   Requested by process <pid>: <command line from /proc/PID/cmdline>
 * action e.g. "Enter the PIN to sign with" or "Allow a signature with". comment,
 * fingerprint may be NULL; pid <= 0 means unknown. Control characters in any field
 * (a process can put newlines in its own command line) become '?', so the requester
 * cannot forge lines in the dialog. Returns 0, or -1 when the text was truncated. */
int pinentry_describe_request(char *out, size_t len, const char *key_name,
			      const char *comment, const char *fingerprint, pid_t pid,
			      const char *action);

/* %-escapes text for an Assuan command line into out ('%', CR, LF and every other
 * control character become %XX), stopping before an escape or a UTF-8 character
 * that would not fit. Returns the length written (out is NUL-terminated). */
size_t pinentry_escape(char *out, size_t len, const char *text);

#endif
