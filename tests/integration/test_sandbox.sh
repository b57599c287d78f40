#!/bin/bash
# The sandbox (setting sandbox, on by default): after start the agent holds a seccomp
# filter (Seccomp: 2 in /proc) that refuses unshare and the like, and, where the kernel
# has Landlock, cannot open a file outside its allowed set (a file in $HOME, ~/.ssh)
# while its data dir stays open; sandbox-probe@tpm-agent makes it try. sandbox = no
# lifts both. Signing, pinentry and --simulator keep working under it.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"
if [ "${IT_SANDBOX:-yes}" = no ]; then
	# asan-check and valgrind-check turn the sandbox off (lib.sh); the plain run tests it.
	echo "PASS: $IT_NAME (sandbox off in this run: IT_SANDBOX=no; tested in the plain run)"
	exit 0
fi

probe() { # PROBE: the agent's answer to sandbox-probe@tpm-agent
	python3 - "$SSH_AUTH_SOCK" "$1" <<'PY'
import socket, struct, sys
def s(b): return struct.pack(">I", len(b)) + b
sock = socket.socket(socket.AF_UNIX); sock.connect(sys.argv[1])
msg = bytes([27]) + s(b"sandbox-probe@tpm-agent") + s(sys.argv[2].encode())
sock.sendall(struct.pack(">I", len(msg)) + msg)
n = struct.unpack(">I", sock.recv(4))[0]; r = b""
while len(r) < n: r += sock.recv(n - len(r))
if r[0] == 6: print(r[5:5 + struct.unpack(">I", r[1:5])[0]].decode())
else: print("failure %d %s" % (r[0], r[5:].decode(errors="replace")))
PY
}
landlock_abi() { python3 -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))'; }

# The harness's socket lives in $T itself, which would open all of $T (home included).
AGENT_SOCK="$XDG_RUNTIME_DIR/agent.sock"
OUTSIDE=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-sbx.XXXXXX")
it_on_exit "rm -rf '$OUTSIDE'"
echo secret >"$OUTSIDE/secret"
mkdir -m 700 "$HOME/.ssh"
echo key >"$HOME/.ssh/id_test"
ABI=$(landlock_abi)

step "agent with the sandbox (default)"
agent_start_fg
STATUS=$(tk status)
gen_key k1 ecdsa 256
sshsig_ok k1.pub
assert_match "$(cat /proc/"$SSH_AGENT_PID"/status)" "Seccomp:[[:space:]]+2" "a seccomp filter is in place"
assert_eq "denied: Operation not permitted" "$(probe syscall:unshare)" "seccomp refuses unshare"
assert_eq "allowed" "$(probe "open:$TPM_AGENT_HOME/keys/k1.pub")" "the data dir stays readable"
assert_eq "allowed" "$(probe open:/etc/hostname)" "the system stays readable"
if [ "${ABI:-0}" -ge 1 ] 2>/dev/null; then
	assert_contains "$STATUS" "landlock ABI $ABI + seccomp" "tpm-key status names the sandbox"
	assert_eq "denied: Permission denied" "$(probe "open:$OUTSIDE/secret")" "Landlock: a file outside"
	assert_eq "denied: Permission denied" "$(probe "open:$HOME/.ssh/id_test")" "Landlock: ~/.ssh"
	assert_contains "$(cat "$AGENT_LOG")" "sandbox: landlock ABI $ABI + seccomp" "agent log"
else
	echo "NOTE: this kernel has no Landlock (landlock_create_ruleset: $ABI): only seccomp is tested"
	assert_contains "$STATUS" "seccomp (the kernel has no Landlock)" "status says Landlock is missing"
fi

step "sandbox-allow opens one more directory"
agent_stop
agent_start_fg --sandbox-allow="$OUTSIDE"
assert_eq "allowed" "$(probe "open:$OUTSIDE/secret")" "sandbox-allow"
[ "${ABI:-0}" -ge 1 ] 2>/dev/null &&
	assert_eq "denied: Permission denied" "$(probe "open:$HOME/.ssh/id_test")" "still not ~/.ssh"

step "sandbox = no"
agent_stop
agent_start_fg --sandbox=no
assert_match "$(cat /proc/"$SSH_AGENT_PID"/status)" "Seccomp:[[:space:]]+0" "no seccomp filter"
assert_eq "allowed" "$(probe syscall:unshare)" "unshare allowed"
assert_eq "allowed" "$(probe "open:$OUTSIDE/secret")" "no Landlock"
agent_stop

step "--simulator under the sandbox: swtpm started, keys made and used"
export TPM_AGENT_HOME="$T/simdata" # another TPM: a data dir of its own (the SRK is pinned)
agent_start_fg --simulator="$T/sim"
gen_key s1 ecdsa 256
sshsig_ok s1.pub
echo ok
