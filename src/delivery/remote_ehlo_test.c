/*
 * Tests for delivery/remote_ehlo: EHLO replies, parsed by smtp_reply, read
 * for the extensions the outbound client uses (RFC 5321 4.1.1.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "delivery/remote_ehlo.h"

static struct remote_ehlo
parse(const char *wire)
{
	struct smtp_resp r;
	struct remote_ehlo e;
	size_t used;

	smtp_resp_init(&r);
	assert_int_equal(smtp_resp_feed(&r, wire, strlen(wire), &used),
	    PARSE_OK);
	remote_ehlo_parse(&r, &e);
	smtp_resp_clear(&r);
	return e;
}

static void
test_everything_offered(void **state)
{
	struct remote_ehlo e = parse("250-mx.example.net at your service\r\n"
	    "250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
	    "250-STARTTLS\r\n250-SMTPUTF8\r\n250 AUTH LOGIN PLAIN\r\n");

	(void)state;
	assert_true(e.pipelining && e.eightbitmime && e.starttls && e.smtputf8);
	assert_true(e.size);
	assert_int_equal(e.size_max, 10240000);
	assert_true(e.auth_plain);
}

static void
test_nothing_offered(void **state)
{
	struct remote_ehlo e = parse("250 mx.example.net PIPELINING STARTTLS\r\n");

	(void)state;
	/* The first line names the server: no keyword there counts. */
	assert_false(e.pipelining || e.starttls || e.size || e.auth_plain);
	e = parse("502 5.5.1 PIPELINING\r\n");
	assert_false(e.pipelining);
}

static void
test_case_and_enhanced_codes(void **state)
{
	struct remote_ehlo e = parse("250-2.0.0 mx\r\n250-2.0.0 pipelining\r\n"
	    "250-2.0.0 auth CRAM-MD5  plain\r\n250 2.0.0 starttls\r\n");

	(void)state;
	assert_true(e.pipelining && e.starttls && e.auth_plain);
}

static void
test_auth_without_plain(void **state)
{
	struct remote_ehlo e = parse("250-mx\r\n250-AUTH LOGIN PLAINTEXT\r\n"
	    "250 AUTH=PLAIN\r\n");

	(void)state;
	assert_false(e.auth_plain);	/* AUTH=PLAIN is the obsolete form */
}

static void
test_size_parameter(void **state)
{
	(void)state;
	assert_true(parse("250-mx\r\n250 SIZE\r\n").size);
	assert_int_equal(parse("250-mx\r\n250 SIZE\r\n").size_max, 0);
	assert_int_equal(parse("250-mx\r\n250 SIZE 0\r\n").size_max, 0);
	assert_int_equal(parse("250-mx\r\n250 SIZE 12x\r\n").size_max, 0);
	assert_int_equal(parse("250-mx\r\n250 SIZE -1\r\n").size_max, 0);
	/* 20 digits: the largest uint64_t fits, one more does not. */
	assert_true(parse("250-mx\r\n250 SIZE 18446744073709551615\r\n")
	    .size_max == UINT64_MAX);
	assert_int_equal(parse("250-mx\r\n250 SIZE 18446744073709551616\r\n")
	    .size_max, 0);
	assert_int_equal(parse("250-mx\r\n250 SIZE 000000000000000000001\r\n")
	    .size_max, 0);	/* 21 digits */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everything_offered),
		cmocka_unit_test(test_nothing_offered),
		cmocka_unit_test(test_case_and_enhanced_codes),
		cmocka_unit_test(test_auth_without_plain),
		cmocka_unit_test(test_size_parameter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
