#!/bin/bash
# test_socket_activation: tpm-agent started the way systemd starts it from
# tpm-agent.socket / tpm-agent-gpg.socket: listening sockets inherited as fds 3, 4
# with LISTEN_FDS, LISTEN_PID (our own pid: exec'd in the same process) and
# LISTEN_FDNAMES=ssh:gpg. systemd-socket-activate (from the systemd package) binds the
# sockets, waits for the first connection and execs the agent, as systemd does.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate missing (apt-get install systemd)"

SSOCK="$XDG_RUNTIME_DIR/tpm-agent/agent.sock"     # %t/tpm-agent/agent.sock
GSOCK="$XDG_RUNTIME_DIR/gnupg/S.gpg-agent"         # %t/gnupg/S.gpg-agent
mkdir -m 700 -p "$XDG_RUNTIME_DIR/tpm-agent" "$XDG_RUNTIME_DIR/gnupg"
# systemd-socket-activate passes only a few variables on (PATH, HOME, ...): -E the rest.
SA_ENV=(-E TPM_AGENT_HOME -E XDG_RUNTIME_DIR -E XDG_CONFIG_HOME -E XDG_DATA_HOME
	-E XDG_CACHE_HOME -E GNUPGHOME -E LC_ALL)
SA_PID=
sa_stop() {
	[ -n "$SA_PID" ] || return 0
	kill "$SA_PID" 2>/dev/null
	it_wait_gone "$SA_PID" 100 || kill -9 "$SA_PID" 2>/dev/null
	wait "$SA_PID" 2>/dev/null
	SA_PID=
}
it_on_exit sa_stop

step "systemd-socket-activate binds both sockets; the agent starts at the first connection"
( umask 077; exec systemd-socket-activate -l "$SSOCK" -l "$GSOCK" --fdname=ssh:gpg "${SA_ENV[@]}" \
	"$TPM_AGENT" -D -d --tcti "$SWTPM_TCTI" </dev/null >"$T/sa.out" 2>>"$AGENT_LOG" ) &
SA_PID=$!
it_wait_socket "$SSOCK" 100 || fail "systemd-socket-activate did not bind $SSOCK: $(tail -5 "$AGENT_LOG")"
it_wait_socket "$GSOCK" 100 || fail "systemd-socket-activate did not bind $GSOCK"
export SSH_AUTH_SOCK="$SSOCK"
RC=0; out=$(timeout 60 ssh-add -l 2>&1) || RC=$?
assert_eq 1 "$RC" "ssh-add -l through the inherited socket, no keys yet ($out)"
assert_contains "$out" "no identities" "ssh-add -l with no keys"
assert_contains "$(cat "$AGENT_LOG")" "Execing" "systemd-socket-activate exec'd the agent"
assert_contains "$(cat "$AGENT_LOG")" "on $SSOCK" "the agent serves the inherited socket (log)"
assert_contains "$(cat "$AGENT_LOG")" "gpg-agent protocol on $GSOCK (socket from systemd)" \
	"the inherited gpg socket turns gpg on (log)"

