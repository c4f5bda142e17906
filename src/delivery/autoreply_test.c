/*
 * Unit tests for delivery/autoreply: the RFC 3834 refusals (null sender,
 * MAILER-DAEMON, owner-* and *-request, List-*, Precedence, Auto-Submitted
 * with comments, folding and any case; fields after the header section or
 * past the bound do not count) and the reply (fields, subject rules with
 * RFC 2047, In-Reply-To and References, body normalisation, header
 * injection through the subject or the original).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "delivery/autoreply.h"
#include "mime/mime_header.h"

static bool
permitted(const char *from, const char *hdr)
{
	return autoreply_permitted(from, hdr, strlen(hdr));
}

static void
test_senders_never_answered(void **state)
{
	static const char hdr[] = "Subject: hi\n\n";

	(void)state;
	assert_true(permitted("friend@example.net", hdr));
	assert_false(permitted("", hdr));
	assert_false(autoreply_permitted(NULL, hdr, sizeof(hdr) - 1));
	assert_false(permitted("MAILER-DAEMON@example.net", hdr));
	assert_false(permitted("Mailer-Daemon@example.net", hdr));
	assert_false(permitted("owner-list@example.net", hdr));
	assert_false(permitted("OWNER-list@example.net", hdr));
	assert_false(permitted("list-request@example.net", hdr));
	assert_false(permitted("list-REQUEST@example.net", hdr));
	assert_false(permitted("\"owner-x\"@example.net", hdr));
	/* Not list software: a person, or similar names. */
	assert_true(permitted("postmaster@example.net", hdr));
	assert_true(permitted("mailer-daemonic@example.net", hdr));
	assert_true(permitted("owner@example.net", hdr));
	assert_true(permitted("request@example.net", hdr));
	assert_true(permitted("bob@owner-list.example.net", hdr));
	assert_true(permitted("bob@x-request", hdr));
}

static void
test_list_and_bulk_mail(void **state)
{
	(void)state;
	assert_false(permitted("a@example.net", "List-Id: <l.example.net>\n\n"));
	assert_false(permitted("a@example.net", "list-unsubscribe: <mailto:x@y>\n\n"));
	assert_false(permitted("a@example.net", "Subject: x\nList-Post: NO\n\n"));
	assert_false(permitted("a@example.net", "Precedence: bulk\n\n"));
	assert_false(permitted("a@example.net", "Precedence:  LIST (a list)\n\n"));
	assert_false(permitted("a@example.net", "PRECEDENCE: (comment) junk\n\n"));
	assert_false(permitted("a@example.net", "Precedence:\n\tbulk\n\n"));
	assert_true(permitted("a@example.net", "Precedence: first-class\n\n"));
	assert_true(permitted("a@example.net", "Precedence: bulky\n\n"));
	assert_true(permitted("a@example.net", "X-List-Id: not a list field\n\n"));
	assert_true(permitted("a@example.net", "Listing: x\n\n"));
}

static void
test_auto_submitted(void **state)
{
	(void)state;
	assert_true(permitted("a@example.net", "Auto-Submitted: no\n\n"));
	assert_true(permitted("a@example.net", "auto-submitted:   NO  \n\n"));
	assert_true(permitted("a@example.net", "Auto-Submitted: (human) no (really)\n\n"));
	assert_true(permitted("a@example.net", "Auto-Submitted: (a (nested \\) one)) no\n\n"));
	assert_true(permitted("a@example.net", "Auto-Submitted:\n no\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: auto-replied\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: auto-generated\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: Auto-Notified; owner-email=x\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: no-thanks\n\n"));
	assert_true(permitted("a@example.net", "Auto-Submitted: no;x=y\n\n"));
	/* Empty, comment only, or a comment that never ends: not "no". */
	assert_false(permitted("a@example.net", "Auto-Submitted:\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: (no)\n\n"));
	assert_false(permitted("a@example.net", "Auto-Submitted: (open no\n\n"));
	/* Two fields: any that is not "no" wins. */
	assert_false(permitted("a@example.net",
	    "Auto-Submitted: no\nAuto-Submitted: auto-generated\n\n"));
}

/* Only the header section counts, and only within the bound. */
static void
test_header_section_bounds(void **state)
{
	static const char body_field[] = "Subject: hi\n\nList-Id: <in the body>\n";
	char *big;
	size_t n = HEADER_SCAN_MAX + 100;

	(void)state;
	assert_true(permitted("a@example.net", body_field));
	assert_false(autoreply_permitted("a@example.net", "List-Id: x\n", 11));
	assert_true(autoreply_permitted("a@example.net", "List-Id: x\n", 0));
	assert_true(autoreply_permitted("a@example.net", NULL, 0));
	/* A field past HEADER_SCAN_MAX is not read. */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "X-Pad: ", 7);
	memcpy(big + n - 14, "\nList-Id: x\n\n", 14);
	big[n] = '\0';
	assert_true(autoreply_permitted("a@example.net", big, n));
	memcpy(big + 100, "\nList-Id: x\n", 12);
	assert_false(autoreply_permitted("a@example.net", big, n));
	free(big);
}

