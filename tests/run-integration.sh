#!/bin/sh
# run-integration.sh: runs every tests/integration/test_*.sh (bash), each in its own
# process with its own swtpm, agent and temp dirs (tests/integration/lib.sh), under a
# time limit. Prints PASS/FAIL per test and "integration: N passed, M failed".
# Exit 1 on any failure. Arguments: optional test names or paths to run only those.
# Env: IT_TIMEOUT (seconds per test, default 600), IT_VERBOSE=1 shows passing tests'
# output too (a failing test's output is always shown). IT_JOBS=N runs N tests at a time
# (default 1; each test has its own swtpm, ports and temp dirs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # wait -n, for IT_JOBS
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

# report NAME RC SECS: the verdict line, and the log when it failed (or IT_VERBOSE=1).
report() {
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $1 (${3}s)"
		[ "${IT_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$logdir/$1.log"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $1"
		echo "FAIL $1 (exit $2, ${3}s)"
		[ "$2" -eq 124 ] && echo "    (timed out after ${limit}s)"
		sed 's/^/    /' "$logdir/$1.log"
	fi
}

# run_one NAME PATH: the test in its own process (bash), stdin closed; SIGTERM at the
# limit lets the test's trap clean up. Leaves "RC SECS" in $logdir/NAME.rc.
run_one() {
	local start=$(date +%s) rc=0
	timeout -k 30 "$limit" bash "$2" </dev/null >"$logdir/$1.log" 2>&1 || rc=$?
	echo "$rc $(( $(date +%s) - start ))" >"$logdir/$1.rc"
}

# collect: reports every finished test not yet reported.
collect() {
	local f n
	for f in "$logdir"/*.rc; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .rc)
		# shellcheck disable=SC2046
		report "$n" $(cat "$f")
		rm -f "$f"
	done
}

jobs_max=${IT_JOBS:-1}
running=0
for t in $tests; do
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n
		running=$((running - 1))
		collect
	fi
	run_one "$(basename "$t" .sh)" "$t" &
	running=$((running + 1))
done
wait
collect
[ "$failed" -eq 0 ] || echo "failed:$failed_names"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
