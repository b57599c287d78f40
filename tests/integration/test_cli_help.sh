#!/bin/bash
# test_cli_help: every tpm-key command helps itself. For each command of the command
# table (tpm-key --complete-data): `tpm-key CMD -h`, `CMD --help` and `tpm-key help
# CMD` exit 0 and print the same usage, naming the command, on stdout and nothing on
# stderr; errors carry one "tpm-key: CMD:" prefix, never a doubled one; rm refuses to
# delete unasked without a terminal.
IT_NO_TPM=1   # read by lib.sh: no swtpm, no agent
. "$(dirname "$0")/lib.sh"

step "tpm-key --help, help: usage on stdout, exit 0"
run_ok "$TPM_KEY" --help
assert_contains "$OUT" "tpm-key help COMMAND" "top-level help names help COMMAND"
run_ok "$TPM_KEY" help
assert_contains "$OUT" "Commands:" "tpm-key help"

CMDS=$("$TPM_KEY" --complete-data | awk -F'\t' '/^cmd / { sub(/^cmd /, "", $1); print $1 }')
[ "$(printf '%s\n' "$CMDS" | wc -l)" -ge 20 ] || fail "too few commands in --complete-data: $CMDS"
LISTED=$("$TPM_KEY" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
assert_eq "$LISTED" "$CMDS" "--help and --complete-data list the same commands"

step "each command: -h, --help and help CMD"
for c in $CMDS; do
	run_ok "$TPM_KEY" "$c" -h
	assert_eq "" "$ERR" "tpm-key $c -h writes nothing to stderr"
	assert_match "$OUT" "^usage: tpm-key $c( |\$)" "tpm-key $c -h"
	h=$OUT
	run_ok "$TPM_KEY" "$c" --help
	assert_eq "$h" "$OUT" "tpm-key $c --help"
	run_ok "$TPM_KEY" help "$c"
	assert_eq "$h" "$OUT" "tpm-key help $c"
done
run_fail "$TPM_KEY" help nosuch
assert_contains "$ERR" "unknown command 'nosuch'" "help of an unknown command"

step "errors: one line, one prefix, a next step"
export SSH_AUTH_SOCK="$T/no-agent.sock" TPM_AGENT_SOCK="$T/no-agent.sock"
for c in "list" "status" "pub x" "forget" "unseal x" "gen --no-pin" "cert list"; do
	run_fail "$TPM_KEY" $c </dev/null
	assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "tpm-key $c: one line of error: $ERR"
	assert_match "$ERR" "^tpm-key: " "tpm-key $c: the prefix"
	if grep -qE '^tpm-key: ([a-z-]+): \1( |:)' <<<"$ERR"; then
		fail "tpm-key $c: doubled prefix: $ERR"
	fi
done
run_fail "$TPM_KEY" rm </dev/null
assert_eq "tpm-key: rm: bad arguments; usage: tpm-key rm [-f] NAME... (tpm-key help rm explains)" \
	"$ERR" "rm without a name: one line, the synopsis and the next step"

step "rm without a terminal deletes nothing unless -f"
run_fail "$TPM_KEY" rm somekey </dev/null
assert_contains "$ERR" "cannot be recovered (add -f to delete it anyway)" "rm on no tty"

echo "PASS: $IT_NAME"
