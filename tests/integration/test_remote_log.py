"""log.remote (SPEC sections 2 and 6, docs/logging.md): every line also goes
to a log server as RFC 5424, over UDP or over TCP with octet counting
(RFC 6587 3.4.1); a log server that is down or stops reading never slows
the server: lines wait in a bounded buffer, drops are counted and logged
locally, and the connection is retried."""

import re
import smtplib
import socket
import threading
import time

from conftest import message

# <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG (RFC 5424 6)
RFC5424 = re.compile(r"<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
                     r"(\S+) (\S+) (\S+) (\S+) - (.*)\Z", re.S)


class UdpReceiver:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.msgs = []
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                self.msgs.append(self.sock.recv(65535).decode("utf-8", "replace"))
            except socket.timeout:
                pass

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()


class TcpReceiver:
    """Accepts on 127.0.0.1:port; reads every connection into its own
    buffer, or, with read=False, accepts and never reads (a stalled log
    server; its receive buffer is made small)."""

    def __init__(self, port=0, read=True):
        self.read = read
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if not read:
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(8)
        self.lsock.settimeout(0.1)
        self.port = self.lsock.getsockname()[1]
        self.conns = []      # [socket, bytearray, open]
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                s, _ = self.lsock.accept()
                s.settimeout(0.05)
                self.conns.append([s, bytearray(), True])
            except socket.timeout:
                pass
            if not self.read:
                continue
            for c in self.conns:
                if not c[2]:
                    continue
                try:
                    while True:
                        b = c[0].recv(65536)
                        if not b:
                            c[2] = False
                            break
                        c[1] += b
                except socket.timeout:
                    pass
                except OSError:
                    c[2] = False

    def frames(self, conn=None):
        """The messages of every connection (or one), parsed as octet-counted
        frames: LEN SP MSG, LEN without leading zeros. Fails on any byte that
        breaks the framing; a frame still arriving at the end is left out."""
        out = []
        for c in (self.conns if conn is None else [self.conns[conn]]):
            data = bytes(c[1])
            while data:
                m = re.match(rb"([1-9][0-9]*) ", data)
                assert m, f"bad framing at {data[:40]!r}"
                n = int(m.group(1))
                if len(data) < m.end() + n:
                    break
                out.append(data[m.end():m.end() + n].decode("utf-8", "replace"))
                data = data[m.end() + n:]
        return out

    def close(self):
        self.done = True
        self.thread.join()
        for c in self.conns:
            c[0].close()
        self.lsock.close()


def wait_for(fn, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def transaction(p, timeout=5):
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=timeout) as c:
        c.sendmail("alice@example.org", ["bob@example.org"], message())


def find(msgs, needle):
    return [m for m in msgs if needle in m]


def test_udp_copies_lines_as_rfc5424(make_postern):
    r = UdpReceiver()
    try:
        p = make_postern(log_extra=f'remote = "udp://127.0.0.1:{r.port}";')
        transaction(p)
        tx = wait_for(lambda: find(r.msgs, "event=transaction"), what="transaction")[0]
        m = RFC5424.match(tx)
        assert m, tx
        pri, ts, host, app, procid, msgid, msg = m.groups()
        assert tx.startswith("<22>1 ")        # mail.info
        assert (host, app, msgid) == ("mx.example.org", "postern", "transaction")
        assert procid.isdigit()
        # MSG is the local line without its timestamp, which is TIMESTAMP.
        local = p.wait_log("event=transaction")
        assert local == f"{ts} {msg}"
        for d in r.msgs:
            assert RFC5424.match(d), d
            assert "\n" not in d
        # The master's lines and every child's, each with its own pid.
        assert find(r.msgs, "service=master event=start")
        assert find(r.msgs, "service=worker event=sandbox")
        wait_for(lambda: find(r.msgs, "service=qmgr event=delivery"), what="delivery")
    finally:
        r.close()


