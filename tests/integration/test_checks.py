"""The sender checks of SPEC section 5 in live SMTP sessions: the sender
domain, forward-confirmed reverse DNS, DNSBL zones and SPF, each in each
setting, with the exact reply and the header fields they leave; who is
exempt (trusted networks, authenticated sessions); and the ban lifecycle.

DNS comes from one loopback server for the module (peers.DnsServer); the
untrusted clients are 127.0.0.2 .. 127.0.0.6 (conftest trusts 127.0.0.1).
Names are under .example: libunbound answers .test itself."""

import socket
import time

import pytest

from conftest import RawClient, message
from peers import DnsServer, reverse_name, wait_for

ZONE = {
    # Reverse DNS: .2 confirmed, .3 a PTR whose name leads elsewhere,
    # .4 no PTR at all, .5 a PTR lookup that fails.
    reverse_name("127.0.0.2"): [("PTR", "good.client.example")],
    "good.client.example": [("A", "127.0.0.2")],
    reverse_name("127.0.0.3"): [("PTR", "liar.client.example")],
    "liar.client.example": [("A", "127.0.0.99")],
    reverse_name("127.0.0.5"): "SERVFAIL",
    # Sender domains.
    "mx.sender.example": [("MX", 10, "mail.sender.example")],
    "a.sender.example": [("A", "192.0.2.1")],
    "aaaa.sender.example": [("AAAA", "2001:db8::1")],
    "txtonly.sender.example": [("TXT", "no mail here")],
    "nullmx.sender.example": [("MX", 0, ".")],
    "broken.sender.example": "SERVFAIL",
    # SPF, for the client 127.0.0.2.
    "spfpass.example": [("MX", 10, "mail.sender.example"), ("TXT", "v=spf1 ip4:127.0.0.2 -all")],
    "spffail.example": [("MX", 10, "mail.sender.example"),
                        ("TXT", "v=spf1 ip4:192.0.2.0/24 -all exp=why.spffail.example")],
    "why.spffail.example": [("TXT", "%{i} may not send for %{d}")],
    "spfsoft.example": [("MX", 10, "mail.sender.example"), ("TXT", "v=spf1 ~all")],
    "spftemp.example": [("MX", 10, "mail.sender.example"),
                        ("TXT", "v=spf1 include:broken.sender.example -all")],
    "spfperm.example": [("MX", 10, "mail.sender.example"), ("TXT", "v=spf1 bogus:x -all")],
    "nospf.example": [("MX", 10, "mail.sender.example")],
    "memo.example": [("MX", 10, "mail.sender.example"), ("TXT", "v=spf1 ip4:127.0.0.2 -all")],
    "helo.spf.example": [("A", "192.0.2.9"), ("TXT", "v=spf1 -all")],
    # One record per mechanism, checked live from 127.0.0.2 (test below).
    "all.live.example": [("TXT", "v=spf1 -all")],
    "neutral.live.example": [("TXT", "v=spf1 ?all")],
    "inc.live.example": [("TXT", "v=spf1 include:spfpass.example -all")],
    "a.live.example": [("TXT", "v=spf1 a -all"), ("A", "127.0.0.2")],
    "a24.live.example": [("TXT", "v=spf1 a:host.live.example/24 -all")],
    "host.live.example": [("A", "127.0.0.77")],
    "mx.live.example": [("TXT", "v=spf1 mx -all"), ("MX", 10, "mxhost.live.example")],
    "mxhost.live.example": [("A", "127.0.0.2")],
    "ptr.live.example": [("TXT", "v=spf1 ptr:client.example -all")],
    "ip4.live.example": [("TXT", "v=spf1 ip4:127.0.0.0/24 -all")],
    "ip6.live.example": [("TXT", "v=spf1 ip6:::1 ~all")],
    "exists.live.example": [("TXT", "v=spf1 exists:%{i}.ex.live.example -all")],
    "127.0.0.2.ex.live.example": [("A", "127.0.0.2")],
    "redir.live.example": [("TXT", "v=spf1 redirect=spfpass.example")],
    "two.live.example": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 +all")],
    "lim.live.example": [("TXT", "v=spf1 " + " ".join(f"a:x{i}.live.example" for i in range(11)) + " -all")],
    **{f"x{i}.live.example": [("A", "192.0.2.1")] for i in range(11)},
    "void.live.example": [("TXT", "v=spf1 a:v1.live.example a:v2.live.example a:v3.live.example -all")],
    # DNSBL zones: bl.example lists 127.0.0.2 and ::1; bad.example fails.
    "2.0.0.127.bl.example": [("A", "127.0.0.2")],
    reverse_name("::1").replace("ip6.arpa", "bl.example"): [("A", "127.0.0.4")],
    "3.0.0.127.bl.example": [("A", "127.255.255.254")],   # an error code, not a listing
}


