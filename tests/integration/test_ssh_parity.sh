#!/bin/bash
# ssh-agent parity: software keys with certificates (ssh-add KEY with KEY-cert.pub)
# log in to sshd through cert-authority, sign SSHSIG with -f KEY-cert.pub, and go with
# ssh-add -d; -t is the default lifetime of added keys; `tpm-agent COMMAND` runs
# COMMAND with the agent's environment and ends with it; -E/-O/-P are accepted as
# ssh-agent's; ssh-rsa (SHA-1) signatures are refused unless legacy-rsa-sha1 = yes,
# which logs a warning.
. "$(dirname "$0")/lib.sh"

mkdir -m 700 keys pubs
ssh-keygen -q -t ed25519 -N '' -C ca -f keys/ca </dev/null || fail "ssh-keygen ca"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -C "$t@soft" -f keys/$t </dev/null || fail "ssh-keygen $t"
	ssh-keygen -q -s keys/ca -I "$t-cert" -n "$(id -un)" keys/$t.pub </dev/null ||
		fail "ssh-keygen -s $t"
	cp keys/$t.pub keys/$t-cert.pub pubs/
done
echo data >file

step "ssh-add KEY adds the key and its certificate"
for t in ed25519 ecdsa rsa; do
	run_ok ssh-add keys/$t
	assert_contains "$ERR" "Certificate added: keys/$t-cert.pub" "$t certificate added"
done
run_ok ssh-add -L
for t in ed25519 ecdsa rsa; do
	assert_contains "$OUT" "$(cut -d' ' -f2 pubs/$t-cert.pub)" "$t certificate listed"
done

step "a certificate logs in through cert-authority"
authorize_key "cert-authority,principals=\"$(id -un)\" $(cat keys/ca.pub)"
start_sshd
for t in ed25519 ecdsa rsa; do
	ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/pubs/$t.pub" \
		-o CertificateFile="$T/work/pubs/$t-cert.pub"
	assert_eq 0 "$RC" "$t certificate login ($ERR)"
	assert_eq ok "$OUT" "$t certificate login output"
done

step "ssh-keygen -Y sign -f KEY-cert.pub signs through the agent"
run_ok ssh-keygen -Y sign -f pubs/ed25519-cert.pub -n file file
printf '* cert-authority %s\n' "$(cat keys/ca.pub)" >allowed_signers
run_ok ssh-keygen -Y verify -f allowed_signers -I "$(id -un)" -n file -s file.sig <file

step "ssh-add -d removes the key with its certificate; -k keeps the certificate"
run_ok ssh-add -d pubs/ed25519
run_ok ssh-add -L
assert_not_contains "$OUT" "$(cut -d' ' -f2 pubs/ed25519.pub)" "ed25519 key removed"
assert_not_contains "$OUT" "$(cut -d' ' -f2 pubs/ed25519-cert.pub)" "ed25519 cert removed"
run_ok ssh-add -qdk pubs/ecdsa
run_ok ssh-add -L
assert_not_contains "$OUT" "$(cut -d' ' -f2 pubs/ecdsa.pub) " "ecdsa key removed"
assert_contains "$OUT" "$(cut -d' ' -f2 pubs/ecdsa-cert.pub)" "ecdsa cert kept by -k"

step "a certificate added with -c asks for confirmation (denied: no signature)"
cat >"$T/deny-pinentry" <<EOF
#!/bin/sh
FAKE_PINENTRY_CONFIRM=no FAKE_PINENTRY_LOG="$T/pinentry.log"
export FAKE_PINENTRY_CONFIRM FAKE_PINENTRY_LOG
exec "$IT_REPO/tests/pinentry/fake-pinentry" "\$@"
EOF
chmod 755 "$T/deny-pinentry"
agent_stop
agent_start --pinentry-program="$T/deny-pinentry"
run_ok ssh-add -c keys/ed25519
rm -f file.sig
run_fail ssh-keygen -Y sign -f pubs/ed25519-cert.pub -n file file
assert_contains "$(cat "$T/pinentry.log")" "CONFIRM" "pinentry asked"

