"""Loopback peers for the outbound delivery tests (issue 4): a DNS server
with a zone given per test, programmable SMTP sinks (aiosmtpd), a real
milter (issue 6: tests/milter/testmilter.py on libmilter), and the
small helpers the tests share (waiting, `queue list` and log parsing, DSN
parsing). Everything listens on 127.0.0.0/8 only and runs in daemon
threads of the test process, so it ends with the test run at the latest.

Names live under `.example` (RFC 2606), never `.test`: libunbound serves
`test.` (and `invalid.`, `onion.`, `localhost`) itself as an empty local
zone, so a `.test` name never reaches a configured DNS server."""

import email
import email.policy
import ipaddress
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from dnslib import AAAA, A, DNSLabel, DNSRecord, MX, PTR, QTYPE, RCODE, RR, TXT


# ---- waiting ---------------------------------------------------------------

def wait_for(pred, timeout=10, what="condition", step=0.05):
    """Polls pred() until it returns something true; returns that value."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def stays(pred, duration=0.5, what="condition", step=0.05):
    """Asserts pred() holds for the whole duration (nothing more arrives)."""
    deadline = time.time() + duration
    while time.time() < deadline:
        assert pred(), what
        time.sleep(step)


# ---- ports -----------------------------------------------------------------
#
# Several pytest processes run at once: the xdist workers of one run, and
# other runs on the same machine. A port that is only free when it is chosen
# is not enough: Postern binds its listeners with SO_REUSEPORT, so a second
# server on a port that another one already serves starts without an error
# and the kernel splits the connections between the two. So every port a
# test uses is *reserved* for as long as the test needs it:
#
#  - it comes from a range below the kernel's ephemeral range
#    (ip_local_port_range), so no bind(port 0) and no outgoing connection
#    (clients, Postern's deliveries, other programs) can take it meanwhile;
#  - the reservation is an abstract Unix socket "postern-test-port-N" held by
#    the test process: one name per port for every harness process on the
#    machine, gone when the process exits (no stale lock after a crash);
#  - the port must be free when it is reserved (no listener on any address).

def _port_range():
    """[lo, hi): ports no one gets without asking for them by number."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo, eph_hi = map(int, f.read().split())
    except (OSError, ValueError):
        eph_lo, eph_hi = 32768, 60999
    if eph_lo - 1024 >= 4096:
        return max(1024, eph_lo - 16384), eph_lo
    return eph_hi + 1, 65536


PORT_RANGE = _port_range()


def port_is_free(port, host=None):
    """Nothing listens on port (on host, or on any address when host is
    None). SO_REUSEADDR: TIME_WAIT leftovers of an earlier server on the same
    port do not count (Postern and aiosmtpd set it too)."""
    host = host.strip("[]") if host else host
    fam = socket.AF_INET6 if host and ":" in host else socket.AF_INET
    addr = (host or "0.0.0.0", port)
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        return True
    except OSError:
        return False
    finally:
        s.close()


class PortReservation:
    """One port, reserved until release() (or the end of the process)."""

    def __init__(self, port, lock):
        self.port, self._lock = port, lock

    def release(self):
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __repr__(self):
        return f"PortReservation({self.port})"


def _try_reserve(port):
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind(f"\0postern-test-port-{port}")
    except OSError:
        lock.close()
        return None          # another harness process (or this one) has it
    if not port_is_free(port):
        lock.close()
        return None          # something outside the harness listens there
    return PortReservation(port, lock)


def reserve_ports(n=1):
    """n distinct reserved ports, free on every address."""
    lo, hi = PORT_RANGE
    rng = random.Random()   # own state: xdist workers must not draw alike
    got = []
    for _ in range(4000):
        r = _try_reserve(rng.randrange(lo, hi))
        if r is not None:
            got.append(r)
            if len(got) == n:
                return got
    for r in got:
        r.release()
    raise AssertionError(f"no {n} free ports in {lo}..{hi - 1}")


