/* esys-session-kat: drives tpm2-tss ESAPI (not our code) through one salted, AES-128-CFB
 * encrypted HMAC session against a private swtpm, for gen-session-kat.sh: TPM2_Create and
 * TPM2_Load of a sealed object with auth "kat-pin" under an ECC P-256 primary, then
 * TPM2_ObjectChangeAuth(object, primary, newAuth "new-pin") in the session with decrypt
 * and encrypt set. Prints the names, the auth values and the outPrivate ESAPI decrypted;
 * the wire bytes come from the pcap TCTI, the session key from ESAPI's debug log. */
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

static void hex(const char *label, const uint8_t *b, size_t len)
{
	printf("%s ", label);
	for (size_t i = 0; i < len; i++)
		printf("%02x", b[i]);
	printf("\n");
}

#define CHECK(x) do { TSS2_RC rc_ = (x); if (rc_ != TSS2_RC_SUCCESS) { \
	fprintf(stderr, "%s: 0x%x\n", #x, rc_); return 1; } } while (0)

int main(int argc, char **argv)
{
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR prim, obj, sess;
	TPM2B_SENSITIVE_CREATE ps = { 0 }, os = { 0 };
	TPM2B_PUBLIC pt = { 0 }, ot = { 0 }, *pub;
	TPM2B_PRIVATE *priv, *newpriv;
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_AUTH auth = { .size = 7, .buffer = "kat-pin" }, newauth = { .size = 7,
		.buffer = "new-pin" };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
			     .mode.aes = TPM2_ALG_CFB };
	TPM2B_NAME *n;

	if (argc != 2) {
		fprintf(stderr, "usage: esys-session-kat TCTI\n");
		return 2;
	}
	CHECK(Tss2_TctiLdr_Initialize(argv[1], &tcti));
	CHECK(Esys_Initialize(&ctx, tcti, NULL));
	pt.publicArea.type = TPM2_ALG_ECC;
	pt.publicArea.nameAlg = TPM2_ALG_SHA256;
	pt.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	pt.publicArea.parameters.eccDetail.symmetric = (TPMT_SYM_DEF_OBJECT){ TPM2_ALG_AES,
		.keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB };
	pt.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	pt.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pt.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	CHECK(Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				 ESYS_TR_NONE, &ps, &pt, &outside, &pcrs, &prim, NULL, NULL, NULL,
				 NULL));
	ot.publicArea.type = TPM2_ALG_KEYEDHASH;
	ot.publicArea.nameAlg = TPM2_ALG_SHA256;
	ot.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
	ot.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	os.sensitive.userAuth = auth;
	os.sensitive.data.size = 10;
	memcpy(os.sensitive.data.buffer, "kat-secret", 10);
	CHECK(Esys_Create(ctx, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &os, &ot,
			  &outside, &pcrs, &priv, &pub, NULL, NULL, NULL));
	CHECK(Esys_Load(ctx, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &obj));
	CHECK(Esys_TR_SetAuth(ctx, obj, &auth));
	CHECK(Esys_TR_GetName(ctx, obj, &n));
	hex("object-name", n->name, n->size);
	Esys_Free(n);
	CHECK(Esys_TR_GetName(ctx, prim, &n));
	hex("parent-name", n->name, n->size);
	Esys_Free(n);
	CHECK(Esys_StartAuthSession(ctx, prim, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, &sess));
	CHECK(Esys_TRSess_SetAttributes(ctx, sess, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT |
					TPMA_SESSION_CONTINUESESSION, 0xff));
	CHECK(Esys_ObjectChangeAuth(ctx, obj, prim, sess, ESYS_TR_NONE, ESYS_TR_NONE, &newauth,
				    &newpriv));
	hex("auth", auth.buffer, auth.size);
	hex("new-auth", newauth.buffer, newauth.size);
	hex("out-private", newpriv->buffer, newpriv->size);
	Esys_FlushContext(ctx, sess);
	Esys_FlushContext(ctx, obj);
	Esys_FlushContext(ctx, prim);
	Esys_Finalize(&ctx);
	Tss2_TctiLdr_Finalize(&tcti);
	return 0;
}
