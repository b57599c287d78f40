/* load-client: one ssh-agent connection for tests/integration/test_load.sh. Sends
 * SIGNS sign requests for the agent's first ECDSA P-256 key, with a REQUEST_IDENTITIES
 * every LIST_EVERY of them, checks every reply's type and verifies every signature
 * with OpenSSL, so "answered" means "answered correctly".
 * usage: load-client SOCKET SIGNS LIST_EVERY; prints "signs N lists N errors N". */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/cli/client.h"
#include "../../protocol/agentmsg.h"

#define KEYTYPE "ecdsa-sha2-nistp256"

struct key {
	uint8_t blob[512]; size_t blob_len;
	EVP_PKEY *pkey;
};

/* The public point Q of an SSH ECDSA P-256 key blob, as an OpenSSL key. */
static EVP_PKEY *pkey_from_blob(const uint8_t *blob, size_t len)
{
	struct sshbuf view, *b = &view;
	const uint8_t *name, *curve, *q;
	size_t name_len, curve_len, q_len;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM params[3];

	sshbuf_view(b, blob, len);
	if (ctx == NULL || sshbuf_get_string(b, &name, &name_len) != 0 ||
	    sshbuf_get_string(b, &curve, &curve_len) != 0 || sshbuf_get_string(b, &q, &q_len) != 0)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)q, q_len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* REQUEST_IDENTITIES; fills k (when not NULL) with the first P-256 key. 0 if the reply
 * is a well-formed IDENTITIES_ANSWER with at least one key. */
static int list_keys(int fd, struct key *k)
{
	struct sshbuf *msg = sshbuf_new(16), *reply = sshbuf_new(AGENTMSG_MAX);
	struct errmsg e;
	uint8_t type;
	uint32_t count;
	int r = -1;

	agentmsg_put_simple(msg, SSH_AGENTC_REQUEST_IDENTITIES);
	sshbuf_consume(msg, 4); /* client_call frames it itself */
	if (client_call(fd, msg, reply, &e) != 0 || sshbuf_get_u8(reply, &type) != 0 ||
	    type != SSH_AGENT_IDENTITIES_ANSWER || agentmsg_parse_identities_count(reply, &count) != 0 ||
	    count == 0)
		goto out;
	r = 0;
	for (uint32_t i = 0; k != NULL && i < count; i++) {
		const uint8_t *blob;
		size_t len;
		char comment[256];

		if (agentmsg_identities_next(reply, &blob, &len, comment, sizeof(comment)) != 0) {
			r = -1;
			break;
		}
		if (len > 4 + strlen(KEYTYPE) && len <= sizeof(k->blob) &&
		    memcmp(blob + 4, KEYTYPE, strlen(KEYTYPE)) == 0) {
			memcpy(k->blob, blob, len);
			k->blob_len = len;
			k->pkey = pkey_from_blob(blob, len);
			break;
		}
	}
out:
	sshbuf_free(msg);
	sshbuf_free(reply);
	return r;
}

/* The SSH signature blob (string type, string (mpint r, mpint s)) checked against data. */
static int sig_ok(const struct key *k, const uint8_t *data, size_t data_len,
		  struct sshbuf *sig)
{
	const uint8_t *name, *inner, *r, *s;
	size_t name_len, inner_len, r_len, s_len, der_len;
	struct sshbuf ib;
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (es == NULL || md == NULL || sshbuf_get_string(sig, &name, &name_len) != 0 ||
	    sshbuf_get_string(sig, &inner, &inner_len) != 0 ||
	    (sshbuf_view(&ib, inner, inner_len), 0) ||
	    sshbuf_get_mpint(&ib, &r, &r_len) != 0 || sshbuf_get_mpint(&ib, &s, &s_len) != 0 ||
	    ECDSA_SIG_set0(es, BN_bin2bn(r, (int)r_len, NULL), BN_bin2bn(s, (int)s_len, NULL)) != 1)
		goto out;
	if ((int)(der_len = (size_t)i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(md, der, der_len, data, data_len) == 1;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}

/* One SIGN_REQUEST over data unique to (pid, i); 0 if the answer verifies. */
static int sign_once(int fd, const struct key *k, int i)
{
	struct sshbuf *msg = sshbuf_new(4096), *reply = sshbuf_new(AGENTMSG_MAX);
	const uint8_t *sig;
	size_t sig_len;
	struct sshbuf sb;
	struct errmsg e;
	char data[64];
	uint8_t type;
	int n = snprintf(data, sizeof(data), "load %d %d", (int)getpid(), i), r = -1;

	sshbuf_put_u8(msg, SSH_AGENTC_SIGN_REQUEST);
	sshbuf_put_string(msg, k->blob, k->blob_len);
	sshbuf_put_string(msg, data, (size_t)n);
	sshbuf_put_u32(msg, 0);
	if (client_call(fd, msg, reply, &e) == 0 && sshbuf_get_u8(reply, &type) == 0 &&
	    type == SSH_AGENT_SIGN_RESPONSE && sshbuf_get_string(reply, &sig, &sig_len) == 0 &&
	    (sshbuf_view(&sb, sig, sig_len), sig_ok(k, (uint8_t *)data, (size_t)n, &sb)))
		r = 0;
	sshbuf_free(msg);
	sshbuf_free(reply);
	return r;
}

int main(int argc, char **argv)
{
	struct key k = { .blob_len = 0 };
	struct errmsg e;
	int fd, signs, every, errors = 0, lists = 0;

	if (argc != 4 || (signs = atoi(argv[2])) < 0 || (every = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: load-client SOCKET SIGNS LIST_EVERY\n");
		return 2;
	}
	if ((fd = client_connect(argv[1], &e)) < 0) {
		fprintf(stderr, "load-client: %s\n", e.text);
		return 1;
	}
	if (list_keys(fd, &k) != 0 || k.pkey == NULL) {
		fprintf(stderr, "load-client: the agent lists no %s key\n", KEYTYPE);
		return 1;
	}
	for (int i = 0; i < signs; i++) {
		errors += sign_once(fd, &k, i) != 0;
		if (i % every == 0) {
			errors += list_keys(fd, NULL) != 0;
			lists++;
		}
	}
	close(fd);
	EVP_PKEY_free(k.pkey);
	printf("signs %d lists %d errors %d\n", signs, lists, errors);
	return errors != 0;
}
