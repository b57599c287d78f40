#!/bin/bash
# test_seal: tpm-key seal / unseal: round trips (text and binary with NULs), the
# 128-byte limit, sealed objects listed apart from keys and never offered to ssh, a
# PCR-bound seal that stops unsealing after tpm2_pcrextend 16, and --rm.
. "$(dirname "$0")/lib.sh"

# tk_in FILE ARGS...: tpm-key with FILE on stdin; output in ./out.bin, stderr in $ERR.
tk_in() {
	local f=$1; shift
	RC=0
	timeout 120 "$TPM_KEY" "$@" <"$f" >out.bin 2>"$T/.err" || RC=$?
	ERR=$(cat "$T/.err")
}

step "seal a password and unseal it"
printf 'correct horse battery staple' >pw.txt
tk_in pw.txt seal pw --no-pin
[ "$RC" -eq 0 ] || fail "seal exited $RC: $ERR"
[ -f "$TPM_AGENT_HOME/sealed/pw.tss" ] || fail "no sealed/pw.tss"
assert_mode "$TPM_AGENT_HOME/sealed/pw.tss" 600
grep -q 'BEGIN TSS2 PRIVATE KEY' "$TPM_AGENT_HOME/sealed/pw.tss" || fail "not a TSS2 key file"
openssl asn1parse -in "$TPM_AGENT_HOME/sealed/pw.tss" | grep -q 2.23.133.10.1.5 ||
	fail "sealed file lacks the sealed-data OID"
run_ok tk unseal pw
assert_eq "correct horse battery staple" "$OUT" "unsealed secret"

step "binary secret of exactly 128 bytes with NULs and a trailing newline"
{ head -c 100 /dev/urandom; printf '\0\0\0x\0'; head -c 22 /dev/urandom; printf '\n'; } >bin.dat
[ "$(stat -c %s bin.dat)" -eq 128 ] || fail "test data is not 128 bytes"
tk_in bin.dat seal bin --no-pin
[ "$RC" -eq 0 ] || fail "seal of 128 binary bytes exited $RC: $ERR"
timeout 60 "$TPM_KEY" unseal bin </dev/null >bin.out || fail "unseal bin"
cmp -s bin.dat bin.out || fail "binary secret differs after unseal"

step "129 bytes and empty input are refused; the name is not taken"
head -c 129 /dev/urandom >big.dat
tk_in big.dat seal big --no-pin
[ "$RC" -eq 1 ] || fail "seal of 129 bytes: exit $RC"
assert_contains "$ERR" "at most 128 bytes"
[ ! -e "$TPM_AGENT_HOME/sealed/big.tss" ] || fail "big.tss written"
: >empty.dat
tk_in empty.dat seal empty --no-pin
[ "$RC" -eq 1 ] || fail "seal of nothing: exit $RC"
tk_in pw.txt seal pw --no-pin
[ "$RC" -eq 1 ] || fail "seal over an existing name: exit $RC"
assert_contains "$ERR" "exists already"

step "list shows sealed objects apart from keys; ssh-add -L does not offer them"
gen_key k1 ecdsa 256
run_ok tk list
assert_match "$OUT" "^SEALED"
assert_match "$OUT" "^pw +-$"
assert_match "$OUT" "^k1 "
run_ok ssh-add -L
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c .)" "identities offered"
assert_not_contains "$(tail -20 "$AGENT_LOG")" "skipping key"

step "a PCR-bound seal unseals until PCR 16 is extended"
printf 'bound secret' >b.txt
tk_in b.txt seal bound --pcr 16 --no-pin
[ "$RC" -eq 0 ] || fail "seal --pcr 16 exited $RC: $ERR"
run_ok tk list
assert_match "$OUT" "^bound +pcr sha256:16$"
run_ok tk unseal bound
assert_eq "bound secret" "$OUT" "PCR-bound unseal"
agent_stop
run_ok tpm2tools tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
agent_start
run_fail tk unseal bound
assert_eq 1 "$RC" "exit status of a refused unseal"
assert_contains "$ERR" "PCRs whose values changed"
[ -z "$OUT" ] || fail "refused unseal printed: $OUT"
run_ok tk unseal pw
assert_eq "correct horse battery staple" "$OUT" "unbound seal still unseals"

step "seal --rm deletes; unseal of a missing object names it"
run_ok tk seal --rm pw
[ ! -e "$TPM_AGENT_HOME/sealed/pw.tss" ] || fail "pw.tss still there"
run_fail tk unseal pw
assert_contains "$ERR" "no sealed object named 'pw'"
run_fail tk unseal ../keys/k1
assert_contains "$ERR" "invalid sealed object name"
echo "test_seal: ok"
