#!/bin/bash
# test_srk_pin: the pinned SRK (issue 13). The agent talks to swtpm through
# tests/lib/tpm_proxy.py, a TPM-bus interposer. A fresh data dir pins the SRK's name at
# the first start (checked against tpm2_readpublic); `tpm-key init` proves, with the
# EK certificate swtpm_setup wrote, that the SRK lives in that TPM. When the interposer
# substitutes its own key in ReadPublic, at start or at a reconnect, the agent refuses
# the TPM with both names and the remedy, and the interposer sees no StartAuthSession,
# Create, Load, Sign or Unseal: no secret crosses. After a deliberate change of the SRK
# (a TPM clear) the agent refuses until `tpm-key init --repin`, which pins the new
# name; new keys then work, and the key made under the old SRK is marked unusable (its
# origin record names the old SRK) and no longer offered. An EK certificate for another key makes the
# EK proof fail, and the record and tpm-key status say so.
IT_NO_TPM=1
. "$(dirname "$0")/lib.sh"

CC_STARTAUTH=0x176; CC_CREATE=0x153; CC_LOAD=0x157; CC_SIGN=0x15d; CC_UNSEAL=0x15e
CC_READPUBLIC=0x173

step "an swtpm with an RSA EK certificate (swtpm_setup --create-ek-cert, private local CA)"
EKD="$T/ek"
swtpm_make_ek_state "$EKD" || fail "swtpm_setup: $(tail -5 "$EKD/setup.log")"
SWTPM_STATE_FROM="$EKD/state" swtpm_start || fail "swtpm with the EK state"
REAL_TCTI=$SWTPM_TCTI

# ---------------------------------------------------------------- the interposer

PROXY_CTL="$T/proxy.ctl"
PROXY_PID=
. "$IT_REPO/tests/lib/tpm_proxy.sh"
proxy_stop() {
	[ -n "$PROXY_PID" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	it_wait_gone "$PROXY_PID" 50 || kill -9 "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}
it_on_exit proxy_stop
# proxy REQUEST...: one control line; the answer in $PROXY_ANSWER (fails on "err").
proxy() {
	PROXY_ANSWER=$(printf '%s\n' "$*" | timeout 10 socat -t 5 - UNIX-CONNECT:"$PROXY_CTL") ||
		fail "proxy control: $*"
	case "$PROXY_ANSWER" in ok*) ;; *) fail "proxy: $*: $PROXY_ANSWER" ;; esac
}
# proxy_count CC: commands with that code seen since the last reset.
proxy_count() { proxy count "$1"; printf '%s' "${PROXY_ANSWER#ok }"; }
# assert_no_secrets WHAT: the interposer saw no command that starts a salted session
# or carries a key, a PIN or a sealed secret.
assert_no_secrets() {
	local cc
	for cc in $CC_STARTAUTH $CC_CREATE $CC_LOAD $CC_SIGN $CC_UNSEAL; do
		assert_eq 0 "$(proxy_count $cc)" "$1: commands with code $cc crossed the bus"
	done
}

proxy_spawn
SWTPM_TCTI=$PROXY_TCTI   # the agent goes through the interposer
PIN_FILE="$TPM_AGENT_HOME/srk-pins"

# real_srk_name: the SRK's name as tpm2-tools reads it from swtpm itself (no agent then).
real_srk_name() {
	TPM2TOOLS_TCTI="$REAL_TCTI" timeout 60 tpm2_readpublic -c 0x81000001 -n "$T/srk.name" \
		>/dev/null 2>&1 || fail "tpm2_readpublic of the SRK"
	od -An -v -tx1 "$T/srk.name" | tr -d ' \n'
}
pinned_name() { awk '$1 == "0x81000001" { print $2 }' "$PIN_FILE"; }

step "a fresh data dir pins the SRK at the first start"
[ -e "$PIN_FILE" ] && fail "a pin file before the first start"
agent_start_fg
run_ok tk status
[ -f "$PIN_FILE" ] || fail "no $PIN_FILE after the first start"
assert_mode "$PIN_FILE" 600
PIN1=$(pinned_name)
assert_match "$PIN1" '^000b[0-9a-f]{64}$' "pinned name"
assert_match "$OUT" "srk pin +matches: name $PIN1" "status shows the pin"
assert_contains "$(cat "$AGENT_LOG")" "pinned the SRK at 0x81000001: name $PIN1"
gen_key k1 ecdsa 256
printf 'hello\n' >msg
run_ok ssh-keygen -Y sign -f k1.pub -n test msg
printf "sealed-secret" >s1.txt
run_ok timeout 120 "$TPM_KEY" seal s1 --no-pin <s1.txt

