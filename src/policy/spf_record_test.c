/*
 * Tests for policy/spf_record: the version check of RFC 7208 4.5, every
 * mechanism and modifier form of sections 5 and 6 with the ABNF of 12
 * (dual CIDR, qualifiers, case, domain-end), and the syntax errors that
 * make a record a permerror.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "policy/spf.h"

static struct spf_term	terms[64];
static size_t		nterms;

static enum parse_rc
parse(const char *rec)
{
	return spf_record_parse(span_from_cstr(rec), terms, 64, &nterms);
}

static bool
span_is(struct span s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void
test_is_spf(void **state)
{
	(void)state;
	assert_true(spf_record_is_spf(SPAN_LIT("v=spf1")));
	assert_true(spf_record_is_spf(SPAN_LIT("v=spf1 -all")));
	assert_true(spf_record_is_spf(SPAN_LIT("V=SPF1 -all")));
	assert_false(spf_record_is_spf(SPAN_LIT("v=spf1-all")));
	assert_false(spf_record_is_spf(SPAN_LIT("v=spf10 -all")));
	assert_false(spf_record_is_spf(SPAN_LIT("v=spf1\t-all")));
	assert_false(spf_record_is_spf(SPAN_LIT(" v=spf1")));
	assert_false(spf_record_is_spf(SPAN_LIT("v=spf")));
	assert_false(spf_record_is_spf(SPAN_LIT("spf2.0/pra -all")));
}

static void
test_every_mechanism(void **state)
{
	(void)state;
	assert_int_equal(parse("v=spf1 +all -include:_spf.example.com ~a "
	    "?a:mail.example.com mx mx:example.org/30 ptr ptr:example.com "
	    "ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.bl.example "
	    "redirect=_spf.example.com exp=why.%{d} x-foo=%{l}bar"), PARSE_OK);
	assert_int_equal(nterms, 14);
	assert_int_equal(terms[0].kind, SPF_T_ALL);
	assert_int_equal(terms[0].qualifier, '+');
	assert_true(span_is(terms[0].text, "+all"));
	assert_int_equal(terms[1].kind, SPF_T_INCLUDE);
	assert_int_equal(terms[1].qualifier, '-');
	assert_true(span_is(terms[1].spec, "_spf.example.com"));
	assert_int_equal(terms[2].kind, SPF_T_A);
	assert_int_equal(terms[2].qualifier, '~');
	assert_int_equal(terms[2].spec.len, 0);
	assert_int_equal(terms[3].qualifier, '?');
	assert_true(span_is(terms[3].spec, "mail.example.com"));
	assert_int_equal(terms[4].kind, SPF_T_MX);
	assert_int_equal(terms[4].qualifier, '+');
	assert_int_equal(terms[4].cidr4, -1);
	assert_int_equal(terms[5].cidr4, 30);
	assert_true(span_is(terms[5].spec, "example.org"));
	assert_int_equal(terms[6].kind, SPF_T_PTR);
	assert_true(span_is(terms[7].spec, "example.com"));
	assert_int_equal(terms[8].kind, SPF_T_IP4);
	assert_true(span_is(terms[8].spec, "192.0.2.0"));
	assert_int_equal(terms[8].cidr4, 24);
	assert_int_equal(terms[9].kind, SPF_T_IP6);
	assert_true(span_is(terms[9].spec, "2001:db8::"));
	assert_int_equal(terms[9].cidr6, 32);
	assert_int_equal(terms[10].kind, SPF_T_EXISTS);
	assert_int_equal(terms[11].kind, SPF_T_REDIRECT);
	assert_int_equal(terms[11].qualifier, '\0');
	assert_true(span_is(terms[11].spec, "_spf.example.com"));
	assert_int_equal(terms[12].kind, SPF_T_EXP);
	assert_int_equal(terms[13].kind, SPF_T_UNKNOWN_MOD);
	assert_true(span_is(terms[13].text, "x-foo=%{l}bar"));
}

static void
test_dual_cidr(void **state)
{
	(void)state;
	assert_int_equal(parse("v=spf1 a/24 a//64 a/0//0 mx:x.example/32//128 "
	    "a:x.example//96"), PARSE_OK);
	assert_int_equal(nterms, 5);
	assert_int_equal(terms[0].cidr4, 24);
	assert_int_equal(terms[0].cidr6, -1);
	assert_int_equal(terms[1].cidr4, -1);
	assert_int_equal(terms[1].cidr6, 64);
	assert_int_equal(terms[2].cidr4, 0);
	assert_int_equal(terms[2].cidr6, 0);
	assert_int_equal(terms[3].cidr4, 32);
	assert_int_equal(terms[3].cidr6, 128);
	assert_true(span_is(terms[3].spec, "x.example"));
	assert_int_equal(terms[4].cidr6, 96);
	assert_true(span_is(terms[4].spec, "x.example"));
}

static void
test_case_and_spaces(void **state)
{
	(void)state;
	/* ABNF strings are case-insensitive; runs of SP separate terms. */
	assert_int_equal(parse("V=SpF1   MX  IP4:192.0.2.1 Redirect=x.example "
	    "-ALL  "), PARSE_OK);
	assert_int_equal(nterms, 4);
	assert_int_equal(terms[0].kind, SPF_T_MX);
	assert_int_equal(terms[1].kind, SPF_T_IP4);
	assert_int_equal(terms[2].kind, SPF_T_REDIRECT);
	assert_int_equal(terms[3].kind, SPF_T_ALL);
	assert_int_equal(parse("v=spf1"), PARSE_OK);
	assert_int_equal(nterms, 0);
	assert_int_equal(parse("v=spf1 "), PARSE_OK);
	assert_int_equal(nterms, 0);
}

