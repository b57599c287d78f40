/* test_destconstraint: ssh-add -h constraints (parse, refusals, round trip), OpenSSH's
 * identity_permitted decisions over hop chains, userauth request parsing, session-bind
 * signatures made here with OpenSSL (Ed25519, ECDSA P-256, RSA-SHA2-512; a flipped bit
 * and SHA-1 ssh-rsa refused), Ed25519 host certificates (session-bind verified with the
 * certified key and the CA's signature; @cert-authority matching by CA, type, principal
 * and validity) and known_hosts lookups (patterns, negation, hashed names, markers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <string.h>

#include "../../protocol/destconstraint.h"
#include "../../protocol/knownhosts.h"
#include "../../protocol/sshcert.h"
#include "../../protocol/sshverify.h"

static const uint8_t KEY_A[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const uint8_t KEY_B[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20" "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
#define KEY_LEN (sizeof(KEY_A) - 1)

static struct sshbuf *buf(void)
{
	struct sshbuf *b = sshbuf_new(SSHBUF_SIZE_MAX);

	assert_non_null(b);
	return b;
}

/* Wraps constraints (already strings) into the extension body and parses it. */
static int parse(struct sshbuf *cons, struct dest_set **d)
{
	struct sshbuf *body = buf();
	struct errmsg e;
	int r;

	assert_int_equal(sshbuf_put_stringb(body, cons), 0);
	r = dest_parse(body, d, &e);
	sshbuf_free(body);
	return r;
}

static const struct dest_key ka = { KEY_A, KEY_LEN, 0 }, kb = { KEY_B, KEY_LEN, 0 };

/* "-h A -h A>root@B": the usual two-hop restriction. */
static struct dest_set *two_hops(void)
{
	struct sshbuf *c = buf();
	struct dest_set *d = NULL;

	assert_int_equal(dest_put_constraint(c, NULL, NULL, 0, NULL, "a", &ka, 1), 0);
	assert_int_equal(dest_put_constraint(c, "a", &ka, 1, "ro*", "b", &kb, 1), 0);
	assert_int_equal(parse(c, &d), 0);
	sshbuf_free(c);
	assert_int_equal(d->n, 2);
	return d;
}

static void test_parse_and_round_trip(void **state)
{
	struct dest_set *d = two_hops(), *d2 = NULL;
	struct sshbuf *out = buf();
	struct errmsg e;

	(void)state;
	assert_string_equal(d->c[1].from.host, "a");
	assert_string_equal(d->c[1].to.user, "ro*");
	assert_int_equal(d->c[1].to.n_keys, 1);
	assert_int_equal(dest_put(d, out), 0);
	assert_int_equal(dest_parse(out, &d2, &e), 0);
	assert_int_equal(d2->raw_len, d->raw_len);
	dest_free(d);
	dest_free(d2);
	sshbuf_free(out);
}

static void test_parse_refusals(void **state)
{
	struct dest_set *d = NULL;
	struct sshbuf *c = buf();

	(void)state;
	/* a "to" hop without keys; a "from" host without keys */
	assert_int_equal(dest_put_constraint(c, NULL, NULL, 0, NULL, "a", NULL, 0), 0);
	assert_int_not_equal(parse(c, &d), 0);
	assert_null(d);
	sshbuf_reset(c);
	assert_int_equal(dest_put_constraint(c, "a", NULL, 0, NULL, "b", &kb, 1), 0);
	assert_int_not_equal(parse(c, &d), 0);
	/* nothing at all; truncated */
	sshbuf_reset(c);
	assert_int_not_equal(parse(c, &d), 0);
	assert_int_equal(dest_put_constraint(c, NULL, NULL, 0, NULL, "a", &ka, 1), 0);
	c->size--;
	assert_int_not_equal(parse(c, &d), 0);
	sshbuf_free(c);
}

