#!/bin/bash
# OpenSSH certificates kept in TPM NV RAM: a CA-only sshd accepts the certificate the
# agent reads from NV; slots fill up with a clear error; auto mode overflows to a
# file; cert rm frees the index (tpm2_getcap agrees); certificates survive an agent
# restart and a swtpm restart.
. "$(dirname "$0")/lib.sh"

USER_NAME=$(id -un)
CERTS="$TPM_AGENT_HOME/certs"
ssh-keygen -q -t ecdsa -b 256 -N '' -C it-ca -f ca </dev/null || fail "ssh-keygen ca"
SSHD_EXTRA_CONFIG="TrustedUserCAKeys $PWD/ca.pub"
start_sshd DEBUG2

# certify NAME [SERIAL] [EXTRA ssh-keygen ARGS]: NAME-cert.pub for the current user.
certify() {
	local name=$1 serial=${2:-1}
	shift 2 2>/dev/null || shift $#
	rm -f "$name-cert.pub"
	ssh-keygen -q -s ca -I "id-$name" -n "$USER_NAME" -V -5m:+1h -z "$serial" "$@" "$name.pub" \
		</dev/null >/dev/null 2>&1 || fail "ssh-keygen -s for $name"
}

nv_indices() { TPM2TOOLS_TCTI="$SWTPM_TCTI" tpm2_getcap handles-nv-index 2>/dev/null | grep -oi '0x0*18[0-9a-f]*' | sort; }

# restart_agent [ARGS]: the agent stopped and started again (same data dir).
restart_agent() { agent_stop; agent_start "$@"; }

agent_stop
agent_start --max-nv-certs=2
for n in 1 2 3; do gen_key "nv$n" ecdsa 256 "alice@nv$n"; certify "nv$n" "$((10 + n))"; done

step "cert add --nv stores the certificate in an NV index; a CA-only sshd accepts it"
run_ok tk cert add nv1 nv1-cert.pub --nv
assert_contains "$ERR" "NV index 0x018" "cert add reports the NV index"
[ -e "$CERTS/nv1-cert.pub" ] && fail "an NV certificate was also written as a file"
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 nv1-cert.pub)" "ssh-add -L lists the NV certificate"
ssh_login
[ "$RC" -eq 0 ] || fail "login with the NV certificate failed: $ERR"
assert_contains "$SSHD_NEWLOG" 'ID "id-nv1"' "sshd accepted the NV certificate"
run_ok tk cert list
assert_match "$OUT" "nv1 .*nv:0x018" "cert list shows where it is stored"
run_ok tk status
assert_contains "$OUT" "1 of 2 used" "status counts the NV slot"

step "the slots fill up: a clear error, and --auto overflows to a file"
run_ok tk cert add nv2 nv2-cert.pub --nv
run_fail tk cert add nv3 nv3-cert.pub --nv
assert_contains "$ERR" "all 2 NV certificate slots are used (max-nv-certs = 2)" "slots full"
run_ok tk cert add nv3 nv3-cert.pub --auto
assert_contains "$ERR" "stored as a file" "auto mode reports the overflow"
[ -s "$CERTS/nv3-cert.pub" ] || fail "auto mode did not write the file"

step "certificates in NV survive an agent restart and a swtpm restart"
agent_stop
BEFORE=$(nv_indices)
[ "$(printf '%s\n' "$BEFORE" | grep -ci 0x)" -eq 2 ] || fail "expected 2 NV indices, got: $BEFORE"
kill "$SWTPM_PID"
it_wait_gone "$SWTPM_PID" 50 || fail "swtpm did not stop"
swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR" \
	--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
	--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
	--flags not-need-init,startup-clear --pid file="$SWTPM_DIR/pid" --daemon ||
	fail "swtpm did not restart"
SWTPM_PID=$(cat "$SWTPM_DIR/pid")
agent_start --max-nv-certs=2
L=$(ssh-add -L)
assert_contains "$L" "$(cut -d' ' -f2 nv1-cert.pub)" "nv1 after restarts"
assert_contains "$L" "$(cut -d' ' -f2 nv2-cert.pub)" "nv2 after restarts"
assert_contains "$L" "$(cut -d' ' -f2 nv3-cert.pub)" "nv3 (file) after restarts"

step "cert add again replaces the NV certificate; cert rm frees the index"
certify nv1 21
run_ok tk cert add nv1 nv1-cert.pub --nv
run_ok tk cert show nv1
assert_contains "$OUT" "Serial: 21" "renewed NV certificate"
run_ok tk cert rm nv1
run_ok tk cert rm nv2
assert_not_contains "$(ssh-add -L)" "$(cut -d' ' -f2 nv1-cert.pub)" "removed NV certificate offered"
agent_stop
assert_eq "" "$(nv_indices)" "NV indices left after cert rm (tpm2_getcap handles-nv-index)"

step "a certificate larger than the TPM's NV index limit is refused, nothing defined"
agent_start
principals=$(for i in $(seq 1 30); do printf 'principal-%03d-%s,' "$i" "$(head -c 80 /dev/zero | tr '\0' x)"; done)
rm -f nv3-cert.pub
ssh-keygen -q -s ca -I "id-big" -n "$USER_NAME,${principals%,}" -V -5m:+1h nv3.pub </dev/null >/dev/null 2>&1 ||
	fail "ssh-keygen big certificate"
run_fail tk cert add nv3 nv3-cert.pub --nv
assert_contains "$ERR" "TPM2_PT_NV_INDEX_MAX" "the message names the limit"
agent_stop
assert_eq "" "$(nv_indices)" "NV indices after the refused certificate"
