/* cmd_import: tpm-key import — makes an existing software private key (OpenSSH or PEM:
 * PKCS#1, PKCS#8, SEC1) a TPM key. The key material goes to the agent, which wraps it
 * for the SRK and runs TPM2_Import; the file itself is left alone. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../../pinentry/pinentry.h"
#include "client.h"
#include "subcommands.h"

#define IMPORT_FILE_MAX (64 * 1024)
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC "openssh-key-v1"

static void import_usage(FILE *f)
{
	cli_usage("import", f); /* the text: tpm-key.c */
}

/* Reads the whole file into sodium memory. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL)
		return cli_fail("import: cannot open %s: %m", path);
	if ((buf = sodium_malloc(IMPORT_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return cli_fail("import: out of memory");
	}
	n = fread(buf, 1, IMPORT_FILE_MAX + 1, f);
	if (ferror(f) || n > IMPORT_FILE_MAX) {
		fclose(f);
		sodium_free(buf);
		return cli_fail("import: cannot read %s (or larger than 64 KiB)", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int refuse_type(const char *path, const char *type)
{
	if (strcmp(type, "ssh-ed25519") == 0 || strcmp(type, "ED25519") == 0)
		return cli_fail("import: %s is an Ed25519 key: a TPM 2.0 cannot hold Ed25519 keys "
				"(keep it as a software key, or make a TPM key with tpm-key gen)", path);
	return cli_fail("import: %s: %s keys cannot be imported: the TPM holds ECDSA "
			"P-256/384/521 and RSA 2048/3072 keys", path, type);
}

static int rsa_too_big(const char *path, size_t n_len)
{
	if (n_len <= 384)
		return 0;
	return cli_fail("import: %s is an RSA %zu key: a TPM 2.0 holds RSA 2048 and 3072 keys "
			"only (RSA 4096 cannot be imported)", path, n_len * 8);
}

/* ---- OpenSSH format (PROTOCOL.key) ---- */