static void test_permitted(void **state)
{
	struct dest_set *d = two_hops();
	struct dest_binding a_auth = { KEY_A, KEY_LEN, 0 }, a_fwd = { KEY_A, KEY_LEN, 1 },
			    b_auth = { KEY_B, KEY_LEN, 0 }, b_fwd = { KEY_B, KEY_LEN, 1 };
	struct dest_binding fwd_then_b[] = { a_fwd, b_auth }, auth_then_b[] = { a_auth, b_auth },
			    fwd_fwd[] = { a_fwd, b_fwd };
	const char *why;

	(void)state;
	assert_int_equal(dest_permitted(d, &a_auth, 1, "anyone", NULL), 1);   /* origin > a */
	assert_int_equal(dest_permitted(d, &b_auth, 1, "root", &why), 0);     /* origin > b */
	assert_non_null(why);
	assert_int_equal(dest_permitted(d, fwd_then_b, 2, "root", NULL), 1);  /* a > root@b */
	assert_int_equal(dest_permitted(d, fwd_then_b, 2, "admin", NULL), 0); /* user pattern */
	assert_int_equal(dest_permitted(d, auth_then_b, 2, "root", NULL), 0); /* through auth */
	assert_int_equal(dest_permitted(d, &a_fwd, 1, "root", NULL), 0);      /* sign on fwd hop */
	assert_int_equal(dest_permitted(d, &a_fwd, 1, NULL, NULL), 1);        /* listed: a > b */
	assert_int_equal(dest_permitted(d, fwd_fwd, 2, NULL, NULL), 0);       /* nothing past b */
	assert_int_equal(dest_permitted(d, &a_fwd, 0, NULL, NULL), 0);
	dest_free(d);
}

static struct sshbuf *userauth(const char *method, const uint8_t *key, size_t key_len,
			       const char *alg, int hostkey)
{
	struct sshbuf *b = buf();

	assert_int_equal(sshbuf_put_string(b, "SID", 3), 0);
	assert_int_equal(sshbuf_put_u8(b, 50), 0);
	assert_int_equal(sshbuf_put_cstring(b, "root"), 0);
	assert_int_equal(sshbuf_put_cstring(b, "ssh-connection"), 0);
	assert_int_equal(sshbuf_put_cstring(b, method), 0);
	assert_int_equal(sshbuf_put_u8(b, 1), 0);
	assert_int_equal(sshbuf_put_cstring(b, alg), 0);
	assert_int_equal(sshbuf_put_string(b, key, key_len), 0);
	if (hostkey)
		assert_int_equal(sshbuf_put_string(b, KEY_B, KEY_LEN), 0);
	return b;
}

static void test_userauth(void **state)
{
	static const uint8_t rsa[] = "\0\0\0\x07ssh-rsa\0\0\0\x01\x03\0\0\0\x01\x07";
	struct dest_userauth ua;
	struct sshbuf *b;

	(void)state;
	b = userauth("publickey-hostbound-v00@openssh.com", KEY_A, KEY_LEN, "ssh-ed25519", 1);
	assert_int_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b), KEY_A, KEY_LEN, &ua), 0);
	assert_string_equal(ua.user, "root");
	assert_int_equal(ua.session_id_len, 3);
	assert_int_equal(ua.hostkey_len, KEY_LEN);
	assert_int_not_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b), KEY_B, KEY_LEN, &ua), 0);
	assert_int_not_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b) - 1, KEY_A, KEY_LEN, &ua), 0);
	sshbuf_free(b);
	b = userauth("publickey", rsa, sizeof(rsa) - 1, "rsa-sha2-512", 0);
	assert_int_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b), rsa, sizeof(rsa) - 1, &ua), 0);
	assert_null(ua.hostkey);
	sshbuf_free(b);
	b = userauth("password", KEY_A, KEY_LEN, "ssh-ed25519", 0);
	assert_int_not_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b), KEY_A, KEY_LEN, &ua), 0);
	sshbuf_free(b);
	b = userauth("publickey", KEY_A, KEY_LEN, "ecdsa-sha2-nistp256", 0); /* alg of another type */
	assert_int_not_equal(dest_parse_userauth(sshbuf_ptr(b), sshbuf_len(b), KEY_A, KEY_LEN, &ua), 0);
	sshbuf_free(b);
}

/* ---- session-bind signatures ---- */

static const uint8_t SID[] = "an exchange hash of 32 bytes....";

