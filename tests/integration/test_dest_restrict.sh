#!/bin/bash
# test_dest_restrict: ssh-add -h destination constraints hold over two ssh hops, as
# with OpenSSH's ssh-agent. Two private sshd (host A forwards the agent, host B) with
# their own host keys; the client reaches A with -A, and A reaches B through the
# forwarded agent. A key restricted to "A" and "A>B" logs in to A and hops on to B; a
# key restricted to "A" alone logs in to A, is hidden on A and cannot hop to B; the
# first key cannot go straight to B. The same for TPM keys with tpm-key load -h, whose
# restriction survives an agent restart and is lifted by a load without -h.
. "$(dirname "$0")/lib.sh"

agent_stop
agent_start_fg   # -d: refusals are logged
SSHD_EXTRA_CONFIG="AllowAgentForwarding yes" start_sshd
A_PORT=$SSHD_PORT

step "a second sshd, host B, with its own host key"
ssh-keygen -q -t ed25519 -N '' -C host-b -f "$T/host_b" </dev/null || fail "ssh-keygen host B"
B_PORT=$(port_guess) || fail "no free port for host B"
sed -e "s/^ListenAddress .*/ListenAddress 127.0.0.1:$B_PORT/" \
    -e "s|^HostKey .*|HostKey $T/host_b|" -e "s|^PidFile .*|PidFile $T/sshd_b.pid|" \
    "$SSHD_DIR/config" >"$T/sshd_b.config"
: >"$T/sshd_b.log"
/usr/sbin/sshd -D -f "$T/sshd_b.config" -E "$T/sshd_b.log" </dev/null >/dev/null 2>&1 &
B_PID=$!
it_on_exit "kill $B_PID 2>/dev/null"
n=0
until it_port_busy "$B_PORT"; do
	it_pid_alive "$B_PID" && [ $n -lt 100 ] || fail "sshd B did not start: $(tail -5 "$T/sshd_b.log")"
	sleep 0.1; n=$((n + 1))
done

# Host names are aliases: known_hosts says which key each one has.
printf 'hosta %s\nhostb %s\n' "$(cut -d' ' -f1,2 "$SSHD_DIR/host_ecdsa.pub")" \
	"$(cut -d' ' -f1,2 "$T/host_b.pub")" >kh
for k in hop only-a; do
	ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$k" </dev/null || fail "ssh-keygen $k"
	authorize_key "$(cat "$k.pub")"
done

# ssh_to ALIAS PORT CMD...: ssh with the agent, host keys checked against kh.
ssh_to() {
	local alias=$1 port=$2; shift 2
	timeout 60 ssh -F /dev/null -o UserKnownHostsFile="$PWD/kh" -o StrictHostKeyChecking=yes \
		-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias="$alias" -o BatchMode=yes \
		-o IdentitiesOnly=no -o IdentityFile="$T/no-such-identity" \
		-o PreferredAuthentications=publickey -o LogLevel=ERROR \
		-p "$port" "$(id -un)@127.0.0.1" "$@" </dev/null
}
# What A runs: the second hop, and the list A sees.
cat >hop.sh <<EOF
cd "$PWD" || exit 1
ssh-add -l >seen-on-a.out 2>&1
timeout 60 ssh -F /dev/null -o UserKnownHostsFile="$PWD/kh" -o StrictHostKeyChecking=yes \
	-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=hostb -o BatchMode=yes \
	-o IdentitiesOnly=no -o IdentityFile="$T/no-such-identity" \
	-o PreferredAuthentications=publickey -o LogLevel=ERROR \
	-p "$B_PORT" "$(id -un)@127.0.0.1" echo reached-b </dev/null >hop.out 2>&1
echo \$? >hop.rc
EOF

