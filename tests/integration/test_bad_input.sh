#!/bin/bash
# Hostile and broken input: malformed ssh-agent frames (sent raw with socat), stalled
# clients, corrupt key files in the store, key types and sizes the TPM cannot do.
# After each, the agent still answers ssh-add -l.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || fail "socat not installed (contrib/install-deps.sh installs it)"
KEYS="$TPM_AGENT_HOME/keys"

gen_key good-ec ecdsa 256
FP_EC=$FP
gen_key good-rsa rsa 2048
FP_RSA=$FP

# send_hex HEX [IDLE]: sends the bytes (hex, spaces allowed) to the agent on one
# connection and collects what comes back until the agent closes or nothing moves for
# IDLE seconds (default 1); $REPLY_HEX is the reply. The write side stays open meanwhile
# (an agent may drop a connection, pending replies included, on the client's EOF).
send_hex() {
	local hex esc pid
	hex=$(printf '%s' "$1" | tr -d ' \n')
	esc=$(printf '%s' "$hex" | sed 's/\(..\)/\\x\1/g')
	# shellcheck disable=SC2059
	printf "$esc" >frame.bin
	rm -f send.fifo; mkfifo send.fifo || fail "mkfifo"
	timeout 20 socat -T "${2:-1}" - UNIX-CONNECT:"$SSH_AUTH_SOCK" <send.fifo >reply.bin 2>socat.err &
	pid=$!
	exec 8>send.fifo
	cat frame.bin >&8 2>/dev/null
	wait "$pid"
	exec 8>&-
	REPLY_HEX=$(od -An -v -tx1 reply.bin | tr -d ' \n')
}

# agent_ok WHAT: the agent is alive and lists both keys.
agent_ok() {
	it_pid_alive "$SSH_AGENT_PID" || fail "agent died after: $1"
	local out rc=0
	out=$(timeout 20 ssh-add -l 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "ssh-add -l failed (exit $rc) after: $1: $out"
	assert_contains "$out" "$FP_EC" "ssh-add -l after: $1"
	assert_contains "$out" "$FP_RSA" "ssh-add -l after: $1"
}

# reply_is_failure_or_empty WHAT: the agent answered SSH_AGENT_FAILURE or closed.
reply_is_failure_or_empty() {
	case "$REPLY_HEX" in
	"" | 0000000105*) ;;
	*) fail "$1: expected FAILURE or close, got $REPLY_HEX" ;;
	esac
}

step "a well-formed REQUEST_IDENTITIES over socat gets IDENTITIES_ANSWER with 2 keys"
send_hex "00000001 0b"
case "$REPLY_HEX" in
????????0c00000002*) ;;
*) fail "REQUEST_IDENTITIES reply: $REPLY_HEX" ;;
esac

step "two requests in one write get two answers"
send_hex "00000001 0b 00000001 0b"
n=$(printf '%s' "$REPLY_HEX" | grep -o '0c00000002' | wc -l)
[ "$n" -ge 2 ] || fail "pipelined requests: $REPLY_HEX"

step "unknown message type -> FAILURE"
send_hex "00000001 c8"
assert_eq "0000000105" "$REPLY_HEX" "reply to type 200"
agent_ok "unknown type"

step "frames too short: 3 bytes of length; length 0; length 1 with nothing after"
send_hex "000000"
agent_ok "3-byte frame"
send_hex "00000000"
reply_is_failure_or_empty "zero-length frame"
agent_ok "zero-length frame"
send_hex "00000001"
agent_ok "length without body"
send_hex "00000010 0b"
agent_ok "body shorter than length"

step "oversized lengths: 0x7fffffff, 0xffffffff, 256 KiB + 1"
send_hex "7fffffff 0b"
agent_ok "length 0x7fffffff"
send_hex "ffffffff 0b 00000000"
agent_ok "length 0xffffffff"
send_hex "00040001 0b"
agent_ok "length 256 KiB + 1"

step "wrong inner lengths"
# SIGN_REQUEST whose key blob claims 0xffffff00 bytes
send_hex "00000009 0d ffffff00 00000000"
reply_is_failure_or_empty "sign request, huge blob length"
agent_ok "sign request, huge blob length"
# SIGN_REQUEST: blob of 4 bytes, then data length past the end
send_hex "00000011 0d 00000004 41414141 00001000 00000000"
reply_is_failure_or_empty "sign request, data length past the end"
agent_ok "sign request, data length past the end"
# SIGN_REQUEST for a key the agent does not have (well-formed)
send_hex "00000020 0d 00000013 65636473612d736861322d6e69737470323536 00000000 00000000"
reply_is_failure_or_empty "sign request, unknown key"
agent_ok "sign request, unknown key"
# SIGN_REQUEST with trailing garbage missing flags
send_hex "0000000d 0d 00000004 41414141 00000000"
reply_is_failure_or_empty "sign request without flags"
agent_ok "sign request without flags"
# REMOVE_IDENTITY with a truncated blob
send_hex "00000007 12 000000ff 4141"
reply_is_failure_or_empty "remove identity, truncated blob"
agent_ok "remove identity, truncated blob"
# ADD_IDENTITY of garbage
send_hex "0000000d 11 00000007 7373682d727361 00"
reply_is_failure_or_empty "add identity, garbage"
agent_ok "add identity, garbage"
# EXTENSION with a name length past the end, and an unknown extension
send_hex "00000009 1b 7fffffff 41414141"
agent_ok "extension, bad name length"
send_hex "00000010 1b 0000000b 6e6f2d7375636840782e79"
case "$REPLY_HEX" in
"" | 0000000105* | 000000011c*) ;;
*) fail "unknown extension: expected FAILURE or EXTENSION_FAILURE, got $REPLY_HEX" ;;
esac
agent_ok "unknown extension"
# LOCK with a passphrase length past the end
send_hex "00000005 16 00100000"
agent_ok "lock, bad length"
run_ok ssh-add -l

