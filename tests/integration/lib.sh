# lib.sh: harness sourced (by bash) from every tests/integration/test_*.sh.
#
# On source it
#   - makes a private temp tree $T and points HOME, TPM_AGENT_HOME, XDG_*_HOME,
#     XDG_RUNTIME_DIR and GNUPGHOME into it (the real ~/.ssh, ~/.gnupg and any agent
#     of the user are never touched: SSH_AUTH_SOCK from outside is dropped);
#   - starts a private swtpm (tests/lib/swtpm.sh) unless IT_NO_TPM=1;
#   - starts bin/tpm-agent in daemon mode (-s, eval'ed like ssh-agent) unless
#     IT_NO_AGENT=1 (or IT_NO_TPM=1);
#   - installs a trap that stops sshd, the agent and swtpm by their pids and removes $T
#     (IT_KEEP=1 keeps $T for debugging).
# Helpers: fail, step, assert_eq, assert_ne, assert_contains, assert_not_contains,
# assert_match, assert_mode, run_ok, run_fail, tk (bin/tpm-key), agent_start,
# agent_start_fg, agent_stop, start_sshd, stop_sshd, ssh_login (+ $SSHD_NEWLOG),
# ssh_host_login, authorize_key, gen_key, import_key, fp_of, key_body, agent_fps,
# sshsig_ok, tpm2tools, re, hold_start, hold_stop, holders_start, holders_stop,
# it_on_exit, it_pid_alive, it_wait_gone, it_wait_line, it_wait_log.

set -u
set -o pipefail

IT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TPM_AGENT="${IT_TPM_AGENT:-$IT_REPO/bin/tpm-agent}"   # IT_TPM_*: stand-ins for dry runs
TPM_KEY="${IT_TPM_KEY:-$IT_REPO/bin/tpm-key}"
# TPM_AGENT_WRAPPER: a command the agent runs under in agent_start/agent_start_fg
# (word-split, e.g. "valgrind --log-file=..."; tests/sanitizers/valgrind-check.sh).
TPM_AGENT_WRAPPER="${TPM_AGENT_WRAPPER:-}"
IT_NAME=$(basename "$0" .sh)

. "$IT_REPO/tests/lib/swtpm.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-it.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }
chmod 700 "$T"
mkdir -m 700 "$T/home" "$T/data" "$T/run" "$T/gnupg" "$T/config" "$T/cache" "$T/xdgdata" "$T/work"
export HOME="$T/home"
export TPM_AGENT_HOME="$T/data"
export XDG_RUNTIME_DIR="$T/run"
export XDG_CONFIG_HOME="$T/config"
export XDG_CACHE_HOME="$T/cache"
export XDG_DATA_HOME="$T/xdgdata"
export GNUPGHOME="$T/gnupg"
export GIT_CONFIG_NOSYSTEM=1
export LC_ALL=C
# Never talk to an agent or a display of the user running the tests.
unset SSH_AUTH_SOCK SSH_AGENT_PID SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY WAYLAND_DISPLAY \
      GPG_AGENT_INFO TPM2TOOLS_TCTI TPM2OPENSSL_TCTI TPM_AGENT_TCTI
cd "$T/work" || exit 1
exec </dev/null   # no test ever reads the terminal; run_ok CMD <FILE still works

SSHD_PID=
SSHD_PORT=
IT_FAILED=0

# ---------------------------------------------------------------- reporting

fail() {
	IT_FAILED=1
	echo "FAIL: $IT_NAME: $*" >&2
	exit 1
}

step() { echo "  - $*"; }

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected [$1], got [$2]"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: both are [$1]"
}

# assert_contains HAYSTACK NEEDLE [WHAT]   (fixed string)
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-missing text}: [$2] not in: $(printf '%s' "$1" | head -c 2000)" ;;
	esac
}

assert_not_contains() {
	case "$1" in
	*"$2"*) fail "${3:-unexpected text}: [$2] found in: $(printf '%s' "$1" | head -c 2000)" ;;
	*) ;;
	esac
}

# assert_match HAYSTACK ERE [WHAT]   (grep -E on any line)
assert_match() {
	grep -Eq -- "$2" <<<"$1" || fail "${3:-no match}: /$2/ not in: $(printf '%s' "$1" | head -c 2000)"
}

