#!/bin/bash
# test_gpg_kill: gpg habits that must not lose tpm-agent. `gpgconf --kill gpg-agent` and
# `gpgconf --kill all` (KILLAGENT) leave the agent serving ssh and gpg on the same
# sockets, so gpg's autostart never launches a stock gpg-agent; `tpm-agent -k` stops
# it. `gpg --card-status` prints what it prints under a stock gpg-agent (run as the
# control in a private GNUPGHOME), with scdaemon and with scdaemon missing.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

chmod 700 "$GNUPGHOME"
g() { timeout 120 gpg --batch "$@"; }
command -v /usr/lib/gnupg/scdaemon >/dev/null || fail "scdaemon missing (Debian package scdaemon; contrib/install-deps.sh)"

# card_status HOMEDIR: gpg --card-status's messages, homedir-independent.
card_status() {
	timeout 60 gpg --homedir "$1" --batch --card-status 2>&1 | grep -v "^gpg: keybox .* created" |
		sed "s|$1|HOME|g"
}
STOCK="$T/stock"
mkdir -m 700 "$STOCK"
STOCK_PID=
stock_start() {
	timeout 30 gpg-agent --homedir "$STOCK" --daemon >/dev/null 2>>"$T/stock-agent.log" ||
		fail "stock gpg-agent: $(cat "$T/stock-agent.log")"
	STOCK_PID=$(timeout 10 gpg-connect-agent --homedir "$STOCK" --no-autostart 'GETINFO pid' /bye |
		sed -n 's/^D //p')
	[ -n "$STOCK_PID" ] || fail "stock gpg-agent pid"
}
stock_stop() {
	[ -n "$STOCK_PID" ] || return 0
	timeout 30 gpgconf --homedir "$STOCK" --kill gpg-agent
	it_wait_gone "$STOCK_PID" 100 || kill "$STOCK_PID"
	STOCK_PID=
}
it_on_exit 'stock_stop'

step "card status under a stock gpg-agent, with scdaemon and without"
stock_start
WANT_SCD=$(card_status "$STOCK")
stock_stop
printf 'scdaemon-program /nonexistent/scdaemon\n' >"$STOCK/gpg-agent.conf"
stock_start
WANT_NOSCD=$(card_status "$STOCK")
stock_stop
assert_contains "$WANT_NOSCD" "No SmartCard daemon" "the control's answer without scdaemon"

. "$IT_REPO/tests/lib/fake_pinentry.sh"
agent_start_fg --gpg --pinentry-program="$T/pinentry"
GSOCK=$(gpgconf --list-dirs agent-socket)
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"
AGENT_PID=$SSH_AGENT_PID

step "the same card status under tpm-agent: scdaemon is started on demand"
assert_eq "$WANT_SCD" "$(card_status "$GNUPGHOME")" "gpg --card-status (scdaemon, no card)"
assert_not_contains "$WANT_SCD" "IPC" "not an IPC error"
printf 'scdaemon-program /nonexistent/scdaemon\n' >"$GNUPGHOME/gpg-agent.conf"
run_ok timeout 30 gpgconf --kill scdaemon
assert_eq "$WANT_NOSCD" "$(card_status "$GNUPGHOME")" "gpg --card-status (no scdaemon)"
rm "$GNUPGHOME/gpg-agent.conf"

step "gpgconf --kill gpg-agent: ssh and gpg still reach tpm-agent"
gen_key sshkey ecdsa 256
pe_reset
pe PIN=kpin
run_ok g --pinentry-mode loopback --passphrase kpin --quick-gen-key 'K <k@example.org>' nistp256 sign,cert never
echo data >msg
for kill in gpg-agent all; do
	run_ok timeout 30 gpgconf --kill "$kill"
	it_pid_alive "$AGENT_PID" || fail "gpgconf --kill $kill stopped tpm-agent"
	run_ok ssh-add -l
	assert_contains "$OUT" "$FP" "ssh after gpgconf --kill $kill"
	# gpg as users run it: autostart allowed; it must find tpm-agent answering
	run_ok g --yes --pinentry-mode loopback --passphrase kpin -u k@example.org --detach-sign -o "msg.$kill.sig" msg
	run_ok g --verify "msg.$kill.sig" msg
	run_ok timeout 30 gpg-connect-agent 'GETINFO pid' /bye
	assert_contains "$OUT" "D $AGENT_PID" "gpg reaches tpm-agent after gpgconf --kill $kill"
done
assert_contains "$(cat "$AGENT_LOG")" "KILLAGENT from pid" "KILLAGENT logged"
if pgrep -f -- "gpg-agent --homedir $GNUPGHOME" >/dev/null || pgrep -x gpg-agent -U "$(id -u)" |
	xargs -r -I{} sh -c "tr '\0' ' ' </proc/{}/cmdline; echo" | grep -q -- "$GNUPGHOME"; then
	fail "a stock gpg-agent was started for $GNUPGHOME"
fi

step "tpm-agent -k stops everything"
run_ok timeout 30 "$TPM_AGENT" -k
it_wait_gone "$AGENT_PID" 100 || fail "tpm-agent -k did not stop the agent"
[ ! -e "$GSOCK" ] || fail "gpg socket left behind"
unset SSH_AGENT_PID SSH_AUTH_SOCK

step "GETINFO version: the installed gpg's own, so that gpg never warns (2.2 and 2.4 rule)"
mkdir -p "$T/gpg24"
printf '#!/bin/sh\necho "gpg (GnuPG) 2.4.7"\n' >"$T/gpg24/gpg"
chmod +x "$T/gpg24/gpg"
PATH="$T/gpg24:$PATH" agent_start_fg --gpg --pinentry-program="$T/pinentry"
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"
run_ok timeout 30 gpg-connect-agent 'GETINFO version' /bye
assert_contains "$OUT" "D 2.4.7" "a gpg 2.4.7 on the agent's PATH"
agent_stop
agent_start_fg --gpg --pinentry-program="$T/pinentry"
it_wait_socket "$GSOCK" 100 || fail "no gpg socket"
run_ok timeout 30 gpg-connect-agent 'GETINFO version' /bye
assert_contains "$OUT" "D $(gpg --version | sed -n '1s/.* //p')" "the installed gpg"
run_ok g --yes --pinentry-mode loopback --passphrase kpin -u k@example.org --detach-sign -o v.sig msg
assert_not_contains "$ERR" "older than us" "gpg's version warning"
echo ok
