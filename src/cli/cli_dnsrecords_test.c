/*
 * Unit tests for cli/cli_dnsrecords_text: the DMARC record test of
 * RFC 7489 6.4 (tag name case-insensitive, blanks around '=', the value
 * exact) and the zone-file text of the advised records (RFC 1035 5.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli_dnsrecords.h"

static bool
dmarc(const char *s)
{
	return dnsrecords_is_dmarc(s, strlen(s));
}

static void
test_is_dmarc(void **state)
{
	(void)state;
	assert_true(dmarc("v=DMARC1"));
	assert_true(dmarc("v=DMARC1;"));
	assert_true(dmarc("v=DMARC1; p=none"));
	assert_true(dmarc("V=DMARC1;p=reject"));
	assert_true(dmarc("v = DMARC1 ; p=none"));
	assert_true(dmarc("v\t=\tDMARC1"));
	assert_false(dmarc(""));
	assert_false(dmarc("v"));
	assert_false(dmarc("v="));
	assert_false(dmarc("v=DMARC"));
	assert_false(dmarc("v=dmarc1"));	/* the value is exact */
	assert_false(dmarc("v=DMARC10"));
	assert_false(dmarc("v=DMARC1x; p=none"));
	assert_false(dmarc(" v=DMARC1"));	/* v must come first */
	assert_false(dmarc("p=none; v=DMARC1"));
	assert_false(dmarc("v=spf1 -all"));
	/* Length, not the NUL, ends the record. */
	assert_true(dnsrecords_is_dmarc("v=DMARC1xyz", 8));
	assert_false(dnsrecords_is_dmarc("v=DMARC1", 7));
}

static void
test_record_text(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	dnsrecords_dmarc_text(&b, "example.org");
	assert_string_equal(buf_cstr(&b),
	    "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org");
	assert_true(dnsrecords_is_dmarc(b.data, b.len));
	buf_reset(&b);
	dnsrecords_zone_quote(&b, "a\"b\\c\x01\xc3\xa4", 8);
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\001\\195\\164\"");
	buf_reset(&b);
	dnsrecords_zone_quote(&b, DNSRECORDS_SPF, strlen(DNSRECORDS_SPF));
	assert_string_equal(buf_cstr(&b), "\"v=spf1 mx -all\"");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_dmarc),
		cmocka_unit_test(test_record_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