step "a key restricted to A and A>B: logs in to A, hops on to B, not straight to B"
run_ok ssh-add -H kh -h hosta -h "hosta>hostb" hop
ssh_to hosta "$A_PORT" echo reached-a >a.out 2>&1 || fail "login to A: $(cat a.out)"
assert_eq reached-a "$(cat a.out)" "login to A"
ssh_to hosta "$A_PORT" -A bash "$PWD/hop.sh" >a.out 2>&1 || fail "ssh -A to A: $(cat a.out)"
assert_eq 0 "$(cat hop.rc)" "hop A>B with the A>B key: $(cat hop.out)"
assert_eq reached-b "$(cat hop.out)" "hop A>B"
assert_contains "$(cat seen-on-a.out)" "hop (ED25519)" "keys listed on A"
if ssh_to hostb "$B_PORT" echo reached-b >b.out 2>&1; then
	fail "the A>B key logged in straight to B"
fi
assert_not_contains "$(cat b.out)" "reached-b" "direct login to B"

step "a key restricted to A alone: logs in to A, hidden on A, no hop to B"
run_ok ssh-add -D
run_ok ssh-add -H kh -h hosta only-a
ssh_to hosta "$A_PORT" echo reached-a >a.out 2>&1 || fail "login to A: $(cat a.out)"
ssh_to hosta "$A_PORT" -A bash "$PWD/hop.sh" >a.out 2>&1 || fail "ssh -A to A: $(cat a.out)"
[ "$(cat hop.rc)" != 0 ] || fail "the A-only key hopped on to B: $(cat hop.out)"
assert_not_contains "$(cat seen-on-a.out)" "only-a" "keys listed on A"

step "TPM keys: tpm-key load -h gives the same restriction, kept in keys/NAME.dest"
run_ok ssh-add -D
gen_key tpm-hop ecdsa 256
authorize_key "$PUB"
gen_key tpm-only ecdsa 256
authorize_key "$PUB"
run_ok ssh-add -d tpm-only.pub
run_ok tk load -H kh -h hosta -h "hosta>hostb" tpm-hop
assert_contains "$ERR" "restricted to destinations" "tpm-key load -h"
[ -f "$TPM_AGENT_HOME/keys/tpm-hop.dest" ] || fail "no keys/tpm-hop.dest"
ssh_to hosta "$A_PORT" -A bash "$PWD/hop.sh" >a.out 2>&1 || fail "ssh -A to A: $(cat a.out)"
assert_eq 0 "$(cat hop.rc)" "hop A>B with the TPM key: $(cat hop.out)"
assert_contains "$(cat seen-on-a.out)" "tpm-hop@it" "TPM keys listed on A"
if ssh_to hostb "$B_PORT" echo reached-b >b.out 2>&1; then
	fail "the TPM A>B key logged in straight to B"
fi

step "the TPM key's restriction outlives an agent restart"
agent_stop
agent_start_fg
run_ok ssh-add -d tpm-only.pub
if ssh_to hostb "$B_PORT" echo reached-b >b.out 2>&1; then
	fail "after a restart the TPM A>B key logged in straight to B"
fi
ssh_to hosta "$A_PORT" echo reached-a >a.out 2>&1 || fail "login to A after a restart: $(cat a.out)"

step "a TPM key restricted to A alone: no hop; load without -h lifts it"
run_ok ssh-add -d tpm-hop.pub
run_ok tk load -H kh -h hosta tpm-only
ssh_to hosta "$A_PORT" -A bash "$PWD/hop.sh" >a.out 2>&1 || fail "ssh -A to A: $(cat a.out)"
[ "$(cat hop.rc)" != 0 ] || fail "the A-only TPM key hopped on to B: $(cat hop.out)"
assert_not_contains "$(cat seen-on-a.out)" "tpm-only@it" "TPM keys listed on A"
run_ok tk load tpm-only
[ ! -e "$TPM_AGENT_HOME/keys/tpm-only.dest" ] || fail "keys/tpm-only.dest left after a load without -h"
ssh_to hostb "$B_PORT" echo reached-b >b.out 2>&1 || fail "unrestricted TPM key to B: $(cat b.out)"
run_fail tk load -H kh -h nosuchhost tpm-only
assert_contains "$ERR" "no host keys for 'nosuchhost'" "tpm-key load -h with an unknown host"
