#!/bin/bash
# test_cli_truth: tpm-key says what really happened. cert add over an NV certificate
# reports a file when the certificate went to a file, and cert list then shows one
# certificate, not two; adding an expired or a not-yet-valid certificate warns;
# encrypt takes a .pub file named without a slash.
. "$(dirname "$0")/lib.sh"

ssh-keygen -q -t ecdsa -b 256 -N '' -C it-ca -f ca </dev/null || fail "ssh-keygen ca"
certify() {   # certify NAME SERIAL VALIDITY
	rm -f "$1-cert.pub"
	ssh-keygen -q -s ca -I "id-$1-$2" -n "$(id -un)" -V "$3" -z "$2" "$1.pub" \
		</dev/null >/dev/null 2>&1 || fail "ssh-keygen -s $1"
}
gen_key c1 ecdsa 256 c1@it

step "an NV certificate, then an expired one as a file: the note says file and warns"
certify c1 7 -5m:+1h
run_ok tk cert add c1 c1-cert.pub --nv
assert_contains "$ERR" "stored in TPM NV index" "the first certificate went to NV"
certify c1 8 -2h:-1h
run_ok tk cert add c1 c1-cert.pub
assert_contains "$ERR" "(serial 8) stored as a file" "the note names the file"
assert_not_contains "$ERR" "NV index" "no NV claim for a file"
assert_contains "$ERR" "WARNING: it expired at" "expired warning"
run_ok tk cert list
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^c1 ')" "cert list shows c1 once: $OUT"
assert_contains "$OUT" "serial=8" "the listed one is the new one"
assert_contains "$OUT" "EXPIRED" "listed as expired"

step "a not-yet-valid certificate warns"
certify c1 9 +1h:+2h
run_ok tk cert add c1 c1-cert.pub
assert_contains "$ERR" "WARNING: it is not valid before" "not-yet-valid warning"
run_ok tk cert list
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^c1 ')" "still one certificate: $OUT"

step "encrypt backup.pub (no slash) reads the file"
ssh-keygen -q -t rsa -b 2048 -N '' -f backup </dev/null || fail "ssh-keygen rsa"
printf 'hello' | timeout 60 "$TPM_KEY" encrypt backup.pub >ct.bin 2>enc.err ||
	fail "encrypt backup.pub: $(cat enc.err)"
assert_eq 256 "$(stat -c %s ct.bin)" "ciphertext size"

echo "PASS: $IT_NAME"