# assert_mode PATH OCTAL  (e.g. 600)
assert_mode() {
	local m
	m=$(stat -c %a "$1") || fail "stat $1"
	[ "$m" = "$2" ] || fail "mode of $1 is $m, expected $2"
}

# run_ok CMD...: runs CMD; stdout in $OUT, stderr in $ERR; fails the
# test when CMD exits non-zero.
run_ok() {
	local rc=0
	"$@" >"$T/.out" 2>"$T/.err" || rc=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
	[ "$rc" -eq 0 ] || fail "'$*' exited $rc; stderr: $ERR"
}

# run_fail CMD...: like run_ok but CMD must exit non-zero; $RC holds its status.
run_fail() {
	RC=0
	"$@" >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
	[ "$RC" -ne 0 ] || fail "'$*' succeeded but should have failed; stdout: $OUT"
}

# tk ARGS...: bin/tpm-key with stdin closed, time-limited.
tk() { timeout 120 "$TPM_KEY" "$@" </dev/null; }

# ---------------------------------------------------------------- processes

# it_pid_alive PID: true while PID runs (a zombie counts as gone).
it_pid_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

# it_wait_until TENTHS CMD...: runs CMD every 0.1 s until it succeeds, at most
# TENTHS/10 s; the bounded poll behind every it_wait_*.
it_wait_until() {
	local n=0 max=$1
	shift
	until "$@"; do
		[ $n -ge "$max" ] && return 1
		sleep 0.1; n=$((n + 1))
	done
	return 0
}
it_pid_gone() { ! it_pid_alive "$1"; }

# it_wait_gone PID [TENTHS]: waits up to TENTHS/10 s (default 10 s) for PID to end.
it_wait_gone() { it_wait_until "${2:-100}" it_pid_gone "$1"; }

# it_wait_socket PATH [TENTHS]: waits for a unix socket to appear.
it_wait_socket() { it_wait_until "${2:-100}" test -S "$1"; }

# it_wait_line FILE TEXT [TENTHS]: waits (default 10 s) for a line exactly TEXT in FILE.
it_wait_line() { it_wait_until "${3:-100}" grep -qsxF -- "$2" "$1"; }

# it_wait_log PATTERN [TENTHS]: waits (default 10 s) for a line matching the basic
# regular expression PATTERN in $AGENT_LOG.
it_wait_log() { it_wait_until "${2:-100}" grep -qs -- "$1" "$AGENT_LOG"; }

# it_port_busy PORT: something answers on 127.0.0.1:PORT.
it_port_busy() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# ---------------------------------------------------------------- the agent

AGENT_SOCK="$T/agent.sock"
# The agent's sandbox (daemon_sandbox.c) is inherited by pinentry: the scripted
# pinentries in $T run tests/pinentry/*, so the repo's tests/ stays reachable.
IT_SANDBOX_ALLOW="$IT_REPO/tests"
# IT_SANDBOX=no (tests/sanitizers/asan-check.sh): agents run with --sandbox=no, since
# LeakSanitizer needs ptrace (seccomp denies it) and writes its reports where Landlock
# does not let the agent write. The sandbox itself is tested in the plain run.
IT_SANDBOX_ARGS=
[ "${IT_SANDBOX:-yes}" = no ] && IT_SANDBOX_ARGS=--sandbox=no
AGENT_LOG="$T/agent.log"

# agent_start [EXTRA ARGS]: daemon mode, output eval'ed like ssh-agent's.
# The output goes through a file so that a daemon that kept stdout open cannot hang us.
agent_start() {
	local rc=0
	rm -f "$AGENT_SOCK"
	timeout 60 $TPM_AGENT_WRAPPER "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$AGENT_SOCK" -s \
		--sandbox-allow="$IT_SANDBOX_ALLOW" $IT_SANDBOX_ARGS "$@" \
		</dev/null >"$T/agent.env" 2>>"$AGENT_LOG" || rc=$?
	[ "$rc" -eq 0 ] || fail "tpm-agent -s exited $rc: $(tail -5 "$AGENT_LOG")"
	eval "$(cat "$T/agent.env")" >/dev/null
	[ -n "${SSH_AUTH_SOCK:-}" ] || fail "tpm-agent -s printed no SSH_AUTH_SOCK: $(cat "$T/agent.env")"
	[ -n "${SSH_AGENT_PID:-}" ] || fail "tpm-agent -s printed no SSH_AGENT_PID: $(cat "$T/agent.env")"
	export SSH_AUTH_SOCK SSH_AGENT_PID
	it_wait_socket "$SSH_AUTH_SOCK" 100 || fail "agent socket $SSH_AUTH_SOCK did not appear"
}

