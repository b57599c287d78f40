#!/bin/bash
# test_decrypt_cli: tpm-key decrypt / encrypt with an RSA key made --decrypt: OAEP
# (SHA-256 and SHA-1) and PKCS#1 v1.5 round trips against openssl pkeyutl with the
# public key exported by ssh-keygen; bad ciphertexts refused with exit 1 and no output.
. "$(dirname "$0")/lib.sh"

step "an RSA 2048 decrypt key and its PKCS#8 public key"
run_ok tk gen --no-pin -t rsa -b 2048 -n dec --decrypt
printf '%s\n' "$OUT" | grep '^ssh-rsa ' >dec.pub || fail "no public line: $OUT"
ssh-keygen -e -m PKCS8 -f dec.pub >dec.pem || fail "ssh-keygen -e"
gen_key ec ecdsa 256
head -c 150 /dev/urandom >plain.bin
printf 'a\0b\0\0c\n' >>plain.bin   # binary: NULs and a newline at the end

# ossl_enc PADOPTS...: encrypts plain.bin to dec.pem with openssl pkeyutl into ct.bin.
ossl_enc() {
	openssl pkeyutl -encrypt -pubin -inkey dec.pem -in plain.bin -out ct.bin "$@" ||
		fail "openssl pkeyutl -encrypt $*"
}

# tk_in FILE ARGS...: tpm-key with FILE on stdin; output in ./out.bin, stderr in $ERR.
tk_in() {
	local f=$1; shift
	RC=0
	timeout 120 "$TPM_KEY" "$@" <"$f" >out.bin 2>"$T/.err" || RC=$?
	ERR=$(cat "$T/.err")
}

step "OAEP SHA-256 (the default): openssl encrypts, the TPM decrypts"
ossl_enc -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
tk_in ct.bin decrypt dec
[ "$RC" -eq 0 ] || fail "decrypt --oaep default exited $RC: $ERR"
cmp -s plain.bin out.bin || fail "OAEP-SHA256 plaintext differs"
tk_in ct.bin decrypt dec --oaep=sha256
cmp -s plain.bin out.bin || fail "--oaep=sha256 plaintext differs"

step "OAEP SHA-1 (openssl's default OAEP)"
ossl_enc -pkeyopt rsa_padding_mode:oaep
tk_in ct.bin decrypt dec --oaep=sha1
[ "$RC" -eq 0 ] || fail "decrypt --oaep=sha1 exited $RC: $ERR"
cmp -s plain.bin out.bin || fail "OAEP-SHA1 plaintext differs"

step "PKCS#1 v1.5"
ossl_enc -pkeyopt rsa_padding_mode:pkcs1
tk_in ct.bin decrypt dec --pkcs1
[ "$RC" -eq 0 ] || fail "decrypt --pkcs1 exited $RC: $ERR"
cmp -s plain.bin out.bin || fail "PKCS#1 plaintext differs"

step "tpm-key encrypt, openssl decrypts nothing (no private key): tpm-key decrypt does"
for pad in --oaep --oaep=sha1 --pkcs1; do
	tk_in plain.bin encrypt dec $pad
	[ "$RC" -eq 0 ] || fail "encrypt $pad exited $RC: $ERR"
	[ "$(stat -c %s out.bin)" -eq 256 ] || fail "encrypt $pad: ciphertext is not 256 bytes"
	mv out.bin ct2.bin
	tk_in ct2.bin decrypt dec $pad
	[ "$RC" -eq 0 ] || fail "decrypt $pad of tpm-key encrypt output exited $RC: $ERR"
	cmp -s plain.bin out.bin || fail "encrypt/decrypt $pad round trip differs"
done
step "encrypt with the .pub file instead of the agent's key"
tk_in plain.bin encrypt ./dec.pub
[ "$RC" -eq 0 ] || fail "encrypt ./dec.pub exited $RC: $ERR"
mv out.bin ct3.bin; tk_in ct3.bin decrypt dec
cmp -s plain.bin out.bin || fail "encrypt with dec.pub: round trip differs"
head -c 300 /dev/urandom >big.bin
tk_in big.bin encrypt dec
[ "$RC" -eq 1 ] || fail "encrypt of 300 bytes: exit $RC"
assert_contains "$ERR" "plaintext too long"

# refused FILE WHAT TEXT ARGS...: decrypt must exit 1, print nothing, and say TEXT.
refused() {
	local f=$1 what=$2 text=$3; shift 3
	tk_in "$f" decrypt dec "$@"
	[ "$RC" -eq 1 ] || fail "$what: exit $RC, expected 1"
	[ ! -s out.bin ] || fail "$what: $(stat -c %s out.bin) bytes of output"
	assert_contains "$ERR" "$text" "$what: message"
}
step "garbage, short, long, wrong padding: exit 1, a reason, no output"
head -c 256 /dev/urandom >garbage.bin
refused garbage.bin "random ciphertext" "padding is wrong"
ossl_enc -pkeyopt rsa_padding_mode:pkcs1
refused ct.bin "PKCS#1 ciphertext as OAEP" "padding is wrong" --oaep
ossl_enc -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
refused ct.bin "OAEP-SHA256 ciphertext as SHA-1" "padding is wrong" --oaep=sha1
head -c 100 garbage.bin >short.bin
refused short.bin "100-byte ciphertext" "ciphertext too short"
head -c 257 /dev/urandom >long.bin
refused long.bin "257-byte ciphertext" "ciphertext too long"
head -c 4000 /dev/urandom >huge.bin
refused huge.bin "4000-byte ciphertext" "too long"
: >empty.bin
refused empty.bin "empty input" "no ciphertext"
refused garbage.bin "unknown hash" "unknown OAEP hash" --oaep=md5

step "an ECDSA key and a missing key are refused by name"
tk_in garbage.bin decrypt ec
[ "$RC" -eq 1 ] && [ ! -s out.bin ] || fail "ECDSA key: exit $RC"
assert_contains "$ERR" "needs an RSA key"
tk_in garbage.bin decrypt nosuch
[ "$RC" -eq 1 ] || fail "missing key: exit $RC"
assert_contains "$ERR" "no key named 'nosuch'"

step "the agent still works after the refusals"
ossl_enc -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
tk_in ct.bin decrypt dec
cmp -s plain.bin out.bin || fail "decrypt after refusals differs"
echo "test_decrypt_cli: ok"
