#!/bin/sh
# valgrind-check.sh TEST...: runs the named integration tests with the agent (bin/tpm-agent)
# under valgrind memcheck (TPM_AGENT_WRAPPER, tests/integration/lib.sh). Fails when a
# test fails, or when valgrind reports an invalid access, a use of uninitialised memory
# or a definite leak in any agent process (one log per process, forks included).
# Suppressions for third-party noise: tests/sanitizers/valgrind.supp.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
command -v valgrind >/dev/null 2>&1 || { echo "valgrind-check: valgrind not installed"; exit 1; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-valgrind.XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# valgrind does not emulate Landlock's system calls or a guest's seccomp filter: the
# agents under it run with --sandbox=no (tests/integration/lib.sh; the sandbox is tested
# in the plain run).
export IT_SANDBOX=no
export TPM_AGENT_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --error-exitcode=1 --child-silent-after-fork=no \
--suppressions=$here/valgrind.supp --num-callers=30 --log-file=$logs/vg.%p.log"
rc=0
IT_TIMEOUT=${IT_TIMEOUT:-900} sh "$repo/tests/run-integration.sh" "$@" || rc=1

n=0 bad=0
for f in "$logs"/vg.*.log; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	# -q: a clean process leaves an empty log; anything in it is a report.
	if [ -s "$f" ]; then
		bad=$((bad + 1))
		echo "---- valgrind report $(basename "$f")"
		head -150 "$f"
	fi
done
[ "$n" -gt 0 ] || { echo "valgrind-check: no valgrind log: the wrapper was not used"; rc=1; }
[ "$bad" -eq 0 ] || rc=1
if [ "$rc" -eq 0 ]; then
	echo "valgrind-check: $n agent process(es) under valgrind, no error, no definite leak"
else
	echo "valgrind-check: FAILED ($bad process(es) with reports)"
fi
exit "$rc"
