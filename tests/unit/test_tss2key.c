/* test_tss2key: TSS2 PRIVATE KEY encode/decode: round trips, hostile DER and PEM, and a
 * file written by tpm2-tools (tests/unit/data/tpm2tools-ecc.tss). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../protocol/tss2key.h"

/* ---- helpers ---- */

static struct tss2key *key_alloc(void)
{
	struct tss2key *k = calloc(1, sizeof(*k));

	assert_non_null(k);
	return k;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static struct tss2key *minimal_key(void)
{
	struct tss2key *k = key_alloc();

	k->type = TSS2KEY_LOADABLE;
	k->parent = 0x81000001;
	k->pub_len = 90;
	fill(k->pub, k->pub_len, 1);
	k->priv_len = 126;
	fill(k->priv, k->priv_len, 2);
	return k;
}

static void set_policy(struct tss2key_policy *p, uint32_t cc, size_t len, uint8_t seed)
{
	p->command_code = cc;
	p->data_len = len;
	fill(p->data, len, seed);
}

/* Every field set, each at or near its limit. */
static struct tss2key *full_key(void)
{
	struct tss2key *k = minimal_key();

	k->type = TSS2KEY_IMPORTABLE;
	k->empty_auth = 1;
	k->rsa_parent = 1;
	k->n_policy = TSS2KEY_POLICY_MAX;
	for (size_t i = 0; i < k->n_policy; i++)
		set_policy(&k->policy[i], 0x16b + (uint32_t)i, i == 0 ? TSS2KEY_POLICY_DATA_MAX : 34,
			   (uint8_t)i);
	k->secret_len = 258;
	fill(k->secret, k->secret_len, 9);
	k->n_authpolicy = 2;
	strcpy(k->authpolicy[0].name, "signing policy \xc3\xa9");
	k->authpolicy[0].has_name = 1;
	k->authpolicy[0].n_policy = 1;
	set_policy(&k->authpolicy[0].policy[0], 0x171, 32, 5);
	k->authpolicy[1].n_policy = 2;
	set_policy(&k->authpolicy[1].policy[0], 0x16b, 20, 6);
	set_policy(&k->authpolicy[1].policy[1], 0xffffffff, 1, 7);
	k->authpolicy[1].n_policy = 3; /* PolicyAuthValue: no parameters, empty data */
	set_policy(&k->authpolicy[1].policy[2], 0x16b, 0, 0);
	memset(k->description, 'd', TSS2KEY_DESC_MAX - 1);
	k->has_description = 1;
	k->pub_len = TSS2KEY_BLOB_MAX;
	fill(k->pub, k->pub_len, 3);
	return k;
}

static void expect_der_fails(const uint8_t *der, size_t len, const char *needle)
{
	struct tss2key *k = key_alloc();
	struct errmsg e = { "" };

	assert_int_equal(tss2key_from_der(der, len, k, &e), -1);
	assert_true(strncmp(e.text, "tss2 key: ", 10) == 0);
	if (needle != NULL && strstr(e.text, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.text, needle);
	free(k);
}

static void expect_pem_fails(const char *pem, size_t len, const char *needle)
{
	struct tss2key *k = key_alloc();
	struct errmsg e = { "" };

	assert_int_equal(tss2key_from_pem(pem, len, k, &e), -1);
	if (strstr(e.text, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", e.text, needle);
	free(k);
}

/* A tiny DER writer, only to forge hostile inputs the encoder refuses to make. */
struct dbuf {
	uint8_t b[80 * 1024];
	size_t n;
};

static struct dbuf *dbuf_new(void)
{
	struct dbuf *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	return d;
}

static void put_raw(struct dbuf *d, const void *p, size_t len)
{
	assert_true(d->n + len <= sizeof(d->b));
	memcpy(d->b + d->n, p, len);
	d->n += len;
}

static void put_tlv(struct dbuf *d, uint8_t tag, const void *c, size_t len)
{
	uint8_t h[6] = { tag };
	size_t hl = 2;

	if (len < 0x80) {
		h[1] = (uint8_t)len;
	} else if (len < 0x100) {
		h[1] = 0x81; h[2] = (uint8_t)len; hl = 3;
	} else if (len < 0x10000) {
		h[1] = 0x82; h[2] = (uint8_t)(len >> 8); h[3] = (uint8_t)len; hl = 4;
	} else {
		h[1] = 0x83; h[2] = (uint8_t)(len >> 16); h[3] = (uint8_t)(len >> 8);
		h[4] = (uint8_t)len; hl = 5;
	}
	put_raw(d, h, hl);
	put_raw(d, c, len);
}

static void put_blob(struct dbuf *d, uint8_t tag, size_t len)
{
	uint8_t *c = malloc(len + 1);

	assert_non_null(c);
	fill(c, len, 0x42);
	put_tlv(d, tag, c, len);
	free(c);
}

static const uint8_t OID_LOADABLE[] = { 0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03 };
static const uint8_t OID_IMPORTABLE[] = { 0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x04 };
static const uint8_t OID_WRONG[] = { 0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x07 };
static const uint8_t PARENT_OWNER[] = { 0x02, 0x04, 0x40, 0x00, 0x00, 0x01 };

/* What goes into a forged key; NULL/0 members take a valid default. */
struct forge {
	const uint8_t *oid; size_t oid_len;
	const struct dbuf *before_parent;     /* raw elements between the OID and parent */
	const uint8_t *parent; size_t parent_len;
	size_t pub_len, priv_len;
	const struct dbuf *after_priv;        /* raw elements after privkey */
	int no_parent, no_pub, no_priv;
};

static struct dbuf *forge(const struct forge *f)
{
	struct dbuf *body = dbuf_new(), *out = dbuf_new();

	if (f->oid)
		put_raw(body, f->oid, f->oid_len);
	else
		put_raw(body, OID_LOADABLE, sizeof(OID_LOADABLE));
	if (f->before_parent)
		put_raw(body, f->before_parent->b, f->before_parent->n);
	if (!f->no_parent) {
		if (f->parent)
			put_raw(body, f->parent, f->parent_len);
		else
			put_raw(body, PARENT_OWNER, sizeof(PARENT_OWNER));
	}
	if (!f->no_pub)
		put_blob(body, 0x04, f->pub_len ? f->pub_len : 88);
	if (!f->no_priv)
		put_blob(body, 0x04, f->priv_len ? f->priv_len : 128);
	if (f->after_priv)
		put_raw(body, f->after_priv->b, f->after_priv->n);
	put_tlv(out, 0x30, body->b, body->n);
	free(body);
	return out;
}

/* An explicitly tagged [tag] element around inner, appended to d. */
static void put_explicit(struct dbuf *d, unsigned tag, const struct dbuf *inner)
{
	put_tlv(d, (uint8_t)(0xa0 | tag), inner->b, inner->n);
}

static void forge_fails(const struct forge *f, const char *needle)
{
	struct dbuf *d = forge(f);

	expect_der_fails(d->b, d->n, needle);
	free(d);
}

/* Fixtures live next to this source: tests/unit/data, or $TPM_AGENT_TEST_DATA. */
static char *read_fixture(const char *name, size_t *len)
{
	const char *base = getenv("TPM_AGENT_TEST_DATA");
	const char *slash = strrchr(__FILE__, '/');
	char *buf = malloc(TSS2KEY_FILE_MAX + 1), path[1024];
	FILE *f;

	assert_non_null(buf);
	if (base != NULL)
		snprintf(path, sizeof(path), "%s/%s", base, name);
	else
		snprintf(path, sizeof(path), "%.*sdata/%s",
			 slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open fixture %s (run from the repo root or set "
			 "TPM_AGENT_TEST_DATA)", path);
	*len = fread(buf, 1, TSS2KEY_FILE_MAX, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* ---- round trips ---- */

static void test_roundtrip_der_full(void **state)
{
	struct tss2key *k = full_key(), *back = key_alloc();
	struct errmsg e = { "" };
	uint8_t *der;
	size_t len;

	(void)state;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), 0);
	assert_int_equal(tss2key_from_der(der, len, back, &e), 0);
	assert_memory_equal(k, back, sizeof(*k));
	free(der);
	free(k);
	free(back);
}

static void test_roundtrip_pem_full(void **state)
{
	struct tss2key *k = full_key(), *back = key_alloc();
	struct errmsg e = { "" };
	char *pem;
	size_t len;

	(void)state;
	assert_int_equal(tss2key_to_pem(k, &pem, &len, &e), 0);
	assert_int_equal(strlen(pem), len);
	assert_true(strncmp(pem, "-----BEGIN TSS2 PRIVATE KEY-----\n", 33) == 0);
	assert_non_null(strstr(pem, "-----END TSS2 PRIVATE KEY-----\n"));
	assert_int_equal(tss2key_from_pem(pem, len, back, &e), 0);
	assert_memory_equal(k, back, sizeof(*k));
	free(pem);
	free(k);
	free(back);
}

/* Only what is set is written: a minimal key is OID, parent, pubkey, privkey. */
static void test_minimal_writes_no_optionals(void **state)
{
	struct tss2key *k = minimal_key(), *back = key_alloc();
	struct errmsg e = { "" };
	uint8_t *der;
	size_t len;

	(void)state;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), 0);
	/* 30 81 xx | OID (8 bytes) | then INTEGER parent right away */
	assert_int_equal(der[0], 0x30);
	assert_memory_equal(der + 3, OID_LOADABLE, sizeof(OID_LOADABLE));
	assert_int_equal(der[3 + sizeof(OID_LOADABLE)], 0x02);
	assert_int_equal(len, 3 + 8 + 7 + 2 + 90 + 2 + 126); /* 0x81000001 needs a 0x00 pad */
	assert_int_equal(tss2key_from_der(der, len, back, &e), 0);
	assert_memory_equal(k, back, sizeof(*k));
	assert_int_equal(back->empty_auth, 0);
	assert_int_equal(back->has_description, 0);
	free(der);
	free(k);
	free(back);
}

static void test_encoder_refuses_bad_struct(void **state)
{
	struct tss2key *k = minimal_key();
	struct errmsg e = { "" };
	uint8_t *der = (uint8_t *)"x";
	size_t len;

	(void)state;
	k->pub_len = TSS2KEY_BLOB_MAX + 1;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), -1);
	assert_null(der);
	assert_non_null(strstr(e.text, "cannot encode"));
	k->pub_len = 10;
	k->n_policy = TSS2KEY_POLICY_MAX + 1;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), -1);
	k->n_policy = 0;
	k->type = TSS2KEY_IMPORTABLE; /* without a secret */
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), -1);
	k->type = 0;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), -1);
	free(k);
}

