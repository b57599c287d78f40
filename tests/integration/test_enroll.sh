#!/bin/bash
# test_enroll: the enrolment CA over plain ssh (issue 19). Two swtpm: the CA host's,
# whose own tpm-agent holds the CA key, and the user's, provisioned with an EK
# certificate by a private local CA. A private sshd runs `tpm-key ca` as ForceCommand;
# `tpm-key enroll` gets a certificate over one ssh connection (nonce, TPM2_Certify,
# MakeCredential/ActivateCredential), and a second sshd trusting the CA (TrustedUserCAKeys)
# accepts a login with it. Refusals: a replayed transcript, another TPM's EK, an
# imported key where policy demands fixedTPM, a CA answer for another key.
IT_NO_TPM=1
. "$(dirname "$0")/lib.sh"

USER_NAME=$(id -un)

step "the CA host: its own swtpm and tpm-agent holding the CA key"
CA_HOME="$T/cahost"
mkdir -p -m 700 "$CA_HOME/data" "$CA_HOME/run" "$CA_HOME/gnupg" "$CA_HOME/home"
swtpm_start || fail "swtpm for the CA host"
CA_SWTPM_PID=$SWTPM_PID CA_SWTPM_DIR=$SWTPM_DIR CA_TCTI=$SWTPM_TCTI
SWTPM_PID= SWTPM_DIR=
ca_env() { env HOME="$CA_HOME/home" TPM_AGENT_HOME="$CA_HOME/data" GNUPGHOME="$CA_HOME/gnupg" \
	XDG_RUNTIME_DIR="$CA_HOME/run" SSH_AUTH_SOCK="$CA_HOME/agent.sock" "$@"; }
ca_env timeout 60 "$TPM_AGENT" --tcti "$CA_TCTI" -a "$CA_HOME/agent.sock" -s </dev/null \
	>"$CA_HOME/agent.env" 2>>"$CA_HOME/agent.log" || fail "CA agent: $(tail -3 "$CA_HOME/agent.log")"
CA_AGENT_PID=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\).*/\1/p' "$CA_HOME/agent.env")
[ -n "$CA_AGENT_PID" ] || fail "CA agent printed no pid"
it_on_exit "ca_env timeout 30 $TPM_AGENT -k; it_wait_gone $CA_AGENT_PID 100; kill $CA_SWTPM_PID; it_wait_gone $CA_SWTPM_PID 50; rm -rf $CA_SWTPM_DIR"
it_wait_socket "$CA_HOME/agent.sock" 100 || fail "CA agent socket"
ca_env timeout 120 "$TPM_KEY" gen --no-pin -t ecdsa -b 256 -n ca -C enrol-ca </dev/null \
	>ca-gen.out 2>&1 || fail "CA key: $(cat ca-gen.out)"
grep -E '^ecdsa-sha2-nistp256 ' ca-gen.out | head -1 >"$T/ca.pub"
[ -s "$T/ca.pub" ] || fail "no CA public key: $(cat ca-gen.out)"

step "the user's TPM: an swtpm with an EK certificate, and the user's agent"
EKD="$T/ek"
swtpm_make_ek_state "$EKD" || fail "swtpm_setup: $(tail -5 "$EKD/setup.log")"
cat "$EKD/ca/swtpm-localca-rootca-cert.pem" "$EKD/ca/issuercert.pem" >"$T/ek-ca.pem"
SWTPM_STATE_FROM="$EKD/state" swtpm_start || fail "swtpm with the EK state"
# the EK certificate's hash, read while no agent holds the swtpm (one client at a time)
EK_SHA=$(tpm2tools tpm2_nvread 0x01c00002 2>/dev/null | sha256sum | cut -d' ' -f1)
agent_start
gen_key laptop ecdsa 256
LAPTOP_FP=$FP

step "the CA's sshd (ForceCommand tpm-key ca) and the login host trusting the CA"
cat >"$T/ca.conf" <<EOC
# enrolment CA for test_enroll
ca-key $T/ca.pub
agent-socket $CA_HOME/agent.sock
ek-ca $T/ek-ca.pem
log $T/issued.log
validity 3600
require-fixedtpm yes
allow $USER_NAME * %u,tpm-users
EOC
ssh-keygen -q -t ecdsa -N '' -C enrol-login -f "$T/login_key" </dev/null || fail "ssh-keygen"
SSHD_DIR="$T/sshd-ca"   # the CA's sshd: its own dir (host key, authorized_keys, log)
authorize_key "$(cat "$T/login_key.pub")"
SSHD_EXTRA_CONFIG="ForceCommand $TPM_KEY ca --config $T/ca.conf" start_sshd
CA_PORT=$SSHD_PORT CA_SSHD_PID=$SSHD_PID
it_on_exit "kill $CA_SSHD_PID"
SSHD_PID= SSHD_DIR="$T/sshd"
SSHD_EXTRA_CONFIG="TrustedUserCAKeys $T/ca.pub" start_sshd
cat >"$T/ssh_config" <<EOC
Host cahost
	HostName 127.0.0.1
	Port $CA_PORT
	User $USER_NAME
	IdentityFile $T/login_key
	IdentitiesOnly yes
	IdentityAgent none
	BatchMode yes
	StrictHostKeyChecking no
	UserKnownHostsFile $T/known_hosts_ca
	GlobalKnownHostsFile /dev/null
	LogLevel ERROR
EOC

step "before enrolment the login host refuses the TPM key"
ssh_login
[ "$RC" -ne 0 ] || fail "login without a certificate succeeded"

step "enrol over one ssh connection; the certificate is stored and served"
run_ok tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$OUT" "enrolled 'laptop': certificate serial 1"
assert_contains "$OUT" "tpm-users"
grep -q "^serial=1 .*user=$USER_NAME key=laptop fp=$(re "$LAPTOP_FP") ek=$EK_SHA origin=tpm principals=$USER_NAME,tpm-users" \
	"$T/issued.log" || fail "issuance log: $(cat "$T/issued.log")"
run_ok tk cert list
assert_contains "$OUT" "laptop"
ssh-add -L | grep -q -- '-cert-v01@openssh.com ' || fail "the agent does not offer the certificate"
ssh-add -L | grep -- '-cert-v01@openssh.com ' | head -1 >laptop-cert.pub
ssh-keygen -Lf laptop-cert.pub >cert.txt || fail "ssh-keygen -L"
assert_contains "$(cat cert.txt)" "tpm-attested@tpm-agent"
# ssh-keygen -L prints an unknown extension's contents in hex
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
assert_contains "$(cat cert.txt)" "$(hexof "ek-sha256=$EK_SHA,ak-name=")"
assert_contains "$(cat cert.txt)" "$(hexof ",origin=tpm")"

step "log in to the host that trusts the CA, with the issued certificate"
ssh_login
[ "$RC" -eq 0 ] || fail "login with the certificate failed: $ERR"
assert_eq "ok" "$OUT" "remote command output"
printf '%s\n' "$SSHD_NEWLOG" | grep -q "Accepted publickey .*CA ECDSA" ||
	fail "sshd did not accept a certificate: $SSHD_NEWLOG"

step "a second enrolment gets the next serial"
run_ok tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$OUT" "serial 2"
