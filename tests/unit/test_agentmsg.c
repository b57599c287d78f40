/* test_agentmsg: ssh-agent framing and message codecs: exact wire bytes, round
 * trips, and hostile frames (length 0, > 256 KiB, truncation, trailing bytes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../protocol/agentmsg.h"

static struct sshbuf *new_buf(size_t max)
{
	struct sshbuf *b = sshbuf_new(max);

	assert_non_null(b);
	return b;
}

static void assert_contents(const struct sshbuf *b, const void *want, size_t len)
{
	assert_int_equal(sshbuf_len(b), len);
	assert_memory_equal(sshbuf_ptr(b), want, len);
}

static void test_peek_complete_and_short(void **state)
{
	static const uint8_t frame[] = { 0, 0, 0, 3, 13, 'x', 'y', 0xEE /* next frame */ };
	size_t avail, len = 0;

	(void)state;
	for (avail = 0; avail < 7; avail++)
		assert_int_equal(agentmsg_frame_peek(frame, avail, &len), SSHBUF_E_SHORT);
	assert_int_equal(agentmsg_frame_peek(frame, 7, &len), 0);
	assert_int_equal(len, 7);
	assert_int_equal(agentmsg_frame_peek(frame, sizeof(frame), &len), 0);
	assert_int_equal(len, 7);
}

static void test_peek_hostile_lengths(void **state)
{
	static const uint8_t zero[] = { 0, 0, 0, 0, 11 };
	static const uint8_t over[] = { 0x00, 0x04, 0x00, 0x01 };  /* 256 KiB + 1 */
	static const uint8_t at_max[] = { 0x00, 0x04, 0x00, 0x00 }; /* exactly 256 KiB */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff };
	size_t len = 0;

	(void)state;
	assert_int_equal(agentmsg_frame_peek(zero, sizeof(zero), &len), SSHBUF_E_FORMAT);
	/* refused from the header alone: no need to wait for the body */
	assert_int_equal(agentmsg_frame_peek(over, sizeof(over), &len), SSHBUF_E_TOOBIG);
	assert_int_equal(agentmsg_frame_peek(huge, sizeof(huge), &len), SSHBUF_E_TOOBIG);
	assert_int_equal(agentmsg_frame_peek(at_max, sizeof(at_max), &len), SSHBUF_E_SHORT);
	assert_int_equal(agentmsg_frame_peek(at_max, 4 + AGENTMSG_MAX, &len), 0);
	assert_int_equal(len, 4 + AGENTMSG_MAX);
}

static void test_simple_frames(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 1, SSH_AGENT_SUCCESS,
		0, 0, 0, 1, SSH_AGENT_FAILURE,
		0, 0, 0, 1, SSH_AGENT_EXTENSION_FAILURE,
	};
	struct sshbuf *out = new_buf(64);

	(void)state;
	assert_int_equal(agentmsg_put_simple(out, SSH_AGENT_SUCCESS), 0);
	assert_int_equal(agentmsg_put_simple(out, SSH_AGENT_FAILURE), 0);
	assert_int_equal(agentmsg_put_simple(out, SSH_AGENT_EXTENSION_FAILURE), 0);
	assert_contents(out, want, sizeof(want));
	sshbuf_free(out);
}

/* start is sshbuf_len() before begin: it counts from the first unread byte, so
 * framing stays right in an output buffer whose head was already sent. */
static void test_begin_end_after_partial_send(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 3, SSH_AGENT_SIGN_RESPONSE, 0xAA, 0xBB };
	struct sshbuf *out = new_buf(64);
	size_t start;

	(void)state;
	assert_int_equal(agentmsg_put_simple(out, SSH_AGENT_SUCCESS), 0);
	assert_int_equal(sshbuf_consume(out, 3), 0); /* write() sent 3 of 5 bytes */
	start = sshbuf_len(out);
	assert_int_equal(start, 2);
	assert_int_equal(agentmsg_begin(out, SSH_AGENT_SIGN_RESPONSE), 0);
	assert_int_equal(sshbuf_put(out, "\xAA\xBB", 2), 0);
	assert_int_equal(agentmsg_end(out, start), 0);
	assert_int_equal(sshbuf_consume(out, 2), 0);
	assert_contents(out, want, sizeof(want));
	sshbuf_free(out);
}

