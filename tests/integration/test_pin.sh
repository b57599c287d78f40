#!/bin/bash
# test_pin: keys with a PIN (the key's TPM authValue), asked by the agent through a
# (scripted) pinentry: gen asks twice; right PIN signs; a wrong PIN fails without the
# agent retrying on its own (one TPM failure = one prompt); the cache, its TTL and
# forget; cancel; passwd; LOCK drops the cache; confirm-on-use; key lifetime; the
# lockout message; other clients are served while a prompt is open; the PIN never
# shows in the log nor in the agent's readable memory.
IT_NO_AGENT=1   # read by lib.sh: we start the agent with our pinentry
. "$(dirname "$0")/lib.sh"

. "$IT_REPO/tests/lib/fake_pinentry.sh"

start() { agent_start_fg --pinentry-program="$T/pinentry" "$@"; }

echo "signed data" >msg
# sign PUB: ssh-keygen -Y sign through the agent; status in $RC.
sign() {
	rm -f msg.sig
	RC=0
	timeout 60 ssh-keygen -Y sign -f "$1" -n file msg >"$T/.sign.out" 2>&1 || RC=$?
}

pe PIN=1234
start

step "tpm-key gen asks a new PIN twice through pinentry, with tpm-key's environment"
pe_reset
run_ok env TERM=xterm-it LC_CTYPE=C.UTF-8 "$TPM_KEY" gen -t ecdsa -b 256 -n pk -C pin@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >pk.pub
[ -s pk.pub ] || fail "gen printed no public key: $OUT"
assert_eq 1 "$(getpins)" "GETPINs of gen (with SETREPEAT)"
assert_contains "$(cat "$PE_LOG")" "SETREPEAT" "gen asks the PIN twice"
assert_contains "$(cat "$PE_LOG")" "ENV TERM=xterm-it" "pinentry environment from tpm-key"
assert_contains "$(cat "$PE_LOG")" 'new TPM key "pk"' "gen dialog names the key"
step "the key file says emptyAuth FALSE (absent), a --no-pin key says TRUE"
openssl asn1parse -in "$TPM_AGENT_HOME/keys/pk.tss" >"$T/asn1" 2>&1 || fail "asn1parse: $(cat "$T/asn1")"
assert_not_contains "$(cat "$T/asn1")" "BOOLEAN" "emptyAuth of a PIN key"
run_ok tk gen --no-pin -t ecdsa -b 256 -n np -C nopin@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >np.pub
openssl asn1parse -in "$TPM_AGENT_HOME/keys/np.tss" >"$T/asn1" 2>&1
assert_contains "$(cat "$T/asn1")" "BOOLEAN" "emptyAuth of a --no-pin key"

step "right PIN signs; the dialog names the key and the requesting process"
pe_reset
sign pk.pub
assert_eq 0 "$RC" "sign with the right PIN ($(cat "$T/.sign.out"))"
[ -s msg.sig ] || fail "no signature"
assert_eq 1 "$(getpins)" "prompts for the first signature"
assert_match "$(cat "$PE_LOG")" 'SETDESC .*"pk".*SHA256:.*Requested by process [0-9]+: ssh-keygen' "dialog text"
printf 'it@test %s\n' "$(cut -d' ' -f1,2 pk.pub)" >allowed
run_ok ssh-keygen -Y verify -f allowed -I it@test -n file -s msg.sig <msg

step "cache hit: no second prompt"
sign pk.pub
assert_eq 0 "$RC" "second signature"
assert_eq 1 "$(getpins)" "prompts after a cached signature"

step "tpm-key forget drops the cache"
run_ok tk forget pk
assert_contains "$ERR" "forgot 1" "forget output"
sign pk.pub
assert_eq 0 "$RC" "signature after forget"
assert_eq 2 "$(getpins)" "prompts after forget"

step "wrong PINs fail; one prompt per TPM failure, never a resend; the prompt says why"
run_ok tk forget
pe_reset
pe_pins 0000 1111 2222 3333
sign pk.pub
assert_ne 0 "$RC" "sign with wrong PINs"
assert_eq 3 "$(getpins)" "prompts for 3 wrong PINs (at most 3 per request)"
assert_eq 2 "$(grep -c '^SETERROR Wrong PIN (' "$PE_LOG")" "SETERROR before the 2nd and 3rd prompt"
assert_match "$(cat "$PE_LOG")" 'SETERROR Wrong PIN \([0-9]+ tries left before the TPM locks out\)' "tries left"
assert_eq 3 "$(grep -c "key 'pk' for pid [0-9]*: Wrong PIN" "$AGENT_LOG")" "TPM failures logged, one per prompt"

