"""Process life cycle: SIGHUP reload, SIGTERM, a worker that dies, and a
crash (SIGKILL of every process) while clients send: nothing acknowledged
is lost and nothing is delivered twice."""

import os
import re
import signal
import smtplib
import subprocess
import threading
import time

from conftest import message


def test_sighup_applies_a_good_file(postern):
    assert postern.raw().banner[1] == "220 mx.example.org ESMTP"
    postern.write_config(extra='smtp_banner = "Mail service";')
    postern.reload()
    postern.wait_log("event=reload result=ok")
    deadline = time.time() + 5
    while postern.raw().banner[1] != "220 mx.example.org Mail service":
        assert time.time() < deadline
        time.sleep(0.05)


def test_sighup_keeps_old_config_when_new_is_bad(postern):
    postern.conf.write_text(postern.conf.read_text() + "\nno_such_key = 1;\n")
    postern.reload()
    line = postern.wait_log("event=reload result=error")
    assert "no_such_key" in line
    assert postern.raw().banner[1] == "220 mx.example.org ESMTP"
    c = postern.smtp()
    c.sendmail("friend@example.net", ["bob@example.org"], message())
    postern.wait_messages("bob@example.org")


def test_reload_keeps_idle_sessions_of_old_workers(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    postern.reload()
    postern.wait_log("event=reload result=ok")
    # The old worker finishes this session: no 421, the transaction works.
    assert r.cmd("MAIL FROM:<friend@example.net>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: across reload\r\n\r\nbody\r\n.\r\n")
    assert r.reply()[0] == 250
    postern.wait_messages("bob@example.org")


def test_sigterm_answers_open_transactions_421(postern):
    r = postern.raw()
    r.cmd("EHLO x.example.net")
    r.cmd("MAIL FROM:<friend@example.net>")
    r.cmd("RCPT TO:<bob@example.org>")
    postern.signal(signal.SIGTERM)
    code, text = r.reply()
    assert code == 421 and text.startswith("421 4.3.2")
    assert r.closed()
    assert postern.proc.wait(timeout=20) == 0
    assert postern.queue_ids() == []


def test_master_restarts_a_dead_worker(postern):
    master = int(subprocess.check_output(["pgrep", "-P", str(postern.proc.pid)]).split()[0])
    children = [int(p) for p in subprocess.check_output(["pgrep", "-P", str(master)]).split()]
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    postern.wait_log("event=child_exit")
    deadline = time.time() + 10
    while True:
        try:
            c = postern.smtp()
            c.sendmail("friend@example.net", ["bob@example.org"], message())
            break
        except (OSError, smtplib.SMTPException):
            assert time.time() < deadline
            time.sleep(0.2)
    postern.wait_messages("bob@example.org")


def test_crash_loses_no_acknowledged_message(make_postern):
    p = make_postern()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def sender(k):
        n = 0
        while not stop.is_set():
            subject = f"crash-{k}-{n}"
            n += 1
            try:
                c = smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=5)
                c.sendmail("friend@example.net", ["bob@example.org", "alice@example.org"],
                           message(subject=subject, body="x" * 2000 + "\r\n"))
                with lock:
                    acked.append(subject)
                c.close()
            except (OSError, smtplib.SMTPException):
                pass

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    p.kill()                        # SIGKILL to every process at once
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 10
    p.start()                       # recovery finishes the queue
    for rcpt in ("bob@example.org", "alice@example.org"):
        msgs = p.wait_messages(rcpt, len(acked), timeout=30)
        deadline = time.time() + 3   # let any straggler (a duplicate) land
        while time.time() < deadline and p.queue_ids():
            time.sleep(0.1)
        subjects = [re.search(rb"Subject: (crash-\d+-\d+)", m).group(1).decode()
                    for m in p.messages(rcpt)]
        for s in acked:
            assert subjects.count(s) == 1, (rcpt, s, subjects.count(s))
        assert len(subjects) == len(set(subjects)), "a message was delivered twice"
    assert p.queue_ids() == []
