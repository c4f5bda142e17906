"""filters.antivirus against a real clamd (peers.Clamd: /usr/sbin/clamd with
a one-signature database for the EICAR test string, on 127.0.0.1 and on a
unix socket). The session scans each message at the end of DATA (SPEC 5):
a virus gets 554 5.7.1 (action reject), or 250 and is dropped (discard) or
sent to filters.quarantine (quarantine); clamd unreachable follows
on_error. A unix socket is out of the worker's chroot: the master connects
it (docs/sandbox.md, "Filter sockets"), so a scan over it proves the
broker."""

import io
import smtplib
import zipfile
from email.message import EmailMessage

import pytest

from conftest import message
from peers import EICAR, EICAR_SIGNATURE, Clamd, log_fields, stays, wait_for


@pytest.fixture
def clamd(tmp_path):
    """A started clamd for the test (StreamMaxLength 10M)."""
    c = Clamd(tmp_path).start()
    yield c
    c.release()


@pytest.fixture
def clamd_stopped(tmp_path):
    """A clamd that is configured but not running (its port is reserved, so
    nothing else listens there: connections are refused)."""
    c = Clamd(tmp_path)
    yield c
    c.release()


def av_config(address, action="reject", on_error="tempfail", quarantine=None):
    q = f'quarantine = "{quarantine}";' if quarantine else ""
    return (f'filters = {{ antivirus = {{ clamd = "{address}"; action = "{action}"; '
            f'on_error = "{on_error}"; }}; {q} }};')


def send(p, msg, rcpt="bob@example.org", sender="someone@remote.example"):
    """One transaction from an outside client; the final reply to DATA."""
    c = p.smtp(source="127.0.0.2", timeout=90)
    try:
        c.ehlo("client.remote.example")
        assert c.mail(sender)[0] == 250
        assert c.rcpt(rcpt)[0] == 250
        code, text = c.data(msg.encode() if isinstance(msg, str) else msg)
        return code, text.decode("utf-8", "replace")
    finally:
        try:
            c.quit()
        except smtplib.SMTPException:
            c.close()


def eicar_body(subject="eicar"):
    return message(subject=subject, sender="someone@remote.example",
                   body="Test file follows.\r\n" + EICAR.decode() + "\r\n")


def with_attachment(data, filename, maintype="application", subtype="octet-stream"):
    m = EmailMessage()
    m["From"] = "<someone@remote.example>"
    m["To"] = "<bob@example.org>"
    m["Subject"] = f"attachment {filename}"
    m["Message-ID"] = f"<{filename}.av@remote.example>"
    m.set_content("See the attachment.\n")
    # Not a name the attachment filter blocks (*.com is): the verdict
    # must be the antivirus's.
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# ---- verdicts over TCP -------------------------------------------------------

def test_eicar_in_plain_body_is_rejected(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet))
    code, text = send(p, eicar_body())
    assert code == 554, text
    assert text.startswith("5.7.1"), text
    stays(lambda: not p.messages("bob@example.org"), 0.5, "nothing delivered")
    # clamd names a signature from a database of our own "<name>.UNOFFICIAL".
    f = log_fields(p.wait_log("event=filter "))
    assert (f["filter"], f["action"]) == ("antivirus", "reject"), f
    assert f["rule"].startswith(EICAR_SIGNATURE), f


def test_eicar_in_base64_attachment_is_rejected(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet))
    raw = with_attachment(EICAR, "eicar.txt")
    assert b"Content-Transfer-Encoding: base64" in raw
    assert EICAR not in raw
    code, text = send(p, raw)
    assert code == 554, text
    assert text.startswith("5.7.1"), text


def test_eicar_in_zip_attachment_is_rejected(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet))
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", EICAR)
    code, text = send(p, with_attachment(z.getvalue(), "archive.zip", subtype="zip"))
    assert code == 554, text


def test_clean_message_is_delivered(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet))
    code, text = send(p, message(subject="clean", sender="someone@remote.example",
                                 body="Nothing to see here.\r\n"))
    assert code == 250, text
    got = p.wait_messages("bob@example.org")
    assert b"Nothing to see here." in got[0]


def test_message_larger_than_a_chunk_is_scanned_whole(make_postern, clamd):
    """The signature sits past the first INSTREAM chunks (64 KiB each)."""
    p = make_postern(extra=av_config(clamd.inet))
    filler = ("x" * 76 + "\r\n") * 3000          # about 234 KB
    code, text = send(p, message(subject="big", sender="someone@remote.example",
                                 body=filler + EICAR.decode() + "\r\n"))
    assert code == 554, text


