/*
 * Unit tests for smtp/smtp_addr: RFC 5321 4.1.2 paths, quoting, source
 * routes, address literals, relay tricks, UTF-8, and each size limit at
 * max and max + 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "smtp/smtp_addr.h"

static enum parse_rc
parse(const char *s, bool utf8, struct smtp_addr *a)
{
	return smtp_addr_parse(span_from_cstr(s), utf8, a);
}

/* Parses s, expects PARSE_OK and the given parts, then clears. */
static void
expect_ok(const char *s, const char *local, const char *domain)
{
	struct smtp_addr a;
	enum parse_rc rc = parse(s, false, &a);

	if (rc != PARSE_OK)
		fail_msg("\"%s\": rc %d, want PARSE_OK", s, rc);
	assert_false(a.null);
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
	smtp_addr_clear(&a);
}

static void
expect_rc(const char *s, bool utf8, enum parse_rc want)
{
	struct smtp_addr a;
	enum parse_rc rc = parse(s, utf8, &a);

	if (rc != want)
		fail_msg("\"%s\" (utf8 %d): rc %d, want %d", s, utf8, rc, want);
	if (rc != PARSE_OK) {
		assert_null(a.local);
		assert_null(a.domain);
	}
	smtp_addr_clear(&a);
}

static char *
key_of(const char *s)
{
	struct smtp_addr a;
	char *k;

	assert_int_equal(parse(s, true, &a), PARSE_OK);
	k = smtp_addr_key(&a);
	smtp_addr_clear(&a);
	return k;
}

static char *
text_of(const char *s)
{
	struct smtp_addr a;
	char *t;

	assert_int_equal(parse(s, true, &a), PARSE_OK);
	t = smtp_addr_text(&a);
	smtp_addr_clear(&a);
	return t;
}

static void
test_simple(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(parse("Alice@Example.ORG", false, &a), PARSE_OK);
	assert_string_equal(a.local, "Alice");
	assert_string_equal(a.domain, "example.org");
	assert_false(a.null || a.quoted || a.literal || a.source_route ||
	    a.utf8);
	smtp_addr_clear(&a);
	assert_null(a.local);
	expect_ok("a.b.c@x", "a.b.c", "x");
	expect_ok("first.last+tag@sub-1.example-2.org", "first.last+tag",
	    "sub-1.example-2.org");
	expect_ok("!#$%&'*+-/=?^_`{|}~@x.org", "!#$%&'*+-/=?^_`{|}~", "x.org");
	expect_ok("1@2.3", "1", "2.3");
	expect_ok("a@x-y.z", "a", "x-y.z");
}

static void
test_null(void **state)
{
	struct smtp_addr a;
	char *s;

	(void)state;
	assert_int_equal(parse("", false, &a), PARSE_OK);
	assert_true(a.null);
	assert_null(a.local);
	assert_null(a.domain);
	s = smtp_addr_key(&a);
	assert_string_equal(s, "");
	free(s);
	s = smtp_addr_text(&a);
	assert_string_equal(s, "");
	free(s);
	smtp_addr_clear(&a);
	assert_int_equal(smtp_addr_parse((struct span){ NULL, 0 }, false, &a),
	    PARSE_OK);
	assert_true(a.null);
}

static void
test_quoted(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(parse("\"a b\"@x.org", false, &a), PARSE_OK);
	assert_true(a.quoted);
	assert_string_equal(a.local, "a b");
	assert_string_equal(a.domain, "x.org");
	smtp_addr_clear(&a);
	expect_ok("\"a@b\"@x.org", "a@b", "x.org");
	expect_ok("\"a\\\"b\"@x.org", "a\"b", "x.org");
	expect_ok("\"a\\\\b\"@x.org", "a\\b", "x.org");
	expect_ok("\"\\a\"@x.org", "a", "x.org");
	expect_ok("\"a<>,:;[]b\"@x.org", "a<>,:;[]b", "x.org");
	expect_ok("\"a%b!c\"@x.org", "a%b!c", "x.org");
	expect_ok("\"abc\"@x.org", "abc", "x.org");
	expect_ok("\".a..b.\"@x.org", ".a..b.", "x.org");
	expect_rc("\"\"@x.org", false, PARSE_INVALID);
	expect_rc("\"abc@x.org", false, PARSE_INVALID);
	expect_rc("\"abc\\\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\"b\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\"\"b\"@x.org", false, PARSE_INVALID);
	expect_rc("a\"b\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\".b@x.org", false, PARSE_INVALID);
	expect_rc("\"a\tb\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\\\tb\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\\\rb\"@x.org", false, PARSE_INVALID);
	expect_rc("\"a\"", false, PARSE_INVALID);
}

