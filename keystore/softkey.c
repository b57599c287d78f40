/* softkey: parses ssh-add's private key messages straight into sodium memory and checks
 * them (signing with them: softkey_sign.c). */
#include "softkey.h"

#include "../protocol/sshcert.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "softkey_internal.h"

#define CERT_SUFFIX      "-cert-v01@openssh.com"

static int refuse(struct errmsg *e, const char *fmt, const char *arg)
{
	errmsg_set(e, fmt, arg);
	return SOFTKEY_E_REFUSED;
}

/* Type names reach the log: anything unprintable is not echoed. */
static const char *printable(const char *s)
{
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return "(unprintable)";
	return s;
}

static int copy_secret(struct secret_num *dst, const uint8_t *src, size_t len)
{
	if (len == 0 || len > sizeof(dst->v))
		return -1;
	memcpy(dst->v, src, len);
	dst->len = len;
	return 0;
}

/* ---- Ed25519: string public (32), string seed||public (64) ---- */

static int ed25519_seed_matches(const struct softkey *k, const uint8_t *pub)
{
	uint8_t pk[ED25519_PUB_LEN];
	unsigned char *sk = sodium_malloc(ED25519_SK_LEN);
	int ok;

	if (sk == NULL)
		return 0;
	ok = crypto_sign_seed_keypair(pk, sk, k->sec->ed_sk) == 0 &&
	     sodium_memcmp(pk, pub, ED25519_PUB_LEN) == 0;
	sodium_free(sk);
	return ok;
}

static int parse_ed25519(struct sshbuf *b, struct softkey *k, struct errmsg *e)
{
	const uint8_t *pub, *sk;
	size_t pub_len, sk_len;
	int r;

	if ((r = sshbuf_get_string(b, &pub, &pub_len)) != 0 ||
	    (r = sshbuf_get_string(b, &sk, &sk_len)) != 0)
		return r;
	if (pub_len != ED25519_PUB_LEN || sk_len != ED25519_SK_LEN)
		return refuse(e, "%s key with wrong field sizes", "Ed25519");
	memcpy(k->sec->ed_sk, sk, ED25519_SK_LEN);
	if (sodium_memcmp(k->sec->ed_sk + 32, pub, ED25519_PUB_LEN) != 0 ||
	    !ed25519_seed_matches(k, pub))
		return refuse(e, "%s private key does not match its public key", "Ed25519");
	memcpy(k->ed_pub, pub, ED25519_PUB_LEN);
	k->kind = SOFTKEY_ED25519;
	return 0;
}

/* ---- ECDSA: string curve, string Q, mpint d ---- */

static int parse_ecdsa(struct sshbuf *b, enum sshkey_type t, struct softkey *k,
		       struct errmsg *e)
{
	char curve[16];
	const uint8_t *q, *d;
	size_t q_len, d_len, field = sshkey_ec_field_len(t);
	int r = sshbuf_get_cstring(b, curve, sizeof(curve));

	if (r == SSHBUF_E_TOOBIG)
		return refuse(e, "%s key with an unknown curve", sshkey_type_name(t));
	if (r != 0 || (r = sshbuf_get_string(b, &q, &q_len)) != 0 ||
	    (r = sshbuf_get_mpint(b, &d, &d_len)) != 0)
		return r;
	if (strcmp(curve, sshkey_curve_name(t)) != 0)
		return refuse(e, "%s key whose curve name does not match its type",
			      sshkey_type_name(t));
	if (q_len != 1 + 2 * field || q[0] != 0x04 || d_len > field ||
	    copy_secret(&k->sec->ec_d, d, d_len) != 0)
		return refuse(e, "%s key with a malformed point or scalar", sshkey_type_name(t));
	memcpy(k->pub.q, q, q_len);
	k->pub.q_len = q_len;
	k->pub.type = t;
	k->kind = SOFTKEY_ECDSA;
	return 0;
}

/* ---- RSA: mpint n, e, d, iqmp, p, q ---- */

static unsigned magnitude_bits(const uint8_t *p, size_t len)
{
	unsigned bits = (unsigned)len * 8;

	for (uint8_t top = len ? p[0] : 0, mask = 0x80; len && mask && !(top & mask); mask >>= 1)
		bits--;
	return bits;
}