def reserve_port():
    return reserve_ports(1)[0]


# ---- DNS -------------------------------------------------------------------

def _loopback_only(rtype, value):
    ip = ipaddress.ip_address(value)
    if rtype == "A":
        assert ip in ipaddress.ip_network("127.0.0.0/8"), f"A {value} is off loopback"
    else:
        assert ip == ipaddress.ip_address("::1"), f"AAAA {value} is not ::1"


def _label(name):
    return DNSLabel(name.rstrip(".").lower() + ".")


class DnsServer:
    """Authoritative answers for a zone on 127.0.0.1, UDP and TCP on one
    port; never forwards. zone: {name: records}, where records is a list of
    ("MX", preference, host) | ("A", ip) | ("AAAA", "::1") | ("TXT", text)
    | ("PTR", host), or "SERVFAIL" (answered SERVFAIL) or "DROP" (never
    answered). Other names are NXDOMAIN; a known name without the asked type
    is NODATA. reverse_name("127.0.0.2") gives the PTR owner name.

    A and AAAA records must be loopback addresses, so that no test can send
    mail off the machine; with any_address=True (SPF, DNSBL and rDNS tests,
    where addresses are only compared, never connected to) any address is
    served.
    Every question is recorded in `queries` as (name, type) e.g.
    ("peer.example", "MX")."""

    def __init__(self, zone=None, ttl=1, default=None, any_address=False):
        self.ttl = ttl
        self.any_address = any_address
        self.default = default    # "SERVFAIL": the answer for unknown names
        self.zone = {}
        self.queries = []
        self.lock = threading.Lock()
        for name, records in (zone or {}).items():
            self.set(name, records)
        self.udp, self.tcp, self.port = self._bind()
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _bind():
        for _ in range(100):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind(("127.0.0.1", port))
                t.listen(16)
                return u, t, port
            except OSError:
                u.close()
                t.close()
        raise AssertionError("no UDP+TCP port for the DNS server")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def set(self, name, records):
        """Replaces the records of one name (takes effect at once; the TTL
        is short, so resolvers forget old answers within ttl seconds)."""
        if isinstance(records, str):
            assert records in ("SERVFAIL", "DROP", "NXDOMAIN"), records
        else:
            for r in records:
                if r[0] in ("A", "AAAA"):
                    if self.any_address:
                        ipaddress.ip_address(r[1])
                    else:
                        _loopback_only(r[0], r[1])
                else:
                    assert r[0] in ("MX", "TXT", "PTR"), r
        with self.lock:
            if records == "NXDOMAIN":
                self.zone.pop(_label(name), None)
            else:
                self.zone[_label(name)] = records

    def asked(self, name, qtype=None):
        """The questions asked about name (and of qtype when given)."""
        n = name.rstrip(".").lower()
        with self.lock:
            return [q for q in self.queries if q[0] == n and (qtype is None or q[1] == qtype)]

    def _rdata(self, r):
        kind = r[0]
        if kind == "MX":
            return QTYPE.MX, MX(r[2].rstrip(".") + "." if r[2] != "." else ".", r[1])
        if kind == "A":
            return QTYPE.A, A(r[1])
        if kind == "AAAA":
            return QTYPE.AAAA, AAAA(r[1])
        if kind == "PTR":
            return QTYPE.PTR, PTR(r[1].rstrip(".") + ".")
        text = r[1].encode() if isinstance(r[1], str) else r[1]
        return QTYPE.TXT, TXT([text[i:i + 255] for i in range(0, len(text), 255)])

    def answer(self, data):
        try:
            req = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage in, nothing out
            return None
        q = req.q
        with self.lock:
            self.queries.append((str(q.qname).rstrip(".").lower(), QTYPE.get(q.qtype)))
            records = self.zone.get(q.qname, self.default)
        reply = req.reply()
        if records == "DROP":
            return None
        if records == "SERVFAIL":
            reply.header.rcode = RCODE.SERVFAIL
        elif records is None:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            for r in records:
                rtype, rdata = self._rdata(r)
                if rtype == q.qtype:
                    reply.add_answer(RR(q.qname, rtype, rdata=rdata, ttl=self.ttl))
        return reply.pack()

    def _serve(self):
        while not self.stopping:
            try:
                ready, _, _ = select.select([self.udp, self.tcp], [], [], 0.2)
            except (OSError, ValueError):
                return
            for s in ready:
                try:
                    if s is self.udp:
                        data, peer = s.recvfrom(65535)
                        out = self.answer(data)
                        if out is not None:
                            s.sendto(out, peer)
                    else:
                        c, _ = s.accept()
                        threading.Thread(target=self._tcp_client, args=(c,), daemon=True).start()
                except OSError:
                    pass

    def _tcp_client(self, c):
        c.settimeout(3)
        try:
            while True:
                head = c.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                data = c.recv(n, socket.MSG_WAITALL)
                out = self.answer(data)
                if out is None:
                    return
                c.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.udp.close()
        self.tcp.close()


