#!/bin/bash
# hierarchy = owner | endorsement | null: where the SRK (the parent of our keys) lives.
# null keys sign until the TPM is reset (their primary comes from the null seed, which
# a TPM reset replaces); endorsement keys survive agent restarts; a key made under one
# hierarchy is refused, by name, by an agent running another.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

# The socket exists before the keys are read: wait until the agent says it serves.
start_fg() {
	local served n=0
	served=$(grep -c "serving .* key(s)" "$AGENT_LOG" 2>/dev/null)
	agent_start_fg "$@"
	until [ "$(grep -c "serving .* key(s)" "$AGENT_LOG")" -gt "${served:-0}" ] || [ $n -ge 150 ]; do
		sleep 0.1; n=$((n + 1))
	done
}

echo data >file
sign() {
	rm -f file.sig
	timeout 30 ssh-keygen -Y sign -f "$1.pub" -n git file </dev/null >/dev/null 2>&1 || return 1
	printf 'alice %s\n' "$(cat "$1.pub")" >allowed_signers
	timeout 30 ssh-keygen -Y verify -f allowed_signers -I alice -n git -s file.sig \
		<file >/dev/null 2>&1
}
swtpm_restart() {
	swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$SWTPM_DIR/pid" --daemon ||
		fail "swtpm did not restart"
	SWTPM_PID=$(cat "$SWTPM_DIR/pid")
}

step "hierarchy = null: keys made, signed with and verified"
start_fg --hierarchy null
run_ok tk status
assert_contains "$OUT" "hierarchy" "status shows the hierarchy"
for n in n1 n2 n3 n4; do gen_key "$n" ecdsa 256 alice@laptop; done
grep -q . "$TPM_AGENT_HOME/keys/n1.tss" || fail "no key file"
run_ok openssl asn1parse -in "$TPM_AGENT_HOME/keys/n1.tss"
assert_contains "$OUT" "INTEGER           :40000007" "the key file's parent is TPM2_RH_NULL"

step "hierarchy = null: 4 keys round robin (the transient SRK holds a slot)"
for round in 1 2; do
	for n in n1 n2 n3 n4; do
		sign "$n" || fail "round $round: $n did not sign: $(tail -3 "$AGENT_LOG")"
	done
done
agent_stop

step "hierarchy = owner: a key made; the null keys are refused by name"
start_fg
assert_contains "$(cat "$AGENT_LOG")" \
	"key 'n1' was made under the null hierarchy (parent 0x40000007); this agent runs with hierarchy = owner"
gen_key o1 ecdsa 256 alice@laptop
sign o1 || fail "owner key did not sign"
assert_not_contains "$(ssh-add -l)" "$(fp_of n1.pub)" "a null key is not offered by an owner agent"
agent_stop

step "hierarchy = endorsement: the owner SRK's handle is refused clearly"
run_fail timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$T/e.sock" -D --hierarchy endorsement
assert_contains "$ERR" "the SRK at 0x81000001 is not a primary of the endorsement hierarchy" \
	"owner SRK refused"

step "hierarchy = endorsement: gen + sign, and the key survives an agent restart"
start_fg --hierarchy endorsement --srk-handle 0x81010001
assert_contains "$(cat "$AGENT_LOG")" \
	"key 'o1' was made under the owner hierarchy (parent 0x81000001); this agent runs with hierarchy = endorsement"
gen_key e1 ecdsa 256 alice@laptop
gen_key e2 rsa 2048 alice@laptop
sign e1 || fail "endorsement key did not sign"
agent_stop
start_fg --hierarchy endorsement --srk-handle 0x81010001
sign e1 || fail "endorsement key did not sign after an agent restart"
sign e2 || fail "endorsement RSA key did not sign after an agent restart"
agent_stop

step "hierarchy = owner refuses the endorsement keys by name"
start_fg
assert_contains "$(cat "$AGENT_LOG")" \
	"key 'e1' was made under the endorsement hierarchy (parent 0x4000000b); this agent runs with hierarchy = owner"
sign o1 || fail "owner key did not sign after the others"
agent_stop

step "hierarchy = null: the keys still sign until the TPM resets"
start_fg --hierarchy null
sign n3 || fail "null key did not sign in a new agent before a TPM reset"
agent_stop

step "TPM reset (swtpm restarted with startup-clear): the null keys no longer load"
# A reboot: TPM2_Shutdown(CLEAR), then Startup(CLEAR) is a TPM Reset (the agent's own
# Shutdown(STATE) would make it a TPM Restart, which keeps the null seed).
run_ok tpm2tools tpm2_shutdown -c
kill -9 "$SWTPM_PID"
it_wait_gone "$SWTPM_PID" 50 || fail "swtpm did not die"
swtpm_restart
start_fg --hierarchy null
sign n1 && fail "a null-hierarchy key signed after a TPM reset"
assert_contains "$(cat "$AGENT_LOG")" "null-hierarchy keys stop loading then" \
	"the log says why the null key no longer loads"
step "new null keys work again after the reset"
gen_key n5 ecdsa 256 alice@laptop
sign n5 || fail "a fresh null key did not sign after the reset"
agent_stop
start_fg --srk-handle 0x81010001 --hierarchy endorsement
sign e1 || fail "endorsement key did not sign after the TPM reset"
agent_stop
echo "PASS: $IT_NAME"
