"""STARTTLS (RFC 3207) and implicit TLS: commands pipelined in plaintext
after STARTTLS are discarded, never executed (SPEC section 5, RFC 3207 4.2,
CVE-2011-0411 and kin); the session is reset by the handshake; the TLS
version is in the transaction summary (SPEC section 6); tls.min_version
holds."""

import smtplib
import ssl

import pytest

from conftest import PASSWORD, client_tls, message


def ehlo(r, name="client.example.net"):
    code, text = r.cmd("EHLO " + name)
    assert code == 250, text
    return text


def starttls(r):
    """STARTTLS on a RawClient, then the handshake over its socket. The
    RawClient keeps working, now over TLS."""
    assert r.cmd("STARTTLS")[1].startswith("220 2.0.0")
    assert r.buf == b""
    r.s = client_tls().wrap_socket(r.s)
    return r


def test_plaintext_commands_pipelined_after_starttls_are_discarded(postern):
    r = postern.raw()
    ehlo(r)
    r.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<x@example.net>\r\n")
    code, text = r.reply()
    assert text.startswith("220 2.0.0"), text
    assert r.buf == b"", "reply bytes after the 220 arrived in plaintext: %r" % r.buf
    r.s = client_tls().wrap_socket(r.s)
    # The first reply over TLS answers the first command sent over TLS.
    code, text = r.cmd("EHLO client.example.net")
    assert code == 250 and text.startswith("250-mx.example.org"), text
    # The injected MAIL never ran: a MAIL now starts the first transaction.
    assert r.cmd("MAIL FROM:<friend@example.net>")[1].startswith("250 2.1.0")
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("QUIT")[0] == 221
    line = postern.wait_log("event=starttls_injection")
    assert "ip=127.0.0.1" in line
    assert not any("from=x@example.net" in l for l in postern.log_lines())


def test_injected_mail_rcpt_data_after_starttls_deliver_nothing(postern):
    r = postern.raw(source="127.0.0.2")
    ehlo(r)
    r.send(b"STARTTLS\r\nEHLO evil.example.net\r\nMAIL FROM:<x@example.net>\r\n"
           b"RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: injected\r\n\r\nevil\r\n.\r\n")
    assert r.reply()[1].startswith("220 2.0.0")
    r.s = client_tls().wrap_socket(r.s)
    code, text = r.cmd("NOOP")
    assert (code, text) == (250, "250 2.0.0 Ok"), text
    assert r.cmd("QUIT")[0] == 221
    postern.wait_log("event=starttls_injection")
    postern.wait_log("event=disconnect")
    assert postern.queue_ids() == []
    assert postern.messages("bob@example.org") == []
    assert not any("event=transaction" in l for l in postern.log_lines())


def test_mail_before_new_ehlo_after_starttls_is_503(postern):
    r = postern.raw()
    ehlo(r)
    starttls(r)
    assert r.cmd("MAIL FROM:<friend@example.net>")[1].startswith("503 5.5.1")
    ehlo(r)
    assert r.cmd("MAIL FROM:<friend@example.net>")[0] == 250


def test_transaction_before_starttls_is_forgotten(postern):
    r = postern.raw()
    ehlo(r)
    assert r.cmd("MAIL FROM:<friend@example.net>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    starttls(r)
    ehlo(r)
    assert r.cmd("DATA")[1].startswith("503 5.5.1")
    assert r.cmd("RCPT TO:<bob@example.org>")[1].startswith("503 5.5.1")


def test_starttls_twice_is_503_and_not_advertised_after_tls(postern):
    r = postern.raw()
    ehlo(r)
    starttls(r)
    text = ehlo(r)
    assert "STARTTLS" not in text
    assert r.cmd("STARTTLS")[1].startswith("503 5.5.1")
    # Still usable over TLS.
    assert r.cmd("NOOP")[0] == 250


def test_starttls_before_ehlo_is_503(postern):
    r = postern.raw()
    assert r.cmd("STARTTLS")[1].startswith("503 5.5.1")


def test_starttls_with_argument_is_501(postern):
    r = postern.raw()
    ehlo(r)
    assert r.cmd("STARTTLS now")[0] == 501


def test_submissions_port_implicit_tls_with_smtplib(postern):
    c = smtplib.SMTP_SSL("127.0.0.1", postern.submissions_port, timeout=10, context=client_tls())
    code, _ = c.ehlo("client.example.net")
    assert code == 250
    assert "starttls" not in c.esmtp_features
    assert "auth" in c.esmtp_features
    c.login("alice@example.org", PASSWORD)
    c.sendmail("alice@example.org", ["bob@example.org"], message(subject="implicit"))
    c.quit()
    [m] = postern.wait_messages("bob@example.org")
    assert b"with ESMTPSA id" in m
    assert b"(using TLSv1." in m


@pytest.mark.parametrize("port", ["smtp_port", "submission_port"])
def test_tls_version_in_transaction_summary(postern, port):
    c = smtplib.SMTP("127.0.0.1", getattr(postern, port), timeout=10)
    c.ehlo("client.example.net")
    c.starttls(context=client_tls())
    c.ehlo("client.example.net")
    version = c.sock.version()
    if port == "submission_port":
        c.login("alice@example.org", PASSWORD)
        sender = "alice@example.org"
    else:
        sender = "friend@example.net"
    c.sendmail(sender, ["bob@example.org"], message(sender=sender))
    c.quit()
    line = postern.wait_log("event=transaction")
    assert version in ("TLSv1.3", "TLSv1.2")
    assert f"tls={version}" in line, line


def test_tls_version_in_transaction_summary_on_submissions(postern):
    c = smtplib.SMTP_SSL("127.0.0.1", postern.submissions_port, timeout=10, context=client_tls())
    c.login("alice@example.org", PASSWORD)
    version = c.sock.version()
    c.sendmail("alice@example.org", ["bob@example.org"], message())
    c.quit()
    line = postern.wait_log("event=transaction")
    assert f"tls={version}" in line, line


def tls12_only():
    ctx = client_tls()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def test_min_version_tls13_refuses_a_tls12_client_on_starttls(make_postern):
    p = make_postern(extra='tls = { min_version = "TLSv1.3"; };')
    c = p.smtp()
    c.ehlo("client.example.net")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        c.starttls(context=tls12_only())


def test_min_version_tls13_refuses_a_tls12_client_on_submissions(make_postern):
    p = make_postern(extra='tls = { min_version = "TLSv1.3"; };')
    with pytest.raises((ssl.SSLError, ConnectionError)):
        smtplib.SMTP_SSL("127.0.0.1", p.submissions_port, timeout=10, context=tls12_only())


def test_min_version_tls13_accepts_a_tls13_client(make_postern):
    p = make_postern(extra='tls = { min_version = "TLSv1.3"; };')
    c = p.smtp()
    c.ehlo("client.example.net")
    c.starttls(context=client_tls())
    assert c.sock.version() == "TLSv1.3"
    c.ehlo("client.example.net")
    c.sendmail("friend@example.net", ["bob@example.org"], message())
    c.quit()
    assert "tls=TLSv1.3" in p.wait_log("event=transaction")


def test_default_min_version_accepts_tls12(postern):
    c = postern.smtp()
    c.ehlo("client.example.net")
    c.starttls(context=tls12_only())
    assert c.sock.version() == "TLSv1.2"
    assert c.ehlo("client.example.net")[0] == 250
