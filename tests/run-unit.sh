#!/bin/sh
# run-unit.sh: runs each cmocka test binary given on the command line against one
# private swtpm (tests that need a TPM read TPM_AGENT_TEST_TCTI). Exit 1 on any failure.
set -u
. "$(dirname "$0")/lib/swtpm.sh"
swtpm_start || exit 1
trap swtpm_stop EXIT INT TERM
export TPM_AGENT_TEST_TCTI="$SWTPM_TCTI"
failed=0
passed=0
for t in "$@"; do
	if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
