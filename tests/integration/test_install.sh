#!/bin/bash
# test_install: `make install DESTDIR=... PREFIX=/usr` puts the binaries, man pages,
# systemd user units and bash completion where they belong; the installed tpm-agent and
# tpm-key work (ssh-add -l, tpm-key gen/list); the installed completion completes
# commands, options and key names; `make uninstall` removes every file again.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

R="$T/root"
step "make install DESTDIR=\$T/root PREFIX=/usr"
run_ok make -s -C "$IT_REPO" install DESTDIR="$R" PREFIX=/usr
for f in usr/bin/tpm-agent usr/bin/tpm-key; do
	[ -x "$R/$f" ] || fail "$f not installed (or not executable)"
done
for f in usr/share/man/man1/tpm-agent.1 usr/share/man/man1/tpm-key.1 \
	 usr/share/man/man5/tpm-agent.conf.5 usr/lib/systemd/user/tpm-agent.socket \
	 usr/lib/systemd/user/tpm-agent-gpg.socket usr/lib/systemd/user/tpm-agent.service \
	 usr/share/bash-completion/completions/tpm-key; do
	[ -f "$R/$f" ] || fail "$f not installed"
	assert_mode "$R/$f" 644
done
assert_contains "$(cat "$R/usr/lib/systemd/user/tpm-agent.service")" \
	"ExecStart=/usr/bin/tpm-agent -D" "ExecStart names the installed binary (no DESTDIR)"
assert_not_contains "$(cat "$R"/usr/lib/systemd/user/*)" "@BINDIR@" "placeholders left in units"
assert_contains "$(man -l "$R/usr/share/man/man1/tpm-key.1" 2>/dev/null | col -bx)" "setup" \
	"man -l renders tpm-key(1)"

step "the installed binaries run"
run_ok "$R/usr/bin/tpm-agent" --version
assert_match "$OUT" '^tpm-agent [0-9]+\.[0-9]+' "tpm-agent --version"
run_ok "$R/usr/bin/tpm-key" --version
assert_match "$OUT" '^tpm-key [0-9]+\.[0-9]+' "tpm-key --version"
TPM_AGENT="$R/usr/bin/tpm-agent"   # agent_start/agent_stop use it from here on
TPM_KEY="$R/usr/bin/tpm-key"       # and tk
agent_start
run_fail ssh-add -l
assert_contains "$OUT$ERR" "no identities" "ssh-add -l on the installed agent, no keys"
gen_key inst ecdsa 256 inst@installed
run_ok ssh-add -l
assert_contains "$OUT" "$FP inst@installed (ECDSA)" "ssh-add -l on the installed agent"
run_ok tk list
assert_contains "$OUT" "$FP" "installed tpm-key list"

step "the installed bash completion: commands, options, key names"
complete_words() {   # complete_words WORD...: what <TAB> after WORD... offers
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
		_tpm_key
		printf "%s\n" "${COMPREPLY[@]}"' _ "$R/usr/share/bash-completion/completions/tpm-key" "$@"
}
PATH="$R/usr/bin:$PATH"
out=$(PATH="$R/usr/bin:$PATH" complete_words tpm-key "")
for c in gen list pub rm load status cert setup; do
	grep -qx "$c" <<<"$out" || fail "completion of commands lacks $c: $out"
done
out=$(PATH="$R/usr/bin:$PATH" complete_words tpm-key gen --d)
assert_eq "--decrypt" "$out" "completion of tpm-key gen --d"
out=$(PATH="$R/usr/bin:$PATH" complete_words tpm-key setup --)
for o in --gpg --yes --dry-run; do
	grep -qx -- "$o" <<<"$out" || fail "completion of setup options lacks $o: $out"
done
out=$(PATH="$R/usr/bin:$PATH" complete_words tpm-key pub "")
assert_eq "inst" "$out" "completion of key names for pub"
out=$(PATH="$R/usr/bin:$PATH" complete_words tpm-key gen -t "")
assert_eq "$(printf 'ecdsa\nrsa')" "$out" "completion of gen -t"

step "make uninstall removes every installed file"
agent_stop
run_ok make -s -C "$IT_REPO" uninstall DESTDIR="$R" PREFIX=/usr
left=$(find "$R" -type f)
[ -z "$left" ] || fail "files left after uninstall: $left"

echo "PASS: $IT_NAME"
