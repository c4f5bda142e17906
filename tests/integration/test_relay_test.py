"""`postern relay-test HOST:PORT [--from-ip ADDR]` (SPEC section 1): the
open-relay battery against a running Postern. From 127.0.0.2 (untrusted)
every trick is refused; from 127.0.0.1 (trusted by the harness) and against
a server that trusts everyone, tricks relay and the exit status is 1. The
tool never sends DATA, so nothing is ever queued."""

import re
import subprocess
import time

import pytest

from conftest import BIN
from test_relay import TRICKS

UNTRUSTED = "127.0.0.2"
LINE = re.compile(r"^(relayed|refused|error)\s+([^:]+): (.*) -> (.*)$")
OPEN_RELAY = 'relay = { trusted_networks = ["127.0.0.0/8"]; sender_rule = "none"; };'


def relay_test(p, *args, target=None):
    target = target or f"127.0.0.1:{p.smtp_port}"
    return subprocess.run([BIN, "-c", str(p.conf), "relay-test", target, *args],
                          capture_output=True, text=True, timeout=120)


def report(r):
    """{trick name: (outcome, what was sent, reply)} and the verdict line."""
    lines = r.stdout.splitlines()
    assert lines[0].startswith("target: "), r.stdout
    assert lines[-1].startswith("verdict: "), r.stdout
    tricks = {}
    for line in lines[1:-1]:
        if line.startswith("note: "):
            continue
        m = LINE.match(line)
        assert m, f"unexpected line {line!r}"
        assert m.group(2) not in tricks, m.group(2)
        tricks[m.group(2)] = (m.group(1), m.group(3), m.group(4))
    return tricks, lines[-1]


def assert_nothing_queued(p):
    p.wait_log("event=disconnect")
    assert p.queue_ids() == []
    for line in p.log_lines():
        assert "event=queued" not in line, line


def test_untrusted_source_every_trick_refused(postern):
    t0 = time.time()
    r = relay_test(postern, "--from-ip", UNTRUSTED)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    tricks, verdict = report(r)
    assert len(tricks) >= 50
    assert {v[0] for v in tricks.values()} == {"refused"}, r.stdout
    assert verdict == f"verdict: not an open relay ({len(tricks)} tricks refused)"
    assert "from 127.0.0.2, domain example.org, host mx.example.org" in r.stdout
    # The replies are Postern's refusals of SPEC section 5.
    out, sent, reply = tricks["plain foreign address"]
    assert sent == "RCPT TO:<relay-test@relay-test.example>"
    assert reply.startswith("554 5.7.1 ")
    assert tricks["percent hack"][1] == "RCPT TO:<relay-test%relay-test.example@example.org>"
    assert tricks["percent hack"][2].startswith("550 5.1.1 ")
    assert tricks["NUL in the path"][1] == \
        "RCPT TO:<relay-test@relay-test.example\\x00@example.org>"
    # Refused at MAIL: a spoofed local sender needs AUTH (require_auth).
    assert tricks["sender in the local domain"][1] == "MAIL FROM:<postmaster@example.org>"
    assert tricks["sender in the local domain"][2].startswith("550 5.7.1 ")
    assert_nothing_queued(postern)
    line = postern.wait_log("event=transaction")
    assert "ip=127.0.0.2" in line
    assert time.time() - t0 < 15


def test_battery_covers_the_tricks_of_test_relay(postern):
    """Every RCPT shape of test_relay.py, with its names swapped for the
    tool's (example.com -> relay-test.example, example.org stays)."""
    r = relay_test(postern, "--from-ip", UNTRUSTED)
    tricks, _ = report(r)
    sent = {v[1] for v in tricks.values()}
    shapes = {re.sub(r"[a-z0-9-]+", "w", s.lower()) for s in sent}
    missing = []
    for name, rcpt, _, _ in TRICKS:
        text = rcpt.decode("utf-8", "replace")
        if any(ord(c) > 0x7e or ord(c) < 0x20 for c in text):
            continue     # escaped in the report; covered by the unit test
        shape = re.sub(r"[a-z0-9-]+", "w", "rcpt to:" + text.lower())
        if shape not in shapes:
            missing.append(name)
    assert missing == [], missing


def test_trusted_source_relays_and_exits_1(postern):
    """127.0.0.1 is trusted: with the default sender_rule = local_domain a
    local (or null) sender relays, as it should, and the tool says so."""
    r = relay_test(postern, "--from-ip", "127.0.0.1")
    assert r.returncode == 1, r.stdout + r.stderr
    tricks, verdict = report(r)
    relayed = sorted(k for k, v in tricks.items() if v[0] == "relayed")
    assert "sender in the local domain" in relayed
    assert "null sender" in relayed
    assert tricks["sender in the local domain"][2].startswith("250 ")
    assert tricks["plain foreign address"][0] == "refused"   # sender_rule
    assert verdict == f"verdict: OPEN RELAY ({len(relayed)} of {len(tricks)} tricks relayed)"
    assert_nothing_queued(postern)


def test_open_relay_is_reported(make_postern):
    p = make_postern(extra=OPEN_RELAY)
    r = relay_test(p, "--from-ip", UNTRUSTED)
    assert r.returncode == 1, r.stdout + r.stderr
    tricks, verdict = report(r)
    out, sent, reply = tricks["plain foreign address"]
    assert out == "relayed" and reply.startswith("250 2.1.5"), tricks["plain foreign address"]
    assert tricks["source route"][0] == "relayed"
    assert tricks["percent hack"][0] == "refused"     # a local, unknown user
    assert verdict.startswith("verdict: OPEN RELAY (")
    assert_nothing_queued(p)


