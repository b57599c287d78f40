/* sshcert: parses OpenSSH certificate blobs and "*-cert.pub" lines into struct sshcert. */
#include "sshcert.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define B64_LEN(n) (((n) + 2) / 3 * 4)
#define CERT_NAME_MAX 64 /* longer than any certificate type name */

struct cert_name {
	enum sshkey_type type;
	const char *name;
};

static const struct cert_name cert_names[] = {
	{ SSHKEY_ECDSA_P256, "ecdsa-sha2-nistp256-cert-v01@openssh.com" },
	{ SSHKEY_ECDSA_P384, "ecdsa-sha2-nistp384-cert-v01@openssh.com" },
	{ SSHKEY_ECDSA_P521, "ecdsa-sha2-nistp521-cert-v01@openssh.com" },
	{ SSHKEY_RSA, "ssh-rsa-cert-v01@openssh.com" },
};
#define N_CERT_NAMES (sizeof(cert_names) / sizeof(cert_names[0]))

const char *sshcert_type_name(enum sshkey_type t)
{
	size_t i;

	for (i = 0; i < N_CERT_NAMES; i++)
		if (cert_names[i].type == t)
			return cert_names[i].name;
	return NULL;
}

static enum sshkey_type cert_type_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_CERT_NAMES; i++)
		if (strcmp(cert_names[i].name, name) == 0)
			return cert_names[i].type;
	return SSHKEY_UNSPEC;
}

/* Reads a string and ignores its contents. */
static int skip_string(struct sshbuf *b)
{
	const uint8_t *p;
	size_t len;

	return sshbuf_get_string(b, &p, &len);
}

/* The certified key's fields (ECDSA: curve, Q; RSA: e, n) are two strings on the wire.
 * They are re-framed behind the plain type name and checked by sshkey_pub_from_blob. */
static int get_key(struct sshbuf *b, enum sshkey_type t, struct sshkey_pub *k)
{
	const uint8_t *fields = sshbuf_ptr(b);
	size_t before = sshbuf_len(b);
	struct sshbuf *plain;
	int r;

	if ((r = skip_string(b)) != SSHBUF_OK || (r = skip_string(b)) != SSHBUF_OK)
		return r;
	if ((plain = sshbuf_new(SSHKEY_BLOB_MAX)) == NULL)
		return SSHBUF_E_NOMEM;
	if ((r = sshbuf_put_cstring(plain, sshkey_type_name(t))) == SSHBUF_OK &&
	    (r = sshbuf_put(plain, fields, before - sshbuf_len(b))) == SSHBUF_OK)
		r = sshkey_pub_from_blob(sshbuf_ptr(plain), sshbuf_len(plain), k);
	sshbuf_free(plain);
	if (r == SSHBUF_OK && k->type != t)
		r = SSHBUF_E_FORMAT;
	return r;
}

/* The principals string is itself a sequence of strings; every one must fit. */
static int get_principal_list(struct sshbuf *b,
			      char principals[SSHCERT_PRINCIPALS_MAX][SSHCERT_PRINCIPAL_MAX],
			      size_t *n)
{
	struct sshbuf list;
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = sshbuf_get_string(b, &p, &len)) != SSHBUF_OK)
		return r;
	sshbuf_view(&list, p, len);
	while (sshbuf_len(&list) > 0) {
		if (*n == SSHCERT_PRINCIPALS_MAX)
			return SSHBUF_E_TOOBIG;
		r = sshbuf_get_cstring(&list, principals[*n], SSHCERT_PRINCIPAL_MAX);
		if (r != SSHBUF_OK)
			return r;
		(*n)++;
	}
	return SSHBUF_OK;
}

/* "SHA256:<unpadded base64>" of a raw key blob, as ssh-keygen -l prints it. */
static int fingerprint_blob(const uint8_t *blob, size_t len, char out[SSHKEY_FP_MAX])
{
	static const char prefix[] = "SHA256:";
	uint8_t digest[32];
	char b64[B64_LEN(sizeof(digest)) + 1];
	int n;

	if (!EVP_Digest(blob, len, digest, NULL, EVP_sha256(), NULL))
		return SSHBUF_E_NOMEM;
	n = EVP_EncodeBlock((unsigned char *)b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	memcpy(out, prefix, sizeof(prefix) - 1);
	memcpy(out + sizeof(prefix) - 1, b64, (size_t)n + 1);
	return SSHBUF_OK;
}

/* The signature key may be of any type (ed25519 CAs are common): only fingerprinted. */
static int get_signature_key(struct sshbuf *b, struct sshcert *c)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = sshbuf_get_string(b, &p, &len)) != SSHBUF_OK)
		return r;
	if (len == 0)
		return SSHBUF_E_FORMAT;
	return fingerprint_blob(p, len, c->ca_fingerprint);
}

