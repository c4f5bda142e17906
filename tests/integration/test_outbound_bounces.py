"""Bounces of outbound delivery (issue 4; SPEC section 4 `bounces`): a
permanent failure, or a temporary one past max_lifetime, makes an RFC 3464
delivery status notification from <> to the sender, subject to the bounces
policy of the local domain on whose behalf it is made; an authenticated
sender always gets it; a bounce is never bounced.

Mail from outside (127.0.0.2, not trusted) reaches a remote address through
the alias fwd@example.org -> dest@peer.example, whose MX (`sink`, 127.0.0.3)
answers 550: the policy of example.org applies, and a DSN to the outside
sender goes to the MX of the sender's domain (`home`, 127.0.0.6)."""

import re
from email.utils import parseaddr

import pytest

from peers import (deliveries, header_block, mail_text, parse_dsn, send_smtp, stays, submit,
                   wait_delivery, wait_queue_empty)

DEST = "dest@peer.example"
REFUSAL = "550 5.1.1 <dest@peer.example>: no such user here"


def assert_dsn(raw, rcpt, sender, status=r"5\.\d+\.\d+", diag=None, subject=None):
    msg, per_msg, per_rcpt, original = parse_dsn(raw)
    assert parseaddr(msg["From"])[1].lower() == "mailer-daemon@mx.example.org", msg["From"]
    assert parseaddr(msg["To"])[1].lower() == sender.lower(), msg["To"]
    assert "mx.example.org" in (per_msg["Reporting-MTA"] or ""), str(per_msg)
    mine = [b for b in per_rcpt if rcpt in (b["Final-Recipient"] or "").lower()]
    assert len(mine) == 1, [str(b) for b in per_rcpt]
    r = mine[0]
    assert re.sub(r"\s+", "", r["Final-Recipient"]).lower() == "rfc822;" + rcpt, r["Final-Recipient"]
    assert r["Action"].strip().lower() == "failed", r["Action"]
    assert re.fullmatch(status, r["Status"].strip()), r["Status"]
    if diag is not None:
        assert r["Diagnostic-Code"] is not None, str(r)
        assert diag in re.sub(r"\s+", " ", r["Diagnostic-Code"]), r["Diagnostic-Code"]
    if subject is not None:
        assert f"Subject: {subject}" in original, original
    return msg, r


def local_dsn(p, address):
    """The one DSN delivered to a local sender's Maildir, from <>."""
    [m] = p.wait_messages(address, timeout=15)
    assert re.search(r"^Return-Path: <>$", header_block(m), re.M), header_block(m)
    return m


# ---- to an authenticated (local) sender -------------------------------------

def test_550_makes_a_dsn_that_email_parses(outbound, sink):
    sink.script(DEST, REFUSAL)
    qid = submit(outbound, DEST, mail_text(subject="report me", to=DEST))
    [b] = wait_delivery(outbound, DEST, "bounced")
    assert b["reply"] == REFUSAL and b["queue_id"] == qid, b["_line"]
    m = local_dsn(outbound, "alice@example.org")
    assert_dsn(m, DEST, "alice@example.org", status=r"5\.1\.1", diag="550 5.1.1",
               subject="report me")
    wait_queue_empty(outbound)
    assert sink.messages == []


def test_null_mx_dsn(outbound, sink):
    submit(outbound, "x@nullmx.example", mail_text(subject="to a null mx", to="x@nullmx.example"))
    m = local_dsn(outbound, "alice@example.org")
    assert_dsn(m, "x@nullmx.example", "alice@example.org", subject="to a null mx")


def test_one_dsn_for_two_failed_recipients(outbound, sink):
    sink.script("a@peer.example", "550 5.1.1 no a")
    sink.script("b@peer.example", "553 5.1.3 no b")
    submit(outbound, ["a@peer.example", "b@peer.example"])
    m = local_dsn(outbound, "alice@example.org")
    assert_dsn(m, "a@peer.example", "alice@example.org", status=r"5\.1\.1")
    assert_dsn(m, "b@peer.example", "alice@example.org", status=r"5\.1\.3")
    wait_queue_empty(outbound)
    stays(lambda: len(outbound.messages("alice@example.org")) == 1, 0.5, "one DSN only")


def test_max_lifetime_ends_retries_with_a_dsn(make_outbound, sink):
    p = make_outbound(retry='["1s"]', max_lifetime='"3s"')
    sink.script(DEST, "451 4.3.0 not now")
    submit(p, DEST, mail_text(subject="never accepted", to=DEST))
    wait_delivery(p, DEST, "bounced", timeout=20)
    assert len(deliveries(p, DEST, "deferred")) >= 2
    m = local_dsn(p, "alice@example.org")
    assert_dsn(m, DEST, "alice@example.org", status=r"[45]\.\d+\.\d+", subject="never accepted")
    wait_queue_empty(p)


def test_authenticated_sender_gets_the_dsn_even_when_bounces_are_disabled(outbound, sink):
    outbound.cli("domain", "set", "example.org", "bounces=disabled")
    sink.script(DEST, REFUSAL)
    submit(outbound, DEST)
    m = local_dsn(outbound, "alice@example.org")
    assert_dsn(m, DEST, "alice@example.org", status=r"5\.1\.1")


# ---- to an outside sender: the bounces policy --------------------------------