def test_tcp_frames_are_octet_counted(make_postern):
    r = TcpReceiver()
    try:
        p = make_postern(log_extra=f'remote = "tcp://127.0.0.1:{r.port}";')
        transaction(p)
        wait_for(lambda: find(r.frames(), "event=transaction"), what="transaction")
        frames = r.frames()
        for f in frames:
            assert RFC5424.match(f), f
        tx = find(frames, "event=transaction")[0]
        assert tx.startswith("<22>1 ") and " mx.example.org postern " in tx
        assert len(r.conns) == 1
        p.wait_log("event=log_remote state=up")
    finally:
        r.close()


def test_stalled_tcp_receiver_never_slows_smtp(make_postern):
    r = TcpReceiver(read=False)
    try:
        p = make_postern(log_extra=f'remote = "tcp://127.0.0.1:{r.port}";')
        wait_for(lambda: r.conns, what="connection from the relay")
        # 3000 transaction lines of ~530 bytes (MAIL then RSET, pipelined
        # in batches): more than the kernel's buffers and the relay's 1 MiB.
        sender = "x" * 60 + "@" + ".".join(["d" * 60] * 3) + ".example"
        s = socket.create_connection(("127.0.0.1", p.smtp_port), timeout=10)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        s.sendall(b"EHLO client.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        start = time.time()
        for _ in range(30):
            s.sendall(f"MAIL FROM:<{sender}>\r\nRSET\r\n".encode() * 100)
            for _ in range(200):
                assert f.readline()[:1] == b"2"
        flood = time.time() - start
        s.sendall(b"QUIT\r\n")
        s.close()
        p.wait_log("event=log_remote_dropped count=", timeout=10)
        # With the log server stalled and the buffer full, SMTP is as fast.
        lat = []
        for _ in range(5):
            t0 = time.time()
            transaction(p, timeout=3)
            lat.append(time.time() - t0)
        print(f"\n3000 MAIL+RSET in {flood:.2f} s; SMTP transactions with the "
              f"log server stalled: {', '.join(f'{x * 1000:.0f}' for x in lat)} ms")
        assert max(lat) < 1.5, lat
        assert flood < 20
        assert len(p.log_lines()) > 3000     # the local log has every line
    finally:
        r.close()


def test_tcp_receiver_down_at_start_gets_lines_after_reconnect(make_postern, free_port):
    port = free_port()
    p = make_postern(log_extra=f'remote = "tcp://127.0.0.1:{port}";')
    p.wait_log("event=log_remote state=down")
    transaction(p)
    p.wait_log("event=transaction")
    time.sleep(0.5)
    r = TcpReceiver(port=port)
    try:
        # Retries after 1, 2, 4 s: lines that waited arrive, framed whole.
        wait_for(lambda: find(r.frames(), "event=transaction"), timeout=10,
                 what="transaction after reconnect")
        assert find(r.frames(), "service=master event=start")
        p.wait_log("event=log_remote state=up")
    finally:
        r.close()


def test_reload_turns_on_keeps_or_switches_the_target(make_postern):
    a, b = TcpReceiver(), TcpReceiver()
    try:
        p = make_postern()
        p.log_extra = f'remote = "tcp://127.0.0.1:{a.port}";'
        p.write_config()
        p.reload()
        # The new generation's children send their lines too.
        wait_for(lambda: find(a.frames(), "service=worker event=sandbox"),
                 what="a new worker's line")
        transaction(p)
        wait_for(lambda: find(a.frames(), "event=transaction"), what="transaction")
        assert len(find(a.frames(), "event=reload result=ok")) == 1
        p.reload()
        wait_for(lambda: len(find(a.frames(), "event=reload result=ok")) == 2,
                 what="second reload")
        assert len(a.conns) == 1              # unchanged: the same connection
        p.log_extra = f'remote = "tcp://127.0.0.1:{b.port}";'
        p.write_config()
        p.reload()
        wait_for(lambda: find(b.frames(), "event=reload result=ok"), what="switch")
        wait_for(lambda: not a.conns[0][2], what="old connection closed")
        assert len(a.conns) == 1 and len(b.conns) == 1
    finally:
        a.close()
        b.close()
