#!/bin/bash
# --proxy SOCKET: a real OpenSSH ssh-agent holding a key upstream. ssh-add -l through
# our socket lists our TPM key and then the upstream's; ssh logs in with the upstream
# key through our socket; a dead upstream leaves our keys listed and forwarded signs
# failing; a hung one costs at most proxy-timeout; proxying to ourselves is refused.
. "$(dirname "$0")/lib.sh"

UP_SOCK="$T/upstream.sock"
UP_PID=

n_ids() { ssh-add -l 2>/dev/null | grep -c SHA256: ; }
now_ms() { date +%s%3N; }

gen_key tpm1 ecdsa 256
FP_TPM=$FP

step "an OpenSSH ssh-agent upstream with a software key"
ssh-agent -a "$UP_SOCK" -s </dev/null >"$T/upstream.env" 2>&1 || fail "ssh-agent: $(cat "$T/upstream.env")"
UP_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/upstream.env")
[ -n "$UP_PID" ] || fail "no pid from ssh-agent: $(cat "$T/upstream.env")"
it_on_exit 'kill "$UP_PID" 2>/dev/null'
ssh-keygen -q -t ed25519 -N '' -C upstream@fido -f up </dev/null || fail "ssh-keygen"
mkdir -m 700 pubs && cp up.pub pubs/up.pub
SSH_AUTH_SOCK="$UP_SOCK" run_ok ssh-add up
FP_UP=$(fp_of up.pub)

step "our agent with --proxy lists both: ours first"
agent_stop
agent_start_fg --proxy "$UP_SOCK"
assert_eq 2 "$(n_ids)" "identities through our socket"
assert_eq "$FP_TPM" "$(agent_fps | head -1)" "our TPM key first"
assert_eq "$FP_UP" "$(agent_fps | tail -1)" "then the upstream's"
assert_contains "$(ssh-add -l)" "upstream@fido (ED25519)" "the upstream key's comment"
run_ok tk list
assert_not_contains "$OUT" "upstream@fido" "tpm-key list shows only what we hold"

step "login with the upstream key through our socket"
authorize_key "$(cat up.pub)"
start_sshd
ssh_login
[ "$RC" -eq 0 ] || fail "login with the upstream key failed: $ERR"
assert_eq ok "$OUT" "remote command output"
assert_match "$SSHD_NEWLOG" "Accepted publickey for $(id -un) from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $(re "$FP_UP")" \
	"sshd accepted the upstream key"
assert_contains "$(cat "$AGENT_LOG")" "forwarded to $UP_SOCK" "agent log of the forwarded request"

step "SSHSIG with the upstream key and with ours, through our socket"
echo data >file
printf 'alice %s\n' "$(cat up.pub)" >allowed_signers
run_ok ssh-keygen -Y sign -f pubs/up.pub -n file file
run_ok ssh-keygen -Y verify -f allowed_signers -I alice -n file -s file.sig <file
rm -f file.sig
run_ok ssh-keygen -Y sign -f tpm1.pub -n file file

step "a key in both agents is listed once"
ssh-keygen -q -t ecdsa -N '' -C both -f both </dev/null || fail "ssh-keygen"
SSH_AUTH_SOCK="$UP_SOCK" run_ok ssh-add both
run_ok ssh-add both
assert_eq 3 "$(n_ids)" "identities with a key held by both"
run_ok ssh-add -d both.pub
SSH_AUTH_SOCK="$UP_SOCK" run_ok ssh-add -d both.pub

step "the upstream dies: our key is still listed, forwarded signs fail"
kill "$UP_PID"
it_wait_gone "$UP_PID" 50 || fail "ssh-agent did not stop"
assert_eq 1 "$(n_ids)" "identities with a dead upstream"
assert_eq "$FP_TPM" "$(agent_fps)" "our key with a dead upstream"
assert_contains "$(cat "$AGENT_LOG")" "listing our own keys only" "agent log warning"
rm -f file.sig
run_fail ssh-keygen -Y sign -f pubs/up.pub -n file file
run_ok ssh-keygen -Y sign -f tpm1.pub -n file file

step "a hung upstream costs at most proxy-timeout, then is skipped for a while"
agent_stop
rm -f "$UP_SOCK"
# The agent first (agent_start_fg lists once to see it answer), then the upstream that
# accepts, reads, never answers.
agent_start_fg --proxy "$UP_SOCK" --proxy-timeout=2
socat -u UNIX-LISTEN:"$UP_SOCK",fork OPEN:/dev/null </dev/null >/dev/null 2>&1 &
HUNG_PID=$!
it_on_exit 'kill "$HUNG_PID" 2>/dev/null'
it_wait_socket "$UP_SOCK" 50 || fail "socat did not listen"
t0=$(now_ms)
assert_eq "$FP_TPM" "$(agent_fps)" "our key with a hung upstream"
t1=$(now_ms)
[ $((t1 - t0)) -ge 1500 ] && [ $((t1 - t0)) -lt 6000 ] ||
	fail "listing with a hung upstream took $((t1 - t0)) ms (proxy-timeout 2 s)"
assert_eq "$FP_TPM" "$(agent_fps)" "our key, upstream skipped"
t2=$(now_ms)
[ $((t2 - t1)) -lt 1500 ] || fail "the hung upstream was asked again: $((t2 - t1)) ms"
assert_contains "$(cat "$AGENT_LOG")" "no answer within 2 s" "agent log of the timeout"
kill "$HUNG_PID"; wait "$HUNG_PID" 2>/dev/null

step "proxying to our own socket is refused"
agent_stop
run_fail timeout 60 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/self.sock" --proxy "$T/self.sock"
assert_contains "$ERR" "own socket" "error for a proxy loop"
ln -s "$T/self.sock" "$T/self-link.sock"
run_fail timeout 60 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/self.sock" --proxy "$T/self-link.sock"
assert_contains "$ERR" "own socket" "error for a proxy loop through a symlink"

stop_sshd
echo "PASS: $IT_NAME"
