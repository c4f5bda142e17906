/*
 * Unit tests for smtp/smtp_data: dot-stuffing, the terminator split at
 * every byte, bare CR / bare LF smuggling variants, overflow, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"

struct result {
	enum smtp_data_rc	 rc;
	size_t			 used;	/* input bytes consumed in total */
	struct buf		 out;
	struct smtp_data_dec	 d;
};

/*
 * Feeds in[0..len) in chunks whose ends are listed in cuts (ascending,
 * cut < len), stopping at the first result that is not MORE.
 */
static void
decode_cuts(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    size_t max, struct result *r)
{
	size_t start = 0, stop, used, i;

	smtp_data_init(&r->d);
	buf_init(&r->out, max);
	r->rc = SMTP_DATA_MORE;
	r->used = 0;
	for (i = 0; i <= ncuts && r->rc == SMTP_DATA_MORE; i++) {
		stop = cuts != NULL && i < ncuts ? cuts[i] : len;
		r->rc = smtp_data_feed(&r->d, in + start, stop - start, &r->out,
		    &used);
		if (r->rc == SMTP_DATA_MORE)
			assert_int_equal(used, stop - start);
		else
			assert_true(used <= stop - start);
		r->used += used;
		start = stop;
	}
	assert_int_equal(r->d.in_bytes, r->used);
	assert_true(r->d.out_bytes <= r->d.in_bytes);
	if (!r->out.overflowed)
		assert_int_equal(r->d.out_bytes, r->out.len);
	assert_null(memchr(buf_cstr(&r->out), '\r', r->out.len));
}

static void
decode(const char *in, struct result *r)
{
	decode_cuts(in, strlen(in), NULL, 0, 1 << 20, r);
}

/* Decodes s whole, expects rc, the message and the bytes consumed. */
static void
expect(const char *in, enum smtp_data_rc rc, const char *msg, size_t used)
{
	struct result r;

	decode(in, &r);
	if (r.rc != rc)
		fail_msg("%s: rc %d, want %d", in, r.rc, rc);
	if (msg != NULL)
		assert_string_equal(buf_cstr(&r.out), msg);
	assert_int_equal(r.used, used);
	buf_free(&r.out);
}

static void
test_simple(void **state)
{
	const char *in = "Subject: hi\r\n\r\nbody\r\n.\r\n";

	(void)state;
	expect(in, SMTP_DATA_END, "Subject: hi\n\nbody\n", strlen(in));
	expect(".\r\n", SMTP_DATA_END, "", 3);
	expect("\r\n.\r\n", SMTP_DATA_END, "\n", 5);
	expect("a\r\n.\r\nMAIL FROM:<>\r\n", SMTP_DATA_END, "a\n", 6);
	expect("no end\r\n", SMTP_DATA_MORE, "no end\n", 8);
	expect("", SMTP_DATA_MORE, "", 0);
}

static void
test_dot_stuffing(void **state)
{
	(void)state;
	expect("..\r\n.\r\n", SMTP_DATA_END, ".\n", 7);
	expect("..foo\r\n...\r\n.\r\n", SMTP_DATA_END, ".foo\n..\n", 15);
	/* RFC 5321 4.5.2: the first dot goes even when not doubled. */
	expect(".foo\r\n.\r\n", SMTP_DATA_END, "foo\n", 9);
	expect(". \r\n.\r\n", SMTP_DATA_END, " \n", 7);
	/* Only at the start of a line. */
	expect("a.b.\r\n.\r\n", SMTP_DATA_END, "a.b.\n", 9);
	expect("a\r\n..\r\n.\r\n", SMTP_DATA_END, "a\n.\n", 10);
	/* ".." alone is not the terminator. */
	expect("..\r\n", SMTP_DATA_MORE, ".\n", 4);
}