step "tpm-key init proves with the EK certificate that the SRK lives in this TPM"
run_ok tk init
assert_contains "$OUT" "EK proof: the SRK lives in the TPM holding the EK certified by"
PROOF="$TPM_AGENT_HOME/srk-proof"
[ -f "$PROOF" ] || fail "no proof record"
assert_mode "$PROOF" 600
assert_contains "$(cat "$PROOF")" "srk-name $PIN1"
assert_contains "$(cat "$PROOF")" "result ok"
run_ok tk status
assert_match "$OUT" "srk ek proof +ok at .*SRK name $PIN1" "status shows the proof"
agent_stop
assert_eq "$PIN1" "$(real_srk_name)" "the pinned name is the one tpm2_readpublic computes"
CERT_SHA=$(TPM2TOOLS_TCTI="$REAL_TCTI" timeout 60 tpm2_nvread 0x01c00002 2>/dev/null | sha256sum | cut -d' ' -f1)
assert_contains "$(cat "$PROOF")" "ek-cert-sha256 $CERT_SHA" "proof names the EK certificate"

step "the interposer substitutes its key in ReadPublic at start: refused, nothing secret sent"
FAKE=$(openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl ec -pubout -outform DER 2>/dev/null | tail -c 64 | od -An -v -tx1 | tr -d ' \n')
assert_match "$FAKE" '^[0-9a-f]{128}$' "a P-256 point for the interposer"
proxy arm srk $CC_READPUBLIC 1000 "$FAKE"
proxy reset
: >"$AGENT_LOG"
agent_start_fg
run_ok tk status
assert_contains "$OUT" "refusing this TPM"
assert_contains "$OUT" "pinned name is $PIN1"
GOT=$(grep -o 'has name [0-9a-f]*' "$AGENT_LOG" | head -1 | cut -d' ' -f3)
assert_match "$GOT" '^000b[0-9a-f]{64}$' "the log names the substituted SRK"
assert_ne "$PIN1" "$GOT" "the substituted name"
assert_contains "$(cat "$AGENT_LOG")" "tpm-key init --repin" "the remedy is logged"
rm -f msg.sig
run_fail ssh-keygen -Y sign -f k1.pub -n test msg
run_fail tk unseal s1
assert_contains "$ERR" "refusing this TPM"
run_fail tk gen --no-pin -t ecdsa -n k2
assert_contains "$ERR" "pinned name is $PIN1"
run_fail tk init
assert_contains "$ERR" "tpm-key init --repin"
assert_eq 1 "$([ "$(proxy_count $CC_READPUBLIC)" -ge 1 ] && echo 1)" "ReadPublic went through"
assert_no_secrets "after the substitution at start"
assert_eq "$PIN1" "$(pinned_name)" "the pin is unchanged"
agent_stop
proxy disarm

step "the same substitution at a reconnect: refused, nothing secret sent"
agent_start_fg
run_ok ssh-keygen -Y sign -f k1.pub -n test msg
rm -f msg.sig
proxy arm srk $CC_READPUBLIC 1000 "$FAKE"
proxy arm close $CC_SIGN 1
proxy reset
run_fail ssh-keygen -Y sign -f k1.pub -n test msg
rm -f msg.sig
run_fail ssh-keygen -Y sign -f k1.pub -n test msg
run_fail tk unseal s1
assert_contains "$ERR" "refusing this TPM"
assert_eq 1 "$(proxy_count $CC_SIGN)" "only the sign the interposer dropped was sent"
assert_eq 0 "$(proxy_count $CC_STARTAUTH)" "StartAuthSession after the reconnect"
assert_eq 0 "$(proxy_count $CC_UNSEAL)" "Unseal after the reconnect"
assert_eq 0 "$(proxy_count $CC_CREATE)" "Create after the reconnect"
run_ok tk status
assert_contains "$OUT" "pinned name is $PIN1"
agent_stop
proxy disarm