/* d mod (p-1) and d mod (q-1), which OpenSSL wants for CRT signing; computed once here
 * in OpenSSL secure BIGNUMs (cleared on free) and kept in sodium memory. */
static int rsa_crt_exponent(const struct secret_num *d, const struct secret_num *prime,
			    struct secret_num *out, BN_CTX *ctx)
{
	BIGNUM *bd = BN_secure_new(), *bp = BN_secure_new(), *r = BN_secure_new();
	int ok = bd && bp && r && BN_bin2bn(d->v, (int)d->len, bd) &&
		 BN_bin2bn(prime->v, (int)prime->len, bp) && BN_sub_word(bp, 1) &&
		 !BN_is_zero(bp) && BN_mod(r, bd, bp, ctx) && !BN_is_zero(r) &&
		 BN_num_bytes(r) <= (int)sizeof(out->v);

	if (ok)
		out->len = (size_t)BN_bn2bin(r, out->v);
	BN_clear_free(bd);
	BN_clear_free(bp);
	BN_clear_free(r);
	return ok ? 0 : -1;
}

static int rsa_fill_crt(struct softkey *k)
{
	BN_CTX *ctx = BN_CTX_secure_new();
	int r = ctx == NULL ? -1 : 0;

	if (r == 0)
		r = rsa_crt_exponent(&k->sec->rsa.d, &k->sec->rsa.p, &k->sec->rsa.dmp1, ctx);
	if (r == 0)
		r = rsa_crt_exponent(&k->sec->rsa.d, &k->sec->rsa.q, &k->sec->rsa.dmq1, ctx);
	BN_CTX_free(ctx);
	return r;
}

static int parse_rsa(struct sshbuf *b, struct softkey *k, struct errmsg *e)
{
	const uint8_t *f[6];
	size_t l[6];
	unsigned bits;
	int r;

	for (int i = 0; i < 6; i++)
		if ((r = sshbuf_get_mpint(b, &f[i], &l[i])) != 0)
			return r;
	/* f: n, e, d, iqmp, p, q */
	bits = magnitude_bits(f[0], l[0]);
	if (bits < SOFTKEY_RSA_MIN_BITS || bits > SOFTKEY_RSA_MAX_BITS)
		return refuse(e, "RSA key of a size outside 1024..4096 bits%s", "");
	if (l[1] == 0 || l[1] > sizeof(k->pub.e) || copy_secret(&k->sec->rsa.d, f[2], l[2]) ||
	    copy_secret(&k->sec->rsa.iqmp, f[3], l[3]) || copy_secret(&k->sec->rsa.p, f[4], l[4]) ||
	    copy_secret(&k->sec->rsa.q, f[5], l[5]) || rsa_fill_crt(k) != 0)
		return refuse(e, "RSA key with malformed private parts%s", "");
	memcpy(k->pub.n, f[0], l[0]);
	k->pub.n_len = l[0];
	memcpy(k->pub.e, f[1], l[1]);
	k->pub.e_len = l[1];
	k->pub.type = SSHKEY_RSA;
	k->kind = SOFTKEY_RSA;
	return 0;
}

/* ---- public blob, comment ---- */

static int build_blob(struct softkey *k)
{
	struct sshbuf *b = sshbuf_new(SSHKEY_BLOB_MAX);
	int r;

	if (b == NULL)
		return SSHBUF_E_NOMEM;
	if (k->kind == SOFTKEY_ED25519) {
		if ((r = sshbuf_put_cstring(b, "ssh-ed25519")) == 0)
			r = sshbuf_put_string(b, k->ed_pub, ED25519_PUB_LEN);
	} else {
		r = sshkey_pub_to_blob(&k->pub, b);
	}
	if (r == 0) {
		memcpy(k->blob, sshbuf_ptr(b), sshbuf_len(b));
		k->blob_len = sshbuf_len(b);
	}
	sshbuf_free(b);
	return r;
}

/* Copies the comment, cut at a NUL or at SOFTKEY_COMMENT_MAX-1 bytes without
 * splitting a UTF-8 character. */