static void
test_source_route(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(parse("@a.org,@b.org:u@c.org", false, &a), PARSE_OK);
	assert_true(a.source_route);
	assert_string_equal(a.local, "u");
	assert_string_equal(a.domain, "c.org");
	smtp_addr_clear(&a);
	expect_ok("@a.org:u@c.org", "u", "c.org");
	expect_ok("@A.org:\"x y\"@[10.0.0.1]", "x y", "[10.0.0.1]");
	expect_rc("@a.org,u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org:", false, PARSE_INVALID);
	expect_rc("@:u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org,:u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org,,@b.org:u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org.:u@c.org", false, PARSE_INVALID);
	expect_rc("@[1.2.3.4]:u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org:@b.org:u@c.org", false, PARSE_INVALID);
	expect_rc("a.org:u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org;u@c.org", false, PARSE_INVALID);
	expect_rc("@a.org", false, PARSE_INVALID);
	expect_rc("@", false, PARSE_INVALID);
}

static void
test_literals(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(parse("u@[127.0.0.1]", false, &a), PARSE_OK);
	assert_true(a.literal);
	assert_string_equal(a.domain, "[127.0.0.1]");
	smtp_addr_clear(&a);
	expect_ok("u@[IPv6:::1]", "u", "[ipv6:::1]");
	expect_ok("u@[ipv6:2001:DB8::A]", "u", "[ipv6:2001:db8::a]");
	expect_ok("u@[IPv6:::ffff:192.0.2.1]", "u", "[ipv6:::ffff:192.0.2.1]");
	expect_rc("u@[127.0.0.256]", false, PARSE_INVALID);
	expect_rc("u@[127.0.0]", false, PARSE_INVALID);
	expect_rc("u@[127.0.0.1", false, PARSE_INVALID);
	expect_rc("u@127.0.0.1]", false, PARSE_INVALID);
	expect_rc("u@[127.0.0.1]x", false, PARSE_INVALID);
	expect_rc("u@[127.0.0.1].org", false, PARSE_INVALID);
	expect_rc("u@[]", false, PARSE_INVALID);
	expect_rc("u@[", false, PARSE_INVALID);
	expect_rc("u@[ 127.0.0.1]", false, PARSE_INVALID);
	expect_rc("u@[::1]", false, PARSE_INVALID);
	expect_rc("u@[IPv6:127.0.0.1]", false, PARSE_INVALID);
	expect_rc("u@[IPv6:::1::2]", false, PARSE_INVALID);
	expect_rc("u@[IPv6:]", false, PARSE_INVALID);
	expect_rc("u@[IPv4:127.0.0.1]", false, PARSE_INVALID);
	expect_rc("u@[x-tag:anything]", false, PARSE_INVALID);
	expect_rc("u@[0x7f.0.0.1]", false, PARSE_INVALID);
	expect_rc("u@[2130706433]", false, PARSE_INVALID);
}

static void
test_relay_tricks(void **state)
{
	(void)state;
	/* The local part is never re-split: '%' and '!' are just atext. */
	expect_ok("u%remote.org@local.org", "u%remote.org", "local.org");
	expect_ok("remote.org!u@local.org", "remote.org!u", "local.org");
	expect_ok("u%remote.org%other@local.org", "u%remote.org%other",
	    "local.org");
	expect_rc("a@b@c", false, PARSE_INVALID);
	expect_rc("u@remote.org@local.org", false, PARSE_INVALID);
	expect_rc("u@local.org%remote.org", false, PARSE_INVALID);
	expect_rc("u@local.org!remote", false, PARSE_INVALID);
	expect_rc("u@local.org:25", false, PARSE_INVALID);
	expect_rc("u@local.org,v@remote.org", false, PARSE_INVALID);
	expect_rc("<u@local.org>", false, PARSE_INVALID);
	expect_rc("u@<local.org>", false, PARSE_INVALID);
	expect_rc("u@local.org;x", false, PARSE_INVALID);
	expect_rc("u;x@local.org", false, PARSE_INVALID);
	expect_rc("u:x@local.org", false, PARSE_INVALID);
	expect_rc("u,x@local.org", false, PARSE_INVALID);
	expect_rc("u x@local.org", false, PARSE_INVALID);
	expect_rc("u(comment)@local.org", false, PARSE_INVALID);
	expect_rc("u\\@x@local.org", false, PARSE_INVALID);
}

