#!/bin/bash
# test_pinentry_tty_agent: the AGENT runs the real pinentry-curses on a terminal (a
# tmux pane, as in a terminal-only login): tpm-key gen typed in the pane asks the new
# PIN there; after `tpm-key update-env` in the pane, an ssh signature requested
# in the pane prompts there (pinentry started by the agent, which is not attached to
# the pane) and the PIN typed with send-keys signs.
# Needs tmux and pinentry-curses (Debian packages of the same names).
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux not installed (apt-get install tmux)"
[ -x /usr/bin/pinentry-curses ] || fail "pinentry-curses not installed (apt-get install pinentry-curses)"

agent_start_fg --pinentry-program=/usr/bin/pinentry-curses

TMUX_SOCK="$T/tmux.sock"
tmx() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
# shellcheck disable=SC2016  # expanded when the hook runs
it_on_exit 'tmux -S "$TMUX_SOCK" kill-server'
tmx new-session -d -s pe -x 100 -y 30 "env PS1='$ ' bash --norc --noprofile" || fail "tmux did not start"

wait_screen() {
	local n=0
	until tmx capture-pane -p -t pe | grep -qF -- "$1"; do
		[ $n -ge 150 ] && fail "the pane never showed [$1]: $(tmx capture-pane -p -t pe)"
		sleep 0.1; n=$((n + 1))
	done
}
# pinentry-curses may flush input typed before its dialog is up: give it a moment.
type_line() { sleep 0.5; tmx send-keys -t pe -l "$1"; tmx send-keys -t pe Enter; }

step "tpm-key gen in the pane: pinentry-curses asks the new PIN twice on the pane"
type_line "clear; '$TPM_KEY' gen -n tty-key -C tty@it >'$T/tty.pub' 2>'$T/gen.err'; echo gen-rc=\$?"
wait_screen 'PIN:'
type_line 'tty-pin-42'
wait_screen 'Repeat'
type_line 'tty-pin-42'
wait_screen 'gen-rc=0'
grep -q '^ecdsa-sha2-nistp256 ' "$T/tty.pub" || fail "no public key: $(cat "$T/gen.err")"

step "tpm-key update-env in the pane; a signature there prompts on the pane"
# The signer runs in the pane, in the foreground as a user's ssh would: an idle shell
# in the foreground would compete with pinentry for the keys typed.
type_line "clear; '$TPM_KEY' update-env; echo upd-rc=\$?"
wait_screen 'upd-rc=0'
echo data >msg
type_line "clear; ssh-keygen -Y sign -f '$T/tty.pub' -n file '$PWD/msg' >'$T/sign.out' 2>&1; echo sign-rc=\$?"
wait_screen 'tty-key'
wait_screen 'PIN:'
type_line 'tty-pin-42'
wait_screen 'sign-rc='
assert_contains "$(tmx capture-pane -p -t pe)" "sign-rc=0" "signature ($(cat "$T/sign.out"); agent: $(tail -3 "$AGENT_LOG"))"
[ -s msg.sig ] || fail "no signature"
assert_not_contains "$(tmx capture-pane -p -t pe)" "tty-pin-42" "PIN echoed on the pane"
assert_contains "$(cat "$AGENT_LOG")" "update-env from pid" "update-env logged"
echo ok
