/* sexp: a bounded, iterative parser for canonical S-expressions (plus gpg's GENKEY
 * token form on request) into a flat node array, and builders for our replies. */
#include "sexp.h"

#include <stdio.h>
#include <string.h>

struct parser {
	const uint8_t *p, *end;
	int flags;
	struct sexp_tree *t;
	int open[SEXP_MAX_DEPTH];  /* the lists not yet closed */
	int last[SEXP_MAX_DEPTH];  /* last child of each open list, to link siblings */
	int depth;
	int root_done;
};

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_blank(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Characters libgcrypt allows in a bare token (its "tokenchars"), digits excluded as
 * first character because a digit starts a length prefix. */
static int is_token_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	       (c != 0 && strchr("-./_:*+=", c) != NULL);
}

/* Appends a node as the next child of the innermost open list (or as the root). */
static int node_add(struct parser *ps, enum sexp_kind kind, const uint8_t *data, size_t len)
{
	struct sexp_tree *t = ps->t;
	int i;

	if (t->n == SEXP_MAX_NODES)
		return SEXP_E_TOOBIG;
	i = t->n++;
	t->nodes[i] = (struct sexp_node){ kind, data, len, SEXP_NONE, SEXP_NONE };
	if (ps->depth > 0) {
		int parent = ps->open[ps->depth - 1], prev = ps->last[ps->depth - 1];

		if (prev == SEXP_NONE)
			t->nodes[parent].first = i;
		else
			t->nodes[prev].next = i;
		ps->last[ps->depth - 1] = i;
	}
	return i;
}

static int open_list(struct parser *ps)
{
	int i;

	if (ps->root_done)
		return SEXP_E_SYNTAX; /* a second expression after the root */
	if (ps->depth == SEXP_MAX_DEPTH)
		return SEXP_E_TOOBIG;
	if ((i = node_add(ps, SEXP_LIST, NULL, 0)) < 0)
		return i;
	ps->open[ps->depth] = i;
	ps->last[ps->depth] = SEXP_NONE;
	ps->depth++;
	ps->p++;
	return 0;
}

static int close_list(struct parser *ps)
{
	if (ps->depth == 0)
		return SEXP_E_SYNTAX;
	ps->depth--;
	ps->p++;
	if (ps->depth == 0)
		ps->root_done = 1;
	return 0;
}

/* "<decimal>:<bytes>": no leading zeros (canonical), length within the input. */
static int verbatim_atom(struct parser *ps)
{
	size_t n = 0, avail;
	const uint8_t *start = ps->p;

	while (ps->p < ps->end && is_digit(*ps->p)) {
		n = n * 10 + (size_t)(*ps->p - '0');
		ps->p++;
		if (n > SEXP_MAX_LEN)
			return SEXP_E_TOOBIG; /* also stops any overflow of n */
	}
	if (ps->p == ps->end)
		return SEXP_E_TRUNCATED;
	if (*ps->p != ':' || (start[0] == '0' && ps->p - start > 1))
		return SEXP_E_SYNTAX;
	ps->p++;
	avail = (size_t)(ps->end - ps->p);
	if (n > avail)
		return SEXP_E_TRUNCATED;
	ps->p += n;
	return node_add(ps, SEXP_ATOM, ps->p - n, n) < 0 ? SEXP_E_TOOBIG : 0;
}

static int token_atom(struct parser *ps)
{
	const uint8_t *start = ps->p;

	while (ps->p < ps->end && is_token_char(*ps->p))
		ps->p++;
	return node_add(ps, SEXP_ATOM, start, (size_t)(ps->p - start)) < 0 ? SEXP_E_TOOBIG : 0;
}

static int parse_one(struct parser *ps)
{
	uint8_t c = *ps->p;
	int tokens = ps->flags & SEXP_ALLOW_TOKENS;

	if (c == '(')
		return open_list(ps);
	if (c == ')')
		return close_list(ps);
	if (tokens && is_blank(c)) {
		ps->p++;
		return 0;
	}
	if (ps->depth == 0)
		return SEXP_E_SYNTAX; /* an atom outside the root list */
	if (is_digit(c))
		return verbatim_atom(ps);
	if (tokens && is_token_char(c))
		return token_atom(ps);
	return SEXP_E_SYNTAX;
}

int sexp_parse(const uint8_t *buf, size_t len, int flags, struct sexp_tree *t)
{
	struct parser ps = { .p = buf, .end = buf + len, .flags = flags, .t = t };
	int r;

	t->n = 0;
	if (buf == NULL || len == 0)
		return SEXP_E_TRUNCATED;
	if (len > SEXP_MAX_LEN)
		return SEXP_E_TOOBIG;
	while (ps.p < ps.end)
		if ((r = parse_one(&ps)) != 0)
			return r;
	if (!ps.root_done || ps.depth != 0)
		return SEXP_E_TRUNCATED;
	return SEXP_OK;
}

