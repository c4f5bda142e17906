"""The queue of outbound delivery (issue 4; SPEC section 1 `queue`):
`queue list` states while a peer is down, `queue flush`, `queue release`,
`queue delete`, `queue show`, and a restart in the middle of a retry
schedule that neither loses nor repeats anything."""

import re
import time
from datetime import datetime, timezone

from peers import (deliveries, mail_text, queue_list, recorded, stays, submit, wait_delivery, wait_for,
                   wait_queue_empty)

RCPT = "carol@peer.example"


def next_try(r):
    """A recipient's next= as unix seconds (0 for "now")."""
    if r["next"] == "now":
        return 0
    return datetime.strptime(r["next"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def deferred_once(p, rcpt=RCPT, n=1):
    wait_delivery(p, rcpt, "deferred", n=n)


def test_queue_list_shows_a_deferred_recipient(outbound, make_sink):
    make_sink("127.0.0.3", start=False)
    qid = submit(outbound, [RCPT, "dave@peer.example"], mail_text(subject="waiting", to=RCPT))
    deferred_once(outbound, RCPT)
    deferred_once(outbound, "dave@peer.example")
    q = recorded(outbound, qid, [RCPT, "dave@peer.example"])
    out = outbound.cli("queue", "list").stdout
    lines = out.splitlines()
    assert lines[0].startswith(qid + " "), out
    assert "from=<alice@example.org>" in lines[0], out
    assert set(q) == {RCPT, "dave@peer.example"}, out
    for r in q.values():
        assert r["state"] == "deferred" and r["attempts"] >= 1, out
        assert re.match(r"4\d\d 4\.\d+\.\d+ ", r["reply"]), out
        assert next_try(r) > time.time() - 5, out
    show = outbound.cli("queue", "show", qid).stdout
    assert show.startswith(qid + " ") and "Subject: waiting" in show, show
    assert re.search(r"^\s+carol@peer\.example deferred attempts=\d+", show, re.M), show


def test_queue_flush_retries_now(make_outbound, make_sink):
    p = make_outbound(retry='["1h"]', max_lifetime='"1d"')
    sink = make_sink("127.0.0.3", start=False)
    qid = submit(p, RCPT)
    deferred_once(p)
    r = recorded(p, qid, RCPT)[RCPT]
    assert r["state"] == "deferred" and r["attempts"] == 1, r
    assert next_try(r) > time.time() + 1800, r  # an hour away
    sink.start()
    stays(lambda: sink.messages == [], 1.0, "nothing before the flush")
    assert p.cli("queue", "flush").returncode == 0
    [got] = sink.wait(timeout=5)
    assert got.rcpts == [RCPT]
    wait_queue_empty(p)
    assert p.cli("queue", "list").stdout == ""


def test_queue_release_retries_one_message_and_restarts_its_schedule(make_outbound, make_sink):
    """retry = 1s then 1h: after two failures the next try is an hour away.
    release makes it due now and restarts the schedule: the attempt after
    the released one comes 1 s later, not 1 h."""
    p = make_outbound(retry='["1s", "1h"]', max_lifetime='"1d"')
    sink = make_sink("127.0.0.3", start=False)
    held = submit(p, RCPT)
    other = submit(p, "dave@peer.example")
    deferred_once(p, RCPT, n=2)
    deferred_once(p, "dave@peer.example", n=2)
    recorded(p, other, "dave@peer.example", attempts=2)
    r = recorded(p, held, RCPT, attempts=2)[RCPT]
    assert next_try(r) > time.time() + 1800, r
    assert p.cli("queue", "release", held).returncode == 0
    deferred_once(p, RCPT, n=3)          # the released attempt, still down
    sink.start()
    [got] = sink.wait(timeout=6)         # 1 s later: the schedule restarted
    assert got.rcpts == [RCPT]
    # The other message was not released: it still waits for its hour.
    # (The held one leaves the queue once its attempt is recorded.)
    wait_for(lambda: held not in queue_list(p), 5, "the delivered message retired")
    q = queue_list(p)
    assert other in q, q
    assert q[other]["dave@peer.example"]["state"] == "deferred"
    assert len(deliveries(p, "dave@peer.example")) == 2


def test_queue_release_unknown_id_fails(outbound):
    r = outbound.cli("queue", "release", "0123456789ABCDEF", check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r


def test_queue_delete_removes_without_bounce(make_outbound, make_sink):
    p = make_outbound(retry='["1h"]', max_lifetime='"1d"')
    sink = make_sink("127.0.0.3", start=False)
    qid = submit(p, RCPT)
    deferred_once(p)
    assert p.cli("queue", "delete", qid).returncode == 0
    assert qid not in queue_list(p)
    assert p.queue_ids() == []
    sink.start()
    p.cli("queue", "flush")
    stays(lambda: sink.conns == 0 and p.messages("alice@example.org") == [], 1.5,
          "a deleted message is neither delivered nor bounced")


def test_restart_in_the_middle_of_the_retry_schedule(make_outbound, make_sink):
    """SIGTERM while deferred after two attempts; the restarted server
    counts on from 2 and delivers once when the peer is up."""
    p = make_outbound(retry='["1s", "2s"]')
    sink = make_sink("127.0.0.3", start=False)
    qid = submit(p, RCPT)
    deferred_once(p, n=2)
    p.stop()
    r = queue_list(p)[qid][RCPT]  # the command line reads the queue offline
    assert r["state"] == "deferred" and r["attempts"] == 2, r
    p.start()
    deferred_once(p, n=3)
    r = wait_for(lambda: (lambda x: x if x and x["attempts"] >= 3 else None)(
        queue_list(p).get(qid, {}).get(RCPT)), 5, "attempts=3 after the restart")
    assert r["state"] == "deferred", r
    sink.start()
    [got] = sink.wait(timeout=10)
    assert got.rcpts == [RCPT]
    wait_queue_empty(p)
    stays(lambda: len(sink.messages) == 1, 0.5, "delivered once")