/* The base64 body between the armour lines, decoded into sodium memory. */
static int openssh_decode(const char *text, uint8_t **out, size_t *out_len)
{
	const char *b = strstr(text, OPENSSH_BEGIN), *end;
	char *b64;
	size_t n = 0, pad = 0;
	int len;

	if (b == NULL || (end = strstr(b, OPENSSH_END)) == NULL)
		return -1;
	b += strlen(OPENSSH_BEGIN);
	if ((b64 = sodium_malloc((size_t)(end - b) + 1)) == NULL)
		return -1;
	for (const char *p = b; p < end; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			b64[n++] = *p;
	b64[n] = '\0';
	if (n == 0 || n % 4 != 0 || (*out = sodium_malloc(n / 4 * 3 + 1)) == NULL) {
		sodium_free(b64);
		return -1;
	}
	len = EVP_DecodeBlock(*out, (const unsigned char *)b64, (int)n);
	while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
		pad++;
	sodium_free(b64);
	if (len < 0 || (size_t)len < pad) {
		sodium_free(*out);
		return -1;
	}
	*out_len = (size_t)len - pad;
	return 0;
}

static int put_num(struct sshbuf *args, const uint8_t *p, size_t len)
{
	return sshbuf_put_string(args, p, len);
}

/* Appends key type and material to args; *comment gets the file's comment. */
static int openssh_parse(const char *path, const uint8_t *blob, size_t len,
			 struct sshbuf *args, char *comment, size_t comment_len)
{
	struct sshbuf b, priv;
	char cipher[64], kdf[64], type[64];
	const uint8_t *p;
	size_t plen;
	uint32_t nkeys, check1, check2;

	sshbuf_view(&b, blob, len);
	if (len < sizeof(OPENSSH_MAGIC) || memcmp(blob, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0 ||
	    sshbuf_consume(&b, sizeof(OPENSSH_MAGIC)) != 0 ||
	    sshbuf_get_cstring(&b, cipher, sizeof(cipher)) != 0 ||
	    sshbuf_get_cstring(&b, kdf, sizeof(kdf)) != 0 || sshbuf_get_string(&b, &p, &plen) != 0 ||
	    sshbuf_get_u32(&b, &nkeys) != 0)
		return cli_fail("import: %s: malformed OpenSSH private key", path);
	if (strcmp(cipher, "none") != 0)
		return cli_fail("import: %s is an encrypted OpenSSH key (%s, %s): tpm-key cannot "
				"decrypt that format. Make a decrypted copy (cp %s k.tmp && ssh-keygen "
				"-p -N '' -f k.tmp) or a PEM one (ssh-keygen -p -m PEM -f k.tmp), "
				"import it and delete it", path, cipher, kdf, path);
	if (nkeys != 1 || sshbuf_get_string(&b, &p, &plen) != 0 ||
	    sshbuf_get_string(&b, &p, &plen) != 0)
		return cli_fail("import: %s: malformed OpenSSH private key (one key expected)", path);
	sshbuf_view(&priv, p, plen);
	if (sshbuf_get_u32(&priv, &check1) != 0 || sshbuf_get_u32(&priv, &check2) != 0 ||
	    check1 != check2 || sshbuf_get_cstring(&priv, type, sizeof(type)) != 0)
		return cli_fail("import: %s: malformed OpenSSH private section", path);
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0) {
		const uint8_t *q, *d;
		size_t q_len, d_len;
		char curve[32];

		if (sshbuf_get_cstring(&priv, curve, sizeof(curve)) != 0 ||
		    sshbuf_get_string(&priv, &q, &q_len) != 0 ||
		    sshbuf_get_mpint(&priv, &d, &d_len) != 0)
			return cli_fail("import: %s: malformed ECDSA key", path);
		if (sshbuf_put_cstring(args, type) != 0 || put_num(args, q, q_len) != 0 ||
		    put_num(args, d, d_len) != 0)
			return cli_fail("import: request too large");
	} else if (strcmp(type, "ssh-rsa") == 0) {
		const uint8_t *n, *e, *d, *iqmp, *pp, *qq;
		size_t n_len, e_len, d_len, iqmp_len, p_len, q_len;

		if (sshbuf_get_mpint(&priv, &n, &n_len) != 0 ||
		    sshbuf_get_mpint(&priv, &e, &e_len) != 0 ||
		    sshbuf_get_mpint(&priv, &d, &d_len) != 0 ||
		    sshbuf_get_mpint(&priv, &iqmp, &iqmp_len) != 0 ||
		    sshbuf_get_mpint(&priv, &pp, &p_len) != 0 ||
		    sshbuf_get_mpint(&priv, &qq, &q_len) != 0)
			return cli_fail("import: %s: malformed RSA key", path);
		if (rsa_too_big(path, n_len))
			return 1;
		if (sshbuf_put_cstring(args, type) != 0 || put_num(args, n, n_len) != 0 ||
		    put_num(args, e, e_len) != 0 || put_num(args, pp, p_len) != 0)
			return cli_fail("import: request too large");
	} else {
		return refuse_type(path, type);
	}
	if (sshbuf_get_cstring(&priv, comment, comment_len) != 0)
		comment[0] = '\0';
	return 0;
}

/* ---- PEM (OpenSSL) ---- */

struct pem_pass {
	const char *path;
	int asked;
};

/* OpenSSL's passphrase callback: asks through pinentry. */
static int pem_pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pem_pass *pp = u;
	char desc[512], *pin = NULL;
	size_t pin_len = 0;
	struct pinentry_prompt pr = { .title = "tpm-key import", .desc = desc,
				      .prompt = "Passphrase:" };
	struct errmsg e;
	const char *prog = getenv("PINENTRY_PROGRAM");

	(void)rwflag;
	pp->asked = 1;
	snprintf(desc, sizeof(desc), "Passphrase of the private key file %s", pp->path);
	if (pinentry_getpin(prog && prog[0] ? prog : NULL, NULL, &pr, &pin, &pin_len, &e) !=
	    PINENTRY_OK) {
		fprintf(stderr, "tpm-key: import: no passphrase: %s\n", e.text);
		return -1;
	}
	if (size <= 0 || pin_len >= (size_t)size) {
		sodium_free(pin);
		return -1;
	}
	memcpy(buf, pin, pin_len);
	sodium_free(pin);
	return (int)pin_len;
}