const char *sexp_strerror(int r)
{
	switch (r) {
	case SEXP_OK: return "ok";
	case SEXP_E_SYNTAX: return "not a canonical S-expression";
	case SEXP_E_TOOBIG: return "S-expression too long or too deeply nested";
	case SEXP_E_TRUNCATED: return "S-expression truncated";
	default: return "unknown S-expression error";
	}
}

int sexp_nth(const struct sexp_tree *t, int list, int i)
{
	int c;

	if (list < 0 || list >= t->n || t->nodes[list].kind != SEXP_LIST || i < 0)
		return SEXP_NONE;
	for (c = t->nodes[list].first; c != SEXP_NONE && i > 0; i--)
		c = t->nodes[c].next;
	return c;
}

int sexp_atom_is(const struct sexp_tree *t, int node, const char *s)
{
	size_t n = strlen(s);

	return node >= 0 && node < t->n && t->nodes[node].kind == SEXP_ATOM &&
	       t->nodes[node].len == n && memcmp(t->nodes[node].data, s, n) == 0;
}

int sexp_list_named(const struct sexp_tree *t, int node, const char *name)
{
	return sexp_atom_is(t, sexp_nth(t, node, 0), name);
}

int sexp_find(const struct sexp_tree *t, int list, const char *name)
{
	for (int c = sexp_nth(t, list, 0); c != SEXP_NONE; c = t->nodes[c].next)
		if (sexp_list_named(t, c, name))
			return c;
	return SEXP_NONE;
}

int sexp_find_value(const struct sexp_tree *t, int list, const char *name,
		    const uint8_t **p, size_t *len)
{
	int l = sexp_find(t, list, name), v = sexp_nth(t, l, 1);

	if (v == SEXP_NONE || t->nodes[v].kind != SEXP_ATOM || t->nodes[v].next != SEXP_NONE)
		return -1;
	*p = t->nodes[v].data;
	*len = t->nodes[v].len;
	return 0;
}

/* ---------------------------------------------------------------- builders */

int sexp_put_open(struct sshbuf *out) { return sshbuf_put_u8(out, '('); }
int sexp_put_close(struct sshbuf *out) { return sshbuf_put_u8(out, ')'); }

int sexp_put_atom(struct sshbuf *out, const void *data, size_t len)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%zu:", len), r;

	if ((r = sshbuf_put(out, prefix, (size_t)n)) != 0)
		return r;
	return sshbuf_put(out, data, len);
}

int sexp_put_str(struct sshbuf *out, const char *s)
{
	return sexp_put_atom(out, s, strlen(s));
}

static void strip_zeros(const uint8_t **mag, size_t *len)
{
	while (*len > 0 && (*mag)[0] == 0) {
		(*mag)++;
		(*len)--;
	}
}

int sexp_put_mpi(struct sshbuf *out, const uint8_t *mag, size_t len)
{
	char prefix[24];
	int n, r;

	strip_zeros(&mag, &len);
	if (len == 0 || (mag[0] & 0x80) == 0)
		return sexp_put_atom(out, mag, len);
	n = snprintf(prefix, sizeof(prefix), "%zu:", len + 1);
	if ((r = sshbuf_put(out, prefix, (size_t)n)) != 0 || (r = sshbuf_put_u8(out, 0)) != 0)
		return r;
	return sshbuf_put(out, mag, len);
}

int sexp_put_uint(struct sshbuf *out, const uint8_t *mag, size_t len)
{
	strip_zeros(&mag, &len);
	return sexp_put_atom(out, mag, len);
}

/* "(name atom)" with the atom written by put. */
static int put_pair_mpi(struct sshbuf *out, const char *name, const uint8_t *v, size_t len)
{
	int r;

	if ((r = sexp_put_open(out)) != 0 || (r = sexp_put_str(out, name)) != 0 ||
	    (r = sexp_put_mpi(out, v, len)) != 0)
		return r;
	return sexp_put_close(out);
}

static int put_pair_uint(struct sshbuf *out, const char *name, const uint8_t *v, size_t len)
{
	int r;

	if ((r = sexp_put_open(out)) != 0 || (r = sexp_put_str(out, name)) != 0 ||
	    (r = sexp_put_uint(out, v, len)) != 0)
		return r;
	return sexp_put_close(out);
}

