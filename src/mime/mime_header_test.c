/*
 * Unit tests for mime/mime_header: the end of a header section, walking
 * fields (folded, malformed, CR before LF), unfolding, look-up by name,
 * folding on output at 78 and the 998 limit (at max and max + 1), control
 * bytes that must not start a field, RFC 2047 encoded words split between
 * UTF-8 characters, and dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime_header.h"

static size_t
section(const char *s)
{
	return mime_header_section_len(s, strlen(s));
}

static void
test_section_len(void **state)
{
	(void)state;
	assert_int_equal(section("A: 1\nB: 2\n\nbody\n"), 11);
	assert_int_equal(section("\nbody\n"), 1);
	assert_int_equal(section("A: 1\r\n\r\nbody\n"), 8);
	assert_int_equal(section("A: 1\nB: 2\n"), 10);	/* no body */
	assert_int_equal(section("A: 1\nB: 2"), 5);	/* cut: last whole line */
	assert_int_equal(section("A: 1"), 0);
	assert_int_equal(section(""), 0);
}

static void
test_walk_fields(void **state)
{
	static const char hdr[] =
	    "From junk line without colon\n"
	    " orphan continuation\n"
	    "Subject: hello\n"
	    "\tworld\n"
	    "Bad Name: x\n"
	    ": empty name\n"
	    "X-Old  : obsolete blank before colon\n"
	    "To: a@example.org\r\n"
	    "Empty:\n"
	    "\n"
	    "Body: not a header\n";
	struct mime_header_iter it;
	struct span n, v;
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	mime_header_iter_init(&it, hdr, sizeof(hdr) - 1);
	assert_true(mime_header_next(&it, &n, &v));
	assert_int_equal(n.len, 7);
	assert_memory_equal(n.ptr, "Subject", 7);
	assert_int_equal(v.len, strlen(" hello\n\tworld"));
	assert_memory_equal(v.ptr, " hello\n\tworld", v.len);
	assert_int_equal(mime_header_unfold(v, &b), 0);
	assert_string_equal(b.data, "hello\tworld");
	assert_true(mime_header_next(&it, &n, &v));
	assert_int_equal(n.len, 5);
	assert_memory_equal(n.ptr, "X-Old", 5);
	assert_true(mime_header_next(&it, &n, &v));
	assert_memory_equal(n.ptr, "To", 2);
	assert_int_equal(v.len, strlen(" a@example.org"));	/* CR left out */
	assert_true(mime_header_next(&it, &n, &v));
	assert_memory_equal(n.ptr, "Empty", 5);
	assert_int_equal(v.len, 0);
	assert_false(mime_header_next(&it, &n, &v));	/* the empty line */
	assert_false(mime_header_next(&it, &n, &v));
	buf_free(&b);
}

static void
test_get(void **state)
{
	static const char hdr[] = "subject: first\n  folded\nSubject: second\n"
	    "Auto-Submitted: auto-replied (vacation)\n\nSubject: body\n";
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_true(mime_header_get(hdr, sizeof(hdr) - 1, "Subject", &b));
	assert_string_equal(b.data, "first  folded");
	buf_reset(&b);
	assert_true(mime_header_get(hdr, sizeof(hdr) - 1, "AUTO-SUBMITTED", &b));
	assert_string_equal(b.data, "auto-replied (vacation)");
	buf_reset(&b);
	assert_false(mime_header_get(hdr, sizeof(hdr) - 1, "Subj", &b));
	assert_false(mime_header_get(hdr, sizeof(hdr) - 1, "List-Id", &b));
	/* Bounded: nothing past len is read (callers cut at a line end). */
	assert_true(mime_header_get(hdr, 10, "Subject", &b));
	assert_string_equal(b.data, "f");
	buf_reset(&b);
	assert_false(mime_header_get(hdr, 0, "Subject", &b));
	buf_free(&b);
}

static void
test_unfold_controls_and_overflow(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(mime_header_unfold(SPAN_LIT("  a\r\n b\x01" "c\x7f  "), &b), 0);
	assert_string_equal(b.data, "a  b c");
	buf_free(&b);
	buf_init(&b, 4);
	assert_int_equal(mime_header_unfold(SPAN_LIT("abcdefgh"), &b), -1);
	assert_string_equal(b.data, "abcd");
	buf_free(&b);
}

/* Every line of out: at most max octets, and only the first has no
 * leading blank. */
static void
assert_lines(const char *out, size_t max)
{
	const char *p = out, *nl;
	bool first = true;

	while ((nl = strchr(p, '\n')) != NULL) {
		assert_true((size_t)(nl - p) <= max);
		assert_null(memchr(p, '\r', (size_t)(nl - p)));
		if (!first)
			assert_true(*p == ' ' || *p == '\t');
		first = false;
		p = nl + 1;
	}
	assert_string_equal(p, "");	/* ends in LF */
}

