#!/bin/bash
# A TPM that answers badly or not at all, through tests/lib/tpm_proxy.py between the
# agent and swtpm: each fault costs the one request it hit; the next ones succeed over
# a fresh session (and connection where the transport is in doubt); the TPM's
# dictionary-attack counter does not move; nothing is left behind in the TPM; a stalled
# TPM fails the request within tpm-timeout + 2 s.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"
. "$IT_REPO/tests/lib/tpm_proxy.sh"

# Failures forgotten only after 1000 s: a counter that moved would still show.
swtpm_da_params 32 1000 1000
proxy_start
SWTPM_REAL_TCTI=$SWTPM_TCTI
SWTPM_TCTI=$PROXY_TCTI agent_start_fg --tpm-timeout=3
gen_key f-p256 ecdsa 256 alice@laptop
echo data >file
CC_SIGN=0x15d

sign() { rm -f file.sig; timeout 30 ssh-keygen -Y sign -f f-p256.pub -n git file </dev/null >/dev/null 2>&1; }
log_mark() { LOG_MARK=$(wc -l <"$AGENT_LOG"); }
log_new() { tail -n "+$((LOG_MARK + 1))" "$AGENT_LOG"; }

step "signatures work through the proxy"
sign || fail "first signature failed: $(tail -5 "$AGENT_LOG")"
da0=$(da_counter)
assert_eq 0 "$da0" "lockout counter at start"

# fault MODE [COUNT] [CC]: arms it; the signature it hits fails, the next 3 succeed.
fault() {
	local mode=$1 count=${2:-1} cc=${3:-$CC_SIGN} i
	log_mark
	proxy_ctl "arm $mode $cc $count" >/dev/null
	sign && fail "$mode: the signature whose response was hit succeeded"
	for i in 1 2 3; do
		sign || fail "$mode: signature $i after the fault failed: $(log_new | tail -5)"
	done
	proxy_ctl disarm >/dev/null
}

step "one Sign response with a flipped byte: refused as tampering, then the session restarts"
fault flip
assert_contains "$(log_new)" "response HMAC mismatch" "the log names the HMAC mismatch"
assert_eq 0 "$(da_counter)" "lockout counter after a flipped response"

step "garbage once: that request fails, the next 10 succeed"
log_mark
proxy_ctl "arm garbage $CC_SIGN 1" >/dev/null
sign && fail "garbage: the signature succeeded"
for i in $(seq 10); do
	sign || fail "garbage: signature $i after it failed: $(log_new | tail -5)"
done
assert_eq 0 "$(da_counter)" "lockout counter after garbage"

for mode in size4 sizebig truncate close; do
	step "a response with $mode: that request fails, then a clean reconnect"
	fault "$mode"
done

step "two closes in a row (the Sign and the reconnect's first command)"
fault close 2 any

step "a flipped byte in a Load response (key evicted first: the agent reloads it)"
run_ok tk status
fault flip 1 any

step "a stalled TPM: the signature fails within tpm-timeout (3 s) + 2 s, then recovery"
log_mark
proxy_ctl "arm stall $CC_SIGN 1" >/dev/null
start=$(date +%s)
sign && fail "stall: the signature succeeded"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -le 5 ] || fail "stall: the failing signature took ${elapsed}s (more than 3 + 2 s)"
assert_contains "$(log_new)" "tpm: no answer in 3 s" "the log names the deadline"
proxy_ctl disarm >/dev/null
sign || fail "no signature after the stall ended: $(log_new | tail -5)"

step "a delay under the deadline is no failure"
proxy_ctl "arm delay $CC_SIGN 1 1000" >/dev/null
sign || fail "a 1 s delay failed the signature"

step "ESAPI paths: a flipped NV_DefineSpace response (owner session) and garbage in a GetCapability"
ssh-keygen -q -t ecdsa -b 256 -N '' -C it-ca -f ca </dev/null || fail "ssh-keygen ca"
ssh-keygen -q -s ca -I id-f -n "$(id -un)" -V -5m:+1h -z 7 f-p256.pub </dev/null >/dev/null 2>&1 ||
	fail "ssh-keygen -s"
log_mark
proxy_ctl "arm flip 0x12a 1" >/dev/null
run_fail tk cert add f-p256 f-p256-cert.pub --nv
assert_contains "$ERR$(log_new)" "NV" "the failed cert add names NV"
assert_eq 0 "$(tpm_handles handles-nv-index)" "NV indices left by the failed define"
run_ok tk cert add f-p256 f-p256-cert.pub --nv
assert_contains "$ERR" "NV index 0x018" "cert add works after the flipped response"
assert_eq 1 "$(tpm_handles handles-nv-index)" "NV indices after the cert add"
caps=$(proxy_ctl "count 0x17a" | cut -d' ' -f2)
proxy_ctl "arm garbage 0x17a 1" >/dev/null
tk status >/dev/null 2>&1 # the GetCapability it hit costs this status (part of it) at most
[ "$(proxy_ctl "count 0x17a" | cut -d' ' -f2)" -gt "$caps" ] || fail "status sent no GetCapability"
run_ok tk status
assert_contains "$OUT" "nv certificate slots" "status reads NV again after the garbage"
sign || fail "no signature after the ESAPI faults: $(log_new | tail -5)"

step "nothing leaked in the TPM; the lockout counter never moved"
assert_eq 0 "$(da_counter)" "lockout counter at the end"
n=$(tpm_handles handles-loaded-session)
[ "$n" -le 1 ] || fail "$n sessions loaded in the TPM (the agent's one session at most)"
n=$(tpm_handles handles-saved-session)
assert_eq 0 "$n" "saved sessions in the TPM"
n=$(tpm_handles handles-transient)
[ "$n" -le 1 ] || fail "$n transient objects in the TPM (the agent has one key)"
run_ok tk status
assert_match "$OUT" "tpm deadlines +3 s per command, 300 s per key creation; [1-9][0-9]* reconnects"
it_pid_alive "$SSH_AGENT_PID" || fail "the agent died"
SWTPM_TCTI=$SWTPM_REAL_TCTI
