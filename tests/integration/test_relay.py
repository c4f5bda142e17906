"""Open-relay battery (SPEC sections 1 and 5: "it can never become an open
relay"). Every trick is sent from 127.0.0.2, which is NOT trusted, with a
sender outside our domains, as a whole transaction (EHLO, MAIL, RCPT, DATA,
body, QUIT) so that a wrongly accepted recipient would really be queued.
Each trick must be refused at RCPT with the code of SPEC section 5, and
afterwards nothing may be queued and no Maildir created for a bogus local
part. The second half checks that those who may relay still can."""

import subprocess
import time

import pytest

from conftest import PASSWORD, client_tls, message

UNTRUSTED = "127.0.0.2"
OUTSIDER = "friend@example.net"

# (id, exact bytes between "RCPT TO:" and CRLF, expected code, expected
# enhanced status code). 554 5.7.1: not local, may not relay; 550 5.1.1:
# resolves to an unknown local part of example.org; 501: syntax refused.
TRICKS = [
    ("plain_remote", b"<victim@example.com>", 554, "5.7.1"),
    ("percent_hack", b"<victim%example.com@example.org>", 550, "5.1.1"),
    ("double_percent", b"<victim%example.com%example.net@example.org>", 550, "5.1.1"),
    ("percent_hack_upper_local_domain", b"<victim%example.com@EXAMPLE.ORG>", 550, "5.1.1"),
    ("bang_path", b"<example.com!victim@example.org>", 550, "5.1.1"),
    ("bang_path_two_hops", b"<example.net!example.com!victim@example.org>", 550, "5.1.1"),
    ("bang_without_domain", b"<example.com!victim>", 501, "5.1.3"),
    ("source_route", b"<@example.org:victim@example.com>", 554, "5.7.1"),
    ("multi_hop_source_route", b"<@example.org,@mx.example.org:victim@example.com>", 554, "5.7.1"),
    ("source_route_then_percent", b"<@example.org:victim%example.com@example.org>", 550, "5.1.1"),
    ("quoted_local_part_with_at", b'<"victim@example.com"@example.org>', 550, "5.1.1"),
    ("quoted_local_part_with_percent", b'<"victim%example.com"@example.org>', 550, "5.1.1"),
    ("quoted_escaped_at", b'<"victim\\@example.com"@example.org>', 550, "5.1.1"),
    ("quoted_whole_address_no_domain", b'<"victim@example.com">', 501, "5.1.3"),
    ("ipv4_literal", b"<victim@[192.0.2.1]>", 554, "5.7.1"),
    ("ipv4_literal_of_this_server", b"<bob@[127.0.0.1]>", 554, "5.7.1"),
    ("ipv6_literal", b"<victim@[IPv6:2001:db8::1]>", 554, "5.7.1"),
    ("general_address_literal", b"<victim@[x400:example.com]>", 501, "5.1.3"),
    ("decimal_ip_as_domain", b"<victim@3221225985>", 554, "5.7.1"),
    ("local_domain_trailing_dot", b"<bob@example.org.>", 501, "5.1.3"),
    ("remote_domain_trailing_dot", b"<victim@example.com.>", 501, "5.1.3"),
    ("remote_upper_case", b"<VICTIM@EXAMPLE.COM>", 554, "5.7.1"),
    ("remote_mixed_case", b"<Victim@ExAmPlE.CoM>", 554, "5.7.1"),
    ("double_at", b"<victim@example.com@example.org>", 501, "5.1.3"),
    ("double_at_local_first", b"<bob@example.org@example.com>", 501, "5.1.3"),
    ("no_domain", b"<victim>", 501, "5.1.3"),
    ("suffix_trick_local_then_remote", b"<victim@example.org.example.com>", 554, "5.7.1"),
    ("local_domain_as_subdomain", b"<victim@sub.example.org>", 554, "5.7.1"),
    ("local_user_in_subdomain", b"<bob@mx.example.org>", 554, "5.7.1"),
    ("remote_postmaster", b"<postmaster@example.com>", 554, "5.7.1"),
    ("space_before_closing_bracket", b"<victim@example.com >", 501, "5.1.3"),
    ("tab_inside_path", b"<victim@example.com\t>", 501, "5.1.3"),
    ("quoted_plain_local_part", b'<"victim"@example.com>', 554, "5.7.1"),
    ("utf8_domain_without_smtputf8", "<victim@exämple.com>".encode(), 501, "5.1.3"),
    ("utf8_local_domain_lookalike_without_smtputf8", "<bob@exаmple.org>".encode(), 501, "5.1.3"),
    ("nul_in_path", b"<victim@example.com\x00@example.org>", 501, "5.5.4"),
    ("control_char_in_path", b"<victim@example.com\x01@example.org>", 501, "5.1.3"),
    ("del_char_in_path", b"<victim\x7f@example.org>", 501, "5.1.3"),
    ("no_angle_brackets", b"victim@example.com", 501, "5.5.4"),
    ("second_path_as_parameter", b"<bob@example.org> <victim@example.com>", 501, "5.5.4"),
    ("comma_list_in_path", b"<bob@example.org,victim@example.com>", 501, "5.1.3"),
    ("junk_after_closing_bracket", b"<victim@example.com>@example.org", 501, "5.5.4"),
    ("port_in_domain", b"<victim@example.com:25>", 501, "5.1.3"),
    ("empty_label_in_domain", b"<victim@example..org>", 501, "5.1.3"),
]


