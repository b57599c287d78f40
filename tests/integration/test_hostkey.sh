#!/bin/bash
# Host keys in the TPM: tpm-key gen --host makes a key for sshd, which the user's agent
# does not offer; tpm-agent --host offers only host keys; a private sshd with
# "HostKey KEY.pub" + "HostKeyAgent SOCKET" proves that key to a client checking
# known_hosts strictly, and a client expecting another host key refuses to log in.
. "$(dirname "$0")/lib.sh"

user=$(id -un)

# host_login KNOWN_HOSTS: ssh with strict host key checking and a plain file key for
# the user (no agent), so only the host key comes from the TPM. Sets RC, OUT, ERR.
host_login() {
	RC=0
	SSH_AUTH_SOCK= timeout 60 ssh -F /dev/null \
		-o UserKnownHostsFile="$1" -o StrictHostKeyChecking=yes \
		-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no \
		-o HostKeyAlgorithms=ecdsa-sha2-nistp256 \
		-o IdentitiesOnly=yes -o IdentityFile="$T/work/client" -o IdentityAgent=none \
		-o BatchMode=yes -o PreferredAuthentications=publickey \
		-o ConnectTimeout=20 -o LogLevel=ERROR \
		-p "$SSHD_PORT" "$user@127.0.0.1" echo ok </dev/null >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
}

step "tpm-key gen --host: a host key in the store, not offered by the user's agent"
gen_key user1 ecdsa 256
FP_USER=$FP
run_ok tk gen --host -t ecdsa -b 256 -n sshd-host -C host@it
HOSTPUB=$(printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ')
[ -n "$HOSTPUB" ] || fail "tpm-key gen --host printed no public key: $OUT"
printf '%s\n' "$HOSTPUB" >host.pub
FP_HOST=$(fp_of host.pub)
[ -f "$TPM_AGENT_HOME/keys/sshd-host.tss" ] || fail "no sshd-host.tss in the store"
[ -f "$TPM_AGENT_HOME/keys/sshd-host.host" ] || fail "no host-key marker"
assert_eq "$(key_body "$HOSTPUB")" "$(key_body "$(cat "$TPM_AGENT_HOME/keys/sshd-host.pub")")" \
	"the .pub sshd reads"
assert_eq "$FP_USER" "$(agent_fps)" "the user's agent offers the user key only"
run_ok tk list
assert_match "$OUT" "^sshd-host .*\[host key: tpm-agent --host\]" "tpm-key list marks the host key"
assert_not_contains "$(printf '%s\n' "$OUT" | grep '^user1 ')" "host key" "the user key's line"
run_ok tk load sshd-host
assert_eq "$FP_USER" "$(agent_fps)" "tpm-key load does not make a user agent offer a host key"

step "tpm-agent --host offers only the host key, takes no software key"
agent_stop
agent_start_fg --host
assert_eq "$FP_HOST" "$(agent_fps)" "the host-key agent's identities"
ssh-keygen -q -t ed25519 -N '' -C client@it -f client </dev/null || fail "ssh-keygen client"
run_fail ssh-add client
assert_eq "$FP_HOST" "$(agent_fps)" "identities after a refused ssh-add"

step "sshd with its host key in the TPM (HostKey .pub + HostKeyAgent)"
authorize_key "$(cat client.pub)"
SSHD_HOSTKEY_CONFIG="HostKey $TPM_AGENT_HOME/keys/sshd-host.pub
HostKeyAgent $AGENT_SOCK"
start_sshd
# (sshd logs "Unable to load host key ...pub" for its try at a private key there; the
# public key and the agent then serve.)
assert_not_contains "$(cat "$SSHD_DIR/log")" "no hostkeys available" "sshd start-up"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(key_body "$HOSTPUB")" >known_hosts_tpm
host_login known_hosts_tpm
[ "$RC" -eq 0 ] || fail "login checking the TPM host key failed (ssh exit $RC): $ERR"
assert_eq ok "$OUT" "remote command output"
assert_contains "$(cat "$AGENT_LOG")" "signed with key 'sshd-host'" "the agent signed for sshd"

step "a client that knows another host key refuses the server"
ssh-keygen -q -t ecdsa -b 256 -N '' -f other </dev/null || fail "ssh-keygen other"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(key_body "$(cat other.pub)")" >known_hosts_other
host_login known_hosts_other
[ "$RC" -ne 0 ] || fail "login succeeded although known_hosts holds another host key"
assert_contains "$ERR" "HOST IDENTIFICATION HAS CHANGED" "ssh's complaint"
: >known_hosts_none
host_login known_hosts_none
[ "$RC" -ne 0 ] || fail "login succeeded with an empty known_hosts and strict checking"

step "tpm-key rm drops the marker: a new key of that name is no host key"
stop_sshd
agent_stop
agent_start
run_ok tk rm -f sshd-host
[ ! -e "$TPM_AGENT_HOME/keys/sshd-host.host" ] || fail "the marker outlived the key"
gen_key sshd-host ecdsa 256
assert_contains "$(agent_fps)" "$FP" "a plain key of the old name is offered"

echo "PASS: $IT_NAME"