@pytest.fixture(scope="module")
def dns():
    server = DnsServer(ZONE, any_address=True, default=None)
    server.set("2.0.0.127.bad.example", "SERVFAIL")
    yield server
    server.stop()


def checks(dns, **kw):
    """Config text: the test DNS, every check off except those given."""
    c = {"verify_sender_domain": "false", "spf": '"off"', "rdns": '"off"'}
    c.update({k: v for k, v in kw.items() if k != "dnsbl"})
    body = " ".join(f"{k} = {v};" for k, v in c.items())
    if "dnsbl" in kw:
        body += f" dnsbl = {kw['dnsbl']};"
    return f'dns = {{ servers = ["{dns.address}"]; }};\nchecks = {{ {body} }};\n'


def mail(p, sender, source="127.0.0.2", helo="client.example"):
    """A session up to MAIL FROM: (client, code, reply text)."""
    r = p.raw(source=source)
    assert r.cmd(f"EHLO {helo}")[0] == 250
    code, text = r.cmd(f"MAIL FROM:<{sender}>")
    return r, code, text


def deliver(p, sender, source="127.0.0.2", helo="client.example"):
    """A whole transaction to bob@example.org; returns the stored message."""
    before = p.messages("bob@example.org")
    r, code, text = mail(p, sender, source, helo)
    assert code == 250, text
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(message(sender=sender or "nobody@example.net").encode() + b".\r\n")
    code, text = r.reply()
    assert code == 250, text
    r.cmd("QUIT")
    now = p.wait_messages("bob@example.org", n=len(before) + 1)
    [new] = [m for m in now if m not in before]
    return new.decode()


def header(msg, name):
    """The unfolded value of the first header field `name`, or None."""
    head = msg.split("\n\n", 1)[0]
    lines, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += " " + line.strip()
            continue
        if cur is not None:
            lines.append(cur)
        cur = line
    if cur is not None:
        lines.append(cur)
    for line in lines:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


# ---- sender domain -----------------------------------------------------------

def test_verify_sender_domain_each_answer(make_postern, dns):
    p = make_postern(extra=checks(dns, verify_sender_domain="true"))
    expect = {
        "a@mx.sender.example": "250 2.1.0",
        "a@a.sender.example": "250 2.1.0",          # implicit MX
        "a@aaaa.sender.example": "250 2.1.0",
        "a@txtonly.sender.example": "550 5.1.8",     # exists, no MX/A/AAAA
        "a@nowhere.sender.example": "550 5.1.8",     # NXDOMAIN
        "a@nullmx.sender.example": "550 5.7.27",     # RFC 7505 null MX
        "a@broken.sender.example": "451 4.4.3",      # SERVFAIL
        "": "250 2.1.0",                             # <> always
    }
    for sender, want in expect.items():
        r, code, text = mail(p, sender)
        assert text.startswith(want), (sender, text)
        r.close()
    line = p.wait_log("from=a@nowhere.sender.example")
    assert "reply=\"550 5.1.8" in line


def test_verify_sender_domain_off_accepts_any_domain(make_postern, dns):
    p = make_postern(extra=checks(dns))
    r, code, text = mail(p, "a@nowhere.sender.example")
    assert code == 250, text


