/* daemon_srkpin: the pinned SRK in the running agent: the pin given to tpm_open, the
 * first pin, the deliberate re-pin, the EK proof record and their status lines. */
#include "daemon_srkpin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../keystore/tpm_attest.h"
#include "../keystore/log.h"

#define PROOF_MAX 2048

int srkpin_prepare(struct agent *a, struct srkpins *pins, struct tpm_options *to,
		   struct errmsg *e)
{
	const struct srkpin *pin;

	if (srkpin_load(a->data_dir, pins, e) != 0)
		return errmsg_prefix(e, "cannot read the pinned SRK names");
	pin = srkpin_find(pins, to->srk_handle ? to->srk_handle : TPM_SRK_HANDLE_DEFAULT);
	if (pin != NULL && to->hierarchy != TPM_HIER_NULL) {
		to->srk_pin = pin->name;
		to->srk_pin_len = pin->name_len;
	}
	return 0;
}

/* Records the SRK name t holds for the agent's handle (under agent_tpm_lock, or before serving). */
static int record_pin(struct agent *a, struct errmsg *e)
{
	struct srkpins pins;
	uint8_t name[SRKPIN_NAME_MAX];
	size_t len;

	if (tpm_srk_name(a->tpm, name, sizeof(name), &len) != 0 || len == 0)
		return errmsg_set(e, "no SRK name to pin");
	if (srkpin_load(a->data_dir, &pins, e) != 0 ||
	    srkpin_set(&pins, a->srk_handle, name, len, e) != 0)
		return -1;
	return srkpin_save(a->data_dir, &pins, e);
}

void srkpin_opened(struct agent *a, struct srkpins *pins)
{
	char hex[SRKPIN_HEX_MAX];
	uint8_t name[SRKPIN_NAME_MAX];
	size_t len;
	struct errmsg e;

	if (tpm_srk_refused(a->tpm, &e)) {
		log_error("%s", e.text);
		return;
	}
	if (a->settings.hierarchy == TPM_HIER_NULL) {
		log_info("hierarchy = null: the SRK is made anew at every TPM reset and cannot be "
			 "pinned");
		return;
	}
	if (srkpin_find(pins, a->srk_handle) != NULL ||
	    tpm_srk_name(a->tpm, name, sizeof(name), &len) != 0)
		return;
	srkpin_hex(name, len, hex, sizeof(hex));
	if (record_pin(a, &e) != 0)
		log_warn("cannot pin the SRK at 0x%08x (name %s): %s; the next start tries again",
			 a->srk_handle, hex, e.text);
	else
		log_info("pinned the SRK at 0x%08x: name %s (first use of this TPM with %s)",
			 a->srk_handle, hex, a->data_dir);
}

/* "key value" lines of the proof record. */
static void proof_record(const struct tpm_ek_proof *p, const char *result, char *out,
			 size_t cap)
{
	char cert[2 * 32 + 1], srk[SRKPIN_HEX_MAX], when[64];
	time_t now = time(NULL);
	struct tm tm;

	srkpin_hex(p->cert_sha256, sizeof(p->cert_sha256), cert, sizeof(cert));
	srkpin_hex(p->srk_name, p->srk_name_len, srk, sizeof(srk));
	if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
						     &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)now);
	snprintf(out, cap, "# tpm-agent: the last EK proof of the SRK (tpm-key init)\n"
		 "time %s\nsrk-name %s\nek-cert-sha256 %s\nek-cert-issuer %s\nresult %s\n",
		 when, srk, cert, p->issuer, result);
}

int srkpin_prove(struct agent *a, char *note, size_t note_len)
{
	struct tpm_ek_proof p;
	struct errmsg e = { "" }, we;
	char text[PROOF_MAX], result[ERRMSG_MAX + 16];
	int r = tpm_ek_prove_srk(a->tpm, &p, &e);

	note[0] = '\0';
	if (r == 0 && !p.have_cert) {
		snprintf(note, note_len, "no EK certificate in the TPM: the SRK could not be "
			 "proven to live in a certified TPM");
		return 0;
	}
	if (!p.have_cert && r != 0) {
		snprintf(note, note_len, "EK proof not made: %s", e.text);
		log_warn("%s", note);
		return 0;
	}
	snprintf(result, sizeof(result), "%s%s", r == 0 ? "ok" : "FAILED: ", r == 0 ? "" : e.text);
	proof_record(&p, result, text, sizeof(text));
	if (srkpin_proof_save(a->data_dir, text, &we) != 0)
		log_warn("cannot record the EK proof: %s", we.text);
	if (r == 0)
		snprintf(note, note_len, "EK proof: the SRK lives in the TPM holding the EK "
			 "certified by %s", p.issuer);
	else
		snprintf(note, note_len, "EK proof FAILED: %s", e.text);
	log_msg(r == 0 ? LOG_LVL_INFO : LOG_LVL_ERROR, "%s", note);
	return r == 0 ? 0 : -1;
}