def local_dirs(p):
    """Every mailbox directory that exists, as "local@domain"."""
    root = p.data_dir / "mail"
    if not root.exists():
        return set()
    return {f"{m.name}@{d.name}" for d in root.iterdir() if d.is_dir()
            for m in d.iterdir() if m.is_dir()}


def transaction(p, rcpt: bytes, sender=OUTSIDER, source=UNTRUSTED, smtputf8=False):
    """A whole transaction with exact RCPT bytes; returns the RCPT reply.
    A body is sent only if DATA is (wrongly) answered 354."""
    r = p.raw(source=source)
    assert r.cmd("EHLO client.example.net")[0] == 250
    mail = f"MAIL FROM:<{sender}>" + (" SMTPUTF8" if smtputf8 else "")
    assert r.cmd(mail)[0] == 250
    r.send(b"RCPT TO:" + rcpt + b"\r\n")
    code, text = r.reply()
    data = r.cmd("DATA")
    if data[0] == 354:
        r.send(message(subject="relayed", sender=sender, to="victim@example.com").encode()
               + b".\r\n")
        r.reply()
    assert r.cmd("QUIT")[0] == 221
    assert r.closed()
    return code, text, data[0]


def assert_nothing_stored(p, before):
    assert p.queue_ids() == []
    assert local_dirs(p) <= before, local_dirs(p) - before


@pytest.mark.parametrize("rcpt,code,esc", [t[1:] for t in TRICKS], ids=[t[0] for t in TRICKS])
def test_relay_trick_is_refused_from_untrusted_source(postern, rcpt, code, esc):
    before = local_dirs(postern)
    got, text, data = transaction(postern, rcpt)
    assert got != 250, f"RELAYED: RCPT TO:{rcpt!r} -> {text}"
    assert (got, text[4:9]) == (code, esc), text
    assert data == 503
    assert_nothing_stored(postern, before)


def test_whole_battery_on_one_server_queues_nothing(postern):
    before = local_dirs(postern)
    accepted = []
    for name, rcpt, _, _ in TRICKS:
        code, text, _ = transaction(postern, rcpt)
        if code == 250:
            accepted.append((name, text))
        assert postern.queue_ids() == [], name
    assert accepted == []
    assert_nothing_stored(postern, before)
    postern.wait_log("event=disconnect")
    for line in postern.log_lines():
        if "event=transaction" in line:
            assert ":250" not in line, line