# agent_start_fg [EXTRA ARGS]: foreground debug mode (-D -d) in the background of this
# shell, log lines (stderr) in $AGENT_LOG. Returns once the agent serves (its
# "serving N key(s)" line: the socket is bound before the keys are read).
agent_start_fg() {
	local served
	served=$(agent_served_count)
	rm -f "$AGENT_SOCK"
	$TPM_AGENT_WRAPPER "$TPM_AGENT" -D -d --tcti "$SWTPM_TCTI" -a "$AGENT_SOCK" \
		--sandbox-allow="$IT_SANDBOX_ALLOW" $IT_SANDBOX_ARGS "$@" \
		</dev/null >"$T/agent-fg.out" 2>>"$AGENT_LOG" &
	SSH_AGENT_PID=$!
	SSH_AUTH_SOCK="$AGENT_SOCK"
	export SSH_AUTH_SOCK SSH_AGENT_PID
	if ! it_wait_socket "$SSH_AUTH_SOCK" 150; then
		fail "tpm-agent -D did not create $SSH_AUTH_SOCK: $(tail -5 "$AGENT_LOG")"
	fi
	it_wait_until 150 agent_served_since "$served" ||
		fail "tpm-agent -D does not serve on $SSH_AUTH_SOCK: $(tail -5 "$AGENT_LOG")"
}
agent_served_count() {
	local n
	n=$(grep -c "info: serving [0-9]* key(s)" "$AGENT_LOG" 2>/dev/null)
	echo "${n:-0}"
}
# agent_served_since N: the agent logged its Nth+1 "serving" line, or it is gone.
agent_served_since() { [ "$(agent_served_count)" -gt "$1" ] || ! it_pid_alive "$SSH_AGENT_PID"; }

# agent_stop: bin/tpm-agent -k (kills $SSH_AGENT_PID) and waits until the process is
# gone, so that the swtpm (one client at a time) is free afterwards.
agent_stop() {
	local pid=${SSH_AGENT_PID:-}
	[ -n "$pid" ] || return 0
	timeout 30 "$TPM_AGENT" -k </dev/null >"$T/agent-kill.out" 2>>"$AGENT_LOG" || true
	if ! it_wait_gone "$pid" 100; then
		echo "WARN: agent $pid still alive 10 s after -k; killing it" >&2
		kill -9 "$pid" 2>/dev/null || true
		it_wait_gone "$pid" 50 || true
	fi
	wait "$pid" 2>/dev/null || true   # reaps it when it is our child (-D)
	unset SSH_AUTH_SOCK SSH_AGENT_PID
}

# ---------------------------------------------------------------- sshd

SSHD_DIR="$T/sshd"

