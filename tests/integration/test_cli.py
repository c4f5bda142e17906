"""The command line of SPEC section 1 and docs/directory.md: exit codes
(0 success, 1 one "postern: ..." line on stderr, 2 usage), the outputs of
list/show, passwords from stdin, access entries, the queue commands,
check-config and the ownership of what the command line creates."""

import base64
import datetime
import os
import pwd
import re
import smtplib
import stat
import subprocess
import time

import pytest

from conftest import BIN, IS_ROOT, PASSWORD, RUN_AS, message


@pytest.fixture
def offline(make_postern):
    """A configured data_dir (example.org, alice, bob) with no server."""
    return make_postern(start=False)


def fails(r, *needles):
    """Exit 1 with exactly one line "postern: ..." on stderr, nothing on stdout."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, repr(r.stderr)
    assert r.stderr.startswith("postern: "), repr(r.stderr)
    assert r.stdout == ""
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    return r.stderr


def usage(r):
    """Exit 2 with a usage message on stderr."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("usage: postern"), repr(r.stderr)
    assert r.stdout == ""


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stderr == ""
    return r.stdout


def auth_plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def auth_code(p, user, password):
    c = p.submission(login=False)
    try:
        return c.docmd("AUTH", "PLAIN " + auth_plain(user, password))[0]
    finally:
        c.close()


# ---- global ----------------------------------------------------------------