static void test_end_bad_start_and_oversize(void **state)
{
	static uint8_t chunk[AGENTMSG_MAX];
	struct sshbuf *out = new_buf(SSHBUF_SIZE_MAX);
	size_t start;

	(void)state;
	assert_int_equal(agentmsg_end(out, 0), SSHBUF_E_SHORT); /* nothing begun */
	assert_int_equal(agentmsg_begin(out, SSH_AGENT_SUCCESS), 0);
	assert_int_equal(agentmsg_end(out, 1), SSHBUF_E_SHORT);
	assert_int_equal(agentmsg_end(out, 99), SSHBUF_E_SHORT);
	sshbuf_reset(out);
	/* body of exactly AGENTMSG_MAX - 1 bytes plus the type byte: allowed */
	start = sshbuf_len(out);
	assert_int_equal(agentmsg_begin(out, SSH_AGENT_SIGN_RESPONSE), 0);
	assert_int_equal(sshbuf_put(out, chunk, AGENTMSG_MAX - 1), 0);
	assert_int_equal(agentmsg_end(out, start), 0);
	assert_memory_equal(sshbuf_ptr(out), "\x00\x04\x00\x00", 4);
	/* one byte more is a frame no peer would accept */
	sshbuf_reset(out);
	assert_int_equal(agentmsg_begin(out, SSH_AGENT_SIGN_RESPONSE), 0);
	assert_int_equal(sshbuf_put(out, chunk, AGENTMSG_MAX), 0);
	assert_int_equal(agentmsg_end(out, start), SSHBUF_E_TOOBIG);
	sshbuf_free(out);
}

static void test_begin_on_full_or_readonly_buffer(void **state)
{
	struct sshbuf *out = new_buf(4), v;

	(void)state;
	assert_int_equal(agentmsg_begin(out, SSH_AGENT_SUCCESS), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_len(out), 0);
	sshbuf_view(&v, "abc", 3);
	assert_int_equal(agentmsg_put_simple(&v, SSH_AGENT_SUCCESS), SSHBUF_E_READONLY);
	sshbuf_free(out);
}

/* body of a SIGN_REQUEST: string blob, string data, uint32 flags */
static const uint8_t sign_body[] = {
	0, 0, 0, 3, 'K', 'E', 'Y',
	0, 0, 0, 4, 'd', 'a', 't', 'a',
	0, 0, 0, 6,
};

static void test_sign_request(void **state)
{
	struct agentmsg_sign_request req;
	struct sshbuf v;

	(void)state;
	sshbuf_view(&v, sign_body, sizeof(sign_body));
	assert_int_equal(agentmsg_parse_sign_request(&v, &req), 0);
	assert_int_equal(req.key_blob_len, 3);
	assert_memory_equal(req.key_blob, "KEY", 3);
	assert_int_equal(req.data_len, 4);
	assert_memory_equal(req.data, "data", 4);
	assert_int_equal(req.flags, SSH_AGENT_RSA_SHA2_256 | SSH_AGENT_RSA_SHA2_512);
	assert_int_equal(sshbuf_len(&v), 0);
}

static void test_sign_request_hostile(void **state)
{
	uint8_t buf[sizeof(sign_body) + 1];
	struct agentmsg_sign_request req;
	struct sshbuf v;
	size_t cut;

	(void)state;
	for (cut = 0; cut < sizeof(sign_body); cut++) {
		sshbuf_view(&v, sign_body, cut);
		assert_int_equal(agentmsg_parse_sign_request(&v, &req), SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_len(&v), cut); /* nothing consumed */
	}
	memcpy(buf, sign_body, sizeof(sign_body));
	buf[sizeof(sign_body)] = 0;
	sshbuf_view(&v, buf, sizeof(buf));
	assert_int_equal(agentmsg_parse_sign_request(&v, &req), SSHBUF_E_FORMAT);
	assert_int_equal(sshbuf_len(&v), sizeof(buf));
	memcpy(buf, sign_body, sizeof(sign_body));
	buf[7] = 0x7f; /* data length far beyond the message */
	sshbuf_view(&v, buf, sizeof(sign_body));
	assert_int_equal(agentmsg_parse_sign_request(&v, &req), SSHBUF_E_TOOBIG);
	buf[7] = 0;
	buf[10] = 5; /* data length one too long: swallows a flags byte */
	sshbuf_view(&v, buf, sizeof(sign_body));
	assert_int_equal(agentmsg_parse_sign_request(&v, &req), SSHBUF_E_SHORT);
}

