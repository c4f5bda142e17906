"""Recipient routing (SPEC sections 3 and 4): aliases, alias chains and
loops, remote alias targets, catch-all under the allow_catch_all lock,
case-insensitive addresses, one copy per mailbox per transaction, and the
Return-Path / Delivered-To headers of local delivery."""

import re
import time

import pytest

from conftest import message


def send(p, rcpts, sender="friend@example.net", source="127.0.0.2", msg=None):
    """One transaction from an untrusted client; every RCPT must be accepted."""
    c = p.smtp(source=source)
    c.ehlo("client.example.net")
    assert c.mail(sender)[0] == 250
    for r in rcpts:
        code, text = c.rcpt(r)
        assert code == 250, (r, code, text)
    code, text = c.data(msg or message(sender=sender, to=rcpts[0]))
    assert code == 250, text
    c.quit()
    return text.decode().rsplit(" ", 1)[-1]


def rcpt_reply(p, rcpt, source="127.0.0.2"):
    c = p.smtp(source=source)
    c.ehlo("client.example.net")
    assert c.mail("friend@example.net")[0] == 250
    code, text = c.rcpt(rcpt)
    c.close()
    return code, text[:5]


def settle(p, address, n=1):
    """Wait for n messages, then make sure no extra copy follows."""
    msgs = p.wait_messages(address, n)
    deadline = time.time() + 0.5
    while time.time() < deadline:
        msgs = p.messages(address)
        assert len(msgs) == n, f"{address}: {len(msgs)} copies, wanted {n}"
        time.sleep(0.05)
    return msgs


def header(m, name):
    found = re.findall(rb"^" + name.encode() + rb": (.*)$", m.split(b"\n\n", 1)[0], re.M | re.I)
    return [f.decode() for f in found]


def test_alias_to_one_local_user(postern):
    postern.cli("alias", "add", "info@example.org", "bob@example.org")
    send(postern, ["info@example.org"])
    [m] = settle(postern, "bob@example.org")
    assert header(m, "Delivered-To") == ["bob@example.org"]
    assert postern.messages("alice@example.org") == []
    assert not postern.maildir("info@example.org").parent.exists()


def test_alias_to_several_users_one_copy_each(postern):
    postern.cli("domain", "add", "example.net")
    postern.add_user("carol@example.net")
    postern.cli("alias", "add", "team@example.org", "alice@example.org", "bob@example.org",
                "carol@example.net")
    send(postern, ["team@example.org"], sender="friend@example.com")
    for who in ("alice@example.org", "bob@example.org", "carol@example.net"):
        [m] = settle(postern, who)
        assert header(m, "Delivered-To") == [who]


def test_alias_to_remote_address_is_queued(postern):
    postern.cli("alias", "add", "fwd@example.org", "Friend@Example.COM")
    qid = send(postern, ["fwd@example.org"])
    assert qid in postern.queue_ids()
    out = postern.cli("queue", "list").stdout
    assert out.startswith(qid + " ")
    assert re.search(r"^\s+friend@example\.com (queued|deferred)\b", out, re.M | re.I), out


def test_alias_to_local_and_remote(postern):
    postern.cli("alias", "add", "fwd@example.org", "bob@example.org", "friend@example.com")
    qid = send(postern, ["fwd@example.org"])
    settle(postern, "bob@example.org")
    out = postern.cli("queue", "list").stdout.splitlines()
    assert out[0].startswith(qid + " ")
    # One indented line per recipient; the local copy is done (or about to be).
    assert len(out) == 3, out
    assert re.match(r"^\s+bob@example\.org (sent|queued) ", out[1]), out
    assert re.match(r"^\s+friend@example\.com (queued|deferred) ", out[2]), out


def test_remote_alias_target_does_not_open_relay(postern):
    postern.cli("alias", "add", "fwd@example.org", "friend@example.com")
    assert rcpt_reply(postern, "friend@example.com") == (554, b"5.7.1")


def test_alias_chain(postern):
    postern.cli("alias", "add", "a@example.org", "b@example.org")
    postern.cli("alias", "add", "b@example.org", "c@example.org")
    postern.cli("alias", "add", "c@example.org", "bob@example.org")
    send(postern, ["a@example.org"])
    [m] = settle(postern, "bob@example.org")
    assert header(m, "Delivered-To") == ["bob@example.org"]


def test_alias_loop_terminates_with_550(postern):
    postern.cli("alias", "add", "a@example.org", "b@example.org")
    postern.cli("alias", "add", "b@example.org", "a@example.org")
    start = time.time()
    code, esc = rcpt_reply(postern, "a@example.org")
    assert code == 550 and esc.startswith(b"5.")
    assert time.time() - start < 3
    # The server is still healthy.
    assert rcpt_reply(postern, "bob@example.org") == (250, b"2.1.5")


