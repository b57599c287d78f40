/* log: stderr or syslog, one line per message, level-filtered. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static int log_to_stderr = 1;
static enum log_level log_max = LOG_LVL_INFO;
static const char *log_ident = "tpm-agent";

void log_init(const char *ident, int to_stderr, enum log_level max_level)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_max = max_level;
	if (!to_stderr)
		openlog(ident, LOG_PID, LOG_AUTH);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[lvl], line);
	else
		syslog(syslog_prio[lvl], "%s", line);
}
