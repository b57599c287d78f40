#!/bin/bash
# What a crashed agent leaves in a TPM without a resource manager (plain swtpm): its
# session and loaded keys stay, and swtpm has room for only three loaded sessions. The
# next agent flushes them at start (status counts them), so kill -9 and restart works
# any number of times. NV indices of ours that hold no certificate (kill -9 between
# TPM2_NV_DefineSpace and the last NV_Write of `tpm-key cert add --nv`) are reclaimed
# at start; someone else's index in the range is left alone.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"
. "$IT_REPO/tests/lib/tpm_proxy.sh"

agent_start_fg
gen_key c-p256 ecdsa 256 alice@laptop
gen_key c-rsa rsa 2048 alice@laptop
echo data >file
sign() { rm -f file.sig; timeout 30 ssh-keygen -Y sign -f "$1.pub" -n git file </dev/null >/dev/null 2>&1; }

for round in 1 2 3 4 5; do
	step "round $round: sign, kill -9 the agent, start a new one"
	sign c-p256 || fail "round $round: signature failed: $(tail -5 "$AGENT_LOG")"
	sign c-rsa || fail "round $round: RSA signature failed: $(tail -5 "$AGENT_LOG")"
	n=$(tpm_handles handles-loaded-session)
	[ "$n" -ge 1 ] || fail "round $round: no session of the agent in the TPM ($n)"
	kill -9 "$SSH_AGENT_PID"
	wait "$SSH_AGENT_PID" 2>/dev/null
	it_wait_gone "$SSH_AGENT_PID" 50 || fail "the agent survived kill -9"
	unset SSH_AGENT_PID
	agent_start_fg
	sign c-p256 || fail "round $round: no signature after the restart: $(tail -5 "$AGENT_LOG")"
	run_ok tk status
	assert_match "$OUT" "tpm leftovers +[1-9][0-9]* sessions, [1-9][0-9]* transient objects flushed" \
		"round $round: status counts the dead agent's session and keys"
done

step "a second agent (another data dir) on the same plain swtpm is refused, naming the first"
# Its start-up clean-up would flush the first agent's session, and the TPM would hand
# the handle out again: the first agent's next command would fail its HMAC and cost a
# dictionary-attack try. tpm2-abrmd is the way to share.
mkdir -m 700 "$T/data2"
da0=$(da_counter)
run_fail env TPM_AGENT_HOME="$T/data2" timeout 60 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/b.sock"
assert_contains "$ERR" "another tpm-agent (pid $SSH_AGENT_PID) uses the TPM at '$SWTPM_TCTI'" \
	"refusal names the running agent"
assert_contains "$ERR" "tabrmd" "the refusal names the remedy"
sign c-p256 || fail "the first agent no longer signs: $(tail -5 "$AGENT_LOG")"
sign c-rsa || fail "the first agent no longer signs with RSA"
assert_eq "$da0" "$(da_counter)" "lockout counter"

step "the TPM holds only what the running agent uses"
n=$(tpm_handles handles-loaded-session)
assert_eq 1 "$n" "loaded sessions (the agent's one)"
n=$(tpm_handles handles-transient)
[ "$n" -le 2 ] || fail "$n transient objects in the TPM (the agent has two keys)"
agent_stop

step "NV leftovers: an index of ours never written, one with garbage, one not ours"
A=0x01800101 B=0x01800202 C=0x01800303
tpm2tools tpm2_nvdefine -C o -s 64 -a "ownerwrite|ownerread|authread|no_da" "$A" >/dev/null ||
	fail "tpm2_nvdefine $A"
tpm2tools tpm2_nvdefine -C o -s 64 -a "ownerwrite|ownerread|authread|no_da" "$B" >/dev/null ||
	fail "tpm2_nvdefine $B"
head -c 64 /dev/urandom >garbage
tpm2tools tpm2_nvwrite -C o -i garbage "$B" || fail "tpm2_nvwrite $B"
tpm2tools tpm2_nvdefine -C o -s 64 -a "ownerwrite|ownerread|authread" "$C" >/dev/null ||
	fail "tpm2_nvdefine $C"
agent_start_fg
run_ok tk status
assert_match "$OUT" "nv leftovers +2 indices without a certificate reclaimed at start, 0 left"
nv=$(tpm2tools tpm2_getcap handles-nv-index)
assert_not_contains "$nv" "$(printf '0x%x' "$A")" "the unwritten index was reclaimed"
assert_not_contains "$nv" "$(printf '0x%x' "$B")" "the garbage index was reclaimed"
assert_contains "$nv" "$(printf '0x%x' "$C")" "someone else's index stays"
sign c-p256 || fail "no signature after the NV clean-up"
