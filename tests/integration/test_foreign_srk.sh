#!/bin/bash
# test_foreign_srk: keys made by another TPM are not offered. A key made with one
# simulator; the agent restarted on a fresh simulator (same data dir): the pinned SRK is
# not there, so ssh-add -l offers nothing, tpm-key list marks the key unusable (and
# list --json says "usable": false), status and the log say why. After `tpm-key init
# --repin` on the new TPM, new keys work and the old one stays unusable: its origin
# record names the old SRK; without a record, its first failed TPM2_Load marks it.
IT_NO_TPM=1   # read by lib.sh: the agents here run their own simulators
. "$(dirname "$0")/lib.sh"

SOCK="$T/foreign.sock"
GSOCK="$T/foreign.gpg"
gca() { timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
# grip NAME: the key's keygrip from tpm-key list --json
grip() {
	run_ok tk list --json
	printf '%s' "$OUT" | python3 -c 'import json, sys
print([k["keygrip"] for k in json.load(sys.stdin)["keys"] if k["name"] == sys.argv[1]][0])' "$1"
}
# start_sim DIR: the agent on the simulator in DIR, in the foreground, logging to $T/DIR.log.
start_sim() {
	rm -f "$SOCK"
	rm -f "$GSOCK"
	"$TPM_AGENT" -D -d --simulator="$T/$1" -a "$SOCK" --gpg --gpg-socket "$GSOCK" </dev/null \
		>/dev/null 2>"$T/$1.log" &
	SIM_PID=$!
	it_on_exit "kill $SIM_PID 2>/dev/null"
	export SSH_AUTH_SOCK="$SOCK"
	it_wait_until 300 sim_answers || fail "agent on $1 does not answer: $(tail -5 "$T/$1.log")"
}
sim_answers() { timeout 10 ssh-add -l >/dev/null 2>&1; [ $? -le 1 ]; }
stop_sim() { kill "$SIM_PID"; it_wait_gone "$SIM_PID" 300 || fail "agent did not stop"; }

step "a key made on simulator A is offered there"
start_sim simA
run_ok tk gen --no-pin -n made-on-a
run_ok ssh-add -l
assert_contains "$OUT" "made-on-a" "offered on its own TPM"
stop_sim

step "on simulator B: not offered, marked in list, explained by status and the log"
start_sim simB
run_fail ssh-add -l
assert_contains "$OUT$ERR" "no identities" "ssh-add -l on another TPM"
run_ok tk list
assert_contains "$OUT" "[unusable: not this TPM's SRK, see tpm-key status]" "list marks the key"
run_ok tk list --json
assert_contains "$OUT" '"usable": false' "list --json"
run_ok tk status
assert_match "$OUT" "keys +1, none usable: their parent is not this TPM's SRK" "status says why"
it_wait_until 100 grep -q "not offering the TPM keys to ssh" "$T/simB.log" ||
	fail "the log does not say why: $(tail -5 "$T/simB.log")"

step "after init --repin on B: the old key stays unusable (its origin record), new keys work"
assert_contains "$(cat "$TPM_AGENT_HOME/keys/made-on-a.origin")" "origin generated"
cp "$TPM_AGENT_HOME/keys/made-on-a.origin" "$T/made-on-a.origin"
run_ok tk init --repin
assert_contains "$OUT" "re-pinned the SRK"
run_ok tk gen --no-pin -n made-on-b
run_ok ssh-add -l
assert_contains "$OUT" "made-on-b" "the new key is offered"
assert_not_contains "$OUT" "made-on-a" "the key made under A's SRK is offered"
run_ok tk list --json
assert_match "$OUT" '"name": "made-on-a",.*"usable": false' "list --json: made-on-a"
assert_match "$OUT" '"name": "made-on-b",.*"origin": "generated",.*"usable": true' "made-on-b"
run_ok tk status
assert_match "$OUT" "keys unusable +1 \(made-on-a\)" "status names the key"
GRIP_A=$(grip made-on-a) GRIP_B=$(grip made-on-b)
assert_match "$GRIP_A $GRIP_B" '^[0-9A-F]{40} [0-9A-F]{40}$' "keygrips"
run_ok gca "HAVEKEY $GRIP_A"
assert_contains "$OUT" "ERR" "gpg HAVEKEY of the key made under A's SRK"
run_ok gca "HAVEKEY $GRIP_B"
assert_eq "OK" "$OUT" "gpg HAVEKEY of the new key"
run_ok gca "KEYINFO --list"
assert_not_contains "$OUT" "$GRIP_A" "gpg KEYINFO --list lists the unusable key"
assert_contains "$OUT" "$GRIP_B" "gpg KEYINFO --list"
stop_sim

step "a key without an origin record: unusable from its first failed load on"
rm "$TPM_AGENT_HOME/keys/made-on-a.origin"
start_sim simB
run_ok ssh-add -l
assert_contains "$OUT" "made-on-a" "without a record, offered until used"
ssh-add -L | grep made-on-a >"$T/a.pub" || fail "no public key for made-on-a"
echo data >"$T/msg"
run_fail ssh-keygen -Y sign -f "$T/a.pub" -n test "$T/msg"
it_wait_until 100 grep -q "key 'made-on-a' is not under this TPM's SRK (TPM2_Load: integrity)" \
	"$T/simB.log" || fail "the log does not say why: $(tail -5 "$T/simB.log")"
run_ok ssh-add -l
assert_not_contains "$OUT" "made-on-a" "offered after its load failed"
run_ok tk list
assert_match "$(printf '%s\n' "$OUT" | grep '^made-on-a ')" "unusable" "list marks it"
stop_sim

echo "PASS: $IT_NAME"
