#!/usr/bin/env python3
"""hold_clients.py: holds N client connections to an agent socket, for tests that need
the agent's connection slots taken, without sleeps as waits.

usage: hold_clients.py ssh|gpg SOCKET N [DRIBBLE_SECONDS]

Each connection first completes one exchange, so the agent has surely accepted it:
ssh sends REQUEST_IDENTITIES and reads the answer, gpg reads the Assuan greeting.
Then "ready N" goes to stdout. From there on the connections stay silent or, with
DRIBBLE_SECONDS, each sends one byte of a request that never ends every
DRIBBLE_SECONDS (a slowloris). With $HOLD_SEND (hex; ssh only), each connection sends
those bytes after its exchange and, when they are one whole frame, reads the agent's
answer before "ready": the agent has surely handled it. A line "closed N" is printed whenever the agent has
closed N of them (N counts up). It exits when stdin reaches EOF or the agent closed
them all ("all closed").
"""
import os
import select
import socket
import struct
import sys


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed by the agent")
        data += chunk
    return data


def handshake(kind, s):
    if kind == "ssh":
        s.sendall(struct.pack(">IB", 1, 11))  # REQUEST_IDENTITIES
        (length,) = struct.unpack(">I", recv_exact(s, 4))
        recv_exact(s, length)
    else:
        line = b""
        while not line.endswith(b"\n"):
            line += recv_exact(s, 1)
        if not line.startswith(b"OK"):
            raise ConnectionError("no greeting: %r" % line)


def send_extra(s):
    extra = bytes.fromhex(os.environ.get("HOLD_SEND", "").replace(" ", ""))
    if not extra:
        return
    s.sendall(extra)
    if len(extra) >= 4 and struct.unpack(">I", extra[:4])[0] == len(extra) - 4:
        (length,) = struct.unpack(">I", recv_exact(s, 4))
        recv_exact(s, length)


def main():
    kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dribble = float(sys.argv[4]) if len(sys.argv) > 4 else None
    # ssh: a frame announcing 64 bytes of which only a few ever come; gpg: a line
    # that never ends.
    tail = b"\x00\x00\x00\x40\x0b" + b"x" * 58 if kind == "ssh" else b"NOP" + b" " * 900
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        handshake(kind, s)
        send_extra(s)
        conns.append(s)
    print("ready %d" % n, flush=True)
    sent = {s: 0 for s in conns}
    closed = 0
    stdin = sys.stdin.fileno()
    while conns:
        readable, _, _ = select.select(conns + [stdin], [], [], dribble)
        if stdin in readable and not os.read(stdin, 4096):
            break
        gone = []
        for s in readable:
            if s is stdin:
                continue
            try:
                if not s.recv(4096):
                    gone.append(s)
            except OSError:
                gone.append(s)
        if dribble is not None and not readable:
            for s in conns:
                if s in gone or sent[s] >= len(tail):
                    continue
                try:
                    s.send(tail[sent[s]:sent[s] + 1])
                    sent[s] += 1
                except OSError:
                    gone.append(s)
        for s in set(gone):
            conns.remove(s)
            s.close()
            closed += 1
        if gone:
            print("closed %d" % closed, flush=True)
    if not conns:
        print("all closed", flush=True)


if __name__ == "__main__":
    main()