static void
test_bare(void **state)
{
	(void)state;
	/* The classic smuggling pairs and their relatives. */
	expect("a\n.\n", SMTP_DATA_BARE, NULL, 2);
	expect("a\r\n.\n", SMTP_DATA_BARE, "a\n", 5);
	expect("a\n.\r\n", SMTP_DATA_BARE, NULL, 2);
	expect("a\r.\r\n", SMTP_DATA_BARE, "a", 3);
	expect("a\r\n.\r.\r\n", SMTP_DATA_BARE, "a\n", 6);
	expect("a\r\n.\rx", SMTP_DATA_BARE, "a\n", 6);
	expect("\n", SMTP_DATA_BARE, "", 1);
	expect("\r\r\n", SMTP_DATA_BARE, "", 2);
	expect(".\n", SMTP_DATA_BARE, "", 2);
	expect(".\r\r\n", SMTP_DATA_BARE, "", 3);
	expect("abc\ndef\r\n.\r\n", SMTP_DATA_BARE, "abc", 4);
	expect("abc\rdef\r\n.\r\n", SMTP_DATA_BARE, "abc", 5);
	expect("x\r\n\n.\r\n", SMTP_DATA_BARE, "x\n", 4);
}

static void
test_after_end(void **state)
{
	struct result r;
	size_t used = 99;

	(void)state;
	decode(".\r\nNOOP\r\n", &r);
	assert_int_equal(r.rc, SMTP_DATA_END);
	assert_int_equal(smtp_data_feed(&r.d, "x", 1, &r.out, &used),
	    SMTP_DATA_END);
	assert_int_equal(used, 0);
	assert_int_equal(r.d.in_bytes, 3);
	buf_free(&r.out);
	decode("\n", &r);
	assert_int_equal(r.rc, SMTP_DATA_BARE);
	assert_int_equal(smtp_data_feed(&r.d, ".\r\n", 3, &r.out, &used),
	    SMTP_DATA_BARE);
	assert_int_equal(used, 0);
	buf_free(&r.out);
}

static const char sample[] =
	"From: a@b\r\n\r\n.\r\n..x\r\n.\r.\r\n";	/* ends in BARE */
static const char sample_ok[] =
	"From: a@b\r\n\r\n..\r\n..x\r\nline\r\n\r\n.\r\nQUIT\r\n";

/* Decodes whole, then one byte at a time, then every 2-way and 3-way split,
 * and checks every way gives the same answer. */
static void
check_all_splits(const char *in)
{
	size_t len = strlen(in), i, j, *cuts = calloc(len + 1, sizeof(*cuts));
	struct result whole, r;

	decode(in, &whole);
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	decode_cuts(in, len, cuts, len ? len - 1 : 0, 1 << 20, &r);
	assert_int_equal(r.rc, whole.rc);
	assert_int_equal(r.used, whole.used);
	assert_string_equal(buf_cstr(&r.out), buf_cstr(&whole.out));
	buf_free(&r.out);
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			decode_cuts(in, len, cuts, 2, 1 << 20, &r);
			assert_int_equal(r.rc, whole.rc);
			assert_int_equal(r.used, whole.used);
			assert_int_equal(r.d.out_bytes, whole.d.out_bytes);
			assert_string_equal(buf_cstr(&r.out),
			    buf_cstr(&whole.out));
			buf_free(&r.out);
		}
	}
	buf_free(&whole.out);
	free(cuts);
}

static void
test_splits(void **state)
{
	struct result r;

	(void)state;
	decode(sample_ok, &r);
	assert_int_equal(r.rc, SMTP_DATA_END);
	assert_string_equal(buf_cstr(&r.out), "From: a@b\n\n.\n.x\nline\n\n");
	assert_int_equal(r.used, strlen(sample_ok) - strlen("QUIT\r\n"));
	buf_free(&r.out);
	check_all_splits(sample_ok);
	check_all_splits(sample);
	check_all_splits("a\n.\n");
	check_all_splits("a\r\n.\n");
	check_all_splits("a\n.\r\n");
	check_all_splits("\r\n.\r\n");
	check_all_splits(".\r\n");
	check_all_splits("..\r\n.\r\n");
	check_all_splits("abc\r\n.\r");
}

static void
test_terminator_one_byte_at_a_time(void **state)
{
	const char *in = "a\r\n.\r\n";
	struct smtp_data_dec d;
	struct buf out;
	size_t i, used;

	(void)state;
	smtp_data_init(&d);
	buf_init(&out, 64);
	for (i = 0; i + 1 < strlen(in); i++) {
		assert_int_equal(smtp_data_feed(&d, in + i, 1, &out, &used),
		    SMTP_DATA_MORE);
		assert_int_equal(used, 1);
	}
	assert_int_equal(smtp_data_feed(&d, in + i, 1, &out, &used),
	    SMTP_DATA_END);
	assert_int_equal(used, 1);
	assert_string_equal(buf_cstr(&out), "a\n");
	assert_int_equal(d.in_bytes, 6);
	assert_int_equal(d.out_bytes, 2);
	buf_free(&out);
}