def reverse_name(ip):
    """The PTR owner name of an address: 2.0.0.127.in-addr.arpa, or the
    nibble form under ip6.arpa."""
    return ipaddress.ip_address(ip).reverse_pointer


def mx_zone(domain, *mxs):
    """Records for a domain with MX hosts: mx_zone("a.example",
    (10, "mx1.a.example", "127.0.0.3"), ...) -> {name: records}."""
    zone = {domain: [("MX", pref, host) for pref, host, _ in mxs]}
    for _, host, ip in mxs:
        zone.setdefault(host, []).append(("AAAA" if ":" in ip else "A", ip))
    return zone


# The zone every outbound test starts from. Sinks: 127.0.0.3 (peer.example),
# 127.0.0.4 (other.example), 127.0.0.5 (a second Postern), 127.0.0.6 (the MX
# of the outside senders' domains remote.example, spf.example and
# nospf.example: DSNs and auto-replies to them arrive there, and mail that
# went to the wrong domain's MX shows).
# 127.0.0.2 is the untrusted client address: nothing listens on it at
# delivery.port, so an MX there refuses connections.
SPF_PASS = "v=spf1 ip4:127.0.0.2 -all"
OUT_ZONE = {
    **mx_zone("peer.example", (10, "mx1.peer.example", "127.0.0.3")),
    **mx_zone("other.example", (10, "mx1.other.example", "127.0.0.4")),
    **mx_zone("remote.example", (10, "mx.remote.example", "127.0.0.6")),
    # Outside senders with and without an SPF record that passes 127.0.0.2.
    "spf.example": [("MX", 10, "mx.remote.example"), ("TXT", SPF_PASS)],
    "nospf.example": [("MX", 10, "mx.remote.example")],
    "nullmx.example": [("MX", 0, ".")],
    "implicit.example": [("A", "127.0.0.3")],
    "broken.example": "SERVFAIL",
    # MX records out of order: 10 is dead (127.0.0.2), 20 is the sink
    # 127.0.0.3, 30 is a second sink 127.0.0.4 that must not be used.
    "pref.example": [("MX", 30, "mxc.pref.example"), ("MX", 10, "mxa.pref.example"),
                     ("MX", 20, "mxb.pref.example")],
    "mxa.pref.example": [("A", "127.0.0.2")],
    "mxb.pref.example": [("A", "127.0.0.3")],
    "mxc.pref.example": [("A", "127.0.0.4")],
    **mx_zone("postern.example", (10, "mx.postern.example", "127.0.0.5")),
}


# ---- SMTP sink -------------------------------------------------------------

def make_cert(directory, cn="mx1.peer.example"):
    """A self-signed certificate and key (EC P-256) for a TLS peer."""
    cert, key = directory / "peer-cert.pem", directory / "peer-key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    return cert, key


