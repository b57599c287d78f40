#!/bin/sh
# run-fuzz.sh SECONDS RUNS NAME...: runs each build/fuzz/fuzz_NAME over a scratch copy of
# its seed corpus tests/fuzz/corpus/NAME for SECONDS or RUNS executions, whichever comes
# first. Exit 1 when a harness crashes (the crashing input is kept in build/fuzz/crashes/).
set -u
secs=$1 runs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/build/fuzz"
mkdir -p "$out/crashes"
work=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
failed=
for name in "$@"; do
	bin="$out/fuzz_$name"
	[ -x "$bin" ] || { echo "FAIL fuzz_$name: $bin not built"; failed="$failed $name"; continue; }
	mkdir -p "$work/$name"
	# New inputs go to the scratch dir; the kept corpus is only read.
	start=$(date +%s)
	ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1}" \
	"$bin" -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/crashes/$name-" \
		"$work/$name" "$here/corpus/$name" >"$work/$name.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz_$name (${execs:-?} runs, $(( $(date +%s) - start ))s)"
	else
		echo "FAIL fuzz_$name (exit $rc)"
		tail -60 "$work/$name.log" | sed 's/^/    /'
		failed="$failed $name"
	fi
done
[ -z "$failed" ] || { echo "fuzz-smoke: failed:$failed"; exit 1; }
echo "fuzz-smoke: $# harnesses, no crash"
