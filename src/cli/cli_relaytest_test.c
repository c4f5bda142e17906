/*
 * Unit tests for cli/cli_relaytest_tricks: the battery built from a target
 * (every placeholder filled, duplicates dropped when host == domain, the
 * NUL trick kept byte for byte, commands within RFC 5321 4.5.3.1.4), the
 * names taken from a greeting, and the escaping of the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_relaytest.h"
#include "cli/cli_util.h"
#include "core/limits.h"

static const struct relaytest_target target = {
	.local = "relay-test", .foreign = "relay-test.example",
	.sender = "relay-test@relay-test.example", .host = "mx.example.org",
	.domain = "example.org", .literal = "[127.0.0.1]",
};

static const struct relaytest_trick *
find(const struct relaytest_trick *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static void
assert_rcpt(const struct relaytest_trick *t, size_t n, const char *name,
    const char *rcpt, size_t len)
{
	const struct relaytest_trick *k = find(t, n, name);

	assert_non_null(k);
	assert_int_equal(k->rcpt.len, len);
	assert_memory_equal(k->rcpt.data, rcpt, len);
}

#define RCPT(t, n, name, lit) assert_rcpt(t, n, name, lit, sizeof(lit) - 1)

static void
test_battery(void **state)
{
	struct relaytest_trick t[RELAYTEST_TRICKS_MAX];
	size_t n = relaytest_tricks(&target, t);

	(void)state;
	assert_true(n >= 50);
	RCPT(t, n, "plain foreign address", "RCPT TO:<relay-test@relay-test.example>");
	RCPT(t, n, "percent hack", "RCPT TO:<relay-test%relay-test.example@example.org>");
	RCPT(t, n, "percent hack via the host name",
	    "RCPT TO:<relay-test%relay-test.example@mx.example.org>");
	RCPT(t, n, "source route", "RCPT TO:<@example.org:relay-test@relay-test.example>");
	RCPT(t, n, "bang path without a domain", "RCPT TO:<relay-test.example!relay-test>");
	RCPT(t, n, "upper case", "RCPT TO:<RELAY-TEST@RELAY-TEST.EXAMPLE>");
	RCPT(t, n, "mixed case", "RCPT TO:<ReLaY-TeSt@ReLaY-TeSt.eXaMpLe>");
	RCPT(t, n, "empty label in the domain", "RCPT TO:<relay-test@relay-test..example>");
	RCPT(t, n, "look-alike of the local domain", "RCPT TO:<relay-test@\xd0\xb5xample.org>");
	RCPT(t, n, "NUL in the path",
	    "RCPT TO:<relay-test@relay-test.example\0@example.org>");
	RCPT(t, n, "address literal of the target", "RCPT TO:<relay-test@[127.0.0.1]>");
	RCPT(t, n, "no angle brackets", "RCPT TO:relay-test@relay-test.example");
	RCPT(t, n, "space before the path", "RCPT TO: <relay-test@relay-test.example>");
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].rcpt.len + 2 <= SMTP_CMD_LINE_MAX);
		assert_null(strchr(t[i].helo, '{'));
		assert_null(memchr(t[i].rcpt.data, '{', t[i].rcpt.len));
		assert_true(strncmp(t[i].helo, "EHLO ", 5) == 0 ||
		    strncmp(t[i].helo, "HELO ", 5) == 0);
		assert_true(strncmp(t[i].mail, "MAIL FROM:<", 11) == 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(t[i].name, t[j].name);
	}
	assert_string_equal(find(t, n, "null sender")->mail, "MAIL FROM:<>");
	assert_string_equal(find(t, n, "sender in the local domain")->mail,
	    "MAIL FROM:<postmaster@example.org>");
	assert_false(find(t, n, "sender in the local domain")->foreign_sender);
	assert_true(find(t, n, "plain foreign address")->foreign_sender);
	assert_string_equal(find(t, n, "HELO instead of EHLO")->helo,
	    "HELO relay-test.example");
	assert_string_equal(find(t, n, "EHLO with the target's own name")->helo,
	    "EHLO mx.example.org");
	relaytest_tricks_free(t, n);
}

static void
test_host_equal_to_domain_drops_repeats(void **state)
{
	struct relaytest_trick a[RELAYTEST_TRICKS_MAX], b[RELAYTEST_TRICKS_MAX];
	struct relaytest_target same = target;
	size_t na, nb;

	(void)state;
	same.host = same.domain = "example.org";
	na = relaytest_tricks(&target, a);
	nb = relaytest_tricks(&same, b);
	assert_true(nb < na);
	assert_null(find(b, nb, "percent hack via the host name"));
	assert_null(find(b, nb, "sender at the host name"));
	assert_non_null(find(b, nb, "percent hack"));
	relaytest_tricks_free(a, na);
	relaytest_tricks_free(b, nb);
}

/* Found by cli_relaytest_fuzz: names long enough to push some commands
 * past 512 octets ended in fatal("bad template"). */
