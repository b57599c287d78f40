#!/usr/bin/env python3
"""tpm_proxy: a TPM-bus interposer for tests, between a swtpm TCTI client and swtpm.

It forwards the command port (raw TPM commands, as tpm2-tss's swtpm TCTI sends them)
frame by frame and the control port (PORT+1) byte by byte. Each command code is
appended to a log so tests and `make bench` can count TPM commands. Faults are armed
at run time over a unix control socket, one line per request, answered "ok ..." or
"err ...":

  arm MODE [CC] [COUNT] [ARG]   apply MODE to the next COUNT (default 1) responses to
                                commands with code CC (hex, e.g. 0x15d; "any" or
                                omitted: every command)
  disarm                        drop armed faults; a stalled response is released
  count [CC]                    commands seen (all, or with code CC)
  reset                         zero the counters
  ping                          "ok" (readiness)

Modes:
  flip      flip the last byte of the response (inside the response HMAC or data)
  garbage   replace the response with ARG (hex bytes) or, without ARG, 64 random bytes
  size4     a response header whose size field is 4
  sizebig   a response header whose size field is 0x7fffffff, then close
  truncate  send half the response, then close the connection
  close     close the connection instead of answering
  stall     hold the response until `disarm` (a hung TPM)
  delay     hold the response for ARG milliseconds
  srk       (ReadPublic only) replace the ECC point of the returned public area with
            ARG (hex X||Y of equal halves) and recompute the name, as an interposer
            substituting its own key would

Usage: tpm_proxy.py [--listen PORT] --target PORT --ctl SOCKET [--log FILE]
Without --listen it binds a free port pair itself. Prints "ready PORT" on stdout once
it listens.
"""
import argparse
import hashlib
import os
import random
import socket
import struct
import sys
import threading

TPM_CC_READPUBLIC = 0x173
TPM_ST_SESSIONS = 0x8002
HASH_SIZES = {0x0004: (20, hashlib.sha1), 0x000B: (32, hashlib.sha256),
              0x000C: (48, hashlib.sha384), 0x000D: (64, hashlib.sha512)}


class Faults:
    def __init__(self):
        self.mu = threading.Lock()
        self.armed = []          # [mode, cc or None, count, arg]
        self.release = threading.Event()
        self.counts = {}
        self.log = None

    def seen(self, cc):
        with self.mu:
            self.counts[cc] = self.counts.get(cc, 0) + 1
            if self.log:
                self.log.write("0x%x\n" % cc)
                self.log.flush()

    def take(self, cc):
        with self.mu:
            for f in self.armed:
                if f[1] is None or f[1] == cc:
                    f[2] -= 1
                    if f[2] <= 0:
                        self.armed.remove(f)
                    return f[0], f[3]
        return None, None


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock):
    hdr = recv_exact(sock, 10)
    if hdr is None:
        return None
    size = struct.unpack(">I", hdr[2:6])[0]
    if size < 10 or size > 1 << 20:
        return None
    rest = recv_exact(sock, size - 10)
    return None if rest is None else hdr + rest


def substitute_srk(rsp, point):
    """Rewrite outPublic.unique of an ECC ReadPublic response and its name."""
    tag, _size, rc = struct.unpack(">HII", rsp[:10])
    if rc != 0:
        return rsp
    off = 10 + (4 if tag == TPM_ST_SESSIONS else 0)
    psize = struct.unpack(">H", rsp[off:off + 2])[0]
    pub = bytearray(rsp[off + 2:off + 2 + psize])
    after = rsp[off + 2 + psize:]
    typ, name_alg = struct.unpack(">HH", pub[0:4])
    if typ != 0x0023:  # TPM_ALG_ECC
        return rsp
    p = 8
    p += 2 + struct.unpack(">H", pub[p:p + 2])[0]            # authPolicy
    sym = struct.unpack(">H", pub[p:p + 2])[0]; p += 2
    if sym != 0x0010:
        p += 4                                               # keyBits, mode
    scheme = struct.unpack(">H", pub[p:p + 2])[0]; p += 2
    if scheme != 0x0010:
        p += 2
    p += 2                                                   # curveID
    kdf = struct.unpack(">H", pub[p:p + 2])[0]; p += 2
    if kdf != 0x0010:
        p += 2
    half = len(point) // 2
    unique = struct.pack(">H", half) + point[:half] + struct.pack(">H", half) + point[half:]
    pub = bytes(pub[:p]) + unique
    hsize, hfn = HASH_SIZES[name_alg]
    name = struct.pack(">H", name_alg) + hfn(pub).digest()
    # after = name TPM2B, qualifiedName TPM2B, then (with sessions) the session area
    nsize = struct.unpack(">H", after[:2])[0]
    rest = after[2 + nsize:]
    qsize = struct.unpack(">H", rest[:2])[0]
    params = (struct.pack(">H", len(pub)) + pub + struct.pack(">H", len(name)) + name +
              rest[:2 + qsize])
    body = params + rest[2 + qsize:]
    if tag == TPM_ST_SESSIONS:
        body = struct.pack(">I", len(params)) + body
    return struct.pack(">HII", tag, 10 + len(body), rc) + body


