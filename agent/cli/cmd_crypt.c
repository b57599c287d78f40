/* cmd_crypt: tpm-key decrypt (RSA decryption by a TPM key, through the agent) and
 * tpm-key encrypt (the software side: OpenSSL with the key's public half only). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "../../keystore/store.h"
#include "../../protocol/pubkey_evp.h"
#include "../../protocol/sshkey.h"
#include "client.h"
#include "subcommands.h"

#define CIPHER_MAX 512 /* the largest RSA modulus we would ever see (4096 bits) */

struct crypt_opts {
	const char *name;
	uint32_t pad;          /* CTL_PAD_* */
	const char *oaep_hash; /* "sha1", "sha256", ... */
};

static void crypt_usage(FILE *f, const char *cmd)
{
	cli_usage(cmd, f); /* the text: tpm-key.c */
}

/* 0: parsed; 1: help shown; -1: bad usage (message printed). */
static int crypt_parse(int argc, char **argv, const char *cmd, struct crypt_opts *o)
{
	static const struct option longopts[] = {
		{ "oaep", optional_argument, NULL, 'o' },
		{ "pkcs1", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->pad = CTL_PAD_OAEP;
	o->oaep_hash = "sha256";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': o->pad = CTL_PAD_OAEP; if (optarg) o->oaep_hash = optarg; break;
		case 'p': o->pad = CTL_PAD_PKCS1; break;
		case 'h': crypt_usage(stdout, cmd); return 1;
		default: crypt_usage(stderr, cmd); return -1;
		}
	}
	if (optind + 1 != argc) {
		crypt_usage(stderr, cmd);
		return -1;
	}
	o->name = argv[optind];
	return 0;
}

/* Sends the ciphertext to the agent; on success the plaintext (sodium memory) is
 * written to stdout in one go, so a failure never leaves partial output. */
static int decrypt_via_agent(const struct crypt_opts *o, const uint8_t *cipher, size_t len)
{
	struct sshbuf *args = sshbuf_new(CIPHER_MAX + 256), *reply = sshbuf_new(64 * 1024);
	const uint8_t *plain;
	size_t plain_len;
	struct errmsg e;
	int rc = 1;

	if (args == NULL || reply == NULL || sshbuf_put_cstring(args, o->name) != 0 ||
	    sshbuf_put_u32(args, o->pad) != 0 || sshbuf_put_cstring(args, o->oaep_hash) != 0 ||
	    sshbuf_put_string(args, cipher, len) != 0)
		rc = cli_fail("decrypt: bad arguments (key name too long?)");
	else if (cli_control_env(CTL_DECRYPT, args, reply, &e) != 0)
		rc = cli_fail("decrypt: %s", e.text);
	else if (sshbuf_get_string(reply, &plain, &plain_len) != 0)
		rc = cli_fail("decrypt: the agent sent a malformed reply");
	else if (cli_write_stdout(plain, plain_len, &e) != 0)
		rc = cli_fail("decrypt: %s", e.text);
	else
		rc = 0;
	sshbuf_free(args); /* wipes the reply's plaintext too */
	sshbuf_free(reply);
	return rc;
}

int cmd_decrypt(int argc, char **argv)
{
	struct crypt_opts o;
	uint8_t *cipher;
	size_t len;
	struct errmsg e;
	int r = crypt_parse(argc, argv, "decrypt", &o);

	if (r != 0)
		return r > 0 ? 0 : 1;
	if (cli_read_stdin(CIPHER_MAX, &cipher, &len, &e) != 0)
		return cli_fail("decrypt: ciphertext %s", e.text);
	if (len == 0)
		r = cli_fail("decrypt: no ciphertext on stdin");
	else
		r = decrypt_via_agent(&o, cipher, len);
	sodium_free(cipher);
	return r;
}

/* ---- encrypt ---- */

