/* test_policy: keystore/tpm_policy.c. Policy digests against answers tpm2-tools 5.4 gave
 * in trial sessions on swtpm (tpm2_policypcr -f, tpm2_policyauthvalue,
 * tpm2_policyauthorize -n), PCR lists, the key file's policy fields, and a PCR-bound key
 * on the swtpm of run-unit.sh (TPM_AGENT_TEST_TCTI): signs, then refuses once PCR 16 moves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_sys.h>

#include "../../keystore/tpm_internal.h"
#include "../../keystore/tpm_policy.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	assert_int_equal(hex[2 * len], '\0');
}

static void assert_digest(const uint8_t *got, const char *want_hex)
{
	uint8_t want[TPM_POLICY_DIGEST_LEN];

	unhex(want_hex, want, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
}

/* tpm2_policypcr -l sha256:16 -f <32 zero bytes> */
#define P_PCR16_ZERO "bff2d58e9813f97cefc14f72ad8133bc7092d652b7c877959254af140c841f36"
/* tpm2_policypcr -l sha256:0,1,2,3,7 -f <bytes 1..160>, then tpm2_policyauthvalue */
#define P_PCR5 "dfa42ce235bbcaaa38e6cadb850fd08e407861b5a421032ddd4d0bd2d00de773"
#define P_PCR5_AUTH "87eb3e28e04dba797a44da4fec08e360977e222ce0cba233bf62bd1805ed5061"
/* tpm2_policypcr -l sha1:0 -f <20 zero bytes> */
#define P_SHA1_0 "702d9ea2bbe19f3fd2f3dcb56f416246fffa3eef1b5805d6dde37ebe42262a32"
/* tpm2_policyauthorize -n <name of PUB>, empty policyRef */
#define P_AUTHORIZE "7c1d2574e1b6ad3d9a8b92d77677488d1d37a0214125a91ceeb03d00afaa9e7b"
#define PUB "00560023000b0006007200000010001000030010002044c4155034228f39ef2e304ab17524f9" \
	    "ee8d868f8fc6ab80d573cb6b7c11d6100020e18270f3c1173c29c087ca80e57498bc516351e9" \
	    "4a93de55ecd9b2167be3adc8"
#define PUB_NAME "000b9934e239b6c99d8c5bd095dbd3a7cfaf1f5f73521492e06b1e2dfb1656f0c05f"

static void values_fill(struct tpm_pcr_values *v, const char *list, const char *bank)
{
	struct errmsg e;
	uint8_t b = 1;

	memset(v, 0, sizeof(*v));
	assert_int_equal(tpm_pcr_parse(list, bank, &v->sel, &e), 0);
	v->len = tpm_pcr_bank_len(v->sel.bank);
	for (unsigned i = 0; i < TPM_PCR_MAX; i++)
		if (v->sel.mask & (1u << i))
			for (size_t j = 0; j < v->len; j++)
				v->v[i][j] = b++;
}

static void test_pcr_digest_zero(void **state)
{
	struct tpm_pcr_values v;
	struct tpm_pcr_policy pp;
	uint8_t d[TPM_POLICY_DIGEST_LEN] = { 0 };

	(void)state;
	values_fill(&v, "16", "sha256");
	memset(v.v[16], 0, sizeof(v.v[16]));
	pp.sel = v.sel;
	assert_int_equal(tpm_pcr_digest(&v, pp.digest), 0);
	assert_int_equal(tpm_policy_update_pcr(d, &pp), 0);
	assert_digest(d, P_PCR16_ZERO);
}

static void test_pcr_digest_five_then_authvalue(void **state)
{
	struct tpm_pcr_values v;
	struct tpm_policy p;
	uint8_t d[TPM_POLICY_DIGEST_LEN];
	struct errmsg e;

	(void)state;
	values_fill(&v, "0-3,7", NULL);
	memset(&p, 0, sizeof(p));
	p.steps[0].kind = TPM_STEP_PCR;
	p.steps[0].pcr.sel = v.sel;
	assert_int_equal(tpm_pcr_digest(&v, p.steps[0].pcr.digest), 0);
	p.n_steps = 1;
	assert_int_equal(tpm_policy_digest(&p, d, &e), 0);
	assert_digest(d, P_PCR5);
	p.steps[1].kind = TPM_STEP_AUTHVALUE;
	p.n_steps = 2;
	assert_int_equal(tpm_policy_digest(&p, d, &e), 0);
	assert_digest(d, P_PCR5_AUTH);
	assert_true(tpm_policy_needs_auth(&p));
}

