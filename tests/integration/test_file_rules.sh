#!/bin/bash
# test_file_rules: certs/, certificate files, sealed objects, key files and the config
# follow keys/'s rules: no symbolic links, owned by the user, not writable by group or
# others. The issue's attack: a certificate signed by another CA with principals=root,
# in a world-writable certs/ or owned by another user, is not served; each refusal
# names the file or directory.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

agent_start_fg   # -d: refusals are logged
CERTS="$TPM_AGENT_HOME/certs"
SEALED="$TPM_AGENT_HOME/sealed"
gen_key fr-key ecdsa 256
ssh-keygen -q -t ed25519 -N '' -C evil-ca -f evil-ca </dev/null || fail "ssh-keygen ca"
ssh-keygen -q -s evil-ca -I evil -n root -V -5m:+1h fr-key.pub </dev/null >/dev/null 2>&1 ||
	fail "ssh-keygen -s"
cert_body=$(cut -d' ' -f2 fr-key-cert.pub)
served() { ssh-add -L 2>/dev/null | grep -c -- "$cert_body"; }
log_has() {   # log_has TEXT: waits a little for the agent's log line
	local n=0
	until grep -qF -- "$1" "$AGENT_LOG"; do
		[ $n -lt 50 ] || return 1
		sleep 0.1; n=$((n + 1))
	done
}

step "a planted certificate in a world-writable certs/ is not served"
chmod 777 "$CERTS"
cp fr-key-cert.pub "$CERTS/fr-key-cert.pub"
assert_eq 0 "$(served)" "certificate served from a world-writable certs/"
log_has "$CERTS is writable by group or others" || fail "no log line naming $CERTS: $(tail -3 "$AGENT_LOG")"
chmod 700 "$CERTS"

if [ "$(id -u)" -eq 0 ]; then
	step "a certificate file owned by another user is not served"
	chown nobody "$CERTS/fr-key-cert.pub"
	assert_eq 0 "$(served)" "certificate owned by nobody"
	log_has "$CERTS/fr-key-cert.pub belongs to uid $(id -u nobody)" ||
		fail "no log line naming the file: $(tail -3 "$AGENT_LOG")"
	chown "$(id -u)" "$CERTS/fr-key-cert.pub"
fi

step "a group-writable certificate file or a symbolic link is not served"
chmod 620 "$CERTS/fr-key-cert.pub"
assert_eq 0 "$(served)" "group-writable certificate"
log_has "$CERTS/fr-key-cert.pub is writable by group or others" || fail "no log line for the mode"
chmod 600 "$CERTS/fr-key-cert.pub"
mv "$CERTS/fr-key-cert.pub" "$PWD/elsewhere-cert.pub"
ln -s "$PWD/elsewhere-cert.pub" "$CERTS/fr-key-cert.pub"
assert_eq 0 "$(served)" "certificate behind a symbolic link"
log_has "skipping certificate $CERTS/fr-key-cert.pub: a symbolic link" || fail "no log line for the link"
rm "$CERTS/fr-key-cert.pub"

step "the same file, ours and private, is served"
cp fr-key-cert.pub "$CERTS/fr-key-cert.pub"
chmod 600 "$CERTS/fr-key-cert.pub"
assert_eq 1 "$(served)" "a good certificate file"

step "sealed objects: a writable file, a writable sealed/ or a link are refused, named"
printf 'sealed secret' >secret.txt
timeout 120 "$TPM_KEY" seal fr-secret --no-pin <secret.txt >/dev/null 2>"$T/.err" ||
	fail "seal: $(cat "$T/.err")"
chmod 666 "$SEALED/fr-secret.tss"
run_fail tk unseal fr-secret
assert_contains "$ERR" "$SEALED/fr-secret.tss is writable by group or others" "unseal of a writable file"
chmod 600 "$SEALED/fr-secret.tss"
chmod 777 "$SEALED"
run_fail tk unseal fr-secret
assert_contains "$ERR" "$SEALED is writable by group or others" "unseal from a writable sealed/"
chmod 700 "$SEALED"
mv "$SEALED/fr-secret.tss" "$PWD/moved.tss"
ln -s "$PWD/moved.tss" "$SEALED/fr-secret.tss"
run_fail tk unseal fr-secret
assert_contains "$ERR" "$SEALED/fr-secret.tss is a symbolic link" "unseal through a link"
rm "$SEALED/fr-secret.tss"
mv "$PWD/moved.tss" "$SEALED/fr-secret.tss"
run_ok tk unseal fr-secret
assert_eq "sealed secret" "$OUT" "unseal of the restored object"

step "a group-writable key file is skipped at start, named in the log"
agent_stop
chmod 660 "$TPM_AGENT_HOME/keys/fr-key.tss"
: >"$AGENT_LOG"
agent_start_fg
log_has "$TPM_AGENT_HOME/keys/fr-key.tss is writable by group or others" ||
	fail "no log line naming the key file: $(cat "$AGENT_LOG")"
assert_not_contains "$(ssh-add -L)" "$(key_body "$PUB")" "identities with a writable key file"
agent_stop
chmod 600 "$TPM_AGENT_HOME/keys/fr-key.tss"

step "a config file writable by others is refused, named"
mkdir -p -m 700 "$XDG_CONFIG_HOME/tpm-agent"
printf 'pinentry-program = /bin/false\n' >"$XDG_CONFIG_HOME/tpm-agent/config"
chmod 666 "$XDG_CONFIG_HOME/tpm-agent/config"
RC=0
timeout 30 "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/cfg.sock" </dev/null >/dev/null 2>cfg.err || RC=$?
[ "$RC" -ne 0 ] || fail "the agent started with a world-writable config"
assert_contains "$(cat cfg.err)" "$XDG_CONFIG_HOME/tpm-agent/config is writable by group or others" "config refusal"
chmod 600 "$XDG_CONFIG_HOME/tpm-agent/config"
agent_start_fg
assert_contains "$(ssh-add -L)" "$(key_body "$PUB")" "identities with every file in order"
