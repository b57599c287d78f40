#!/bin/sh
# run.sh: `make conformance`. Runs OpenSSH's own agent regression tests (regress/ of the
# installed OpenSSH's Debian source, built by openssh-build.sh into build/openssh) with
# bin/tpm-agent as TEST_SSH_SSHAGENT. The only thing added for tpm-agent is
# TPM_AGENT_SIMULATOR=ephemeral in the environment: each agent the tests start gets a
# private swtpm and data dir in a temp dir, removed when it exits.
#
# agent-getpeereid.sh and agent-ptrace.sh refuse to run as root: as root, this script
# runs them as an unprivileged user ($CONFORMANCE_USER, default tpm-conformance, made
# with useradd when missing) with a sudoers drop-in for what those two tests ask of
# sudo (become nobody; chown/chgrp/chmod their copy of the agent), removed at exit.
# Not root: they run as the current user when password-less sudo works, else they
# are skipped with a message saying so.
#
# Usage: run.sh [TEST...]   (default: every test below; "fido" is our own
# test_fido.sh with sk-dummy, not run against the stock agent)
# Env: CONFORMANCE_AGENT=stock runs the same tests against OpenSSH's own ssh-agent
# (the control); CONFORMANCE_KEEP=1 keeps the work dir; OPENSSH_JOBS for the build.
# Prints a table "test  result  seconds" and exits 1 when a test fails.
#
# DSA: tpm-agent refuses ssh-dss keys by design (README "Software keys"), so tests that
# add one of each key type fail on it. A failed test is run once more with ssh-dss left
# out of `ssh -Q key-plain` (the list the tests take their key types from); when that
# run passes, the result is DSA: "fails only on the documented DSA refusal". Any other
# failure is FAIL. The target passes when every test is PASS, SKIP or DSA.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
TESTS=${*:-"agent agent-timeout agent-subprocess agent-pkcs11 sshsig agent-getpeereid agent-ptrace fido agent-restrict"}
# Tests that skip as root: run as the unprivileged user.
AS_USER="agent-getpeereid agent-ptrace"
USER_NAME=${CONFORMANCE_USER:-tpm-conformance}

src=$(sh "$here/openssh-build.sh" "$repo/build/openssh" | tail -1) || exit 1
[ -x "$src/ssh" ] || { echo "conformance: OpenSSH build missing in $src" >&2; exit 1; }
if [ "${CONFORMANCE_AGENT:-tpm}" = stock ]; then
	agent="$src/ssh-agent"
else
	agent="$repo/bin/tpm-agent"
	[ -x "$agent" ] || { echo "conformance: build bin/tpm-agent first (make)" >&2; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tpm-agent-conformance.XXXXXX") || exit 1
chmod 755 "$work"
sudoers=/etc/sudoers.d/tpm-agent-conformance
cleanup() {
	[ -f "$sudoers.ours" ] && rm -f "$sudoers" "$sudoers.ours"
	[ "${CONFORMANCE_KEEP:-0}" = 1 ] && { echo "conformance: kept $work" >&2; return; }
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# env_for DIR AGENT: the regress variables for binaries under DIR.
run_env() {
	echo "TEST_SSH_SSH=$1/ssh TEST_SSH_SSHD=$1/sshd TEST_SSH_SSHADD=$1/ssh-add" \
	     "TEST_SSH_SSHKEYGEN=$1/ssh-keygen TEST_SSH_SSHKEYSCAN=$1/ssh-keyscan" \
	     "TEST_SSH_SFTP=$1/sftp TEST_SSH_SFTPSERVER=$1/sftp-server TEST_SSH_SCP=$1/scp" \
	     "TEST_SSH_SK_HELPER=$1/ssh-sk-helper TEST_SSH_PKCS11_HELPER=$1/ssh-pkcs11-helper" \
	     "TEST_SSH_SSHPKCS11HELPER=$1/ssh-pkcs11-helper" \
	     "TEST_SSH_SSHAGENT=$2 TEST_SSH_UNSAFE_PERMISSIONS=1 TEST_SSH_TRACE=yes" \
	     "TPM_AGENT_SIMULATOR=ephemeral BUILDDIR=$1 TEST_SHELL=sh"
}

# A copy of the tree's binaries and regress/ the unprivileged user owns.
user_tree() {
	u="$work/user"
	[ -d "$u" ] && return 0
	mkdir -p "$u/bin" "$u/home" "$u/tmp"
	for b in ssh sshd ssh-add ssh-keygen ssh-keyscan sftp sftp-server scp ssh-sk-helper \
		 ssh-pkcs11-helper ssh-agent config.h; do
		cp -p "$src/$b" "$u/bin/"
	done
	cp -p "$agent" "$u/bin/agent-under-test"
	cp -pR "$src/regress" "$u/regress"
	chown -R "$USER_NAME:" "$u"
	chmod 700 "$u/home" "$u/tmp"
}

# The user and the sudo rules the two tests need; 1 when impossible (a message says why).
user_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "conformance: not root, so $AS_USER run as $(id -un) with the sudo at hand"
		return 0
	fi
	command -v sudo >/dev/null 2>&1 || { echo "conformance: sudo missing (contrib/install-deps.sh)"; return 1; }
	if ! id "$USER_NAME" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /bin/sh --home-dir /nonexistent \
			"$USER_NAME" || { echo "conformance: useradd $USER_NAME failed"; return 1; }
	fi
	if [ ! -e "$sudoers" ]; then
		printf '%s\n' "$USER_NAME ALL=(nobody) NOPASSWD: ALL" \
			"$USER_NAME ALL=(root) NOPASSWD: /usr/bin/chown 0 $work/user/bin/agent-under-test, /usr/bin/chgrp 0 $work/user/bin/agent-under-test, /usr/bin/chmod 2755 $work/user/bin/agent-under-test, /usr/bin/chown $USER_NAME $work/user/bin/agent-under-test, /usr/bin/chmod 755 $work/user/bin/agent-under-test" \
			>"$sudoers.tmp" && chmod 440 "$sudoers.tmp" && mv "$sudoers.tmp" "$sudoers" &&
			: >"$sudoers.ours" || { echo "conformance: cannot write $sudoers"; return 1; }
	fi
	user_tree
}

# An ssh that leaves ssh-dss out of -Q key-plain, for the DSA re-run.
nodsa_ssh() {
	cat >"$work/ssh-nodsa" <<EOF
#!/bin/sh
case " \$* " in
*" -Q key-plain "*) "$src/ssh" "\$@" | grep -vx ssh-dss ;;
*) exec "$src/ssh" "\$@" ;;
esac
EOF
	chmod 755 "$work/ssh-nodsa"
}

