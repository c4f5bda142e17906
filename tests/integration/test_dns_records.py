"""`postern dns-records DOMAIN [--dns HOST:PORT]` (SPEC section 1): the
records to publish, then one verdict line per check of what a loopback DNS
server (peers.DnsServer) answers. No server runs: the configuration gives
hostname and dns.servers. Addresses are documentation ranges (RFC 5737,
RFC 3849), only compared, never connected to (any_address=True)."""

import re
import subprocess

import pytest

from conftest import BIN
from peers import DnsServer, reverse_name

HOST = "mx.good.example"
DOMAIN = "good.example"
IP4, IP6 = "192.0.2.10", "2001:db8::10"
SPF = "v=spf1 mx -all"
DMARC = f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{DOMAIN}"
VERDICT = re.compile(r"^(ok  |warn|FAIL) (.*)$")


def good_zone():
    return {
        DOMAIN: [("MX", 10, HOST), ("TXT", SPF), ("TXT", "google-site-verification=x")],
        HOST: [("A", IP4), ("AAAA", IP6)],
        reverse_name(IP4): [("PTR", HOST)],
        reverse_name(IP6): [("PTR", HOST)],
        f"_dmarc.{DOMAIN}": [("TXT", DMARC)],
    }


@pytest.fixture
def zone():
    server = DnsServer(good_zone(), any_address=True)
    yield server
    server.stop()


@pytest.fixture
def conf(make_postern, zone):
    """An offline configuration: hostname HOST, dns.servers the zone."""
    return make_postern(start=False, users=False, hostname=HOST,
                        extra=f'dns = {{ servers = ["{zone.address}"]; }};')


def dns_records(p, *args):
    return subprocess.run([BIN, "-c", str(p.conf), "dns-records", *args],
                          capture_output=True, text=True, timeout=60)


def run(p, domain=DOMAIN, *args):
    """(exit status, records, {check: (level, text)} in order, summary)."""
    r = dns_records(p, domain, *args)
    assert r.stderr == "", r.stderr
    lines = r.stdout.splitlines()
    records = [l for l in lines if l and not l.startswith(";") and not VERDICT.match(l)
               and not l.startswith("summary: ")]
    checks = [VERDICT.match(l).groups() for l in lines if VERDICT.match(l)]
    assert lines[-1].startswith("summary: "), r.stdout
    return r.returncode, records, checks, lines[-1], r.stdout


def levels(checks):
    return [c[0].strip() for c in checks]


def failed(checks):
    return [text for level, text in checks if level == "FAIL"]


def test_everything_published_is_ok(conf):
    rc, records, checks, summary, out = run(conf)
    assert rc == 0, out
    assert records == [
        f"{DOMAIN}. IN MX 10 {HOST}.",
        f'{DOMAIN}. IN TXT "{SPF}"',
        f'_dmarc.{DOMAIN}. IN TXT "{DMARC}"',
        f"{HOST}. IN A {IP4}",
        f"{HOST}. IN AAAA {IP6}",
        f"{reverse_name(IP4)}. IN PTR {HOST}.",
        f"{reverse_name(IP6)}. IN PTR {HOST}.",
    ], out
    assert levels(checks) == ["ok"] * 6, out
    texts = [t for _, t in checks]
    assert texts[0] == f"hostname {HOST} resolves: {IP4}, {IP6}"
    assert texts[1] == f"PTR of {IP4} is {HOST}, forward-confirmed"
    assert texts[2] == f"PTR of {IP6} is {HOST}, forward-confirmed"
    assert texts[3] == f"MX of {DOMAIN} is this server: {HOST} (10)"
    assert texts[4].startswith(f"SPF of {DOMAIN}: pass for {IP4}")
    assert IP6 in texts[4]
    assert texts[5] == f"DMARC of {DOMAIN}: {DMARC}"
    assert summary == "summary: all 6 checks passed, 0 warnings"


def test_domain_is_normalised(conf):
    rc, records, _, _, out = run(conf, "Good.EXAMPLE.")
    assert rc == 0, out
    assert records[0] == f"{DOMAIN}. IN MX 10 {HOST}."


def test_dns_option_overrides_the_configuration(make_postern, zone):
    p = make_postern(start=False, users=False, hostname=HOST)   # SERVFAIL DNS
    rc, _, checks, _, out = run(p)
    assert rc == 1 and levels(checks) == ["FAIL"] * 4, out
    rc, _, checks, _, out = run(p, DOMAIN, "--dns", zone.address)
    assert rc == 0, out
    assert levels(checks) == ["ok"] * 6


def test_ptr_missing(conf, zone):
    zone.set(reverse_name(IP4), "NXDOMAIN")
    rc, _, checks, summary, out = run(conf)
    assert rc == 1, out
    assert failed(checks) == [f"PTR of {IP4}: none published "
                              f"(publish {reverse_name(IP4)}. IN PTR {HOST}.)"]
    assert summary == "summary: 1 of 6 checks failed, 0 warnings"


