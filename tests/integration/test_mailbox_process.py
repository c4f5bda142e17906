"""The mailbox workers (POP3, IMAP), the process side of issue 7: every
mailbox listener greets (implicit TLS on pop3s and imaps), no mailbox
worker runs without a mailbox listener, a banned client is closed before
any greeting, sessions are logged as SMTP's are, and SIGTERM ends them.

The greetings checked are the protocols' first words ("+OK", "* OK"): the
protocols themselves are tested in test_pop3.py and test_imap.py."""
import os
import signal
import ssl
import subprocess
import time

import pytest

GREETING = {"pop3": "+OK", "pop3s": "+OK", "imap": "* OK", "imaps": "* OK"}
# The log's service name of each listener's sessions.
SERVICE = {"pop3": "pop3", "pop3s": "pop3", "imap": "imap", "imaps": "imap"}


def master_children(p):
    """pids of the master's children (the master is the child of the
    `timeout` wrapper)."""
    master = int(subprocess.check_output(["pgrep", "-P", str(p.proc.pid)]).split()[0])
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                         text=True).stdout.split()
    return sorted(int(k) for k in out)


def wait_children(p, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        kids = master_children(p)
        if len(kids) == n:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"{len(master_children(p))} children, wanted {n}")


def mailbox_workers(p):
    """The master's children that live in data_dir/mail (their cwd, and
    their root when started as root): the mailbox workers."""
    mail = str((p.data_dir / "mail").resolve())
    out = []
    for pid in master_children(p):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == mail:
                out.append(pid)
        except OSError:
            pass
    return out


