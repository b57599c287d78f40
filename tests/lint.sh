#!/bin/sh
# lint.sh: `mandoc -Tlint` on man/*.[15] and `systemd-analyze verify` on the systemd user
# units in contrib/systemd (ExecStart pointed at the built bin/tpm-agent), and
# tests/layers.py (includes point down the layers, no circles). Any message fails. Run
# by `make check` and `make lint`.
#
# systemd-analyze verify --user needs no running systemd (in a container PID 1 is not
# systemd): it only wants $XDG_RUNTIME_DIR to resolve %t, so it gets a private one.
# --man=no: Documentation=man:... is not looked up (the pages are not installed yet).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-lint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! command -v mandoc >/dev/null 2>&1; then
	echo "lint: mandoc missing (apt-get install mandoc)" >&2
	exit 1
fi
for m in "$here"/man/*.[1-8]; do
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
		echo "lint: mandoc -Tlint $m:" >&2
		echo "$out" >&2
		fail=1
	fi
done

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "lint: systemd-analyze missing (apt-get install systemd)" >&2
	exit 1
fi
[ -x "$here/bin/tpm-agent" ] || { echo "lint: bin/tpm-agent not built" >&2; exit 1; }
mkdir -m 700 "$tmp/run" "$tmp/units"
for u in "$here"/contrib/systemd/*.socket "$here"/contrib/systemd/*.service; do
	sed "s|@BINDIR@|$here/bin|g" "$u" >"$tmp/units/$(basename "$u")"
done
out=$(cd "$tmp/units" && XDG_RUNTIME_DIR="$tmp/run" systemd-analyze verify --user --man=no \
	./*.socket ./*.service 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
	echo "lint: systemd-analyze verify:" >&2
	echo "$out" >&2
	fail=1
fi
python3 "$here/tests/layers.py" || fail=1
[ "$fail" -eq 0 ] && echo "lint: man pages, systemd units and layers OK"
exit "$fail"
