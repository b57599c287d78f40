/* cmd_supported: tpm-key supported — the algorithms and ECC curves the TPM reports
 * (TPM2_GetCapability) and the RSA sizes it accepts (TPM2_TestParms), each marked when
 * tpm-agent uses it, then the key types `tpm-key gen` can make on this TPM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_tpm2_types.h>

#include "client.h"
#include "subcommands.h"

static const struct {
	uint16_t id;
	const char *name;
	int used; /* tpm-agent uses it */
} algs[] = {
	{ TPM2_ALG_RSA, "rsa", 1 }, { TPM2_ALG_TDES, "tdes", 0 }, { TPM2_ALG_SHA1, "sha1", 1 },
	{ TPM2_ALG_HMAC, "hmac", 1 }, { TPM2_ALG_AES, "aes", 1 }, { TPM2_ALG_MGF1, "mgf1", 0 },
	{ TPM2_ALG_KEYEDHASH, "keyedhash", 1 }, { TPM2_ALG_XOR, "xor", 0 },
	{ TPM2_ALG_SHA256, "sha256", 1 }, { TPM2_ALG_SHA384, "sha384", 1 },
	{ TPM2_ALG_SHA512, "sha512", 1 }, { TPM2_ALG_NULL, "null", 0 },
	{ TPM2_ALG_SM3_256, "sm3_256", 0 }, { TPM2_ALG_SM4, "sm4", 0 },
	{ TPM2_ALG_RSASSA, "rsassa", 1 }, { TPM2_ALG_RSAES, "rsaes", 1 },
	{ TPM2_ALG_RSAPSS, "rsapss", 0 }, { TPM2_ALG_OAEP, "oaep", 1 },
	{ TPM2_ALG_ECDSA, "ecdsa", 1 }, { TPM2_ALG_ECDH, "ecdh", 1 },
	{ TPM2_ALG_ECDAA, "ecdaa", 0 }, { TPM2_ALG_SM2, "sm2", 0 },
	{ TPM2_ALG_ECSCHNORR, "ecschnorr", 0 }, { TPM2_ALG_ECMQV, "ecmqv", 0 },
	{ TPM2_ALG_KDF1_SP800_56A, "kdf1_sp800_56a", 1 }, { TPM2_ALG_KDF2, "kdf2", 0 },
	{ TPM2_ALG_KDF1_SP800_108, "kdf1_sp800_108", 1 }, { TPM2_ALG_ECC, "ecc", 1 },
	{ TPM2_ALG_SYMCIPHER, "symcipher", 0 }, { TPM2_ALG_CAMELLIA, "camellia", 0 },
	{ TPM2_ALG_SHA3_256, "sha3_256", 0 }, { TPM2_ALG_SHA3_384, "sha3_384", 0 },
	{ TPM2_ALG_SHA3_512, "sha3_512", 0 }, { TPM2_ALG_CMAC, "cmac", 0 },
	{ TPM2_ALG_CTR, "ctr", 0 }, { TPM2_ALG_OFB, "ofb", 0 }, { TPM2_ALG_CBC, "cbc", 0 },
	{ TPM2_ALG_CFB, "cfb", 1 }, { TPM2_ALG_ECB, "ecb", 0 },
};

static const struct {
	uint16_t id;
	const char *name;
	unsigned bits; /* tpm-key gen -t ecdsa -b BITS; 0: not used */
} curves[] = {
	{ TPM2_ECC_NIST_P192, "NIST P-192", 0 }, { TPM2_ECC_NIST_P224, "NIST P-224", 0 },
	{ TPM2_ECC_NIST_P256, "NIST P-256", 256 }, { TPM2_ECC_NIST_P384, "NIST P-384", 384 },
	{ TPM2_ECC_NIST_P521, "NIST P-521", 521 }, { TPM2_ECC_BN_P256, "BN P-256", 0 },
	{ TPM2_ECC_BN_P638, "BN P-638", 0 }, { TPM2_ECC_SM2_P256, "SM2 P-256", 0 },
};

