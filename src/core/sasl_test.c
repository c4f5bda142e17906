/*
 * Unit tests for core/sasl: strict base64 and the SASL PLAIN message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/limits.h"
#include "core/sasl.h"

static enum parse_rc
decode(const char *in, struct buf *out)
{
	return sasl_b64_decode(span_from_cstr(in), out);
}

static void
test_b64_valid(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(decode("Zm9v", &b), PARSE_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "foo", 3);
	assert_int_equal(decode("Zm8=", &b), PARSE_OK);
	assert_int_equal(b.len, 2);
	assert_int_equal(decode("Zg==", &b), PARSE_OK);
	assert_int_equal(b.len, 1);
	assert_int_equal(decode("=", &b), PARSE_OK);	/* RFC 4954 4: empty */
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_b64_invalid(void **state)
{
	static const char *const bad[] = { "", "Zm9", "Zm9v=", "Z=9v", "Zm9v\n",
	    "Zm 9v", "====", "Zg=A", "Z\x80==", "Zm9=", "Zh==" };
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], &b), PARSE_INVALID);
	buf_free(&b);
}

static void
test_b64_limit(void **state)
{
	struct buf b, enc;
	char raw[48];

	(void)state;
	memset(raw, 'x', sizeof(raw));
	buf_init(&enc, 256);
	sasl_b64_encode(raw, sizeof(raw), &enc);
	buf_init(&b, 48);	/* at max */
	assert_int_equal(sasl_b64_decode((struct span){ enc.data, enc.len }, &b), PARSE_OK);
	buf_free(&b);
	buf_init(&b, 47);	/* max - 1: the input is one byte too long */
	assert_int_equal(sasl_b64_decode((struct span){ enc.data, enc.len }, &b),
	    PARSE_TOO_LONG);
	buf_free(&b);
	buf_free(&enc);
}

static void
test_plain(void **state)
{
	struct span user, pass;

	(void)state;
	assert_int_equal(sasl_plain_split((struct span){ "\0alice\0pw", 9 }, &user,
	    &pass), PARSE_OK);
	assert_int_equal(user.len, 5);
	assert_memory_equal(user.ptr, "alice", 5);
	assert_int_equal(pass.len, 2);
	assert_int_equal(sasl_plain_split((struct span){ "alice\0alice\0pw", 14 },
	    &user, &pass), PARSE_OK);
	/* Proxy logins (authzid of somebody else) are refused. */
	assert_int_equal(sasl_plain_split((struct span){ "bob\0alice\0pw", 12 },
	    &user, &pass), PARSE_INVALID);
	assert_int_equal(sasl_plain_split((struct span){ "\0alice\0", 7 }, &user,
	    &pass), PARSE_INVALID);
	assert_int_equal(sasl_plain_split((struct span){ "\0\0pw", 4 }, &user,
	    &pass), PARSE_INVALID);
	assert_int_equal(sasl_plain_split((struct span){ "alice", 5 }, &user,
	    &pass), PARSE_INVALID);
	assert_int_equal(sasl_plain_split((struct span){ "\0a\0b\0c", 6 }, &user,
	    &pass), PARSE_INVALID);
	/* The empty response ("=" decodes to nothing, its buffer never
	 * allocated): refused without touching the NULL pointer (UBSan). */
	assert_int_equal(sasl_plain_split((struct span){ NULL, 0 }, &user,
	    &pass), PARSE_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_valid),
		cmocka_unit_test(test_b64_invalid),
		cmocka_unit_test(test_b64_limit),
		cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
