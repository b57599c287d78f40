#!/bin/bash
# ssh-add against tpm-agent: -l / -L / -d / -D, tpm-key gen / list / pub / load / rm.
. "$(dirname "$0")/lib.sh"

step "tpm-key gen with the default name prints the public line and writes the store"
run_ok tk gen --no-pin -t ecdsa -b 256 -C alice@laptop
PUB_E=$(printf '%s\n' "$OUT" | grep -E '^ecdsa-sha2-nistp256 ' | head -1)
assert_match "$PUB_E" '^ecdsa-sha2-nistp256 AAAA[A-Za-z0-9+/]+=* alice@laptop$' "gen output"
KEYS="$TPM_AGENT_HOME/keys"
[ -f "$KEYS/ecdsa-p256.tss" ] || fail "default name: no $KEYS/ecdsa-p256.tss ($(ls "$KEYS"))"
assert_mode "$KEYS/ecdsa-p256.tss" 600
assert_eq "-----BEGIN TSS2 PRIVATE KEY-----" "$(head -1 "$KEYS/ecdsa-p256.tss")" "key file PEM label"
assert_eq "$(key_body "$PUB_E")" "$(key_body "$(cat "$KEYS/ecdsa-p256.pub")")" ".pub file"
printf '%s\n' "$PUB_E" >ecdsa-p256.pub
FP_E=$(fp_of ecdsa-p256.pub)

step "tpm-key gen -n names the key"
gen_key work rsa 2048 bob@work
PUB_W=$PUB FP_W=$FP

step "a second key of the same type gets the next default name"
run_ok tk gen --no-pin -t ecdsa -b 256
[ -f "$KEYS/ecdsa-p256-2.tss" ] || fail "second default name: expected ecdsa-p256-2 ($(ls "$KEYS"))"
printf '%s\n' "$(printf '%s\n' "$OUT" | grep -E '^ecdsa-sha2-nistp256 ' | head -1)" >ecdsa-p256-2.pub
FP_E2=$(fp_of ecdsa-p256-2.pub)
assert_ne "$FP_E" "$FP_E2" "two generated keys have different fingerprints"

step "an existing name is refused and the key file is left alone"
before=$(sha256sum "$KEYS/work.tss")
run_fail tk gen --no-pin -t ecdsa -b 256 -n work
assert_eq 1 "$RC" "exit status of gen over an existing name"
[ -n "$ERR" ] || fail "gen over an existing name printed no message"
assert_eq "$before" "$(sha256sum "$KEYS/work.tss")" "work.tss changed"

step "tpm-key pub prints the same line as gen"
run_ok tk pub work
assert_eq "$(key_body "$PUB_W")" "$(key_body "$OUT")" "tpm-key pub work"
run_ok tk pub ecdsa-p256
assert_eq "$(key_body "$PUB_E")" "$(key_body "$OUT")" "tpm-key pub ecdsa-p256"

step "tpm-key list: one line per key with name, fingerprint, keygrip and comment"
run_ok tk list
LIST=$OUT
assert_eq 3 "$(printf '%s\n' "$LIST" | grep -c -E 'SHA256:')" "key lines in tpm-key list"
for spec in "ecdsa-p256|$FP_E|alice@laptop" "work|$FP_W|bob@work" "ecdsa-p256-2|$FP_E2|"; do
	IFS='|' read -r n f c <<<"$spec"
	line=$(printf '%s\n' "$LIST" | grep -F -- "$f")
	[ -n "$line" ] || fail "tpm-key list lacks $n ($f): $LIST"
	assert_match "$line" "(^|[[:space:]])$(re "$n")([[:space:]]|$)" "name in list line"
	assert_match "$line" '(^|[[:space:]])[0-9A-Fa-f]{40}([[:space:]]|$)' "keygrip in list line"
	[ -z "$c" ] || assert_contains "$line" "$c" "comment in list line"
done
assert_match "$(printf '%s\n' "$LIST" | grep -F -- "$FP_W")" '2048' "bits in list line"

