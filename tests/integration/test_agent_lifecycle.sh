#!/bin/bash
# tpm-agent's life: -s / -c output, socket and directory modes, -k, several clients at
# once, tpm-key status, --simulator.
. "$(dirname "$0")/lib.sh"

step "-s output (lib.sh started the agent with -s) is sh syntax like ssh-agent's"
ENV=$(cat "$T/agent.env")
assert_match "$ENV" "^SSH_AUTH_SOCK=$(re "$AGENT_SOCK"); export SSH_AUTH_SOCK;$" "-s SSH_AUTH_SOCK line"
assert_match "$ENV" "^SSH_AGENT_PID=$SSH_AGENT_PID; export SSH_AGENT_PID;$" "-s SSH_AGENT_PID line"
it_pid_alive "$SSH_AGENT_PID" || fail "SSH_AGENT_PID $SSH_AGENT_PID is not running"
[ "$(readlink "/proc/$SSH_AGENT_PID/exe")" = "$(readlink -f "$TPM_AGENT")" ] ||
	[ -n "${IT_TPM_AGENT:-}" ] || fail "SSH_AGENT_PID is not a tpm-agent process"

step "the socket is 0600 (in our 0700 dir)"
assert_mode "$AGENT_SOCK" 600
[ -S "$AGENT_SOCK" ] || fail "$AGENT_SOCK is not a socket"

step "tpm-key status"
gen_key st ecdsa 256
run_ok tk status
STATUS=$OUT
assert_contains "$STATUS" "$SSH_AGENT_PID" "status shows the agent pid"
assert_contains "$STATUS" "$SSH_AUTH_SOCK" "status shows the socket"
assert_contains "$STATUS" "$SWTPM_PORT" "status shows the TCTI"
assert_match "$STATUS" '0x81[0-9a-fA-F]{6}|0x40000001' "status shows the SRK handle"
assert_match "$STATUS" '(^|[^0-9])1([^0-9]|$)' "status shows the key count"

step "several clients at once"
printf 'me %s\n' "$(cat st.pub)" >signers
head -c 2000 /dev/urandom >data
pids=()
for i in 1 2 3 4; do
	cp data "data$i"
	( timeout 60 ssh-add -l >"list$i.out" 2>&1 ) &
	pids+=($!)
	( timeout 60 ssh-keygen -Y sign -f st.pub -n test "data$i" >"sign$i.out" 2>&1 ) &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent client failed: $(cat list*.out sign*.out)"
done
for i in 1 2 3 4; do
	assert_contains "$(cat "list$i.out")" "$FP" "concurrent ssh-add -l $i"
	run_ok ssh-keygen -Y verify -f signers -I me -n test -s "data$i.sig" <"data$i"
done

step "an idle client connection does not block the others"
hold_start
run_ok timeout 10 ssh-add -l
hold_stop

step "-k stops the agent, prints unset lines, removes the socket"
pid=$SSH_AGENT_PID
run_ok timeout 30 "$TPM_AGENT" -k
KILL_OUT=$OUT
assert_match "$KILL_OUT" '^unset SSH_AUTH_SOCK;$' "-k output"
assert_match "$KILL_OUT" '^unset SSH_AGENT_PID;$' "-k output"
eval "$KILL_OUT" >/dev/null
[ -z "${SSH_AUTH_SOCK:-}" ] && [ -z "${SSH_AGENT_PID:-}" ] || fail "eval of -k output left the variables set"
it_wait_gone "$pid" 100 || fail "agent $pid still running 10 s after -k"
[ ! -e "$AGENT_SOCK" ] || fail "socket $AGENT_SOCK left behind after -k"

step "-k without SSH_AGENT_PID fails with a message"
run_fail timeout 30 "$TPM_AGENT" -k
[ -n "$ERR" ] || fail "-k without SSH_AGENT_PID printed no message"

