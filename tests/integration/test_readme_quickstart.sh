#!/bin/bash
# test_readme_quickstart: the Quick start block of README.md runs exactly as written:
# the agent with --simulator, a key with a PIN (asked through pinentry: here the fake
# one, found on PATH as `pinentry`), a login to a local sshd (lib.sh's private one,
# whose authorized_keys is ~/.ssh/authorized_keys, on $PORT) and a git commit signed
# in the TPM and verified. The block is at most 30 lines.
IT_NO_TPM=1   # read by lib.sh: the block starts its own agent and simulator
. "$(dirname "$0")/lib.sh"
. "$IT_REPO/tests/lib/fake_pinentry.sh"

BLOCK=$(awk '/^## Quick start/ { q = 1 } q && /^```sh$/ { f = 1; next } f && /^```$/ { exit } f' \
	"$IT_REPO/README.md")
[ -n "$BLOCK" ] || fail "README.md has no Quick start sh block"
n=$(printf '%s\n' "$BLOCK" | wc -l)
[ "$n" -le 30 ] || fail "the quick start block has $n lines (at most 30)"
printf '%s\n' "$BLOCK" >"$T/quickstart.sh"

step "a local sshd whose authorized_keys is ~/.ssh/authorized_keys; pinentry answers"
mkdir -p -m 700 "$HOME/.ssh" "$SSHD_DIR"
: >"$HOME/.ssh/authorized_keys"
ln -sf "$HOME/.ssh/authorized_keys" "$SSHD_DIR/authorized_keys"
start_sshd
mkdir -p "$T/pebin"
ln -s "$T/pinentry" "$T/pebin/pinentry"
pe_pins 2468 2468 2468 2468 2468 2468
# The agent's sandbox lets pinentry's own directory through; the fake one lives in $T
# and runs tests/pinentry/*: allowed in the config file, which the block does not name.
mkdir -p "$XDG_CONFIG_HOME/tpm-agent"
echo "sandbox-allow = $T, $IT_REPO/tests" >"$XDG_CONFIG_HOME/tpm-agent/config"

step "the block, as written, from the source directory"
# If it stops half-way, the agent it started (and its simulator) are stopped all the same.
cat >"$T/run.sh" <<RUN
set -e
trap '[ -z "\${SSH_AGENT_PID:-}" ] || "$TPM_AGENT" -k >/dev/null 2>&1' EXIT
. "$T/quickstart.sh"
trap - EXIT
RUN
(cd "$IT_REPO" && PORT=$SSHD_PORT PATH="$T/pebin:$PATH" timeout 300 bash "$T/run.sh") \
	>"$T/qs.out" 2>"$T/qs.err" </dev/null || fail "quick start failed: $(cat "$T/qs.out" "$T/qs.err")"
OUT=$(cat "$T/qs.out"); ERR=$(cat "$T/qs.err")
assert_contains "$OUT" "logged in" "ssh login through the agent"
assert_contains "$OUT$ERR" 'Good "git" signature for alice@demo' "git verifies the signature"
[ "$(getpins)" -ge 2 ] || fail "pinentry was never asked a PIN: $(cat "$PE_LOG")"

echo "PASS: $IT_NAME"
