"""Black-box acceptance tests of POP3 and IMAP (issue 7, SPEC 2, 3, 5, 6,
docs/pop3.md, docs/imap.md), written from the documents only: the server
is driven over loopback with exact bytes (TLS sockets), poplib and
imaplib, and judged against SPEC and the RFCs (1939, 2449, 2595, 5034,
3501, 4315, 6851, 2342, 2971, 5161, 6154, 2177)."""

import base64
import imaplib
import poplib
import re
import socket
import time

import pytest

from conftest import PASSWORD, client_tls, message

ALICE = "alice@example.org"
BOB = "bob@example.org"


# ---- helpers ---------------------------------------------------------------

@pytest.fixture
def p(make_postern):
    return make_postern(mailbox=True)


def deliver(p, subject="hello", body="Hello Bob.\r\n", to=BOB, raw=None):
    before = len(p.messages(to))
    with p.smtp() as s:
        s.sendmail(ALICE, [to], raw if raw is not None else
                   message(subject=subject, to=to, body=body).encode())
    p.wait_messages(to, before + 1)


class Conn:
    """Exact bytes on a (TLS) socket, line by line, bytes kept."""

    def __init__(self, port, tls=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s = client_tls().wrap_socket(s) if tls else s
        self.buf = b""

    def starttls(self):
        assert not self.buf, self.buf
        self.s = client_tls().wrap_socket(self.s)

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed; pending " + repr(self.buf))
        self.buf += chunk

    def rawline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                data = self.s.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError, OSError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Pop(Conn):
    def __init__(self, p, tls=True):
        super().__init__(p.pop3s_port if tls else p.pop3_port, tls)
        self.greeting = self.line()

    def line(self):
        return self.rawline().decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def multi(self):
        """Lines of a multi-line body up to '.', as bytes (not unstuffed)."""
        out = []
        while True:
            ln = self.rawline()
            if ln == b".":
                return out
            out.append(ln)

    def login(self, user=BOB, password=PASSWORD):
        assert self.cmd("USER " + user).startswith("+OK")
        r = self.cmd("PASS " + password)
        assert r.startswith("+OK"), r
        return r


def put(path, data):
    """Writes a file as the Maildir's owner would (run_as)."""
    import os
    path.write_bytes(data)
    st = path.parent.stat()
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)


def body_bytes(lines):
    """The message a multi-line POP3 body carries: unstuffed, CRLF ends."""
    return b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in lines)


class Imap(Conn):
    def __init__(self, p, tls=True, port=None):
        super().__init__(port or (p.imaps_port if tls else p.imap_port), tls)
        self.n = 0
        self.greeting = self.resp()

    def resp(self):
        """One response line with its literals inline (bytes)."""
        out = self.rawline()
        while True:
            m = re.search(rb"\{(\d+)\+?\}$", out)
            if not m:
                return out
            out += b"\r\n" + self.exact(int(m.group(1)))
            out += self.rawline()

    def tag(self):
        self.n += 1
        return "t%d" % self.n

    def cmd(self, text, tag=None):
        """Sends `tag text`; returns (untagged lines as str, tagged line)."""
        tag = tag or self.tag()
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def until(self, tag):
        un = []
        while True:
            r = self.resp()
            s = r.decode("utf-8", "surrogateescape")
            if s.startswith(tag + " "):
                return un, s[len(tag) + 1:]
            un.append(s)

    def until_raw(self, tag):
        un = []
        while True:
            r = self.resp()
            if r.startswith(tag.encode() + b" "):
                return un, r[len(tag) + 1:].decode()
            un.append(r)

    def login(self, user=BOB, password=PASSWORD):
        un, t = self.cmd(f'LOGIN "{user}" "{password}"')
        assert t.startswith("OK"), t
        return un, t


def literal(r: bytes):
    m = re.search(rb"\{(\d+)\}\r\n", r)
    n = int(m.group(1))
    return r[m.end():m.end() + n]


def bad_or_no(t):
    return t.startswith("BAD") or t.startswith("NO")


def login_lines(p, service):
    return [l for l in p.log_lines() if "event=login" in l and f"service={service}" in l]


def wait_login_line(p, service, user, result, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for l in login_lines(p, service):
            if f"user={user}" in l and f"result={result}" in l:
                return l
        time.sleep(0.05)
    raise AssertionError(f"no {service} login line for {user} {result}: "
                         + "\n".join(login_lines(p, service)))


# ==== POP3 ==================================================================

def test_pop3_capa_lines_per_rfc2449(p):
    c = Pop(p, tls=True)
    assert c.greeting.startswith("+OK")
    assert c.cmd("CAPA").startswith("+OK")
    caps = [l.decode() for l in c.multi()]
    names = [l.split(" ")[0].upper() for l in caps]
    # RFC 2449 5: one capability per line, tag then optional arguments,
    # each at most once
    assert len(names) == len(set(names)), caps
    for want in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER"):
        assert want in names, caps
    assert "SASL PLAIN" in caps, caps
    assert "STLS" not in names, caps          # TLS is already up on pop3s
    assert "IMPLEMENTATION" not in names, caps
    for l in caps:
        assert re.fullmatch(r"[A-Za-z0-9-]+( [\x21-\x7e]+)*", l), l
    c.login()
    assert c.cmd("CAPA").startswith("+OK")
    after = [l.decode() for l in c.multi()]
    an = [l.split(" ")[0].upper() for l in after]
    for want in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
        assert want in an, after
    assert "USER" not in an and "SASL" not in an and "STLS" not in an, after
    assert c.cmd("QUIT").startswith("+OK")


def test_pop3_plain_capa_before_tls(p):
    c = Pop(p, tls=False)
    assert c.cmd("CAPA").startswith("+OK")
    caps = [l.decode() for l in c.multi()]
    names = [l.split(" ")[0].upper() for l in caps]
    assert "STLS" in names and "USER" not in names and "SASL" not in names, caps


def test_pop3_double_stls_and_stls_on_pop3s(p):
    c = Pop(p, tls=False)
    assert c.cmd("STLS").startswith("+OK")
    c.starttls()
    r = c.cmd("STLS")
    assert r.startswith("-ERR"), r
    # the session goes on, over TLS
    c.login()
    assert c.cmd("STAT").startswith("+OK")
    s = Pop(p, tls=True)
    r = s.cmd("STLS")
    assert r.startswith("-ERR"), r
    s.login(ALICE)


def test_pop3_transaction_commands_before_login(p):
    deliver(p)
    # two sessions: 10 errors in a row close one (docs/pop3.md)
    c = Pop(p)
    for cmd in ("STAT", "LIST", "LIST 1", "UIDL", "UIDL 1"):
        r = c.cmd(cmd)
        assert r.startswith("-ERR"), (cmd, r)
    c = Pop(p)
    for cmd in ("RETR 1", "TOP 1 0", "DELE 1", "RSET", "NOOP"):
        r = c.cmd(cmd)
        assert r.startswith("-ERR"), (cmd, r)
    # nothing was deleted, login still works
    assert c.cmd("USER " + BOB).startswith("+OK")
    r = c.cmd("PASS " + PASSWORD)
    assert r.startswith("+OK") and " 1 message" in r, r


def test_pop3_authorization_commands_in_transaction(p):
    c = Pop(p)
    c.login()
    for cmd in ("USER " + BOB, "PASS " + PASSWORD, "AUTH PLAIN", "STLS"):
        r = c.cmd(cmd)
        assert r.startswith("-ERR"), (cmd, r)
    assert c.cmd("STAT") == "+OK 0 0"


def test_pop3_pass_without_user_and_user_again(p):
    c = Pop(p)
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR")
    # a failed PASS resets to USER (RFC 1939 7)
    assert c.cmd("USER " + BOB).startswith("+OK")
    assert c.cmd("PASS wrong").startswith("-ERR")
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR")
    # USER twice: the second one counts
    assert c.cmd("USER " + ALICE).startswith("+OK")
    assert c.cmd("USER " + BOB).startswith("+OK")
    assert c.cmd("PASS " + PASSWORD).startswith("+OK")


def test_pop3_quit_in_authorization_deletes_nothing(p):
    deliver(p)
    c = Pop(p)
    c.cmd("USER " + BOB)
    r = c.cmd("QUIT")
    assert r.startswith("+OK"), r
    assert c.closed()
    assert len(p.messages(BOB)) == 1


def test_pop3_empty_maildrop(p):
    c = Pop(p)
    r = c.login()
    assert "0 messages" in r, r
    assert c.cmd("STAT") == "+OK 0 0"
    assert c.cmd("LIST").startswith("+OK")
    assert c.multi() == []
    assert c.cmd("UIDL").startswith("+OK")
    assert c.multi() == []
    assert c.cmd("RETR 1").startswith("-ERR")
    assert c.cmd("LIST 1").startswith("-ERR")
    assert c.cmd("QUIT").startswith("+OK")


def test_pop3_message_numbers_stable_after_dele(p):
    for i in range(1, 4):
        deliver(p, subject=f"msg{i}")
    c = Pop(p)
    c.login()
    assert c.cmd("LIST").startswith("+OK")
    sizes = {int(a): int(b) for a, b in (l.split() for l in c.multi())}
    assert sorted(sizes) == [1, 2, 3]
    assert c.cmd("UIDL").startswith("+OK")
    uids = dict(l.decode().split() for l in c.multi())
    assert c.cmd("DELE 2").startswith("+OK")
    assert c.cmd("STAT") == f"+OK 2 {sizes[1] + sizes[3]}"
    assert c.cmd("LIST").startswith("+OK")
    assert [l.split()[0] for l in c.multi()] == [b"1", b"3"]
    assert c.cmd("UIDL").startswith("+OK")
    assert dict(l.decode().split() for l in c.multi()) == {"1": uids["1"], "3": uids["3"]}
    for cmd in ("LIST 2", "UIDL 2", "RETR 2", "TOP 2 0", "DELE 2"):
        r = c.cmd(cmd)
        assert r.startswith("-ERR"), (cmd, r)
    assert c.cmd("LIST 3") == f"+OK 3 {sizes[3]}"
    assert c.cmd("UIDL 3") == f"+OK 3 {uids['3']}"
    assert c.cmd("RETR 3").startswith("+OK")
    assert b"Subject: msg3" in body_bytes(c.multi())
    assert c.cmd("RSET").startswith("+OK")
    assert c.cmd("STAT") == f"+OK 3 {sum(sizes.values())}"
    assert c.cmd("DELE 1").startswith("+OK")
    r = c.cmd("QUIT")
    assert r.startswith("+OK"), r
    c2 = Pop(p)
    assert "2 messages" in c2.login()
    assert c2.cmd("RETR 1").startswith("+OK")
    assert b"Subject: msg2" in body_bytes(c2.multi())


def test_pop3_uidl_unique_format_and_stable(p):
    for i in range(1, 4):
        deliver(p, subject=f"m{i}")
    c = Pop(p)
    c.login()
    assert c.cmd("UIDL").startswith("+OK")
    first = [l.decode().split() for l in c.multi()]
    ids = [u for _, u in first]
    assert len(set(ids)) == 3
    for u in ids:
        # RFC 1939 7: 1 to 70 chars in 0x21..0x7E; docs/pop3.md: 16 hex digits
        assert re.fullmatch(r"[0-9a-f]{16}", u), u
    assert c.cmd("DELE 1").startswith("+OK")
    assert c.cmd("QUIT").startswith("+OK")
    deliver(p, subject="m4")
    c = Pop(p)
    c.login()
    assert c.cmd("UIDL").startswith("+OK")
    now = [l.decode().split() for l in c.multi()]
    assert [u for _, u in now][:2] == ids[1:]
    assert now[2][1] not in ids          # never reused, not even the deleted one
    assert [n for n, _ in now] == ["1", "2", "3"]


def test_pop3_uidl_matches_imap_uidvalidity_and_uid(p):
    deliver(p)
    c = Pop(p)
    c.login()
    u = c.cmd("UIDL 1").split()[2]
    c.cmd("QUIT")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK")
    uv = int(re.search(r"UIDVALIDITY (\d+)", " ".join(un)).group(1))
    un, t = m.cmd("FETCH 1 (UID)")
    uid = int(re.search(r"UID (\d+)", un[0]).group(1))
    assert u == "%08x%08x" % (uv, uid)


def test_pop3_top_zero_and_more_lines(p):
    deliver(p, body="line1\r\nline2\r\n.dot\r\nline4\r\n")
    c = Pop(p)
    c.login()
    assert c.cmd("RETR 1").startswith("+OK")
    full = body_bytes(c.multi())
    head, _, body = full.partition(b"\r\n\r\n")
    assert c.cmd("TOP 1 0").startswith("+OK")
    top0 = body_bytes(c.multi())
    assert top0 == head + b"\r\n\r\n"
    assert c.cmd("TOP 1 3").startswith("+OK")
    top3 = c.multi()
    assert body_bytes(top3) == head + b"\r\n\r\nline1\r\nline2\r\n.dot\r\n"
    assert b"..dot" in top3                     # byte-stuffed on the wire
    assert c.cmd("TOP 1 1000").startswith("+OK")
    assert body_bytes(c.multi()) == full
    for bad in ("TOP 1", "TOP 1 -1", "TOP x 1", "TOP 2 0", "TOP 0 0"):
        assert c.cmd(bad).startswith("-ERR"), bad
    assert c.cmd("NOOP") == "+OK" or c.cmd("NOOP").startswith("+OK")


def test_pop3_sizes_equal_bytes_sent(p):
    deliver(p, body="a\r\n.starts with dot\r\n..two dots\r\n\r\nend\r\n")
    deliver(p, body="x" * 5000 + "\r\n")
    c = Pop(p)
    c.login()
    assert c.cmd("LIST").startswith("+OK")
    sizes = {int(a): int(b) for a, b in (l.split() for l in c.multi())}
    total = 0
    for n, size in sizes.items():
        r = c.cmd(f"RETR {n}")
        assert r.startswith("+OK"), r
        data = body_bytes(c.multi())
        assert len(data) == size, (n, len(data), size)
        m = re.match(r"\+OK (\d+) octets", r)
        assert m and int(m.group(1)) == size, r
        total += size
    assert c.cmd("STAT") == f"+OK 2 {total}"


def test_pop3_delivered_message_has_return_path_and_crlf(p):
    deliver(p, body="one\r\ntwo\r\n")
    on_disk = p.messages(BOB)[0]
    assert b"\r\n" not in on_disk                  # SPEC 3: stored with LF
    c = Pop(p)
    c.login()
    assert c.cmd("RETR 1").startswith("+OK")
    # read the raw bytes up to the terminating line
    raw = b""
    while not raw.endswith(b"\r\n.\r\n"):
        while b"\r\n" not in c.buf:
            c._fill()
        i = c.buf.index(b"\r\n") + 2
        raw, c.buf = raw + c.buf[:i], c.buf[i:]
    assert b"\n" not in raw.replace(b"\r\n", b"")  # no bare LF on the wire
    assert b"\r" not in raw.replace(b"\r\n", b"")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"(?im)^Return-Path: <alice@example\.org>\r?$", head + b"\r\n"), head
    assert re.search(rb"(?im)^Delivered-To: bob@example\.org\r?$", head + b"\r\n"), head
    assert raw.endswith(b"one\r\ntwo\r\n.\r\n")


