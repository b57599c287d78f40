/* fuzz_destconstraint: libFuzzer harness for what a forwarded ssh session hands the
 * agent: restrict-destination-v00@openssh.com constraints (protocol/destconstraint.c,
 * round trip checked, then matched against a chain made of their own host keys), the
 * userauth requests a restricted key signs, and session-bind host-key signatures
 * (protocol/sshverify.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/destconstraint.h"
#include "../../protocol/sshverify.h"

static void match(const struct dest_set *d)
{
	struct dest_binding chain[DEST_MAX_HOPS];
	size_t n = 0;

	for (size_t i = 0; i < d->n && n < DEST_MAX_HOPS; i++) {
		const struct dest_hop *h = (i & 1) ? &d->c[i].from : &d->c[i].to;

		if (h->n_keys == 0)
			continue;
		chain[n].hostkey = h->keys[0].blob;
		chain[n].hostkey_len = h->keys[0].len;
		chain[n].forwarded = (int)(i & 1);
		n++;
	}
	for (size_t k = 1; k <= n; k++) {
		(void)dest_permitted(d, chain, k, NULL, NULL);
		(void)dest_permitted(d, chain, k, "root", NULL);
	}
}

static void constraints(const uint8_t *data, size_t size)
{
	struct sshbuf b, *out = sshbuf_new(SSHBUF_SIZE_MAX);
	struct dest_set *d = NULL, *d2 = NULL;
	struct errmsg e;

	sshbuf_view(&b, data, size);
	if (out != NULL && dest_parse(&b, &d, &e) == 0) {
		if (dest_put(d, out) != 0 || dest_parse(out, &d2, &e) != 0 || d2->n != d->n ||
		    d2->raw_len != d->raw_len || memcmp(d2->raw, d->raw, d->raw_len) != 0)
			abort();
		match(d);
	}
	dest_free(d);
	dest_free(d2);
	sshbuf_free(out);
}

/* data = string key blob || the rest: a userauth request for that key, and also
 * string key || string signature || the signed data. */
static void requests(const uint8_t *data, size_t size)
{
	struct sshbuf b;
	const uint8_t *key, *sig;
	size_t key_len, sig_len;
	struct dest_userauth ua;

	sshbuf_view(&b, data, size);
	if (sshbuf_get_string(&b, &key, &key_len) != 0)
		return;
	if (dest_parse_userauth(sshbuf_ptr(&b), sshbuf_len(&b), key, key_len, &ua) == 0 &&
	    (ua.session_id_len == 0 || memchr(ua.user, '\0', sizeof(ua.user)) == NULL))
		abort();
	if (sshbuf_get_string(&b, &sig, &sig_len) == 0)
		(void)sshverify(key, key_len, sig, sig_len, sshbuf_ptr(&b), sshbuf_len(&b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	constraints(data, size);
	requests(data, size);
	return 0;
}
