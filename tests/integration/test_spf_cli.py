"""`postern spf IP HELO MAIL_FROM` (SPEC section 1, docs/checks.md) against
the loopback DNS server: one test per mechanism, per macro letter class,
per limit of RFC 7208 4.6.4 and per error class, the exp= explanation line,
the HELO identity for <>, and the usage errors. One DnsServer serves the
whole module; every test has names of its own under `.example`.

Reverse lookups use 10.0.0.0/8 and fd00::/8: libunbound answers the
documentation ranges (192.0.2.0/24, 2001:db8::/32) itself, but forwards
the LAN reverse zones (dns.c sets unblock-lan-zones)."""

import ipaddress
import re
import subprocess

import pytest

from conftest import BIN, servfail_dns
from peers import DnsServer, reverse_name


def _zone():
    z = {}

    def add(name, *records):
        z.setdefault(name, []).extend(records)

    def spf(name, text):
        add(name, ("TXT", text))

    # mechanisms
    spf("ip4.example", "v=spf1 ip4:10.1.0.0/16 -all")
    spf("ip6.example", "v=spf1 ip6:fd00:1::/64 -all")
    spf("a.example", "v=spf1 a -all")
    add("a.example", ("A", "10.2.0.1"), ("AAAA", "fd00:2::1"))
    spf("a-cidr.example", "v=spf1 a:host.a-cidr.example/24//64 -all")
    add("host.a-cidr.example", ("A", "10.2.1.1"), ("AAAA", "fd00:2:1::1"))
    spf("mx.example", "v=spf1 mx -all")
    add("mx.example", ("MX", 10, "mx1.mx.example"), ("MX", 20, "mx2.mx.example"))
    add("mx1.mx.example", ("A", "10.3.0.1"))
    add("mx2.mx.example", ("AAAA", "fd00:3::2"))
    spf("ptr.example", "v=spf1 ptr -all")
    add(reverse_name("10.4.0.1"), ("PTR", "host.ptr.example"))
    add("host.ptr.example", ("A", "10.4.0.1"))
    add(reverse_name("10.4.0.2"), ("PTR", "host.ptr.example"))  # not confirmed
    add(reverse_name("fd00:4::1"), ("PTR", "six.ptr.example"))
    add("six.ptr.example", ("AAAA", "fd00:4::1"))
    spf("exists.example", "v=spf1 exists:%{ir}.bl.exists.example -all")
    add("1.0.5.10.bl.exists.example", ("A", "127.0.0.2"))
    spf("include.example", "v=spf1 include:inc.include.example -all")
    spf("inc.include.example", "v=spf1 ip4:10.6.0.1 -all")
    spf("redirect.example", "v=spf1 redirect=target.redirect.example")
    spf("target.redirect.example", "v=spf1 ip4:10.7.0.1 -all")
    spf("redirect-nx.example", "v=spf1 redirect=nx.redirect.example")
    spf("quals.example", "v=spf1 -ip4:10.8.0.1 ~ip4:10.8.0.2 ?ip4:10.8.0.3 "
        "+ip4:10.8.0.4")
    # macro letters
    spf("sender.example", "v=spf1 exists:%{l}.%{o}.%{s}.m.sender.example -all")
    add("joe.sender.example.joe@sender.example.m.sender.example", ("A", "127.0.0.2"))
    spf("dom.example", "v=spf1 exists:%{d2r}.%{d1}.m.dom.example -all")
    add("example.dom.example.m.dom.example", ("A", "127.0.0.2"))
    spf("ipv.example", "v=spf1 exists:%{i}.%{v}.m.ipv.example -all")
    add("10.9.0.1.in-addr.m.ipv.example", ("A", "127.0.0.2"))
    nibbles = ".".join(ipaddress.ip_address("fd00:90::1").exploded.replace(":", ""))
    add(f"{nibbles}.ip6.m.ipv.example", ("A", "127.0.0.2"))
    spf("helo.example", "v=spf1 exists:%{h}.m.helo.example -all")
    add("mail.client.example.m.helo.example", ("A", "127.0.0.2"))
    spf("p.example", "v=spf1 exists:%{p}.m.p.example -all")
    add(reverse_name("10.10.0.1"), ("PTR", "mail.p.example"))
    add("mail.p.example", ("A", "10.10.0.1"))
    add("mail.p.example.m.p.example", ("A", "127.0.0.2"))
    add("unknown.m.p.example", ("A", "127.0.0.3"))
    spf("upper.example", "v=spf1 exists:%{L}.m.upper.example -all")
    add("a%2Bb.m.upper.example", ("A", "127.0.0.2"))
    # explanation
    spf("exp.example", "v=spf1 ip4:10.11.0.1 -all exp=why.exp.example")
    spf("why.exp.example", "%{i} is not one of %{d}'s servers; %{l} asked %{r} "
        "at %{t} from %{c} (%{v})")
    spf("exp-bad.example", "v=spf1 -all exp=why.exp-bad.example")
    spf("why.exp-bad.example", "bad %{x}")
    # limits
    names = " ".join(f"a:h{i}.lim.example" for i in range(1, 11))
    spf("ten.example", f"v=spf1 {names} ip4:10.12.0.1 -all")
    spf("eleven.example", f"v=spf1 {names} a:h11.lim.example ip4:10.12.0.1 -all")
    for i in range(1, 12):
        add(f"h{i}.lim.example", ("A", "10.12.9.9"))
    spf("void2.example", "v=spf1 a:nx1.void.example a:nx2.void.example "
        "ip4:10.13.0.1 -all")
    spf("void3.example", "v=spf1 a:nx1.void.example a:nx2.void.example "
        "exists:nx3.void.example ip4:10.13.0.1 -all")
    spf("mx10.example", "v=spf1 mx -all")
    spf("mx11.example", "v=spf1 mx -all")
    for i in range(1, 12):
        host = f"m{i}.mxl.example"
        if i <= 10:
            add("mx10.example", ("MX", i, host))
        add("mx11.example", ("MX", i, host))
        add(host, ("A", f"10.14.0.{i}"))
    # errors
    spf("syntax.example", "v=spf1 ip4:10.15.0.1 a:nodot -all")
    spf("two.example", "v=spf1 +all")
    spf("two.example", "v=spf1 -all")
    z["servfail.example"] = "SERVFAIL"
    spf("inc-servfail.example", "v=spf1 include:servfail.example -all")
    add("notspf.example", ("TXT", "some verification token"))
    # HELO identity
    spf("mail.client.example", "v=spf1 ip4:10.16.0.1 -all")
    return z


