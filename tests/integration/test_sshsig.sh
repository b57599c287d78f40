#!/bin/bash
# ssh-keygen -Y sign / verify (SSHSIG) with keys held by tpm-agent: ssh-keygen signs
# through the agent when -f names a public key and SSH_AUTH_SOCK is set.
. "$(dirname "$0")/lib.sh"

gen_key sig-p256 ecdsa 256 alice@laptop
gen_key sig-p521 ecdsa 521 alice@laptop
gen_key sig-rsa rsa 2048 alice@laptop

head -c 3000 /dev/urandom | base64 >file
cp file file.tampered
printf "!" | dd of=file.tampered bs=1 seek=2000 conv=notrunc 2>/dev/null
cmp -s file file.tampered && fail "could not make a tampered copy"

# sigalg SIGFILE: the signature algorithm inside an SSHSIG armoured file.
sigalg() {
	sed '1d;$d' "$1" | base64 -d 2>/dev/null | tr -c 'a-z0-9-' '\n' |
		grep -E '^(ecdsa-sha2-nistp(256|384|521)|rsa-sha2-(256|512)|ssh-rsa)$' | tail -1
}

for name in sig-p256 sig-p521 sig-rsa; do
	step "$name: sign with ssh-keygen -Y sign through the agent"
	rm -f file.sig
	run_ok ssh-keygen -Y sign -f "$name.pub" -n git file
	[ -s file.sig ] || fail "$name: no file.sig"
	assert_eq "-----BEGIN SSH SIGNATURE-----" "$(head -1 file.sig)" "$name: armour"
	case $name in
	sig-p256) assert_eq ecdsa-sha2-nistp256 "$(sigalg file.sig)" "$name: signature algorithm" ;;
	sig-p521) assert_eq ecdsa-sha2-nistp521 "$(sigalg file.sig)" "$name: signature algorithm" ;;
	sig-rsa) assert_eq rsa-sha2-512 "$(sigalg file.sig)" "$name: signature algorithm" ;;
	esac
	printf 'alice %s\n' "$(cat "$name.pub")" >allowed_signers

	step "$name: verify passes"
	run_ok ssh-keygen -Y verify -f allowed_signers -I alice -n git -s file.sig <file
	assert_contains "$OUT$ERR" "Good \"git\" signature for alice" "$name: verify output"

	step "$name: tampered file, wrong namespace, wrong identity and wrong key fail"
	run_fail ssh-keygen -Y verify -f allowed_signers -I alice -n git -s file.sig <file.tampered
	run_fail ssh-keygen -Y verify -f allowed_signers -I alice -n email -s file.sig <file
	run_fail ssh-keygen -Y verify -f allowed_signers -I mallory -n git -s file.sig <file
	other=sig-p256; [ "$name" = sig-p256 ] && other=sig-rsa
	printf 'alice %s\n' "$(cat "$other.pub")" >wrong_signers
	run_fail ssh-keygen -Y verify -f wrong_signers -I alice -n git -s file.sig <file

	step "$name: sign from stdin to stdout"
	run_ok ssh-keygen -Y sign -f "$name.pub" -n file <file
	printf '%s\n' "$OUT" >stdin.sig
	run_ok ssh-keygen -Y verify -f allowed_signers -I alice -n file -s stdin.sig <file
	mv file.sig "$name.sig"
done

step "signatures differ between ECDSA signings (fresh nonce)"
run_ok ssh-keygen -Y sign -f sig-p256.pub -n git file
cmp -s file.sig sig-p256.sig && fail "two ECDSA signatures of the same data are identical"

step "an unloaded key cannot sign"
run_ok ssh-add -d sig-p256.pub
rm -f file.sig
run_fail ssh-keygen -Y sign -f sig-p256.pub -n git file
[ ! -s file.sig ] || fail "signature made with an unloaded key"

echo "PASS: $IT_NAME"
