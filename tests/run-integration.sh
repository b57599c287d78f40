#!/bin/sh
# run-integration.sh: runs every tests/integration/test_*.sh (bash), each in its own
# process with its own swtpm, agent and temp dirs (tests/integration/lib.sh), under a
# time limit. Prints PASS/FAIL per test and "integration: N passed, M failed".
# Exit 1 on any failure. Arguments: optional test names or paths to run only those.
# Env: IT_TIMEOUT (seconds per test, default 600), IT_VERBOSE=1 shows passing tests'
# output too (a failing test's output is always shown).
set -u
here=$(cd "$(dirname "$0")" && pwd)
limit=${IT_TIMEOUT:-600}
passed=0
failed=0
failed_names=
logdir=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-itlog.XXXXXX") || exit 1
trap 'rm -rf "$logdir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ $# -gt 0 ]; then
	tests=
	for a in "$@"; do
		case "$a" in
		*/*) tests="$tests $a" ;;
		*) tests="$tests $here/integration/${a%.sh}.sh" ;;
		esac
	done
else
	tests=$(ls "$here"/integration/test_*.sh 2>/dev/null)
fi
[ -n "$tests" ] || { echo "integration: no tests found"; exit 1; }

for t in $tests; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	# Own process (bash), stdin closed; SIGTERM at the limit lets the test's trap clean up.
	( timeout -k 30 "$limit" bash "$t" </dev/null >"$logdir/$name.log" 2>&1 )
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		[ "${IT_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$logdir/$name.log"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "FAIL $name (exit $rc, ${secs}s)"
		[ "$rc" -eq 124 ] && echo "    (timed out after ${limit}s)"
		sed 's/^/    /' "$logdir/$name.log"
	fi
done
[ "$failed" -eq 0 ] || echo "failed:$failed_names"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
