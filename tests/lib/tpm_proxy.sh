# tpm_proxy.sh: tests/lib/tpm_proxy.py for integration tests (sourced after lib.sh).
# proxy_start: a proxy in front of the test's swtpm on a free port pair; sets
# PROXY_TCTI (the TCTI string through it) and PROXY_PID, stopped at teardown.
# proxy_ctl LINE: one control request ("arm flip 0x15d", "disarm", "count 0x15d");
# the answer on stdout, the test fails on an "err" answer.

proxy_start() {
	PROXY_CTL="$T/proxy.ctl"
	proxy_spawn "$T/proxy.log"
	it_on_exit "kill $PROXY_PID"
}

# proxy_spawn [LOG]: starts tpm_proxy.py (it binds its own free port pair) in front of
# $SWTPM_PORT with control socket $PROXY_CTL, and waits for its "ready PORT"; sets
# PROXY_PID, PROXY_PORT and PROXY_TCTI. The caller arranges the stop.
proxy_spawn() {
	local n=0
	rm -f "$T/proxy.out" "$PROXY_CTL"
	python3 "$IT_REPO/tests/lib/tpm_proxy.py" --target "$SWTPM_PORT" --ctl "$PROXY_CTL" \
		${1:+--log "$1"} >"$T/proxy.out" 2>"$T/proxy.err" &
	PROXY_PID=$!
	until grep -q '^ready [0-9]' "$T/proxy.out" 2>/dev/null; do
		it_pid_alive "$PROXY_PID" || fail "tpm_proxy.py exited: $(cat "$T/proxy.err")"
		[ $n -ge 150 ] && fail "tpm_proxy.py did not get ready: $(cat "$T/proxy.err")"
		sleep 0.1; n=$((n + 1))
	done
	PROXY_PORT=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$T/proxy.out")
	PROXY_TCTI="swtpm:host=127.0.0.1,port=$PROXY_PORT"
}

proxy_ctl() {
	local a
	a=$(timeout 10 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode()); print(s.makefile().readline().strip())' \
		"$PROXY_CTL" "$1") ||
		fail "proxy control '$1': no answer"
	case "$a" in ok*) printf '%s\n' "$a" ;; *) fail "proxy control '$1': $a" ;; esac
}

# da_counter: TPM2_PT_LOCKOUT_COUNTER, read straight from swtpm (the swtpm TCTI opens a
# connection per command, so this interleaves with a running agent's commands).
da_counter() {
	local v
	v=$(tpm2tools tpm2_getcap properties-variable 2>/dev/null |
		awk '/TPM2_PT_LOCKOUT_COUNTER/ { print $2; exit }')
	[ -n "$v" ] || fail "tpm2_getcap printed no TPM2_PT_LOCKOUT_COUNTER"
	echo $((v))
}

# tpm_handles KIND: how many handles tpm2_getcap lists (handles-transient,
# handles-loaded-session, handles-saved-session), straight from swtpm.
tpm_handles() {
	tpm2tools tpm2_getcap "$1" 2>/dev/null | grep -c '^- '
}
