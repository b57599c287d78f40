#!/bin/bash
# test_gpg_import: `gpg --import` of secret keys moves them into the TPM. A stock
# gpg-agent in a private GNUPGHOME makes an RSA key (RSA subkey) and an ECDSA key (ECDH
# subkey) and exports them; tpm-agent imports them (KEYWRAP_KEY, IMPORT_KEY: OpenPGP
# S2K, checksum, TPM2_Import), in loopback mode and through pinentry with a new PIN;
# gpg then signs and decrypts with them. Ed25519 is refused, no private key material
# is left in private-keys-v1.d or the agent's data dir, EXPORT_KEY is refused.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

chmod 700 "$GNUPGHOME"
printf 'no-autostart\nagent-program /bin/false\n' >"$GNUPGHOME/gpg.conf"
g() { timeout 120 gpg --no-autostart --batch "$@"; }

STOCK="$T/stock"
mkdir -m 700 "$STOCK"
printf 'allow-loopback-pinentry\n' >"$STOCK/gpg-agent.conf"
sg() { timeout 120 gpg --homedir "$STOCK" --batch --pinentry-mode loopback --passphrase stockpw "$@"; }
step "a stock gpg-agent in a private GNUPGHOME makes the keys"
timeout 30 gpg-agent --homedir "$STOCK" --daemon >/dev/null 2>"$T/stock-agent.log" ||
	fail "stock gpg-agent: $(cat "$T/stock-agent.log")"
STOCK_PID=$(timeout 10 gpg-connect-agent --homedir "$STOCK" --no-autostart 'GETINFO pid' /bye |
	sed -n 's/^D //p')
[ -n "$STOCK_PID" ] || fail "stock gpg-agent pid"
it_on_exit "kill $STOCK_PID"
run_ok sg --quick-gen-key 'Rsa User <rsa@example.org>' rsa2048 sign,cert never
RSA_FPR=$(sg --with-colons -K rsa@example.org | awk -F: '$1=="fpr"{print $10; exit}')
run_ok sg --quick-add-key "$RSA_FPR" rsa2048 encr never
run_ok sg --quick-gen-key 'Ec User <ec@example.org>' nistp256 sign,cert never
EC_FPR=$(sg --with-colons -K ec@example.org | awk -F: '$1=="fpr"{print $10; exit}')
run_ok sg --quick-add-key "$EC_FPR" nistp256 encr never
run_ok sg --quick-gen-key 'Ed User <ed@example.org>' ed25519 sign,cert never
for who in rsa ec ed; do
	sg --armor --export-secret-keys "$who@example.org" >"$who.sec" || fail "export $who"
	sg --armor --export "$who@example.org" >"$who.pub"
done
grep -q "PRIVATE KEY BLOCK" rsa.sec || fail "no secret key exported"

. "$IT_REPO/tests/lib/fake_pinentry.sh"
pe_reset
pe PIN=unused
agent_start_fg --gpg --pinentry-program="$T/pinentry"
GSOCK=$(gpgconf --list-dirs agent-socket)
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"

step "RSA key and RSA subkey imported in loopback mode (the PIN is the passphrase)"
run_ok g --pinentry-mode loopback --passphrase stockpw --import rsa.sec
assert_contains "$ERR" "secret keys imported: 1" "gpg import summary"
run_ok g -K --with-keygrip --with-colons rsa@example.org
RSA_GRIPS=$(printf '%s\n' "$OUT" | awk -F: '$1=="grp"{print $10}')
assert_eq 2 "$(printf '%s\n' "$RSA_GRIPS" | wc -l)" "keygrips of the RSA key"
for grip in $RSA_GRIPS; do
	run_ok tk pub "$grip"   # tpm-key takes a keygrip for a name
	run_ok timeout 30 gpg-connect-agent --no-autostart "KEYINFO $grip" /bye
	assert_contains "$OUT" "S KEYINFO $grip D - - - P" "imported key has a PIN"
done
[ -z "$(ls -A "$GNUPGHOME/private-keys-v1.d" 2>/dev/null)" ] ||
	fail "private key files in $GNUPGHOME/private-keys-v1.d: $(ls "$GNUPGHOME/private-keys-v1.d")"

echo "move me to the TPM" >msg
step "gpg signs and decrypts with the imported RSA key"
run_ok g --yes --pinentry-mode loopback --passphrase stockpw -u rsa@example.org --detach-sign -o msg.sig msg
run_ok g --verify msg.sig msg
assert_contains "$ERR" 'Good signature from "Rsa User <rsa@example.org>"' "RSA signature"
run_ok g --yes --trust-model always -r rsa@example.org --encrypt -o msg.rsa.gpg msg
run_ok g --yes --pinentry-mode loopback --passphrase stockpw --decrypt -o msg.rsa.out msg.rsa.gpg
assert_eq "$(cat msg)" "$(cat msg.rsa.out)" "RSA decryption"
run_ok tk list
assert_contains "$OUT" "rsa@example.org-sign" "the primary named after its use"
assert_contains "$OUT" "rsa@example.org-encr" "the subkey named after its use"

