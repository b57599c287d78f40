/* tss2key: TSS2 PRIVATE KEY files (draft-bottomley-tpm2-keys) to and from struct tss2key,
 * with OpenSSL's ASN.1 templates for the DER and its PEM routines for the armour. */
#include "tss2key.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/safestack.h>

#define TSS2KEY_PEM_LABEL "TSS2 PRIVATE KEY"
/* The highest [n] tag this code knows; higher ones are a later draft's and skipped. */
#define TSS2KEY_LAST_KNOWN_TAG 5

/* ---- ASN.1 templates (section 3 of the draft) ---- */

typedef struct {
	ASN1_INTEGER *command_code;
	ASN1_OCTET_STRING *command_policy;
} TSS2_POLICY;

ASN1_SEQUENCE(TSS2_POLICY) = {
	ASN1_EXP(TSS2_POLICY, command_code, ASN1_INTEGER, 0),
	ASN1_EXP(TSS2_POLICY, command_policy, ASN1_OCTET_STRING, 1),
} static_ASN1_SEQUENCE_END(TSS2_POLICY)

DEFINE_STACK_OF(TSS2_POLICY)

typedef struct {
	ASN1_UTF8STRING *name;
	STACK_OF(TSS2_POLICY) *policy;
} TSS2_AUTHPOLICY;

ASN1_SEQUENCE(TSS2_AUTHPOLICY) = {
	ASN1_EXP_OPT(TSS2_AUTHPOLICY, name, ASN1_UTF8STRING, 0),
	ASN1_EXP_SEQUENCE_OF(TSS2_AUTHPOLICY, policy, TSS2_POLICY, 1),
} static_ASN1_SEQUENCE_END(TSS2_AUTHPOLICY)

DEFINE_STACK_OF(TSS2_AUTHPOLICY)

typedef struct {
	ASN1_OBJECT *type;
	ASN1_BOOLEAN empty_auth;   /* -1: absent (the template omits it when writing) */
	STACK_OF(TSS2_POLICY) *policy;
	ASN1_OCTET_STRING *secret;
	STACK_OF(TSS2_AUTHPOLICY) *auth_policy;
	ASN1_UTF8STRING *description;
	ASN1_BOOLEAN rsa_parent;
	ASN1_INTEGER *parent;
	ASN1_OCTET_STRING *pubkey;
	ASN1_OCTET_STRING *privkey;
} TSS2_PRIVKEY;