/* Signs SID with pkey (md NULL for Ed25519) into raw/der signature bytes. */
static size_t evp_sign(EVP_PKEY *pkey, const EVP_MD *md, uint8_t *sig, size_t max)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = max;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, SID, sizeof(SID) - 1), 1);
	EVP_MD_CTX_free(ctx);
	return len;
}

static void check(const struct sshbuf *key, struct sshbuf *sig)
{
	uint8_t *p = (uint8_t *)sshbuf_ptr(sig);

	assert_int_equal(sshverify(sshbuf_ptr(key), sshbuf_len(key), sshbuf_ptr(sig), sshbuf_len(sig),
				   SID, sizeof(SID) - 1), 0);
	p[sshbuf_len(sig) - 3] ^= 0x10;
	assert_int_not_equal(sshverify(sshbuf_ptr(key), sshbuf_len(key), sshbuf_ptr(sig),
				       sshbuf_len(sig), SID, sizeof(SID) - 1), 0);
}

static void test_verify_ed25519(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t pub[32], sig[64];
	size_t pub_len = sizeof(pub);
	struct sshbuf *key = buf(), *s = buf(), *inner = buf();

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len), 1);
	assert_int_equal(sshbuf_put_cstring(key, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(key, pub, pub_len), 0);
	assert_int_equal(evp_sign(pkey, NULL, sig, sizeof(sig)), 64);
	assert_int_equal(sshbuf_put_cstring(s, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(s, sig, 64), 0);
	check(key, s);
	/* a signature named for another algorithm */
	assert_int_equal(sshbuf_put_cstring(inner, "ssh-rsa"), 0);
	assert_int_equal(sshbuf_put_string(inner, sig, 64), 0);
	assert_int_equal(sshverify(sshbuf_ptr(key), sshbuf_len(key), sshbuf_ptr(inner),
				   sshbuf_len(inner), SID, sizeof(SID) - 1), SSHVERIFY_E_UNSUPP);
	EVP_PKEY_free(pkey);
	sshbuf_free(key);
	sshbuf_free(s);
	sshbuf_free(inner);
}

static void test_verify_ecdsa(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t q[65], der[80];
	const uint8_t *p = der;
	size_t q_len = sizeof(q), der_len;
	const BIGNUM *r, *s;
	uint8_t rb[32], sb[32];
	ECDSA_SIG *es;
	struct sshbuf *key = buf(), *sig = buf(), *inner = buf();

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, q, q_len,
							 &q_len), 1);
	assert_int_equal(sshbuf_put_cstring(key, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_cstring(key, "nistp256"), 0);
	assert_int_equal(sshbuf_put_string(key, q, q_len), 0);
	der_len = evp_sign(pkey, EVP_sha256(), der, sizeof(der));
	assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len));
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, rb, 32), 32);
	assert_int_equal(BN_bn2binpad(s, sb, 32), 32);
	assert_int_equal(sshbuf_put_mpint(inner, rb, 32), 0);
	assert_int_equal(sshbuf_put_mpint(inner, sb, 32), 0);
	assert_int_equal(sshbuf_put_cstring(sig, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(sshbuf_put_stringb(sig, inner), 0);
	check(key, sig);
	ECDSA_SIG_free(es);
	EVP_PKEY_free(pkey);
	sshbuf_free(key);
	sshbuf_free(sig);
	sshbuf_free(inner);
}

static void test_verify_rsa(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIGNUM *n = NULL, *e = NULL;
	uint8_t nb[257], eb[8], sig[256];
	int n_len, e_len;
	struct sshbuf *key = buf(), *s = buf(), *s1 = buf();

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	n_len = BN_bn2bin(n, nb);
	e_len = BN_bn2bin(e, eb);
	assert_int_equal(sshbuf_put_cstring(key, "ssh-rsa"), 0);
	assert_int_equal(sshbuf_put_mpint(key, eb, (size_t)e_len), 0);
	assert_int_equal(sshbuf_put_mpint(key, nb, (size_t)n_len), 0);
	assert_int_equal(evp_sign(pkey, EVP_sha512(), sig, sizeof(sig)), 256);
	assert_int_equal(sshbuf_put_cstring(s, "rsa-sha2-512"), 0);
	assert_int_equal(sshbuf_put_string(s, sig, 256), 0);
	assert_int_equal(sshbuf_put_cstring(s1, "ssh-rsa"), 0);   /* SHA-1: refused */
	assert_int_equal(sshbuf_put_string(s1, sig, 256), 0);
	assert_int_equal(sshverify(sshbuf_ptr(key), sshbuf_len(key), sshbuf_ptr(s1), sshbuf_len(s1),
				   SID, sizeof(SID) - 1), SSHVERIFY_E_UNSUPP);
	check(key, s);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pkey);
	sshbuf_free(key);
	sshbuf_free(s);
	sshbuf_free(s1);
}

