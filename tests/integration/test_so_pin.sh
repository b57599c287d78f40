#!/bin/bash
# test_so_pin: tpm-key init provisions the SRK and says what it did; with an owner
# authorization set on the TPM (tpm2_changeauth -c owner, while the agent is stopped),
# the agent asks it (SO PIN) through pinentry only when the SRK must be created; a
# wrong SO PIN fails with a message. The owner auth is reset at the end.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

PE_CONF="$T/pe.conf"
PE_LOG="$T/pe.log"
cat >"$T/pinentry" <<EOF
#!/bin/sh
. "$PE_CONF"
exec "$IT_REPO/tests/pinentry/fake-pinentry" "\$@"
EOF
chmod +x "$T/pinentry"
pe() {
	{
		echo "export FAKE_PINENTRY_LOG='$PE_LOG'"
		for kv in "$@"; do printf "export FAKE_PINENTRY_%s='%s'\n" "${kv%%=*}" "${kv#*=}"; done
	} >"$PE_CONF"
}
getpins() { grep -c '^GETPIN' "$PE_LOG" 2>/dev/null || true; }
start() { agent_start_fg --pinentry-program="$T/pinentry"; }
pe PIN=unused
: >"$PE_LOG"

start
step "tpm-key init with the SRK present: nothing to do, no prompt"
run_ok tk init
assert_contains "$OUT" "already present at 0x81000001" "init output"
assert_eq 0 "$(getpins)" "prompts"

step "no owner auth: a new SRK handle is provisioned without a prompt"
run_ok tk init --srk-handle 0x81000005
assert_contains "$OUT" "created the SRK" "init output"
assert_eq 0 "$(getpins)" "prompts"

step "set an owner authorization (SO PIN) with the agent stopped"
agent_stop
tpm2tools tpm2_changeauth -c owner so-secret-1 >/dev/null || fail "tpm2_changeauth -c owner"
it_on_exit 'agent_stop; tpm2tools tpm2_changeauth -c owner -p so-secret-1 >/dev/null 2>&1; tpm2tools tpm2_dictionarylockout -c >/dev/null 2>&1'
pe PIN=so-secret-1
start

step "the SRK is present: no SO PIN asked"
run_ok tk init
assert_contains "$OUT" "already present" "init output"
assert_eq 0 "$(getpins)" "prompts"

step "a new SRK needs the SO PIN: asked through pinentry, then created"
run_ok tk init --srk-handle 0x81000002
assert_contains "$OUT" "created the SRK" "init output"
assert_eq 1 "$(getpins)" "prompts"
assert_contains "$(cat "$PE_LOG")" "SO PIN" "prompt names the SO PIN"

step "a wrong SO PIN fails with a message, after one try"
pe PIN=wrong
run_fail tk init --srk-handle 0x81000003
assert_contains "$ERR" "wrong owner authorization (SO PIN)" "init error"
assert_eq 2 "$(getpins)" "prompts"
assert_not_contains "$(cat "$AGENT_LOG")" "so-secret-1" "SO PIN in the log"

step "certificates in NV RAM with an SO PIN set: asked through pinentry, then stored"
pe PIN=so-secret-1
: >"$PE_LOG"
gen_key so-cert ecdsa 256 alice@laptop
ssh-keygen -q -t ecdsa -b 256 -N '' -C it-ca -f ca </dev/null || fail "ssh-keygen ca"
ssh-keygen -q -s ca -I id-so -n "$(id -un)" -V -5m:+1h so-cert.pub </dev/null >/dev/null 2>&1 ||
	fail "ssh-keygen -s"
run_ok tk cert add so-cert so-cert-cert.pub --nv
assert_contains "$ERR" "NV index 0x018" "stored in NV"
assert_eq 1 "$(getpins)" "one SO PIN prompt for the NV define"
assert_contains "$(cat "$PE_LOG")" "NV RAM needs the TPM owner authorization" "prompt says why"
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 so-cert-cert.pub)" "NV certificate served"

step "cert rm of an NV certificate asks the SO PIN too; a wrong one leaves it in place"
pe PIN=wrong
run_fail tk cert rm so-cert
assert_contains "$ERR" "wrong owner authorization (SO PIN)" "the failure names the cause"
assert_contains "$(ssh-add -L)" "$(cut -d' ' -f2 so-cert-cert.pub)" "still served after a wrong SO PIN"
tpm2tools tpm2_dictionarylockout -c >/dev/null 2>&1 || true
pe PIN=so-secret-1
run_ok tk cert rm so-cert
assert_not_contains "$(ssh-add -L)" "$(cut -d' ' -f2 so-cert-cert.pub)" "removed"

step "the new SRK is persistent; the owner auth is back to empty at the end"
agent_stop
run_ok tpm2tools tpm2_getcap handles-persistent
assert_contains "$OUT" "0x81000002" "persistent handles"
assert_not_contains "$OUT" "0x81000003" "persistent handles"
run_ok tpm2tools tpm2_changeauth -c owner -p so-secret-1
run_ok tpm2tools tpm2_dictionarylockout -c
echo ok
