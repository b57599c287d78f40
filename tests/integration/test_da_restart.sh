#!/bin/bash
# test_da_restart: restarting `tpm-agent --simulator` after PIN use is an orderly
# shutdown (TPM2_Shutdown(STATE) before the agent stops its swtpm), so the TPM's
# dictionary-attack counter does not move. Without it every restart counts as a
# failure at the next Startup and three restarts lock out every PIN key (swtpm's own
# defaults here: 3 tries, 1000 s). The counter is read through the agent
# (tpm-key status) after each restart, and at the end with tpm2_getcap against a
# swtpm we run ourselves on the simulator's state.
IT_NO_TPM=1   # read by lib.sh: the agent runs its own simulator
. "$(dirname "$0")/lib.sh"

SIM_DIR="$T/sim"
FAKE="$IT_REPO/tests/pinentry/fake-pinentry"
export FAKE_PINENTRY_PIN=2468 FAKE_PINENTRY_LOG="$T/pe.log"

start_sim() {
	rm -f "$AGENT_SOCK"
	"$TPM_AGENT" -D -d --simulator="$SIM_DIR" -a "$AGENT_SOCK" --pinentry-program="$FAKE" \
		</dev/null >"$T/agent-fg.out" 2>>"$AGENT_LOG" &
	SSH_AGENT_PID=$!
	SSH_AUTH_SOCK="$AGENT_SOCK"
	export SSH_AUTH_SOCK SSH_AGENT_PID
	it_wait_socket "$SSH_AUTH_SOCK" 150 || fail "no socket with --simulator: $(tail -5 "$AGENT_LOG")"
}

# counter: TPM2_PT_LOCKOUT_COUNTER as tpm-key status reports it.
counter() {
	tk status >"$T/status" 2>&1 || fail "tpm-key status: $(cat "$T/status")"
	sed -n 's/^da counter *\([0-9]*\) wrong PINs counted.*/\1/p' "$T/status"
}

echo "signed data" >msg
sign() { run_ok timeout 60 ssh-keygen -Y sign -f pk.pub -n file msg; rm -f msg.sig; }

step "a PIN key under --simulator, used once"
start_sim
run_ok tk gen -t ecdsa -b 256 -n pk -C pk@sim
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >pk.pub || fail "gen printed no key: $OUT"
sign
assert_eq 0 "$(counter)" "DA counter before any restart"
assert_match "$(cat "$T/status")" '^da counter .*lockout at 3' "the simulator's own DA maximum"

for i in 1 2 3 4 5; do
	step "restart $i after PIN use: the counter stays 0"
	agent_stop
	start_sim
	assert_eq 0 "$(counter)" "DA counter after restart $i"
	assert_contains "$(cat "$AGENT_LOG")" "sent TPM2_Shutdown(STATE)" "orderly shutdown logged"
	assert_match "$(cat "$T/status")" '^da lockout +no: 3 tries left' "no lockout after restart $i"
	run_ok tk forget
	sign
done
agent_stop

step "tpm2_getcap on the simulator's state agrees"
SIM_PID=
for try in 1 2 3 4 5 6 7 8 9 10; do   # another program may take a free port first
	P=$(port_guess) || break
	if swtpm socket --tpm2 --tpmstate dir="$SIM_DIR" \
		--server type=tcp,port="$P",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
		--pid file="$T/sim.pid" --daemon 2>"$T/sim.log"; then
		SIM_PID=$(cat "$T/sim.pid")
		break
	fi
done
[ -n "$SIM_PID" ] || fail "swtpm on the simulator state: $(cat "$T/sim.log")"
it_on_exit "kill $SIM_PID"
run_ok env TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$P" timeout 30 tpm2_getcap properties-variable
assert_match "$OUT" 'TPM2_PT_LOCKOUT_COUNTER: 0x0$' "lockout counter read with tpm2_getcap"
assert_not_contains "$(printf '%s\n' "$OUT" | grep -i -A1 inLockout)" "inLockout: 1" "inLockout"
TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$P" timeout 30 tpm2_shutdown >/dev/null 2>&1
kill "$SIM_PID"
it_wait_gone "$SIM_PID" 100 || fail "our swtpm did not stop"

echo "PASS: $IT_NAME"
