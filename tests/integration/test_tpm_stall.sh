#!/bin/bash
# test_tpm_stall: a TPM that stops answering (swtpm stopped with SIGSTOP) never freezes
# the agent: listing, tpm-key list and gpg KEYINFO answer at once, a signature fails
# after tpm-timeout, SIGTERM ends the agent quickly, and a fresh agent signs once the TPM
# is back. Also: one agent per data dir, one name taken once by concurrent gens, and
# the store repaired at start (a .pub without its .tss, a .tss without its .pub).
. "$(dirname "$0")/lib.sh"

GSOCK="$T/S.gpg-agent"
gca() { timeout 10 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
# ms: milliseconds since the epoch.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
agent_stop
: >"$AGENT_LOG"
agent_start_fg --tpm-timeout=3 --tpm-create-timeout=3 --gpg-socket "$GSOCK"
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
it_wait_log "TPM worker: request of pid" 100 || fail "the sign request never reached the TPM worker"

step "while it hangs: ssh-add -l, tpm-key list and gpg KEYINFO --list answer at once"
t0=$(ms)
run_ok timeout 3 ssh-add -l
t1=$(ms)
assert_contains "$OUT" "$FP" "ssh-add -l lists the key"
echo "    ssh-add -l answered in $((t1 - t0)) ms"
run_ok timeout 3 "$TPM_KEY" list
assert_contains "$OUT" "k1" "tpm-key list"
run_ok timeout 3 gpg-connect-agent --no-autostart -S "$GSOCK" 'KEYINFO --list' /bye
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
# The signature's worker came back at its deadline (the TPM layer's own); the next
# TPM command probes the TPM briefly and fails, naming the missed deadline.
t0=$(ms)
run_fail timeout 5 "$TPM_KEY" gen --no-pin -t ecdsa -b 256 -n stalled
assert_contains "$ERR" "tpm: no answer in 3 s" "tpm-key gen while the TPM hangs"
[ $(( $(ms) - t0 )) -le 3000 ] || fail "tpm-key gen took $(( $(ms) - t0 )) ms to fail"
[ ! -e "$TPM_AGENT_HOME/keys/stalled.tss" ] || fail "a key file appeared"
run_ok timeout 5 "$TPM_KEY" status
assert_contains "$OUT" "tpm: no answer in 3 s" "tpm-key status says the TPM does not answer"

step "SIGTERM ends the agent within 2 s, the TPM still stopped and a signature in flight"
started=$(grep -c "TPM worker: request of pid" "$AGENT_LOG")
( ssh-keygen -Y sign -f k1.pub -n test data >"$T/sign2.out" 2>&1; echo $? >"$T/sign2.rc" ) &
SIGNER=$!
it_wait_until 100 eval '[ "$(grep -c "TPM worker: request of pid" "$AGENT_LOG")" -gt "$started" ]' ||
	fail "the second sign request never reached the TPM worker"
kill -TERM "$AGENT1"
it_wait_gone "$AGENT1" 20 || fail "the agent still runs 2 s after SIGTERM"
wait "$AGENT1" 2>/dev/null
[ ! -e "$AGENT_SOCK" ] || fail "the agent left its socket behind"
it_wait_until 50 test -s "$T/sign2.rc" || fail "the signer in flight was left hanging"
wait "$SIGNER" 2>/dev/null
assert_ne 0 "$(cat "$T/sign2.rc")" "exit status of the signer in flight at SIGTERM"

step "after SIGCONT a fresh agent signs; it repairs what a crash left in the store"
kill -CONT "$SWTPM_PID"
KEYS="$TPM_AGENT_HOME/keys"
cp "$KEYS/k1.pub" "$KEYS/gone.pub"   # a .pub whose .tss never came
rm "$KEYS/dup.pub"                   # a .tss whose .pub never came
agent_start_fg --tpm-timeout=3
[ ! -e "$KEYS/gone.pub" ] || fail "the .pub without its .tss is still there"
[ -s "$KEYS/dup.pub" ] || fail "the missing dup.pub was not written again"
run_ok tk status
assert_contains "$OUT" "1 .pub without .tss removed, 1 missing .pub written" "status repairs"
run_ok ssh-keygen -Y sign -f k1.pub -n test data
printf 'alice %s\n' "$(cat k1.pub)" >signers
run_ok ssh-keygen -Y verify -f signers -I alice -n test -s data.sig <data

echo "PASS: $IT_NAME"
