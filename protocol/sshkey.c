/* sshkey: SSH public key blobs, .pub lines, SHA256 fingerprints and signature blobs
 * for ECDSA P-256/384/521 and RSA. Hashing and base64 come from OpenSSL. */
#include "sshkey.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#define RSA_MIN_BITS 1024 /* OpenSSH refuses smaller moduli (SSH_RSA_MINIMUM_MODULUS_SIZE) */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

struct type_info {
	enum sshkey_type type;
	const char *name;
	const char *curve;    /* NULL for RSA */
	size_t field_len;
	unsigned bits;
	int nid;
	enum sshkey_hash hash; /* ECDSA: the hash the curve signs with */
};

static const struct type_info type_table[] = {
	{ SSHKEY_RSA, "ssh-rsa", NULL, 0, 0, NID_undef, SSHKEY_HASH_NONE },
	{ SSHKEY_ECDSA_P256, "ecdsa-sha2-nistp256", "nistp256", 32, 256,
	  NID_X9_62_prime256v1, SSHKEY_HASH_SHA256 },
	{ SSHKEY_ECDSA_P384, "ecdsa-sha2-nistp384", "nistp384", 48, 384,
	  NID_secp384r1, SSHKEY_HASH_SHA384 },
	{ SSHKEY_ECDSA_P521, "ecdsa-sha2-nistp521", "nistp521", 66, 521,
	  NID_secp521r1, SSHKEY_HASH_SHA512 },
};

static const struct type_info *type_info(enum sshkey_type t)
{
	size_t i;

	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (type_table[i].type == t)
			return &type_table[i];
	return NULL;
}

static int is_ecdsa(enum sshkey_type t)
{
	const struct type_info *ti = type_info(t);

	return ti != NULL && ti->curve != NULL;
}

const char *sshkey_type_name(enum sshkey_type t)
{
	const struct type_info *ti = type_info(t);

	return ti == NULL ? NULL : ti->name;
}

enum sshkey_type sshkey_type_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (strcmp(type_table[i].name, name) == 0)
			return type_table[i].type;
	return SSHKEY_UNSPEC;
}

const char *sshkey_curve_name(enum sshkey_type t)
{
	const struct type_info *ti = type_info(t);

	return ti == NULL ? NULL : ti->curve;
}

size_t sshkey_ec_field_len(enum sshkey_type t)
{
	const struct type_info *ti = type_info(t);

	return ti == NULL ? 0 : ti->field_len;
}

/* Bit length of an unsigned big-endian magnitude (leading zero bytes allowed). */
static unsigned magnitude_bits(const uint8_t *p, size_t len)
{
	unsigned bits;
	uint8_t top;

	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	for (bits = 0, top = p[0]; top != 0; top >>= 1)
		bits++;
	return (unsigned)(len - 1) * 8 + bits;
}

unsigned sshkey_bits(const struct sshkey_pub *k)
{
	const struct type_info *ti = type_info(k->type);

	if (ti == NULL)
		return 0;
	if (k->type == SSHKEY_RSA)
		return magnitude_bits(k->n, k->n_len);
	return ti->bits;
}

const char *sshkey_family_name(enum sshkey_type t)
{
	if (t == SSHKEY_RSA)
		return "RSA";
	return is_ecdsa(t) ? "ECDSA" : NULL;
}

/* 1 if q is an uncompressed point on the key's curve (OpenSSL checks the curve equation). */
static int ec_point_valid(enum sshkey_type t, const uint8_t *q, size_t q_len)
{
	const struct type_info *ti = type_info(t);
	EC_GROUP *group;
	EC_POINT *point = NULL;
	int ok = 0;

	if (ti == NULL || ti->curve == NULL || q_len != 1 + 2 * ti->field_len || q[0] != 0x04)
		return 0;
	group = EC_GROUP_new_by_curve_name(ti->nid);
	if (group != NULL && (point = EC_POINT_new(group)) != NULL)
		ok = EC_POINT_oct2point(group, point, q, q_len, NULL) == 1 &&
		     !EC_POINT_is_at_infinity(group, point);
	EC_POINT_free(point);
	EC_GROUP_free(group);
	return ok;
}

static int rsa_fields_valid(const struct sshkey_pub *k)
{
	unsigned n_bits = magnitude_bits(k->n, k->n_len);

	return k->n_len <= sizeof(k->n) && k->e_len <= sizeof(k->e) &&
	       n_bits >= RSA_MIN_BITS && magnitude_bits(k->e, k->e_len) > 0;
}

