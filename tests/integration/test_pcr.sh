#!/bin/bash
# PCR-bound keys (issue 7):
#  - a key bound to PCR 16 signs, and after `tpm2_pcrextend 16` is refused with a message
#    naming PCR 16 (not a PIN failure);
#  - its key file carries the policy as draft-bottomley-tpm2-keys says, and tpm2-tools
#    (PolicyPCR in a policy session) signs with the key file's blobs before the extend
#    (tpm2-openssl 1.1 runs no key policies at all, so it cannot be the witness);
#  - a --pcr-authorized key refused after the extend works again after tpm-key pcr-seal;
#  - platform-policy = yes + pcr-selection bind new keys by default.
# PCR 16 is resettable at locality 0: tpm2_pcrreset 16 between cases. The swtpm serves one
# client at a time, so the agent is stopped while tpm2-tools use it.
. "$(dirname "$0")/lib.sh"
KEYS="$TPM_AGENT_HOME/keys"
EXTEND=sha256=$(printf 'a%.0s' $(seq 64))

# sign_with NAME: an SSH signature with the key through the agent; $RC its status.
sign_with() {
	rm -f data.sig
	RC=0
	ssh-keygen -Y sign -f "$1.pub" -n test data >"$T/.out" 2>"$T/.err" || RC=$?
	ERR=$(cat "$T/.err")
}

# verify_with NAME: the signature made by sign_with verifies with the key's public key.
verify_with() {
	printf 'me %s\n' "$(cat "$1.pub")" >signers
	run_ok ssh-keygen -Y verify -f signers -I me -n test -s data.sig <data
}

# PCR 16 changed / back to zeros, while the agent is stopped.
extend_pcr16() {
	agent_stop
	run_ok tpm2tools tpm2_pcrextend "16:$EXTEND"
	agent_start_fg
}
reset_pcr16() {
	agent_stop
	run_ok tpm2tools tpm2_pcrreset 16
	agent_start_fg
}

head -c 300 /dev/urandom >data
# In the foreground (-D -d) the agent's log lines, refusals included, land in $AGENT_LOG.
agent_stop
agent_start_fg

step "gen --pcr 16: the key signs in the state it was made for"
run_ok tk gen --no-pin -n bound --pcr 16 -C bound@it
printf '%s\n' "$(printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ')" >bound.pub
sign_with bound
[ "$RC" -eq 0 ] || fail "a PCR-bound key did not sign before the extend: $ERR $(tail -3 "$AGENT_LOG")"
verify_with bound
[ -f "$KEYS/bound.pcr" ] || fail "no $KEYS/bound.pcr with the values the key was made for"

step "the key file records PolicyPCR (command 0x17F) with the selection and pcrDigest"
asn=$(openssl asn1parse -in "$KEYS/bound.tss" 2>&1) || fail "asn1parse: $asn"
assert_contains "$asn" "cont [ 1 ]" "policy field [1]"
assert_match "$asn" 'INTEGER +:017F$' "TPM_CC_PolicyPCR in the policy"
# commandPolicy: TPML_PCR_SELECTION {count 1, sha256, 3 bytes, PCR 16} then 32 bytes.
assert_match "$asn" '\[HEX DUMP\]:00000001000B03000001[0-9A-F]{64}$' "PolicyPCR commandPolicy"
assert_not_contains "$asn" "cont [ 3 ]" "no authPolicy for a plain PCR key"

step "tpm2-tools runs the file's policy (PolicyPCR) and signs with its blobs"
agent_stop
pub_hex=$(printf '%s\n' "$asn" | grep 'OCTET STRING' | tail -2 | head -1 | sed 's/.*\[HEX DUMP\]://')
priv_hex=$(printf '%s\n' "$asn" | grep 'OCTET STRING' | tail -1 | sed 's/.*\[HEX DUMP\]://')
printf '%s' "$pub_hex" | xxd -r -p >k.pub
printf '%s' "$priv_hex" | xxd -r -p >k.priv
run_ok tpm2tools tpm2_load -C 0x81000001 -u k.pub -r k.priv -c k.ctx
run_ok tpm2tools tpm2_startauthsession --policy-session -S sess.ctx
run_ok tpm2tools tpm2_policypcr -S sess.ctx -l sha256:16 -L tools.policy
run_ok tpm2tools tpm2_sign -c k.ctx -p session:sess.ctx -g sha256 -o tools.sig data
run_ok tpm2tools tpm2_flushcontext sess.ctx
run_ok tpm2tools tpm2_flushcontext -t
[ -s tools.sig ] || fail "tpm2_sign made no signature with the policy session"

step "after tpm2_pcrextend 16 the key is refused, naming PCR 16"
run_ok tpm2tools tpm2_pcrextend "16:$EXTEND"
agent_start_fg
mark=$(wc -l <"$AGENT_LOG")
sign_with bound
[ "$RC" -ne 0 ] || fail "a PCR-bound key signed after PCR 16 changed"
log=$(tail -n "+$((mark + 1))" "$AGENT_LOG")
assert_contains "$log" "PCR 16 (sha256) changed" "refusal names PCR 16"
assert_not_contains "$log" "Wrong PIN" "a PCR mismatch is no PIN failure"
run_ok tk status
assert_match "$OUT" '^da counter +0 wrong PINs counted' "DA counter after the refusal"
assert_match "$OUT" '^da lockout +no: ' "no lockout after the refusal"

step "tpm2_pcrreset 16: the key signs again"
reset_pcr16
sign_with bound
[ "$RC" -eq 0 ] || fail "the key did not sign after PCR 16 was reset: $ERR"
verify_with bound

