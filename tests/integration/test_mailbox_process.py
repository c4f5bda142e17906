"""The mailbox workers (POP3, IMAP): the process side of issue 7. Each
mailbox listener greets (implicit TLS on pop3s and imaps), no mailbox
worker runs without a mailbox listener, a banned client hears nothing,
and sessions are logged as SMTP's are."""
import os
import subprocess
import time

import pytest

GREETING = {"pop3": "+OK", "pop3s": "+OK", "imap": "* OK", "imaps": "* OK"}


def children_named(p, name):
    """The processes under the master (pgrep -P the timeout wrapper, then
    its children) whose log name / comm shows name: we look at /proc
    cmdline-independent state, the children's count by kind from the
    master's spawn log is not kept at info level, so use the sandbox line."""
    master = int(subprocess.check_output(["pgrep", "-P", str(p.proc.pid)]).split()[0])
    kids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                          text=True).stdout.split()
    return [int(k) for k in kids]


def sandbox_roles(p):
    return [line for line in p.log_lines() if "event=sandbox" in line]


@pytest.mark.parametrize("svc", ["pop3", "pop3s", "imap", "imaps"])
def test_mailbox_listener_greets(make_postern, svc):
    p = make_postern(mailbox=True)
    port = p.mailbox_ports()[svc]
    c = p.mailbox_raw(port, tls=svc.endswith("s"))
    assert c.greeting.startswith(GREETING[svc]), c.greeting
    c.close()
    line = p.wait_log(f"service={svc.rstrip('s')} ")
    assert "event=connect" in line and "ip=127.0.0.1" in line
