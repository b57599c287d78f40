#!/bin/bash
# test_lockout: the TPM's dictionary-attack lockout is never spent by accident.
# maxTries 3 with a long recovery time (so nothing decays during the test):
#   - gen with mismatched PINs asks again; the prompt names the key; no tty and no
#     display: the error says what to do;
#   - import with and without --no-pin;  tpm-key list shows PIN / PCR protection;
#   - attest and decrypt of a PIN key ask its PIN: the counter does not move;
#   - an always-wrong pinentry that declines the last try, over 5 requests: the prompts
#     show the tries left, the 3rd wrong PIN is never sent, no lockout;
#   - a lockout entered on purpose: the next request fails at once (< 1 s) with no
#     prompt; tpm-key status shows the DA state, the clear command and the reason.
IT_NO_AGENT=1   # read by lib.sh: we set DA parameters first, then start the agent
. "$(dirname "$0")/lib.sh"

. "$IT_REPO/tests/lib/fake_pinentry.sh"
count() { grep -c "^$1" "$PE_LOG" 2>/dev/null || true; }
# da_counter: TPM2_PT_LOCKOUT_COUNTER as tpm-key status reports it.
da_counter() {
	tk status >"$T/status" 2>&1 || fail "tpm-key status: $(cat "$T/status")"
	sed -n 's/^da counter *\([0-9]*\) wrong PINs counted.*/\1/p' "$T/status"
}
echo "signed data" >msg
sign() {
	rm -f msg.sig
	RC=0
	timeout 60 ssh-keygen -Y sign -f "$1" -n file msg >"$T/.sign.out" 2>&1 || RC=$?
}

tpm2tools tpm2_dictionarylockout -s -n 3 -t 3600 -l 3600 >/dev/null || fail "DA parameters"
tpm2tools tpm2_dictionarylockout -c >/dev/null || fail "clear lockout"
it_on_exit 'agent_stop; tpm2tools tpm2_dictionarylockout -c; tpm2tools tpm2_dictionarylockout -s -n 32 -t 1 -l 1'
pe PIN=1357
agent_start_fg --pinentry-program="$T/pinentry"

step "gen: mismatched PINs ask again; the prompt names the key, also a default name"
pe_reset
PE_EXTRA=(REPEAT=no)
pe_pins 1111 2222 1357 1357
PE_EXTRA=()
run_ok tk gen -t ecdsa -b 256 -n lk -C lk@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >lk.pub || fail "gen printed no key: $OUT"
assert_eq 4 "$(count GETPIN)" "GETPINs: a mismatched pair, then a matching one"
assert_contains "$(cat "$PE_LOG")" "SETERROR The PINs do not match" "mismatch is said in the prompt"
assert_contains "$(cat "$PE_LOG")" 'new TPM key "lk"' "the prompt names the key"
pe_reset
pe PIN=1357
run_ok tk gen -t ecdsa -b 384
assert_contains "$(cat "$PE_LOG")" 'new TPM key "ecdsa-p384"' "the prompt names a default-named key"
assert_not_contains "$(cat "$PE_LOG")" "(default name)" "no placeholder name"
assert_eq 0 "$(da_counter)" "DA counter after gen"

step "gen without a terminal or display: the error says what to do"
pe MODE=crash
run_fail tk gen -t ecdsa -b 256 -n notty
assert_contains "$ERR" "--no-pin" "names --no-pin"
assert_contains "$ERR" "tpm-key update-env" "names tpm-key update-env"
assert_contains "$ERR" "GPG_TTY" "names GPG_TTY"
[ ! -e "$TPM_AGENT_HOME/keys/notty.tss" ] || fail "a key was made without a PIN"

step "import asks a PIN by default, and takes --no-pin"
run_ok ssh-keygen -q -t ecdsa -b 256 -N '' -C imp@it -f imp
run_ok ssh-keygen -q -t ecdsa -b 256 -N '' -C impnp@it -f impnp
pe_reset
pe PIN=2468
run_ok tk import -n imp imp
assert_eq 1 "$(count GETPIN)" "import asked the new PIN (with SETREPEAT)"
assert_contains "$(cat "$PE_LOG")" 'imported TPM key "imp"' "the import prompt names the key"
assert_contains "$ERR" "with the PIN you chose" "import output"
pe_reset
run_ok tk import --no-pin -n impnp impnp
assert_eq 0 "$(count GETPIN)" "import --no-pin asks nothing"
pe_reset
sign imp.pub
assert_eq 0 "$RC" "signature with the imported key's PIN: $(cat "$T/.sign.out")"
assert_eq 1 "$(count GETPIN)" "the imported PIN key asks its PIN"
pe_reset
sign impnp.pub
assert_eq 0 "$RC" "signature with the imported key without a PIN"
assert_eq 0 "$(count GETPIN)" "no prompt for the --no-pin import"

step "tpm-key list shows the protection of every key, in aligned columns"
run_ok tk gen --no-pin -t rsa -b 2048 -n dk --decrypt
run_ok tk list
assert_match "$OUT" '^NAME +TYPE +FINGERPRINT +KEYGRIP +PROTECT +COMMENT' "header"
assert_match "$OUT" '^lk +ECDSA/256 .* PIN +lk@it' "PIN key"
assert_match "$OUT" '^impnp +ECDSA/256 .* none +impnp@it' "key without a PIN"
col=$(printf '%s\n' "$OUT" | awk '{ print index($0, $5) }' | sort -u | wc -l)
assert_eq 1 "$col" "the PROTECT column starts at one place on every line"

