#!/bin/bash
# test_enroll: the enrolment CA over plain ssh (issue 19). Two swtpm: the CA host's,
# whose own tpm-agent holds the CA key, and the user's, provisioned with an EK
# certificate by a private local CA. A private sshd runs `tpm-key ca` as ForceCommand;
# `tpm-key enroll` gets a certificate over one ssh connection (nonce, TPM2_Certify,
# MakeCredential/ActivateCredential), and a second sshd trusting the CA (TrustedUserCAKeys)
# accepts a login with it. Refusals: a replayed transcript, another TPM's EK, an
# imported key where policy demands fixedTPM, a CA answer for another key. A key with a
# PIN enrols with the PIN asked once (fake pinentry), and its certificate logs in.
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
grep -qE "^serial=1 .*user=$USER_NAME key=laptop fp=$(re "$LAPTOP_FP") ek=$EK_SHA origin=tpm principals=$USER_NAME,tpm-users" \
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

step "refusal: a replayed transcript (an ATTEST made for an old nonce)"
cat >"$T/proxy-ssh" <<EOP
#!/bin/sh
exec python3 "$IT_REPO/tests/lib/enroll_proxy.py" "\$@"
EOP
chmod +x "$T/proxy-ssh"
export TPM_KEY_SSH="$T/proxy-ssh" ENROLL_PROXY_FILE="$T/attest.frame"
ENROLL_PROXY_MODE=record run_ok tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$OUT" "serial 3"
[ -s "$T/attest.frame" ] || fail "the proxy recorded no ATTEST frame"
ENROLL_PROXY_MODE=replay run_fail tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$ERR" "CA: refused: attestation: the nonce"
assert_contains "$ERR" "replayed"
grep -q "^refused .*key=laptop .*nonce" "$T/issued.log" || fail "CA log: no replay refusal"

step "refusal: another TPM's EK (same manufacturer CA): the credential cannot be activated"
mkdir -p "$T/ek2/state" "$T/ek2/certs"
timeout 120 swtpm_setup --tpm2 --tpmstate "$T/ek2/state" --create-ek-cert \
	--config "$EKD/setup.conf" --write-ek-cert-files "$T/ek2/certs" \
	--logfile "$T/ek2/setup.log" >/dev/null 2>&1 || fail "second EK: $(tail -3 "$T/ek2/setup.log")"
