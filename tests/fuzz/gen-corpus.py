#!/usr/bin/env python3
# gen-corpus.py: (re)writes the seed corpora tests/fuzz/corpus/<harness>/ from real data:
# key and certificate blobs made by ssh-keygen, the TSS2 key of tests/unit/data, the
# fixture key of tests/fuzz/data, gpg's lines from /work/shared/gpg-agent-transcript.log
# style sessions. Run from anywhere: python3 tests/fuzz/gen-corpus.py (needs ssh-keygen).
# Files are named by content, so running it again adds nothing that is already there.
import base64, hashlib, os, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

def put(name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def u32(n): return struct.pack(">I", n)
def u64(n): return struct.pack(">Q", n)
def sstr(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b
def frame(msg): return u32(len(msg)) + msg
def line_blob(line): return base64.b64decode(line.split()[1])

tmp = tempfile.mkdtemp()
def keygen(name, *args):
    p = os.path.join(tmp, name)
    subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", name, "-f", p] + list(args), check=True)
    return p

ca = keygen("ca", "-t", "ecdsa")
keys = {n: keygen(n, *a) for n, a in {
    "p256": ["-t", "ecdsa", "-b", "256"], "p384": ["-t", "ecdsa", "-b", "384"],
    "p521": ["-t", "ecdsa", "-b", "521"], "rsa": ["-t", "rsa", "-b", "2048"],
    "ed25519": ["-t", "ed25519"]}.items()}
pubs, certs = {}, {}
for n, p in keys.items():
    subprocess.run(["ssh-keygen", "-q", "-s", ca, "-I", "id-" + n, "-n", "alice,bob",
                    "-V", "20200101:20991231", "-z", "42", p + ".pub"], check=True)
    pubs[n] = open(p + ".pub").read().strip()
    certs[n] = open(p + "-cert.pub").read().strip()

seed_pub = open(os.path.join(HERE, "data/seed.pub")).read().strip()
seed_cert = open(os.path.join(HERE, "data/seed-cert.pub")).read().strip()

# sshkey: blobs and lines
for n in pubs:
    put("sshkey", line_blob(pubs[n]))
    put("sshkey", pubs[n] + "\n")
put("sshkey", "  " + seed_pub + "  \n")

# sshcert: blobs and lines
for n in certs:
    put("sshcert", line_blob(certs[n]))
    put("sshcert", certs[n] + "\n")
put("sshcert", seed_cert)

# tss2key: PEM and DER of the real tpm2-tools key
pem = open(os.path.join(REPO, "tests/unit/data/tpm2tools-ecc.tss")).read()
put("tss2key", pem)
body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
put("tss2key", base64.b64decode(body))

# sexp: canonical forms gpg sends and we answer, and GENKEY token forms
for s in [b"(7:enc-val(3:rsa(1:a4:\x01\x02\x03\x04)))",
          b"(7:enc-val(4:ecdh(1:s2:\x00\x01)(1:e65:\x04" + bytes(range(64)) + b")))",
          b"(10:public-key(3:ecc(5:curve10:NIST P-256)(1:q65:\x04" + bytes(64) + b")))",
          b"(10:public-key(3:rsa(1:n3:\x00\xc1\x01)(1:e3:\x01\x00\x01)))",
          b"(7:sig-val(5:ecdsa(1:r2:\x01\x02)(1:s2:\x03\x04)))",
          b"(genkey(ecc(curve 10:NIST P-384)(flags nocomp)))",
          b"(genkey(rsa(nbits 4:3072)))",
          b"(genkey (ecc (curve nistp256)))"]:
    put("sexp", s)

# config
put("config", "# tpm-agent config\ntcti = swtpm:host=127.0.0.1,port=2321\nlog-level = debug\n")
put("config", 'pinentry-program = "/usr/bin/pinentry curses"\n\nsrk-handle = 0x81000001\ngpg = yes\n')
put("config", "encrypt-sessions=on\r\npin-cache-ttl = 300\nmax-nv-certs = 4\n")

# nvcert: images as tpm-key cert --nv lays them out (header, name, comment, blob)
def nvimage(name, comment, blob, pad=0):
    return (b"TPAC" + bytes([1, len(name), len(comment), 0]) + struct.pack(">H", len(blob))
            + name.encode() + comment.encode() + blob + bytes(pad))
put("nvcert", nvimage("seed", "fuzz-seed", line_blob(seed_cert)))
put("nvcert", nvimage("k1", "", line_blob(certs["p384"]), pad=7))
put("nvcert", nvimage("rsa-key", "user@host", line_blob(certs["rsa"])))

# agentmsg: client streams of real frames (several messages per input)
seed_blob = line_blob(seed_pub)
seed_cert_blob = line_blob(seed_cert)
req_ids = frame(b"\x0b")
sign = lambda blob, data, flags=0: frame(b"\x0d" + sstr(blob) + sstr(data) + u32(flags))
sess = b"\x32" + sstr(bytes(32)) + b"\x32" + sstr("alice") + sstr("ssh-connection") + \
       sstr("publickey") + b"\x01" + sstr("ecdsa-sha2-nistp256") + sstr(seed_blob)
put("agentmsg", req_ids)
put("agentmsg", req_ids + sign(seed_blob, sess))
put("agentmsg", sign(seed_cert_blob, sess) + sign(line_blob(pubs["rsa"]), b"data", 4))
put("agentmsg", frame(b"\x12" + sstr(seed_blob)) + req_ids + frame(b"\x13") + req_ids)
put("agentmsg", frame(b"\x16" + sstr("secret")) + req_ids + frame(b"\x17" + sstr("wrong"))
    + frame(b"\x17" + sstr("secret")) + req_ids)
put("agentmsg", frame(b"\x1b" + sstr("query")))
put("agentmsg", frame(b"\x1b" + sstr("session-bind@openssh.com") + sstr(line_blob(pubs["p256"]))
    + sstr(bytes(32)) + sstr(sstr("ecdsa-sha2-nistp256") + sstr(bytes(72))) + b"\x00") + req_ids)
put("agentmsg", frame(b"\x1b" + sstr("list@tpm-agent")) + frame(b"\x1b" + sstr("status@tpm-agent")))
put("agentmsg", frame(b"\x1b" + sstr("gen@tpm-agent") + sstr("ecdsa") + u32(256) + sstr("k2")
    + sstr("comment") + u32(1)))
put("agentmsg", frame(b"\x1b" + sstr("load@tpm-agent") + sstr("seed")) +
    frame(b"\x1b" + sstr("rm@tpm-agent") + sstr("seed")) + req_ids)
put("agentmsg", frame(b"\x1b" + sstr("cert-add@tpm-agent") + sstr("seed") + sstr(seed_cert) + u32(1))
    + frame(b"\x1b" + sstr("cert-list@tpm-agent")) +
    frame(b"\x1b" + sstr("cert-rm@tpm-agent") + sstr("seed") + u64(7)))
put("agentmsg", frame(b"\x11" + sstr("ssh-ed25519") + sstr(bytes(32)) + sstr(bytes(64)) + sstr("c"))
    + frame(b"\x14" + sstr("/usr/lib/pkcs11.so") + sstr("")))

# assuan: gpg sessions (cf. /work/shared/gpg-agent-transcript.log) against the fixture key
grip = "15C36C59B5DEC548695399911B7DDDCAC4DA9EDF"
hello = "RESET\nOPTION ttytype=xterm\nGETINFO version\nOPTION allow-pinentry-notify\n" \
        "OPTION agent-awareness=2.1.0\n"
put("assuan", hello + "OPTION pinentry-mode=loopback\nRESET\nGENKEY --timestamp=20261128T201449\n"
    "D (genkey(ecc(curve 10:NIST P-384)(flags nocomp)))\nEND\nEND\n")
put("assuan", hello + "GENKEY --inq-passwd\nD (genkey(rsa(nbits 4:3072)))\nEND\nD secret\nEND\n")
put("assuan", hello + "SIGKEY " + grip + "\nSETKEYDESC Please+enter+the+passphrase:%0A%22Gen+<gen@test>%22\n"
    "SETHASH 8 " + "AB" * 32 + "\nPKSIGN -- B80666E536B567CD938C2EFA\n")
put("assuan", "SETHASH --hash=sha384 " + "0f" * 48 + "\nSIGKEY " + grip.lower() + "\nPKSIGN\n")
put("assuan", "HAVEKEY " + grip + " 0000000000000000000000000000000000000000\n"
    "HAVEKEY --list=1000\nKEYINFO --list\nKEYINFO --data --ssh-fpr " + grip + "\nREADKEY " + grip + "\n")
put("assuan", "SETKEY " + grip + "\nPKDECRYPT\nD (7:enc-val(4:ecdh(1:s2:%00%01)(1:e65:%04" + "%41" * 64 +
    ")))\nEND\nPASSWD --verify " + grip + "\nGETINFO cmd_has_option PKSIGN --\nRELOADAGENT\nKILLAGENT\n")
put("assuan", "SETKEY " + grip + "\nPKDECRYPT\nD (7:enc-val(3:rsa(1:a2:%00%\nEND\nBYE\n")

# sshsig: signature blobs made by ssh-keygen -Y sign (the "signature" field of the SSHSIG armour)
msg = os.path.join(tmp, "msg")
open(msg, "w").write("hello\n")
for n in ["p256", "p384", "p521", "rsa"]:
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", "file", "-f", keys[n], msg], check=True,
                   stderr=subprocess.DEVNULL)
    arm = open(msg + ".sig").read().splitlines()
    raw = base64.b64decode("".join(l for l in arm if not l.startswith("-----")))
    # SSHSIG: magic(6) u32 version, string pubkey, string ns, string reserved, string hash, string sig
    off, fields = 10, []
    for _ in range(5):
        (l,) = struct.unpack(">I", raw[off:off + 4]); fields.append(raw[off + 4:off + 4 + l]); off += 4 + l
    put("sshsig", fields[4])
    os.unlink(msg + ".sig")

# destconstraint: ssh-add -h constraints (string of constraints), userauth requests,
# session-bind signatures; knownhosts: known_hosts text.
def hop(user, host, keys):
    return sstr(sstr(user) + sstr(host) + sstr(b"") + b"".join(sstr(k) + bytes([ca]) for k, ca in keys))
def constraint(frm, to):
    return sstr(frm + to + sstr(b""))
hk_a, hk_b = line_blob(pubs["p256"]), line_blob(pubs["rsa"])
put("destconstraint", sstr(constraint(hop("", "", []), hop("", "hosta", [(hk_a, 0)]))))
put("destconstraint", sstr(constraint(hop("", "", []), hop("", "hosta", [(hk_a, 0)])) +
                           constraint(hop("", "hosta", [(hk_a, 0)]), hop("root", "hostb", [(hk_b, 0), (hk_a, 1)]))))
put("destconstraint", sstr(seed_blob) + sstr(b"\x01" * 32) + b"\x32" + sstr("root") + sstr("ssh-connection") +
    sstr("publickey-hostbound-v00@openssh.com") + b"\x01" + sstr("ecdsa-sha2-nistp256") + sstr(seed_blob) + sstr(hk_a))
put("destconstraint", sstr(hk_a) + sstr(sstr("ecdsa-sha2-nistp256") + sstr(u32(1) + b"\x01" + u32(1) + b"\x02")) + b"sid")
put("knownhosts", "hosta,!hostc " + pubs["p256"] + "\n@cert-authority *.example.com " + pubs["rsa"] + "\n"
    "@revoked hosta " + pubs["p384"] + "\n|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|Ym9ndXNib2d1c2JvZ3VzYm9ndXM= " + pubs["p521"] + "\n"
    "[127.0.0.1]:2222 " + pubs["p256"] + "\r\n# comment\n")
