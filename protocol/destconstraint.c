/* destconstraint: parsing and matching of ssh-add -h destination constraints, after
 * OpenSSH's ssh-agent.c (parse_dest_constraint, identity_permitted). */
#include "destconstraint.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knownhosts.h"
#include "sshcert.h"

#define SSH2_MSG_USERAUTH_REQUEST 50

static int fail(struct errmsg *e, int r, const char *why)
{
	errmsg_set(e, "%s: %s", DEST_EXT_NAME, why);
	return r;
}

static int parse_hop(const uint8_t *p, size_t len, struct dest_hop *h, struct errmsg *e)
{
	struct sshbuf b;
	const uint8_t *reserved;
	size_t reserved_len;
	uint8_t is_ca;
	int r;

	memset(h, 0, sizeof(*h));
	sshbuf_view(&b, p, len);
	if ((r = sshbuf_get_cstring(&b, h->user, sizeof(h->user))) != 0 ||
	    (r = sshbuf_get_cstring(&b, h->host, sizeof(h->host))) != 0 ||
	    (r = sshbuf_get_string(&b, &reserved, &reserved_len)) != 0)
		return fail(e, r, "malformed hop");
	if (reserved_len != 0)
		return fail(e, SSHBUF_E_FORMAT, "hop with unsupported extensions");
	while (sshbuf_len(&b) > 0) {
		struct dest_key *k = &h->keys[h->n_keys];

		if (h->n_keys == DEST_MAX_KEYS)
			return fail(e, SSHBUF_E_TOOBIG, "too many host keys in one hop");
		if ((r = sshbuf_get_string(&b, &k->blob, &k->len)) != 0 ||
		    (r = sshbuf_get_u8(&b, &is_ca)) != 0)
			return fail(e, r, "malformed host key");
		if (k->len == 0)
			return fail(e, SSHBUF_E_FORMAT, "empty host key");
		k->is_ca = is_ca != 0;
		h->n_keys++;
	}
	return 0;
}

static int parse_one(struct sshbuf *b, struct dest_constraint *c, struct errmsg *e)
{
	const uint8_t *outer, *from, *to, *reserved;
	size_t outer_len, from_len, to_len, reserved_len;
	struct sshbuf cb;
	int r;

	if ((r = sshbuf_get_string(b, &outer, &outer_len)) != 0)
		return fail(e, r, "malformed constraint");
	sshbuf_view(&cb, outer, outer_len);
	if ((r = sshbuf_get_string(&cb, &from, &from_len)) != 0 ||
	    (r = sshbuf_get_string(&cb, &to, &to_len)) != 0 ||
	    (r = sshbuf_get_string(&cb, &reserved, &reserved_len)) != 0)
		return fail(e, r, "malformed constraint");
	if (reserved_len != 0 || sshbuf_len(&cb) != 0)
		return fail(e, SSHBUF_E_FORMAT, "constraint with unsupported extensions");
	if ((r = parse_hop(from, from_len, &c->from, e)) != 0 ||
	    (r = parse_hop(to, to_len, &c->to, e)) != 0)
		return r;
	if (c->from.user[0] != '\0' || (c->from.host[0] == '\0') != (c->from.n_keys == 0))
		return fail(e, SSHBUF_E_FORMAT, "inconsistent \"from\" hop");
	if (c->to.host[0] == '\0' || c->to.n_keys == 0)
		return fail(e, SSHBUF_E_FORMAT, "incomplete \"to\" hop");
	return 0;
}

int dest_parse(struct sshbuf *b, struct dest_set **out, struct errmsg *e)
{
	const uint8_t *p;
	size_t len;
	struct dest_set *d;
	struct sshbuf cs;
	int r;

	*out = NULL;
	if ((r = sshbuf_get_string(b, &p, &len)) != 0)
		return fail(e, r, "malformed constraint list");
	if (len == 0)
		return fail(e, SSHBUF_E_FORMAT, "no constraints");
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->raw = malloc(len)) == NULL ||
	    (d->c = calloc(DEST_MAX_CONSTRAINTS, sizeof(*d->c))) == NULL) {
		dest_free(d);
		return fail(e, SSHBUF_E_NOMEM, "out of memory");
	}
	memcpy(d->raw, p, len);
	d->raw_len = len;
	sshbuf_view(&cs, d->raw, len); /* the keys point into our own copy */
	while (sshbuf_len(&cs) > 0) {
		if (d->n == DEST_MAX_CONSTRAINTS) {
			dest_free(d);
			return fail(e, SSHBUF_E_TOOBIG, "too many constraints on one key");
		}
		if ((r = parse_one(&cs, &d->c[d->n], e)) != 0) {
			dest_free(d);
			return r;
		}
		d->n++;
	}
	*out = d;
	return 0;
}

