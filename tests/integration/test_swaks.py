"""A real third-party client: swaks (/usr/bin/swaks) against the smtp,
submission and submissions listeners. Exit codes are swaks's own (man
swaks, EXIT CODES): 0 ok, 24 no RCPT accepted, 28 error in AUTH."""

import shutil
import subprocess

import pytest

from conftest import PASSWORD

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"

pytestmark = pytest.mark.skipif(not shutil.which("swaks"), reason="swaks not installed")


def swaks(port, *args, source=None):
    cmd = [SWAKS, "--server", f"127.0.0.1:{port}", "--helo", "client.example.net",
           "--timeout", "10"]
    if source:
        cmd += ["--local-interface", source]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_swaks_inbound_mail_to_local_user(postern):
    rc, out = swaks(postern.smtp_port, "--from", "friend@example.net", "--to", "bob@example.org",
                    "--h-Subject", "test", source="127.0.0.2")
    assert rc == 0, out
    assert "<-  250 2.0.0 Ok: queued as " in out
    [m] = postern.wait_messages("bob@example.org")
    assert b"\nSubject: test\n" in m
    assert b"Return-Path: <friend@example.net>\n" in m
    assert b"with ESMTP id" in m


def test_swaks_submission_starttls_auth_plain(postern):
    rc, out = swaks(postern.submission_port, "--tls", "--auth", "PLAIN",
                    "--auth-user", "alice@example.org", "--auth-password", PASSWORD,
                    "--from", "alice@example.org", "--to", "bob@example.org",
                    "--h-Subject", "plain")
    assert rc == 0, out
    assert "<~  235 2.7.0" in out, out
    [m] = postern.wait_messages("bob@example.org")
    assert b"\nSubject: plain\n" in m
    assert b"with ESMTPSA id" in m


def test_swaks_submission_starttls_auth_login(postern):
    rc, out = swaks(postern.submission_port, "--tls", "--auth", "LOGIN",
                    "--auth-user", "alice@example.org", "--auth-password", PASSWORD,
                    "--from", "alice@example.org", "--to", "bob@example.org",
                    "--h-Subject", "login")
    assert rc == 0, out
    assert "<~  235 2.7.0" in out, out
    [m] = postern.wait_messages("bob@example.org")
    assert b"\nSubject: login\n" in m
    assert b"with ESMTPSA id" in m


def test_swaks_submissions_implicit_tls(postern):
    rc, out = swaks(postern.submissions_port, "--tls-on-connect", "--auth", "PLAIN",
                    "--auth-user", "alice@example.org", "--auth-password", PASSWORD,
                    "--from", "alice@example.org", "--to", "bob@example.org",
                    "--h-Subject", "implicit")
    assert rc == 0, out
    [m] = postern.wait_messages("bob@example.org")
    assert b"\nSubject: implicit\n" in m


def test_swaks_failed_login_is_535_and_exit_28(postern):
    rc, out = swaks(postern.submission_port, "--tls", "--auth", "PLAIN",
                    "--auth-user", "alice@example.org", "--auth-password", "wrong password",
                    "--from", "alice@example.org", "--to", "bob@example.org")
    assert rc == 28, out
    assert "<~* 535 5.7.8" in out, out
    assert postern.queue_ids() == []
    assert postern.messages("bob@example.org") == []
    assert "wrong password" not in postern.log.read_text()


def test_swaks_auth_without_tls_is_refused(postern):
    """swaks offers AUTH only if advertised; before TLS it is not (538 if
    forced)."""
    rc, out = swaks(postern.submission_port, "--auth", "PLAIN",
                    "--auth-user", "alice@example.org", "--auth-password", PASSWORD,
                    "--from", "alice@example.org", "--to", "bob@example.org")
    assert rc == 28, out
    assert postern.messages("bob@example.org") == []


def test_swaks_relay_from_untrusted_source_is_refused(postern):
    rc, out = swaks(postern.smtp_port, "--from", "friend@example.net", "--to", "victim@example.com",
                    source="127.0.0.2")
    assert rc == 24, out
    assert "<** 554 5.7.1" in out, out
    assert postern.queue_ids() == []