def test_checks_skip_trusted_and_authenticated(make_postern, dns):
    p = make_postern(extra=checks(dns, verify_sender_domain="true", spf='"reject"',
                                  rdns='"reject"', dnsbl='({ zone = "bl.example"; action = "reject"; })'))
    r, code, text = mail(p, "a@nowhere.sender.example", source="127.0.0.1")
    assert code == 250, text
    c = p.submission()
    c.sendmail("alice@example.org", ["bob@example.org"], message())
    c.quit()
    [m] = p.wait_messages("bob@example.org")
    assert header(m.decode(), "Authentication-Results") == "mail.example.org; auth=pass smtp.auth=alice@example.org" \
        or header(m.decode(), "Authentication-Results").endswith("auth=pass smtp.auth=alice@example.org")
    assert header(m.decode(), "Received-SPF") is None


# ---- reverse DNS -------------------------------------------------------------

def test_rdns_reject_replies(make_postern, dns):
    p = make_postern(extra=checks(dns, rdns='"reject"'))
    for source, want in (("127.0.0.3", "550 5.7.25"), ("127.0.0.4", "550 5.7.25"),
                         ("127.0.0.5", "451 4.7.25")):
        r, code, text = mail(p, "a@mx.sender.example", source=source)
        assert text.startswith(want), (source, text)
        r.close()
    m = deliver(p, "a@mx.sender.example", source="127.0.0.2")
    assert "(good.client.example [127.0.0.2])" in header(m, "Received")
    assert "iprev=pass policy.iprev=127.0.0.2 (good.client.example)" in header(m, "Authentication-Results")
    line = p.wait_log("event=transaction")
    assert "ptr=good.client.example" in [l for l in p.log_lines() if "event=transaction" in l and "queue_id=" in l
                                         and "ip=127.0.0.2" in l][-1].split()


def test_rdns_tag_accepts_and_reports(make_postern, dns):
    p = make_postern(extra=checks(dns, rdns='"tag"'))
    m = deliver(p, "a@mx.sender.example", source="127.0.0.3")
    assert "iprev=fail policy.iprev=127.0.0.3" in header(m, "Authentication-Results")
    assert "(unknown [127.0.0.3])" in header(m, "Received")


# ---- DNSBL ---------------------------------------------------------------------

def test_dnsbl_reject_listed_client(make_postern, dns):
    p = make_postern(extra=checks(dns, dnsbl='({ zone = "bl.example"; action = "reject"; })'))
    r, code, text = mail(p, "a@mx.sender.example", source="127.0.0.2")
    assert text.startswith("554 5.7.1") and "bl.example" in text, text
    # 127.0.0.3 answers 127.255.255.254 (an error code) and .4 is absent.
    for source in ("127.0.0.3", "127.0.0.4"):
        r, code, text = mail(p, "a@mx.sender.example", source=source)
        assert code == 250, (source, text)
    assert "zone=bl.example" in p.wait_log("event=dnsbl")


def test_dnsbl_tag_adds_header(make_postern, dns):
    p = make_postern(extra=checks(dns, dnsbl='({ zone = "bl.example"; action = "tag"; })'))
    m = deliver(p, "a@mx.sender.example", source="127.0.0.2")
    assert header(m, "X-DNSBL") == "127.0.0.2 listed by bl.example (127.0.0.2)"


def test_dnsbl_failure_lets_mail_in_and_is_logged(make_postern, dns):
    p = make_postern(extra=checks(dns, dnsbl='({ zone = "bad.example"; action = "reject"; })'))
    r, code, text = mail(p, "a@mx.sender.example", source="127.0.0.2")
    assert code == 250, text
    assert "zone=bad.example" in p.wait_log("event=dnsbl_error")


def test_dnsbl_queries_ipv6_clients(make_postern, dns, free_port):
    port = free_port()
    p = make_postern(extra=checks(dns, dnsbl='({ zone = "bl.example"; action = "reject"; })')
                     + 'relay = { trusted_networks = ["127.0.0.1/32"]; };',
                     smtp_address=f"[::1]:{port}")
    r = RawClient(port, source="::1", host="::1")
    assert r.cmd("EHLO client.example")[0] == 250
    code, text = r.cmd("MAIL FROM:<a@mx.sender.example>")
    assert text.startswith("554 5.7.1") and "bl.example" in text, text


