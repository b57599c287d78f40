#!/bin/sh
# asan-check.sh BUILD_DIR UNIT_BIN...: runs the unit tests and the integration tests
# against the ASan+UBSan build in BUILD_DIR (BUILD_DIR/bin/tpm-agent, tpm-key). Every
# sanitizer report goes to a log file (daemons have no stderr); any report, or any
# failing test, fails the run. Env: ASAN_KEEP_LOGS=DIR keeps the reports there.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$1
shift
case "$build" in /*) ;; *) build="$repo/$build" ;; esac
logs=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-asan.XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"

# The agents' sandbox would hide LeakSanitizer's reports (tests/integration/lib.sh).
export IT_SANDBOX=no

rc=0
echo "asan-check: unit tests ($build)"
sh "$repo/tests/run-unit.sh" "$@" || rc=1
echo "asan-check: integration tests"
IT_TPM_AGENT="$build/bin/tpm-agent" IT_TPM_KEY="$build/bin/tpm-key" \
	sh "$repo/tests/run-integration.sh" || rc=1

reports=$(ls "$logs" 2>/dev/null)
if [ -n "$reports" ]; then
	rc=1
	for f in "$logs"/*; do
		echo "---- sanitizer report $(basename "$f")"
		head -80 "$f"
	done
	[ -n "${ASAN_KEEP_LOGS:-}" ] && mkdir -p "$ASAN_KEEP_LOGS" && cp "$logs"/* "$ASAN_KEEP_LOGS"/
fi
if [ "$rc" -eq 0 ]; then
	echo "asan-check: no sanitizer report, all tests passed"
else
	echo "asan-check: FAILED ($(echo "$reports" | grep -c . ) sanitizer report(s))"
fi
exit "$rc"
