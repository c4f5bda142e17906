/*
 * Tests for policy/spf_macro: every example of RFC 7208 7.4 (IPv4 and
 * IPv6), the letters of 7.2, URL escaping, transformers and delimiters of
 * 7.3, the exp-only letters, the 253-octet truncation and the errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/limits.h"
#include "policy/spf.h"

static struct spf_macro_env
env4(void)
{
	return (struct spf_macro_env){
		.sender = "strong-bad@email.example.com",
		.domain = "email.example.com", .ip = "192.0.2.3",
		.ptr = "mx.example.org", .helo = "mx.example.org",
		.receiver = "mx.example.net", .now = 1400000000, .exp = false,
	};
}

/* Expands in with env; the text, or "ERR<rc>" on failure. */
static const char *
expand(const char *in, const struct spf_macro_env *env)
{
	static char text[SPF_EXPAND_MAX + 16];
	struct buf b;
	enum parse_rc rc;

	buf_init(&b, SPF_EXPAND_MAX);
	rc = spf_macro_expand(span_from_cstr(in), env, &b);
	if (rc == PARSE_OK)
		snprintf(text, sizeof(text), "%s", buf_cstr(&b));
	else
		snprintf(text, sizeof(text), "ERR%d", (int)rc);
	buf_free(&b);
	return text;
}