/* A BIGNUM parameter as big-endian bytes appended to args; the copy is wiped. */
static int put_bn_param(struct sshbuf *args, const EVP_PKEY *pk, const char *param,
			size_t *len_out)
{
	BIGNUM *bn = NULL;
	uint8_t *tmp;
	int n, r = -1;

	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
		return -1;
	n = BN_num_bytes(bn);
	if (n >= 0 && n <= 1024 && (tmp = sodium_malloc((size_t)n + 1)) != NULL) {
		if (BN_bn2bin(bn, tmp) == n) {
			r = put_num(args, tmp, (size_t)n);
			if (len_out != NULL)
				*len_out = (size_t)n;
		}
		sodium_free(tmp);
	}
	BN_clear_free(bn);
	return r;
}

static int pem_ec(const char *path, const EVP_PKEY *pk, struct sshbuf *args)
{
	char group[64];
	const char *type;
	size_t coord;
	BIGNUM *x = NULL, *y = NULL;
	uint8_t q[1 + 2 * 66];
	int ok;

	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) != 1)
		return cli_fail("import: %s: cannot read the EC curve", path);
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		type = "ecdsa-sha2-nistp256", coord = 32;
	else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		type = "ecdsa-sha2-nistp384", coord = 48;
	else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
		type = "ecdsa-sha2-nistp521", coord = 66;
	else
		return cli_fail("import: %s: EC curve %s is not supported: the TPM holds NIST "
				"P-256, P-384 and P-521 keys", path, group);
	ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, q + 1, (int)coord) == (int)coord &&
	     BN_bn2binpad(y, q + 1 + coord, (int)coord) == (int)coord;
	BN_free(x);
	BN_free(y);
	if (!ok)
		return cli_fail("import: %s: cannot read the EC public point", path);
	q[0] = 0x04;
	if (sshbuf_put_cstring(args, type) != 0 || put_num(args, q, 1 + 2 * coord) != 0 ||
	    put_bn_param(args, pk, OSSL_PKEY_PARAM_PRIV_KEY, NULL) != 0)
		return cli_fail("import: %s: cannot read the EC private key", path);
	return 0;
}

static int pem_rsa(const char *path, const EVP_PKEY *pk, struct sshbuf *args)
{
	int bits = EVP_PKEY_get_bits(pk);

	if (bits > 3072)
		return rsa_too_big(path, (size_t)(bits + 7) / 8);
	if (sshbuf_put_cstring(args, "ssh-rsa") != 0 ||
	    put_bn_param(args, pk, OSSL_PKEY_PARAM_RSA_N, NULL) != 0 ||
	    put_bn_param(args, pk, OSSL_PKEY_PARAM_RSA_E, NULL) != 0 ||
	    put_bn_param(args, pk, OSSL_PKEY_PARAM_RSA_FACTOR1, NULL) != 0)
		return cli_fail("import: %s: cannot read the RSA key (no prime factors?)", path);
	return 0;
}

static int pem_parse(const char *path, const uint8_t *text, size_t len, struct sshbuf *args)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	struct pem_pass pp = { path, 0 };
	EVP_PKEY *pk;
	int rc;

	if (bio == NULL)
		return cli_fail("import: out of memory");
	pk = PEM_read_bio_PrivateKey(bio, NULL, pem_pass_cb, &pp);
	BIO_free(bio);
	if (pk == NULL)
		return cli_fail("import: %s: %s", path, pp.asked ? "cannot decrypt the key (wrong "
				"passphrase?)" : "not an OpenSSH or PEM private key");
	if (EVP_PKEY_is_a(pk, "EC"))
		rc = pem_ec(path, pk, args);
	else if (EVP_PKEY_is_a(pk, "RSA"))
		rc = pem_rsa(path, pk, args);
	else
		rc = refuse_type(path, EVP_PKEY_get0_type_name(pk));
	EVP_PKEY_free(pk);
	return rc;
}

