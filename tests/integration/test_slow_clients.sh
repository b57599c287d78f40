#!/bin/bash
# test_slow_clients: clients that hold connections without finishing a request
# (slowloris) cannot lock others out of either socket: client-idle-timeout counts from
# the last complete request, not from every byte; at the cap of 128 the client idle the
# longest makes room (ssh); the gpg socket has the same cap and timeout.
. "$(dirname "$0")/lib.sh"

GSOCK="$T/S.gpg-agent"

ms() { echo $(( $(date +%s%N) / 1000000 )); }

agent_stop
: >"$AGENT_LOG"
agent_start_fg --client-idle-timeout=3 --gpg-socket "$GSOCK"
gen_key k1 ecdsa 256

step "slowloris: 128 ssh clients each dribble a byte every 0.5 s"
holders_start ssh "$SSH_AUTH_SOCK" 128 0.5

step "ssh-add -l still answers within 5 s"
t0=$(ms); n=0
until timeout 5 ssh-add -l >"$T/l.out" 2>&1 && grep -qF "$FP" "$T/l.out"; do
	[ $n -ge 50 ] && fail "ssh-add -l got no answer in 5 s: $(cat "$T/l.out")"
	sleep 0.1; n=$((n + 1))
done
echo "    ssh-add -l answered after $(( $(ms) - t0 )) ms with 128 slow clients connected"
grep -q "to make room" "$AGENT_LOG" || fail "no log line for the client that made room"

step "the dribbling clients are closed after client-idle-timeout, bytes notwithstanding"
it_wait_line "$HOLD_OUT" "all closed" 100 || fail "slow clients still connected 10 s on: $(tail -1 "$HOLD_OUT")"
grep -q "idle for 3 s" "$AGENT_LOG" || fail "no idle log line"
holders_stop
run_ok timeout 5 ssh-add -l

step "gpg socket: 128 slow clients take every place; the next is refused with a log line"
# A longer idle timeout here: all 128 must still be connected when the next one comes,
# however slowly a busy machine opens them.
agent_stop
agent_start_fg --client-idle-timeout=10 --gpg-socket "$GSOCK"
holders_start gpg "$GSOCK" 128 0.5
timeout 5 gpg-connect-agent --no-autostart -S "$GSOCK" 'KEYINFO --list' /bye >"$T/g.out" 2>&1
it_wait_log "gpg: refusing connection from pid [0-9]*: too many connections" 50 ||
	fail "no log line for the gpg connection cap"
assert_not_contains "$(cat "$T/g.out")" "S KEYINFO" "answer past the cap"

step "gpg: the slow clients are closed after client-idle-timeout, then gpg is served"
t0=$(ms); n=0
until timeout 5 gpg-connect-agent --no-autostart -S "$GSOCK" 'KEYINFO --list' /bye >"$T/g.out" 2>&1 &&
	grep -q "S KEYINFO" "$T/g.out"; do
	[ $n -ge 150 ] && fail "gpg got no answer 15 s after the slow clients came: $(cat "$T/g.out")"
	sleep 0.1; n=$((n + 1))
done
echo "    gpg answered after $(( $(ms) - t0 )) ms"
it_wait_line "$HOLD_OUT" "all closed" 100 || fail "slow gpg clients still connected: $(tail -1 "$HOLD_OUT")"
grep -q "gpg: client pid [0-9]* idle for 10 s" "$AGENT_LOG" || fail "no gpg idle log line"
holders_stop

echo "PASS: $IT_NAME"