# start_sshd [LOGLEVEL]: a private sshd on 127.0.0.1:$SSHD_PORT that accepts the keys
# in $SSHD_DIR/authorized_keys for the current user. Log in $SSHD_DIR/log.
# $SSHD_EXTRA_CONFIG, when set, is appended to its configuration.
# $SSHD_HOSTKEY_CONFIG, when set, replaces the "HostKey <file>" line (e.g. a TPM host
# key: "HostKey KEY.pub" plus "HostKeyAgent SOCKET"; test_hostkey.sh).
start_sshd() {
	local level=${1:-VERBOSE} user tries=0 usepam=no pw
	user=$(id -un)
	mkdir -p -m 700 "$SSHD_DIR"
	[ -f "$SSHD_DIR/host_ecdsa" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C it-host \
		-f "$SSHD_DIR/host_ecdsa" </dev/null || fail "ssh-keygen host key"
	[ -f "$SSHD_DIR/authorized_keys" ] || : >"$SSHD_DIR/authorized_keys"
	chmod 600 "$SSHD_DIR/authorized_keys"
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -p /run/sshd && chmod 755 /run/sshd
		# With UsePAM no, sshd refuses accounts whose password field starts with '!'.
		pw=$(getent shadow "$user" 2>/dev/null | cut -d: -f2)
		case "$pw" in '!'*) usepam=yes ;; esac
	fi
	while [ $tries -lt 10 ]; do
		tries=$((tries + 1))
		SSHD_PORT=$(port_guess) || break
		cat >"$SSHD_DIR/config" <<-EOF
		ListenAddress 127.0.0.1:$SSHD_PORT
		${SSHD_HOSTKEY_CONFIG:-HostKey $SSHD_DIR/host_ecdsa}
		PidFile $SSHD_DIR/pid
		AuthorizedKeysFile $SSHD_DIR/authorized_keys
		AuthorizedPrincipalsFile none
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		HostbasedAuthentication no
		GSSAPIAuthentication no
		UsePAM $usepam
		StrictModes no
		PermitRootLogin prohibit-password
		AllowUsers $user
		X11Forwarding no
		PrintMotd no
		PrintLastLog no
		UseDNS no
		MaxAuthTries 20
		LogLevel $level
		${SSHD_EXTRA_CONFIG:-}
		EOF
		: >"$SSHD_DIR/log"
		/usr/sbin/sshd -D -f "$SSHD_DIR/config" -E "$SSHD_DIR/log" </dev/null >/dev/null 2>&1 &
		SSHD_PID=$!
		local n=0
		while [ $n -lt 100 ]; do
			it_pid_alive "$SSHD_PID" || break
			it_port_busy "$SSHD_PORT" && return 0
			sleep 0.1; n=$((n + 1))
		done
		kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	done
	fail "could not start sshd: $(tail -5 "$SSHD_DIR/log")"
}

stop_sshd() {
	[ -n "${SSHD_PID:-}" ] || return 0
	kill "$SSHD_PID" 2>/dev/null
	it_wait_gone "$SSHD_PID" 50 || kill -9 "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
}

# authorize_key PUBLINE: appends an OpenSSH public key line to authorized_keys.
authorize_key() {
	mkdir -p -m 700 "$SSHD_DIR"
	printf '%s\n' "$1" >>"$SSHD_DIR/authorized_keys"
}

# ssh_login [EXTRA SSH OPTIONS...]: runs `echo ok` on the private sshd with the keys of
# the agent at $SSH_AUTH_SOCK. stdout in $OUT, stderr in $ERR, status in $RC.
ssh_login() {
	RC=0
	SSHD_LOG_MARK=$(wc -l <"$SSHD_DIR/log" 2>/dev/null || echo 0)
	timeout 60 ssh -F /dev/null \
		-o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=no \
		-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no \
		-o IdentitiesOnly=no -o IdentityFile="$T/no-such-identity" \
		-o BatchMode=yes -o PreferredAuthentications=publickey \
		-o ConnectTimeout=20 -o LogLevel=ERROR \
		"$@" -p "$SSHD_PORT" "$(id -un)@127.0.0.1" echo ok \
		</dev/null >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
	local n=0
	while [ "$RC" -eq 0 ] && [ $n -lt 20 ] && ! sshd_log_new | grep -q "Accepted publickey"; do
		sleep 0.1; n=$((n + 1))
	done
	SSHD_NEWLOG=$(sshd_log_new)
}

# ssh_host_login KNOWN_HOSTS IDENTITY: ssh to the private sshd checking its host key
# strictly against KNOWN_HOSTS (ECDSA P-256 host keys), logging in with the file key
# IDENTITY and no agent, so only the host key can come from a TPM. Sets RC, OUT, ERR.
ssh_host_login() {
	RC=0
	SSH_AUTH_SOCK= timeout 60 ssh -F /dev/null -o UserKnownHostsFile="$1" \
		-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no \
		-o HostKeyAlgorithms=ecdsa-sha2-nistp256 -o IdentitiesOnly=yes -o IdentityFile="$2" \
		-o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=20 -o LogLevel=ERROR \
		-p "$SSHD_PORT" "$(id -un)@127.0.0.1" echo ok </dev/null >"$T/.out" 2>"$T/.err" || RC=$?
	OUT=$(cat "$T/.out"); ERR=$(cat "$T/.err")
}

