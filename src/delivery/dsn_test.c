/*
 * Unit tests for delivery/dsn: the structure of the report (top headers,
 * one boundary found nowhere inside, three parts in RFC 6522 order), the
 * RFC 3464 fields per message and per recipient, the headers part
 * (bounded at 64 KB on a line end, never the body), cleaning of peer text,
 * status codes taken from replies, addresses that are not ASCII, delayed
 * reports, and refusals (null sender, no recipients). The original message
 * is a real queue file made with queue_inject() in a temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/testdir.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "delivery/dsn.h"
#include "mime/mime_header.h"
#include "queue/queue.h"

#define ORIG_HEADERS	"Received: from client.example.net\n\tby mx.example.org\n" \
			"From: Alice <alice@example.org>\nTo: bob@example.net\n" \
			"Subject: quarterly figures\nMessage-ID: <m1@example.org>\n"
#define ORIG_BODY	"SECRET BODY LINE\n"

struct fixture {
	struct testdir			 td;
	struct queue_env	 env;
	int			 fd;
	struct buf		 out;
};

/* Queues msg from alice@example.org and opens it as the qmgr would. */
static void
fixture_spool(struct fixture *f, const char *msg, size_t len)
{
	struct queue_env env = { 0 };
	char id[QUEUE_ID_LEN + 1];
	const char *err = NULL;

	queue_env_clear(&f->env);
	if (f->fd >= 0)
		close(f->fd);
	env.time = 1772442847;
	env.from = (char *)"alice@example.org";
	queue_env_add_rcpt(&env, QKIND_REMOTE, "Bob@Example.NET", "bob@example.net");
	assert_int_equal(queue_inject(&env, msg, len, id, &err), 0);
	env.from = NULL;
	queue_env_clear(&env);
	assert_int_equal(queue_read(id, &f->env, &f->fd, &err), 0);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *err = NULL;

	assert_non_null(f);
	f->fd = -1;
	testdir_enter(&f->td, "dsn");
	assert_int_equal(queue_init_dirs(&err), 0);
	fixture_spool(f, ORIG_HEADERS "\n" ORIG_BODY, strlen(ORIG_HEADERS "\n" ORIG_BODY));
	buf_init(&f->out, DSN_SIZE_MAX);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	buf_free(&f->out);
	queue_env_clear(&f->env);
	if (f->fd >= 0)
		close(f->fd);
	testdir_leave(&f->td);
	free(f);
	return 0;
}

static const struct dsn_rcpt rcpt_remote = {
	.orig = "Bob@Example.NET", .final = "bob@example.net",
	.action = DSN_FAILED, .reply = "550 5.1.1 <bob@example.net>: user unknown",
	.remote_mta = "mx.example.net", .last_attempt = 1772446447,
};

static const struct dsn_rcpt rcpt_local = {
	.orig = "info@example.org", .final = "carol@example.org",
	.action = DSN_FAILED, .reply = "552 5.2.2 mailbox full",
};

static int
build(struct fixture *f, const struct dsn_rcpt *r, size_t n, bool with_fd)
{
	struct dsn_request req = { .env = &f->env, .fd = with_fd ? f->fd : -1,
	    .rcpts = r, .nrcpts = n, .hostname = "mx.example.org",
	    .now = 1772450047 };
	const char *err = NULL;

	buf_reset(&f->out);
	return dsn_build(&f->out, &req, &err);
}

/* The unfolded value of a top-level header field (static storage). */
static const char *
top(const struct fixture *f, const char *name)
{
	static char val[4096];
	struct buf v;
	bool found;

	buf_init(&v, sizeof(val) - 1);
	found = mime_header_get(f->out.data, mime_header_section_len(f->out.data,
	    f->out.len), name, &v);
	snprintf(val, sizeof(val), "%s", buf_cstr(&v));
	buf_free(&v);
	return found ? val : NULL;
}