def test_ptr_to_another_name_not_forward_confirmed(conf, zone):
    zone.set(reverse_name(IP6), [("PTR", "host.isp.example")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    [f] = failed(checks)
    assert f.startswith(f"PTR of {IP6} is host.isp.example, not {HOST} "
                        "(and not forward-confirmed"), f


def test_ptr_to_another_name_forward_confirmed_still_fails(conf, zone):
    zone.set(reverse_name(IP4), [("PTR", "other.good.example")])
    zone.set("other.good.example", [("A", IP4)])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    [f] = failed(checks)
    assert f.startswith(f"PTR of {IP4} is other.good.example, not {HOST} (forward-confirmed;"), f


def test_mx_elsewhere(conf, zone):
    zone.set(DOMAIN, [("MX", 10, "mx.elsewhere.example"), ("TXT", SPF)])
    zone.set("mx.elsewhere.example", [("A", "198.51.100.7")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    mx = [t for t in failed(checks) if t.startswith("MX")]
    assert mx == [f"MX of {DOMAIN} points elsewhere: mx.elsewhere.example (10); "
                  f"none is {HOST} or has its addresses"], out


def test_mx_missing(conf, zone):
    zone.set(DOMAIN, [("TXT", SPF)])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert f"MX of {DOMAIN}: none published (publish {DOMAIN}. IN MX 10 {HOST}.)" \
        in failed(checks)


def test_mx_by_another_name_with_our_address_is_ok(conf, zone):
    zone.set(DOMAIN, [("MX", 10, "smtp.good.example"), ("TXT", "v=spf1 a:smtp.good.example -all")])
    zone.set("smtp.good.example", [("A", IP4)])
    rc, _, checks, _, out = run(conf)
    mx = [c for c in checks if c[1].startswith("MX")]
    assert mx == [("ok  ", f"MX of {DOMAIN} is this server: smtp.good.example (10)")], out


def test_backup_mx_is_a_warning(conf, zone):
    zone.set(DOMAIN, [("MX", 20, HOST), ("MX", 10, "mx.elsewhere.example"), ("TXT", SPF)])
    zone.set("mx.elsewhere.example", [("A", "198.51.100.7")])
    rc, _, checks, summary, out = run(conf)
    mx = [c for c in checks if c[1].startswith("MX")]
    assert mx[0][0] == "warn", out
    assert "only a backup" in mx[0][1]
    assert rc == 0
    assert summary == "summary: all 6 checks passed, 1 warning"


def test_spf_missing(conf, zone):
    zone.set(DOMAIN, [("MX", 10, HOST), ("TXT", "some other text")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert failed(checks) == [f'SPF of {DOMAIN}: no SPF record (publish {DOMAIN}. IN TXT "{SPF}")']


def test_spf_not_covering_this_server(conf, zone):
    zone.set(DOMAIN, [("MX", 10, HOST), ("TXT", "v=spf1 ip4:198.51.100.0/24 -all")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    [f] = failed(checks)
    assert f.startswith(f"SPF of {DOMAIN}: fail for {IP4} (mechanism -all)"), f


def test_spf_covering_only_ipv4_names_the_ipv6_address(conf, zone):
    zone.set(DOMAIN, [("MX", 10, HOST), ("TXT", f"v=spf1 ip4:{IP4} ~all")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    [f] = failed(checks)
    assert f.startswith(f"SPF of {DOMAIN}: softfail for {IP6}"), f


def test_two_spf_records(conf, zone):
    zone.set(DOMAIN, [("MX", 10, HOST), ("TXT", SPF), ("TXT", "v=spf1 a -all")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert failed(checks) == [f"SPF of {DOMAIN}: 2 SPF records; receivers answer "
                              "permerror to more than one (RFC 7208 4.5)"]


def test_dmarc_missing(conf, zone):
    zone.set(f"_dmarc.{DOMAIN}", "NXDOMAIN")
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert failed(checks) == [f"DMARC of {DOMAIN}: no record at _dmarc.{DOMAIN} "
                              f'(publish _dmarc.{DOMAIN}. IN TXT "{DMARC}")']


def test_two_dmarc_records(conf, zone):
    zone.set(f"_dmarc.{DOMAIN}", [("TXT", DMARC), ("TXT", "v = DMARC1; p=none")])
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert failed(checks) == [f"DMARC of {DOMAIN}: 2 records at _dmarc.{DOMAIN}; "
                              "receivers then apply none (RFC 7489 6.6.3)"]


def test_dmarc_text_is_escaped(conf, zone):
    zone.set(f"_dmarc.{DOMAIN}", [("TXT", "v=DMARC1; p=reject\x1b[31m")])
    rc, _, checks, _, out = run(conf)
    assert rc == 0, out
    assert ("ok  ", f"DMARC of {DOMAIN}: v=DMARC1; p=reject\\x1b[31m") in checks
    assert "\x1b" not in out


def test_hostname_without_address(conf, zone):
    zone.set(HOST, "NXDOMAIN")
    rc, records, checks, _, out = run(conf)
    assert rc == 1, out
    assert f"; {HOST}. IN A (and AAAA): this server's addresses, not found in DNS" in out
    assert not any("PTR" in r for r in records)
    assert checks[0] == ("FAIL", f"hostname {HOST} does not resolve: no A or AAAA record")
    # The MX still names the hostname; SPF cannot be evaluated.
    assert ("ok  ", f"MX of {DOMAIN} is this server: {HOST} (10)") in checks
    assert ("warn", f"SPF of {DOMAIN}: one record, not evaluated: {HOST} has no address") in checks


def test_dns_failure_is_a_failure(conf, zone):
    zone.set(DOMAIN, "SERVFAIL")
    rc, _, checks, _, out = run(conf)
    assert rc == 1, out
    assert f"MX of {DOMAIN}: DNS failure" in failed(checks)
    assert f"SPF of {DOMAIN}: DNS failure" in failed(checks)


@pytest.mark.parametrize("args", [
    [],
    ["localhost"],                 # not a domain with a dot
    ["bad..example"],
    [DOMAIN, "other.example"],
    [DOMAIN, "--dns"],
    [DOMAIN, "--dns", "dns.example:53"],   # an address, not a name
    [DOMAIN, "--frobnicate"],
])
def test_usage_errors_exit_2(conf, args):
    r = dns_records(conf, *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("usage: postern dns-records DOMAIN")
    assert r.stdout == ""