# sshd_log_new: the sshd log lines written since the last ssh_login started.
sshd_log_new() { tail -n "+$((SSHD_LOG_MARK + 1))" "$SSHD_DIR/log"; }


# ---------------------------------------------------------------- teardown

IT_EXIT_HOOKS=
# it_on_exit CMD: runs CMD (eval) first thing at teardown (e.g. to stop a helper).
it_on_exit() { IT_EXIT_HOOKS="${IT_EXIT_HOOKS}$1
"; }

it_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$IT_EXIT_HOOKS" ]; then eval "$IT_EXIT_HOOKS" >/dev/null 2>&1; fi
	# The agent's check that every TPM command runs under the TPM lock (daemon_jobs.h).
	if grep -q "internal error: a TPM command" "$AGENT_LOG" 2>/dev/null; then
		echo "FAIL: $IT_NAME: the agent used the TPM outside the TPM lock:" >&2
		grep "internal error: a TPM command" "$AGENT_LOG" | head -3 >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -ne 0 ] || [ "$IT_FAILED" -ne 0 ]; then
		if [ -s "$AGENT_LOG" ]; then
			echo "--- $IT_NAME: agent log (last 30 lines)" >&2
			tail -30 "$AGENT_LOG" >&2
		fi
		if [ -s "$SSHD_DIR/log" ]; then
			echo "--- $IT_NAME: sshd log (last 20 lines)" >&2
			tail -20 "$SSHD_DIR/log" >&2
		fi
	fi
	stop_sshd
	agent_stop
	swtpm_stop
	if [ "${IT_KEEP:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		cd / && rm -rf "$T"
	fi
	exit "$rc"
}
trap it_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- start

if [ "${IT_NO_TPM:-0}" != 1 ]; then
	swtpm_start || fail "could not start swtpm"
	if [ "${IT_NO_AGENT:-0}" != 1 ]; then
		[ -x "$TPM_AGENT" ] || fail "$TPM_AGENT not built"
		agent_start
	fi
fi

# ---------------------------------------------------------------- key helpers

# gen_key NAME TYPE BITS [COMMENT]: bin/tpm-key gen; checks the printed public line and
# the files in the store, writes it to ./NAME.pub; $PUB holds the line, $FP its
# SHA256 fingerprint.
gen_key() {
	local name=$1 type=$2 bits=$3 comment=${4:-$1@it} prefix
	case "$type" in
	ecdsa) prefix="ecdsa-sha2-nistp$bits" ;;
	rsa) prefix="ssh-rsa" ;;
	*) fail "gen_key: type $type" ;;
	esac
	run_ok tk gen --no-pin -t "$type" -b "$bits" -n "$name" -C "$comment"
	PUB=$(printf '%s\n' "$OUT" | grep -E "^$prefix " | head -1)
	[ -n "$PUB" ] || fail "tpm-key gen -t $type -b $bits printed no $prefix line: $OUT"
	assert_eq "$comment" "$(printf '%s' "$PUB" | cut -d' ' -f3-)" "comment of the generated key"
	[ -f "$TPM_AGENT_HOME/keys/$name.tss" ] || fail "no $TPM_AGENT_HOME/keys/$name.tss after gen"
	[ -f "$TPM_AGENT_HOME/keys/$name.pub" ] || fail "no $TPM_AGENT_HOME/keys/$name.pub after gen"
	printf '%s\n' "$PUB" >"$name.pub"
	FP=$(fp_of "$name.pub")
	[ -n "$FP" ] || fail "ssh-keygen cannot read the public key of $name: $PUB"
}

# import_key NAME: an ECDSA P-256 key made by openssl and imported under the SRK with
# tpm2_import (so fixedTPM and sensitiveDataOrigin are clear), stored as keys/NAME.tss
# with emptyAuth. Stops the agent for tpm2-tools (one TPM client at a time), restarts it.
import_key() {
	local name=$1 ok=0 variant
	openssl ecparam -name prime256v1 -genkey -noout -out "$name.pem" 2>/dev/null || fail "openssl ecparam"
	agent_stop
	run_ok tpm2tools tpm2_import -C 0x81000001 -G ecc -i "$name.pem" -u "$name.tpub" -r "$name.tpriv"
	# tpm2-tools 5.4 writes emptyAuth = (-p given), newer ones the reverse: pick by result.
	for variant in -p ""; do
		rm -f "$name.tss"
		# shellcheck disable=SC2086
		tpm2tools tpm2_encodeobject -C 0x81000001 -u "$name.tpub" -r "$name.tpriv" -o "$name.tss" \
			$variant >/dev/null 2>&1 || continue
		openssl asn1parse -in "$name.tss" | grep -A1 'cont \[ 0 \]' | grep -qE 'BOOLEAN +:(1|255)' &&
			{ ok=1; break; }
	done
	[ "$ok" = 1 ] || fail "tpm2_encodeobject could not make an emptyAuth key file"
	cp "$name.tss" "$TPM_AGENT_HOME/keys/$name.tss"
	agent_start
}

