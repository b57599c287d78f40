#!/bin/bash
# ssh-add -x / -X: lock and unlock the agent. While locked no identity is listed and
# every signature fails; a wrong passphrase does not unlock. The passphrase reaches
# ssh-add through SSH_ASKPASS, as it would from a desktop prompt.
. "$(dirname "$0")/lib.sh"

gen_key lock-p256 ecdsa 256 alice@laptop
echo data >file

cat >askpass <<'ASK'
#!/bin/sh
cat "$(dirname "$0")/passphrase"
ASK
chmod +x askpass
export SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0

step "lock with ssh-add -x"
printf 'correct horse\n' >passphrase
run_ok ssh-add -x
assert_eq 0 "$(ssh-add -l 2>/dev/null | grep -c SHA256:)" "identities while locked"
run_fail ssh-keygen -Y sign -f lock-p256.pub -n git file

step "a wrong passphrase does not unlock"
printf 'wrong horse\n' >passphrase
run_fail ssh-add -X
assert_eq 0 "$(ssh-add -l 2>/dev/null | grep -c SHA256:)" "identities after a wrong unlock"

step "the right passphrase unlocks; keys and signatures are back"
printf 'correct horse\n' >passphrase
run_ok ssh-add -X
assert_contains "$(agent_fps)" "$(fp_of lock-p256.pub)" "identities after unlock"
rm -f file.sig
run_ok ssh-keygen -Y sign -f lock-p256.pub -n git file
[ -s file.sig ] || fail "no signature after unlock"

step "unlocking an unlocked agent fails"
run_fail ssh-add -X