# run_one TEST [SSH]: runs regress/TEST.sh; prints PASS, FAIL or SKIP and seconds.
run_one() {
	t=$1
	log="$work/$t.log"
	start=$(date +%s)
	case " $AS_USER " in
	*" $t "*)
		if [ "$(id -u)" -eq 0 ]; then
			user_setup >"$log" 2>&1 || { echo "SKIP"; return 0; }
			u="$work/user"
			# shellcheck disable=SC2046
			(cd "$u/regress" && timeout 600 setpriv --reuid="$USER_NAME" \
				--regid="$(id -g "$USER_NAME")" --init-groups env -i \
				PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME="$u/home" \
				USER="$USER_NAME" LOGNAME="$USER_NAME" TMPDIR="$u/tmp" SUDO=sudo \
				$(run_env "$u/bin" "$u/bin/agent-under-test") \
				sh "$u/regress/test-exec.sh" "$u/regress" "$u/regress/$t.sh") \
				>>"$log" 2>&1
		elif ! sudo -n true 2>/dev/null; then
			echo "skipped: not root, and no password-less sudo to become nobody" >"$log"
		else
			obj="$work/obj-$t"
			rm -rf "$obj" && cp -pR "$src/regress" "$obj"
			# shellcheck disable=SC2046
			(cd "$obj" && timeout 600 env SUDO=sudo $(run_env "$src" "$agent") \
				sh test-exec.sh "$obj" "$obj/$t.sh") >"$log" 2>&1
		fi ;;
	*)
		# A private copy of regress/ per test: runs never share state.
		obj="$work/obj-$t${2:+-nodsa}"
		rm -rf "$obj" && cp -pR "$src/regress" "$obj"
		# shellcheck disable=SC2046
		(cd "$obj" && timeout 600 env SUDO= $(run_env "$src" "$agent") \
			TEST_SSH_SSH="${2:-$src/ssh}" \
			sh test-exec.sh "$obj" "$obj/$t.sh") >"$log" 2>&1 ;;
	esac
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $secs"
	elif grep -qi '^skipped\|^SKIPPED' "$log"; then
		echo "SKIP $secs"
	else
		echo "PASS $secs"
	fi
}

echo "conformance: OpenSSH $(basename "$src") regress, agent $agent"
printf '%-20s %-6s %s\n' test result seconds
failed=0
for t in $TESTS; do
	if [ "$t" = fido ]; then
		[ "${CONFORMANCE_AGENT:-tpm}" = stock ] && continue
		start=$(date +%s)
		if timeout 600 bash "$here/test_fido.sh" "$src" >"$work/fido.log" 2>&1; then
			res=PASS
		else
			res=FAIL
			failed=$((failed + 1))
		fi
		printf '%-20s %-6s %s\n' "test_fido.sh" "$res" "$(( $(date +%s) - start ))"
		[ "$res" = PASS ] || sed 's/^/    /' "$work/fido.log" | tail -40
		continue
	fi
	# shellcheck disable=SC2046
	set -- $(run_one "$t")
	if [ "$1" = FAIL ] && grep -q ssh-dss "$work/$t.log" && [ "${CONFORMANCE_AGENT:-tpm}" != stock ]; then
		mv "$work/$t.log" "$work/$t.full.log"
		nodsa_ssh
		# shellcheck disable=SC2046
		set -- $(run_one "$t" "$work/ssh-nodsa") "$2"
		case "$1" in
		PASS) set -- DSA $(($2 + $3)) ;;
		*) cat "$work/$t.full.log" >>"$work/$t.log" ;;
		esac
	fi
	printf '%-20s %-6s %s\n' "$t.sh" "$1" "$2"
	case "$1" in
	FAIL) failed=$((failed + 1)); sed 's/^/    /' "$work/$t.log" | tail -60 ;;
	SKIP) sed -n 's/^/    /; /kip/p' "$work/$t.log" ;;
	DSA) echo "    fails only where ssh-dss keys are refused (by design); passes without them" ;;
	esac
done
[ "$failed" -eq 0 ] || { echo "conformance: $failed test(s) failed"; exit 1; }
echo "conformance: all passed"