step "a deliberate change (a TPM clear: a new owner seed, so a new SRK): refused until --repin"
run_ok tpm2tools env TPM2TOOLS_TCTI="$REAL_TCTI" tpm2_clear -c p
proxy reset
: >"$AGENT_LOG"
agent_start_fg
run_fail tk gen --no-pin -t ecdsa -n k2
assert_contains "$ERR" "the pinned SRK at 0x81000001 is gone"
assert_no_secrets "with the pinned SRK gone"
run_ok tk init --repin
assert_contains "$OUT" "re-pinned the SRK at 0x81000001: name"
assert_contains "$OUT" "EK proof: the SRK lives in the TPM holding the EK"
PIN2=$(pinned_name)
assert_match "$PIN2" '^000b[0-9a-f]{64}$' "the new pin"
[ "$PIN2" != "$PIN1" ] || fail "the new SRK has the old name: the clear did not change the seed"
assert_contains "$OUT" "$PIN2"
gen_key k2 ecdsa 256
run_ok ssh-keygen -Y sign -f k2.pub -n test msg
run_ok tk status
assert_match "$OUT" "srk pin +matches: name $PIN2"
step "k1, made under the old SRK, is marked and no longer offered; k2 is"
assert_contains "$(cat "$TPM_AGENT_HOME/keys/k1.origin")" "srk-name $PIN1" "k1's origin record"
assert_contains "$(cat "$TPM_AGENT_HOME/keys/k2.origin")" "srk-name $PIN2" "k2's origin record"
assert_contains "$(cat "$TPM_AGENT_HOME/keys/k2.origin")" "origin generated"
run_ok ssh-add -l
assert_contains "$OUT" "k2@it" "k2 offered"
assert_not_contains "$OUT" "k1@it" "k1 (old SRK) offered"
run_ok tk list
assert_match "$(printf '%s\n' "$OUT" | grep '^k1 ')" "unusable: not this TPM's SRK" "list marks k1"
assert_not_contains "$(printf '%s\n' "$OUT" | grep '^k2 ')" "unusable" "list marks k2"
run_ok tk list --json
assert_match "$OUT" '"name": "k1",.*"usable": false' "list --json: k1"
assert_match "$OUT" '"name": "k2",.*"usable": true' "list --json: k2"
run_ok tk status
assert_match "$OUT" "keys unusable +1 \(k1\): not made under this TPM's SRK" "status names k1"
assert_contains "$(cat "$AGENT_LOG")" "not offering key 'k1' to ssh: made under SRK ${PIN1:0:16}"
run_ok tk rm -f k1
[ ! -e "$TPM_AGENT_HOME/keys/k1.origin" ] || fail "tpm-key rm left k1.origin"
agent_stop
assert_eq "$PIN2" "$(real_srk_name)" "the re-pinned name is the TPM's"

step "the new pin holds across a restart"
: >"$AGENT_LOG"
agent_start_fg
rm -f msg.sig
run_ok ssh-keygen -Y sign -f k2.pub -n test msg
assert_not_contains "$(cat "$AGENT_LOG")" "refusing this TPM"
agent_stop

step "an EK certificate for another key: the EK proof fails and says so"
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ek.key -outform DER -out other-ek.der \
	-subj /CN=not-this-tpm -days 2 2>/dev/null || fail "openssl req"
ekcert() { TPM2TOOLS_TCTI="$REAL_TCTI" timeout 60 "$@" >/dev/null 2>>"$T/ekcert.err"; }
ekcert tpm2_nvundefine -C p 0x01c00002 || fail "nvundefine: $(cat "$T/ekcert.err")"
ekcert tpm2_nvdefine -C p -s "$(stat -c %s other-ek.der)" \
	-a "ppwrite|ppread|ownerread|authread|platformcreate|no_da" 0x01c00002 ||
	fail "nvdefine: $(cat "$T/ekcert.err")"
ekcert tpm2_nvwrite -C p -i other-ek.der 0x01c00002 || fail "nvwrite: $(cat "$T/ekcert.err")"
agent_start_fg
run_ok tk init
assert_contains "$OUT" "EK proof FAILED"
assert_contains "$(cat "$PROOF")" "result FAILED"
assert_contains "$(cat "$PROOF")" "CN=not-this-tpm"
run_ok tk status
assert_match "$OUT" "srk ek proof +FAILED" "status shows the failed proof"
assert_match "$OUT" "srk pin +matches: name $PIN2" "the pin stands"
step "a re-pin whose EK proof fails is refused, and the agent then refuses the TPM"
run_fail tk init --repin
assert_contains "$ERR" "failed the EK proof; not re-pinned"
assert_eq "$PIN2" "$(pinned_name)" "the pin file after a refused re-pin"
run_fail tk gen --no-pin -t ecdsa -n k3
assert_contains "$ERR" "failed the EK proof"
agent_stop

step "a pin file others may write is refused by name"
chmod 620 "$PIN_FILE"
run_fail timeout 60 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/bad.sock"
assert_contains "$ERR" "$PIN_FILE is writable by group or others"
chmod 600 "$PIN_FILE"
echo "test_srk_pin: ok"