static void
test_long_names_drop_tricks(void **state)
{
	struct relaytest_trick t[RELAYTEST_TRICKS_MAX];
	struct relaytest_target big = target;
	char host[SMTP_DOMAIN_MAX + 1];
	size_t n;

	(void)state;
	memset(host, 'a', sizeof(host) - 1);
	/* "aa." then labels of 60: a host of 255 and a domain of 252. */
	host[2] = '.';
	for (size_t i = 63; i < sizeof(host) - 1; i += 61)
		host[i] = '.';
	host[sizeof(host) - 1] = '\0';
	big.host = host;
	big.domain = host + 3;
	n = relaytest_tricks(&big, t);
	assert_true(n > 10);
	assert_non_null(find(t, n, "plain foreign address"));
	assert_null(find(t, n, "multi-hop source route"));
	for (size_t i = 0; i < n; i++)
		assert_true(t[i].rcpt.len + 2 <= SMTP_CMD_LINE_MAX);
	relaytest_tricks_free(t, n);
}

static void
test_greeting_names(void **state)
{
	char *host, *domain;

	(void)state;
	assert_int_equal(relaytest_greeting_names("MX.Example.ORG ESMTP", &host,
	    &domain), 0);
	assert_string_equal(host, "mx.example.org");
	assert_string_equal(domain, "example.org");
	free(host);
	free(domain);
	assert_int_equal(relaytest_greeting_names("example.org\nsecond line",
	    &host, &domain), 0);
	assert_string_equal(host, "example.org");
	assert_string_equal(domain, "example.org");
	free(host);
	free(domain);
	assert_int_equal(relaytest_greeting_names("a.b.c.example.net", &host,
	    &domain), 0);
	assert_string_equal(domain, "b.c.example.net");
	free(host);
	free(domain);
	/* Not a name: no dot, an address literal, nothing, junk. */
	assert_int_equal(relaytest_greeting_names("localhost ESMTP", &host,
	    &domain), -1);
	assert_null(host);
	assert_null(domain);
	assert_int_equal(relaytest_greeting_names("[192.0.2.1] hi", &host,
	    &domain), -1);
	assert_int_equal(relaytest_greeting_names("", &host, &domain), -1);
	assert_int_equal(relaytest_greeting_names(" mx.example.org", &host,
	    &domain), -1);
	assert_int_equal(relaytest_greeting_names("mx..example.org", &host,
	    &domain), -1);
	assert_int_equal(relaytest_greeting_names("mx.exa\x1bmple.org", &host,
	    &domain), -1);
}

static void
test_show_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	cli_escape(&b, "a\0b\t\x7f\xc3\xa4 \"\\", 10);
	assert_string_equal(buf_cstr(&b), "a\\x00b\\x09\\x7f\\xc3\\xa4 \"\\");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_battery),
		cmocka_unit_test(test_host_equal_to_domain_drops_repeats),
		cmocka_unit_test(test_long_names_drop_tricks),
		cmocka_unit_test(test_greeting_names),
		cmocka_unit_test(test_show_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