def test_trusting_everyone_with_sender_rule_still_relays_a_local_sender(make_postern):
    p = make_postern(extra='relay = { trusted_networks = ["127.0.0.0/8"]; };')
    r = relay_test(p, "--from-ip", UNTRUSTED)
    assert r.returncode == 1, r.stdout + r.stderr
    tricks, _ = report(r)
    assert tricks["plain foreign address"][0] == "refused"
    assert tricks["sender in the local domain"][0] == "relayed"
    assert_nothing_queued(p)


def test_sender_and_rcpt_options(make_postern):
    p = make_postern(extra=OPEN_RELAY)
    r = relay_test(p, "--from-ip", UNTRUSTED, "--sender", "probe@sender.example",
                   "--rcpt", "someone@target.example")
    assert r.returncode == 1
    tricks, _ = report(r)
    assert tricks["plain foreign address"][1] == "RCPT TO:<someone@target.example>"
    assert tricks["percent hack"][1] == "RCPT TO:<someone%target.example@example.org>"
    line = p.wait_log("event=transaction")
    assert "from=probe@sender.example" in line or "from=<probe@sender.example>" in line, line


def test_sender_refused_at_mail_is_noted(postern):
    """A server that refuses the sender at MAIL (here: a local domain
    without AUTH; a server that checks the sender's domain does the same to
    relay-test.example) was not tried at RCPT, and the report says so."""
    r = relay_test(postern, "--from-ip", UNTRUSTED, "--sender", "alice@example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    tricks, verdict = report(r)
    out, sent, reply = tricks["plain foreign address"]
    assert (out, sent) == ("refused", "MAIL FROM:<alice@example.org>")
    assert reply.startswith("550 5.7.1 ")
    assert tricks["null sender"][1].startswith("RCPT TO:")
    foreign = sum(1 for v in tricks.values() if v[1] == "MAIL FROM:<alice@example.org>")
    assert f"note: {foreign} of {len(tricks)} tricks were refused at MAIL FROM" in r.stdout
    assert "--sender" in r.stdout
    assert verdict == f"verdict: not an open relay ({len(tricks)} tricks refused)"


def test_server_checking_sender_domains(make_postern, dns):
    """checks.verify_sender_domain refuses relay-test.example (NXDOMAIN) at
    MAIL; --sender with a domain that exists gets the tricks to RCPT."""
    dns.set("sender.example", [("MX", 10, "mx.remote.example")])
    p = make_postern(extra='checks = { verify_sender_domain = true; spf = "off"; rdns = "off"; };\n'
                     f'dns = {{ servers = ["{dns.address}"]; }};')
    r = relay_test(p, "--from-ip", UNTRUSTED)
    assert r.returncode == 0, r.stdout + r.stderr
    tricks, _ = report(r)
    out, sent, reply = tricks["plain foreign address"]
    assert (out, sent) == ("refused", "MAIL FROM:<relay-test@relay-test.example>")
    assert reply.startswith("550 5.1.8 "), reply
    assert "note: " in r.stdout
    r = relay_test(p, "--from-ip", UNTRUSTED, "--sender", "probe@sender.example")
    assert r.returncode == 0, r.stdout + r.stderr
    tricks, verdict = report(r)
    assert "note: " not in r.stdout
    assert tricks["plain foreign address"][1] == "RCPT TO:<relay-test@relay-test.example>"
    assert tricks["plain foreign address"][2].startswith("554 5.7.1 ")
    assert verdict == f"verdict: not an open relay ({len(tricks)} tricks refused)"
    assert_nothing_queued(p)


def test_ipv6_bracket_form(offline, free_port):
    # Nothing listens on [::1]:port: a clear failure, not a usage error.
    port = free_port()
    r = relay_test(offline, target=f"[::1]:{port}")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.startswith(f"postern: relay-test: cannot connect to [::1]:{port}: ")


def test_unreachable_port_exits_1_with_a_message(postern, free_port):
    port = free_port()
    r = relay_test(postern, target=f"127.0.0.1:{port}")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == f"postern: relay-test: cannot connect to 127.0.0.1:{port}: Connection refused\n"


def test_banned_source_exits_1(postern):
    postern.cli("access", "ban", UNTRUSTED)
    r = relay_test(postern, "--from-ip", UNTRUSTED)
    assert r.returncode == 1
    assert r.stderr.startswith(f"postern: relay-test: 127.0.0.1:{postern.smtp_port} did not greet: ")
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [
    [],
    ["127.0.0.1"],                       # no port
    ["127.0.0.1:0"],
    ["127.0.0.1:65536"],
    ["::1:25"],                          # IPv6 needs brackets
    ["127.0.0.1:25", "127.0.0.1:26"],
    ["127.0.0.1:25", "--from-ip"],
    ["127.0.0.1:25", "--from-ip", "not-an-ip"],
    ["127.0.0.1:25", "--sender", "no-at-sign"],
    ["127.0.0.1:25", "--rcpt", "a@b@c.example"],
    ["127.0.0.1:25", "--frobnicate"],
])
def test_usage_errors_exit_2(offline, args):
    r = subprocess.run([BIN, "-c", str(offline.conf), "relay-test", *args],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("usage: postern relay-test HOST:PORT")
    assert r.stdout == ""


@pytest.fixture
def offline(make_postern):
    return make_postern(start=False, users=False)