step "a random 64 KiB blob"
head -c 65536 /dev/urandom >junk.bin
timeout 20 socat -t 2 - UNIX-CONNECT:"$SSH_AUTH_SOCK" <junk.bin >/dev/null 2>&1 || true
agent_ok "random blob"

step "a stalled client (half a frame, then silence) does not block others"
hold_start "00000010 0d"
agent_ok "stalled client"
run_ok ssh-keygen -Y sign -f good-ec.pub -n test frame.bin
rm -f frame.bin.sig
hold_stop
agent_ok "stalled client gone"

step "100 connections opened and dropped"
for i in $(seq 1 100); do
	timeout 5 socat -u /dev/null UNIX-CONNECT:"$SSH_AUTH_SOCK" 2>/dev/null || true
done
agent_ok "100 dropped connections"

step "tpm-key gen refuses what the TPM or SSH cannot do, exit 1 with a message"
before=$(ls "$KEYS")
run_fail tk gen --no-pin -t rsa -b 4096
assert_eq 1 "$RC" "exit status of gen -t rsa -b 4096"
assert_contains "$ERR" "4096" "message of gen -t rsa -b 4096"
run_fail tk gen --no-pin -t ed25519
assert_eq 1 "$RC" "exit status of gen -t ed25519"
assert_contains "$ERR" "ed25519" "message of gen -t ed25519"
run_fail tk gen --no-pin -t ecdsa -b 192
assert_eq 1 "$RC" "exit status of gen -t ecdsa -b 192"
run_fail tk gen --no-pin -t dsa
assert_eq 1 "$RC" "exit status of gen -t dsa"
assert_eq "$before" "$(ls "$KEYS")" "key files after refused gens"
agent_ok "refused gens"

step "corrupt key files are skipped at agent start, with a log line naming them"
agent_stop
printf -- '-----BEGIN TSS2 PRIVATE KEY-----\nAAAAAAAA\n-----END TSS2 PRIVATE KEY-----\n' >"$KEYS/corrupt-pem.tss"
head -c 700 /dev/urandom >"$KEYS/corrupt-bin.tss"
head -c 200 "$KEYS/good-ec.tss" >"$KEYS/corrupt-trunc.tss"
: >"$KEYS/corrupt-empty.tss"
chmod 600 "$KEYS"/corrupt-*.tss
: >"$AGENT_LOG"
agent_start_fg
agent_ok "agent start with corrupt key files"
assert_eq "$(printf '%s\n' "$FP_EC" "$FP_RSA" | sort)" "$(agent_fps | sort)" "keys served next to corrupt files"
for c in corrupt-pem corrupt-bin corrupt-trunc corrupt-empty; do
	it_wait_log "$c" 50 || fail "no log line names $c.tss: $(cat "$AGENT_LOG")"
done
step "signing with the good keys still works"
printf 'alice %s\n' "$(cat good-ec.pub)" "$(cat good-rsa.pub)" >signers
for k in good-ec good-rsa; do
	rm -f junk.bin.sig
	run_ok ssh-keygen -Y sign -f "$k.pub" -n test junk.bin
	run_ok ssh-keygen -Y verify -f signers -I alice -n test -s junk.bin.sig <junk.bin
done

step "an oversized frame is logged with the message limit"
send_hex "00040001 0b"
it_wait_log "over the 256 KiB message limit" 50 || fail "no log line for the size limit"

step "at 128 clients, the one idle longest makes room for client 129, with a log line"
holders_start ssh "$SSH_AUTH_SOCK" 128
n=0
until timeout 5 ssh-add -l >list129.out 2>&1; do  # a second passes: the others are idle
	[ $n -ge 50 ] && fail "client 129 not served: $(cat list129.out)"
	sleep 0.1; n=$((n + 1))
done
it_wait_log "128 clients connected: closing the connection of pid [0-9]*, idle for" 50 ||
	fail "no log line for the connection limit"
it_wait_line "$HOLD_OUT" "closed 1" 50 || fail "no held client was closed to make room"
holders_stop
agent_ok "connection limit"

step "client-idle-timeout closes silent and half-frame clients, with a log line"
agent_stop
: >"$AGENT_LOG"
agent_start_fg --client-idle-timeout=2
start=$(date +%s)
send_hex "" 8
send_hex "00000010 0d" 8
el=$(( $(date +%s) - start ))
[ "$el" -lt 14 ] || fail "idle connections not closed in time (${el} s for two)"
[ "$(grep -c "idle for 2 s" "$AGENT_LOG")" -ge 2 ] || fail "no idle log lines: $(tail -5 "$AGENT_LOG")"
grep -q "idle for 2 s (5 byte(s) of a request pending)" "$AGENT_LOG" || fail "half frame not logged"
agent_ok "idle timeout"

step "the socket directory must be ours and not group/world writable"
mkdir -m 700 opendir && chmod 777 opendir
run_fail timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$PWD/opendir/s.sock"
assert_contains "$ERR" "group or world writable" "world-writable socket dir"
mkdir -m 700 xdgrun && mkdir -m 770 xdgrun/tpm-agent
run_fail env XDG_RUNTIME_DIR="$PWD/xdgrun" timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI"
assert_contains "$ERR" "group or world writable" "group-writable default socket dir"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 700 otherdir && chown 65534:65534 otherdir
	run_fail timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$PWD/otherdir/s.sock"
	assert_contains "$ERR" "owned by uid 65534, not by us" "someone else's socket dir"
fi
agent_ok "refused second agents"
echo "PASS: $IT_NAME"
