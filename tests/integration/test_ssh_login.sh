#!/bin/bash
# Real OpenSSH logins to a private sshd with keys held by tpm-agent: P-256, P-384,
# P-521, RSA 2048 and RSA 3072 (RSA with rsa-sha2-256 and rsa-sha2-512 forced in turn).
. "$(dirname "$0")/lib.sh"

step "generate one key of each kind"
gen_key p256 ecdsa 256;  FP_p256=$FP
gen_key p384 ecdsa 384;  FP_p384=$FP
gen_key p521 ecdsa 521;  FP_p521=$FP
gen_key rsa2048 rsa 2048; FP_rsa2048=$FP
gen_key rsa3072 rsa 3072; FP_rsa3072=$FP
assert_eq 5 "$(agent_fps | wc -l)" "keys in the agent"

# sshd at DEBUG2 logs "userauth_pubkey: authenticated 1 pkalg <alg>": the signature
# algorithm sshd verified.
start_sshd DEBUG2

# only_authorize NAME: authorized_keys holds just that key, so a login proves the agent
# signed with it (ssh offers every agent key in turn; sshd accepts only this one).
only_authorize() {
	cp "$1.pub" "$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
}

# login_with NAME ALG LOGTYPE FP
login_with() {
	local name=$1 alg=$2 logtype=$3 fp=$4
	step "login with $name as $alg"
	only_authorize "$name"
	ssh_login -o PubkeyAcceptedAlgorithms="$alg"
	[ "$RC" -eq 0 ] || fail "login with $name ($alg) failed, ssh exit $RC: $ERR"
	assert_eq ok "$OUT" "remote command output"
	assert_match "$SSHD_NEWLOG" "Accepted publickey for $(id -un) from 127\.0\.0\.1 port [0-9]+ ssh2: $logtype $(re "$fp")" \
		"sshd accepted $name"
	assert_match "$SSHD_NEWLOG" "authenticated 1 pkalg $alg" "sshd verified a $alg signature"
}

login_with p256 ecdsa-sha2-nistp256 ECDSA "$FP_p256"
login_with p384 ecdsa-sha2-nistp384 ECDSA "$FP_p384"
login_with p521 ecdsa-sha2-nistp521 ECDSA "$FP_p521"
for bits in 2048 3072; do
	fpvar=FP_rsa$bits
	for alg in rsa-sha2-256 rsa-sha2-512; do
		login_with "rsa$bits" "$alg" RSA "${!fpvar}"
		other=rsa-sha2-512; [ "$alg" = rsa-sha2-512 ] && other=rsa-sha2-256
		assert_not_contains "$SSHD_NEWLOG" "authenticated 1 pkalg $other" "wrong RSA hash"
	done
done

step "without the key in the agent the login fails (the test is not vacuous)"
only_authorize p256
run_ok ssh-add -d p256.pub
ssh_login
[ "$RC" -ne 0 ] || fail "login succeeded without the authorized key in the agent"
assert_not_contains "$SSHD_NEWLOG" "Accepted publickey" "sshd log without the key"

step "tpm-key load; login works again"
run_ok tk load p256
ssh_login
[ "$RC" -eq 0 ] || fail "login after load failed: $ERR"

step "several logins in a row (TPM object slots are reused)"
for i in 1 2 3; do
	for name in p256 p384 p521 rsa2048; do
		only_authorize "$name"
		ssh_login
		[ "$RC" -eq 0 ] || fail "login $i with $name failed: $ERR"
	done
done

stop_sshd
echo "PASS: $IT_NAME"