static void test_lone_string_bodies(void **state)
{
	static const uint8_t body[] = { 0, 0, 0, 2, 'p', 'w' };
	static const uint8_t trailing[] = { 0, 0, 0, 2, 'p', 'w', 0 };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	const uint8_t *p;
	size_t len, cut;
	struct sshbuf v;

	(void)state;
	sshbuf_view(&v, body, sizeof(body));
	assert_int_equal(agentmsg_parse_passphrase(&v, &p, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(p, "pw", 2);
	sshbuf_view(&v, body, sizeof(body));
	assert_int_equal(agentmsg_parse_remove_identity(&v, &p, &len), 0);
	assert_int_equal(len, 2);
	sshbuf_view(&v, empty, sizeof(empty));
	assert_int_equal(agentmsg_parse_passphrase(&v, &p, &len), 0);
	assert_int_equal(len, 0);
	sshbuf_view(&v, trailing, sizeof(trailing));
	assert_int_equal(agentmsg_parse_passphrase(&v, &p, &len), SSHBUF_E_FORMAT);
	assert_int_equal(agentmsg_parse_remove_identity(&v, &p, &len), SSHBUF_E_FORMAT);
	for (cut = 0; cut < sizeof(body); cut++) {
		sshbuf_view(&v, body, cut);
		assert_int_equal(agentmsg_parse_passphrase(&v, &p, &len), SSHBUF_E_SHORT);
		assert_int_equal(agentmsg_parse_remove_identity(&v, &p, &len), SSHBUF_E_SHORT);
	}
}

static void test_extension_name(void **state)
{
	static const uint8_t body[] = { 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y', 0xAB };
	static const uint8_t nul[] = { 0, 0, 0, 3, 'q', 0, 'y' };
	struct sshbuf v;
	char name[64];

	(void)state;
	sshbuf_view(&v, body, sizeof(body));
	assert_int_equal(agentmsg_parse_extension(&v, name, sizeof(name)), 0);
	assert_string_equal(name, "query");
	assert_int_equal(sshbuf_len(&v), 1); /* the extension's own contents stay unread */
	sshbuf_view(&v, body, sizeof(body));
	assert_int_equal(agentmsg_parse_extension(&v, name, 5), SSHBUF_E_TOOBIG);
	sshbuf_view(&v, nul, sizeof(nul));
	assert_int_equal(agentmsg_parse_extension(&v, name, sizeof(name)), SSHBUF_E_FORMAT);
	sshbuf_view(&v, body, 6);
	assert_int_equal(agentmsg_parse_extension(&v, name, sizeof(name)), SSHBUF_E_SHORT);
}

/* session-bind@openssh.com after the name: hostkey, session id, signature, bool. */
static struct sshbuf *session_bind_body(size_t sid_len)
{
	static const uint8_t sid[200];
	struct sshbuf *b = new_buf(1024);

	assert_int_equal(sshbuf_put_string(b, "HOSTKEY", 7), 0);
	assert_int_equal(sshbuf_put_string(b, sid, sid_len), 0);
	assert_int_equal(sshbuf_put_string(b, "SIG", 3), 0);
	assert_int_equal(sshbuf_put_bool(b, 1), 0);
	return b;
}

static void test_session_bind(void **state)
{
	struct agentmsg_session_bind sb;
	struct sshbuf *b = session_bind_body(32), v;
	uint8_t buf[256];
	size_t len = sshbuf_len(b), cut;

	(void)state;
	memcpy(buf, sshbuf_ptr(b), len);
	sshbuf_view(&v, buf, len);
	assert_int_equal(agentmsg_parse_session_bind(&v, &sb), 0);
	assert_int_equal(sb.hostkey_len, 7);
	assert_memory_equal(sb.hostkey, "HOSTKEY", 7);
	assert_int_equal(sb.session_id_len, 32);
	assert_int_equal(sb.signature_len, 3);
	assert_int_equal(sb.is_forwarding, 1);
	for (cut = 0; cut < len; cut++) {
		sshbuf_view(&v, buf, cut);
		assert_int_equal(agentmsg_parse_session_bind(&v, &sb), SSHBUF_E_SHORT);
	}
	buf[len] = 0;
	sshbuf_view(&v, buf, len + 1);
	assert_int_equal(agentmsg_parse_session_bind(&v, &sb), SSHBUF_E_FORMAT);
	sshbuf_free(b);

	b = session_bind_body(128);
	assert_int_equal(agentmsg_parse_session_bind(b, &sb), 0);
	sshbuf_free(b);
	b = session_bind_body(129); /* over OpenSSH's AGENT_MAX_SID_LEN */
	assert_int_equal(agentmsg_parse_session_bind(b, &sb), SSHBUF_E_TOOBIG);
	sshbuf_free(b);
}

static void test_identities_round_trip(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 27, SSH_AGENT_IDENTITIES_ANSWER, 0, 0, 0, 2,
		0, 0, 0, 2, 'K', '1', 0, 0, 0, 3, 'o', 'n', 'e',
		0, 0, 0, 1, 'K', 0, 0, 0, 0,
	};
	struct sshbuf *out = new_buf(1024), body;
	const uint8_t *blob;
	size_t start, frame_len, blob_len;
	uint32_t count;
	uint8_t type;
	char comment[3];

	(void)state;
	assert_int_equal(agentmsg_identities_begin(out, 2, &start), 0);
	assert_int_equal(agentmsg_identities_add(out, (const uint8_t *)"K1", 2, "one"), 0);
	assert_int_equal(agentmsg_identities_add(out, (const uint8_t *)"K", 1, NULL), 0);
	assert_int_equal(agentmsg_end(out, start), 0);
	assert_contents(out, want, sizeof(want));

	assert_int_equal(agentmsg_frame_peek(sshbuf_ptr(out), sshbuf_len(out), &frame_len), 0);
	assert_int_equal(frame_len, sizeof(want));
	sshbuf_view(&body, sshbuf_ptr(out) + 4, frame_len - 4);
	assert_int_equal(sshbuf_get_u8(&body, &type), 0);
	assert_int_equal(type, SSH_AGENT_IDENTITIES_ANSWER);
	assert_int_equal(agentmsg_parse_identities_count(&body, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(agentmsg_identities_next(&body, &blob, &blob_len, comment, sizeof(comment)), 0);
	assert_int_equal(blob_len, 2);
	assert_memory_equal(blob, "K1", 2);
	assert_string_equal(comment, "on"); /* truncated to comment_len - 1 */
	assert_int_equal(agentmsg_identities_next(&body, &blob, &blob_len, NULL, 0), 0);
	assert_int_equal(blob_len, 1);
	assert_int_equal(sshbuf_len(&body), 0);
	assert_int_equal(agentmsg_identities_next(&body, &blob, &blob_len, comment, sizeof(comment)),
			 SSHBUF_E_SHORT);
	sshbuf_free(out);
}

static void test_identities_hostile(void **state)
{
	static const uint8_t lying_count[] = { 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t huge_count[] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t nul_comment[] = { 0, 0, 0, 1, 'K', 0, 0, 0, 2, 'a', 0 };
	static const uint8_t one_ident[] = { 0, 0, 0, 1, 'K', 0, 0, 0, 1, 'c' };
	const uint8_t *blob;
	size_t blob_len, cut;
	uint32_t count;
	struct sshbuf v;
	char comment[8];

	(void)state;
	sshbuf_view(&v, lying_count, sizeof(lying_count));
	assert_int_equal(agentmsg_parse_identities_count(&v, &count), SSHBUF_E_TOOBIG);
	assert_int_equal(sshbuf_len(&v), sizeof(lying_count));
	sshbuf_view(&v, huge_count, sizeof(huge_count));
	assert_int_equal(agentmsg_parse_identities_count(&v, &count), SSHBUF_E_TOOBIG);
	sshbuf_view(&v, huge_count, 3);
	assert_int_equal(agentmsg_parse_identities_count(&v, &count), SSHBUF_E_SHORT);
	sshbuf_view(&v, nul_comment, sizeof(nul_comment));
	assert_int_equal(agentmsg_identities_next(&v, &blob, &blob_len, comment, sizeof(comment)),
			 SSHBUF_E_FORMAT);
	assert_int_equal(sshbuf_len(&v), sizeof(nul_comment));
	for (cut = 0; cut < sizeof(one_ident); cut++) {
		sshbuf_view(&v, one_ident, cut);
		assert_int_equal(agentmsg_identities_next(&v, &blob, &blob_len, comment, sizeof(comment)),
				 SSHBUF_E_SHORT);
		assert_int_equal(sshbuf_len(&v), cut);
	}
}

static void test_sign_response(void **state)
{
	static const uint8_t want[] = {
		0, 0, 0, 8, SSH_AGENT_SIGN_RESPONSE, 0, 0, 0, 3, 'S', 'I', 'G',
	};
	static uint8_t big[AGENTMSG_MAX];
	struct sshbuf *out = new_buf(SSHBUF_SIZE_MAX);

	(void)state;
	assert_int_equal(agentmsg_put_sign_response(out, (const uint8_t *)"SIG", 3), 0);
	assert_contents(out, want, sizeof(want));
	/* a response too big for one frame is refused and leaves nothing behind */
	assert_int_equal(agentmsg_put_sign_response(out, big, sizeof(big)), SSHBUF_E_TOOBIG);
	assert_contents(out, want, sizeof(want));
	sshbuf_free(out);
}

/* A client request as it arrives on the socket, walked the way the agent will. */
static void test_request_stream(void **state)
{
	struct sshbuf *in = new_buf(4096), body;
	struct agentmsg_sign_request req;
	size_t start, frame_len;
	uint8_t type;

	(void)state;
	start = sshbuf_len(in);
	assert_int_equal(agentmsg_begin(in, SSH_AGENTC_SIGN_REQUEST), 0);
	assert_int_equal(sshbuf_put(in, sign_body, sizeof(sign_body)), 0);
	assert_int_equal(agentmsg_end(in, start), 0);
	assert_int_equal(agentmsg_put_simple(in, SSH_AGENTC_REQUEST_IDENTITIES), 0);

	assert_int_equal(agentmsg_frame_peek(sshbuf_ptr(in), sshbuf_len(in), &frame_len), 0);
	assert_int_equal(frame_len, 4 + 1 + sizeof(sign_body));
	sshbuf_view(&body, sshbuf_ptr(in) + 4, frame_len - 4);
	assert_int_equal(sshbuf_get_u8(&body, &type), 0);
	assert_int_equal(type, SSH_AGENTC_SIGN_REQUEST);
	assert_int_equal(agentmsg_parse_sign_request(&body, &req), 0);
	assert_int_equal(req.flags, 6);
	assert_int_equal(sshbuf_consume(in, frame_len), 0);

	assert_int_equal(agentmsg_frame_peek(sshbuf_ptr(in), sshbuf_len(in), &frame_len), 0);
	assert_int_equal(frame_len, 5);
	assert_int_equal(sshbuf_ptr(in)[4], SSH_AGENTC_REQUEST_IDENTITIES);
	assert_int_equal(sshbuf_consume(in, frame_len), 0);
	assert_int_equal(agentmsg_frame_peek(sshbuf_ptr(in), sshbuf_len(in), &frame_len),
			 SSHBUF_E_SHORT);
	sshbuf_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_complete_and_short),
		cmocka_unit_test(test_peek_hostile_lengths),
		cmocka_unit_test(test_simple_frames),
		cmocka_unit_test(test_begin_end_after_partial_send),
		cmocka_unit_test(test_end_bad_start_and_oversize),
		cmocka_unit_test(test_begin_on_full_or_readonly_buffer),
		cmocka_unit_test(test_sign_request),
		cmocka_unit_test(test_sign_request_hostile),
		cmocka_unit_test(test_lone_string_bodies),
		cmocka_unit_test(test_extension_name),
		cmocka_unit_test(test_session_bind),
		cmocka_unit_test(test_identities_round_trip),
		cmocka_unit_test(test_identities_hostile),
		cmocka_unit_test(test_sign_response),
		cmocka_unit_test(test_request_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
