"""Auto-replies between local users: no peer and no DNS involved. A sender
who authenticated counts as an SPF pass for the `require_spf` default of
`autoresponders` (docs/delivery.md)."""
import time

from conftest import message


def test_local_auto_reply_once_to_an_authenticated_sender(postern):
    postern.cli("user", "set", "bob@example.org", "autoreply=I am away",
                "autoreply_subject=Away")
    c = postern.submission()
    c.sendmail("alice@example.org", ["bob@example.org"], message(subject="first"))
    c.sendmail("alice@example.org", ["bob@example.org"], message(subject="second"))
    c.quit()
    postern.wait_messages("bob@example.org", 2)
    [reply] = postern.wait_messages("alice@example.org", 1)
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    assert "Auto-Submitted: auto-replied" in text
    assert "Subject: Away" in text
    assert "Return-Path: <>" in text
    assert "I am away" in text
    postern.wait_log("event=autoreply")
    time.sleep(1)   # the second message must not have made another
    assert len(postern.messages("alice@example.org")) == 1