static void
test_dots_and_labels(void **state)
{
	(void)state;
	expect_rc("u@x.org.", false, PARSE_INVALID);
	expect_rc("u@.x.org", false, PARSE_INVALID);
	expect_rc("u@x..org", false, PARSE_INVALID);
	expect_rc("u@", false, PARSE_INVALID);
	expect_rc("u@.", false, PARSE_INVALID);
	expect_rc("u@-x.org", false, PARSE_INVALID);
	expect_rc("u@x-.org", false, PARSE_INVALID);
	expect_rc("u@x.-org", false, PARSE_INVALID);
	expect_rc("u@x_y.org", false, PARSE_INVALID);
	expect_rc(".u@x.org", false, PARSE_INVALID);
	expect_rc("u.@x.org", false, PARSE_INVALID);
	expect_rc("u..v@x.org", false, PARSE_INVALID);
	expect_rc("@x.org", false, PARSE_INVALID);
	expect_rc("u", false, PARSE_INVALID);
	expect_rc("u.x.org", false, PARSE_INVALID);
	expect_ok("u@x--y.org", "u", "x--y.org");
	expect_ok("u@xn--bcher-kva.example", "u", "xn--bcher-kva.example");
	expect_ok("u@localhost", "u", "localhost");
}

static void
test_control_bytes(void **state)
{
	(void)state;
	expect_rc("u\r@x.org", false, PARSE_INVALID);
	expect_rc("u@x.org\n", false, PARSE_INVALID);
	expect_rc("\"u\x7f\"@x.org", false, PARSE_INVALID);
	expect_rc("u@x\x01.org", false, PARSE_INVALID);
	{
		struct smtp_addr a;

		assert_int_equal(smtp_addr_parse((struct span){ "u\0v@x.org",
		    9 }, false, &a), PARSE_INVALID);
		assert_int_equal(smtp_addr_parse((struct span){ "u@[1.2.3.4\0]",
		    12 }, false, &a), PARSE_INVALID);
		assert_int_equal(smtp_addr_parse((struct span){
		    "u@[127.0.0.1]\0", 14 }, false, &a), PARSE_INVALID);
	}
}

static void
test_postmaster(void **state)
{
	struct smtp_addr a;
	char *s;

	(void)state;
	assert_int_equal(parse("Postmaster", false, &a), PARSE_OK);
	assert_false(a.null);
	assert_string_equal(a.local, "Postmaster");
	assert_non_null(a.domain);
	assert_string_equal(a.domain, "");
	s = smtp_addr_key(&a);
	assert_string_equal(s, "postmaster@");
	free(s);
	s = smtp_addr_text(&a);
	assert_string_equal(s, "Postmaster");
	free(s);
	smtp_addr_clear(&a);
	/* Case kept as sent; the key folds it. */
	assert_int_equal(parse("POSTMASTER", false, &a), PARSE_OK);
	assert_string_equal(a.local, "POSTMASTER");
	assert_string_equal(a.domain, "");
	smtp_addr_clear(&a);
	expect_ok("postmaster@x.org", "postmaster", "x.org");
	expect_rc("Postmaster@", false, PARSE_INVALID);
	expect_rc("Postmaste", false, PARSE_INVALID);
	expect_rc("\"Postmaster\"", false, PARSE_INVALID);
	expect_rc("@a.org:Postmaster", false, PARSE_INVALID);
	expect_rc("Postmaster ", false, PARSE_INVALID);
}

/* A path with a local part of nl bytes and a domain of labels of ll. */
static enum parse_rc
parse_sized(size_t nl, size_t ndomain, size_t ll)
{
	char *s = malloc(nl + 1 + ndomain + 1);
	struct smtp_addr a;
	enum parse_rc rc;
	size_t i;

	memset(s, 'l', nl);
	s[nl] = '@';
	for (i = 0; i < ndomain; i++)
		s[nl + 1 + i] = (i + 1) % (ll + 1) == 0 ? '.' : 'd';
	s[nl + 1 + ndomain] = '\0';
	rc = smtp_addr_parse((struct span){ s, nl + 1 + ndomain }, false, &a);
	if (rc == PARSE_OK) {
		assert_int_equal(strlen(a.local), nl);
		assert_int_equal(strlen(a.domain), ndomain);
	}
	smtp_addr_clear(&a);
	free(s);
	return rc;
}