static void print_alg(uint32_t id, uint32_t attrs)
{
	const char *name = NULL;
	char kinds[64] = "";
	int used = 0;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].id == id)
			name = algs[i].name, used = algs[i].used;
	snprintf(kinds, sizeof(kinds), "%s%s%s%s%s%s%s",
		 attrs & TPMA_ALGORITHM_ASYMMETRIC ? " asymmetric" : "",
		 attrs & TPMA_ALGORITHM_SYMMETRIC ? " symmetric" : "",
		 attrs & TPMA_ALGORITHM_HASH ? " hash" : "",
		 attrs & TPMA_ALGORITHM_OBJECT ? " object" : "",
		 attrs & TPMA_ALGORITHM_SIGNING ? " signing" : "",
		 attrs & TPMA_ALGORITHM_ENCRYPTING ? " encrypting" : "",
		 attrs & TPMA_ALGORITHM_METHOD ? " method" : "");
	if (name != NULL && used)
		printf("  %-16s 0x%04x %-28s used by tpm-agent\n", name, id,
		       kinds[0] ? kinds + 1 : "-");
	else if (name != NULL)
		printf("  %-16s 0x%04x %s\n", name, id, kinds[0] ? kinds + 1 : "-");
	else
		printf("  %-16s 0x%04x %s\n", "(unknown)", id, kinds[0] ? kinds + 1 : "-");
}

/* Prints the reply; 0 or 1. The last line lists what tpm-key gen can make here. */
static int print_caps(struct sshbuf *r)
{
	uint32_t n, a, b;
	char ecdsa[32] = "", rsa[32] = "";

	printf("algorithms (TPM2_GetCapability TPM_CAP_ALGS):\n");
	if (sshbuf_get_u32(r, &n) != 0 || n > 1024)
		return cli_fail("supported: malformed reply");
	for (uint32_t i = 0; i < n; i++) {
		if (sshbuf_get_u32(r, &a) != 0 || sshbuf_get_u32(r, &b) != 0)
			return cli_fail("supported: malformed reply");
		print_alg(a, b);
	}
	printf("ECC curves (TPM_CAP_ECC_CURVES):\n");
	if (sshbuf_get_u32(r, &n) != 0 || n > 1024)
		return cli_fail("supported: malformed reply");
	for (uint32_t i = 0; i < n; i++) {
		const char *name = "(unknown)";
		unsigned bits = 0;

		if (sshbuf_get_u32(r, &a) != 0)
			return cli_fail("supported: malformed reply");
		for (size_t j = 0; j < sizeof(curves) / sizeof(curves[0]); j++)
			if (curves[j].id == a)
				name = curves[j].name, bits = curves[j].bits;
		if (bits)
			snprintf(ecdsa + strlen(ecdsa), sizeof(ecdsa) - strlen(ecdsa), " %u", bits);
		printf("  %-16s 0x%04x%s\n", name, a, bits ? " used by tpm-agent" : "");
	}
	printf("RSA key sizes (TPM2_TestParms):\n");
	if (sshbuf_get_u32(r, &n) != 0 || n > 64)
		return cli_fail("supported: malformed reply");
	for (uint32_t i = 0; i < n; i++) {
		int used;

		if (sshbuf_get_u32(r, &a) != 0 || sshbuf_get_u32(r, &b) != 0)
			return cli_fail("supported: malformed reply");
		used = b && (a == 2048 || a == 3072);
		if (used)
			snprintf(rsa + strlen(rsa), sizeof(rsa) - strlen(rsa), " %u", a);
		printf("  %-16u %s%s\n", a, b ? "yes" : "no", used ? " used by tpm-agent" : "");
	}
	printf("tpm-key gen can make here: ecdsa -b%s; rsa -b%s\n", ecdsa[0] ? ecdsa : " (none)",
	       rsa[0] ? rsa : " (none)");
	return 0;
}

int cmd_supported(int argc, char **argv)
{
	struct sshbuf *reply = sshbuf_new(64 * 1024);
	struct errmsg e;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt(argc, argv, "h")) != -1) {
		FILE *f = ch == 'h' ? stdout : stderr;

		cli_usage("supported", f);
		sshbuf_free(reply);
		return ch == 'h' ? 0 : 1;
	}
	if (reply == NULL || optind != argc)
		rc = cli_usage_fail("supported");
	else if (cli_control(CTL_SUPPORTED, NULL, reply, &e) != 0)
		rc = cli_fail("supported: %s", e.text);
	else
		rc = print_caps(reply);
	sshbuf_free(reply);
	return rc;
}
