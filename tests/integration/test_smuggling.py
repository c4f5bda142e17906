"""SMTP smuggling safety (SPEC section 5: end of data is <CRLF>.<CRLF> and
nothing else; a bare LF or bare CR in a command or in DATA is answered
`521 5.5.2` and the connection closed). Exact bytes through RawClient. The
"smuggled" second transaction after a fake terminator must never run: no
message is delivered, nothing stays queued, and the log has no transaction
for the smuggled sender."""

import socket
import time

import pytest

from conftest import message

SENDER = "friend@example.net"
EVIL = "evil@example.net"

SMUGGLED = (b"MAIL FROM:<" + EVIL.encode() + b">\r\n"
            b"RCPT TO:<alice@example.org>\r\n"
            b"DATA\r\n"
            b"From: <admin@example.org>\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n"
            b".\r\n")


def open_data(p, source="127.0.0.2"):
    """A session from an outside client, in DATA for bob@example.org."""
    r = p.raw(source=source)
    assert r.cmd("EHLO client.example.net")[0] == 250
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    return r


def head(subject="smuggle"):
    return (f"From: <{SENDER}>\r\nTo: <bob@example.org>\r\nSubject: {subject}\r\n\r\n").encode()


def transactions(p):
    return [l for l in p.log_lines() if "event=transaction" in l]


def assert_rejected_and_closed(r):
    code, text = r.reply()
    assert (code, text) == (521, "521 5.5.2 bare CR or LF not allowed, closing"), text
    assert r.closed()


def assert_nothing_delivered(p):
    """After a refused session: nothing queued, nothing delivered, no trace of
    the smuggled transaction. A legitimate message sent afterwards is the
    barrier: once it is in bob's Maildir, the qmgr has seen the queue."""
    assert p.queue_ids() == []
    txs = transactions(p)
    assert not any(f"from={EVIL}" in l for l in txs), txs
    assert not any(":250" in l and "queued as" in l for l in txs), txs
    c = p.smtp()
    c.sendmail(SENDER, ["bob@example.org"], message(subject="barrier", sender=SENDER))
    c.quit()
    [m] = p.wait_messages("bob@example.org")
    assert b"Subject: barrier" in m
    assert p.messages("alice@example.org") == []


@pytest.mark.parametrize("fake_end", [
    pytest.param(b"\n.\n", id="lf_dot_lf"),
    pytest.param(b"\r\n.\n", id="crlf_dot_lf"),
    pytest.param(b"\n.\r\n", id="lf_dot_crlf"),
    pytest.param(b"\r.\r\n", id="cr_dot_crlf"),
    pytest.param(b"\r\n.\r", id="crlf_dot_cr"),
    pytest.param(b"\r\n.\r\r\n", id="crlf_dot_cr_crlf"),
    pytest.param(b"\r\n\n.\r\n", id="crlf_lf_dot_crlf"),
])
def test_fake_end_of_data_is_521_and_smuggled_commands_never_run(postern, fake_end):
    r = open_data(postern)
    r.send(head() + b"first part" + fake_end + SMUGGLED)
    assert_rejected_and_closed(r)
    txs = transactions(postern)
    assert len(txs) == 1, txs
    assert f"from={SENDER}" in txs[0] and 'reply="521 5.5.2' in txs[0], txs[0]
    assert_nothing_delivered(postern)


def test_lf_dot_lf_at_start_of_data_is_521(postern):
    r = open_data(postern)
    r.send(b".\n" + SMUGGLED)
    assert_rejected_and_closed(r)
    assert_nothing_delivered(postern)


def test_bare_cr_in_the_middle_of_a_body_line_is_521(postern):
    r = open_data(postern)
    r.send(head() + b"one\rtwo\r\n.\r\n")
    assert_rejected_and_closed(r)
    assert_nothing_delivered(postern)


def test_bare_lf_in_a_body_line_is_521(postern):
    r = open_data(postern)
    r.send(head() + b"one\ntwo\r\n.\r\n")
    assert_rejected_and_closed(r)
    assert_nothing_delivered(postern)


def test_bare_lf_in_a_header_is_521(postern):
    r = open_data(postern)
    r.send(b"Subject: a\nBcc: alice@example.org\r\n\r\nbody\r\n.\r\n")
    assert_rejected_and_closed(r)
    assert_nothing_delivered(postern)


def test_bare_lf_in_a_command_line_is_521(postern):
    r = postern.raw(source="127.0.0.2")
    assert r.cmd("EHLO client.example.net")[0] == 250
    r.send(b"MAIL FROM:<" + EVIL.encode() + b">\n")
    assert_rejected_and_closed(r)
    assert not any(f"from={EVIL}" in l for l in transactions(postern))


