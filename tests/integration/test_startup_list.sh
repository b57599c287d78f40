#!/bin/bash
# Startup: a client that connects while the agent is still opening the TPM and reading
# its keys (here a TPM slowed by tests/lib/tpm_proxy.py) waits and then gets the full
# list, never an early empty one (ssh-tpm-agent's listens before loading its keys).
# Also with key-dirs keys.
. "$(dirname "$0")/lib.sh"

step "three keys (one in a key dir)"
gen_key k1 ecdsa 256
gen_key k2 ecdsa 384
gen_key k3 ecdsa 256
mkdir -m 700 "$T/kd"
mv "$TPM_AGENT_HOME/keys/k3.tss" "$T/kd/k3.tpm"
rm -f "$TPM_AGENT_HOME/keys/k3.pub"
agent_stop

step "a slow TPM behind tpm_proxy.py"
. "$IT_REPO/tests/lib/tpm_proxy.sh"
PROXY_CTL="$T/proxy.ctl"
proxy_spawn
it_on_exit "kill $PROXY_PID"
ctl() { printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$T/proxy.ctl"; }
assert_contains "$(ctl "arm delay any 40 150")" "ok" "delay armed"

step "ssh-add -l as soon as the socket exists"
: >"$AGENT_LOG" # only this agent's lines
# (not agent_start_fg, which waits until the agent answers)
"$TPM_AGENT" -D -d --tcti "$PROXY_TCTI" -a "$AGENT_SOCK" --key-dirs="$T/kd" \
	</dev/null >"$T/agent-fg.out" 2>>"$AGENT_LOG" &
SSH_AGENT_PID=$!
SSH_AUTH_SOCK="$AGENT_SOCK"
export SSH_AUTH_SOCK SSH_AGENT_PID
it_wait_socket "$SSH_AUTH_SOCK" 150 || fail "no agent socket: $(tail -5 "$AGENT_LOG")"
grep -q "serving .* key" "$AGENT_LOG" && fail "the agent was already serving: the test did not connect early"
run_ok timeout 60 ssh-add -l
assert_eq 3 "$(printf '%s\n' "$OUT" | grep -c SHA256)" "the first list holds every key"
grep -q "serving 3 key" "$AGENT_LOG" || fail "agent log: $(tail -3 "$AGENT_LOG")"
ctl disarm >/dev/null
echo ok