step "ssh-add -l lists every key with the fingerprint of tpm-key pub"
run_ok ssh-add -l
assert_eq 3 "$(printf '%s\n' "$OUT" | grep -c SHA256:)" "ssh-add -l lines"
assert_match "$OUT" "^256 $(re "$FP_E") .*\(ECDSA\)$" "ssh-add -l ecdsa line"
assert_match "$OUT" "^2048 $(re "$FP_W") .*\(RSA\)$" "ssh-add -l rsa line"
assert_match "$OUT" "^256 $(re "$FP_E2") " "ssh-add -l second ecdsa line"
for f in ecdsa-p256.pub work.pub ecdsa-p256-2.pub; do
	assert_contains "$OUT" " $(fp_of "$f") " "fingerprint of $f (ssh-keygen -lf)"
done

step "ssh-add -L prints the public keys"
run_ok ssh-add -L
assert_contains "$OUT" "$(key_body "$PUB_E")" "ssh-add -L ecdsa"
assert_contains "$OUT" "$(key_body "$PUB_W")" "ssh-add -L rsa"

step "keys survive an agent restart"
agent_stop
agent_start
assert_eq "$(printf '%s\n' "$FP_E" "$FP_E2" "$FP_W" | sort)" "$(agent_fps | sort)" "keys after restart"
assert_contains "$(ssh-add -l)" "$FP_E alice@laptop (ECDSA)" "comment kept across a restart"

step "ssh-add -d unloads one key; its files stay"
run_ok ssh-add -d work.pub
FPS=$(agent_fps)
assert_not_contains "$FPS" "$FP_W" "ssh-add -l after -d"
assert_contains "$FPS" "$FP_E" "other keys after -d"
[ -f "$KEYS/work.tss" ] && [ -f "$KEYS/work.pub" ] || fail "ssh-add -d removed the key files"

step "tpm-key load brings it back"
run_ok tk load work
assert_contains "$(agent_fps)" "$FP_W" "ssh-add -l after load"

step "ssh-add -D unloads everything; files stay; load brings keys back"
run_ok ssh-add -D
RC=0; out=$(ssh-add -l 2>&1) || RC=$?
assert_eq 1 "$RC" "ssh-add -l exit status with no identities ($out)"
assert_contains "$out" "no identities" "ssh-add -l with no identities"
[ "$(ls "$KEYS"/*.tss | wc -l)" -eq 3 ] || fail "ssh-add -D removed key files: $(ls "$KEYS")"
run_ok tk load ecdsa-p256
run_ok tk load work
assert_eq "$(printf '%s\n' "$FP_E" "$FP_W" | sort)" "$(agent_fps | sort)" "keys after loading two"

step "tpm-key rm deletes the files and unloads the key"
run_ok tk rm -f work
[ ! -e "$KEYS/work.tss" ] || fail "work.tss still there after rm"
[ ! -e "$KEYS/work.pub" ] || fail "work.pub still there after rm"
assert_not_contains "$(agent_fps)" "$FP_W" "ssh-add -l after rm"
assert_contains "$(agent_fps)" "$FP_E" "other key after rm"
run_ok tk list
assert_not_contains "$OUT" "$FP_W" "tpm-key list after rm"

step "errors: exit 1 with a one-line message"
for cmd in "pub work" "load work" "rm work" "pub no-such-key" "gen -t ecdsa -b 256 -n ../evil"; do
	# shellcheck disable=SC2086
	run_fail tk $cmd
	assert_eq 1 "$RC" "exit status of tpm-key $cmd"
	[ -n "$ERR" ] || fail "tpm-key $cmd printed no message"
	assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "lines of stderr of tpm-key $cmd"
done
[ ! -e "$TPM_AGENT_HOME/evil.tss" ] && [ ! -e "$TPM_AGENT_HOME/keys/../evil.tss" ] \
	|| fail "a key name with ../ escaped the keys dir"

step "the agent still answers"
run_ok ssh-add -l
echo "PASS: $IT_NAME"
