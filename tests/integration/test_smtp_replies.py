"""Every reply row of SPEC section 5 that needs neither DNS nor filters,
with its exact code and enhanced status code."""

import os
import smtplib
import socket
import time

import pytest

from conftest import PASSWORD, client_tls, message


def test_banner_hides_software(postern):
    r = postern.raw()
    assert r.banner == (220, "220 mx.example.org ESMTP")


def test_ehlo_offers_extensions_and_no_auth_before_tls(postern):
    r = postern.raw(postern.submission_port)
    code, text = r.cmd("EHLO client.example.net")
    assert code == 250
    for kw in ("PIPELINING", "SIZE 26214400", "8BITMIME", "ENHANCEDSTATUSCODES",
               "SMTPUTF8", "STARTTLS"):
        assert kw in text
    assert "AUTH" not in text


def test_auth_offered_after_tls_on_submission(postern):
    c = postern.submission(login=False)
    assert "auth" in c.esmtp_features
    assert "starttls" not in c.esmtp_features
    assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]


def test_no_auth_on_port_25_even_after_tls(postern):
    c = postern.smtp()
    c.ehlo("client.example.net")
    c.starttls(context=client_tls())
    c.ehlo("client.example.net")
    assert "auth" not in c.esmtp_features
    assert c.docmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHg=")[0] == 503


def test_auth_on_port_25_when_listener_allows(make_postern):
    p = make_postern(listen_extra="auth = true;")
    c = p.smtp()
    c.ehlo("x.example.net")
    c.starttls(context=client_tls())
    c.ehlo("x.example.net")
    assert "auth" in c.esmtp_features
    c.login("alice@example.org", PASSWORD)


def test_auth_before_tls_is_538(postern):
    r = postern.raw(postern.submission_port)
    r.cmd("EHLO client.example.net")
    assert r.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHg=") == (538, "538 5.7.11 encryption required for authentication")


def test_mail_on_submission_without_auth_is_530(postern):
    c = postern.submission(login=False)
    code, text = c.mail("alice@example.org")
    assert (code, text[:5]) == (530, b"5.7.0")


def test_wrong_credentials_are_535(postern):
    c = postern.submission(login=False)
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login("alice@example.org", "wrong")
    assert e.value.smtp_code == 535
    assert e.value.smtp_error.startswith(b"5.7.8")
    postern.wait_log("event=login")
    assert any("result=fail" in l and "user=alice@example.org" in l for l in postern.log_lines())


def test_login_is_logged_without_password(postern):
    c = postern.submission()
    c.quit()
    line = postern.wait_log("result=ok")
    assert "user=alice@example.org" in line
    assert PASSWORD not in postern.log.read_text()


def test_auth_login_mechanism(postern):
    c = postern.submission(login=False)
    c.user, c.password = "alice@example.org", PASSWORD
    code, _ = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
    assert code == 235


def auth_plain_b64(user, password):
    import base64
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def test_too_many_auth_failures_ban_the_ip(make_postern):
    p = make_postern(extra='auth = { failures_before_ban = 3; failure_window = "10m"; ban_time = "1h"; };')
    c = p.submission(login=False)
    for _ in range(2):
        code, text = c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))
        assert (code, text[:5]) == (535, b"5.7.8")
    code, text = c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))
    assert (code, text[:5]) == (421, b"4.7.0")
    line = p.wait_log("event=ban")
    assert "ip=127.0.0.1" in line and "reason=" in line and "expires=" in line
    # Banned on every listener: closed before any banner, good password or not.
    for port in (p.smtp_port, p.submission_port, p.submissions_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(5)
        assert s.recv(100) == b""
        s.close()
    assert "127.0.0.1" in p.cli("access", "list").stdout


def test_failures_outside_window_do_not_ban(make_postern):
    p = make_postern(extra='auth = { failures_before_ban = 2; failure_window = "1s"; };')
    c = p.submission(login=False)
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))[0] == 535
    time.sleep(2.2)
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))[0] == 535
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", PASSWORD))[0] == 235


def test_ban_reply_is_421_raw(make_postern):
    p = make_postern(extra='auth = { failures_before_ban = 1; };')
    import ssl
    s = socket.create_connection(("127.0.0.1", p.submissions_port), timeout=10)
    t = client_tls().wrap_socket(s)
    f = t.makefile("rb")
    assert f.readline().startswith(b"220")
    t.sendall(b"EHLO x.example.net\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    t.sendall(b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25n\r\n")
    assert f.readline() == b"421 4.7.0 too many authentication failures\r\n"
    assert f.readline() == b""


