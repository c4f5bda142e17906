"""The filters Postern runs itself (SPEC 2 `filters.attachments`,
`filters.content`; SPEC 5: answered at end of DATA): every attachment
trick of issue 6 is refused with 554 5.7.1 while a .pdf passes; each
action (reject, discard, quarantine); content rules on decoded headers
and on base64 and quoted-printable bodies; a MIME limit passed; and the
log lines (event=filter, and filter/action/rule/part on the transaction
line)."""

import base64
import smtplib

import pytest

B = "b0undary"


def mime(parts, outer_headers="", boundary=B, subject="filters"):
    """A multipart/mixed message of the given raw parts (LF lines)."""
    body = "".join(f"--{boundary}\n{p}\n" for p in parts) + f"--{boundary}--\n"
    msg = (f"From: <alice@example.org>\nTo: <bob@example.org>\n"
           f"Subject: {subject}\nMessage-ID: <{subject}.{id(parts)}@example.org>\n"
           f"MIME-Version: 1.0\n{outer_headers}"
           f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\n"
           f"preamble\n{body}")
    return msg.replace("\n", "\r\n").encode()


TEXT = "Content-Type: text/plain\n\nhello\n"
EXE = base64.b64encode(b"MZ\x90\x00 not really a program").decode()


def att(headers):
    return f"{headers}\nContent-Transfer-Encoding: base64\n\n{EXE}\n"


def nested(depth, leaf):
    """leaf inside depth levels of multipart/mixed."""
    part = leaf
    for i in range(depth):
        b = f"lvl{i}"
        part = (f"Content-Type: multipart/mixed; boundary=\"{b}\"\n\n"
                f"--{b}\n{TEXT}\n--{b}\n{part}\n--{b}--\n")
    return part


TRICKS = {
    "uppercase": att('Content-Type: application/octet-stream\n'
                     'Content-Disposition: attachment; filename="INVOICE.EXE"'),
    "name_only": att('Content-Type: application/octet-stream; name="x.exe"'),
    "rfc2231": att("Content-Type: application/octet-stream\n"
                   "Content-Disposition: attachment; filename*=utf-8''x.exe"),
    "rfc2231_charset_pct": att("Content-Type: application/octet-stream\n"
                               "Content-Disposition: attachment; "
                               "filename*=iso-8859-1''%E9t%E9.exe"),
    "continuations": att("Content-Type: application/octet-stream\n"
                         'Content-Disposition: attachment; filename*0="invoice";\n'
                         ' filename*1=".ex"; filename*2="e"'),
    "encoded_word": att("Content-Type: application/octet-stream\n"
                        'Content-Disposition: attachment; '
                        'filename="=?utf-8?B?eC5leGU=?="'),
    "encoded_word_q": att('Content-Type: application/octet-stream; '
                          'name="=?iso-8859-1?Q?r=E9sum=E9=2Eexe?="'),
    "three_levels": nested(3, att('Content-Type: application/octet-stream; '
                                  'name="deep.exe"')),
    "attached_message": (
        "Content-Type: message/rfc822\n\n"
        "From: <x@example.net>\nSubject: inner\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="inner"\n\n'
        f"--inner\n{TEXT}\n--inner\n"
        + att('Content-Type: application/octet-stream; name="inner.exe"')
        + "\n--inner--\n"),
    "trailing_dot": att('Content-Type: application/octet-stream\n'
                        'Content-Disposition: attachment; filename="x.exe."'),
    "second_filename": att('Content-Type: application/octet-stream\n'
                           'Content-Disposition: attachment; '
                           'filename="a.pdf"; filename="a.scr"'),
}