/* ---- the tpm2-tools file ---- */

static void test_tpm2tools_fixture(void **state)
{
	struct tss2key *k = key_alloc(), *back = key_alloc();
	struct errmsg e = { "" };
	size_t pem_len, pub_len, priv_len, der_len;
	char *pem = read_fixture("tpm2tools-ecc.tss", &pem_len);
	char *pub = read_fixture("tpm2tools-ecc.pub", &pub_len);
	char *priv = read_fixture("tpm2tools-ecc.priv", &priv_len);
	uint8_t *der;

	(void)state;
	if (tss2key_from_pem(pem, pem_len, k, &e) != 0)
		fail_msg("%s", e.text);
	assert_int_equal(k->type, TSS2KEY_LOADABLE);
	assert_int_equal(k->parent, 0x40000001);
	/* tpm2-tools 5.4 writes emptyAuth FALSE for a key without auth (its issue #3458). */
	assert_int_equal(k->empty_auth, 0);
	assert_int_equal(k->has_description, 0);
	assert_int_equal(k->n_policy, 0);
	assert_int_equal(k->pub_len, 88);
	assert_int_equal(k->priv_len, 128);
	assert_int_equal(k->pub_len, pub_len);
	assert_int_equal(k->priv_len, priv_len);
	assert_memory_equal(k->pub, pub, pub_len);
	assert_memory_equal(k->priv, priv, priv_len);
	/* Our own encoding of it reads back the same. */
	assert_int_equal(tss2key_to_der(k, &der, &der_len, &e), 0);
	assert_int_equal(tss2key_from_der(der, der_len, back, &e), 0);
	assert_memory_equal(k, back, sizeof(*k));
	free(der);
	free(pem);
	free(pub);
	free(priv);
	free(k);
	free(back);
}

