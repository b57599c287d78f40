#!/bin/bash
# test_gpg_keys: gpg's key management over TPM keys, as gpg-agent would do it.
# GENKEY asks the new passphrase through pinentry (twice; an empty one only after a
# CONFIRM) and KEYINFO tells the truth; gpg --passwd changes the TPM key's PIN; keys are
# named from the user ID and their use; every tpm-key command takes a keygrip;
# DELETE_KEY asks a confirmation (declining keeps the key); sshcontrol decides which gpg
# keys ssh sees; gpg --export-ssh-key keeps working.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

chmod 700 "$GNUPGHOME"
printf 'no-autostart\nagent-program /bin/false\n' >"$GNUPGHOME/gpg.conf"
g() { timeout 120 gpg --no-autostart --batch "$@"; }
GSOCK="$GNUPGHOME/S.gpg-agent"
gca() { timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
grips_of() { g -K --with-keygrip --with-colons "$1" | awk -F: '$1=="grp"{print $10}'; }

. "$IT_REPO/tests/lib/fake_pinentry.sh"
agent_start_fg --gpg --pinentry-program="$T/pinentry"
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"
gen_key plain ecdsa 256

step "GENKEY without loopback asks the new passphrase through pinentry, twice"
pe_reset
PE_EXTRA=()
pe_pins alicepin alicepin
run_ok g --quick-gen-key 'Alice <alice@example.org>' nistp256 sign,cert never
assert_eq 1 "$(grep -c '^SETREPEAT' "$PE_LOG")" "repeat asked"
assert_contains "$(cat "$PE_LOG")" "protect your new key" "gpg-agent's text"
ALICE=$(grips_of alice@example.org | head -1)
run_ok gca "KEYINFO $ALICE"
assert_contains "$OUT" "S KEYINFO $ALICE D - - - P" "KEYINFO: protected"

step "an empty passphrase asks for confirmation; declining asks again"
pe_reset
PE_EXTRA=(CONFIRM=no)
pe_pins '' '' bobpin bobpin
run_ok g --quick-gen-key 'Bob <bob@example.org>' nistp256 sign,cert never
assert_contains "$(cat "$PE_LOG")" "SETDESC You have not entered a passphrase" "confirmation text"
assert_eq 1 "$(grep -c '^CONFIRM' "$PE_LOG")" "one confirmation"
BOB=$(grips_of bob@example.org | head -1)
run_ok gca "KEYINFO $BOB"
assert_contains "$OUT" "S KEYINFO $BOB D - - - P" "declined empty passphrase: protected"
pe_reset
PE_EXTRA=(CONFIRM=yes)
pe_pins '' ''
run_ok g --quick-gen-key 'Carol <carol@example.org>' nistp256 sign,cert never
CAROL=$(grips_of carol@example.org | head -1)
run_ok gca "KEYINFO $CAROL"
assert_contains "$OUT" "S KEYINFO $CAROL D - - - C" "confirmed empty passphrase: no PIN"

step "keys get their name from the user ID at their first use"
echo "note" >msg
pe_reset
pe PIN=alicepin
run_ok g --yes -u alice@example.org --detach-sign -o msg.sig msg
run_ok g --verify msg.sig msg
run_ok tk list
assert_contains "$OUT" "alice@example.org-sign" "signing key named"
pe_reset
pe PIN=alicepin
run_ok g --quick-add-key "$(g --with-colons -K alice@example.org | awk -F: '$1=="fpr"{print $10; exit}')" nistp256 encr never
run_ok g --yes --trust-model always -r alice@example.org --encrypt -o msg.gpg msg
run_ok tk forget
pe_reset
pe PIN=alicepin
run_ok g --yes --decrypt -o msg.out msg.gpg
assert_eq note "$(cat msg.out)" "decrypted"
run_ok tk list
assert_contains "$OUT" "alice@example.org-encr" "encryption subkey named"

step "every tpm-key command takes a keygrip"
run_ok tk pub "$CAROL"
assert_match "$OUT" "^ecdsa-sha2-nistp256 " "pub by keygrip"
lower=$(printf '%s' "$CAROL" | tr 'A-F' 'a-f')
run_ok tk pub "$lower"
run_ok tk load -c "$CAROL"

step "gpg --passwd changes the TPM key's PIN through pinentry"
run_ok tk forget
pe_reset
PE_EXTRA=()
pe_pins alicepin newalice newalice
run_ok g --passwd alice@example.org
grep -q "^SETDESC .*new passphrase" "$PE_LOG" || fail "no new-passphrase dialog: $(cat "$PE_LOG")"
assert_eq 2 "$(grep -c '^GETPIN' "$PE_LOG")" "old PIN, new PIN: the subkey reuses both (gpg's nonces)"
assert_eq 2 "$(grep -c 'PASSWD for pid [0-9]*: key .* has a new PIN' "$AGENT_LOG")" "primary and subkey changed"
run_ok tk forget
run_fail g --yes --pinentry-mode loopback --passphrase alicepin -u alice@example.org --detach-sign -o old.sig msg
run_ok tk forget
run_ok g --yes --pinentry-mode loopback --passphrase newalice -u alice@example.org --detach-sign -o new.sig msg
run_ok g --verify new.sig msg

step "sshcontrol decides which gpg keys ssh sees"
run_ok ssh-add -l
assert_eq 1 "$(printf '%s\n' "$OUT" | wc -l)" "only the tpm-key key: $OUT"
assert_contains "$OUT" "$FP" "the tpm-key key"
printf '# keys for ssh\n%s 0\n!%s\n' "$ALICE" "$CAROL" >"$GNUPGHOME/sshcontrol"
run_ok ssh-add -l
assert_eq 2 "$(printf '%s\n' "$OUT" | wc -l)" "tpm-key key and Alice's: $OUT"
assert_contains "$OUT" "gpg: Alice <alice@example.org>" "Alice's key with its user ID"
run_ok gca "KEYINFO --ssh-list"
assert_contains "$OUT" "S KEYINFO $ALICE D - - - P - - S" "KEYINFO --ssh-list: listed"
assert_contains "$OUT" "S KEYINFO $CAROL D - - - C - - D" "KEYINFO --ssh-list: disabled with !"
assert_not_contains "$OUT" "$BOB" "KEYINFO --ssh-list: only sshcontrol's keys"
run_ok g --export-ssh-key "$(g --with-colons -K alice@example.org | awk -F: '$1=="fpr"{print $10; exit}')!"
assert_match "$OUT" "^ecdsa-sha2-nistp256 " "gpg --export-ssh-key"

step "DELETE_KEY asks a confirmation; declining keeps the key"
pe_reset
pe CONFIRM=no
run_ok gca "DELETE_KEY $CAROL"
assert_contains "$OUT" "ERR" "declined"
assert_contains "$(cat "$PE_LOG")" "SETOK Delete key" "gpg-agent's button"
run_ok tk list
assert_contains "$OUT" "carol@example.org-sign" "key kept"
pe_reset
pe CONFIRM=yes
run_ok gca "DELETE_KEY $CAROL"
assert_not_contains "$OUT" "ERR" "confirmed"
run_ok tk list
assert_not_contains "$OUT" "carol" "tpm-key list agrees"
run_fail tk pub "$CAROL"
run_ok g --yes --delete-secret-keys "$(g --with-colons -K bob@example.org | awk -F: '$1=="fpr"{print $10; exit}')"
run_fail g -K bob@example.org
assert_contains "$ERR" "No secret key" "gpg --delete-secret-keys --yes (DELETE_KEY --force)"
run_ok tk list
assert_not_contains "$OUT" "bob@" "tpm-key list agrees"
[ -z "$(ls -A "$GNUPGHOME/private-keys-v1.d" 2>/dev/null)" ] || fail "private-keys-v1.d not empty"

assert_not_contains "$(cat "$AGENT_LOG")" "alicepin" "PIN in the log"
echo ok
