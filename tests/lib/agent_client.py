#!/usr/bin/env python3
"""agent_client: a raw ssh-agent client and recorder for tests (no third-party modules).

  query SOCK                 print the extension names the agent's "query" lists
  ext SOCK NAME              send EXTENSION NAME with an empty body; print the reply
                             type and, for EXTENSION_FAILURE (28), its message
  send SOCK FILE...          send each file (one message: type byte + body) on ONE
                             connection; print the reply types, space-separated
  setfwd FILE OUT 0|1        copy a session-bind message with is_forwarding set
  forge FILE OUT             copy a session-bind message with one byte of its host-key
                             signature flipped
  record LISTEN UPSTREAM DIR a recording proxy: accepts on unix socket LISTEN, relays
                             to UPSTREAM, and writes each session-bind message a client
                             sends to DIR/bind-N.bin. Prints "ready" once listening;
                             runs until killed.
"""
import os
import socket
import struct
import sys
import threading

EXTENSION = 27


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("agent closed the connection")
        buf += chunk
    return buf


def call(s, msg):
    s.sendall(struct.pack(">I", len(msg)) + msg)
    n = struct.unpack(">I", recv_exact(s, 4))[0]
    return recv_exact(s, n)


def sstr(b):
    return struct.pack(">I", len(b)) + b


def get_str(b, off):
    n = struct.unpack(">I", b[off:off + 4])[0]
    return b[off + 4:off + 4 + n], off + 4 + n


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s


def cmd_query(sock):
    r = call(connect(sock), bytes([EXTENSION]) + sstr(b"query"))
    if r[0] != 6:
        sys.exit("query: reply type %d" % r[0])
    off = 1
    _, off = get_str(r, off)  # "query"
    while off < len(r):
        name, off = get_str(r, off)
        print(name.decode())


def cmd_ext(sock, name):
    r = call(connect(sock), bytes([EXTENSION]) + sstr(name.encode()))
    if r[0] == 28 and len(r) > 5:
        print("28 " + get_str(r, 1)[0].decode(errors="replace"))
    else:
        print(r[0])


def cmd_send(sock, files):
    s = connect(sock)
    types = []
    for f in files:
        with open(f, "rb") as fh:
            types.append(str(call(s, fh.read())[0]))
    print(" ".join(types))


def bind_parts(msg):
    """(prefix up to the signature string, signature, is_forwarding byte)."""
    name, off = get_str(msg, 1)
    assert name == b"session-bind@openssh.com", name
    _, off = get_str(msg, off)  # host key
    _, off = get_str(msg, off)  # session id
    sig, end = get_str(msg, off)
    return msg[:off], sig, msg[end:]


def cmd_setfwd(src, out, fwd):
    with open(src, "rb") as fh:
        prefix, sig, _ = bind_parts(fh.read())
    with open(out, "wb") as fh:
        fh.write(prefix + sstr(sig) + bytes([int(fwd)]))


def cmd_forge(src, out):
    with open(src, "rb") as fh:
        prefix, sig, tail = bind_parts(fh.read())
    sig = bytearray(sig)
    sig[-5] ^= 0x01  # inside the signature value, past its algorithm name
    with open(out, "wb") as fh:
        fh.write(prefix + sstr(bytes(sig)) + tail)


class Recorder:
    def __init__(self, upstream, outdir):
        self.upstream, self.outdir = upstream, outdir
        self.n = 0
        self.lock = threading.Lock()

    def save(self, msg):
        if msg[:1] != bytes([EXTENSION]):
            return
        if get_str(msg, 1)[0] != b"session-bind@openssh.com":
            return
        with self.lock:
            self.n += 1
            path = os.path.join(self.outdir, "bind-%d.bin" % self.n)
        with open(path + ".tmp", "wb") as fh:
            fh.write(msg)
        os.rename(path + ".tmp", path)

    def serve(self, client):
        up = connect(self.upstream)
        up.settimeout(None)
        client.settimeout(None)

        def down():
            try:
                while True:
                    data = up.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
            except OSError:
                pass
            client.close()

        threading.Thread(target=down, daemon=True).start()
        try:
            while True:
                n = struct.unpack(">I", recv_exact(client, 4))[0]
                msg = recv_exact(client, n)
                self.save(msg)
                up.sendall(struct.pack(">I", n) + msg)
        except (EOFError, OSError):
            pass
        up.close()


def cmd_record(listen, upstream, outdir):
    rec = Recorder(upstream, outdir)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(listen)
    srv.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=rec.serve, args=(c,), daemon=True).start()


def main(argv):
    cmds = {"query": (cmd_query, 1), "ext": (cmd_ext, 2), "setfwd": (cmd_setfwd, 3),
            "forge": (cmd_forge, 2), "record": (cmd_record, 3)}
    if len(argv) >= 3 and argv[1] == "send":
        return cmd_send(argv[2], argv[3:])
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