# ---- SPF -----------------------------------------------------------------------

def test_spf_reject_each_result(make_postern, dns):
    p = make_postern(extra=checks(dns, spf='"reject"'))
    expect = {
        "a@spffail.example": "550 5.7.23",
        "a@spftemp.example": "451 4.7.24",
    }
    for sender, want in expect.items():
        r, code, text = mail(p, sender)
        assert text.startswith(want), (sender, text)
        r.close()
    r, code, text = mail(p, "a@spffail.example")
    assert "127.0.0.2 may not send for spffail.example" in text
    for sender, word in (("a@spfpass.example", "pass"), ("a@spfsoft.example", "softfail"),
                         ("a@spfperm.example", "permerror"), ("a@nospf.example", "none")):
        m = deliver(p, sender)
        assert header(m, "Received-SPF").startswith(word + " "), (sender, header(m, "Received-SPF"))
        assert f"spf={word} smtp.mailfrom={sender}" in header(m, "Authentication-Results"), m
    assert "spf=pass" in p.wait_log("from=a@spfpass.example")


LIVE = {
    "all": "fail", "neutral": "neutral", "inc": "pass", "a": "pass", "a24": "pass",
    "mx": "pass", "ptr": "pass", "ip4": "pass", "ip6": "softfail", "exists": "pass",
    "redir": "pass", "two": "permerror", "lim": "permerror", "void": "permerror",
}


def test_spf_each_mechanism_in_a_live_session(make_postern, dns):
    """The same evaluator as `postern spf` (test_spf_cli.py covers it term
    by term): here every mechanism, the macro in exists, redirect and the
    error classes through real MAIL FROMs, read from the spf log line."""
    p = make_postern(extra=checks(dns, spf='"tag"'))
    for name in LIVE:
        r, code, text = mail(p, f"a@{name}.live.example")
        assert code == 250, (name, text)
        r.close()
    for name, want in LIVE.items():
        line = p.wait_log(f"domain={name}.live.example ")
        assert f"result={want} " in line + " ", (name, line)


def test_same_sender_on_one_connection_is_checked_once(make_postern, dns):
    p = make_postern(extra=checks(dns, verify_sender_domain="true", spf='"reject"'))
    r = p.raw(source="127.0.0.2")
    assert r.cmd("EHLO client.example")[0] == 250
    for _ in range(3):
        assert r.cmd("MAIL FROM:<a@memo.example>")[0] == 250
        assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(message(sender="a@memo.example").encode() + b".\r\n")
        assert r.reply()[0] == 250
    r.cmd("QUIT")
    msgs = p.wait_messages("bob@example.org", n=3)
    assert all("spf=pass smtp.mailfrom=a@memo.example" in m.decode() for m in msgs)
    assert len(dns.asked("memo.example", "TXT")) == 1
    assert len(dns.asked("memo.example", "MX")) == 1
    # Another sender on the same connection is checked afresh.
    r = p.raw(source="127.0.0.2")
    assert r.cmd("EHLO client.example")[0] == 250
    assert r.cmd("MAIL FROM:<a@spffail.example>")[1].startswith("550 5.7.23")


def test_spf_null_sender_checks_helo(make_postern, dns):
    p = make_postern(extra=checks(dns, spf='"reject"'))
    r, code, text = mail(p, "", helo="helo.spf.example")
    assert text.startswith("550 5.7.23"), text
    m = deliver(p, "", helo="client.example")     # no record: none
    assert header(m, "Received-SPF").startswith("none ")
    assert "smtp.helo=client.example" in header(m, "Authentication-Results")


def test_spf_tag_accepts_fail_and_stores_the_result(make_postern, dns):
    p = make_postern(extra=checks(dns, spf='"tag"'))
    m = deliver(p, "a@spffail.example")
    assert header(m, "Received-SPF").startswith("fail ")
    assert "spf=fail" in header(m, "Authentication-Results")


def test_spf_off_means_authentication_results_none(make_postern, dns):
    p = make_postern(extra=checks(dns))
    m = deliver(p, "a@spffail.example")
    assert header(m, "Authentication-Results") == "mail.example.org; none" or \
        header(m, "Authentication-Results").endswith("; none")
    assert header(m, "Received-SPF") is None


