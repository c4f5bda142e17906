"""IMAP4rev1 sessions (RFC 3501 and the extensions of SPEC 5) driven by
Python's imaplib, a raw TLS socket for what imaplib cannot say (IDLE,
SASL-IR, oversized literals), curl and mbsync. Mail arrives through the
SMTP port, as it does in production."""

import base64
import imaplib
import re
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PASSWORD, client_tls, message

BOB = "bob@example.org"


# ---- helpers ---------------------------------------------------------------

def deliver(p, msg, to=BOB, n=None):
    """Sends msg to `to` through the smtp listener and waits for it."""
    before = len(p.messages(to))
    with p.smtp() as s:
        s.sendmail("alice@example.org", [to], msg)
    p.wait_messages(to, before + 1 if n is None else n)


def imaps(p, user=BOB, password=PASSWORD, login=True):
    c = imaplib.IMAP4_SSL("127.0.0.1", p.imaps_port, ssl_context=client_tls(),
                          timeout=10)
    if login:
        c.login(user, password)
    return c


def untagged(c, name):
    return c.untagged_responses.get(name, [])


class Raw:
    """Exact bytes over TLS (imaps), line by line."""

    def __init__(self, p, tls=True, port=None):
        s = socket.create_connection(("127.0.0.1", port or (p.imaps_port if tls else p.imap_port)),
                                     timeout=10)
        self.s = client_tls().wrap_socket(s) if tls else s
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed; pending " + repr(self.buf))
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, tag):
        """Lines up to and including the one starting with tag."""
        out = []
        while True:
            out.append(self.line())
            if out[-1].startswith(tag + " "):
                return out

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)

    def login(self, user=BOB):
        r = self.cmd("L", f'LOGIN "{user}" "{PASSWORD}"')
        assert r[-1].startswith("L OK"), r

    def close(self):
        self.s.close()


@pytest.fixture
def p(make_postern):
    return make_postern(mailbox=True)


# ---- capabilities, TLS and logins ---------------------------------------------

def test_capability_before_and_after_starttls(p):
    c = imaplib.IMAP4("127.0.0.1", p.imap_port, timeout=10)
    assert b"mx.example.org" in c.welcome
    assert b"postern" not in c.welcome.lower()
    caps = c.capabilities
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps and "LITERAL+" in caps
    assert not any(x.startswith("AUTH=") for x in caps)
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        c.login(BOB, PASSWORD)
    typ, data = c._simple_command("AUTHENTICATE", "PLAIN")
    assert typ == "NO"
    c.starttls(ssl_context=client_tls())
    caps = c.capabilities
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps
    for x in ("IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID", "ENABLE",
              "SPECIAL-USE", "CHILDREN", "UNSELECT", "LITERAL+"):
        assert x in caps
    c.login(BOB, PASSWORD)
    typ, data = c.capability()
    assert b"AUTH=" not in data[0] and b"IDLE" in data[0]
    c.logout()


def test_imaps_greeting_and_login_failure(p):
    c = imaps(p, login=False)
    assert "AUTH=PLAIN" in c.capabilities and "STARTTLS" not in c.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        c.login(BOB, "wrong")
    c.login(BOB, PASSWORD)
    assert c.noop()[0] == "OK"
    typ, data = c.xatom("ID", "NIL")
    assert typ == "OK"
    assert untagged(c, "ID") == [b"NIL"]
    c.logout()
    p.wait_log("event=login")