/* ---- building ----------------------------------------------------------- */

static const char orig_hdr[] =
    "From: Friend <friend@example.net>\n"
    "To: bob@example.org\n"
    "Subject: Lunch =?UTF-8?B?Y2Fmw6k=?=\n\ttomorrow\n"
    "Message-ID: <m2@example.net> (comment)\n"
    "References: <r1@example.net>\n <m1@example.net> junk\n\n";

static struct autoreply_msg
msg_make(const char *subject, const char *text)
{
	return (struct autoreply_msg){ .user = "bob@example.org",
	    .to = "friend@example.net", .subject = subject, .text = text,
	    .headers = orig_hdr, .headers_len = sizeof(orig_hdr) - 1,
	    .hostname = "mx.example.org", .now = 1772442847 };
}

static char *
build(const struct autoreply_msg *m)
{
	struct buf out;
	const char *err = NULL;
	char *s;

	buf_init(&out, AUTOREPLY_SIZE_MAX);
	assert_int_equal(autoreply_build(&out, m, &err), 0);
	s = strdup(out.data);
	buf_free(&out);
	return s;
}

/* The unfolded value of a field of the reply (static storage). */
static const char *
field(const char *msg, const char *name)
{
	static char val[8192];
	struct buf v;
	bool found;

	buf_init(&v, sizeof(val) - 1);
	found = mime_header_get(msg, mime_header_section_len(msg, strlen(msg)), name, &v);
	snprintf(val, sizeof(val), "%s", buf_cstr(&v));
	buf_free(&v);
	return found ? val : NULL;
}

static const char *
body(const char *msg)
{
	return strstr(msg, "\n\n") + 2;
}

static void
test_reply_fields(void **state)
{
	struct autoreply_msg m = msg_make("", "I am away.");
	char *r = build(&m);

	(void)state;
	assert_string_equal(field(r, "From"), "<bob@example.org>");
	assert_string_equal(field(r, "To"), "<friend@example.net>");
	assert_string_equal(field(r, "Subject"), "Auto: Lunch =?UTF-8?B?Y2Fmw6k=?=\ttomorrow");
	assert_string_equal(field(r, "Date"), "Mon, 02 Mar 2026 09:14:07 +0000");
	assert_non_null(strstr(field(r, "Message-ID"), ".1772442847.auto@mx.example.org>"));
	assert_string_equal(field(r, "In-Reply-To"), "<m2@example.net>");
	assert_string_equal(field(r, "References"),
	    "<r1@example.net> <m1@example.net> <m2@example.net>");
	assert_string_equal(field(r, "Auto-Submitted"), "auto-replied");
	assert_string_equal(field(r, "MIME-Version"), "1.0");
	assert_string_equal(field(r, "Content-Type"), "text/plain; charset=utf-8");
	assert_string_equal(field(r, "Content-Transfer-Encoding"), "7bit");
	assert_string_equal(body(r), "I am away.\n");
	/* Our own reply must not be answered by another responder. */
	assert_false(autoreply_permitted("bob@example.org", r, strlen(r)));
	free(r);
}

static void
test_subject_rules(void **state)
{
	struct autoreply_msg m = msg_make("Out of office", "x");
	char *r = build(&m);

	(void)state;
	assert_string_equal(field(r, "Subject"), "Out of office");
	free(r);
	m.subject = "Abwesenheitsnotiz: zur\xc3\xbc" "ck am Montag";
	r = build(&m);
	assert_string_equal(field(r, "Subject"),
	    "=?UTF-8?B?QWJ3ZXNlbmhlaXRzbm90aXo6IHp1csO8Y2sgYW0gTW9udGFn?=");
	free(r);
	/* An original Subject in raw UTF-8 is encoded; none at all is said. */
	m = msg_make("", "x");
	m.headers = "Subject: caf\xc3\xa9\n\n";
	m.headers_len = strlen(m.headers);
	r = build(&m);
	assert_string_equal(field(r, "Subject"), "Auto: =?UTF-8?B?Y2Fmw6k=?=");
	assert_null(field(r, "In-Reply-To"));
	assert_null(field(r, "References"));
	free(r);
	m.headers = "From: x@example.net\n\n";
	m.headers_len = strlen(m.headers);
	r = build(&m);
	assert_string_equal(field(r, "Subject"), "Auto: (no subject)");
	free(r);
	m.headers = NULL;
	m.headers_len = 0;
	r = build(&m);
	assert_string_equal(field(r, "Subject"), "Auto: (no subject)");
	free(r);
}

