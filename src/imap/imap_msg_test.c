/*
 * Unit tests for imap/imap_msg: ENVELOPE, BODY and BODYSTRUCTURE of
 * hand-written messages (plain text, nested multiparts, a base64
 * attachment with extension data, an attached message/rfc822, a missing
 * close delimiter, CR LF input), section parsing and labels, section
 * contents with partial ranges across CR LF, the size, dates, and the
 * SEARCH substring helpers; the depth and part limits; imap_msg_open()
 * over a real file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/limits.h"
#include "imap/imap_msg.h"
#include "mime/mime_parse.h"

static const char msg_simple[] =
    "From: John Doe <jdoe@example.org>\n"
    "To: \"Mary Smith\" <mary@example.net>, bob@example.com (Bob)\n"
    "Subject: Hello\n"
    "Date: Fri, 21 Nov 1997 09:55:06 -0600\n"
    "Message-ID: <1234@local.machine.example>\n"
    "\n"
    "This is a message just to say hello.\n"
    "So, \"Hello\".\n";

static const char msg_mixed[] =
    "From: a@b.example\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= mixed\n"
    "To: undisclosed-recipients:;\n"
    "Cc: Friends: \"Joe Q.\" <joe@x.example>, "
    "<@r1.example,@r2.example:jim@y.example>; me@z.example\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Hello w=C3=B6rld\n"
    "--inner\n"
    "Content-Type: text/html; charset=\"utf-8\"\n"
    "\n"
    "<p>Hello</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; "
    "filename*1=\".bin\"\n"
    "Content-ID: <id1@x>\n"
    "Content-Description: the file\n"
    "Content-Language: en, (comment) de\n"
    "Content-Location: http://x/a.bin\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "\n"
    "c2VjcmV0IG5lZWRsZSBzdHVmZg==\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: \"Inner Sender\" <in@s.example>\n"
    "Subject: inner\n"
    "Content-Type: multipart/mixed; boundary=x\n"
    "\n"
    "--x\n"
    "\n"
    "text one\n"
    "--x\n"
    "Content-Type: image/png\n"
    "\n"
    "PNG\n"
    "--x--\n"
    "--outer--\n"
    "epilogue\n";

static const char msg_crlf[] =
    "Subject: crlf\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "\r\n"
    "ab\r\n"
    "cd\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "xy\r\n"
    "--b--\r\n";

static const char msg_noclose[] =
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "\n"
    "one\n"
    "--b--x\n"
    "--b \t\n"
    "Content-Type: text/plain\n"
    "\n"
    "two\n";

/* ---- helpers ------------------------------------------------------------ */

static char *
fetch(const char *msg, int what)
{
	struct imap_msg *m = imap_msg_open_mem(msg, strlen(msg));
	struct buf out;
	char *s;

	buf_init(&out, 1 << 20);
	if (what == 0)
		assert_int_equal(imap_msg_envelope(m, &out), 0);
	else
		assert_int_equal(imap_msg_bodystructure(m, what == 2, &out), 0);
	s = strdup(buf_cstr(&out));
	buf_free(&out);
	imap_msg_close(&m);
	assert_null(m);
	return s;
}

static void
check_fetch(const char *msg, int what, const char *want)
{
	char *got = fetch(msg, what);

	assert_string_equal(got, want);
	free(got);
}

/* The section's label and its content, read in pieces of piece bytes. */
static char *
section(const char *msg, size_t len, const char *spec, size_t piece,
    char **label_out)
{
	struct imap_msg *m = imap_msg_open_mem(msg, len);
	struct imap_section s;
	struct imap_msg_reader r;
	struct buf out;
	char err[128], tmp[64];
	size_t n;
	char *res;

	assert_true(piece <= sizeof(tmp));
	assert_int_equal(imap_section_parse(spec, strlen(spec), &s, err,
	    sizeof(err)), 0);
	imap_msg_reader_init(&r, m, &s);
	buf_init(&out, 1 << 20);
	while ((n = imap_msg_reader_read(&r, tmp, piece)) > 0) {
		assert_true(n <= piece);
		buf_append(&out, tmp, n);
	}
	assert_int_equal(out.len, r.size);
	imap_msg_reader_clear(&r);
	if (label_out != NULL)
		*label_out = strdup(s.label);
	imap_section_clear(&s);
	imap_msg_close(&m);
	res = strdup(buf_cstr(&out));
	buf_free(&out);
	return res;
}

