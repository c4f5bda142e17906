/*
 * Unit tests for core/line: CRLF framing, bare CR and bare LF, and the
 * ceiling at max and max + 1 (max counts the CRLF).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/parse.h"

static enum parse_rc
find(const char *s, size_t max, struct span *line, size_t *used)
{
	return line_find(s, strlen(s), max, line, used);
}

/* A line of exactly n bytes, CRLF included, framed with max. */
static enum parse_rc
find_sized(size_t n, size_t max, size_t *line_len)
{
	char *s = malloc(n);
	struct span line = { NULL, 0 };
	size_t used = 0;
	enum parse_rc rc;

	assert_true(n >= 2);
	memset(s, 'x', n - 2);
	memcpy(s + n - 2, "\r\n", 2);
	rc = line_find(s, n, max, &line, &used);
	if (rc == PARSE_OK) {
		assert_int_equal(used, n);
		assert_ptr_equal(line.ptr, s);
		*line_len = line.len;
	}
	free(s);
	return rc;
}

static void
test_simple(void **state)
{
	struct span line;
	size_t used;

	(void)state;
	assert_int_equal(find("NOOP\r\nQUIT\r\n", 512, &line, &used), PARSE_OK);
	assert_int_equal(line.len, 4);
	assert_memory_equal(line.ptr, "NOOP", 4);
	assert_int_equal(used, 6);
	assert_int_equal(find("\r\n", 512, &line, &used), PARSE_OK);
	assert_int_equal(line.len, 0);
	assert_int_equal(used, 2);
}

static void
test_incomplete(void **state)
{
	struct span line;
	size_t used;

	(void)state;
	assert_int_equal(find("", 512, &line, &used), PARSE_INCOMPLETE);
	assert_int_equal(find("NOOP", 512, &line, &used), PARSE_INCOMPLETE);
	assert_int_equal(find("NOOP\r", 512, &line, &used), PARSE_INCOMPLETE);
	assert_int_equal(find("\r", 512, &line, &used), PARSE_INCOMPLETE);
}

static void
test_bare_lf(void **state)
{
	struct span line;
	size_t used;

	(void)state;
	assert_int_equal(find("\n", 512, &line, &used), PARSE_INVALID);
	assert_int_equal(find("NOOP\n", 512, &line, &used), PARSE_INVALID);
	assert_int_equal(find("NOOP\nQUIT\r\n", 512, &line, &used),
	    PARSE_INVALID);
}

static void
test_bare_cr(void **state)
{
	struct span line;
	size_t used;

	(void)state;
	assert_int_equal(find("NO\rOP\r\n", 512, &line, &used), PARSE_INVALID);
	assert_int_equal(find("NOOP\r\r\n", 512, &line, &used), PARSE_INVALID);
	/* Known bare before the LF arrives. */
	assert_int_equal(find("NO\rOP", 512, &line, &used), PARSE_INVALID);
	assert_int_equal(find("\r\r", 512, &line, &used), PARSE_INVALID);
	/* A CR at max - 1 followed by a non-LF is bare, not just long. */
	assert_int_equal(find("xxx\rx", 4, &line, &used), PARSE_INVALID);
	/* ... followed by LF it is a line of max + 1: too long. */
	assert_int_equal(find("xxx\r\n", 4, &line, &used), PARSE_TOO_LONG);
	/* A bare CR after the first line is the next call's business. */
	assert_int_equal(find("A\r\nB\rC", 512, &line, &used), PARSE_OK);
	assert_int_equal(used, 3);
}

static void
test_limit(void **state)
{
	size_t len = 0;

	(void)state;
	assert_int_equal(find_sized(SMTP_CMD_LINE_MAX, SMTP_CMD_LINE_MAX, &len),
	    PARSE_OK);
	assert_int_equal(len, SMTP_CMD_LINE_MAX - 2);
	assert_int_equal(find_sized(SMTP_CMD_LINE_MAX + 1, SMTP_CMD_LINE_MAX,
	    &len), PARSE_TOO_LONG);
	assert_int_equal(find_sized(2, 2, &len), PARSE_OK);
	assert_int_equal(len, 0);
	assert_int_equal(find_sized(3, 2, &len), PARSE_TOO_LONG);
}

static void
test_too_long_without_lf(void **state)
{
	char s[600];
	struct span line;
	size_t used;

	(void)state;
	memset(s, 'x', sizeof(s));
	assert_int_equal(line_find(s, 511, 512, &line, &used),
	    PARSE_INCOMPLETE);
	assert_int_equal(line_find(s, 512, 512, &line, &used),
	    PARSE_TOO_LONG);
	assert_int_equal(line_find(s, sizeof(s), 512, &line, &used),
	    PARSE_TOO_LONG);
	/* An LF past max does not rescue the line. */
	s[550] = '\n';
	s[549] = '\r';
	assert_int_equal(line_find(s, sizeof(s), 512, &line, &used),
	    PARSE_TOO_LONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_too_long_without_lf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
