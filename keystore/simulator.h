/* simulator: a private swtpm for machines without a TPM (laptops, CI). Starts
 * swtpm on a free loopback port pair with its state in a directory of ours. */
#ifndef TPM_AGENT_SIMULATOR_H
#define TPM_AGENT_SIMULATOR_H

#include <limits.h>
#include <sys/types.h>

#include "../protocol/errmsg.h"

struct simulator {
	pid_t pid;
	int port;             /* server port; control port is port + 1 */
	char statedir[PATH_MAX];
	char tcti[128];       /* "swtpm:host=127.0.0.1,port=N" */
};

/* Creates statedir (0700) if missing, picks a free port pair, runs swtpm (not
 * daemonised: we keep its pid) and waits until it accepts connections. */
int simulator_start(const char *statedir, struct simulator *s, struct errmsg *e);
/* Stops swtpm by its pid (SIGTERM, then SIGKILL after a grace period) and reaps it. */
void simulator_stop(struct simulator *s);

#endif
