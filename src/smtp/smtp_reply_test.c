/*
 * Unit tests for smtp/smtp_reply: reply-line syntax, multiline replies,
 * pipelining and split feeding, enhanced codes, EHLO keywords, formatting,
 * and every limit at max and max + 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_reply.h"

/* Feeds s whole; the reply is left in r for the caller to clear. */
static enum parse_rc
feed(struct smtp_resp *r, const char *s, size_t len, size_t *used_out)
{
	size_t used;
	enum parse_rc rc;

	smtp_resp_init(r);
	rc = smtp_resp_feed(r, s, len, &used);
	if (used_out != NULL)
		*used_out = used;
	return rc;
}

static enum parse_rc
feed_str(const char *s)
{
	struct smtp_resp r;
	enum parse_rc rc = feed(&r, s, strlen(s), NULL);

	smtp_resp_clear(&r);
	return rc;
}

static void
assert_span(struct span s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

/* nlines lines "250-x" with the last one "250 x". */
static enum parse_rc
feed_lines(size_t nlines)
{
	struct buf b;
	size_t i;
	enum parse_rc rc;

	buf_init(&b, SIZE_MAX / 2);
	for (i = 0; i < nlines; i++)
		assert_int_equal(buf_append_str(&b, i + 1 < nlines ?
		    "250-x\r\n" : "250 x\r\n"), 0);
	rc = feed_str(buf_cstr(&b));
	buf_free(&b);
	return rc;
}

/* Lines of SMTP_TEXT_LINE_MAX bytes then one of the rest: total bytes. */
static enum parse_rc
feed_total(size_t total)
{
	struct buf b;
	size_t left = total, n;
	enum parse_rc rc;

	buf_init(&b, SIZE_MAX / 2);
	while (left > 0) {
		n = left > SMTP_TEXT_LINE_MAX ? SMTP_TEXT_LINE_MAX : left;
		left -= n;
		assert_int_equal(buf_append_str(&b, left > 0 ? "250-" : "250 "),
		    0);
		for (; n > 6; n--)
			assert_int_equal(buf_append(&b, "x", 1), 0);
		assert_int_equal(buf_append_str(&b, "\r\n"), 0);
	}
	assert_int_equal(b.len, total);
	rc = feed_str(buf_cstr(&b));
	buf_free(&b);
	return rc;
}

/* One line of exactly n bytes, CRLF included. */
static enum parse_rc
feed_sized(size_t n)
{
	char *s = malloc(n + 1);
	enum parse_rc rc;

	memcpy(s, "250 ", 4);
	memset(s + 4, 'x', n - 6);
	memcpy(s + n - 2, "\r\n", 3);
	rc = feed_str(s);
	free(s);
	return rc;
}

static void
test_single_line(void **state)
{
	struct smtp_resp r;
	size_t used;

	(void)state;
	assert_int_equal(feed(&r, "220 mx.example.org ESMTP\r\n", 26, &used),
	    PARSE_OK);
	assert_int_equal(used, 26);
	assert_int_equal(r.code, 220);
	assert_int_equal(r.cls, 0);
	assert_int_equal(r.nlines, 1);
	assert_string_equal(buf_cstr(&r.text), "mx.example.org ESMTP");
	smtp_resp_clear(&r);

	/* "250" alone, and "250 " with empty text. */
	assert_int_equal(feed(&r, "250\r\n", 5, &used), PARSE_OK);
	assert_int_equal(r.code, 250);
	assert_string_equal(buf_cstr(&r.text), "");
	smtp_resp_clear(&r);
	assert_int_equal(feed_str("250 \r\n"), PARSE_OK);
	assert_int_equal(feed_str("599 x\r\n"), PARSE_OK);
	assert_int_equal(feed_str("200 x\r\n"), PARSE_OK);
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"25\r\n", "\r\n", "2500 x\r\n", "250x\r\n", "250\tx\r\n",
		"abc x\r\n", "25a x\r\n", " 250 x\r\n",
		"199 x\r\n", "100 x\r\n", "600 x\r\n", "999 x\r\n", "000 x\r\n",
		"250-a\r\n251 b\r\n", "250-a\r\n550 b\r\n",
		"250 x\n", "250 x\ry\r\n", "250 \rx\r\n", "250 x\r\r\n",
		"250-a\nb\r\n", "\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (feed_str(bad[i]) != PARSE_INVALID)
			fail_msg("accepted: %s", bad[i]);
	}
	/* A NUL anywhere. */
	{
		struct smtp_resp r;

		assert_int_equal(feed(&r, "250 a\0b\r\n", 9, NULL),
		    PARSE_INVALID);
		smtp_resp_clear(&r);
	}
}