/* ---- hostile DER ---- */

static void test_truncated_everywhere(void **state)
{
	struct tss2key *k = full_key();
	struct errmsg e = { "" };
	uint8_t *der, *copy;
	size_t len;

	(void)state;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly cut bytes, so a read past the end shows under ASan. */
		copy = malloc(cut ? cut : 1);
		memcpy(copy, der, cut);
		expect_der_fails(copy, cut, NULL);
		free(copy);
	}
	free(der);
	free(k);
}

static void assert_within_limits(const struct tss2key *k)
{
	assert_true(k->pub_len >= 1 && k->pub_len <= TSS2KEY_BLOB_MAX);
	assert_true(k->priv_len >= 1 && k->priv_len <= TSS2KEY_BLOB_MAX);
	assert_true(k->secret_len <= TSS2KEY_BLOB_MAX);
	assert_true(k->n_policy <= TSS2KEY_POLICY_MAX);
	assert_true(k->n_authpolicy <= TSS2KEY_AUTHPOL_MAX);
	assert_true(strlen(k->description) < TSS2KEY_DESC_MAX);
	for (size_t i = 0; i < k->n_policy; i++)
		assert_true(k->policy[i].data_len <= TSS2KEY_POLICY_DATA_MAX);
}

/* Every byte flipped three ways: either a clean error or a key within the limits. */
static void test_flipped_bytes(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	struct tss2key *k = full_key(), *out = key_alloc();
	struct errmsg e = { "" };
	uint8_t *der;
	size_t len, ok = 0, bad = 0;

	(void)state;
	/* A smaller key keeps this quick: the full one has 4 KiB of pubkey. */
	k->pub_len = 40;
	assert_int_equal(tss2key_to_der(k, &der, &len, &e), 0);
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			der[i] ^= flips[f];
			e.text[0] = '\0';
			if (tss2key_from_der(der, len, out, &e) == 0) {
				assert_within_limits(out);
				ok++;
			} else {
				assert_true(strncmp(e.text, "tss2 key: ", 10) == 0);
				bad++;
			}
			der[i] ^= flips[f];
		}
	}
	assert_true(bad > 0);
	assert_int_equal(ok + bad, len * sizeof(flips));
	free(der);
	free(k);
	free(out);
}