step "wrong then right: the second prompt signs"
pe_reset
pe_pins 0000 1234
sign pk.pub
assert_eq 0 "$RC" "sign after one wrong PIN"
assert_eq 2 "$(getpins)" "prompts"

step "cancel fails cleanly and names the cause"
run_ok tk forget
pe MODE=cancel
sign pk.pub
assert_ne 0 "$RC" "cancelled signature"
assert_match "$(tail -5 "$AGENT_LOG")" "sign request from pid [0-9]+ failed: .*cancel" "cancel in the log"
pe MODE=crash
sign pk.pub
assert_ne 0 "$RC" "signature with a crashing pinentry"
assert_match "$(tail -3 "$AGENT_LOG")" "failed: pinentry" "crash in the log"

step "other clients are served while a prompt is open"
pe PIN=1234 DELAY=4
prompts=$(getpins)
sign pk.pub &
BG=$!
it_wait_until 100 eval '[ "$(getpins)" -gt "$prompts" ]' || fail "the prompt never opened"
t0=$(date +%s%N)
run_ok timeout 3 ssh-add -l
t1=$(date +%s%N)
assert_contains "$OUT" "pin@it" "ssh-add -l during a prompt"
[ $(( (t1 - t0) / 1000000 )) -lt 1500 ] || fail "ssh-add -l took $(( (t1 - t0) / 1000000 )) ms during a prompt"
run_ok tk list
wait "$BG" || fail "the signature behind the slow prompt failed"
pe PIN=1234

step "LOCK (ssh-add -x) drops the cache"
cat >askpass <<'ASK'
#!/bin/sh
echo lockpass
ASK
chmod +x askpass
sign pk.pub   # cached now
pe_reset
run_ok env SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -x
run_ok env SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -X
sign pk.pub
assert_eq 0 "$RC" "signature after lock/unlock"
assert_eq 1 "$(getpins)" "prompts after lock/unlock"

step "passwd: old PIN, new PIN twice; then the old PIN fails and the new one signs"
pe_reset
pe_pins 1234 5678 5678
cp "$TPM_AGENT_HOME/keys/pk.tss" "$T/pk.tss.old"
run_ok tk passwd pk
assert_contains "$ERR" "changed the PIN" "passwd output"
cmp -s "$TPM_AGENT_HOME/keys/pk.tss" "$T/pk.tss.old" && fail "passwd did not rewrite pk.tss"
pe_reset
pe_pins 1234
sign pk.pub
assert_ne 0 "$RC" "signature with the old PIN"
pe_reset
pe_pins 5678
sign pk.pub
assert_eq 0 "$RC" "signature with the new PIN"
assert_eq 1 "$(getpins)" "prompts with the new PIN"
pe_pins 0000 9999 9999
run_fail tk passwd pk
assert_contains "$ERR" "Wrong PIN" "passwd with a wrong old PIN"

step "confirm-on-use (tpm-key load -c): CONFIRM answered OK signs, refused fails"
run_ok tk load -c np
pe_reset
pe CONFIRM=yes
sign np.pub
assert_eq 0 "$RC" "confirmed signature"
assert_match "$(cat "$PE_LOG")" 'SETDESC Allow tpm-agent to sign with the TPM key "np".*Requested by process [0-9]+' "confirm text"
assert_eq 1 "$(grep -c '^CONFIRM' "$PE_LOG")" "CONFIRMs"
pe CONFIRM=no
sign np.pub
assert_ne 0 "$RC" "refused signature"
assert_contains "$(tail -3 "$AGENT_LOG")" "refused" "refusal in the log"
run_ok tk load np   # a plain load drops the constraint
pe_reset
sign np.pub
assert_eq 0 "$RC" "signature after a plain load"
assert_eq 0 "$(grep -c '^CONFIRM' "$PE_LOG")" "CONFIRMs after a plain load"

step "lifetime (tpm-key load -t): the key leaves the agent"
run_ok tk load -t 2 np
assert_contains "$(ssh-add -l)" "nopin@it" "listed within its lifetime"
it_wait_until 100 eval '! ssh-add -l 2>&1 | grep -q nopin@it' ||
	fail "still listed 10 s after its 2 s lifetime"
run_ok tk load np

step "the PIN is not in the agent's log"
assert_not_contains "$(cat "$AGENT_LOG")" "5678" "PIN in the log"
assert_not_contains "$(cat "$AGENT_LOG")" "1234" "old PIN in the log"

step "pin-cache-ttl=2: the cache expires"
agent_stop
pe PIN=5678
start --pin-cache-ttl=2
pe_reset
sign pk.pub
sign pk.pub
assert_eq 1 "$(getpins)" "prompts within the TTL"
sleep 3
sign pk.pub
assert_eq 0 "$RC" "signature after the TTL"
assert_eq 2 "$(getpins)" "prompts after the TTL"