static int put_pair_raw(struct sshbuf *out, const char *name, const uint8_t *v, size_t len)
{
	int r;

	if ((r = sexp_put_open(out)) != 0 || (r = sexp_put_str(out, name)) != 0 ||
	    (r = sexp_put_atom(out, v, len)) != 0)
		return r;
	return sexp_put_close(out);
}

/* "(head (alg" - the caller closes both lists. */
static int put_heads(struct sshbuf *out, const char *head, const char *alg)
{
	int r;

	if ((r = sexp_put_open(out)) != 0 || (r = sexp_put_str(out, head)) != 0 ||
	    (r = sexp_put_open(out)) != 0)
		return r;
	return sexp_put_str(out, alg);
}

static int put_close2(struct sshbuf *out)
{
	int r = sexp_put_close(out);

	return r != 0 ? r : sexp_put_close(out);
}

int sexp_build_public_key(const struct sshkey_pub *k, struct sshbuf *out)
{
	const char *curve = sexp_curve_name(k->type);
	int r;

	if (k->type == SSHKEY_RSA) {
		if ((r = put_heads(out, "public-key", "rsa")) != 0 ||
		    (r = put_pair_mpi(out, "n", k->n, k->n_len)) != 0 ||
		    (r = put_pair_mpi(out, "e", k->e, k->e_len)) != 0)
			return r;
		return put_close2(out);
	}
	if (curve == NULL || k->q_len == 0)
		return SSHBUF_E_FORMAT;
	if ((r = put_heads(out, "public-key", "ecc")) != 0 ||
	    (r = sexp_put_open(out)) != 0 || (r = sexp_put_str(out, "curve")) != 0 ||
	    (r = sexp_put_str(out, curve)) != 0 || (r = sexp_put_close(out)) != 0 ||
	    (r = put_pair_raw(out, "q", k->q, k->q_len)) != 0)
		return r;
	return put_close2(out);
}

int sexp_build_sig_rsa(const uint8_t *s, size_t s_len, size_t mod_len, struct sshbuf *out)
{
	static const uint8_t zeros[SSHKEY_RSA_MAX_BYTES];
	int r;

	strip_zeros(&s, &s_len);
	if (s_len > mod_len || mod_len > sizeof(zeros))
		return SSHBUF_E_FORMAT;
	if ((r = put_heads(out, "sig-val", "rsa")) != 0 || (r = sexp_put_open(out)) != 0 ||
	    (r = sexp_put_str(out, "s")) != 0)
		return r;
	/* Exactly the modulus length, as libgcrypt and the TPM produce it. */
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%zu:", mod_len);

	if ((r = sshbuf_put(out, prefix, (size_t)n)) != 0 ||
	    (r = sshbuf_put(out, zeros, mod_len - s_len)) != 0 ||
	    (r = sshbuf_put(out, s, s_len)) != 0 || (r = sexp_put_close(out)) != 0)
		return r;
	return put_close2(out);
}

int sexp_build_sig_ecdsa(const uint8_t *r_, size_t r_len, const uint8_t *s, size_t s_len,
			 struct sshbuf *out)
{
	int r;

	if ((r = put_heads(out, "sig-val", "ecdsa")) != 0 ||
	    (r = put_pair_uint(out, "r", r_, r_len)) != 0 ||
	    (r = put_pair_uint(out, "s", s, s_len)) != 0)
		return r;
	return put_close2(out);
}

int sexp_build_value(const uint8_t *v, size_t len, struct sshbuf *out)
{
	return put_pair_raw(out, "value", v, len);
}

/* ---------------------------------------------------------------- curves */

static const struct {
	enum sshkey_type type;
	const char *names[5]; /* gpg's name first */
} curves[] = {
	{ SSHKEY_ECDSA_P256, { "NIST P-256", "nistp256", "prime256v1", "secp256r1", "1.2.840.10045.3.1.7" } },
	{ SSHKEY_ECDSA_P384, { "NIST P-384", "nistp384", "secp384r1", "1.3.132.0.34", NULL } },
	{ SSHKEY_ECDSA_P521, { "NIST P-521", "nistp521", "secp521r1", "1.3.132.0.35", NULL } },
};

const char *sexp_curve_name(enum sshkey_type t)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].type == t)
			return curves[i].names[0];
	return NULL;
}

enum sshkey_type sexp_curve_type(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		for (size_t j = 0; j < 5 && curves[i].names[j] != NULL; j++)
			if (strlen(curves[i].names[j]) == len &&
			    memcmp(curves[i].names[j], name, len) == 0)
				return curves[i].type;
	return SSHKEY_UNSPEC;
}
