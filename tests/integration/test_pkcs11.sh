#!/bin/bash
# PKCS#11 with softhsm2: ssh-add -s PROVIDER loads an RSA and an ECDSA key through
# OpenSSH's ssh-pkcs11-helper (the module never enters the agent's address space);
# they log in to sshd and sign SSHSIG; -t and -c apply to them; ssh-add -e removes them;
# a wrong PIN, a provider outside allowed-providers (-P) and a non-module are refused.
. "$(dirname "$0")/lib.sh"

MODULE=/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
[ -f "$MODULE" ] || MODULE=$(ls /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
[ -n "$MODULE" ] && [ -f "$MODULE" ] || fail "softhsm2 missing (contrib/install-deps.sh)"
[ -x /usr/lib/openssh/ssh-pkcs11-helper ] || fail "ssh-pkcs11-helper missing (openssh-client)"

export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir -m 700 "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T/tokens" >"$SOFTHSM2_CONF"
run_ok softhsm2-util --init-token --free --label it --pin 1234 --so-pin 12345678
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null ||
	fail "openssl genpkey rsa"
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out ec.pem 2>/dev/null ||
	fail "openssl genpkey ec"
for k in rsa ec; do
	openssl pkcs8 -topk8 -nocrypt -in $k.pem -out $k.p8 || fail "pkcs8 $k"
	run_ok softhsm2-util --token it --label $k --id "$([ $k = rsa ] && echo 01 || echo 02)" \
		--pin 1234 --import $k.p8
	chmod 600 $k.pem
	ssh-keygen -y -f $k.pem >$k.pub || fail "ssh-keygen -y $k"
done

# ssh-add reads the PIN through SSH_ASKPASS (no terminal here).
printf '#!/bin/sh\ncat "%s/pin"\n' "$T" >askpass
chmod 755 askpass
export SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0

step "a wrong PIN is refused"
agent_stop
agent_start_fg
echo 0000 >"$T/pin"
run_fail ssh-add -s "$MODULE"
assert_contains "$(cat "$AGENT_LOG")" "wrong PIN" "agent says why"

step "ssh-add -s loads the token's keys through ssh-pkcs11-helper"
echo 1234 >"$T/pin"
run_ok ssh-add -s "$MODULE"
run_ok ssh-add -L
assert_contains "$OUT" "$(cut -d' ' -f2 rsa.pub)" "RSA key listed"
assert_contains "$OUT" "$(cut -d' ' -f2 ec.pub)" "ECDSA key listed"
grep -q softhsm "/proc/$SSH_AGENT_PID/maps" && fail "the module is mapped into the agent"
pgrep -P "$SSH_AGENT_PID" -f ssh-pkcs11-helper >/dev/null || fail "no ssh-pkcs11-helper child"

step "the token's keys log in and sign"
start_sshd
for k in rsa ec; do
	: >"$SSHD_DIR/authorized_keys"
	authorize_key "$(cat $k.pub)"
	ssh_login -o IdentitiesOnly=yes -o IdentityFile="$T/work/$k.pub"
	assert_eq 0 "$RC" "$k login through the token ($ERR)"
	echo data >file && rm -f file.sig
	run_ok ssh-keygen -Y sign -f $k.pub -n file file
	printf 'me %s\n' "$(cat $k.pub)" >allowed
	run_ok ssh-keygen -Y verify -f allowed -I me -n file -s file.sig <file
done
run_ok ssh-add -T rsa.pub

step "ssh-add -e removes them"
run_ok ssh-add -e "$MODULE"
run_fail ssh-add -l
assert_eq 1 "$RC" "no identities after -e"

step "-t applies to token keys"
run_ok ssh-add -t 2 -s "$MODULE"
assert_eq 2 "$(ssh-add -l | grep -c SHA256:)" "two token keys"
n=0
while ssh-add -l >/dev/null 2>&1 && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
run_fail ssh-add -l
assert_eq 1 "$RC" "token keys expired"
run_ok ssh-add -e "$MODULE"

step "providers outside allowed-providers and non-modules are refused"
agent_stop
agent_start_fg -P '/nonexistent/*'
run_fail ssh-add -s "$MODULE"
assert_contains "$(cat "$AGENT_LOG")" "is not allowed" "allow-list refusal logged"
agent_stop
agent_start_fg -P '/usr/lib/*,/lib/*'
run_fail ssh-add -s /usr/lib/x86_64-linux-gnu/libz.so.1
echo "PASS: $IT_NAME"