def test_alias_loop_with_a_real_target_still_delivers(postern):
    postern.cli("alias", "add", "a@example.org", "b@example.org", "bob@example.org")
    postern.cli("alias", "add", "b@example.org", "a@example.org")
    send(postern, ["a@example.org"])
    settle(postern, "bob@example.org")


def test_alias_chain_deeper_than_limit_is_unknown(postern):
    # ALIAS_DEPTH_MAX is 8: a chain of 20 aliases cannot be followed.
    for i in range(20):
        postern.cli("alias", "add", f"hop{i}@example.org", f"hop{i + 1}@example.org")
    postern.cli("alias", "add", "hop20@example.org", "bob@example.org")
    code, esc = rcpt_reply(postern, "hop0@example.org")
    assert code == 550


def test_alias_to_removed_user_is_unknown(postern):
    postern.cli("alias", "add", "info@example.org", "bob@example.org")
    postern.cli("user", "remove", "bob@example.org")
    assert rcpt_reply(postern, "info@example.org") == (550, b"5.1.1")


def test_alias_to_disabled_user_is_refused(postern):
    postern.cli("alias", "add", "info@example.org", "bob@example.org")
    postern.cli("user", "set", "bob@example.org", "enabled=false")
    code, esc = rcpt_reply(postern, "info@example.org")
    assert code == 550


def test_mailbox_named_twice_gets_one_copy(postern):
    send(postern, ["bob@example.org", "BOB@EXAMPLE.ORG"])
    settle(postern, "bob@example.org")


def test_mailbox_named_directly_and_through_alias_gets_one_copy(postern):
    postern.cli("alias", "add", "info@example.org", "bob@example.org")
    postern.cli("alias", "add", "team@example.org", "alice@example.org", "bob@example.org")
    send(postern, ["bob@example.org", "BOB@EXAMPLE.ORG", "info@example.org", "team@example.org"])
    settle(postern, "bob@example.org")
    settle(postern, "alice@example.org")


def test_alias_fanning_into_same_user_twice_gets_one_copy(postern):
    postern.cli("alias", "add", "x@example.org", "bob@example.org")
    postern.cli("alias", "add", "y@example.org", "bob@example.org")
    postern.cli("alias", "add", "both@example.org", "x@example.org", "y@example.org")
    send(postern, ["both@example.org"])
    settle(postern, "bob@example.org")


def test_remote_named_twice_is_queued_once(postern):
    c = postern.submission()
    c.sendmail("alice@example.org", ["friend@example.com", "friend@example.com"],
               message(to="friend@example.com"))
    c.quit()
    out = postern.cli("queue", "list").stdout.splitlines()
    assert len(out) == 2, out


def test_catch_all_delivers_unknown_when_allowed(make_postern):
    p = make_postern(extra="allow_catch_all = true;")
    p.cli("domain", "set", "example.org", "catch_all=bob@example.org")
    send(p, ["unknown@example.org"], msg=message(to="unknown@example.org"))
    [m] = settle(p, "bob@example.org")
    assert header(m, "Delivered-To") == ["bob@example.org"]
    assert not p.maildir("unknown@example.org").parent.exists()


def test_catch_all_does_not_take_known_users_mail(make_postern):
    p = make_postern(extra="allow_catch_all = true;")
    p.cli("domain", "set", "example.org", "catch_all=bob@example.org")
    send(p, ["alice@example.org"])
    settle(p, "alice@example.org")
    assert p.messages("bob@example.org") == []


def test_catch_all_from_domain_defaults(make_postern):
    p = make_postern(extra='allow_catch_all = true;\n'
                           'domain_defaults = { catch_all = "bob@example.org"; };')
    send(p, ["whoever@example.org"])
    settle(p, "bob@example.org")


