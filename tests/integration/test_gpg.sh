#!/bin/bash
# test_gpg: tpm-agent --gpg as gpg 2.2's agent: the socket path gpgconf names, key
# generation through GENKEY, signing and verifying, Key-Grip: over tpm-key keys,
# git commit -S, gpg-connect-agent queries, hostile Assuan input, KILLAGENT, tpm-agent -k.
# The real gpg-agent must never start: gpg runs with --no-autostart everywhere.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

GSOCK="$GNUPGHOME/S.gpg-agent"
chmod 700 "$GNUPGHOME"
cat >"$GNUPGHOME/gpg.conf" <<EOF
no-autostart
agent-program /bin/false
EOF

g() { timeout 120 gpg --no-autostart --batch "$@"; }
gca() { timeout 30 gpg-connect-agent --no-autostart -S "$GSOCK" "$@" /bye; }
# assuan CMDS...: raw lines to the gpg socket with socat; replies in $OUT.
assuan() {
	OUT=$(printf '%s\n' "$@" | timeout 30 socat -t 5 - UNIX-CONNECT:"$GSOCK" 2>&1)
}

step "our gpg socket path is the one gpgconf names (with /run/user/<uid> present)"
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null && [ -d /run/user ]; then
	# A private mount namespace: a fresh /run/user/<uid> that only this check sees.
	NS_OUT=$(unshare -m bash -c '
		set -e
		mount -t tmpfs -o mode=755 tmpfs /run/user
		mkdir -m 700 /run/user/$(id -u)
		for home in default custom; do
			if [ $home = default ]; then unset GNUPGHOME; else export GNUPGHOME="$1"; fi
			want=$(gpgconf --list-dirs agent-socket)
			"$2" -D --tcti "$3" -a "$4/ns.sock" --gpg $5 </dev/null >/dev/null 2>>"$4/ns.log" &
			pid=$!
			n=0; while [ ! -S "$want" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
			got=$(gpg-connect-agent --no-autostart -S "$want" "GETINFO socket_name" /bye | sed -n "s/^D //p")
			kill $pid; wait $pid || true
			echo "$home want=$want got=$got"
		done' _ "$GNUPGHOME" "$TPM_AGENT" "$SWTPM_TCTI" "$T" "$IT_SANDBOX_ARGS" 2>&1) || fail "namespace check: $NS_OUT"
	while read -r home want got; do
		assert_eq "${want#want=}" "${got#got=}" "gpg socket path ($home homedir)"
	done <<<"$NS_OUT"
	assert_match "$NS_OUT" "^custom want=/run/user/$(id -u)/gnupg/d\.[a-z0-9]{24}/S\.gpg-agent" \
		"non-default homedir socket"
else
	step "(skipped: needs root and unshare -m)"
fi

step "without /run/user/<uid>: \$GNUPGHOME/S.gpg-agent, as gpgconf says"
agent_start --gpg
assert_eq "$(gpgconf --list-dirs agent-socket)" "$GSOCK" "gpgconf agent-socket"
[ -S "$GSOCK" ] || fail "no gpg socket at $GSOCK"
assert_mode "$GSOCK" 600
run_ok gca 'GETINFO socket_name'
assert_contains "$OUT" "D $GSOCK" "GETINFO socket_name"

step "a second agent refuses a gpg socket that answers, and says how to stop gpg-agent"
run_fail timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/second.sock" --gpg-socket "$GSOCK"
assert_contains "$ERR" "gpgconf --kill gpg-agent" "refusal message"
assert_contains "$ERR" "systemctl --user stop gpg-agent.socket" "refusal message (systemd)"

step "handshake: GETINFO version | pid | ssh_socket_name, KEYINFO --list, unknown command"
run_ok gca 'GETINFO version' 'GETINFO pid' 'GETINFO ssh_socket_name' 'KEYINFO --list' 'NOP' 'FROB'
assert_contains "$OUT" "D 2.2.40" "version"
assert_contains "$OUT" "D $SSH_AGENT_PID" "pid"
assert_contains "$OUT" "D $SSH_AUTH_SOCK" "ssh socket"
assert_contains "$OUT" "ERR 536871187 Unknown IPC command" "unknown command"

step "gpg --quick-gen-key nistp256 and rsa3072 make keys in the TPM"
run_ok g --pinentry-mode loopback --passphrase '' --quick-gen-key 'T <t@example.org>' nistp256
run_ok g --pinentry-mode loopback --passphrase '' --quick-gen-key 'R <r@example.org>' rsa3072
run_ok g -K --with-keygrip --with-colons
assert_contains "$OUT" "t@example.org" "gpg -K lists the P-256 key"
assert_contains "$OUT" "r@example.org" "gpg -K lists the RSA key"
GRIPS=$(printf '%s\n' "$OUT" | awk -F: '$1=="grp"{print $10}')
[ "$(printf '%s\n' "$GRIPS" | wc -l)" -eq 2 ] || fail "expected 2 keygrips, got: $GRIPS"
run_ok tk list
for grip in $GRIPS; do assert_contains "$OUT" "$grip" "tpm-key list shows $grip"; done
assert_contains "$(ssh-add -l)" "no identities" "gpg keys are not offered to ssh without sshcontrol"
printf '%s 0\n' $GRIPS >"$GNUPGHOME/sshcontrol"
[ "$(agent_fps | wc -l)" -eq 2 ] || fail "ssh-add -l should list the 2 gpg keys in sshcontrol: $(ssh-add -l)"
P256_GRIP=$(printf '%s\n' "$GRIPS" | head -1)

step "detach-sign and verify with both keys (and other hashes)"
echo "hello from the TPM" >msg
for spec in "t@example.org SHA256" "t@example.org SHA512" "r@example.org SHA512" \
	    "r@example.org SHA256" "r@example.org SHA1"; do
	set -- $spec
	run_ok g --yes -u "$1" --digest-algo "$2" --detach-sign -o "msg.$1.$2.sig" msg
	run_ok g --verify "msg.$1.$2.sig" msg
	assert_contains "$ERR" "Good signature" "verify $1 $2"
done
run_fail g --yes -u t@example.org --digest-algo SHA1 --detach-sign -o bad.sig msg
assert_contains "$ERR" "Invalid length" "a SHA-1 digest is too short for P-256"

step "KEYINFO, HAVEKEY and READKEY over gpg-connect-agent"
run_ok gca "KEYINFO $P256_GRIP" "HAVEKEY 0000000000000000000000000000000000000000 $P256_GRIP" \
	"HAVEKEY 0000000000000000000000000000000000000000" "READKEY $P256_GRIP" \
	"KEYINFO 0000000000000000000000000000000000000000"
assert_contains "$OUT" "S KEYINFO $P256_GRIP D - - - C - - S" "KEYINFO line (S: listed in sshcontrol)"
assert_contains "$OUT" "ERR 67108881 No secret key <GPG Agent>" "HAVEKEY of an unknown grip"
assert_contains "$OUT" "D (10:public-key(3:ecc(5:curve10:NIST P-256)(1:q65:" "READKEY"
assert_contains "$OUT" "ERR 67108891 Not found" "KEYINFO of an unknown grip"

step "a tpm-key key becomes an OpenPGP key through Key-Grip:, then signs"
gen_key kg384 ecdsa 384
KG_GRIP=$(tk list | awk '$1=="kg384"{print $4}')
[ ${#KG_GRIP} -eq 40 ] || fail "no keygrip for kg384 in tpm-key list"
cat >kg.params <<EOF
Key-Type: ECDSA
Key-Grip: $KG_GRIP
Key-Usage: sign
Name-Real: KG
Name-Email: kg@example.org
Expire-Date: 0
%no-protection
%commit
EOF
run_ok g --generate-key kg.params
run_ok g --yes -u kg@example.org --detach-sign -o kg.sig msg
run_ok g --verify kg.sig msg
assert_contains "$ERR" 'Good signature from "KG <kg@example.org>"' "Key-Grip key signs"

step "git commit -S (gpg.format openpgp) and git verify-commit"
git init -q repo && cd repo || fail "git init"
git config user.name T && git config user.email t@example.org
git config gpg.format openpgp && git config user.signingkey t@example.org
git config gpg.program "$T/gpg-wrap"
printf '#!/bin/sh\nexec gpg --no-autostart "$@"\n' >"$T/gpg-wrap" && chmod +x "$T/gpg-wrap"
echo content >f && git add f
run_ok timeout 60 git commit -q -S -m signed
run_ok timeout 60 git verify-commit HEAD
assert_contains "$ERR" "Good signature" "git verify-commit"
cd ..

step "hostile Assuan input gets ERR and the agent keeps serving"
long=$(head -c 5000 /dev/zero | tr '\0' A)
assuan "$long" 'GETINFO version'
assert_contains "$OUT" "ERR 67109127 Line passed to IPC too long" "over-long line"
assert_contains "$OUT" "D 2.2.40" "served after an over-long line"
assuan "SIGKEY $P256_GRIP" PKDECRYPT 'D garbage%' END 'GETINFO version'
assert_contains "$OUT" "bad %-escape" "bad escape in INQUIRE data"
assert_contains "$OUT" "D 2.2.40" "served after a bad escape"
assuan "SIGKEY $P256_GRIP" PKDECRYPT 'D (7:enc-val(3:rsa(1:a9:' END \
	PKDECRYPT 'D (7:enc-val(3:rsa(1:a1:x' END PKDECRYPT 'D 07:enc-val' END \
	GENKEY 'D (genkey(ecc(curve 7:Ed25519)))' END GENKEY 'D (genkey(rsa(nbits 4:4096)))' END \
	GENKEY 'D (((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))))' END \
	GENKEY 'NOT AN ANSWER' 'SETHASH 8 zz' 'SETHASH 77 00' 'PKSIGN' 'SETKEYDESC' 'HAVEKEY 12' \
	'GETINFO version'
assert_contains "$OUT" "S-expression truncated" "truncated S-expression"
assert_contains "$OUT" "not a canonical S-expression" "non-canonical S-expression"
assert_contains "$OUT" "Curve25519/Ed25519" "Ed25519 refused"
assert_contains "$OUT" "at most 3072 bits" "RSA 4096 refused"
assert_contains "$OUT" "too long or too deeply nested" "depth bomb"
assert_contains "$OUT" "Unexpected IPC command" "INQUIRE answered with a command"
assert_contains "$OUT" "D 2.2.40" "served after broken S-expressions"
[ "$(printf '%s\n' "$OUT" | grep -c '^ERR')" -ge 12 ] || fail "expected an ERR per bad input: $OUT"

step "an INQUIRE nobody answers times out (TPM_AGENT_INQUIRE_TIMEOUT) and the agent serves on"
agent_stop
TPM_AGENT_INQUIRE_TIMEOUT=2 agent_start --gpg
OUT=$( { echo GENKEY; sleep 4; echo 'GETINFO version'; sleep 0.5; } |
	timeout 30 socat -t 5 - UNIX-CONNECT:"$GSOCK" 2>&1)
assert_contains "$OUT" "ERR 67108926 Timeout" "INQUIRE timeout"
assert_contains "$OUT" "D 2.2.40" "served after the timeout"
run_ok gca 'GETINFO version'
run_ok ssh-add -l
[ "$(agent_fps | wc -l)" -eq 3 ] || fail "ssh side lost keys: $(ssh-add -l)"

step "RELOADAGENT picks up key files added behind the agent's back"
cp "$TPM_AGENT_HOME/keys/kg384.tss" "$TPM_AGENT_HOME/keys/copy.tss"
run_ok gca RELOADAGENT
run_ok tk list
assert_contains "$OUT" "copy " "RELOADAGENT loaded the new file"

step "gpgconf --kill gpg-agent (KILLAGENT) leaves tpm-agent serving; tpm-agent -k stops it"
pid=$SSH_AGENT_PID
run_ok timeout 30 gpgconf --kill gpg-agent
run_ok gca 'GETINFO pid'
assert_contains "$OUT" "D $pid" "the same agent answers after KILLAGENT"
run_ok timeout 30 "$TPM_AGENT" -k
it_wait_gone "$pid" 100 || fail "agent still running after tpm-agent -k"
[ ! -e "$GSOCK" ] || fail "gpg socket left behind"
unset SSH_AGENT_PID SSH_AUTH_SOCK

step "the real gpg-agent never ran"
if pgrep -f -- "gpg-agent --homedir $GNUPGHOME" >/dev/null; then fail "a gpg-agent started"; fi
echo "PASS: $IT_NAME"
