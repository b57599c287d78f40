#!/bin/bash
# test_tpm_stall: a TPM that stops answering (swtpm stopped with SIGSTOP) never freezes
# the agent: listing, tpm-key list and gpg KEYINFO answer at once, a signature fails
# after tpm-timeout, SIGTERM ends the agent quickly, and a fresh agent signs once the TPM
# is back. Also: one agent per data dir, and one name taken once by concurrent gens.
. "$(dirname "$0")/lib.sh"

GSOCK="$T/S.gpg-agent"
gca() { timeout 10 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
# ms: milliseconds since the epoch.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_log TEXT [TENTHS]: waits for TEXT in the agent log.
wait_log() {
	local n=0
	until grep -qF -- "$1" "$AGENT_LOG"; do
		[ $n -ge "${2:-100}" ] && return 1
		sleep 0.1; n=$((n + 1))
	done
}

agent_stop
: >"$AGENT_LOG"
agent_start_fg --tpm-timeout=3 --gpg-socket "$GSOCK"
AGENT1=$SSH_AGENT_PID

step "a second agent on the same data dir is refused, naming the running one"
run_fail timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/second.sock"
assert_contains "$ERR" "another tpm-agent already serves the data dir $TPM_AGENT_HOME" "refusal"
assert_contains "$ERR" "pid $AGENT1 socket $AGENT_SOCK" "refusal names pid and socket"
[ ! -e "$T/second.sock" ] || fail "the refused agent left its socket behind"
it_pid_alive "$AGENT1" || fail "the running agent died"

step "two concurrent gens of one name through one agent: exactly one succeeds"
tk gen --no-pin -t ecdsa -b 256 -n dup >"$T/dup1.out" 2>&1 &
g1=$!
tk gen --no-pin -t ecdsa -b 256 -n dup >"$T/dup2.out" 2>&1 &
g2=$!
r1=0; wait "$g1" || r1=$?
r2=0; wait "$g2" || r2=$?
[ $((r1 == 0)) -ne $((r2 == 0)) ] || fail "gen dup twice: exit codes $r1 and $r2: $(cat "$T"/dup*.out)"
assert_contains "$(cat "$T"/dup*.out)" "dup" "the refusal names the key"
assert_eq 1 "$(ls "$TPM_AGENT_HOME/keys" | grep -c '^dup\.tss$')" "dup.tss files"

gen_key k1 ecdsa 256
printf 'hello\n' >data
run_ok ssh-keygen -Y sign -f k1.pub -n test data
rm -f data.sig
run_ok gca 'KEYINFO --list'
assert_contains "$OUT" "S KEYINFO" "KEYINFO --list with the TPM answering"

step "swtpm stopped: a signature is in flight and gets no answer"
kill -STOP "$SWTPM_PID"
it_on_exit "kill -CONT $SWTPM_PID"
sign_start=$(ms)
( ssh-keygen -Y sign -f k1.pub -n test data >"$T/sign.out" 2>&1; echo $? >"$T/sign.rc" ) &
SIGNER=$!
wait_log "TPM worker: request of pid" 100 || fail "the sign request never reached the TPM worker"

step "while it hangs: ssh-add -l, tpm-key list and gpg KEYINFO --list answer at once"
t0=$(ms)
run_ok timeout 3 ssh-add -l
t1=$(ms)
assert_contains "$OUT" "$FP" "ssh-add -l lists the key"
echo "    ssh-add -l answered in $((t1 - t0)) ms"
run_ok timeout 3 "$TPM_KEY" list
assert_contains "$OUT" "k1" "tpm-key list"
run_ok timeout 3 gpg-connect-agent --no-autostart -S "$GSOCK" 'KEYINFO --list' 'HAVEKEY --list' /bye
assert_contains "$OUT" "S KEYINFO" "gpg KEYINFO --list"

step "the signature fails within tpm-timeout + 2 s"
n=0
until [ -s "$T/sign.rc" ]; do
	[ $n -ge 150 ] && fail "the signer still waits 15 s after it started"
	sleep 0.1; n=$((n + 1))
done
sign_ms=$(( $(ms) - sign_start ))
echo "    the signature failed after $sign_ms ms (tpm-timeout 3 s)"
assert_ne 0 "$(cat "$T/sign.rc")" "exit status of the signer"
[ "$sign_ms" -le 5000 ] || fail "the signature failed only after $sign_ms ms"
wait "$SIGNER" 2>/dev/null
grep -q "no answer in 3 s" "$AGENT_LOG" || fail "no log line for the TPM timeout"

step "tpm-key commands that need the TPM fail at once, saying why"
run_fail timeout 5 "$TPM_KEY" status
assert_contains "$ERR" "tpm: no answer in 3 s" "tpm-key status while the TPM hangs"

step "SIGTERM ends the agent within 2 s, the TPM still stopped"
kill -TERM "$AGENT1"
it_wait_gone "$AGENT1" 20 || fail "the agent still runs 2 s after SIGTERM"
wait "$AGENT1" 2>/dev/null
[ ! -e "$AGENT_SOCK" ] || fail "the agent left its socket behind"

step "after SIGCONT a fresh agent signs"
kill -CONT "$SWTPM_PID"
agent_start_fg --tpm-timeout=3
run_ok ssh-keygen -Y sign -f k1.pub -n test data
printf 'alice %s\n' "$(cat k1.pub)" >signers
run_ok ssh-keygen -Y verify -f signers -I alice -n test -s data.sig <data

echo "PASS: $IT_NAME"
