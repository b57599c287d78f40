#!/bin/bash
# test_attest: key attestation. swtpm is provisioned by swtpm_setup --create-ek-cert
# (swtpm-localca with a private CA in the test's temp dir); tpm-key attest makes the AK
# once (activated against the EK) and certifies a key; verify-attestation accepts it
# against that CA and refuses a tampered file, an imported key, a different key's
# public half, another CA, and a wrong nonce, each with its reason.
IT_NO_TPM=1
. "$(dirname "$0")/lib.sh"

step "provision an swtpm with an RSA EK certificate from a private local CA"
EKD="$T/ek"
swtpm_make_ek_state "$EKD" --create-platform-cert || fail "swtpm_setup: $(tail -5 "$EKD/setup.log")"
cat "$EKD/ca/swtpm-localca-rootca-cert.pem" "$EKD/ca/issuercert.pem" >ek-ca.pem
SWTPM_STATE_FROM="$EKD/state" swtpm_start || fail "swtpm with the EK state"
agent_start

step "attest a TPM key; verify against the swtpm local CA"
gen_key host ecdsa 256
run_ok tk attest host -o host.att --nonce 00112233445566778899aabbccddeeff
[ -f "$TPM_AGENT_HOME/attest/ak.tss" ] || fail "the AK was not cached"
grep -q 'BEGIN EK CERTIFICATE' host.att || fail "no EK certificate in the file"
for b in 'EK PUBLIC' 'AK PUBLIC' 'AK ACTIVATION' 'KEY PUBLIC' 'CERTIFY INFO' 'CERTIFY SIGNATURE'; do
	grep -q "BEGIN $b" host.att || fail "no $b block"
done
run_ok tk verify-attestation host.att --key host.pub --ek-ca ek-ca.pem \
	--nonce 00112233445566778899aabbccddeeff
assert_contains "$OUT" "attestation verified"
assert_contains "$OUT" "chains to the given CA"
step "the AK is made once: a second attestation reuses it"
AK1=$(sha256sum "$TPM_AGENT_HOME/attest/ak.tss")
gen_key other rsa 2048
run_ok tk attest other -o other.att
assert_eq "$AK1" "$(sha256sum "$TPM_AGENT_HOME/attest/ak.tss")" "cached AK"
run_ok tk verify-attestation other.att --key other.pub --ek-ca ek-ca.pem

step "refusals name their reason"
run_fail tk verify-attestation host.att --key other.pub --ek-ca ek-ca.pem
assert_contains "$ERR" "not the given public key"
ssh-keygen -q -t ecdsa -N '' -f soft -C soft </dev/null
run_fail tk verify-attestation host.att --key soft.pub
assert_contains "$ERR" "not the given public key"
run_fail tk verify-attestation host.att --key host.pub --nonce 00
assert_contains "$ERR" "nonce"
# tamper: swap the certify info of one file into the other
python3 - host.att other.att tampered.att <<'EOP'
import re, sys
a, b = open(sys.argv[1]).read(), open(sys.argv[2]).read()
blk = lambda s: re.search(r'-----BEGIN CERTIFY INFO-----.*?-----END CERTIFY INFO-----', s, re.S).group(0)
open(sys.argv[3], 'w').write(a.replace(blk(a), blk(b)))
EOP
run_fail tk verify-attestation tampered.att --key host.pub --ek-ca ek-ca.pem
assert_contains "$ERR" "signature"
sed 's/^\(.\{10\}\)A/\1B/' host.att >flip.att
cmp -s host.att flip.att && fail "sed changed nothing"
run_fail tk verify-attestation flip.att --key host.pub --ek-ca ek-ca.pem
assert_contains "$ERR" "FAILED"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key \
	-out other-ca.pem -subj /CN=other -days 2 2>/dev/null || fail "openssl req"
run_fail tk verify-attestation host.att --key host.pub --ek-ca other-ca.pem
assert_contains "$ERR" "does not chain"

step "a key imported into the TPM (made outside it) is attested but refused"
import_key imported
run_ok tk pub imported
printf '%s\n' "$OUT" >imported.pub
run_ok tk attest imported -o imp.att
run_fail tk verify-attestation imp.att --key imported.pub --ek-ca ek-ca.pem
assert_contains "$ERR" "not generated inside the TPM"
echo "test_attest: ok"