def test_catch_all_refused_by_cli_when_locked(postern):
    r = postern.cli("domain", "set", "example.org", "catch_all=bob@example.org", check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("postern: ") and r.stderr.count("\n") == 1
    assert rcpt_reply(postern, "unknown@example.org") == (550, b"5.1.1")


def test_catch_all_stops_when_lock_closes(make_postern):
    p = make_postern(extra="allow_catch_all = true;", start=False)
    p.cli("domain", "set", "example.org", "catch_all=bob@example.org")
    p.write_config(extra="allow_catch_all = false;")
    p.start()
    assert rcpt_reply(p, "unknown@example.org") == (550, b"5.1.1")


def test_postmaster_without_user_is_delivered(postern):
    send(postern, ["Postmaster@Example.org"])
    settle(postern, "postmaster@example.org")


def test_postmaster_alias_is_followed(postern):
    postern.cli("alias", "add", "postmaster@example.org", "alice@example.org")
    send(postern, ["postmaster@example.org"])
    settle(postern, "alice@example.org")


def test_addresses_are_case_insensitive(postern):
    send(postern, ["Bob@Example.ORG"], msg=message(to="Bob@Example.ORG"))
    [m] = settle(postern, "bob@example.org")
    assert header(m, "Delivered-To") == ["bob@example.org"]
    assert sorted(p.name for p in (postern.data_dir / "mail").iterdir()) == ["example.org"]
    assert sorted(p.name for p in (postern.data_dir / "mail" / "example.org").iterdir()) == ["bob"]


def test_alias_lookup_is_case_insensitive(postern):
    postern.cli("alias", "add", "Info@Example.org", "Bob@EXAMPLE.org")
    send(postern, ["INFO@example.ORG"])
    settle(postern, "bob@example.org")


def test_delivered_to_is_the_final_mailbox_for_each_copy(postern):
    postern.cli("alias", "add", "a@example.org", "b@example.org")
    postern.cli("alias", "add", "b@example.org", "alice@example.org", "bob@example.org")
    send(postern, ["a@example.org"])
    [ma] = settle(postern, "alice@example.org")
    [mb] = settle(postern, "bob@example.org")
    assert header(ma, "Delivered-To") == ["alice@example.org"]
    assert header(mb, "Delivered-To") == ["bob@example.org"]


def test_return_path_is_the_envelope_sender(postern):
    msg = ("From: Someone Else <header-from@example.com>\r\nTo: bob@example.org\r\n"
           "Subject: rp\r\n\r\nbody\r\n")
    send(postern, ["bob@example.org"], sender="bounces+x@lists.example.net", msg=msg)
    [m] = settle(postern, "bob@example.org")
    assert m.startswith(b"Return-Path: <bounces+x@lists.example.net>\n")
    assert header(m, "Return-Path") == ["<bounces+x@lists.example.net>"]
    assert header(m, "From") == ["Someone Else <header-from@example.com>"]


def test_return_path_of_null_sender(postern):
    send(postern, ["bob@example.org"], sender="<>", msg=message(sender="mailer-daemon@example.net"))
    [m] = settle(postern, "bob@example.org")
    assert header(m, "Return-Path") == ["<>"]


def test_only_one_return_path_and_delivered_to(postern):
    msg = ("Return-Path: <forged@example.com>\r\nDelivered-To: someone@example.com\r\n"
           "Subject: pre\r\n\r\nbody\r\n")
    send(postern, ["bob@example.org"], msg=msg)
    [m] = settle(postern, "bob@example.org")
    assert m.startswith(b"Return-Path: <friend@example.net>\nDelivered-To: bob@example.org\n")


def test_user_forward_to_local_address(postern):
    # SPEC section 4: per user `forward` (address, "" = off). It replaces
    # local delivery (docs/directory.md, "Forwarding").
    postern.cli("user", "set", "bob@example.org", "forward=alice@example.org")
    send(postern, ["bob@example.org"])
    [m] = settle(postern, "alice@example.org")
    assert header(m, "Delivered-To") == ["alice@example.org"]
    assert header(m, "Return-Path") == ["<friend@example.net>"]
    assert postern.messages("bob@example.org") == []


def test_user_forward_keep_delivers_both(postern):
    postern.cli("user", "set", "bob@example.org", "forward=alice@example.org",
                "forward_keep=true")
    send(postern, ["bob@example.org"])
    settle(postern, "alice@example.org")
    [m] = settle(postern, "bob@example.org")
    assert header(m, "Delivered-To") == ["bob@example.org"]


def test_user_forward_to_remote_address_is_queued(postern):
    postern.cli("user", "set", "bob@example.org", "forward=Bob@Example.COM")
    qid = send(postern, ["bob@example.org"])
    out = postern.cli("queue", "list").stdout.splitlines()
    assert out[0].startswith(qid + " ")
    assert len(out) == 2, out
    assert re.match(r"^\s+bob@example\.com (queued|deferred) ", out[1]), out
    time.sleep(0.3)
    assert postern.messages("bob@example.org") == []


def test_user_forward_loop_delivers_once(postern):
    postern.cli("user", "set", "alice@example.org", "forward=bob@example.org")
    postern.cli("user", "set", "bob@example.org", "forward=alice@example.org")
    send(postern, ["bob@example.org"])
    settle(postern, "bob@example.org")
    assert postern.messages("alice@example.org") == []


def test_queue_keeps_each_rcpt_as_written(postern):
    # The queue's original recipient is the RCPT TO that led to a target
    # (DSN Original-Recipient, auto-replies of users who forward); its local
    # part as written, its domain in lower case (smtp_addr_text()).
    postern.cli("alias", "add", "fwd@example.org", "friend@example.com")
    qid = send(postern, ["FWD@Example.org"])
    env = (postern.data_dir / "queue" / qid).read_bytes().split(b"\n\n", 1)[0]
    assert b"\nrcpt queued\tR\tFWD@example.org\tfriend@example.com\n" in env, env
