"""POP3 (issue 7, docs/pop3.md "Session"): RFC 1939 with CAPA, UIDL, TOP,
STLS and AUTH PLAIN, over STLS and pop3s, driven by Python poplib, a raw
socket for the malformed dialogues, curl and fetchmail. Logins share the
accounts and the per-IP ban with SMTP AUTH, are logged, and open the
smtp_after_pop window."""

import base64
import os
import poplib
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import PASSWORD, client_tls, message

ALICE = "alice@example.org"
BOB = "bob@example.org"


# ---- helpers -----------------------------------------------------------------

@pytest.fixture
def make_pop3(make_postern):
    """make_pop3(extra=...) -> a started Postern with pop3 and pop3s
    listeners (p.pop3_port, p.pop3s_port)."""
    def factory(extra="", **kw):
        return make_postern(extra=extra, mailbox=True, **kw)
    return factory


@pytest.fixture
def pop3srv(make_pop3):
    return make_pop3()


def deliver(p, to=BOB, subject="hello", body="Hello Bob.\r\n", n_before=None):
    """Sends one message over SMTP and waits until it is in the Maildir."""
    before = len(p.messages(to)) if n_before is None else n_before
    with p.smtp() as c:
        c.sendmail(ALICE, [to], message(subject=subject, to=to, body=body).encode())
    p.wait_messages(to, before + 1)


def stls_client(p, login=True, user=BOB, password=PASSWORD):
    c = poplib.POP3("127.0.0.1", p.pop3_port, timeout=15)
    c.stls(context=client_tls())
    if login:
        c.user(user)
        c.pass_(password)
    return c


def pop3s_client(p, login=True, user=BOB, password=PASSWORD):
    c = poplib.POP3_SSL("127.0.0.1", p.pop3s_port, timeout=15, context=client_tls())
    if login:
        c.user(user)
        c.pass_(password)
    return c


CLIENTS = {"stls": stls_client, "pop3s": pop3s_client}


def err_text(excinfo):
    e = excinfo.value
    return (e.args[0] if e.args else b"").decode("utf-8", "replace")