def test_null_sender_cannot_relay_from_untrusted_source(postern):
    before = local_dirs(postern)
    code, text, _ = transaction(postern, b"<victim@example.com>", sender="")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert_nothing_stored(postern, before)


def test_utf8_remote_domain_with_smtputf8_is_still_relay_denied(postern):
    before = local_dirs(postern)
    code, text, _ = transaction(postern, "<victim@exämple.com>".encode(), smtputf8=True)
    assert (code, text[4:9]) == (554, "5.7.1")
    assert_nothing_stored(postern, before)


def test_crlf_injection_second_rcpt_is_refused(postern):
    r = postern.raw(source=UNTRUSTED)
    r.cmd("EHLO client.example.net")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    r.send(b"RCPT TO:<bob@example.org>\r\nRCPT TO:<victim@example.com>\r\n")
    assert r.reply()[0] == 250
    code, text = r.reply()
    assert (code, text[4:9]) == (554, "5.7.1")
    assert r.cmd("DATA")[0] == 354
    r.send(message(sender=OUTSIDER).encode() + b".\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert b"victim@example.com" not in m.split(b"\n\n", 1)[0].split(b"From: ")[0]
    # Only bob's copy existed; once delivered the queue is empty: nothing
    # for example.com stays behind.
    deadline = time.time() + 5
    while postern.queue_ids() and time.time() < deadline:
        time.sleep(0.05)
    assert postern.queue_ids() == []
    assert "victim" not in postern.cli("queue", "list").stdout


def test_bare_lf_between_two_rcpts_closes_without_executing_either(postern):
    r = postern.raw(source=UNTRUSTED)
    r.cmd("EHLO client.example.net")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    r.send(b"RCPT TO:<bob@example.org>\nRCPT TO:<victim@example.com>\r\n")
    code, text = r.reply()
    assert (code, text[4:9]) == (521, "5.5.2")
    assert r.closed()
    assert postern.queue_ids() == []


def test_refused_remote_rcpt_is_not_carried_with_an_accepted_local_one(postern):
    r = postern.raw(source=UNTRUSTED)
    r.cmd("EHLO client.example.net")
    r.cmd(f"MAIL FROM:<{OUTSIDER}>")
    assert r.cmd("RCPT TO:<victim@example.com>")[0] == 554
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("RCPT TO:<victim%example.com@example.org>")[0] == 550
    assert r.cmd("DATA")[0] == 354
    r.send(message(sender=OUTSIDER).encode() + b".\r\n")
    assert r.reply()[0] == 250
    r.cmd("QUIT")
    postern.wait_messages("bob@example.org")
    line = postern.wait_log("event=transaction")
    assert "rcpt=victim@example.com:554" in line
    assert "rcpt=bob@example.org:250" in line
    assert "rcpt=victim%example.com@example.org:550" in line
    deadline = time.time() + 5
    while postern.queue_ids() and time.time() < deadline:
        time.sleep(0.05)
    assert postern.queue_ids() == []
    assert local_dirs(postern) <= {"alice@example.org", "bob@example.org"}


def test_local_domain_in_upper_case_is_accepted_and_only_one_queued(postern):
    r = postern.raw(source=UNTRUSTED)
    r.cmd("EHLO client.example.net")
    r.cmd(f"MAIL FROM:<{OUTSIDER}>")
    code, text = r.cmd("RCPT TO:<bob@EXAMPLE.ORG>")
    assert (code, text[4:9]) == (250, "2.1.5")
    assert r.cmd("RCPT TO:<VICTIM@EXAMPLE.COM>")[0] == 554
    assert r.cmd("DATA")[0] == 354
    r.send(message(sender=OUTSIDER, to="bob@EXAMPLE.ORG").encode() + b".\r\n")
    code, text = r.reply()
    assert text.startswith("250 2.0.0 Ok: queued as ")
    qid = text.split()[-1]
    r.cmd("QUIT")
    [m] = postern.wait_messages("bob@example.org")
    assert b"Delivered-To: bob@example.org\n" in m
    deadline = time.time() + 5
    while postern.queue_ids() and time.time() < deadline:
        time.sleep(0.05)
    assert postern.queue_ids() == []
    line = postern.wait_log("event=transaction")
    assert "queue_id=" + qid in line
    assert "rcpt=bob@EXAMPLE.ORG:250" in line or "rcpt=bob@example.org:250" in line, line
    assert "rcpt=victim@example.com:554" in line.lower(), line


# -- those who may relay ---------------------------------------------------

def queue_list(p):
    return p.cli("queue", "list").stdout


def test_authenticated_user_can_relay(postern):
    c = postern.submission()
    assert c.mail("alice@example.org")[0] == 250
    code, text = c.rcpt("victim@example.com")
    assert (code, text[:5]) == (250, b"2.1.5")
    code, text = c.data(message(to="victim@example.com"))
    assert code == 250
    c.quit()
    [qid] = postern.queue_ids()
    out = queue_list(postern)
    assert out.startswith(qid), out
    rows = [l.split() for l in out.splitlines() if l[:1].isspace()]
    assert rows and rows[0][0] == "victim@example.com", out
    assert rows[0][1] in ("queued", "deferred"), out


def test_authenticated_relay_is_logged_with_user(postern):
    c = postern.submission()
    c.sendmail("alice@example.org", ["victim@example.com"], message(to="victim@example.com"))
    c.quit()
    line = postern.wait_log("event=transaction")
    assert "user=alice@example.org" in line
    assert "rcpt=victim@example.com:250" in line


def test_trusted_ip_can_relay(postern):
    c = postern.smtp(source="127.0.0.1")
    c.ehlo("client.example.net")
    assert c.mail("alice@example.org")[0] == 250
    assert c.rcpt("victim@example.com")[0] == 250
    assert c.data(message(to="victim@example.com"))[0] == 250
    c.quit()
    assert len(postern.queue_ids()) == 1
    assert "victim@example.com" in queue_list(postern)


def test_access_trust_lets_an_ip_relay_without_restart(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "none"; };')
    code, text, _ = transaction(p, b"<victim@example.com>", source="127.0.0.7")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert p.queue_ids() == []
    p.cli("access", "trust", "127.0.0.7", "--reason", "test")
    code, text, data = transaction(p, b"<victim@example.com>", source="127.0.0.7")
    assert code == 250, text
    assert data == 354
    assert len(p.queue_ids()) == 1
    # 127.0.0.2 is still not trusted.
    code, _, _ = transaction(p, b"<victim@example.org.example.com>", source=UNTRUSTED)
    assert code == 554
    assert len(p.queue_ids()) == 1


def test_sender_rule_local_domain_refuses_foreign_sender_from_trusted_ip(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "local_domain"; };')
    code, text, _ = transaction(p, b"<victim@example.com>", sender=OUTSIDER, source="127.0.0.1")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert p.queue_ids() == []


def test_sender_rule_local_domain_allows_local_sender_from_trusted_ip(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "local_domain"; };')
    code, text, data = transaction(p, b"<victim@example.com>", sender="alice@example.org",
                                   source="127.0.0.1")
    assert (code, text[4:9]) == (250, "2.1.5")
    assert data == 354
    assert len(p.queue_ids()) == 1


def test_sender_rule_local_domain_is_the_default(postern):
    code, text, _ = transaction(postern, b"<victim@example.com>", sender=OUTSIDER, source="127.0.0.1")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert postern.queue_ids() == []


def test_sender_rule_does_not_bind_authenticated_users(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "account"; };')
    c = p.submission()
    c.sendmail("alice@example.org", ["victim@example.com"], message(to="victim@example.com"))
    c.quit()
    assert len(p.queue_ids()) == 1


def test_null_sender_can_relay_from_trusted_ip(postern):
    code, text, data = transaction(postern, b"<victim@example.com>", sender="", source="127.0.0.1")
    assert (code, text[4:9]) == (250, "2.1.5")
    assert data == 354
    [qid] = postern.queue_ids()
    assert "victim@example.com" in queue_list(postern)



def test_access_remove_revokes_relay_for_new_connections(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "none"; };')
    p.cli("access", "trust", "127.0.0.7")
    assert transaction(p, b"<victim@example.com>", source="127.0.0.7")[0] == 250
    p.cli("access", "remove", "127.0.0.7")
    code, text, _ = transaction(p, b"<victim2@example.com>", source="127.0.0.7")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert len(p.queue_ids()) == 1


def test_access_remove_revokes_relay_for_next_transaction_on_open_connection(make_postern):
    """SPEC 1: directory changes are seen by "the next connection, transaction
    or login that starts after the command returns"; a revoked trust must
    not keep relaying on a connection opened before."""
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "none"; };')
    p.cli("access", "trust", "127.0.0.7")
    r = p.raw(source="127.0.0.7")
    r.cmd("EHLO client.example.net")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    assert r.cmd("RCPT TO:<victim@example.com>")[0] == 250
    assert r.cmd("RSET")[0] == 250
    p.cli("access", "remove", "127.0.0.7")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    code, text = r.cmd("RCPT TO:<victim@example.com>")
    assert (code, text[4:9]) == (554, "5.7.1"), text