int sshkey_pub_to_blob(const struct sshkey_pub *k, struct sshbuf *out)
{
	size_t before = sshbuf_len(out);
	int r;

	if (k->type == SSHKEY_RSA) {
		if (!rsa_fields_valid(k))
			return SSHBUF_E_FORMAT;
		if ((r = sshbuf_put_cstring(out, "ssh-rsa")) != SSHBUF_OK ||
		    (r = sshbuf_put_mpint(out, k->e, k->e_len)) != SSHBUF_OK ||
		    (r = sshbuf_put_mpint(out, k->n, k->n_len)) != SSHBUF_OK)
			goto fail;
		return SSHBUF_OK;
	}
	if (!is_ecdsa(k->type) || k->q_len != 1 + 2 * sshkey_ec_field_len(k->type) ||
	    k->q[0] != 0x04)
		return SSHBUF_E_FORMAT;
	if ((r = sshbuf_put_cstring(out, sshkey_type_name(k->type))) != SSHBUF_OK ||
	    (r = sshbuf_put_cstring(out, sshkey_curve_name(k->type))) != SSHBUF_OK ||
	    (r = sshbuf_put_string(out, k->q, k->q_len)) != SSHBUF_OK)
		goto fail;
	return SSHBUF_OK;
fail:
	/* Drop the partial blob; offsets relative to the unread data survive packing. */
	out->size = out->off + before;
	return r;
}

/* Copies an mpint magnitude into dst (capacity cap) or fails with TOOBIG. */
static int get_mpint_into(struct sshbuf *b, uint8_t *dst, size_t cap, size_t *len)
{
	const uint8_t *p;
	int r;

	if ((r = sshbuf_get_mpint(b, &p, len)) != SSHBUF_OK)
		return r;
	if (*len > cap)
		return SSHBUF_E_TOOBIG;
	if (*len > 0)
		memcpy(dst, p, *len);
	return SSHBUF_OK;
}

static int rsa_from_blob(struct sshbuf *b, struct sshkey_pub *k)
{
	int r;

	if ((r = get_mpint_into(b, k->e, sizeof(k->e), &k->e_len)) != SSHBUF_OK ||
	    (r = get_mpint_into(b, k->n, sizeof(k->n), &k->n_len)) != SSHBUF_OK)
		return r;
	return rsa_fields_valid(k) ? SSHBUF_OK : SSHBUF_E_FORMAT;
}

static int ecdsa_from_blob(struct sshbuf *b, struct sshkey_pub *k)
{
	char curve[SSHKEY_NAME_MAX];
	const uint8_t *q;
	size_t q_len;
	int r;

	if ((r = sshbuf_get_cstring(b, curve, sizeof(curve))) != SSHBUF_OK)
		return r;
	if (strcmp(curve, sshkey_curve_name(k->type)) != 0)
		return SSHBUF_E_FORMAT;
	if ((r = sshbuf_get_string(b, &q, &q_len)) != SSHBUF_OK)
		return r;
	if (q_len > sizeof(k->q))
		return SSHBUF_E_TOOBIG;
	if (!ec_point_valid(k->type, q, q_len))
		return SSHBUF_E_FORMAT;
	memcpy(k->q, q, q_len);
	k->q_len = q_len;
	return SSHBUF_OK;
}

int sshkey_pub_from_blob(const uint8_t *blob, size_t len, struct sshkey_pub *k)
{
	char name[SSHKEY_NAME_MAX];
	struct sshbuf b;
	int r;

	memset(k, 0, sizeof(*k));
	sshbuf_view(&b, blob, len);
	if ((r = sshbuf_get_cstring(&b, name, sizeof(name))) != SSHBUF_OK)
		goto fail;
	k->type = sshkey_type_from_name(name);
	if (k->type == SSHKEY_RSA)
		r = rsa_from_blob(&b, k);
	else if (is_ecdsa(k->type))
		r = ecdsa_from_blob(&b, k);
	else
		r = SSHBUF_E_FORMAT; /* unknown or unsupported key type (certificates too) */
	if (r == SSHBUF_OK && sshbuf_len(&b) != 0)
		r = SSHBUF_E_FORMAT;
	if (r == SSHBUF_OK)
		return SSHBUF_OK;
fail:
	memset(k, 0, sizeof(*k));
	return r;
}

