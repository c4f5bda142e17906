"""Outbound delivery (issue 4; SPEC sections 1 `queue`, 2 `delivery` and
`dns`, 6 `delivery` log lines): mail for a non-local domain from a trusted
client or an authenticated user is queued and delivered to the MX of the
recipient's domain, found through the test DNS server (peers.DnsServer),
on delivery.port of loopback peers (peers.SmtpSink, a second Postern).
Retries are seconds apart so that every test finishes fast."""

import re

from conftest import PASSWORD
from peers import (deliveries, header_block, mail_text, recorded, send_smtp, stays,
                   submit, wait_delivery, wait_for, wait_queue_empty)


# ---- the message arrives as it was sent ------------------------------------

BODY = ("Dot-stuffing on the wire, none in the message:\r\n"
        ".a line with one leading dot\r\n"
        "..two leading dots\r\n"
        ".\r\n"
        "the line above is a lone dot; trailing spaces stay   \r\n"
        "8-bit: Grüße aus Köln, naïve café\r\n"
        "\r\n"
        "last line\r\n")


def test_delivers_to_the_mx_with_the_message_intact(outbound, sink):
    msg = mail_text(subject="content check", to="carol@peer.example", body=BODY,
                    headers="X-Custom: kept as is\r\n").encode()
    qid = submit(outbound, "carol@peer.example", msg, mail_options=["BODY=8BITMIME"])
    [got] = sink.wait()
    assert got.mail_from == "alice@example.org"
    assert got.rcpts == ["carol@peer.example"]
    assert got.helo == "mx.example.org"
    # Everything the client sent, byte for byte, after the headers Postern adds.
    assert got.data.endswith(msg), got.data
    # ... which are trace headers: Postern's Received (and perhaps an
    # Authentication-Results), nothing else.
    added = got.data[:-len(msg)].decode()
    fields = re.findall(r"^(\S[^:]*):", added, re.M)
    assert "Received" in fields and set(fields) <= {"Received", "Authentication-Results"}, added
    received = re.search(r"^Received: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*", added, re.M).group(0)
    assert "by mx.example.org" in received, received
    assert "Grüße aus Köln".encode() in got.data
    wait_queue_empty(outbound)
    [line] = deliveries(outbound, "carol@peer.example", "sent")
    assert line["queue_id"] == qid


def test_delivery_to_a_second_postern(make_outbound, make_postern, dns, mx_port):
    """Postern -> Postern: postern.example's MX is another Postern on
    127.0.0.5:delivery.port; the message lands in carol's Maildir there."""
    peer = make_postern(users=False, start=False, hostname="mx.postern.example",
                        smtp_address=f"127.0.0.5:{mx_port}",
                        extra=f'dns = {{ servers = ["{dns.address}"]; }};')
    peer.cli("domain", "add", "postern.example")
    peer.add_user("carol@postern.example")
    peer.start()
    sender = make_outbound()
    qid = submit(sender, "carol@postern.example",
                 mail_text(subject="between posterns", to="carol@postern.example",
                           body="Hallo Carol.\r\n.dot line\r\n"))
    [m] = peer.wait_messages("carol@postern.example", timeout=15)
    head = header_block(m)
    assert "Subject: between posterns" in head
    assert re.search(r"^Return-Path: <alice@example\.org>$", head, re.M), head
    received = re.findall(r"^Received: [^\n]*(?:\n[ \t][^\n]*)*", head, re.M)
    assert len(received) == 2, received  # the peer's, then the sender's
    assert "mx.postern.example" in received[0] and "mx.example.org" in received[1], received
    assert m.endswith(b"Hallo Carol.\n.dot line\n"), m
    wait_queue_empty(sender)
    [line] = deliveries(sender, "carol@postern.example", "sent")
    assert line["queue_id"] == qid and line["reply"].startswith("250")


# ---- transactions ------------------------------------------------------------

def test_recipients_of_one_domain_share_one_transaction(outbound, sink):
    rcpts = ["a@peer.example", "b@peer.example", "c@peer.example"]
    submit(outbound, rcpts)
    [got] = sink.wait()
    assert sorted(got.rcpts) == rcpts
    wait_queue_empty(outbound)
    stays(lambda: len(sink.messages) == 1 and sink.conns == 1, 0.5,
          f"one connection, one transaction: {sink.messages}, {sink.conns} connections")
    assert sorted(r for _, r, _ in sink.rcpts) == rcpts


def test_recipients_in_two_domains_make_two_transactions(outbound, make_sink):
    peer, other = make_sink("127.0.0.3"), make_sink("127.0.0.4")
    submit(outbound, ["a@peer.example", "x@other.example", "b@peer.example"])
    [p] = peer.wait()
    [o] = other.wait()
    assert sorted(p.rcpts) == ["a@peer.example", "b@peer.example"]
    assert o.rcpts == ["x@other.example"]
    wait_queue_empty(outbound)
    for s in (peer, other):
        assert len(s.messages) == 1, s.messages