static void
test_put_folds_at_78(void **state)
{
	struct buf b, u;
	char words[400];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(words + n, sizeof(words) - n, "word%02d ", i);
	buf_init(&b, 4096);
	assert_int_equal(mime_header_put(&b, "Subject", (struct span){ words, n }), 0);
	assert_lines(b.data, MIME_LINE_SOFT_MAX);
	assert_true(strchr(b.data, '\n')[1] != '\0');	/* folded at least once */
	/* Unfolding gives the value back (trimmed). */
	buf_init(&u, 4096);
	mime_header_unfold((struct span){ b.data + 8, b.len - 8 }, &u);
	words[n - 1] = '\0';
	assert_string_equal(u.data, words);
	buf_free(&u);
	buf_free(&b);

	buf_init(&b, 64);
	assert_int_equal(mime_header_put(&b, "Empty", SPAN_LIT("  ")), 0);
	assert_string_equal(b.data, "Empty:\n");
	buf_free(&b);
}

/* A value cannot add a field: CR, LF and control bytes become blanks. */
static void
test_put_cannot_inject(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(mime_header_put(&b, "Subject",
	    SPAN_LIT("hi\r\nBcc: victim@example.net\n\nbody\x00x")), 0);
	assert_string_equal(b.data, "Subject: hi  Bcc: victim@example.net  body x\n");
	buf_free(&b);
}

/* A word that fits in 998 octets with the name stays whole; one more
 * octet and it is broken, never a line over 998. */
static void
test_put_hard_limit(void **state)
{
	char word[2 * MIME_LINE_HARD_MAX + 10];
	size_t fit = MIME_LINE_HARD_MAX - strlen("X: ");
	struct buf b;

	(void)state;
	memset(word, 'a', sizeof(word));
	buf_init(&b, 8192);
	assert_int_equal(mime_header_put(&b, "X", (struct span){ word, fit }), 0);
	assert_int_equal(b.len, MIME_LINE_HARD_MAX + 1);
	assert_lines(b.data, MIME_LINE_HARD_MAX);
	buf_reset(&b);
	assert_int_equal(mime_header_put(&b, "X", (struct span){ word, fit + 1 }), 0);
	assert_lines(b.data, MIME_LINE_HARD_MAX);
	assert_int_equal(b.len, MIME_LINE_HARD_MAX + 1 + 2 + 1);	/* " a\n" */
	buf_reset(&b);
	assert_int_equal(mime_header_put(&b, "X", (struct span){ word, sizeof(word) }), 0);
	assert_lines(b.data, MIME_LINE_HARD_MAX);
	buf_free(&b);
	/* Overflow of out is reported. */
	buf_init(&b, 16);
	assert_int_equal(mime_header_put(&b, "Subject", SPAN_LIT("a long value here")), -1);
	buf_free(&b);
}

static void
test_encode(void **state)
{
	/* 30 two-byte characters: 60 bytes, more than one word. */
	char text[61];
	struct buf b;
	const char *p;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(mime_header_encode(&b, SPAN_LIT("plain =?x?q?a?= ascii")), 0);
	assert_string_equal(b.data, "plain =?x?q?a?= ascii");
	buf_reset(&b);
	assert_int_equal(mime_header_encode(&b, SPAN_LIT("caf\xc3\xa9")), 0);
	assert_string_equal(b.data, "=?UTF-8?B?Y2Fmw6k=?=");
	buf_reset(&b);
	for (int i = 0; i < 30; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2);
	text[60] = '\0';
	assert_int_equal(mime_header_encode(&b, (struct span){ text, 60 }), 0);
	/* 45 bytes would split a character: the first word takes 44. */
	p = strchr(b.data, ' ');
	assert_non_null(p);
	assert_int_equal((size_t)(p - b.data), strlen("=?UTF-8?B?") + 60 + 2);
	assert_string_equal(p + 1, "=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqQ==?=");
	for (const char *w = b.data; w != NULL; w = strchr(w + 1, ' '))
		assert_true(strcspn(w + (*w == ' '), " ") <= 75);
	buf_free(&b);
	assert_true(mime_is_ascii(SPAN_LIT("a\tb ~")));
	assert_false(mime_is_ascii(SPAN_LIT("a\nb")));
	assert_false(mime_is_ascii(SPAN_LIT("\x80")));
}

static void
test_date(void **state)
{
	char d[MIME_DATE_LEN];

	(void)state;
	mime_header_date(d, sizeof(d), 1772442847);
	assert_string_equal(d, "Mon, 02 Mar 2026 09:14:07 +0000");
	mime_header_date(d, sizeof(d), 0);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_section_len),
		cmocka_unit_test(test_walk_fields),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_unfold_controls_and_overflow),
		cmocka_unit_test(test_put_folds_at_78),
		cmocka_unit_test(test_put_cannot_inject),
		cmocka_unit_test(test_put_hard_limit),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