static void
test_limits(void **state)
{
	(void)state;
	/* RFC 5321 4.5.3.1.1 local part: 64. */
	assert_int_equal(parse_sized(SMTP_LOCAL_PART_MAX, 5, 63), PARSE_OK);
	assert_int_equal(parse_sized(SMTP_LOCAL_PART_MAX + 1, 5, 63),
	    PARSE_TOO_LONG);
	/* RFC 1035 2.3.4 label: 63. */
	assert_int_equal(parse_sized(1, SMTP_LABEL_MAX, 63), PARSE_OK);
	assert_int_equal(parse_sized(1, SMTP_LABEL_MAX + 1, 63 + 1),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized(1, 64 + 1 + 10, 64), PARSE_TOO_LONG);
	/*
	 * RFC 5321 4.5.3.1.3 path: 254 between the brackets. It binds before
	 * the 255-octet domain of 4.5.3.1.2 can: "l@" + 252 is the longest.
	 */
	assert_int_equal(parse_sized(1, SMTP_PATH_MAX - 4, 63), PARSE_OK);
	assert_int_equal(parse_sized(1, SMTP_PATH_MAX - 3, 63),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized(1, SMTP_DOMAIN_MAX, 63), PARSE_TOO_LONG);
	assert_int_equal(parse_sized(1, SMTP_DOMAIN_MAX + 1, 63),
	    PARSE_TOO_LONG);
	assert_int_equal(parse_sized(64, SMTP_PATH_MAX - 67, 63), PARSE_OK);
	assert_int_equal(parse_sized(64, SMTP_PATH_MAX - 66, 63),
	    PARSE_TOO_LONG);
}

static void
test_quoted_local_limit(void **state)
{
	char s[128];
	struct smtp_addr a;

	(void)state;
	/* Counted unquoted: 64 bytes inside quotes, some escaped, is fine. */
	s[0] = '"';
	memset(s + 1, 'q', 64);
	memcpy(s + 1, "\\\"\\\\", 4);	/* \" and \\ : 2 unquoted bytes */
	memcpy(s + 65, "qq\"@x.org", 10);
	assert_int_equal(parse(s, false, &a), PARSE_OK);
	assert_int_equal(strlen(a.local), 64);
	assert_memory_equal(a.local, "\"\\qq", 4);
	smtp_addr_clear(&a);
	memcpy(s + 65, "qqq\"@x.org", 11);
	assert_int_equal(parse(s, false, &a), PARSE_TOO_LONG);
}

static void
test_too_long_vs_invalid(void **state)
{
	char s[128];

	(void)state;
	/* Malformed wins over long, so replies name the real fault. */
	memset(s, 'l', 70);
	memcpy(s + 70, "@x..org", 8);
	expect_rc(s, false, PARSE_INVALID);
	memcpy(s + 70, "@x.org", 7);
	expect_rc(s, false, PARSE_TOO_LONG);
}

static void
test_key_and_text(void **state)
{
	char *s;

	(void)state;
	s = key_of("Alice.Smith@Example.ORG");
	assert_string_equal(s, "alice.smith@example.org");
	free(s);
	s = text_of("Alice.Smith@Example.ORG");
	assert_string_equal(s, "Alice.Smith@example.org");
	free(s);
	s = text_of("\"a b\"@x.org");
	assert_string_equal(s, "\"a b\"@x.org");
	free(s);
	s = text_of("\"a\\\"b\\\\c\"@x.org");
	assert_string_equal(s, "\"a\\\"b\\\\c\"@x.org");
	free(s);
	s = text_of("\"abc\"@x.org");	/* RFC 5321 4.1.2: SHOULD NOT quote */
	assert_string_equal(s, "abc@x.org");
	free(s);
	s = text_of("\"a..b\"@x.org");
	assert_string_equal(s, "\"a..b\"@x.org");
	free(s);
	s = text_of("\".ab\"@x.org");
	assert_string_equal(s, "\".ab\"@x.org");
	free(s);
	s = text_of("\"a@b\"@x.org");
	assert_string_equal(s, "\"a@b\"@x.org");
	free(s);
	s = key_of("\"A B\"@X.org");
	assert_string_equal(s, "a b@x.org");
	free(s);
	s = text_of("@r.org:U@[IPv6:::1]");
	assert_string_equal(s, "U@[ipv6:::1]");
	free(s);
	s = key_of("U%R.org@L.org");
	assert_string_equal(s, "u%r.org@l.org");
	free(s);
	/* Only ASCII folds: UTF-8 bytes are left as they are. */
	s = key_of("\xc3\x89T\xc3\xa9@X.org");
	assert_string_equal(s, "\xc3\x89t\xc3\xa9@x.org");
	free(s);
}

