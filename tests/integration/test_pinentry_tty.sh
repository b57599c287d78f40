#!/bin/bash
# test_pinentry_tty: the pinentry client drives the real pinentry-curses on a terminal
# (a tmux pane, as over an ssh session: the prompt goes to OPTION ttyname, not to the
# caller's own tty), and the PIN typed there with send-keys comes back exactly; a
# CONFIRM answered on the terminal comes back as confirmed; Cancel cancels.
# Needs tmux and pinentry-curses (Debian packages of the same names).
IT_NO_TPM=1   # read by lib.sh: no swtpm, no agent needed here
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || fail "tmux not installed (apt-get install tmux)"
[ -x /usr/bin/pinentry-curses ] || fail "pinentry-curses not installed (apt-get install pinentry-curses)"
[ -f "$IT_REPO/build/libtpmagent.a" ] || fail "build/libtpmagent.a not built (make)"

step "build a small driver around pinentry/pinentry.h"
cat >"$T/driver.c" <<'C'
/* driver: one pinentry dialogue on the terminal named in argv; prints the outcome,
 * never the PIN (only whether it equals $EXPECT_PIN). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pinentry/pinentry.h"

int main(int argc, char **argv)
{
	struct pinentry_env env = { .ttyname = argv[3], .ttytype = argv[4] };
	struct pinentry_prompt p = {
		.title = "tpm-agent test", .desc = "Enter the PIN for the TPM key \"it-key\"",
		.prompt = "PIN:", .ok = "Allow", .notok = "Deny", .timeout_s = 30,
	};
	const char *want = getenv("EXPECT_PIN");
	struct errmsg e = { "" };
	char *pin = NULL;
	size_t len = 0;
	int rc;

	if (argc != 5 || sodium_init() < 0)
		return 2;
	if (strcmp(argv[1], "confirm") == 0) {
		p.desc = "Allow a signature with the TPM key \"it-key\"?";
		rc = pinentry_confirm(argv[2], &env, &p, &e);
		printf("rc=%d %s\n", rc, rc ? e.text : "");
		return 0;
	}
	rc = pinentry_getpin(argv[2], &env, &p, &pin, &len, &e);
	printf("rc=%d len=%zu match=%d %s\n", rc, len,
	       rc == 0 && want && len == strlen(want) && memcmp(pin, want, len) == 0,
	       rc ? e.text : "");
	if (pin)
		sodium_free(pin);
	return 0;
}
C
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -I"$IT_REPO" -o "$T/driver" "$T/driver.c" \
	"$IT_REPO/build/libtpmagent.a" $(pkg-config --libs libsodium libassuan gpg-error) \
	|| fail "driver did not build"

step "start a tmux pane as the user's terminal"
TMUX_SOCK="$T/tmux.sock"
tmx() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
# shellcheck disable=SC2016  # expanded when the hook runs
it_on_exit 'tmux -S "$TMUX_SOCK" kill-server'
tmx new-session -d -s pe -x 100 -y 30 "sleep 600" || fail "tmux did not start"
PANE_TTY=$(tmx display-message -p -t pe '#{pane_tty}')
[ -c "$PANE_TTY" ] || fail "no pane tty: [$PANE_TTY]"

# wait_screen TEXT: waits up to 10 s until the pane shows TEXT.
wait_screen() {
	local n=0
	until tmx capture-pane -p -t pe | grep -qF -- "$1"; do
		[ $n -ge 100 ] && fail "the pane never showed [$1]: $(tmx capture-pane -p -t pe)"
		sleep 0.1; n=$((n + 1))
	done
}

# dialogue MODE: runs the driver in the background against the pane; $DRIVER_PID.
dialogue() {
	"$T/driver" "$1" /usr/bin/pinentry-curses "$PANE_TTY" screen >"$T/result" 2>&1 &
	DRIVER_PID=$!
}

finish() {
	it_wait_gone "$DRIVER_PID" 150 || fail "the driver did not finish: $(cat "$T/result")"
	wait "$DRIVER_PID"
	RESULT=$(cat "$T/result")
}

step "GETPIN: the prompt appears on the pane, the typed PIN comes back"
export EXPECT_PIN='tty PIN 42%'
dialogue getpin
wait_screen 'it-key'
wait_screen 'PIN:'
tmx send-keys -t pe -l "$EXPECT_PIN"
tmx send-keys -t pe Enter
finish
assert_eq "rc=0 len=11 match=1 " "$RESULT" "PIN typed on the terminal"
assert_not_contains "$(tmx capture-pane -p -t pe)" "$EXPECT_PIN" "PIN echoed on screen"

step "CONFIRM: Enter on the default button confirms"
dialogue confirm
wait_screen 'Allow a signature'
tmx send-keys -t pe Enter
finish
assert_eq "rc=0 " "$RESULT" "confirm on the terminal"

step "GETPIN: the Cancel button cancels"
dialogue getpin
wait_screen 'PIN:'
tmx send-keys -t pe Tab Tab Enter   # entry -> <OK> -> <Cancel>, press it
finish
assert_eq "rc=-2 len=0 match=0 cancelled by the user" "$RESULT" "cancel on the terminal"

echo "ok"