step "pin-cache-ttl=0: every use asks (-t is the key lifetime now, as in ssh-agent)"
agent_stop
start --pin-cache-ttl=0
pe_reset
sign pk.pub
sign pk.pub
assert_eq 2 "$(getpins)" "prompts with pin-cache-ttl=0"

step "a scan of the agent's readable memory finds no PIN"
agent_stop
SECRET='Zq7-pin-93xw'
pe PIN="$SECRET"
start
run_ok tk gen -t ecdsa -b 256 -n mem -C mem@it
printf '%s\n' "$OUT" | grep '^ecdsa-sha2-nistp256 ' >mem.pub
sign mem.pub
assert_eq 0 "$RC" "signature with the memory-test PIN"
sign mem.pub
if [ "$(id -u)" -eq 0 ]; then
	python3 - "$SSH_AGENT_PID" "$SECRET" >"$T/scan" 2>&1 <<'PY' || fail "PIN found in agent memory: $(cat "$T/scan")"
import re, sys
pid, secret = sys.argv[1], sys.argv[2].encode()
hits, scanned, skipped = [], 0, 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if not f[1].startswith("r") or (len(f) > 5 and f[5] == "[vvar]"):
            continue
        if hi - lo > 1 << 32:  # sanitizer shadow: terabytes of reserved, unused space
            skipped += 1
            continue
        chunk, pos, tail = 1 << 26, lo, b""
        try:
            while pos < hi:
                mem.seek(pos)
                data = tail + mem.read(min(chunk, hi - pos))
                for m in re.finditer(re.escape(secret), data):
                    hits.append(f"{pos - len(tail) + m.start():#x} in {line.strip()}")
                tail = data[-(len(secret) - 1):]
                pos += chunk
        except OSError:      # sodium guard pages / no-access idle pages
            skipped += 1
            continue
        scanned += 1
print(f"scanned {scanned} regions, skipped {skipped}")
if hits:
    print("\n".join(hits))
    sys.exit(1)
PY
	assert_match "$(cat "$T/scan")" "scanned [1-9]" "memory scan ran"
else
	step "(not root: memory scan skipped)"
fi
assert_not_contains "$(cat "$AGENT_LOG")" "$SECRET" "PIN in the log"

step "lockout: the last try needs a confirmation; then the message names the recovery time and nothing more is sent"
agent_stop
tpm2tools tpm2_dictionarylockout -s -n 2 -t 60 -l 60 >/dev/null || fail "DA parameters"
tpm2tools tpm2_dictionarylockout -c >/dev/null || fail "clear lockout"
it_on_exit 'agent_stop; tpm2tools tpm2_dictionarylockout -s -n 32 -t 1 -l 1; tpm2tools tpm2_dictionarylockout -c'
start
pe_reset
PE_EXTRA=(CONFIRM=no)
pe_pins 0000 0000 0000
sign pk.pub
assert_ne 0 "$RC" "signature with a wrong PIN"
assert_eq 1 "$(getpins)" "prompts before the last try (declined: no second PIN)"
assert_eq 1 "$(grep -c '^CONFIRM' "$PE_LOG")" "the last try is confirmed first"
assert_contains "$(tail -3 "$AGENT_LOG")" "declined the last try" "declined last try in the log"
PE_EXTRA=(CONFIRM=yes)
pe_pins 0000 0000 0000
sign pk.pub
assert_ne 0 "$RC" "signature with the last wrong PIN"
assert_eq 2 "$(getpins)" "prompts"
assert_contains "$(cat "$PE_LOG")" "SETERROR Last try" "the last prompt says so"
assert_contains "$(tail -3 "$AGENT_LOG")" "locked out" "lockout message after the last try"
sign pk.pub
assert_ne 0 "$RC" "signature in lockout"
assert_eq 2 "$(getpins)" "prompts in lockout (none)"
assert_match "$(tail -3 "$AGENT_LOG")" "dictionary-attack lockout .* again in (about|at most) [0-9]+ s" "recovery time in the message"
assert_contains "$(tail -3 "$AGENT_LOG")" "tpm2_dictionarylockout --clear-lockout -T $SWTPM_TCTI" "clear command with the TCTI"
PE_EXTRA=()
agent_stop
tpm2tools tpm2_dictionarylockout -c >/dev/null || fail "clear lockout"
tpm2tools tpm2_dictionarylockout -s -n 32 -t 1 -l 1 >/dev/null || fail "DA parameters back"
start
pe PIN=5678
sign pk.pub
assert_eq 0 "$RC" "signature after clearing the lockout"

echo ok