int dest_put(const struct dest_set *d, struct sshbuf *out)
{
	return sshbuf_put_string(out, d->raw, d->raw_len);
}

void dest_free(struct dest_set *d)
{
	if (d == NULL)
		return;
	free(d->raw);
	free(d->c);
	free(d);
}

static int put_hop(struct sshbuf *out, const char *user, const char *host,
		   const struct dest_key *keys, size_t n)
{
	struct sshbuf *h = sshbuf_new(SSHBUF_SIZE_MAX);
	int r;

	if (h == NULL)
		return SSHBUF_E_NOMEM;
	if ((r = sshbuf_put_cstring(h, user)) == 0 && (r = sshbuf_put_cstring(h, host)) == 0)
		r = sshbuf_put_string(h, NULL, 0);
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((r = sshbuf_put_string(h, keys[i].blob, keys[i].len)) == 0)
			r = sshbuf_put_u8(h, keys[i].is_ca ? 1 : 0);
	if (r == 0)
		r = sshbuf_put_stringb(out, h);
	sshbuf_free(h);
	return r;
}

int dest_put_constraint(struct sshbuf *out, const char *from_host,
			const struct dest_key *from_keys, size_t n_from, const char *to_user,
			const char *to_host, const struct dest_key *to_keys, size_t n_to)
{
	struct sshbuf *c = sshbuf_new(SSHBUF_SIZE_MAX);
	int r;

	if (c == NULL)
		return SSHBUF_E_NOMEM;
	if ((r = put_hop(c, "", from_host ? from_host : "", from_keys, from_host ? n_from : 0)) == 0 &&
	    (r = put_hop(c, to_user ? to_user : "", to_host, to_keys, n_to)) == 0 &&
	    (r = sshbuf_put_string(c, NULL, 0)) == 0)
		r = sshbuf_put_stringb(out, c);
	sshbuf_free(c);
	return r;
}

/* ---- matching ---- */

/* OpenSSH's sshkey_cert_check_host for a hop named host: a host certificate, valid
 * now, without critical options, naming host among its principals (each principal
 * matched against host as a pattern, as OpenSSH does) or naming none. Its CA's
 * signature was checked when it was bound (sshverify). */
static int cert_fits_host(const struct sshcert_any *c, const char *host)
{
	time_t now = time(NULL);

	if (c->cert_type != SSHCERT_TYPE_HOST || now < 0 ||
	    !sshcert_any_valid_at(c, (uint64_t)now) || c->critical_len != 0)
		return 0;
	if (c->n_principals == 0)
		return 1;
	for (size_t i = 0; i < c->n_principals; i++)
		if (knownhosts_wild(c->principals[i], host, strlen(host)))
			return 1;
	return 0;
}

/* match_key_hop: a plain host key matches a non-CA entry with the same blob; a
 * certificate matches a CA entry holding its signature key, when it fits the hop's
 * host name. */
static int hop_has_key(const struct dest_hop *h, const uint8_t *key, size_t len)
{
	struct sshcert_any c;
	int cert = sshcert_is_cert_blob(key, len);

	if (cert && sshcert_any_from_blob(key, len, &c) != 0)
		return 0;
	for (size_t i = 0; i < h->n_keys; i++) {
		const struct dest_key *k = &h->keys[i];

		if (!cert && !k->is_ca && k->len == len && memcmp(k->blob, key, len) == 0)
			return 1;
		if (cert && k->is_ca && k->len == c.ca_len && memcmp(k->blob, c.ca, c.ca_len) == 0 &&
		    cert_fits_host(&c, h->host))
			return 1;
	}
	return 0;
}

/* permitted_by_dest_constraints: from NULL = the origin; to NULL = any destination. */
static int permitted_hop(const struct dest_set *d, const struct dest_binding *from,
			 const struct dest_binding *to, const char *user)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct dest_constraint *c = &d->c[i];

		if (from == NULL ? (c->from.host[0] != '\0' || c->from.n_keys != 0) :
				   !hop_has_key(&c->from, from->hostkey, from->hostkey_len))
			continue;
		if (to != NULL && !hop_has_key(&c->to, to->hostkey, to->hostkey_len))
			continue;
		if (c->to.user[0] != '\0' && user != NULL && !knownhosts_wild(user, c->to.user, strlen(c->to.user)))
			continue;
		return 1;
	}
	return 0;
}

