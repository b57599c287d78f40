#!/bin/bash
# test_fido: FIDO keys through OpenSSH's sk-dummy middleware (regress/misc/sk-dummy,
# built by openssh-build.sh), beyond what agent.sh and sshsig.sh cover: the provider
# allow-list (-P) refuses a provider outside it; a touch notice goes up through
# pinentry (MESSAGE) while the authenticator signs; a key made with verify-required gets
# its PIN through pinentry (cancelled: no signature); an sk key logs in to sshd and
# signs SSHSIG; ssh-add -d removes it. Run by run.sh (needs the OpenSSH build):
#   bash tests/conformance/test_fido.sh OPENSSH_SOURCE_TREE
. "$(dirname "$0")/../integration/lib.sh"

O=${1:?usage: test_fido.sh OPENSSH_SOURCE_TREE}
DUMMY="$O/regress/misc/sk-dummy/sk-dummy.so"
[ -f "$DUMMY" ] || fail "sk-dummy missing: $DUMMY (make regress-binaries)"
export SSH_SK_PROVIDER="$DUMMY" SSH_SK_HELPER="$O/ssh-sk-helper"

cat >"$T/pinentry" <<EOF
#!/bin/sh
FAKE_PINENTRY_LOG="$T/pinentry.log" FAKE_PINENTRY_MODE=\$(cat "$T/pin-mode" 2>/dev/null)
export FAKE_PINENTRY_LOG FAKE_PINENTRY_MODE
exec "$IT_REPO/tests/pinentry/fake-pinentry" "\$@"
EOF
chmod 755 "$T/pinentry"

mkdir -m 700 keys
"$O/ssh-keygen" -q -t ecdsa-sk -N '' -C ec-sk -f keys/ec </dev/null || fail "keygen ecdsa-sk"
"$O/ssh-keygen" -q -t ed25519-sk -N '' -C ed-sk -f keys/ed </dev/null || fail "keygen ed25519-sk"
"$O/ssh-keygen" -q -t ecdsa-sk -O verify-required -N '' -C uv-sk -f keys/uv </dev/null ||
	fail "keygen verify-required"
echo data >file

step "a provider outside allowed-providers is refused"
agent_stop
agent_start_fg -P '/usr/lib/*' --pinentry-program="$T/pinentry"
run_fail "$O/ssh-add" keys/ec
assert_contains "$(cat "$AGENT_LOG")" "is not allowed" "allow-list refusal logged"

step "sk keys sign through ssh-sk-helper with an allowed provider"
agent_stop
agent_start_fg -P "$(dirname "$(realpath "$DUMMY")")/*" --pinentry-program="$T/pinentry"
run_ok "$O/ssh-add" keys/ec keys/ed
for k in ec ed; do
	rm -f file.sig
	run_ok "$O/ssh-keygen" -Y sign -f keys/$k.pub -n file file
	printf 'me %s\n' "$(cat keys/$k.pub)" >allowed
	run_ok "$O/ssh-keygen" -Y verify -f allowed -I me -n file -s file.sig <file
done
grep -q sk-dummy "/proc/$SSH_AGENT_PID/maps" && fail "the middleware is mapped into the agent"
assert_contains "$(cat "$T/pinentry.log")" "Confirm user presence" "touch notice text"
assert_contains "$(cat "$T/pinentry.log")" "MESSAGE" "touch notice shown with MESSAGE"

step "an sk key logs in to sshd"
authorize_key "$(cat keys/ed.pub)"
SSHD_EXTRA_CONFIG="SecurityKeyProvider $DUMMY" start_sshd
ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/keys/ed.pub" \
	-o SecurityKeyProvider="$DUMMY"
assert_eq 0 "$RC" "ed25519-sk login ($ERR)"

step "verify-required: the PIN comes through pinentry; cancelled, nothing is signed"
run_ok "$O/ssh-add" keys/uv
: >"$T/pinentry.log"
rm -f file.sig
run_ok "$O/ssh-keygen" -Y sign -f keys/uv.pub -n file file
assert_contains "$(cat "$T/pinentry.log")" "GETPIN" "pinentry asked for the PIN"
echo cancel >"$T/pin-mode"
rm -f file.sig
run_fail "$O/ssh-keygen" -Y sign -f keys/uv.pub -n file file

step "ssh-add -d removes an sk key"
run_ok "$O/ssh-add" -d keys/ec.pub
run_ok "$O/ssh-add" -L
assert_not_contains "$OUT" "$(cut -d' ' -f2 keys/ec.pub)" "ecdsa-sk removed"
echo "PASS: $IT_NAME"