def test_submission_delivers_to_maildir(postern):
    c = postern.submission()
    c.sendmail("alice@example.org", ["bob@example.org"], message())
    c.quit()
    [m] = postern.wait_messages("bob@example.org")
    assert m.startswith(b"Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\nReceived: from client.example.net")
    assert b"with ESMTPSA id" in m
    assert b"\r\n" not in m
    assert b"Hello Bob." in m


def test_submission_adds_message_id_and_date(postern):
    c = postern.submission()
    c.sendmail("alice@example.org", ["bob@example.org"], "Subject: bare\r\n\r\nno id\r\n")
    [m] = postern.wait_messages("bob@example.org")
    assert b"\nMessage-ID: <" in m
    assert b"\nDate: " in m


def test_incoming_mail_is_not_given_message_id(postern):
    c = postern.smtp()
    c.sendmail("friend@example.net", ["bob@example.org"], "Subject: bare\r\n\r\nno id\r\n")
    [m] = postern.wait_messages("bob@example.org")
    assert b"Message-ID:" not in m
    assert b"with ESMTP id" in m


def test_submissions_implicit_tls(postern):
    c = smtplib.SMTP_SSL("127.0.0.1", postern.submissions_port, timeout=10, context=client_tls())
    c.login("alice@example.org", PASSWORD)
    c.sendmail("alice@example.org", ["bob@example.org"], message())
    postern.wait_messages("bob@example.org")


def test_sender_not_owned_is_553(postern):
    c = postern.submission()
    code, text = c.mail("bob@example.org")
    assert (code, text[:5]) == (553, b"5.7.1")


def test_sender_alias_of_user_is_allowed(postern):
    postern.cli("alias", "add", "sales@example.org", "alice@example.org")
    c = postern.submission()
    assert c.mail("sales@example.org")[0] == 250


def test_spoofing_local_domain_is_550(postern):
    c = postern.smtp(source="127.0.0.2")
    c.ehlo("x.example.net")
    code, text = c.mail("alice@example.org")
    assert (code, text[:5]) == (550, b"5.7.1")


def test_local_domain_without_require_auth_accepts(postern):
    postern.cli("domain", "set", "example.org", "require_auth=false")
    c = postern.smtp(source="127.0.0.2")
    c.ehlo("x.example.net")
    assert c.mail("alice@example.org")[0] == 250


def test_relay_denied_is_554_at_rcpt(postern):
    c = postern.smtp(source="127.0.0.2")
    c.ehlo("x.example.net")
    assert c.mail("friend@example.net")[0] == 250
    code, text = c.rcpt("someone@example.com")
    assert (code, text[:5]) == (554, b"5.7.1")


def test_unknown_local_recipient_is_550_511(postern):
    c = postern.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    code, text = c.rcpt("nobody@example.org")
    assert (code, text[:5]) == (550, b"5.1.1")


def test_disabled_user_is_550_521(postern):
    postern.cli("user", "set", "bob@example.org", "enabled=false")
    c = postern.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    code, text = c.rcpt("bob@example.org")
    assert (code, text[:5]) == (550, b"5.2.1")


def test_disabled_user_cannot_log_in(postern):
    postern.cli("user", "set", "alice@example.org", "enabled=false")
    c = postern.submission(login=False)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login("alice@example.org", PASSWORD)


def test_over_quota_is_552_522(postern):
    postern.cli("user", "set", "bob@example.org", "quota=2K")
    c = postern.smtp()
    c.sendmail("friend@example.net", ["bob@example.org"], message(body="x" * 1200 + "\r\n"))
    postern.wait_messages("bob@example.org")
    c.ehlo("x.example.net")
    c.mail("friend@example.net", ["SIZE=1000"])
    code, text = c.rcpt("bob@example.org")
    assert (code, text[:5]) == (552, b"5.2.2")


def test_over_quota_at_end_of_data_is_552_522(postern):
    postern.cli("user", "set", "bob@example.org", "quota=2K")
    c = postern.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    c.rcpt("bob@example.org")
    code, text = c.data(message(body="x" * 3000 + "\r\n"))
    assert (code, text[:5]) == (552, b"5.2.2")


def test_recipient_limit_accepts_n_then_452(make_postern):
    p = make_postern(extra="limits = { recipients = 3; };")
    c = p.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    for i in range(3):
        assert c.rcpt("bob@example.org")[0] == 250
    code, text = c.rcpt("alice@example.org")
    assert (code, text[:5]) == (452, b"4.5.3")


def test_size_declared_too_big_is_552_534(make_postern):
    p = make_postern(extra='limits = { message_size = "10K"; };')
    c = p.smtp()
    c.ehlo("x.example.net")
    code, text = c.mail("friend@example.net", ["SIZE=20000"])
    assert (code, text[:5]) == (552, b"5.3.4")


