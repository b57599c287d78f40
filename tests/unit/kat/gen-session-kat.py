#!/usr/bin/env python3
"""gen-session-kat.py: writes session_kat.h, the known-answer vector of test_tpmsession's
test_esapi_exchange, from one exchange of tpm2-tss ESAPI (not our code) with swtpm.

Provenance: gen-session-kat.sh builds esys-session-kat.c against the system's tpm2-tss
(3.2.1 on Debian 12) and runs it against a private swtpm through the pcap TCTI
(TCTI_PCAP_FILE) with TSS2_LOG=esys+debug. ESAPI salts an HMAC session with an ECC P-256
primary, sets decrypt|encrypt|continue, and sends TPM2_ObjectChangeAuth(object, parent,
newAuth) authorised by the object (authValue "kat-pin"). From the capture this script
takes the nonceTPM of StartAuthSession's response and the ObjectChangeAuth command and
response as they crossed the wire; ESAPI's debug log gives the session key; the program
prints the names, the auth values and the outPrivate ESAPI decrypted.

Usage: gen-session-kat.py PCAPNG LOG PROGRAM_OUTPUT > session_kat.h
"""
import re
import struct
import sys


def tpm_messages(pcap):
    """TPM commands and responses, in order, from the pcapng the pcap TCTI wrote
    (enhanced packet blocks; each payload: IPv4 + TCP headers, then TPM bytes)."""
    out, off = [], 0
    while off + 12 <= len(pcap):
        btype, blen = struct.unpack_from("<II", pcap, off)
        if btype == 6:
            caplen = struct.unpack_from("<I", pcap, off + 20)[0]
            data = pcap[off + 28:off + 28 + caplen]
            ihl = (data[0] & 0x0F) * 4
            thl = (data[ihl + 12] >> 4) * 4
            payload = data[ihl + thl:]
            if payload:
                out.append(payload)
        off += blen
    return out


def tpm2b(b, off):
    n = struct.unpack_from(">H", b, off)[0]
    return b[off + 2:off + 2 + n], off + 2 + n


def session_key(log):
    m = re.search(r"Session Key \(size=(\d+)\):\s*\n((?:[0-9a-f]{4}: .*\n)+)", log)
    if not m:
        sys.exit("no Session Key in the ESAPI log (TSS2_LOG=esys+debug?)")
    hexes = "".join(re.findall(r"^[0-9a-f]{4}: ((?:[0-9a-f]{2,}\s?)+?)\s\s", m.group(2), re.M))
    key = bytes.fromhex(hexes.replace(" ", ""))
    assert len(key) == int(m.group(1)), (len(key), m.group(1))
    return key


def main():
    pcap = open(sys.argv[1], "rb").read()
    log = open(sys.argv[2]).read()
    prog = dict(line.split() for line in open(sys.argv[3]) if line.strip())
    msgs = tpm_messages(pcap)
    pairs = list(zip(msgs[0::2], msgs[1::2]))
    cc = lambda m: struct.unpack_from(">I", m, 6)[0]
    sas = [r for c, r in pairs if cc(c) == 0x176]
    oca = [(c, r) for c, r in pairs if cc(c) == 0x150]
    assert len(sas) == 1 and len(oca) == 1, "expected one StartAuthSession, one ObjectChangeAuth"
    nonce_tpm0, _ = tpm2b(sas[0], 14)           # header, sessionHandle, nonceTPM
    cmd, rsp = oca[0]
    assert struct.unpack_from(">HII", rsp)[2] == 0, "ObjectChangeAuth failed"
    off = 10 + 8                                  # header, objectHandle, parentHandle
    auth_size = struct.unpack_from(">I", cmd, off)[0]
    a = off + 4 + 4                               # authorizationSize, sessionHandle
    nonce_caller, a = tpm2b(cmd, a)
    cmd_attrs = cmd[a]
    cmd_hmac, a = tpm2b(cmd, a + 1)
    assert a == off + 4 + auth_size
    cp = cmd[a:]
    psize = struct.unpack_from(">I", rsp, 10)[0]
    rp = rsp[14:14 + psize]
    nonce_tpm1, b = tpm2b(rsp, 14 + psize)
    rsp_attrs = rsp[b]
    rsp_hmac, _ = tpm2b(rsp, b + 1)
    fields = [
        ("session_key", session_key(log)),
        ("nonce_tpm0", nonce_tpm0),
        ("nonce_caller", nonce_caller),
        ("cmd_attrs", bytes([cmd_attrs])),
        ("cmd_hmac", cmd_hmac),
        ("cp", cp),
        ("object_name", bytes.fromhex(prog["object-name"])),
        ("parent_name", bytes.fromhex(prog["parent-name"])),
        ("auth", bytes.fromhex(prog["auth"])),
        ("new_auth", bytes.fromhex(prog["new-auth"])),
        ("rp", rp),
        ("nonce_tpm1", nonce_tpm1),
        ("rsp_attrs", bytes([rsp_attrs])),
        ("rsp_hmac", rsp_hmac),
        ("out_private", bytes.fromhex(prog["out-private"])),
    ]
    print("/* session_kat.h: written by tests/unit/kat/gen-session-kat.sh from one exchange of")
    print(" * tpm2-tss ESAPI with swtpm (see gen-session-kat.py for the provenance). */")
    for name, val in fields:
        body = ", ".join("0x%02x" % x for x in val)
        lines = []
        while body:
            cut = body[:84].rfind(",") + 1 if len(body) > 84 else len(body)
            lines.append("\t" + body[:cut].strip())
            body = body[cut:]
        print("static const uint8_t kat_%s[] = {\n%s\n};" % (name, "\n".join(lines)))


if __name__ == "__main__":
    main()
