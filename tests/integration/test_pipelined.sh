#!/bin/bash
# test_pipelined: a client that writes many requests at once gets the replies in order.
# Signatures run on the TPM worker, which writes a reply straight to the client when no
# earlier reply is pending there (the log says so; signatures back to back go that
# way); lists are answered by the event loop. Mixed in one
# write (list, sign, list, sign, ...) and with the client reading only at the end, every
# reply must still come in request order, each signature of the key it was asked of
# (its algorithm name), on one connection and on several at once.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 missing"

step "two keys, the agent in the foreground with debug lines"
agent_stop
agent_start_fg
gen_key p256 ecdsa 256
gen_key r2048 rsa 2048

step "40 requests in one write, replies read afterwards, on 1 and on 4 connections"
cat >"$T/pipe.py" <<'PY'
import base64, os, socket, struct, sys, threading
sys.path.insert(0, os.environ["IT_REPO"] + "/tests/lib")
from agent_client import recv_exact

sock, rounds, conns, lists = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
blobs = [base64.b64decode(open(p).read().split()[1]) for p in sys.argv[5:]]

def msg(t, body=b""):
    return struct.pack(">IB", len(body) + 1, t) + body

def sstr(b):
    return struct.pack(">I", len(b)) + b

errors = []

def client(k):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    want, out = [], b""
    for i in range(rounds):
        if lists:
            out += msg(11)
            want.append((12, None))
        blob = blobs[i % len(blobs)]
        data = b"round %d of client %d" % (i, k)
        out += msg(13, sstr(blob) + sstr(data) + struct.pack(">I", 2))  # rsa-sha2-256
        want.append((14, (blob, data)))
    s.sendall(out)
    for n, (t, what) in enumerate(want):
        ln = struct.unpack(">I", recv_exact(s, 4))[0]
        body = recv_exact(s, ln)
        if body[0] != t:
            errors.append("client %d reply %d: type %d, want %d" % (k, n, body[0], t))
            return
        if t == 14:  # string signature: string algorithm, string blob
            sig = body[5:]
            alg = sig[4:4 + struct.unpack(">I", sig[:4])[0]]
            key_alg = what[0][4:4 + struct.unpack(">I", what[0][:4])[0]]
            want_alg = b"rsa-sha2-256" if key_alg == b"ssh-rsa" else key_alg
            if alg != want_alg:
                errors.append("client %d reply %d: a %s signature for a %s key" %
                              (k, n, alg, key_alg))
                return
    s.close()

ts = [threading.Thread(target=client, args=(k,)) for k in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if errors:
    raise SystemExit("; ".join(errors))
print("ok %d replies in order" % ((2 if lists else 1) * rounds * conns))
PY
pipe() { run_ok env IT_REPO="$IT_REPO" timeout 120 python3 "$T/pipe.py" "$SSH_AUTH_SOCK" "$@"; }
pipe 20 1 1 p256.pub r2048.pub
assert_contains "$OUT" "ok 40 replies in order"
pipe 20 4 1 p256.pub r2048.pub
assert_contains "$OUT" "ok 160 replies in order"

step "signatures only, 30 in one write: the TPM worker answers the client itself"
before=$(grep -c "reply bytes sent to pid" "$AGENT_LOG")
pipe 30 2 0 p256.pub r2048.pub
assert_contains "$OUT" "ok 60 replies in order"
n=$(( $(grep -c "TPM worker: [0-9]* of [0-9]* reply bytes sent to pid" "$AGENT_LOG") - before ))
[ "$n" -ge 30 ] || fail "only $n of 60 replies went straight from the TPM worker: $(tail -5 "$AGENT_LOG")"

step "the agent still serves, and a signature verifies"
run_ok ssh-add -l
assert_contains "$OUT" "p256@it"
sshsig_ok p256.pub

echo "PASS: $IT_NAME"