EK2=$(ls "$T/ek2/certs"/*rsa* 2>/dev/null | head -1)
[ -n "$EK2" ] || fail "swtpm_setup wrote no RSA EK certificate: $(ls "$T/ek2/certs")"
ENROLL_PROXY_MODE=swap-ek ENROLL_PROXY_EK_CERT="$EK2" \
	run_fail tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$ERR" "ActivateCredential"
grep -q "^refused .*key=laptop .*client gave up: .*ActivateCredential" "$T/issued.log" ||
	fail "CA log: no activation refusal: $(tail -2 "$T/issued.log")"

step "refusal: the CA's answer certifies another key; the client refuses and says so"
ssh-keygen -q -t ecdsa -N '' -f other </dev/null && ssh-keygen -q -t ecdsa -N '' -f rogue-ca </dev/null
ssh-keygen -q -s rogue-ca -I other -n "$USER_NAME" other.pub </dev/null || fail "rogue cert"
ENROLL_PROXY_MODE=swap-cert ENROLL_PROXY_FILE="$PWD/other-cert.pub" \
	run_fail tk enroll laptop --ca cahost -F "$T/ssh_config" --file
assert_contains "$ERR" "another public key than key 'laptop'"
grep -q "^refused-by-client .*key=laptop .*serial=4 .*another public key" "$T/issued.log" ||
	fail "CA log: no client refusal: $(tail -2 "$T/issued.log")"
unset TPM_KEY_SSH
ssh-add -L | grep -- '-cert-v01@openssh.com ' | ssh-keygen -Lf - >cert.txt || fail "ssh-keygen -L"
assert_match "$(cat cert.txt)" "Serial: 3$"
assert_not_contains "$(cat cert.txt)" "other"

step "refusal: an imported key (not fixedTPM) where policy demands fixedTPM; recorded when allowed"
import_key imported
run_fail tk enroll imported --ca cahost -F "$T/ssh_config" --file
assert_contains "$ERR" "CA: refused: attestation: the attested key was not generated inside the TPM"
grep -q "^refused .*key=imported .*not generated inside the TPM" "$T/issued.log" ||
	fail "CA log: no imported-key refusal"
sed -i 's/^require-fixedtpm yes/require-fixedtpm no/' "$T/ca.conf"
run_ok tk enroll imported --ca cahost -F "$T/ssh_config" --file
grep -q "^serial=[0-9]* .*key=imported .*origin=imported" "$T/issued.log" ||
	fail "CA log: the imported key is not recorded as such: $(tail -1 "$T/issued.log")"

step "renewal: a 2-minute certificate is renewed by the agent in its last half, no restart"
sed -i 's/^validity .*/validity 120/' "$T/ca.conf"
agent_stop
# -d: renewals are logged. The sandbox lets the agent's ssh child reach the ssh config,
# key and known_hosts only where allowed (ssh users allow ~/.ssh); bin/ holds tpm-key.
agent_start_fg --renew-at 50 --renew-check 2 --sandbox-allow "$(dirname "$TPM_KEY"),$T"
run_ok tk enroll laptop --ca cahost -F "$T/ssh_config" --file
OLD_SERIAL=$(printf '%s\n' "$OUT" | sed -n 's/.*certificate serial \([0-9]*\).*/\1/p')
[ -n "$OLD_SERIAL" ] || fail "no serial in: $OUT"
[ -f "$TPM_AGENT_HOME/enroll/laptop" ] || fail "the enrolment was not recorded"
run_ok tk status
assert_match "$OUT" "certificate laptop +serial $OLD_SERIAL, expires .*; renews from .*; last renewal never"
# Renewed: a new serial, and the agent has recorded the renewal (its tpm-key enroll
# child stores the certificate first; the agent records the renewal when it exits).
renewed() {
	timeout 20 "$TPM_KEY" status 2>/dev/null | grep "^certificate laptop " |
		grep -v "serial $OLD_SERIAL," | grep -qE "last renewal [0-9]{4}-"
}
# renewal is due 30 s after issue (validity 120 s from a minute back, last 50 %)
it_wait_until 1500 renewed || fail "no renewal within 150 s: $(tk status | grep certificate; tail -5 "$AGENT_LOG")"
run_ok tk status
assert_match "$OUT" "certificate laptop +serial [0-9]+, expires .*; last renewal [0-9]{4}-"
grep -q "renewed the certificate of key 'laptop'" "$AGENT_LOG" || fail "no renewal log line"
NEW_SERIAL=$(grep -o "^serial=[0-9]* .*key=laptop " "$T/issued.log" | tail -1 | sed 's/serial=\([0-9]*\).*/\1/')
[ "$NEW_SERIAL" -gt "$OLD_SERIAL" ] || fail "the CA issued no new serial: $(tail -2 "$T/issued.log")"
ssh-add -L | grep -- '-cert-v01@openssh.com ' | ssh-keygen -Lf - >cert.txt || fail "ssh-keygen -L"
assert_match "$(cat cert.txt)" "Serial: $NEW_SERIAL$"
ssh_login
[ "$RC" -eq 0 ] || fail "login with the renewed certificate failed: $ERR"

step "a key with a PIN enrols: the PIN is asked once, through pinentry; its certificate logs in"
. "$IT_REPO/tests/lib/fake_pinentry.sh"
agent_stop
pe PIN=1234
agent_start_fg --pinentry-program="$T/pinentry"
run_ok tk gen -t ecdsa -b 256 -n pk -C pk@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >pk.pub || fail "gen printed no key: $OUT"
pe_reset
run_ok tk enroll pk --ca cahost -F "$T/ssh_config" --file
assert_contains "$OUT" "enrolled 'pk': certificate serial"
assert_eq 1 "$(getpins)" "GETPINs of enroll"
ssh-add -L | grep -- '-cert-v01@openssh.com ' >certs.pub
: >pk-cert.pub
while read -r line; do   # the one whose key ID is tpm:USER:pk:FP
	printf '%s\n' "$line" >one.pub
	ssh-keygen -Lf one.pub | grep -q "Key ID: \"tpm:$USER_NAME:pk:" && cp one.pub pk-cert.pub
done <certs.pub
[ -s pk-cert.pub ] || fail "the agent does not offer pk's certificate: $(ssh-add -L)"
RC=0
SSHD_LOG_MARK=$(wc -l <"$SSHD_DIR/log")
timeout 60 ssh -F /dev/null -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=no \
	-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityFile="$PWD/pk.pub" \
	-o CertificateFile="$PWD/pk-cert.pub" -o BatchMode=yes -o PreferredAuthentications=publickey \
	-o LogLevel=ERROR -p "$SSHD_PORT" "$USER_NAME@127.0.0.1" echo ok </dev/null >"$T/.out" 2>"$T/.err" || RC=$?
[ "$RC" -eq 0 ] || fail "login with pk's certificate failed: $(cat "$T/.err")"
assert_eq "ok" "$(cat "$T/.out")" "remote command output"
it_wait_until 20 eval 'sshd_log_new | grep -q "Accepted publickey .*CA ECDSA"' ||
	fail "sshd did not accept pk's certificate: $(sshd_log_new)"
