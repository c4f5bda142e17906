#!/usr/bin/env python3
"""IMAP load for the benchmark (bench/imap.sh), loopback only.

  imapload.py fill MAILDIR N SIZE       write N messages of about SIZE bytes
                                        into MAILDIR/new (LF line ends, as
                                        delivery stores them)
  imapload.py fetch PORT USER PASS R    over implicit TLS: LOGIN, SELECT INBOX
                                        (untimed: the server indexes), then R
                                        times "FETCH 1:* BODY.PEEK[]" timed;
                                        prints "messages median_msgs_per_s MB_per_s"
  imapload.py idle PORT USER PASS N     N connections logged in, INBOX
                                        selected, in IDLE; prints "ready" and
                                        holds them until stdin closes

Raw sockets, not imaplib: the client must cost little next to the server.
"""
import os
import resource
import socket
import ssl
import statistics
import sys
import time

HOST = "127.0.0.1"


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Conn:
    def __init__(self, port, ctx):
        raw = socket.create_connection((HOST, port), timeout=120)
        self.s = ctx.wrap_socket(raw)
        self.buf = bytearray()
        self.tag = 0
        self.readline()  # greeting

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self.fill()

    def fill(self):
        data = self.s.recv(1 << 20)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def command(self, text):
        """Sends a command; returns (tagged line, bytes of response read)."""
        self.tag += 1
        tag = b"a%d" % self.tag
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        total = 0
        exists = None
        while True:
            line = self.readline()
            total += len(line) + 2
            if line.endswith(b"}"):
                n = int(line[line.rindex(b"{") + 1:-1])
                while len(self.buf) < n:
                    self.fill()
                del self.buf[:n]
                total += n
                continue
            if line.startswith(b"* ") and line.endswith(b" EXISTS"):
                exists = int(line.split()[1])
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return exists, total


def fill(maildir, n, size):
    new = os.path.join(maildir, "new")
    os.makedirs(new, exist_ok=True)
    for sub in ("cur", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    line = ("The quick brown fox jumps over the lazy dog, again and again. " * 2)[:76]
    now = int(time.time()) - n
    for i in range(n):
        head = (f"Return-Path: <sender@bench.test>\nDelivered-To: u@bench.test\n"
                f"From: Sender <sender@bench.test>\nTo: u@bench.test\n"
                f"Subject: bench message {i}\nMessage-ID: <bench{i}@bench.test>\n"
                f"Date: Mon, 23 Nov 2026 10:00:00 +0000\n\n")
        body = []
        left = size - len(head)
        while left > 0:
            body.append(line + "\n")
            left -= len(line) + 1
        data = (head + "".join(body)).encode()
        name = f"{now + i}.M{i}P{os.getpid()}.bench.test,S={len(data)}"
        with open(os.path.join(new, name), "wb") as f:
            f.write(data)


def login(c, user, password):
    c.command(f'LOGIN "{user}" "{password}"')


def fetch(port, user, password, runs):
    ctx = tls_context()
    c = Conn(port, ctx)
    login(c, user, password)
    exists, _ = c.command("SELECT INBOX")
    rates, mbs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        _, nbytes = c.command("FETCH 1:* BODY.PEEK[]")
        dt = time.perf_counter() - t0
        rates.append(exists / dt)
        mbs.append(nbytes / dt / 1e6)
    c.command("LOGOUT")
    print(exists, round(statistics.median(rates)), round(statistics.median(mbs), 1))


def idle(port, user, password, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, n + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    ctx = tls_context()
    conns = []
    for _ in range(n):
        c = Conn(port, ctx)
        login(c, user, password)
        c.command("SELECT INBOX")
        c.tag += 1
        c.s.sendall(b"a%d IDLE\r\n" % c.tag)
        if not c.readline().startswith(b"+"):
            raise RuntimeError("no IDLE continuation")
        conns.append(c)
    print("ready", flush=True)
    sys.stdin.read()
    for c in conns:
        c.s.close()


def main(argv):
    if len(argv) == 5 and argv[1] == "fill":
        fill(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 6 and argv[1] == "fetch":
        fetch(int(argv[2]), argv[3], argv[4], int(argv[5]))
    elif len(argv) == 6 and argv[1] == "idle":
        idle(int(argv[2]), argv[3], argv[4], int(argv[5]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