int dest_permitted(const struct dest_set *d, const struct dest_binding *b, size_t n,
		   const char *user, const char **why)
{
	const char *dummy;

	why = why != NULL ? why : &dummy;
	*why = NULL;
	if (n == 0) {
		*why = "the connection is bound to no ssh session";
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		int last = i == n - 1;

		if (last && b[i].forwarded && user != NULL) {
			*why = "a signature requested on a forwarding hop";
			return 0;
		}
		if (!last && !b[i].forwarded) {
			*why = "forwarding through a session bound for authentication";
			return 0;
		}
		if (!permitted_hop(d, i == 0 ? NULL : &b[i - 1], &b[i], last ? user : NULL)) {
			*why = "no permitted hop matches this path";
			return 0;
		}
	}
	/* Listed through a forwarding: only keys usable beyond the last host. */
	if (b[n - 1].forwarded && user == NULL && !permitted_hop(d, &b[n - 1], NULL, NULL)) {
		*why = "permitted at that host but not beyond it";
		return 0;
	}
	return 1;
}

/* ---- userauth requests ---- */

/* The key algorithm pkalg names key type ktype ("rsa-sha2-256" for "ssh-rsa", ...). */
static int alg_fits(const char *pkalg, const char *ktype)
{
	if (strcmp(pkalg, ktype) == 0)
		return 1;
	if (strcmp(ktype, "ssh-rsa") == 0)
		return strcmp(pkalg, "rsa-sha2-256") == 0 || strcmp(pkalg, "rsa-sha2-512") == 0;
	if (strcmp(ktype, "ssh-rsa-cert-v01@openssh.com") == 0)
		return strcmp(pkalg, "rsa-sha2-256-cert-v01@openssh.com") == 0 ||
		       strcmp(pkalg, "rsa-sha2-512-cert-v01@openssh.com") == 0;
	return 0;
}

int dest_parse_userauth(const uint8_t *data, size_t len, const uint8_t *key_blob,
			size_t key_blob_len, struct dest_userauth *ua)
{
	char service[32], method[64], pkalg[64], ktype[64];
	const uint8_t *k;
	size_t k_len;
	uint8_t t, sig_follows;
	struct sshbuf b, kb;
	int r;

	memset(ua, 0, sizeof(*ua));
	sshbuf_view(&b, data, len);
	if ((r = sshbuf_get_string(&b, &ua->session_id, &ua->session_id_len)) != 0 ||
	    (r = sshbuf_get_u8(&b, &t)) != 0 ||
	    (r = sshbuf_get_cstring(&b, ua->user, sizeof(ua->user))) != 0 ||
	    (r = sshbuf_get_cstring(&b, service, sizeof(service))) != 0 ||
	    (r = sshbuf_get_cstring(&b, method, sizeof(method))) != 0 ||
	    (r = sshbuf_get_u8(&b, &sig_follows)) != 0 ||
	    (r = sshbuf_get_cstring(&b, pkalg, sizeof(pkalg))) != 0 ||
	    (r = sshbuf_get_string(&b, &k, &k_len)) != 0)
		return r;
	sshbuf_view(&kb, key_blob, key_blob_len);
	if (ua->session_id_len == 0 || t != SSH2_MSG_USERAUTH_REQUEST || sig_follows != 1 ||
	    strcmp(service, "ssh-connection") != 0 || k_len != key_blob_len ||
	    memcmp(k, key_blob, k_len) != 0 || sshbuf_get_cstring(&kb, ktype, sizeof(ktype)) != 0 ||
	    !alg_fits(pkalg, ktype))
		return SSHBUF_E_FORMAT;
	if (strcmp(method, "publickey-hostbound-v00@openssh.com") == 0) {
		if ((r = sshbuf_get_string(&b, &ua->hostkey, &ua->hostkey_len)) != 0)
			return r;
	} else if (strcmp(method, "publickey") != 0) {
		return SSHBUF_E_FORMAT;
	}
	return sshbuf_len(&b) == 0 ? 0 : SSHBUF_E_FORMAT;
}
