#!/bin/bash
# Encrypted TPM sessions are on by default: the wrapped private key (TPM2_Load) and the
# digest (TPM2_Sign) cross the TPM interface encrypted. A pcap TCTI records what goes
# over the wire; with --no-encrypt-sessions the same bytes appear in clear, which shows
# the check can see them.
. "$(dirname "$0")/lib.sh"

export TCTI_PCAP_FILE="$PWD/tpm.pcap"

# hex of FILE's bytes, no separators
hexdump_of() { od -An -tx1 -v "$1" | tr -d ' \n'; }

# The TPM2B_PRIVATE of a key file, without its 2-byte size: what TPM2_Load sends.
private_hex() {
	openssl asn1parse -in "$1" 2>/dev/null | tail -1 | sed 's/.*\[HEX DUMP\]://' |
		tr 'A-F' 'a-f' | cut -c5-
}

sign_through_agent() {
	echo data >file
	rm -f file.sig
	run_ok ssh-keygen -Y sign -f "$1.pub" -n git file
}

gen_key s-p256 ecdsa 256 alice@laptop
PRIV=$(private_hex "$TPM_AGENT_HOME/keys/s-p256.tss")
[ ${#PRIV} -gt 100 ] || fail "could not read the private blob of s-p256.tss: $PRIV"

step "default: the session is salted and encrypted (tpm-key status says so)"
run_ok tk status
assert_contains "$OUT" "salted HMAC, AES-128-CFB" "status with sessions on"

step "default: TPM2_Load of the wrapped key does not show it on the wire"
agent_stop
rm -f tpm.pcap
agent_start --tcti "pcap:$SWTPM_TCTI"
sign_through_agent s-p256
agent_stop
[ -s tpm.pcap ] || fail "the pcap TCTI recorded nothing"
assert_not_contains "$(hexdump_of tpm.pcap)" "$PRIV" "pcap with sessions on"

step "--no-encrypt-sessions: the same bytes cross in clear (so the check above can see them)"
rm -f tpm.pcap
agent_start --tcti "pcap:$SWTPM_TCTI" --no-encrypt-sessions
sign_through_agent s-p256
run_ok tk status
assert_contains "$OUT" "plain password sessions" "status with sessions off"
assert_contains "$(cat "$AGENT_LOG")" "encrypted TPM sessions are off" "warning when sessions are off"
agent_stop
assert_contains "$(hexdump_of tpm.pcap)" "$PRIV" "pcap with sessions off"

step "keys made with sessions off sign with sessions on, and the other way round"
agent_start --no-encrypt-sessions
gen_key s-plain ecdsa 384 bob@laptop
agent_stop
agent_start
sign_through_agent s-plain
sign_through_agent s-p256
