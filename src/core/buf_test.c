/*
 * Unit tests for core/buf: ceilings at max and max + 1, consume, printf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/buf.h"

static void
test_append_at_max(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(b.len, 8);
	assert_false(b.overflowed);
	assert_int_equal(buf_append(&b, "9", 1), -1);
	assert_true(b.overflowed);
	assert_string_equal(b.data, "12345678");
	buf_free(&b);
}

static void
test_consume_and_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_printf(&b, "%s=%d", "x", 42), 0);
	assert_string_equal(buf_cstr(&b), "x=42");
	buf_consume(&b, 2);
	assert_string_equal(buf_cstr(&b), "42");
	assert_int_equal(buf_printf(&b, "%0100d", 1), -1);
	buf_wipe(&b);
	assert_null(b.data);
}

static void
test_span_helpers(void **state)
{
	struct span s = span_trim(SPAN_LIT("  MAIL \t"));

	(void)state;
	assert_true(span_eq_nocase(s, "mail"));
	assert_true(span_startswith_nocase(s, "MA"));
	assert_false(span_eq_nocase(s, "mai"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_at_max),
		cmocka_unit_test(test_consume_and_printf),
		cmocka_unit_test(test_span_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
