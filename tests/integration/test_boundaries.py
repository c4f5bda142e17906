"""Process boundaries (issue 3): a session process cannot open the
directory or the TLS key, a crash of one session process loses nothing
acknowledged, and the other processes keep serving. Probes use the debug
build (make debug), whose sessions understand `XPROBE <path>`."""

import os
import re
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import message
from peers import wait_queue_empty

DEBUG_BIN = os.environ.get("POSTERN_DEBUG_BIN", str(
    __import__("pathlib").Path(__file__).resolve().parents[2] / "build-debug" / "postern"))


@pytest.fixture
def debug_postern(make_postern, monkeypatch):
    import conftest
    monkeypatch.setattr(conftest, "BIN", DEBUG_BIN)
    return make_postern()


def probe(p, path):
    r = p.raw()
    r.cmd("EHLO probe.example.net")
    code, text = r.cmd("XPROBE " + path)
    r.close()
    return code, text


def test_probe_works_where_allowed(debug_postern):
    # The session process may read its own queue directory.
    assert probe(debug_postern, ".")[0] == 250


@pytest.mark.parametrize("rel", ["postern.db", "postern.db-wal", "tls/key.pem", "tls/cert.pem",
                                 "mail", "queue/../postern.db"])
def test_session_cannot_open_data_dir_files(debug_postern, rel):
    p = debug_postern
    for path in (rel, "../" + rel, "/" + rel, str(p.data_dir / rel)):
        code, text = probe(p, path)
        assert code == 550, (path, text)


def test_session_cannot_open_system_files(debug_postern):
    for path in ("/etc/passwd", "/etc/shadow", "/proc/self/environ", str(debug_postern.conf)):
        code, text = probe(debug_postern, path)
        assert code == 550, (path, text)


def test_probe_is_not_in_the_production_build(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    assert r.cmd("XPROBE .")[1].startswith("500 5.5.1")


def children(p):
    master = int(subprocess.check_output(["pgrep", "-P", str(p.proc.pid)]).split()[0])
    return master, [int(x) for x in subprocess.check_output(["pgrep", "-P", str(master)]).split()]


def server_pid_of(p, client):
    """The process holding the server side of the client socket's
    connection. Both ends in the filter: other tests (xdist workers, other
    runs) have connections of their own on the machine."""
    (cip, cport), (sip, sport) = client.getsockname(), client.getpeername()
    out = subprocess.check_output(["ss", "-Htnp", "state", "established",
                                   f"( src {sip}:{sport} and dst {cip}:{cport} )"], text=True)
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1))


def test_killing_a_session_process_loses_nothing_acknowledged(postern):
    # One message acknowledged, one transaction in the middle of DATA.
    c = postern.smtp()
    c.sendmail("friend@example.net", ["bob@example.org"], message(subject="before-kill"))
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    r.cmd("MAIL FROM:<friend@example.net>")
    r.cmd("RCPT TO:<alice@example.org>")
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: in-flight\r\n\r\nhalf a message")
    victim = server_pid_of(postern, r.s)
    master, before = children(postern)
    assert victim in before
    others = [pid for pid in before if pid != victim]
    os.kill(victim, signal.SIGKILL)
    assert r.closed()
    postern.wait_log("status=\"signal 9\"")
    # The other processes were not restarted; the dead one was replaced.
    deadline = time.time() + 10
    while True:
        _, after = children(postern)
        if len(after) == len(before) and victim not in after:
            break
        assert time.time() < deadline, (before, after)
        time.sleep(0.1)
    for pid in others:
        assert pid in after
    deadline = time.time() + 10
    while True:
        try:
            c = postern.submission()
            c.sendmail("alice@example.org", ["bob@example.org"], message(subject="after-kill"))
            break
        except (OSError, smtplib.SMTPException):
            assert time.time() < deadline
            time.sleep(0.2)
    msgs = postern.wait_messages("bob@example.org", 2)
    subjects = [re.search(rb"Subject: (\S+)", m).group(1) for m in msgs]
    assert sorted(subjects) == [b"after-kill", b"before-kill"]
    assert postern.messages("alice@example.org") == []   # never acknowledged
    # The queue file goes after the Maildir copy is in place: a moment
    # later, longer on a loaded machine (parallel tests, ASan).
    wait_queue_empty(postern)


def test_a_dead_directory_process_is_restarted(postern):
    master, kids = children(postern)
    # The directory process is the one (and only one) holding postern.db.
    holders = []
    for pid in kids:
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}").endswith("postern.db")
                   for fd in os.listdir(f"/proc/{pid}/fd")):
                holders.append(pid)
        except OSError:
            pass
    assert len(holders) == 1, holders    # only the directory process opens it
    os.kill(holders[0], signal.SIGKILL)
    postern.wait_log("kind=dird")
    deadline = time.time() + 15
    while True:
        try:
            c = postern.submission()
            c.sendmail("alice@example.org", ["bob@example.org"], message(subject="after-dird"))
            break
        except (OSError, smtplib.SMTPException):
            assert time.time() < deadline
            time.sleep(0.3)
    postern.wait_messages("bob@example.org")