static void test_pcr_digest_sha1_bank(void **state)
{
	struct tpm_pcr_values v;
	struct tpm_pcr_policy pp;
	uint8_t d[TPM_POLICY_DIGEST_LEN] = { 0 };

	(void)state;
	values_fill(&v, "0", "sha1");
	assert_int_equal(v.len, 20);
	memset(v.v[0], 0, sizeof(v.v[0]));
	pp.sel = v.sel;
	assert_int_equal(tpm_pcr_digest(&v, pp.digest), 0);
	assert_int_equal(tpm_policy_update_pcr(d, &pp), 0);
	assert_digest(d, P_SHA1_0);
}

static void test_authorize_digest(void **state)
{
	struct tpm_policy p;
	uint8_t name[2 + TPM_POLICY_DIGEST_LEN], want[sizeof(name)], d[TPM_POLICY_DIGEST_LEN];
	size_t name_len = 0;
	struct errmsg e;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.signer_len = (sizeof(PUB) - 1) / 2;
	unhex(PUB, p.signer, p.signer_len);
	assert_int_equal(tpm_policy_pub_name(p.signer, p.signer_len, name, &name_len, &e), 0);
	unhex(PUB_NAME, want, sizeof(want));
	assert_int_equal(name_len, sizeof(want));
	assert_memory_equal(name, want, sizeof(want));
	p.steps[0].kind = TPM_STEP_AUTHORIZE;
	p.n_steps = 1;
	assert_int_equal(tpm_policy_digest(&p, d, &e), 0);
	assert_digest(d, P_AUTHORIZE);
	/* A truncated public key is refused, not read past its end. */
	assert_int_not_equal(tpm_policy_pub_name(p.signer, p.signer_len - 1, name, &name_len, &e), 0);
}

static void test_pcr_lists(void **state)
{
	struct tpm_pcr_sel s;
	struct errmsg e;
	char buf[96];

	(void)state;
	assert_int_equal(tpm_pcr_parse("0,1,2,3,7", NULL, &s, &e), 0);
	assert_int_equal(s.mask, 0x8f);
	tpm_pcr_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "sha256:0,1,2,3,7");
	assert_int_equal(tpm_pcr_parse(" 0-2 , 23", "sha384", &s, &e), 0);
	assert_int_equal(s.mask, 0x800007);
	assert_int_equal(s.bank, TPM2_ALG_SHA384);
	static const char *const bad[] = { "", "24", "1,", ",1", "3-1", "a", "1;2", "0001", "-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(tpm_pcr_parse(bad[i], NULL, &s, &e), 0);
	assert_int_not_equal(tpm_pcr_parse("0", "md5", &s, &e), 0);
}

/* The policy survives the key file's fields; the PolicyPCR layout is openssl_tpm2_engine's
 * (TPML_PCR_SELECTION, then the raw digest), and the draft's literal order reads too. */
static void test_tss2_roundtrip(void **state)
{
	struct tss2key *f = calloc(1, sizeof(*f));
	struct tpm_policy p, q;
	struct errmsg e;
	static const uint8_t sel16[] = { 0, 0, 0, 1, 0x00, 0x0b, 3, 0, 0, 1 };

	(void)state;
	assert_non_null(f);
	memset(&p, 0, sizeof(p));
	p.steps[0].kind = TPM_STEP_PCR;
	assert_int_equal(tpm_pcr_parse("16", NULL, &p.steps[0].pcr.sel, &e), 0);
	memset(p.steps[0].pcr.digest, 0xab, TPM_POLICY_DIGEST_LEN);
	p.steps[1].kind = TPM_STEP_AUTHVALUE;
	p.n_steps = 2;
	assert_int_equal(tpm_policy_to_tss2(&p, f, &e), 0);
	assert_int_equal(f->n_policy, 2);
	assert_int_equal(f->policy[0].command_code, 0x17F);
	assert_int_equal(f->policy[0].data_len, sizeof(sel16) + 32);
	assert_memory_equal(f->policy[0].data, sel16, sizeof(sel16));
	assert_int_equal(f->policy[1].command_code, 0x16B);
	assert_int_equal(f->policy[1].data_len, 0);
	assert_int_equal(tpm_policy_from_tss2(f, &q, &e), 0);
	assert_int_equal(q.n_steps, 2);
	assert_int_equal(q.unsupported_cc, 0);
	assert_memory_equal(&q.steps[0].pcr, &p.steps[0].pcr, sizeof(p.steps[0].pcr));
	/* TPM2B_DIGEST first (GRUB, the draft's wording) */
	f->policy[0].data[0] = 0;
	f->policy[0].data[1] = 32;
	memset(f->policy[0].data + 2, 0xab, 32);
	memcpy(f->policy[0].data + 34, sel16, sizeof(sel16));
	f->policy[0].data_len = 34 + sizeof(sel16);
	assert_int_equal(tpm_policy_from_tss2(f, &q, &e), 0);
	assert_int_equal(q.unsupported_cc, 0);
	assert_memory_equal(&q.steps[0].pcr, &p.steps[0].pcr, sizeof(p.steps[0].pcr));
	/* a command we do not run, or a truncated body, makes the key unusable, not a crash */
	f->policy[0].data_len = 7;
	assert_int_equal(tpm_policy_from_tss2(f, &q, &e), 0);
	assert_int_equal(q.unsupported_cc, 0x17F);
	f->policy[0].command_code = 0x16D; /* PolicyCounterTimer */
	assert_int_equal(tpm_policy_from_tss2(f, &q, &e), 0);
	assert_int_equal(q.unsupported_cc, 0x16D);
	free(f);
}

