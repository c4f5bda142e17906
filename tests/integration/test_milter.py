"""Milters (SPEC 2 `filters.milters`; SPEC 5: asked at the end of DATA)
against a real one: tests/milter/testmilter.py on Sendmail's libmilter
(python3-milter), which acts on the Subject. Its reply code and text
reach the client (550 5.7.1, 451 4.7.1); its header, body and recipient
changes and quarantine are applied to the delivered message; a discard
is a 250 that delivers nothing; a milter that is down is on_error's
(tempfail 451 4.3.0, accept, reject); a unix socket milter works as an
inet one; a message of several megabytes goes through in chunks. What the
milter was told (client, envelope, macros) is checked in its log."""

import smtplib

import pytest

from conftest import message
from peers import TestMilter, stays, wait_for


def milter_conf(m, on_error="tempfail", extra=""):
    return (f'filters = {{ milters = ( {{ address = "{m.address}"; '
            f'on_error = "{on_error}"; }} ); {extra} }};')


@pytest.fixture
def milter(tmp_path):
    m = TestMilter(tmp_path).start()
    yield m
    m.release()


@pytest.fixture
def filtered(milter, make_postern):
    """A server whose one milter is the running test milter."""
    return make_postern(extra=milter_conf(milter))


def send(p, subject, rcpts=("bob@example.org",), body="Hello Bob.\r\n",
         headers=""):
    """(code, text) of the reply to DATA (250, "" when accepted)."""
    msg = message(subject=subject, to=rcpts[0], body=body)
    if headers:
        msg = headers + msg
    with p.smtp() as c:
        c.ehlo("client.example.net")
        try:
            c.sendmail("alice@example.org", list(rcpts), msg.encode())
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
    return 250, ""


def delivered(p, address, n=1):
    return p.wait_messages(address, n)[n - 1].replace(b"\r\n", b"\n")


def test_header_added_and_milter_told_the_envelope(filtered, milter):
    assert send(filtered, "plain") == (250, "")
    got = delivered(filtered, "bob@example.org")
    head, body = got.split(b"\n\n", 1)
    assert b"\nX-Test-Milter: seen" in b"\n" + head
    assert body == b"Hello Bob.\n"
    eom = milter.wait_log("eom ")
    # The queue id (macro i) and the body's CR LF length.
    assert "i=None" not in eom and "body=12" in eom, eom
    log = "\n".join(milter.log_lines())
    assert "connect [127.0.0.1] 127.0.0.1 client_addr=127.0.0.1 j=mx.example.org" in log
    assert "helo client.example.net" in log
    assert "mail <alice@example.org>" in log
    assert "rcpt <bob@example.org>" in log
    assert "header Subject: plain" in log
    assert "abort" not in log


def test_reject_carries_the_milters_reply(filtered):
    code, text = send(filtered, "milter-reject")
    assert code == 550, (code, text)
    assert text == "5.7.1 rejected by the test milter"
    stays(lambda: filtered.messages("bob@example.org") == [], 0.5, "nothing delivered")
    tx = filtered.wait_log("event=transaction")
    assert "filter=milter" in tx


def test_tempfail_carries_the_milters_reply(filtered):
    code, text = send(filtered, "milter-tempfail")
    assert code == 451, (code, text)
    assert text.startswith("4.7.1 the test milter says later"), text
    stays(lambda: filtered.messages("bob@example.org") == [], 0.5, "nothing delivered")


def test_discard_is_accepted_and_delivers_nothing(filtered):
    assert send(filtered, "milter-discard") == (250, "")
    filtered.wait_log("action=discard")
    assert send(filtered, "kept") == (250, "")
    got = filtered.wait_messages("bob@example.org", 1)
    stays(lambda: len(filtered.messages("bob@example.org")) == 1, 0.5, "one message")
    assert b"Subject: kept" in got[0]


def test_body_replaced(filtered):
    assert send(filtered, "milter-replace", body="the original body\r\n") == (250, "")
    got = delivered(filtered, "bob@example.org")
    head, body = got.split(b"\n\n", 1)
    assert body == b"replaced by milter\n"
    assert b"Subject: milter-replace" in head
    assert b"X-Test-Milter: seen" in head