/* Type name and nonce; fills c->key_type. */
static int get_header(struct sshbuf *b, struct sshcert *c)
{
	char name[CERT_NAME_MAX];
	int r;

	if ((r = sshbuf_get_cstring(b, name, sizeof(name))) != SSHBUF_OK)
		return r == SSHBUF_E_TOOBIG ? SSHBUF_E_FORMAT : r;
	if ((c->key_type = cert_type_from_name(name)) == SSHKEY_UNSPEC)
		return SSHBUF_E_FORMAT; /* unknown type, ed25519 cert, or a plain key */
	return skip_string(b);       /* nonce */
}

/* serial, type, key id, principals, validity. */
static int get_body(struct sshbuf *b, struct sshcert *c)
{
	int r;

	if ((r = sshbuf_get_u64(b, &c->serial)) != SSHBUF_OK ||
	    (r = sshbuf_get_u32(b, &c->cert_type)) != SSHBUF_OK ||
	    (r = sshbuf_get_cstring(b, c->key_id, sizeof(c->key_id))) != SSHBUF_OK ||
	    (r = get_principal_list(b, c->principals, &c->n_principals)) != SSHBUF_OK ||
	    (r = sshbuf_get_u64(b, &c->valid_after)) != SSHBUF_OK ||
	    (r = sshbuf_get_u64(b, &c->valid_before)) != SSHBUF_OK)
		return r;
	if (c->cert_type != SSHCERT_TYPE_USER && c->cert_type != SSHCERT_TYPE_HOST)
		return SSHBUF_E_FORMAT;
	return SSHBUF_OK;
}

/* critical options, extensions, reserved, signature key, signature. */
static int get_trailer(struct sshbuf *b, struct sshcert *c)
{
	const uint8_t *sig;
	size_t sig_len;
	int r;

	if ((r = skip_string(b)) != SSHBUF_OK || (r = skip_string(b)) != SSHBUF_OK ||
	    (r = skip_string(b)) != SSHBUF_OK || (r = get_signature_key(b, c)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(b, &sig, &sig_len)) != SSHBUF_OK)
		return r;
	if (sig_len == 0 || sshbuf_len(b) != 0)
		return SSHBUF_E_FORMAT;
	return SSHBUF_OK;
}

int sshcert_from_blob(const uint8_t *blob, size_t len, struct sshcert *c)
{
	struct sshbuf b;
	int r;

	memset(c, 0, sizeof(*c));
	if (len > SSHCERT_BLOB_MAX)
		return SSHBUF_E_TOOBIG;
	sshbuf_view(&b, blob, len);
	if ((r = get_header(&b, c)) == SSHBUF_OK &&
	    (r = get_key(&b, c->key_type, &c->key)) == SSHBUF_OK &&
	    (r = get_body(&b, c)) == SSHBUF_OK &&
	    (r = get_trailer(&b, c)) == SSHBUF_OK)
		return SSHBUF_OK;
	memset(c, 0, sizeof(*c));
	return r;
}

int sshcert_valid_at(const struct sshcert *c, uint64_t now)
{
	return c->valid_after <= now && now < c->valid_before;
}

int sshcert_any_valid_at(const struct sshcert_any *c, uint64_t now)
{
	return c->valid_after <= now && now < c->valid_before;
}

int sshcert_from_line(const char *line, uint8_t **blob, size_t *blob_len,
		      struct sshcert *c, char *comment, size_t comment_len)
{
	char name[CERT_NAME_MAX];
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = sshkey_line_split(line, name, sizeof(name), blob, blob_len, SSHCERT_BLOB_MAX,
				   comment, comment_len)) != SSHBUF_OK)
		return r;
	r = sshcert_from_blob(*blob, *blob_len, c);
	/* the line's type word must name the blob's type */
	if (r == SSHBUF_OK && strcmp(name, sshcert_type_name(c->key_type)) != 0)
		r = SSHBUF_E_FORMAT;
	if (r != SSHBUF_OK) {
		free(*blob);
		*blob = NULL;
		*blob_len = 0;
		memset(c, 0, sizeof(*c));
		if (comment != NULL && comment_len > 0)
			comment[0] = '\0';
	}
	return r;
}

/* ---- host-key certificates of any type ---- */

#define CERT_SUFFIX "-cert-v01@openssh.com"

/* The plain types whose certificates sshd presents, with the number of key fields
 * (strings or mpints) each certificate carries after its nonce. */