def wait_mailbox_workers(p, n, timeout=10, old=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = [x for x in mailbox_workers(p) if x not in old]
        if len(pids) == n:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{len(mailbox_workers(p))} mailbox workers, wanted {n}")


def nworkers():
    n = os.sysconf("SC_NPROCESSORS_ONLN")
    return max(1, min(n, 64))


@pytest.mark.parametrize("svc", ["pop3", "pop3s", "imap", "imaps"])
def test_mailbox_listener_greets(make_postern, svc):
    p = make_postern(mailbox=True)
    c = p.mailbox_raw(p.mailbox_ports()[svc], tls=svc.endswith("s"))
    assert c.greeting.startswith(GREETING[svc]), c.greeting
    if svc.endswith("s"):
        assert isinstance(c.s, ssl.SSLSocket) and c.s.version().startswith("TLSv1.")
    c.close()
    line = p.wait_log(f"service={SERVICE[svc]} ")
    assert "event=connect ip=127.0.0.1" in line


def test_mailbox_workers_only_with_mailbox_listeners(make_postern):
    plain = make_postern()
    # dird, qmgr and one SMTP worker per core; no mailbox worker.
    wait_children(plain, nworkers() + 2)
    time.sleep(0.3)
    assert len(master_children(plain)) == nworkers() + 2
    assert not [l for l in plain.log_lines() if "service=mworker" in l]
    plain.stop()

    p = make_postern(mailbox=True)
    # ... and as many mailbox workers again, each in its sandbox.
    wait_children(p, 2 * nworkers() + 2)
    assert len(mailbox_workers(p)) == nworkers()
    lines = [l for l in p.log_lines() if "service=mworker" in l and "event=sandbox" in l]
    assert len(lines) == nworkers()
    assert all("role=mailbox" in l and "seccomp=yes" in l for l in lines)
    # The mail directory exists for them, owned like data_dir.
    st = (p.data_dir / "mail").stat()
    assert oct(st.st_mode & 0o777) == "0o700"
    assert st.st_uid == p.data_dir.stat().st_uid


@pytest.mark.parametrize("svc", ["pop3", "imaps"])
def test_banned_ip_closed_before_greeting(make_postern, svc):
    p = make_postern(mailbox=True)
    p.cli("access", "ban", "127.0.0.2", "--reason", "test")
    c = p.mailbox_raw(p.mailbox_ports()[svc], source="127.0.0.2", greeting=False) \
        if not svc.endswith("s") else None
    if c is not None:
        assert c.closed()
        assert c.buf == b""
        c.close()
    else:
        # Implicit TLS: closed before the handshake, not even a ServerHello.
        import socket
        s = socket.create_connection(("127.0.0.1", p.mailbox_ports()[svc]), timeout=10,
                                     source_address=("127.0.0.2", 0))
        s.settimeout(10)
        assert s.recv(100) == b""
        s.close()
    line = p.wait_log("event=refused ip=127.0.0.2 reason=banned")
    assert f"service={SERVICE[svc]}" in line
    p.wait_log("ip=127.0.0.2 reason=banned")
    # Other clients are served.
    ok = p.mailbox_raw(p.mailbox_ports()[svc], tls=svc.endswith("s"))
    assert ok.greeting.startswith(GREETING[svc])
    ok.close()


def test_connect_and_disconnect_logged(make_postern):
    p = make_postern(mailbox=True)
    c = p.mailbox_raw(p.pop3_port)
    c.close()
    connect = p.wait_log("service=pop3 ")
    assert "event=connect ip=127.0.0.1" in connect
    session = connect.split("session=")[1].split()[0]
    end = p.wait_log(f"session={session} event=disconnect")
    assert "ip=127.0.0.1" in end and "reason=" in end


def test_sigterm_ends_mailbox_sessions(make_postern):
    p = make_postern(mailbox=True)
    c = p.mailbox_raw(p.imap_port)
    p.signal(signal.SIGTERM)
    # The protocol's goodbye (or at least the close), then every process exits.
    assert c.closed(timeout=15)
    p.proc.wait(timeout=20)
    assert "reason=shutdown" in "\n".join(l for l in p.log_lines() if "service=imap" in l)


def test_master_restarts_a_dead_mailbox_worker(make_postern):
    p = make_postern(mailbox=True)
    pids = wait_mailbox_workers(p, nworkers())
    os.kill(pids[0], signal.SIGKILL)
    p.wait_log("event=child_exit kind=mworker")
    wait_mailbox_workers(p, nworkers(), timeout=15)
    c = p.mailbox_raw(p.pop3_port)
    assert c.greeting.startswith("+OK")
    c.close()


def test_reload_replaces_mailbox_workers(make_postern):
    p = make_postern(mailbox=True)
    old = wait_mailbox_workers(p, nworkers())
    idle = p.mailbox_raw(p.imap_port)
    p.reload()
    p.wait_log("event=reload result=ok")
    wait_mailbox_workers(p, nworkers(), old=old)
    # New clients are served by the new generation...
    c = p.mailbox_raw(p.pop3_port)
    assert c.greeting.startswith("+OK")
    c.close()
    # ... and the old one keeps its open session until it ends.
    assert not idle.closed(timeout=0.5)
    idle.close()
    deadline = time.time() + 15
    while time.time() < deadline and set(old) & set(mailbox_workers(p)):
        time.sleep(0.1)
    assert not set(old) & set(mailbox_workers(p))


def test_connection_limits_count_smtp_and_mailbox_together(make_postern):
    p = make_postern(mailbox=True, extra="limits = { connections_per_ip = 1; };")
    # The start's own probes may count a moment longer.
    deadline = time.time() + 10
    while True:
        try:
            held = p.mailbox_raw(p.imap_port)
            break
        except ConnectionError:
            assert time.time() < deadline
            time.sleep(0.1)
    assert held.greeting.startswith("* OK")
    smtp = p.raw()
    assert smtp.banner[0] == 421 and "4.7.0" in smtp.banner[1]
    smtp.close()
    held.close()
    # Released when the mailbox session ends: SMTP is served again.
    deadline = time.time() + 10
    while True:
        smtp = p.raw()
        code = smtp.banner[0]
        smtp.close()
        if code == 220 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert code == 220


def test_reload_ends_old_sessions_after_grace(make_postern):
    """A reload gives the old mailbox workers' sessions a grace (10 s,
    mworker.c) to finish their command, then closes them: IMAP says BYE
    (even in IDLE), POP3 -ERR [SYS/TEMP]; the old workers then exit."""
    p = make_postern(mailbox=True,
                     extra='limits = { command_timeout = "30m"; };')
    old = wait_mailbox_workers(p, nworkers())
    from conftest import PASSWORD
    imap = p.mailbox_raw(p.imaps_port, tls=True)
    assert imap.cmd(f'a LOGIN alice@example.org "{PASSWORD}"').startswith("a OK")
    assert imap.cmd("b SELECT INBOX").startswith("*")
    while not imap.line().startswith("b OK"):
        pass
    pop = p.mailbox_raw(p.pop3_port)
    p.reload()
    p.wait_log("event=reload result=ok")
    # Within the grace the sessions still answer; IMAP then waits in IDLE.
    assert pop.cmd("CAPA").startswith("+OK")
    while pop.line() != ".":
        pass
    assert imap.cmd("c IDLE").startswith("+")
    start = time.time()
    assert imap.closed(timeout=20)
    assert "* BYE" in imap.buf.decode()
    assert pop.closed(timeout=5)
    assert pop.buf.startswith(b"-ERR [SYS/TEMP]")
    assert time.time() - start < 15
    deadline = time.time() + 10
    while time.time() < deadline and set(old) & set(mailbox_workers(p)):
        time.sleep(0.1)
    assert not set(old) & set(mailbox_workers(p))


def test_reloads_with_lingering_mailbox_sessions(make_postern):
    """Reloads in quick succession with long-lived sessions (IDLE clients)
    on every generation: the old generations' workers hold conntrack
    slots (4 * nworkers + 2); when the new generation finds none free the
    master defers the spawn, hurries the retiring mailbox workers and
    spawns as soon as a slot frees. IMAP stays served throughout."""
    p = make_postern(mailbox=True,
                     extra='limits = { command_timeout = "30m"; '
                           'connections_per_ip = 1000; };')
    held = []
    for gen in range(6):
        for _ in range(8):
            try:
                held.append(p.mailbox_raw(p.imap_port))
            except (OSError, ConnectionError) as e:
                failed = [l for l in p.log_lines() if "spawn_" in l]
                raise AssertionError(
                    f"generation {gen}: IMAP no longer served ({e!r}); "
                    f"{failed[:2]}")
        before = sum("reload" in l and "result=ok" in l for l in p.log_lines())
        p.reload()
        deadline = time.time() + 15
        while time.time() < deadline:
            n = sum("reload" in l and "result=ok" in l for l in p.log_lines())
            if n > before:
                break
            time.sleep(0.1)
        time.sleep(1.0)
    failed = [l for l in p.log_lines() if "spawn_failed" in l]
    assert not failed, failed[:3]
    # Every generation's workers are back to one set, and a new client is
    # served.
    wait_mailbox_workers(p, nworkers(), timeout=20)
    c = p.mailbox_raw(p.imap_port)
    assert c.greeting.startswith("* OK")
    c.close()
    for h in held:
        h.close()


def test_login_on_connection_opened_before_ban(make_postern):
    """A connection opened before its IP was banned cannot keep guessing:
    dird answers a login from a banned IP BANNED without checking the
    password (even the right one), for IMAP, POP3 and SMTP AUTH alike,
    and the session is closed (IMAP BYE, POP3 -ERR, SMTP 421 4.7.0)."""
    import base64
    import smtplib
    from conftest import PASSWORD, client_tls
    p = make_postern(mailbox=True)
    imap = p.mailbox_raw(p.imaps_port, tls=True, source="127.0.0.2")
    pop = p.mailbox_raw(p.pop3s_port, tls=True, source="127.0.0.2")
    smtp = smtplib.SMTP_SSL("127.0.0.1", p.submissions_port, timeout=10,
                            context=client_tls(),
                            source_address=("127.0.0.2", 0))
    smtp.ehlo("client.example")
    p.cli("access", "ban", "127.0.0.2", "--reason", "test")
    assert imap.cmd(f'a LOGIN alice@example.org "{PASSWORD}"').startswith("* BYE")
    assert imap.closed()
    assert pop.cmd("USER alice@example.org").startswith("+OK")
    assert pop.cmd(f"PASS {PASSWORD}").startswith("-ERR")
    assert pop.closed()
    cred = base64.b64encode(f"\0alice@example.org\0{PASSWORD}".encode()).decode()
    code, msg = smtp.docmd("AUTH", "PLAIN " + cred)
    assert code == 421 and msg.startswith(b"4.7.0"), (code, msg)
    logins = [l for l in p.log_lines() if "event=login ip=127.0.0.2" in l]
    assert len(logins) == 3 and not any("result=ok" in l for l in logins), logins
    # The ban was the CLI's: no new one is logged.
    assert not [l for l in p.log_lines() if "event=ban " in l]
    # Other clients still log in.
    ok = p.mailbox_raw(p.imaps_port, tls=True)
    assert ok.cmd(f'a LOGIN alice@example.org "{PASSWORD}"').startswith("a OK")
    ok.close()


def test_mail_dir_symlink_refused(make_postern, tmp_path):
    """data_dir/mail is opened without following a symbolic link (the
    mailbox worker, still root, chowns it and makes it its root): a link
    there is refused with a clear message, and its target is left alone.
    (The sandbox of dird and qmgr refuses it too: nothing runs.)"""
    from conftest import BIN
    p = make_postern(mailbox=True, start=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o755)
    before = elsewhere.stat()
    os.symlink(elsewhere, p.data_dir / "mail")
    err = p.tmp / "stderr.log"
    p.started = True
    p.proc = subprocess.Popen(["timeout", "-s", "TERM", "120", BIN, "-c",
                               str(p.conf), "serve"],
                              stdout=subprocess.DEVNULL, stderr=open(err, "ab"),
                              start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        if err.exists() and "data_dir/mail is a symbolic link: refused" in err.read_text():
            break
        time.sleep(0.1)
    else:
        raise AssertionError("no refusal: " + err.read_text())
    after = elsewhere.stat()
    assert (after.st_uid, after.st_gid, after.st_mode) == \
        (before.st_uid, before.st_gid, before.st_mode)
    assert list(elsewhere.iterdir()) == []