def test_authenticate_plain(p):
    c = imaps(p, login=False)
    typ, _ = c.authenticate("PLAIN", lambda _: f"\0{BOB}\0{PASSWORD}".encode())
    assert typ == "OK"
    c.logout()
    r = Raw(p)
    ir = base64.b64encode(f"\0{BOB}\0{PASSWORD}".encode()).decode()
    assert r.cmd("a", f"AUTHENTICATE PLAIN {ir}")[-1].startswith("a OK")
    r.close()
    r = Raw(p)
    r.send("b AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith("+")
    r.send("*\r\n")
    assert r.until("b")[-1].startswith("b BAD")
    ir = base64.b64encode(f"\0{BOB}\0nope".encode()).decode()
    assert "AUTHENTICATIONFAILED" in r.cmd("c", f"AUTHENTICATE PLAIN {ir}")[-1]
    r.close()


def test_starttls_discards_pipelined_commands(p):
    s = socket.create_connection(("127.0.0.1", p.imap_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"a STARTTLS\r\nb LOGOUT\r\n")
    assert f.readline().startswith(b"a OK")
    t = client_tls().wrap_socket(s)
    t.sendall(b"c NOOP\r\n")
    line = b""
    while b"\r\n" not in line:
        line += t.recv(1000)
    assert line.startswith(b"c OK"), line     # b LOGOUT never ran
    t.close()


def test_banned_after_failed_logins(make_postern):
    p = make_postern(extra='auth = { failures_before_ban = 2; failure_window = "10m"; ban_time = "1h"; };',
                     mailbox=True)
    r = Raw(p)
    assert "AUTHENTICATIONFAILED" in r.cmd("a", f'LOGIN "{BOB}" "wrong"')[-1]
    r.send(f'b LOGIN "{BOB}" "wrong"\r\n')
    assert r.line().startswith("* BYE")
    with pytest.raises((ConnectionError, OSError)):
        r.line()
    p.wait_log("result=banned")


def test_check_enable_id_namespace(p):
    r = Raw(p)
    lines = r.cmd("a", 'ID ("name" "test" "version" "1")')
    assert lines == ["* ID NIL", "a OK ID completed"]
    assert r.cmd("b", "ENABLE CONDSTORE")[-1].startswith("b BAD")    # not before login
    r.login()
    assert r.cmd("c", "ENABLE CONDSTORE") == ["* ENABLED", "c OK ENABLE completed"]
    assert r.cmd("d", "CHECK")[-1].startswith("d BAD")               # not selected
    r.cmd("e", "SELECT INBOX")
    assert r.cmd("f", "CHECK")[-1].startswith("f OK")
    assert r.cmd("g", "NAMESPACE")[0] == '* NAMESPACE (("" "/")) NIL NIL'
    assert r.cmd("h", "UNSELECT")[-1].startswith("h OK")
    assert r.cmd("i", "FETCH 1 FLAGS")[-1].startswith("i BAD")       # no folder now
    r.close()


def test_logout_and_bad_commands(p):
    r = Raw(p)
    assert r.cmd("a", "FROB")[-1].startswith("a BAD")
    assert r.cmd("b", "SELECT INBOX")[-1].startswith("b BAD")   # not logged in
    r.send("\r\n")
    assert r.line().startswith("* BAD")
    lines = r.cmd("z", "LOGOUT")
    assert lines[0].startswith("* BYE") and lines[-1].startswith("z OK")
    r.close()


def test_too_many_bad_commands_close(p):
    r = Raw(p)
    r.send(b"".join(b"x%d FROB\r\n" % i for i in range(25)))
    lines = []
    with pytest.raises(ConnectionError):
        while True:
            lines.append(r.line())
    assert any(x.startswith("* BYE") for x in lines)


# ---- folders ------------------------------------------------------------------

def list_lines(c, *args):
    typ, data = c.list(*args)
    assert typ == "OK"
    return [d.decode() for d in data if d is not None]


def test_list_special_use_and_children(p):
    c = imaps(p)
    lines = list_lines(c)
    names = {ln.rsplit(" ", 1)[1].strip('"'): ln for ln in lines}
    assert set(names) >= {"INBOX", "Sent", "Drafts", "Trash", "Junk"}
    assert "\\Sent" in names["Sent"] and "\\Drafts" in names["Drafts"]
    assert "\\Trash" in names["Trash"] and "\\Junk" in names["Junk"]
    assert "\\HasNoChildren" in names["Sent"]
    assert c.create("a/b")[0] == "OK"
    lines = list_lines(c, '""', "%")
    a = [ln for ln in lines if ln.endswith(' "a"') or ln.endswith(" a")]
    assert a and "\\HasChildren" in a[0]
    assert not any("a/b" in ln for ln in lines)
    assert any("a/b" in ln for ln in list_lines(c, '""', "*"))
    assert any("a/b" in ln for ln in list_lines(c, "a/", "%"))
    typ, data = c.list('""', '""')
    assert data[0] == b'(\\Noselect) "/" ""'
    typ, data = c.lsub()
    subs = b" ".join(data)
    assert b"Sent" in subs and b"Trash" in subs
    typ, data = c._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    special = b" ".join(untagged(c, "LIST"))
    assert typ == "OK" and b"Sent" in special and b"INBOX" not in special
    typ, data = c.namespace()
    assert data[0] == b'(("" "/")) NIL NIL'
    c.logout()


def test_create_rename_delete_hierarchy(p):
    c = imaps(p)
    assert c.create("x/y/z")[0] == "OK"
    assert c.create("x/y/z")[0] == "NO"
    assert c.rename("x", "w")[0] == "OK"
    lines = " ".join(list_lines(c))
    assert "w/y/z" in lines and "x/y" not in lines
    assert c.delete("w/y/z")[0] == "OK"
    assert c.delete("nope")[0] == "NO"
    assert c.delete("INBOX")[0] == "NO"
    assert c.subscribe("w/y")[0] == "OK"
    assert b"w/y" in b" ".join(c.lsub()[1])
    # RFC 3501 6.3.9: "%" shows the unsubscribed parent as \Noselect
    assert c.lsub('""', "%")[1].count(b'(\\Noselect) "/" "w"') == 1
    assert c.unsubscribe("w/y")[0] == "OK"
    typ, data = c.status("Sent", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)")
    assert typ == "OK" and b"MESSAGES 0" in data[0] and b"UIDNEXT 1" in data[0]
    c.logout()


# ---- select and fetch ------------------------------------------------------------

def test_select_and_examine_responses(p):
    deliver(p, message("one"))
    deliver(p, message("two"))
    c = imaps(p)
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    assert untagged(c, "RECENT") == [b"2"]
    assert untagged(c, "FLAGS")[0] == b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    assert untagged(c, "UIDVALIDITY") and untagged(c, "UIDNEXT") == [b"3"]
    assert untagged(c, "UNSEEN") == [b"1"]
    assert b"PERMANENTFLAGS" in b" ".join(untagged(c, "OK"))
    assert untagged(c, "READ-WRITE") == [b""]
    c.close()
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK" and untagged(c, "READ-ONLY") == [b""]
    assert untagged(c, "RECENT") == [b"0"]           # \Recent went to the first session
    c.fetch("1", "(BODY[])")                          # EXAMINE: no \Seen
    typ, data = c.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    assert c.store("1", "+FLAGS", "\\Seen")[0] == "NO"
    assert c.unselect()[0] == "OK"
    c.logout()


def test_fetch_items(p):
    deliver(p, message("fetch me", body="line one\r\nline two\r\n"))
    c = imaps(p)
    c.select("INBOX")
    typ, data = c.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0][0]).group(1))
    body = data[0][1]
    assert size == len(body) and b"line two\r\n" in body
    typ, data = c.fetch("1", "(BODY.PEEK[]<0.10>)")
    assert data[0][1] == body[:10] and b"BODY[]<0>" in data[0][0]
    typ, data = c.fetch("1", "(BODY.PEEK[]<10.100000>)")
    assert data[0][1] == body[10:]
    typ, data = c.fetch("1", "(ENVELOPE INTERNALDATE FLAGS)")
    assert b'"fetch me"' in data[0]
    assert re.search(rb'INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000"', data[0])
    assert b"\\Seen" not in data[0]
    typ, data = c.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: fetch me\r\n\r\n"
    assert b"FLAGS (\\Seen" in data[0][0] or b"\\Seen" in data[1]   # set, and told
    typ, data = c.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0]
    typ, data = c.fetch("1", "(BODY[TEXT])")
    assert data[0][1] == b"line one\r\nline two\r\n"
    typ, data = c.fetch("1", "(RFC822.HEADER)")
    assert b"Subject: fetch me\r\n" in data[0][1] and data[0][1].endswith(b"\r\n\r\n")
    assert b"line one" not in data[0][1]
    for macro in ("ALL", "FAST", "FULL"):
        assert c.fetch("1", macro)[0] == "OK"
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    assert b"UID 1" in data[0]
    with pytest.raises(imaplib.IMAP4.error):
        c.fetch("5", "(FLAGS)")
    c.logout()