class Received:
    """One DATA that the sink answered (accepted when the reply was 2xx)."""

    def __init__(self, conn, mail_from, rcpts, data, reply, tls, auth, helo, peer,
                 mail_options):
        self.conn = conn              # connection number (1, 2, ... per sink)
        self.mail_from = mail_from    # "" for <>
        self.rcpts = rcpts            # RCPTs the sink accepted in this transaction
        self.data = data              # bytes as received, CRLF, dot-unstuffed
        self.reply = reply
        self.tls = tls                # "TLSv1.3" or None
        self.auth = auth              # (mechanism, login) or None
        self.helo = helo
        self.peer = peer              # client IP
        self.mail_options = mail_options

    @property
    def accepted(self):
        return self.reply.startswith("2")

    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def __repr__(self):
        return (f"Received(conn={self.conn}, from={self.mail_from!r}, rcpts={self.rcpts}, "
                f"reply={self.reply!r}, tls={self.tls}, {len(self.data)} bytes)")


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    def _conn(self, server, session):
        """The connection's number (kept on the per-connection protocol
        object: aiosmtpd makes a new session after STARTTLS) and TLS."""
        if not hasattr(server, "sink_conn"):
            with self.sink.cond:
                self.sink.conns += 1
                server.sink_conn = self.sink.conns
        session.sink_conn = server.sink_conn
        obj = server.transport.get_extra_info("ssl_object") if server.transport else None
        session.sink_tls = obj.version() if obj is not None else None
        return server.sink_conn

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._conn(server, session)
        session.host_name = hostname
        with self.sink.cond:
            self.sink.ehlos.append((session.sink_conn, hostname, session.sink_tls))
        if self.sink.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self._conn(server, session)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._conn(server, session)
        reply = self.sink._next(self.sink.mail_replies, "250 2.1.0 OK")
        with self.sink.cond:
            self.sink.mails.append((session.sink_conn, "" if address == "<>" else address, reply))
        if reply.startswith("2"):
            envelope.mail_from = address  # "<>" stays truthy: aiosmtpd needs that
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        conn = self._conn(server, session)
        reply = self.sink.rcpt_reply(address)
        with self.sink.cond:
            self.sink.rcpts.append((conn, address, reply))
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply

    async def handle_DATA(self, server, session, envelope):
        conn = self._conn(server, session)
        reply = self.sink._next(self.sink.data_replies, "250 2.0.0 queued")
        auth = None
        if session.authenticated:
            auth = session.auth_data
        mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
        got = Received(conn, mail_from, list(envelope.rcpt_tos),
                       bytes(envelope.original_content), reply, session.sink_tls, auth,
                       session.host_name, session.peer[0], list(envelope.mail_options))
        with self.sink.cond:
            self.sink.transactions.append(got)
            self.sink.cond.notify_all()
        return reply