/* The boundary from Content-Type (static storage). */
static const char *
boundary_of(const struct fixture *f)
{
	static char b[128];
	const char *ct = top(f, "Content-Type"), *p;

	assert_non_null(ct);
	p = strstr(ct, "boundary=\"");
	assert_non_null(p);
	p += strlen("boundary=\"");
	assert_true(strcspn(p, "\"") < sizeof(b));
	snprintf(b, sizeof(b), "%.*s", (int)strcspn(p, "\""), p);
	return b;
}

/* The content of part i (0-based) between delimiters, headers included. */
static char *
part(const struct fixture *f, int i)
{
	char delim[160];
	const char *p = f->out.data, *e;

	snprintf(delim, sizeof(delim), "\n--%s\n", boundary_of(f));
	for (int k = 0; k <= i; k++) {
		p = strstr(p, delim);
		if (p == NULL)
			return NULL;
		p += strlen(delim);
	}
	snprintf(delim, sizeof(delim), "\n--%s", boundary_of(f));
	e = strstr(p, delim);
	assert_non_null(e);
	return strndup(p, (size_t)(e - p));
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* No CR, no line over 998 octets. */
static void
assert_sane_lines(const char *s)
{
	const char *p = s, *nl;

	assert_null(strchr(s, '\r'));
	while ((nl = strchr(p, '\n')) != NULL) {
		assert_true((size_t)(nl - p) <= MIME_LINE_HARD_MAX);
		p = nl + 1;
	}
}

/* ---- tests -------------------------------------------------------------- */

static void
test_top_headers(void **state)
{
	struct fixture *f = *state;
	const char *v;

	assert_int_equal(build(f, &rcpt_remote, 1, true), 0);
	assert_string_equal(top(f, "From"), "\"Mail Delivery System\" <MAILER-DAEMON@mx.example.org>");
	assert_string_equal(top(f, "To"), "<alice@example.org>");
	assert_string_equal(top(f, "Subject"), "Undelivered Mail Returned to Sender");
	assert_string_equal(top(f, "Date"), "Mon, 02 Mar 2026 11:14:07 +0000");
	assert_string_equal(top(f, "Auto-Submitted"), "auto-replied");
	assert_string_equal(top(f, "MIME-Version"), "1.0");
	v = top(f, "Message-ID");
	assert_non_null(v);
	assert_true(v[0] == '<');
	assert_non_null(strstr(v, f->env.id));
	assert_non_null(strstr(v, "@mx.example.org>"));
	v = top(f, "Content-Type");
	assert_non_null(strstr(v, "multipart/report;"));
	assert_non_null(strstr(v, "report-type=delivery-status;"));
	assert_sane_lines(f->out.data);
}

static void
test_boundary_and_parts(void **state)
{
	struct fixture *f = *state;
	char delim[160], *p;
	const char *b;

	assert_int_equal(build(f, &rcpt_remote, 1, true), 0);
	b = boundary_of(f);
	assert_true(strlen(b) >= 20 && strlen(b) <= MIME_BOUNDARY_MAX);
	snprintf(delim, sizeof(delim), "\n--%s\n", b);
	assert_int_equal(count(f->out.data, delim), 3);
	snprintf(delim, sizeof(delim), "\n--%s--\n", b);
	assert_int_equal(count(f->out.data, delim), 1);
	/* The closing delimiter ends the message; the boundary appears in
	 * Content-Type and the four delimiters only. */
	assert_string_equal(strstr(f->out.data, delim), delim);
	assert_int_equal(count(f->out.data, b), 5);

	p = part(f, 0);
	assert_true(strncmp(p, "Content-Type: text/plain; charset=utf-8\n", 40) == 0);
	assert_non_null(strstr(p, "<Bob@Example.NET>: failed"));
	assert_non_null(strstr(p, "550 5.1.1 <bob@example.net>: user unknown"));
	assert_non_null(strstr(p, "host mx.example.net said:"));
	assert_non_null(strstr(p, f->env.id));
	assert_null(strstr(p, "SECRET"));
	free(p);
	p = part(f, 1);
	assert_true(strncmp(p, "Content-Type: message/delivery-status\n", 38) == 0);
	free(p);
	p = part(f, 2);
	assert_true(strncmp(p, "Content-Type: text/rfc822-headers\n", 34) == 0);
	free(p);
	assert_null(part(f, 3));
}

static void
test_delivery_status_fields(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r[2] = { rcpt_remote, rcpt_local };
	char *p, want[256];

	assert_int_equal(build(f, r, 2, true), 0);
	p = part(f, 1);
	/* Per message, then one group per recipient after an empty line. */
	snprintf(want, sizeof(want), "Content-Description: Delivery report\n\n"
	    "Reporting-MTA: dns; mx.example.org\nX-Postern-Queue-ID: %s\n"
	    "Arrival-Date: Mon, 02 Mar 2026 09:14:07 +0000\n\n", f->env.id);
	assert_non_null(strstr(p, want));
	/* Same address in another case: no Original-Recipient. */
	assert_non_null(strstr(p, "\n\nFinal-Recipient: rfc822; bob@example.net\n"
	    "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.net\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: user unknown\n"
	    "Last-Attempt-Date: Mon, 02 Mar 2026 10:14:07 +0000\n"));
	assert_non_null(strstr(p, "\n\nOriginal-Recipient: rfc822; info@example.org\n"
	    "Final-Recipient: rfc822; carol@example.org\nAction: failed\n"
	    "Status: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\n"));
	assert_int_equal(count(p, "Final-Recipient:"), 2);
	assert_int_equal(count(p, "Original-Recipient:"), 1);
	assert_int_equal(count(p, "Remote-MTA:"), 1);
	assert_int_equal(count(p, "Last-Attempt-Date:"), 1);
	free(p);
}

static void
test_headers_part_never_the_body(void **state)
{
	struct fixture *f = *state;
	char *p;

	assert_int_equal(build(f, &rcpt_remote, 1, true), 0);
	p = part(f, 2);
	assert_non_null(strstr(p, "\n\n" ORIG_HEADERS));
	assert_null(strstr(p, "SECRET"));
	free(p);
	assert_null(strstr(f->out.data, "SECRET"));
	/* Without the queue file: two parts, still a valid report. */
	assert_int_equal(build(f, &rcpt_remote, 1, false), 0);
	p = part(f, 1);
	assert_non_null(p);
	free(p);
	assert_null(part(f, 2));
}

/* 100 KB of header lines: at most 64 KB quoted, whole lines only. */
static void
test_headers_part_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct buf msg;
	char *p, *body;
	const char *line;

	buf_init(&msg, 1 << 20);
	for (int i = 0; msg.len < 100 * 1024; i++)
		buf_printf(&msg, "X-Filler-%05d: %s\n", i,
		    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	buf_append_str(&msg, "\n" ORIG_BODY);
	fixture_spool(f, msg.data, msg.len);
	buf_free(&msg);
	assert_int_equal(build(f, &rcpt_remote, 1, true), 0);
	p = part(f, 2);
	body = strstr(p, "\n\n") + 2;
	assert_true(strlen(body) <= DSN_HEADERS_MAX);
	assert_true(strlen(body) > DSN_HEADERS_MAX - 100);
	for (line = body; *line != '\0'; line = strchr(line, '\n') + 1) {
		assert_true(strncmp(line, "X-Filler-", 9) == 0);
		assert_int_equal(strcspn(line, "\n"), strlen("X-Filler-00000: ") + 52);
	}
	free(p);
}

/* A peer's reply cannot add a field or a line, nor carry control bytes. */
static void
test_peer_text_is_cleaned(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r = rcpt_remote;
	char *p;

	r.reply = "550 5.7.1 no\r\nBcc: victim@example.net\r\n\r\nX\x01\x1b[31mred \xc3\xa9";
	r.remote_mta = "mx.example.net\nEvil: yes";
	assert_int_equal(build(f, &r, 1, true), 0);
	assert_sane_lines(f->out.data);
	assert_null(strstr(f->out.data, "\nBcc:"));
	assert_null(strstr(f->out.data, "\nEvil:"));
	assert_null(strchr(f->out.data, '\x1b'));
	assert_null(strchr(f->out.data, '\x01'));
	p = part(f, 1);
	assert_non_null(strstr(p, "Diagnostic-Code: smtp; 550 5.7.1 no  Bcc:"));
	assert_non_null(strstr(p, "red ??"));	/* 7-bit part */
	assert_non_null(strstr(p, "Remote-MTA: dns; mx.example.net Evil: yes\n"));
	free(p);
}

/* A long reply is folded: each line of the field within 78 octets. */
static void
test_long_reply_is_folded(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r = rcpt_remote;
	char reply[600], *p;
	const char *l;
	size_t n = 9, lines = 0;

	memcpy(reply, "550 5.1.1", 9);
	for (int i = 0; i < 90; i++, n += 6)
		memcpy(reply + n, " word.", 6);
	reply[n] = '\0';
	r.reply = reply;
	assert_int_equal(build(f, &r, 1, true), 0);
	p = part(f, 1);
	l = strstr(p, "Diagnostic-Code:");
	assert_non_null(l);
	do {
		assert_true(strcspn(l, "\n") <= MIME_LINE_SOFT_MAX);
		l = strchr(l, '\n') + 1;
		lines++;
	} while (*l == ' ' || *l == '\t');
	assert_true(lines >= 7);
	free(p);
}

static void
test_status_from_reply(void **state)
{
	static const struct { const char *reply; enum dsn_action a; const char *want; } t[] = {
		{ "550 5.1.1 user unknown", DSN_FAILED, "5.1.1" },
		{ "smtp; 552 5.2.2 full", DSN_FAILED, "5.2.2" },
		{ "451 4.4.1 connect to x: refused", DSN_FAILED, "4.4.1" },
		{ "550-5.7.1 multi", DSN_FAILED, "5.7.1" },
		{ "554 5.7.123 three digits", DSN_FAILED, "5.7.123" },
		{ "550 user unknown", DSN_FAILED, "5.0.0" },	/* no enhanced code */
		{ "450 try later", DSN_DELAYED, "4.0.0" },
		{ "550 4.1.1 class disagrees", DSN_FAILED, "5.0.0" },
		{ "550 5.1.1234 too long", DSN_FAILED, "5.0.0" },
		{ "550 5.1.1x glued", DSN_FAILED, "5.0.0" },
		{ "mailbox full", DSN_FAILED, "5.0.0" },
		{ "", DSN_DELAYED, "4.0.0" },
		{ NULL, DSN_FAILED, "5.0.0" },
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		dsn_status_from_reply(t[i].reply, t[i].a, out, sizeof(out));
		assert_string_equal(out, t[i].want);
	}
}

static void
test_explicit_status_and_non_smtp_reply(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r = rcpt_local;
	char *p;

	r.status = "5.4.7";
	r.reply = "message expired after 5 days";
	assert_int_equal(build(f, &r, 1, true), 0);
	p = part(f, 1);
	assert_non_null(strstr(p, "Status: 5.4.7\n"));
	assert_non_null(strstr(p, "Diagnostic-Code: x-postern; message expired after 5 days\n"));
	free(p);
	r.status = "5.4";	/* not a code: taken from the reply, which has none */
	r.reply = NULL;
	assert_int_equal(build(f, &r, 1, true), 0);
	p = part(f, 1);
	assert_non_null(strstr(p, "Status: 5.0.0\n"));
	assert_null(strstr(p, "Diagnostic-Code"));
	free(p);
}

static void
test_delayed(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r = rcpt_remote;
	char *p;

	r.action = DSN_DELAYED;
	r.reply = "451 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection refused";
	r.will_retry_until = 1772874847;
	assert_int_equal(build(f, &r, 1, true), 0);
	assert_string_equal(top(f, "Subject"), "Delayed Mail (still being retried)");
	p = part(f, 1);
	assert_non_null(strstr(p, "Action: delayed\nStatus: 4.4.1\n"));
	assert_non_null(strstr(p, "Will-Retry-Until: Sat, 07 Mar 2026 09:14:07 +0000\n"));
	free(p);
	p = part(f, 0);
	assert_non_null(strstr(p, "not need to send it again"));
	free(p);
}

/* RFC 6533: utf-8-addr-xtext in the 7-bit report, the text part 8bit. */
static void
test_address_not_ascii(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r = rcpt_remote;
	char *p;

	r.orig = "j\xc3\xb6rg+x=y@example.net";
	r.final = "j\xc3\xb6rg@\xe4\xbe\x8b.example";
	assert_int_equal(build(f, &r, 1, true), 0);
	p = part(f, 1);
	assert_non_null(strstr(p, "Original-Recipient: utf-8; j\\x{F6}rg\\x{2B}x\\x{3D}y@example.net\n"));
	assert_non_null(strstr(p, "Final-Recipient: utf-8; j\\x{F6}rg@\\x{4F8B}.example\n"));
	assert_null(strstr(p, "Content-Transfer-Encoding"));
	free(p);
	p = part(f, 0);
	assert_non_null(strstr(p, "Content-Transfer-Encoding: 8bit\n"));
	free(p);
	/* An invalid sequence is U+FFFD, never raw bytes. */
	r.final = "a\xff\xc3@example.net";
	assert_int_equal(build(f, &r, 1, true), 0);
	p = part(f, 1);
	assert_non_null(strstr(p, "Final-Recipient: utf-8; a\\x{FFFD}\\x{FFFD}@example.net\n"));
	free(p);
}

static void
test_many_recipients_listed_in_text_up_to_limit(void **state)
{
	struct fixture *f = *state;
	struct dsn_rcpt r[DSN_TEXT_RCPTS_MAX + 5];
	char *p;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		r[i] = rcpt_local;
	assert_int_equal(build(f, r, sizeof(r) / sizeof(r[0]), true), 0);
	p = part(f, 0);
	assert_int_equal(count(p, "<info@example.org>: failed"), DSN_TEXT_RCPTS_MAX);
	assert_non_null(strstr(p, "... and 5 more recipients"));
	free(p);
	p = part(f, 1);
	assert_int_equal(count(p, "Final-Recipient:"), DSN_TEXT_RCPTS_MAX + 5);
	free(p);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	struct dsn_request req = { .env = &f->env, .fd = f->fd,
	    .rcpts = &rcpt_remote, .nrcpts = 1, .hostname = "mx.example.org" };
	const char *err = NULL;
	char *from = f->env.from;
	struct buf small;

	/* RFC 5321 6.1: never a bounce to <>. */
	f->env.from = (char *)"";
	assert_int_equal(dsn_build(&f->out, &req, &err), -1);
	assert_non_null(strstr(err, "null sender"));
	f->env.from = from;
	req.nrcpts = 0;
	assert_int_equal(dsn_build(&f->out, &req, &err), -1);
	req.nrcpts = 1;
	buf_init(&small, 512);
	assert_int_equal(dsn_build(&small, &req, &err), -1);
	assert_string_equal(err, "DSN too large");
	buf_free(&small);
	/* A queue file that cannot be read. */
	req.fd = 9999;
	assert_int_equal(dsn_build(&f->out, &req, &err), -1);
	assert_string_equal(err, "cannot read the original message");
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_top_headers),
		T(test_boundary_and_parts),
		T(test_delivery_status_fields),
		T(test_headers_part_never_the_body),
		T(test_headers_part_is_bounded),
		T(test_peer_text_is_cleaned),
		T(test_long_reply_is_folded),
		cmocka_unit_test(test_status_from_reply),
		T(test_explicit_status_and_non_smtp_reply),
		T(test_delayed),
		T(test_address_not_ascii),
		T(test_many_recipients_listed_in_text_up_to_limit),
		T(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