int sshkey_pub_equal(const struct sshkey_pub *a, const struct sshkey_pub *b)
{
	if (a->type != b->type || a->type == SSHKEY_UNSPEC)
		return 0;
	if (a->type == SSHKEY_RSA)
		return a->n_len == b->n_len && a->e_len == b->e_len &&
		       a->n_len <= sizeof(a->n) && a->e_len <= sizeof(a->e) &&
		       memcmp(a->n, b->n, a->n_len) == 0 && memcmp(a->e, b->e, a->e_len) == 0;
	return a->q_len == b->q_len && a->q_len <= sizeof(a->q) &&
	       memcmp(a->q, b->q, a->q_len) == 0;
}

/* Serialises k into a fresh buffer for hashing or encoding. */
static int blob_of(const struct sshkey_pub *k, struct sshbuf **out)
{
	int r;

	if ((*out = sshbuf_new(SSHKEY_BLOB_MAX)) == NULL)
		return SSHBUF_E_NOMEM;
	if ((r = sshkey_pub_to_blob(k, *out)) != SSHBUF_OK) {
		sshbuf_free(*out);
		*out = NULL;
	}
	return r;
}

int sshkey_fingerprint_sha256(const struct sshkey_pub *k, char out[SSHKEY_FP_MAX])
{
	static const char prefix[] = "SHA256:";
	uint8_t digest[32];
	char b64[B64_LEN(sizeof(digest)) + 1];
	struct sshbuf *blob;
	size_t n;
	int r;

	if ((r = blob_of(k, &blob)) != SSHBUF_OK)
		return r;
	if (!EVP_Digest(sshbuf_ptr(blob), sshbuf_len(blob), digest, NULL, EVP_sha256(), NULL)) {
		sshbuf_free(blob);
		return SSHBUF_E_NOMEM;
	}
	sshbuf_free(blob);
	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, digest, sizeof(digest));
	while (n > 0 && b64[n - 1] == '=') /* ssh-keygen prints no padding */
		n--;
	b64[n] = '\0';
	memcpy(out, prefix, sizeof(prefix) - 1);
	memcpy(out + sizeof(prefix) - 1, b64, n + 1);
	return SSHBUF_OK;
}

int sshkey_pub_to_line(const struct sshkey_pub *k, const char *comment, char **line)
{
	const char *name = sshkey_type_name(k->type);
	struct sshbuf *blob;
	size_t name_len, b64_len, comment_len, total;
	char *s;
	int r;

	*line = NULL;
	comment_len = comment == NULL ? 0 : strlen(comment);
	/* A line break in the comment would smuggle a second key into authorized_keys. */
	if (comment_len > 0 && strpbrk(comment, "\r\n") != NULL)
		return SSHBUF_E_FORMAT;
	if ((r = blob_of(k, &blob)) != SSHBUF_OK)
		return r;
	name_len = strlen(name);
	b64_len = B64_LEN(sshbuf_len(blob));
	total = name_len + 1 + b64_len + (comment_len > 0 ? 1 + comment_len : 0) + 1;
	if ((s = malloc(total)) == NULL) {
		sshbuf_free(blob);
		return SSHBUF_E_NOMEM;
	}
	memcpy(s, name, name_len);
	s[name_len] = ' ';
	EVP_EncodeBlock((unsigned char *)s + name_len + 1, sshbuf_ptr(blob), (int)sshbuf_len(blob));
	sshbuf_free(blob);
	if (comment_len > 0) {
		s[name_len + 1 + b64_len] = ' ';
		memcpy(s + name_len + 2 + b64_len, comment, comment_len);
	}
	s[total - 1] = '\0';
	*line = s;
	return SSHBUF_OK;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_blanks(const char *p)
{
	while (*p != '\0' && is_blank(*p))
		p++;
	return p;
}

static size_t token_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && !is_blank(p[n]))
		n++;
	return n;
}

/* 1 if s[0..len) is padded base64 of the standard alphabet: a whole number of
 * quanta, at most two '=' and only at the end, no NUL or other characters. */
static int b64_shape_ok(const char *s, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, pad = 0;

	if (len == 0 || len % 4 != 0)
		return 0;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return 0;
	return 1;
}

/* 1 if len base64 characters cannot decode to blob_max bytes or fewer
 * (len > B64_LEN(blob_max), without overflow for any blob_max). */
static int b64_too_long(size_t len, size_t blob_max)
{
	size_t quanta = blob_max / 3 + (blob_max % 3 != 0);

	return len / 4 + (len % 4 != 0) > quanta;
}