static void test_wrong_oid(void **state)
{
	struct forge f = { .oid = OID_WRONG, .oid_len = sizeof(OID_WRONG) };

	(void)state;
	forge_fails(&f, "unknown key type OID 2.23.133.10.1.7");
}

static void test_forged_valid_parses(void **state)
{
	struct forge f = { 0 };
	struct dbuf *d = forge(&f);
	struct tss2key *k = key_alloc();
	struct errmsg e = { "" };

	(void)state;
	assert_int_equal(tss2key_from_der(d->b, d->n, k, &e), 0);
	assert_int_equal(k->parent, 0x40000001);
	assert_int_equal(k->pub_len, 88);
	free(d);
	free(k);
}

static void test_missing_fields(void **state)
{
	struct forge f = { .no_parent = 1 };

	(void)state;
	forge_fails(&f, "not a valid TSS2 PRIVATE KEY");
	f = (struct forge){ .no_priv = 1 };
	forge_fails(&f, "not a valid TSS2 PRIVATE KEY");
	f = (struct forge){ .no_pub = 1, .no_priv = 1 };
	forge_fails(&f, "not a valid TSS2 PRIVATE KEY");
	/* importable keys need their secret [2] */
	f = (struct forge){ .oid = OID_IMPORTABLE, .oid_len = sizeof(OID_IMPORTABLE) };
	forge_fails(&f, "secret");
}

static void test_oversize_blobs(void **state)
{
	struct forge f = { .pub_len = TSS2KEY_BLOB_MAX + 1 };

	(void)state;
	forge_fails(&f, "pubkey is 4097 bytes");
	f = (struct forge){ .priv_len = TSS2KEY_BLOB_MAX + 1 };
	forge_fails(&f, "privkey is 4097 bytes");
	f = (struct forge){ .pub_len = TSS2KEY_BLOB_MAX, .priv_len = TSS2KEY_BLOB_MAX };
	struct dbuf *d = forge(&f);
	struct tss2key *k = key_alloc();
	struct errmsg e = { "" };
	assert_int_equal(tss2key_from_der(d->b, d->n, k, &e), 0);
	free(d);
	free(k);
}

static void test_empty_blob(void **state)
{
	struct dbuf *before = dbuf_new();
	struct forge f = { .before_parent = before };

	(void)state;
	/* secret [2] present but empty */
	struct dbuf *inner = dbuf_new();
	put_tlv(inner, 0x04, "", 0);
	put_explicit(before, 2, inner);
	forge_fails(&f, "secret is empty");
	free(inner);
	free(before);
}

