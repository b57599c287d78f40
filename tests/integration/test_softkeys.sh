#!/bin/bash
# Software keys from ssh-add FILE: an Ed25519 key logs in to a private sshd; ECDSA and
# RSA keys sign (ssh-keygen -Y); -t lifetime expires; -c asks pinentry CONFIRM (allowed
# signs, denied fails); -d / -D and LOCK; tpm-key list marks them; nothing reaches the
# data dir; --no-software-keys refuses them.
. "$(dirname "$0")/lib.sh"

# Our pinentry answers CONFIRM with what $T/confirm-answer says.
cat >"$T/pinentry" <<EOF
#!/bin/sh
FAKE_PINENTRY_CONFIRM=\$(cat "$T/confirm-answer" 2>/dev/null || echo no)
FAKE_PINENTRY_LOG="$T/pinentry.log"
export FAKE_PINENTRY_CONFIRM FAKE_PINENTRY_LOG
exec "$IT_REPO/tests/pinentry/fake-pinentry" "\$@"
EOF
chmod 755 "$T/pinentry"
agent_stop
agent_start_fg --pinentry-program="$T/pinentry"

echo data >file
mkdir -m 700 keys pubs

# newkey NAME TYPE [BITS]: a passphrase-less key in keys/, its .pub also in pubs/ (so
# that ssh-keygen -Y sign -f pubs/NAME.pub must ask the agent).
newkey() {
	ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -C "$1@soft" -f "keys/$1" </dev/null ||
		fail "ssh-keygen -t $2"
	cp "keys/$1.pub" "pubs/$1.pub"
}

# n_ids: how many identities ssh-add -l lists.
n_ids() { ssh-add -l 2>/dev/null | grep -c SHA256: ; }

# sign_verify NAME: SSHSIG through the agent, verified by ssh-keygen.
sign_verify() {
	rm -f file.sig
	run_ok ssh-keygen -Y sign -f "pubs/$1.pub" -n file file
	printf 'alice %s\n' "$(cat "pubs/$1.pub")" >allowed_signers
	run_ok ssh-keygen -Y verify -f allowed_signers -I alice -n file -s file.sig <file
}