class SmtpSink:
    """An SMTP server on host:port that records everything.

    Replies are programmable: `script(rcpt, "451 4.3.0 later", "250 OK")`
    answers that recipient's RCPTs in order (the last one repeats);
    `default_rcpt` answers everyone else; `data_replies` / `mail_replies`
    are sequences for DATA / MAIL (empty: 250). tls=(cert, key) offers
    STARTTLS; auth=(user, password) offers AUTH PLAIN LOGIN after TLS and
    requires it. Advertises SIZE, 8BITMIME, SMTPUTF8 and (unless
    pipelining=False) PIPELINING."""

    def __init__(self, host, port, tls=None, auth=None, pipelining=True,
                 hostname="mx1.peer.example"):
        self.host, self.port = host, port
        self.tls_files, self.auth_pair = tls, auth
        self.pipelining = pipelining
        self.hostname = hostname
        self.cond = threading.Condition()
        self.scripts = {}
        self.default_rcpt = "250 2.1.5 OK"
        self.data_replies = []
        self.mail_replies = []
        self.transactions = []   # every DATA, accepted or not
        self.rcpts = []          # (conn, address, reply) for every RCPT
        self.mails = []          # (conn, sender, reply)
        self.ehlos = []          # (conn, name, tls)
        self.auths = []          # (mechanism, login, ok)
        self.conns = 0
        self.controller = None

    # -- programming ---------------------------------------------------------
    def script(self, rcpt, *replies):
        with self.cond:
            self.scripts[rcpt.lower()] = list(replies)

    def rcpt_reply(self, address):
        with self.cond:
            seq = self.scripts.get(address.lower())
            if not seq:
                return self.default_rcpt
            return seq.pop(0) if len(seq) > 1 else seq[0]

    def _next(self, seq, default):
        with self.cond:
            if not seq:
                return default
            return seq.pop(0) if len(seq) > 1 else seq[0]

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = False
        login = None
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            ok = (login, auth_data.password.decode()) == self.auth_pair
        with self.cond:
            self.auths.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=(mechanism, login))

    # -- life ----------------------------------------------------------------
    def start(self):
        assert self.controller is None
        kw = {}
        if self.tls_files:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*map(str, self.tls_files))
            kw["tls_context"] = ctx
        if self.auth_pair:
            kw.update(authenticator=self._authenticate, auth_required=True,
                      auth_require_tls=True)
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                     server_hostname=self.hostname, ready_timeout=10,
                                     enable_SMTPUTF8=True, **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # -- observation ---------------------------------------------------------
    @property
    def messages(self):
        """Accepted transactions, in arrival order."""
        with self.cond:
            return [t for t in self.transactions if t.accepted]

    def wait(self, n=1, timeout=10, pred=None):
        """Waits for n accepted transactions (matching pred); returns them."""
        def have():
            got = [t for t in self.messages if pred is None or pred(t)]
            return got if len(got) >= n else None
        return wait_for(have, timeout, f"{n} message(s) at sink {self.host}:{self.port} "
                        f"(has {self.messages}, rcpts {self.rcpts})")

    def from_null(self):
        """Accepted transactions from the null sender (DSNs, auto-replies)."""
        return [t for t in self.messages if t.mail_from == ""]

    def rcpt_count(self, address):
        with self.cond:
            return sum(1 for _, a, _ in self.rcpts if a.lower() == address.lower())


# ---- postern observation ---------------------------------------------------

_QLINE = re.compile(r'^\s+(\S+) (\w+) attempts=(\d+) next=(\S+) reply="(.*)"\s*$')


def queue_list(p):
    """`postern queue list` as {queue_id: {rcpt: {state, attempts, next, reply}}}."""
    out = p.cli("queue", "list").stdout
    q, cur = {}, None
    for line in out.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            cur = line.split()[0]
            q[cur] = {}
            continue
        m = _QLINE.match(line)
        assert m and cur, f"unexpected queue list line {line!r} in:\n{out}"
        q[cur][m.group(1).lower()] = {"state": m.group(2), "attempts": int(m.group(3)),
                                      "next": m.group(4), "reply": m.group(5)}
    return q


def rcpt_state(p, qid, rcpt):
    return queue_list(p).get(qid, {}).get(rcpt.lower())


