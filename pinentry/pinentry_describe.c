/* pinentry_describe: the dialog's text: which program asks to use which key, with the
 * requester's command line read from /proc and made printable. */
#include "pinentry.h"

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

#include "pinentry_internal.h"

/* ---- dialog text ------------------------------------------------------------------- */

/* Copies src into dst replacing control characters with '?'. */
static void sanitize(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
	dst[i] = '\0';
}

/* /proc/PID/cmdline with NULs as spaces, sanitised, at most CMDLINE_MAX bytes. */
static void read_cmdline(pid_t pid, char *out, size_t len)
{
	char path[64], raw[CMDLINE_MAX + 1];
	ssize_t n;
	int fd, cut;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, raw, CMDLINE_MAX + 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(out, len, "(command line unavailable)");
		return;
	}
	cut = n > CMDLINE_MAX;
	if (cut) {
		n = CMDLINE_MAX;
		while (n > 0 && ((unsigned char)raw[n] & 0xc0) == 0x80)
			n--; /* do not split a UTF-8 character */
	}
	for (ssize_t i = 0; i < n; i++)
		if (raw[i] == '\0')
			raw[i] = ' ';
	while (n > 0 && raw[n - 1] == ' ')
		n--;
	raw[n] = '\0';
	sanitize(out, len, raw);
	if (cut && strlen(out) + 4 < len)
		strcat(out, " ...");
}

int pinentry_describe_request(char *out, size_t len, const char *key_name,
			      const char *comment, const char *fingerprint, pid_t pid,
			      const char *action)
{
	char name[256], comm[256], fp[128], cmd[CMDLINE_MAX + 8], requester[CMDLINE_MAX + 64];
	int n;

	if (out == NULL || len == 0)
		return -1;
	sanitize(name, sizeof(name), key_name ? key_name : "?");
	sanitize(comm, sizeof(comm), comment ? comment : "");
	sanitize(fp, sizeof(fp), fingerprint ? fingerprint : "");
	if (pid > 0) {
		read_cmdline(pid, cmd, sizeof(cmd));
		snprintf(requester, sizeof(requester), "Requested by process %d: %s", (int)pid, cmd);
	} else {
		snprintf(requester, sizeof(requester), "Requested by an unknown process");
	}
	n = snprintf(out, len, "%s the TPM key \"%s\"%s%s%s\n%s%s%s%s",
		     action ? action : "Use", name,
		     *comm ? " (" : "", comm, *comm ? ")" : "",
		     *fp ? "Fingerprint: " : "", fp, *fp ? "\n" : "", requester);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}
