#!/bin/bash
# Key locations: key-dirs serves .tpm/.tss files outside the store (~ expanded, comment
# from the .pub beside them, never deleted or rewritten by the agent; directories and
# files must be the user's own and closed to others, no symlinks); load-keys = no
# serves only what tpm-key load / add names. Both from the config file and the command
# line.
. "$(dirname "$0")/lib.sh"

fps_has() { agent_fps | grep -qxF "$1"; }

step "two keys made, moved out of the store into two key dirs"
gen_key a1 ecdsa 256
gen_key a2 ecdsa 384
FP1=$(fp_of a1.pub) FP2=$(fp_of a2.pub)
mkdir -m 700 "$HOME/.ssh" "$T/keys2"
cp "$TPM_AGENT_HOME/keys/a1.tss" "$HOME/.ssh/ext1.tpm"
printf '%s ext1@comment\n' "$(key_body "$(cat a1.pub)")" >"$HOME/.ssh/ext1.pub"
cp "$TPM_AGENT_HOME/keys/a2.tss" "$T/keys2/ext2.tss"
run_ok tk rm a1
run_ok tk rm a2
gen_key s1 ecdsa 256
FPS=$(fp_of s1.pub)

step "--key-dirs=~/.ssh,DIR serves them beside the store's keys"
agent_stop
agent_start "--key-dirs=~/.ssh, $T/keys2"
fps_has "$FP1" || fail "ext1.tpm from ~/.ssh not served"
fps_has "$FP2" || fail "ext2.tss from $T/keys2 not served"
fps_has "$FPS" || fail "the store's key not served"
run_ok ssh-add -L
assert_contains "$OUT" "ext1@comment" "comment from the .pub beside the .tpm"
run_ok tk list
assert_contains "$OUT" "ext1" "tpm-key list names the key-dir key"
cp "$HOME/.ssh/ext1.pub" ext1.pub
echo data >file
run_ok timeout 30 ssh-keygen -Y sign -f ext1.pub -n git file
run_fail tk rm ext1
assert_contains "$ERR" "remove that file yourself" "key-dir keys are not deleted by rm"
[ -f "$HOME/.ssh/ext1.tpm" ] || fail "rm touched the key-dir file"

step "unsafe key dirs and files are refused"
agent_stop
ln -s "$T/keys2" "$T/keys-link"
run_fail timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$AGENT_SOCK" -s --key-dirs="$T/keys-link"
assert_contains "$ERR" "symbolic link" "a symlinked key dir is refused"
chmod 770 "$T/keys2"
run_fail timeout 60 "$TPM_AGENT" --tcti "$SWTPM_TCTI" -a "$AGENT_SOCK" -s --key-dirs="$T/keys2"
assert_contains "$ERR" "writable by group or others" "a group-writable key dir is refused"
chmod 700 "$T/keys2"
chmod 664 "$T/keys2/ext2.tss"
ln -s "$HOME/.ssh/ext1.tpm" "$T/keys2/linked.tpm"
agent_start_fg --key-dirs="$T/keys2"
fps_has "$FP2" && fail "a group-writable key file was served"
fps_has "$FP1" && fail "a symlinked key file was served"
assert_contains "$(cat "$AGENT_LOG")" "ext2.tss is writable by group or others" "the log says why ext2 was skipped"
chmod 600 "$T/keys2/ext2.tss"
rm "$T/keys2/linked.tpm"

step "load-keys = no (config file): nothing served until tpm-key load / add"
agent_stop
mkdir -p "$XDG_CONFIG_HOME/tpm-agent"
printf 'load-keys = no\nkey-dirs = ~/.ssh\n' >"$XDG_CONFIG_HOME/tpm-agent/config"
agent_start
run_fail ssh-add -l
assert_contains "$OUT" "no identities" "load-keys = no serves nothing at start"
run_ok tk list
assert_contains "$OUT" "s1" "the store's keys are still listed by tpm-key"
run_ok tk load s1
fps_has "$FPS" || fail "tpm-key load s1 did not serve it"
fps_has "$FP1" && fail "ext1 served before tpm-key load"
run_ok tk load ext1
fps_has "$FP1" || fail "tpm-key load ext1 did not serve the key-dir key"
run_ok ssh-keygen -q -t ecdsa -N '' -f soft
run_ok tk import --no-pin -n imp soft
fps_has "$(fp_of soft.pub)" || fail "a key added after start is served"
echo ok