def test_pop3_invalid_message_numbers(p):
    deliver(p)
    c = Pop(p)
    c.login()
    for cmd in ("RETR 0", "RETR 2", "RETR -1", "RETR abc", "RETR", "DELE 0",
                "LIST 5", "UIDL 0", "RETR 1 2"):
        r = c.cmd(cmd)
        assert r.startswith("-ERR"), (cmd, r)
    assert c.cmd("RETR 01").startswith("+OK")
    c.multi()
    assert c.cmd("stat").startswith("+OK 1 ")       # keywords case-insensitive


def test_pop3_auth_plain_with_authzid_equal_to_user(p):
    c = Pop(p)
    ir = base64.b64encode(f"{BOB}\0{BOB}\0{PASSWORD}".encode()).decode()
    r = c.cmd("AUTH PLAIN " + ir)
    assert r.startswith("+OK"), r
    assert c.cmd("STAT").startswith("+OK")


def test_pop3_disabled_user_cannot_login(p):
    p.cli("user", "set", BOB, "enabled=false")
    c = Pop(p)
    assert c.cmd("USER " + BOB).startswith("+OK")
    r = c.cmd("PASS " + PASSWORD)
    assert r.startswith("-ERR"), r
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    r = c.cmd("AUTH PLAIN " + ir)
    assert r.startswith("-ERR"), r
    p.cli("user", "set", BOB, "enabled=true")
    c = Pop(p)
    c.login()


def test_pop3_password_change_applies_at_once(p):
    p.cli("user", "passwd", BOB, input="new secret pw\n")
    c = Pop(p)
    c.cmd("USER " + BOB)
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR")
    c.cmd("USER " + BOB)
    assert c.cmd("PASS new secret pw").startswith("+OK")


def test_pop3_login_address_case_insensitive(p):
    deliver(p)
    c = Pop(p)
    c.cmd("USER BOB@Example.ORG")
    r = c.cmd("PASS " + PASSWORD)
    assert r.startswith("+OK") and "1 message" in r, r


def test_pop3_login_logged_with_ip_user_result(p):
    c = Pop(p)
    c.cmd("USER " + BOB)
    c.cmd("PASS nope")
    c.login()
    ok = wait_login_line(p, "pop3s", BOB, "ok") if any(
        "service=pop3s" in l for l in p.log_lines()) else wait_login_line(p, "pop3", BOB, "ok")
    assert "ip=127.0.0.1" in ok, ok
    fail = [l for l in p.log_lines() if "event=login" in l and "result=fail" in l]
    assert fail and "ip=127.0.0.1" in fail[0] and f"user={BOB}" in fail[0], fail
    for l in p.log_lines():
        assert PASSWORD not in l and "nope" not in l, l
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ok), ok


def test_pop3_login_before_tls_refused_documented_reply(p):
    c = Pop(p, tls=False)
    for cmd in ("USER " + BOB, "PASS " + PASSWORD, "AUTH PLAIN",
                "AUTH PLAIN " + base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()):
        r = c.cmd(cmd)
        assert r == "-ERR [AUTH] TLS required: use STLS first", (cmd, r)
    assert not any("event=login" in l for l in p.log_lines())


def test_pop3_login_pipelined_before_stls_handshake_not_executed(p):
    c = Pop(p, tls=False)
    c.send(f"STLS\r\nUSER {BOB}\r\nPASS {PASSWORD}\r\n")
    assert c.line().startswith("+OK")
    c.starttls()
    r = c.cmd("STAT")
    assert r.startswith("-ERR"), r                 # not logged in
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR")   # USER forgotten
    assert not any("event=login" in l and "result=ok" in l for l in p.log_lines())


def test_pop3_dele_then_imap_sees_it_gone(p):
    deliver(p, subject="a")
    deliver(p, subject="b")
    c = Pop(p)
    c.login()
    c.cmd("DELE 1")
    assert c.cmd("QUIT").startswith("+OK")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert "* 1 EXISTS" in un, un
    un, t = m.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: b" in un[0], un


# ==== IMAP ==================================================================

def test_imap_commands_before_login(p):
    m = Imap(p)
    for cmd in ("SELECT INBOX", "EXAMINE INBOX", "LIST \"\" *", "LSUB \"\" *",
                "CREATE foo", "DELETE foo", "STATUS INBOX (MESSAGES)",
                "SUBSCRIBE INBOX", "NAMESPACE", "FETCH 1 FLAGS", "CLOSE", "EXPUNGE",
                "UID FETCH 1 FLAGS", "SEARCH ALL", "IDLE"):
        un, t = m.cmd(cmd)
        assert bad_or_no(t), (cmd, t)
    un, t = m.cmd("NOOP")
    assert t.startswith("OK")
    m.login()


def test_imap_selected_commands_in_authenticated_state(p):
    deliver(p)
    m = Imap(p)
    m.login()
    for cmd in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                "UID SEARCH ALL", "COPY 1 Trash", "MOVE 1 Trash", "EXPUNGE",
                "CLOSE", "CHECK", "UNSELECT"):
        un, t = m.cmd(cmd)
        assert bad_or_no(t), (cmd, t)
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK")
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert t.startswith("OK") and un and "\\Seen" not in un[0]


def test_imap_login_quoted_literal_and_literal_plus(p):
    m = Imap(p)
    tag = m.tag()
    m.send(f"{tag} LOGIN {{{len(BOB)}}}\r\n")
    assert m.rawline().startswith(b"+")
    m.send(f"{BOB} {{{len(PASSWORD)}}}\r\n")
    assert m.rawline().startswith(b"+")
    m.send(PASSWORD + "\r\n")
    un, t = m.until(tag)
    assert t.startswith("OK"), t
    m2 = Imap(p)
    un, t = m2.cmd(f"LOGIN {{{len(BOB)}+}}\r\n{BOB} {{{len(PASSWORD)}+}}\r\n{PASSWORD}")
    assert t.startswith("OK"), t
    m3 = Imap(p)
    un, t = m3.cmd(f'LOGIN {BOB} "{PASSWORD}"')           # atom user
    assert t.startswith("OK"), t
    m4 = Imap(p)
    un, t = m4.cmd(f'LOGIN "{BOB}" "wrong"')
    assert t.startswith("NO"), t
    assert "AUTHENTICATIONFAILED" in t, t


def test_imap_authenticate_plain_initial_response_and_continuation(p):
    m = Imap(p)
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    un, t = m.cmd("AUTHENTICATE PLAIN " + ir)
    assert t.startswith("OK"), t
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK"), t
    m2 = Imap(p)
    tag = m2.tag()
    m2.send(f"{tag} AUTHENTICATE PLAIN\r\n")
    assert m2.rawline().startswith(b"+")
    m2.send(ir + "\r\n")
    un, t = m2.until(tag)
    assert t.startswith("OK"), t
    m3 = Imap(p)
    bad = base64.b64encode(f"\0{BOB}\0nope".encode()).decode()
    un, t = m3.cmd("AUTHENTICATE PLAIN " + bad)
    assert t.startswith("NO"), t
    un, t = m3.cmd("AUTHENTICATE CRAM-MD5")
    assert bad_or_no(t), t


def test_imap_capability_after_login(p):
    m = Imap(p)
    un, t = m.cmd("CAPABILITY")
    pre = un[0].split()
    assert "AUTH=PLAIN" in pre and "IMAP4rev1" in pre and "STARTTLS" not in pre, pre
    m.login()
    un, t = m.cmd("CAPABILITY")
    assert t.startswith("OK")
    caps = un[0].split()
    assert caps[:2] == ["*", "CAPABILITY"]
    for c in ("IMAP4rev1", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID", "ENABLE",
              "LITERAL+", "SPECIAL-USE", "CHILDREN", "UNSELECT"):
        assert c in caps, caps
    assert not any(c.startswith("AUTH=") for c in caps), caps
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps


