/* daemon_pkcs11: talks to ssh-pkcs11-helper (ssh-pkcs11-client.c's protocol: agent
 * message types in length frames) and turns its raw RSA and ECDSA results into SSH
 * signatures. */
#include "daemon_pkcs11.h"

#include <openssl/ecdsa.h>
#include <string.h>

#include "../protocol/agentmsg.h"
#include "daemon_helper.h"
#include "../keystore/log.h"

static struct helper helper = { -1, -1 };

/* One request, one answer; a helper that misbehaves is stopped (started again next
 * time, its providers then need ssh-add -s again). */
static int converse(const struct sshbuf *req, struct sshbuf *resp, struct errmsg *e)
{
	if (helper.fd < 0 &&
	    helper_start(helper_path("SSH_PKCS11_HELPER", PKCS11_HELPER_DEFAULT), &helper, e) != 0)
		return -1;
	if (helper_send(&helper, sshbuf_ptr(req), sshbuf_len(req), e) == 0 &&
	    helper_recv(&helper, resp, PKCS11_TIMEOUT_MS, e) == 0)
		return 0;
	log_warn("ssh-pkcs11-helper: %s; stopping it", e->text);
	helper_stop(&helper);
	return -1;
}

static int provider_request(uint8_t type, const char *provider, const uint8_t *pin,
			    size_t pin_len, struct sshbuf *resp, struct errmsg *e)
{
	struct sshbuf *req = sshbuf_new(HELPER_FRAME_MAX);
	int r = -1;

	if (req == NULL || sshbuf_put_u8(req, type) != 0 ||
	    sshbuf_put_cstring(req, provider) != 0 || sshbuf_put_string(req, pin, pin_len) != 0)
		errmsg_set(e, "cannot build the ssh-pkcs11-helper request");
	else
		r = converse(req, resp, e);
	sshbuf_free(req); /* wipes the PIN */
	return r;
}

int pkcs11_load(const char *provider, const uint8_t *pin, size_t pin_len,
		struct sshbuf *ids, struct errmsg *e)
{
	uint8_t type;

	if (provider_request(SSH_AGENTC_ADD_SMARTCARD_KEY, provider, pin, pin_len, ids, e) != 0)
		return -1;
	if (sshbuf_get_u8(ids, &type) != 0 || type != SSH_AGENT_IDENTITIES_ANSWER)
		return errmsg_set(e, "the token refused: wrong PIN, no keys, or not a PKCS#11 "
				  "module (%s)", provider);
	return 0;
}

int pkcs11_unload(const char *provider, struct errmsg *e)
{
	struct sshbuf *resp = sshbuf_new(HELPER_FRAME_MAX);
	uint8_t type = 0;
	int r = -1;

	if (resp != NULL && helper.fd >= 0 &&
	    provider_request(SSH_AGENTC_REMOVE_SMARTCARD_KEY, provider, NULL, 0, resp, e) == 0 &&
	    sshbuf_get_u8(resp, &type) == 0 && type == SSH_AGENT_SUCCESS)
		r = 0;
	else if (resp == NULL || helper.fd < 0 || type != 0)
		errmsg_set(e, "provider %s is not loaded", provider);
	sshbuf_free(resp);
	return r;
}

/* PKCS#1 v1.5 DigestInfo prefixes (RFC 8017 9.2 note 1). */
static const uint8_t di_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03,
				   0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const uint8_t di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
				     0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
				     0x20 };
static const uint8_t di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
				     0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
				     0x40 };

/* What the helper signs: RSA the DigestInfo, ECDSA the bare digest. */
static int to_sign(const struct sshkey_pub *pub, enum sshkey_hash h, const uint8_t *data,
		   size_t len, uint8_t *out, size_t *out_len)
{
	uint8_t digest[64];
	size_t dlen, plen = 0;
	const uint8_t *prefix = NULL;

	if (sshkey_hash(h, data, len, digest, &dlen) != 0)
		return -1;
	if (pub->type == SSHKEY_RSA) {
		prefix = h == SSHKEY_HASH_SHA1 ? di_sha1 : h == SSHKEY_HASH_SHA256 ? di_sha256 :
			 di_sha512;
		plen = h == SSHKEY_HASH_SHA1 ? sizeof(di_sha1) : h == SSHKEY_HASH_SHA256 ?
		       sizeof(di_sha256) : sizeof(di_sha512);
		memcpy(out, prefix, plen);
	}
	memcpy(out + plen, digest, dlen);
	*out_len = plen + dlen;
	return 0;
}

/* The helper's raw result as an SSH signature blob. */
static int encode_sig(const struct sshkey_pub *pub, enum sshkey_hash h, const uint8_t *raw,
		      size_t raw_len, struct sshbuf *sig)
{
	uint8_t rb[66], sb[66];
	const BIGNUM *r, *s;
	const uint8_t *p = raw;
	ECDSA_SIG *es;
	int rc = -1;

	if (pub->type == SSHKEY_RSA)
		return sshkey_sig_rsa_to_blob(h, raw, raw_len, pub->n_len, sig);
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)raw_len)) == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_num_bytes(r) <= (int)sizeof(rb) && BN_num_bytes(s) <= (int)sizeof(sb))
		rc = sshkey_sig_ecdsa_to_blob(pub->type, rb, (size_t)BN_bn2bin(r, rb), sb,
					      (size_t)BN_bn2bin(s, sb), sig);
	ECDSA_SIG_free(es);
	return rc;
}

int pkcs11_sign(const struct softkey *k, const uint8_t *data, size_t len, uint32_t flags,
		struct sshbuf *sig, struct errmsg *e)
{
	const struct sshkey_pub *pub = softkey_pub(k);
	enum sshkey_hash h = sshkey_sign_hash(pub->type, flags);
	struct sshbuf *req = sshbuf_new(HELPER_FRAME_MAX), *resp = sshbuf_new(HELPER_FRAME_MAX);
	uint8_t tbs[128], type;
	const uint8_t *raw;
	size_t tbs_len, blen, raw_len;
	const uint8_t *blob = softkey_blob(k, &blen);
	int r = -1;

	if (h == SSHKEY_HASH_NONE) {
		errmsg_set(e, "ssh-rsa (SHA-1) signatures are refused: the client must ask for "
			   "rsa-sha2-256 or rsa-sha2-512 (or set legacy-rsa-sha1 = yes)");
	} else if (req == NULL || resp == NULL || to_sign(pub, h, data, len, tbs, &tbs_len) != 0 ||
		   sshbuf_put_u8(req, SSH_AGENTC_SIGN_REQUEST) != 0 ||
		   sshbuf_put_string(req, blob, blen) != 0 ||
		   sshbuf_put_string(req, tbs, tbs_len) != 0 || sshbuf_put_u32(req, 0) != 0) {
		errmsg_set(e, "cannot build the ssh-pkcs11-helper request");
	} else if (converse(req, resp, e) == 0) {
		if (sshbuf_get_u8(resp, &type) != 0 || type != SSH_AGENT_SIGN_RESPONSE ||
		    sshbuf_get_string(resp, &raw, &raw_len) != 0)
			errmsg_set(e, "the token did not sign (removed, or logged out?)");
		else if ((r = encode_sig(pub, h, raw, raw_len, sig)) != 0)
			errmsg_set(e, "the token's signature is malformed");
	}
	sshbuf_free(req);
	sshbuf_free(resp);
	return r;
}

void pkcs11_stop(void)
{
	helper_stop(&helper);
}
