#!/bin/bash
# test_session_bind: session-bind@openssh.com as OpenSSH's ssh-agent checks it. Real
# binds are recorded from ssh logins through a relay (tests/lib/agent_client.py
# record), then replayed by hand: a genuine bind is accepted once per connection; a
# replay of the same session id, a bind after one for authentication and a bind whose
# host-key signature is forged get FAILURE; a connection that sent a bind may list and
# sign but runs no mutating control command.
. "$(dirname "$0")/lib.sh"

AC="$IT_REPO/tests/lib/agent_client.py"
agent_stop
agent_start_fg   # -d: the log says why a bind was refused
gen_key sb-key ecdsa 256
authorize_key "$PUB"
start_sshd

step "record the binds of two real ssh logins"
mkdir binds
python3 "$AC" record "$T/rec.sock" "$SSH_AUTH_SOCK" binds >rec.out 2>rec.err &
REC_PID=$!
it_on_exit "kill $REC_PID 2>/dev/null"
n=0
until grep -q ready rec.out; do
	[ $n -lt 100 ] || fail "recorder did not start: $(cat rec.err)"
	sleep 0.1; n=$((n + 1))
done
for i in 1 2; do
	ssh_login -o IdentityAgent="$T/rec.sock"
	[ "$RC" -eq 0 ] || fail "ssh login $i through the recorder failed: $ERR"
done
[ -s binds/bind-1.bin ] && [ -s binds/bind-2.bin ] || fail "ssh sent no session-bind: $(ls binds)"
assert_contains "$(tail -50 "$AGENT_LOG")" "bound to a session" "the agent's log of the logins"

send() { python3 "$AC" send "$SSH_AUTH_SOCK" "$@"; }

step "a genuine bind is accepted; the same session id again is a replay"
assert_eq "6" "$(send binds/bind-1.bin)" "genuine bind"
python3 "$AC" setfwd binds/bind-1.bin fwd-1.bin 1
python3 "$AC" setfwd binds/bind-2.bin fwd-2.bin 1
assert_eq "6 5" "$(send fwd-1.bin fwd-1.bin)" "replayed forwarding bind"
assert_contains "$(tail -5 "$AGENT_LOG")" "already bound (a replay)"

step "no bind after one for authentication; hops after forwarding ones are kept"
assert_eq "6 5" "$(send binds/bind-1.bin binds/bind-2.bin)" "bind after an authentication bind"
assert_contains "$(tail -5 "$AGENT_LOG")" "already bound for authentication"
assert_eq "6 6" "$(send fwd-1.bin binds/bind-2.bin)" "a forwarding hop, then a login"

step "a forged host-key signature gets FAILURE"
python3 "$AC" forge binds/bind-1.bin forged.bin
assert_eq "5" "$(send forged.bin)" "forged bind"
assert_contains "$(tail -5 "$AGENT_LOG")" "signature does not verify"
python3 "$AC" forge fwd-1.bin forged-fwd.bin
assert_eq "5 6" "$(send forged-fwd.bin fwd-1.bin)" "a forged bind is not recorded; a genuine one after it is"

step "a bound connection lists and signs, and runs no mutating control command"
printf '\x1b\x00\x00\x00\x0crm@tpm-agent\x00\x00\x00\x06sb-key' >rm.msg
printf '\x1b\x00\x00\x00\x0elist@tpm-agent' >list.msg
printf '\x0b' >ids.msg
assert_eq "6 28 6 12" "$(send fwd-1.bin rm.msg list.msg ids.msg)" "bound connection: rm, list, identities"
assert_eq "5 28" "$(send forged.bin rm.msg)" "a connection whose bind failed: rm"
[ -f "$TPM_AGENT_HOME/keys/sb-key.tss" ] || fail "rm over a bound connection deleted the key"
assert_contains "$(tail -5 "$AGENT_LOG")" "refused over a forwarded agent connection"

step "Ed25519 and RSA host keys: genuine binds verify, forged ones do not"
for kt in ed25519 rsa; do
	ssh-keygen -q -t $kt -N '' -f "$T/host_$kt" </dev/null || fail "ssh-keygen -t $kt"
	stop_sshd
	SSHD_HOSTKEY_CONFIG="HostKey $T/host_$kt" start_sshd
	rm -f binds/bind-*.bin "$T/known_hosts"
	ssh_login -o IdentityAgent="$T/rec.sock"
	[ "$RC" -eq 0 ] || fail "ssh login to the $kt host key failed: $ERR"
	b=$(ls binds/bind-*.bin 2>/dev/null | head -1)   # the recorder numbers on
	[ -s "$b" ] || fail "no bind recorded for the $kt host key"
	assert_eq "6" "$(send "$b")" "genuine bind with an $kt host key"
	python3 "$AC" forge "$b" forged-$kt.bin
	assert_eq "5" "$(send forged-$kt.bin)" "forged bind with an $kt host key"
done
