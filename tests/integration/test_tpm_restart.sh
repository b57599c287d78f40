#!/bin/bash
# The TPM goes away under a running agent: requests fail quickly with a clear message
# and the agent keeps running; when the TPM is back, the next request reconnects,
# starts a new session and reloads its keys by itself.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

agent_start_fg
gen_key r-p256 ecdsa 256 alice@laptop
gen_key r-rsa rsa 2048 alice@laptop
echo data >file

sign() { rm -f file.sig; timeout 30 ssh-keygen -Y sign -f "$1.pub" -n git file </dev/null >/dev/null 2>&1; }

swtpm_restart() {
	swtpm socket --tpm2 --tpmstate dir="$SWTPM_DIR" \
		--server type=tcp,port="$SWTPM_PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear --pid file="$SWTPM_DIR/pid" --daemon ||
		fail "swtpm did not restart"
	SWTPM_PID=$(cat "$SWTPM_DIR/pid")
}

step "signatures work"
sign r-p256 || fail "first signature failed"
sign r-rsa || fail "first RSA signature failed"

step "swtpm killed: a signature fails within 5 s, the agent stays up and says why"
kill -9 "$SWTPM_PID"
it_wait_gone "$SWTPM_PID" 50 || fail "swtpm did not die"
start=$(date +%s)
sign r-p256 && fail "a signature succeeded without a TPM"
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -le 5 ] || fail "the failing signature took ${elapsed}s (more than 5 s)"
it_pid_alive "$SSH_AGENT_PID" || fail "the agent died with the TPM"
assert_contains "$(cat "$AGENT_LOG")" "tpm: connection lost" "log names the lost connection"
assert_contains "$(ssh-add -l)" "$(fp_of r-p256.pub)" "listing still works without the TPM"

step "swtpm back: the next request reconnects, re-creates the session, reloads the keys"
swtpm_restart
sign r-p256 || fail "no signature after the TPM came back: $(tail -5 "$AGENT_LOG")"
sign r-rsa || fail "no RSA signature after the TPM came back"
run_ok tk status
assert_contains "$OUT" "salted HMAC, AES-128-CFB" "the new session is encrypted again"