static void
test_bare_cr_decided_early(void **state)
{
	struct smtp_resp r;
	size_t used;

	(void)state;
	/* The byte after the CR settles it, without waiting for an LF. */
	assert_int_equal(feed(&r, "250 a\r", 6, &used), PARSE_INCOMPLETE);
	assert_int_equal(smtp_resp_feed(&r, "b", 1, &used), PARSE_INVALID);
	/* Sticky: the stream cannot be resynchronised. */
	assert_int_equal(smtp_resp_feed(&r, "\r\n", 2, &used), PARSE_INVALID);
	assert_int_equal(used, 0);
	smtp_resp_clear(&r);
}

static void
test_multiline_ehlo(void **state)
{
	static const char ehlo[] =
	    "250-mx.example.org Hello client.example.net\r\n"
	    "250-SIZE 1000\r\n"
	    "250-PIPELINING\r\n"
	    "250-8BITMIME\r\n"
	    "250-STARTTLS\r\n"
	    "250-AUTH PLAIN LOGIN\r\n"
	    "250-AUTH=LOGIN\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n";
	struct smtp_resp r;
	struct span p;
	size_t used;

	(void)state;
	assert_int_equal(feed(&r, ehlo, sizeof(ehlo) - 1, &used), PARSE_OK);
	assert_int_equal(used, sizeof(ehlo) - 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 8);
	assert_int_equal(r.cls, 0);
	assert_string_equal(buf_cstr(&r.text),
	    "mx.example.org Hello client.example.net\nSIZE 1000\n"
	    "PIPELINING\n8BITMIME\nSTARTTLS\nAUTH PLAIN LOGIN\nAUTH=LOGIN\n"
	    "ENHANCEDSTATUSCODES");

	assert_true(smtp_resp_has_ext(&r, "SIZE", &p));
	assert_span(p, "1000");
	assert_true(smtp_resp_has_ext(&r, "pipelining", &p));
	assert_span(p, "");
	assert_true(smtp_resp_has_ext(&r, "StartTLS", NULL));
	assert_true(smtp_resp_has_ext(&r, "AUTH", &p));
	assert_span(p, "PLAIN LOGIN");
	assert_true(smtp_resp_has_ext(&r, "ENHANCEDSTATUSCODES", &p));
	assert_span(p, "");
	assert_false(smtp_resp_has_ext(&r, "CHUNKING", &p));
	assert_false(smtp_resp_has_ext(&r, "SIZ", &p));
	assert_false(smtp_resp_has_ext(&r, "PIPELININGX", &p));
	assert_false(smtp_resp_has_ext(&r, "", &p));
	/* The first line is the server's name, not a keyword. */
	assert_false(smtp_resp_has_ext(&r, "mx.example.org", &p));
	smtp_resp_clear(&r);

	/* Not a 250, or not complete: no extensions. */
	assert_int_equal(feed(&r, "550-x\r\n550 SIZE\r\n", 17, &used), PARSE_OK);
	assert_false(smtp_resp_has_ext(&r, "SIZE", NULL));
	smtp_resp_clear(&r);
	assert_int_equal(feed(&r, "250-x\r\n250-SIZE\r\n", 17, &used),
	    PARSE_INCOMPLETE);
	assert_false(smtp_resp_has_ext(&r, "SIZE", NULL));
	smtp_resp_clear(&r);
}

