#!/bin/bash
# test_gpg_decrypt: gpg decryption through tpm-agent --gpg (PKDECRYPT): an RSA 3072
# encryption subkey and an ECDH nistp256 subkey made by GENKEY, each used to decrypt a
# message encrypted to it (TPM2_RSA_Decrypt / TPM2_ECDH_ZGen in the encrypted session).
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

GSOCK="$GNUPGHOME/S.gpg-agent"
chmod 700 "$GNUPGHOME"
printf 'no-autostart\nagent-program /bin/false\n' >"$GNUPGHOME/gpg.conf"
g() { timeout 120 gpg --no-autostart --batch --pinentry-mode loopback --passphrase '' "$@"; }

agent_start --gpg
[ -S "$GSOCK" ] || fail "no gpg socket at $GSOCK"

echo "a secret for the TPM" >plain

# decrypt_round UID ALGO: primary signing key, ALGO encryption subkey, encrypt, decrypt.
decrypt_round() {
	local uid=$1 algo=$2 fpr
	step "$algo encryption subkey: encrypt to it, gpg --decrypt through the agent"
	run_ok g --quick-gen-key "$uid" nistp256 sign never
	fpr=$(g --list-keys --with-colons "$uid" | awk -F: '$1=="fpr"{print $10; exit}')
	[ -n "$fpr" ] || fail "no fingerprint for $uid"
	run_ok g --quick-add-key "$fpr" "$algo" encr never
	run_ok g --yes --trust-model always -r "$uid" -o "ct.$algo" --encrypt plain
	run_ok g --yes -o "out.$algo" --decrypt "ct.$algo"
	cmp -s plain "out.$algo" || fail "$algo: decrypted text differs"
	run_ok g --list-secret-keys --with-colons "$uid"
	assert_match "$OUT" "^ssb:.*:$( [ "$algo" = rsa3072 ] && echo 1 || echo 18 ):" "$algo subkey listed"
}

decrypt_round 'E <e@example.org>' rsa3072
decrypt_round 'C <c@example.org>' nistp256

step "tpm-key gen --decrypt keys become an OpenPGP key with an ECDH subkey (Subkey-Grip:)"
gen_key dk-sign ecdsa 256
run_ok tk gen --no-pin -t ecdsa -b 256 -n dk-ecdh --decrypt
SIGN_GRIP=$(tk list | awk '$1=="dk-sign"{print $4}')
ECDH_GRIP=$(tk list | awk '$1=="dk-ecdh"{print $4}')
[ ${#ECDH_GRIP} -eq 40 ] || fail "no keygrip for dk-ecdh"
cat >dk.params <<EOF
Key-Type: ECDSA
Key-Grip: $SIGN_GRIP
Key-Usage: sign
Subkey-Type: ECDH
Subkey-Grip: $ECDH_GRIP
Subkey-Usage: encrypt
Name-Real: DK
Name-Email: dk@example.org
Expire-Date: 0
%no-protection
%commit
EOF
run_ok g --generate-key dk.params
run_ok g --yes --trust-model always -r dk@example.org -o ct.dk --encrypt plain
run_ok g --yes -o out.dk --decrypt ct.dk
cmp -s plain out.dk || fail "tpm-key --decrypt key: decrypted text differs"

step "a key made without --decrypt cannot do ECDH: an ERR, and the agent serves on"
POINT=$(printf '%%04%064d' 0)
OUT=$(printf '%s\n' "SETKEY $SIGN_GRIP" PKDECRYPT "D (7:enc-val(4:ecdh(1:s1:x)(1:e65:$POINT)))" \
	END 'GETINFO version' | timeout 30 socat -t 5 - UNIX-CONNECT:"$GSOCK" 2>&1)
assert_contains "$OUT" "ERR 67108924 Not supported" "ECDH with a sign-only key"
assert_contains "$OUT" "D 2.2.40" "served on after the refusal"

step "a ciphertext for another key gets ERR, the agent serves on"
OUT=$(printf '%s\n' "SETKEY 0000000000000000000000000000000000000000" PKDECRYPT \
	'D (7:enc-val(3:rsa(1:a1:x)))' END 'GETINFO version' |
	timeout 30 socat -t 5 - UNIX-CONNECT:"$GSOCK" 2>&1)
assert_contains "$OUT" "ERR 67108881 No secret key" "unknown key"
assert_contains "$OUT" "D 2.2.40" "served on"
echo "PASS: $IT_NAME"