static void
test_unterminated(void **state)
{
	struct result r;

	(void)state;
	/* Data that stops mid-terminator: nothing ends, nothing is lost. */
	decode("a\r\n.\r", &r);
	assert_int_equal(r.rc, SMTP_DATA_MORE);
	assert_string_equal(buf_cstr(&r.out), "a\n");
	assert_int_equal(r.d.in_bytes, 5);
	buf_free(&r.out);
	decode("a\r\n.", &r);
	assert_int_equal(r.rc, SMTP_DATA_MORE);
	assert_string_equal(buf_cstr(&r.out), "a\n");
	buf_free(&r.out);
	decode("abc\r", &r);
	assert_int_equal(r.rc, SMTP_DATA_MORE);
	assert_string_equal(buf_cstr(&r.out), "abc");
	buf_free(&r.out);
}

static void
test_overflow(void **state)
{
	const char *in = "0123456789\r\n0123456789\r\n..x\r\n.\r\n";
	struct result r;

	(void)state;
	decode_cuts(in, strlen(in), NULL, 0, 15, &r);
	/* Decoding goes on to the terminator; every byte is still counted. */
	assert_int_equal(r.rc, SMTP_DATA_END);
	assert_true(r.out.overflowed);
	assert_true(r.out.len <= 15);
	assert_int_equal(r.d.out_bytes, 25);
	assert_int_equal(r.d.in_bytes, strlen(in));
	buf_free(&r.out);
	/* A bare LF after an overflow is still caught. */
	decode_cuts("0123456789\r\nab\ncd", 17, NULL, 0, 4, &r);
	assert_int_equal(r.rc, SMTP_DATA_BARE);
	assert_true(r.out.overflowed);
	buf_free(&r.out);
}

static void
test_overflow_emptied(void **state)
{
	const char *in = "0123456789\r\n0123456789\r\n.\r\n";
	struct smtp_data_dec d;
	struct buf out;
	size_t used, i, total = 0;
	enum smtp_data_rc rc = SMTP_DATA_MORE;

	(void)state;
	/* The session's pattern: feed, take out's bytes, reset, feed again. */
	smtp_data_init(&d);
	buf_init(&out, 11);
	for (i = 0; rc == SMTP_DATA_MORE; i += 4) {
		rc = smtp_data_feed(&d, in + i, 4, &out, &used);
		assert_false(out.overflowed);
		total += out.len;
		buf_reset(&out);
	}
	assert_int_equal(rc, SMTP_DATA_END);
	assert_int_equal(total, 22);
	assert_int_equal(d.out_bytes, 22);
	buf_free(&out);
}

static void
test_counts_and_binary(void **state)
{
	const char in[] = "a\0b\x80\xff\r\n\0\r\n.\r\n";
	struct result r;

	(void)state;
	decode_cuts(in, sizeof(in) - 1, NULL, 0, 1 << 20, &r);
	assert_int_equal(r.rc, SMTP_DATA_END);
	assert_int_equal(r.d.in_bytes, sizeof(in) - 1);
	assert_int_equal(r.d.out_bytes, 8);
	assert_int_equal(r.out.len, 8);
	assert_memory_equal(r.out.data, "a\0b\x80\xff\n\0\n", 8);
	buf_free(&r.out);
}

static void
test_large(void **state)
{
	size_t n = 1 << 20, i, line = 0;
	char *in = malloc(n + 5);
	struct result r;

	(void)state;
	for (i = 0; i < n; i++, line++) {
		if (line == 76) {
			in[i - 1] = '\r';
			in[i] = '\n';
			line = (size_t)-1;
		} else {
			in[i] = (char)('a' + i % 26);
		}
	}
	in[n - 2] = '\r';
	in[n - 1] = '\n';
	memcpy(in + n, ".\r\n", 3);
	decode_cuts(in, n + 3, NULL, 0, 2 << 20, &r);
	assert_int_equal(r.rc, SMTP_DATA_END);
	assert_int_equal(r.used, n + 3);
	assert_true(r.d.out_bytes < n);
	buf_free(&r.out);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_dot_stuffing),
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_terminator_one_byte_at_a_time),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_overflow_emptied),
		cmocka_unit_test(test_counts_and_binary),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