# fp_of PUBFILE: SHA256 fingerprint as ssh-keygen -l prints it.
fp_of() { ssh-keygen -lf "$1" 2>/dev/null | awk '{print $2}'; }

# key_body LINE: "type base64" without the comment.
key_body() { printf '%s\n' "$1" | cut -d' ' -f1,2; }

# agent_fps: the fingerprints ssh-add -l lists (empty when none).
agent_fps() { ssh-add -l 2>/dev/null | awk '{print $2}'; }

# sshsig_ok PUBFILE: an ssh-keygen -Y signature through the agent with that key, checked
# with ssh-keygen -Y verify (fails the test otherwise).
sshsig_ok() {
	rm -f "$T/sshsig.msg.sig"
	echo "message $RANDOM" >"$T/sshsig.msg"
	timeout 30 ssh-keygen -Y sign -f "$1" -n git "$T/sshsig.msg" </dev/null >/dev/null \
		2>"$T/.sigerr" || fail "ssh-keygen -Y sign with $1: $(cat "$T/.sigerr")"
	printf 'alice %s\n' "$(cat "$1")" >"$T/sshsig.allowed"
	timeout 30 ssh-keygen -Y verify -f "$T/sshsig.allowed" -I alice -n git \
		-s "$T/sshsig.msg.sig" <"$T/sshsig.msg" >/dev/null 2>&1 ||
		fail "signature with $1 does not verify"
}

# tpm2tools CMD...: a tpm2-tools command against the private swtpm (only while no agent
# holds it: the swtpm serves one client at a time).
tpm2tools() { TPM2TOOLS_TCTI="$SWTPM_TCTI" timeout 60 "$@"; }

# re TEXT: TEXT with ERE metacharacters escaped (fingerprints hold '+' and '/').
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# holders_start KIND SOCKET N [DRIBBLE]: tests/lib/hold_clients.py in the background:
# N connections to SOCKET (KIND ssh or gpg), each served once (so the agent has
# accepted it), then silent or, with DRIBBLE seconds, sending one byte of an unfinished
# request that often (a slowloris). Returns once all N were served. Its output
# ("closed K", "all closed") is in $HOLD_OUT. holders_stop ends it (also at exit).
HOLD_OUT="$T/hold.out"
holders_start() {
	rm -f "$T/holders.fifo" "$HOLD_OUT"; mkfifo "$T/holders.fifo" || fail "mkfifo"
	timeout 300 python3 "$IT_REPO/tests/lib/hold_clients.py" "$@" <"$T/holders.fifo" \
		>"$HOLD_OUT" 2>"$T/hold.err" &
	HOLDERS_PID=$!
	exec 6>"$T/holders.fifo"
	it_on_exit "holders_stop"
	it_wait_line "$HOLD_OUT" "ready $3" 300 ||
		fail "the $1 holders did not get $3 connections served: $(cat "$T/hold.err")"
}
holders_stop() {
	[ -n "${HOLDERS_PID:-}" ] || return 0
	exec 6>&-
	it_wait_gone "$HOLDERS_PID" 50 || kill "$HOLDERS_PID" 2>/dev/null
	wait "$HOLDERS_PID" 2>/dev/null
	HOLDERS_PID=
}
# hold_start [HEX] / hold_stop: one idle client on the agent socket (holders_start ssh
# ... 1) that first sends the bytes HEX (a whole frame: its answer is awaited).
hold_start() {
	export HOLD_SEND="${1:-}"
	holders_start ssh "$SSH_AUTH_SOCK" 1
	unset HOLD_SEND
}
hold_stop() { holders_stop; }