def test_imap_plain_port_login_refused_before_starttls(p):
    m = Imap(p, tls=False)
    assert m.greeting.startswith(b"* OK"), m.greeting
    un, t = m.cmd("CAPABILITY")
    caps = un[0].split()
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
    assert not any(c.startswith("AUTH=") for c in caps), caps
    un, t = m.cmd(f'LOGIN "{BOB}" "{PASSWORD}"')
    assert t.startswith("NO"), t
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    un, t = m.cmd("AUTHENTICATE PLAIN " + ir)
    assert t.startswith("NO") or t.startswith("BAD"), t
    assert not any("event=login" in l and "result=ok" in l for l in p.log_lines())


def test_imap_login_pipelined_before_starttls_handshake_not_executed(p):
    m = Imap(p, tls=False)
    m.send(f'a STARTTLS\r\nb LOGIN "{BOB}" "{PASSWORD}"\r\n')
    un, t = m.until("a")
    assert t.startswith("OK"), t
    m.starttls()
    un, t = m.cmd("SELECT INBOX")
    assert bad_or_no(t), t                        # not logged in
    assert not any("event=login" in l and "result=ok" in l for l in p.log_lines())
    un, t = m.cmd("STARTTLS")
    assert bad_or_no(t), t                        # twice
    m.login()


def test_imap_starttls_on_imaps_refused(p):
    m = Imap(p)
    un, t = m.cmd("STARTTLS")
    assert bad_or_no(t), t
    m.login()