/* Strict base64 decode into a malloc'd buffer: canonical encodings only (the unused
 * low bits of the last quantum must be zero, so re-encoding gives the same text),
 * at most blob_max decoded bytes. */
static int b64_decode_strict(const char *s, size_t len, uint8_t **out, size_t *out_len,
			     size_t blob_max)
{
	size_t pad = 0, n;
	char last[5];
	uint8_t *d;
	int r;

	if (b64_too_long(len, blob_max) || len > INT_MAX)
		return SSHBUF_E_TOOBIG;
	if (!b64_shape_ok(s, len))
		return SSHBUF_E_FORMAT;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	if (len / 4 * 3 - pad > blob_max)
		return SSHBUF_E_TOOBIG;
	if ((d = malloc(len / 4 * 3)) == NULL)
		return SSHBUF_E_NOMEM;
	/* EVP_DecodeBlock counts padding as zero bytes. Every quantum but the last is
	 * canonical by its shape; the last must re-encode to the same four characters. */
	r = EVP_DecodeBlock(d, (const unsigned char *)s, (int)len);
	n = len / 4 * 3;
	if (r < 0 || (size_t)r != n ||
	    EVP_EncodeBlock((unsigned char *)last, d + n - 3, 3 - (int)pad) != 4 ||
	    memcmp(last, s + len - 4, 4) != 0) {
		free(d);
		return SSHBUF_E_FORMAT;
	}
	*out = d;
	*out_len = n - pad;
	return SSHBUF_OK;
}

static void copy_comment(const char *p, char *comment, size_t comment_len)
{
	size_t n;

	if (comment == NULL || comment_len == 0)
		return;
	p = skip_blanks(p);
	n = strlen(p);
	while (n > 0 && is_blank(p[n - 1]))
		n--;
	if (n > comment_len - 1)
		n = comment_len - 1;
	memcpy(comment, p, n);
	comment[n] = '\0';
}

int sshkey_line_split(const char *line, char *type, size_t type_len, uint8_t **blob,
		      size_t *blob_len, size_t blob_max, char *comment, size_t comment_len)
{
	const char *p = skip_blanks(line);
	size_t n;
	int r;

	*blob = NULL;
	*blob_len = 0;
	if (type_len > 0)
		type[0] = '\0';
	if (comment != NULL && comment_len > 0)
		comment[0] = '\0';
	if ((n = token_len(p)) == 0)
		return SSHBUF_E_FORMAT;
	if (n >= type_len)
		return SSHBUF_E_TOOBIG;
	memcpy(type, p, n);
	type[n] = '\0';
	p = skip_blanks(p + n);
	n = token_len(p);
	if ((r = b64_decode_strict(p, n, blob, blob_len, blob_max)) != SSHBUF_OK) {
		type[0] = '\0';
		return r;
	}
	copy_comment(p + n, comment, comment_len);
	return SSHBUF_OK;
}

int sshkey_pub_from_line(const char *line, struct sshkey_pub *k,
			 char *comment, size_t comment_len)
{
	char name[SSHKEY_NAME_MAX];
	uint8_t *blob;
	size_t blob_len;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = sshkey_line_split(line, name, sizeof(name), &blob, &blob_len, SSHKEY_BLOB_MAX,
				   comment, comment_len)) != SSHBUF_OK)
		return r;
	r = sshkey_pub_from_blob(blob, blob_len, k);
	free(blob);
	if (r == SSHBUF_OK && sshkey_type_from_name(name) != k->type)
		r = SSHBUF_E_FORMAT; /* the line's type word disagrees with the blob */
	if (r != SSHBUF_OK) {
		memset(k, 0, sizeof(*k));
		if (comment != NULL && comment_len > 0)
			comment[0] = '\0';
	}
	return r;
}

enum sshkey_hash sshkey_sign_hash(enum sshkey_type t, uint32_t flags)
{
	const struct type_info *ti = type_info(t);

	if (ti == NULL)
		return SSHKEY_HASH_NONE;
	if (t != SSHKEY_RSA)
		return ti->hash;
	/* Same precedence as OpenSSH's ssh-agent: rsa-sha2-256 is checked first. */
	if (flags & 0x02)
		return SSHKEY_HASH_SHA256;
	if (flags & 0x04)
		return SSHKEY_HASH_SHA512;
	return (flags & SSHKEY_SIGN_LEGACY_SHA1) ? SSHKEY_HASH_SHA1 : SSHKEY_HASH_NONE;
}