def test_checks_apply_in_spec_order(make_postern, dns):
    every = checks(dns, verify_sender_domain="true", spf='"reject"', rdns='"reject"',
                   dnsbl='({ zone = "bl.example"; action = "reject"; })')
    p = make_postern(extra=every)
    # sender domain first, then rDNS, then DNSBL, then SPF.
    assert mail(p, "a@nowhere.sender.example", source="127.0.0.3")[2].startswith("550 5.1.8")
    assert mail(p, "a@spffail.example", source="127.0.0.3")[2].startswith("550 5.7.25")
    assert mail(p, "a@spffail.example", source="127.0.0.2")[2].startswith("554 5.7.1")


# ---- bans --------------------------------------------------------------------

def test_banned_client_costs_no_dns_lookup(make_postern, dns):
    p = make_postern(extra=checks(dns, verify_sender_domain="true", rdns='"reject"',
                                  dnsbl='({ zone = "bl.example"; action = "reject"; })'))
    p.cli("access", "ban", "127.0.0.6", "--reason", "test")
    s = socket.create_connection(("127.0.0.1", p.smtp_port), timeout=5, source_address=("127.0.0.6", 0))
    s.settimeout(5)
    assert s.recv(100) == b""
    s.close()
    time.sleep(0.5)
    assert dns.asked(reverse_name("127.0.0.6")) == []
    assert dns.asked("6.0.0.127.bl.example") == []


def test_ban_lifecycle_from_auth_failures(make_postern):
    from test_smtp_replies import auth_plain_b64
    p = make_postern(extra='auth = { failures_before_ban = 2; failure_window = "10m"; ban_time = "3s"; };')
    c = p.submission(login=False)
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))[0] == 535
    code, text = c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))
    assert (code, text[:5]) == (421, b"4.7.0")
    listed = p.cli("access", "list").stdout
    assert "127.0.0.1" in listed and "ban" in listed
    line = [l for l in listed.splitlines() if "127.0.0.1" in l][0]
    assert "auth" in line.lower() and "20" in line      # reason and expiry time

    def refused():
        s = socket.create_connection(("127.0.0.1", p.smtp_port), timeout=5)
        s.settimeout(5)
        data = s.recv(100)
        s.close()
        return data == b""
    assert refused()
    # Lifted when it expires ...
    wait_for(lambda: not refused(), timeout=8, what="ban expiry")
    assert "127.0.0.1" not in p.cli("access", "list").stdout
    # The ban forgot the failures that led to it: counting starts afresh.
    c = p.submission(login=False)
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))[0] == 535
    assert c.docmd("AUTH", "PLAIN " + auth_plain_b64("alice@example.org", "wrong"))[0] == 421
    assert refused()
    # ... and a ban is lifted at once with access remove.
    p.cli("access", "remove", "127.0.0.1")
    assert not refused()
    assert p.submission().noop()[0] == 250


# ---- Authentication-Results hygiene (RFC 8601 5) -------------------------------

def test_forged_authentication_results_with_our_id_is_removed(make_postern, dns):
    p = make_postern(extra=checks(dns))
    c = p.smtp(source="127.0.0.2")
    body = ("Authentication-Results: MX.example.org; spf=pass smtp.mailfrom=a@spffail.example\r\n"
            "Authentication-Results: mx.example.org;\r\n\tdkim=pass header.d=example.net\r\n"
            "Authentication-Results: relay.example.net; spf=fail\r\n" + message())
    c.sendmail("a@spffail.example", ["bob@example.org"], body)
    c.quit()
    [m] = p.wait_messages("bob@example.org")
    m = m.decode()
    found = [line for line in m.split("\n\n", 1)[0].split("\n") if line.startswith("Authentication-Results:")]
    assert found == ["Authentication-Results: mx.example.org; none",
                     "Authentication-Results: relay.example.net; spf=fail"], found
    assert "dkim=pass" not in m
    assert "event=header_removed" in p.wait_log("event=header_removed")