def test_bare_lf_ending_ehlo_is_521(postern):
    r = postern.raw(source="127.0.0.2")
    r.send(b"EHLO client.example.net\nMAIL FROM:<" + EVIL.encode() + b">\r\n")
    assert_rejected_and_closed(r)


def test_bare_lf_splitting_pipelined_commands_never_executes_them(postern):
    r = postern.raw(source="127.0.0.2")
    assert r.cmd("EHLO client.example.net")[0] == 250
    assert r.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
    r.send(b"RCPT TO:<bob@example.org>\nDATA\r\n")
    assert_rejected_and_closed(r)
    assert_nothing_delivered(postern)


def test_bare_cr_in_a_command_is_never_executed(postern):
    r = postern.raw(source="127.0.0.2")
    assert r.cmd("EHLO client.example.net")[0] == 250
    r.send(b"MAIL FROM:<" + EVIL.encode() + b">\rRCPT TO:<bob@example.org>\r\n")
    code, text = r.reply()
    # SPEC 5: 521 5.5.2 and close (500 would also keep the command unexecuted).
    assert code in (521, 500), text
    assert code == 521, f"SPEC 5 wants 521 5.5.2 and close, got {text}"
    assert r.closed()
    assert not any(f"from={EVIL}" in l for l in transactions(postern))


def test_bare_cr_at_end_of_command_before_crlf_is_521(postern):
    r = postern.raw(source="127.0.0.2")
    r.send(b"NOOP\r\r\n")
    assert_rejected_and_closed(r)


def test_dot_stuffed_line_arrives_unstuffed(postern):
    r = open_data(postern)
    r.send(head("stuffed") + b"..leading dot\r\nplain\r\n.\r\n")
    assert r.reply()[1].startswith("250 2.0.0 Ok: queued as ")
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\n\n.leading dot\nplain\n")
    assert b"..leading" not in m


def test_line_of_a_single_stuffed_dot_arrives_as_a_dot(postern):
    r = open_data(postern)
    r.send(head("lonedot") + b"before\r\n..\r\nafter\r\n.\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\nbefore\n.\nafter\n")


def test_dot_not_at_line_start_is_kept(postern):
    r = open_data(postern)
    r.send(head("middot") + b"a.b\r\n x.\r\n.\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\na.b\n x.\n")


def test_end_of_data_split_across_tcp_segments(postern):
    r = open_data(postern)
    r.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r.send(head("split") + b"body line\r")
    for piece in (b"\n", b".", b"\r", b"\n"):
        time.sleep(0.05)
        r.send(piece)
    assert r.reply()[1].startswith("250 2.0.0 Ok: queued as ")
    assert r.cmd("QUIT")[0] == 221
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\n\nbody line\n")


def test_stuffed_dot_split_across_tcp_segments(postern):
    r = open_data(postern)
    r.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r.send(head("splitdot") + b"x\r\n.")
    time.sleep(0.05)
    r.send(b".y\r\n")
    time.sleep(0.05)
    r.send(b".\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\nx\n.y\n")


def test_end_of_data_with_pipelined_quit_in_the_same_packet(postern):
    r = open_data(postern)
    r.send(head("pipequit") + b"body\r\n.\r\nQUIT\r\n")
    assert r.reply()[1].startswith("250 2.0.0 Ok: queued as ")
    assert r.reply()[1].startswith("221 2.0.0")
    assert r.closed()
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\n\nbody\n")
    assert b"QUIT" not in m


def test_end_of_data_with_pipelined_second_transaction(postern):
    r = open_data(postern)
    r.send(head("first") + b"one\r\n.\r\n"
           b"MAIL FROM:<" + SENDER.encode() + b">\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    assert r.reply()[0] == 250
    assert [r.reply()[0] for _ in range(3)] == [250, 250, 354]
    r.send(b"Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 221
    [b] = postern.wait_messages("bob@example.org")
    [a] = postern.wait_messages("alice@example.org")
    assert b.endswith(b"\n\none\n") and a.endswith(b"\n\ntwo\n")


def test_stored_message_has_lf_only_line_ends(postern):
    r = open_data(postern)
    r.send(head("lf") + b"line one\r\nline two\r\n\r\nline four\r\n.\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert b"\r" not in m
    assert m.endswith(b"\n\nline one\nline two\n\nline four\n")


def test_body_ending_without_final_crlf_before_dot_is_not_end(postern):
    """"text.\r\n" is not <CRLF>.<CRLF>: the session stays in DATA."""
    r = open_data(postern)
    r.send(head("nodot") + b"text.\r\n")
    r.s.settimeout(0.3)
    with pytest.raises(socket.timeout):
        r.s.recv(100)
    r.s.settimeout(10)
    r.send(b".\r\n")
    assert r.reply()[0] == 250
    [m] = postern.wait_messages("bob@example.org")
    assert m.endswith(b"\n\ntext.\n")
