#!/bin/bash
# Disk faults: a write that cannot complete (file-size limit, the stand-in for a full
# disk) fails with a clear message and leaves no half-written or temporary file and
# the old files intact; a read-only data directory stops the agent at start, clearly.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

KEYS="$TPM_AGENT_HOME/keys"
agent_start
gen_key d-old ecdsa 256 alice@laptop
OLD_SUM=$(cat "$KEYS/d-old.tss" "$KEYS/d-old.pub" | md5sum)
agent_stop

step "file-size limit 0 (writes fail with EFBIG): gen fails clearly, nothing half-written"
agent_start
prlimit --pid "$SSH_AGENT_PID" --fsize=0 || fail "prlimit on the agent failed"
run_fail tk gen --no-pin -t ecdsa -b 256 -n d-new
assert_match "$ERR" "(File too large|disk|space)" "message names the cause"
assert_contains "$ERR" "d-new" "message names the file"
[ -e "$KEYS/d-new.tss" ] && fail "a half-written d-new.tss exists"
[ -z "$(find "$KEYS" -name '.*' -type f)" ] || fail "temporary files left: $(ls -a "$KEYS")"
assert_eq "$OLD_SUM" "$(cat "$KEYS/d-old.tss" "$KEYS/d-old.pub" | md5sum)" "old key files intact"
assert_contains "$(ssh-add -l)" "$(fp_of d-old.pub)" "old key still served"
agent_stop

step "a read-only data directory stops the agent at start with a clear message"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
	echo "  - skipped: needs root and mount namespaces for a read-only bind mount"
else
	OUT=$(unshare -m sh -c "mount --bind '$TPM_AGENT_HOME' '$TPM_AGENT_HOME' &&
		mount -o remount,ro,bind '$TPM_AGENT_HOME' &&
		'$TPM_AGENT' -D --tcti '$SWTPM_TCTI' -a '$T/ro.sock' 2>&1 </dev/null"; echo "rc=$?")
	assert_contains "$OUT" "rc=1" "the agent refuses to start"
	assert_match "$OUT" "$TPM_AGENT_HOME.*(read-only|Read-only|not writable)" "the message names the directory"
fi