# ec_hex PEMKEY priv|pub: the private scalar (without the sign byte openssl prints) or
# the public point of a PEM EC key, in hex.
ec_hex() {
	local h
	h=$(openssl ec -in "$1" -noout -text 2>/dev/null |
		sed -n "/^$2:/,/^[a-zA-Z]/p" | sed '1d' | grep '^ ' | tr -d ' :\n')
	case "$2:$h" in priv:00[89a-f]*) h=${h#00} ;; esac
	printf '%s' "$h"
}
# Wire helpers for hand-made agent messages (hex): a string, a length, ASCII as hex.
hexlen() { printf '%08x' $(( ${#1} / 2 )); }
hstr() { printf '%s%s' "$(hexlen "$1")" "$1"; }
asc() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# scan_memory HEX: fails when the agent's readable memory holds those bytes. The keys
# are in sodium memory that is inaccessible while idle (the read fails, the region is
# skipped); requests are wiped after use; OpenSSL's copies for signing are cleared.
scan_memory() {
	if [ "$(id -u)" -ne 0 ] || ! command -v python3 >/dev/null 2>&1; then
		echo "  (not root or no python3: memory scan skipped)"
		return 0
	fi
	python3 - "$SSH_AGENT_PID" "$1" >"$T/scan" 2>&1 <<'PY' || fail "private key found in agent memory: $(cat "$T/scan")"
import sys
pid, secret = sys.argv[1], bytes.fromhex(sys.argv[2])
hits, scanned, skipped, chunk = [], 0, 0, 1 << 24
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if not f[1].startswith("r") or (len(f) > 5 and f[5] == "[vvar]") or hi - lo > 1 << 28:
            skipped += 1     # unreadable, or a sanitizer's huge shadow mapping
            continue
        try:
            prev = b""
            for at in range(lo, hi, chunk):
                mem.seek(at)
                data = prev + mem.read(min(chunk, hi - at))
                if secret in data:
                    hits.append(f"{at:#x} in {line.strip()}")
                prev = data[-len(secret):]
            scanned += 1
        except OSError:      # sodium guard pages, no-access key pages
            skipped += 1
print(f"scanned {scanned} regions, skipped {skipped}")
if hits:
    print("\n".join(hits))
    sys.exit(1)
PY
	assert_match "$(cat "$T/scan")" "scanned [1-9]" "memory scan ran"
}

gen_key tpm1 ecdsa 256
touch "$T/before-add"
files_before=$(cd "$TPM_AGENT_HOME" && find . -type f | sort)

step "ssh-add of an Ed25519 key: listed after the TPM key"
newkey ed ed25519
run_ok ssh-add keys/ed
assert_eq 2 "$(n_ids)" "identities"
assert_eq "$FP" "$(agent_fps | head -1)" "the TPM key comes first"
assert_eq "$(fp_of pubs/ed.pub)" "$(agent_fps | tail -1)" "then the software key"
assert_match "$(ssh-add -l)" "ed@soft \(ED25519\)$" "ssh-add -l shows the software key"

step "tpm-key list marks it as software"
run_ok tk list
assert_match "$OUT" "^software-[0-9]+ +ED25519/256 +$(re "$(fp_of pubs/ed.pub)") .*ed@soft \[software key, memory only\]" \
	"tpm-key list line of the software key"
assert_not_contains "$(printf '%s\n' "$OUT" | grep '^tpm1 ')" "software" "the TPM key's line"

step "login to sshd with the Ed25519 software key"
authorize_key "$(cat pubs/ed.pub)"
start_sshd
ssh_login
[ "$RC" -eq 0 ] || fail "login with the software key failed: $ERR"
assert_eq ok "$OUT" "remote command output"
assert_match "$SSHD_NEWLOG" "Accepted publickey for $(id -un) from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $(re "$(fp_of pubs/ed.pub)")" \
	"sshd accepted the Ed25519 key"
sign_verify ed

step "ECDSA P-256 / P-384 / P-521 and RSA software keys sign"
newkey ec256 ecdsa 256
newkey ec384 ecdsa 384
newkey ec521 ecdsa 521
newkey rsa rsa 3072
for k in ec256 ec384 ec521 rsa; do
	run_ok ssh-add "keys/$k"
	sign_verify "$k"
done
assert_eq 6 "$(n_ids)" "identities with all software keys"
step "login with the RSA software key (rsa-sha2-256 and -512)"
cp pubs/rsa.pub "$SSHD_DIR/authorized_keys"
for alg in rsa-sha2-256 rsa-sha2-512; do
	ssh_login -o PubkeyAcceptedAlgorithms="$alg"
	[ "$RC" -eq 0 ] || fail "login with the RSA software key ($alg) failed: $ERR"
done

step "nothing reached the data dir"
assert_eq "$files_before" "$(cd "$TPM_AGENT_HOME" && find . -type f | sort)" "files in the data dir"
assert_eq "" "$(find "$TPM_AGENT_HOME" -newer "$T/before-add" -type f)" "files changed since ssh-add"
# The P-256 private scalar as hex, searched for in every file of the data dir.
scalar=$(ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -f keys/pem </dev/null &&
	ec_hex keys/pem priv)
[ ${#scalar} -ge 60 ] || fail "could not read the P-256 scalar: [$scalar]"
cp keys/pem.pub pubs/pem.pub 2>/dev/null || ssh-keygen -y -f keys/pem >pubs/pem.pub
run_ok ssh-add keys/pem
sign_verify pem
while IFS= read -r f; do
	case "$(od -An -tx1 -v "$f" | tr -d ' \n')" in
	*"$scalar"*) fail "the private key of a software key is in $f" ;;
	esac
done < <(find "$TPM_AGENT_HOME" "$XDG_RUNTIME_DIR" -type f)

step "the agent's readable memory holds no copy of the private key"
# The key is held in sodium memory that is inaccessible while idle (read fails, region
# skipped); the request it came in was wiped; OpenSSL's copies for signing are cleared.
scan_memory "$scalar"

step "an ADD_IDENTITY on a connection that stays open leaves no copy in its buffer"
ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -f keys/held </dev/null || fail "ssh-keygen"
held_scalar=$(ec_hex keys/held priv)
held_pub=$(ec_hex keys/held pub)
mp=$held_scalar
case "$mp" in [89a-f]*) mp="00$mp" ;; esac
body="11$(hstr "$(asc ecdsa-sha2-nistp256)")$(hstr "$(asc nistp256)")$(hstr "$held_pub")$(hstr "$mp")$(hstr "$(asc held@soft)")"
# One client sends the ADD_IDENTITY, reads the reply and keeps its connection open
# until its stdin (a fifo) closes.
mkfifo "$T/held.fifo"
python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(bytes.fromhex(sys.argv[2]))
n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
print("reply %d" % s.recv(n, socket.MSG_WAITALL)[0], flush=True)
sys.stdin.read()
' "$SSH_AUTH_SOCK" "$(hexlen "$body")$body" <"$T/held.fifo" >"$T/held.out" 2>&1 &
held_pid=$!
exec 7>"$T/held.fifo"
it_wait_line "$T/held.out" "reply 6" 300 || fail "ADD_IDENTITY not answered: $(cat "$T/held.out")"
assert_contains "$(ssh-add -l)" "held@soft" "the key added over the held connection"
scan_memory "$held_scalar"
exec 7>&-
wait "$held_pid"

step "ssh-add -d removes one software key"
run_ok ssh-add -d pubs/ec384.pub
assert_not_contains "$(agent_fps)" "$(fp_of pubs/ec384.pub)" "identities after -d"
run_fail ssh-keygen -Y sign -f pubs/ec384.pub -n file file

step "locked: software keys hidden and unusable; back after unlock"
cat >askpass <<'ASK'
#!/bin/sh
echo 'lock pass'
ASK
chmod +x askpass
SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 run_ok ssh-add -x
assert_eq 0 "$(n_ids)" "identities while locked"
run_fail ssh-keygen -Y sign -f pubs/ed.pub -n file file
run_fail ssh-add keys/ec384
SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 run_ok ssh-add -X
assert_contains "$(agent_fps)" "$(fp_of pubs/ed.pub)" "identities after unlock"
sign_verify ed

step "ssh-add -D removes every software key for good"
run_ok ssh-add -D
assert_eq 0 "$(n_ids)" "identities after -D"
run_ok tk load tpm1
assert_eq 1 "$(n_ids)" "after tpm-key load only the TPM key is back"
run_ok tk list
assert_not_contains "$OUT" "software" "tpm-key list after -D"

step "ssh-add -t 2: the key expires"
run_ok ssh-add -t 2 keys/ec256
assert_contains "$(agent_fps)" "$(fp_of pubs/ec256.pub)" "identities right after -t 2"
sign_verify ec256
it_wait_until 100 eval '! agent_fps | grep -qF "$(fp_of pubs/ec256.pub)"' ||
	fail "ec256 still listed 10 s after its 2 s lifetime"
run_fail ssh-keygen -Y sign -f pubs/ec256.pub -n file file
assert_contains "$(cat "$AGENT_LOG")" "its lifetime is over" "agent log on expiry"

step "ssh-add -c: CONFIRM allowed signs, denied fails"
run_ok ssh-add -c keys/ed
run_ok tk list
assert_contains "$OUT" "[software key, memory only, confirm]" "tpm-key list of a -c key"
echo yes >"$T/confirm-answer"
sign_verify ed
assert_contains "$(cat "$T/pinentry.log")" "CONFIRM" "pinentry was asked"
assert_contains "$(cat "$T/pinentry.log")" "software key" "the dialog names a software key"
echo no >"$T/confirm-answer"
rm -f file.sig
run_fail ssh-keygen -Y sign -f pubs/ed.pub -n file file
assert_contains "$(cat "$AGENT_LOG")" "the user denied it" "agent log of a denied signature"
step "a pinentry that cannot be run: the signature is refused"
mv "$T/pinentry" "$T/pinentry.off"
run_fail ssh-keygen -Y sign -f pubs/ed.pub -n file file
mv "$T/pinentry.off" "$T/pinentry"

step "ssh-add -h is accepted (test_dest_restrict.sh checks it over ssh hops)"
printf 'example.com %s\n' "$(cat pubs/ec256.pub)" >dest_known_hosts
run_ok ssh-add -H dest_known_hosts -h "nobody@example.com" keys/ec521
assert_contains "$(agent_fps)" "$(fp_of pubs/ec521.pub)" "a restricted key, listed for local use"
assert_contains "$(cat "$AGENT_LOG")" "restricted to destinations" "agent log of the restricted key"
run_ok ssh-add -d pubs/ec521.pub

step "--no-software-keys refuses ssh-add"
stop_sshd
agent_stop
agent_start_fg --no-software-keys
run_fail ssh-add keys/ed
assert_eq 1 "$(n_ids)" "identities with software keys off"
assert_contains "$(cat "$AGENT_LOG")" "software keys are off" "agent log line"
agent_stop
agent_start --software-keys=no
run_fail ssh-add keys/ed
agent_stop
agent_start
run_ok ssh-add keys/ed
assert_eq 2 "$(n_ids)" "identities with software keys on again"

echo "PASS: $IT_NAME"
