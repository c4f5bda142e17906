/*
 * Unit tests for core/cidr: IPv4 and IPv6 parsing at the prefix bounds,
 * host-bit strictness, matching (mapped addresses included) and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"

static struct sockaddr_storage
sa_make(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return ss;
}

/* Parses net strictly and matches ip against it. */
static bool
match(const char *net, const char *ip)
{
	struct sockaddr_storage ss = sa_make(ip);
	struct cidr c;

	assert_int_equal(cidr_parse(net, false, &c), 0);
	return cidr_match(&c, (struct sockaddr *)&ss);
}

static const char *
fmt(const char *net, bool lenient)
{
	static char out[64];
	struct cidr c;

	assert_int_equal(cidr_parse(net, lenient, &c), 0);
	cidr_format(&c, out, sizeof(out));
	return out;
}

static void
test_parse_v4(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", false, &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	assert_int_equal(c.addr[0], 10);
	assert_string_equal(fmt("192.0.2.7", false), "192.0.2.7/32");
	assert_string_equal(fmt("0.0.0.0/0", false), "0.0.0.0/0");
	assert_string_equal(fmt("192.0.2.7/32", false), "192.0.2.7/32");
}

static void
test_parse_v6(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("::1/128", false, &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 128);
	assert_string_equal(fmt("2001:db8::/32", false), "2001:db8::/32");
	assert_string_equal(fmt("::1", false), "::1/128");
	assert_string_equal(fmt("::/0", false), "::/0");
	assert_string_equal(fmt("2001:db8::1/128", false), "2001:db8::1/128");
}

static void
test_parse_bad(void **state)
{
	struct cidr c;
	static const char *const bad[] = {
		"10.0.0.0/33", "::/129", "abc", "", "/8", "10.0.0.0/",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0.0/8 ",
		" 10.0.0.0/8", "10.0.0/8", "010.0.0.0/8", "10.0.0.0/0008",
		"10.0.0.0/8/8", "fe80::1%eth0", "1.2.3.4.5", "::1/1a",
		"2001:db8::/32x", "example.org/24",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cidr_parse(bad[i], false, &c), -1);
		assert_int_equal(cidr_parse(bad[i], true, &c), -1);
	}
	assert_int_equal(cidr_parse(NULL, true, &c), -1);
}

static void
test_host_bits(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("1.2.3.4/8", false, &c), -1);
	assert_string_equal(fmt("1.2.3.4/8", true), "1.0.0.0/8");
	assert_string_equal(fmt("10.1.2.255/23", true), "10.1.2.0/23");
	assert_int_equal(cidr_parse("10.1.3.0/23", false, &c), -1);
	assert_int_equal(cidr_parse("2001:db8::1/64", false, &c), -1);
	assert_string_equal(fmt("2001:db8::1/64", true), "2001:db8::/64");
	assert_string_equal(fmt("2001:db8:ffff::/33", true), "2001:db8:8000::/33");
	assert_int_equal(cidr_parse("0.0.0.1/0", false, &c), -1);
	assert_string_equal(fmt("255.255.255.255/0", true), "0.0.0.0/0");
}

static void
test_match_v4(void **state)
{
	(void)state;
	assert_true(match("10.0.0.0/8", "10.255.1.2"));
	assert_false(match("10.0.0.0/8", "11.0.0.1"));
	assert_true(match("192.0.2.7/32", "192.0.2.7"));
	assert_false(match("192.0.2.7/32", "192.0.2.8"));
	assert_true(match("192.0.2.7", "192.0.2.7"));
	assert_true(match("0.0.0.0/0", "203.0.113.9"));
	assert_true(match("10.1.2.0/23", "10.1.3.255"));
	assert_false(match("10.1.2.0/23", "10.1.4.0"));
	/* Families do not mix. */
	assert_false(match("0.0.0.0/0", "2001:db8::1"));
}

static void
test_match_v6(void **state)
{
	(void)state;
	assert_true(match("::1/128", "::1"));
	assert_false(match("::1/128", "::2"));
	assert_true(match("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(match("2001:db8::/32", "2001:db9::1"));
	assert_true(match("::/0", "2001:db8::1"));
	assert_true(match("2001:db8:8000::/33", "2001:db8:8000::1"));
	assert_false(match("2001:db8:8000::/33", "2001:db8:7fff::1"));
	assert_false(match("::/0", "192.0.2.1"));
}

static void
test_match_mapped(void **state)
{
	(void)state;
	/* A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d. */
	assert_true(match("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_true(match("192.0.2.7/32", "::ffff:192.0.2.7"));
	assert_false(match("10.0.0.0/8", "::ffff:11.0.0.1"));
	assert_true(match("0.0.0.0/0", "::ffff:203.0.113.1"));
	/* A network written in mapped form covers plain IPv4 clients too. */
	assert_true(match("::ffff:10.0.0.0/104", "10.1.2.3"));
	assert_true(match("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"));
	assert_false(match("::ffff:10.0.0.0/104", "11.1.2.3"));
	/* Not mapped: IPv4-compatible and NAT64 addresses stay IPv6. */
	assert_false(match("127.0.0.0/8", "::127.0.0.1"));
	assert_false(match("127.0.0.0/8", "64:ff9b::127.0.0.1"));
}

static void
test_list(void **state)
{
	struct cidr_list l = { 0 };
	struct sockaddr_storage a = sa_make("::1"), b = sa_make("10.0.0.1");
	struct sockaddr_storage u;

	(void)state;
	assert_false(cidr_list_match(&l, (struct sockaddr *)&a));
	l.v = calloc(2, sizeof(*l.v));
	assert_non_null(l.v);
	assert_int_equal(cidr_parse("127.0.0.0/8", false, &l.v[0]), 0);
	assert_int_equal(cidr_parse("::1/128", false, &l.v[1]), 0);
	l.n = 2;
	assert_true(cidr_list_match(&l, (struct sockaddr *)&a));
	assert_false(cidr_list_match(&l, (struct sockaddr *)&b));
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	assert_false(cidr_list_match(&l, (struct sockaddr *)&u));
	assert_false(cidr_match(&l.v[0], NULL));
	cidr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	cidr_list_free(&l);
}

static void
test_ip_text(void **state)
{
	struct sockaddr_storage s;
	char out[64];

	(void)state;
	s = sa_make("192.0.2.7");
	sockaddr_ip_text((struct sockaddr *)&s, out, sizeof(out));
	assert_string_equal(out, "192.0.2.7");
	s = sa_make("::ffff:192.0.2.7");
	sockaddr_ip_text((struct sockaddr *)&s, out, sizeof(out));
	assert_string_equal(out, "192.0.2.7");
	s = sa_make("2001:db8::1");
	sockaddr_ip_text((struct sockaddr *)&s, out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
	memset(&s, 0, sizeof(s));
	s.ss_family = AF_UNIX;
	sockaddr_ip_text((struct sockaddr *)&s, out, sizeof(out));
	assert_string_equal(out, "unknown");
	sockaddr_ip_text(NULL, out, sizeof(out));
	assert_string_equal(out, "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_match_v4),
		cmocka_unit_test(test_match_v6),
		cmocka_unit_test(test_match_mapped),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_ip_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
