#!/bin/bash
# Keys wrapped for another machine's TPM (ssh-tpm-keygen --wrap): tpm-key srk prints swtpm
# A's SRK; tpm-key wrap, with no agent and no TPM, wraps OpenSSH and PEM keys for it;
# tpm-key add on A imports them (ssh login, ssh-keygen -Y signature, still served after
# a restart; list --json says "origin": "wrapped"). A loadable TSS2 file (as
# ssh-tpm-agent's .tpm) is added too. On swtpm B
# both files are refused with a clear message.
. "$(dirname "$0")/lib.sh"


step "tpm-key srk: PEM public key, name, handle"
run_ok tk srk
assert_contains "$OUT" "-----BEGIN PUBLIC KEY-----" "srk prints PEM"
assert_match "$OUT" "name: 000b[0-9a-f]{64}" "srk prints the TPM name (SHA-256)"
assert_contains "$OUT" "handle: 0x81000001" "srk prints the handle"
NAME_A=$(printf '%s\n' "$OUT" | sed -n 's/^name: //p')
printf '%s\n' "$OUT" >srkA.txt
run_ok tk srk -o srkA.pem
run_ok openssl pkey -pubin -in srkA.pem -noout -text
assert_contains "$OUT" "NIST CURVE: P-256" "the SRK is P-256"

step "tpm-key wrap without an agent (and no TPM)"
run_ok ssh-keygen -q -t ecdsa -b 256 -N '' -C p256@wrap -f p256
run_ok ssh-keygen -q -t ecdsa -b 384 -N '' -C p384@wrap -f p384
run_ok openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
(
	unset SSH_AUTH_SOCK TPM_AGENT_SOCK
	"$TPM_KEY" wrap --srk srkA.txt -o w256.tss p256 >w256.out 2>w256.err &&
	"$TPM_KEY" wrap --srk srkA.pem -o w384.tss p384 >/dev/null 2>&1 &&
	"$TPM_KEY" wrap --srk srkA.pem -o wrsa.tss -C rsa@wrap rsa.pem >/dev/null 2>&1
) || fail "tpm-key wrap failed: $(cat w256.err)"
for f in w256 w384 wrsa; do
	[ -s "$f.tss" ] && [ -s "$f.pub" ] || fail "wrap wrote no $f.tss / $f.pub"
	assert_mode "$f.tss" 600
done
assert_eq "$(key_body "$(cat p256.pub)")" "$(key_body "$(cat w256.pub)")" "w256.pub is p256's key"
assert_eq "$(key_body "$(cat p256.pub)")" "$(key_body "$(cat w256.out)")" "wrap prints the key"
assert_contains "$(cat wrsa.pub)" "rsa@wrap" "-C sets the comment"
run_ok openssl asn1parse -in w256.tss
assert_contains "$OUT" "2.23.133.10.1.4" "wrap writes an importable TSS2 key"
assert_contains "$OUT" "[HEX DUMP]" "importable key has its secret"
run_fail tk wrap --srk p256.pub -o bad.tss p384
assert_contains "$ERR" "PEM public key" "a non-PEM SRK file is refused"
ssh-keygen -q -t ed25519 -N '' -f ed
run_fail tk wrap --srk srkA.pem -o bad.tss ed
assert_contains "$ERR" "Ed25519" "Ed25519 refused"

step "tpm-key add on A: imported, listed, signs"
run_ok tk add w256.tss
assert_contains "$ERR" "added w256.tss as key 'w256'" "add names the key after the file"
assert_eq "$(key_body "$(cat p256.pub)")" "$(key_body "$OUT")" "add prints the key"
run_ok tk add -n rsakey wrsa.tss
run_ok tk add w384.tss
for f in p256 p384; do
	agent_fps | grep -qxF "$(fp_of $f.pub)" || fail "agent does not list $f"
done
agent_fps | grep -qxF "$(fp_of wrsa.pub)" || fail "agent does not list the RSA key"
run_ok openssl asn1parse -in "$TPM_AGENT_HOME/keys/w256.tss"
assert_contains "$OUT" "2.23.133.10.1.3" "the store keeps the imported key loadable"
sshsig_ok w256.pub
sshsig_ok wrsa.pub
run_fail tk add w256.tss
assert_contains "$ERR" "exists already" "adding the same name twice"

step "ssh login with a key wrapped elsewhere"
start_sshd DEBUG2
cp w384.pub "$SSHD_DIR/authorized_keys"
chmod 600 "$SSHD_DIR/authorized_keys"
ssh_login
[ "$RC" -eq 0 ] || fail "login with the wrapped P-384 key failed: $ERR"
assert_match "$SSHD_NEWLOG" "Accepted publickey for $(id -un) .*$(re "$(fp_of w384.pub)")" \
	"sshd accepted the wrapped key"
stop_sshd

step "a loadable TSS2 file (ssh-tpm-agent .tpm style) is added"
run_ok tk gen -t ecdsa -b 256 -n orig -C orig@it --no-pin
printf '%s\n' "$OUT" >orig.pub
cp "$TPM_AGENT_HOME/keys/orig.tss" loaded.tpm
printf '%s\n' "$(key_body "$OUT") from-pub@it" >loaded.pub
run_ok tk rm -f orig
run_ok tk add loaded.tpm
assert_contains "$OUT" "from-pub@it" "the comment comes from the .pub beside the file"
agent_fps | grep -qxF "$(fp_of orig.pub)" || fail "agent does not list the added .tpm key"
sshsig_ok orig.pub

step "after a restart the added keys are served from the store, with their origin"
agent_stop
agent_start
agent_fps | grep -qxF "$(fp_of p256.pub)" || fail "w256 not served after restart"
sshsig_ok w256.pub
run_ok tk list --json
assert_match "$OUT" '"name": "w256",[^}]*"origin": "wrapped"' "list --json: a wrapped key"
assert_match "$OUT" '"name": "loaded",[^}]*"origin": "generated"' "list --json: an added .tpm"
assert_contains "$(cat "$TPM_AGENT_HOME/keys/w256.origin")" "srk-name $NAME_A"

step "swtpm B: the file wrapped for A is refused"
agent_stop
swtpm_stop
swtpm_start || fail "second swtpm"
export TPM_AGENT_HOME="$T/dataB"
mkdir -m 700 "$TPM_AGENT_HOME"
agent_start
run_ok tk srk
NAME_B=$(printf '%s\n' "$OUT" | sed -n 's/^name: //p')
assert_ne "$NAME_A" "$NAME_B" "two swtpms have different SRKs"
run_fail tk add w256.tss
assert_contains "$ERR" "wrapped for another TPM's SRK" "clear message on the wrong TPM"
assert_contains "$ERR" "tpm-key srk" "the message names the remedy"
run_fail tk add loaded.tpm
assert_contains "$ERR" "does not load under this TPM's SRK" "loadable key of another TPM"
[ ! -e "$TPM_AGENT_HOME/keys/w256.tss" ] || fail "a refused key was stored"
run_fail ssh-add -l
assert_contains "$OUT" "no identities" "B serves no key"
echo "ok"