static void
test_rfc_7_4_letters(void **state)
{
	struct spf_macro_env e = env4();
	static const char *const cases[][2] = {
		{ "%{s}", "strong-bad@email.example.com" },
		{ "%{o}", "email.example.com" },
		{ "%{d}", "email.example.com" },
		{ "%{d4}", "email.example.com" },
		{ "%{d3}", "email.example.com" },
		{ "%{d2}", "example.com" },
		{ "%{d1}", "com" },
		{ "%{dr}", "com.example.email" },
		{ "%{d2r}", "example.email" },
		{ "%{l}", "strong-bad" },
		{ "%{l-}", "strong.bad" },
		{ "%{lr}", "strong-bad" },
		{ "%{lr-}", "bad.strong" },
		{ "%{l1r-}", "strong" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(expand(cases[i][0], &e), cases[i][1]);
}

static void
test_rfc_7_4_strings(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	assert_string_equal(expand("%{ir}.%{v}._spf.%{d2}", &e),
	    "3.2.0.192.in-addr._spf.example.com");
	assert_string_equal(expand("%{lr-}.lp._spf.%{d2}", &e),
	    "bad.strong.lp._spf.example.com");
	assert_string_equal(expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", &e),
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	assert_string_equal(expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", &e),
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	assert_string_equal(expand("%{d2}.trusted-domains.example.net", &e),
	    "example.com.trusted-domains.example.net");
}

static void
test_rfc_7_4_ipv6(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	e.ip = "2001:db8::cb01";
	assert_string_equal(expand("%{ir}.%{v}._spf.%{d2}", &e),
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
	assert_string_equal(expand("%{i}", &e),
	    "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
	assert_string_equal(expand("%{v}", &e), "ip6");
	e.exp = true;
	assert_string_equal(expand("%{c}", &e), "2001:db8::cb01");
	/* 4.1: an IPv4-mapped client is the IPv4 client. */
	e.ip = "::ffff:192.0.2.3";
	assert_string_equal(expand("%{i} %{v} %{c}", &e),
	    "192.0.2.3 in-addr 192.0.2.3");
}

static void
test_other_letters(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	assert_string_equal(expand("%{p}", &e), "mx.example.org");
	assert_string_equal(expand("%{h}", &e), "mx.example.org");
	assert_string_equal(expand("%{i}", &e), "192.0.2.3");
	assert_string_equal(expand("%{v}", &e), "in-addr");
	e.ptr = NULL;
	assert_string_equal(expand("%{p}", &e), "unknown");
	/* 4.3: no local-part means postmaster. */
	e.sender = "@email.example.com";
	assert_string_equal(expand("%{l}", &e), "postmaster");
}

static void
test_exp_only_letters(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	/* 7.2: c, r, t only in explanation text. */
	assert_string_equal(expand("%{c}", &e), "ERR2");
	assert_string_equal(expand("%{r}", &e), "ERR2");
	assert_string_equal(expand("%{t}", &e), "ERR2");
	e.exp = true;
	assert_string_equal(expand("%{c} %{r} %{t}", &e),
	    "192.0.2.3 mx.example.net 1400000000");
	e.receiver = NULL;
	assert_string_equal(expand("%{r}", &e), "unknown");
}

static void
test_escapes_and_case(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	assert_string_equal(expand("%%%_%-x.example", &e), "% %20x.example");
	/* 7.3: upper case is URL-escaped (RFC 3986 unreserved kept). */
	assert_string_equal(expand("%{S}", &e), "strong-bad%40email.example.com");
	e.sender = "a b+c~d_e@example.com";
	assert_string_equal(expand("%{L}", &e), "a%20b%2Bc~d_e");
	assert_string_equal(expand("%{DR}", &e), "com.example.email");
	/* Letters and "r" in either case; several delimiters at once. */
	assert_string_equal(expand("%{lR+_}", &e), "e.c~d.a b");
	assert_string_equal(expand("%{l1+ }", &e), "ERR2");
}

static void
test_delimiters(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	e.sender = "a.b-c+d,e/f_g=h@example.com";
	assert_string_equal(expand("%{l.-+,/_=}", &e), "a.b.c.d.e.f.g.h");
	assert_string_equal(expand("%{l2=}", &e), "a.b-c+d,e/f_g.h");
	assert_string_equal(expand("%{lr,}", &e), "e/f_g=h.a.b-c+d");
	/* Empty parts survive. */
	e.sender = "a..b@example.com";
	assert_string_equal(expand("%{lr}", &e), "b..a");
}

static void
test_digit_transformer(void **state)
{
	struct spf_macro_env e = env4();

	(void)state;
	assert_string_equal(expand("%{d128}", &e), "email.example.com");
	assert_string_equal(expand("%{d007}", &e), "email.example.com");
	/* 7.3: nonzero; more than 128 labels cannot exist. */
	assert_string_equal(expand("%{d0}", &e), "ERR2");
	assert_string_equal(expand("%{d129}", &e), "ERR2");
	assert_string_equal(expand(
	    "%{d99999999999999999999999999999999999999999}", &e), "ERR2");
}

static void
test_syntax_errors(void **state)
{
	struct spf_macro_env e = env4();
	static const char *const bad[] = {
		"%", "x%", "%b", "%{", "%{s", "%{s1", "%{s1r", "%{x}", "%{}",
		"%{s1r-!}", "%{sr1}", "%(s)", "a b", "\x01", "\xc3\xa9",
		"%{ s}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(expand(bad[i], &e), "ERR2");
	/* SP is a literal only in explanation text (6.2 explain-string). */
	e.exp = true;
	assert_string_equal(expand("a b", &e), "a b");
	assert_string_equal(expand("", &e), "");
}

static void
test_truncation(void **state)
{
	struct spf_macro_env e = env4();
	char label[63], in[300], want[256];

	(void)state;
	memset(label, 'a', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	/* 4 * 62 + 3 = 251 octets; "x." makes 253 and fits. */
	snprintf(want, sizeof(want), "%s.%s.%s.%s", label, label, label, label);
	snprintf(in, sizeof(in), "x.%s", want);
	assert_string_equal(expand(in, &e), in);
	/* "xx." makes 254: the leftmost label goes (7.3). */
	snprintf(in, sizeof(in), "xx.%s", want);
	assert_string_equal(expand(in, &e), want);
	/* No truncation in explanation text. */
	e.exp = true;
	assert_string_equal(expand(in, &e), in);
	/* One label over 253 leaves nothing. */
	memset(in, 'b', 260);
	in[260] = '\0';
	e.exp = false;
	assert_string_equal(expand(in, &e), "");
}

static void
test_output_bound(void **state)
{
	struct spf_macro_env e = env4();
	struct buf b;
	char in[1024];
	size_t i;

	(void)state;
	for (i = 0; i + 4 < sizeof(in); i += 4)
		memcpy(in + i, "%{s}", 4);
	in[i] = '\0';
	buf_init(&b, 1000);
	assert_int_equal(spf_macro_expand(span_from_cstr(in), &e, &b),
	    PARSE_TOO_LONG);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_7_4_letters),
		cmocka_unit_test(test_rfc_7_4_strings),
		cmocka_unit_test(test_rfc_7_4_ipv6),
		cmocka_unit_test(test_other_letters),
		cmocka_unit_test(test_exp_only_letters),
		cmocka_unit_test(test_escapes_and_case),
		cmocka_unit_test(test_delimiters),
		cmocka_unit_test(test_digit_transformer),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_output_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
