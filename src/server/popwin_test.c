/*
 * Unit tests for server/popwin: open, extend, expiry, IPv4 and IPv6 keys
 * (an IPv4 address and its mapped form are one key), bad input, and
 * eviction of a full table (expired first, then the oldest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "server/popwin.h"

static void
test_open_and_expire(void **state)
{
	struct popwin *w = popwin_new(16);

	(void)state;
	assert_false(popwin_open_at(w, "192.0.2.1", 100));
	assert_int_equal(popwin_open(w, "192.0.2.1", 100, 60), 0);
	assert_true(popwin_open_at(w, "192.0.2.1", 100));
	assert_true(popwin_open_at(w, "192.0.2.1", 159));
	assert_false(popwin_open_at(w, "192.0.2.1", 160));
	assert_false(popwin_open_at(w, "192.0.2.2", 100));
	/* A later login extends it. */
	assert_int_equal(popwin_open(w, "192.0.2.1", 150, 60), 0);
	assert_true(popwin_open_at(w, "192.0.2.1", 200));
	assert_int_equal(popwin_count(w), 1);
	popwin_free(&w);
	assert_null(w);
}

static void
test_keys(void **state)
{
	struct popwin *w = popwin_new(16);

	(void)state;
	assert_int_equal(popwin_open(w, "2001:db8::1", 0, 10), 0);
	assert_true(popwin_open_at(w, "2001:DB8:0::1", 5));
	assert_int_equal(popwin_open(w, "198.51.100.7", 0, 10), 0);
	assert_true(popwin_open_at(w, "::ffff:198.51.100.7", 5));
	assert_int_equal(popwin_open(w, "not an ip", 0, 10), -1);
	assert_int_equal(popwin_open(w, "", 0, 10), -1);
	assert_false(popwin_open_at(w, "not an ip", 5));
	popwin_free(&w);
}

static void
test_full_evicts_expired_then_oldest(void **state)
{
	struct popwin *w = popwin_new(4);
	char ip[32];

	(void)state;
	/* .0 expires at 10, .1 at 111, .2 at 112, .3 at 113. */
	assert_int_equal(popwin_open(w, "10.0.0.0", 0, 10), 0);
	for (int i = 1; i < 4; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		assert_int_equal(popwin_open(w, ip, 10 + i, 100), 0);
	}
	assert_int_equal(popwin_count(w), 4);
	/* At 50 the expired .0 makes room. */
	assert_int_equal(popwin_open(w, "10.0.0.9", 50, 100), 0);
	assert_int_equal(popwin_count(w), 4);
	assert_true(popwin_open_at(w, "10.0.0.9", 60));
	assert_true(popwin_open_at(w, "10.0.0.1", 60));
	/* Nothing expired: the oldest (.1) goes. */
	assert_int_equal(popwin_open(w, "10.0.0.10", 60, 100), 0);
	assert_false(popwin_open_at(w, "10.0.0.1", 61));
	assert_true(popwin_open_at(w, "10.0.0.2", 61));
	assert_true(popwin_open_at(w, "10.0.0.3", 61));
	assert_true(popwin_open_at(w, "10.0.0.9", 61));
	assert_true(popwin_open_at(w, "10.0.0.10", 61));
	popwin_free(&w);
}

static void
test_many(void **state)
{
	struct popwin *w = popwin_new(POPWIN_MAX);
	char ip[64];

	(void)state;
	/* Past the capacity: the table stays bounded, the oldest go. */
	for (unsigned i = 0; i < POPWIN_MAX + 1024; i++) {
		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", i >> 16, i & 0xffff);
		assert_int_equal(popwin_open(w, ip, i, 1000000), 0);
	}
	assert_int_equal(popwin_count(w), POPWIN_MAX);
	assert_true(popwin_open_at(w, "2001:db8::1:3ff", 0));
	assert_true(popwin_open_at(w, "2001:db8::0:400", 0));
	assert_false(popwin_open_at(w, "2001:db8::0:3ff", 0));
	assert_false(popwin_open_at(w, "2001:db8::0:1", 0));
	popwin_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_expire),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_full_evicts_expired_then_oldest),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