step "-t LIFE is the default lifetime of added keys (ssh-agent -t)"
agent_stop
agent_start -t 3s
run_ok ssh-add keys/rsa
assert_eq 2 "$(ssh-add -l | grep -c SHA256:)" "key and certificate listed"
n=0
while ssh-add -l >/dev/null 2>&1 && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
run_fail ssh-add -l
assert_eq 1 "$RC" "no identities once the lifetime is over"
run_fail "$TPM_AGENT" --tcti "$SWTPM_TCTI" -t 5x -s
assert_contains "$ERR" "not a lifetime" "bad -t refused"

step "-E, -O and -P are ssh-agent's"
run_ok "$TPM_AGENT" --check-config -E md5 -O no-restrict-websafe -O allow-remote-pkcs11 \
	-P '/usr/lib/*' -t 1h30m
assert_contains "$OUT" "fingerprint-hash = md5" "-E"
assert_contains "$OUT" "restrict-websafe = no" "-O no-restrict-websafe"
assert_contains "$OUT" "allow-remote-pkcs11 = yes" "-O allow-remote-pkcs11"
assert_contains "$OUT" "allowed-providers = /usr/lib/*" "-P"
assert_contains "$OUT" "key-lifetime = 5400" "-t 1h30m"
run_fail "$TPM_AGENT" --check-config -O bogus
assert_contains "$ERR" "unknown -O option" "bad -O refused"

step "tpm-agent COMMAND runs COMMAND with the agent's environment and ends with it"
agent_stop
cat >cmd.sh <<'EOF'
echo "$SSH_AGENT_PID" >cmd.pid
ssh-add keys/ed25519 2>/dev/null || exit 9
ssh-add -l >cmd.list || exit 8
exit 7
EOF
RC=0
timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$T/run/cmd.sock" sh cmd.sh \
	2>>"$AGENT_LOG" || RC=$?
assert_eq 7 "$RC" "COMMAND's exit status"
assert_contains "$(cat cmd.list)" "ed25519@soft" "COMMAND reached the agent"
pid=$(cat cmd.pid)
it_wait_gone "$pid" 100 || fail "agent $pid still runs after COMMAND exited"
[ ! -S "$T/run/cmd.sock" ] || fail "socket left behind"

step "TPM_AGENT_SIMULATOR=ephemeral: a throwaway swtpm and data dir, gone after exit"
mkdir -m 700 "$T/eph"
run_ok env TMPDIR="$T/eph" TPM_AGENT_SIMULATOR=ephemeral timeout 60 "$TPM_AGENT" \
	-a "$T/run/eph.sock" sh -c 'ls -d "$TMPDIR"/tpm-agent-ephemeral.*/data && ssh-add -l; [ $? -eq 1 ]'
assert_contains "$OUT" "tpm-agent-ephemeral." "the agent ran in an ephemeral dir"
it_wait_until 100 sh -c "! ls -d '$T'/eph/tpm-agent-ephemeral.* >/dev/null 2>&1" ||
	fail "ephemeral dir left behind: $(ls "$T/eph")"

step "ssh-rsa (SHA-1) is refused by default, made with legacy-rsa-sha1 = yes"
agent_start_fg
run_ok ssh-add keys/rsa
stop_sshd
: >"$SSHD_DIR/authorized_keys"
authorize_key "$(cat pubs/rsa.pub)"
SSHD_EXTRA_CONFIG="PubkeyAcceptedAlgorithms +ssh-rsa" start_sshd
ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/pubs/rsa.pub" \
	-o PubkeyAcceptedAlgorithms=ssh-rsa
assert_ne 0 "$RC" "SHA-1 login refused by default"
assert_contains "$(cat "$AGENT_LOG")" "legacy-rsa-sha1" "refusal names the setting"
assert_not_contains "$(cat "$AGENT_LOG")" "making a legacy" "no SHA-1 signature made"
run_ok ssh-add -T pubs/rsa.pub   # names no algorithm: gets rsa-sha2-512, verifies it
agent_stop
agent_start_fg --legacy-rsa-sha1=yes
run_ok ssh-add keys/rsa
ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/pubs/rsa.pub" \
	-o PubkeyAcceptedAlgorithms=ssh-rsa
assert_eq 0 "$RC" "SHA-1 login with legacy-rsa-sha1 ($ERR)"
assert_contains "$(cat "$AGENT_LOG")" "making a legacy ssh-rsa (SHA-1) signature" "warning"
ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/pubs/rsa.pub"
assert_eq 0 "$RC" "rsa-sha2 login still works"
echo "PASS: $IT_NAME"