def test_imap_select_nonexistent_folder(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK")
    un, t = m.cmd("SELECT nosuchfolder")
    assert t.startswith("NO"), t
    # RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected
    un, t = m.cmd("FETCH 1:* (FLAGS)")
    assert bad_or_no(t), t
    un, t = m.cmd("STATUS nosuchfolder (MESSAGES)")
    assert t.startswith("NO"), t
    un, t = m.cmd("EXAMINE nosuchfolder")
    assert t.startswith("NO"), t


def _list_names(un):
    out = {}
    for l in un:
        m = re.match(r'\* (?:LIST|LSUB) \(([^)]*)\) (?:"(?:[^"\\]|\\.)"|NIL) (.*)$', l)
        assert m, l
        name = m.group(2)
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[name] = m.group(1).split()
    return out


def test_imap_folder_names_with_spaces_and_modified_utf7(p):
    m = Imap(p)
    m.login()
    utf7 = "&AMk-t&AOk-"          # "Été"
    for name in ("My Folder", utf7, "Work/Sub Folder"):
        un, t = m.cmd(f'CREATE "{name}"')
        assert t.startswith("OK"), (name, t)
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    for name in ("My Folder", utf7, "Work", "Work/Sub Folder"):
        assert name in names, (name, names)
    assert "\\HasChildren" in names["Work"]
    un, t = m.cmd(f'SELECT "{utf7}"')
    assert t.startswith("OK"), t
    un, t = m.cmd('APPEND "My Folder" {5}\r\nhello'.replace("{5}\r\nhello", "{7+}\r\nhi\r\n\r\nx"))
    assert t.startswith("OK"), t
    un, t = m.cmd('STATUS "My Folder" (MESSAGES)')
    assert "MESSAGES 1" in " ".join(un), un
    un, t = m.cmd('RENAME "My Folder" "Other Name &AOk-"')
    assert t.startswith("OK"), t
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    assert "My Folder" not in names and "Other Name &AOk-" in names, names
    un, t = m.cmd('STATUS "Other Name &AOk-" (MESSAGES)')
    assert "MESSAGES 1" in " ".join(un), un
    un, t = m.cmd('SELECT INBOX')
    for name in ("Other Name &AOk-", utf7, "Work/Sub Folder"):
        un, t = m.cmd(f'DELETE "{name}"')
        assert t.startswith("OK"), (name, t)
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    assert "Other Name &AOk-" not in names and utf7 not in names
    assert "Work/Sub Folder" not in names


def test_imap_odd_name_round_trips(p):
    m = Imap(p)
    m.login()
    # not valid modified UTF-7: refusing it is allowed (RFC 3501 5.1.3
    # does not require it); if accepted it must round-trip exactly
    un, t = m.cmd('CREATE "bad&name"')
    if bad_or_no(t):
        return
    un, t = m.cmd('LIST "" "bad*"')
    assert list(_list_names(un)) == ["bad&name"], un
    un, t = m.cmd('SELECT "bad&name"')
    assert t.startswith("OK"), t


def test_imap_delete_inbox_refused_and_inbox_case_insensitive(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("DELETE INBOX")
    assert t.startswith("NO"), t
    un, t = m.cmd("DELETE inbox")
    assert t.startswith("NO"), t
    un, t = m.cmd("SELECT inbox")            # RFC 3501 5.1: INBOX any case
    assert t.startswith("OK"), t
    un, t = m.cmd("CREATE INBOX")
    assert t.startswith("NO"), t
    un, t = m.cmd("CREATE Trash")            # exists already
    assert t.startswith("NO"), t


def test_imap_rename_inbox(p):
    deliver(p, subject="first")
    m = Imap(p)
    m.login()
    un, t = m.cmd("STATUS INBOX (UIDVALIDITY UIDNEXT)")
    uv = re.search(r"UIDVALIDITY (\d+)", un[0]).group(1)
    nxt = int(re.search(r"UIDNEXT (\d+)", un[0]).group(1))
    un, t = m.cmd("RENAME INBOX Archive")
    assert t.startswith("OK"), t             # docs/architecture.md: allowed
    # RFC 3501 6.3.5: messages move to the new name, INBOX stays, empty
    un, t = m.cmd("STATUS Archive (MESSAGES)")
    assert "MESSAGES 1" in " ".join(un), (un, t)
    un, t = m.cmd("STATUS INBOX (MESSAGES)")
    assert "MESSAGES 0" in " ".join(un), (un, t)
    deliver(p, subject="second")
    un, t = m.cmd("STATUS INBOX (MESSAGES UIDVALIDITY UIDNEXT)")
    assert "MESSAGES 1" in " ".join(un), (un, t)
    # "INBOX keeps its UIDVALIDITY" (docs/architecture.md): so no UID reuse
    assert re.search(r"UIDVALIDITY (\d+)", un[0]).group(1) == uv, un
    assert int(re.search(r"UIDNEXT (\d+)", un[0]).group(1)) > nxt, (un, nxt)


def test_imap_special_use_at_first_login_and_deleted_junk_stays_deleted(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    for name, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"),
                       ("Trash", "\\Trash"), ("Junk", "\\Junk")):
        assert name in names and attr in names[name], names
    assert "INBOX" in names
    un, t = m.cmd('LIST (SPECIAL-USE) "" "*"')
    assert t.startswith("OK"), t
    assert set(_list_names(un)) == {"Sent", "Drafts", "Trash", "Junk"}, un
    maildir = p.maildir(BOB, "cur").parent
    for d in (".Sent", ".Drafts", ".Trash", ".Junk"):
        assert (maildir / d / "cur").is_dir(), d
    un, t = m.cmd("DELETE Junk")
    assert t.startswith("OK"), t
    un, t = m.cmd('LIST "" "*"')
    assert "Junk" not in _list_names(un), un
    m.cmd("LOGOUT")
    m = Imap(p)
    m.login()
    un, t = m.cmd('LIST "" "*"')
    assert "Junk" not in _list_names(un), un
    p.stop()
    p.start()
    m = Imap(p)
    m.login()
    un, t = m.cmd('LIST "" "*"')
    assert "Junk" not in _list_names(un), un
    assert "Sent" in _list_names(un)


def test_imap_fetch_header_fields_and_peek(p):
    deliver(p, subject="Greetings")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    un, t = m.until_raw("a")
    assert t.startswith("OK"), t
    assert literal(un[0]) == b"Subject: Greetings\r\n\r\n", un
    assert b"BODY[HEADER.FIELDS (SUBJECT)]" in un[0], un
    assert b"\\Seen" not in un[0]
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Seen" not in un[0], un
    m.send("b FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)])\r\n")
    un, t = m.until_raw("b")
    assert b"Subject:" not in literal(un[0]) and b"From:" in literal(un[0])
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Seen" not in un[0], un
    # a non-PEEK fetch sets \Seen and says so
    m.send("c FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])\r\n")
    un, t = m.until_raw("c")
    assert t.startswith("OK")
    assert b"\\Seen" in b" ".join(un), un
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Seen" in un[0], un


def test_imap_fetch_nonexistent_message_number(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    for cmd in ("FETCH 2 (FLAGS)", "FETCH 0 (FLAGS)", "STORE 5 +FLAGS (\\Seen)",
                "COPY 9 Trash"):
        un, t = m.cmd(cmd)
        assert bad_or_no(t), (cmd, t)
    un, t = m.cmd("UID FETCH 999 (FLAGS)")    # UIDs that do not exist: skipped
    assert t.startswith("OK") and un == [], (un, t)
    un, t = m.cmd("FETCH 1 (NOSUCHITEM)")
    assert t.startswith("BAD"), t


def test_imap_examine_is_read_only(p):
    deliver(p)
    m = Imap(p)
    m.login()
    un, t = m.cmd("EXAMINE INBOX")
    assert "[READ-ONLY]" in t, t
    un, t = m.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert t.startswith("NO"), t
    un, t = m.cmd("EXPUNGE")
    assert t.startswith("NO"), t
    m.send("f FETCH 1 (BODY[])\r\n")
    un, t = m.until_raw("f")
    assert t.startswith("OK")
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Seen" not in un[0], un           # EXAMINE never sets \Seen
    un, t = m.cmd("CLOSE")
    assert t.startswith("OK")
    un, t = m.cmd("SELECT INBOX")
    assert "* 1 EXISTS" in un and "[READ-WRITE]" in t, (un, t)
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Deleted" not in un[0] and "\\Seen" not in un[0], un


def test_imap_uid_search_and_search_sets_with_keys(p):
    for i in range(1, 6):
        deliver(p, subject=f"s{i}", body=("needle\r\n" if i % 2 else "hay\r\n"))
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("UID FETCH 1:* (UID)")
    uids = [int(re.search(r"UID (\d+)", l).group(1)) for l in un]
    assert len(uids) == 5 and uids == sorted(uids)
    m.cmd("STORE 2,4 +FLAGS (\\Flagged)")
    un, t = m.cmd("SEARCH 1:4 BODY needle")
    assert un == ["* SEARCH 1 3"], un
    un, t = m.cmd("SEARCH 2:5 FLAGGED")
    assert un == ["* SEARCH 2 4"], un
    un, t = m.cmd("SEARCH OR 1 5 NOT FLAGGED")
    assert un == ["* SEARCH 1 5"], un
    un, t = m.cmd("UID SEARCH BODY needle")
    assert un == ["* SEARCH " + " ".join(str(uids[i]) for i in (0, 2, 4))], un
    un, t = m.cmd(f"UID SEARCH UID {uids[1]}:{uids[3]} UNFLAGGED")
    assert un == [f"* SEARCH {uids[2]}"], un
    un, t = m.cmd("SEARCH SUBJECT s3")
    assert un == ["* SEARCH 3"], un
    un, t = m.cmd("SEARCH SUBJECT nothing-like-this")
    assert un == ["* SEARCH"], un
    un, t = m.cmd("SEARCH CHARSET KOI8-R ALL")
    assert t.startswith("NO") and "BADCHARSET" in t, t
    un, t = m.cmd("SEARCH NOSUCHKEY")
    assert t.startswith("BAD"), t


def test_imap_append_to_nonexistent_folder_trycreate(p):
    m = Imap(p)
    m.login()
    tag = m.tag()
    m.send(f"{tag} APPEND NoSuchBox {{9}}\r\n")
    first = m.resp().decode()
    if first.startswith("+"):
        m.send("Subject:x\r\n")
        un, t = m.until(tag)
    else:
        t = first[len(tag) + 1:]
    assert t.startswith("NO [TRYCREATE]"), t
    un, t = m.cmd("LIST \"\" NoSuchBox")
    assert un == [], un
    un, t = m.cmd("COPY 1 NoSuchBox")
    assert bad_or_no(t)


def test_imap_append_internaldate_flags_and_uidnext(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("STATUS INBOX (UIDNEXT UIDVALIDITY MESSAGES)")
    st = " ".join(un)
    uidnext = int(re.search(r"UIDNEXT (\d+)", st).group(1))
    uv = int(re.search(r"UIDVALIDITY (\d+)", st).group(1))
    msg = b"From: a@example.org\r\nSubject: appended\r\n\r\nbody line\r\n"
    tag = m.tag()
    m.send(f'{tag} APPEND INBOX (\\Seen \\Flagged) "05-Mar-2021 14:07:09 +0200" {{{len(msg)}}}\r\n'.encode())
    assert m.rawline().startswith(b"+")
    m.send(msg + b"\r\n")
    un, t = m.until(tag)
    assert t.startswith("OK"), t
    a = re.search(r"\[APPENDUID (\d+) (\d+)\]", t)
    assert a, t
    assert int(a.group(1)) == uv and int(a.group(2)) >= uidnext, (t, uidnext)
    new_uid = int(a.group(2))
    un, t = m.cmd("STATUS INBOX (UIDNEXT MESSAGES)")
    st = " ".join(un)
    assert int(re.search(r"UIDNEXT (\d+)", st).group(1)) > new_uid, st
    assert "MESSAGES 1" in st
    un, t = m.cmd("SELECT INBOX")
    m.send(f"f UID FETCH {new_uid} (INTERNALDATE FLAGS RFC822.SIZE BODY.PEEK[])\r\n".encode())
    un, t = m.until_raw("f")
    r = un[0]
    d = re.search(rb'INTERNALDATE "([^"]+)"', r).group(1).decode()
    assert d in ("05-Mar-2021 12:07:09 +0000", "05-Mar-2021 14:07:09 +0200"), d
    flags = re.search(rb"FLAGS \(([^)]*)\)", r).group(1).split()
    assert set(flags) == {b"\\Seen", b"\\Flagged"}, flags
    size = int(re.search(rb"RFC822.SIZE (\d+)", r).group(1))
    assert literal(r) == msg and size == len(msg), (size, literal(r))
    # the Maildir file name carries the flags (SPEC 3)
    cur = [f.name for f in (p.maildir(BOB, "cur")).iterdir()]
    assert any(n.endswith(":2,FS") for n in cur), cur


def test_imap_append_bad_date_and_bad_flag(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd('APPEND INBOX "31-Foo-2021 14:07:09 +0200" {5+}\r\nhello')
    assert t.startswith("BAD") or t.startswith("NO"), t
    un, t = m.cmd("STATUS INBOX (MESSAGES)")
    assert "MESSAGES 0" in " ".join(un), un


def test_imap_copy_to_new_folder_then_status(p):
    for i in range(3):
        deliver(p, subject=f"c{i}")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1 +FLAGS (\\Seen)")
    un, t = m.cmd("COPY 1:2 Fresh")
    assert t.startswith("NO") and "[TRYCREATE]" in t, t
    un, t = m.cmd("CREATE Fresh")
    assert t.startswith("OK")
    un, ct = m.cmd("COPY 1:2 Fresh")
    assert ct.startswith("OK") and "[COPYUID " in ct, ct
    un, t = m.cmd("STATUS Fresh (MESSAGES UNSEEN UIDNEXT RECENT UIDVALIDITY)")
    st = " ".join(un)
    assert "MESSAGES 2" in st and "UNSEEN 1" in st, st
    cu = re.search(r"COPYUID \d+ (\S+) (\S+)\]", ct)
    last = int(re.split(r"[:,]", cu.group(2))[-1])
    assert int(re.search(r"UIDNEXT (\d+)", st).group(1)) > last, (st, t)
    un, t = m.cmd("STATUS INBOX (MESSAGES UNSEEN)")
    st = " ".join(un)
    assert "MESSAGES 3" in st and "UNSEEN 2" in st, st


def test_imap_move_sends_expunge_in_order(p):
    for i in range(4):
        deliver(p, subject=f"mv{i}")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("MOVE 2,4 Trash")
    assert t.startswith("OK"), t
    exp = [l for l in un if l.endswith(" EXPUNGE")]
    # the sequence numbers must be valid at the time each EXPUNGE is sent:
    # "4 then 2" or "2 then 3"
    assert exp in (["* 4 EXPUNGE", "* 2 EXPUNGE"], ["* 2 EXPUNGE", "* 3 EXPUNGE"]), un
    assert any("[COPYUID " in l for l in un) or "[COPYUID " in t, (un, t)
    un, t = m.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subj = re.findall(r"Subject: (mv\d)", " ".join(un))
    assert subj == ["mv0", "mv2"], un
    un, t = m.cmd("STATUS Trash (MESSAGES)")
    assert "MESSAGES 2" in " ".join(un), un


def test_imap_subscribe_unsubscribe_lsub(p):
    m = Imap(p)
    m.login()
    m.cmd("CREATE Lists")
    un, t = m.cmd("SUBSCRIBE Lists")
    assert t.startswith("OK"), t
    un, t = m.cmd('LSUB "" "*"')
    assert "Lists" in _list_names(un), un
    un, t = m.cmd("UNSUBSCRIBE Lists")
    assert t.startswith("OK"), t
    un, t = m.cmd('LSUB "" "*"')
    assert "Lists" not in _list_names(un), un
    un, t = m.cmd('LIST "" Lists')
    assert "Lists" in _list_names(un), un


def test_imap_namespace_id_enable_exact(p):
    m = Imap(p)
    un, t = m.cmd('ID ("name" "blackbox" "version" "1")')  # allowed before login
    assert un == ["* ID NIL"] and t.startswith("OK"), (un, t)
    m.login()
    un, t = m.cmd("NAMESPACE")
    assert un == ['* NAMESPACE (("" "/")) NIL NIL'] and t.startswith("OK"), (un, t)
    un, t = m.cmd("ID NIL")
    assert un == ["* ID NIL"] and t.startswith("OK"), (un, t)
    un, t = m.cmd("ENABLE CONDSTORE")
    assert un == ["* ENABLED"] and t.startswith("OK"), (un, t)
    un, t = m.cmd('LIST "" ""')
    assert un == ['* LIST (\\Noselect) "/" ""'], un


def test_imap_idle_done(p):
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    tag = m.tag()
    m.send(f"{tag} IDLE\r\n")
    assert m.rawline().startswith(b"+")
    deliver(p, subject="while idling")
    seen = []
    while True:
        r = m.resp().decode()
        seen.append(r)
        if r == "* 1 EXISTS":
            break
    m.send("DONE\r\n")
    un, t = m.until(tag)
    assert t.startswith("OK"), (un, t)
    un, t = m.cmd("NOOP")
    assert t.startswith("OK")


def test_imap_logout_bye_then_ok_then_close(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("LOGOUT")
    assert len(un) == 1 and un[0].startswith("* BYE"), un
    assert t.startswith("OK"), t
    assert m.closed()


def test_imap_delivered_message_crlf_sizes(p):
    deliver(p, body="l1\r\nl2\r\n\r\nl4\r\n")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[HEADER])\r\n")
    un, t = m.until_raw("a")
    r = un[0]
    parts = re.findall(rb"(BODY\[[A-Z]*\]) \{(\d+)\}\r\n", r)
    datas = {}
    for name, n in parts:
        i = r.index(name + b" {" + n + b"}\r\n") + len(name) + len(n) + 5
        datas[name] = r[i:i + int(n)]
    full = datas[b"BODY[]"]
    size = int(re.search(rb"RFC822.SIZE (\d+)", r).group(1))
    assert size == len(full), (size, len(full))
    assert b"\n" not in full.replace(b"\r\n", b"")
    assert full.startswith(b"Return-Path: <alice@example.org>\r\n") or \
        re.search(rb"(?m)^Return-Path: <alice@example\.org>\r$", full), full[:300]
    assert re.search(rb"(?m)^Delivered-To: bob@example\.org\r$", full), full[:300]
    assert datas[b"BODY[HEADER]"] + datas[b"BODY[TEXT]"] == full
    assert datas[b"BODY[TEXT]"] == b"l1\r\nl2\r\n\r\nl4\r\n"
    # the same size over POP3
    m.cmd("LOGOUT")
    c = Pop(p)
    c.login()
    assert c.cmd("LIST 1") == f"+OK 1 {size}"


def test_imap_disabled_user_cannot_login(p):
    p.cli("user", "set", BOB, "enabled=false")
    m = Imap(p)
    un, t = m.cmd(f'LOGIN "{BOB}" "{PASSWORD}"')
    assert t.startswith("NO"), t
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    un, t = m.cmd("AUTHENTICATE PLAIN " + ir)
    assert t.startswith("NO"), t
    p.cli("user", "set", BOB, "enabled=true")
    m = Imap(p)
    m.login()


def test_imap_password_change_and_address_case(p):
    p.cli("user", "passwd", BOB, input="brand new pw\n")
    m = Imap(p)
    un, t = m.cmd(f'LOGIN "{BOB}" "{PASSWORD}"')
    assert t.startswith("NO"), t
    un, t = m.cmd('LOGIN "Bob@EXAMPLE.org" "brand new pw"')
    assert t.startswith("OK"), t
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK")
    # the same mailbox as the lower-case login
    assert (p.data_dir / "mail" / "example.org" / "bob").is_dir()
    assert not (p.data_dir / "mail" / "example.org" / "Bob").exists()


def test_imap_login_logged_with_ip_user_result(p):
    m = Imap(p)
    m.cmd(f'LOGIN "{BOB}" "wrongpw"')
    m.login()
    lines = [l for l in p.log_lines() if "event=login" in l]
    deadline = time.time() + 5
    while len(lines) < 2 and time.time() < deadline:
        time.sleep(0.05)
        lines = [l for l in p.log_lines() if "event=login" in l]
    assert len(lines) >= 2, lines
    fail = [l for l in lines if "result=fail" in l]
    ok = [l for l in lines if "result=ok" in l]
    assert fail and ok, lines
    for l in fail[:1] + ok[:1]:
        assert "service=imap" in l and "ip=127.0.0.1" in l and f"user={BOB}" in l, l
        assert "wrongpw" not in l and PASSWORD not in l, l


def test_imap_unselect_and_close_semantics(p):
    for i in range(2):
        deliver(p, subject=f"u{i}")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    un, t = m.cmd("UNSELECT")
    assert t.startswith("OK") and un == [], (un, t)
    un, t = m.cmd("SELECT INBOX")
    assert "* 2 EXISTS" in un, un
    un, t = m.cmd("CLOSE")
    assert t.startswith("OK") and not any("EXPUNGE" in l for l in un), un
    un, t = m.cmd("STATUS INBOX (MESSAGES)")
    assert "MESSAGES 1" in " ".join(un), un


def test_imap_store_silent_and_flags_persist(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("STORE 1 +FLAGS.SILENT (\\Answered)")
    assert t.startswith("OK") and un == [], un
    un, t = m.cmd("STORE 1 FLAGS (\\Flagged \\Draft)")
    assert t.startswith("OK") and "\\Answered" not in un[0] and "\\Flagged" in un[0], un
    un, t = m.cmd("STORE 1 -FLAGS (\\Draft)")
    assert "\\Draft" not in un[0]
    m.cmd("LOGOUT")
    p.stop()
    p.start()
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("FETCH 1 (FLAGS)")
    fl = re.search(r"FLAGS \(([^)]*)\)", un[0]).group(1).split()
    assert set(fl) - {"\\Recent"} == {"\\Flagged"}, un


def test_imap_pop3_and_imap_share_deletions(p):
    deliver(p, subject="x1")
    deliver(p, subject="x2")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1 +FLAGS (\\Deleted)")
    un, t = m.cmd("EXPUNGE")
    assert [l for l in un if "EXPUNGE" in l] == ["* 1 EXPUNGE"], un
    m.cmd("LOGOUT")
    c = Pop(p)
    r = c.login()
    assert "1 message" in r, r
    assert c.cmd("RETR 1").startswith("+OK")
    assert b"Subject: x2" in body_bytes(c.multi())


def test_imap_copy_is_not_recent_in_destination(p):
    """docs/imap.md: only mail delivered to new/ is recent; a COPY is not
    (RFC 3501 6.4.7's SHOULD, a documented choice)."""
    deliver(p, subject="r1")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("COPY 1 Trash")
    assert t.startswith("OK"), t
    un, t = m.cmd("STATUS Trash (MESSAGES RECENT)")
    st = " ".join(un)
    assert "MESSAGES 1" in st and "RECENT 0" in st, st


def test_imap_special_folders_subscribed_at_first_login(p):
    """docs/architecture.md: Sent, Drafts, Trash and Junk, "which the first
    login makes and subscribes"."""
    m = Imap(p)
    m.login()
    un, t = m.cmd('LSUB "" "*"')
    assert t.startswith("OK"), t
    names = _list_names(un)
    for n in ("Sent", "Drafts", "Trash", "Junk"):
        assert n in names, un


def test_pop3_retr_does_not_set_seen_and_dele_all(p):
    deliver(p, subject="p1")
    deliver(p, subject="p2")
    c = Pop(p)
    c.login()
    assert c.cmd("RETR 1").startswith("+OK")
    c.multi()
    assert c.cmd("DELE 2").startswith("+OK")
    r = c.cmd("QUIT")
    assert r.startswith("+OK") and "1" in r, r
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert "* 1 EXISTS" in un, un
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Seen" not in un[0], un
    m.cmd("LOGOUT")
    c = Pop(p)
    c.login()
    assert c.cmd("DELE 1").startswith("+OK")
    r = c.cmd("QUIT")
    assert r.startswith("+OK"), r
    assert p.messages(BOB) == []


def test_imap_login_opens_smtp_after_pop_window(make_postern):
    p = make_postern(mailbox=True,
                     extra='relay = { trusted_networks = []; smtp_after_pop = 60; };')

    def relay_rcpt(sender="friend@remote.example"):
        with p.smtp() as c:
            c.ehlo("client.example.net")
            code, text = c.mail(sender)
            if code == 250:
                code, text = c.rcpt("someone@remote.example")
            c.rset()
            return code, text.decode()
    code, text = relay_rcpt()
    assert code == 554 and text.startswith("5.7.1"), text
    m = Imap(p)
    un, t = m.cmd(f'LOGIN "{BOB}" "wrong"')          # a failure opens nothing
    code, text = relay_rcpt()
    assert code == 554, text
    m.login()
    code, text = relay_rcpt(ALICE)        # trusted now: relays (local sender)
    assert code == 250, text


def test_failed_logins_over_pop3_and_imap_share_the_ban(p):
    """SPEC 2/5, issue 7: POP3 and IMAP failures count toward the same
    per-IP ban (failures_before_ban = 5): the 5th failure bans."""
    c = Pop(p)
    for _ in range(2):
        c.cmd("USER " + BOB)
        assert c.cmd("PASS bad").startswith("-ERR [AUTH]")
    m = Imap(p)
    for _ in range(2):
        un, t = m.cmd(f'LOGIN "{BOB}" "bad"')
        assert t.startswith("NO"), t
    m.send(f'z LOGIN "{ALICE}" "bad"\r\n')
    assert m.closed()
    # docs/imap.md: the failure that bans answers * BYE and closes
    assert m.buf.startswith(b"* BYE"), m.buf
    p.wait_log("event=ban")
    # banned on every listener: POP3 closes before any greeting
    s = socket.create_connection(("127.0.0.1", p.pop3s_port), timeout=5)
    s.settimeout(5)
    try:
        w = client_tls().wrap_socket(s)
        data = w.recv(100)
        assert data == b"", data
    except (ssl_errors()) :
        pass


def ssl_errors():
    import ssl
    return (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError)


def test_imap_folder_name_with_dot_is_not_a_hierarchy(p):
    """Maildir++ uses '.' on disk; the IMAP separator is '/': a name with
    a dot must come back as written (or be refused), never as a child."""
    m = Imap(p)
    m.login()
    un, t = m.cmd('CREATE "v1.2"')
    if bad_or_no(t):
        return
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    assert "v1.2" in names and "v1/2" not in names and "v1" not in names, names


@pytest.mark.parametrize("name", ["..", "../escape", "a/../../escape", "/abs",
                                  "&AC4ALg-/escape", "a//b"])
def test_imap_create_path_traversal_stays_inside_maildir(p, name):
    m = Imap(p)
    m.login()
    un, t = m.cmd(f'CREATE "{name}"')
    root = p.data_dir / "mail"
    # nothing outside the user's Maildir (the mail root, the domain dir)
    assert not (root / "escape").exists() and not (root.parent / "escape").exists()
    assert not (root / "example.org" / "escape").exists()
    assert not (root / "example.org" / ".escape").exists()
    assert not any(d.name not in ("bob", "alice") for d in (root / "example.org").iterdir()), \
        list((root / "example.org").iterdir())
    if t.startswith("OK"):
        un, t2 = m.cmd('LIST "" "*"')
        assert t2.startswith("OK")


def test_imap_delete_rename_errors(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("DELETE NoSuch")
    assert t.startswith("NO"), t
    un, t = m.cmd("RENAME NoSuch Other")
    assert t.startswith("NO"), t
    un, t = m.cmd("RENAME Sent Trash")            # target exists
    assert t.startswith("NO"), t
    m.cmd("CREATE Parent/Child")
    un, t = m.cmd("DELETE Parent")                # has children (docs/imap.md)
    assert t.startswith("NO"), t
    un, t = m.cmd('LIST "" "%"')
    names = _list_names(un)
    assert "Parent" in names and "Parent/Child" not in names, names
    un, t = m.cmd('LIST "Parent/" "%"')
    assert list(_list_names(un)) == ["Parent/Child"], un
    un, t = m.cmd("RENAME Parent Moved")
    assert t.startswith("OK"), t
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    assert "Moved/Child" in names and "Parent/Child" not in names, names


def test_imap_uid_expunge_copy_move(p):
    for i in range(4):
        deliver(p, subject=f"e{i}")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("UID FETCH 1:* (UID)")
    uids = [int(re.search(r"UID (\d+)", l).group(1)) for l in un]
    m.cmd("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
    un, t = m.cmd(f"UID EXPUNGE {uids[1]}")        # UIDPLUS: only that one
    assert t.startswith("OK"), t
    assert [l for l in un if "EXPUNGE" in l] == ["* 2 EXPUNGE"], un
    m.cmd("STORE 1:3 -FLAGS.SILENT (\\Deleted)")
    un, t = m.cmd(f"UID COPY {uids[0]} Drafts")
    assert t.startswith("OK") and f"[COPYUID " in t, t
    un, t = m.cmd(f"UID MOVE {uids[3]} Drafts")
    assert t.startswith("OK"), t
    assert [l for l in un if "EXPUNGE" in l] == ["* 3 EXPUNGE"], un
    un, t = m.cmd("STATUS Drafts (MESSAGES)")
    assert "MESSAGES 2" in " ".join(un), un
    un, t = m.cmd("UID FETCH 1:* (UID)")
    assert [int(re.search(r"UID (\d+)", l).group(1)) for l in un] == [uids[0], uids[2]], un


def test_imap_expunge_several(p):
    for i in range(4):
        deliver(p, subject=f"x{i}")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    un, t = m.cmd("EXPUNGE")
    exp = [int(l.split()[1]) for l in un if l.endswith(" EXPUNGE")]
    # apply the EXPUNGEs in order to [1,2,3,4]: only message 4 may remain
    seqs = [0, 1, 2, 3]
    for n in exp:
        assert 1 <= n <= len(seqs), (exp, un)
        del seqs[n - 1]
    assert seqs == [3], (exp, un)
    un, t = m.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: x3" in " ".join(un) and len([l for l in un if "FETCH" in l]) == 1, un


def test_imap_bodystructure_and_envelope_consistent(p):
    deliver(p, subject="env test", body="a\r\nbb\r\nccc\r\n")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (BODYSTRUCTURE ENVELOPE BODY.PEEK[TEXT])\r\n")
    un, t = m.until_raw("a")
    r = un[0]
    text = literal(r)
    bs = re.search(rb'BODYSTRUCTURE \("TEXT" "PLAIN" (\([^)]*\)|NIL) NIL NIL "7BIT" (\d+) (\d+)', r)
    assert bs, r
    assert int(bs.group(2)) == len(text) and int(bs.group(3)) == 3, (bs.groups(), text)
    assert b'"env test"' in r
    assert re.search(rb'\(\(NIL NIL "alice" "example.org"\)\)', r), r


def test_imap_partial_fetch_and_rfc822_size_after_append(p):
    m = Imap(p)
    m.login()
    msg = b"Subject: p\r\n\r\n0123456789\r\n"
    un, t = m.cmd(f"APPEND INBOX {{{len(msg)}+}}\r\n" + msg.decode())
    assert t.startswith("OK"), t
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (BODY.PEEK[TEXT]<2.5> BODY.PEEK[]<0.3> BODY.PEEK[]<100.5>)\r\n")
    un, t = m.until_raw("a")
    r = un[0]
    assert b'BODY[TEXT]<2> "23456"' in r or b"BODY[TEXT]<2> {5}\r\n23456" in r, r
    assert b'BODY[]<0> "Sub"' in r or b"BODY[]<0> {3}\r\nSub" in r, r
    assert b'BODY[]<100> ""' in r or b"BODY[]<100> {0}\r\n" in r, r


def test_pop3_update_seen_by_selected_imap_session(p):
    deliver(p, subject="a")
    deliver(p, subject="b")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert "* 2 EXISTS" in un
    c = Pop(p)
    c.login()
    c.cmd("DELE 1")
    assert c.cmd("QUIT").startswith("+OK")
    un, t = m.cmd("NOOP")
    assert "* 1 EXPUNGE" in un, un
    un, t = m.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert "Subject: b" in " ".join(un), un


def test_imap_logout_does_not_expunge(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1 +FLAGS (\\Deleted)")
    m.cmd("LOGOUT")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert "* 1 EXISTS" in un, un
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert "\\Deleted" in un[0], un


def test_imap_flags_in_maildir_names_and_external_maildir_files(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.cmd("STORE 1 +FLAGS (\\Seen \\Answered)")
    cur = p.maildir(BOB, "cur")
    assert any(f.name.endswith(":2,RS") for f in cur.iterdir()), list(cur.iterdir())
    # a message put there by another Maildir tool, flagged in its name
    put(cur / "1700000000.M1P1.otherhost:2,FS",
        b"From: x@example.net\nSubject: external\n\nhi\n")
    put(p.maildir(BOB, "new") / "1700000001.M2P2.otherhost",
        b"From: y@example.net\nSubject: external new\n\nhi\n")
    un, t = m.cmd("NOOP")
    assert "* 3 EXISTS" in un, un
    un, t = m.cmd("FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    joined = " ".join(un)
    ext = [l for l in un if "Subject: external\r" in l or l.endswith("Subject: external")]
    assert "Subject: external new" in joined, un
    by_subj = {}
    for l in un:
        mm = re.search(r"Subject: ([^\r]*)", l)
        if mm:
            by_subj[mm.group(1).strip()] = l
    assert "\\Flagged" in by_subj["external"] and "\\Seen" in by_subj["external"], un
    assert "\\Seen" not in by_subj["external new"], un
    size = int(re.search(r"RFC822.SIZE (\d+)", by_subj["external"]).group(1))
    assert size == len(b"From: x@example.net\r\nSubject: external\r\n\r\nhi\r\n"), size


def test_imap_recreated_folder_does_not_reuse_uids(p):
    """RFC 3501 6.3.4/2.3.1.1: a mailbox deleted and created again gets a
    new UIDVALIDITY or keeps counting UIDs."""
    m = Imap(p)
    m.login()
    m.cmd("CREATE Again")
    un, t = m.cmd("APPEND Again {12+}\r\nSubject: x\r\n")
    a1 = re.search(r"APPENDUID (\d+) (\d+)", t).groups()
    m.cmd("DELETE Again")
    m.cmd("CREATE Again")
    un, t = m.cmd("APPEND Again {12+}\r\nSubject: y\r\n")
    a2 = re.search(r"APPENDUID (\d+) (\d+)", t).groups()
    assert a1[0] != a2[0] or int(a2[1]) > int(a1[1]), (a1, a2)
    # and the same through RENAME: the old name made again is a new mailbox
    m.cmd("RENAME Again Renamed")
    m.cmd("CREATE Again")
    un, t = m.cmd("APPEND Again {12+}\r\nSubject: z\r\n")
    a3 = re.search(r"APPENDUID (\d+) (\d+)", t).groups()
    assert a3[0] != a2[0] or int(a3[1]) > int(a2[1]), (a2, a3)


def test_imap_uids_not_reused_after_expunge_all_and_restart(p):
    deliver(p, subject="one")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    uv = re.search(r"UIDVALIDITY (\d+)", " ".join(un)).group(1)
    un, t = m.cmd("UID FETCH 1:* (UID)")
    old = int(re.search(r"UID (\d+)", un[0]).group(1))
    m.cmd("STORE 1 +FLAGS (\\Deleted)")
    m.cmd("EXPUNGE")
    m.cmd("LOGOUT")
    p.stop()
    p.start()
    deliver(p, subject="two")
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    uv2 = re.search(r"UIDVALIDITY (\d+)", " ".join(un)).group(1)
    un, t = m.cmd("UID FETCH 1:* (UID)")
    new = int(re.search(r"UID (\d+)", un[0]).group(1))
    assert uv2 != uv or new > old, (uv, uv2, old, new)
    assert uv2 == uv, "UIDVALIDITY changed across a restart"


def test_mixed_case_recipient_lands_in_same_mailbox(p):
    with p.smtp() as s:
        s.sendmail(ALICE, ["BOB@EXAMPLE.ORG"], message(subject="caps", to="BOB@EXAMPLE.ORG").encode())
    p.wait_messages(BOB, 1)
    c = Pop(p)
    r = c.login()
    assert "1 message" in r, r


def test_imap_search_utf8_subject_and_size_keys(p):
    raw = ("From: <alice@example.org>\r\nTo: <bob@example.org>\r\n"
           "Subject: =?UTF-8?Q?caf=C3=A9_menu?=\r\n"
           "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n").encode()
    deliver(p, raw=raw)
    deliver(p, subject="plain", body="y" * 2000 + "\r\n")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    word = "café".encode()
    tag = m.tag()
    m.send(f"{tag} SEARCH CHARSET UTF-8 SUBJECT {{{len(word)}}}\r\n".encode())
    assert m.rawline().startswith(b"+")
    m.send(word + b"\r\n")
    un, t = m.until(tag)
    assert un == ["* SEARCH 1"], (un, t)
    un, t = m.cmd("FETCH 1:2 (RFC822.SIZE)")
    sizes = [int(re.search(r"RFC822.SIZE (\d+)", l).group(1)) for l in un]
    un, t = m.cmd(f"SEARCH LARGER {sizes[1] - 1}")
    assert un == ["* SEARCH 2"], un
    un, t = m.cmd(f"SEARCH LARGER {sizes[1]}")
    assert un == ["* SEARCH"], un
    un, t = m.cmd(f"SEARCH SMALLER {sizes[0] + 1} NOT SMALLER {sizes[0]}")
    assert un == ["* SEARCH 1"], un
    # ENVELOPE subject is sent as written (RFC 2047 words not decoded)
    un, t = m.cmd("FETCH 1 (ENVELOPE)")
    assert "=?UTF-8?Q?caf=C3=A9_menu?=" in un[0], un


def test_imap_empty_mailbox_sets(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("SELECT INBOX")
    assert "* 0 EXISTS" in un
    un, t = m.cmd("FETCH 1:* (FLAGS)")
    assert t.startswith("OK") and un == [], (un, t)
    un, t = m.cmd("UID FETCH 1:* (FLAGS)")
    assert t.startswith("OK") and un == [], (un, t)
    un, t = m.cmd("SEARCH ALL")
    assert un == ["* SEARCH"], un
    un, t = m.cmd("FETCH 1 (FLAGS)")
    assert bad_or_no(t), t


def test_imap_select_with_literal_mailbox_name_and_recent(p):
    deliver(p)
    m = Imap(p)
    m.login()
    tag = m.tag()
    m.send(f"{tag} SELECT {{5}}\r\n")
    assert m.rawline().startswith(b"+")
    m.send("INBOX\r\n")
    un, t = m.until(tag)
    assert t.startswith("OK"), t
    assert "* 1 RECENT" in un, un
    un, t = m.cmd("SEARCH RECENT")
    assert un == ["* SEARCH 1"], un
    un, t = m.cmd("SEARCH NEW")
    assert un == ["* SEARCH 1"], un
    # a second session does not see it recent (RFC 3501 2.3.2)
    m2 = Imap(p)
    m2.login()
    un, t = m2.cmd("SELECT INBOX")
    assert "* 0 RECENT" in un, un


def test_pop3_documented_reply_texts(p):
    deliver(p)
    deliver(p)
    c = Pop(p)
    assert c.greeting == f"+OK {p.hostname} POP3 ready", c.greeting
    c.cmd("USER " + BOB)
    assert c.cmd("PASS x") == "-ERR [AUTH] invalid user name or password"
    assert c.cmd("PASS x") == "-ERR send USER first"
    r = c.login()
    assert re.fullmatch(r"\+OK maildrop has 2 messages \(\d+ octets\)", r), r
    assert c.cmd("DELE 1") == "+OK message 1 deleted"
    assert c.cmd("DELE 1") == "-ERR message 1 already deleted"
    assert c.cmd("RETR 1") == "-ERR message 1 already deleted"
    assert c.cmd("RETR 3") == "-ERR no such message"
    assert c.cmd("NOOP") == "+OK"
    assert c.cmd("FOO") == "-ERR unknown command"
    r = c.cmd("QUIT")
    assert re.fullmatch(r"\+OK bye \(1 messages? deleted\)", r), r


def test_pop3_line_length_boundary(p):
    c = Pop(p)
    # 255 octets with CRLF is the most (RFC 2449 4)
    ok = "USER " + "a" * (253 - 5)
    assert len(ok) + 2 == 255
    assert c.cmd(ok).startswith("+OK"), "255-octet line refused"
    r = c.cmd(ok + "a")
    assert r == "-ERR line too long", r
    assert c.cmd("NOOP").startswith("-ERR")      # not in AUTHORIZATION
    assert c.cmd("CAPA").startswith("+OK")


def test_pop3_password_with_spaces_verbatim(p):
    p.cli("user", "passwd", BOB, input=" lead and trail \n")
    c = Pop(p)
    c.cmd("USER " + BOB)
    assert c.cmd("PASS lead and trail").startswith("-ERR")
    c.cmd("USER " + BOB)
    r = c.cmd("PASS  lead and trail ")
    assert r.startswith("+OK"), r


def test_imap_login_password_with_quote_backslash_and_utf8(p):
    pw = 'p"a\\ss wörd'
    p.cli("user", "passwd", BOB, input=pw + "\n")
    m = Imap(p)
    q = pw.replace("\\", "\\\\").replace('"', '\\"')
    un, t = m.cmd(f'LOGIN "{BOB}" "{q}"')
    assert t.startswith("OK"), (q, t)
    m2 = Imap(p)
    b = pw.encode()
    tag = m2.tag()
    m2.send(f"{tag} LOGIN {BOB} {{{len(b)}}}\r\n".encode())
    assert m2.rawline().startswith(b"+")
    m2.send(b + b"\r\n")
    un, t = m2.until(tag)
    assert t.startswith("OK"), t


def test_imap_login_log_line_not_forgeable_and_quoted(p):
    """SPEC 6: one line per event, values with spaces quoted. A user name
    sent as a literal may hold CR LF: it must not start a new log line."""
    m = Imap(p)
    evil = b"x\r\n2026-11-24T00:00:00Z service=imap event=login ip=6.6.6.6 user=forged@example.org result=ok"
    tag = m.tag()
    m.send(f"{tag} LOGIN {{{len(evil)}}}\r\n".encode())
    assert m.rawline().startswith(b"+")
    m.send(evil + b' "pw"\r\n')
    un, t = m.until(tag)
    assert t.startswith("NO") or t.startswith("BAD"), t
    un, t = m.cmd('LOGIN "bob smith@example.org" "pw"')
    assert t.startswith("NO"), t
    time.sleep(0.5)
    lines = p.log_lines()
    for l in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", l), ("line not starting with a timestamp", l)
        assert not l.startswith("2026-11-24T00:00:00Z"), l
    sp = [l for l in lines if "event=login" in l and "smith" in l]
    assert sp and 'user="bob smith@example.org"' in sp[0], sp


def test_imap_status_and_list_bad_arguments(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("STATUS INBOX (NOSUCH)")
    assert t.startswith("BAD"), t
    un, t = m.cmd("STATUS INBOX")
    assert t.startswith("BAD"), t
    un, t = m.cmd('LIST "" "NoSuch*"')
    assert t.startswith("OK") and un == [], un
    un, t = m.cmd("SELECT")
    assert t.startswith("BAD"), t
    un, t = m.cmd("FETCH")
    assert bad_or_no(t), t


def test_imap_idle_other_input_than_done(p):
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    tag = m.tag()
    m.send(f"{tag} IDLE\r\n")
    assert m.rawline().startswith(b"+")
    m.send("x NOOP\r\n")
    # RFC 2177: only DONE ends IDLE; other input may be a protocol error.
    # Either way the IDLE command must end with a tagged reply or BYE.
    r = m.resp().decode()
    assert r.startswith(tag + " ") or r.startswith("* BYE") or r.startswith("x ") \
        or r.startswith("* BAD"), r


def test_imap_copy_and_move_preserve_flags_and_internaldate(p):
    m = Imap(p)
    m.login()
    msg = "Subject: keep\r\n\r\nx\r\n"
    un, t = m.cmd(f'APPEND INBOX (\\Flagged \\Answered) "01-Feb-2020 08:00:00 +0000" {{{len(msg)}+}}\r\n{msg}')
    assert t.startswith("OK"), t
    m.cmd("SELECT INBOX")
    un, t = m.cmd("COPY 1 Trash")
    assert t.startswith("OK"), t
    un, t = m.cmd("MOVE 1 Drafts")
    assert t.startswith("OK"), t
    for folder in ("Trash", "Drafts"):
        m.cmd(f"EXAMINE {folder}")
        un, t = m.cmd("FETCH 1 (FLAGS INTERNALDATE)")
        assert '"01-Feb-2020 08:00:00 +0000"' in un[0], (folder, un)
        fl = set(re.search(r"FLAGS \(([^)]*)\)", un[0]).group(1).split()) - {"\\Recent"}
        assert fl == {"\\Flagged", "\\Answered"}, (folder, un)


def test_imap_appended_message_seen_by_pop3(p):
    m = Imap(p)
    m.login()
    msg = "Subject: from imap\r\n\r\nline\r\n"
    un, t = m.cmd(f"APPEND INBOX {{{len(msg)}+}}\r\n{msg}")
    assert t.startswith("OK"), t
    m.cmd("LOGOUT")
    c = Pop(p)
    r = c.login()
    assert "1 message" in r, r
    assert c.cmd("LIST 1") == f"+OK 1 {len(msg)}"
    assert c.cmd("RETR 1").startswith("+OK")
    assert body_bytes(c.multi()) == msg.encode()


def test_imap_inbox_children_round_trip(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("CREATE INBOX/Sub")
    if bad_or_no(t):
        return
    un, t = m.cmd('LIST "" "*"')
    names = _list_names(un)
    assert "INBOX/Sub" in names, names
    assert "\\HasChildren" in names["INBOX"], names
    un, t = m.cmd("SELECT INBOX/Sub")
    assert t.startswith("OK"), t
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK"), t


def test_imap_create_trailing_separator_and_children_flags(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd("CREATE Top/")
    assert t.startswith("OK"), t
    un, t = m.cmd("CREATE Top/Kid")
    assert t.startswith("OK"), t
    un, t = m.cmd('LIST "" "Top*"')
    names = _list_names(un)
    assert set(names) == {"Top", "Top/Kid"}, names
    assert "\\HasChildren" in names["Top"] and "\\Noselect" not in names["Top"], names
    m.cmd("DELETE Top/Kid")
    un, t = m.cmd('LIST "" "Top*"')
    names = _list_names(un)
    assert set(names) == {"Top"} and "\\HasNoChildren" in names["Top"], names


def test_imap_internaldate_of_delivered_mail_and_date_search(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    un, t = m.cmd("FETCH 1 (INTERNALDATE)")
    d = re.search(r'INTERNALDATE "([^"]+)"', un[0]).group(1)
    got = time.mktime(time.strptime(d[:20], "%d-%b-%Y %H:%M:%S")) - time.timezone
    assert d.endswith("+0000") and abs(got - time.time()) < 300, d
    today = time.strftime("%d-%b-%Y", time.gmtime())
    un, t = m.cmd(f"SEARCH SINCE {today}")
    assert un == ["* SEARCH 1"], un
    un, t = m.cmd(f"SEARCH BEFORE {today}")
    assert un == ["* SEARCH"], un
    un, t = m.cmd("SEARCH SENTON 23-Nov-2026")
    assert un == ["* SEARCH 1"], un


def test_imap_fetch_sections_of_single_part(p):
    deliver(p, body="only part\r\n")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (BODY.PEEK[1] BODY.PEEK[TEXT])\r\n")
    un, t = m.until_raw("a")
    assert t.startswith("OK"), t
    r = un[0]
    assert re.search(rb'BODY\[1\] (\{11\}\r\nonly part\r\n|"only part\r\n")', r), r
    m.send("b FETCH 1 (BODY.PEEK[2])\r\n")
    un, t = m.until_raw("b")
    assert t.startswith("OK") or t.startswith("NO") or t.startswith("BAD"), t


def test_imap_no_expunge_during_fetch_store_search(p):
    """RFC 3501 7.4.1: EXPUNGE may not be sent during FETCH, STORE or
    SEARCH (docs/imap.md "Changes"); NOOP then reports it."""
    for i in range(3):
        deliver(p, subject=f"n{i}")
    a = Imap(p)
    a.login()
    a.cmd("SELECT INBOX")
    b = Imap(p)
    b.login()
    b.cmd("SELECT INBOX")
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    un, t = b.cmd("EXPUNGE")
    assert "* 1 EXPUNGE" in un
    for cmd in ("FETCH 2:3 (FLAGS)", "STORE 3 +FLAGS (\\Flagged)", "SEARCH ALL"):
        un, t = a.cmd(cmd)
        assert not any(l.endswith(" EXPUNGE") for l in un), (cmd, un)
    un, t = a.cmd("NOOP")
    assert "* 1 EXPUNGE" in un, un
    un, t = a.cmd("SEARCH ALL")
    assert un == ["* SEARCH 1 2"], un


def test_imap_login_and_authenticate_after_login(p):
    m = Imap(p)
    m.login()
    un, t = m.cmd(f'LOGIN "{BOB}" "{PASSWORD}"')
    assert bad_or_no(t), t
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    un, t = m.cmd("AUTHENTICATE PLAIN " + ir)
    assert bad_or_no(t), t
    m2 = Imap(p)
    un, t = m2.cmd("AUTHENTICATE PLAIN =")       # empty initial response
    assert bad_or_no(t), t
    m2.login()


def test_hand_placed_files_sizes_and_top(p):
    """Files put into the Maildir by another tool (SPEC 3: "any Maildir
    tool"): a CRLF file and a file whose header has no blank line."""
    m = Imap(p)
    m.login()                                   # makes the Maildir
    m.cmd("LOGOUT")
    new = p.maildir(BOB, "new")
    crlf = b"Subject: crlf\r\nFrom: a@example.net\r\n\r\nbody\r\n"
    put(new / "1700000000.M1P1.tool", crlf)
    put(new / "1700000001.M1P1.tool", b"Subject: nobody\nFrom: b@example.net\n")
    c = Pop(p)
    c.login()
    assert c.cmd("LIST").startswith("+OK")
    sizes = {int(a): int(b) for a, b in (l.split() for l in c.multi())}
    got = {}
    for n in (1, 2):
        assert c.cmd(f"RETR {n}").startswith("+OK")
        got[n] = body_bytes(c.multi())
        assert len(got[n]) == sizes[n], (n, got[n], sizes[n])
    assert got[1] == crlf
    n2 = 2 if b"nobody" in got[2] else 1
    assert c.cmd(f"TOP {n2} 0").startswith("+OK")
    assert body_bytes(c.multi()) == b"Subject: nobody\r\nFrom: b@example.net\r\n"
    c.cmd("QUIT")
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1:2 (RFC822.SIZE BODY.PEEK[])\r\n")
    un, t = m.until_raw("a")
    for r in un:
        size = int(re.search(rb"RFC822.SIZE (\d+)", r).group(1))
        assert size == len(literal(r)), r


def test_imap_folder_name_depth_limit(p):
    """docs/architecture.md limits (ours): 16 levels."""
    m = Imap(p)
    m.login()
    deep16 = "/".join("d%d" % i for i in range(16))
    un, t = m.cmd(f'CREATE "{deep16}"')
    assert t.startswith("OK"), t
    un, t = m.cmd(f'CREATE "{deep16}/d16"')
    assert t.startswith("NO"), t
    un, t = m.cmd(f'SELECT "{deep16}"')
    assert t.startswith("OK"), t
    un, t = m.cmd('LIST "" "*"')
    assert t.startswith("OK") and any(l.endswith(f'"{deep16}"') for l in un), un
    un, t = m.cmd('CREATE "%s"' % ("n" * 255))
    assert t.startswith("NO [CANNOT]"), t
    un, t = m.cmd('CREATE "%s"' % ("x" + "." * 85))
    assert t.startswith("NO [CANNOT]"), t


@pytest.mark.parametrize("name", ["n" * 254, "x" + "." * 84, "abcd/" + "n" * 249],
                         ids=["plain_254", "dots_85", "rename_to_254"])
def test_imap_folder_names_up_to_the_limit_accepted(p, name):
    """docs/architecture.md limits (ours): names of 254 bytes, each "."
    costing 2 more on disk. A name within that limit must be created (and
    a rename to it must work)."""
    m = Imap(p)
    m.login()
    if name.startswith("abcd/"):
        # the child made under a short parent, then the parent renamed
        un, t = m.cmd('CREATE "a/%s"' % name[5:])
        assert t.startswith("OK"), t
        un, t = m.cmd("RENAME a abcd")
    else:
        un, t = m.cmd(f'CREATE "{name}"')
    assert t.startswith("OK"), (len(name.encode()), t)
    un, t = m.cmd('LIST "" "*"')
    assert name in _list_names(un), un


def test_imap_thousand_folders_limit(p):
    """docs/architecture.md: at most 1,000 folders (ours); the server stays
    usable at the limit."""
    m = Imap(p)
    m.login()
    # pipelined: five special folders exist (INBOX, Sent, Drafts, Trash, Junk)
    batch = "".join(f"c{i} CREATE f{i:04d}\r\n" for i in range(1000))
    m.send(batch)
    res = []
    for i in range(1000):
        un, t = m.until(f"c{i}")
        res.append(t.split()[0])
    ok = res.count("OK")
    assert 990 <= ok <= 1000 and set(res) <= {"OK", "NO"}, (ok, set(res))
    assert "NO" in res, "no limit reached at 1000 CREATEs"
    un, t = m.cmd('LIST "" "*"')
    assert t.startswith("OK"), t
    assert len(un) <= 1000 + 5, len(un)


def test_dot_lines_and_8bit_body_over_pop3_and_imap(p):
    body = "before\r\n.\r\n..\r\ncaf\u00e9 \u2603\r\nafter\r\n"
    raw = ("From: <alice@example.org>\r\nTo: <bob@example.org>\r\n"
           "Subject: dots\r\n  folded continuation\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode()
    with p.smtp() as s:
        s.ehlo("client.example.net")
        s.sendmail(ALICE, [BOB], raw, mail_options=["BODY=8BITMIME"])
    p.wait_messages(BOB, 1)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (RFC822.SIZE BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    un, t = m.until_raw("a")
    r = un[0]
    lits = re.findall(rb"\{(\d+)\}\r\n", r)
    i = r.index(b"BODY[TEXT] {")
    text = literal(r[i:])
    assert text == body.encode(), text
    j = r.index(b"BODY[HEADER.FIELDS (SUBJECT)] ")
    hdr = r[j:]
    assert b"Subject: dots\r\n  folded continuation\r\n\r\n" in hdr, hdr
    size = int(re.search(rb"RFC822.SIZE (\d+)", r).group(1))
    un, t = m.cmd('SEARCH HEADER Delivered-To "bob@example.org"')
    assert un == ["* SEARCH 1"], un
    un, t = m.cmd('SEARCH SUBJECT "folded continuation"')
    assert un == ["* SEARCH 1"], un
    m.cmd("LOGOUT")
    c = Pop(p)
    c.login()
    assert c.cmd("LIST 1") == f"+OK 1 {size}"
    assert c.cmd("RETR 1").startswith("+OK")
    lines = c.multi()
    assert b".." in lines and b"..." in lines, lines     # stuffed on the wire
    data = body_bytes(lines)
    assert len(data) == size and data.endswith(body.encode())


def test_imap_huge_numbers_and_empty_append(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    for cmd in ("FETCH 99999999999 (FLAGS)", "FETCH 4294967296 (FLAGS)",
                "UID FETCH 99999999999 (FLAGS)", "SEARCH UID 99999999999"):
        un, t = m.cmd(cmd)
        assert t.startswith("BAD") or t.startswith("NO"), (cmd, t)
    un, t = m.cmd("UID FETCH 4294967295 (FLAGS)")
    assert t.startswith("OK") and un == [], (un, t)
    un, t = m.cmd("APPEND INBOX {0+}\r\n")
    assert t.startswith("OK") or t.startswith("NO") or t.startswith("BAD"), t
    un, t = m.cmd("NOOP")
    assert t.startswith("OK"), t
    un, t = m.cmd("STORE 1 (UNCHANGEDSINCE 5) +FLAGS (\\Seen)")
    assert t.startswith("BAD"), t


def test_sasl_plain_authcid_case_and_alias_and_removed_user(p):
    up = "BOB@Example.ORG"
    c = Pop(p)
    ir = base64.b64encode(f"\0{up}\0{PASSWORD}".encode()).decode()
    assert c.cmd("AUTH PLAIN " + ir).startswith("+OK")
    c.cmd("QUIT")
    m = Imap(p)
    un, t = m.cmd("AUTHENTICATE PLAIN " + ir)
    assert t.startswith("OK"), t
    # an alias is not an account: no login with it (SPEC 1: accounts are
    # named by their full address)
    p.cli("alias", "add", "info@example.org", BOB)
    m = Imap(p)
    un, t = m.cmd(f'LOGIN "info@example.org" "{PASSWORD}"')
    assert t.startswith("NO"), t
    c = Pop(p)
    c.cmd("USER info@example.org")
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR")
    # a removed user cannot log in any more
    p.cli("user", "remove", ALICE)
    m = Imap(p)
    un, t = m.cmd(f'LOGIN "{ALICE}" "{PASSWORD}"')
    assert t.startswith("NO"), t
    # an over-long user name is refused, the session goes on
    m = Imap(p)
    un, t = m.cmd('LOGIN "%s@example.org" "x"' % ("u" * 400))
    assert t.startswith("NO") or t.startswith("BAD"), t
    m.login()


def test_concurrent_appends_and_deliveries_get_unique_ascending_uids(p):
    import threading
    a = Imap(p)
    a.login()
    b = Imap(p)
    b.login()
    msg = "Subject: c\r\n\r\nx\r\n"

    def appends(c, prefix):
        c.send("".join(f"{prefix}{i} APPEND INBOX {{{len(msg)}+}}\r\n{msg}\r\n" for i in range(20)))

    def smtp_send():
        with p.smtp() as s:
            for i in range(10):
                s.sendmail(ALICE, [BOB], message(subject=f"d{i}").encode())
    th = threading.Thread(target=smtp_send)
    th.start()
    appends(a, "a")
    appends(b, "b")
    uids = []
    for c, prefix in ((a, "a"), (b, "b")):
        for i in range(20):
            un, t = c.until(f"{prefix}{i}")
            assert t.startswith("OK"), t
            uids.append(int(re.search(r"APPENDUID \d+ (\d+)", t).group(1)))
    th.join()
    p.wait_messages(BOB, 50)
    assert len(set(uids)) == 40, sorted(uids)
    un, t = a.cmd("SELECT INBOX")
    assert "* 50 EXISTS" in un, un
    un, t = a.cmd("FETCH 1:* (UID)")
    got = [int(re.search(r"UID (\d+)", l).group(1)) for l in un if "FETCH" in l]
    assert len(got) == 50 and got == sorted(got) and len(set(got)) == 50, got
    assert set(uids) <= set(got)
    c = Pop(p)
    c.login()
    assert c.cmd("UIDL").startswith("+OK")
    ids = [l.split()[1] for l in c.multi()]
    assert len(ids) == 50 and len(set(ids)) == 50


@pytest.mark.parametrize("svc", ["pop3", "pop3s", "imap", "imaps"])
def test_listener_allow_list_applies_to_mailbox_services(make_postern, svc):
    """SPEC 2: per listener, `allow` restricts who may connect; others are
    disconnected at once (SPEC 5: before any banner)."""
    p = make_postern(mailbox=True, start=False)
    port = p.mailbox_ports()[svc]
    text = p.config_text()
    old = f'{{ service = "{svc}"; address = "127.0.0.1:{port}"; }}'
    assert old in text
    p.conf.write_text(text.replace(old, f'{{ service = "{svc}"; address = "127.0.0.1:{port}"; '
                                        f'allow = ["127.0.0.1/32"]; }}'))
    p.start(repick=False)
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=("127.0.0.2", 0))
    s.settimeout(5)
    try:
        data = s.recv(100)
    except OSError:
        data = b""
    assert data == b"", data
    s.close()
    tls = svc.endswith("s")
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=("127.0.0.1", 0))
    if tls:
        s = client_tls().wrap_socket(s)
    s.settimeout(5)
    data = s.recv(100)
    assert data.startswith(b"+OK") or data.startswith(b"* OK"), data


def test_pop3_quit_keeps_mail_delivered_during_session(p):
    deliver(p, subject="old")
    c = Pop(p)
    c.login()
    assert c.cmd("DELE 1").startswith("+OK")
    deliver(p, subject="new during session")
    assert c.cmd("STAT").startswith("+OK 0 ")
    assert c.cmd("QUIT").startswith("+OK")
    c = Pop(p)
    assert "1 message" in c.login()
    assert c.cmd("TOP 1 0").startswith("+OK")
    assert b"Subject: new during session" in body_bytes(c.multi())


def test_imap_delete_and_rename_of_selected_folder(p):
    m = Imap(p)
    m.login()
    m.cmd("CREATE Doomed")
    un, t = m.cmd("APPEND Doomed {12+}\r\nSubject: d\r\n")
    m.cmd("SELECT Doomed")
    un, t = m.cmd("RENAME Doomed Renamed")
    assert t.startswith("OK") or t.startswith("NO"), t
    un, t = m.cmd("NOOP")
    assert t.startswith("OK") or t.startswith("NO") or t.startswith("BAD"), (un, t)
    name = "Renamed" if "Renamed" in _list_names(m.cmd('LIST "" "*"')[0]) else "Doomed"
    m.cmd(f"SELECT {name}")
    un, t = m.cmd(f"DELETE {name}")
    assert t.startswith("OK") or t.startswith("NO"), t
    un, t = m.cmd("NOOP")
    assert t.startswith("OK") or t.startswith("NO") or t.startswith("BAD"), (un, t)
    un, t = m.cmd("FETCH 1:* (FLAGS)")
    assert t.split()[0] in ("OK", "NO", "BAD"), t
    un, t = m.cmd("SELECT INBOX")
    assert t.startswith("OK"), t
    if name not in _list_names(m.cmd('LIST "" "*"')[0]):
        un, t = m.cmd(f"SELECT {name}")
        assert t.startswith("NO"), t


@pytest.mark.parametrize("msg", [b"Subject: lf\nX: y\n\nbody\nmore\n",
                                 b"Subject: cr\r\n\r\nA\rB\r\n",
                                 b"Subject: noeol\r\n\r\nlast line",
                                 b"Subject: mixed\r\nX: y\n\r\nbody\n"],
                         ids=["bare_lf", "bare_cr", "no_final_eol", "mixed"])
def test_appended_odd_line_ends_sizes_consistent(p, msg):
    """Whatever a client APPENDs, RFC822.SIZE equals the bytes FETCH BODY[]
    sends, and POP3's LIST equals what RETR sends (RFC 3501 2.3.4,
    RFC 1939 11: the octet counts)."""
    m = Imap(p)
    m.login()
    tag = m.tag()
    m.send(f"{tag} APPEND INBOX {{{len(msg)}}}\r\n".encode())
    first = m.rawline()
    if not first.startswith(b"+"):
        return
    m.send(msg + b"\r\n")
    un, t = m.until(tag)
    if not t.startswith("OK"):
        assert t.startswith("NO") or t.startswith("BAD"), t
        return
    m.cmd("SELECT INBOX")
    m.send("a FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n")
    un, t = m.until_raw("a")
    r = un[0]
    size = int(re.search(rb"RFC822.SIZE (\d+)", r).group(1))
    full = literal(r)
    assert size == len(full), (size, full)
    m.cmd("LOGOUT")
    c = Pop(p)
    c.login()
    lsize = int(c.cmd("LIST 1").split()[2])
    assert c.cmd("RETR 1").startswith("+OK")
    data = body_bytes(c.multi())
    assert lsize == len(data), (lsize, data)
    assert lsize == size, (lsize, size)


def test_imap_fetch_odd_sections_and_partials(p):
    deliver(p)
    m = Imap(p)
    m.login()
    m.cmd("SELECT INBOX")
    for item in ("BODY.PEEK[]<4294967295.10>", "BODY.PEEK[]<0.0>", "BODY.PEEK[]<4294967296.1>",
                 "BODY.PEEK[1.2.3.4.5.6.7.8.9.10]", "BODY.PEEK[HEADER.FIELDS ()]",
                 "BODY.PEEK[0]", "BODY.PEEK[1.MIME]", "BODY.PEEK[TEXT]<5.4294967295>",
                 "BINARY[]", "BODY.PEEK[HEADER.FIELDS (" + " ".join(["X"] * 65) + ")]"):
        m.send(f"a FETCH 1 ({item})\r\n")
        un, t = m.until_raw("a")
        assert t.split()[0] in ("OK", "NO", "BAD"), (item, t)
    un, t = m.cmd("NOOP")
    assert t.startswith("OK"), t
    # RFC 3501 9: the count of a partial is nz-number: <0.0> is a BAD
    un, t = m.cmd("FETCH 1 (BODY.PEEK[]<0.0>)")
    assert t.startswith("BAD"), t
    m.send("b FETCH 1 (BODY.PEEK[]<0.1> BODY.PEEK[]<100000.5>)\r\n")
    un, t = m.until_raw("b")
    assert t.startswith("OK"), t
    assert re.search(rb'BODY\[\]<100000> (""|\{0\}\r\n)', un[0]), un