step "-c output is csh syntax; -c -k prints unsetenv"
rm -f "$AGENT_SOCK"
run_ok timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$AGENT_SOCK" -c
CSH=$OUT
assert_match "$CSH" "^setenv SSH_AUTH_SOCK $(re "$AGENT_SOCK");$" "-c SSH_AUTH_SOCK line"
assert_match "$CSH" '^setenv SSH_AGENT_PID [0-9]+;$' "-c SSH_AGENT_PID line"
SSH_AUTH_SOCK=$(printf '%s\n' "$CSH" | sed -n 's/^setenv SSH_AUTH_SOCK \(.*\);$/\1/p')
SSH_AGENT_PID=$(printf '%s\n' "$CSH" | sed -n 's/^setenv SSH_AGENT_PID \([0-9]*\);$/\1/p')
export SSH_AUTH_SOCK SSH_AGENT_PID
it_wait_socket "$SSH_AUTH_SOCK" 100 || fail "no socket after -c"
assert_contains "$(agent_fps)" "$FP" "keys after restart with -c"
pid=$SSH_AGENT_PID
run_ok timeout 30 "$TPM_AGENT" -c -k
assert_match "$OUT" '^unsetenv SSH_AUTH_SOCK;$' "-c -k output"
assert_match "$OUT" '^unsetenv SSH_AGENT_PID;$' "-c -k output"
it_wait_gone "$pid" 100 || fail "agent $pid still running after -c -k"
unset SSH_AUTH_SOCK SSH_AGENT_PID

step "without -a the socket is made 0600 in a private 0700 directory"
run_ok timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -s
printf '%s\n' "$OUT" >"$T/agent.env"
eval "$OUT" >/dev/null
export SSH_AUTH_SOCK SSH_AGENT_PID
[ -n "${SSH_AUTH_SOCK:-}" ] || fail "no SSH_AUTH_SOCK from -s without -a: $OUT"
it_wait_socket "$SSH_AUTH_SOCK" 100 || fail "no socket at $SSH_AUTH_SOCK"
assert_mode "$SSH_AUTH_SOCK" 600
assert_mode "$(dirname "$SSH_AUTH_SOCK")" 700
assert_eq "$(id -u)" "$(stat -c %u "$(dirname "$SSH_AUTH_SOCK")")" "owner of the socket dir"
DEFAULT_SOCK=$SSH_AUTH_SOCK
run_ok ssh-add -l
agent_stop
[ ! -e "$DEFAULT_SOCK" ] || fail "default socket $DEFAULT_SOCK left behind after -k"

step "--simulator: the agent runs its own swtpm under the data dir and stops it on -k"
SIM_HOME="$T/sim-data"
mkdir -m 700 "$SIM_HOME"
rm -f "$AGENT_SOCK"
run_ok env TPM_AGENT_HOME="$SIM_HOME" timeout 120 "$TPM_AGENT" --simulator -a "$AGENT_SOCK" -s
eval "$OUT" >/dev/null
export SSH_AUTH_SOCK SSH_AGENT_PID
it_wait_socket "$SSH_AUTH_SOCK" 150 || fail "no socket with --simulator"
SIM_SWTPM=$(ps -o pid= --ppid "$SSH_AGENT_PID" | tr -d ' ' | head -1)
run_ok env TPM_AGENT_HOME="$SIM_HOME" timeout 120 "$TPM_KEY" gen --no-pin -t ecdsa -b 256 -n sim
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >sim.pub || fail "gen under --simulator: $OUT"
[ -f "$SIM_HOME/keys/sim.tss" ] || fail "--simulator key not in its data dir"
run_ok ssh-keygen -Y sign -f sim.pub -n test data
printf 'me %s\n' "$(cat sim.pub)" >simsigners
run_ok ssh-keygen -Y verify -f simsigners -I me -n test -s data.sig <data
rm -f data.sig
agent_stop
if [ -n "$SIM_SWTPM" ]; then
	it_wait_gone "$SIM_SWTPM" 100 || fail "the simulator's swtpm ($SIM_SWTPM) outlived the agent"
fi
echo "PASS: $IT_NAME"