step "the agent is the process systemd-socket-activate became (LISTEN_PID matched)"
assert_eq "$(readlink "/proc/$SA_PID/exe")" "$(readlink -f "$TPM_AGENT")" "exe of $SA_PID"
flags=$(awk '/^flags:/ {print $2}' "/proc/$SA_PID/fdinfo/3")
(( (8#$flags & 8#2000000) != 0 )) || fail "inherited fd 3 lacks O_CLOEXEC (flags $flags)"

step "tpm-key gen, ssh-add -l and an SSH signature through the inherited socket"
gen_key sa ecdsa 256 sa@activation
run_ok ssh-add -l
assert_contains "$OUT" "$FP sa@activation (ECDSA)" "ssh-add -l"
printf 'signed through socket activation\n' >msg
run_ok timeout 60 ssh-keygen -Y sign -f sa.pub -n file msg
[ -s msg.sig ] || fail "no msg.sig"
printf 'sa@activation %s\n' "$(key_body "$PUB")" >allowed
run_ok ssh-keygen -Y verify -f allowed -I sa@activation -n file -s msg.sig <msg
run_ok tk status
assert_contains "$OUT" "$SSOCK" "tpm-key status names the inherited socket"

step "gpg protocol on the inherited gpg socket"
GRIP=$(tk list | awk '$1 == "sa" {print $4}')
[ -n "$GRIP" ] || fail "no keygrip for sa in tpm-key list"
gca() { timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
run_ok gca 'GETINFO socket_name' "HAVEKEY $GRIP"
assert_contains "$OUT" "D $GSOCK" "GETINFO socket_name"
assert_eq 2 "$(printf '%s\n' "$OUT" | grep -c '^OK$')" "GETINFO and HAVEKEY of a TPM key answer OK ($OUT)"
run_ok gca "HAVEKEY $(printf '%040d' 0)"
assert_contains "$OUT" "ERR" "HAVEKEY of an unknown keygrip"

step "on SIGTERM the agent exits and leaves systemd's sockets in place"
pid=$SA_PID
kill "$pid"
it_wait_gone "$pid" 100 || fail "the agent did not exit on SIGTERM"
wait "$pid" 2>/dev/null
SA_PID=
[ -S "$SSOCK" ] || fail "the agent removed the inherited ssh socket $SSOCK"
[ -S "$GSOCK" ] || fail "the agent removed the inherited gpg socket $GSOCK"
rm -f "$SSOCK" "$GSOCK"

step "only the ssh socket passed, unnamed: fd 3 is ssh; gpg stays off"
( umask 077; exec systemd-socket-activate -l "$SSOCK" "${SA_ENV[@]}" \
	"$TPM_AGENT" -D -d --tcti "$SWTPM_TCTI" </dev/null >"$T/sa.out" 2>>"$AGENT_LOG" ) &
SA_PID=$!
it_wait_socket "$SSOCK" 100 || fail "systemd-socket-activate did not bind $SSOCK"
run_ok timeout 60 ssh-add -l
assert_contains "$OUT" "$FP sa@activation" "ssh-add -l (unnamed fd)"
[ ! -e "$GSOCK" ] || fail "gpg socket appeared without --gpg"
sa_stop
rm -f "$SSOCK"

step "LISTEN_PID of another process: the variables are ignored and the agent binds -a"
RC=0
( export LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=ssh
  exec "$TPM_AGENT" -D -d --tcti "$SWTPM_TCTI" -a "$T/own.sock" </dev/null \
	>/dev/null 2>>"$AGENT_LOG" ) &
OWN=$!
it_wait_socket "$T/own.sock" 150 || fail "the agent did not bind its own socket"
SSH_AUTH_SOCK="$T/own.sock" run_ok timeout 60 ssh-add -l
assert_contains "$OUT" "$FP" "ssh-add -l on the agent's own socket"
kill "$OWN"; it_wait_gone "$OWN" 100 || fail "agent did not stop"
wait "$OWN" 2>/dev/null
[ ! -e "$T/own.sock" ] || fail "the agent left its own socket behind"

step "an inherited fd that is no listening unix socket is refused with a message"
: >"$T/plain-file"
run_fail timeout 30 bash -c 'export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=ssh; exec 3<"$1"; shift; exec "$@"' \
	_ "$T/plain-file" "$TPM_AGENT" -D --tcti "$SWTPM_TCTI"
assert_contains "$ERR" "socket activation: fd 3 is not a unix socket" "refusal of a plain file"
run_fail timeout 30 bash -c 'export LISTEN_PID=$$ LISTEN_FDS=x; exec "$@"' _ "$TPM_AGENT" -D --tcti "$SWTPM_TCTI"
assert_contains "$ERR" "LISTEN_FDS is not a number" "refusal of a bad LISTEN_FDS"

echo "PASS: $IT_NAME"