/* ---- known_hosts ---- */

struct found { size_t n, ca; };

/* ---- host certificates ---- */

static void ed25519_blob(EVP_PKEY *k, struct sshbuf *out)
{
	uint8_t pub[32];
	size_t len = sizeof(pub);

	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
	assert_int_equal(sshbuf_put_cstring(out, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(out, pub, len), 0);
}

/* An ssh-ed25519 signature blob by k over data. */
static void ed25519_sig(EVP_PKEY *k, const uint8_t *data, size_t len, struct sshbuf *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t sig_len = sizeof(sig);

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, data, len), 1);
	EVP_MD_CTX_free(ctx);
	assert_int_equal(sshbuf_put_cstring(out, "ssh-ed25519"), 0);
	assert_int_equal(sshbuf_put_string(out, sig, sig_len), 0);
}

/* An ssh-ed25519-cert-v01@openssh.com certificate of key for principal (NULL: none)
 * of type (1 user, 2 host), valid until valid_before, signed by ca. */
static struct sshbuf *make_cert(EVP_PKEY *key, EVP_PKEY *ca, uint32_t type,
				const char *principal, uint64_t valid_before)
{
	struct sshbuf *c = buf(), *k = buf(), *p = buf(), *cab = buf(), *sig = buf(), kv;
	const uint8_t *pk;
	size_t pk_len;

	ed25519_blob(key, k);
	sshbuf_view(&kv, sshbuf_ptr(k), sshbuf_len(k));
	assert_int_equal(sshbuf_get_string(&kv, &pk, &pk_len), 0); /* skip the type */
	assert_int_equal(sshbuf_get_string(&kv, &pk, &pk_len), 0);
	if (principal != NULL)
		assert_int_equal(sshbuf_put_cstring(p, principal), 0);
	ed25519_blob(ca, cab);
	assert_int_equal(sshbuf_put_cstring(c, "ssh-ed25519-cert-v01@openssh.com"), 0);
	assert_int_equal(sshbuf_put_string(c, "nonce", 5), 0);
	assert_int_equal(sshbuf_put_string(c, pk, pk_len), 0);
	assert_int_equal(sshbuf_put_u64(c, 7), 0);
	assert_int_equal(sshbuf_put_u32(c, type), 0);
	assert_int_equal(sshbuf_put_cstring(c, "host_d"), 0);
	assert_int_equal(sshbuf_put_stringb(c, p), 0);
	assert_int_equal(sshbuf_put_u64(c, 0), 0);
	assert_int_equal(sshbuf_put_u64(c, valid_before), 0);
	assert_int_equal(sshbuf_put_string(c, NULL, 0), 0); /* critical options */
	assert_int_equal(sshbuf_put_string(c, NULL, 0), 0); /* extensions */
	assert_int_equal(sshbuf_put_string(c, NULL, 0), 0); /* reserved */
	assert_int_equal(sshbuf_put_stringb(c, cab), 0);
	ed25519_sig(ca, sshbuf_ptr(c), sshbuf_len(c), sig);
	assert_int_equal(sshbuf_put_stringb(c, sig), 0);
	sshbuf_free(k);
	sshbuf_free(p);
	sshbuf_free(cab);
	sshbuf_free(sig);
	return c;
}

#define FOREVER UINT64_MAX