step "ECDSA key and ECDH subkey imported through pinentry: passphrase, then a new PIN"
pe_reset
PE_EXTRA=()
pe_pins stockpw ecpin1 ecpin1
run_ok g --import ec.sec
assert_contains "$ERR" "secret keys imported: 1" "gpg import summary"
assert_eq 2 "$(grep -c '^GETPIN' "$PE_LOG")" "dialogs: passphrase, new PIN (the subkey reuses both)"
assert_eq 1 "$(grep -c '^SETREPEAT' "$PE_LOG")" "the new PIN is asked twice"
assert_contains "$(cat "$PE_LOG")" "SETDESC Please enter the passphrase to import" "gpg's import text"
run_ok tk list
assert_contains "$OUT" "ec@example.org-sign" "ECDSA key named from the user ID"
assert_contains "$OUT" "ec@example.org-encr" "ECDH key named from the user ID"
run_ok g --yes --pinentry-mode loopback --passphrase ecpin1 -u ec@example.org --detach-sign -o ec.sig msg
run_ok g --verify ec.sig msg
assert_contains "$ERR" 'Good signature from "Ec User <ec@example.org>"' "ECDSA signature"
run_ok g --yes --trust-model always -r ec@example.org --encrypt -o msg.ec.gpg msg
run_ok g --yes --pinentry-mode loopback --passphrase ecpin1 --decrypt -o msg.ec.out msg.ec.gpg
assert_eq "$(cat msg)" "$(cat msg.ec.out)" "ECDH decryption"
run_ok tk forget
run_fail g --yes --pinentry-mode loopback --passphrase stockpw -u ec@example.org --detach-sign -o ec2.sig msg

step "the stock agent's key verifies against our signature (same key moved)"
run_ok timeout 60 gpg --homedir "$STOCK" --batch --verify ec.sig msg
assert_contains "$ERR" "Good signature" "stock gpg verifies"

step "Ed25519 is refused with the reason in the agent log"
run_fail g --pinentry-mode loopback --passphrase stockpw --import ed.sec
assert_contains "$ERR" "Not supported" "gpg reports the refusal"
assert_contains "$(cat "$AGENT_LOG")" "Ed25519/Cv25519 keys cannot live in a TPM" "reason"

step "a wrong passphrase imports nothing"
run_ok g --yes --delete-secret-keys "$EC_FPR"
pe_reset
PE_EXTRA=()
pe_pins wrong1 wrong2 wrong3
run_fail g --import ec.sec
[ "$(grep -c '^GETPIN' "$PE_LOG")" -ge 3 ] || fail "three tries for the primary key: $(cat "$PE_LOG")"
assert_contains "$(cat "$PE_LOG")" "Bad passphrase, try again" "retry text"
run_ok tk list
assert_not_contains "$OUT" "ec@example.org" "nothing imported"

step "no private key material outside the TPM's wrapping"
[ -z "$(ls -A "$GNUPGHOME/private-keys-v1.d" 2>/dev/null)" ] || fail "private-keys-v1.d not empty"
while IFS= read -r f; do
	case "$f" in
	*.tss) head -1 "$f" | grep -q -- "-----BEGIN TSS2 PRIVATE KEY-----" || fail "$f is not a TSS2 key" ;;
	*.pub) grep -q "PRIVATE" "$f" && fail "private data in $f" ;;
	esac
	grep -l "OPENSSH PRIVATE\|BEGIN PRIVATE\|RSA PRIVATE\|EC PRIVATE\|protected-private-key\|private-key" "$f" &&
		fail "a software private key in $f"
done < <(find "$TPM_AGENT_HOME" -type f)

step "EXPORT_KEY is refused: the key lives in the TPM"
grip=$(printf '%s\n' "$RSA_GRIPS" | head -1)
run_ok timeout 30 gpg-connect-agent --no-autostart "KEYWRAP_KEY --export" "EXPORT_KEY $grip" /bye
assert_contains "$OUT" "lives in the TPM" "EXPORT_KEY text"
run_fail g --pinentry-mode loopback --passphrase stockpw --export-secret-keys rsa@example.org
assert_not_contains "$OUT" "PGP PRIVATE" "no secret key exported"

assert_not_contains "$(cat "$AGENT_LOG")" "stockpw" "passphrase in the log"
assert_not_contains "$(cat "$AGENT_LOG")" "ecpin1" "PIN in the log"
echo ok
