#!/usr/bin/env python3
"""enroll_proxy: stands in for ssh under `tpm-key enroll` (TPM_KEY_SSH) in tests: runs the
real ssh with the same arguments and relays enrolment frames (protocol/caproto.h) both
ways, tampering as ENROLL_PROXY_MODE says:

  record     saves the client's ATTEST frame to ENROLL_PROXY_FILE, changes nothing
  replay     sends the ATTEST frame saved in ENROLL_PROXY_FILE instead of the client's
  swap-ek    replaces the EK CERTIFICATE and EK PUBLIC of the client's attestation with
             ENROLL_PROXY_EK_CERT (DER, another TPM's EK, same manufacturer CA)
  swap-cert  replaces the certificate in the CA's CERT frame with the line in
             ENROLL_PROXY_FILE (a certificate for another key)
"""
import base64
import os
import re
import struct
import subprocess
import sys
import threading

MODE = os.environ.get("ENROLL_PROXY_MODE", "record")
FILE = os.environ.get("ENROLL_PROXY_FILE", "")


def frames(f):
    while True:
        h = f.read(4)
        if len(h) < 4:
            return
        n = struct.unpack(">I", h)[0]
        b = f.read(n)
        if len(b) < n:
            return
        yield b


def strings(b, off, count):
    out = []
    for _ in range(count):
        n = struct.unpack(">I", b[off:off + 4])[0]
        out.append(b[off + 4:off + 4 + n])
        off += 4 + n
    return out


def sshstr(s):
    return struct.pack(">I", len(s)) + s


def pem(label, der):
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return "-----BEGIN %s-----\n%s\n-----END %s-----" % (label, lines, label)


def block(text, label):
    m = re.search(r"-----BEGIN %s-----\n(.*?)-----END %s-----" % (label, label), text, re.S)
    return m


def swap_ek(body):
    name, pub, att = strings(body, 1, 3)
    text = att.decode()
    der = open(os.environ["ENROLL_PROXY_EK_CERT"], "rb").read()
    modulus = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-modulus"],
                             input=der, capture_output=True, check=True).stdout
    modulus = bytes.fromhex(modulus.decode().strip().split("=", 1)[1])
    ekpub = base64.b64decode(block(text, "EK PUBLIC").group(1))
    # TPM2B_PUBLIC of the RSA EK ends with unique.rsa: a 2-byte size and the modulus
    assert ekpub[-258:-256] == b"\x01\x00" and len(modulus) == 256
    ekpub = ekpub[:-256] + modulus
    text = text.replace(block(text, "EK CERTIFICATE").group(0), pem("EK CERTIFICATE", der))
    text = text.replace(block(text, "EK PUBLIC").group(0), pem("EK PUBLIC", ekpub))
    return bytes([2]) + sshstr(name) + sshstr(pub) + sshstr(text.encode())


def up(ssh):
    for b in frames(sys.stdin.buffer):
        if b[0] == 2 and MODE == "record":
            open(FILE, "wb").write(b)
        elif b[0] == 2 and MODE == "replay":
            b = open(FILE, "rb").read()
        elif b[0] == 2 and MODE == "swap-ek":
            b = swap_ek(b)
        ssh.stdin.write(struct.pack(">I", len(b)) + b)
        ssh.stdin.flush()
    ssh.stdin.close()


def main():
    ssh = subprocess.Popen(["ssh"] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    t = threading.Thread(target=up, args=(ssh,), daemon=True)
    t.start()
    out = sys.stdout.buffer
    for b in frames(ssh.stdout):
        if b[0] == 5 and MODE == "swap-cert":
            serial = b[-8:]
            line = open(FILE).read().strip().encode()
            b = bytes([5]) + sshstr(line) + serial
        out.write(struct.pack(">I", len(b)) + b)
        out.flush()
    out.close()
    sys.exit(ssh.wait())


if __name__ == "__main__":
    main()
