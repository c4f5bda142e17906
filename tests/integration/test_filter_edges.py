"""Edge cases of the filter pipeline found in review: a header section
near HEADER_SCAN_MAX rewritten whole; a stronger hit never lost behind
eight weaker ones; notices only once the outcome is final; a full
quarantine mailbox never refuses the sender; a milter that deletes every
recipient shows on the transaction line; a client that leaves while
clamd scans still gets its filter and transaction lines."""
import base64
import smtplib

import pytest

from conftest import message
from peers import TestMilter, stays

EXE = base64.b64encode(b"MZ not really").decode()


def milter_conf(m, extra=""):
    return (f'filters = {{ milters = ( {{ address = "{m.address}"; '
            f'on_error = "tempfail"; }} ); {extra} }};')


@pytest.fixture
def milter(tmp_path):
    m = TestMilter(tmp_path).start()
    yield m
    m.release()


def send_raw(p, data, rcpts=("bob@example.org",)):
    with p.smtp() as c:
        c.ehlo("client.example.net")
        try:
            c.sendmail("alice@example.org", list(rcpts), data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
    return 250, ""


def big_header_msg(total):
    pad = "".join(f"X-Pad-{i:05d}: {'a' * 880}\r\n" for i in range(total // 900))
    return (pad + message(subject="plain", body="the body\r\n")).encode()


@pytest.mark.parametrize("block,size", [("attachments = { block = []; };", 300_000),
                                        ("", 263_700)])
def test_big_header_section_rewritten_whole(milter, make_postern, block, size):
    """smtp_filter_read_header: a header section past HEADER_SCAN_MAX is
    cut at the last LF of the window and an empty line inserted there."""
    p = make_postern(extra=milter_conf(milter, block))
    assert send_raw(p, big_header_msg(size)) == (250, "")
    got = p.wait_messages("bob@example.org")[0].replace(b"\r\n", b"\n")
    head, body = got.split(b"\n\n", 1)
    assert b"\nSubject: plain" in head, body[:200]
    assert body == b"the body\n", body[:200]


def test_stronger_hit_kept_behind_eight_weaker(milter, make_postern):
    """FILTER_HITS_MAX = 8: eight quarantined attachments, then the milter's
    reject is not kept and the strongest verdict is lost."""
    p = make_postern(extra=milter_conf(
        milter, 'attachments = { action = "quarantine"; }; '
        'quarantine = "quarantine@example.org";'))
    p.add_user("quarantine@example.org")
    parts = "".join(
        f"--B\r\nContent-Type: application/octet-stream; name=\"x{i}.exe\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{EXE}\r\n" for i in range(8))
    msg = ("From: <alice@example.org>\r\nTo: <bob@example.org>\r\n"
           "Subject: milter-reject\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
           f"{parts}--B--\r\n").encode()
    code, text = send_raw(p, msg)
    assert code == 550, (code, text)


def exe_msg(subject):
    return ("From: <alice@example.org>\r\nTo: <bob@example.org>\r\n"
            f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "--B\r\nContent-Type: application/octet-stream; name=\"x.exe\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{EXE}\r\n--B--\r\n").encode()


def test_no_notice_when_the_quarantine_then_tempfails(make_postern):
    """smtp_filter_decide sends the notices before the quarantine is routed
    and written; a failure after that answers 451 but the recipient was
    already told "was quarantined" (once per retry)."""
    p = make_postern(extra='filters = { attachments = { action = "quarantine"; '
                     'notify = ["recipient"]; }; quarantine = "quarantine@example.org"; };')
    p.add_user("quarantine@example.org")
    p.cli("user", "set", "quarantine@example.org", "enabled=false")
    code, _ = send_raw(p, exe_msg("q1"))
    assert code == 451
    stays(lambda: p.messages("bob@example.org") == [], 1.0,
          "no notice for a message that was not quarantined")


def test_full_quarantine_mailbox_does_not_refuse_the_sender(make_postern):
    p = make_postern(extra='filters = { attachments = { action = "quarantine"; }; '
                     'quarantine = "quarantine@example.org"; };')
    p.add_user("quarantine@example.org")
    p.cli("user", "set", "quarantine@example.org", "quota=100")
    code, text = send_raw(p, exe_msg("q2"))
    assert code != 552, text


def test_all_recipients_deleted_discard_on_transaction_line(tmp_path, make_postern):
    m = TestMilter(tmp_path).start()
    try:
        p = make_postern(extra=milter_conf(m))
        assert send_raw(p, message(subject="milter-delrcpt:bob@example.org").encode()) == (250, "")
        tx = p.wait_log("event=transaction")
        assert "action=discard" in tx, tx
    finally:
        m.release()


def test_client_gone_during_clamd_still_logged(make_postern):
    """A client that disconnects while clamd scans: the virus hit and the
    transaction line are never logged (smtp_filter_woken frees first)."""
    import socket, threading, time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def fake():
        c, _ = srv.accept()
        c.settimeout(5)
        buf = b""
        while not buf.endswith(b"\0\0\0\0"):
            d = c.recv(65536)
            if not d:
                break
            buf += d
        time.sleep(1.5)
        c.sendall(b"stream: Test.Virus FOUND\0")
        c.close()
    threading.Thread(target=fake, daemon=True).start()
    p = make_postern(extra=f'filters = {{ antivirus = {{ clamd = "inet:127.0.0.1:{port}"; }}; }};')
    r = p.raw()
    for cmd in ("EHLO x.example", "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.org>", "DATA"):
        r.cmd(cmd)
    r.send(b"Subject: v\r\n\r\nbody\r\n.\r\n")
    r.close()
    time.sleep(3)
    log = "\n".join(p.log_lines())
    assert "Test.Virus" in log, "the hit was not logged"
    assert "event=transaction" in log, "no transaction line"