def recorded(p, qid, rcpts, attempts=1, timeout=10):
    """queue_list(p)[qid] once the queue file holds attempt number
    `attempts` of every one of rcpts. The event=delivery log line of an
    attempt comes first: the qmgr records the new states when every
    attempt of the message has reported (and its DSNs are queued), on a
    pool thread: a moment later, longer on a loaded machine. For a message
    that stays queued (a retired one leaves the list)."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]

    def got():
        q = queue_list(p).get(qid)
        if q and all(q.get(r.lower(), {}).get("attempts", 0) >= attempts for r in rcpts):
            return q
        return None
    return wait_for(got, timeout, f"attempt {attempts} of {rcpts} recorded in {qid}; queue list:\n"
                    + p.cli("queue", "list").stdout)


_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line):
    """A log line's key=value pairs (quoted values unquoted); repeated
    keys keep their first value, all values are in fields['_all'][key]."""
    out, every = {}, {}
    for k, v in _KV.findall(line):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out.setdefault(k, v)
        every.setdefault(k, []).append(v)
    out["_all"] = every
    return out


def _addr(v):
    return v.strip("<>").lower()


def deliveries(p, rcpt=None, status=None, qid=None):
    """Parsed `event=delivery` log lines, filtered."""
    got = []
    for line in p.log_lines():
        if "event=delivery" not in line:
            continue
        f = log_fields(line)
        if f.get("event") != "delivery":
            continue
        if rcpt is not None and _addr(f.get("rcpt", "")) != rcpt.lower():
            continue
        if status is not None and f.get("status") != status:
            continue
        if qid is not None and f.get("queue_id") != qid:
            continue
        f["_line"] = line
        got.append(f)
    return got


def wait_delivery(p, rcpt, status, n=1, timeout=10, qid=None):
    """Waits for n delivery log lines for rcpt with that status."""
    return wait_for(lambda: (lambda d: d if len(d) >= n else None)(
        deliveries(p, rcpt, status, qid)), timeout,
        f"{n} event=delivery rcpt={rcpt} status={status} in the log; delivery lines: "
        + repr([d['_line'] for d in deliveries(p)][-6:]))


def wait_queue_empty(p, timeout=10):
    wait_for(lambda: not p.queue_ids(), timeout,
             "an empty queue; queue list:\n" + p.cli("queue", "list").stdout)


# ---- DSN -------------------------------------------------------------------

def parse_dsn(raw):
    """Checks the RFC 3464 shape of a DSN and returns (message, per-message
    fields, [per-recipient fields], original headers as text)."""
    if isinstance(raw, str):
        raw = raw.encode()
    msg = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg.get("Content-Type")
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2, parts
    assert parts[0].get_content_maintype() == "text", parts[0].get_content_type()
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    assert len(status) == 1, [p.get_content_type() for p in parts]
    blocks = status[0].get_payload()
    if isinstance(blocks, str):  # a parser that kept it as text
        blocks = [email.message_from_string(b.strip() + "\n")
                  for b in re.split(r"\n\s*\n", blocks.strip())]
    assert len(blocks) >= 2, blocks
    per_msg, per_rcpt = blocks[0], blocks[1:]
    headers = [p for p in parts if p.get_content_type() == "text/rfc822-headers"]
    assert headers, "no text/rfc822-headers part: " + repr([p.get_content_type() for p in parts])
    original = headers[0].get_payload(decode=True).decode("utf-8", "replace")
    return msg, per_msg, per_rcpt, original


def header_block(raw):
    if isinstance(raw, str):
        raw = raw.encode()
    raw = raw.replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[0].decode("utf-8", "replace")


# ---- sending into postern ----------------------------------------------------

def mail_text(subject="hello", sender="alice@example.org", to="someone@peer.example",
              body="Hello.\r\n", headers=""):
    """A message as text; headers: extra header lines, each ending CRLF."""
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{time.time_ns()}@{sender.split('@')[-1] or 'x'}>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n{headers}\r\n{body}")


def _transaction(c, sender, rcpts, msg, mail_options=()):
    code, text = c.mail(sender, list(mail_options))
    assert code == 250, (sender, code, text)
    for r in rcpts:
        code, text = c.rcpt(r)
        assert code == 250, (r, code, text)
    code, text = c.data(msg)
    assert code == 250, text
    c.quit()
    return text.decode().rsplit(" ", 1)[-1]


def submit(p, rcpts, msg=None, sender="alice@example.org", mail_options=()):
    """An authenticated submission (STARTTLS + AUTH as sender); the queue id."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    c = p.submission(user=sender)
    return _transaction(c, sender, rcpts, msg or mail_text(sender=sender, to=rcpts[0]),
                        mail_options)


