#!/bin/bash
# Hierarchy keys (hierarchy-keys = owner:ecdsa256, null:ecdsa256): primaries made from a
# hierarchy's seed with a fixed template, served with no key file. tpm-key gen
# --hierarchy prints them; the owner key is the same after restarts and TPM resets, the
# null key changes at a TPM reset; they sign (also once evicted); a --host agent serves
# one as sshd's host key.
. "$(dirname "$0")/lib.sh"

hpub() { # HIERARCHY [GEN ARGS]: the key line tpm-key gen --hierarchy prints
	run_ok tk gen --hierarchy "$@"
	key_body "$(printf '%s\n' "$OUT" | grep '^ecdsa-sha2-')"
}

step "tpm-key gen --hierarchy: owner and endorsement stable, null its own"
OWNER=$(hpub owner)
[ -n "$OWNER" ] || fail "no owner hierarchy key printed"
assert_eq "$OWNER" "$(hpub owner)" "the owner key is the same every time"
NULLK=$(hpub null)
ENDO=$(hpub endorsement)
assert_ne "$OWNER" "$NULLK" "owner and null keys differ"
assert_ne "$OWNER" "$ENDO" "owner and endorsement keys differ"
P384=$(hpub owner -b 384)
assert_match "$P384" "^ecdsa-sha2-nistp384 " "a P-384 hierarchy key"
run_fail tk gen --hierarchy platform
assert_contains "$ERR" "firmware" "platform refused with the reason"
run_fail ssh-add -L
assert_contains "$OUT" "no identities" "gen --hierarchy serves nothing by itself"

step "hierarchy-keys = owner:ecdsa256, null:ecdsa256 served and signing"
for i in 1 2 3; do gen_key "s$i" ecdsa 256; done
agent_stop
agent_start "--hierarchy-keys=owner:ecdsa256, null:ecdsa256"
run_ok ssh-add -L
assert_contains "$OUT" "$OWNER" "the owner key is served"
assert_contains "$OUT" "$NULLK" "the null key is served"
printf '%s\n' "$OWNER" >owner.pub
printf '%s\n' "$NULLK" >null.pub
for round in 1 2; do # 5 keys over 3 transient slots: evicted and loaded again
	for f in owner.pub s1.pub null.pub s2.pub s3.pub; do sshsig_ok "$f"; done
done
run_ok tk list
assert_contains "$OUT" "owner-ecdsa256" "tpm-key list names the hierarchy key"
run_fail tk rm owner-ecdsa256
assert_contains "$ERR" "hierarchy key" "rm refuses a hierarchy key"
[ -z "$(ls "$TPM_AGENT_HOME/keys" | grep -i owner)" ] || fail "a hierarchy key got a file"

step "after a TPM reset: the owner key is the same, the null key is new"
agent_stop
# A reboot: TPM2_Shutdown(CLEAR), then Startup(CLEAR) is a TPM Reset (the agent's own
# Shutdown(STATE) would make it a TPM Restart, which keeps the null seed, as a resume does).
run_ok tpm2tools tpm2_shutdown -c
swtpm_restart || fail "swtpm did not restart"
agent_start "--hierarchy-keys=owner:ecdsa256,null:ecdsa256"
run_ok ssh-add -L
assert_contains "$OUT" "$OWNER" "owner key survives a TPM reset"
assert_not_contains "$OUT" "$NULLK" "the null key is gone after a TPM reset"
sshsig_ok owner.pub

step "a --host agent serves the owner hierarchy key as sshd's host key"
agent_stop
agent_start_fg --host --hierarchy-keys=owner:ecdsa256
printf '%s\n' "$OWNER" >hostkey.pub
ssh-keygen -q -t ed25519 -N '' -f client </dev/null || fail "ssh-keygen client"
authorize_key "$(cat client.pub)"
SSHD_HOSTKEY_CONFIG="HostKey $T/work/hostkey.pub
HostKeyAgent $AGENT_SOCK"
start_sshd
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$OWNER" >known_hosts
ssh_host_login known_hosts client
[ "$RC" -eq 0 ] || fail "login checking the hierarchy host key failed: $ERR"
assert_contains "$(cat "$AGENT_LOG")" "signed with key 'owner-ecdsa256'" "the agent signed for sshd"
echo ok
