#!/bin/bash
# test_forwarding: `ssh -A` into a private sshd (AllowAgentForwarding), then on the far
# side tpm-key rm, unseal, decrypt, gen and seal, and ssh-add -d/-D are refused, with a
# message that says to run tpm-key on the machine that holds the TPM; the key, the
# sealed secret and the agent's identities are intact. Listing (ssh-add -L, tpm-key
# list) and signing (ssh-keygen -Y sign) through the forwarded agent work.
. "$(dirname "$0")/lib.sh"

gen_key fwd-key ecdsa 256
authorize_key "$PUB"
printf 'the launch code' >secret.txt
timeout 120 "$TPM_KEY" seal fwd-secret --no-pin <secret.txt >/dev/null 2>"$T/.err" ||
	fail "seal: $(cat "$T/.err")"
run_ok tk gen --no-pin -t rsa -b 2048 -n fwd-dec --decrypt
printf '%s\n' "$OUT" | grep '^ssh-rsa ' >fwd-dec.pub || fail "no public line: $OUT"
ssh-keygen -e -m PKCS8 -f fwd-dec.pub >fwd-dec.pem || fail "ssh-keygen -e"
printf 'plain text' >plain.bin
openssl pkeyutl -encrypt -pubin -inkey fwd-dec.pem -in plain.bin -out ct.bin \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 ||
	fail "openssl pkeyutl -encrypt"
echo "data to sign" >data
ids_before=$(ssh-add -L)
SSHD_EXTRA_CONFIG="AllowAgentForwarding yes" start_sshd

# The far side: each command's output in <name>.out and its status in <name>.rc.
cat >far.sh <<EOF
cd "$PWD" || exit 1
run() { n=\$1; shift; "\$@" >\$n.out 2>&1 </dev/null; echo \$? >\$n.rc; }
echo "\$SSH_AUTH_SOCK" >far.sock
run rm "$TPM_KEY" rm fwd-key
run unseal "$TPM_KEY" unseal fwd-secret
"$TPM_KEY" decrypt fwd-dec <ct.bin >decrypt.out 2>&1; echo \$? >decrypt.rc
run gen "$TPM_KEY" gen --no-pin -t ecdsa -n fwd-new
"$TPM_KEY" seal far-secret --no-pin <secret.txt >seal.out 2>&1; echo \$? >seal.rc
run tklist "$TPM_KEY" list
run listing ssh-add -L
run del ssh-add -d fwd-key.pub
run delall ssh-add -D
run sign ssh-keygen -Y sign -f fwd-key.pub -n file data
EOF

step "ssh -A to the private sshd; the far side runs tpm-key and ssh-add"
timeout 120 ssh -F /dev/null -A -o UserKnownHostsFile="$T/known_hosts" \
	-o StrictHostKeyChecking=no -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes \
	-o IdentitiesOnly=no -o IdentityFile="$T/no-such-identity" -o LogLevel=ERROR \
	-p "$SSHD_PORT" "$(id -un)@127.0.0.1" bash "$PWD/far.sh" </dev/null >ssh.out 2>&1 ||
	fail "ssh -A exited $?: $(cat ssh.out)"
far_sock=$(cat far.sock)
[ -n "$far_sock" ] && [ "$far_sock" != "$SSH_AUTH_SOCK" ] ||
	fail "the far side had no forwarded agent socket ([$far_sock])"

for n in rm unseal decrypt gen seal; do
	[ "$(cat $n.rc)" != 0 ] || fail "tpm-key $n over the forwarded agent succeeded: $(cat $n.out)"
	assert_contains "$(cat $n.out)" "refused over a forwarded agent connection" "tpm-key $n"
	assert_contains "$(cat $n.out)" "run tpm-key on the machine that holds the TPM" "tpm-key $n"
done
assert_not_contains "$(cat unseal.out)" "launch code" "unseal output"
assert_not_contains "$(cat decrypt.out)" "plain text" "decrypt output"
for n in del delall; do
	[ "$(cat $n.rc)" != 0 ] || fail "ssh-add over the forwarded agent ($n) succeeded"
done

step "the key, the secret and the identities are intact"
[ -f "$TPM_AGENT_HOME/keys/fwd-key.tss" ] || fail "keys/fwd-key.tss is gone"
[ ! -e "$TPM_AGENT_HOME/keys/fwd-new.tss" ] || fail "gen made a key over the forwarded agent"
[ ! -e "$TPM_AGENT_HOME/sealed/far-secret.tss" ] || fail "seal made an object over the forwarded agent"
run_ok tk unseal fwd-secret
assert_eq "the launch code" "$OUT" "the secret unsealed locally"
assert_eq "$ids_before" "$(ssh-add -L)" "identities after the far side's ssh-add -d/-D"

step "listing and signing through the forwarded agent work"
assert_eq 0 "$(cat listing.rc)" "ssh-add -L on the far side"
assert_contains "$(cat listing.out)" "$(key_body "$PUB")" "ssh-add -L on the far side"
assert_eq 0 "$(cat tklist.rc)" "tpm-key list on the far side: $(cat tklist.out)"
assert_contains "$(cat tklist.out)" "fwd-key" "tpm-key list on the far side"
assert_eq 0 "$(cat sign.rc)" "ssh-keygen -Y sign on the far side: $(cat sign.out)"
printf 'me %s\n' "$(key_body "$PUB")" >allowed
run_ok ssh-keygen -Y verify -f allowed -I me -n file -s data.sig <data
