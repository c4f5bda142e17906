"""Auto-replies and forwards (issue 4; SPEC section 4): an auto-reply goes
from <> to the sender's MX (the sink `home` at 127.0.0.6 for remote.example,
spf.example and nospf.example) once per sender per 7 days, never to <>,
MAILER-DAEMON, list mail or automatic mail, and only as the domain's
`autoresponders` policy allows. `forward` sends the message on to another
address, keeping no local copy unless `forward_keep=true`.

Every test that expects no auto-reply sends a control message last, from
a sender who does get one: once the control's reply is in and the queue is
empty, anything else would have arrived too."""

import re
from email.utils import parseaddr

import pytest

from peers import mail_text, send_smtp, stays, wait_queue_empty

BOB = "bob@example.org"


@pytest.fixture
def away(outbound):
    outbound.cli("user", "set", BOB, "autoreply=I am away until Monday.", "autoreply_subject=Away")
    outbound.cli("domain", "set", "example.org", "autoresponders=enabled")
    return outbound


def mail_bob(p, sender, subject="question", headers="", envelope=None):
    return send_smtp(p, BOB, sender if envelope is None else envelope,
                     msg=mail_text(subject=subject, sender=sender or "nobody@remote.example",
                                   to=BOB, headers=headers))


def replies(home):
    return [t for t in home.messages if t.mail_from == ""]


def replied_to(home):
    return sorted(r for t in replies(home) for r in t.rcpts)


def control(p, home, n_bob):
    """The control message and its reply; then nothing may be pending."""
    mail_bob(p, "control@remote.example", "control")
    p.wait_messages(BOB, n_bob)
    home.wait(pred=lambda t: t.mail_from == "" and t.rcpts == ["control@remote.example"],
              timeout=15)
    wait_queue_empty(p)
    stays(lambda: "control@remote.example" in replied_to(home), 0.5)


def test_auto_reply_once_per_sender(away, home):
    mail_bob(away, "friend@remote.example", "first question")
    [t] = home.wait(pred=lambda t: t.mail_from == "", timeout=15)
    assert t.rcpts == ["friend@remote.example"], t
    m = t.message()
    assert m["Auto-Submitted"] is not None and \
        m["Auto-Submitted"].split(";")[0].strip().lower() == "auto-replied", m["Auto-Submitted"]
    assert m["Subject"] == "Away", m["Subject"]
    assert parseaddr(m["To"])[1].lower() == "friend@remote.example", m["To"]
    assert parseaddr(m["From"])[1].lower() == BOB, m["From"]
    assert "I am away until Monday." in t.data.decode("utf-8", "replace")
    away.wait_messages(BOB, 1)  # bob still gets the message
    # The same sender again: no second reply (at most one per 7 days).
    mail_bob(away, "friend@remote.example", "second question")
    control(away, home, 3)
    assert replied_to(home) == ["control@remote.example", "friend@remote.example"]


def test_no_auto_reply_to_list_mail(away, home):
    mail_bob(away, "list1@remote.example", headers="List-Id: <talk.lists.remote.example>\r\n")
    mail_bob(away, "list2@remote.example", headers="Precedence: bulk\r\n")
    mail_bob(away, "list3@remote.example", headers="Precedence: list\r\n")
    mail_bob(away, "list4@remote.example", headers="Precedence: junk\r\n")
    control(away, home, 5)
    assert replied_to(home) == ["control@remote.example"]


def test_no_auto_reply_to_the_null_sender_or_mailer_daemon(away, home):
    mail_bob(away, "MAILER-DAEMON@remote.example", "bounce", envelope="")
    mail_bob(away, "MAILER-DAEMON@remote.example", "daemon")
    control(away, home, 3)
    assert replied_to(home) == ["control@remote.example"]


def test_no_auto_reply_to_automatic_mail(away, home):
    mail_bob(away, "auto1@remote.example", headers="Auto-Submitted: auto-generated\r\n")
    mail_bob(away, "auto2@remote.example", headers="Auto-Submitted: auto-replied\r\n")
    mail_bob(away, "auto3@remote.example", headers="Auto-Submitted: auto-notified\r\n")
    # "no" is a human's message: it gets its reply.
    mail_bob(away, "human@remote.example", headers="Auto-Submitted: no\r\n")
    control(away, home, 5)
    assert replied_to(home) == ["control@remote.example", "human@remote.example"]


def control_user(p):
    """dan@example.net, autoresponders enabled: the control."""
    p.cli("domain", "add", "example.net")
    p.cli("domain", "set", "example.net", "autoresponders=enabled")
    p.add_user("dan@example.net")
    p.cli("user", "set", "dan@example.net", "autoreply=Dan is away.")


def control_dan(p, home):
    send_smtp(p, "dan@example.net", "control@remote.example")
    p.wait_messages("dan@example.net", 1)
    home.wait(pred=lambda t: t.mail_from == "" and t.rcpts == ["control@remote.example"],
              timeout=15)
    wait_queue_empty(p)


def test_autoresponders_disabled(away, home):
    """bob's domain says no; dan@example.net (enabled) is the control."""
    away.cli("domain", "set", "example.org", "autoresponders=disabled")
    control_user(away)
    mail_bob(away, "friend@spf.example")
    away.wait_messages(BOB, 1)
    control_dan(away, home)
    stays(lambda: replied_to(home) == ["control@remote.example"], 0.5,
          f"replies: {replied_to(home)}")


def test_autoresponders_require_spf_without_spf_no_reply(away, home):
    """nospf.example publishes no SPF record: result none, no reply."""
    away.cli("domain", "set", "example.org", "autoresponders=require_spf")
    control_user(away)
    mail_bob(away, "friend@nospf.example")
    away.wait_messages(BOB, 1)
    control_dan(away, home)
    stays(lambda: replied_to(home) == ["control@remote.example"], 0.5,
          f"replies: {replied_to(home)}")


# ---- forward -------------------------------------------------------------------

def test_forward_without_a_local_copy(outbound, sink, home):
    outbound.cli("user", "set", BOB, "forward=carol@peer.example")
    mail_bob(outbound, "friend@remote.example", "please forward")
    [t] = sink.wait(timeout=15)
    assert t.rcpts == ["carol@peer.example"], t
    assert re.search(rb"^Subject: please forward\r$", t.data, re.M), t.data
    wait_queue_empty(outbound)
    stays(lambda: outbound.messages(BOB) == [], 0.5, "no copy in bob's Maildir")
    assert home.conns == 0, "mail for peer.example went to the sender's MX"


def test_forward_keep_leaves_a_local_copy(outbound, sink, home):
    outbound.cli("user", "set", BOB, "forward=carol@peer.example", "forward_keep=true")
    mail_bob(outbound, "friend@remote.example", "forward and keep")
    [t] = sink.wait(timeout=15)
    assert t.rcpts == ["carol@peer.example"], t
    [m] = outbound.wait_messages(BOB, 1)
    assert b"Subject: forward and keep" in m
    wait_queue_empty(outbound)
    stays(lambda: len(sink.messages) == 1 and len(outbound.messages(BOB)) == 1, 0.5,
          "one copy each")
    assert home.conns == 0, "mail for peer.example went to the sender's MX"