def serve_cmd(client, target, faults):
    up = socket.create_connection(("127.0.0.1", target))
    try:
        while True:
            cmd = recv_frame(client)
            if cmd is None:
                return
            cc = struct.unpack(">I", cmd[6:10])[0]
            faults.seen(cc)
            up.sendall(cmd)
            rsp = recv_frame(up)
            if rsp is None:
                return
            mode, arg = faults.take(cc)
            if mode is None:
                client.sendall(rsp)
            elif mode == "flip":
                client.sendall(rsp[:-1] + bytes([rsp[-1] ^ 0x01]))
            elif mode == "garbage":
                client.sendall(bytes.fromhex(arg) if arg else os.urandom(64))
            elif mode == "size4":
                client.sendall(rsp[:2] + struct.pack(">I", 4) + rsp[6:])
            elif mode == "sizebig":
                client.sendall(rsp[:2] + struct.pack(">I", 0x7FFFFFFF) + rsp[6:])
                return
            elif mode == "truncate":
                client.sendall(rsp[:len(rsp) // 2])
                return
            elif mode == "close":
                return
            elif mode == "stall":
                faults.release.clear()
                faults.release.wait()
                client.sendall(rsp)
            elif mode == "delay":
                threading.Event().wait(int(arg or "1000") / 1000.0)
                client.sendall(rsp)
            elif mode == "srk" and cc == TPM_CC_READPUBLIC:
                client.sendall(substitute_srk(rsp, bytes.fromhex(arg)))
            else:
                client.sendall(rsp)
    except OSError:
        return
    finally:
        up.close()
        client.close()


def pipe(a, b):
    try:
        while True:
            data = a.recv(4096)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_ctrl(client, target):
    try:
        up = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(up, client), daemon=True).start()
    pipe(client, up)


def control(line, faults):
    w = line.split()
    if not w:
        return "err empty"
    if w[0] == "ping":
        return "ok"
    if w[0] == "arm" and len(w) >= 2:
        cc = None if len(w) < 3 or w[2] == "any" else int(w[2], 16)
        count = int(w[3]) if len(w) >= 4 else 1
        arg = w[4] if len(w) >= 5 else None
        with faults.mu:
            faults.armed.append([w[1], cc, count, arg])
        return "ok armed %s" % w[1]
    if w[0] == "disarm":
        with faults.mu:
            faults.armed.clear()
        faults.release.set()
        return "ok"
    if w[0] == "count":
        with faults.mu:
            if len(w) >= 2:
                return "ok %d" % faults.counts.get(int(w[1], 16), 0)
            return "ok %d" % sum(faults.counts.values())
    if w[0] == "reset":
        with faults.mu:
            faults.counts.clear()
        return "ok"
    return "err unknown request"


def serve_control(sock, faults):
    while True:
        c, _ = sock.accept()
        with c:
            f = c.makefile("rw")
            for line in f:
                f.write(control(line, faults) + "\n")
                f.flush()
            f.close()  # the file holds the socket open: close both at the client's EOF


def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    s.listen(16)
    return s


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def listener_pair(port):
    """The command and control listeners on PORT and PORT+1 (the swtpm TCTI's pair).
    PORT 0: an even pair below the ephemeral range, chosen by binding (a port that an
    outgoing connection holds cannot be bound, yet nothing answers on it), retried."""
    if port:
        return listener(port), listener(port + 1)
    top = max(ephemeral_low(), 12000)
    rnd = random.SystemRandom()
    for _ in range(200):
        p = 10000 + 2 * rnd.randrange((top - 10002) // 2)
        try:
            a = listener(p)
        except OSError:
            continue
        try:
            return a, listener(p + 1)
        except OSError:
            a.close()
    raise SystemExit("tpm_proxy: no free loopback port pair below %d" % top)


def accept_loop(sock, fn, *args):
    while True:
        c, _ = sock.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=fn, args=(c,) + args, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, default=0,
                    help="command port (control is +1); 0: pick a free pair")
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--log")
    o = ap.parse_args()
    faults = Faults()
    if o.log:
        faults.log = open(o.log, "a")
    cmd_sock, ctrl_sock = listener_pair(o.listen)
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(o.ctl):
        os.unlink(o.ctl)
    ctl.bind(o.ctl)
    ctl.listen(4)
    threading.Thread(target=accept_loop, args=(ctrl_sock, serve_ctrl, o.target + 1),
                     daemon=True).start()
    threading.Thread(target=serve_control, args=(ctl, faults), daemon=True).start()
    print("ready %d" % cmd_sock.getsockname()[1], flush=True)
    accept_loop(cmd_sock, serve_cmd, o.target, faults)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
