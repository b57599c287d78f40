#!/bin/bash
# The config file ($XDG_CONFIG_HOME/tpm-agent/config) and the --KEY=VALUE flags: every
# setting round-trips through --check-config, bad lines name their line, the command
# line wins over the file, and tpm-key status shows the effective settings.
IT_NO_AGENT=1
. "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T/config-home"
CONF="$XDG_CONFIG_HOME/tpm-agent/config"
mkdir -p "$(dirname "$CONF")"

step "defaults without a config file"
run_ok "$TPM_AGENT" --check-config
assert_contains "$OUT" "encrypt-sessions = yes" "default encrypt-sessions"
assert_contains "$OUT" "pin-cache-ttl = 600" "default pin-cache-ttl"
assert_contains "$OUT" "max-nv-certs = 4" "default max-nv-certs"

step "every setting round-trips: --check-config output read back as a config file"
cat >"$CONF" <<'CONF'
# a comment, then every setting with a non-default value
tcti = swtpm:host=127.0.0.1,port=1
simulator = yes
simulator-dir = /tmp/somewhere
srk-handle = 0x81000002
hierarchy = endorsement
encrypt-sessions = no
pin-cache-ttl = 0
pinentry-program = "/usr/bin/pinentry-tty"
max-nv-certs = 2
nv-base-index = 0x01810000
gpg = yes
gpg-socket = /tmp/gpg.sock
log-level = debug
platform-policy = yes
pcr-selection = sha384:0,7
pin-from-sealed = host:host-pin,k2:k2pin
CONF
run_ok "$TPM_AGENT" --check-config
FIRST=$OUT
while IFS= read -r line; do
	case "$line" in '#'*|'') continue ;; esac
	key=${line%% =*}
	assert_contains "$FIRST" "$key = $(printf '%s' "${line#*= }" | tr -d '"')" "setting $key"
done <"$CONF"
printf '%s\n' "$FIRST" >"$T/roundtrip.conf"
run_ok "$TPM_AGENT" --check-config --config "$T/roundtrip.conf"
assert_eq "$FIRST" "$OUT" "a printed configuration reads back the same"

step "the command line wins over the file"
run_ok "$TPM_AGENT" --check-config --pin-cache-ttl=30 --max-nv-certs 3 --encrypt-sessions=yes
assert_contains "$OUT" "pin-cache-ttl = 30" "flag over file"
assert_contains "$OUT" "max-nv-certs = 3" "flag over file"
assert_contains "$OUT" "encrypt-sessions = yes" "flag over file"
assert_contains "$OUT" "gpg-socket = /tmp/gpg.sock" "file setting kept"

step "a bad line stops the agent with its line number"
printf 'tcti = x\n\nbogus-key = 1\n' >"$CONF"
run_fail "$TPM_AGENT" --check-config
assert_contains "$ERR" "config:3: unknown setting 'bogus-key'" "unknown key"
printf '# ok\nmax-nv-certs = lots\n' >"$CONF"
run_fail "$TPM_AGENT" --check-config
assert_contains "$ERR" "config:2: max-nv-certs: 'lots' is not a number" "bad number"
printf 'hierarchy = platform\n' >"$CONF"
run_fail "$TPM_AGENT" --check-config
assert_contains "$ERR" "config:1: hierarchy: 'platform' is not one of owner, endorsement, null" \
	"bad hierarchy"
printf 'encrypt-sessions = maybe\n' >"$CONF"
run_fail "$TPM_AGENT" --check-config
assert_contains "$ERR" "config:1: encrypt-sessions: 'maybe' is not yes or no" "bad bool"
printf 'no equals sign\n' >"$CONF"
run_fail "$TPM_AGENT" -D --tcti "$SWTPM_TCTI" -a "$T/never.sock"
assert_contains "$ERR" "config:1: expected 'key = value'" "the agent itself refuses to start"
run_fail "$TPM_AGENT" --check-config --config "$T/does-not-exist"
assert_contains "$ERR" "does-not-exist" "a named config file that is missing"

step "tpm-key status shows the effective settings of the running agent"
printf 'pin-cache-ttl = 42\n' >"$CONF"
agent_start
run_ok tk status
assert_contains "$OUT" "setting pin-cache-ttl" "status lists settings"
assert_match "$OUT" "setting pin-cache-ttl +42" "status shows the file's value"
