/* test_caproto: enrolment protocol frames: round trips and hostile bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../protocol/caproto.h"

static struct caproto_msg *round_trip(const struct caproto_msg *m)
{
	struct caproto_msg *got = calloc(1, sizeof(*got));
	struct sshbuf *b = sshbuf_new(CAPROTO_FRAME_MAX + 4);
	struct errmsg e;
	size_t len;

	assert_non_null(got);
	assert_int_equal(caproto_encode(m, b, &e), 0);
	assert_int_equal(caproto_frame_len(sshbuf_ptr(b), &len), 0);
	assert_int_equal(len + 4, sshbuf_len(b));
	assert_int_equal(caproto_decode(sshbuf_ptr(b) + 4, len, got, &e), 0);
	assert_int_equal(got->type, m->type);
	sshbuf_free(b);
	return got;
}

static void test_round_trips(void **state)
{
	struct caproto_msg *m = calloc(1, sizeof(*m)), *got;

	(void)state;
	m->type = CA_HELLO;
	strcpy(m->version, CAPROTO_VERSION);
	memset(m->nonce, 0xab, sizeof(m->nonce));
	got = round_trip(m);
	assert_string_equal(got->version, CAPROTO_VERSION);
	assert_memory_equal(got->nonce, m->nonce, sizeof(m->nonce));
	free(got);

	memset(m, 0, sizeof(*m));
	m->type = CA_ATTEST;
	strcpy(m->name, "laptop");
	strcpy(m->pubkey, "ecdsa-sha2-nistp256 AAAA laptop");
	memset(m->attestation, 'x', ATT_FILE_MAX);
	got = round_trip(m);
	assert_string_equal(got->name, "laptop");
	assert_int_equal(strlen(got->attestation), ATT_FILE_MAX);
	free(got);

	memset(m, 0, sizeof(*m));
	m->type = CA_CHALLENGE;
	m->id_object_len = 3;
	m->secret_len = 256;
	got = round_trip(m);
	assert_int_equal(got->id_object_len, 3);
	assert_int_equal(got->secret_len, 256);
	free(got);

	memset(m, 0, sizeof(*m));
	m->type = CA_CERT;
	strcpy(m->cert, "ecdsa-sha2-nistp256-cert-v01@openssh.com AAAA");
	m->serial = 42;
	got = round_trip(m);
	assert_int_equal(got->serial, 42);
	free(got);
	free(m);
}

static void test_hostile(void **state)
{
	struct caproto_msg *m = calloc(1, sizeof(*m));
	struct errmsg e;
	uint8_t hdr[4] = { 0, 0, 0, 0 };
	/* HELLO with a 31-byte nonce; an ERROR with trailing bytes; an unknown type */
	static const uint8_t short_nonce[] = { 1, 0, 0, 0, 1, 'v', 0, 0, 0, 31 };
	static const uint8_t trailing[] = { 6, 0, 0, 0, 1, 'x', 9 };
	static const uint8_t unknown[] = { 99 };
	static const uint8_t nul[] = { 6, 0, 0, 0, 2, 'a', 0 };
	size_t len;

	(void)state;
	assert_int_equal(caproto_frame_len(hdr, &len), -1);
	hdr[1] = 0xff;
	assert_int_equal(caproto_frame_len(hdr, &len), -1);
	assert_int_equal(caproto_decode(short_nonce, sizeof(short_nonce), m, &e), -1);
	assert_int_equal(caproto_decode(trailing, sizeof(trailing), m, &e), -1);
	assert_non_null(strstr(e.text, "trailing"));
	assert_int_equal(caproto_decode(unknown, sizeof(unknown), m, &e), -1);
	assert_int_equal(caproto_decode(nul, sizeof(nul), m, &e), -1);
	assert_int_equal(caproto_decode(unknown, 0, m, &e), -1);
	m->type = CA_ACTIVATE;
	m->cred_len = CAPROTO_CRED_MAX + 1;
	{
		struct sshbuf *b = sshbuf_new(1024);

		assert_int_equal(caproto_encode(m, b, &e), -1);
		sshbuf_free(b);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
