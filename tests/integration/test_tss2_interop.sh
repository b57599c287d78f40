#!/bin/bash
# TSS2 PRIVATE KEY interoperability:
#  - our key files are used by tpm2-openssl (openssl -provider tpm2) to sign, and the
#    signature verifies with the public key from `tpm-key pub` (ssh-keygen -e -m PKCS8);
#  - key files made by tpm2-tools (tpm2_create + tpm2_encodeobject) are served by the
#    agent.
# The swtpm serves one client at a time: the agent is stopped while openssl or
# tpm2-tools use the TPM, then started again.
. "$(dirname "$0")/lib.sh"
KEYS="$TPM_AGENT_HOME/keys"

gen_key ec ecdsa 256
gen_key ec384 ecdsa 384
gen_key rs rsa 2048

step "key files are TSS2 PRIVATE KEY (loadable key OID), mode 0600"
for k in ec ec384 rs; do
	assert_mode "$KEYS/$k.tss" 600
	asn=$(openssl asn1parse -in "$KEYS/$k.tss" 2>&1) || fail "openssl asn1parse $k.tss: $asn"
	assert_contains "$asn" ":2.23.133.10.1.3" "$k.tss type OID"
	assert_match "$asn" 'INTEGER +:(40000001|81[0-9A-F]{6})$' "$k.tss parent"
done

step "stop the agent (it owns the swtpm)"
agent_stop
run_ok tpm2tools tpm2_getcap handles-transient
[ -z "$(printf '%s' "$OUT" | tr -d '[:space:]')" ] ||
	fail "the agent left transient objects in the TPM after -k: $OUT"

head -c 1000 /dev/urandom >data
openssl dgst -sha256 -binary data >digest

for k in ec ec384 rs; do
	step "$k: openssl -provider tpm2 signs with $KEYS/$k.tss"
	run_ok ssh-keygen -e -m PKCS8 -f "$k.pub"
	printf '%s\n' "$OUT" >"$k.pem"
	run_ok env TPM2OPENSSL_TCTI="$SWTPM_TCTI" timeout 60 openssl pkey -provider tpm2 -provider default \
		-passin pass: -in "$KEYS/$k.tss" -pubout
	assert_eq "$(cat "$k.pem")" "$OUT" "$k: public key from tpm2-openssl vs tpm-key pub"
	run_ok env TPM2OPENSSL_TCTI="$SWTPM_TCTI" timeout 60 openssl pkeyutl -sign -provider tpm2 -provider default \
		-passin pass: -inkey "$KEYS/$k.tss" -pkeyopt digest:sha256 -in digest -out "$k.sig"
	[ -s "$k.sig" ] || fail "$k: no signature from openssl"
	step "$k: the signature verifies with the public key from tpm-key pub"
	run_ok openssl dgst -sha256 -verify "$k.pem" -signature "$k.sig" data
	assert_contains "$OUT" "Verified OK" "$k: openssl dgst -verify"
	echo tamper >>data.t; cat data >>data.t
	run_fail openssl dgst -sha256 -verify "$k.pem" -signature "$k.sig" data.t
	rm -f data.t
done
run_ok tpm2tools tpm2_flushcontext -t

# encode_tpm2tools PARENT-CTX OUT: tpm2_encodeobject of k.pub/k.priv with emptyAuth TRUE
# (tpm2-tools 5.4 writes emptyAuth = (-p given), newer ones the reverse: pick by result).
encode_tpm2tools() {
	local variant
	for variant in -p ""; do
		# shellcheck disable=SC2086
		tpm2tools tpm2_encodeobject -C "$1" -u k.pub -r k.priv -o "$2" $variant >/dev/null 2>&1 || continue
		openssl asn1parse -in "$2" | grep -A1 'cont \[ 0 \]' | grep -qE 'BOOLEAN +:(1|255)' && return 0
	done
	fail "tpm2_encodeobject could not make a key file with emptyAuth TRUE"
}

H2_ATTRS='restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'

step "tpm2-tools: a P-256 key under the owner hierarchy's H-2 primary (parent 0x40000001)"
run_ok tpm2tools tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -a "$H2_ATTRS" -c prim.ctx
run_ok tpm2tools tpm2_create -C prim.ctx -G ecc256 -u k.pub -r k.priv
run_ok tpm2tools tpm2_flushcontext -t
encode_tpm2tools prim.ctx "$KEYS/tools-owner.tss"
run_ok tpm2tools tpm2_flushcontext -t
chmod 600 "$KEYS/tools-owner.tss"
assert_match "$(openssl asn1parse -in "$KEYS/tools-owner.tss")" 'INTEGER +:40000001$' "tools-owner parent"
# Its public key, in OpenSSH form, through openssl's tpm2 provider.
run_ok env TPM2OPENSSL_TCTI="$SWTPM_TCTI" timeout 60 openssl pkey -provider tpm2 -provider default \
	-passin pass: -in "$KEYS/tools-owner.tss" -pubout -out tools-owner.pem
run_ok ssh-keygen -i -m PKCS8 -f tools-owner.pem
TOOLS_OWNER_BODY=$(key_body "$OUT")

TOOLS_SRK_BODY=
run_ok tpm2tools tpm2_getcap handles-persistent
if grep -qi '0x81000001' <<<"$OUT"; then
	step "tpm2-tools: an RSA 2048 key under the persistent SRK 0x81000001"
	run_ok tpm2tools tpm2_create -C 0x81000001 -G rsa2048 -u k.pub -r k.priv
	run_ok tpm2tools tpm2_flushcontext -t
	encode_tpm2tools 0x81000001 "$KEYS/tools-srk.tss"
	chmod 600 "$KEYS/tools-srk.tss"
	run_ok env TPM2OPENSSL_TCTI="$SWTPM_TCTI" timeout 60 openssl pkey -provider tpm2 -provider default \
		-passin pass: -in "$KEYS/tools-srk.tss" -pubout -out tools-srk.pem
	run_ok ssh-keygen -i -m PKCS8 -f tools-srk.pem
	TOOLS_SRK_BODY=$(key_body "$OUT")
else
	step "(no persistent SRK at 0x81000001: the agent made none; skipping the SRK-parent case)"
fi
run_ok tpm2tools tpm2_flushcontext -t

step "start the agent again: it serves its own keys and the tpm2-tools ones"
agent_start
run_ok ssh-add -L
want_bodies=("$(key_body "$(cat ec.pub)")" "$(key_body "$(cat rs.pub)")" "$TOOLS_OWNER_BODY")
[ -n "$TOOLS_SRK_BODY" ] && want_bodies+=("$TOOLS_SRK_BODY")
for body in "${want_bodies[@]}"; do
	assert_contains "$OUT" "$body" "ssh-add -L after restart"
done

for k in tools-owner tools-srk; do
	[ -f "$KEYS/$k.tss" ] || continue
	step "$k: tpm-key pub and an SSH signature through the agent"
	run_ok tk pub "$k"
	printf '%s\n' "$OUT" >"$k.pub"
	if [ "$k" = tools-owner ]; then want=$TOOLS_OWNER_BODY; else want=$TOOLS_SRK_BODY; fi
	assert_eq "$want" "$(key_body "$OUT")" "$k: tpm-key pub"
	run_ok ssh-keygen -Y sign -f "$k.pub" -n test data
	printf 'me %s\n' "$(cat "$k.pub")" >signers
	run_ok ssh-keygen -Y verify -f signers -I me -n test -s data.sig <data
	rm -f data.sig
done

echo "PASS: $IT_NAME"
