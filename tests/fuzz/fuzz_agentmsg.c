/* fuzz_agentmsg: libFuzzer harness for the ssh-agent protocol: the agentmsg parsers and framing, then the whole ssh dispatcher (agent/daemon_ssh.c, control extensions included) over a key store without a TPM. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <sodium.h>

#include "../../agent/daemon.h"
#include "../../agent/daemon_pin.h"
#include "../../keystore/log.h"
#include "../../protocol/agentmsg.h"
#include "fixture.h"

/* LOCK hashes the passphrase with Argon2id (64 MiB, ~100 ms): far too slow per input.
 * The fuzz build links with --wrap so that LOCK/UNLOCK use this cheap stand-in with
 * the same contract (a NUL-terminated string, verify 0 on match). */
int __wrap_crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *passwd,
			     unsigned long long passwdlen, unsigned long long opslimit,
			     size_t memlimit);
int __wrap_crypto_pwhash_str_verify(const char *str, const char *passwd,
				    unsigned long long passwdlen);

static void fake_hash(const char *passwd, unsigned long long len, char out[crypto_pwhash_STRBYTES])
{
	unsigned char h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)passwd, len, NULL, 0);
	memcpy(out, "$fuzz$", 6);
	sodium_bin2hex(out + 6, crypto_pwhash_STRBYTES - 6, h, sizeof(h));
}

int __wrap_crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *passwd,
			     unsigned long long passwdlen, unsigned long long opslimit,
			     size_t memlimit)
{
	(void)opslimit;
	(void)memlimit;
	fake_hash(passwd, passwdlen, out);
	return 0;
}

int __wrap_crypto_pwhash_str_verify(const char *str, const char *passwd,
				    unsigned long long passwdlen)
{
	char h[crypto_pwhash_STRBYTES];

	fake_hash(passwd, passwdlen, h);
	return strcmp(h, str) == 0 ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fixture_init("fuzz_agentmsg");
	return 0;
}

/* Every parser of agentmsg.c straight over the input. */
static void parsers(const uint8_t *data, size_t size)
{
	struct agentmsg_sign_request req;
	struct agentmsg_session_bind sb;
	struct sshbuf b;
	const uint8_t *p;
	size_t len, frame;
	uint32_t count;
	char name[128];

	(void)agentmsg_frame_peek(data, size, &frame);
	sshbuf_view(&b, data, size);
	(void)agentmsg_parse_sign_request(&b, &req);
	sshbuf_view(&b, data, size);
	(void)agentmsg_parse_remove_identity(&b, &p, &len);
	sshbuf_view(&b, data, size);
	(void)agentmsg_parse_passphrase(&b, &p, &len);
	sshbuf_view(&b, data, size);
	if (agentmsg_parse_extension(&b, name, sizeof(name)) == 0 && strlen(name) >= sizeof(name))
		abort();
	sshbuf_view(&b, data, size);
	(void)agentmsg_parse_session_bind(&b, &sb);
	sshbuf_view(&b, data, size);
	if (agentmsg_parse_identities_count(&b, &count) == 0) {
		char comment[256];

		for (uint32_t i = 0; i < count; i++)
			if (agentmsg_identities_next(&b, &p, &len, comment, sizeof(comment)) != 0)
				break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent a;
	struct conn c;
	struct sshbuf *out;
	size_t off = 0, frame;

	parsers(data, size);

	fixture_open(&a);
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.uid = geteuid(); /* the agent's own user: control extensions are allowed */
	c.pid = 4242;
	if ((out = sshbuf_new(AGENTMSG_MAX + 1024)) == NULL)
		abort();
	/* The input is a client's byte stream: frames handled one by one, as the server does. */
	while (agentmsg_frame_peek(data + off, size - off, &frame) == 0) {
		uint32_t len;
		int r;

		sshbuf_reset(out);
		r = ssh_dispatch(&a, &c, data + off + 4, frame - 4, out);
		/* every message gets exactly one well-formed reply frame */
		if (sshbuf_len(out) < 5)
			abort();
		len = (uint32_t)sshbuf_ptr(out)[0] << 24 | (uint32_t)sshbuf_ptr(out)[1] << 16 |
		      (uint32_t)sshbuf_ptr(out)[2] << 8 | sshbuf_ptr(out)[3];
		if (len + 4 != sshbuf_len(out))
			abort();
		if (r != 0)
			break;
		off += frame;
	}
	sshbuf_free(out);
	pin_env_free(c.env); /* env@tpm-agent (daemon_pinjob.c) keeps it on the connection */
	fixture_close(&a);
	ERR_clear_error();
	return 0;
}