def test_version_prints_name_and_version():
    r = subprocess.run([BIN, "version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert re.fullmatch(r"postern \d+\.\d+\.\d+\n", r.stdout), r.stdout
    assert r.stderr == ""


def test_no_subcommand_is_usage():
    r = subprocess.run([BIN], capture_output=True, text=True, timeout=10)
    usage(r)


def test_unknown_subcommand_is_usage(offline):
    usage(offline.cli("frobnicate", check=False))


def test_unknown_global_option_is_usage():
    r = subprocess.run([BIN, "-x", "version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2


# ---- domain ------------------------------------------------------------------

def test_domain_add_list_remove(offline):
    assert ok(offline.cli("domain", "add", "Example.NET")) == ""
    assert ok(offline.cli("domain", "add", "example.com")) == ""
    assert ok(offline.cli("domain", "list")) == "example.com\nexample.net\nexample.org\n"
    assert ok(offline.cli("domain", "remove", "example.net")) == ""
    assert ok(offline.cli("domain", "list")) == "example.com\nexample.org\n"


def test_domain_add_twice_fails(offline):
    fails(offline.cli("domain", "add", "example.org", check=False), "example.org")


@pytest.mark.parametrize("name", ["localhost", "bad..example", "-x.example.org", "a_b.example"])
def test_domain_add_invalid_name_fails(offline, name):
    fails(offline.cli("domain", "add", name, check=False))
    assert ok(offline.cli("domain", "list")) == "example.org\n"


def test_domain_remove_unknown_fails(offline):
    fails(offline.cli("domain", "remove", "example.net", check=False), "example.net")


def test_domain_remove_takes_its_users(offline):
    offline.cli("domain", "remove", "example.org")
    assert ok(offline.cli("user", "list")) == ""
    fails(offline.cli("user", "show", "bob@example.org", check=False))


def test_domain_show_defaults(offline):
    assert ok(offline.cli("domain", "show", "example.org")) == (
        "require_auth = true (default)\n"
        "catch_all = \"\" (default)\n"
        "bounces = require_spf (default)\n"
        "autoresponders = require_spf (default)\n"
        "max_message_size = 26214400 (default)\n"
        "users = 2\n"
        "aliases = 0\n")


def test_domain_show_unknown_fails(offline):
    fails(offline.cli("domain", "show", "example.net", check=False), "example.net")


def test_domain_set_and_show(offline):
    offline.cli("alias", "add", "info@example.org", "bob@example.org")
    assert ok(offline.cli("domain", "set", "example.org", "bounces=disabled",
                          "max_message_size=10M", "require_auth=no")) == ""
    assert ok(offline.cli("domain", "show", "EXAMPLE.org")) == (
        "require_auth = false\n"
        "catch_all = \"\" (default)\n"
        "bounces = disabled\n"
        "autoresponders = require_spf (default)\n"
        "max_message_size = 10485760\n"
        "users = 2\n"
        "aliases = 1\n")


def test_domain_set_default_unsets(offline):
    offline.cli("domain", "set", "example.org", "bounces=enabled")
    offline.cli("domain", "set", "example.org", "bounces=default")
    assert "bounces = require_spf (default)\n" in offline.cli("domain", "show", "example.org").stdout


@pytest.mark.parametrize("kv", ["colour=blue", "require_auth=maybe", "bounces=sometimes",
                                "max_message_size=0", "max_message_size=3G",
                                "max_message_size=ten"])
def test_domain_set_bad_key_or_value_fails(offline, kv):
    fails(offline.cli("domain", "set", "example.org", kv, check=False))


def test_domain_set_is_all_or_nothing(offline):
    fails(offline.cli("domain", "set", "example.org", "bounces=disabled", "require_auth=perhaps",
                      check=False), "require_auth")
    assert "bounces = require_spf (default)\n" in offline.cli("domain", "show", "example.org").stdout


def test_domain_set_unknown_domain_fails(offline):
    fails(offline.cli("domain", "set", "example.net", "bounces=disabled", check=False), "example.net")


def test_domain_set_catch_all_refused_while_locked(offline):
    err = fails(offline.cli("domain", "set", "example.org", "catch_all=bob@example.org", check=False))
    assert "allow_catch_all" in err
    assert 'catch_all = "" (default)\n' in offline.cli("domain", "show", "example.org").stdout


def test_domain_set_catch_all_empty_and_default_pass_while_locked(offline):
    ok(offline.cli("domain", "set", "example.org", "catch_all="))
    assert 'catch_all = ""\n' in offline.cli("domain", "show", "example.org").stdout
    ok(offline.cli("domain", "set", "example.org", "catch_all=default"))
    assert 'catch_all = "" (default)\n' in offline.cli("domain", "show", "example.org").stdout


def test_domain_set_catch_all_allowed_when_unlocked(make_postern):
    p = make_postern(extra="allow_catch_all = true;", start=False)
    ok(p.cli("domain", "set", "example.org", "catch_all=Bob@Example.org"))
    assert "catch_all = bob@example.org\n" in p.cli("domain", "show", "example.org").stdout


def test_domain_show_marks_a_locked_catch_all(make_postern):
    p = make_postern(extra="allow_catch_all = true;", start=False)
    p.cli("domain", "set", "example.org", "catch_all=bob@example.org")
    p.write_config(extra="allow_catch_all = false;")
    line = [l for l in p.cli("domain", "show", "example.org").stdout.splitlines()
            if l.startswith("catch_all = ")][0]
    assert line.endswith("(locked: allow_catch_all = false)"), line


def test_domain_propagate_resets_overrides(offline):
    offline.cli("domain", "add", "example.net")
    offline.cli("domain", "set", "example.org", "bounces=disabled", "require_auth=false",
                "max_message_size=1M", "autoresponders=enabled", "catch_all=")
    offline.cli("domain", "set", "example.net", "bounces=enabled")
    assert ok(offline.cli("domain", "propagate")) == ""
    for d in ("example.org", "example.net"):
        lines = offline.cli("domain", "show", d).stdout.splitlines()[:5]
        assert all(l.endswith(" (default)") for l in lines), lines


@pytest.mark.parametrize("args", [["domain"], ["domain", "frob"], ["domain", "add"],
                                  ["domain", "add", "a.example", "b.example"],
                                  ["domain", "list", "extra"], ["domain", "show"],
                                  ["domain", "set", "example.org"],
                                  ["domain", "set", "example.org", "bounces"],
                                  ["domain", "propagate", "example.org"]])
def test_domain_usage_errors(offline, args):
    usage(offline.cli(*args, check=False))


# ---- user ------------------------------------------------------------------

def test_user_list_and_show(offline):
    offline.cli("domain", "add", "example.net")
    offline.add_user("carol@example.net")
    assert ok(offline.cli("user", "list")) == "alice@example.org\nbob@example.org\ncarol@example.net\n"
    assert ok(offline.cli("user", "list", "example.org")) == "alice@example.org\nbob@example.org\n"
    assert ok(offline.cli("user", "show", "Bob@Example.ORG")) == (
        "address = bob@example.org\n"
        "enabled = true\n"
        "quota = 0\n"
        "autoreply = \"\"\n"
        "autoreply_subject = \"\"\n"
        "forward = \"\"\n"
        "forward_keep = false\n")


def test_user_list_unknown_domain_fails(offline):
    fails(offline.cli("user", "list", "example.net", check=False), "example.net")


def test_user_show_never_prints_the_hash(offline):
    out = offline.cli("user", "show", "alice@example.org").stdout
    assert "$y$" not in out and "hash" not in out and PASSWORD not in out


def test_user_set_and_show(offline):
    ok(offline.cli("user", "set", "bob@example.org", "quota=2K", "enabled=off",
                   "autoreply=Away until Monday", "autoreply_subject=Out",
                   "forward=bob@example.net", "forward_keep=yes"))
    assert offline.cli("user", "show", "bob@example.org").stdout == (
        "address = bob@example.org\n"
        "enabled = false\n"
        "quota = 2048\n"
        "autoreply = \"Away until Monday\"\n"
        "autoreply_subject = Out\n"
        "forward = bob@example.net\n"
        "forward_keep = true\n")


@pytest.mark.parametrize("kv", ["colour=blue", "quota=lots", "quota=-1", "enabled=maybe",
                                "forward=not-an-address", "forward=bob@example.org",
                                "forward_keep=maybe",
                                "autoreply_subject=two\nlines"])
def test_user_set_unknown_key_or_bad_value_fails_one_line(offline, kv):
    fails(offline.cli("user", "set", "bob@example.org", kv, check=False))


def test_user_set_is_all_or_nothing(offline):
    fails(offline.cli("user", "set", "bob@example.org", "quota=1K", "enabled=maybe", check=False),
          "enabled")
    assert "quota = 0\n" in offline.cli("user", "show", "bob@example.org").stdout


def test_user_set_unknown_user_fails(offline):
    fails(offline.cli("user", "set", "carol@example.org", "quota=1K", check=False), "carol@example.org")


def test_user_add_existing_fails(offline):
    fails(offline.cli("user", "add", "bob@example.org", input="pw\n", check=False), "bob@example.org")


def test_user_add_to_unknown_domain_fails(offline):
    fails(offline.cli("user", "add", "carol@example.net", input="pw\n", check=False), "example.net")


@pytest.mark.parametrize("addr", ["carol", "carol@", "@example.org", "ca rol@example.org",
                                  "carol..x@example.org", '"carol"@example.org'])
def test_user_add_invalid_address_fails(offline, addr):
    fails(offline.cli("user", "add", addr, input="pw\n", check=False))


def test_user_add_with_alias_name_fails(offline):
    offline.cli("alias", "add", "info@example.org", "bob@example.org")
    fails(offline.cli("user", "add", "info@example.org", input="pw\n", check=False))


def test_user_add_empty_password_fails(offline):
    fails(offline.cli("user", "add", "carol@example.org", input="", check=False), "password")
    fails(offline.cli("user", "add", "carol@example.org", input="\n", check=False), "password")
    assert "carol@example.org" not in offline.cli("user", "list").stdout


def test_user_add_password_with_nul_fails(offline):
    fails(offline.cli("user", "add", "carol@example.org", input="a\0b\n", check=False))


def test_user_add_password_length_limit(offline):
    ok(offline.cli("user", "add", "carol@example.org", input="p" * 511 + "\n"))
    fails(offline.cli("user", "add", "dave@example.org", input="p" * 512 + "\n", check=False))


@pytest.mark.parametrize("args", [["user", "add", "carol@example.org", "secret"],
                                  ["user", "add", "carol@example.org", "--password", "secret"],
                                  ["user", "add", "carol@example.org", "--password=secret"],
                                  ["user", "passwd", "bob@example.org", "secret"],
                                  ["user", "passwd", "bob@example.org", "--password", "secret"]])
def test_password_is_never_taken_from_the_command_line(offline, args):
    usage(offline.cli(*args, input="fromstdin\n", check=False))
    assert "carol@example.org" not in offline.cli("user", "list").stdout


def test_user_remove(offline):
    ok(offline.cli("user", "remove", "Bob@example.org"))
    assert offline.cli("user", "list").stdout == "alice@example.org\n"
    fails(offline.cli("user", "remove", "bob@example.org", check=False), "bob@example.org")


def test_user_passwd_unknown_user_fails(offline):
    fails(offline.cli("user", "passwd", "carol@example.org", input="pw\n", check=False))


@pytest.mark.parametrize("args", [["user"], ["user", "frob"], ["user", "add"],
                                  ["user", "show"], ["user", "remove"],
                                  ["user", "list", "a.example", "b.example"],
                                  ["user", "set", "bob@example.org"],
                                  ["user", "set", "bob@example.org", "quota"],
                                  ["user", "set", "bob@example.org", "=1K"]])
def test_user_usage_errors(offline, args):
    usage(offline.cli(*args, check=False))


def test_password_loses_one_trailing_newline(postern):
    postern.cli("user", "add", "carol@example.org", input="pw-one\n")
    assert auth_code(postern, "carol@example.org", "pw-one") == 235
    assert auth_code(postern, "carol@example.org", "pw-one\n") == 535


def test_password_loses_only_one_newline(postern):
    postern.cli("user", "add", "carol@example.org", input="pw-two\n\n")
    assert auth_code(postern, "carol@example.org", "pw-two\n") == 235
    assert auth_code(postern, "carol@example.org", "pw-two") == 535


def test_password_without_newline_is_taken_whole(postern):
    postern.cli("user", "add", "carol@example.org", input="pw-three")
    assert auth_code(postern, "carol@example.org", "pw-three") == 235


def test_password_crlf_is_dropped(postern):
    postern.cli("user", "add", "carol@example.org", input="pw-four\r\n")
    assert auth_code(postern, "carol@example.org", "pw-four") == 235


def test_password_with_spaces_and_inner_newline(postern):
    postern.cli("user", "add", "carol@example.org", input="two words\nand a line\n")
    assert auth_code(postern, "carol@example.org", "two words\nand a line") == 235


def test_user_passwd_reads_stdin(postern):
    ok(postern.cli("user", "passwd", "alice@example.org", input="new secret\n"))
    assert auth_code(postern, "alice@example.org", "new secret") == 235
    assert auth_code(postern, "alice@example.org", PASSWORD) == 535


def test_user_passwd_empty_keeps_the_old_password(postern):
    fails(postern.cli("user", "passwd", "alice@example.org", input="", check=False))
    assert auth_code(postern, "alice@example.org", PASSWORD) == 235


def test_login_is_case_insensitive_on_the_address(postern):
    assert auth_code(postern, "Alice@EXAMPLE.org", PASSWORD) == 235


# ---- alias -----------------------------------------------------------------

def test_alias_add_list_remove(offline):
    ok(offline.cli("alias", "add", "Info@Example.org", "dave@example.net", "Sales@example.org"))
    ok(offline.cli("alias", "add", "abuse@example.org", "bob@example.org"))
    assert ok(offline.cli("alias", "list")) == (
        "abuse@example.org -> bob@example.org\n"
        "info@example.org -> dave@example.net, sales@example.org\n")
    assert ok(offline.cli("alias", "list", "INFO@example.org")) == \
        "info@example.org -> dave@example.net, sales@example.org\n"
    ok(offline.cli("alias", "remove", "info@example.org"))
    assert offline.cli("alias", "list").stdout == "abuse@example.org -> bob@example.org\n"


def test_alias_add_appends_targets_once(offline):
    offline.cli("alias", "add", "team@example.org", "alice@example.org")
    offline.cli("alias", "add", "team@example.org", "bob@example.org", "alice@example.org")
    assert offline.cli("alias", "list", "team@example.org").stdout == \
        "team@example.org -> alice@example.org, bob@example.org\n"


def test_alias_list_unknown_fails(offline):
    fails(offline.cli("alias", "list", "nobody@example.org", check=False), "nobody@example.org")


def test_alias_remove_unknown_fails(offline):
    fails(offline.cli("alias", "remove", "nobody@example.org", check=False))


def test_alias_in_foreign_domain_fails(offline):
    fails(offline.cli("alias", "add", "info@example.net", "bob@example.org", check=False))


def test_alias_named_like_a_user_fails(offline):
    fails(offline.cli("alias", "add", "bob@example.org", "alice@example.org", check=False))


def test_alias_to_itself_fails(offline):
    fails(offline.cli("alias", "add", "info@example.org", "info@example.org", check=False))


def test_alias_with_one_bad_target_adds_nothing(offline):
    fails(offline.cli("alias", "add", "info@example.org", "bob@example.org", "not an address",
                      check=False))
    fails(offline.cli("alias", "list", "info@example.org", check=False))


@pytest.mark.parametrize("args", [["alias"], ["alias", "frob"], ["alias", "add", "info@example.org"],
                                  ["alias", "remove"], ["alias", "list", "a@example.org", "b@example.org"]])
def test_alias_usage_errors(offline, args):
    usage(offline.cli(*args, check=False))


# ---- access ----------------------------------------------------------------

def rfc3339(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_access_ban_with_reason_and_expiry_is_listed(offline):
    before = time.time()
    ok(offline.cli("access", "ban", "192.0.2.0/24", "--reason", "spam run", "--expires", "1h"))
    out = ok(offline.cli("access", "list"))
    m = re.fullmatch(r'192\.0\.2\.0/24 ban expires=(\S+) reason="spam run"\n', out)
    assert m, out
    assert before + 3600 - 2 <= rfc3339(m.group(1)) <= time.time() + 3600 + 1


def test_access_trust_without_expiry_never_expires(offline):
    ok(offline.cli("access", "trust", "2001:DB8::/32"))
    assert ok(offline.cli("access", "list")) == '2001:db8::/32 trust expires=never reason=""\n'


@pytest.mark.parametrize("dur,secs", [("90", 90), ("90s", 90), ("5m", 300), ("2d", 172800)])
def test_access_expires_durations(offline, dur, secs):
    ok(offline.cli("access", "ban", "198.51.100.7", "--expires", dur))
    m = re.search(r"expires=(\S+)", offline.cli("access", "list").stdout)
    assert abs(rfc3339(m.group(1)) - (time.time() + secs)) <= 3


def test_access_list_sorted_and_filtered(offline):
    offline.cli("access", "ban", "198.51.100.0/24", "--reason", "b")
    offline.cli("access", "trust", "192.0.2.1", "--reason", "a")
    offline.cli("access", "ban", "10.0.0.0/8")
    out = offline.cli("access", "list").stdout.splitlines()
    assert [l.split()[0] for l in out] == sorted(["198.51.100.0/24", "192.0.2.1/32", "10.0.0.0/8"])
    assert ok(offline.cli("access", "list", "192.0.2.1")) == \
        '192.0.2.1/32 trust expires=never reason="a"\n'
    # The exact network, not one that contains it.
    fails(offline.cli("access", "list", "10.1.0.0/16", check=False))


def test_access_ban_replaces_trust(offline):
    offline.cli("access", "trust", "192.0.2.0/24", "--reason", "office")
    offline.cli("access", "ban", "192.0.2.0/24", "--reason", "compromised")
    assert offline.cli("access", "list").stdout == \
        '192.0.2.0/24 ban expires=never reason="compromised"\n'


def test_access_remove_deletes(offline):
    offline.cli("access", "ban", "192.0.2.0/24", "--reason", "x", "--expires", "1d")
    offline.cli("access", "trust", "198.51.100.0/24")
    ok(offline.cli("access", "remove", "192.0.2.0/24"))
    assert offline.cli("access", "list").stdout == '198.51.100.0/24 trust expires=never reason=""\n'
    fails(offline.cli("access", "list", "192.0.2.0/24", check=False))


def test_access_remove_unknown_fails(offline):
    fails(offline.cli("access", "remove", "192.0.2.0/24", check=False), "192.0.2.0/24")


def test_access_expired_entry_is_not_listed(offline):
    offline.cli("access", "ban", "192.0.2.9", "--expires", "1s")
    time.sleep(2.1)
    assert offline.cli("access", "list").stdout == ""


@pytest.mark.parametrize("args", [["10.0.0.1/8"], ["10.0.0.0/33"], ["not-a-net"], ["300.1.1.1"],
                                  ["10.0.0.0/8", "--expires", "0"],
                                  ["10.0.0.0/8", "--expires", "5x"],
                                  ["10.0.0.0/8", "--expires", "-5"],
                                  ["10.0.0.0/8", "--expires", "99999999999"],
                                  ["10.0.0.0/8", "--reason", "two\nlines"]])
def test_access_ban_bad_arguments_fail(offline, args):
    fails(offline.cli("access", "ban", *args, check=False))
    assert offline.cli("access", "list").stdout == ""


@pytest.mark.parametrize("args", [["access"], ["access", "frob"], ["access", "ban"],
                                  ["access", "ban", "10.0.0.0/8", "--reason"],
                                  ["access", "ban", "10.0.0.0/8", "--bogus", "x"],
                                  ["access", "ban", "10.0.0.0/8", "11.0.0.0/8"],
                                  ["access", "remove"],
                                  ["access", "list", "10.0.0.0/8", "11.0.0.0/8"]])
def test_access_usage_errors(offline, args):
    usage(offline.cli(*args, check=False))


# ---- queue -----------------------------------------------------------------

def queue_remote(p):
    """One message from alice to a remote address: it stays queued."""
    c = p.submission()
    c.sendmail("alice@example.org", ["friend@example.net"], message(to="friend@example.net",
                                                                    subject="queued remote"))
    c.quit()
    [qid] = p.queue_ids()
    return qid


def test_queue_list_shows_a_remote_message(postern):
    qid = queue_remote(postern)
    out = ok(postern.cli("queue", "list")).splitlines()
    assert len(out) == 2, out
    assert out[0].split()[0] == qid
    assert "from=<alice@example.org>" in out[0]
    assert re.match(r"^\s+friend@example\.net (queued|deferred)\b", out[1]), out[1]
    assert re.search(r"attempts=[01]\b", out[1]), out[1]


def test_queue_list_empty(offline):
    assert ok(offline.cli("queue", "list")) == ""


def test_queue_show_prints_the_message(postern):
    qid = queue_remote(postern)
    out = ok(postern.cli("queue", "show", qid))
    assert out.startswith(qid + " ")
    assert re.search(r"^\s+friend@example\.net (queued|deferred)\b", out, re.M)
    assert "Subject: queued remote" in out
    assert "auth=alice@example.org" in out


def test_queue_delete_removes_the_message(postern):
    qid = queue_remote(postern)
    assert ok(postern.cli("queue", "delete", qid)) == ""
    assert postern.cli("queue", "list").stdout == ""
    assert not (postern.data_dir / "queue" / qid).exists()
    assert postern.queue_ids() == []
    fails(postern.cli("queue", "show", qid, check=False), qid)
    fails(postern.cli("queue", "delete", qid, check=False), qid)


@pytest.mark.parametrize("qid", ["0123456789ABCDEF", "../postern.db", "tmp", "x"])
def test_queue_delete_unknown_fails(offline, qid):
    offline.cli("queue", "list")
    fails(offline.cli("queue", "delete", qid, check=False))
    assert (offline.data_dir / "postern.db").exists()


def test_queue_show_unknown_fails(offline):
    fails(offline.cli("queue", "show", "0123456789ABCDEF", check=False))


@pytest.mark.parametrize("args", [["queue"], ["queue", "frob"], ["queue", "show"],
                                  ["queue", "delete"], ["queue", "list", "extra"]])
def test_queue_usage_errors(offline, args):
    r = offline.cli(*args, check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("usage: postern")


# ---- check-config ----------------------------------------------------------

def test_check_config_prints_effective_configuration(offline):
    out = ok(offline.cli("check-config"))
    assert 'hostname = "mx.example.org";' in out
    assert f'data_dir = "{offline.data_dir}";' in out
    assert f'address = "127.0.0.1:{offline.smtp_port}"' in out
    # Effective values: defaults filled in, durations in seconds, sizes in bytes.
    assert 'smtp_banner = "ESMTP";' in out
    assert "failure_window = 600;" in out
    assert "message_size = 26214400;" in out


def test_check_config_unknown_key_names_file_and_line(offline):
    text = offline.config_text()
    lines = text.splitlines()
    lines.insert(3, "bogus_key = 1;")
    offline.conf.write_text("\n".join(lines) + "\n")
    r = offline.cli("check-config", check=False)
    err = fails(r)
    assert f"{offline.conf}:4:" in err, err


def test_check_config_nested_unknown_key(offline):
    offline.conf.write_text('hostname = "mx.example.org";\nlimits = {\n  recipients = 5;\n  frobs = 2;\n};\n')
    err = fails(offline.cli("check-config", check=False))
    assert f"{offline.conf}:4:" in err, err


def test_check_config_syntax_error_names_line(offline):
    offline.conf.write_text('hostname = "mx.example.org";\nsmtp_banner = ;\n')
    err = fails(offline.cli("check-config", check=False))
    assert f"{offline.conf}:2:" in err, err


def test_check_config_missing_file_uses_defaults(tmp_path):
    r = subprocess.run([BIN, "-c", str(tmp_path / "absent.conf"), "check-config"],
                       capture_output=True, text=True, timeout=10, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'smtp_banner = "ESMTP";' in r.stdout
    assert 'run_as = "postern";' in r.stdout
    assert "allow_catch_all = false;" in r.stdout
    assert '{ service = "submission"; address = "0.0.0.0:587"; }' in r.stdout
    assert not (tmp_path / "var").exists()


def test_check_config_extra_argument_is_usage(offline):
    r = offline.cli("check-config", "extra", check=False)
    assert r.returncode == 2


def test_bad_config_fails_every_subcommand(offline):
    offline.conf.write_text("bogus = 1;\n")
    for args in (["domain", "list"], ["queue", "list"], ["check-config"]):
        fails(offline.cli(*args, check=False), f"{offline.conf}:1:")


# ---- files created by the command line ------------------------------------

@pytest.mark.skipif(not IS_ROOT, reason="needs root to check run_as ownership")
def test_cli_creates_data_dir_owned_by_run_as(make_postern):
    p = make_postern(start=False, users=False)
    assert not p.data_dir.exists()
    p.cli("domain", "add", "example.org")
    pw = pwd.getpwnam(RUN_AS)
    st = os.stat(p.data_dir)
    assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o700
    for f in p.data_dir.rglob("*"):
        st = os.stat(f)
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), f
    db = os.stat(p.data_dir / "postern.db")
    assert stat.S_IMODE(db.st_mode) == 0o600


@pytest.mark.skipif(not IS_ROOT, reason="needs root to check run_as ownership")
def test_cli_takes_over_an_existing_root_data_dir(make_postern):
    p = make_postern(start=False, users=False)
    p.data_dir.mkdir(mode=0o755)
    os.chmod(p.data_dir, 0o755)
    p.cli("domain", "add", "example.org")
    pw = pwd.getpwnam(RUN_AS)
    st = os.stat(p.data_dir)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (pw.pw_uid, 0o700)
    assert os.stat(p.data_dir / "postern.db").st_uid == pw.pw_uid


@pytest.mark.skipif(not IS_ROOT, reason="needs root to check run_as ownership")
def test_every_file_after_use_belongs_to_run_as(postern):
    queue_remote(postern)
    postern.cli("access", "ban", "192.0.2.0/24")
    postern.cli("queue", "list")
    c = postern.submission()
    c.sendmail("alice@example.org", ["bob@example.org"], message())
    postern.wait_messages("bob@example.org")
    uid = pwd.getpwnam(RUN_AS).pw_uid
    bad, loose = [], []
    for f in [postern.data_dir, *postern.data_dir.rglob("*")]:
        try:
            st = os.lstat(f)
        except FileNotFoundError:
            continue  # a queue file the server just removed
        if st.st_uid != uid:
            bad.append(str(f))
        if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o700:
            loose.append(str(f))
    assert bad == []
    assert loose == []
