#!/bin/bash
# tpm-key import: software ECDSA P-256/384/521 and RSA 2048 keys (OpenSSH format from
# ssh-keygen, one PEM from openssl genpkey) become TPM keys through TPM2_Import; the
# agent lists each with the file's fingerprint and sshd accepts a login with it.
# Ed25519 and RSA 4096 are refused with the reason.
. "$(dirname "$0")/lib.sh"

start_sshd DEBUG2

# import_and_login NAME: imports ./NAME (public key in ./NAME.pub), checks the listing,
# the store files and a login that only this key can make.
import_and_login() {
	local name=$1 fp
	fp=$(fp_of "$name.pub")
	[ -n "$fp" ] || fail "no fingerprint for $name.pub"
	step "import $name"
	run_ok tk import --no-pin -n "$name" "$name"
	assert_contains "$ERR" "delete it" "import tells to delete the file"
	[ -f "$TPM_AGENT_HOME/keys/$name.tss" ] || fail "no $name.tss after import"
	[ -f "$TPM_AGENT_HOME/keys/$name.pub" ] || fail "no $name.pub after import"
	[ -f "$name" ] || fail "import removed the software key file"
	assert_eq "$(key_body "$(cat "$name.pub")")" "$(key_body "$OUT")" "public key printed by import"
	agent_fps | grep -qxF "$fp" || fail "the agent does not list $name ($fp): $(agent_fps)"
	step "login with imported $name"
	cp "$name.pub" "$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
	ssh_login
	[ "$RC" -eq 0 ] || fail "login with imported $name failed, ssh exit $RC: $ERR"
	assert_eq ok "$OUT" "remote command output"
	assert_match "$SSHD_NEWLOG" "Accepted publickey for $(id -un) from 127\.0\.0\.1 port [0-9]+ ssh2: [A-Z]+ $(re "$fp")" \
		"sshd accepted imported $name"
}

for bits in 256 384 521; do
	run_ok ssh-keygen -q -t ecdsa -b "$bits" -N '' -C "p$bits@import" -f "p$bits"
	import_and_login "p$bits"
done
run_ok ssh-keygen -q -t rsa -b 2048 -N '' -C rsa2048@import -f rsa2048
import_and_login rsa2048

step "a PEM (PKCS#8) key from openssl genpkey"
run_ok openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pem256
run_ok ssh-keygen -y -f pem256
printf '%s\n' "$OUT" >pem256.pub
import_and_login pem256

step "a passphrase-protected PEM (PKCS#1 RSA 3072): passphrase through pinentry"
run_ok openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa3072.plain
run_ok openssl pkey -in rsa3072.plain -traditional -aes-128-cbc -passout pass:pem-pass \
	-out rsa3072
rm -f rsa3072.plain
run_ok ssh-keygen -y -P pem-pass -f rsa3072
printf '%s\n' "$OUT" >rsa3072.pub
PINENTRY_PROGRAM="$IT_REPO/tests/pinentry/fake-pinentry" FAKE_PINENTRY_PIN=wrong \
	run_fail tk import --no-pin -n rsa3072 rsa3072
assert_contains "$ERR" "passphrase" "wrong PEM passphrase"
export PINENTRY_PROGRAM="$IT_REPO/tests/pinentry/fake-pinentry" FAKE_PINENTRY_PIN=pem-pass
import_and_login rsa3072
unset PINENTRY_PROGRAM FAKE_PINENTRY_PIN

step "the key survives an agent restart (a loadable key file)"
agent_stop
agent_start
agent_fps | grep -qxF "$(fp_of p256.pub)" || fail "imported p256 missing after restart"
cp p256.pub "$SSHD_DIR/authorized_keys"
ssh_login
[ "$RC" -eq 0 ] || fail "login with imported p256 after restart failed: $ERR"

step "ed25519 is refused"
run_ok ssh-keygen -q -t ed25519 -N '' -f ed
run_fail tk import --no-pin ed
assert_contains "$ERR" "Ed25519" "ed25519 refusal names the type"
assert_contains "$ERR" "TPM" "ed25519 refusal gives the reason"

step "RSA 4096 is refused"
run_ok ssh-keygen -q -t rsa -b 4096 -N '' -f rsa4096
run_fail tk import --no-pin rsa4096
assert_contains "$ERR" "4096" "RSA 4096 refusal"
[ ! -e "$TPM_AGENT_HOME/keys/rsa-4096.tss" ] || fail "a file was written for RSA 4096"

step "an encrypted OpenSSH key is refused with the way out"
run_ok ssh-keygen -q -t ecdsa -N 'secret' -f encrypted
run_fail tk import --no-pin encrypted
assert_contains "$ERR" "encrypted OpenSSH key" "encrypted OpenSSH refusal"

echo "PASS: $IT_NAME"
