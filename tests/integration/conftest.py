"""Integration harness: starts the real build/postern on loopback with a
per-test data_dir, config, Maildirs and self-signed certificate, and gives
tests helpers to drive it with real clients. Every server is started under
`timeout`, so it stops by itself even if the test run is killed."""

import imaplib
import re
import os
import poplib
import pwd
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from peers import port_is_free, reserve_ports
from peers import reserve_port as reserve_port_

BIN = os.environ.get("POSTERN_BIN", str(Path(__file__).resolve().parents[2] / "build" / "postern"))
PASSWORD = "correct horse battery"
IS_ROOT = os.geteuid() == 0
RUN_AS = "postern" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_SERVFAIL_DNS = None


def servfail_dns():
    """One loopback DNS server for each pytest process (each xdist worker),
    SERVFAIL for every name; on a port of its own (port 0, held)."""
    global _SERVFAIL_DNS
    if _SERVFAIL_DNS is None:
        from peers import DnsServer
        _SERVFAIL_DNS = DnsServer({}, default="SERVFAIL")
    return _SERVFAIL_DNS


MAILBOX_SERVICES = ("pop3", "pop3s", "imap", "imaps")


class Postern:
    """One server under test, on loopback.

    Ports (reserved for the test, peers.py "ports"): smtp_port,
    submission_port, submissions_port always. With mailbox=True (make_postern
    (mailbox=True)) also pop3_port, pop3s_port, imap_port and imaps_port:
    listeners "pop3", "pop3s" (implicit TLS), "imap" and "imaps" (implicit
    TLS) on 127.0.0.1, served by the mailbox workers; without it those
    attributes are None and no mailbox worker runs. Clients: pop3() and
    imap() (poplib/imaplib, TLS on the implicit-TLS ports with
    client_tls_context(), no verification), mailbox_raw(port) (a plain
    socket, or TLS-wrapped with tls=True) for malformed dialogues."""

    def __init__(self, tmp: Path, extra: str = "", listen_extra: str = "",
                 hostname: str = "mx.example.org", smtp_address: str = None,
                 log_extra: str = "", mailbox: bool = False):
        self.tmp = tmp
        self.mailbox = mailbox
        self.pop3_port = self.pop3s_port = self.imap_port = self.imaps_port = None
        self.hostname = hostname
        self.data_dir = tmp / "var"
        self.conf = tmp / "postern.conf"
        self.log = tmp / "postern.log"
        # Reserved until release() (make_postern: after the test), so that
        # no other test, xdist worker or test run takes them in between,
        # even while this server is stopped (peers.py, "ports").
        self._reserve()
        # The smtp listener may live on another loopback address (a peer
        # for outbound delivery: "127.0.0.5:2525"); its port is the test's.
        self.smtp_host = "127.0.0.1"
        self.smtp_address = smtp_address
        if smtp_address:
            self.smtp_host, port = smtp_address.rsplit(":", 1)
            self.smtp_port = int(port)
            self._ports.pop(0).release()
        self.extra = extra
        self.listen_extra = listen_extra
        # More keys of the log block, e.g. 'remote = "udp://127.0.0.1:5514";'.
        self.log_extra = log_extra
        self.proc = None
        self.started = False
        self.write_config()

    def _reserve(self):
        self._ports = reserve_ports(7 if self.mailbox else 3)
        ports = [r.port for r in self._ports]
        self.smtp_port, self.submission_port, self.submissions_port = ports[:3]
        if self.mailbox:
            (self.pop3_port, self.pop3s_port, self.imap_port,
             self.imaps_port) = ports[3:7]

    def mailbox_ports(self):
        """{"pop3": port, ...} of the mailbox listeners ({} without)."""
        if not self.mailbox:
            return {}
        return dict(zip(MAILBOX_SERVICES, (self.pop3_port, self.pop3s_port,
                                           self.imap_port, self.imaps_port)))

    def release(self):
        """Gives the reserved ports back (the server is stopped)."""
        for r in self._ports:
            r.release()
        self._ports = []

    def listen_addresses(self):
        return [(self.smtp_host, self.smtp_port), ("127.0.0.1", self.submission_port),
                ("127.0.0.1", self.submissions_port)] + \
            [("127.0.0.1", p) for p in self.mailbox_ports().values()]

    def _wait_ports_free(self, timeout):
        """The addresses this server listens on that stay taken (by another
        process) for timeout seconds; [] when all are free. A server that was
        just killed may hold them a moment longer."""
        deadline = time.time() + timeout
        while True:
            busy = [a for a in self.listen_addresses() if not port_is_free(a[1], a[0])]
            if not busy or time.time() >= deadline:
                return busy
            time.sleep(0.05)

    # -- configuration -----------------------------------------------------
    def config_text(self, extra=None, listen_extra=None):
        extra = self.extra if extra is None else extra
        listen_extra = self.listen_extra if listen_extra is None else listen_extra
        # Tests need no DNS; 127.0.0.1 is trusted, 127.0.0.2 and up are not.
        checks = "" if "checks" in extra else \
            'checks = { verify_sender_domain = false; spf = "off"; rdns = "off"; };'
        relay = "" if "relay" in extra else \
            'relay = { trusted_networks = ["127.0.0.1/32", "::1/128"]; };'
        # Never the system's resolver: a loopback server that answers
        # SERVFAIL to everything, so that a remote recipient is deferred
        # at once (451 4.4.3) and no attempt outlives the test.
        dns = "" if re.search(r"^\s*dns\s*=", extra, re.M) else \
            f'dns = {{ servers = ["{servfail_dns().address}"]; }};'
        mailbox = "".join(
            f',\n  {{ service = "{svc}"; address = "127.0.0.1:{port}"; }}'
            for svc, port in self.mailbox_ports().items())
        return f"""
hostname = "{self.hostname}";
data_dir = "{self.data_dir}";
run_as = "{RUN_AS}";
listen = (
  {{ service = "smtp"; address = "{self.smtp_host}:{self.smtp_port}"; {listen_extra} }},
  {{ service = "submission"; address = "127.0.0.1:{self.submission_port}"; }},
  {{ service = "submissions"; address = "127.0.0.1:{self.submissions_port}"; }}{mailbox}
);
log = {{ file = "{self.log}"; level = "info"; {self.log_extra} }};
{checks}
{relay}
{dns}
{extra}
"""

    def write_config(self, extra=None, listen_extra=None):
        self.conf.write_text(self.config_text(extra, listen_extra))

    # -- command line ------------------------------------------------------
    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, "-c", str(self.conf), *args], input=input,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)} -> {r.returncode}: {r.stderr}")
        return r

    def add_user(self, address, password=PASSWORD):
        return self.cli("user", "add", address, input=password + "\n")

    # -- process -----------------------------------------------------------
    def start(self, repick=False):
        """Starts the server and waits for its banner. Postern binds with
        SO_REUSEPORT: a port that another process already listens on would
        not fail the start, it would share the connections. So the ports
        are checked first; repick=True (a first start, nothing has seen the
        ports yet) takes new ones instead of failing."""
        busy = self._wait_ports_free(0 if repick and not self.started else 5)
        if busy and repick and not self.started:
            self.release()
            self._reserve()
            if self.smtp_address:
                self.smtp_port = int(self.smtp_address.rsplit(":", 1)[1])
                self._ports.pop(0).release()
            self.write_config()
            busy = self._wait_ports_free(5)
        if busy:
            raise AssertionError(f"listen addresses in use by another process: {busy}")
        self.started = True
        self.proc = subprocess.Popen(["timeout", "-s", "TERM", "900", BIN, "-c",
                                      str(self.conf), "serve"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.tmp / "stderr.log", "ab"),
                                     start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("postern exited: " + (self.tmp / "stderr.log").read_text())
            try:
                # submission: the smtp listener may carry an `allow` list.
                with socket.create_connection(("127.0.0.1", self.submission_port), timeout=1) as s:
                    s.settimeout(3)
                    if s.recv(100).startswith(b"220"):
                        # Return once the server has ended this session: it
                        # counts it (limits.connections, connections_per_ip)
                        # until then, and uncounts it before it closes the
                        # socket. Closing at once left it counted for a
                        # while on a loaded machine: a test's first
                        # connection got 421 (over the limit).
                        s.sendall(b"QUIT\r\n")
                        s.settimeout(10)
                        while s.recv(4096):
                            pass
                        self._wait_mailbox(deadline)
                        return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("postern did not start")

    def _wait_mailbox(self, deadline):
        """With mailbox listeners: until the pop3 one greets (the mailbox
        workers start beside the SMTP ones)."""
        if not self.mailbox:
            return
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.pop3_port), timeout=1) as s:
                    s.settimeout(3)
                    if s.recv(100):
                        # As for SMTP above: return once the server has
                        # ended (and uncounted) this session.
                        s.sendall(b"QUIT\r\n")
                        s.settimeout(10)
                        while s.recv(4096):
                            pass
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("mailbox listeners did not start")

    def signal(self, sig):
        os.killpg(self.proc.pid, sig)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                self.signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)

    def kill(self):
        """SIGKILL every process of the server at once: a crash."""
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def reload(self):
        # The master is the child of `timeout`.
        master = int(subprocess.check_output(["pgrep", "-P", str(self.proc.pid)]).split()[0])
        os.kill(master, signal.SIGHUP)

    # -- observation -------------------------------------------------------
    def log_lines(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_log(self, needle, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log_lines():
                if needle in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"log never showed {needle!r}")

    def maildir(self, address, sub="new"):
        local, domain = address.lower().split("@")
        return self.data_dir / "mail" / domain / local / sub

    def messages(self, address):
        """The messages of address's INBOX, new/ then cur/. A POP3 or IMAP
        session may move a file from new/ to cur/ (or rename it for a flag)
        while this reads: a file gone between listing and reading restarts
        the read, and cur/ is read before new/ so that a message moving
        meanwhile is missed (the wait loops look again), never counted twice."""
        d = self.maildir(address)
        for _ in range(50):
            got = {}
            try:
                for sub in ("cur", "new"):
                    p = d.parent / sub
                    got[sub] = ([f.read_bytes() for f in sorted(p.iterdir())]
                                if p.exists() else [])
                return got["new"] + got["cur"]
            except FileNotFoundError:
                time.sleep(0.01)
        raise AssertionError(f"{address}: the Maildir kept changing")

    def wait_messages(self, address, n=1, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.messages(address)
            if len(m) >= n:
                return m
            time.sleep(0.05)
        raise AssertionError(f"{address}: {len(self.messages(address))} messages, wanted {n}")

    def queue_ids(self):
        q = self.data_dir / "queue"
        return sorted(p.name for p in q.iterdir() if p.is_file()) if q.exists() else []

    # -- clients -----------------------------------------------------------
    def smtp(self, port=None, source="127.0.0.1", timeout=10):
        return smtplib.SMTP(self.smtp_host if port is None else "127.0.0.1",
                            port or self.smtp_port, timeout=timeout,
                            source_address=(source, 0))

    def submission(self, login=True, user="alice@example.org", password=PASSWORD):
        c = smtplib.SMTP("127.0.0.1", self.submission_port, timeout=10)
        c.ehlo("client.example.net")
        c.starttls(context=client_tls())
        c.ehlo("client.example.net")
        if login:
            c.login(user, password)
        return c

    def raw(self, port=None, source="127.0.0.1", banner=True):
        return RawClient(port or self.smtp_port, source, banner,
                         self.smtp_host if port is None else "127.0.0.1")

    def pop3(self, tls=False, timeout=10):
        """poplib client: POP3_SSL on pop3s_port with tls=True, else plain
        POP3 on pop3_port (call .stls(context=client_tls()) for STLS)."""
        if tls:
            return poplib.POP3_SSL("127.0.0.1", self.pop3s_port, timeout=timeout,
                                   context=client_tls())
        return poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)

    def imap(self, tls=False, timeout=10):
        """imaplib client: IMAP4_SSL on imaps_port with tls=True, else plain
        IMAP4 on imap_port (call .starttls(ssl_context=client_tls()))."""
        if tls:
            return imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, timeout=timeout,
                                     ssl_context=client_tls())
        return imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=timeout)

    def mailbox_raw(self, port, tls=False, source="127.0.0.1", greeting=True):
        """Exact bytes to a mailbox listener: a LineClient (the greeting
        line read first unless greeting=False)."""
        return LineClient(port, tls=tls, source=source, greeting=greeting)