NESTED = (
    "From: <alice@example.org>\r\nTo: <bob@example.org>\r\nSubject: nested\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    "--outer\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n"
    "--outer\r\nContent-Type: message/rfc822\r\n\r\n"
    "From: <carol@example.org>\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
    "--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
    "--inner\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
    "--inner--\r\n"
    "--outer--\r\n")


def test_nested_bodystructure(p):
    deliver(p, NESTED)
    c = imaps(p)
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODYSTRUCTURE)")
    bs = data[0].upper()
    assert b'"MESSAGE" "RFC822"' in bs
    assert b'"ALTERNATIVE"' in bs and b'"MIXED"' in bs
    assert b'"INNER"' in bs    # the attached message's ENVELOPE subject
    typ, data = c.fetch("1", "(BODY)")
    assert typ == "OK" and b'"MIXED"' in data[0].upper()
    typ, data = c.fetch("1", "(BODY.PEEK[2.1] BODY.PEEK[2.HEADER] BODY.PEEK[1])")
    got = b" ".join(d[1] for d in data if isinstance(d, tuple))
    assert b"plain" in got and b"Subject: inner" in got and b"See attached." in got
    c.logout()


# ---- search, store, uid sets ---------------------------------------------------

def test_search_keys(p):
    deliver(p, message("apple"))
    deliver(p, message("banana"))
    deliver(p, message("cherry"))
    c = imaps(p)
    c.select("INBOX")
    c.store("2", "+FLAGS", "\\Seen")
    assert c.search(None, "OR", "SUBJECT", "apple", "SUBJECT", "cherry")[1] == [b"1 3"]
    assert c.search(None, "NOT", "SEEN")[1] == [b"1 3"]
    assert c.search(None, "UNSEEN", "NOT", "SUBJECT", "apple")[1] == [b"3"]
    assert c.search(None, "SINCE", "1-Jan-2020")[1] == [b"1 2 3"]
    assert c.search(None, "BEFORE", "1-Jan-2000")[1] == [b""]
    assert c.search(None, "SENTON", "23-Nov-2026")[1] == [b"1 2 3"]
    assert c.search(None, "(OR SEEN SUBJECT cherry)", "2:3")[1] == [b"2 3"]
    assert c.uid("SEARCH", "UID", "2:*")[1] == [b"2 3"]
    typ, data = c.search("UTF-8", "SUBJECT", "banana")
    assert data == [b"2"]
    typ, data = c._simple_command("SEARCH", "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO"
    c.logout()


def test_uid_ranges_with_star(p):
    c = imaps(p)
    c.select("INBOX")
    assert c.uid("FETCH", "1:*", "(FLAGS)") == ("OK", [None])
    assert c.fetch("1:*", "(FLAGS)") == ("OK", [None])     # empty: nothing
    deliver(p, message("a"))
    deliver(p, message("b"))
    c.noop()
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    assert len([d for d in data if d]) == 2
    typ, data = c.uid("FETCH", "999:*", "(FLAGS)")   # RFC 3501 6.4.8
    assert len(data) == 1 and b"UID 2" in data[0]
    typ, data = c.uid("FETCH", "*", "(UID)")
    assert b"UID 2" in data[0]
    typ, data = c.uid("FETCH", "5:7", "(UID)")
    assert typ == "OK" and data == [None]
    typ, data = c.fetch("5:*", "(UID)")       # a range with * reaches the last
    assert len(data) == 1 and b"UID 2" in data[0]
    c.logout()


def test_store_flags(p):
    deliver(p, message("flags"))
    c = imaps(p)
    c.select("INBOX")
    typ, data = c.store("1", "+FLAGS", "(\\Flagged \\Answered)")
    assert b"\\Flagged" in data[0] and b"\\Answered" in data[0]
    typ, data = c.store("1", "-FLAGS", "\\Answered")
    assert b"\\Answered" not in data[0]
    typ, data = c.store("1", "FLAGS.SILENT", "(\\Seen $Keyword)")
    assert data == [None]
    typ, data = c.fetch("1", "(FLAGS)")
    assert b"\\Seen" in data[0] and b"\\Flagged" not in data[0]
    assert b"$Keyword" not in data[0]   # keywords are not kept
    typ, data = c.uid("STORE", "1", "+FLAGS", "(\\Draft)")
    assert b"UID 1" in data[0] and b"\\Draft" in data[0]
    c.logout()


# ---- append, copy, move, expunge ----------------------------------------------

def test_append_with_literal(p):
    c = imaps(p)
    msg = message("appended").encode()
    typ, data = c.append("Drafts", "(\\Draft \\Seen)", '"17-Jul-1996 02:44:25 -0700"', msg)
    assert typ == "OK"
    m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert m and m.group(2) == b"1"
    c.select("Drafts")
    assert untagged(c, "UIDVALIDITY") == [m.group(1)]
    typ, data = c.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert b"\\Draft" in data[0][0] and b"17-Jul-1996 09:44:25 +0000" in data[0][0]
    assert data[0][1] == msg
    typ, data = c.append("Nope", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    c.logout()


def test_append_large_literals(p):
    big = message("big append", body=("y" * 998 + "\r\n") * 1500).encode()   # 1.5 MB
    c = imaps(p)
    typ, data = c.append("INBOX", None, None, big)
    assert typ == "OK", data
    c.logout()
    r = Raw(p)
    r.login()
    r.send(b"p APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")    # LITERAL+
    assert r.until("p")[-1].startswith("p OK [APPENDUID")
    r.close()
    c = imaps(p)
    c.select("INBOX")
    typ, data = c.fetch("1:2", "(RFC822.SIZE BODY.PEEK[])")
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [big, big]
    assert all(b"RFC822.SIZE %d" % len(big) in d[0] for d in data if isinstance(d, tuple))
    c.logout()


def test_copy_move_copyuid(p):
    deliver(p, message("c1"))
    deliver(p, message("c2"))
    deliver(p, message("c3"))
    c = imaps(p)
    c.select("INBOX")
    typ, data = c.copy("1:2", "Trash")
    assert typ == "OK"
    assert re.search(rb"COPYUID \d+ 1:2 1:2", data[0])
    typ, data = c.copy("1", "Nope")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = c._simple_command("MOVE", "3", "Junk")
    assert typ == "OK"
    assert re.search(rb"COPYUID \d+ 3 1", b" ".join(untagged(c, "OK")))
    assert untagged(c, "EXPUNGE") == [b"3"]
    typ, data = c.uid("MOVE", "2", "Junk")
    assert typ == "OK"
    assert c.select("Junk")[1] == [b"2"]
    assert c.select("Trash")[1] == [b"2"]
    assert c.select("INBOX")[1] == [b"1"]
    c.logout()


def test_expunge(p):
    for s in ("e1", "e2", "e3"):
        deliver(p, message(s))
    c = imaps(p)
    c.select("INBOX")
    c.store("1,3", "+FLAGS", "\\Deleted")
    typ, data = c.expunge()
    # each number as it is when reported (RFC 3501 7.4.1)
    assert typ == "OK" and data in ([b"1", b"2"], [b"3", b"1"])
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"e2" in data[0][1]
    deliver(p, message("e4"))
    c.noop()
    c.store("1:*", "+FLAGS", "\\Deleted")
    typ, data = c.uid("EXPUNGE", "4")
    assert typ == "OK"
    typ, data = c.fetch("1:*", "(UID)")
    assert len([d for d in data if d]) == 1 and b"UID 2" in data[0]
    assert c.close()[0] == "OK"
    assert c.select("INBOX")[1] == [b"0"]
    c.logout()


# ---- change notification ------------------------------------------------------------

def test_idle_receives_new_delivery(p):
    deliver(p, message("before"))
    r = Raw(p)
    r.login()
    r.cmd("s", "SELECT INBOX")
    r.send("i IDLE\r\n")
    assert r.line().startswith("+ idling")
    deliver(p, message("during idle"))
    deadline = time.time() + 10
    seen = []
    while time.time() < deadline:
        seen.append(r.line())
        if seen[-1] == "* 2 EXISTS":
            break
    assert "* 2 EXISTS" in seen
    r.send("DONE\r\n")
    assert r.until("i")[-1].startswith("i OK")
    assert r.cmd("n", "NOOP")[-1].startswith("n OK")
    r.close()


def test_idle_sees_flags_and_expunge_of_another_session(p):
    deliver(p, message("x1"))
    deliver(p, message("x2"))
    a = Raw(p)
    a.login()
    a.cmd("s", "SELECT INBOX")
    a.send("i IDLE\r\n")
    assert a.line().startswith("+ idling")
    b = imaps(p)
    b.select("INBOX")
    b.store("2", "+FLAGS", "\\Flagged")

    def wait_for(pred):
        deadline = time.time() + 10
        while time.time() < deadline:
            ln = a.line()
            if pred(ln):
                return ln
        raise AssertionError("not seen")
    wait_for(lambda ln: ln.startswith("* 2 FETCH") and "\\Flagged" in ln)
    b.store("1", "+FLAGS", "\\Deleted")
    b.expunge()
    wait_for(lambda ln: ln == "* 1 EXPUNGE")
    a.send("DONE\r\n")
    assert a.until("i")[-1].startswith("i OK")
    b.logout()
    a.close()


def test_two_sessions_see_each_other(p):
    deliver(p, message("shared 1"))
    deliver(p, message("shared 2"))
    a = Raw(p)
    a.login()
    a.cmd("s", "SELECT INBOX")
    b = Raw(p)
    b.login()
    b.cmd("s", "SELECT INBOX")
    a.cmd("f", "STORE 1 +FLAGS (\\Flagged)")
    lines = b.cmd("n", "NOOP")
    assert any(re.match(r"\* 1 FETCH \(.*FLAGS \(\\Flagged", ln) for ln in lines), lines
    a.cmd("d", "STORE 2 +FLAGS (\\Deleted)")
    a.cmd("e", "EXPUNGE")
    lines = b.cmd("f", "FETCH 1 (FLAGS)")             # no EXPUNGE during FETCH
    assert not any("EXPUNGE" in ln for ln in lines)
    lines = b.cmd("n2", "NOOP")
    assert "* 2 EXPUNGE" in lines
    a.close()
    b.close()


def test_uidvalidity_stable_across_restart(p):
    deliver(p, message("persist"))
    c = imaps(p)
    c.select("INBOX")
    v = untagged(c, "UIDVALIDITY")
    c.store("1", "+FLAGS", "\\Flagged")
    c.logout()
    p.stop()
    p.start()
    c = imaps(p)
    c.select("INBOX")
    assert untagged(c, "UIDVALIDITY") == v
    assert untagged(c, "UIDNEXT") == [b"2"]
    typ, data = c.fetch("1", "(UID FLAGS)")
    assert b"UID 1" in data[0] and b"\\Flagged" in data[0]
    c.logout()


def test_shutdown_says_bye(p):
    r = Raw(p)
    r.login()
    r.cmd("s", "SELECT INBOX")
    p.stop()
    assert r.line().startswith("* BYE")
    r.close()


# ---- hostile input ------------------------------------------------------------

def test_literal_over_limit_refused_without_continuation(make_postern):
    p = make_postern(extra='limits = { message_size = "10K"; };', mailbox=True)
    r = Raw(p)
    r.login()
    r.send("a APPEND INBOX {20000}\r\n")
    line = r.line()
    assert line.startswith("a NO") and "TOOBIG" in line
    # a literal of another command: the small limit of every command
    r.send("b SELECT {100000}\r\n")
    assert r.line().startswith("b BAD")
    r.send("c APPEND INBOX {5}\r\n")
    assert r.line().startswith("+")
    r.send("hello\r\n")
    assert r.until("c")[-1].startswith("c OK")
    r.close()


def test_command_line_over_limit(p):
    r = Raw(p)
    r.send("a NOOP " + "x" * 9000 + "\r\n")
    assert r.until("a")[-1].startswith("a BAD")
    assert r.cmd("b", "NOOP")[-1].startswith("b OK")
    r.close()


def test_unread_responses_do_not_grow(p):
    """A client that asks for a lot and never reads: the server stops
    producing (paced FETCH); the session is still served afterwards."""
    big = message("big", body=("x" * 998 + "\r\n") * 2000)     # ~2 MB
    deliver(p, big)
    r = Raw(p)
    r.login()
    r.cmd("s", "SELECT INBOX")
    r.send(b"".join(b"f%d FETCH 1 (BODY.PEEK[])\r\n" % i for i in range(40)))
    time.sleep(2)
    got = 0
    while True:
        line = r.line()
        if line.startswith("f39 "):
            break
        got += 1
    assert line.startswith("f39 OK")
    r.close()


# ---- real clients ----------------------------------------------------------------

def test_curl_imaps(p):
    deliver(p, message("for curl"))
    url = f"imaps://127.0.0.1:{p.imaps_port}"
    r = subprocess.run(["curl", "-sk", f"{url}/", "-u", f"{BOB}:{PASSWORD}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "INBOX" in r.stdout and "Sent" in r.stdout
    r = subprocess.run(["curl", "-sk", f"{url}/INBOX;UID=1", "-u", f"{BOB}:{PASSWORD}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "Subject: for curl" in r.stdout
    r = subprocess.run(["curl", "-sk", f"{url}/INBOX?SUBJECT%20curl", "-u", f"{BOB}:{PASSWORD}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "SEARCH 1" in r.stdout
    up = p.tmp / "up.eml"
    up.write_bytes(message("uploaded by curl").encode())
    r = subprocess.run(["curl", "-sk", f"{url}/Drafts", "-u", f"{BOB}:{PASSWORD}", "-T", str(up)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    c = imaps(p)
    assert c.select("Drafts")[1] == [b"1"]
    c.logout()


def test_fetchmail_imap(p, tmp_path):
    deliver(p, message("for fetchmail 1"))
    deliver(p, message("for fetchmail 2"))
    out = tmp_path / "out.mbox"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(f"""set no bouncemail
poll 127.0.0.1 service {p.imaps_port} protocol IMAP
  user "{BOB}" there with password "{PASSWORD}" is "someone" here
  ssl no sslcertck
  mda "/bin/sh -c 'cat >> {out}'"
""")
    rc.chmod(0o600)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["fetchmail", "-f", str(rc), "--nosyslog", "-a"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    text = out.read_text()
    assert "Subject: for fetchmail 1" in text and "Subject: for fetchmail 2" in text
    c = imaps(p)
    c.select("INBOX")
    assert c.search(None, "UNSEEN")[1] == [b""]     # fetched: \Seen
    c.logout()


def test_mbsync_two_way(p, tmp_path):
    deliver(p, message("sync 1"))
    deliver(p, message("sync 2"))
    c = imaps(p)
    c.create("Lists/dev")
    c.append("Lists/dev", None, None, message("list mail").encode())
    c.logout()
    local = tmp_path / "local"
    local.mkdir()
    passfile = tmp_path / "pw"
    passfile.write_text(PASSWORD)
    rc = tmp_path / "mbsyncrc"
    rc.write_text(f"""
IMAPAccount t
Host 127.0.0.1
Port {p.imaps_port}
User {BOB}
PassCmd "cat {passfile}"
SSLType IMAPS
CertificateFile {p.data_dir}/tls/cert.pem
AuthMechs PLAIN

IMAPStore remote
Account t

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def run():
        return subprocess.run(["mbsync", "-c", str(rc), "-a", "-V"], capture_output=True,
                              text=True, timeout=60)
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(list((local / "INBOX" / "new").iterdir()) + list((local / "INBOX" / "cur").iterdir())) == 2
    assert (local / "Lists" / "dev").exists() or (local / "Lists/dev").exists()
    # a local change goes up
    (local / "Sent" / "cur").mkdir(parents=True, exist_ok=True)
    (local / "Sent" / "cur" / "1.local:2,S").write_bytes(message("sent locally").encode())
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr

    def state():
        files = sorted(str(f.relative_to(local)) for f in local.rglob("*") if f.is_file()
                       and "mbsyncstate" not in f.name and ".uidvalidity" not in f.name)
        c = imaps(p)
        status = []
        for line in list_lines(c):
            name = line.rsplit(" ", 1)[1].strip('"')
            if "\\Noselect" not in line:
                status.append(c.status(name, "(MESSAGES UIDNEXT UNSEEN)")[1][0])
        c.logout()
        return files, status

    before = state()
    assert b'"Sent" (MESSAGES 1' in b" ".join(before[1]) or b"Sent (MESSAGES 1" in b" ".join(before[1])
    r = run()            # nothing left to do
    assert r.returncode == 0, r.stdout + r.stderr
    assert state() == before


# ---- review: a selected folder that is deleted or reset ---------------------------

def test_selected_folder_deleted_or_reset_ends_session(p):
    """RFC 3501 2.3.1.1: a view whose UIDs no longer mean anything (the folder
    deleted, renamed, or made again with a new UIDVALIDITY by another session)
    cannot go on: BYE, never a phantom view that no longer syncs."""
    b = Raw(p)
    b.login()
    assert b.cmd("c", "CREATE Foo")[-1].startswith("c OK")
    assert b.cmd("a", "APPEND Foo {2+}\r\nab")[-1].startswith("a OK")
    for recreate in (False, True):
        a = Raw(p)
        a.login()
        assert "* 1 EXISTS" in a.cmd("s", "SELECT Foo")
        assert b.cmd("d", "DELETE Foo")[-1].startswith("d OK")
        if recreate:
            assert b.cmd("c", "CREATE Foo")[-1].startswith("c OK")
        lines = a.cmd("n", "NOOP")
        assert any(ln.startswith("* BYE") for ln in lines), (recreate, lines)
        a.close()
        if not recreate:
            assert b.cmd("c", "CREATE Foo")[-1].startswith("c OK")
            assert b.cmd("a", "APPEND Foo {2+}\r\nab")[-1].startswith("a OK")
    b.close()
