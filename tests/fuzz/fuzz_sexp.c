/* fuzz_sexp: libFuzzer harness for the S-expression parser (protocol/sexp.c), canonical and GENKEY token mode. */
#include <stdint.h>
#include <stdlib.h>

#include "../../protocol/sexp.h"

/* Visits every node the way the gpg command handlers do, checking the tree's links. */
static void walk(const struct sexp_tree *t, const uint8_t *buf, size_t len)
{
	static const char *const names[] = { "genkey", "rsa", "ecc", "enc-val", "nbits",
					     "curve", "a", "e", "s", "flags" };

	if (t->n < 1 || t->n > SEXP_MAX_NODES || t->nodes[0].kind != SEXP_LIST)
		abort();
	for (int i = 0; i < t->n; i++) {
		const struct sexp_node *nd = &t->nodes[i];

		if (nd->first >= t->n || nd->next >= t->n)
			abort();
		if (nd->kind == SEXP_ATOM &&
		    (nd->data < buf || nd->len > len || nd->data + nd->len > buf + len))
			abort();
		if (nd->kind == SEXP_LIST) {
			const uint8_t *p;
			size_t plen;

			for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
				(void)sexp_find(t, i, names[j]);
				(void)sexp_list_named(t, i, names[j]);
				if (sexp_find_value(t, i, names[j], &p, &plen) == 0 &&
				    (p < buf || p + plen > buf + len))
					abort();
			}
			for (int k = 0; k < 4; k++)
				(void)sexp_atom_is(t, sexp_nth(t, i, k), "rsa");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sexp_tree *t = malloc(sizeof(*t));
	int r;

	if (t == NULL)
		return 0;
	if ((r = sexp_parse(data, size, SEXP_CANONICAL, t)) == SEXP_OK)
		walk(t, data, size);
	(void)sexp_strerror(r);
	if (sexp_parse(data, size, SEXP_ALLOW_TOKENS, t) == SEXP_OK)
		walk(t, data, size);
	(void)sexp_curve_type(data, size);
	free(t);
	return 0;
}
