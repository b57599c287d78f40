#!/bin/bash
# tpm-key supported: the TPM's algorithms and ECC curves (TPM2_GetCapability) match what
# tpm2_getcap reads from the same swtpm; RSA sizes come from TPM2_TestParms (swtpm:
# 1024-3072 yes, 4096 no); what tpm-agent uses is marked.
. "$(dirname "$0")/lib.sh"

step "tpm-key supported through the agent"
run_ok tk supported
S=$OUT
assert_match "$S" "NIST P-256 +0x0003 used by tpm-agent" "P-256 marked as used"
assert_match "$S" "NIST P-521 +0x0005 used by tpm-agent" "P-521 marked as used"
assert_match "$S" "ecdsa +0x0018 .*signing.* used by tpm-agent" "ECDSA listed with its attributes"
assert_match "$S" "sha256 +0x000b hash +used by tpm-agent" "SHA-256 listed"
assert_match "$S" "2048 +yes used by tpm-agent" "RSA 2048 accepted"
assert_match "$S" "4096 +no" "RSA 4096 refused by swtpm (TestParms)"
assert_contains "$S" "tpm-key gen can make here: ecdsa -b 256 384 521; rsa -b 2048 3072" \
	"summary of what gen can make"

step "the same curves and algorithms as tpm2_getcap"
agent_stop
run_ok env TPM2TOOLS_TCTI="$SWTPM_TCTI" timeout 30 tpm2_getcap ecc-curves
for c in $(printf '%s\n' "$OUT" | sed -n 's/^TPM2_ECC_\([A-Z0-9_]*\):.*/\1/p'); do
	case "$c" in
	NIST_P*) n="NIST P-${c#NIST_P}" ;;
	BN_P*) n="BN P-${c#BN_P}" ;;
	SM2_P*) n="SM2 P-${c#SM2_P}" ;;
	*) n="" ;;
	esac
	[ -z "$n" ] || assert_contains "$S" "$n" "curve $c from tpm2_getcap"
done
NCURVES=$(printf '%s\n' "$OUT" | grep -c '^TPM2_ECC_')
NOURS=$(printf '%s\n' "$S" | sed -n '/^ECC curves/,/^RSA/p' | grep -c '^  ')
assert_eq "$NCURVES" "$NOURS" "number of curves"
run_ok env TPM2TOOLS_TCTI="$SWTPM_TCTI" timeout 30 tpm2_getcap algorithms
NALGS=$(printf '%s\n' "$OUT" | grep -c '^[a-z0-9_]*:$')
NOURS=$(printf '%s\n' "$S" | sed -n '/^algorithms/,/^ECC curves/p' | grep -c '^  ')
assert_eq "$NALGS" "$NOURS" "number of algorithms"
echo ok
