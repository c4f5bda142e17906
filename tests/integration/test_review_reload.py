"""Review of issue 7 (wip/review): a reload retires the mailbox workers
with SIGUSR1, and they then wait for their sessions to end "at their own
pace" (mworker.c). An IMAP client in IDLE never ends its session, so every
retired generation of mailbox workers stays, each holding a conntrack slot
(master.c: 4 * nworkers + 2 slots). After a few reloads with such clients
the master cannot spawn the new generation ("spawn_failed ... no free
slot") and nothing accepts on the listeners any more.

Expected to FAIL on the code as reviewed."""
import time


def test_reloads_with_lingering_mailbox_sessions(make_postern):
    p = make_postern(mailbox=True,
                     extra='limits = { command_timeout = "30m"; '
                           'connections_per_ip = 1000; };')
    held = []
    for gen in range(6):
        # Long-lived sessions (IDLE clients) on this generation's workers.
        for _ in range(8):
            try:
                held.append(p.mailbox_raw(p.imap_port))
            except (OSError, ConnectionError) as e:
                failed = [l for l in p.log_lines() if "spawn_failed" in l]
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
    # A new client is still served.
    c = p.mailbox_raw(p.imap_port)
    del c
