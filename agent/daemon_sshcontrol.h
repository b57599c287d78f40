/* daemon_sshcontrol: which keys ssh sees. Keys made with tpm-key are offered to ssh;
 * keys gpg made or imported are offered only when $GNUPGHOME/sshcontrol lists their
 * keygrip (and not disabled with '!'), as gpg-agent does. The file is read again
 * whenever it changes. */
#ifndef TPM_AGENT_DAEMON_SSHCONTROL_H
#define TPM_AGENT_DAEMON_SSHCONTROL_H

#include "../keystore/keystore.h"

/* Re-reads sshcontrol when its mtime or size changed (one stat otherwise). */
void sshcontrol_refresh(void);
/* 1 if ssh may see and use k (after sshcontrol_refresh). */
int sshcontrol_offers(const struct ks_key *k);
/* 1 when sshcontrol lists grip, with its '!' (disabled), TTL and confirm flag. */
int sshcontrol_lookup(const char *grip, int *disabled, long *ttl, int *confirm);
/* 1 when sshcontrol lists k's keygrip (enabled or not). */
int sshcontrol_listed(const struct ks_key *k);
/* 1 for keys gpg made or imported (comment "gpg" or "gpg: <user ID>"). */
int ks_key_from_gpg(const struct ks_key *k);

#endif