ASN1_SEQUENCE(TSS2_PRIVKEY) = {
	ASN1_SIMPLE(TSS2_PRIVKEY, type, ASN1_OBJECT),
	ASN1_EXP_OPT(TSS2_PRIVKEY, empty_auth, ASN1_BOOLEAN, 0),
	ASN1_EXP_SEQUENCE_OF_OPT(TSS2_PRIVKEY, policy, TSS2_POLICY, 1),
	ASN1_EXP_OPT(TSS2_PRIVKEY, secret, ASN1_OCTET_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(TSS2_PRIVKEY, auth_policy, TSS2_AUTHPOLICY, 3),
	ASN1_EXP_OPT(TSS2_PRIVKEY, description, ASN1_UTF8STRING, 4),
	ASN1_EXP_OPT(TSS2_PRIVKEY, rsa_parent, ASN1_BOOLEAN, 5),
	ASN1_SIMPLE(TSS2_PRIVKEY, parent, ASN1_INTEGER),
	ASN1_SIMPLE(TSS2_PRIVKEY, pubkey, ASN1_OCTET_STRING),
	ASN1_SIMPLE(TSS2_PRIVKEY, privkey, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(TSS2_PRIVKEY)

static TSS2_PRIVKEY *privkey_new(void)
{
	return (TSS2_PRIVKEY *)ASN1_item_new(ASN1_ITEM_rptr(TSS2_PRIVKEY));
}

static void privkey_free(TSS2_PRIVKEY *a)
{
	ASN1_item_free((ASN1_VALUE *)a, ASN1_ITEM_rptr(TSS2_PRIVKEY));
}

static void policy_free(TSS2_POLICY *a)
{
	ASN1_item_free((ASN1_VALUE *)a, ASN1_ITEM_rptr(TSS2_POLICY));
}

static void authpolicy_free(TSS2_AUTHPOLICY *a)
{
	ASN1_item_free((ASN1_VALUE *)a, ASN1_ITEM_rptr(TSS2_AUTHPOLICY));
}

/* The reason OpenSSL gave for the last failure, for the message; clears its queue so
 * a stale error never surfaces in an unrelated caller. */
static const char *ossl_reason(void)
{
	unsigned long err = ERR_peek_last_error();
	const char *r = err ? ERR_reason_error_string(err) : NULL;

	ERR_clear_error();
	return r ? r : "unknown reason";
}

/* ---- decoding ---- */

/* The key types by OID; 0 if the OID is not one of the draft's. */
static enum tss2key_type type_from_oid(const ASN1_OBJECT *oid, char *txt, size_t txt_len)
{
	static const struct { const char *oid; enum tss2key_type type; } known[] = {
		{ TSS2KEY_OID_LOADABLE, TSS2KEY_LOADABLE },
		{ TSS2KEY_OID_IMPORTABLE, TSS2KEY_IMPORTABLE },
		{ TSS2KEY_OID_SEALED, TSS2KEY_SEALED },
	};

	if (OBJ_obj2txt(txt, (int)txt_len, oid, 1) <= 0) {
		snprintf(txt, txt_len, "(unprintable)");
		return 0;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(txt, known[i].oid) == 0)
			return known[i].type;
	return 0;
}

/* Copies an OCTET STRING of min..max bytes; what names it in a message. */
static int copy_octets(const ASN1_OCTET_STRING *s, uint8_t *out, size_t min, size_t max,
		       size_t *out_len, const char *what, struct errmsg *e)
{
	int n = ASN1_STRING_length(s);

	if (n < 0 || (size_t)n < min)
		return errmsg_set(e, "tss2 key: %s is empty", what);
	if ((size_t)n > max)
		return errmsg_set(e, "tss2 key: %s is %d bytes, more than the %zu allowed",
				  what, n, max);
	if (n > 0)
		memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	*out_len = (size_t)n;
	return 0;
}

/* Copies a UTF8String into a NUL-terminated buffer of max bytes; an embedded NUL
 * would silently truncate the text, so it is refused. */
static int copy_utf8(const ASN1_UTF8STRING *s, char *out, size_t max, const char *what,
		     struct errmsg *e)
{
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);

	if (n < 0 || (size_t)n >= max)
		return errmsg_set(e, "tss2 key: %s is %d bytes, more than the %zu allowed",
				  what, n, max - 1);
	if (memchr(d, '\0', (size_t)n) != NULL)
		return errmsg_set(e, "tss2 key: %s contains a NUL byte", what);
	memcpy(out, d, (size_t)n);
	out[n] = '\0';
	return 0;
}

static int get_u32(const ASN1_INTEGER *i, uint32_t *out, const char *what, struct errmsg *e)
{
	uint64_t v;

	if (ASN1_INTEGER_get_uint64(&v, i) != 1 || v > UINT32_MAX) {
		ERR_clear_error();
		return errmsg_set(e, "tss2 key: %s is negative or does not fit 32 bits", what);
	}
	*out = (uint32_t)v;
	return 0;
}

static int policies_from_asn1(const STACK_OF(TSS2_POLICY) *sk, struct tss2key_policy *out,
			      size_t *n_out, const char *what, struct errmsg *e)
{
	int n = sk_TSS2_POLICY_num(sk);

	if (n > TSS2KEY_POLICY_MAX)
		return errmsg_set(e, "tss2 key: %s has %d commands, more than the %d allowed",
				  what, n, TSS2KEY_POLICY_MAX);
	for (int i = 0; i < n; i++) {
		const TSS2_POLICY *p = sk_TSS2_POLICY_value(sk, i);

		if (get_u32(p->command_code, &out[i].command_code, "policy commandCode", e) < 0 ||
		    /* Empty is fine: e.g. TPM2_PolicyAuthValue has no parameters. */
		    copy_octets(p->command_policy, out[i].data, 0, TSS2KEY_POLICY_DATA_MAX,
				&out[i].data_len, "policy commandPolicy", e) < 0)
			return -1;
	}
	*n_out = n < 0 ? 0 : (size_t)n;
	return 0;
}

static int authpolicies_from_asn1(const STACK_OF(TSS2_AUTHPOLICY) *sk, struct tss2key *k,
				  struct errmsg *e)
{
	int n = sk_TSS2_AUTHPOLICY_num(sk);

	if (n > TSS2KEY_AUTHPOL_MAX)
		return errmsg_set(e, "tss2 key: authPolicy has %d entries, more than the %d allowed",
				  n, TSS2KEY_AUTHPOL_MAX);
	for (int i = 0; i < n; i++) {
		const TSS2_AUTHPOLICY *ap = sk_TSS2_AUTHPOLICY_value(sk, i);
		struct tss2key_authpolicy *out = &k->authpolicy[i];

		if (ap->name != NULL) {
			if (copy_utf8(ap->name, out->name, sizeof(out->name),
				      "authPolicy name", e) < 0)
				return -1;
			out->has_name = 1;
		}
		if (policies_from_asn1(ap->policy, out->policy, &out->n_policy,
				       "authPolicy policy", e) < 0)
			return -1;
	}
	k->n_authpolicy = n < 0 ? 0 : (size_t)n;
	return 0;
}

static int optional_from_asn1(const TSS2_PRIVKEY *a, struct tss2key *k, struct errmsg *e)
{
	/* DER says TRUE is 0xff; BER readers take any non-zero octet as TRUE. */
	k->empty_auth = a->empty_auth > 0;
	k->rsa_parent = a->rsa_parent > 0;
	if (a->policy != NULL &&
	    policies_from_asn1(a->policy, k->policy, &k->n_policy, "policy", e) < 0)
		return -1;
	if (a->secret != NULL &&
	    copy_octets(a->secret, k->secret, 1, TSS2KEY_BLOB_MAX, &k->secret_len, "secret", e) < 0)
		return -1;
	if (a->auth_policy != NULL && authpolicies_from_asn1(a->auth_policy, k, e) < 0)
		return -1;
	if (a->description != NULL) {
		if (copy_utf8(a->description, k->description, sizeof(k->description),
			      "description", e) < 0)
			return -1;
		k->has_description = 1;
	}
	return 0;
}

static int key_from_asn1(const TSS2_PRIVKEY *a, struct tss2key *k, struct errmsg *e)
{
	char oid[80];

	memset(k, 0, sizeof(*k));
	k->type = type_from_oid(a->type, oid, sizeof(oid));
	if (k->type == 0)
		return errmsg_set(e, "tss2 key: unknown key type OID %s (expected %s, %s or %s)",
				  oid, TSS2KEY_OID_LOADABLE, TSS2KEY_OID_IMPORTABLE,
				  TSS2KEY_OID_SEALED);
	if (optional_from_asn1(a, k, e) < 0)
		return -1;
	if (k->type == TSS2KEY_IMPORTABLE && k->secret_len == 0)
		return errmsg_set(e, "tss2 key: importable key without its secret [2]");
	if (get_u32(a->parent, &k->parent, "parent", e) < 0 ||
	    copy_octets(a->pubkey, k->pub, 1, TSS2KEY_BLOB_MAX, &k->pub_len, "pubkey", e) < 0 ||
	    copy_octets(a->privkey, k->priv, 1, TSS2KEY_BLOB_MAX, &k->priv_len, "privkey", e) < 0)
		return -1;
	return 0;
}

/* Reads one TLV header at *p (at most avail bytes); on success *p points at the
 * contents and *total is the whole element's size. Indefinite lengths are refused:
 * the file is DER. */
static int read_tlv(const unsigned char **p, long avail, long *content_len, int *tag,
		    int *cls, long *total)
{
	const unsigned char *start = *p;
	int ret = ASN1_get_object(p, content_len, tag, cls, avail);

	if ((ret & 0x80) || ret == 0x21)
		return -1;
	*total = (long)(*p - start) + *content_len;
	return 0;
}

/* The outer SEQUENCE must span the input exactly; returns its contents. */
static int outer_sequence(const uint8_t *der, size_t len, const unsigned char **body,
			  long *body_len, struct errmsg *e)
{
	const unsigned char *p = der;
	long total;
	int tag, cls;

	if (read_tlv(&p, (long)len, body_len, &tag, &cls, &total) < 0) {
		ERR_clear_error();
		return errmsg_set(e, "tss2 key: malformed DER (bad outer length)");
	}
	if (tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL)
		return errmsg_set(e, "tss2 key: DER does not start with a SEQUENCE");
	if ((size_t)total != len)
		return errmsg_set(e, "tss2 key: %zu bytes of trailing data after the key",
				  len - (size_t)total);
	*body = p;
	return 0;
}

static int is_unknown_tag(int tag, int cls)
{
	return cls == V_ASN1_CONTEXT_SPECIFIC && tag > TSS2KEY_LAST_KNOWN_TAG;
}

/* OpenSSL's SEQUENCE template rejects fields it does not know, so elements tagged
 * above [5] (a later draft's) are cut out here and the SEQUENCE re-wrapped around
 * the rest. *out is NULL when nothing needed cutting; otherwise OPENSSL_free it. */
static int strip_unknown_tags(const uint8_t *der, size_t len, unsigned char **out,
			      size_t *out_len, struct errmsg *e)
{
	const unsigned char *body = NULL, *p, *end;
	unsigned char *buf = NULL, *w = NULL;
	long body_len = 0, kept = 0;

	*out = NULL;
	if (outer_sequence(der, len, &body, &body_len, e) < 0)
		return -1;
	end = body + body_len;
	/* Two passes over the elements: measure what stays, then copy it. */
	for (int pass = 0; pass < 2; pass++) {
		int cut = 0;

		for (p = body; p < end;) {
			const unsigned char *elem = p;
			long clen, total;
			int tag, cls;

			if (read_tlv(&p, (long)(end - elem), &clen, &tag, &cls, &total) < 0) {
				OPENSSL_free(buf);
				ERR_clear_error();
				return errmsg_set(e, "tss2 key: malformed DER at offset %ld",
						  (long)(elem - der));
			}
			p = elem + total;
			if (is_unknown_tag(tag, cls)) {
				cut = 1;
				continue;
			}
			if (pass == 0)
				kept += total;
			else
				w = (unsigned char *)memcpy(w, elem, (size_t)total) + total;
		}
		if (pass == 0) {
			int outer;

			if (!cut)
				return 0;
			outer = ASN1_object_size(1, kept, V_ASN1_SEQUENCE);
			if (outer < 0 || (buf = OPENSSL_malloc((size_t)outer)) == NULL)
				return errmsg_set(e, "tss2 key: out of memory");
			w = buf;
			ASN1_put_object(&w, 1, kept, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
			*out_len = (size_t)outer;
		}
	}
	*out = buf;
	return 0;
}

int tss2key_from_der(const uint8_t *der, size_t len, struct tss2key *k, struct errmsg *e)
{
	unsigned char *stripped = NULL;
	const unsigned char *p;
	TSS2_PRIVKEY *a;
	size_t plen;
	int rc;

	if (der == NULL || len == 0)
		return errmsg_set(e, "tss2 key: empty DER");
	if (len > TSS2KEY_FILE_MAX)
		return errmsg_set(e, "tss2 key: DER is %zu bytes, more than the %d allowed",
				  len, TSS2KEY_FILE_MAX);
	if (strip_unknown_tags(der, len, &stripped, &plen, e) < 0)
		return -1;
	p = stripped ? stripped : der;
	plen = stripped ? plen : len;
	a = (TSS2_PRIVKEY *)ASN1_item_d2i(NULL, &p, (long)plen, ASN1_ITEM_rptr(TSS2_PRIVKEY));
	if (a == NULL)
		rc = errmsg_set(e, "tss2 key: not a valid TSS2 PRIVATE KEY structure (%s)",
				ossl_reason());
	else if (p != (stripped ? stripped : der) + plen)
		rc = errmsg_set(e, "tss2 key: trailing data inside the key");
	else
		rc = key_from_asn1(a, k, e);
	privkey_free(a);
	OPENSSL_free(stripped);
	return rc;
}

/* ---- encoding ---- */

static int set_octets(ASN1_OCTET_STRING **dst, const uint8_t *data, size_t len)
{
	if (*dst == NULL && (*dst = ASN1_OCTET_STRING_new()) == NULL)
		return -1;
	return ASN1_OCTET_STRING_set(*dst, data, (int)len) == 1 ? 0 : -1;
}

static int set_utf8(ASN1_UTF8STRING **dst, const char *text)
{
	if ((*dst = ASN1_UTF8STRING_new()) == NULL)
		return -1;
	return ASN1_STRING_set(*dst, text, (int)strlen(text)) == 1 ? 0 : -1;
}

static TSS2_POLICY *policy_to_asn1(const struct tss2key_policy *p)
{
	TSS2_POLICY *a = (TSS2_POLICY *)ASN1_item_new(ASN1_ITEM_rptr(TSS2_POLICY));

	if (a == NULL)
		return NULL;
	if (ASN1_INTEGER_set_uint64(a->command_code, p->command_code) != 1 ||
	    set_octets(&a->command_policy, p->data, p->data_len) < 0) {
		policy_free(a);
		return NULL;
	}
	return a;
}

static STACK_OF(TSS2_POLICY) *policies_to_asn1(const struct tss2key_policy *p, size_t n)
{
	STACK_OF(TSS2_POLICY) *sk = sk_TSS2_POLICY_new_null();

	for (size_t i = 0; sk != NULL && i < n; i++) {
		TSS2_POLICY *a = policy_to_asn1(&p[i]);

		if (a == NULL || sk_TSS2_POLICY_push(sk, a) <= 0) {
			policy_free(a);
			sk_TSS2_POLICY_pop_free(sk, policy_free);
			return NULL;
		}
	}
	return sk;
}

static TSS2_AUTHPOLICY *authpolicy_to_asn1(const struct tss2key_authpolicy *ap)
{
	TSS2_AUTHPOLICY *a = (TSS2_AUTHPOLICY *)ASN1_item_new(ASN1_ITEM_rptr(TSS2_AUTHPOLICY));

	if (a == NULL)
		return NULL;
	/* The template made an empty stack; ours replaces it. */
	sk_TSS2_POLICY_pop_free(a->policy, policy_free);
	a->policy = policies_to_asn1(ap->policy, ap->n_policy);
	if (a->policy == NULL || (ap->has_name && set_utf8(&a->name, ap->name) < 0)) {
		authpolicy_free(a);
		return NULL;
	}
	return a;
}

static STACK_OF(TSS2_AUTHPOLICY) *authpolicies_to_asn1(const struct tss2key *k)
{
	STACK_OF(TSS2_AUTHPOLICY) *sk = sk_TSS2_AUTHPOLICY_new_null();

	for (size_t i = 0; sk != NULL && i < k->n_authpolicy; i++) {
		TSS2_AUTHPOLICY *a = authpolicy_to_asn1(&k->authpolicy[i]);

		if (a == NULL || sk_TSS2_AUTHPOLICY_push(sk, a) <= 0) {
			authpolicy_free(a);
			sk_TSS2_AUTHPOLICY_pop_free(sk, authpolicy_free);
			return NULL;
		}
	}
	return sk;
}

static int text_ok(const char *s, size_t max)
{
	return memchr(s, '\0', max) != NULL;
}

static int policies_ok(const struct tss2key_policy *p, size_t n)
{
	if (n > TSS2KEY_POLICY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].data_len > TSS2KEY_POLICY_DATA_MAX)
			return 0;
	return 1;
}

/* The writer holds itself to the reader's limits, so everything we write we can read. */
static int check_for_encoding(const struct tss2key *k, struct errmsg *e)
{
	if (k->type < TSS2KEY_LOADABLE || k->type > TSS2KEY_SEALED)
		return errmsg_set(e, "tss2 key: cannot encode: unknown key type %d", (int)k->type);
	if (k->pub_len == 0 || k->pub_len > TSS2KEY_BLOB_MAX ||
	    k->priv_len == 0 || k->priv_len > TSS2KEY_BLOB_MAX ||
	    k->secret_len > TSS2KEY_BLOB_MAX)
		return errmsg_set(e, "tss2 key: cannot encode: a TPM blob is empty or larger "
				  "than %d bytes", TSS2KEY_BLOB_MAX);
	if (k->type == TSS2KEY_IMPORTABLE && k->secret_len == 0)
		return errmsg_set(e, "tss2 key: cannot encode: importable key without a secret");
	if (k->has_description && !text_ok(k->description, sizeof(k->description)))
		return errmsg_set(e, "tss2 key: cannot encode: description is not terminated");
	if (!policies_ok(k->policy, k->n_policy) || k->n_authpolicy > TSS2KEY_AUTHPOL_MAX)
		return errmsg_set(e, "tss2 key: cannot encode: policy exceeds the limits");
	for (size_t i = 0; i < k->n_authpolicy; i++)
		if (!policies_ok(k->authpolicy[i].policy, k->authpolicy[i].n_policy) ||
		    (k->authpolicy[i].has_name &&
		     !text_ok(k->authpolicy[i].name, sizeof(k->authpolicy[i].name))))
			return errmsg_set(e, "tss2 key: cannot encode: authPolicy %zu exceeds "
					  "the limits", i);
	return 0;
}

static const char *type_oid(enum tss2key_type t)
{
	return t == TSS2KEY_IMPORTABLE ? TSS2KEY_OID_IMPORTABLE
	     : t == TSS2KEY_SEALED ? TSS2KEY_OID_SEALED : TSS2KEY_OID_LOADABLE;
}

/* Fills only what is set: absent optional fields stay NULL / -1 and are not written. */
static int fill_asn1(const struct tss2key *k, TSS2_PRIVKEY *a)
{
	ASN1_OBJECT_free(a->type);
	if ((a->type = OBJ_txt2obj(type_oid(k->type), 1)) == NULL)
		return -1;
	a->empty_auth = k->empty_auth ? 0xff : -1;
	a->rsa_parent = k->rsa_parent ? 0xff : -1;
	if (k->n_policy > 0 && (a->policy = policies_to_asn1(k->policy, k->n_policy)) == NULL)
		return -1;
	if (k->secret_len > 0 && set_octets(&a->secret, k->secret, k->secret_len) < 0)
		return -1;
	if (k->n_authpolicy > 0 && (a->auth_policy = authpolicies_to_asn1(k)) == NULL)
		return -1;
	if (k->has_description && set_utf8(&a->description, k->description) < 0)
		return -1;
	if (ASN1_INTEGER_set_uint64(a->parent, k->parent) != 1 ||
	    set_octets(&a->pubkey, k->pub, k->pub_len) < 0 ||
	    set_octets(&a->privkey, k->priv, k->priv_len) < 0)
		return -1;
	return 0;
}

int tss2key_to_der(const struct tss2key *k, uint8_t **der, size_t *len, struct errmsg *e)
{
	TSS2_PRIVKEY *a;
	unsigned char *w;
	int n = -1;

	*der = NULL;
	if (check_for_encoding(k, e) < 0)
		return -1;
	a = privkey_new();
	if (a != NULL && fill_asn1(k, a) == 0)
		n = ASN1_item_i2d((ASN1_VALUE *)a, NULL, ASN1_ITEM_rptr(TSS2_PRIVKEY));
	/* Sized first, then written into our own malloc so the caller can free(). */
	if (n > 0 && (*der = malloc((size_t)n)) != NULL) {
		w = *der;
		if (ASN1_item_i2d((ASN1_VALUE *)a, &w, ASN1_ITEM_rptr(TSS2_PRIVKEY)) != n) {
			free(*der);
			*der = NULL;
		}
	}
	privkey_free(a);
	if (*der == NULL)
		return errmsg_set(e, "tss2 key: DER encoding failed (%s)", ossl_reason());
	*len = (size_t)n;
	return 0;
}

/* ---- PEM ---- */

static int der_from_pem(const char *pem, size_t len, unsigned char **der, long *der_len,
			struct errmsg *e)
{
	char *name = NULL, *header = NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	int ok;

	if (bio == NULL)
		return errmsg_set(e, "tss2 key: out of memory");
	ok = PEM_read_bio(bio, &name, &header, der, der_len);
	BIO_free(bio);
	ERR_clear_error();
	if (!ok)
		return errmsg_set(e, "tss2 key: not a TSS2 PRIVATE KEY PEM file "
				  "(no PEM block found)");
	if (strcmp(name, TSS2KEY_PEM_LABEL) != 0)
		errmsg_set(e, "tss2 key: not a TSS2 PRIVATE KEY PEM file (label is \"%.64s\")",
			   name);
	else if (header[0] != '\0')
		errmsg_set(e, "tss2 key: PEM headers (encrypted PEM?) are not supported");
	ok = strcmp(name, TSS2KEY_PEM_LABEL) == 0 && header[0] == '\0';
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (!ok) {
		OPENSSL_free(*der);
		*der = NULL;
		return -1;
	}
	return 0;
}

int tss2key_from_pem(const char *pem, size_t len, struct tss2key *k, struct errmsg *e)
{
	unsigned char *der = NULL;
	long der_len = 0;
	int rc;

	if (pem == NULL || len == 0)
		return errmsg_set(e, "tss2 key: not a TSS2 PRIVATE KEY PEM file (empty)");
	if (len > TSS2KEY_FILE_MAX)
		return errmsg_set(e, "tss2 key: file is %zu bytes, more than the %d allowed",
				  len, TSS2KEY_FILE_MAX);
	if (der_from_pem(pem, len, &der, &der_len, e) < 0)
		return -1;
	rc = tss2key_from_der(der, (size_t)der_len, k, e);
	OPENSSL_free(der);
	return rc;
}

static int pem_from_der(const uint8_t *der, size_t der_len, char **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (bio == NULL)
		return -1;
	if (PEM_write_bio(bio, TSS2KEY_PEM_LABEL, "", der, (long)der_len) <= 0 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 || (*pem = malloc((size_t)n + 1)) == NULL) {
		BIO_free(bio);
		return -1;
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return 0;
}

int tss2key_to_pem(const struct tss2key *k, char **pem, size_t *len, struct errmsg *e)
{
	uint8_t *der;
	size_t der_len;
	int rc = 0;

	*pem = NULL;
	if (tss2key_to_der(k, &der, &der_len, e) < 0)
		return -1;
	if (pem_from_der(der, der_len, pem, len) < 0)
		rc = errmsg_set(e, "tss2 key: PEM encoding failed (%s)", ossl_reason());
	free(der);
	return rc;
}
