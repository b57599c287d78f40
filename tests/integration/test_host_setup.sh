#!/bin/bash
# tpm-key setup --host under a DESTDIR-style root: --dry-run changes nothing; a run
# writes the system units, host.conf, the root-only data dir, the host keys' public
# files and an sshd_config.d drop-in, checked with sshd -t (a failing check removes the
# drop-in again). The host agent started as the unit says (its ExecStart, Environment
# and ListenStream) serves the owner hierarchy key, and a private sshd that includes the
# drop-in proves that host key to a client checking known_hosts strictly.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: sshd host keys need root"; exit 0; }
R="$T/root"
mkdir -p "$R/etc/ssh" /run/sshd
printf 'Include %s/etc/ssh/sshd_config.d/*.conf\nListenAddress 127.0.0.1:22\nUsePAM no\n' "$R" \
	>"$R/etc/ssh/sshd_config"

step "--dry-run prints the actions and changes nothing"
run_ok tk setup --host --root "$R" --dry-run
for a in "would write $R/etc/systemd/system/tpm-agent-host.socket" \
	"would write $R/etc/systemd/system/tpm-agent-host.service" \
	"would write $R/etc/tpm-agent/host.conf" "would create $R/var/lib/tpm-agent" \
	"would fetch the host keys from the agent at $R/run/tpm-agent-host/agent.sock" \
	"would write $R/etc/ssh/sshd_config.d/tpm-agent-host.conf" "-t -f $R/etc/ssh/sshd_config"; do
	assert_contains "$OUT" "$a" "dry run"
done
assert_eq "$R/etc/ssh/sshd_config" "$(find "$R" -type f)" "--dry-run wrote nothing"

step "without a host agent: units, settings and data dir written, then a clear stop"
run_fail tk setup --host --root "$R"
assert_contains "$ERR" "tpm-agent-host.socket running" "names the missing agent"
SVC="$R/etc/systemd/system/tpm-agent-host.service"
SOCKU="$R/etc/systemd/system/tpm-agent-host.socket"
assert_contains "$(cat "$SOCKU")" "ListenStream=$R/run/tpm-agent-host/agent.sock" "socket unit"
assert_contains "$(cat "$SVC")" "ExecStart=$(dirname "$TPM_KEY")/tpm-agent -D --host --config $R/etc/tpm-agent/host.conf" "service unit"
assert_contains "$(cat "$R/etc/tpm-agent/host.conf")" "hierarchy-keys = owner:ecdsa256" "host.conf"
assert_mode "$R/var/lib/tpm-agent" 700
[ ! -e "$R/etc/ssh/sshd_config.d/tpm-agent-host.conf" ] || fail "drop-in written without host keys"
out=$(systemd-analyze verify --man=no "$SOCKU" "$SVC" 2>&1 | grep -v -e 'tpmrm0' -e '^$' || true)
[ -z "$out" ] || fail "systemd-analyze verify: $out"

step "the host agent, started as the units say"
EXEC=$(sed -n 's/^ExecStart=//p' "$SVC")
ENVV=$(sed -n 's/^Environment=//p' "$SVC")
LISTEN=$(sed -n 's/^ListenStream=//p' "$SOCKU")
mkdir -p -m 700 "$(dirname "$LISTEN")"
# shellcheck disable=SC2086
env $ENVV $EXEC -d --tcti "$SWTPM_TCTI" -a "$LISTEN" </dev/null >"$T/host-agent.out" 2>>"$AGENT_LOG" &
SSH_AGENT_PID=$!
export SSH_AGENT_PID
it_wait_socket "$LISTEN" 150 || fail "host agent did not listen: $(tail -5 "$AGENT_LOG")"
OWNER=$(TPM_AGENT_SOCK="$LISTEN" tk gen --hierarchy owner 2>/dev/null | cut -d' ' -f1,2)
[ -n "$OWNER" ] || fail "no owner hierarchy key from the host agent"

step "a failing sshd -t removes the drop-in"
run_fail tk setup --host --root "$R" --sshd /bin/false
assert_contains "$ERR" "removed again" "the failed check is reported"
[ ! -e "$R/etc/ssh/sshd_config.d/tpm-agent-host.conf" ] || fail "the drop-in stayed"

step "setup --host completes: host key files, drop-in, sshd -t"
run_ok tk setup --host --root "$R"
assert_contains "$OUT" "keeping $R/etc/tpm-agent/host.conf" "a second run keeps host.conf"
PUBF="$R/var/lib/tpm-agent/hostkeys/owner-ecdsa256.pub"
assert_eq "$OWNER" "$(cut -d' ' -f1,2 "$PUBF")" "the host key file holds the owner key"
DROPIN=$(cat "$R/etc/ssh/sshd_config.d/tpm-agent-host.conf")
assert_contains "$DROPIN" "HostKeyAgent $LISTEN" "drop-in HostKeyAgent"
assert_contains "$DROPIN" "HostKey $PUBF" "drop-in HostKey"

step "a private sshd including the drop-in proves the TPM host key"
ssh-keygen -q -t ed25519 -N '' -f client </dev/null || fail "ssh-keygen client"
authorize_key "$(cat client.pub)"
SSHD_HOSTKEY_CONFIG="Include $R/etc/ssh/sshd_config.d/*.conf"
start_sshd
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$OWNER" >known_hosts
ssh_host_login known_hosts client
[ "$RC" -eq 0 ] || fail "login checking the TPM host key failed: $ERR"
assert_contains "$(cat "$AGENT_LOG")" "signed with key 'owner-ecdsa256'" "the host agent signed"
echo ok
