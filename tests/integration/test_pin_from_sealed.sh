#!/bin/bash
# test_pin_from_sealed: sealed objects with a PIN (tpm-key seal without --no-pin asks a
# new PIN twice; unseal asks it, one prompt per request, a wrong PIN fails), with a PIN
# and a PCR policy (PolicyPCR + PolicyAuthValue), and the pin-from-sealed setting: a
# key's PIN taken from a PCR-bound sealed object without any prompt, and a prompt that
# says why once PCR 16 changed.
IT_NO_AGENT=1   # read by lib.sh: we start the agent with our pinentry
. "$(dirname "$0")/lib.sh"

FAKE="$IT_REPO/tests/pinentry/fake-pinentry"
PE_CONF="$T/pe.conf"
PE_LOG="$T/pe.log"
cat >"$T/pinentry" <<EOS
#!/bin/sh
. "$PE_CONF"
exec "$FAKE" "\$@"
EOS
chmod +x "$T/pinentry"
# pe [VAR=VALUE...]: how the next dialogs answer (FAKE_PINENTRY_* without the prefix).
pe() {
	{
		echo "export FAKE_PINENTRY_LOG='$PE_LOG'"
		for kv in "$@"; do printf "export FAKE_PINENTRY_%s='%s'\n" "${kv%%=*}" "${kv#*=}"; done
	} >"$PE_CONF"
	: >"$PE_LOG"
}
getpins() { grep -c '^GETPIN' "$PE_LOG" 2>/dev/null || true; }
start() { agent_start_fg --pinentry-program="$T/pinentry" --pin-cache-ttl=0 "$@"; }
# tk_in FILE ARGS...: tpm-key with FILE on stdin; stdout in $OUT, stderr in $ERR.
tk_in() {
	local f=$1; shift
	RC=0
	timeout 120 "$TPM_KEY" "$@" <"$f" >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
}
echo "signed data" >msg
sign() {
	rm -f msg.sig
	RC=0
	timeout 60 ssh-keygen -Y sign -f "$1" -n file msg >"$T/.sign.out" 2>&1 || RC=$?
}

pe PIN=4321
start

step "seal without --no-pin asks a new PIN twice; the file says emptyAuth FALSE"
printf 'pin secret' >s.txt
tk_in s.txt seal ps
[ "$RC" -eq 0 ] || fail "seal with a PIN exited $RC: $ERR"
assert_eq 1 "$(getpins)" "GETPINs of seal (with SETREPEAT)"
assert_contains "$(cat "$PE_LOG")" "SETREPEAT" "seal asks the PIN twice"
assert_contains "$(cat "$PE_LOG")" 'new sealed object "ps"' "seal dialog names the object"
openssl asn1parse -in "$TPM_AGENT_HOME/sealed/ps.tss" >"$T/asn1" 2>&1 || fail "asn1parse: $(cat "$T/asn1")"
assert_not_contains "$(cat "$T/asn1")" "BOOLEAN" "emptyAuth of a sealed object with a PIN"

step "unseal with the right PIN (one prompt)"
pe PIN=4321
run_ok tk unseal ps
assert_eq "pin secret" "$OUT" "unsealed with the PIN"
assert_eq 1 "$(getpins)" "GETPINs of unseal"
assert_contains "$(cat "$PE_LOG")" 'sealed object "ps"' "unseal dialog names the object"

step "unseal with a wrong PIN: one prompt, a clear error, nothing printed"
pe PIN=0000
run_fail tk unseal ps
assert_eq 1 "$RC" "exit status of a wrong PIN"
assert_contains "$ERR" "Wrong PIN"
[ -z "$OUT" ] || fail "wrong PIN printed: $OUT"
assert_eq 1 "$(getpins)" "GETPINs of a wrong-PIN unseal"
assert_not_contains "$(cat "$AGENT_LOG")" "pin secret" "secret in the log"
assert_not_contains "$(cat "$AGENT_LOG")" "4321" "PIN in the log"

step "a PIN and PCR 16 (PolicyPCR + PolicyAuthValue)"
pe PIN=5555
printf 'both' >b.txt
tk_in b.txt seal pp --pcr 16
[ "$RC" -eq 0 ] || fail "seal --pcr 16 with a PIN exited $RC: $ERR"
run_ok tk list
assert_match "$OUT" "^pp +pcr sha256:16$"
pe PIN=5555
run_ok tk unseal pp
assert_eq "both" "$OUT" "PIN + PCR unseal"
pe PIN=0000
run_fail tk unseal pp
assert_contains "$ERR" "Wrong PIN"

step "pin-from-sealed: the key's PIN comes from a PCR-bound sealed object, no prompt"
pe PIN=2468
run_ok tk gen -t ecdsa -b 256 -n hk -C hk@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >hk.pub
[ -s hk.pub ] || fail "gen printed no public key: $OUT"
echo 2468 >hkpin.txt   # with a newline, as `echo PIN | tpm-key seal` leaves it
tk_in hkpin.txt seal hkpin --no-pin --pcr 16
[ "$RC" -eq 0 ] || fail "seal of the key's PIN exited $RC: $ERR"
agent_stop
run_fail "$TPM_AGENT" --check-config --pin-from-sealed=hk
assert_contains "$ERR" "KEYNAME:SEALNAME"
start --pin-from-sealed=other:x,hk:hkpin
pe PIN=9999
sign hk.pub
assert_eq 0 "$RC" "sign with the PIN from the sealed object ($(cat "$T/.sign.out"))"
assert_eq 0 "$(getpins)" "GETPINs with pin-from-sealed"
assert_contains "$(cat "$AGENT_LOG")" "PIN taken from sealed object 'hkpin'"
sign hk.pub
assert_eq 0 "$RC" "second sign"
assert_eq 0 "$(getpins)" "GETPINs of the second sign"

step "after tpm2_pcrextend 16 it prompts once and says why"
agent_stop
run_ok tpm2tools tpm2_pcrextend 16:sha256=0000000000000000000000000000000000000000000000000000000000000001
: >"$AGENT_LOG"
start --pin-from-sealed=hk:hkpin
pe PIN=2468
sign hk.pub
assert_eq 0 "$RC" "sign after the PCR change with the typed PIN ($(cat "$T/.sign.out"))"
assert_eq 1 "$(getpins)" "GETPINs after the PCR change"
assert_contains "$(cat "$PE_LOG")" "SETERROR PCR 16 changed; the PIN could not be taken from the sealed object"
assert_contains "$(cat "$AGENT_LOG")" "PCR 16 changed; the PIN could not be taken from the sealed object"
run_fail tk unseal hkpin
assert_contains "$ERR" "PCRs whose values changed"
agent_stop
echo "test_pin_from_sealed: ok"