def test_trusted_client_relays_through_the_queue(outbound, sink):
    """Not only submission: a trusted network (127.0.0.1) relays too."""
    send_smtp(outbound, "dave@peer.example", "alice@example.org", source="127.0.0.1")
    [got] = sink.wait()
    assert got.rcpts == ["dave@peer.example"] and got.mail_from == "alice@example.org"


# ---- MX resolution -----------------------------------------------------------

def test_implicit_mx_is_the_domains_address(outbound, sink):
    submit(outbound, "x@implicit.example")
    [got] = sink.wait()
    assert got.rcpts == ["x@implicit.example"]
    [line] = wait_delivery(outbound, "x@implicit.example", "sent")
    assert line["ip"] == "127.0.0.3"


def test_mx_preference_first_dead_second_used(outbound, make_sink):
    """MX 10 (127.0.0.2) refuses connections, MX 20 (127.0.0.3) takes it,
    MX 30 (127.0.0.4) is never tried; records come out of order."""
    second, third = make_sink("127.0.0.3"), make_sink("127.0.0.4")
    submit(outbound, "x@pref.example")
    [got] = second.wait()
    assert got.rcpts == ["x@pref.example"]
    [line] = wait_delivery(outbound, "x@pref.example", "sent")
    assert line["mx"].rstrip(".") == "mxb.pref.example" and line["ip"] == "127.0.0.3", line
    assert third.conns == 0 and third.messages == []
    # Delivered in the first attempt: the dead MX is not a deferral.
    assert deliveries(outbound, "x@pref.example", "deferred") == []


def test_nxdomain_bounces_and_the_other_recipient_waits(outbound, make_sink):
    """A domain that does not exist is a permanent failure; its neighbour
    whose MX is down stays deferred, so queue list shows both states."""
    make_sink("127.0.0.4", start=False)  # other.example's MX is down
    qid = submit(outbound, ["x@nosuch.example", "y@other.example"])
    [b] = wait_delivery(outbound, "x@nosuch.example", "bounced")
    assert re.match(r"5\d\d 5\.\d+\.\d+", b["reply"]), b
    wait_delivery(outbound, "y@other.example", "deferred")
    q = recorded(outbound, qid, ["x@nosuch.example", "y@other.example"])
    assert q["x@nosuch.example"]["state"] == "bounced", q
    assert q["y@other.example"]["state"] == "deferred", q


def test_null_mx_bounces_without_a_connection(outbound, sink):
    submit(outbound, "x@nullmx.example")
    [b] = wait_delivery(outbound, "x@nullmx.example", "bounced")
    assert re.match(r"5\d\d 5\.\d+\.\d+", b["reply"]), b
    wait_queue_empty(outbound)
    assert sink.conns == 0


def test_dns_servfail_is_a_temporary_failure(outbound):
    qid = submit(outbound, "x@broken.example")
    [d] = wait_delivery(outbound, "x@broken.example", "deferred")
    assert re.match(r"4\d\d 4\.\d+\.\d+", d["reply"]), d
    r = recorded(outbound, qid, "x@broken.example")["x@broken.example"]
    assert r["state"] == "deferred" and r["attempts"] >= 1, r


# ---- temporary failures and retries -----------------------------------------

def test_peer_down_deferred_then_delivered_when_it_comes_up(outbound, make_sink):
    sink = make_sink("127.0.0.3", start=False)
    qid = submit(outbound, "carol@peer.example")
    [d] = wait_delivery(outbound, "carol@peer.example", "deferred")
    assert re.match(r"4\d\d 4\.\d+\.\d+", d["reply"]), d
    r = recorded(outbound, qid, "carol@peer.example")["carol@peer.example"]
    assert r["state"] == "deferred" and r["attempts"] >= 1 and r["reply"].startswith("4"), r
    sink.start()
    [got] = sink.wait(timeout=10)
    assert got.rcpts == ["carol@peer.example"]
    wait_queue_empty(outbound)


def test_451_then_250(outbound, sink):
    sink.script("carol@peer.example", "451 4.3.0 greylisted, come back later", "250 2.1.5 OK")
    submit(outbound, "carol@peer.example")
    [d] = wait_delivery(outbound, "carol@peer.example", "deferred")
    assert d["reply"].startswith("451 4.3.0"), d
    [got] = sink.wait(timeout=10)
    assert got.rcpts == ["carol@peer.example"]
    wait_queue_empty(outbound)
    assert sink.rcpt_count("carol@peer.example") == 2


def test_a_recipient_that_got_250_is_never_sent_again(outbound, sink):
    sink.script("b@peer.example", "451 4.2.1 mailbox busy", "250 2.1.5 OK")
    submit(outbound, ["a@peer.example", "b@peer.example"])
    first, second = sink.wait(2, timeout=10)
    assert first.rcpts == ["a@peer.example"]
    assert second.rcpts == ["b@peer.example"]
    wait_queue_empty(outbound)
    stays(lambda: len(sink.messages) == 2, 0.5, "no third copy")
    assert sink.rcpt_count("a@peer.example") == 1