/* ---- against the swtpm ---- */

static struct tpm *open_tpm(void)
{
	const char *tcti = getenv("TPM_AGENT_TEST_TCTI");
	struct tpm_options o = { .tcti = tcti, .srk_handle = TPM_SRK_HANDLE_DEFAULT };
	struct errmsg e = { "" };
	struct tpm *t = NULL;

	if (tcti == NULL)
		fail_msg("TPM_AGENT_TEST_TCTI is not set: run me with tests/run-unit.sh");
	if (tpm_open(&o, &t, &e) != 0)
		fail_msg("tpm_open: %s", e.text);
	return t;
}

static void pcr16_reset(struct tpm *t)
{
	TSS2L_SYS_AUTH_COMMAND pw = { .count = 1, .auths = { { .sessionHandle = TPM2_RS_PW } } };

	assert_int_equal(Tss2_Sys_PCR_Reset(t->sys, 16, &pw, NULL), TSS2_RC_SUCCESS);
}

static void pcr16_extend(struct tpm *t)
{
	TSS2L_SYS_AUTH_COMMAND pw = { .count = 1, .auths = { { .sessionHandle = TPM2_RS_PW } } };
	TPML_DIGEST_VALUES d = { .count = 1 };

	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(d.digests[0].digest.sha256, 0x5a, 32);
	assert_int_equal(Tss2_Sys_PCR_Extend(t->sys, 16, &pw, &d, NULL), TSS2_RC_SUCCESS);
}

static int sign_once(struct tpm *t, struct tpm_key *k, const struct tpm_policy *p,
		     struct errmsg *e)
{
	uint8_t digest[32] = { 1, 2, 3 };
	struct tpm_signature sig;
	int r = tpm_policy_begin(t, k, p, e);

	if (r == 0)
		r = tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, digest, 32, &sig, e);
	tpm_policy_end(t);
	return r;
}

static void test_live_pcr_key(void **state)
{
	struct tpm *t = open_tpm();
	struct tpm_pcr_values v;
	struct tpm_policy p;
	struct tpm_key *k = calloc(1, sizeof(*k));
	struct sshkey_pub pub;
	uint8_t digest[32] = { 9 };
	struct tpm_signature sig;
	struct errmsg e = { "" };

	(void)state;
	assert_non_null(k);
	pcr16_reset(t);
	memset(&p, 0, sizeof(p));
	p.steps[0].kind = TPM_STEP_PCR;
	assert_int_equal(tpm_pcr_parse("16", NULL, &p.steps[0].pcr.sel, &e), 0);
	assert_int_equal(tpm_pcr_read(t, &p.steps[0].pcr.sel, &v, &e), 0);
	assert_int_equal(tpm_pcr_digest(&v, p.steps[0].pcr.digest), 0);
	p.n_steps = 1;
	assert_int_equal(tpm_create_key_policy(t, SSHKEY_ECDSA_P256, 256, 0, NULL, 0, &p, k, &pub,
					       &e), 0);
	/* userWithAuth is clear: without the policy session the TPM says no */
	assert_int_not_equal(tpm_sign(t, k, NULL, 0, TPM_SIG_ECDSA, SSHKEY_HASH_SHA256, digest,
				      32, &sig, &e), 0);
	assert_int_equal(sign_once(t, k, &p, &e), 0);
	assert_int_equal(sign_once(t, k, &p, &e), 0); /* a fresh session each time */
	pcr16_extend(t);
	assert_int_equal(sign_once(t, k, &p, &e), TPM_E_POLICY);
	pcr16_reset(t);
	assert_int_equal(sign_once(t, k, &p, &e), 0);
	tpm_key_unload(t, k);
	free(k);
	tpm_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcr_digest_zero),
		cmocka_unit_test(test_pcr_digest_five_then_authvalue),
		cmocka_unit_test(test_pcr_digest_sha1_bank),
		cmocka_unit_test(test_authorize_digest),
		cmocka_unit_test(test_pcr_lists),
		cmocka_unit_test(test_tss2_roundtrip),
		cmocka_unit_test(test_live_pcr_key),
	};

	setenv("TSS2_LOG", "all+none", 0); /* the bad-input cases would log marshalling errors */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
