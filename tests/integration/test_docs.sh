#!/bin/bash
# test_docs: the man pages match the programs. Every option of `tpm-agent --help` is in
# tpm-agent(1); every setting `tpm-agent --check-config` prints has an entry in
# tpm-agent.conf(5) (and every entry there is a setting); every command of
# `tpm-key --help` has an entry in tpm-key(1) COMMANDS naming each option its -h
# prints (and every entry there is a command); `tpm-key setup --dry-run` prints the
# systemctl commands and the profile line. (mandoc -Tlint runs in tests/lint.sh.)
IT_NO_TPM=1   # read by lib.sh: no swtpm, no agent needed here
. "$(dirname "$0")/lib.sh"

MAN="$IT_REPO/man"
command -v mandoc >/dev/null || fail "mandoc missing (apt-get install mandoc)"
render() { mandoc -Tascii "$1" | col -bx; }

# opts: the options (-x, --long) named in a help text on stdin.
opts() {
	grep -oE '(^|[][ ,|(])(--[a-z][a-z0-9-]*|-[A-Za-z])' | sed -E 's/^[][ ,|(]//' | sort -u
}
# has_opt TEXT OPT: OPT appears in TEXT as a whole option (--pcr is not --pcr-bank).
has_opt() { grep -qE -- "(^|[^A-Za-z0-9-])$(re "$2")([^A-Za-z0-9-]|$)" <<<"$1"; }

step "every option of tpm-agent --help is in tpm-agent(1)"
AGENT_MAN=$(render "$MAN/tpm-agent.1")
HELP=$("$TPM_AGENT" --help) || fail "tpm-agent --help failed"
n=0
for o in $(printf '%s\n' "$HELP" | opts); do
	case "$o" in --KEY) o=--key ;; esac   # the page writes --key=value
	has_opt "$AGENT_MAN" "$o" || fail "tpm-agent --help lists $o; tpm-agent(1) does not"
	n=$((n + 1))
done
[ "$n" -ge 15 ] || fail "only $n options found in tpm-agent --help"

step "every setting of tpm-agent --check-config has an entry in tpm-agent.conf(5), and back"
KEYS=$("$TPM_AGENT" --check-config | sed -n 's/^\([a-z0-9-]*\) =.*/\1/p')
[ "$(printf '%s\n' "$KEYS" | wc -l)" -ge 10 ] || fail "--check-config printed too few settings: $KEYS"
DOC_KEYS=$(sed -n 's/^\.It Cm \([a-z0-9-]*\).*/\1/p' "$MAN/tpm-agent.conf.5")
for k in $KEYS; do
	grep -qx -- "$k" <<<"$DOC_KEYS" || fail "setting '$k' has no entry in tpm-agent.conf(5)"
	has_opt "$AGENT_MAN" "--$k" || grep -q "tpm-agent.conf 5" "$MAN/tpm-agent.1" ||
		fail "tpm-agent(1) neither names --$k nor refers to tpm-agent.conf(5)"
done
for k in $DOC_KEYS; do
	grep -qx -- "$k" <<<"$KEYS" || fail "tpm-agent.conf(5) documents '$k', which is no setting"
done

