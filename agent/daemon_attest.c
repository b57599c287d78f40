/* daemon_attest: the attest@tpm-agent control command behind `tpm-key attest`: the
 * cached attestation key (made and activated against the EK once, kept in
 * <data dir>/attest) certifies one of our keys; the reply is the attestation file. */
#include "daemon_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "../keystore/tpm_attest.h"
#include "../protocol/attestation.h"
#include "../keystore/log.h"

struct ak_cache {
	struct tpm_key key;
	struct att_blob activation;
};

static int ak_path(struct agent *a, const char *file, char *out, size_t len, struct errmsg *e)
{
	char dir[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/attest", a->data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return errmsg_set(e, "cannot create %s: %s", dir, strerror(errno));
	if (snprintf(out, len, "%s/%s", dir, file) >= (int)len)
		return errmsg_set(e, "attest: path too long");
	return 0;
}

/* ak.tss (a TSS2 key file under the SRK) and ak-activation.pem (its AK ACTIVATION). */
static int ak_read(struct agent *a, struct ak_cache *c, struct attestation *tmp,
		   struct tss2key *f, struct errmsg *e)
{
	char path[PATH_MAX + 64], *text = NULL;
	size_t len;
	int r;

	if (ak_path(a, "ak.tss", path, sizeof(path), e) != 0 ||
	    store_read_file(path, TSS2KEY_FILE_MAX, &text, &len, e) != 0)
		return -1;
	r = tss2key_from_pem(text, len, f, e);
	free(text);
	if (r != 0 || f->pub_len > sizeof(c->key.pub) || f->priv_len > sizeof(c->key.priv))
		return -1;
	memcpy(c->key.pub, f->pub, f->pub_len);
	c->key.pub_len = f->pub_len;
	memcpy(c->key.priv, f->priv, f->priv_len);
	c->key.priv_len = f->priv_len;
	if (ak_path(a, "ak-activation.pem", path, sizeof(path), e) != 0 ||
	    store_read_file(path, ATT_FILE_MAX, &text, &len, e) != 0)
		return -1;
	r = attestation_decode(text, len, tmp, e);
	free(text);
	if (r == 0 && tmp->activation.len == 0)
		r = errmsg_set(e, "attest: %s holds no AK ACTIVATION", path);
	if (r == 0)
		c->activation = tmp->activation;
	return r;
}

static int ak_write(struct agent *a, const struct ak_cache *c, struct attestation *tmp,
		    struct tss2key *f, struct errmsg *e)
{
	char path[PATH_MAX + 64], *pem = NULL, *text = NULL;
	size_t pem_len;
	int r;

	memset(f, 0, sizeof(*f));
	f->type = TSS2KEY_LOADABLE;
	f->empty_auth = 1;
	{
		struct tpm_info info;
		struct errmsg ignored;

		/* The running hierarchy's parent (0x40000007 with hierarchy = null). */
		f->parent = tpm_get_info(a->tpm, &info, &ignored) == 0 ? info.parent : a->srk_handle;
	}
	memcpy(f->pub, c->key.pub, c->key.pub_len);
	f->pub_len = c->key.pub_len;
	memcpy(f->priv, c->key.priv, c->key.priv_len);
	f->priv_len = c->key.priv_len;
	memset(tmp, 0, sizeof(*tmp));
	tmp->activation = c->activation;
	r = tss2key_to_pem(f, &pem, &pem_len, e) == 0 &&
	    attestation_encode(tmp, "# tpm-agent: the AK's credential activation against the "
			       "EK\n", &text, e) == 0 ? 0 : -1;
	if (r == 0)
		r = ak_path(a, "ak-activation.pem", path, sizeof(path), e) == 0 &&
		    store_write_atomic(path, text, strlen(text), 0600, e) == 0 &&
		    ak_path(a, "ak.tss", path, sizeof(path), e) == 0 &&
		    store_write_atomic(path, pem, pem_len, 0600, e) == 0 ? 0 : -1;
	free(pem);
	free(text);
	return r;
}

/* The cached AK, made (and activated against the EK) the first time. */
static int ak_get(struct agent *a, struct ak_cache *c, struct attestation *tmp,
		  struct tss2key *f, struct errmsg *e)
{
	struct errmsg why;

	if (ak_read(a, c, tmp, f, &why) == 0)
		return 0;
	memset(c, 0, sizeof(*c));
	if (tpm_attest_make_ak(a->tpm, &c->key, &c->activation, e) != 0 ||
	    ak_write(a, c, tmp, f, e) != 0)
		return -1;
	log_info("made the attestation key (activated against the EK)");
	return 0;
}

static void attest_note(const struct ks_key *k, const struct attestation *att, char *out,
			size_t len)
{
	snprintf(out, len,
		 "# tpm-agent key attestation (format: README, \"Key attestation\")\n"
		 "# key: %s %s\n"
		 "# EK certificate: %s\n"
		 "# check: tpm-key verify-attestation FILE --key %s.pub --ek-ca EK-CA.pem\n",
		 k->name, k->fingerprint,
		 att->ek_cert.len ? "read from TPM NV index 0x01c00002" :
		 "none provisioned in this TPM: the file carries the EK public key only; "
		 "trust it by other means",
		 k->name);
}

static int attest_key(struct agent *a, struct ks_key *k, const uint8_t *pin, size_t pin_len,
		      const uint8_t *nonce, size_t nonce_len, struct sshbuf *out,
		      struct errmsg *e)
{
	struct ak_cache *c = calloc(1, sizeof(*c));
	struct attestation *att = calloc(1, sizeof(*att)), *tmp = calloc(1, sizeof(*tmp));
	struct tss2key *f = calloc(1, sizeof(*f));
	char note[1024], *text = NULL;
	int r = -1;

	if (c == NULL || att == NULL || tmp == NULL || f == NULL)
		errmsg_set(e, "attest: out of memory");
	else if ((r = ak_get(a, c, tmp, f, e)) == 0 && (r = tpm_attest_ek(a->tpm, att, e)) == 0 &&
		 (r = tpm_attest_certify(a->tpm, &c->key, &k->tk, pin, pin_len, nonce, nonce_len,
					 att, e)) == 0) {
		r = -1;
		att->activation = c->activation;
		attest_note(k, att, note, sizeof(note));
		if (attestation_encode(att, note, &text, e) == 0)
			r = sshbuf_put_cstring(out, text) == 0 ? 0 :
			    errmsg_set(e, "attest: reply too large");
	}
	free(text);
	free(c);
	free(att);
	free(tmp);
	free(f);
	return r;
}

int ctl_attest(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	char name[STORE_NAME_MAX];
	const uint8_t *nonce, *pin;
	size_t nonce_len, pin_len;
	struct ks_key *k;
	int r;

	if (sshbuf_get_cstring(body, name, sizeof(name)) != 0 ||
	    sshbuf_get_string(body, &nonce, &nonce_len) != 0)
		return errmsg_set(e, "attest: malformed request");
	if (nonce_len > ATT_NONCE_MAX)
		return errmsg_set(e, "attest: a nonce of at most %d bytes", ATT_NONCE_MAX);
	if ((k = keystore_find_name(a->ks, name)) == NULL)
		return errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
	/* TPM2_Certify authorises the key: its PIN, asked first (else a DA try is spent). */
	if ((r = ctl_key_pin(a, k, &pin, &pin_len, e)) != 0)
		return r;
	if ((r = attest_key(a, k, pin, pin_len, nonce, nonce_len, out, e)) != 0)
		return r;
	log_info("attested key '%s'%s", name, pin != NULL ? " (with its PIN)" : "");
	return 0;
}

/* activate: string TPM2B_ID_OBJECT, string TPM2B_ENCRYPTED_SECRET -> string credential.
 * The enrolment CA's live challenge (tpm-key enroll): ActivateCredential with the cached
 * AK, the one whose TPM2_Certify the CA just checked. No key authorisation is spent. */
int ctl_activate(struct agent *a, struct sshbuf *body, struct sshbuf *out, struct errmsg *e)
{
	struct ak_cache *c = calloc(1, sizeof(*c));
	struct attestation *tmp = calloc(1, sizeof(*tmp));
	struct tss2key *f = calloc(1, sizeof(*f));
	const uint8_t *blob, *secret;
	size_t blob_len, secret_len, cred_len = 0;
	uint8_t cred[64];
	int r = -1;

	if (c == NULL || tmp == NULL || f == NULL)
		errmsg_set(e, "activate: out of memory");
	else if (sshbuf_get_string(body, &blob, &blob_len) != 0 ||
		 sshbuf_get_string(body, &secret, &secret_len) != 0)
		errmsg_set(e, "activate: malformed request");
	else if (ak_read(a, c, tmp, f, e) != 0)
		errmsg_prefix(e, "activate: no attestation key (run tpm-key attest first)");
	else if ((r = tpm_attest_activate(a->tpm, &c->key, blob, blob_len, secret, secret_len,
					  cred, sizeof(cred), &cred_len, e)) == 0)
		r = sshbuf_put_string(out, cred, cred_len) == 0 ? 0 :
		    errmsg_set(e, "activate: reply too large");
	OPENSSL_cleanse(cred, sizeof(cred));
	if (c != NULL)
		OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	free(tmp);
	free(f);
	if (r == 0)
		log_info("answered a CA's credential challenge with the attestation key");
	return r;
}
