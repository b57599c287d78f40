#!/bin/bash
# test_gpg_pin: gpg keys with a PIN. GENKEY with a passphrase (loopback NEW_PASSPHRASE)
# makes a key whose PIN is that passphrase; PKSIGN asks it by INQUIRE PASSPHRASE in
# pinentry-mode loopback (gpg --passphrase), or through pinentry with gpg's SETKEYDESC
# text; a wrong passphrase fails after one TPM try.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

GSOCK="$GNUPGHOME/S.gpg-agent"
chmod 700 "$GNUPGHOME"
printf 'no-autostart\nagent-program /bin/false\n' >"$GNUPGHOME/gpg.conf"
g() { timeout 120 gpg --no-autostart --batch "$@"; }

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
pe PIN=gpgpin1
agent_start_fg --gpg --pinentry-program="$T/pinentry"
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"

step "GENKEY with a loopback passphrase makes a key whose PIN is that passphrase"
run_ok g --pinentry-mode loopback --passphrase gpgpin1 --quick-gen-key 'P <p@example.org>' nistp256
GRIP=$(g -K --with-keygrip --with-colons | awk -F: '$1=="grp"{print $10; exit}')
[ ${#GRIP} -eq 40 ] || fail "no keygrip"
run_ok timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "KEYINFO $GRIP" /bye
assert_contains "$OUT" "S KEYINFO $GRIP D - - - P" "KEYINFO says protected (P)"
[ ! -s "$PE_LOG" ] || fail "loopback GENKEY ran pinentry: $(cat "$PE_LOG")"

echo "hello" >msg
step "PKSIGN in loopback: gpg --passphrase"
run_ok tk forget
run_ok g --yes --pinentry-mode loopback --passphrase gpgpin1 -u p@example.org --detach-sign -o msg.sig msg
run_ok g --verify msg.sig msg
assert_contains "$ERR" "Good signature" "loopback signature"

step "a wrong loopback passphrase fails after one TPM try"
run_ok tk forget
fails_before=$(grep -c "for pid [0-9]*: Wrong PIN" "$AGENT_LOG" || true)
run_fail g --yes --pinentry-mode loopback --passphrase wrong -u p@example.org --detach-sign -o bad.sig msg
assert_eq $((fails_before + 1)) "$(grep -c "for pid [0-9]*: Wrong PIN" "$AGENT_LOG")" "TPM tries for one wrong passphrase"

step "PKSIGN through pinentry shows gpg's key description"
run_ok tk forget
: >"$PE_LOG"
run_ok g --yes -u p@example.org --detach-sign -o msg2.sig msg
run_ok g --verify msg2.sig msg
assert_eq 1 "$(grep -c '^GETPIN' "$PE_LOG")" "prompts"
assert_match "$(cat "$PE_LOG")" "^SETDESC .*OpenPGP" "gpg's SETKEYDESC in the dialog"

step "the cached PIN serves the next signature without a prompt"
run_ok g --yes -u p@example.org --detach-sign -o msg3.sig msg
assert_eq 1 "$(grep -c '^GETPIN' "$PE_LOG")" "prompts after a cached signature"

step "pinentry-mode cancel refuses a PIN key without prompting"
run_ok tk forget
run_fail g --yes --pinentry-mode cancel -u p@example.org --detach-sign -o msg4.sig msg
assert_eq 1 "$(grep -c '^GETPIN' "$PE_LOG")" "prompts in pinentry-mode cancel"

assert_not_contains "$(cat "$AGENT_LOG")" "gpgpin1" "PIN in the log"
echo ok