class RawPop3:
    """Exact bytes over a plain socket (optionally upgraded to TLS)."""

    def __init__(self, port, tls=False, source="127.0.0.1", greeting=True):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=15,
                                          source_address=(source, 0))
        if tls:
            self.s = client_tls().wrap_socket(self.s)
        self.buf = b""
        self.pos = 0
        self.greeting = self.line() if greeting else None

    def send(self, data: bytes):
        self.s.sendall(data)

    def pending(self):
        """Bytes received and not read as lines yet."""
        return self.buf[self.pos:]

    def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                break
            self.buf, self.pos = self.buf[self.pos:], 0
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed; pending " + repr(self.buf))
            self.buf += chunk
        line, self.pos = self.buf[self.pos:i], i + 2
        return line.decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line response up to ".", unstuffed."""
        out = []
        while True:
            l = self.line()
            if l == ".":
                return out
            out.append(l[1:] if l.startswith("..") else l)

    def stls(self):
        r = self.cmd("STLS")
        assert r.startswith("+OK"), r
        assert self.pending() == b""
        self.s = client_tls().wrap_socket(self.s)

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                data = self.s.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def plain(user, password, authz=""):
    return base64.b64encode(f"{authz}\0{user}\0{password}".encode()).decode()


# ---- greeting and CAPA -------------------------------------------------------

def test_greeting_names_host_not_software(pop3srv):
    r = RawPop3(pop3srv.pop3_port)
    assert r.greeting == "+OK mx.example.org POP3 ready"
    assert "<" not in r.greeting     # no APOP timestamp
    r.close()


def test_capa_before_and_after_stls(pop3srv):
    c = poplib.POP3("127.0.0.1", pop3srv.pop3_port, timeout=15)
    caps = c.capa()
    for k in ("STLS", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert k in caps, caps
    assert "USER" not in caps and "SASL" not in caps and "IMPLEMENTATION" not in caps
    c.stls(context=client_tls())
    caps = c.capa()
    assert "STLS" not in caps
    assert "USER" in caps and caps.get("SASL") == ["PLAIN"], caps
    for k in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
        assert k in caps
    c.quit()


def test_capa_on_pop3s(pop3srv):
    c = pop3s_client(pop3srv, login=False)
    caps = c.capa()
    assert "STLS" not in caps and "USER" in caps and caps.get("SASL") == ["PLAIN"]
    c.quit()


# ---- no login before TLS -----------------------------------------------------

def test_user_pass_and_auth_refused_before_tls(pop3srv):
    r = RawPop3(pop3srv.pop3_port)
    assert r.cmd("USER bob@example.org").startswith("-ERR [AUTH] TLS required")
    assert r.cmd("PASS " + PASSWORD).startswith("-ERR [AUTH] TLS required")
    assert r.cmd("AUTH PLAIN " + plain(BOB, PASSWORD)).startswith("-ERR [AUTH] TLS required")
    assert r.cmd("AUTH PLAIN").startswith("-ERR [AUTH] TLS required")
    assert r.cmd("STAT").startswith("-ERR")
    r.close()
    # None of it reached the directory: no login line at all.
    time.sleep(0.3)
    assert not any("event=login" in l for l in pop3srv.log_lines())


def test_poplib_login_before_tls_raises(pop3srv):
    c = poplib.POP3("127.0.0.1", pop3srv.pop3_port, timeout=15)
    with pytest.raises(poplib.error_proto) as e:
        c.user(BOB)
    assert "TLS" in err_text(e)
    c.quit()


def test_commands_pipelined_after_stls_are_not_executed(pop3srv):
    r = RawPop3(pop3srv.pop3_port)
    r.send(b"STLS\r\nQUIT\r\nCAPA\r\n")
    assert r.line().startswith("+OK")
    assert r.pending() == b"", r.pending()
    r.s = client_tls().wrap_socket(r.s)
    # The injected QUIT did not close us, the injected CAPA sent nothing:
    # the first reply over TLS answers the first command sent over TLS.
    assert r.cmd("USER bob@example.org") == "+OK send PASS"
    assert r.cmd("PASS " + PASSWORD).startswith("+OK maildrop has")
    assert r.cmd("QUIT").startswith("+OK")
    pop3srv.wait_log("event=starttls_injection")


def test_user_is_forgotten_after_stls(pop3srv):
    """USER before TLS is refused anyway; and PASS right after STLS has no
    USER to go with."""
    r = RawPop3(pop3srv.pop3_port)
    r.stls()
    assert r.cmd("PASS " + PASSWORD) == "-ERR send USER first"
    r.close()


# ---- logins ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["stls", "pop3s"])
def test_login_and_stat(pop3srv, kind):
    deliver(pop3srv)
    c = CLIENTS[kind](pop3srv)
    n, size = c.stat()
    assert n == 1 and size > 0
    c.quit()
    line = pop3srv.wait_log("event=login")
    assert "ip=127.0.0.1" in line and "user=bob@example.org" in line and "result=ok" in line
    assert "service=pop3" in line


def test_wrong_password_is_auth_error_and_logged(pop3srv):
    c = stls_client(pop3srv, login=False)
    c.user(BOB)
    with pytest.raises(poplib.error_proto) as e:
        c.pass_("wrong password 1234")
    assert err_text(e).startswith("-ERR [AUTH]")
    # After a failure the client starts again at USER.
    c.user(BOB)
    assert c.pass_(PASSWORD).startswith(b"+OK")
    c.quit()
    lines = [l for l in pop3srv.log_lines() if "event=login" in l]
    assert any("result=fail" in l and "user=bob@example.org" in l and "ip=127.0.0.1" in l
               for l in lines), lines
    assert any("result=ok" in l for l in lines)
    text = pop3srv.log.read_text()
    assert "wrong password 1234" not in text and PASSWORD not in text


def test_pass_without_user(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("PASS x") == "-ERR send USER first"
    r.close()


def test_auth_plain_initial_response(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("AUTH PLAIN " + plain(BOB, PASSWORD)).startswith("+OK maildrop has")
    assert r.cmd("QUIT").startswith("+OK")


def test_auth_plain_continuation_and_cancel(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd("*").startswith("-ERR")
    assert r.cmd("AUTH plain") == "+ "
    assert r.cmd(plain(BOB, "nope")).startswith("-ERR [AUTH]")
    assert r.cmd("AUTH PLAIN") == "+ "
    assert r.cmd(plain(BOB, PASSWORD)).startswith("+OK maildrop has")
    assert r.cmd("STAT").startswith("+OK 0 0")


def test_auth_plain_other_authzid_refused(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("AUTH PLAIN " + plain(BOB, PASSWORD, authz=ALICE)).startswith("-ERR [AUTH]")
    assert r.cmd("AUTH PLAIN " + plain(BOB, PASSWORD, authz=BOB)).startswith("+OK")


def test_auth_mechanism_list_and_unknown(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("AUTH").startswith("+OK")
    assert r.multi() == ["PLAIN"]
    assert r.cmd("AUTH LOGIN").startswith("-ERR")
    assert r.cmd("AUTH CRAM-MD5").startswith("-ERR")
    assert r.cmd("AUTH PLAIN !!!").startswith("-ERR")      # not base64
    assert r.cmd("AUTH PLAIN =").startswith("-ERR [AUTH]")  # empty response


def test_apop_is_unknown(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("APOP bob@example.org 0123456789abcdef0123456789abcdef") == "-ERR unknown command"


def test_failures_shared_with_smtp_auth_ban_the_ip(make_pop3):
    p = make_pop3(extra='auth = { failures_before_ban = 3; failure_window = "10m"; ban_time = "1h"; };')
    c = p.submission(login=False)
    code, _ = c.docmd("AUTH", "PLAIN " + plain(ALICE, "wrong"))
    assert code == 535
    c.close()
    r = RawPop3(p.pop3s_port, tls=True)
    assert r.cmd("USER alice@example.org").startswith("+OK")
    assert r.cmd("PASS wrong").startswith("-ERR [AUTH]")
    assert r.cmd("AUTH PLAIN " + plain(ALICE, "wrong")) == "-ERR [SYS/PERM] too many failed logins"
    assert r.closed()
    line = p.wait_log("event=ban")
    assert "ip=127.0.0.1" in line
    # Banned everywhere: closed before any greeting, good password or not.
    for port in (p.pop3_port, p.pop3s_port, p.smtp_port, p.submission_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(5)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        s.close()


# ---- TRANSACTION ---------------------------------------------------------------

def deliver_three(p):
    deliver(p, subject="one", body="First.\r\n")
    deliver(p, subject="two", body="Second line.\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n")
    deliver(p, subject="three", body="".join(f"line {i}\r\n" for i in range(50)))


@pytest.mark.parametrize("kind", ["stls", "pop3s"])
def test_stat_list_uidl_top_retr(pop3srv, kind):
    deliver_three(pop3srv)
    c = CLIENTS[kind](pop3srv)
    n, total = c.stat()
    assert n == 3
    resp, lines, _ = c.list()
    assert resp.startswith(b"+OK 3 messages")
    sizes = {int(a): int(b) for a, b in (l.split() for l in lines)}
    assert sorted(sizes) == [1, 2, 3] and sum(sizes.values()) == total
    assert c.list(2) == b"+OK 2 %d" % sizes[2]
    resp, uidls, _ = c.uidl()
    uids = dict(l.decode().split() for l in uidls)
    assert sorted(uids) == ["1", "2", "3"]
    for u in uids.values():
        assert re.fullmatch(r"[0-9a-f]{16}", u), u
    assert len(set(uids.values())) == 3
    assert c.uidl(3).decode() == "+OK 3 " + uids["3"]
    # RETR: the octet count is the CRLF size LIST gave, dot-stuffing
    # round-trips.
    for i in (1, 2, 3):
        resp, lines, octets = c.retr(i)
        assert resp == b"+OK %d octets" % sizes[i]
        assert octets == sizes[i]
    resp, lines, _ = c.retr(2)
    body = lines[lines.index(b"") + 1:]
    assert body == [b"Second line.", b".starts with a dot", b"..two dots", b".", b"end"]
    assert b"Subject: two" in lines
    # TOP: the header, the blank line, n lines of the body.
    resp, lines, _ = c.top(3, 2)
    assert resp.startswith(b"+OK")
    i = lines.index(b"")
    assert b"Subject: three" in lines[:i]
    assert lines[i + 1:] == [b"line 0", b"line 1"]
    resp, lines, _ = c.top(3, 0)
    assert lines[-1] == b"" and b"line 0" not in lines
    resp, lines, _ = c.top(2, 100)
    assert lines[lines.index(b"") + 1:] == body
    c.quit()


def test_dele_rset_quit_and_persistence(pop3srv):
    deliver_three(pop3srv)
    c = stls_client(pop3srv)
    uids = dict(l.decode().split() for l in c.uidl()[1])
    n, total = c.stat()
    size2 = int(c.list(2).split()[2])
    assert c.dele(2) == b"+OK message 2 deleted"
    assert c.stat() == (2, total - size2)
    for call in (lambda: c.retr(2), lambda: c.top(2, 0), lambda: c.list(2),
                 lambda: c.uidl(2), lambda: c.dele(2)):
        with pytest.raises(poplib.error_proto) as e:
            call()
        assert err_text(e) == "-ERR message 2 already deleted"
    assert [l.split()[0] for l in c.list()[1]] == [b"1", b"3"]
    assert [l.split()[0] for l in c.uidl()[1]] == [b"1", b"3"]
    with pytest.raises(poplib.error_proto) as e:
        c.retr(4)
    assert err_text(e) == "-ERR no such message"
    # RSET unmarks, then mark again and QUIT.
    assert c.rset().startswith(b"+OK")
    assert c.stat() == (3, total)
    c.dele(1)
    c.dele(3)
    assert c.quit().startswith(b"+OK")
    # A new session: only message 2 is left, with the UIDL it had.
    c = stls_client(pop3srv)
    assert c.stat()[0] == 1
    assert [l.decode().split()[1] for l in c.uidl()[1]] == [uids["2"]]
    c.quit()
    assert len(pop3srv.messages(BOB)) == 1


def test_dropped_connection_deletes_nothing(pop3srv):
    deliver_three(pop3srv)
    c = stls_client(pop3srv)
    c.dele(1)
    c.dele(2)
    c.close()               # no QUIT: the connection just ends
    # The lock goes with the session; then everything is still there.
    deadline = time.time() + 10
    while True:
        try:
            c = stls_client(pop3srv)
            break
        except poplib.error_proto as e:
            assert b"IN-USE" in e.args[0] and time.time() < deadline
            time.sleep(0.1)
    assert c.stat()[0] == 3
    c.quit()
    assert len(pop3srv.messages(BOB)) == 3


def test_second_session_gets_in_use(pop3srv):
    deliver(pop3srv)
    c1 = stls_client(pop3srv)
    c2 = pop3s_client(pop3srv, login=False)
    c2.user(BOB)
    with pytest.raises(poplib.error_proto) as e:
        c2.pass_(PASSWORD)
    assert err_text(e) == "-ERR [IN-USE] mailbox in use by another session"
    # Still in AUTHORIZATION: may try again once the first one is gone.
    c1.quit()
    c2.user(BOB)
    assert c2.pass_(PASSWORD).startswith(b"+OK")
    c2.quit()


def test_uidl_stable_across_restart(pop3srv):
    deliver_three(pop3srv)
    c = stls_client(pop3srv)
    before = c.uidl()[1]
    c.quit()
    pop3srv.stop()
    pop3srv.start()
    c = pop3s_client(pop3srv)
    assert c.uidl()[1] == before
    c.quit()


def test_new_mail_during_session_is_not_seen_until_next(pop3srv):
    deliver(pop3srv)
    c = stls_client(pop3srv)
    deliver(pop3srv, subject="later")
    assert c.stat()[0] == 1      # RFC 1939: the maildrop is fixed at login
    c.quit()
    c = stls_client(pop3srv)
    assert c.stat()[0] == 2
    c.quit()


def test_message_removed_by_someone_else(pop3srv):
    """A message that goes during the session (an IMAP EXPUNGE, a tool):
    RETR says so, the session goes on, QUIT still works."""
    deliver(pop3srv, subject="one")
    deliver(pop3srv, subject="two")
    c = stls_client(pop3srv)
    assert c.stat()[0] == 2
    files = sorted(pop3srv.maildir(BOB, "cur").iterdir())
    assert len(files) == 2
    victim = [f for f in files if b"Subject: one" in f.read_bytes()][0]
    victim.unlink()
    errs = 0
    for i in (1, 2):
        try:
            c.retr(i)
        except poplib.error_proto as e:
            assert e.args[0] == b"-ERR message %d no longer exists" % i
            errs += 1
    assert errs == 1
    c.dele(1)
    c.dele(2)
    assert c.quit().startswith(b"+OK")
    assert pop3srv.messages(BOB) == []


def test_commands_in_wrong_state(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("STAT") == "-ERR command not valid in this state"
    assert r.cmd("NOOP") == "-ERR command not valid in this state"
    assert r.cmd("USER bob@example.org").startswith("+OK")
    assert r.cmd("PASS " + PASSWORD).startswith("+OK")
    assert r.cmd("USER bob@example.org") == "-ERR command not valid in this state"
    assert r.cmd("STLS") == "-ERR command not valid in this state"
    assert r.cmd("NOOP") == "+OK"
    assert r.cmd("RETR") == "-ERR syntax: RETR msg"
    assert r.cmd("XYZZY") == "-ERR unknown command"
    assert r.cmd("QUIT").startswith("+OK")


def test_pipelined_commands_run_in_order(pop3srv):
    deliver_three(pop3srv)
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    r.send(b"USER bob@example.org\r\nPASS " + PASSWORD.encode() +
           b"\r\nSTAT\r\nRETR 1\r\nLIST\r\nDELE 1\r\nSTAT\r\nQUIT\r\n")
    assert r.line() == "+OK send PASS"
    assert r.line().startswith("+OK maildrop has 3 messages")
    assert r.line().startswith("+OK 3 ")
    assert r.line().endswith(" octets")
    body = r.multi()
    assert "Subject: one" in body
    assert r.line().startswith("+OK 3 messages")
    assert len(r.multi()) == 3
    assert r.line() == "+OK message 1 deleted"
    assert r.line().startswith("+OK 2 ")
    assert r.line().startswith("+OK")
    assert r.closed()
    assert len(pop3srv.messages(BOB)) == 2


# ---- limits and malformed input -------------------------------------------------

def test_long_line_is_refused_and_session_goes_on(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("USER " + "x" * 400) == "-ERR line too long"
    assert r.cmd("CAPA").startswith("+OK")
    r.multi()
    assert r.cmd("USER " + "x" * 248) == "+OK send PASS"   # 255 with CRLF
    assert r.cmd("USER " + "x" * 249) == "-ERR line too long"


def test_bare_lf_closes(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    r.send(b"CAPA\n")
    assert r.line().startswith("-ERR")
    assert r.closed()


def test_too_many_errors_close(pop3srv):
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    for _ in range(9):
        assert r.cmd("BOGUS") == "-ERR unknown command"
    assert r.cmd("BOGUS") == "-ERR too many errors, closing"
    assert r.closed()


def test_big_message_streamed_intact(pop3srv):
    line = "".join(chr(33 + i % 90) for i in range(76)) + "\r\n"
    body = line * (3 * 1024 * 1024 // len(line)) + ".dot line\r\nlast\r\n"
    deliver(pop3srv, subject="big", body=body)
    c = stls_client(pop3srv)
    resp, lines, octets = c.retr(1)
    assert resp == b"+OK %d octets" % octets
    got = b"\r\n".join(lines[lines.index(b"") + 1:]) + b"\r\n"
    assert got == body.encode()
    c.quit()


def test_drop_in_the_middle_of_retr(pop3srv):
    """The client goes while a big RETR streams: the session ends cleanly,
    releases the maildrop, deletes nothing."""
    body = ("z" * 998 + "\r\n") * 3072
    deliver(pop3srv, subject="big", body=body)
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("USER bob@example.org").startswith("+OK")
    assert r.cmd("PASS " + PASSWORD).startswith("+OK")
    assert r.cmd("DELE 1").startswith("+OK")
    r.send(b"RSET\r\nRETR 1\r\nQUIT\r\n")
    assert r.line().startswith("+OK maildrop")
    assert r.line().endswith(" octets")
    r.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    r.close()                # RST, with most of the message unsent
    deadline = time.time() + 10
    while True:
        try:
            c = stls_client(pop3srv)
            break
        except poplib.error_proto as e:
            assert b"IN-USE" in e.args[0] and time.time() < deadline
            time.sleep(0.1)
    resp, lines, octets = c.retr(1)
    assert len(lines) > 3072
    c.quit()
    assert len(pop3srv.messages(BOB)) == 1


def server_rss_kb(p):
    """VmRSS summed over the server's processes (its process group)."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp != p.proc.pid:
                continue
            for l in open(f"/proc/{d}/status"):
                if l.startswith("VmRSS:"):
                    total += int(l.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return total


def test_client_that_does_not_read_is_paced(pop3srv):
    """RETR of a 1 MB message 40 times, pipelined, not read: the server
    stops producing (its memory does not grow by the 40 MB asked for), and
    everything arrives intact once the client reads."""
    body = ("y" * 998 + "\r\n") * 1024
    deliver(pop3srv, subject="big", body=body)
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("USER bob@example.org").startswith("+OK")
    assert r.cmd("PASS " + PASSWORD).startswith("+OK")
    before = server_rss_kb(pop3srv)
    r.send(b"RETR 1\r\n" * 40 + b"QUIT\r\n")
    time.sleep(3)
    grown = server_rss_kb(pop3srv) - before
    assert grown < 16 * 1024, f"server grew by {grown} kB"
    for _ in range(40):
        assert r.line().endswith(" octets")
        lines = r.multi()
        assert lines[-1] == "y" * 998 and len(lines) > 1024
    assert r.line().startswith("+OK")


def test_shutdown_says_goodbye_and_deletes_nothing(pop3srv):
    deliver(pop3srv)
    r = RawPop3(pop3srv.pop3s_port, tls=True)
    assert r.cmd("USER bob@example.org").startswith("+OK")
    assert r.cmd("PASS " + PASSWORD).startswith("+OK maildrop has 1 ")
    assert r.cmd("DELE 1").startswith("+OK")
    pop3srv.signal(signal.SIGTERM)
    assert r.line() == "-ERR [SYS/TEMP] server shutting down"
    assert r.closed()
    pop3srv.proc.wait(timeout=20)
    assert len(pop3srv.messages(BOB)) == 1


def test_idle_timeout_constant_is_rfc_value():
    """RFC 1939 3: at least 10 minutes; the server uses exactly that
    (docs/pop3.md); too long to wait for in a test."""
    src = open(os.path.join(os.path.dirname(__file__), "..", "..", "src", "pop3",
                            "pop3_int.h")).read()
    assert re.search(r"#define POP3_IDLE_SEC\s+600\b", src)


# ---- real clients --------------------------------------------------------------------

def test_curl_pop3s_list_and_retr(pop3srv):
    deliver(pop3srv, subject="curl one", body="Body one.\r\n")
    deliver(pop3srv, subject="curl two", body="Body two.\r\n")
    url = f"pop3s://127.0.0.1:{pop3srv.pop3s_port}/"
    r = subprocess.run(["curl", "-sk", "--max-time", "20", url, "-u", f"{BOB}:{PASSWORD}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().split("\r\n")
    assert [l.split()[0] for l in lines if l] == ["1", "2"]
    r = subprocess.run(["curl", "-sk", "--max-time", "20", url + "2", "-u", f"{BOB}:{PASSWORD}"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Subject: curl two" in r.stdout and b"Body two." in r.stdout


def test_curl_pop3_stls(pop3srv):
    deliver(pop3srv)
    url = f"pop3://127.0.0.1:{pop3srv.pop3_port}/1"
    r = subprocess.run(["curl", "-sk", "--ssl-reqd", "--max-time", "20", url,
                        "-u", f"{BOB}:{PASSWORD}"], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"Hello Bob." in r.stdout


def run_fetchmail(p, tmp, port, ssl_opts):
    out = tmp / "fetched.mbox"
    rc = tmp / "fetchmailrc"
    rc.write_text(
        f'poll 127.0.0.1 service {port} protocol POP3 '
        f'user "{BOB}" password "{PASSWORD}" {ssl_opts} no sslcertck '
        f'mda "/bin/sh -c \'cat >> {out}\'"\n')
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(tmp))
    r = subprocess.run(["fetchmail", "-f", str(rc), "-N", "--nosyslog", "-v",
                        "--pidfile", str(tmp / "fetchmail.pid")],
                       capture_output=True, text=True, timeout=60, env=env)
    return r, out


@pytest.mark.parametrize("kind", ["pop3s", "stls"])
def test_fetchmail_downloads_and_deletes(pop3srv, tmp_path, kind):
    for i in range(3):
        deliver(pop3srv, subject=f"fetch {i}", body=f"Fetch body {i}.\r\n.dotted\r\n")
    if kind == "pop3s":
        port, opts = pop3srv.pop3s_port, "ssl"
    else:
        port, opts = pop3srv.pop3_port, "sslproto 'tls1.2+'"
    r, out = run_fetchmail(pop3srv, tmp_path, port, opts)
    assert r.returncode == 0, r.stdout + r.stderr
    log = r.stdout + r.stderr
    if kind == "stls":
        assert "STLS" in log, log
    assert "3 messages" in log and "PASS" in log, log
    got = out.read_text()
    for i in range(3):
        assert f"Subject: fetch {i}" in got and f"Fetch body {i}." in got
    assert got.count("\n.dotted\n") == 3
    # Removed from the server (no `keep`), and a second run finds nothing.
    assert pop3srv.messages(BOB) == []
    r, _ = run_fetchmail(pop3srv, tmp_path, port, opts)
    assert r.returncode == 1, r.stdout + r.stderr      # 1: no mail
    assert out.read_text() == got


# ---- smtp_after_pop ------------------------------------------------------------------

def relay_rcpt(p, sender):
    """MAIL + RCPT to a remote domain from 127.0.0.1 on the smtp port,
    without AUTH: (code, text) of the RCPT, or of the MAIL when it is
    refused. RSET: nothing is queued, nothing leaves loopback."""
    with p.smtp() as c:
        c.ehlo("client.example.net")
        code, text = c.mail(sender)
        if code == 250:
            code, text = c.rcpt("someone@remote.example")
        c.rset()
        return code, text.decode()


OUTSIDER = "friend@remote.example"


@pytest.mark.parametrize("window", [60, 0])
def test_smtp_after_pop(make_pop3, window):
    p = make_pop3(extra=f'relay = {{ trusted_networks = []; smtp_after_pop = {window}; }};')
    code, text = relay_rcpt(p, OUTSIDER)
    assert (code, text[:5]) == (554, "5.7.1"), text
    c = stls_client(p)
    c.quit()
    if window:
        # Trusted now: relays, as a local sender (sender_rule local_domain).
        code, text = relay_rcpt(p, ALICE)
        assert (code, text[:5]) == (250, "2.1.5"), text
    else:
        code, text = relay_rcpt(p, OUTSIDER)
        assert (code, text[:5]) == (554, "5.7.1"), text
        code, text = relay_rcpt(p, ALICE)
        assert code >= 500 and text[:5] == "5.7.1", text


def wait_reload(p):
    before = sum("event=reload result=ok" in l for l in p.log_lines())
    p.reload()
    deadline = time.time() + 15
    while time.time() < deadline:
        if sum("event=reload result=ok" in l for l in p.log_lines()) > before:
            return
        time.sleep(0.05)
    raise AssertionError("no reload")


def test_smtp_after_pop_survives_reload_and_restart(make_pop3):
    """The window is in the database (dird writes it at the login): the
    new generation's dird after a reload, and a restarted server, still
    know it."""
    p = make_pop3(extra='relay = { trusted_networks = []; smtp_after_pop = 600; };')
    c = stls_client(p)
    c.quit()
    wait_reload(p)
    code, text = relay_rcpt(p, ALICE)
    assert (code, text[:5]) == (250, "2.1.5"), text
    p.stop()
    p.start()
    code, text = relay_rcpt(p, ALICE)
    assert (code, text[:5]) == (250, "2.1.5"), text


def test_smtp_after_pop_login_on_old_generation(make_pop3):
    """A login on a session of the previous generation (opened before the
    reload, still in its grace) opens a window the new SMTP workers see."""
    p = make_pop3(extra='relay = { trusted_networks = []; smtp_after_pop = 600; };')
    c = pop3s_client(p, login=False)
    wait_reload(p)
    assert relay_rcpt(p, OUTSIDER)[0] == 554
    c.user(BOB)
    c.pass_(PASSWORD)
    c.quit()
    code, text = relay_rcpt(p, ALICE)
    assert (code, text[:5]) == (250, "2.1.5"), text


def test_failed_login_opens_no_window(make_pop3):
    p = make_pop3(extra='relay = { trusted_networks = []; smtp_after_pop = 60; };')
    c = stls_client(p, login=False)
    c.user(BOB)
    with pytest.raises(poplib.error_proto):
        c.pass_("wrong")
    c.quit()
    assert relay_rcpt(p, OUTSIDER)[0] == 554