/* The public key: from an OpenSSH .pub file when NAME names one, else the agent's list. */
static int encrypt_pubkey(const char *name, struct sshkey_pub *pub, struct errmsg *e)
{
	struct cli_key *keys;
	char *line = NULL;
	size_t n, len;
	int r = -1;

	/* a path, or a name that is no key's but a .pub file here ("backup.pub") */
	if (strchr(name, '/') != NULL || !store_name_valid(name) ||
	    (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".pub") == 0 &&
	     access(name, R_OK) == 0)) {
		if (store_read_file(name, 16384, &line, &len, e) != 0)
			return -1;
		r = sshkey_pub_from_line(line, pub, NULL, 0) == 0 ? 0 :
		    errmsg_set(e, "%s: not an OpenSSH public key line", name);
		free(line);
		return r;
	}
	if (cli_list_keys(&keys, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && r != 0; i++)
		if (cli_key_is(&keys[i], name))
			r = sshkey_pub_from_blob(keys[i].blob, keys[i].blob_len, pub) == 0 ? 0 :
			    errmsg_set(e, "key '%s': unreadable public key", name);
	free(keys);
	if (r != 0 && e->text[0] == '\0')
		errmsg_set(e, "no key named '%s' (see tpm-key list)", name);
	return r;
}

/* The most plaintext bytes the padding leaves room for (RFC 8017 7.1.1, 7.2.1). */
static size_t plain_max(size_t n_len, const struct crypt_opts *o, const EVP_MD *md)
{
	size_t over = o->pad == CTL_PAD_PKCS1 ? 11 : 2 * (size_t)EVP_MD_get_size(md) + 2;

	return n_len > over ? n_len - over : 0;
}

static int rsa_encrypt(const struct sshkey_pub *pub, const struct crypt_opts *o,
		       const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len,
		       struct errmsg *e)
{
	EVP_PKEY *pkey = pubkey_to_evp(pub);
	EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
	const EVP_MD *md = EVP_get_digestbyname(o->oaep_hash);
	size_t max;
	int ok;

	if (ctx == NULL || (o->pad == CTL_PAD_OAEP && md == NULL)) {
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(pkey);
		return errmsg_set(e, ctx ? "unknown OAEP hash '%s'" : "OpenSSL cannot use the key%s",
				  ctx ? o->oaep_hash : "");
	}
	max = plain_max(pub->n_len, o, md);
	ok = in_len <= max && EVP_PKEY_encrypt_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, o->pad == CTL_PAD_PKCS1 ? RSA_PKCS1_PADDING :
					  RSA_PKCS1_OAEP_PADDING) == 1 &&
	     (o->pad == CTL_PAD_PKCS1 || (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 &&
					  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1)) &&
	     EVP_PKEY_encrypt(ctx, out, out_len, in, in_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (ok)
		return 0;
	if (in_len > max)
		return errmsg_set(e, "plaintext too long: %zu bytes, this key and padding take at "
				  "most %zu", in_len, max);
	return errmsg_set(e, "OpenSSL could not encrypt");
}

int cmd_encrypt(int argc, char **argv)
{
	struct crypt_opts o;
	struct sshkey_pub pub;
	uint8_t *plain, out[CIPHER_MAX];
	size_t len, out_len = sizeof(out);
	struct errmsg e = { "" };
	int r = crypt_parse(argc, argv, "encrypt", &o);

	if (r != 0)
		return r > 0 ? 0 : 1;
	if (encrypt_pubkey(o.name, &pub, &e) != 0)
		return cli_fail("encrypt: %s", e.text);
	if (pub.type != SSHKEY_RSA)
		return cli_fail("encrypt: '%s' is not an RSA key", o.name);
	if (cli_read_stdin(CIPHER_MAX, &plain, &len, &e) != 0)
		return cli_fail("encrypt: plaintext %s", e.text);
	r = rsa_encrypt(&pub, &o, plain, len, out, &out_len, &e);
	sodium_free(plain);
	if (r != 0)
		return cli_fail("encrypt: %s", e.text);
	if (cli_write_stdout(out, out_len, &e) != 0)
		return cli_fail("encrypt: %s", e.text);
	return 0;
}