int cli_read_private_key(const char *path, struct sshbuf *material, char *comment,
			 size_t comment_len)
{
	uint8_t *text = NULL, *bin = NULL;
	size_t text_len = 0, bin_len = 0;
	int rc = 1;

	if (sodium_init() < 0)
		return cli_fail("cannot initialise libsodium");
	if (read_file(path, &text, &text_len) != 0)
		return 1;
	if (strstr((const char *)text, OPENSSH_BEGIN) != NULL) {
		if (openssh_decode((const char *)text, &bin, &bin_len) != 0)
			cli_fail("import: %s: malformed OpenSSH private key", path);
		else
			rc = openssh_parse(path, bin, bin_len, material, comment, comment_len);
	} else {
		rc = pem_parse(path, text, text_len, material);
	}
	sodium_free(text);
	if (bin != NULL)
		sodium_free(bin);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	const char *name = "", *comment = NULL, *path;
	static const struct option longopts[] = {
		{ "no-pin", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sshbuf *material = sshbuf_new(8192), *args = sshbuf_new(16384);
	struct sshbuf *reply = sshbuf_new(64 * 1024);
	char file_comment[256] = "", got_name[64], got_comment[256];
	size_t blob_len;
	const uint8_t *blob;
	struct errmsg e;
	uint32_t flags = 0;
	int ch, rc = 1;

	if (sodium_init() < 0) {
		rc = cli_fail("import: cannot initialise libsodium");
		goto done;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:C:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': name = optarg; break;
		case 'C': comment = optarg; break;
		case 'N': flags |= CTL_IMPORT_NO_PIN; break;
		case 'h': import_usage(stdout); rc = 0; goto done;
		default: import_usage(stderr); goto done;
		}
	}
	if (optind + 1 != argc) {
		import_usage(stderr);
		goto done;
	}
	path = argv[optind];
	if (material == NULL || args == NULL || reply == NULL) {
		rc = cli_fail("import: out of memory");
		goto done;
	}
	if (cli_read_private_key(path, material, file_comment, sizeof(file_comment)) != 0)
		goto done;
	if (comment == NULL) {
		const char *base = strrchr(path, '/');

		comment = file_comment[0] ? file_comment : base ? base + 1 : path;
	}
	if (sshbuf_put_cstring(args, name) != 0 || sshbuf_put_cstring(args, comment) != 0 ||
	    sshbuf_put_u32(args, flags) != 0 ||
	    sshbuf_put(args, sshbuf_ptr(material), sshbuf_len(material)) != 0) {
		rc = cli_fail("import: arguments too long");
		goto done;
	}
	if (cli_control_env(CTL_IMPORT, args, reply, &e) != 0) {
		rc = cli_fail("%s", e.text);
		goto done;
	}
	if (sshbuf_get_cstring(reply, got_name, sizeof(got_name)) != 0 ||
	    sshbuf_get_string(reply, &blob, &blob_len) != 0 ||
	    sshbuf_get_cstring(reply, got_comment, sizeof(got_comment)) != 0) {
		rc = cli_fail("import: the agent sent a malformed reply");
		goto done;
	}
	fprintf(stderr, "tpm-key: imported %s as TPM key '%s' (%s).\ntpm-key: %s itself is "
		"unchanged: delete it (e.g. shred -u %s) so that only the TPM copy remains\n",
		path, got_name, (flags & CTL_IMPORT_NO_PIN) ? "no PIN; tpm-key passwd sets one" :
		"with the PIN you chose", path, path);
	rc = cli_print_pub(blob, blob_len, got_comment);
done:
	sshbuf_free(material); /* sshbuf_free wipes */
	sshbuf_free(args);
	sshbuf_free(reply);
	return rc;
}