def send(p, data, rcpt="bob@example.org", sender="alice@example.org"):
    """(code, text) of the reply to DATA."""
    with p.smtp() as c:
        c.ehlo("client.example.net")
        try:
            c.sendmail(sender, [rcpt], data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
        return 250, ""


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    """One server with the default block list and a few content rules."""
    from conftest import Postern
    import os
    d = tmp_path_factory.mktemp("filters")
    os.chmod(d, 0o755)
    p = Postern(d, extra="""
filters = {
  content = (
    { match = "Cheap Pills"; where = "body"; action = "reject"; },
    { match = "lottery winner"; where = "headers"; action = "reject"; },
    { match = "wire transfer now"; where = "any"; action = "reject"; }
  );
};""")
    p.cli("domain", "add", "example.org")
    p.add_user("alice@example.org")
    p.add_user("bob@example.org")
    p.start(repick=True)
    yield p
    p.stop()
    p.release()


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_attachment_trick_is_refused(filtered, trick):
    code, text = send(filtered, mime([TEXT, TRICKS[trick]], subject=trick))
    assert code == 554, (trick, code, text)
    assert text.startswith("5.7.1"), text


def test_pdf_passes_and_is_delivered(filtered):
    before = len(filtered.messages("bob@example.org"))
    pdf = att('Content-Type: application/pdf\n'
              'Content-Disposition: attachment; filename="report.pdf"')
    assert send(filtered, mime([TEXT, pdf], subject="pdf")) == (250, "")
    got = filtered.wait_messages("bob@example.org", before + 1)
    assert any(b"report.pdf" in m for m in got)


def test_log_names_filter_rule_and_part(filtered):
    code, _ = send(filtered, mime([TEXT, TRICKS["name_only"]], subject="logged"))
    assert code == 554
    ev = filtered.wait_log('event=filter ')
    assert "filter=attachment" in ev and "action=reject" in ev
    assert 'rule=*.exe' in ev or 'rule="*.exe"' in ev
    tx = [l for l in filtered.log_lines()
          if "event=transaction" in l and "filter=attachment" in l]
    assert tx, "no transaction line names the filter"
    assert "part=2" in tx[-1] and "reply=\"554 5.7.1" in tx[-1]


def b64_text(text, charset="utf-8"):
    enc = base64.encodebytes(text.encode()).decode()
    return (f"Content-Type: text/plain; charset={charset}\n"
            f"Content-Transfer-Encoding: base64\n\n{enc}")


def test_content_rule_on_base64_body(filtered):
    code, text = send(filtered, mime([b64_text("Buy cheap pills today!\n")],
                                     subject="b64"))
    assert (code, text[:5]) == (554, "5.7.1")


def test_content_rule_on_quoted_printable_body(filtered):
    # A soft line break inside the phrase, and =XX for a letter.
    qp = ("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
          "Get your CHEAP P=\nILLS h=65re\n")
    code, text = send(filtered, mime([qp], subject="qp"))
    assert (code, text[:5]) == (554, "5.7.1")


def test_content_rule_on_long_base64_split_anywhere(filtered):
    # The phrase far into a long part, so that it straddles pieces.
    filler = "x" * 100_003 + " wire transfer now " + "y" * 50_000
    code, _ = send(filtered, mime([b64_text(filler)], subject="long"))
    assert code == 554


def test_content_rule_on_encoded_header(filtered):
    subj = "=?utf-8?B?" + base64.b64encode(b"You are a Lottery Winner").decode() + "?="
    code, text = send(filtered, mime([TEXT], subject=subj))
    assert (code, text[:5]) == (554, "5.7.1")


def test_where_body_rule_ignores_headers_and_clean_mail_passes(filtered):
    # "cheap pills" only in a header: the rule reads bodies only.
    assert send(filtered, mime([TEXT], subject="cheap pills")) == (250, "")
    # And a header-only rule does not read bodies.
    assert send(filtered, mime(["Content-Type: text/plain\n\nlottery winner\n"],
                               subject="fine")) == (250, "")


def test_mime_nesting_limit_is_refused(filtered):
    code, text = send(filtered, mime([nested(20, TEXT)], subject="deep"))
    assert code == 554 and text.startswith("5.6.0"), (code, text)


def test_e_question_e_glob(make_postern):
    p = make_postern(extra='filters = { attachments = { block = ["*.e?e"]; }; };')
    for name in ("x.exe", "x.ece"):
        part = att(f'Content-Type: application/octet-stream; name="{name}"')
        assert send(p, mime([TEXT, part], subject=name))[0] == 554, name
    ok = att('Content-Type: application/octet-stream; name="x.eee.pdf"')
    assert send(p, mime([TEXT, ok], subject="ok")) == (250, "")


def test_discard_accepts_and_drops(make_postern):
    p = make_postern(extra='filters = { attachments = { action = "discard"; }; };')
    code, _ = send(p, mime([TEXT, TRICKS["uppercase"]], subject="dropped"))
    assert code == 250
    p.wait_log("action=discard")
    assert send(p, mime([TEXT], subject="kept")) == (250, "")
    got = p.wait_messages("bob@example.org", 1)
    assert len(got) == 1 and b"Subject: kept" in got[0]


def test_quarantine_delivers_only_to_the_quarantine_mailbox(make_postern):
    p = make_postern(extra='filters = { attachments = { action = "quarantine"; };'
                           ' quarantine = "quarantine@example.org"; };')
    p.add_user("quarantine@example.org")
    code, _ = send(p, mime([TEXT, TRICKS["name_only"]], subject="held"))
    assert code == 250
    got = p.wait_messages("quarantine@example.org", 1)
    assert b"X-Postern-Quarantine:" in got[0]
    assert b"rcpt=<bob@example.org>" in got[0]
    assert b"Subject: held" in got[0]
    assert p.messages("bob@example.org") == []
    tx = p.wait_log("event=transaction")
    assert "action=quarantine" in tx


def test_content_rule_discard_and_strongest_action_wins(make_postern):
    p = make_postern(extra="""filters = {
  attachments = { action = "discard"; };
  content = ( { match = "refuse me"; where = "any"; action = "reject"; } );
};""")
    # A discard and a reject hit: reject, the stronger, is what the client hears.
    code, text = send(p, mime(["Content-Type: text/plain\n\nplease refuse me\n",
                               TRICKS["uppercase"]], subject="both"))
    assert (code, text[:5]) == (554, "5.7.1")


def test_filters_off(make_postern):
    p = make_postern(extra="filters = { attachments = { block = []; }; };")
    assert send(p, mime([TEXT, TRICKS["uppercase"]], subject="off")) == (250, "")
    p.wait_messages("bob@example.org", 1)


def test_notify_recipient_of_a_refused_message(make_postern):
    p = make_postern(extra='filters = { attachments = { notify = ["recipient"]; }; };')
    code, _ = send(p, mime([TEXT, TRICKS["name_only"]], subject="told"))
    assert code == 554
    got = p.wait_messages("bob@example.org", 1)
    assert b"From: Mail Delivery System <MAILER-DAEMON@" in got[0]
    assert b"A message for you was blocked" in got[0]
    assert b"x.exe" in got[0] and b"Auto-Submitted: auto-generated" in got[0]
    assert b"Return-Path: <>" in got[0]


def test_notify_sender_who_authenticated(make_postern):
    p = make_postern(extra='filters = { attachments = { action = "discard";'
                           ' notify = ["sender"]; }; };')
    with p.submission() as c:
        c.sendmail("alice@example.org", ["bob@example.org"],
                   mime([TEXT, TRICKS["uppercase"]], subject="mine"))
    got = p.wait_messages("alice@example.org", 1)
    assert b"Your message was not delivered" in got[0]
    assert b"was discarded" in got[0] and b"INVOICE.EXE" in got[0]
    assert p.messages("bob@example.org") == []


def test_notify_sender_from_outside_obeys_bounces_policy(make_postern):
    off = make_postern(extra='domain_defaults = { bounces = "disabled"; };\n'
                             'filters = { attachments = { action = "discard";'
                             ' notify = ["sender"]; }; };')
    code, _ = send(off, mime([TEXT, TRICKS["uppercase"]], subject="x"),
                   sender="carol@remote.example")
    assert code == 250
    line = off.wait_log("event=filter_notice")
    assert "result=suppressed" in line
    on = make_postern(extra='domain_defaults = { bounces = "enabled"; };\n'
                            'filters = { attachments = { action = "discard";'
                            ' notify = ["sender"]; }; };')
    code, _ = send(on, mime([TEXT, TRICKS["uppercase"]], subject="y"),
                   sender="carol@remote.example")
    assert code == 250
    line = on.wait_log("event=filter_notice")
    assert "result=queued" in line and "carol@remote.example" in line


def test_mime_header_size_limit_is_refused(filtered):
    pad = "".join(f"X-Pad-{i:05d}: {'a' * 200}\n" for i in range(1400))  # ~300 KB
    msg = (f"From: <alice@example.org>\nSubject: big header\n{pad}\nbody\n")
    code, text = send(filtered, msg.replace("\n", "\r\n").encode())
    assert code == 554 and text.startswith("5.6.0"), (code, text)
    assert "header" in text


def test_mime_part_count_limit_is_refused(filtered):
    code, text = send(filtered, mime(["Content-Type: text/plain\n\nx\n"] * 1001,
                                     subject="parts"))
    assert code == 554 and text.startswith("5.6.0"), (code, text)
    assert send(filtered, mime(["Content-Type: text/plain\n\nx\n"] * 900,
                               subject="fewer")) == (250, "")