class LineClient:
    """Exact bytes on a socket (TLS-wrapped, unverified, with tls=True),
    read back a CRLF line at a time: for POP3 and IMAP dialogues."""

    def __init__(self, port, tls=False, source="127.0.0.1", greeting=True,
                 host="127.0.0.1"):
        s = socket.create_connection((host, port), timeout=10,
                                     source_address=(source, 0))
        self.s = client_tls().wrap_socket(s) if tls else s
        self.buf = b""
        self.greeting = self.line() if greeting else None

    def send(self, data: bytes):
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed; pending " + repr(self.buf))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def cmd(self, text: str):
        """Sends one line, returns the first line of the answer."""
        self.send(text.encode() + b"\r\n")
        return self.line()

    def closed(self, timeout=5):
        """True when the server has closed the connection (what it sent
        meanwhile is kept in buf)."""
        self.s.settimeout(timeout)
        try:
            while True:
                data = self.s.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


class RawClient(LineClient):
    """Exact bytes on a plain socket, for malformed SMTP dialogues."""

    def __init__(self, port, source="127.0.0.1", banner=True, host="127.0.0.1"):
        super().__init__(port, source=source, greeting=False, host=host)
        self.banner = self.reply() if banner else None

    def reply(self):
        """One whole (possibly multi-line) reply: (code, last line text)."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return int(lines[-1][:3]), "\n".join(lines)

    def cmd(self, text: str):
        self.send(text.encode() + b"\r\n")
        return self.reply()


@pytest.fixture
def free_port(request):
    """free_port() -> a port reserved (peers.reserve_port) until the test
    ends: nothing else on the machine listens there meanwhile."""
    def take():
        r = reserve_port_()
        request.addfinalizer(r.release)
        return r.port
    return take


@pytest.fixture
def make_postern(tmp_path):
    """Factory: make_postern(extra="...") -> started server with
    example.org, alice@example.org and bob@example.org."""
    servers = []

    def factory(extra="", listen_extra="", start=True, users=True, **kw):
        # mailbox=True: pop3/pop3s/imap/imaps listeners too (Postern's
        # docstring: p.pop3_port, p.pop3s_port, p.imap_port, p.imaps_port).
        d = tmp_path / f"s{len(servers)}"
        d.mkdir()
        os.chmod(tmp_path, 0o755)
        p = Postern(d, extra, listen_extra, **kw)
        servers.append(p)
        if users:
            p.cli("domain", "add", "example.org")
            p.add_user("alice@example.org")
            p.add_user("bob@example.org")
        if start:
            p.start(repick=True)
        return p

    yield factory
    for p in servers:
        p.stop()
    for p in servers:
        p.release()
    for p in servers:
        err = (p.tmp / "stderr.log").read_text(errors="replace") if (p.tmp / "stderr.log").exists() else ""
        assert "Sanitizer" not in err and "runtime error:" not in err, err


@pytest.fixture
def postern(make_postern):
    return make_postern()


def message(subject="hello", sender="alice@example.org", to="bob@example.org", body="Hello Bob.\r\n", headers=True):
    if not headers:
        return body
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{time.time_ns()}@example.org>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n{body}")


# ---- outbound delivery: loopback DNS and SMTP peers (peers.py) -------------

from peers import OUT_ZONE, DnsServer, SmtpSink, make_cert, reserve_port  # noqa: E402


@pytest.fixture
def mx_port():
    """delivery.port: one port, reserved for the test (peers.py, "ports"):
    the sinks listen on it on 127.0.0.3 .. 127.0.0.6, and an address
    without a sink (127.0.0.2, a sink not started yet) refuses connections,
    since no other test or test run may listen on it meanwhile."""
    r = reserve_port()
    yield r.port
    r.release()


@pytest.fixture
def dns():
    """A DNS server on 127.0.0.1 serving OUT_ZONE; tests change it with
    dns.set(name, records)."""
    server = DnsServer(OUT_ZONE)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def peer_cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("peer-tls"))


@pytest.fixture
def make_sink(mx_port):
    """Factory: make_sink("127.0.0.3", tls=..., auth=..., start=True) ->
    SmtpSink on delivery.port of that address."""
    sinks = []

    def factory(host="127.0.0.3", start=True, **kw):
        s = SmtpSink(host, mx_port, **kw)
        sinks.append(s)
        if start:
            s.start()
        return s

    yield factory
    for s in sinks:
        s.stop()


@pytest.fixture
def sink(make_sink):
    """The MX of peer.example (127.0.0.3), running."""
    return make_sink("127.0.0.3")


@pytest.fixture
def home(make_sink):
    """The MX of the outside senders' domains (127.0.0.6), running."""
    return make_sink("127.0.0.6", hostname="mx.remote.example")


@pytest.fixture
def make_outbound(mx_port, dns, make_postern):
    """Factory: a started Postern (example.org, alice, bob) that delivers by
    MX through the test DNS server to delivery.port = mx_port, with short
    retries. delivery= adds keys to the delivery group. (Argument order:
    fixtures end in reverse, so the servers stop before the DNS server
    and the reserved mx_port is given back.)"""

    def factory(delivery="", extra="", retry='["1s", "2s"]', max_lifetime='"1m"', **kw):
        conf = (f'delivery = {{ port = {mx_port}; retry = {retry}; '
                f'max_lifetime = {max_lifetime}; {delivery} }};\n'
                f'dns = {{ servers = ["{dns.address}"]; }};\n{extra}')
        return make_postern(extra=conf, **kw)

    return factory


@pytest.fixture
def outbound(make_outbound):
    return make_outbound()
