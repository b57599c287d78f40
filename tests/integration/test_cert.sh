#!/bin/bash
# OpenSSH certificates served beside their TPM keys: a CA made with ssh-keygen certifies
# each key type; a private sshd that trusts only the CA (no authorized_keys) accepts a
# login with the certificate from the agent.
. "$(dirname "$0")/lib.sh"

USER_NAME=$(id -un)
ssh-keygen -q -t ecdsa -b 256 -N '' -C it-ca -f ca </dev/null || fail "ssh-keygen ca"
SSHD_EXTRA_CONFIG="TrustedUserCAKeys $PWD/ca.pub"
start_sshd DEBUG2
CERTS="$TPM_AGENT_HOME/certs"

# certify NAME [VALIDITY] [SERIAL]: NAME-cert.pub signed by the CA for the current user.
certify() {
	rm -f "$1-cert.pub"
	ssh-keygen -q -s ca -I "id-$1" -n "$USER_NAME" -V "${2:--5m:+1h}" -z "${3:-1}" "$1.pub" \
		</dev/null >/dev/null 2>&1 || fail "ssh-keygen -s for $1"
	[ -s "$1-cert.pub" ] || fail "no $1-cert.pub"
}

gen_key c-p256 ecdsa 256 alice@c-p256
gen_key c-p384 ecdsa 384 alice@c-p384
gen_key c-p521 ecdsa 521 alice@c-p521
gen_key c-rsa rsa 2048 alice@c-rsa
for name in c-p256 c-p384 c-p521 c-rsa; do
	step "$name: certificate stored as a file, login accepted by a CA-only sshd"
	certify "$name"
	run_ok tk cert add "$name" "$name-cert.pub"
	assert_mode "$CERTS/$name-cert.pub" 600
	assert_contains "$(ssh-add -L)" "$(cut -d' ' -f1,2 "$name-cert.pub")" "ssh-add -L lists the certificate"
	ssh_login
	[ "$RC" -eq 0 ] || fail "$name: login with the certificate failed: $ERR"
	assert_contains "$SSHD_NEWLOG" "ID \"id-$name\"" "$name: sshd accepted the certificate"
	# Unload it so the next login can only succeed with the next certificate.
	run_ok ssh-add -d "$name.pub"
	assert_not_contains "$(ssh-add -L)" "$(cut -d' ' -f2 "$name-cert.pub")" "certificate after ssh-add -d"
done
run_ok tk load c-p256 c-p384 c-p521 c-rsa
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 c-p256-cert.pub)" "certificate back after tpm-key load"

step "cert list and cert show describe what is stored"
run_ok tk cert list
assert_contains "$OUT" "c-p256" "cert list names the key"
assert_contains "$OUT" 'id="id-c-p256"' "cert list shows the key id"
assert_contains "$OUT" "valid" "cert list says valid"
run_ok tk cert show c-p384
assert_contains "$OUT" 'Key ID: "id-c-p384"' "cert show key id"
assert_contains "$OUT" "$USER_NAME" "cert show principals"

step "a certificate for another key is refused and nothing is stored"
run_fail tk cert add c-p384 c-p256-cert.pub
assert_contains "$ERR" "another key" "message for a certificate of another key"
assert_contains "$(cat "$CERTS/c-p384-cert.pub")" "$(cut -d' ' -f2 c-p384-cert.pub)" "old certificate kept"

step "garbage and truncated files are refused"
head -c 100 c-p256-cert.pub >trunc-cert.pub
run_fail tk cert add c-p256 trunc-cert.pub
echo "not a certificate" >garbage-cert.pub
run_fail tk cert add c-p256 garbage-cert.pub

step "an expired certificate is not offered"
certify c-p521 20200101:20200102 7
cp c-p521-cert.pub "$CERTS/c-p521-cert.pub"
assert_not_contains "$(ssh-add -L)" "$(cut -d' ' -f2 c-p521-cert.pub)" "expired certificate offered"
run_ok tk cert list
assert_contains "$OUT" "EXPIRED" "cert list marks the expired certificate"

step "a renewed file dropped into the certs dir replaces the old one without a restart"
certify c-p521 -5m:+2h 8
cp c-p521-cert.pub "$CERTS/.tmp-renew" && mv "$CERTS/.tmp-renew" "$CERTS/c-p521-cert.pub"
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 c-p521-cert.pub)" "renewed certificate offered"
run_ok tk cert show c-p521
assert_contains "$OUT" "Serial: 8" "renewed serial"

step "cert rm removes it from disk and from the agent"
run_ok tk cert rm c-p256
[ -e "$CERTS/c-p256-cert.pub" ] && fail "cert rm left the file"
assert_not_contains "$(ssh-add -L)" "$(cut -d' ' -f2 c-p256-cert.pub)" "removed certificate offered"
run_fail tk cert rm c-p256

step "certificates survive an agent restart"
agent_stop
agent_start
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 c-p384-cert.pub)" "certificate after restart"
