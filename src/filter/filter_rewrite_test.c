/*
 * Unit tests for filter/filter_rewrite: each milter header change (add,
 * insert at the top, in the middle and past the end, change the n-th of a
 * name, delete, change of a missing field), folded fields kept whole,
 * changes applied in order, and the field-count limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "filter/filter_rewrite.h"

#define HDR	"Received: from a\n\tby b\nSubject: hi\nX-A: 1\nX-A: 2\nTo: x@y\n"

static void
check(const struct milter_mod *mods, size_t n, const char *want)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	assert_int_equal(filter_headers_apply(HDR, strlen(HDR), mods, n, &out), 0);
	buf_append(&out, "", 1);
	assert_string_equal(out.data, want);
	buf_free(&out);
}

#define MOD(k, i, n, v)	{ .kind = (k), .index = (i), .name = (char *)(n), \
			  .value = (char *)(v) }

static void
test_no_change(void **state)
{
	(void)state;
	check(NULL, 0, HDR);
}

static void
test_add(void **state)
{
	struct milter_mod m[] = { MOD(MILTER_MOD_ADD_HEADER, 0, "X-Spam", "yes") };

	(void)state;
	check(m, 1, HDR "X-Spam: yes\n");
}

static void
test_insert(void **state)
{
	struct milter_mod top[] = { MOD(MILTER_MOD_INSERT_HEADER, 0, "X-T", "0") };
	struct milter_mod mid[] = { MOD(MILTER_MOD_INSERT_HEADER, 2, "X-M", "2") };
	struct milter_mod end[] = { MOD(MILTER_MOD_INSERT_HEADER, 99, "X-E", "9") };

	(void)state;
	check(top, 1, "X-T: 0\n" HDR);
	/* The folded Received: is one field. */
	check(mid, 1, "Received: from a\n\tby b\nSubject: hi\nX-M: 2\n"
	    "X-A: 1\nX-A: 2\nTo: x@y\n");
	check(end, 1, HDR "X-E: 9\n");
}

static void
test_change_and_delete(void **state)
{
	struct milter_mod second[] = { MOD(MILTER_MOD_CHANGE_HEADER, 2, "x-a", "two") };
	struct milter_mod del[] = { MOD(MILTER_MOD_CHANGE_HEADER, 1, "X-A", "") };
	struct milter_mod missing[] = { MOD(MILTER_MOD_CHANGE_HEADER, 3, "X-A", "3") };
	struct milter_mod del_missing[] = { MOD(MILTER_MOD_CHANGE_HEADER, 1, "X-Z", "") };

	(void)state;
	check(second, 1, "Received: from a\n\tby b\nSubject: hi\nX-A: 1\n"
	    "x-a: two\nTo: x@y\n");
	check(del, 1, "Received: from a\n\tby b\nSubject: hi\nX-A: 2\nTo: x@y\n");
	check(missing, 1, HDR "X-A: 3\n");
	check(del_missing, 1, HDR);
}

static void
test_in_order_and_others_skipped(void **state)
{
	struct milter_mod m[] = {
		MOD(MILTER_MOD_ADD_HEADER, 0, "X-B", "1"),
		MOD(MILTER_MOD_ADD_RCPT, 0, NULL, "z@z"),
		MOD(MILTER_MOD_CHANGE_HEADER, 1, "X-B", "2"),
		MOD(MILTER_MOD_CHANGE_HEADER, 1, "Subject", ""),
	};

	(void)state;
	check(m, 4, "Received: from a\n\tby b\nX-A: 1\nX-A: 2\nTo: x@y\nX-B: 2\n");
}

static void
test_value_cannot_add_a_field(void **state)
{
	struct milter_mod m[] = { MOD(MILTER_MOD_ADD_HEADER, 0, "X-I",
	    "a\r\nBcc: victim@example.com") };

	(void)state;
	check(m, 1, HDR "X-I: a  Bcc: victim@example.com\n");
}

static void
test_field_limit(void **state)
{
	struct buf hdr, out;
	struct milter_mod m[] = { MOD(MILTER_MOD_ADD_HEADER, 0, "X-L", "1") };

	(void)state;
	buf_init(&hdr, 1 << 20);
	buf_init(&out, 1 << 20);
	for (size_t i = 0; i < FILTER_FIELDS_MAX; i++)
		buf_append_str(&hdr, "X: y\n");
	assert_int_equal(filter_headers_apply(hdr.data, hdr.len, NULL, 0, &out), 0);
	buf_reset(&out);
	assert_int_equal(filter_headers_apply(hdr.data, hdr.len, m, 1, &out), -1);
	buf_free(&hdr);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_change),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_change_and_delete),
		cmocka_unit_test(test_in_order_and_others_skipped),
		cmocka_unit_test(test_value_cannot_add_a_field),
		cmocka_unit_test(test_field_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