@pytest.fixture(scope="module")
def dns():
    d = DnsServer(_zone(), any_address=True)
    yield d
    d.stopping = True


@pytest.fixture(scope="module")
def conf(dns, tmp_path_factory):
    p = tmp_path_factory.mktemp("spf") / "postern.conf"
    p.write_text(f'hostname = "mx.receiver.example";\n'
                 f'dns = {{ servers = ["{dns.address}"]; }};\n')
    return p


def spf(conf, ip, helo, mail_from, *extra):
    """Runs the command; returns (exit code, stdout lines, stderr)."""
    r = subprocess.run([BIN, "-c", str(conf), "spf", *extra, ip, helo, mail_from],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout.splitlines(), r.stderr


def result(conf, ip, mail_from, helo="mail.client.example"):
    rc, out, err = spf(conf, ip, helo, mail_from)
    assert rc == 0, (rc, out, err)
    assert 1 <= len(out) <= 2, out
    return out[0]


# ---- mechanisms -------------------------------------------------------------

def test_ip4(conf):
    assert result(conf, "10.1.2.3", "joe@ip4.example") == "pass"
    assert result(conf, "10.2.0.1", "joe@ip4.example") == "fail"
    # ip4 never matches an IPv6 client
    assert result(conf, "fd00:1::5", "joe@ip4.example") == "fail"


def test_ip6(conf):
    assert result(conf, "fd00:1::5", "joe@ip6.example") == "pass"
    assert result(conf, "fd00:2::5", "joe@ip6.example") == "fail"
    assert result(conf, "10.1.2.3", "joe@ip6.example") == "fail"


def test_a_with_a_and_aaaa(conf, dns):
    assert result(conf, "10.2.0.1", "joe@a.example") == "pass"
    assert result(conf, "fd00:2::1", "joe@a.example") == "pass"
    assert dns.asked("a.example", "AAAA")
    assert result(conf, "10.2.0.2", "joe@a.example") == "fail"
    # An IPv4-mapped client is IPv4 (RFC 7208 4.1).
    assert result(conf, "::ffff:10.2.0.1", "joe@a.example") == "pass"


def test_a_dual_cidr(conf):
    assert result(conf, "10.2.1.200", "joe@a-cidr.example") == "pass"
    assert result(conf, "fd00:2:1::ffff", "joe@a-cidr.example") == "pass"
    assert result(conf, "10.2.2.1", "joe@a-cidr.example") == "fail"
    assert result(conf, "fd00:2:2::1", "joe@a-cidr.example") == "fail"


def test_mx(conf):
    assert result(conf, "10.3.0.1", "joe@mx.example") == "pass"
    assert result(conf, "fd00:3::2", "joe@mx.example") == "pass"
    assert result(conf, "10.3.0.2", "joe@mx.example") == "fail"


def test_ptr(conf):
    assert result(conf, "10.4.0.1", "joe@ptr.example") == "pass"
    # the PTR name does not resolve back to the client
    assert result(conf, "10.4.0.2", "joe@ptr.example") == "fail"
    assert result(conf, "fd00:4::1", "joe@ptr.example") == "pass"


def test_exists_dnsbl_style(conf):
    assert result(conf, "10.5.0.1", "joe@exists.example") == "pass"
    assert result(conf, "10.5.0.2", "joe@exists.example") == "fail"


def test_include(conf):
    assert result(conf, "10.6.0.1", "joe@include.example") == "pass"
    assert result(conf, "10.6.0.2", "joe@include.example") == "fail"


def test_redirect(conf):
    assert result(conf, "10.7.0.1", "joe@redirect.example") == "pass"
    assert result(conf, "10.7.0.2", "joe@redirect.example") == "fail"
    # no record at the target: permerror (6.1), not none
    assert result(conf, "10.7.0.1", "joe@redirect-nx.example") == "permerror"


def test_qualifiers(conf):
    assert result(conf, "10.8.0.1", "joe@quals.example") == "fail"
    assert result(conf, "10.8.0.2", "joe@quals.example") == "softfail"
    assert result(conf, "10.8.0.3", "joe@quals.example") == "neutral"
    assert result(conf, "10.8.0.4", "joe@quals.example") == "pass"
    assert result(conf, "10.8.0.5", "joe@quals.example") == "neutral"  # default


# ---- macro letters ------------------------------------------------------------

def test_macro_sender_letters(conf):
    assert result(conf, "10.9.9.9", "joe@sender.example") == "pass"
    assert result(conf, "10.9.9.9", "ann@sender.example") == "fail"


def test_macro_domain_transformers(conf):
    assert result(conf, "10.9.9.9", "joe@dom.example") == "pass"


def test_macro_ip_letters(conf):
    assert result(conf, "10.9.0.1", "joe@ipv.example") == "pass"
    assert result(conf, "fd00:90::1", "joe@ipv.example") == "pass"
    assert result(conf, "10.9.0.2", "joe@ipv.example") == "fail"


def test_macro_helo(conf):
    assert result(conf, "10.9.9.9", "joe@helo.example") == "pass"
    assert result(conf, "10.9.9.9", "joe@helo.example", helo="other.example") == "fail"


def test_macro_ptr(conf):
    assert result(conf, "10.10.0.1", "joe@p.example") == "pass"
    # no validated name: %{p} is "unknown"
    assert result(conf, "10.10.0.2", "joe@p.example") == "pass"


def test_macro_uppercase_is_url_escaped(conf):
    assert result(conf, "10.9.9.9", "a+b@upper.example") == "pass"


def test_macro_exp_letters_in_explanation(conf):
    rc, out, err = spf(conf, "fd00:11::1", "mail.client.example", "joe@exp.example")
    assert rc == 0 and out[0] == "fail", (rc, out, err)
    m = re.fullmatch(r"explanation: (.*)", out[1])
    assert m, out
    assert re.fullmatch(
        r"f\.d\.0\.0\.0\.0\.1\.1(\.0){23}\.1 is not one of exp\.example's "
        r"servers; joe asked mx\.receiver\.example at \d+ from fd00:11::1 \(ip6\)",
        m.group(1)), m.group(1)


# ---- explanation ----------------------------------------------------------------

def test_explanation_line_only_for_fail(conf):
    rc, out, err = spf(conf, "10.11.0.2", "mail.client.example", "joe@exp.example")
    assert rc == 0 and err == ""
    assert out[0] == "fail"
    assert out[1].startswith("explanation: 10.11.0.2 is not one of exp.example's")
    rc, out, err = spf(conf, "10.11.0.1", "mail.client.example", "joe@exp.example")
    assert out == ["pass"]


def test_bad_explanation_is_ignored(conf):
    rc, out, err = spf(conf, "10.11.0.2", "mail.client.example", "joe@exp-bad.example")
    assert (rc, out) == (0, ["fail"])


# ---- limits ---------------------------------------------------------------------

def test_ten_lookups_pass_eleven_permerror(conf):
    assert result(conf, "10.12.0.1", "joe@ten.example") == "pass"
    rc, out, err = spf(conf, "10.12.0.1", "mail.client.example", "joe@eleven.example")
    assert (rc, out) == (0, ["permerror"])
    assert err == "problem: more than 10 DNS lookups\n"


def test_void_lookup_limit(conf):
    assert result(conf, "10.13.0.1", "joe@void2.example") == "pass"
    rc, out, err = spf(conf, "10.13.0.1", "mail.client.example", "joe@void3.example")
    assert (rc, out) == (0, ["permerror"])
    assert err == "problem: more than 2 void lookups\n"


def test_mx_name_limit(conf):
    assert result(conf, "10.14.0.10", "joe@mx10.example") == "pass"
    assert result(conf, "10.14.0.1", "joe@mx11.example") == "permerror"


# ---- error classes -----------------------------------------------------------------

def test_syntax_error_is_permerror(conf):
    # even though ip4 would match before the bad term
    assert result(conf, "10.15.0.1", "joe@syntax.example") == "permerror"


def test_two_records_is_permerror(conf):
    rc, out, err = spf(conf, "10.15.0.1", "mail.client.example", "joe@two.example")
    assert (rc, out) == (0, ["permerror"])
    assert err == "problem: 2 SPF records for two.example\n"


def test_servfail_is_temperror(conf):
    rc, out, err = spf(conf, "10.15.0.1", "mail.client.example", "joe@servfail.example")
    assert (rc, out) == (0, ["temperror"])
    assert err == "problem: DNS failure for servfail.example\n"
    assert result(conf, "10.15.0.1", "joe@inc-servfail.example") == "temperror"


def test_no_record_is_none(conf):
    assert result(conf, "10.15.0.1", "joe@notspf.example") == "none"
    assert result(conf, "10.15.0.1", "joe@nowhere.example") == "none"
    assert result(conf, "10.15.0.1", "joe@single-label") == "none"


# ---- identities and arguments ----------------------------------------------------------

@pytest.mark.parametrize("null", ["", "<>"])
def test_null_sender_checks_helo(conf, null):
    assert result(conf, "10.16.0.1", null) == "pass"
    assert result(conf, "10.16.0.2", null) == "fail"
    # an address literal HELO has no domain: none
    assert result(conf, "10.16.0.1", null, helo="[10.16.0.1]") == "none"


def test_mail_from_with_angle_brackets(conf):
    assert result(conf, "10.1.2.3", "<joe@ip4.example>") == "pass"
    assert result(conf, "10.1.2.3", "ip4.example") == "pass"  # postmaster@


def test_dns_option_overrides_config(dns, tmp_path):
    p = tmp_path / "servfail.conf"
    p.write_text(f'hostname = "mx.receiver.example";\n'
                 f'dns = {{ servers = ["{servfail_dns().address}"]; }};\n')
    assert spf(p, "10.1.2.3", "h.example", "joe@ip4.example")[1] == ["temperror"]
    rc, out, err = spf(p, "10.1.2.3", "h.example", "joe@ip4.example",
                       "--dns", dns.address)
    assert (rc, out, err) == (0, ["pass"], "")


@pytest.mark.parametrize("ip", ["10.1.2", "example.org", "fe80::1%lo", ""])
def test_bad_ip_is_usage_error(conf, ip):
    rc, out, err = spf(conf, ip, "h.example", "joe@ip4.example")
    assert rc == 2 and out == []
    assert err.count("\n") == 1 and err.startswith("postern: "), err


@pytest.mark.parametrize("args", [[], ["10.1.2.3"], ["10.1.2.3", "h.example"],
                                  ["10.1.2.3", "h", "a@b.example", "extra"],
                                  ["--dns"]])
def test_wrong_arguments_are_usage_errors(conf, args):
    r = subprocess.run([BIN, "-c", str(conf), "spf", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("usage: postern"), r.stderr
