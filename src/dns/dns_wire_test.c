/*
 * Unit tests for dns/dns_wire: names at 255 wire bytes and 256, labels at
 * 63 and 64, compression refused, MX and null MX, TXT joining and its
 * 4096-byte ceiling, A/AAAA lengths, reverse names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns/dns_wire.h"

/* A wire name of exactly `total` bytes (incl. the root byte) made of
 * labels of at most `label` bytes of 'a'. */
static size_t
name_sized(uint8_t *w, size_t total, size_t label)
{
	size_t pos = 0, n;

	while (total - pos > 1) {
		n = total - pos - 2;	/* length byte + room for the root */
		if (n > label)
			n = label;
		if (n == 0)
			n = 1;
		w[pos++] = (uint8_t)n;
		memset(w + pos, 'a', n);
		pos += n;
	}
	w[pos++] = 0;
	return pos;
}

static void
test_name_basic(void **state)
{
	static const uint8_t w[] = "\3mx1\7example\3net";	/* + NUL = root */
	char name[DNS_NAME_BUF];
	size_t used;

	(void)state;
	assert_int_equal(dns_wire_name(w, sizeof(w), name, &used), 0);
	assert_string_equal(name, "mx1.example.net");
	assert_int_equal(used, sizeof(w));
	assert_int_equal(dns_wire_name((const uint8_t *)"", 1, name, &used), 0);
	assert_string_equal(name, "");
	assert_int_equal(used, 1);
	/* Truncated: label past the end, missing root, empty input. */
	assert_int_equal(dns_wire_name(w, 5, name, &used), -1);
	assert_int_equal(dns_wire_name(w, sizeof(w) - 1, name, &used), -1);
	assert_int_equal(dns_wire_name(w, 0, name, &used), -1);
}

static void
test_name_refused(void **state)
{
	static const uint8_t ptr[] = { 0xc0, 0x0c };
	static const uint8_t ext[] = { 0x41, 'a', 0 };
	static const uint8_t dot[] = { 3, 'a', '.', 'b', 0 };
	static const uint8_t sp[] = { 3, 'a', ' ', 'b', 0 };
	static const uint8_t nul[] = { 3, 'a', 0, 'b', 0 };
	char name[DNS_NAME_BUF];
	size_t used;

	(void)state;
	assert_int_equal(dns_wire_name(ptr, sizeof(ptr), name, &used), -1);
	assert_int_equal(dns_wire_name(ext, sizeof(ext), name, &used), -1);
	assert_int_equal(dns_wire_name(dot, sizeof(dot), name, &used), -1);
	assert_int_equal(dns_wire_name(sp, sizeof(sp), name, &used), -1);
	assert_int_equal(dns_wire_name(nul, sizeof(nul), name, &used), -1);
}

static void
test_name_limits(void **state)
{
	uint8_t w[400];
	char name[DNS_NAME_BUF];
	size_t used, n;

	(void)state;
	n = name_sized(w, DNS_NAME_WIRE_MAX, 63);
	assert_int_equal(n, DNS_NAME_WIRE_MAX);
	assert_int_equal(dns_wire_name(w, n, name, &used), 0);
	assert_int_equal(used, n);
	assert_int_equal(strlen(name), DNS_NAME_TEXT_MAX);
	n = name_sized(w, DNS_NAME_WIRE_MAX + 1, 63);
	assert_int_equal(dns_wire_name(w, n, name, &used), -1);
	/* Label of 63 bytes is fine, 64 is not. */
	n = name_sized(w, 65, 63);
	assert_int_equal(dns_wire_name(w, n, name, &used), 0);
	w[0] = 64;
	memset(w + 1, 'a', 64);
	w[65] = 0;
	assert_int_equal(dns_wire_name(w, 66, name, &used), -1);
}

