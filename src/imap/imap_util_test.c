/*
 * Unit tests for imap/imap_util: LIST patterns (wildcards, INBOX, long
 * patterns), date-time in and out, flags in and out, UID sets out,
 * strings out (quoted and literal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_sess_int.h"

static void
test_list_match(void **state)
{
	char pat[4096];

	(void)state;
	assert_true(imap_list_match("*", "INBOX"));
	assert_true(imap_list_match("inbox", "INBOX"));
	assert_true(imap_list_match("InBoX", "INBOX"));
	assert_true(imap_list_match("%", "Sent"));
	assert_false(imap_list_match("%", "a/b"));
	assert_true(imap_list_match("a/%", "a/b"));
	assert_false(imap_list_match("a/%", "a/b/c"));
	assert_true(imap_list_match("a/*", "a/b/c"));
	assert_true(imap_list_match("*c", "a/b/c"));
	assert_true(imap_list_match("%/%/c", "a/b/c"));
	assert_false(imap_list_match("a", "ab"));
	assert_false(imap_list_match("ab", "a"));
	assert_true(imap_list_match("S%t", "Sent"));
	assert_false(imap_list_match("", "Sent"));
	assert_true(imap_list_match("**%%*", "x/y"));
	/* Many wildcards against a name that almost matches: linear. */
	memset(pat, 0, sizeof(pat));
	for (size_t i = 0; i + 2 < 2000; i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	assert_false(imap_list_match(pat, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
	assert_true(imap_list_match("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaab"));
}

static void
test_datetime(void **state)
{
	int64_t t;
	struct buf b;

	(void)state;
	assert_int_equal(imap_datetime_parse(SPAN_LIT("17-Jul-1996 02:44:25 -0700"),
	    &t), 0);
	assert_int_equal(t, 837596665);
	assert_int_equal(imap_datetime_parse(SPAN_LIT(" 7-Jul-1996 02:44:25 +0000"),
	    &t), 0);
	assert_int_equal(imap_datetime_parse(SPAN_LIT("7-jul-1996 02:44:25 +0000"),
	    &t), 0);
	assert_int_equal(imap_datetime_parse(SPAN_LIT("17-Jux-1996 02:44:25 -0700"),
	    &t), -1);
	assert_int_equal(imap_datetime_parse(SPAN_LIT("17-Jul-1996 02:44:25"),
	    &t), -1);
	assert_int_equal(imap_datetime_parse(SPAN_LIT("17-Jul-1996 24:44:25 +0000"),
	    &t), -1);
	assert_int_equal(imap_datetime_parse(SPAN_LIT("17-Jul-1996 02:44:25 +0000x"),
	    &t), -1);
	buf_init(&b, 100);
	imap_put_datetime(&b, 837596665);
	assert_string_equal(buf_cstr(&b), "\"17-Jul-1996 09:44:25 +0000\"");
	buf_free(&b);
}

static void
test_flags(void **state)
{
	unsigned f = 0;
	struct buf b;

	(void)state;
	assert_int_equal(imap_flag_parse(SPAN_LIT("\\seen"), &f), 0);
	assert_int_equal(imap_flag_parse(SPAN_LIT("\\Deleted"), &f), 0);
	assert_int_equal(imap_flag_parse(SPAN_LIT("$Forwarded"), &f), 0);
	assert_int_equal(imap_flag_parse(SPAN_LIT("\\Recent"), &f), 0);
	assert_int_equal(imap_flag_parse(SPAN_LIT("\\Bogus"), &f), -1);
	assert_int_equal(f, MBOX_F_SEEN | MBOX_F_DELETED);
	buf_init(&b, 100);
	imap_put_flags(&b, f, true);
	assert_string_equal(buf_cstr(&b), "\\Deleted \\Seen \\Recent");
	buf_reset(&b);
	imap_put_flags(&b, 0, false);
	assert_string_equal(buf_cstr(&b), "");
	buf_free(&b);
}

static void
test_uidset(void **state)
{
	uint32_t u[] = { 1, 2, 3, 7, 9, 10 };
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	imap_put_uidset(&b, u, 6);
	assert_string_equal(buf_cstr(&b), "1:3,7,9:10");
	buf_reset(&b);
	imap_put_uidset(&b, u + 3, 1);
	assert_string_equal(buf_cstr(&b), "7");
	buf_free(&b);
}

static void
test_string(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	imap_put_string(&b, "a \"b\" \\", 7);
	assert_string_equal(buf_cstr(&b), "\"a \\\"b\\\" \\\\\"");
	buf_reset(&b);
	imap_put_string(&b, "a\r\nb", 4);
	assert_string_equal(buf_cstr(&b), "{4}\r\na\r\nb");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_match),
		cmocka_unit_test(test_datetime),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_uidset),
		cmocka_unit_test(test_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
