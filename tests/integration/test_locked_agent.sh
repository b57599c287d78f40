#!/bin/bash
# test_locked_agent: after ssh-add -x the agent answers like OpenSSH's: no identities,
# and FAILURE for every other request, every control extension included (the loop
# takes their names from the agent's own "query" answer, so a new one is covered);
# tpm-key commands fail and say the agent is locked; gpg gets ERR for PKSIGN, PKDECRYPT
# and GENKEY. After UNLOCK all is back, the key and the secret intact.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

GSOCK="$GNUPGHOME/S.gpg-agent"
chmod 700 "$GNUPGHOME"
agent_start --gpg
AC="$IT_REPO/tests/lib/agent_client.py"
gen_key lk-key ecdsa 256
printf 'sealed before the lock' >secret.txt
timeout 120 "$TPM_KEY" seal lk-secret --no-pin <secret.txt >/dev/null 2>"$T/.err" ||
	fail "seal: $(cat "$T/.err")"
grip=$(timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "KEYINFO --list" /bye |
	awk '/^S KEYINFO/ {print $3; exit}')
[ -n "$grip" ] || fail "no keygrip from KEYINFO --list"
names=$(python3 "$AC" query "$SSH_AUTH_SOCK") || fail "query: $names"
assert_contains "$names" "rm@tpm-agent" "query answer"

cat >askpass <<'ASK'
#!/bin/sh
echo 'locked tight'
ASK
chmod +x askpass
export SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0
run_ok ssh-add -x

step "every control extension gets FAILURE while locked"
count=0
for name in $names query session-bind@openssh.com; do
	got=$(python3 "$AC" ext "$SSH_AUTH_SOCK" "$name")
	assert_eq 5 "$got" "reply to $name while locked"
	count=$((count + 1))
done
[ "$count" -ge 20 ] || fail "only $count extensions checked: $names"
assert_eq 0 "$(ssh-add -l 2>/dev/null | grep -c SHA256:)" "identities while locked"

step "tpm-key commands fail and say the agent is locked"
for cmd in "list" "status" "rm -f lk-key" "unseal lk-secret" "load lk-key" "gen --no-pin -n lk-new" \
	   "cert list" "forget"; do
	# shellcheck disable=SC2086
	run_fail tk $cmd
	assert_contains "$ERR" "locked" "tpm-key $cmd while locked"
done
RC=0; timeout 60 "$TPM_KEY" seal lk-other --no-pin <secret.txt >/dev/null 2>"$T/.err" || RC=$?
[ "$RC" -ne 0 ] || fail "tpm-key seal worked while locked"

step "gpg: PKSIGN, PKDECRYPT and GENKEY are refused while locked"
out=$(timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "SIGKEY $grip" \
	"SETHASH 8 0000000000000000000000000000000000000000000000000000000000000000" PKSIGN /bye)
assert_contains "$out" "ERR" "SIGKEY/PKSIGN while locked"
assert_not_contains "$out" "sig-val" "PKSIGN while locked"
for cmd in PKSIGN PKDECRYPT GENKEY "PASSWD $grip"; do
	out=$(timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "$cmd" /bye)
	assert_contains "$out" "locked" "gpg $cmd while locked"
done

step "unlock: keys, the secret and control commands are back"
run_ok ssh-add -X
assert_contains "$(agent_fps)" "$FP" "identities after unlock"
run_ok tk unseal lk-secret
assert_eq "sealed before the lock" "$OUT" "the secret after unlock"
[ -f "$TPM_AGENT_HOME/keys/lk-key.tss" ] || fail "the key file is gone"
[ ! -e "$TPM_AGENT_HOME/keys/lk-new.tss" ] || fail "gen made a key while locked"
[ ! -e "$TPM_AGENT_HOME/sealed/lk-other.tss" ] || fail "seal made an object while locked"
