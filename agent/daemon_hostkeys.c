/* daemon_hostkeys: the host-key marker files next to the keys, and which keys a host
 * or a user agent offers. */
#include "daemon_hostkeys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../keystore/store.h"
#include "../keystore/log.h"

#define HOSTKEY_SUFFIX ".host"

static const char marker_text[] =
	"tpm-agent: this key is a host key for sshd (served by tpm-agent --host)\n";

int hostkey_set(struct agent *a, const char *name, int host, struct errmsg *e)
{
	char path[PATH_MAX];

	if (store_key_path(a->data_dir, name, HOSTKEY_SUFFIX, path, sizeof(path), e) != 0)
		return -1;
	if (host)
		return store_write_atomic(path, marker_text, sizeof(marker_text) - 1, 0600, e);
	if (unlink(path) != 0 && errno != ENOENT)
		return errmsg_set(e, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

int hostkey_is_host(const struct agent *a, const char *name)
{
	char path[PATH_MAX];
	struct errmsg e;

	return store_key_path(a->data_dir, name, HOSTKEY_SUFFIX, path, sizeof(path), &e) == 0 &&
	       access(path, F_OK) == 0;
}

void hostkeys_apply(struct agent *a)
{
	for (size_t i = 0; i < keystore_count(a->ks); i++) {
		struct ks_key *k = keystore_get(a->ks, i);

		/* hierarchy keys are served by the agent whose hierarchy-keys names them */
		if (k->hidden || k->tk.primary || hostkey_is_host(a, k->name) == a->settings.host)
			continue;
		k->hidden = 1;
		log_debug("key '%s' not offered: %s", k->name,
			  a->settings.host ? "not a host key (this is a --host agent)" :
			  "a host key (served by tpm-agent --host)");
	}
}

int hostkey_after_gen(struct agent *a, struct ks_key *k, int host, struct errmsg *e)
{
	if (hostkey_set(a, k->name, host, e) != 0)
		return errmsg_prefix(e, "key '%s' made but not marked as a%s host key", k->name,
				     host ? "" : " non-");
	if (host)
		log_info("key '%s' is a host key for sshd: served by tpm-agent --host%s", k->name,
			 a->settings.host ? "" : ", not by this agent");
	hostkeys_apply(a);
	return 0;
}