step "every command of tpm-key --help has an entry in tpm-key(1) with each option of its -h"
CMDS=$("$TPM_KEY" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
[ "$(printf '%s\n' "$CMDS" | wc -l)" -ge 7 ] || fail "tpm-key --help lists too few commands: $CMDS"
DOC_CMDS=$(sed -n 's/^\.It Cm \([a-z0-9-]*\).*/\1/p' "$MAN/tpm-key.1")
KEY_MAN=$(render "$MAN/tpm-key.1" | awk '/^COMMANDS/ { f = 1; next } /^[A-Z]/ { f = 0 } f')
# section CMD: the rendered text of CMD's entry (from its tag line to the next entry).
section() {
	printf '%s\n' "$KEY_MAN" | awk -v c="$1" '
		/^     [a-z]/ { split($0, w, " "); f = (w[1] == c) }
		f'
}
for c in $CMDS; do
	grep -qx -- "$c" <<<"$DOC_CMDS" || fail "tpm-key $c has no entry in tpm-key(1)"
	SEC=$(section "$c")
	[ -n "$SEC" ] || fail "tpm-key(1): empty entry for $c"
	for o in $(timeout 10 "$TPM_KEY" "$c" -h 2>&1 </dev/null | opts); do
		[ "$o" = -h ] && continue
		has_opt "$SEC" "$o" || fail "tpm-key $c -h names $o; its entry in tpm-key(1) does not: $SEC"
	done
done
for c in $DOC_CMDS; do
	grep -qx -- "$c" <<<"$CMDS" || fail "tpm-key(1) documents '$c', which tpm-key --help does not list"
done

step "tpm-key setup --dry-run prints the systemctl commands and the profile line"
run_ok "$TPM_KEY" setup --dry-run
assert_contains "$OUT" "would run: systemctl --user enable --now tpm-agent.socket" "dry run"
assert_contains "$OUT" 'export SSH_AUTH_SOCK="$XDG_RUNTIME_DIR/tpm-agent/agent.sock"' "profile line"
assert_not_contains "$OUT" "gpg" "dry run without --gpg"
run_ok "$TPM_KEY" setup --dry-run --gpg
assert_contains "$OUT" "systemctl --user mask --now gpg-agent.socket gpg-agent-extra.socket gpg-agent-browser.socket gpg-agent-ssh.socket" "mask command"
assert_contains "$OUT" "would print (runs with --yes): systemctl --user mask" "mask only with --yes"
assert_contains "$OUT" "would run: systemctl --user enable --now tpm-agent-gpg.socket" "gpg socket"
run_ok "$TPM_KEY" setup --dry-run --gpg --yes
assert_contains "$OUT" "would run: systemctl --user mask --now gpg-agent.socket" "mask with --yes"
run_fail "$TPM_KEY" setup --bogus
run_fail "$TPM_KEY" setup extra

step "without a user systemd, setup says so, changes nothing and prints the manual steps"
# An empty PATH dir with a systemctl that fails, as systemctl --user does without a
# user manager; it logs its calls so we see that only the probe ran.
mkdir -p "$T/fakebin"
cat >"$T/fakebin/systemctl" <<FAKE
#!/bin/sh
echo "\$*" >>"$T/systemctl.calls"
echo "Failed to connect to bus: No medium found" >&2
exit 1
FAKE
chmod +x "$T/fakebin/systemctl"
PATH="$T/fakebin:$PATH" run_fail "$TPM_KEY" setup --gpg
assert_contains "$ERR" "systemctl --user is not available" "message without systemd"
assert_contains "$OUT" "systemctl --user enable --now tpm-agent.socket" "manual steps"
assert_contains "$OUT" "systemctl --user mask --now gpg-agent.socket" "manual steps (gpg)"
assert_contains "$OUT" 'eval "$(tpm-agent -s --gpg)"' "the no-systemd alternative"
assert_eq "--user show-environment" "$(cat "$T/systemctl.calls")" "systemctl calls without a user systemd"

step "with a (fake) user systemd: enable, and mask gpg-agent only with --yes"
cat >"$T/fakebin/systemctl" <<FAKE
#!/bin/sh
echo "\$*" >>"$T/systemctl.calls"
exit 0
FAKE
: >"$T/systemctl.calls"
PATH="$T/fakebin:$PATH" run_ok "$TPM_KEY" setup
assert_contains "$(cat "$T/systemctl.calls")" "--user enable --now tpm-agent.socket" "enable call"
assert_not_contains "$(cat "$T/systemctl.calls")" "gpg" "no gpg calls without --gpg"
assert_contains "$OUT" 'export SSH_AUTH_SOCK=' "profile line"
if [ -e /usr/lib/systemd/user/gpg-agent.socket ] || [ -e /lib/systemd/user/gpg-agent.socket ]; then
	: >"$T/systemctl.calls"
	PATH="$T/fakebin:$PATH" run_ok "$TPM_KEY" setup --gpg
	assert_not_contains "$(cat "$T/systemctl.calls")" "mask" "no mask without --yes"
	assert_not_contains "$(cat "$T/systemctl.calls")" "tpm-agent-gpg" "gpg socket not enabled before masking"
	assert_contains "$OUT" "systemctl --user mask --now gpg-agent.socket" "mask command printed"
	: >"$T/systemctl.calls"
	PATH="$T/fakebin:$PATH" run_ok "$TPM_KEY" setup --gpg --yes
	assert_contains "$(cat "$T/systemctl.calls")" "--user mask --now gpg-agent.socket gpg-agent-extra.socket gpg-agent-browser.socket gpg-agent-ssh.socket" "mask call"
	assert_contains "$(cat "$T/systemctl.calls")" "--user enable --now tpm-agent-gpg.socket" "gpg socket call"
else
	step "(gpg-agent user units not installed: masking path not exercised)"
fi

step "README troubleshooting: the messages for a missing device and a denied one are the agent's"
README=$(cat "$IT_REPO/README.md")
# tpm-agent(1) as a reader sees it: one line per paragraph, single spaces
MAN_AGENT=$(mandoc -T ascii -O width=1000 "$IT_REPO/man/tpm-agent.1" | sed 's/.\x08//g' | tr -s ' ')
run_fail timeout 30 "$TPM_AGENT" -D -a "$T/ts.sock" --tcti device:/dev/tpmrm-missing
assert_contains "$ERR" "/dev/tpmrm-missing does not exist: this machine has no TPM 2.0" "device missing"
msg=$(printf '%s\n' "$ERR" | sed 's|.*(/dev/tpmrm-missing \(does not exist: [^;]*\);.*|\1|')
assert_contains "$MAN_AGENT" "$msg" "tpm-agent(1) DIAGNOSTICS quotes the device-missing message"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# nobody's own 0700 dir: the agent refuses a socket dir of another user's
	mkdir -m 700 "$T/nobody"; chown 65534:65534 "$T/nobody"; chmod 755 "$T"
	: >"$T/fakedev"; chmod 660 "$T/fakedev"
	run_fail setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$T/nobody" \
		TPM_AGENT_HOME="$T/nobody/data" XDG_RUNTIME_DIR="$T/nobody" XDG_CONFIG_HOME="$T/nobody" \
		timeout 30 "$TPM_AGENT" -D -a "$T/nobody/s.sock" --tcti "device:$T/fakedev"
	assert_contains "$ERR" "permission denied on $T/fakedev: add yourself to its group, usually tss" "permission denied"
	assert_contains "$MAN_AGENT" "add yourself to its group, usually tss" \
		"tpm-agent(1) DIAGNOSTICS quotes the permission message"
	chmod 700 "$T"
fi

echo "PASS: $IT_NAME"
