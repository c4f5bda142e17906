/*
 * Unit tests for pop3/pop3_xfer: CRLF, byte-stuffing, TOP's header and
 * line count, a last line without LF, CRs, and that the result does not
 * depend on how the input is cut into pieces (every split point tried).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_xfer.h"

/* Converts in (whole, then cut at every point, then byte by byte) and
 * checks that all three agree with want. */
static void
check(bool top, uint64_t lines, const char *in, const char *want)
{
	size_t n = strlen(in), wl = strlen(want);
	char *out = malloc(POP3_XFER_OUT_MAX(n) + POP3_XFER_FINISH_MAX + 1);

	for (size_t cut = 0; cut <= n + 1; cut++) {
		struct pop3_xfer x;
		size_t o = 0, a;

		pop3_xfer_init(&x, top, lines);
		if (cut <= n) {
			/* Two pieces: [0, cut) and [cut, n). */
			a = pop3_xfer_feed(&x, in, cut, out);
			assert_true(a <= POP3_XFER_OUT_MAX(cut));
			o += a;
			a = pop3_xfer_feed(&x, in + cut, n - cut, out + o);
			assert_true(a <= POP3_XFER_OUT_MAX(n - cut));
			o += a;
		} else {
			for (size_t i = 0; i < n; i++) {
				a = pop3_xfer_feed(&x, in + i, 1, out + o);
				assert_true(a <= POP3_XFER_OUT_MAX(1));
				o += a;
			}
		}
		a = pop3_xfer_finish(&x, out + o);
		assert_true(a <= POP3_XFER_FINISH_MAX);
		o += a;
		out[o] = '\0';
		if (o != wl || memcmp(out, want, wl) != 0)
			fail_msg("cut %zu: got [%s] want [%s]", cut, out, want);
	}
	free(out);
}

static void
test_retr_crlf(void **state)
{
	(void)state;
	check(false, 0, "", ".\r\n");
	check(false, 0, "a\n", "a\r\n.\r\n");
	check(false, 0, "a\nb\n", "a\r\nb\r\n.\r\n");
	check(false, 0, "\n\n", "\r\n\r\n.\r\n");
	/* Already CRLF: no CR doubled. */
	check(false, 0, "a\r\nb\r\n", "a\r\nb\r\n.\r\n");
}

static void
test_retr_last_line(void **state)
{
	(void)state;
	check(false, 0, "abc", "abc\r\n.\r\n");
	check(false, 0, "a\nbc", "a\r\nbc\r\n.\r\n");
	check(false, 0, "a\r", "a\r\n.\r\n");
	check(false, 0, ".", "..\r\n.\r\n");
}

static void
test_retr_stuffing(void **state)
{
	(void)state;
	check(false, 0, ".\n", "..\r\n.\r\n");
	check(false, 0, ".x\n..\nx.\n", "..x\r\n...\r\nx.\r\n.\r\n");
	check(false, 0, "a\n.\r\n", "a\r\n..\r\n.\r\n");
	/* Only at the start of a line. */
	check(false, 0, "a.b\n", "a.b\r\n.\r\n");
}

static void
test_bare_cr(void **state)
{
	(void)state;
	check(false, 0, "a\rb\n", "a\rb\r\n.\r\n");
	check(false, 0, "a\r\rb\n", "a\r\rb\r\n.\r\n");
	check(false, 0, "a\r\r\n", "a\r\r\n.\r\n");
	/* A bare CR does not start a line: no stuffing after it. */
	check(false, 0, "\r.\n", "\r.\r\n.\r\n");
}

static void
test_top(void **state)
{
	const char *m = "A: 1\nB: 2\n\nbody1\n.dot\nbody3\n";

	(void)state;
	check(true, 0, m, "A: 1\r\nB: 2\r\n\r\n.\r\n");
	check(true, 1, m, "A: 1\r\nB: 2\r\n\r\nbody1\r\n.\r\n");
	check(true, 2, m, "A: 1\r\nB: 2\r\n\r\nbody1\r\n..dot\r\n.\r\n");
	check(true, 3, m, "A: 1\r\nB: 2\r\n\r\nbody1\r\n..dot\r\nbody3\r\n.\r\n");
	check(true, 1000000000, m,
	    "A: 1\r\nB: 2\r\n\r\nbody1\r\n..dot\r\nbody3\r\n.\r\n");
	/* CRLF on disk. */
	check(true, 0, "A: 1\r\n\r\nb\r\n", "A: 1\r\n\r\n.\r\n");
	check(true, 1, "A: 1\r\n\r\nb\r\nc\r\n", "A: 1\r\n\r\nb\r\n.\r\n");
	/* No body at all, or no blank line. */
	check(true, 0, "A: 1\n", "A: 1\r\n.\r\n");
	check(true, 5, "A: 1\n\n", "A: 1\r\n\r\n.\r\n");
	check(true, 0, "A: 1", "A: 1\r\n.\r\n");
	/* A last body line without LF, within the count. */
	check(true, 1, "A: 1\n\nb", "A: 1\r\n\r\nb\r\n.\r\n");
	/* Empty body lines count as lines. */
	check(true, 2, "A\n\n\n\nx\n", "A\r\n\r\n\r\n\r\n.\r\n");
	/* A lone CR at the end of the header ends its line. */
	check(true, 0, "A: 1\r", "A: 1\r\n.\r\n");
}

static void
test_worst_case_size(void **state)
{
	/* Every byte doubles: lines of a single ".". */
	char in[64], out[POP3_XFER_OUT_MAX(64)];
	struct pop3_xfer x;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i += 2) {
		in[i] = '.';
		in[i + 1] = '\n';
	}
	pop3_xfer_init(&x, false, 0);
	assert_int_equal(pop3_xfer_feed(&x, in, sizeof(in), out), 2 * sizeof(in));
	/* A CR held from the previous piece comes out with the next one. */
	pop3_xfer_init(&x, false, 0);
	assert_int_equal(pop3_xfer_feed(&x, "a\r", 2, out), 1);
	assert_int_equal(pop3_xfer_feed(&x, "\r", 1, out), 1);
	assert_true(pop3_xfer_feed(&x, in, sizeof(in), out) <=
	    POP3_XFER_OUT_MAX(sizeof(in)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retr_crlf),
		cmocka_unit_test(test_retr_last_line),
		cmocka_unit_test(test_retr_stuffing),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_worst_case_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