def send_smtp(p, rcpts, sender, source="127.0.0.2", msg=None, mail_options=()):
    """A transaction on the smtp listener from source (127.0.0.1 is trusted
    and may relay, 127.0.0.2 is an outside client); the queue id."""
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    c = p.smtp(source=source)
    c.ehlo("client.remote.example")
    return _transaction(c, sender, rcpts, msg or mail_text(sender=sender or "x@remote.example",
                                                           to=rcpts[0]), mail_options)


# ---- a real milter ---------------------------------------------------------

MILTER_SCRIPT = Path(__file__).resolve().parents[1] / "milter" / "testmilter.py"


class TestMilter:
    """tests/milter/testmilter.py, a milter on the real libmilter (Debian's
    python3-milter), in a process of its own under `timeout`: what it does
    depends on the Subject (its docstring). Listens on a reserved port of
    127.0.0.1 (held from construction to stop(), so the address can be
    configured before the milter starts, or while it is down), or on a unix
    socket at `path`. `address` is Postern's form ("inet:127.0.0.1:PORT",
    "unix:/path"); log_lines() is what the milter saw, one callback a line."""

    __test__ = False    # not a pytest test class

    def __init__(self, tmp, path=None):
        self.tmp = Path(tmp)
        self.log = self.tmp / "milter.log"
        self.path = Path(path) if path else None
        self._port = None
        self.proc = None
        if self.path:
            self.address = f"unix:{self.path}"
            self.spec = f"unix:{self.path}"
        else:
            self._port = reserve_port()
            self.port = self._port.port
            self.address = f"inet:127.0.0.1:{self.port}"
            self.spec = f"inet:{self.port}@127.0.0.1"

    def start(self, timeout=15):
        """Starts the milter and waits until it accepts connections."""
        assert self.proc is None
        self.proc = subprocess.Popen(
            ["timeout", "-s", "TERM", "900", "/usr/bin/python3", str(MILTER_SCRIPT),
             self.spec, str(self.log)],
            stdout=subprocess.PIPE, stderr=open(self.tmp / "milter.stderr", "ab"),
            start_new_session=True)
        deadline = time.time() + timeout
        ready = False
        while not ready and time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("testmilter.py exited: " +
                                     (self.tmp / "milter.stderr").read_text())
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            ready = bool(r) and self.proc.stdout.readline().strip() == b"ready"
        wait_for(self._listening, timeout=max(1, deadline - time.time()),
                 what="the milter to listen")
        return self

    def _listening(self):
        fam = socket.AF_UNIX if self.path else socket.AF_INET
        addr = str(self.path) if self.path else ("127.0.0.1", self.port)
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            try:
                s.connect(addr)
                return True
            except OSError:
                return False

    def stop(self):
        """Stops the milter (the reserved port stays held until release())."""
        if self.proc is None:
            return
        # SIGKILL: libmilter takes about 5 s to leave smfi_main() on
        # SIGTERM, and this test peer has nothing to save.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
        self.proc.stdout.close()
        self.proc = None

    def release(self):
        self.stop()
        if self._port is not None:
            self._port.release()
            self._port = None

    def log_lines(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def wait_log(self, needle, timeout=10):
        return wait_for(lambda: next((l for l in self.log_lines() if needle in l), None),
                        timeout=timeout, what=f"milter log {needle!r}")


# ---- clamd -------------------------------------------------------------------
#
# A real ClamAV daemon (Debian's clamav-daemon, /usr/sbin/clamd) for the
# antivirus tests, with a signature database the test writes itself: one
# body signature (.ndb) for the EICAR test string. Nothing is downloaded:
# clamd starts with any one supported database file and needs no
# daily.cvd or main.cvd (it refuses an empty database directory, "No
# supported database files found"). With this one signature it answers
# PING about 0.02 s after it is started (ClamAV 1.4, 2 cores).

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_SIGNATURE = "Eicar-Test-Signature"
CLAMD_BIN = "/usr/sbin/clamd"
UNIX_PATH_MAX = 107   # sun_path, without its NUL


class Clamd:
    """clamd on 127.0.0.1:port (reserved, peers.reserve_port) and on a unix
    socket, for one test. Its configuration, database, temporary files,
    log and pid file live in directory/clamd; the unix socket too when
    the path fits in sun_path, else in a fresh directory under /tmp made
    for it (mkdtemp: no other test can have its name) and removed at
    stop. stream_max: StreamMaxLength, the size over which clamd refuses
    a stream ("INSTREAM size limit exceeded. ERROR").

    Runs as the test's user: as root, without a User line, clamd keeps
    root, which is fine for a daemon on loopback in a test. Started under
    `timeout`, so it ends even if the test run is killed."""

    def __init__(self, directory, stream_max="10M"):
        self.dir = directory / "clamd"
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        (self.dir / "tmp").mkdir(exist_ok=True)
        self.stream_max = stream_max
        self._port = reserve_port()
        self.port = self._port.port
        self._sockdir = None
        sock = self.dir / "clamd.sock"
        if len(str(sock)) > UNIX_PATH_MAX - 8:
            self._sockdir = tempfile.mkdtemp(prefix="postern-clamd-")
            sock = Path(self._sockdir) / "clamd.sock"
        self.socket = sock
        self.log = self.dir / "clamd.log"
        self.conf = self.dir / "clamd.conf"
        self.proc = None
        self.started_in = None     # seconds from exec to the first PONG
        self.write_database()

    @property
    def inet(self):
        return f"inet:127.0.0.1:{self.port}"

    @property
    def unix(self):
        return f"unix:{self.socket}"

    def write_database(self):
        (self.dir / "db" / "test.ndb").write_text(
            f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")

    def write_config(self):
        self.conf.write_text(f"""Foreground yes
TCPSocket {self.port}
TCPAddr 127.0.0.1
LocalSocket {self.socket}
LocalSocketMode 660
DatabaseDirectory {self.dir / "db"}
TemporaryDirectory {self.dir / "tmp"}
LogFile {self.log}
LogTime yes
PidFile {self.dir / "clamd.pid"}
StreamMaxLength {self.stream_max}
MaxThreads 4
SelfCheck 3600
""")

    def start(self, timeout=30):
        assert self.proc is None
        self.write_config()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["timeout", "-s", "TERM", "900", CLAMD_BIN, "-c",
                                      str(self.conf)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "stderr.log", "ab"),
                                     start_new_session=True)

        def pong():
            if self.proc.poll() is not None:
                raise AssertionError("clamd exited: " + (self.dir / "stderr.log").read_text()
                                     + (self.log.read_text() if self.log.exists() else ""))
            return self.ping()
        wait_for(pong, timeout, "clamd to answer PING")
        self.started_in = time.monotonic() - t0
        return self

    def _talk(self, request, unix=False, timeout=10):
        fam = socket.AF_UNIX if unix else socket.AF_INET
        addr = str(self.socket) if unix else ("127.0.0.1", self.port)
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(addr)
            s.sendall(request)
            out = b""
            while not out.endswith(b"\0"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        return out.rstrip(b"\0").decode("utf-8", "replace")

    def ping(self):
        try:
            return self._talk(b"zPING\0", timeout=1) == "PONG"
        except OSError:
            return False

    def scan(self, data, unix=False):
        """clamd's answer to INSTREAM of data, e.g. "stream: OK"."""
        body = b"".join(struct.pack("!I", len(data[i:i + 65536])) + data[i:i + 65536]
                        for i in range(0, len(data), 65536))
        return self._talk(b"zINSTREAM\0" + body + b"\0\0\0\0", unix=unix)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.proc = None

    def release(self):
        """After stop(): the port and the unix socket's directory go."""
        self.stop()
        self._port.release()
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