static const struct {
	const char *plain;
	int fields;
} any_types[] = {
	{ "ssh-ed25519", 1 },
	{ "ecdsa-sha2-nistp256", 2 },
	{ "ecdsa-sha2-nistp384", 2 },
	{ "ecdsa-sha2-nistp521", 2 },
	{ "ssh-rsa", 2 },
};

int sshcert_is_cert_blob(const uint8_t *blob, size_t len)
{
	char name[CERT_NAME_MAX];
	struct sshbuf b;
	size_t n, s = strlen(CERT_SUFFIX);

	sshbuf_view(&b, blob, len);
	if (sshbuf_get_cstring(&b, name, sizeof(name)) != SSHBUF_OK)
		return 0;
	n = strlen(name);
	return n > s && strcmp(name + n - s, CERT_SUFFIX) == 0;
}

/* Type name, nonce and key fields: the plain key blob into c->key. */
static int get_any_key(struct sshbuf *b, struct sshcert_any *c)
{
	char name[CERT_NAME_MAX];
	const uint8_t *fields;
	size_t i, n = sizeof(any_types) / sizeof(any_types[0]), plen = 0, before, flen;
	int r;

	if ((r = sshbuf_get_cstring(b, name, sizeof(name))) != SSHBUF_OK)
		return r == SSHBUF_E_TOOBIG ? SSHBUF_E_FORMAT : r;
	for (i = 0; i < n; i++) {
		plen = strlen(any_types[i].plain);
		if (strncmp(name, any_types[i].plain, plen) == 0 &&
		    strcmp(name + plen, CERT_SUFFIX) == 0)
			break;
	}
	if (i == n)
		return SSHBUF_E_FORMAT;
	if ((r = skip_string(b)) != SSHBUF_OK) /* nonce */
		return r;
	fields = sshbuf_ptr(b);
	before = sshbuf_len(b);
	for (int f = 0; f < any_types[i].fields; f++)
		if ((r = skip_string(b)) != SSHBUF_OK)
			return r;
	flen = before - sshbuf_len(b);
	if (4 + plen + flen > sizeof(c->key))
		return SSHBUF_E_TOOBIG;
	/* string plain type name, then the fields as they are */
	c->key[0] = 0;
	c->key[1] = 0;
	c->key[2] = (uint8_t)(plen >> 8);
	c->key[3] = (uint8_t)plen;
	memcpy(c->key + 4, any_types[i].plain, plen);
	memcpy(c->key + 4 + plen, fields, flen);
	c->key_len = 4 + plen + flen;
	return SSHBUF_OK;
}

int sshcert_any_from_blob(const uint8_t *blob, size_t len, struct sshcert_any *c)
{
	const uint8_t *critical;
	uint64_t serial;
	struct sshbuf b;
	int r;

	memset(c, 0, sizeof(*c));
	if (len > SSHCERT_BLOB_MAX)
		return SSHBUF_E_TOOBIG;
	sshbuf_view(&b, blob, len);
	if ((r = get_any_key(&b, c)) != SSHBUF_OK ||
	    (r = sshbuf_get_u64(&b, &serial)) != SSHBUF_OK ||
	    (r = sshbuf_get_u32(&b, &c->cert_type)) != SSHBUF_OK ||
	    (r = skip_string(&b)) != SSHBUF_OK || /* key id */
	    (r = get_principal_list(&b, c->principals, &c->n_principals)) != SSHBUF_OK ||
	    (r = sshbuf_get_u64(&b, &c->valid_after)) != SSHBUF_OK ||
	    (r = sshbuf_get_u64(&b, &c->valid_before)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&b, &critical, &c->critical_len)) != SSHBUF_OK ||
	    (r = skip_string(&b)) != SSHBUF_OK || (r = skip_string(&b)) != SSHBUF_OK ||
	    (r = sshbuf_get_string(&b, &c->ca, &c->ca_len)) != SSHBUF_OK)
		goto fail;
	c->signed_len = len - sshbuf_len(&b);
	if ((r = sshbuf_get_string(&b, &c->sig, &c->sig_len)) != SSHBUF_OK)
		goto fail;
	if (c->ca_len == 0 || c->sig_len == 0 || sshbuf_len(&b) != 0 ||
	    (c->cert_type != SSHCERT_TYPE_USER && c->cert_type != SSHCERT_TYPE_HOST)) {
		r = SSHBUF_E_FORMAT;
		goto fail;
	}
	return SSHBUF_OK;
fail:
	memset(c, 0, sizeof(*c));
	return r;
}