def test_size_actual_too_big_is_552_534_after_data(make_postern):
    p = make_postern(extra='limits = { message_size = "10K"; };')
    c = p.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    c.rcpt("bob@example.org")
    code, text = c.data(message(body=("y" * 70 + "\r\n") * 300))
    assert (code, text[:5]) == (552, b"5.3.4")
    assert p.queue_ids() == []


def test_domain_max_message_size(postern):
    postern.cli("domain", "set", "example.org", "max_message_size=2K")
    c = postern.smtp()
    c.ehlo("x.example.net")
    c.mail("friend@example.net")
    c.rcpt("bob@example.org")
    assert c.data(message(body="z" * 3000 + "\r\n"))[0] == 552


def test_vrfy_never_confirms(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("VRFY bob@example.org")[1].startswith("252 2.5.2")
    assert r.cmd("VRFY nobody@example.org")[1].startswith("252 2.5.2")


def test_expn_is_502(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("EXPN staff")[1].startswith("502 5.5.1")


def test_unknown_command_is_500_551(postern):
    r = postern.raw()
    assert r.cmd("FOOBAR")[1].startswith("500 5.5.1")


def test_line_over_512_octets_is_500_552(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("NOOP " + "a" * 505)[1].startswith("250")  # 512 with CRLF
    assert r.cmd("NOOP " + "a" * 506)[1].startswith("500 5.5.2")
    assert r.cmd("NOOP")[0] == 250


@pytest.mark.parametrize("cmd", ["MAIL FROM:<a@example.net>", "RCPT TO:<bob@example.org>", "DATA"])
def test_sequence_errors_are_503(postern, cmd):
    r = postern.raw()
    assert r.cmd(cmd)[1].startswith("503 5.5.1")


def test_rcpt_before_mail_and_data_before_rcpt(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("RCPT TO:<bob@example.org>")[1].startswith("503 5.5.1")
    r.cmd("MAIL FROM:<a@example.net>")
    assert r.cmd("DATA")[1].startswith("503 5.5.1")


@pytest.mark.parametrize("helo", ["", "bad..name", "-bad.example", "[300.1.1.1]", "foo bar", "exa_mple!.com"])
def test_invalid_helo_is_501_552(postern, helo):
    r = postern.raw()
    assert r.cmd(("EHLO " + helo).strip())[1].startswith("501 5.5.2")


@pytest.mark.parametrize("helo", ["mx.example.net", "[192.0.2.1]", "[IPv6:2001:db8::1]", "localhost"])
def test_valid_helo_is_accepted(postern, helo):
    assert postern.raw().cmd("HELO " + helo)[0] == 250


def test_helo_checks_off_accepts_anything(make_postern):
    p = make_postern(extra='checks = { helo = "off"; verify_sender_domain = false; spf = "off"; rdns = "off"; };')
    assert p.raw().cmd("EHLO bad..name")[0] == 250


def test_too_many_errors_is_421(make_postern):
    p = make_postern(extra="limits = { errors_before_disconnect = 3; };")
    r = p.raw()
    assert r.cmd("FOO")[0] == 500
    assert r.cmd("FOO")[0] == 500
    assert r.cmd("FOO")[1].startswith("421 4.7.0")
    assert r.closed()


def test_idle_timeout_is_421_442(make_postern):
    p = make_postern(extra='limits = { command_timeout = "2s"; };')
    r = p.raw()
    r.s.settimeout(10)
    assert r.reply()[1].startswith("421 4.4.2")
    assert r.closed()


def test_connections_per_ip_over_limit_is_421(make_postern):
    p = make_postern(extra="limits = { connections_per_ip = 2; };")
    a, b = p.raw(), p.raw()
    c = p.raw(banner=False)
    assert c.reply()[1].startswith("421 4.7.0")
    assert c.closed()
    a.close()
    time.sleep(0.3)
    d = p.raw()
    assert d.banner[0] == 220


def test_pregreet_is_554_551(make_postern):
    p = make_postern(extra='checks = { greet_delay = 2; verify_sender_domain = false; spf = "off"; rdns = "off"; };')
    r = p.raw(banner=False)
    r.send(b"EHLO eager.example.net\r\n")
    assert r.reply()[1].startswith("554 5.5.1")
    assert r.closed()


def test_patient_client_gets_banner_after_greet_delay(make_postern):
    p = make_postern(extra='checks = { greet_delay = 1; verify_sender_domain = false; spf = "off"; rdns = "off"; };')
    r = p.raw(banner=False)
    assert r.reply()[0] == 220


def test_listener_allow_list_disconnects_others(make_postern):
    p = make_postern(listen_extra='allow = ["127.0.0.3/32"];')
    s = socket.create_connection(("127.0.0.1", p.smtp_port), timeout=5, source_address=("127.0.0.2", 0))
    s.settimeout(5)
    assert s.recv(100) == b""
    r = p.raw(source="127.0.0.3")
    assert r.banner[0] == 220


def test_banned_ip_is_disconnected_before_banner(postern):
    postern.cli("access", "ban", "127.0.0.5", "--reason", "test")
    s = socket.create_connection(("127.0.0.1", postern.smtp_port), timeout=5, source_address=("127.0.0.5", 0))
    s.settimeout(5)
    assert s.recv(100) == b""
    assert postern.raw(source="127.0.0.6").banner[0] == 220


def test_null_sender_is_accepted(postern):
    c = postern.smtp(source="127.0.0.2")
    c.sendmail("<>", ["bob@example.org"], message())
    [m] = postern.wait_messages("bob@example.org")
    assert m.startswith(b"Return-Path: <>\n")


def test_postmaster_is_always_accepted(postern):
    postern.cli("domain", "add", "example.net")
    c = postern.smtp(source="127.0.0.2")
    c.sendmail("friend@example.com", ["postmaster@example.net", "PostMaster@Example.ORG"], message())
    postern.wait_messages("postmaster@example.net")
    postern.wait_messages("postmaster@example.org")


def test_rset_noop_quit(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("MAIL FROM:<a@example.net>")[0] == 250
    assert r.cmd("RSET")[1].startswith("250 2.0.0")
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 503
    assert r.cmd("NOOP")[1].startswith("250 2.0.0")
    assert r.cmd("QUIT")[1].startswith("221 2.0.0")
    assert r.closed()


def test_unknown_mail_parameter_is_555(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("MAIL FROM:<a@example.net> FOO=BAR")[1].startswith("555 5.5.4")


def test_pipelining(postern):
    r = postern.raw()
    r.send(b"EHLO x.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<bob@example.org>\r\n"
           b"RCPT TO:<alice@example.org>\r\nDATA\r\n")
    codes = [r.reply()[0] for _ in range(5)]
    assert codes == [250, 250, 250, 250, 354]
    r.send(b"Subject: p\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert r.reply()[1].startswith("250 2.0.0 Ok: queued as ")
    assert r.reply()[0] == 221
    postern.wait_messages("bob@example.org")
    postern.wait_messages("alice@example.org")


def test_transaction_summary_line(postern):
    c = postern.smtp()
    c.ehlo("client.example.net")
    c.mail("friend@example.net")
    c.rcpt("bob@example.org")
    c.rcpt("nobody@example.org")
    c.data(message(subject="summary"))
    line = postern.wait_log("event=transaction")
    for kv in ("ip=127.0.0.1", "helo=client.example.net", "tls=none", "from=friend@example.net",
               "rcpt=bob@example.org:250", "rcpt=nobody@example.org:550", "queue_id=", "msgid=",
               "size=", "reply=\"250 2.0.0 Ok: queued as"):
        assert kv in line, kv


def test_log_lines_start_with_rfc3339_utc(postern):
    postern.raw().cmd("QUIT")
    postern.wait_log("event=disconnect")
    import re
    for line in postern.log_lines():
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=\w+ ", line), line


def test_local_failure_is_451_430_with_session_ref(postern):
    # The queue cannot be written (as a full or broken disk would do).
    tmpdir = postern.data_dir / "queue" / "tmp"
    freedir = postern.data_dir / "queue" / "free"
    os.chmod(tmpdir, 0o500)
    try:
        r = postern.raw()
        r.cmd("EHLO x.example.net")
        r.cmd("MAIL FROM:<friend@example.net>")
        r.cmd("RCPT TO:<bob@example.org>")
        code, text = r.cmd("DATA")
        assert code == 451 and text.startswith("451 4.3.0 temporary failure, ref ")
        session = text.rsplit(" ", 1)[1]
        assert any(f"session={session}" in l and "event=queue_error" in l
                   for l in postern.log_lines())
    finally:
        os.chmod(tmpdir, 0o700)
    assert postern.queue_ids() == []


def test_total_connections_over_limit_is_421(make_postern):
    p = make_postern(extra="limits = { connections = 2; };")
    a = p.raw(source="127.0.0.3")
    b = p.raw(source="127.0.0.4")
    c = p.raw(source="127.0.0.5", banner=False)
    assert c.reply()[0] == 421
    assert c.closed()