static void
test_pipelined(void **state)
{
	static const char two[] = "250 2.1.0 ok\r\n550-5.1.1 no such\r\n"
	    "550 5.1.1 user\r\n354 go";
	struct smtp_resp r;
	size_t used, off;

	(void)state;
	assert_int_equal(feed(&r, two, sizeof(two) - 1, &used), PARSE_OK);
	assert_int_equal(used, 14);
	assert_int_equal(r.code, 250);
	assert_string_equal(buf_cstr(&r.text), "ok");
	/* Done: further feeds give the same result and consume nothing. */
	assert_int_equal(smtp_resp_feed(&r, two + used, 3, &used), PARSE_OK);
	assert_int_equal(used, 0);
	smtp_resp_clear(&r);

	off = 14;
	assert_int_equal(smtp_resp_feed(&r, two + off, sizeof(two) - 1 - off,
	    &used), PARSE_OK);
	assert_int_equal(r.code, 550);
	assert_int_equal(r.cls, 5);
	assert_int_equal(r.subj, 1);
	assert_int_equal(r.det, 1);
	assert_int_equal(r.nlines, 2);
	assert_string_equal(buf_cstr(&r.text), "no such\nuser");
	off += used;
	smtp_resp_clear(&r);

	assert_int_equal(smtp_resp_feed(&r, two + off, sizeof(two) - 1 - off,
	    &used), PARSE_INCOMPLETE);
	assert_int_equal(used, sizeof(two) - 1 - off);
	assert_int_equal(smtp_resp_feed(&r, "\r\n", 2, &used), PARSE_OK);
	assert_int_equal(r.code, 354);
	assert_string_equal(buf_cstr(&r.text), "go");
	smtp_resp_clear(&r);
}

static void
test_one_byte_feeding(void **state)
{
	static const char s[] = "250-mx.example.org\r\n250-SIZE 1000\r\n"
	    "250 STARTTLS\r\n221 bye\r\n";
	struct smtp_resp r;
	struct span p;
	size_t i, used;
	enum parse_rc rc = PARSE_INCOMPLETE;

	(void)state;
	smtp_resp_init(&r);
	for (i = 0; i < sizeof(s) - 1; i++) {
		rc = smtp_resp_feed(&r, s + i, 1, &used);
		assert_int_equal(used, 1);
		if (rc != PARSE_INCOMPLETE)
			break;
	}
	assert_int_equal(rc, PARSE_OK);
	assert_int_equal(i + 1, sizeof(s) - 1 - strlen("221 bye\r\n"));
	assert_int_equal(r.nlines, 3);
	assert_true(smtp_resp_has_ext(&r, "SIZE", &p));
	assert_span(p, "1000");
	assert_true(smtp_resp_has_ext(&r, "STARTTLS", &p));
	smtp_resp_clear(&r);
}

