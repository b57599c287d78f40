#!/bin/bash
# The agent shares the TPM through tpm2-abrmd (--tcti tabrmd:bus_type=session, on a
# private D-Bus bus, against the test's swtpm): ssh logins and signatures over more keys
# than the TPM has slots, while tpm2-tools commands (getrandom, getcap, createprimary)
# run at the same time through the same resource manager; none of them fails.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

command -v tpm2-abrmd >/dev/null || fail "tpm2-abrmd is not installed (contrib/install-deps.sh)"
ls /usr/lib/*/libtss2-tcti-tabrmd.so.0 >/dev/null 2>&1 ||
	fail "libtss2-tcti-tabrmd0 is not installed (contrib/install-deps.sh)"

step "a private session bus and tpm2-abrmd on the test's swtpm"
cat >"$T/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$T</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOC
bus=$(dbus-daemon --config-file="$T/bus.conf" --fork --print-address=1 --print-pid=1) ||
	fail "dbus-daemon did not start"
DBUS_SESSION_BUS_ADDRESS=$(printf '%s\n' "$bus" | sed -n 1p)
DBUS_PID=$(printf '%s\n' "$bus" | sed -n 2p)
export DBUS_SESSION_BUS_ADDRESS
it_on_exit "kill $DBUS_PID"
# --allow-root: CI runs the tests as root; the broker is ours and bound to our bus.
tpm2-abrmd --session --allow-root --tcti="$SWTPM_TCTI" >"$T/abrmd.log" 2>&1 &
ABRMD_PID=$!
it_on_exit "kill $ABRMD_PID"
TABRMD=tabrmd:bus_type=session
n=0
until TPM2TOOLS_TCTI=$TABRMD timeout 10 tpm2_getrandom 4 >/dev/null 2>&1; do
	it_pid_alive "$ABRMD_PID" || fail "tpm2-abrmd exited: $(cat "$T/abrmd.log")"
	[ $n -ge 100 ] && fail "tpm2-abrmd did not answer: $(cat "$T/abrmd.log")"
	sleep 0.1; n=$((n + 1))
done

step "the agent through tabrmd: four keys (swtpm has three slots)"
SWTPM_TCTI=$TABRMD agent_start_fg
for k in t1 t2 t3 t4; do gen_key "$k" ecdsa 256 "$k@tabrmd"; authorize_key "$PUB"; done
run_ok tk status
assert_contains "$OUT" "tcti                         $TABRMD"
assert_not_contains "$OUT" "tpm leftovers" "no clean-up behind a resource manager"
start_sshd
echo data >file

step "tpm2-tools commands through tabrmd while the agent signs"
: >"$T/tools.count"
: >"$T/tools.fail"
(
	i=0
	while [ ! -e "$T/tools.stop" ] && [ $i -lt 500 ]; do
		i=$((i + 1))
		for c in "tpm2_getrandom 16" "tpm2_getcap properties-variable" \
			 "tpm2_createprimary -C o -g sha256 -G ecc256 -c $T/prim.ctx"; do
			TPM2TOOLS_TCTI=$TABRMD timeout 30 $c >/dev/null 2>>"$T/tools.err" ||
				echo "$c" >>"$T/tools.fail"
		done
		echo "$i" >>"$T/tools.count"
	done
) &
TOOLS_PID=$!
it_on_exit "touch $T/tools.stop; kill $TOOLS_PID"
n=0
until [ -s "$T/tools.count" ] || [ $n -ge 300 ]; do sleep 0.1; n=$((n + 1)); done
before=$(wc -l <"$T/tools.count")
for round in 1 2 3; do
	for k in t1 t2 t3 t4; do
		rm -f file.sig
		timeout 60 ssh-keygen -Y sign -f "$k.pub" -n git file </dev/null >/dev/null 2>&1 ||
			fail "round $round: signature with $k failed: $(tail -5 "$AGENT_LOG")"
		ssh-keygen -Y check-novalidate -n git -f "$k.pub" -s file.sig <file >/dev/null 2>&1 ||
			fail "round $round: the signature with $k does not verify"
	done
	ssh_login
	[ "$RC" -eq 0 ] && [ "$OUT" = ok ] || fail "round $round: ssh login failed: $ERR"
done
after=$(wc -l <"$T/tools.count")
touch "$T/tools.stop"
wait "$TOOLS_PID"
[ "$after" -gt "$before" ] || fail "the tpm2-tools loop did not run while the agent signed"
[ ! -s "$T/tools.fail" ] || fail "tpm2-tools commands failed: $(sort "$T/tools.fail" | uniq -c) $(tail -3 "$T/tools.err")"

step "the agent still signs, and its session is intact"
sign_ok=0
timeout 60 ssh-keygen -Y sign -f t1.pub -n git file </dev/null >/dev/null 2>&1 && sign_ok=1
assert_eq 1 "$sign_ok" "a signature after the tools stopped"
run_ok tk status
assert_match "$OUT" "tpm deadlines +30 s per command, 300 s per key creation; 0 reconnects"