/* Reads the section in pieces of 1, 2, 7 and 64 bytes: all equal want. */
static void
check_section(const char *msg, const char *spec, const char *want)
{
	static const size_t pieces[] = { 1, 2, 7, 64 };

	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		char *got = section(msg, strlen(msg), spec, pieces[i], NULL);

		assert_string_equal(got, want);
		free(got);
	}
}

static void
check_label(const char *spec, const char *want, bool peek)
{
	struct imap_section s;
	char err[128];

	assert_int_equal(imap_section_parse(spec, strlen(spec), &s, err,
	    sizeof(err)), 0);
	assert_string_equal(s.label, want);
	assert_int_equal(s.peek, peek);
	imap_section_clear(&s);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_simple(void **state)
{
	(void)state;
	check_fetch(msg_simple, 0,
	    "(\"Fri, 21 Nov 1997 09:55:06 -0600\" \"Hello\" "
	    "((\"John Doe\" NIL \"jdoe\" \"example.org\")) "
	    "((\"John Doe\" NIL \"jdoe\" \"example.org\")) "
	    "((\"John Doe\" NIL \"jdoe\" \"example.org\")) "
	    "((\"Mary Smith\" NIL \"mary\" \"example.net\")"
	    "(\"Bob\" NIL \"bob\" \"example.com\")) NIL NIL NIL "
	    "\"<1234@local.machine.example>\")");
	check_fetch(msg_simple, 1, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 52 2)");
	check_fetch(msg_simple, 2, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 52 2 NIL NIL NIL NIL)");
	check_section(msg_simple, "BODY[HEADER.FIELDS (from subject)]",
	    "From: John Doe <jdoe@example.org>\r\nSubject: Hello\r\n\r\n");
	check_section(msg_simple, "BODY[HEADER.FIELDS.NOT (From To Date)]",
	    "Subject: Hello\r\nMessage-ID: <1234@local.machine.example>\r\n"
	    "\r\n");
	check_section(msg_simple, "BODY[HEADER.FIELDS (X-None)]", "\r\n");
	check_section(msg_simple, "BODY[1]",
	    "This is a message just to say hello.\r\nSo, \"Hello\".\r\n");
	check_section(msg_simple, "RFC822.TEXT",
	    "This is a message just to say hello.\r\nSo, \"Hello\".\r\n");
	check_section(msg_simple, "BODY.PEEK[TEXT]<3.10>", "s is a mes");
	check_section(msg_simple, "BODY[2]", "");
	check_section(msg_simple, "BODY[1.1]", "");
	check_section(msg_simple, "BODY[1.HEADER]", "");
	check_section(msg_simple, "BODY[]<246.1>", "");
	check_section(msg_simple, "BODY[]<245.10>", "\n");
	check_section(msg_simple, "RFC822.HEADER",
	    "From: John Doe <jdoe@example.org>\r\n"
	    "To: \"Mary Smith\" <mary@example.net>, bob@example.com (Bob)\r\n"
	    "Subject: Hello\r\n"
	    "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
	    "Message-ID: <1234@local.machine.example>\r\n\r\n");
}

static void
test_mixed(void **state)
{
	(void)state;
	check_fetch(msg_mixed, 0,
	    "(NIL \"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= mixed\" "
	    "((NIL NIL \"a\" \"b.example\")) ((NIL NIL \"a\" \"b.example\")) "
	    "((NIL NIL \"a\" \"b.example\")) "
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"Friends\" NIL)(\"Joe Q.\" NIL \"joe\" \"x.example\")"
	    "(NIL \"@r1.example,@r2.example\" \"jim\" \"y.example\")"
	    "(NIL NIL NIL NIL)(NIL NIL \"me\" \"z.example\")) NIL NIL NIL)");
	check_fetch(msg_mixed, 1,
	    "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	    "\"QUOTED-PRINTABLE\" 16 1)(\"TEXT\" \"HTML\" (\"CHARSET\" "
	    "\"utf-8\") NIL NIL \"7BIT\" 12 1) \"ALTERNATIVE\")"
	    "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"a.bin\") "
	    "\"<id1@x>\" \"the file\" \"BASE64\" 28)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 157 "
	    "(NIL \"inner\" ((\"Inner Sender\" NIL \"in\" \"s.example\")) "
	    "((\"Inner Sender\" NIL \"in\" \"s.example\")) "
	    "((\"Inner Sender\" NIL \"in\" \"s.example\")) NIL NIL NIL NIL NIL) "
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "8 1)(\"IMAGE\" \"PNG\" NIL NIL NIL \"7BIT\" 3) \"MIXED\") 12) "
	    "\"MIXED\")");
	check_fetch(msg_mixed, 2,
	    "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	    "\"QUOTED-PRINTABLE\" 16 1 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" "
	    "(\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 12 1 NIL NIL NIL NIL) "
	    "\"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)"
	    "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"a.bin\") "
	    "\"<id1@x>\" \"the file\" \"BASE64\" 28 "
	    "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"ATTACHMENT\" (\"FILENAME*\" "
	    "\"utf-8''%E2%82%AC.bin\")) (\"en\" \"de\") \"http://x/a.bin\")"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 157 "
	    "(NIL \"inner\" ((\"Inner Sender\" NIL \"in\" \"s.example\")) "
	    "((\"Inner Sender\" NIL \"in\" \"s.example\")) "
	    "((\"Inner Sender\" NIL \"in\" \"s.example\")) NIL NIL NIL NIL NIL) "
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "8 1 NIL NIL NIL NIL)(\"IMAGE\" \"PNG\" NIL NIL NIL \"7BIT\" 3 NIL "
	    "NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL) 12 NIL "
	    "NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)");
}

static void
test_mixed_sections(void **state)
{
	(void)state;
	check_section(msg_mixed, "BODY[1]",
	    "--inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Hello w=C3=B6rld\r\n--inner\r\n"
	    "Content-Type: text/html; charset=\"utf-8\"\r\n\r\n"
	    "<p>Hello</p>\r\n--inner--");
	check_section(msg_mixed, "BODY[1.1]", "Hello w=C3=B6rld");
	check_section(msg_mixed, "BODY[1.2.MIME]",
	    "Content-Type: text/html; charset=\"utf-8\"\r\n\r\n");
	check_section(msg_mixed, "BODY[2]", "c2VjcmV0IG5lZWRsZSBzdHVmZg==");
	check_section(msg_mixed, "BODY[3.HEADER]",
	    "From: \"Inner Sender\" <in@s.example>\r\nSubject: inner\r\n"
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	check_section(msg_mixed, "BODY[3.HEADER.FIELDS (subject)]",
	    "Subject: inner\r\n\r\n");
	check_section(msg_mixed, "BODY[3.TEXT]",
	    "--x\r\n\r\ntext one\r\n--x\r\nContent-Type: image/png\r\n\r\n"
	    "PNG\r\n--x--");
	check_section(msg_mixed, "BODY[3.1]", "text one");
	check_section(msg_mixed, "BODY[3.2]", "PNG");
	check_section(msg_mixed, "BODY[3.2.MIME]",
	    "Content-Type: image/png\r\n\r\n");
	check_section(msg_mixed, "BODY[3.MIME]",
	    "Content-Type: message/rfc822\r\n\r\n");
	check_section(msg_mixed, "BODY[3.1.1]", "");
	check_section(msg_mixed, "BODY[4]", "");
	check_section(msg_mixed, "BODY[1.HEADER]", "");
	check_section(msg_mixed, "BODY[3]<0.6>", "From: ");
}

static void
test_crlf(void **state)
{
	struct imap_msg *m;

	(void)state;
	check_fetch(msg_crlf, 2,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "6 2 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 2 1 "
	    "NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)");
	check_section(msg_crlf, "BODY[1]", "ab\r\ncd");
	check_section(msg_crlf, "BODY[2]", "xy");
	check_section(msg_crlf, "BODY[]<14.3>", "\nCo");
	check_section(msg_crlf, "BODY[HEADER.FIELDS (Subject)]",
	    "Subject: crlf\r\n\r\n");
	m = imap_msg_open_mem(msg_crlf, strlen(msg_crlf));
	assert_int_equal(imap_msg_vsize(m), strlen(msg_crlf) + 1);
	imap_msg_close(&m);
}

/* A partial range starting or ending between the CR and LF made of a
 * lone LF. */
static void
test_partial_split(void **state)
{
	static const char msg[] = "Subject: lf\n\nline1\nline2\n";
	struct imap_msg *m;

	(void)state;
	check_section(msg, "BODY[]<12.2>", "\n\r");
	check_section(msg, "BODY[]<13.1>", "\r");
	check_section(msg, "BODY[]<11.1>", "\r");
	check_section(msg, "BODY[]<12.1>", "\n");
	check_section(msg, "BODY[]<12.4294967295>", "\n\r\nline1\r\nline2\r\n");
	check_section(msg, "BODY[HEADER]<13.1>", "\r");
	check_section(msg, "BODY[HEADER]<14.1>", "\n");
	check_section(msg, "BODY[HEADER]<15.1>", "");
	check_section(msg, "BODY[TEXT]<5.2>", "\r\n");
	check_section(msg, "BODY[TEXT]<6.2>", "\nl");
	m = imap_msg_open_mem(msg, strlen(msg));
	assert_int_equal(imap_msg_vsize(m), 29);
	imap_msg_close(&m);
}

static void
test_noclose(void **state)
{
	(void)state;
	check_fetch(msg_noclose, 1,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "11 2)(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1) \"MIXED\")");
	check_section(msg_noclose, "BODY[1]", "one\r\n--b--x");
	check_section(msg_noclose, "BODY[2]", "two\r\n");
}

static void
test_odd_structures(void **state)
{
	(void)state;
	/* No delimiter at all: RFC 3501 9 needs a part, an empty one. */
	check_fetch("Content-Type: multipart/mixed; boundary=z\n\nnone\n", 1,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "0 0) \"MIXED\")");
	/* Without a boundary: text (RFC 2046 5.1.1 needs one). */
	check_fetch("Content-Type: multipart/mixed\n\nx\n", 1,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "3 1)");
	/* An invalid type: the default. */
	check_fetch("Content-Type: text\n\nx", 1,
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "1 1)");
	/* multipart/digest parts default to message/rfc822. */
	check_fetch("Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
	    "Subject: s\n\nb\n--d--\n", 1,
	    "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 15 (NIL \"s\" NIL "
	    "NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 1 1) 3) \"DIGEST\")");
	/* A top-level message/rfc822: BODY[1] is the attached message. */
	check_section("Content-Type: message/rfc822\n\nSubject: in\n\nhi\n",
	    "BODY[1.HEADER]", "Subject: in\r\n\r\n");
	check_section("Content-Type: message/rfc822\n\nSubject: in\n\nhi\n",
	    "BODY[1.1]", "hi\r\n");
	check_section("Content-Type: message/rfc822\n\nSubject: in\n\nhi\n",
	    "BODY[HEADER]", "Content-Type: message/rfc822\r\n\r\n");
	/* Empty message. */
	check_fetch("", 1, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	    "NIL NIL \"7BIT\" 0 0)");
	check_fetch("", 0, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_section("", "BODY[]", "");
	check_section("", "BODY[HEADER]", "");
	/* A header with no end: all header, no body. */
	check_section("Subject: x", "BODY[HEADER]", "Subject: x");
	check_section("Subject: x", "BODY[TEXT]", "");
}

/* HEADER.FIELDS keeps a field's lines as written, CR LF or LF. */
static void
test_fields(void **state)
{
	static const char msg[] =
	    "Subject: one\r\n two\r\n"
	    "X-A: 1\n"
	    "junk line\n"
	    "x-a : 2\n"
	    "To: t\n"
	    "\n"
	    "body\n";

	(void)state;
	check_section(msg, "BODY[HEADER.FIELDS (SUBJECT X-A)]",
	    "Subject: one\r\n two\r\nX-A: 1\r\nx-a : 2\r\n\r\n");
	check_section(msg, "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT X-A)]",
	    "To: t\r\n\r\n");
	check_section(msg, "BODY[HEADER.FIELDS (TO)]<4.100>", "t\r\n\r\n");
	check_section(msg, "BODY[1.MIME]", "Subject: one\r\n two\r\n"
	    "X-A: 1\r\njunk line\r\nx-a : 2\r\nTo: t\r\n\r\n");
	/* The last field without its LF (no body). */
	check_section("A: 1\nB: 2", "BODY[HEADER.FIELDS (B)]", "B: 2\r\n\r\n");
}

/* At most 1000 addresses per field. */
static void
test_address_limit(void **state)
{
	struct buf msg, out;
	struct imap_msg *m;
	const char *p;
	size_t n = 0;

	(void)state;
	buf_init(&msg, 1 << 20);
	buf_init(&out, 1 << 20);
	buf_append_str(&msg, "To: ");
	for (int i = 0; i < 1001; i++)
		buf_printf(&msg, "%sa%d@b", i > 0 ? ", " : "", i);
	buf_append_str(&msg, "\n\n");
	m = imap_msg_open_mem(msg.data, msg.len);
	assert_int_equal(imap_msg_envelope(m, &out), 0);
	for (p = out.data; (p = strstr(p, "\"b\")")) != NULL; p++)
		n++;
	assert_int_equal(n, 1000);
	assert_non_null(strstr(out.data, "\"a999\""));
	assert_null(strstr(out.data, "\"a1000\""));
	imap_msg_close(&m);
	buf_free(&msg);
	buf_free(&out);
}

/* Strings: literals for 8-bit, CR, LF and long values; NUL as 0x80. */
static void
test_strings(void **state)
{
	static const char nul_msg[] = "Subject: a\0b\n\nx\0y\n";
	char *got;

	(void)state;
	check_fetch("Subject: caf\xc3\xa9 \"q\" \\\n\n", 0,
	    "(NIL {11}\r\ncaf\xc3\xa9 \"q\" \\ NIL NIL NIL NIL NIL NIL NIL "
	    "NIL)");
	check_fetch("Subject: \"q\" \\\n\n", 0,
	    "(NIL \"\\\"q\\\" \\\\\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_fetch("Subject: multi\n line\n\n", 0,
	    "(NIL \"multi line\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	got = fetch(nul_msg, 0);	/* strlen stops at the NUL */
	free(got);
	got = section(nul_msg, sizeof(nul_msg) - 1, "BODY[TEXT]", 64, NULL);
	assert_string_equal(got, "x\x80y\r\n");
	free(got);
}

static void
test_addresses(void **state)
{
	(void)state;
	check_fetch("From: \"Quoted \\\"Name\\\"\" <\"john doe\"@ex.example>, "
	    "plain.local@ex.example, (only comment) <x@y>\n"
	    "Sender: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\n"
	    "Reply-To: broken\nTo: <>\nBcc: \"dot.ok\"@x (c (nested))\n\n", 0,
	    "(NIL NIL ((\"Quoted \\\"Name\\\"\" NIL \"\\\"john doe\\\"\" "
	    "\"ex.example\")(NIL NIL \"plain.local\" \"ex.example\")"
	    "(NIL NIL \"x\" \"y\")) "
	    "((\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" NIL \"PIRARD\" "
	    "\"vm1.ulg.ac.be\")) ((NIL NIL \"broken\" \"MISSING_DOMAIN\")) "
	    "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL "
	    "((\"c (nested)\" NIL \"dot.ok\" \"x\")) NIL NIL)");
	/* Empty or junk-only fields: NIL, and From stands in for Sender. */
	check_fetch("From: ,,\nSender:\nTo: ;\n\n", 0,
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* A group with no name still starts a group. */
	check_fetch("To: : a@b;\n\n", 0, "(NIL NIL NIL NIL NIL ((NIL NIL \"\" "
	    "NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)");
	/* Unterminated group, quote, comment and angle. */
	check_fetch("To: g: a@b\nCc: \"x <y@z\nBcc: (x <y@z\nFrom: <a@b\n\n",
	    0, "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	    "((NIL NIL \"a\" \"b\")) ((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")"
	    "(NIL NIL NIL NIL)) ((NIL NIL \"\\\"x <y@z\\\"\" \"MISSING_DOMAIN\")) NIL "
	    "NIL NIL)");
}

static void
test_labels(void **state)
{
	static const char *const bad[] = { "BODY", "BODY[", "BODY[HEADER",
	    "BODY[MIME]", "BODY[1.]", "BODY[01]", "BODY[0]", "BODY[1..2]", "BODY[X]",
	    "BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
	    "BODY[HEADER.FIELDS (A:B)]", "BODY[HEADER.FIELDS (A)x]",
	    "BODY[HEADER.FIELDS (\"A)]", "BODY[]<1>", "BODY[]<1.0>",
	    "BODY[]<1.2", "BODY[]<4294967296.1>", "BODY[]x", "RFC822.SIZE",
	    "BODY.PEEK", "BINARY[1]", "BODY[4294967296]", "BODY[1.TEXT.MIME]" };
	struct imap_section s;
	char err[128], big[400];
	size_t i, n = 0;

	(void)state;
	check_label("BODY[]", "BODY[]", false);
	check_label("body.peek[]<0.100>", "BODY[]<0>", true);
	check_label("RFC822", "RFC822", false);
	check_label("RFC822.HEADER", "RFC822.HEADER", true);
	check_label("rfc822.text", "RFC822.TEXT", false);
	check_label("BODY[1.2.3.MIME]", "BODY[1.2.3.MIME]", false);
	check_label("BODY[2.header]", "BODY[2.HEADER]", false);
	check_label("BODY[text]<4294967295.4294967295>",
	    "BODY[TEXT]<4294967295>", false);
	check_label("BODY.PEEK[HEADER.FIELDS (From \"Sub\\\"j\" x-a)]",
	    "BODY[HEADER.FIELDS (FROM SUB\"J X-A)]", true);
	check_label("BODY[1.HEADER.FIELDS.NOT (A)]",
	    "BODY[1.HEADER.FIELDS.NOT (A)]", false);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(imap_section_parse(bad[i], strlen(bad[i]), &s,
		    err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_null(s.label);
		assert_int_equal(s.nfields, 0);
	}
	/* Limits at max and max + 1: part levels and field names. */
	n = (size_t)snprintf(big, sizeof(big), "BODY[");
	for (i = 0; i < IMAP_SECTION_PART_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "1.");
	big[n - 1] = ']';
	assert_int_equal(imap_section_parse(big, n, &s, err, sizeof(err)), 0);
	assert_int_equal(s.npart, IMAP_SECTION_PART_MAX);
	imap_section_clear(&s);
	(void)snprintf(big + n - 1, sizeof(big) - n + 1, ".1]");
	assert_int_equal(imap_section_parse(big, n + 2, &s, err, sizeof(err)),
	    -1);
	n = (size_t)snprintf(big, sizeof(big), "BODY[HEADER.FIELDS (");
	for (i = 0; i < IMAP_SECTION_FIELDS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "A ");
	big[n - 1] = ')';
	big[n++] = ']';
	assert_int_equal(imap_section_parse(big, n, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nfields, IMAP_SECTION_FIELDS_MAX);
	imap_section_clear(&s);
	(void)snprintf(big + n - 2, sizeof(big) - n + 2, " A)]");
	assert_int_equal(imap_section_parse(big, n + 2, &s, err, sizeof(err)),
	    -1);
}

static void
test_dates(void **state)
{
	static const struct {
		const char	*date;
		int64_t		 want;
	} cases[] = {
		{ "Fri, 21 Nov 1997 09:55:06 -0600", 880127706 },
		{ "21 Nov 97 09:55:06 GMT", 880106106 },
		{ "Thu, 13 Feb 1969 23:32 -0330 (Newfoundland Time)", -27723480 },
		{ "24 Nov 26 05:20 GMT", 1795497600 },
		{ "Tue, 24 Nov 2026 05:20:00 +0000 (UTC)", 1795497600 },
		{ "Tue,24 Nov 2026 00:20:00 EST", 1795497600 },
		{ " (c) 24 (x) Nov 2026 05:20:00 z", 1795497600 },
		{ "24 Nov 2026 05:20:00", 1795497600 },
		{ "1 Jan 1970 00:00:00 +0000", 0 },
		{ "29 Feb 2000 12:00:00 +0100", 951822000 },
		{ "garbage", INT64_MIN },
		{ "32 Nov 2026 05:20 +0000", INT64_MIN },
		{ "24 Foo 2026 05:20 +0000", INT64_MIN },
		{ "24 Nov 2026 24:00 +0000", INT64_MIN },
		{ "24 Nov 2026", INT64_MIN },
		{ "", INT64_MIN },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_msg *m;

		(void)snprintf(msg, sizeof(msg), "Date: %s\n\n", cases[i].date);
		m = imap_msg_open_mem(msg, strlen(msg));
		assert_int_equal(imap_msg_date(m), cases[i].want);
		imap_msg_close(&m);
	}
	{
		struct imap_msg *m = imap_msg_open_mem("X: y\n\n", 6);

		assert_int_equal(imap_msg_date(m), INT64_MIN);
		imap_msg_close(&m);
	}
}

static void
test_search(void **state)
{
	struct imap_msg *m;

	(void)state;
	m = imap_msg_open_mem(msg_mixed, strlen(msg_mixed));
	assert_true(imap_msg_header_contains(m, "subject", "GRÜSSE") == false);
	assert_true(imap_msg_header_contains(m, "subject", "Grüße MIX"));
	assert_true(imap_msg_header_contains(m, "SUBJECT", ""));
	assert_false(imap_msg_header_contains(m, "X-Absent", ""));
	assert_true(imap_msg_header_contains(m, "", "friends"));
	assert_false(imap_msg_header_contains(m, "To", "friends"));
	/* Only the top-level header. */
	assert_false(imap_msg_header_contains(m, "subject", "inner"));
	/* Body: QP and base64 decoded, attached message's parts too. */
	assert_true(imap_msg_body_contains(m, "w\xc3\xb6rld", false));
	assert_true(imap_msg_body_contains(m, "SECRET needle", false));
	assert_true(imap_msg_body_contains(m, "text one", false));
	assert_false(imap_msg_body_contains(m, "=C3=B6", false));
	assert_false(imap_msg_body_contains(m, "preamble", false));
	assert_false(imap_msg_body_contains(m, "MIME-Version", false));
	assert_true(imap_msg_body_contains(m, "MIME-Version", true));
	assert_true(imap_msg_body_contains(m, "grüße", true));
	assert_true(imap_msg_body_contains(m, "", false));
	/* No match across two parts. */
	assert_false(imap_msg_body_contains(m, "stufftext", false));
	imap_msg_close(&m);
}

/* A match split between two body pieces of the streaming parser. */
static void
test_search_split(void **state)
{
	struct buf msg;
	struct imap_msg *m;

	(void)state;
	buf_init(&msg, 1 << 20);
	buf_append_str(&msg, "Subject: big\n\n");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&msg, "abcdefghij");
	buf_append_str(&msg, "NEEDLE\n");
	m = imap_msg_open_mem(msg.data, msg.len);
	assert_true(imap_msg_body_contains(m, "jneedle", false));
	assert_false(imap_msg_body_contains(m, "jneedlex", false));
	imap_msg_close(&m);
	buf_free(&msg);
}

/* Nesting past MIME_DEPTH_MAX: the innermost multipart is opaque. */
static void
test_depth_limit(void **state)
{
	struct buf msg, out;
	struct imap_msg *m;
	int i;

	(void)state;
	buf_init(&msg, 1 << 20);
	buf_init(&out, 1 << 20);
	for (i = 0; i <= MIME_DEPTH_MAX + 2; i++)
		buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%d\n"
		    "\n--b%d\n", i, i);
	buf_append_str(&msg, "\nleaf\n");
	m = imap_msg_open_mem(msg.data, msg.len);
	assert_int_equal(imap_msg_bodystructure(m, true, &out), 0);
	/* MIME_DEPTH_MAX multiparts opened, then one opaque part. */
	assert_non_null(strstr(out.data, "(\"APPLICATION\" \"OCTET-STREAM\" "
	    "NIL NIL NIL \"7BIT\""));
	for (i = 0; i < MIME_DEPTH_MAX; i++)
		assert_true(out.data[i] == '(');
	imap_msg_close(&m);
	buf_free(&msg);
	buf_free(&out);
}

/* More parts than MIME_PARTS_MAX: the multipart that does not fit is
 * opaque, the structure stays valid. */
static void
test_parts_limit(void **state)
{
	struct buf msg, out;
	struct imap_msg *m;
	struct imap_section s;
	struct imap_msg_reader r;
	char err[64];

	(void)state;
	buf_init(&msg, 1 << 22);
	buf_init(&out, 1 << 22);
	buf_append_str(&msg, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < MIME_PARTS_MAX - 1; i++)
		buf_append_str(&msg, "--b\n\nx\n");
	buf_append_str(&msg, "--b--\n");
	m = imap_msg_open_mem(msg.data, msg.len);
	assert_int_equal(imap_msg_bodystructure(m, false, &out), 0);
	assert_int_equal(strncmp(out.data, "((\"TEXT\"", 8), 0);
	assert_int_equal(imap_section_parse("BODY[999]", 9, &s, err,
	    sizeof(err)), 0);
	imap_msg_reader_init(&r, m, &s);
	assert_int_equal(r.size, 1);
	imap_msg_reader_clear(&r);
	imap_section_clear(&s);
	imap_msg_close(&m);
	/* One more: it does not fit. */
	buf_reset(&out);
	buf_consume(&msg, 0);
	msg.len -= 6;
	buf_append_str(&msg, "--b\n\nx\n--b--\n");
	m = imap_msg_open_mem(msg.data, msg.len);
	assert_int_equal(imap_msg_bodystructure(m, false, &out), 0);
	assert_string_equal(out.data, "(\"APPLICATION\" \"OCTET-STREAM\" NIL "
	    "NIL NIL \"7BIT\" 10007)");
	imap_msg_close(&m);
	buf_free(&msg);
	buf_free(&out);
}

/* An output buffer too small: -1, never a crash. */
static void
test_overflow(void **state)
{
	struct imap_msg *m = imap_msg_open_mem(msg_mixed, strlen(msg_mixed));
	struct buf out;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(imap_msg_bodystructure(m, true, &out), -1);
	buf_free(&out);
	buf_init(&out, 64);
	assert_int_equal(imap_msg_envelope(m, &out), -1);
	buf_free(&out);
	imap_msg_close(&m);
}

static void
test_open_file(void **state)
{
	char path[] = "/tmp/imap_msg_test.XXXXXX", err[128];
	struct imap_msg *m;
	struct buf out;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	m = imap_msg_open(fd, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(imap_msg_vsize(m), 0);
	imap_msg_close(&m);
	assert_int_equal(write(fd, msg_simple, strlen(msg_simple)),
	    (ssize_t)strlen(msg_simple));
	m = imap_msg_open(fd, err, sizeof(err));
	assert_non_null(m);
	assert_int_equal(imap_msg_vsize(m), 246);
	buf_init(&out, 4096);
	assert_int_equal(imap_msg_bodystructure(m, false, &out), 0);
	assert_string_equal(out.data, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 52 2)");
	buf_free(&out);
	imap_msg_close(&m);
	imap_msg_close(&m);	/* NULL: nothing */
	(void)close(fd);
	(void)unlink(path);
	assert_null(imap_msg_open(fd, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_mixed_sections),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_partial_split),
		cmocka_unit_test(test_noclose),
		cmocka_unit_test(test_odd_structures),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_address_limit),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_split),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_open_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