def test_stream_over_clamd_limit_follows_on_error(make_postern, tmp_path):
    """clamd refuses a stream over its StreamMaxLength (and closes while we
    still send): that is a clamd error, not a clean message."""
    c = Clamd(tmp_path, stream_max="1M").start()
    try:
        p = make_postern(extra=av_config(c.inet))
        filler = ("y" * 76 + "\r\n") * 30000      # about 2.3 MB
        code, text = send(p, message(subject="huge", sender="someone@remote.example",
                                     body=filler))
        assert code == 451, text
        assert text.startswith("4.3.0"), text
        f = log_fields(p.wait_log("event=filter "))
        assert (f["filter"], f["action"]) == ("antivirus", "tempfail"), f
        assert f["detail"] == "INSTREAM size limit exceeded.", f
    finally:
        c.release()


# ---- actions -----------------------------------------------------------------

def test_action_discard_accepts_and_drops(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet, action="discard"))
    code, text = send(p, eicar_body("discarded"))
    assert code == 250, text
    assert send(p, message(subject="after", sender="someone@remote.example"))[0] == 250
    # The clean one sent afterwards arrives; the virus never does.
    got = p.wait_messages("bob@example.org")
    stays(lambda: len(p.messages("bob@example.org")) == 1, 1.0, "only the clean message")
    assert b"Subject: after" in got[0]


def test_action_quarantine_delivers_to_the_quarantine_only(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet, action="quarantine",
                                     quarantine="alice@example.org"))
    code, text = send(p, eicar_body("quarantined"))
    assert code == 250, text
    got = p.wait_messages("alice@example.org")
    assert b"Subject: quarantined" in got[0]
    stays(lambda: not p.messages("bob@example.org"), 0.5, "nothing for bob")


# ---- clamd unreachable ---------------------------------------------------------

def test_clamd_down_with_tempfail_is_451(make_postern, clamd_stopped):
    p = make_postern(extra=av_config(clamd_stopped.inet, on_error="tempfail"))
    code, text = send(p, message(subject="down", sender="someone@remote.example"))
    assert code == 451, text
    assert text.startswith("4.3.0"), text
    stays(lambda: not p.messages("bob@example.org"), 0.5, "nothing delivered")


def test_clamd_down_with_accept_delivers_and_logs(make_postern, clamd_stopped):
    p = make_postern(extra=av_config(clamd_stopped.inet, on_error="accept"))
    code, text = send(p, message(subject="down-accept", sender="someone@remote.example"))
    assert code == 250, text
    p.wait_messages("bob@example.org")
    f = log_fields(p.wait_log("event=filter "))
    assert (f["filter"], f["action"], f["rule"]) == ("antivirus", "accept", "error"), f
    assert "Connection refused" in f["detail"], f


def test_clamd_back_after_outage(make_postern, clamd_stopped):
    """One connection per message: once clamd is back, mail flows again."""
    p = make_postern(extra=av_config(clamd_stopped.inet))
    assert send(p, message(subject="first", sender="someone@remote.example"))[0] == 451
    clamd_stopped.start()
    assert send(p, message(subject="second", sender="someone@remote.example"))[0] == 250
    assert send(p, eicar_body("third"))[0] == 554


# ---- the unix socket, through the master ---------------------------------------

def test_unix_socket_through_the_master(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.unix))
    code, text = send(p, eicar_body("unix-eicar"))
    assert code == 554, text
    code, text = send(p, message(subject="unix-clean", sender="someone@remote.example"))
    assert code == 250, text
    p.wait_messages("bob@example.org")
    # The worker is chrooted: only the master could have connected.
    assert not [l for l in p.log_lines() if "filter_broker_refused" in l]


def test_unix_socket_down_with_tempfail_is_451(make_postern, clamd_stopped):
    p = make_postern(extra=av_config(clamd_stopped.unix))
    code, text = send(p, message(subject="unix-down", sender="someone@remote.example"))
    assert code == 451, text
    f = log_fields(p.wait_log("event=filter_broker_failed"))
    assert (f["service"], f["addr"]) == ("master", clamd_stopped.unix), f
    assert f["detail"] == "No such file or directory", f


# ---- logging -----------------------------------------------------------------

def test_transaction_line_names_the_filter(make_postern, clamd):
    p = make_postern(extra=av_config(clamd.inet))
    assert send(p, eicar_body("logged"))[0] == 554
    line = wait_for(lambda: [l for l in p.log_lines() if "event=transaction" in l], 10,
                    "the transaction line")[0]
    f = log_fields(line)
    assert f["reply"].startswith("554 5.7.1"), line
    assert (f["filter"], f["action"]) == ("antivirus", "reject"), line
    assert f["rule"].startswith(EICAR_SIGNATURE), line