def test_header_changed_and_deleted(filtered):
    assert send(filtered, "milter-chgheader milter-delheader",
                headers="X-Remove-Me: yes\r\n") == (250, "")
    head = delivered(filtered, "bob@example.org").split(b"\n\n", 1)[0]
    assert b"Subject: changed by milter" in head
    assert b"Subject: milter-chgheader" not in head
    assert b"X-Remove-Me" not in head


def test_recipients_added_and_deleted(filtered):
    filtered.add_user("carol@example.org")
    code = send(filtered, "milter-addrcpt:carol@example.org "
                "milter-delrcpt:alice@example.org",
                rcpts=("bob@example.org", "alice@example.org"))
    assert code == (250, "")
    assert b"X-Test-Milter: seen" in delivered(filtered, "carol@example.org")
    delivered(filtered, "bob@example.org")
    stays(lambda: filtered.messages("alice@example.org") == [], 0.5,
          "the deleted recipient gets nothing")


def test_quarantine(milter, make_postern):
    p = make_postern(extra=milter_conf(milter, extra='quarantine = "quarantine@example.org";'))
    p.add_user("quarantine@example.org")
    assert send(p, "milter-quarantine") == (250, "")
    got = delivered(p, "quarantine@example.org")
    assert b"Subject: milter-quarantine" in got
    assert p.messages("bob@example.org") == []


@pytest.fixture
def down(tmp_path):
    """A milter whose port is reserved but never listened on."""
    m = TestMilter(tmp_path)
    yield m
    m.release()


def test_milter_down_tempfails(down, make_postern):
    p = make_postern(extra=milter_conf(down, "tempfail"))
    code, text = send(p, "plain")
    assert code == 451 and text.startswith("4.3.0"), (code, text)
    stays(lambda: p.messages("bob@example.org") == [], 0.5, "nothing delivered")
    ev = p.wait_log("event=filter ")
    assert "filter=milter" in ev and "connect" in ev, ev


def test_milter_down_accepts(down, make_postern):
    p = make_postern(extra=milter_conf(down, "accept"))
    assert send(p, "milter-reject") == (250, "")
    got = delivered(p, "bob@example.org")
    assert b"X-Test-Milter" not in got


def test_milter_down_rejects(down, make_postern):
    p = make_postern(extra=milter_conf(down, "reject"))
    code, text = send(p, "plain")
    assert code == 554 and text.startswith("5.7.1"), (code, text)


def test_milter_comes_back(down, make_postern):
    p = make_postern(extra=milter_conf(down, "tempfail"))
    assert send(p, "plain")[0] == 451
    down.start()
    assert send(p, "plain") == (250, "")
    assert b"X-Test-Milter: seen" in delivered(p, "bob@example.org")


def test_unix_socket_milter(tmp_path, make_postern):
    """The chrooted worker gets the socket from the master's broker."""
    m = TestMilter(tmp_path, path=tmp_path / "milter.sock").start()
    try:
        p = make_postern(extra=milter_conf(m))
        assert send(p, "plain") == (250, "")
        assert b"X-Test-Milter: seen" in delivered(p, "bob@example.org")
        code, text = send(p, "milter-reject")
        assert (code, text) == (550, "5.7.1 rejected by the test milter")
    finally:
        m.release()


def test_large_message_goes_through(filtered, milter):
    line = "x" * 76 + "\r\n"
    body = line * (4 * 1024 * 1024 // len(line))
    assert send(filtered, "large", body=body) == (250, "")
    got = delivered(filtered, "bob@example.org")
    assert got.split(b"\n\n", 1)[1] == body.replace("\r\n", "\n").encode()
    eom = milter.wait_log("eom ")
    assert f"body={len(body)}" in eom, eom


def test_each_message_of_a_session(filtered, milter):
    """Two transactions on one connection: one milter conversation each."""
    with filtered.smtp() as c:
        c.ehlo("client.example.net")
        c.sendmail("alice@example.org", ["bob@example.org"],
                   message(subject="first").encode())
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("alice@example.org", ["bob@example.org"],
                       message(subject="milter-reject").encode())
        assert e.value.smtp_code == 550
        c.sendmail("alice@example.org", ["bob@example.org"],
                   message(subject="third").encode())
    got = filtered.wait_messages("bob@example.org", 2)
    assert b"Subject: first" in got[0] + got[1] and b"Subject: third" in got[0] + got[1]
    wait_for(lambda: len([l for l in milter.log_lines() if l.startswith("eom ")]) == 3,
             what="three conversations")
