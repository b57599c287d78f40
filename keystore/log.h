/* log: the agent's log lines, to stderr (-d / -D) or syslog (daemon). Never pass a
 * secret to these functions. It lives in keystore/, the lowest layer that does I/O, so
 * that the keystore and everything above it can log (protocol/ stays pure). */
#ifndef TPM_AGENT_LOG_H
#define TPM_AGENT_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* to_stderr: 1 logs to stderr, 0 to syslog. Messages above max_level are dropped. */
void log_init(const char *ident, int to_stderr, enum log_level max_level);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