def test_access_trust_applies_to_next_transaction_on_open_connection(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "none"; };')
    r = p.raw(source="127.0.0.7")
    r.cmd("EHLO client.example.net")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    assert r.cmd("RCPT TO:<victim@example.com>")[0] == 554
    assert r.cmd("RSET")[0] == 250
    p.cli("access", "trust", "127.0.0.7")
    assert r.cmd(f"MAIL FROM:<{OUTSIDER}>")[0] == 250
    code, text = r.cmd("RCPT TO:<victim@example.com>")
    assert code == 250, text


def test_sender_rule_account_refuses_unknown_local_sender_from_trusted_ip(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "account"; };')
    code, text, _ = transaction(p, b"<victim@example.com>", sender="nobody@example.org",
                                source="127.0.0.1")
    assert (code, text[4:9]) == (554, "5.7.1")
    assert p.queue_ids() == []


def test_sender_rule_account_allows_an_alias_sender_from_trusted_ip(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.1/32"]; sender_rule = "account"; };')
    p.cli("alias", "add", "sales@example.org", "alice@example.org")
    code, _, data = transaction(p, b"<victim@example.com>", sender="sales@example.org",
                                source="127.0.0.1")
    assert code == 250 and data == 354
    assert len(p.queue_ids()) == 1


def test_authenticated_on_port_25_with_auth_listener_can_relay(make_postern):
    p = make_postern(listen_extra="auth = true;")
    c = p.smtp(source=UNTRUSTED)
    c.ehlo("client.example.net")
    c.starttls(context=client_tls())
    c.ehlo("client.example.net")
    assert c.mail(OUTSIDER)[0] == 250
    assert c.rcpt("victim@example.com")[0] == 554
    c.rset()
    c.login("alice@example.org", PASSWORD)
    assert c.mail("alice@example.org")[0] == 250
    assert c.rcpt("victim@example.com")[0] == 250


def test_rcpt_with_unknown_parameter_is_555(postern):
    """RFC 5321 4.1.1.11 / 4.2.3: 555 for RCPT parameters not recognized,
    as MAIL already answers (test_unknown_mail_parameter_is_555). No RCPT
    parameter is advertised (no DSN), so none may be silently taken."""
    r = postern.raw(source=UNTRUSTED)
    r.cmd("EHLO client.example.net")
    r.cmd(f"MAIL FROM:<{OUTSIDER}>")
    code, text = r.cmd("RCPT TO:<bob@example.org> FOO=BAR")
    assert (code, text[4:9]) == (555, "5.5.4"), text