static void test_oversize_description(void **state)
{
	struct dbuf *before = dbuf_new(), *inner = dbuf_new();
	struct forge f = { .before_parent = before };
	char text[TSS2KEY_DESC_MAX];

	(void)state;
	memset(text, 'x', sizeof(text));
	put_tlv(inner, 0x0c, text, TSS2KEY_DESC_MAX); /* one byte too many */
	put_explicit(before, 4, inner);
	forge_fails(&f, "description is 256 bytes");
	/* an embedded NUL would truncate the text silently */
	before->n = inner->n = 0;
	put_tlv(inner, 0x0c, "ab\0cd", 5);
	put_explicit(before, 4, inner);
	forge_fails(&f, "NUL");
	free(before);
	free(inner);
}

/* A TPMPolicy: SEQUENCE { [0] INTEGER cc, [1] OCTET STRING data }. */
static void put_policy(struct dbuf *d, size_t data_len)
{
	struct dbuf *seq = dbuf_new(), *inner = dbuf_new();
	static const uint8_t cc[] = { 0x02, 0x02, 0x01, 0x6b };

	put_raw(inner, cc, sizeof(cc));
	put_explicit(seq, 0, inner);
	inner->n = 0;
	put_blob(inner, 0x04, data_len);
	put_explicit(seq, 1, inner);
	put_tlv(d, 0x30, seq->b, seq->n);
	free(seq);
	free(inner);
}

static void forge_policies(size_t count, size_t data_len, const char *needle)
{
	struct dbuf *before = dbuf_new(), *list = dbuf_new(), *seqof = dbuf_new();
	struct forge f = { .before_parent = before };

	for (size_t i = 0; i < count; i++)
		put_policy(list, data_len);
	put_tlv(seqof, 0x30, list->b, list->n);
	put_explicit(before, 1, seqof);
	if (needle)
		forge_fails(&f, needle);
	else {
		struct dbuf *d = forge(&f);
		struct tss2key *k = key_alloc();
		struct errmsg e = { "" };

		assert_int_equal(tss2key_from_der(d->b, d->n, k, &e), 0);
		assert_int_equal(k->n_policy, count);
		assert_int_equal(k->policy[0].command_code, 0x16b);
		free(d);
		free(k);
	}
	free(before);
	free(list);
	free(seqof);
}

static void test_policy_limits(void **state)
{
	(void)state;
	forge_policies(TSS2KEY_POLICY_MAX, TSS2KEY_POLICY_DATA_MAX, NULL);
	forge_policies(TSS2KEY_POLICY_MAX + 1, 8, "policy has 9 commands");
	forge_policies(1, TSS2KEY_POLICY_DATA_MAX + 1, "commandPolicy is 1025 bytes");
	forge_policies(2, 0, NULL); /* parameterless commands have an empty commandPolicy */
}

static void test_bad_parent(void **state)
{
	static const uint8_t negative[] = { 0x02, 0x01, 0xff };
	static const uint8_t too_big[] = { 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00 };
	struct forge f = { .parent = negative, .parent_len = sizeof(negative) };

	(void)state;
	forge_fails(&f, "parent is negative or does not fit 32 bits");
	f = (struct forge){ .parent = too_big, .parent_len = sizeof(too_big) };
	forge_fails(&f, "parent is negative or does not fit 32 bits");
}

/* Tags above [5] belong to later drafts and are skipped, wherever they sit. */
static void test_unknown_tags_tolerated(void **state)
{
	struct dbuf *before = dbuf_new(), *after = dbuf_new(), *inner = dbuf_new();
	struct forge f = { .before_parent = before, .after_priv = after };
	struct tss2key *k = key_alloc();
	struct errmsg e = { "" };
	struct dbuf *d;
	static const uint8_t high_tag[] = { 0xbf, 0x1f, 0x03, 0x01, 0x01, 0xff }; /* [31] */

	(void)state;
	put_tlv(inner, 0x01, "\xff", 1);
	put_explicit(before, 0, inner);          /* emptyAuth TRUE */
	inner->n = 0;
	put_tlv(inner, 0x0c, "later draft", 11);
	put_explicit(before, 6, inner);          /* [6] */
	put_explicit(before, 9, inner);          /* [9] */
	put_raw(before, high_tag, sizeof(high_tag));
	put_explicit(after, 7, inner);           /* [7] after privkey */
	d = forge(&f);
	if (tss2key_from_der(d->b, d->n, k, &e) != 0)
		fail_msg("%s", e.text);
	assert_int_equal(k->empty_auth, 1);
	assert_int_equal(k->parent, 0x40000001);
	assert_int_equal(k->priv_len, 128);
	free(d);
	free(before);
	free(after);
	free(inner);
	free(k);
}