static int parse_comment(struct sshbuf *b, struct softkey *k)
{
	const uint8_t *p, *nul;
	size_t len;
	int r;

	if ((r = sshbuf_get_string(b, &p, &len)) != 0)
		return r;
	if ((nul = memchr(p, '\0', len)) != NULL)
		len = (size_t)(nul - p);
	if (len > SOFTKEY_COMMENT_MAX - 1) {
		len = SOFTKEY_COMMENT_MAX - 1;
		while (len > 0 && (p[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(k->comment, p, len);
	k->comment[len] = '\0';
	return 0;
}

/* ---- FIDO keys (PROTOCOL.u2f): the key's public fields, then string application,
 * byte flags, string key handle, string reserved. The certificate forms carry the
 * certificate blob first; sk-ssh-ed25519 certificates repeat the public key. ---- */

#define SK_ECDSA "sk-ecdsa-sha2-nistp256@openssh.com"
#define SK_ED25519 "sk-ssh-ed25519@openssh.com"
#define SK_ECDSA_CERT "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
#define SK_ED25519_CERT "sk-ssh-ed25519-cert-v01@openssh.com"

static int is_sk_type(const char *type)
{
	return strcmp(type, SK_ECDSA) == 0 || strcmp(type, SK_ED25519) == 0 ||
	       strcmp(type, SK_ECDSA_CERT) == 0 || strcmp(type, SK_ED25519_CERT) == 0;
}

/* Public blob of a plain sk key: type, its public fields, string application. */
static int sk_build_blob(struct softkey *k, const char *type, const uint8_t *pub, size_t pub_len)
{
	struct sshbuf *b = sshbuf_new(SSHKEY_BLOB_MAX);
	int r = b == NULL ? SSHBUF_E_NOMEM : 0;

	if (r == 0 && (r = sshbuf_put_cstring(b, type)) == 0 &&
	    strcmp(type, SK_ECDSA) == 0 && (r = sshbuf_put_cstring(b, "nistp256")) == 0)
		r = sshbuf_put_string(b, pub, pub_len);
	else if (r == 0)
		r = sshbuf_put_string(b, pub, pub_len);
	if (r == 0)
		r = sshbuf_put_cstring(b, k->sk_application);
	if (r == 0) {
		memcpy(k->blob, sshbuf_ptr(b), sshbuf_len(b));
		k->blob_len = sshbuf_len(b);
	}
	sshbuf_free(b);
	return r;
}

static int parse_sk(struct sshbuf *b, const char *type, size_t start, struct softkey *k,
		    struct errmsg *e)
{
	int ecdsa = strncmp(type, "sk-ecdsa", 8) == 0, cert = strstr(type, CERT_SUFFIX) != NULL;
	const uint8_t *pub = NULL, *blob, *handle, *reserved;
	size_t pub_len = 0, blen, handle_len, reserved_len;
	char curve[16];
	int r;

	if (cert) {
		if ((r = sshbuf_get_string(b, &blob, &blen)) != 0)
			return r;
		if (blen == 0 || blen > SSHCERT_BLOB_MAX || (k->cert = malloc(blen)) == NULL)
			return refuse(e, "%s certificate of a bad size", type);
		memcpy(k->cert, blob, blen);
		k->cert_len = blen;
		snprintf(k->cert_type, sizeof(k->cert_type), "%s", type);
	}
	if (ecdsa && !cert) {
		r = sshbuf_get_cstring(b, curve, sizeof(curve));
		if (r == SSHBUF_E_TOOBIG || (r == 0 && strcmp(curve, "nistp256") != 0))
			return refuse(e, "%s key with a wrong curve", type);
		if (r != 0 || (r = sshbuf_get_string(b, &pub, &pub_len)) != 0)
			return r;
		if (pub_len != 65 || pub[0] != 0x04)
			return refuse(e, "%s key with a malformed point", type);
	} else if (!ecdsa) {
		if ((r = sshbuf_get_string(b, &pub, &pub_len)) != 0)
			return r;
		if (pub_len != ED25519_PUB_LEN)
			return refuse(e, "%s key with a malformed public key", type);
	}
	r = sshbuf_get_cstring(b, k->sk_application, sizeof(k->sk_application));
	if (r == SSHBUF_E_TOOBIG)
		return refuse(e, "%s key with too long an application", type);
	if (r != 0 || (r = sshbuf_get_u8(b, &k->sk_flags)) != 0 ||
	    (r = sshbuf_get_string(b, &handle, &handle_len)) != 0 ||
	    (r = sshbuf_get_string(b, &reserved, &reserved_len)) != 0)
		return r;
	(void)handle;
	(void)reserved;
	if (handle_len == 0)
		return refuse(e, "%s key without a key handle", type);
	k->sk_raw_len = b->off - start;
	if ((k->sk_raw = malloc(k->sk_raw_len)) == NULL)
		return refuse(e, "out of memory%s", "");
	memcpy(k->sk_raw, b->d + start, k->sk_raw_len);
	k->kind = SOFTKEY_SK;
	if (!cert && sk_build_blob(k, type, pub, pub_len) != 0)
		return refuse(e, "%s: cannot encode the public key", type);
	if (!cert)
		snprintf(k->cert_type, sizeof(k->cert_type), "%s", type);
	return 0;
}

/* ---- certificates (PROTOCOL.certkeys): string cert blob, then the key's private
 * fields without those the certificate carries ---- */

/* The public fields inside a cert blob: string type, string nonce, then the key's own
 * public fields (Ed25519: string pk; ECDSA: string curve, string Q; RSA: mpint e,
 * mpint n). The rest (serial, principals, validity, CA signature) is sshd's to judge. */
static int cert_public(struct softkey *k, const char *base, struct errmsg *e)
{
	struct sshbuf c;
	char type[64], curve[16];
	const uint8_t *nonce, *a, *b;
	size_t nonce_len, a_len, b_len;
	enum sshkey_type t = sshkey_type_from_name(base);

	sshbuf_view(&c, k->cert, k->cert_len);
	if (sshbuf_get_cstring(&c, type, sizeof(type)) != 0 || strcmp(type, k->cert_type) != 0 ||
	    sshbuf_get_string(&c, &nonce, &nonce_len) != 0)
		return refuse(e, "%s certificate is malformed or of another type", k->cert_type);
	if (strcmp(base, "ssh-ed25519") == 0) {
		if (sshbuf_get_string(&c, &a, &a_len) != 0 || a_len != ED25519_PUB_LEN)
			return refuse(e, "%s certificate with a malformed key", k->cert_type);
		memcpy(k->ed_pub, a, ED25519_PUB_LEN);
		return 0;
	}
	if (t == SSHKEY_RSA) {
		if (sshbuf_get_mpint(&c, &a, &a_len) != 0 || sshbuf_get_mpint(&c, &b, &b_len) != 0 ||
		    a_len == 0 || a_len > sizeof(k->pub.e) || b_len > sizeof(k->pub.n))
			return refuse(e, "%s certificate with a malformed key", k->cert_type);
		memcpy(k->pub.e, a, a_len);
		k->pub.e_len = a_len;
		memcpy(k->pub.n, b, b_len);
		k->pub.n_len = b_len;
		k->pub.type = t;
		return 0;
	}
	if (sshbuf_get_cstring(&c, curve, sizeof(curve)) != 0 ||
	    strcmp(curve, sshkey_curve_name(t)) != 0 || sshbuf_get_string(&c, &a, &a_len) != 0 ||
	    a_len != 1 + 2 * sshkey_ec_field_len(t) || a[0] != 0x04)
		return refuse(e, "%s certificate with a malformed key", k->cert_type);
	memcpy(k->pub.q, a, a_len);
	k->pub.q_len = a_len;
	k->pub.type = t;
	return 0;
}

static int parse_cert_ed25519(struct sshbuf *b, struct softkey *k, struct errmsg *e)
{
	uint8_t cert_pub[ED25519_PUB_LEN];
	int r;

	memcpy(cert_pub, k->ed_pub, sizeof(cert_pub));
	if ((r = parse_ed25519(b, k, e)) != 0)
		return r;
	if (memcmp(cert_pub, k->ed_pub, sizeof(cert_pub)) != 0)
		return refuse(e, "%s: the key is not the certificate's key", k->cert_type);
	return 0;
}

static int parse_cert_ecdsa(struct sshbuf *b, struct softkey *k, struct errmsg *e)
{
	const uint8_t *d;
	size_t d_len;
	int r;

	if ((r = sshbuf_get_mpint(b, &d, &d_len)) != 0)
		return r;
	if (d_len > sshkey_ec_field_len(k->pub.type) || copy_secret(&k->sec->ec_d, d, d_len) != 0)
		return refuse(e, "%s with a malformed scalar", k->cert_type);
	k->kind = SOFTKEY_ECDSA;
	return 0;
}

static int parse_cert_rsa(struct sshbuf *b, struct softkey *k, struct errmsg *e)
{
	const uint8_t *f[4];
	size_t l[4];
	unsigned bits = magnitude_bits(k->pub.n, k->pub.n_len);
	int r;

	for (int i = 0; i < 4; i++) /* d, iqmp, p, q */
		if ((r = sshbuf_get_mpint(b, &f[i], &l[i])) != 0)
			return r;
	if (bits < SOFTKEY_RSA_MIN_BITS || bits > SOFTKEY_RSA_MAX_BITS)
		return refuse(e, "RSA key of a size outside 1024..4096 bits%s", "");
	if (copy_secret(&k->sec->rsa.d, f[0], l[0]) || copy_secret(&k->sec->rsa.iqmp, f[1], l[1]) ||
	    copy_secret(&k->sec->rsa.p, f[2], l[2]) || copy_secret(&k->sec->rsa.q, f[3], l[3]) ||
	    rsa_fill_crt(k) != 0)
		return refuse(e, "RSA key with malformed private parts%s", "");
	k->kind = SOFTKEY_RSA;
	return 0;
}

static int parse_cert_fields(struct sshbuf *b, const char *type, struct softkey *k,
			     struct errmsg *e)
{
	char base[64];
	const uint8_t *blob;
	size_t len = strlen(type), blen;
	enum sshkey_type t;
	int r;

	snprintf(base, sizeof(base), "%.*s", (int)(len - strlen(CERT_SUFFIX)), type);
	t = sshkey_type_from_name(base);
	if (strcmp(base, "ssh-ed25519") != 0 && t == SSHKEY_UNSPEC)
		return refuse(e, "certificate type '%s' is not supported (Ed25519, ECDSA and RSA "
			      "certificates are)", printable(type));
	if ((r = sshbuf_get_string(b, &blob, &blen)) != 0)
		return r;
	if (blen == 0 || blen > SSHCERT_BLOB_MAX || (k->cert = malloc(blen)) == NULL)
		return refuse(e, "%s certificate of a bad size", printable(type));
	memcpy(k->cert, blob, blen);
	k->cert_len = blen;
	snprintf(k->cert_type, sizeof(k->cert_type), "%s", type);
	if ((r = cert_public(k, base, e)) != 0)
		return r;
	if (strcmp(base, "ssh-ed25519") == 0)
		return parse_cert_ed25519(b, k, e);
	return t == SSHKEY_RSA ? parse_cert_rsa(b, k, e) : parse_cert_ecdsa(b, k, e);
}

static int parse_key_fields(struct sshbuf *b, const char *type, size_t start,
			    struct softkey *k, struct errmsg *e)
{
	size_t len = strlen(type);

	if (is_sk_type(type))
		return parse_sk(b, type, start, k, e);
	if (len > strlen(CERT_SUFFIX) && strcmp(type + len - strlen(CERT_SUFFIX), CERT_SUFFIX) == 0)
		return parse_cert_fields(b, type, k, e);
	enum sshkey_type t = sshkey_type_from_name(type);

	if (strcmp(type, "ssh-ed25519") == 0)
		return parse_ed25519(b, k, e);
	if (t == SSHKEY_ECDSA_P256 || t == SSHKEY_ECDSA_P384 || t == SSHKEY_ECDSA_P521)
		return parse_ecdsa(b, t, k, e);
	if (strcmp(type, "ssh-rsa") == 0)
		return parse_rsa(b, k, e);
	return refuse(e, "key type '%s' is not supported (Ed25519, ECDSA and RSA are)",
		      printable(type));
}

int softkey_parse(struct sshbuf *body, struct softkey **out, struct errmsg *e)
{
	struct sshbuf tmp = *body;
	struct softkey *k;
	char type[64];
	int r;

	*out = NULL;
	if (sodium_init() < 0)
		return refuse(e, "libsodium failed to initialise%s", "");
	if ((r = sshbuf_get_cstring(&tmp, type, sizeof(type))) == SSHBUF_E_TOOBIG)
		return refuse(e, "key type name too long%s", "");
	if (r != 0)
		return r;
	if ((k = calloc(1, sizeof(*k))) == NULL || (k->sec = sodium_malloc(sizeof(*k->sec))) == NULL) {
		free(k);
		return refuse(e, "out of secure memory%s", "");
	}
	memset(k->sec, 0, sizeof(*k->sec));
	if ((r = parse_key_fields(&tmp, type, body->off, k, e)) == 0 &&
	    (r = parse_comment(&tmp, k)) == 0 && k->kind != SOFTKEY_SK && (r = build_blob(k)) != 0)
		r = refuse(e, "cannot encode the public key%s", "");
	if (r == 0 && (k->kind == SOFTKEY_ECDSA || k->kind == SOFTKEY_RSA) && !openssl_pair_ok(k))
		r = refuse(e, "%s private key does not match its public key (or is invalid)",
			   softkey_type_name(k));
	if (r != 0) {
		softkey_free(k);
		return r;
	}
	sodium_mprotect_noaccess(k->sec);
	body->off = tmp.off;
	*out = k;
	return 0;
}

int softkey_new_token(const uint8_t *blob, size_t len, const char *comment,
		      struct softkey **out, struct errmsg *e)
{
	struct softkey *k;

	*out = NULL;
	if (len > sizeof(k->blob))
		return refuse(e, "token key blob too large%s", "");
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return refuse(e, "out of memory%s", "");
	if (sshkey_pub_from_blob(blob, len, &k->pub) != 0) {
		free(k);
		return refuse(e, "the token offers a key of a type we cannot use (RSA and ECDSA "
			      "are)%s", "");
	}
	memcpy(k->blob, blob, len);
	k->blob_len = len;
	snprintf(k->comment, sizeof(k->comment), "%s", comment);
	k->kind = SOFTKEY_TOKEN;
	*out = k;
	return 0;
}

const struct sshkey_pub *softkey_pub(const struct softkey *k)
{
	return &k->pub;
}

void softkey_free(struct softkey *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sec); /* makes it writable, wipes, unmaps */
	free(k->cert);
	if (k->sk_raw != NULL)
		OPENSSL_cleanse(k->sk_raw, k->sk_raw_len);
	free(k->sk_raw);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

enum softkey_kind softkey_kind(const struct softkey *k)
{
	return k->kind;
}

const uint8_t *softkey_blob(const struct softkey *k, size_t *len)
{
	*len = k->cert != NULL ? k->cert_len : k->blob_len;
	return k->cert != NULL ? k->cert : k->blob;
}

const uint8_t *softkey_sk_private(const struct softkey *k, size_t *len)
{
	*len = k->sk_raw_len;
	return k->kind == SOFTKEY_SK ? k->sk_raw : NULL;
}

uint8_t softkey_sk_flags(const struct softkey *k)
{
	return k->kind == SOFTKEY_SK ? k->sk_flags : 0;
}

const char *softkey_sk_application(const struct softkey *k)
{
	return k->kind == SOFTKEY_SK ? k->sk_application : NULL;
}

int softkey_is_cert(const struct softkey *k)
{
	return k->cert != NULL;
}

const char *softkey_comment(const struct softkey *k)
{
	return k->comment;
}

const char *softkey_type_name(const struct softkey *k)
{
	if (k->cert != NULL || k->kind == SOFTKEY_SK)
		return k->cert_type;
	if (k->kind == SOFTKEY_TOKEN)
		return sshkey_type_name(k->pub.type);
	return k->kind == SOFTKEY_ED25519 ? "ssh-ed25519" : sshkey_type_name(k->pub.type);
}

int softkey_fingerprint(const struct softkey *k, char out[SSHKEY_FP_MAX])
{
	uint8_t digest[32];
	char b64[48];
	int n;

	size_t len;
	const uint8_t *blob = softkey_blob(k, &len);

	if (!EVP_Digest(blob, len, digest, NULL, EVP_sha256(), NULL))
		return -1;
	n = EVP_EncodeBlock((unsigned char *)b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(out, SSHKEY_FP_MAX, "SHA256:%s", b64);
	return 0;
}