static void
test_utf8(void **state)
{
	struct smtp_addr a;

	(void)state;
	assert_int_equal(parse("j\xc3\xb6rg@b\xc3\xbc" "cher.example", true,
	    &a), PARSE_OK);
	assert_true(a.utf8);
	assert_string_equal(a.local, "j\xc3\xb6rg");
	assert_string_equal(a.domain, "b\xc3\xbc" "cher.example");
	smtp_addr_clear(&a);
	expect_rc("j\xc3\xb6rg@x.org", false, PARSE_INVALID);
	expect_rc("u@b\xc3\xbc" "cher.example", false, PARSE_INVALID);
	expect_rc("\"j\xc3\xb6 rg\"@x.org", false, PARSE_INVALID);
	expect_rc("\"j\xc3\xb6 rg\"@x.org", true, PARSE_OK);
	expect_rc("\xe4\xbd\xa0\xe5\xa5\xbd@"
	    "\xe4\xbe\x8b.\xe4\xb8\xad\xe5\x9b\xbd", true, PARSE_OK);
	expect_rc("\xf0\x9f\x98\x80@x.org", true, PARSE_OK);	/* U+1F600 */
	expect_rc("\xf4\x8f\xbf\xbf@x.org", true, PARSE_OK);	/* U+10FFFF */
	/* Ill-formed: overlongs (one decodes to '@'), surrogates, beyond
	 * U+10FFFF, lone continuation bytes, truncation, invalid leads. */
	expect_rc("a\xc0\x80" "b@x.org", true, PARSE_INVALID);
	expect_rc("a\xc1\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xe0\x80\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xe0\x9f\xbf@x.org", true, PARSE_INVALID);
	expect_rc("a\xf0\x80\x80\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xf0\x8f\xbf\xbf@x.org", true, PARSE_INVALID);
	expect_rc("a\xed\xa0\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xed\xbf\xbf@x.org", true, PARSE_INVALID);
	expect_rc("a\xf4\x90\x80\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xf5\x80\x80\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\x80@x.org", true, PARSE_INVALID);
	expect_rc("a\xbf@x.org", true, PARSE_INVALID);
	expect_rc("a\xc3@x.org", true, PARSE_INVALID);
	expect_rc("a\xe4\xbd@x.org", true, PARSE_INVALID);
	expect_rc("u@x.org\xc3", true, PARSE_INVALID);
	expect_rc("u@x.or\xf0\x9f\x98", true, PARSE_INVALID);
	expect_rc("a\xfe@x.org", true, PARSE_INVALID);
	expect_rc("a\xff@x.org", true, PARSE_INVALID);
	/* A dropped source route does not make the address need SMTPUTF8. */
	assert_int_equal(parse("@b\xc3\xbc.example:u@x.org", true, &a),
	    PARSE_OK);
	assert_false(a.utf8);
	assert_true(a.source_route);
	smtp_addr_clear(&a);
	expect_rc("@b\xc3\xbc.example:u@x.org", false, PARSE_INVALID);
	/* RFC 6531 widens qtextSMTP, not quoted-pairSMTP. */
	expect_rc("\"a\\\xc3\xa9\"@x.org", true, PARSE_INVALID);
	/* Literals stay ASCII. */
	expect_rc("u@[127.0.0.\xc3\xa9]", true, PARSE_INVALID);
	/* Boundaries that are well-formed. */
	expect_rc("a\xc2\x80@x.org", true, PARSE_OK);
	expect_rc("a\xe0\xa0\x80@x.org", true, PARSE_OK);
	expect_rc("a\xed\x9f\xbf@x.org", true, PARSE_OK);
	expect_rc("a\xee\x80\x80@x.org", true, PARSE_OK);
	expect_rc("a\xf0\x90\x80\x80@x.org", true, PARSE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_source_route),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_relay_tricks),
		cmocka_unit_test(test_dots_and_labels),
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_postmaster),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_quoted_local_limit),
		cmocka_unit_test(test_too_long_vs_invalid),
		cmocka_unit_test(test_key_and_text),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
