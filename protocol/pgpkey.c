/* pgpkey: parses gpg's openpgp-private-key transfer S-expression and removes its
 * OpenPGP passphrase protection, as gnupg's agent/cvt-openpgp.c does. */
#include "pgpkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "sexp.h"

#define S2K_DECODE_COUNT(c) ((16ul + ((c) & 15)) << (((c) >> 4) + 6))
#define SHA1_LEN 20

static int fail(const char **msg, const char *text, int code)
{
	if (msg != NULL)
		*msg = text;
	return code;
}

/* ---------------------------------------------------------------- parsing */

static int atom_copy(const struct sexp_tree *t, int node, void *out, size_t cap, size_t *len)
{
	const struct sexp_node *n;

	if (node == SEXP_NONE || (n = &t->nodes[node])->kind != SEXP_ATOM || n->len > cap)
		return -1;
	memcpy(out, n->data, n->len);
	*len = n->len;
	return 0;
}

static int atom_str(const struct sexp_tree *t, int node, char *out, size_t cap)
{
	size_t len;

	if (atom_copy(t, node, out, cap - 1, &len) != 0 || memchr(out, '\0', len) != NULL)
		return -1;
	out[len] = '\0';
	return 0;
}

static int atom_ulong(const struct sexp_tree *t, int node, unsigned long *v)
{
	char s[24], *end;

	if (atom_str(t, node, s, sizeof(s)) != 0 || s[0] < '0' || s[0] > '9')
		return -1;
	*v = strtoul(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* An MPI in libgcrypt's STD form (a leading 0x00 for a set top bit) as a magnitude. */
static int atom_mpi(const struct sexp_tree *t, int node, struct pgpkey_mpi *m)
{
	size_t len, off = 0;

	if (atom_copy(t, node, m->b, sizeof(m->b), &len) != 0)
		return -1;
	while (off < len && m->b[off] == 0)
		off++;
	memmove(m->b, m->b + off, len - off);
	m->len = len - off;
	return 0;
}

/* The list "(name ...)" among the top list's children. */
static int child(const struct sexp_tree *t, const char *name)
{
	return sexp_find(t, 0, name);
}

static int parse_algo(const struct sexp_tree *t, struct pgpkey *k, const char **msg)
{
	static const struct { const char *name; enum pgpkey_algo algo; } algos[] = {
		{ "rsa", PGPKEY_RSA }, { "ecdsa", PGPKEY_ECDSA }, { "ecdh", PGPKEY_ECDH },
		{ "eddsa", PGPKEY_EDDSA },
	};
	char name[16];
	int l = child(t, "algo"), c;

	if (l == SEXP_NONE || atom_str(t, sexp_nth(t, l, 1), name, sizeof(name)) != 0)
		return fail(msg, "no algo", PGPKEY_E_SYNTAX);
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (strcasecmp(name, algos[i].name) == 0)
			k->algo = algos[i].algo;
	if (k->algo == 0)
		return fail(msg, "only RSA, ECDSA and ECDH keys can live in a TPM (DSA, ElGamal "
			    "cannot)", PGPKEY_E_UNSUPPORTED);
	if (k->algo == PGPKEY_RSA)
		return 0;
	if ((c = child(t, "curve")) == SEXP_NONE ||
	    atom_str(t, sexp_nth(t, c, 1), k->curve, sizeof(k->curve)) != 0)
		return fail(msg, "an ECC key without its curve", PGPKEY_E_SYNTAX);
	return 0;
}

/* (skey _ v _ v ... [e blob]): public values, then secret ones or one encrypted blob. */
static int parse_skey(const struct sexp_tree *t, struct pgpkey *k, const char **msg)
{
	int l = child(t, "skey"), npub = k->algo == PGPKEY_RSA ? 2 : 1;
	int nsec = k->algo == PGPKEY_RSA ? 4 : 1, got = 0;

	if (l == SEXP_NONE)
		return fail(msg, "no skey", PGPKEY_E_SYNTAX);
	for (int i = 1; sexp_nth(t, l, i) != SEXP_NONE; i += 2, got++) {
		int flag = sexp_nth(t, l, i), val = sexp_nth(t, l, i + 1);
		int enc = sexp_atom_is(t, flag, "e");

		if ((!enc && !sexp_atom_is(t, flag, "_")) || val == SEXP_NONE)
			return fail(msg, "malformed skey", PGPKEY_E_SYNTAX);
		if (got < npub && !enc) {
			if (atom_mpi(t, val, &k->pub[got]) != 0)
				return fail(msg, "public key value too long", PGPKEY_E_SYNTAX);
		} else if (got == npub && enc && k->protection) {
			if (atom_copy(t, val, k->enc, sizeof(k->enc), &k->enc_len) != 0)
				return fail(msg, "encrypted key too long", PGPKEY_E_SYNTAX);
		} else if (got >= npub && got < npub + nsec && !enc && !k->protection) {
			if (atom_mpi(t, val, &k->sec[got - npub]) != 0)
				return fail(msg, "secret key value too long", PGPKEY_E_SYNTAX);
		} else {
			return fail(msg, "unexpected skey element", PGPKEY_E_SYNTAX);
		}
	}
	if (got != npub + (k->protection ? 1 : nsec))
		return fail(msg, "wrong number of skey elements", PGPKEY_E_SYNTAX);
	return 0;
}

/* (protection sha1|sum CIPHER IV S2KMODE S2KHASH SALT COUNT) or (protection none). */
static int parse_protection(const struct sexp_tree *t, struct pgpkey *k, const char **msg)
{
	int l = child(t, "protection"), kind = sexp_nth(t, l, 1);
	unsigned long mode, count;
	size_t salt_len;

	if (l == SEXP_NONE || kind == SEXP_NONE)
		return fail(msg, "no protection", PGPKEY_E_SYNTAX);
	if (sexp_atom_is(t, kind, "none"))
		return 0;
	k->protection = sexp_atom_is(t, kind, "sha1") ? 2 : sexp_atom_is(t, kind, "sum") ? 1 : -1;
	if (k->protection < 0)
		return fail(msg, "unknown protection", PGPKEY_E_SYNTAX);
	if (atom_str(t, sexp_nth(t, l, 2), k->cipher, sizeof(k->cipher)) != 0 ||
	    atom_copy(t, sexp_nth(t, l, 3), k->iv, sizeof(k->iv), &k->iv_len) != 0 ||
	    k->iv_len == 0 || atom_ulong(t, sexp_nth(t, l, 4), &mode) != 0 ||
	    atom_str(t, sexp_nth(t, l, 5), k->s2k_hash, sizeof(k->s2k_hash)) != 0 ||
	    atom_copy(t, sexp_nth(t, l, 6), k->salt, sizeof(k->salt), &salt_len) != 0 ||
	    salt_len != sizeof(k->salt) || atom_ulong(t, sexp_nth(t, l, 7), &count) != 0)
		return fail(msg, "malformed protection", PGPKEY_E_SYNTAX);
	if (mode == 1001 || mode == 1002)
		return fail(msg, "the secret key is not there (a stub, or on a smartcard)",
			    PGPKEY_E_UNSUPPORTED);
	if (mode != 0 && mode != 1 && mode != 3)
		return fail(msg, "unknown S2K mode", PGPKEY_E_UNSUPPORTED);
	k->s2k_mode = (int)mode;
	k->s2k_count = S2K_DECODE_COUNT(count & 0xff);
	return 0;
}

static enum sshkey_type key_type(const struct pgpkey *k)
{
	if (k->algo == PGPKEY_RSA)
		return SSHKEY_RSA;
	if (k->algo == PGPKEY_EDDSA)
		return SSHKEY_UNSPEC;
	return sexp_curve_type((const uint8_t *)k->curve, strlen(k->curve));
}

int pgpkey_parse(const uint8_t *buf, size_t len, struct pgpkey *k, const char **msg)
{
	struct sexp_tree *t = malloc(sizeof(*t));
	int l, r;
	unsigned long v;

	memset(k, 0, sizeof(*k));
	if (t == NULL)
		return fail(msg, "out of memory", PGPKEY_E_CRYPTO);
	while (len > 0 && buf[len - 1] == 0) /* gpg pads to the key-wrap block size */
		len--;
	if (sexp_parse(buf, len, SEXP_CANONICAL, t) != SEXP_OK ||
	    !sexp_list_named(t, 0, "openpgp-private-key")) {
		r = fail(msg, "not an OpenPGP secret key in gpg's transfer format", PGPKEY_E_SYNTAX);
	} else if ((l = child(t, "version")) == SEXP_NONE ||
		   atom_ulong(t, sexp_nth(t, l, 1), &v) != 0 || (v != 3 && v != 4)) {
		r = fail(msg, "bad version", PGPKEY_E_SYNTAX);
	} else if (v == 3) {
		r = fail(msg, "version 3 (PGP 2) keys are not supported", PGPKEY_E_UNSUPPORTED);
	} else if ((r = parse_algo(t, k, msg)) == 0 && (r = parse_protection(t, k, msg)) == 0 &&
		   (r = parse_skey(t, k, msg)) == 0) {
		if ((l = child(t, "csum")) != SEXP_NONE && atom_ulong(t, sexp_nth(t, l, 1), &v) == 0)
			k->csum = (unsigned)(v & 0xffff);
		k->type = key_type(k);
	}
	explicit_bzero(t, sizeof(*t));
	free(t);
	return r;
}

int pgpkey_is_protected(const struct pgpkey *k)
{
	return k->protection != 0;
}

int pgpkey_public(const struct pgpkey *k, struct sshkey_pub *pub)
{
	memset(pub, 0, sizeof(*pub));
	pub->type = k->type;
	if (k->type == SSHKEY_RSA) {
		if (k->pub[0].len > sizeof(pub->n) || k->pub[1].len > sizeof(pub->e))
			return -1;
		memcpy(pub->n, k->pub[0].b, pub->n_len = k->pub[0].len);
		memcpy(pub->e, k->pub[1].b, pub->e_len = k->pub[1].len);
		return 0;
	}
	if (k->type == SSHKEY_UNSPEC || k->pub[0].len != 1 + 2 * sshkey_ec_field_len(k->type) ||
	    k->pub[0].b[0] != 0x04)
		return -1;
	memcpy(pub->q, k->pub[0].b, pub->q_len = k->pub[0].len);
	return 0;
}

/* ---------------------------------------------------------------- unprotecting */

int pgpkey_s2k(const char *hash, int mode, const uint8_t salt[8], unsigned long count,
	       const char *pass, size_t pass_len, uint8_t *key, size_t key_len)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	size_t done = 0;
	int ok = md != NULL && c != NULL;

	/* Each further block of key comes from a hash preloaded with one more zero byte. */
	for (size_t pass_no = 0; ok && done < key_len; pass_no++) {
		static const uint8_t zero = 0;

		ok = EVP_DigestInit_ex(c, md, NULL) == 1;
		for (size_t i = 0; ok && i < pass_no; i++)
			ok = EVP_DigestUpdate(c, &zero, 1) == 1;
		if (mode == 0) {
			ok = ok && EVP_DigestUpdate(c, pass, pass_len) == 1;
		} else {
			unsigned long n = mode == 3 ? count : 8 + pass_len;

			if (n < 8 + pass_len)
				n = 8 + pass_len;
			while (ok && n > 0) {
				size_t a = n < 8 ? n : 8, b;

				ok = EVP_DigestUpdate(c, salt, a) == 1;
				n -= a;
				b = n < pass_len ? n : pass_len;
				ok = ok && EVP_DigestUpdate(c, pass, b) == 1;
				n -= b;
			}
		}
		ok = ok && EVP_DigestFinal_ex(c, d, &dl) == 1;
		if (ok) {
			size_t take = key_len - done < dl ? key_len - done : dl;

			memcpy(key + done, d, take);
			done += take;
		}
	}
	OPENSSL_cleanse(d, sizeof(d));
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

/* gpg's cipher names (openpgp_cipher_algo_name) as OpenSSL CFB ciphers. */
static const EVP_CIPHER *cfb_cipher(const char *name)
{
	static const struct { const char *pgp, *ossl; } map[] = {
		{ "AES", "AES-128-CFB" }, { "AES128", "AES-128-CFB" }, { "AES192", "AES-192-CFB" },
		{ "AES256", "AES-256-CFB" }, { "3DES", "DES-EDE3-CFB" },
		{ "CAMELLIA128", "CAMELLIA-128-CFB" }, { "CAMELLIA192", "CAMELLIA-192-CFB" },
		{ "CAMELLIA256", "CAMELLIA-256-CFB" }, { "CAST5", "CAST5-CFB" },
		{ "BLOWFISH", "BF-CFB" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(name, map[i].pgp) == 0)
			return EVP_get_cipherbyname(map[i].ossl);
	return NULL;
}

static int cfb_decrypt(const struct pgpkey *k, const uint8_t *key, uint8_t *out)
{
	const EVP_CIPHER *ci = cfb_cipher(k->cipher);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	ok = ci != NULL && c != NULL && (size_t)EVP_CIPHER_iv_length(ci) == k->iv_len &&
	     k->enc_len <= INT32_MAX && EVP_DecryptInit_ex(c, ci, NULL, key, k->iv) == 1 &&
	     EVP_DecryptUpdate(c, out, &outl, k->enc, (int)k->enc_len) == 1 &&
	     (size_t)outl == k->enc_len;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* The secret MPIs in OpenPGP form (16-bit bit count, magnitude) from data. */
static int read_pgp_mpis(struct pgpkey *k, const uint8_t *p, size_t len, int n)
{
	for (int i = 0; i < n; i++) {
		size_t bits, bytes;

		if (len < 2)
			return -1;
		bits = ((size_t)p[0] << 8) | p[1];
		bytes = (bits + 7) / 8;
		if (len - 2 < bytes || bytes > sizeof(k->sec[i].b))
			return -1;
		memcpy(k->sec[i].b, p + 2, bytes);
		k->sec[i].len = bytes;
		p += 2 + bytes;
		len -= 2 + bytes;
	}
	return len == 0 ? 0 : -1;
}

static unsigned sum16(const uint8_t *p, size_t n)
{
	unsigned a = 0;

	while (n--)
		a += *p++;
	return a & 0xffff;
}

/* The 16-bit checksum of the secret MPIs as they are written in OpenPGP form. */
static unsigned mpi_sum(const struct pgpkey *k, int n)
{
	unsigned a = 0;

	for (int i = 0; i < n; i++) {
		const struct pgpkey_mpi *m = &k->sec[i];
		size_t bits = m->len * 8;

		if (m->len > 0)
			for (uint8_t top = m->b[0]; !(top & 0x80); top <<= 1)
				bits--;
		a += (unsigned)(bits >> 8) + (unsigned)(bits & 0xff) + sum16(m->b, m->len);
	}
	return a & 0xffff;
}

static int decrypt_secret(struct pgpkey *k, const char *pass, size_t pass_len, int nsec,
			  const char **msg)
{
	const EVP_CIPHER *ci = cfb_cipher(k->cipher);
	uint8_t key[32], *plain = NULL;
	size_t n = k->enc_len, body;
	int r = PGPKEY_E_PASSPHRASE;

	if (ci == NULL)
		return fail(msg, "the key's protection cipher is not supported (use gpg "
			    "--s2k-cipher-algo AES --passwd first)", PGPKEY_E_UNSUPPORTED);
	if (EVP_get_digestbyname(k->s2k_hash) == NULL)
		return fail(msg, "the key's S2K hash is not supported", PGPKEY_E_UNSUPPORTED);
	if (pass_len == 0)
		return fail(msg, "no passphrase given", PGPKEY_E_PASSPHRASE);
	/* the decrypted key goes to locked, guarded memory, wiped when freed */
	if ((size_t)EVP_CIPHER_key_length(ci) > sizeof(key) || sodium_init() < 0 ||
	    (plain = sodium_malloc(n + 1)) == NULL)
		return fail(msg, "out of memory", PGPKEY_E_CRYPTO);
	if (pgpkey_s2k(k->s2k_hash, k->s2k_mode, k->salt, k->s2k_count, pass, pass_len, key,
		       (size_t)EVP_CIPHER_key_length(ci)) != 0 || cfb_decrypt(k, key, plain) != 0) {
		r = fail(msg, "cannot decrypt the key", PGPKEY_E_CRYPTO);
	} else if (k->protection == 2) {
		uint8_t d[SHA1_LEN];

		body = n >= SHA1_LEN ? n - SHA1_LEN : 0;
		if (n >= SHA1_LEN && EVP_Digest(plain, body, d, NULL, EVP_sha1(), NULL) == 1 &&
		    CRYPTO_memcmp(d, plain + body, SHA1_LEN) == 0 &&
		    read_pgp_mpis(k, plain, body, nsec) == 0)
			r = 0;
	} else {
		body = n >= 2 ? n - 2 : 0;
		if (n >= 2 && sum16(plain, body) == (((unsigned)plain[body] << 8) | plain[body + 1]) &&
		    read_pgp_mpis(k, plain, body, nsec) == 0)
			r = 0;
	}
	if (r == PGPKEY_E_PASSPHRASE)
		fail(msg, "wrong passphrase (the key's checksum does not match)", r);
	OPENSSL_cleanse(key, sizeof(key));
	sodium_free(plain);
	return r;
}

/* gcry_pk_testkey's job: the secret belongs to the public key. */
static int check_pair(const struct pgpkey *k)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *a = BN_secure_new(), *b = BN_secure_new(), *c = BN_new();
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	uint8_t q[SSHKEY_EC_POINT_MAX];
	int ok = 0, nid;

	if (ctx == NULL || a == NULL || b == NULL || c == NULL)
		goto done;
	if (k->type == SSHKEY_RSA) {
		/* n mod p == 0, with 1 < p < n */
		ok = BN_bin2bn(k->pub[0].b, (int)k->pub[0].len, a) != NULL &&
		     BN_bin2bn(k->sec[1].b, (int)k->sec[1].len, b) != NULL &&
		     !BN_is_one(b) && !BN_is_zero(b) && BN_cmp(b, a) < 0 &&
		     BN_mod(c, a, b, ctx) == 1 && BN_is_zero(c);
		goto done;
	}
	nid = k->type == SSHKEY_ECDSA_P256 ? NID_X9_62_prime256v1 :
	      k->type == SSHKEY_ECDSA_P384 ? NID_secp384r1 : NID_secp521r1;
	if ((g = EC_GROUP_new_by_curve_name(nid)) == NULL || (pt = EC_POINT_new(g)) == NULL ||
	    BN_bin2bn(k->sec[0].b, (int)k->sec[0].len, a) == NULL || BN_is_zero(a) ||
	    EC_POINT_mul(g, pt, a, NULL, NULL, ctx) != 1)
		goto done;
	ok = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, q, sizeof(q), ctx) ==
		     k->pub[0].len &&
	     memcmp(q, k->pub[0].b, k->pub[0].len) == 0;
done:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	BN_clear_free(a);
	BN_clear_free(b);
	BN_free(c);
	BN_CTX_free(ctx);
	return ok;
}

int pgpkey_unprotect(struct pgpkey *k, const char *pass, size_t pass_len, const char **msg)
{
	int nsec = k->algo == PGPKEY_RSA ? 4 : 1, r;

	if (k->type == SSHKEY_UNSPEC)
		return fail(msg, "not a key type the TPM holds", PGPKEY_E_UNSUPPORTED);
	if (k->protection) {
		if ((r = decrypt_secret(k, pass, pass_len, nsec, msg)) != 0)
			return r;
	} else if (mpi_sum(k, nsec) != k->csum) {
		return fail(msg, "the key's checksum does not match", PGPKEY_E_BAD_KEY);
	}
	if (!check_pair(k)) {
		OPENSSL_cleanse(k->sec, sizeof(k->sec));
		/* gpg-agent says Bad passphrase here too: a 16-bit sum can match by chance */
		return fail(msg, k->protection ? "wrong passphrase (the decrypted key does not match "
			    "its public key)" : "the secret key does not match its public key",
			    k->protection ? PGPKEY_E_PASSPHRASE : PGPKEY_E_BAD_KEY);
	}
	return 0;
}
