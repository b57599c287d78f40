/* daemon_policy: PCR-bound keys in the agent: the --pcr part of a gen request, the
 * platform-policy default, and the pcr-seal control command. */
#include "daemon_policy.h"

#include <string.h>

#include "../protocol/control.h"
#include "../keystore/log.h"

int gen_pcr_request(struct agent *a, struct sshbuf *body, uint32_t flags, struct ks_bind *b,
		    struct ks_bind **bind, struct errmsg *e)
{
	char pcrs[96];

	*bind = NULL;
	memset(b, 0, sizeof(*b));
	if (flags & CTL_GEN_PCR) {
		if (sshbuf_get_cstring(body, pcrs, sizeof(pcrs)) != 0 ||
		    sshbuf_get_cstring(body, b->signer, sizeof(b->signer)) != 0)
			return errmsg_set(e, "gen: malformed PCR request");
	} else if (a->settings.platform_policy && !(flags & CTL_GEN_NO_PCR)) {
		snprintf(pcrs, sizeof(pcrs), "%s", a->settings.pcr_selection);
	} else {
		if (flags & CTL_GEN_PCR_AUTHORIZED)
			return errmsg_set(e, "gen: --pcr-authorized needs --pcr (or platform-policy "
					  "= yes in the config)");
		return 0;
	}
	if (settings_pcr_sel(pcrs, &b->sel, e) != 0)
		return errmsg_prefix(e, "gen");
	b->authorized = (flags & CTL_GEN_PCR_AUTHORIZED) != 0;
	*bind = b;
	return 0;
}

int ctl_pcr_seal(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX], note[512];
	int r = sshbuf_get_cstring(body, name, sizeof(name));

	if (r != 0)
		return errmsg_set(e, "pcr-seal: malformed key name: %s", sshbuf_strerror(r));
	if (keystore_pcr_seal(a->ks, name, NULL, 0, note, sizeof(note), e) != 0)
		return errmsg_prefix(e, "pcr-seal");
	return sshbuf_put_cstring(out, note) == 0 ? 0 : errmsg_set(e, "pcr-seal: reply too large");
}