def bounce_from_outside(p, sink, sender, subject="from outside", rcpt="fwd@example.org"):
    """friend -> fwd@example.org -> dest@peer.example, refused 550."""
    sink.script(DEST, REFUSAL)
    qid = send_smtp(p, rcpt, sender,
                    msg=mail_text(subject=subject, sender=sender, to=rcpt))
    wait_delivery(p, DEST, "bounced", qid=qid)
    return qid


def control_domain(p):
    """example.net, bounces enabled, fwd@example.net -> dest@peer.example:
    the control that DSNs work at all in a test that expects none."""
    p.cli("domain", "add", "example.net")
    p.cli("domain", "set", "example.net", "bounces=enabled")
    p.cli("alias", "add", "fwd@example.net", DEST)


def control_bounce(p, sink, home):
    bounce_from_outside(p, sink, "control@remote.example", rcpt="fwd@example.net")
    home.wait(pred=lambda t: t.mail_from == "" and t.rcpts == ["control@remote.example"],
              timeout=15)
    wait_queue_empty(p)


def bounce_logged(p, qid):
    """SPEC section 6: every bounce is logged, a DSN left unsent too."""
    return p.wait_log(f"queue_id={qid}", timeout=5) and [
        line for line in p.log_lines() if "event=bounce" in line and f"queue_id={qid}" in line]


def dsns_to(sink, sender):
    return [t for t in sink.messages if t.mail_from == "" and t.rcpts == [sender]]


@pytest.fixture
def fwd(outbound):
    outbound.cli("alias", "add", "fwd@example.org", DEST)
    return outbound


def test_bounces_enabled_dsn_goes_to_the_senders_mx(fwd, sink, home):
    fwd.cli("domain", "set", "example.org", "bounces=enabled")
    bounce_from_outside(fwd, sink, "friend@nospf.example", "bounce me")
    [t] = home.wait(pred=lambda t: t.mail_from == "", timeout=15)
    assert t.rcpts == ["friend@nospf.example"], t
    assert_dsn(t.data, DEST, "friend@nospf.example", status=r"5\.1\.1", diag="550 5.1.1",
               subject="bounce me")
    wait_queue_empty(fwd)
    assert sink.from_null() == [], "the DSN went to the failed recipient's MX"


def test_bounces_disabled_no_dsn_to_an_outside_sender(fwd, sink, home):
    fwd.cli("domain", "set", "example.org", "bounces=disabled")
    control_domain(fwd)
    qid = bounce_from_outside(fwd, sink, "friend@spf.example")
    control_bounce(fwd, sink, home)
    stays(lambda: dsns_to(home, "friend@spf.example") == [], 0.5, f"no DSN: {home.from_null()}")
    assert bounce_logged(fwd, qid), "the DSN left unsent is not logged (event=bounce)"


def test_bounces_require_spf_without_spf_no_dsn(fwd, sink, home):
    """nospf.example publishes no SPF record: result none, no DSN."""
    fwd.cli("domain", "set", "example.org", "bounces=require_spf")
    control_domain(fwd)
    qid = bounce_from_outside(fwd, sink, "friend@nospf.example")
    control_bounce(fwd, sink, home)
    stays(lambda: dsns_to(home, "friend@nospf.example") == [], 0.5, f"no DSN: {home.from_null()}")
    assert bounce_logged(fwd, qid), "the DSN left unsent is not logged (event=bounce)"


def test_domain_defaults_bounces_apply(make_outbound, sink, home):
    p = make_outbound(extra='domain_defaults = { bounces = "disabled"; };')
    p.cli("alias", "add", "fwd@example.org", DEST)
    control_domain(p)
    bounce_from_outside(p, sink, "friend@spf.example")
    control_bounce(p, sink, home)
    stays(lambda: dsns_to(home, "friend@spf.example") == [], 0.5, f"no DSN: {home.from_null()}")


def test_a_bounce_is_never_bounced(fwd, sink, home):
    """A message from <> that fails permanently makes no DSN, whatever the
    policy, and nobody else gets one either. (A control from a real sender
    then does get its DSN.)"""
    fwd.cli("domain", "set", "example.org", "bounces=enabled")
    control_domain(fwd)
    sink.script(DEST, REFUSAL)
    c = fwd.smtp(source="127.0.0.2")
    c.ehlo("mx.remote.example")
    assert c.mail("<>")[0] == 250
    assert c.rcpt("fwd@example.org")[0] == 250
    code, text = c.data(mail_text(subject="a bounce", sender="MAILER-DAEMON@remote.example",
                                  to="fwd@example.org"))
    assert code == 250, text
    c.quit()
    qid = text.decode().rsplit(" ", 1)[-1]
    wait_delivery(fwd, DEST, "bounced", qid=qid)
    control_bounce(fwd, sink, home)
    # At dest's MX: MAIL from <> (the bounce), then the control's; at the
    # senders' MX: the control's DSN only.
    stays(lambda: len(sink.mails) == 2 and len(home.mails) == 1, 0.5,
          f"no further mail: {sink.mails} {home.mails}")
    assert [t.rcpts for t in home.from_null()] == [["control@remote.example"]], home.messages
    for who in ("alice@example.org", "bob@example.org", "postmaster@example.org"):
        assert fwd.messages(who) == [], who
    assert bounce_logged(fwd, qid), "the DSN not made is not logged (event=bounce)"