static void
test_domain_end(void **state)
{
	(void)state;
	assert_int_equal(parse("v=spf1 a:example.com."), PARSE_OK);
	assert_int_equal(parse("v=spf1 a:%{d}"), PARSE_OK);
	assert_int_equal(parse("v=spf1 a:x.%{d}"), PARSE_OK);
	assert_int_equal(parse("v=spf1 exists:%{i}.x.%%"), PARSE_OK);
	assert_int_equal(parse("v=spf1 a:foo-bar.x-1"), PARSE_OK);
	/* 12: the top label needs a letter, or a hyphen inside. */
	assert_int_equal(parse("v=spf1 a:museum"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:1.2.3.4"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:example.com:8080"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:example.-com"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:example.com-"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:%{d}."), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 a:"), PARSE_INVALID);
	assert_int_equal(parse("v=spf1 include:.com"), PARSE_OK);
}

static void
test_syntax_errors(void **state)
{
	static const char *const bad[] = {
		"v=spf1 foo",			/* unknown mechanism */
		"v=spf1 =all",			/* unknown qualifier */
		"v=spf1 all:x.example",
		"v=spf1 all/24",
		"v=spf1 include",		/* include needs a domain */
		"v=spf1 exists",
		"v=spf1 include:x.example/24",
		"v=spf1 ptr/24",
		"v=spf1 ip4",
		"v=spf1 ip4:",
		"v=spf1 ip4:192.0.2",
		"v=spf1 ip4:192.0.2.1.5",
		"v=spf1 ip4:192.0.2.01",	/* qnum: no leading zero */
		"v=spf1 ip4:192.0.2.256",
		"v=spf1 ip4:192.0.2.0/33",
		"v=spf1 ip4:192.0.2.0/024",
		"v=spf1 ip4:192.0.2.0/",
		"v=spf1 ip4:2001:db8::1",
		"v=spf1 ip6:192.0.2.1",
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 ip6:fe80::1%eth0",
		"v=spf1 a/33",
		"v=spf1 a//129",
		"v=spf1 a/24/64",
		"v=spf1 mx:x.example/",
		"v=spf1 a:%{x}.example.com",	/* bad macro letter */
		"v=spf1 a:%{c}.example.com",	/* 7.2: c only in exp text */
		"v=spf1 exists:%{i0}.x.example",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 redirect=",
		"v=spf1 redirect=museum",
		"v=spf1 x-foo=%{q}",		/* unknown modifier, bad macro */
		"v=spf1 x-foo=%",
		"v=spf1 1x=y",			/* a name starts with a letter */
		"v=spf1 -all\t",		/* TAB is not SP */
		"v=spf1 a:b\xc3\xa9.example",	/* non-ASCII */
		"v=spf1 -all foo",		/* errors after a match count */
		"v=spf1-all",
		"x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i]) != PARSE_INVALID)
			fail_msg("parsed: %s", bad[i]);
}

static void
test_unknown_modifiers(void **state)
{
	(void)state;
	/* 6: ignored but syntax-checked; any macro letter is allowed. */
	assert_int_equal(parse("v=spf1 moo=%{c}.x foo.bar_1=  a=b -all"),
	    PARSE_OK);
	assert_int_equal(nterms, 4);
	assert_int_equal(terms[0].kind, SPF_T_UNKNOWN_MOD);
	assert_int_equal(terms[1].kind, SPF_T_UNKNOWN_MOD);
	assert_int_equal(terms[1].spec.len, 0);
	assert_int_equal(terms[2].kind, SPF_T_UNKNOWN_MOD);
	/* The version appears again: a modifier named "v". */
	assert_int_equal(parse("v=spf1 v=spf1 -all"), PARSE_OK);
	assert_int_equal(terms[0].kind, SPF_T_UNKNOWN_MOD);
}

static void
test_term_limit(void **state)
{
	struct spf_term few[4];
	size_t n;

	(void)state;
	assert_int_equal(spf_record_parse(SPAN_LIT("v=spf1 a a a a"), few, 4,
	    &n), PARSE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(spf_record_parse(SPAN_LIT("v=spf1 a a a a a"), few, 4,
	    &n), PARSE_INVALID);
}

static void
test_bytes_not_strings(void **state)
{
	/* A NUL inside the span is a syntax error, not an end. */
	static const char rec[] = "v=spf1 a:x.example\0 -all";
	struct span s = { rec, sizeof(rec) - 1 };
	size_t n;

	(void)state;
	assert_int_equal(spf_record_parse(s, terms, 64, &n), PARSE_INVALID);
	s.len = 7;	/* "v=spf1 " */
	assert_int_equal(spf_record_parse(s, terms, 64, &n), PARSE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_spf),
		cmocka_unit_test(test_every_mechanism),
		cmocka_unit_test(test_dual_cidr),
		cmocka_unit_test(test_case_and_spaces),
		cmocka_unit_test(test_domain_end),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_modifiers),
		cmocka_unit_test(test_term_limit),
		cmocka_unit_test(test_bytes_not_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
