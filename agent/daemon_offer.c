/* daemon_offer: which TPM keys and certificates ssh is offered, and the key that signs
 * for a blob. Below daemon_ssh (the list and sign handlers) and daemon_pinjob (a sign
 * that waited for a PIN looks its key up again). */
#include "daemon_offer.h"

#include <string.h>
#include <time.h>

#include "daemon_srkpin.h"
#include "daemon_sshcontrol.h"
#include "../keystore/log.h"

/* Keys gpg made are ssh's only when sshcontrol lists them (daemon_sshcontrol.h); keys
 * whose parent is not this TPM's SRK (all of them while the pinned SRK is not there;
 * one made under an SRK since replaced, keystore_key_foreign) are not offered at all
 * (signing would fail), and the log says why once. */
int offer_usable(const struct agent *a, const struct ks_key *k)
{
	return !srkpin_keys_unusable(a, NULL) && !keystore_key_foreign(a->ks, k, NULL);
}

int offer_key(const struct agent *a, struct ks_key *k)
{
	static int warned;
	struct errmsg why;

	if (srkpin_keys_unusable(a, &why)) {
		if (!warned)
			log_warn("not offering the TPM keys to ssh: %s", why.text);
		warned = 1;
		return 0;
	}
	if (keystore_key_foreign(a->ks, k, &why)) {
		if (!k->foreign_warned)
			log_warn("not offering key '%s' to ssh: %s", k->name, why.text);
		k->foreign_warned = 1;
		return 0;
	}
	return !k->hidden && sshcontrol_offers(k);
}

/* A certificate is offered beside its key while the key is offered, the certificate
 * certifies that key, and it is valid now. */
int offer_cert(struct agent *a, struct cert_entry *c, uint64_t now)
{
	struct ks_key *k = keystore_find_name(a->ks, c->key_name);

	if (c->hidden || k == NULL || !offer_key(a, k) || !sshkey_pub_equal(&k->pub, &c->cert.key))
		return 0;
	if (!sshcert_valid_at(&c->cert, now)) {
		if (!c->warned_expired)
			log_info("not offering the certificate of key '%s' (serial %llu): %s",
				 c->key_name, (unsigned long long)c->cert.serial,
				 now < c->cert.valid_after ? "not valid yet" : "expired");
		c->warned_expired = 1;
		return 0;
	}
	c->warned_expired = 0;
	return 1;
}

/* The key that signs for blob: a key of ours, or the key of a certificate we offer. */
struct ks_key *offer_signing_key(struct agent *a, const uint8_t *blob, size_t len)
{
	struct ks_key *k = keystore_find_blob(a->ks, blob, len);
	struct cert_entry *c;

	sshcontrol_refresh();
	if (k != NULL)
		return offer_key(a, k) ? k : NULL;
	if ((c = certstore_find_blob(a->certs, blob, len)) == NULL ||
	    !offer_cert(a, c, (uint64_t)time(NULL)))
		return NULL;
	return keystore_find_name(a->ks, c->key_name);
}