step "attest of a PIN key asks its PIN; the DA counter does not move"
run_ok tk forget
pe_reset
pe PIN=1357
run_ok tk attest lk -o lk.att
assert_eq 1 "$(count GETPIN)" "attest asked the PIN"
assert_match "$(cat "$PE_LOG")" 'SETDESC .*attest with the TPM key "lk"' "the attest prompt"
grep -q 'BEGIN CERTIFY SIGNATURE' lk.att || fail "no certify signature in the attestation"
assert_eq 0 "$(da_counter)" "DA counter after attesting a PIN key"
step "a wrong PIN at attest is one try, and the prompt comes back with the tries left"
run_ok tk forget
pe_reset
pe_pins 0000 1357
run_ok tk attest lk -o lk2.att
assert_eq 2 "$(count GETPIN)" "attest: wrong then right"
assert_contains "$(cat "$PE_LOG")" "SETERROR Wrong PIN (2 tries left before the TPM locks out)" "tries left"
assert_eq 1 "$(da_counter)" "one try spent by the wrong PIN"
agent_stop
tpm2tools tpm2_dictionarylockout -c >/dev/null || fail "clear lockout"
agent_start_fg --pinentry-program="$T/pinentry"

step "decrypt with a PIN key asks its PIN"
pe PIN=1357
run_ok tk gen -t rsa -b 2048 -n dpk --decrypt
echo "secret text" >plain
run_ok sh -c "timeout 60 '$TPM_KEY' encrypt dpk <plain >ct.bin"
run_ok tk forget
pe_reset
run_ok sh -c "timeout 60 '$TPM_KEY' decrypt dpk <ct.bin >out.txt"
assert_eq "secret text" "$(cat out.txt)" "decrypted text"
assert_eq 1 "$(count GETPIN)" "decrypt asked the PIN"
assert_eq 0 "$(da_counter)" "DA counter after decrypt with a PIN key"

step "an always-wrong pinentry that declines the last try: 5 requests, no lockout"
run_ok tk forget
pe_reset
pe PIN=0000 CONFIRM=no
for i in 1 2 3 4 5; do
	sign lk.pub
	assert_ne 0 "$RC" "signature $i with a wrong PIN"
done
assert_eq 2 "$(count GETPIN)" "wrong PINs sent (maxTries 3: the last one is never asked)"
assert_eq 5 "$(count CONFIRM)" "each request asked before the last try"
assert_contains "$(cat "$PE_LOG")" "SETERROR Wrong PIN (2 tries left before the TPM locks out)" "tries left after the 1st"
assert_match "$(cat "$PE_LOG")" "^SETDESC Wrong PIN.*The TPM has 1 try left" "the last-try question after the 2nd"
assert_match "$(cat "$PE_LOG")" "^SETDESC The TPM has 1 try left" "the last-try question of a new request"
assert_eq 2 "$(da_counter)" "DA counter: 2 wrong PINs"
assert_match "$(cat "$T/status")" '^da lockout +no: 1 try' "not in lockout"
assert_match "$(cat "$T/status")" '^last PIN failure +.*declined the last try' "the reason in tpm-key status"
assert_contains "$(cat "$AGENT_LOG")" "declined the last try: no PIN was sent" "the reason in the log"

step "a lockout entered on purpose: the next request fails at once, with no prompt"
pe_reset
pe PIN=0000 CONFIRM=yes
sign lk.pub
assert_ne 0 "$RC" "the last wrong PIN"
assert_eq 1 "$(count GETPIN)" "the confirmed last try was asked"
assert_contains "$(cat "$PE_LOG")" "SETERROR Last try" "the last prompt says so"
pe_reset
# The fastest of three, so that a busy machine's slow process start is not counted.
ms=999999
for try in 1 2 3; do
	t0=$(date +%s%N)
	sign lk.pub
	t1=$(date +%s%N)
	assert_ne 0 "$RC" "signature in lockout"
	[ $(( (t1 - t0) / 1000000 )) -lt "$ms" ] && ms=$(( (t1 - t0) / 1000000 ))
done
[ "$ms" -lt 1000 ] || fail "the request in lockout took $ms ms"
step "  (failed in $ms ms)"
assert_eq 0 "$(count GETPIN)" "no PIN prompt in lockout"
assert_eq 0 "$(count CONFIRM)" "no dialog at all in lockout"
assert_contains "$(tail -3 "$AGENT_LOG")" "tpm2_dictionarylockout --clear-lockout -T $SWTPM_TCTI" "clear command with the TCTI"
assert_match "$(tail -3 "$AGENT_LOG")" "accepted again in (about|at most) [0-9]+ s" "when the lockout ends"
da_counter >/dev/null
assert_match "$(cat "$T/status")" '^da counter +3 wrong PINs counted .*lockout at 3' "status counter"
assert_match "$(cat "$T/status")" '^da recovery time +3600 s per failure' "status recovery time"
assert_match "$(cat "$T/status")" '^da lockout +TPM in dictionary-attack lockout' "status lockout"
assert_match "$(cat "$T/status")" '^da next try in +the TPM forgets one failure in (about|at most) [0-9]+ s' "status next try"
assert_match "$(cat "$T/status")" '^last PIN failure +.*lockout' "status reason"
pe_reset
run_fail tk attest lk -o lk3.att
assert_contains "$ERR" "lockout" "attest in lockout says why"
assert_eq 0 "$(count GETPIN)" "no prompt for attest in lockout"

echo "PASS: $IT_NAME"
