"""The `require_spf` halves of the bounces and autoresponders policies:
an SPF pass recorded at acceptance (checks.spf = "tag") lets the DSN or the
auto-reply go out. The halves without SPF (nothing sent) are in
test_outbound_autoreply.py and test_outbound_bounces.py."""

from peers import *  # noqa: F401,F403
from test_outbound_autoreply import BOB, mail_bob  # noqa: F401
from test_outbound_bounces import DEST, bounce_from_outside  # noqa: F401


def test_autoresponders_require_spf_with_spf_pass_reply(make_outbound, home):
    """spf.example publishes "ip4:127.0.0.2": SPF passed at MAIL FROM
    (checks.spf = "tag"), so the sender gets the reply. Needs the SMTP
    session's SPF check as well as issue 4."""
    p = make_outbound(extra='checks = { verify_sender_domain = false; spf = "tag"; rdns = "off"; };')
    p.cli("user", "set", BOB, "autoreply=I am away.", "autoreply_subject=Away")
    p.cli("domain", "set", "example.org", "autoresponders=require_spf")
    mail_bob(p, "friend@spf.example")
    p.wait_messages(BOB, 1)
    [t] = home.wait(pred=lambda t: t.mail_from == "", timeout=15)
    assert t.rcpts == ["friend@spf.example"], t


def test_bounces_require_spf_with_spf_pass_dsn(make_outbound, sink, home):
    """spf.example publishes "v=spf1 ip4:127.0.0.2 -all": the message from
    127.0.0.2 passed SPF at MAIL FROM (checks.spf = "tag"), so its sender
    gets the DSN. Needs the SMTP session's SPF check as well as issue 4."""
    p = make_outbound(extra='checks = { verify_sender_domain = false; spf = "tag"; rdns = "off"; };')
    p.cli("alias", "add", "fwd@example.org", DEST)
    p.cli("domain", "set", "example.org", "bounces=require_spf")
    bounce_from_outside(p, sink, "friend@spf.example")
    [t] = home.wait(pred=lambda t: t.mail_from == "", timeout=15)
    assert t.rcpts == ["friend@spf.example"], t
    wait_queue_empty(p)