/* Nothing in the original can add a field to the reply. */
static void
test_no_injection(void **state)
{
	struct autoreply_msg m = msg_make("", "x");
	char *r;

	(void)state;
	m.headers = "Subject: hi\r\n\tBcc: victim@example.net\x01\n"
	    "Message-ID: <a@b>\r\nBcc: c@d\n\n";
	m.headers_len = strlen(m.headers);
	r = build(&m);
	assert_null(strstr(r, "\nBcc:"));
	assert_null(strchr(r, '\r'));
	assert_null(strchr(r, '\x01'));
	assert_string_equal(field(r, "In-Reply-To"), "<a@b>");
	free(r);
	m.headers = "Message-ID: no angle brackets\nReferences: <x y> <ok@id>\n\n";
	m.headers_len = strlen(m.headers);
	r = build(&m);
	assert_null(field(r, "In-Reply-To"));
	free(r);
}

static void
test_references_are_bounded(void **state)
{
	struct autoreply_msg m = msg_make("", "x");
	struct buf h;
	const char *refs;
	char *r;

	(void)state;
	buf_init(&h, 1 << 16);
	buf_append_str(&h, "Message-ID: <last@example.net>\nReferences:");
	for (int i = 0; i < 200; i++)
		buf_printf(&h, " <ref%03d@example.net>", i);
	buf_append_str(&h, "\n\n");
	m.headers = h.data;
	m.headers_len = h.len;
	r = build(&m);
	refs = field(r, "References");
	assert_true(strlen(refs) <= AUTOREPLY_REFS_MAX);
	assert_true(refs[0] == '<');
	assert_non_null(strstr(refs, "<ref199@example.net> <last@example.net>"));
	assert_null(strstr(refs, "<ref000@"));
	free(r);
	buf_free(&h);
}

static void
test_body_normalised(void **state)
{
	struct autoreply_msg m = msg_make("", "line1\r\nline2\rline3\n\tx\ay\x7fz");
	char long_text[2100];
	char *r;

	(void)state;
	r = build(&m);
	assert_string_equal(body(r), "line1\nline2\nline3\n\tx y z\n");
	free(r);
	m.text = "gr\xc3\xbc\xc3\x9f" "e\n";
	r = build(&m);
	assert_string_equal(field(r, "Content-Transfer-Encoding"), "8bit");
	assert_string_equal(body(r), "gr\xc3\xbc\xc3\x9f" "e\n");
	free(r);
	/* 998 octets stay one line; 2000 are cut into lines of 998. */
	memset(long_text, 'a', sizeof(long_text));
	long_text[MIME_LINE_HARD_MAX] = '\0';
	m.text = long_text;
	r = build(&m);
	assert_int_equal(strlen(body(r)), MIME_LINE_HARD_MAX + 1);
	free(r);
	long_text[MIME_LINE_HARD_MAX] = 'a';
	long_text[2000] = '\0';
	r = build(&m);
	assert_int_equal(strcspn(body(r), "\n"), MIME_LINE_HARD_MAX);
	assert_int_equal(strlen(body(r)), 2000 + 3);
	free(r);
}

static void
test_refusals(void **state)
{
	struct autoreply_msg m = msg_make("", "x");
	const char *err = NULL;
	struct buf out;

	(void)state;
	buf_init(&out, AUTOREPLY_SIZE_MAX);
	m.to = "";
	assert_int_equal(autoreply_build(&out, &m, &err), -1);
	assert_non_null(strstr(err, "null sender"));
	m = msg_make("", "x");
	m.user = NULL;
	assert_int_equal(autoreply_build(&out, &m, &err), -1);
	buf_free(&out);
	buf_init(&out, 64);
	m = msg_make("", "x");
	assert_int_equal(autoreply_build(&out, &m, &err), -1);
	assert_string_equal(err, "auto-reply too large");
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_senders_never_answered),
		cmocka_unit_test(test_list_and_bulk_mail),
		cmocka_unit_test(test_auto_submitted),
		cmocka_unit_test(test_header_section_bounds),
		cmocka_unit_test(test_reply_fields),
		cmocka_unit_test(test_subject_rules),
		cmocka_unit_test(test_no_injection),
		cmocka_unit_test(test_references_are_bounded),
		cmocka_unit_test(test_body_normalised),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