static void
test_enhanced(void **state)
{
	struct smtp_resp r;

	(void)state;
	assert_int_equal(feed(&r, "250 2.0.0 Ok: queued\r\n", 22, NULL),
	    PARSE_OK);
	assert_int_equal(r.cls, 2);
	assert_int_equal(r.subj, 0);
	assert_int_equal(r.det, 0);
	assert_string_equal(buf_cstr(&r.text), "Ok: queued");
	smtp_resp_clear(&r);

	assert_int_equal(feed(&r, "452 4.123.999\r\n", 15, NULL), PARSE_OK);
	assert_int_equal(r.cls, 4);
	assert_int_equal(r.subj, 123);
	assert_int_equal(r.det, 999);
	assert_string_equal(buf_cstr(&r.text), "");
	smtp_resp_clear(&r);

	/* Class must match the reply's first digit: kept as text. */
	assert_int_equal(feed(&r, "250 5.0.0 odd\r\n", 15, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	assert_int_equal(r.subj, 0);
	assert_string_equal(buf_cstr(&r.text), "5.0.0 odd");
	smtp_resp_clear(&r);

	/* 3xx has no enhanced class (RFC 3463: 2, 4, 5 only). */
	assert_int_equal(feed(&r, "354 3.0.0 go\r\n", 14, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	assert_string_equal(buf_cstr(&r.text), "3.0.0 go");
	smtp_resp_clear(&r);

	/* Not a code: four digits, no separator, missing parts. */
	assert_int_equal(feed(&r, "550 5.1.1000 x\r\n", 16, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	assert_string_equal(buf_cstr(&r.text), "5.1.1000 x");
	smtp_resp_clear(&r);
	assert_int_equal(feed(&r, "550 5.1.1x\r\n", 12, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	smtp_resp_clear(&r);
	assert_int_equal(feed(&r, "550 5.1 x\r\n", 11, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	assert_int_equal(r.subj, 0);
	smtp_resp_clear(&r);
	assert_int_equal(feed(&r, "550 5..1 x\r\n", 12, NULL), PARSE_OK);
	assert_int_equal(r.cls, 0);
	smtp_resp_clear(&r);

	/* Only the first line decides; later lines lose their copy. */
	assert_int_equal(feed(&r, "550-5.7.1 a\r\n550 5.7.1 b\r\n", 26, NULL),
	    PARSE_OK);
	assert_string_equal(buf_cstr(&r.text), "a\nb");
	smtp_resp_clear(&r);
	assert_int_equal(feed(&r, "550-a\r\n550 5.7.1 b\r\n", 20, NULL),
	    PARSE_OK);
	assert_int_equal(r.cls, 0);
	assert_string_equal(buf_cstr(&r.text), "a\n5.7.1 b");
	smtp_resp_clear(&r);
}

static void
test_limits(void **state)
{
	(void)state;
	assert_int_equal(feed_sized(SMTP_TEXT_LINE_MAX), PARSE_OK);
	assert_int_equal(feed_sized(SMTP_TEXT_LINE_MAX + 1), PARSE_TOO_LONG);
	assert_int_equal(feed_lines(SMTP_REPLY_LINES_MAX), PARSE_OK);
	assert_int_equal(feed_lines(SMTP_REPLY_LINES_MAX + 1), PARSE_TOO_LONG);
	assert_int_equal(feed_total(SMTP_REPLY_MAX), PARSE_OK);
	assert_int_equal(feed_total(SMTP_REPLY_MAX + 1), PARSE_TOO_LONG);
}

static void
test_line_too_long_without_end(void **state)
{
	struct smtp_resp r;
	char *s = malloc(SMTP_TEXT_LINE_MAX);
	size_t used;

	(void)state;
	memcpy(s, "250 ", 4);
	memset(s + 4, 'x', SMTP_TEXT_LINE_MAX - 4);
	/* 999 bytes: the CRLF may still come. */
	assert_int_equal(feed(&r, s, SMTP_TEXT_LINE_MAX - 1, &used),
	    PARSE_INCOMPLETE);
	/* The 1000th byte is not a CR: there is no room left for CRLF. */
	assert_int_equal(smtp_resp_feed(&r, "x", 1, &used), PARSE_TOO_LONG);
	smtp_resp_clear(&r);
	free(s);
}

static void
test_format(void **state)
{
	struct smtp_resp r;
	struct buf out;

	(void)state;
	buf_init(&out, 64);
	assert_int_equal(feed(&r, "250 2.0.0 Ok: queued as X\r\n", 27, NULL),
	    PARSE_OK);
	smtp_resp_format(&r, &out);
	assert_string_equal(buf_cstr(&out), "250 2.0.0 Ok: queued as X");
	smtp_resp_clear(&r);

	buf_reset(&out);
	assert_int_equal(feed(&r, "550-no\r\n550 such\tuser\r\n", 24, NULL),
	    PARSE_OK);
	smtp_resp_format(&r, &out);
	assert_string_equal(buf_cstr(&out), "550 no such?user");
	smtp_resp_clear(&r);

	buf_reset(&out);
	assert_int_equal(feed(&r, "250\r\n", 5, NULL), PARSE_OK);
	smtp_resp_format(&r, &out);
	assert_string_equal(buf_cstr(&out), "250");
	smtp_resp_clear(&r);

	buf_reset(&out);
	assert_int_equal(feed(&r, "421 4.4.2\r\n", 11, NULL), PARSE_OK);
	smtp_resp_format(&r, &out);
	assert_string_equal(buf_cstr(&out), "421 4.4.2");
	smtp_resp_clear(&r);
	buf_free(&out);

	/* Bounded: truncated at out->max, overflow latched. */
	buf_init(&out, 12);
	assert_int_equal(feed(&r, "250 2.0.0 a long text\r\n", 23, NULL),
	    PARSE_OK);
	smtp_resp_format(&r, &out);
	assert_string_equal(buf_cstr(&out), "250 2.0.0 a ");
	assert_true(out.overflowed);
	smtp_resp_clear(&r);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_bare_cr_decided_early),
		cmocka_unit_test(test_multiline_ehlo),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_one_byte_feeding),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_line_too_long_without_end),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