step "--pcr-authorized: refused after the extend, works again after pcr-seal"
run_ok tk gen --no-pin -n upd --pcr 16 --pcr-authorized -C upd@it
printf '%s\n' "$(printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ')" >upd.pub
[ -f "$KEYS/upd-policy-signer.tss" ] || fail "no policy signer key upd-policy-signer"
asn=$(openssl asn1parse -in "$KEYS/upd.tss")
assert_match "$asn" 'INTEGER +:016A$' "TPM_CC_PolicyAuthorize in the policy"
assert_contains "$asn" "cont [ 3 ]" "authPolicy holds the first signed policy"
sign_with upd
[ "$RC" -eq 0 ] || fail "the authorised key did not sign in its first state: $ERR $(tail -3 "$AGENT_LOG")"
verify_with upd
extend_pcr16
mark=$(wc -l <"$AGENT_LOG")
sign_with upd
[ "$RC" -ne 0 ] || fail "an authorised key signed in a state nobody approved"
assert_contains "$(tail -n "+$((mark + 1))" "$AGENT_LOG")" "PCR 16 (sha256) changed" \
	"authorised key's refusal names PCR 16"
run_ok tk pcr-seal upd
assert_contains "$OUT" "2 signed policies kept" "pcr-seal note"
sign_with upd
[ "$RC" -eq 0 ] || fail "the key did not sign after pcr-seal: $ERR $(tail -3 "$AGENT_LOG")"
verify_with upd
step "the older approved state still works (policies are tried in order)"
reset_pcr16
sign_with upd
[ "$RC" -eq 0 ] || fail "the first sealed state no longer works: $ERR"
step "pcr-seal refuses a key without --pcr-authorized"
run_fail tk pcr-seal bound
assert_contains "$ERR" "not made with --pcr-authorized" "pcr-seal on a plain PCR key"

step "the policies survive an agent restart (read back from the files)"
agent_stop
agent_start_fg
sign_with upd
[ "$RC" -eq 0 ] || fail "authorised key after restart: $ERR"
sign_with bound
[ "$RC" -eq 0 ] || fail "PCR key after restart: $ERR"

step "platform-policy = yes binds new keys to pcr-selection; --no-pcr opts out"
agent_stop
printf 'platform-policy = yes\npcr-selection = sha256:16\n' >"$XDG_CONFIG_HOME/tpm-agent.conf"
mkdir -p "$XDG_CONFIG_HOME/tpm-agent"
mv "$XDG_CONFIG_HOME/tpm-agent.conf" "$XDG_CONFIG_HOME/tpm-agent/config"
agent_start_fg
run_ok tk gen --no-pin -n dflt
run_ok tk gen --no-pin -n free --no-pcr
assert_match "$(openssl asn1parse -in "$KEYS/dflt.tss")" 'INTEGER +:017F$' "default-bound key"
assert_not_contains "$(openssl asn1parse -in "$KEYS/free.tss")" "cont [ 1 ]" "--no-pcr key"
run_fail "$TPM_AGENT" --check-config --pcr-selection=0,99
assert_contains "$ERR" "pcr-selection" "a bad pcr-selection is refused"

step "PIN + PCR: the policy is PolicyPCR then PolicyAuthValue; both are needed"
agent_stop
rm -f "$XDG_CONFIG_HOME/tpm-agent/config"
printf '#!/bin/sh\nFAKE_PINENTRY_PIN=$(cat "%s")\nFAKE_PINENTRY_LOG="%s"\nexport FAKE_PINENTRY_PIN FAKE_PINENTRY_LOG\nexec "%s" "$@"\n' \
	"$T/pin" "$T/pe.log" "$IT_REPO/tests/pinentry/fake-pinentry" >"$T/pinentry"
chmod +x "$T/pinentry"
start_pin() { agent_start_fg --pinentry-program="$T/pinentry" --pin-cache-ttl=0; }
echo 1234 >"$T/pin"
start_pin
run_ok tk gen -n pinpcr --pcr 16 -C pinpcr@it
printf '%s\n' "$(printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ')" >pinpcr.pub
asn=$(openssl asn1parse -in "$KEYS/pinpcr.tss")
assert_match "$asn" 'INTEGER +:017F$' "PolicyPCR in a PIN key's policy"
assert_match "$asn" 'INTEGER +:016B$' "PolicyAuthValue in a PIN key's policy"
sign_with pinpcr
[ "$RC" -eq 0 ] || fail "PIN + PCR key with the right PIN: $ERR $(tail -3 "$AGENT_LOG")"
verify_with pinpcr
echo 9999 >"$T/pin"
sign_with pinpcr
[ "$RC" -ne 0 ] || fail "PIN + PCR key signed with a wrong PIN"
echo 1234 >"$T/pin"
agent_stop
run_ok tpm2tools tpm2_pcrextend "16:$EXTEND"
start_pin
mark=$(wc -l <"$AGENT_LOG")
: >"$T/pe.log"
sign_with pinpcr
[ "$RC" -ne 0 ] || fail "PIN + PCR key signed with the right PIN after PCR 16 changed"
log=$(tail -n "+$((mark + 1))" "$AGENT_LOG")
assert_contains "$log" "PCR 16 (sha256) changed" "PIN + PCR refusal names PCR 16"
assert_not_contains "$log" "Wrong PIN" "PIN + PCR refusal is no PIN failure"
assert_not_contains "$(cat "$T/pe.log")" "GETPIN" "no PIN asked in the wrong platform state"

step "rm removes the .pcr file too"
run_ok tk rm bound
[ ! -f "$KEYS/bound.pcr" ] || fail "tpm-key rm left $KEYS/bound.pcr"

echo "PASS: $IT_NAME"