static void test_trailing_and_oversize_der(void **state)
{
	struct forge f = { 0 };
	struct dbuf *d = forge(&f);
	uint8_t *big;

	(void)state;
	put_raw(d, "\x00\x00", 2);
	expect_der_fails(d->b, d->n, "trailing data");
	free(d);
	big = calloc(1, TSS2KEY_FILE_MAX + 1);
	expect_der_fails(big, TSS2KEY_FILE_MAX + 1, "more than the 65536 allowed");
	free(big);
	expect_der_fails((const uint8_t *)"\x04\x01\x00", 3, "SEQUENCE");
	expect_der_fails((const uint8_t *)"\x30\x80\x00\x00", 4, NULL); /* indefinite */
}

/* ---- hostile PEM ---- */

static void test_garbage_pem(void **state)
{
	static const char bad_b64[] =
		"-----BEGIN TSS2 PRIVATE KEY-----\n!!!not base64!!!\n"
		"-----END TSS2 PRIVATE KEY-----\n";
	static const char not_a_key[] =
		"-----BEGIN TSS2 PRIVATE KEY-----\nBAEA\n-----END TSS2 PRIVATE KEY-----\n";
	static const char wrong_label[] =
		"-----BEGIN PRIVATE KEY-----\nBAEA\n-----END PRIVATE KEY-----\n";
	static const char headers[] =
		"-----BEGIN TSS2 PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nBAEA\n"
		"-----END TSS2 PRIVATE KEY-----\n";
	static const char text[] = "hello, this is not PEM at all\n";

	(void)state;
	expect_pem_fails(text, sizeof(text) - 1, "not a TSS2 PRIVATE KEY PEM file");
	expect_pem_fails(bad_b64, sizeof(bad_b64) - 1, "not a TSS2 PRIVATE KEY PEM file");
	expect_pem_fails(wrong_label, sizeof(wrong_label) - 1, "label is \"PRIVATE KEY\"");
	expect_pem_fails(headers, sizeof(headers) - 1, "PEM headers");
	expect_pem_fails(not_a_key, sizeof(not_a_key) - 1, "SEQUENCE");
	expect_pem_fails("", 0, "empty");
}

static void test_pem_truncated_and_oversize(void **state)
{
	struct tss2key *k = minimal_key();
	struct errmsg e = { "" };
	char *pem, *big;
	size_t len;

	(void)state;
	assert_int_equal(tss2key_to_pem(k, &pem, &len, &e), 0);
	for (size_t cut = 1; cut < len - 1; cut += 3) {
		struct tss2key *out = key_alloc();

		assert_int_equal(tss2key_from_pem(pem, cut, out, &e), -1);
		free(out);
	}
	big = malloc(TSS2KEY_FILE_MAX + 2);
	memset(big, '\n', TSS2KEY_FILE_MAX + 1);
	memcpy(big, pem, len);
	expect_pem_fails(big, TSS2KEY_FILE_MAX + 1, "more than the 65536 allowed");
	free(big);
	free(pem);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_der_full),
		cmocka_unit_test(test_roundtrip_pem_full),
		cmocka_unit_test(test_minimal_writes_no_optionals),
		cmocka_unit_test(test_encoder_refuses_bad_struct),
		cmocka_unit_test(test_tpm2tools_fixture),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_wrong_oid),
		cmocka_unit_test(test_forged_valid_parses),
		cmocka_unit_test(test_missing_fields),
		cmocka_unit_test(test_oversize_blobs),
		cmocka_unit_test(test_empty_blob),
		cmocka_unit_test(test_oversize_description),
		cmocka_unit_test(test_policy_limits),
		cmocka_unit_test(test_bad_parent),
		cmocka_unit_test(test_unknown_tags_tolerated),
		cmocka_unit_test(test_trailing_and_oversize_der),
		cmocka_unit_test(test_garbage_pem),
		cmocka_unit_test(test_pem_truncated_and_oversize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