static void test_verify_cert(void **state)
{
	EVP_PKEY *host = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
		 *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
		 *ca = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct sshbuf *cert, *sig = buf(), *bad = buf(), *plain = buf();
	struct sshcert_any c;
	uint8_t *p;

	(void)state;
	cert = make_cert(host, ca, SSHCERT_TYPE_HOST, "host_d", FOREVER);
	assert_true(sshcert_is_cert_blob(sshbuf_ptr(cert), sshbuf_len(cert)));
	assert_int_equal(sshcert_any_from_blob(sshbuf_ptr(cert), sshbuf_len(cert), &c), 0);
	ed25519_blob(host, plain);
	assert_int_equal(c.key_len, sshbuf_len(plain)); /* the certified key, as a plain blob */
	assert_memory_equal(c.key, sshbuf_ptr(plain), c.key_len);
	assert_int_equal(c.n_principals, 1);
	assert_string_equal(c.principals[0], "host_d");
	ed25519_sig(host, SID, sizeof(SID) - 1, sig);
	check(cert, sig); /* verifies; a flipped bit does not */
	sshbuf_reset(sig);
	ed25519_sig(other, SID, sizeof(SID) - 1, bad); /* another key's signature */
	assert_int_equal(sshverify(sshbuf_ptr(cert), sshbuf_len(cert), sshbuf_ptr(bad),
				   sshbuf_len(bad), SID, sizeof(SID) - 1), SSHVERIFY_E_BADSIG);
	/* a principal changed after the CA signed: the CA signature fails */
	ed25519_sig(host, SID, sizeof(SID) - 1, sig);
	p = memmem(sshbuf_ptr(cert), sshbuf_len(cert), "host_d\0\0", 8);
	assert_non_null(p);
	p = memmem(p + 1, sshbuf_len(cert) - (size_t)(p + 1 - sshbuf_ptr(cert)), "host_d", 6);
	assert_non_null(p);
	p[5] = 'e';
	assert_int_equal(sshverify(sshbuf_ptr(cert), sshbuf_len(cert), sshbuf_ptr(sig),
				   sshbuf_len(sig), SID, sizeof(SID) - 1), SSHVERIFY_E_BADCA);
	EVP_PKEY_free(host);
	EVP_PKEY_free(other);
	EVP_PKEY_free(ca);
	sshbuf_free(cert);
	sshbuf_free(sig);
	sshbuf_free(bad);
	sshbuf_free(plain);
}

/* "-h host_d" where known_hosts says "@cert-authority host_d <ca>". */
static struct dest_set *ca_constraint(EVP_PKEY *ca, int is_ca)
{
	struct sshbuf *c = buf(), *cab = buf();
	struct dest_set *d = NULL;
	struct dest_key k;

	ed25519_blob(ca, cab);
	k.blob = sshbuf_ptr(cab);
	k.len = sshbuf_len(cab);
	k.is_ca = is_ca;
	assert_int_equal(dest_put_constraint(c, NULL, NULL, 0, NULL, "host_d", &k, 1), 0);
	assert_int_equal(parse(c, &d), 0);
	sshbuf_free(c);
	sshbuf_free(cab);
	return d;
}

static int cert_permitted(const struct dest_set *d, struct sshbuf *cert)
{
	struct dest_binding b = { sshbuf_ptr(cert), sshbuf_len(cert), 0 };
	int r = dest_permitted(d, &b, 1, "user", NULL);

	sshbuf_free(cert);
	return r;
}

static void test_cert_authority(void **state)
{
	EVP_PKEY *host = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
		 *ca = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
		 *ca2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct dest_set *d = ca_constraint(ca, 1), *plain = ca_constraint(ca, 0);
	struct sshbuf *hk = buf();
	struct dest_binding b;

	(void)state;
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 2, "host_d", FOREVER)), 1);
	/* as OpenSSH's match_key_hop: the hop's name is the pattern, not the principal */
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 2, "host_*", FOREVER)), 0);
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 2, NULL, FOREVER)), 1);
	assert_int_equal(cert_permitted(d, make_cert(host, ca2, 2, "host_d", FOREVER)), 0);
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 2, "host_e", FOREVER)), 0);
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 1, "host_d", FOREVER)), 0);
	assert_int_equal(cert_permitted(d, make_cert(host, ca, 2, "host_d", 1000)), 0);
	/* the CA key listed as a plain host key does not admit its certificates */
	assert_int_equal(cert_permitted(plain, make_cert(host, ca, 2, "host_d", FOREVER)), 0);
	/* nor does a CA entry admit the CA's own (plain) key as a host key */
	ed25519_blob(ca, hk);
	b.hostkey = sshbuf_ptr(hk);
	b.hostkey_len = sshbuf_len(hk);
	b.forwarded = 0;
	assert_int_equal(dest_permitted(d, &b, 1, "user", NULL), 0);
	assert_int_equal(dest_permitted(plain, &b, 1, "user", NULL), 1);
	dest_free(d);
	dest_free(plain);
	sshbuf_free(hk);
	EVP_PKEY_free(host);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(ca2);
}