def test_451_after_data_retries_every_recipient(outbound, sink):
    sink.data_replies = ["451 4.3.0 try the whole message again", "250 2.0.0 OK"]
    submit(outbound, ["a@peer.example", "b@peer.example"])
    wait_delivery(outbound, "a@peer.example", "deferred")
    wait_delivery(outbound, "b@peer.example", "deferred")
    [got] = sink.wait(timeout=10)
    assert sorted(got.rcpts) == ["a@peer.example", "b@peer.example"]
    wait_queue_empty(outbound)


# ---- TLS and the relayhost -----------------------------------------------------

def test_required_tls_without_starttls_is_deferred_4_7(make_outbound, sink):
    p = make_outbound(delivery='tls = "required";')
    qid = submit(p, "carol@peer.example")
    wait_delivery(p, "carol@peer.example", "deferred")
    r = recorded(p, qid, "carol@peer.example")["carol@peer.example"]
    assert r["state"] == "deferred", r
    assert re.match(r"4\d\d 4\.7\.\d+", r["reply"]), r
    # Nothing of the message went in clear.
    assert sink.mails == [] and sink.messages == []


def test_required_tls_with_starttls_delivers(make_outbound, make_sink, peer_cert):
    """"required" means encrypted: a peer that offers STARTTLS gets the
    message over TLS (its certificate is self-signed, as most MX's are not
    verifiable without DANE/MTA-STS)."""
    sink = make_sink("127.0.0.3", tls=peer_cert)
    p = make_outbound(delivery='tls = "required";')
    submit(p, "carol@peer.example")
    [got] = sink.wait()
    assert got.tls and got.tls.startswith("TLSv1"), got


def test_opportunistic_tls_is_used_when_offered(outbound, make_sink, peer_cert):
    sink = make_sink("127.0.0.3", tls=peer_cert)
    submit(outbound, "carol@peer.example")
    [got] = sink.wait()
    assert got.tls in ("TLSv1.2", "TLSv1.3"), got
    [line] = wait_delivery(outbound, "carol@peer.example", "sent")
    assert line["tls"] == got.tls, line["_line"]


def test_relayhost_with_auth_plain_after_starttls(make_outbound, make_sink, peer_cert, dns,
                                                  mx_port, tmp_path):
    """Everything goes to the relayhost, whatever the recipient domain's DNS
    says (no MX lookup), with AUTH PLAIN from the credentials file, after
    STARTTLS."""
    creds = tmp_path / "relay-credentials"
    creds.write_text("relayuser:s3cret-Pass\n")
    creds.chmod(0o600)
    relay = make_sink("127.0.0.3", tls=peer_cert, auth=("relayuser", "s3cret-Pass"))
    p = make_outbound(delivery=f'relayhost = "[127.0.0.3]:{mx_port}"; '
                               f'relayhost_credentials = "{creds}";')
    submit(p, ["x@far.example", "y@nullmx.example"])
    got = relay.wait(timeout=10)
    rcpts = sorted(r for t in got for r in t.rcpts)
    if rcpts != ["x@far.example", "y@nullmx.example"]:
        got = relay.wait(2, timeout=10)
        rcpts = sorted(r for t in got for r in t.rcpts)
    assert rcpts == ["x@far.example", "y@nullmx.example"], got
    for t in got:
        assert t.auth == ("PLAIN", "relayuser"), t.auth
        assert t.tls in ("TLSv1.2", "TLSv1.3"), t
    assert ("PLAIN", "relayuser", True) in relay.auths, relay.auths
    wait_queue_empty(p)
    assert dns.asked("far.example") == [] and dns.asked("nullmx.example") == [], dns.queries


# ---- logs ----------------------------------------------------------------------

def test_delivery_log_lines_carry_every_field(outbound, sink):
    sink.script("carol@peer.example", "451 4.3.0 later please", "250 2.1.5 Ok carol")
    qid = submit(outbound, "carol@peer.example")
    [d] = wait_delivery(outbound, "carol@peer.example", "deferred")
    [s] = wait_delivery(outbound, "carol@peer.example", "sent", timeout=10)
    for f in (d, s):
        line = f["_line"]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ", line), line
        assert f["queue_id"] == qid, line
        assert f["mx"].rstrip(".") == "mx1.peer.example", line
        assert f["ip"] == "127.0.0.3", line
        for key in ("tls", "delay"):
            assert key in f, f"{key}= missing: {line}"
        assert re.match(r"^\d+(\.\d+)?(s|ms)?$", f["delay"]), line
    assert d["reply"] == "451 4.3.0 later please", d["_line"]
    assert 'reply="451 4.3.0 later please"' in d["_line"]
    assert s["reply"].startswith("250"), s["_line"]
    # The password of the submission never reaches the log.
    assert all(PASSWORD not in line for line in outbound.log_lines())