static void
test_mx(void **state)
{
	static const uint8_t mx[] = "\0\12\3mx1\7example\3net";
	static const uint8_t null_mx[] = { 0, 0, 0 };
	static const uint8_t trailing[] = { 0, 5, 1, 'a', 0, 'x' };
	char host[DNS_NAME_BUF];
	unsigned pref;

	(void)state;
	assert_int_equal(dns_wire_mx(mx, sizeof(mx), &pref, host), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(host, "mx1.example.net");
	assert_int_equal(dns_wire_mx(null_mx, sizeof(null_mx), &pref, host), 0);
	assert_int_equal(pref, 0);
	assert_string_equal(host, "");
	assert_int_equal(dns_wire_mx(mx, 2, &pref, host), -1);
	assert_int_equal(dns_wire_mx(trailing, sizeof(trailing), &pref, host), -1);
	assert_int_equal(dns_wire_ptr(mx + 2, sizeof(mx) - 2, host), 0);
	assert_string_equal(host, "mx1.example.net");
	assert_int_equal(dns_wire_ptr(trailing + 2, 4, host), -1);
}

static void
test_txt(void **state)
{
	static const uint8_t two[] = "\7v=spf1 \4-all";
	static const uint8_t runs_over[] = { 5, 'a', 'b' };
	static const uint8_t with_nul[] = { 3, 'a', 0, 'b' };
	uint8_t big[DNS_TXT_MAX + 64];
	size_t pos = 0;
	struct buf b;

	(void)state;
	buf_init(&b, DNS_TXT_MAX);
	assert_int_equal(dns_wire_txt(two, sizeof(two) - 1, &b), 0);
	assert_string_equal(buf_cstr(&b), "v=spf1 -all");
	assert_int_equal(dns_wire_txt((const uint8_t *)"\0", 1, &b), 0);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(dns_wire_txt(two, 0, &b), -1);
	assert_int_equal(dns_wire_txt(runs_over, sizeof(runs_over), &b), -1);
	assert_int_equal(dns_wire_txt(with_nul, sizeof(with_nul), &b), -1);
	/* Joined text of exactly DNS_TXT_MAX, then one byte more. */
	while (pos + 256 <= (DNS_TXT_MAX / 255) * 256) {
		big[pos] = 255;
		memset(big + pos + 1, 'x', 255);
		pos += 256;
	}
	big[pos] = DNS_TXT_MAX % 255;
	memset(big + pos + 1, 'y', DNS_TXT_MAX % 255);
	assert_int_equal(dns_wire_txt(big, pos + 1 + DNS_TXT_MAX % 255, &b), 0);
	assert_int_equal(b.len, DNS_TXT_MAX);
	big[pos]++;
	big[pos + 1 + DNS_TXT_MAX % 255] = 'z';
	assert_int_equal(dns_wire_txt(big, pos + 2 + DNS_TXT_MAX % 255, &b), -1);
	buf_free(&b);
}

static void
test_addr(void **state)
{
	static const uint8_t v4[4] = { 127, 0, 0, 1 };
	static const uint8_t v6[16] = { [15] = 1 };
	struct sockaddr_storage ss;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(dns_wire_addr(v4, 4, AF_INET, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1");
	assert_int_equal(dns_wire_addr(v6, 16, AF_INET6, &ss), 0);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "::1");
	assert_int_equal(dns_wire_addr(v4, 3, AF_INET, &ss), -1);
	assert_int_equal(dns_wire_addr(v6, 4, AF_INET6, &ss), -1);
	assert_int_equal(dns_wire_addr(v4, 4, AF_UNIX, &ss), -1);
}

static void
test_ptr_name(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	char out[80];

	(void)state;
	inet_pton(AF_INET, "192.0.2.10", &sin.sin_addr);
	assert_int_equal(dns_wire_ptr_name((struct sockaddr *)&sin, out, sizeof(out)), 0);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	inet_pton(AF_INET6, "2001:db8::567:89ab", &sin6.sin6_addr);
	assert_int_equal(dns_wire_ptr_name((struct sockaddr *)&sin6, out, sizeof(out)), 0);
	assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(dns_wire_ptr_name((struct sockaddr *)&sin6, out, 73), 0);
	assert_int_equal(dns_wire_ptr_name((struct sockaddr *)&sin6, out, 72), -1);
	assert_int_equal(dns_wire_ptr_name((struct sockaddr *)&sin, out, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_basic),
		cmocka_unit_test(test_name_refused),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_mx),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_ptr_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
