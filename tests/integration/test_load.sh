#!/bin/bash
# Load: 16 concurrent clients doing 2,000 ECDSA P-256 signatures in total (each verified
# with OpenSSL by tests/load/load-client.c) plus list requests, next to a client that
# sends garbage frames and one that connects and never sends. Every valid request must
# be answered correctly, the agent's RSS must not grow past its warm-up level and its
# fd count must be back to the baseline once the clients are gone.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || fail "socat not installed (contrib/install-deps.sh installs it)"
CLIENTS=16
SIGNS=2000
LIST_EVERY=10
# Requests now run as jobs on the TPM worker and the reply queue (issue 14): under 16
# concurrent clients glibc gives those threads their own arenas, a one-off 1.5-2.5 MB
# seen here. Leaks are LeakSanitizer's (asan-check) and valgrind's (valgrind-check).
RSS_MARGIN_KB=4096

step "build the load client"
LIB="$IT_REPO/build/libtpmagent.a"
[ -f "$LIB" ] || fail "$LIB missing: run make first"
# shellcheck disable=SC2046
run_ok cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$T/load-client" \
	"$IT_REPO/tests/load/load-client.c" "$IT_REPO/agent/cli/client.c" "$LIB" \
	$(pkg-config --cflags --libs tss2-esys tss2-sys tss2-mu tss2-rc tss2-tctildr libcrypto libsodium) \
	-pthread

# The daemon (-s) is not our child: restart it in the foreground so its pid is exact.
agent_stop
agent_start_fg --log-level=info
gen_key load ecdsa 256
PID=$SSH_AGENT_PID
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
fds() { ls "/proc/$PID/fd" | wc -l; }

step "warm-up: one client, 200 signatures"
run_ok "$T/load-client" "$SSH_AUTH_SOCK" 200 10
FDS0=$(fds); RSS0=$(rss)

step "$CLIENTS clients, $SIGNS signatures, plus a garbage client and a silent one"
# The silent client: connected (served once, so surely accepted), then silent.
holders_start ssh "$SSH_AUTH_SOCK" 1
# The garbage client: random bytes and bad frames, one connection each, in a loop.
( while :; do
	head -c 4096 /dev/urandom | timeout 5 socat -t 1 - UNIX-CONNECT:"$SSH_AUTH_SOCK" >/dev/null 2>&1
	printf '\377\377\377\377\013' | timeout 5 socat -t 1 - UNIX-CONNECT:"$SSH_AUTH_SOCK" >/dev/null 2>&1
	printf '\000\000\000\001\310' | timeout 5 socat -t 1 - UNIX-CONNECT:"$SSH_AUTH_SOCK" >/dev/null 2>&1
done ) &
GARBAGE=$!
[ "$(fds)" -gt "$FDS0" ] || fail "the silent client is not connected"
start=$(date +%s%N)
pids=
for i in $(seq 1 $CLIENTS); do
	timeout 120 "$T/load-client" "$SSH_AUTH_SOCK" $((SIGNS / CLIENTS)) $LIST_EVERY >"$T/client.$i" 2>&1 &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
el_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill "$GARBAGE" 2>/dev/null; wait "$GARBAGE" 2>/dev/null
holders_stop
it_pid_alive "$PID" || fail "agent died under load: $(tail -5 "$AGENT_LOG")"
signs=$(cat "$T"/client.* | awk '/^signs/ { n += $2 } END { print n + 0 }')
lists=$(cat "$T"/client.* | awk '/^signs/ { n += $4 } END { print n + 0 }')
errors=$(cat "$T"/client.* | awk '/^signs/ { n += $6 } END { print n + 0 }')
[ "$bad" -eq 0 ] || fail "$bad client(s) failed: $(cat "$T"/client.* | grep -v '^signs' | head -5)"
assert_eq "$SIGNS" "$signs" "signatures made"
assert_eq 0 "$errors" "errors"
grep -q "malformed frame\|message limit" "$AGENT_LOG" || fail "the garbage client was never seen"

step "resources after the run"
FDS1=$(fds)   # the last disconnects reach the agent's poll loop:
n=0; while [ "$FDS1" -gt "$FDS0" ] && [ $n -lt 50 ]; do sleep 0.1; FDS1=$(fds); n=$((n + 1)); done
RSS1=$(rss)
echo "load: $signs signatures + $lists lists by $CLIENTS clients in $el_ms ms:" \
	"$(( signs * 1000 / (el_ms > 0 ? el_ms : 1) )) signatures/s, $errors errors;" \
	"RSS ${RSS0} kB -> ${RSS1} kB; fds $FDS0 -> $FDS1"
if [ -n "${ASAN_OPTIONS:-}" ]; then
	# AddressSanitizer keeps freed memory in quarantine: RSS grows by design there;
	# leaks are LeakSanitizer's to find in that run, RSS is checked in the plain one.
	echo "  - RSS not compared under AddressSanitizer"
else
	[ "$RSS1" -le $((RSS0 + RSS_MARGIN_KB)) ] || fail "RSS grew: ${RSS0} kB -> ${RSS1} kB"
fi
assert_eq "$FDS0" "$FDS1" "fd count back to baseline"
run_ok ssh-add -l
echo "PASS: $IT_NAME"
