#!/bin/bash
# git commit -S / tag -s with gpg.format=ssh and a key held by tpm-agent; verify-commit
# and verify-tag pass with the right allowed_signers and fail with a wrong one or a
# tampered commit.
. "$(dirname "$0")/lib.sh"

gen_key git-ec ecdsa 256 alice@example.org
gen_key git-rsa rsa 2048 alice@example.org
WORK=$PWD
printf 'alice@example.org %s\n' "$(cat git-ec.pub)" "$(cat git-rsa.pub)" >allowed_signers
ssh-keygen -q -t ecdsa -b 256 -N '' -C mallory -f mallory </dev/null || fail "ssh-keygen"
printf 'alice@example.org %s\n' "$(cat mallory.pub)" >bad_signers

g() { git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$WORK/allowed_signers" "$@"; }

git init -q repo || fail "git init"
cd repo || fail "cd repo"
git config user.name "Alice"
git config user.email alice@example.org
git config commit.gpgsign false

step "git commit -S with an ECDSA key in the TPM"
echo one >a && git add a
run_ok g -c user.signingkey="$WORK/git-ec.pub" commit -q -S -m "signed by the TPM"
git cat-file commit HEAD | grep -q '^gpgsig -----BEGIN SSH SIGNATURE-----' || fail "commit has no SSH signature"

step "git verify-commit passes"
run_ok g verify-commit HEAD
assert_contains "$OUT$ERR" "Good \"git\" signature for alice@example.org with ECDSA key $(fp_of "$WORK/git-ec.pub")" \
	"verify-commit output"
run_ok g log --show-signature -1
assert_contains "$OUT" "Good \"git\" signature" "log --show-signature"

step "verify-commit fails with an allowed_signers naming another key"
run_fail git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$WORK/bad_signers" verify-commit HEAD

step "verify-commit fails for a tampered commit carrying the same signature"
forged=$(git cat-file commit HEAD | sed 's/signed by the TPM/signed by someone else/' |
	git hash-object -t commit -w --stdin) || fail "hash-object"
assert_ne "$(git rev-parse HEAD)" "$forged" "forged commit id"
run_fail g verify-commit "$forged"

step "a second signed commit with an RSA key in the TPM"
echo two >>a && git add a
run_ok g -c user.signingkey="$WORK/git-rsa.pub" commit -q -S -m "rsa signed"
run_ok g verify-commit HEAD
assert_contains "$OUT$ERR" "with RSA key $(fp_of "$WORK/git-rsa.pub")" "verify-commit output (RSA)"
run_ok g verify-commit HEAD~1

step "git tag -s / verify-tag"
run_ok g -c user.signingkey="$WORK/git-ec.pub" tag -s v1 -m "release 1"
run_ok g verify-tag v1
assert_contains "$OUT$ERR" "Good \"git\" signature for alice@example.org" "verify-tag output"
run_fail git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$WORK/bad_signers" verify-tag v1

step "signing fails cleanly when the key is not in the agent"
run_ok ssh-add -d "$WORK/git-ec.pub"
echo three >>a && git add a
run_fail g -c user.signingkey="$WORK/git-ec.pub" commit -q -S -m "must not be signed"
assert_eq "rsa signed" "$(git log -1 --format=%s)" "HEAD after a failed signing"

echo "PASS: $IT_NAME"