const char *sshkey_sig_alg(enum sshkey_type t, enum sshkey_hash h)
{
	const struct type_info *ti = type_info(t);

	if (ti == NULL || h == SSHKEY_HASH_NONE)
		return NULL;
	if (t == SSHKEY_RSA)
		return h == SSHKEY_HASH_SHA256 ? "rsa-sha2-256" :
		       h == SSHKEY_HASH_SHA512 ? "rsa-sha2-512" :
		       h == SSHKEY_HASH_SHA1 ? "ssh-rsa" : NULL;
	return h == ti->hash ? ti->name : NULL;
}

static const EVP_MD *hash_md(enum sshkey_hash h)
{
	switch (h) {
	case SSHKEY_HASH_SHA1:   return EVP_sha1();
	case SSHKEY_HASH_SHA256: return EVP_sha256();
	case SSHKEY_HASH_SHA384: return EVP_sha384();
	case SSHKEY_HASH_SHA512: return EVP_sha512();
	default:                 return NULL;
	}
}

size_t sshkey_hash_len(enum sshkey_hash h)
{
	switch (h) {
	case SSHKEY_HASH_SHA1:   return 20;
	case SSHKEY_HASH_SHA256: return 32;
	case SSHKEY_HASH_SHA384: return 48;
	case SSHKEY_HASH_SHA512: return 64;
	default:                 return 0;
	}
}

int sshkey_hash(enum sshkey_hash h, const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
	const EVP_MD *md = hash_md(h);
	unsigned int n = 0;

	if (md == NULL)
		return SSHBUF_E_FORMAT;
	if (!EVP_Digest(data, len, out, &n, md, NULL))
		return SSHBUF_E_NOMEM;
	*out_len = n;
	return SSHBUF_OK;
}

int sshkey_sig_ecdsa_to_blob(enum sshkey_type t, const uint8_t *r, size_t r_len,
			     const uint8_t *s, size_t s_len, struct sshbuf *out)
{
	struct sshbuf *inner;
	size_t before = sshbuf_len(out);
	int ret;

	if (!is_ecdsa(t))
		return SSHBUF_E_FORMAT;
	if (magnitude_bits(r, r_len) > 8 * sshkey_ec_field_len(t) ||
	    magnitude_bits(s, s_len) > 8 * sshkey_ec_field_len(t))
		return SSHBUF_E_TOOBIG;
	if ((inner = sshbuf_new(2 * (4 + 1 + SSHKEY_EC_POINT_MAX))) == NULL)
		return SSHBUF_E_NOMEM;
	if ((ret = sshbuf_put_mpint(inner, r, r_len)) != SSHBUF_OK ||
	    (ret = sshbuf_put_mpint(inner, s, s_len)) != SSHBUF_OK ||
	    (ret = sshbuf_put_cstring(out, sshkey_type_name(t))) != SSHBUF_OK ||
	    (ret = sshbuf_put_stringb(out, inner)) != SSHBUF_OK)
		out->size = out->off + before;
	sshbuf_free(inner);
	return ret;
}

int sshkey_sig_rsa_to_blob(enum sshkey_hash h, const uint8_t *sig, size_t sig_len,
			   size_t mod_len, struct sshbuf *out)
{
	const char *alg = sshkey_sig_alg(SSHKEY_RSA, h);
	size_t before = sshbuf_len(out);
	uint8_t *p;
	int r;

	if (alg == NULL)
		return SSHBUF_E_FORMAT;
	if (mod_len == 0 || mod_len > SSHKEY_RSA_MAX_BYTES)
		return SSHBUF_E_TOOBIG;
	/* Leading zeros beyond the modulus length carry no value; anything else does not fit. */
	while (sig_len > mod_len && sig[0] == 0) {
		sig++;
		sig_len--;
	}
	if (sig_len > mod_len)
		return SSHBUF_E_TOOBIG;
	if ((r = sshbuf_put_cstring(out, alg)) != SSHBUF_OK ||
	    (r = sshbuf_put_u32(out, (uint32_t)mod_len)) != SSHBUF_OK ||
	    (r = sshbuf_reserve(out, mod_len, &p)) != SSHBUF_OK) {
		if (!out->readonly)
			out->size = out->off + before;
		return r;
	}
	/* reserve zero-fills, so copying to the tail left-pads with zeros */
	if (sig_len > 0)
		memcpy(p + (mod_len - sig_len), sig, sig_len);
	return SSHBUF_OK;
}