/* A re-pin trusts the SRK the TPM shows now: where the TPM has an EK certificate, only
 * once the EK proof says it lives in that TPM (an interposer's key fails it). */
int srkpin_repin(struct agent *a, char *note, size_t note_len, struct errmsg *e)
{
	uint8_t name[SRKPIN_NAME_MAX];
	char hex[SRKPIN_HEX_MAX], proof[512], why[ERRMSG_MAX];
	size_t len;
	int r;

	if ((r = tpm_srk_repin(a->tpm, name, sizeof(name), &len, e)) != 0)
		return r;
	srkpin_hex(name, len, hex, sizeof(hex));
	if (srkpin_prove(a, proof, sizeof(proof)) != 0) {
		snprintf(why, sizeof(why), "the SRK at 0x%08x (name %s) failed the EK proof; not "
			 "re-pinned (%.200s)", a->srk_handle, hex, proof);
		return tpm_srk_distrust(a->tpm, why, e);
	}
	if (record_pin(a, e) != 0)
		return errmsg_prefix(e, "the SRK at 0x%08x (name %s) is in use but its pin was "
				     "not recorded", a->srk_handle, hex);
	log_warn("re-pinned the SRK at 0x%08x: name %s", a->srk_handle, hex);
	snprintf(note, note_len, "re-pinned the SRK at 0x%08x: name %s%s%s", a->srk_handle, hex,
		 proof[0] ? "\n" : "", proof);
	return 0;
}

/* One status value from the proof record: "ok 2026-... (EK cert issuer ...)". */
static void proof_summary(const char *text, char *out, size_t cap)
{
	char when[64] = "?", result[ERRMSG_MAX] = "?", issuer[160] = "?", srk[SRKPIN_HEX_MAX] = "?";
	const char *line = text;

	while (line != NULL && *line != '\0') {
		sscanf(line, "time %63s", when);
		sscanf(line, "srk-name %136s", srk);
		sscanf(line, "result %511[^\n]", result);
		sscanf(line, "ek-cert-issuer %159[^\n]", issuer);
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	snprintf(out, cap, "%s at %s, SRK name %s, EK certificate issued by %s", result, when,
		 srk, issuer);
}

int srkpin_keys_unusable(const struct agent *a, struct errmsg *why)
{
	struct errmsg e;

	if (a->tpm == NULL || !tpm_srk_refused(a->tpm, &e))
		return 0;
	if (why != NULL)
		errmsg_set(why, "their parent is not this TPM's SRK (the pinned SRK is not "
			   "there: a cleared TPM or another TPM); see `tpm-key status`, srk pin");
	return 1;
}

void srkpin_status(struct agent *a, void (*add)(void *ctx, const char *label,
						 const char *value), void *ctx)
{
	uint8_t name[SRKPIN_NAME_MAX];
	char hex[SRKPIN_HEX_MAX], text[PROOF_MAX], value[512];
	size_t len;
	struct errmsg e;

	if (tpm_srk_refused(a->tpm, &e)) {
		add(ctx, "srk pin", e.text);
	} else if (tpm_srk_name(a->tpm, name, sizeof(name), &len) == 0 && len > 0) {
		srkpin_hex(name, len, hex, sizeof(hex));
		snprintf(value, sizeof(value), "matches: name %s", hex);
		add(ctx, "srk pin", value);
	} else {
		add(ctx, "srk pin", "none (hierarchy = null)");
	}
	if (srkpin_proof_load(a->data_dir, text, sizeof(text), &e) != 0)
		add(ctx, "srk ek proof", e.text);
	else if (text[0] == '\0')
		add(ctx, "srk ek proof", "none (tpm-key init makes it where the TPM has an EK "
		    "certificate)");
	else {
		proof_summary(text, value, sizeof(value));
		add(ctx, "srk ek proof", value);
	}
}