static int count(void *arg, const uint8_t *blob, size_t len, int is_ca)
{
	struct found *f = arg;

	(void)blob;
	assert_true(len > 0);
	f->n++;
	f->ca += (size_t)is_ca;
	return 0;
}

static size_t lookup(const char *text, const char *host, size_t *ca)
{
	struct found f = { 0, 0 };

	assert_true(knownhosts_lookup(text, strlen(text), host, count, &f) >= 0);
	if (ca != NULL)
		*ca = f.ca;
	return f.n;
}

static void test_known_hosts(void **state)
{
	const char *pub = "ssh-ed25519 QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE= c";
	char text[2048], hashed[512];
	uint8_t salt[20], mac[20];
	unsigned mac_len = 0;
	size_t ca;

	(void)state;
	snprintf(text, sizeof(text), "# comment\nhosta,hostb %s\n!bad*,*.example.com %s\n"
		 "@cert-authority *.corp %s\n@revoked hosta %s\n[127.0.0.1]:2222 %s\r\n",
		 pub, pub, pub, pub, pub);
	assert_int_equal(lookup(text, "hosta", NULL), 1);   /* the revoked line is skipped */
	assert_int_equal(lookup(text, "hostb", NULL), 1);
	assert_int_equal(lookup(text, "www.example.com", NULL), 1);
	assert_int_equal(lookup(text, "bad.example.com", NULL), 0);
	assert_int_equal(lookup(text, "x.corp", &ca), 1);
	assert_int_equal(ca, 1);
	assert_int_equal(lookup(text, "[127.0.0.1]:2222", NULL), 1);
	assert_int_equal(lookup(text, "hostc", NULL), 0);
	/* hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, host)) */
	memset(salt, 7, sizeof(salt));
	HMAC(EVP_sha1(), salt, sizeof(salt), (const uint8_t *)"secret-host", 11, mac, &mac_len);
	strcpy(hashed, "|1|");
	EVP_EncodeBlock((uint8_t *)hashed + 3, salt, 20);
	strcat(hashed, "|");
	EVP_EncodeBlock((uint8_t *)hashed + strlen(hashed), mac, 20);
	snprintf(text, sizeof(text), "%s %s\n", hashed, pub);
	assert_int_equal(lookup(text, "secret-host", NULL), 1);
	assert_int_equal(lookup(text, "other-host", NULL), 0);
}

static void test_wildcards(void **state)
{
	const char *evil = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";

	(void)state;
	assert_true(knownhosts_wild("root", "ro*", 3));
	assert_true(knownhosts_wild("root", "*", 1));
	assert_true(knownhosts_wild("abc", "a?c", 3));
	assert_true(knownhosts_wild("a.b.c", "*.c", 3));
	assert_false(knownhosts_wild("abc", "a?", 2));
	assert_false(knownhosts_wild("", "?", 1));
	assert_true(knownhosts_wild("", "**", 2));
	/* once exponential (the fuzzer hung on such a pattern): now linear-ish */
	assert_false(knownhosts_wild("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", evil, strlen(evil)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_round_trip),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_permitted),
		cmocka_unit_test(test_userauth),
		cmocka_unit_test(test_verify_ed25519),
		cmocka_unit_test(test_verify_ecdsa),
		cmocka_unit_test(test_verify_rsa),
		cmocka_unit_test(test_verify_cert),
		cmocka_unit_test(test_cert_authority),
		cmocka_unit_test(test_known_hosts),
		cmocka_unit_test(test_wildcards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
